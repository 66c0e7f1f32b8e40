import Foundation
import PDE

/// Names of Krylov methods and preconditioners, shared by `linsolve` flags and
/// `pde-solve` configs (PETSc-style: solver and preconditioner chosen by name).
public enum KrylovMethod: String, CaseIterable, Sendable {
    /// Conjugate gradients (preconditioned when a preconditioner is given).
    case cg
    /// Apply the preconditioner once (with `cholmod`: a direct solve).
    case preonly
}

public enum PreconditionerKind: String, CaseIterable, Sendable {
    case none, jacobi, ic0, ssor, amg, cholmod
}

/// A solve of A x = b by name: builds the preconditioner (timed as setup) and runs the method.
public struct LinearSolveRequest {
    public var method: KrylovMethod = .cg
    public var preconditioner: PreconditionerKind = .none
    public var relativeTolerance = 1e-8
    public var absoluteTolerance = 0.0
    public var maxIterations = 10_000
    public var normType: ConjugateGradient.NormType = .unpreconditioned
    public var ssorOmega = 1.0

    public init() {}

    /// Solves and returns x with the report (setup time included).
    public func solve(_ a: CSRMatrix, _ b: [Double], initialGuess: [Double]? = nil,
                      monitor: ConjugateGradient.Monitor? = nil) throws -> (x: [Double], report: SolverReport) {
        guard a.rows == a.columns else {
            throw PDEError.shapeMismatch(what: "linear solve", expected: "a square matrix", got: "\(a.rows)×\(a.columns)")
        }
        guard b.count == a.rows else {
            throw PDEError.shapeMismatch(what: "right-hand side", expected: "\(a.rows) entries", got: "\(b.count)")
        }
        if method == .preonly && preconditioner != .cholmod {
            throw PDEError.invalidValue(key: "ksp", value: "preonly with pc \(preconditioner.rawValue)",
                                        expected: "preonly only with the cholmod (direct) preconditioner")
        }
        var pc: Preconditioner?
        var chol: CholmodFactorization?
        let setup = try measureSeconds {
            switch preconditioner {
            case .none: pc = nil
            case .jacobi: pc = try JacobiPreconditioner(a)
            case .ic0: pc = try IncompleteCholeskyPreconditioner(a)
            case .ssor: pc = try SSORPreconditioner(a, omega: ssorOmega)
            case .amg: pc = try SmoothedAggregationAMG(a)
            case .cholmod:
                chol = try CholmodFactorization(matrix: a)
                pc = CholmodPreconditioner(chol!)
            }
        }
        if method == .preonly, let chol {
            var x = [Double](repeating: 0, count: a.rows)
            let t = try measureSeconds { try chol.solve(b, into: &x) }
            let rel = try Vectors.relativeResidual(a, x, b)
            return (x, SolverReport(reason: rel.isFinite ? .convergedRelative : .notANumber, iterations: 1,
                                    residualHistory: [], trueRelativeResidual: rel, setupSeconds: setup, solveSeconds: t,
                                    notes: ["direct solve (CHOLMOD), \(chol.factorNonzeros) nonzeros in L"]))
        }
        let cg = ConjugateGradient(relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
                                   maxIterations: maxIterations, normType: normType)
        var result = try cg.solve(a, b, initialGuess: initialGuess, preconditioner: pc, monitor: monitor)
        result.report.setupSeconds = setup
        return result
    }
}

/// A CHOLMOD factorization used as an (exact) preconditioner.
public final class CholmodPreconditioner: Preconditioner {
    public let name = "cholmod"
    let factorization: CholmodFactorization
    public init(_ f: CholmodFactorization) { factorization = f }
    public func apply(_ r: [Double], into z: inout [Double]) -> Double {
        do { try factorization.solve(r, into: &z) } catch {
            for i in z.indices { z[i] = .nan }
        }
        return VectorKernels.dot(r, z)
    }
}
