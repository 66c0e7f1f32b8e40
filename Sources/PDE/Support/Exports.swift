// The suite's plumbing (SeededGenerator, Parallel, AtomicFile, Threads) lives in the
// bottom target `Support`, shared with `Learning`; `import PDE` brings it along so that
// library users seed generators and configure threads without a second import.
@_exported import Support
