import AppSupport
import ArgumentParser
import Foundation
import PDE

@main
struct LinSolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linsolve",
        abstract: "Solve A x = b for a symmetric positive definite Matrix Market matrix.",
        discussion: """
        PETSc-style names (aliases in parentheses); --ksp chooses the method, --pc the
        preconditioner, --pc-option sets its parameters.

        \(SolverRegistry.helpText)

        The matrix is checked for symmetry first (CG and Cholesky need it): a warning by
        default, an error with --require-symmetric. A matrix with zero row sums (constant
        null space) is recognised: a right-hand side inconsistent with it is reported
        (--null-space detect) or projected onto the range (--null-space project).
        Exit codes: 0 converged, 3 not converged, 2 bad input, 1 other failures.

        Examples:
          linsolve A.mtx --rhs ones --ksp cg --pc gamg --rtol 1e-8 --monitor --converged-reason -o x.mtx
          linsolve A.mtx b.mtx --ksp preonly --pc cholesky --pc-option ordering=metis
          linsolve A.mtx --rhs random --seed 1 --ksp richardson --pc gamg --null-space project
        """)

    @Argument(help: "Matrix A (Matrix Market, coordinate real general/symmetric).")
    var matrix: String

    @Argument(help: "Right-hand side b (Matrix Market vector). Alternative: --rhs.")
    var rhsFile: String?

    @Option(help: "Right-hand side when no file is given: ones | random.")
    var rhs: String?

    @Option(help: "Seed for --rhs random.")
    var seed: UInt64 = 0

    @Option(help: "Method: \(SolverRegistry.methods.map(\.name).joined(separator: " | ")) (see below).")
    var ksp = "cg"

    @Option(help: "Preconditioner: \(SolverRegistry.preconditioners.map(\.name).joined(separator: " | ")) (see below).")
    var pc = "none"

    @Option(name: .customLong("pc-option"), help: "Preconditioner parameter key=value (repeatable), e.g. omega=1.5, ordering=metis.")
    var pcOptions: [String] = []

    @Option(help: "Relative tolerance on ‖b − Ax‖₂ / ‖b‖₂.")
    var rtol = IterativeOptions.defaultRelativeTolerance

    @Option(help: "Absolute tolerance on the residual norm.")
    var atol = 0.0

    @Option(name: .customLong("max-it"), help: "Maximum iterations.")
    var maxIterations = IterativeOptions.defaultMaxIterations

    @Option(help: "Residual norm for the stopping test: unpreconditioned | preconditioned | natural.")
    var norm = "unpreconditioned"

    @Option(help: "Constant null space (zero row sums): detect | project | none.")
    var nullSpace = "detect"

    @Flag(help: "Refuse a matrix that is not symmetric (default: warn).")
    var requireSymmetric = false

    @Flag(help: "Print the residual norm at every iteration.")
    var monitor = false

    @Flag(help: "Print why the solver stopped.")
    var convergedReason = false

    @Option(name: .shortAndLong, help: "Write the solution x (Matrix Market vector).")
    var output: String?

    @Option(help: "Write the residual history as an SVG plot (log scale).")
    var plot: String?

    func run() throws {
        Threads.configure()   // SWIFTPDE_THREADS also sets OpenBLAS's threads (CHOLMOD's BLAS)
        do {
            try solve()
        } catch let e as PDEError {
            FileHandle.standardError.write(Data("linsolve: error: \(e.description)\n".utf8))
            if case .libraryFailure = e { throw ExitCode(1) }
            throw ExitCode(2)
        } catch let e as FileWriteError {
            FileHandle.standardError.write(Data("linsolve: error: \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }

    func solve() throws {
        guard let norm = IterativeOptions.Norm(rawValue: norm) else {
            throw PDEError.invalidValue(key: "--norm", value: self.norm, expected: IterativeOptions.Norm.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let policy = IterativeOptions.NullSpacePolicy(rawValue: nullSpace) else {
            throw PDEError.invalidValue(key: "--null-space", value: nullSpace,
                                        expected: IterativeOptions.NullSpacePolicy.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var parameters: [String: String] = [:]
        for item in pcOptions {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw PDEError.invalidValue(key: "--pc-option", value: item, expected: "key=value")
            }
            parameters[parts[0]] = parts[1]
        }
        var options = IterativeOptions(relativeTolerance: rtol, absoluteTolerance: atol, maxIterations: maxIterations,
                                       norm: norm, nullSpace: policy)
        if monitor { options.monitor = { it, r in print(String(format: "%5d KSP residual norm %.12e", it, r)) } }
        try options.validate()

        let a = try MatrixMarket.read(matrix)
        guard a.rows == a.columns else {
            throw PDEError.shapeMismatch(what: matrix, expected: "a square matrix", got: "\(a.rows)×\(a.columns)")
        }
        let b: [Double]
        switch (rhsFile, rhs) {
        case (let file?, nil): b = try MatrixMarket.readVector(file)
        case (nil, "ones"?), (nil, nil): b = [Double](repeating: 1, count: a.rows)
        case (nil, "random"?):
            var g = SeededGenerator(seed: seed)
            b = (0..<a.rows).map { _ in g.normal() }
        case (nil, let other?):
            throw PDEError.invalidValue(key: "--rhs", value: other, expected: "ones or random")
        case (_?, _?):
            throw PDEError.invalidValue(key: "--rhs", value: rhs!, expected: "either a right-hand-side file or --rhs, not both")
        }
        guard b.count == a.rows else {
            throw PDEError.shapeMismatch(what: rhsFile ?? "right-hand side", expected: "\(a.rows) entries", got: "\(b.count)")
        }
        let world = try Communicator.world()
        if world.size > 1 { return try solveDistributed(a, b, options: options, world: world) }
        print("linsolve: \(matrix): \(a.rows)×\(a.columns), \(a.nonzeroCount) nonzeros; ksp \(ksp), pc \(pc)")
        if let asym = a.largestAsymmetry(), asym.relative > 1e-12 {
            let what = String(format: "%@ is not symmetric: largest |a_ij − a_ji| = %.3e (%.3e of max|a|) at (%d, %d); CG and Cholesky assume a symmetric positive definite matrix",
                              matrix, asym.difference, asym.relative, asym.row + 1, asym.column + 1)
            if requireSymmetric { throw PDEError.invalidValue(key: "matrix", value: what, expected: "a symmetric matrix (--require-symmetric)") }
            FileHandle.standardError.write(Data("linsolve: warning: \(what)\n".utf8))
        }
        let solver = try LinearSolver(matrix: a, method: ksp, preconditioner: pc, options: options, parameters: parameters)
        let (x, report) = try solver.solve(b)
        try finish(report, setup: report.setupSeconds, x: x, by: "linsolve", label: "\(ksp) + \(pc)")
    }

    /// Prints the notes, the reason and the timing line, writes `-o` and `--plot`; exit code 3
    /// when the solve did not converge.
    func finish(_ report: SolverReport, setup: Double, x: [Double], by who: String, label: String) throws {
        for note in report.notes { print("  \(note)") }
        if convergedReason {
            let verb = report.reason.converged ? "converged" : "diverged"
            print("Linear solve \(verb) due to \(report.reason.petscName) iterations \(report.iterations)")
        }
        print(String(format: "  setup %@, solve %@ (%@ per iteration), true relative residual %.3e",
                     formatSeconds(setup), formatSeconds(report.solveSeconds),
                     formatSeconds(report.solveSeconds / Double(max(1, report.iterations))), report.trueRelativeResidual))
        if let output { try MatrixMarket.writeVector(x, to: output, comment: "solution of \(matrix) by \(who) --ksp \(ksp) --pc \(pc)") }
        if let plot, !report.residualHistory.isEmpty {
            var p = SVGLinePlot(title: "Residual history: \(URL(fileURLWithPath: matrix).lastPathComponent)",
                                xLabel: "iteration", yLabel: "residual norm", logY: true)
            p.series.append(.init(label: label, y: report.residualHistory))
            try p.write(to: plot)
        }
        if !report.reason.converged { throw ExitCode(3) }
    }

    /// Under `mpirun`: every rank reads the matrix and keeps a block of rows (PETSc's MPIAIJ
    /// split); CG (`cg`, or `pipecg` for the pipelined variant) with `none`, `jacobi`, or block
    /// Jacobi with a local `ic0` or `cholmod` per rank; rank 0 prints and writes.
    func solveDistributed(_ a: CSRMatrix, _ b: [Double], options: IterativeOptions, world: Communicator) throws {
        let root = world.rank == 0
        var opts = options
        if !root { opts.monitor = nil }
        let solver = try DistributedLinearSolver(matrix: a, method: ksp, preconditioner: pc, options: opts, communicator: world)
        if root {
            print("linsolve: \(matrix): \(a.rows)×\(a.columns), \(a.nonzeroCount) nonzeros; ksp \(ksp), pc \(pc); \(world.size) ranks (rows in blocks)")
        }
        let (x, report) = try solver.solve(b)
        let whole = try solver.matrix.grid.gather(x, root: 0)
        guard root, let whole else {
            if !report.reason.converged { throw ExitCode(3) }
            return
        }
        try finish(report, setup: report.setupSeconds, x: whole, by: "mpirun -np \(world.size) linsolve", label: "\(ksp) + \(pc), \(world.size) ranks")
    }
}
