import ArgumentParser
import Foundation
import PDE

@main
struct PDEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-bench",
        abstract: "SwiftPDE benchmark suites (release builds only), side by side with the peer scripts.",
        discussion: """
        Each suite prints a table and appends one JSON object per measurement to the results \
        file. The peer scripts of benchmarks/peers (numpy, scipy, pyamg, scikit-sparse CHOLMOD, \
        PETSc, PyTorch) run on the same inputs in the same session unless --no-peers is given; \
        `make bench-deps` installs what they need. Run pde-bench from the package root.

        Examples:
          pde-bench core --results bench-results/core.jsonl
          pde-bench krylov --cases poisson2d-256 poisson3d-64 --methods cg,amg,mg
          pde-bench spectral --cases fastpoisson2d fastpoisson3d darcy ns burgers
        """,
        subcommands: [CoreSuite.self, KrylovSuite.self, LearningSuite.self, SpectralSuite.self, OperatorsSuite.self, DCDMSuite.self, GPSuite.self, GPHMSuite.self, InverseSuite.self, LPNSuite.self, MPISuite.self])
}

/// Options shared by every suite.
struct BenchOptions: ParsableArguments {
    @Option(help: "JSON-lines file the measurements are appended to.")
    var results = "bench-results/results.jsonl"

    @Option(help: "Folder holding the peer scripts (cg_peers.py, petsc_cg.py, poisson_matrix.py, stream_numpy.py, layers_peer.py); relative paths start at the working directory.")
    var peerDir = "benchmarks/peers"

    @Flag(help: "Skip the Python peers.")
    var noPeers = false

    @Option(help: "Python interpreter of the peers (default: $SWIFTPDE_PYTHON, else python3), e.g. a virtual environment with torch.")
    var python = ProcessInfo.processInfo.environment["SWIFTPDE_PYTHON"] ?? "python3"

    @Option(name: .customLong("repeat"), help: "Repetitions per measurement (the median is reported).")
    var repetitions = 5

    func validateRelease() throws {
        #if DEBUG
        throw ValidationError("pde-bench measures release builds only: run `swift run -c release pde-bench …`")
        #endif
    }
}
