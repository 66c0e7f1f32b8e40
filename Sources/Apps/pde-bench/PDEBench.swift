import ArgumentParser
import Foundation
import PDE

@main
struct PDEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-bench",
        abstract: "SwiftPDE benchmark suites (release builds only), side by side with the peer scripts.",
        discussion: """
        Each suite prints a table and appends one JSON object per measurement to the results
        file. Peers (scipy, pyamg, PETSc, scikit-sparse CHOLMOD, numpy, PyTorch) run on the same
        inputs in the same session unless --no-peers is given.

        Examples:
          pde-bench core --results bench-results/core.jsonl
          pde-bench krylov --cases poisson2d-256 poisson3d-64 --methods cg,amg,mg
          pde-bench learning --no-peers --repeat 3
          pde-bench burgers --points 8192 --repeat 3
        """,
        subcommands: [CoreSuite.self, KrylovSuite.self, LearningSuite.self, BurgersSuite.self])
}

/// Options shared by every suite.
struct BenchOptions: ParsableArguments {
    @Option(help: "JSON-lines file the measurements are appended to.")
    var results = "bench-results/results.jsonl"

    @Option(help: "Folder holding the peer scripts (cg_peers.py, stream_numpy.py).")
    var peerDir = "../shared/peers"

    @Flag(help: "Skip the Python peers.")
    var noPeers = false

    @Option(name: .customLong("repeat"), help: "Repetitions per measurement (the median is reported).")
    var repetitions = 5

    func validateRelease() throws {
        #if DEBUG
        throw ValidationError("pde-bench measures release builds only: run `swift run -c release pde-bench …`")
        #endif
    }
}
