import Dispatch

/// A CHOLMOD factorization as an exact preconditioner (PETSc's `-pc_type cholesky`); with
/// the `preonly` method it is the direct solver. The analysis (ordering, symbolic
/// factorization) and the numeric factorization are timed separately; `update` reuses the
/// analysis for new values on the same pattern.
public final class CholmodPreconditioner: Preconditioner {
    public let name = "cholesky"
    /// The factorization (analysis + numeric factor).
    public let factorization: CholmodFactorization
    /// Seconds of the symbolic analysis and of the last numeric factorization.
    public private(set) var analyzeSeconds = 0.0, factorizeSeconds = 0.0
    public var notes: [String] {
        ["CHOLMOD: \(factorization.ordering.rawValue) ordering, \(factorization.factorNonzeros) nonzeros in L"]
    }

    /// Analyzes and factorizes `matrix`; throws for non-symmetric, non-SPD or malformed input.
    public init(_ matrix: CSRMatrix, ordering: CholmodFactorization.Ordering = .amd) throws {
        var f: CholmodFactorization!
        analyzeSeconds = try Self.seconds { f = try CholmodFactorization.analyze(matrix, ordering: ordering) }
        factorizeSeconds = try Self.seconds { try f.factorize(matrix) }
        factorization = f
    }

    /// Wraps an existing factorization.
    public init(_ factorization: CholmodFactorization) { self.factorization = factorization }

    /// z = A⁻¹ r by CHOLMOD's triangular solves (no allocation after the first call); returns r · z.
    /// Throws `PDEError.shapeMismatch` for wrong lengths, `.libraryFailure` when the solve fails.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try factorization.solve(r, into: &z)
        return VectorKernels.dot(r, z)
    }

    /// Numeric factorization of the new values on the kept analysis.
    public func update(_ matrix: CSRMatrix) throws {
        factorizeSeconds = try Self.seconds { try factorization.factorize(matrix) }
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }
}

/// `preonly`: one application of the preconditioner, x = M⁻¹ b (with `cholesky`, the
/// direct solve). Converged when the true residual meets the tolerance, else
/// `.divergedIterations` — an inexact preconditioner applied once is reported as such.
public struct PreconditionerOnly: IterativeMethod, @unchecked Sendable {
    public let name = "preonly"
    public var options: IterativeOptions

    /// `preonly` with these options; the tolerances classify the single application,
    /// `maxIterations` and `norm` are not used.
    public init(_ options: IterativeOptions = IterativeOptions()) { self.options = options }

    /// x = M⁻¹ b, overwriting the initial guess; one iteration, one product A x for the true residual.
    /// Throws `PDEError.invalidValue` without a preconditioner, and for bad sizes or options.
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner m: Preconditioner?) throws -> SolverReport {
        guard let m else {
            throw PDEError.invalidValue(key: "ksp", value: "preonly without a preconditioner",
                                        expected: "a preconditioner to apply (cholesky for a direct solve)")
        }
        var s = try IterationSession(method: "preonly", options: options, a: a, b: b, x: x, preconditioner: m)
        var scratch = [Double](repeating: 0, count: a.size)
        if s.inconsistency != nil { return s.finish(.inconsistentRightHandSide, x: &x, scratch: &scratch) }
        guard s.precondition(m, s.b, into: &x) != nil else { return s.finish(.preconditionerFailure, x: &x, scratch: &scratch) }
        s.iterations = 1
        a.apply(x, into: &scratch)
        VectorKernels.residualFrom(s.b, &scratch)
        let res = VectorKernels.norm(scratch)
        s.record(res)
        let reason: ConvergenceReason = !res.isFinite ? .notANumber
            : res <= options.target(bNorm: s.bNorm) ? options.convergedReason(bNorm: s.bNorm) : .divergedIterations
        return s.finish(reason, x: &x, scratch: &scratch)
    }
}
