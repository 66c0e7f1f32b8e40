/// Why an iterative solver stopped.
public enum ConvergenceReason: String, Sendable, Equatable, CaseIterable {
    /// ‖b − A x‖ ≤ relativeTolerance · ‖b‖ (checked on the true residual).
    case convergedRelative
    /// ‖b − A x‖ ≤ absoluteTolerance.
    case convergedAbsolute
    /// maxIterations reached first.
    case divergedIterations
    /// pᵀAp ≤ 0: the matrix is not positive definite (on the Krylov space).
    case breakdown
    /// rᵀM⁻¹r < 0: the preconditioner is not positive definite.
    case indefinitePreconditioner
    /// NaN or Inf appeared (in b, in A, or from the preconditioner).
    case notANumber
    /// The recursive residual met the tolerance but the true residual b − A x did not, even
    /// after the allowed residual replacements (rounding drift, or a singular system).
    case stagnated
    /// The matrix has a constant null space and b has a component along it larger than the
    /// tolerance: no x can meet it (project b, or fix the model).
    case inconsistentRightHandSide
    /// The preconditioner (or a direct solve inside it) failed; the error is in the notes.
    case preconditionerFailure
    /// A proposed search direction is orthogonal to the residual (DCDM's model): a step
    /// along it cannot reduce the error.
    case nonDescentDirection

    /// True for the two converged reasons.
    public var converged: Bool { self == .convergedRelative || self == .convergedAbsolute }

    /// PETSc-style text, as printed by `--converged-reason` (PETSc's own name where one exists).
    public var petscName: String {
        switch self {
        case .convergedRelative: return "CONVERGED_RTOL"
        case .convergedAbsolute: return "CONVERGED_ATOL"
        case .divergedIterations: return "DIVERGED_ITS"
        case .breakdown: return "DIVERGED_INDEFINITE_MAT"
        case .indefinitePreconditioner: return "DIVERGED_INDEFINITE_PC"
        case .notANumber: return "DIVERGED_NANORINF"
        case .stagnated: return "DIVERGED_TRUE_RESIDUAL"
        case .inconsistentRightHandSide: return "DIVERGED_INCONSISTENT_RHS"
        case .preconditionerFailure: return "DIVERGED_PC_FAILED"
        case .nonDescentDirection: return "DIVERGED_BREAKDOWN"
        }
    }
}

/// What a solve did: the Krylov.jl "stats" / PETSc KSP summary.
public struct SolverReport: Sendable {
    public var reason: ConvergenceReason
    /// Iterations done (cycles for Richardson and multigrid, 1 for `preonly`).
    public var iterations: Int
    /// Residual norm (of the configured norm type) at iteration 0, 1, …, when history is on.
    public var residualHistory: [Double]
    /// ‖b − A x‖₂ / ‖b‖₂ recomputed from the returned x (not the recursive residual); b is
    /// the right-hand side actually solved for (after a null-space projection, if any).
    public var trueRelativeResidual: Double
    /// Seconds spent in the preconditioner's setup (0 when it was set up before).
    public var setupSeconds: Double
    /// Seconds spent iterating.
    public var solveSeconds: Double
    /// Notes from the solver or preconditioner (e.g. an IC(0) diagonal shift and retry, a
    /// residual replacement, a null-space projection).
    public var notes: [String]

    /// A report as the solvers fill it (times in seconds, residual relative to ‖b‖₂); not checked.
    public init(reason: ConvergenceReason, iterations: Int, residualHistory: [Double] = [],
                trueRelativeResidual: Double, setupSeconds: Double = 0, solveSeconds: Double = 0, notes: [String] = []) {
        self.reason = reason
        self.iterations = iterations
        self.residualHistory = residualHistory
        self.trueRelativeResidual = trueRelativeResidual
        self.setupSeconds = setupSeconds
        self.solveSeconds = solveSeconds
        self.notes = notes
    }
}
