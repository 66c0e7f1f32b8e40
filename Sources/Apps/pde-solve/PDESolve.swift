import AppSupport
import ArgumentParser
import Foundation
import PDE

@main
struct PDESolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-solve",
        abstract: "Solve −∇·(a∇u) + c·u = f on a grid or a triangle mesh, or a named problem with a mesh-free kernel method, from a YAML config.",
        discussion: """
        Prints the solve time, the relative residual and, for analytic problems, the L2 and
        max errors; writes the outputs the config asks for (.vti/.vtu, .npy, .png, .h5).
        Example configs: data/configs/*.yaml. Exit codes: 0 success, 2 bad input (config,
        files, values), 3 iterative solver did not converge, 1 other failures.

        Examples:
          pde-solve data/configs/flagship.yaml
          pde-solve data/configs/poisson2d-multigrid.yaml --quiet
          pde-solve data/configs/gp-nonlinear-elliptic.yaml   # Gaussian-process collocation
          pde-solve data/configs/gphm-poisson1d-sin100x.yaml  # GP-HM
          pde-solve --list-problems
        """)

    @Argument(help: "YAML config file.")
    var config: String?

    @Flag(help: "List the analytic problems configs can name, and exit.")
    var listProblems = false

    @Flag(help: "Print only errors.")
    var quiet = false

    func run() throws {
        if listProblems {
            for p in ProblemCatalogue.all {
                print("\(p.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(p.dimension)-D  \(p.summary)")
            }
            for m in SolverRegistry.meshFreeMethods {
                print("\nmethod \(m.name) (\(m.summary)): problems " + m.problems.joined(separator: ", "))
            }
            return
        }
        guard let config else {
            throw ValidationError("missing config file: pde-solve <config.yaml> (or --list-problems)")
        }
        Threads.configure()   // SWIFTPDE_THREADS also sets OpenBLAS's threads (CHOLMOD's BLAS)
        do {
            // Mesh-free methods (kernel solvers) need no grid or mesh: the registry decides.
            if let method = configuredSolverMethod(in: config), SolverRegistry.isMeshFree(method) {
                let cfg = try loadConfig(MeshFreeSolveConfig.self, from: config)
                let silent = quiet
                _ = try MeshFreeRunner(config: cfg, log: { line in if !silent { print(line) } }).run()
                return
            }
            let cfg = try loadConfig(SolveConfig.self, from: config)
            // Under mpirun rank 0 speaks for all.
            let speaker = try Communicator.world().rank == 0
            let log: (String) -> Void = (quiet || !speaker) ? { _ in } : { print($0) }
            let summary = try SolveRunner(config: cfg, configPath: config, log: log).run()
            if let reason = summary.reason, !reason.converged {
                printError("\(config): the iterative solver stopped with \(reason.petscName) (outputs hold the last iterate)")
                throw ExitCode(3)
            }
        } catch {
            guard let failure = appFailure(error, context: config) else { throw error }
            printError(failure.message)
            throw ExitCode(failure.code)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("pde-solve: error: \(message)\n".utf8))
}
