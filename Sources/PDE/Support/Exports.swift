// The suite's shared infrastructure (SeededGenerator, Parallel, AtomicFile) and the
// tensors and autodiff that learning solvers use live in Learning, one layer down;
// `import PDE` brings them along.
@_exported import Learning
