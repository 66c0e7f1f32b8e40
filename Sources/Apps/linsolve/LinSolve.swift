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
        PETSc-style names: --ksp chooses the method, --pc the preconditioner.
          linsolve A.mtx --rhs ones --ksp cg --pc amg --rtol 1e-8 --monitor --converged-reason -o x.mtx
          linsolve A.mtx b.mtx --ksp preonly --pc cholmod
        Exit codes: 0 converged, 3 not converged, 2 bad input, 1 other failures.
        """)

    @Argument(help: "Matrix A (Matrix Market, coordinate real general/symmetric).")
    var matrix: String

    @Argument(help: "Right-hand side b (Matrix Market vector). Alternative: --rhs.")
    var rhsFile: String?

    @Option(help: "Right-hand side when no file is given: ones | random.")
    var rhs: String?

    @Option(help: "Seed for --rhs random.")
    var seed: UInt64 = 0

    @Option(help: "Krylov method: \(KrylovMethod.allCases.map(\.rawValue).joined(separator: " | ")).")
    var ksp = "cg"

    @Option(help: "Preconditioner: \(PreconditionerKind.allCases.map(\.rawValue).joined(separator: " | ")).")
    var pc = "none"

    @Option(help: "Relative tolerance on ‖b − Ax‖₂ / ‖b‖₂.")
    var rtol = 1e-8

    @Option(help: "Absolute tolerance on the residual norm.")
    var atol = 0.0

    @Option(name: .customLong("max-it"), help: "Maximum iterations.")
    var maxIterations = 10_000

    @Option(help: "Residual norm for the stopping test: unpreconditioned | preconditioned | natural.")
    var norm = "unpreconditioned"

    @Option(help: "SSOR relaxation factor ω in (0, 2).")
    var omega = 1.0

    @Flag(help: "Print the residual norm at every iteration.")
    var monitor = false

    @Flag(help: "Print why the solver stopped.")
    var convergedReason = false

    @Option(name: .shortAndLong, help: "Write the solution x (Matrix Market vector).")
    var output: String?

    @Option(help: "Write the residual history as an SVG plot (log scale).")
    var plot: String?

    func run() throws {
        do {
            try solve()
        } catch let e as PDEError {
            FileHandle.standardError.write(Data("linsolve: error: \(e.description)\n".utf8))
            if case .libraryFailure = e { throw ExitCode(1) }
            throw ExitCode(2)
        }
    }

    func solve() throws {
        var req = LinearSolveRequest()
        guard let method = KrylovMethod(rawValue: ksp) else {
            throw PDEError.invalidValue(key: "--ksp", value: ksp, expected: KrylovMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let pcKind = PreconditionerKind(rawValue: pc) else {
            throw PDEError.invalidValue(key: "--pc", value: pc, expected: PreconditionerKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let normType = ConjugateGradient.NormType(rawValue: norm) else {
            throw PDEError.invalidValue(key: "--norm", value: norm, expected: ConjugateGradient.NormType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard rtol >= 0, atol >= 0, maxIterations >= 0 else {
            throw PDEError.invalidValue(key: "--rtol/--atol/--max-it", value: "\(rtol)/\(atol)/\(maxIterations)", expected: "non-negative values")
        }
        req.method = method
        req.preconditioner = pcKind
        req.relativeTolerance = rtol
        req.absoluteTolerance = atol
        req.maxIterations = maxIterations
        req.normType = normType
        req.ssorOmega = omega

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
        print("linsolve: \(matrix): \(a.rows)×\(a.columns), \(a.nonzeroCount) nonzeros; ksp \(ksp), pc \(pc)")
        let mon: ConjugateGradient.Monitor? = monitor ? { it, r in
            print(String(format: "%5d KSP residual norm %.12e", it, r))
        } : nil
        let (x, report) = try req.solve(a, b, monitor: mon)
        for note in report.notes { print("  \(note)") }
        if convergedReason {
            let verb = report.reason.converged ? "converged" : "diverged"
            print("Linear solve \(verb) due to \(report.reason.petscName) iterations \(report.iterations)")
        }
        print(String(format: "  setup %@, solve %@ (%@ per iteration), true relative residual %.3e",
                     formatSeconds(report.setupSeconds), formatSeconds(report.solveSeconds),
                     formatSeconds(report.solveSeconds / Double(max(1, report.iterations))), report.trueRelativeResidual))
        if let output { try MatrixMarket.writeVector(x, to: output, comment: "solution of \(matrix) by linsolve --ksp \(ksp) --pc \(pc)") }
        if let plot, !report.residualHistory.isEmpty {
            var p = SVGLinePlot(title: "Residual history: \(URL(fileURLWithPath: matrix).lastPathComponent)",
                                xLabel: "iteration", yLabel: "residual norm", logY: true)
            p.series.append(.init(label: "\(ksp) + \(pc)", y: report.residualHistory))
            try p.write(to: plot)
        }
        if !report.reason.converged { throw ExitCode(3) }
    }
}
