/// Called with (iteration, residual norm) after every iteration, and once with iteration 0
/// before the first (PETSc's `-ksp_monitor`).
public typealias IterationMonitor = (Int, Double) -> Void

/// The options every iterative method shares (Krylov.jl's `atol`/`rtol`/`itmax`/`history`/
/// `callback`, PETSc's `KSPSetTolerances`): CG, Richardson (stand-alone multigrid and AMG)
/// and every later iterative method take one of these.
///
/// Stopping: ‖r‖ ≤ max(relativeTolerance · ‖b‖₂, absoluteTolerance) in the chosen norm. With
/// the default unpreconditioned norm the reason a solve reports is decided on the true
/// residual b − A x of the returned x, never on a recursively updated one alone; with the
/// preconditioned or natural norm (PETSc's semantics) the test is in that norm, and the
/// report's `trueRelativeResidual` shows the ℓ² one.
public struct IterativeOptions {
    /// The suite's one default relative tolerance (10⁻⁸, the peers' stopping rule).
    public static let defaultRelativeTolerance = 1e-8
    /// The default iteration limit.
    public static let defaultMaxIterations = 10_000

    /// Which residual norm the stopping test and the monitor use.
    public enum Norm: String, Sendable, CaseIterable {
        /// ‖r‖₂ (scipy's and this suite's default; the peers' stopping rule).
        case unpreconditioned
        /// ‖M⁻¹r‖₂ (PETSc's CG default); the relative tolerance then refers to the initial
        /// residual in that norm, as in PETSc.
        case preconditioned
        /// (rᵀM⁻¹r)^½, the energy norm of the error in M's metric; relative to its initial value.
        case natural
    }

    /// What to do with a singular matrix whose null space is the constant vector (pure
    /// Neumann or periodic operators, zero row sums), recognised by one product A·1.
    public enum NullSpacePolicy: String, Sendable, CaseIterable {
        /// Recognise it; a right-hand side with a component along the null space larger than
        /// the tolerance makes the solve stop at once with `.inconsistentRightHandSide`.
        case detect
        /// Recognise it and project the right-hand side onto the range (b − mean(b)), as
        /// PETSc's `MatSetTransposeNullSpace` does; the projection is noted in the report and
        /// the solution returned with zero mean.
        case project
        /// No check (the caller knows the matrix is non-singular).
        case none
    }

    /// Relative tolerance on the residual (see `norm`).
    public var relativeTolerance: Double
    /// Absolute tolerance on the residual norm.
    public var absoluteTolerance: Double
    /// Iteration limit (cycles for Richardson/multigrid).
    public var maxIterations: Int
    /// The norm of the stopping test and the monitor.
    public var norm: Norm
    /// Keep the residual norm of every iteration in the report.
    public var recordHistory: Bool
    /// Constant-null-space handling.
    public var nullSpace: NullSpacePolicy
    /// Called after every iteration (and at iteration 0).
    public var monitor: IterationMonitor?

    /// Defaults: rtol 10⁻⁸, atol 0, 10 000 iterations, unpreconditioned ‖r‖₂, history kept, null
    /// space detected, no monitor. Not validated here: every solve calls `validate()`.
    public init(relativeTolerance: Double = IterativeOptions.defaultRelativeTolerance, absoluteTolerance: Double = 0,
                maxIterations: Int = IterativeOptions.defaultMaxIterations, norm: Norm = .unpreconditioned,
                recordHistory: Bool = true, nullSpace: NullSpacePolicy = .detect, monitor: IterationMonitor? = nil) {
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxIterations = maxIterations
        self.norm = norm
        self.recordHistory = recordHistory
        self.nullSpace = nullSpace
        self.monitor = monitor
    }

    /// Throws a typed error for negative or non-finite tolerances, a negative iteration limit,
    /// or a relative tolerance ≥ 1.
    public func validate() throws {
        guard relativeTolerance >= 0, relativeTolerance < 1, relativeTolerance.isFinite else {
            throw PDEError.invalidValue(key: "rtol", value: "\(relativeTolerance)", expected: "a relative tolerance in [0, 1)")
        }
        guard absoluteTolerance >= 0, absoluteTolerance.isFinite else {
            throw PDEError.invalidValue(key: "atol", value: "\(absoluteTolerance)", expected: "a finite absolute tolerance ≥ 0")
        }
        guard maxIterations >= 0 else {
            throw PDEError.invalidValue(key: "max_iterations", value: "\(maxIterations)", expected: "an integer ≥ 0")
        }
    }

    /// max(rtol · ‖b‖, atol).
    func target(bNorm: Double) -> Double { max(relativeTolerance * bNorm, absoluteTolerance) }

    /// The converged reason for a final true residual `trueNorm` (absolute when the absolute
    /// tolerance is the binding one).
    func convergedReason(bNorm: Double) -> ConvergenceReason {
        absoluteTolerance >= relativeTolerance * bNorm ? .convergedAbsolute : .convergedRelative
    }
}
