import Dispatch

/// The distributed counterpart of `LinearSolver` for an assembled matrix: the method and the
/// preconditioner chosen by name, once, for every app that solves under `mpirun` (`linsolve`,
/// `pde-solve`). Every rank passes the whole matrix and keeps its block of rows, or passes its
/// rows assembled per rank (`DistributedCSRMatrix`); methods `cg` and `pipecg`, preconditioners `none`, `jacobi`, and
/// block Jacobi with a local `ic0` (alias `icc`) or `cholmod` per rank. Collective.
public final class DistributedLinearSolver {
    /// The row-distributed matrix.
    public let matrix: DistributedCSRMatrix
    /// The Krylov method with its options.
    public let method: DistributedConjugateGradient
    /// The preconditioner (nil for `none`).
    public let preconditioner: DistributedPreconditioner?
    /// Seconds spent distributing the matrix and setting up the preconditioner.
    public let setupSeconds: Double

    /// Throws `PDEError.invalidValue` with key `method`, `preconditioner` or `norm` for a name
    /// or norm offered only serially, and the setup's errors (non-positive pivots, …).
    public convenience init(matrix a: CSRMatrix, method: String, preconditioner: String, options: IterativeOptions,
                            communicator: Communicator) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try Self.check(method: method, options: options, communicator: communicator)
        try self.init(distributed: try DistributedCSRMatrix(rowsOf: a, communicator: communicator), method: method,
                      preconditioner: preconditioner, options: options, startedAt: t0)
    }

    /// The solver of a matrix already distributed (assembled per rank, e.g. `DistributedFDSystem`);
    /// errors as the other initializer's.
    public convenience init(distributed d: DistributedCSRMatrix, method: String, preconditioner: String, options: IterativeOptions) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try Self.check(method: method, options: options, communicator: d.grid.communicator)
        try self.init(distributed: d, method: method, preconditioner: preconditioner, options: options, startedAt: t0)
    }

    private static func check(method: String, options: IterativeOptions, communicator: Communicator) throws {
        guard method == "cg" || method == "pipecg" else {
            throw PDEError.invalidValue(key: "method", value: method, expected: "cg or pipecg under mpirun (\(communicator.size) ranks)")
        }
        guard options.norm == .unpreconditioned else {
            throw PDEError.invalidValue(key: "norm", value: options.norm.rawValue, expected: "unpreconditioned under mpirun")
        }
    }

    /// Both public initializers' work after `check`; the setup time counts from `t0`.
    private init(distributed d: DistributedCSRMatrix, method: String, preconditioner: String, options: IterativeOptions,
                 startedAt t0: UInt64) throws {
        let communicator = d.grid.communicator
        let variant: DistributedConjugateGradient.Variant = method == "pipecg" ? .pipelined : .classic
        // A local factorization can fail on one rank only (a non-positive pivot in its block):
        // every rank then throws rather than wait in the solve.
        self.preconditioner = try communicator.collectively("preconditioner setup") { () throws -> DistributedPreconditioner? in
            switch preconditioner {
            case "none": return nil
            case "jacobi": return try DistributedJacobi(d)
            case "ic0", "icc": return try DistributedBlockJacobi(d, name: "bjacobi+ic0") { try IncompleteCholeskyPreconditioner($0) }
            case "cholmod": return try DistributedBlockJacobi(d, name: "bjacobi+cholmod") { try CholmodPreconditioner($0) }
            default:
                throw PDEError.invalidValue(key: "preconditioner", value: preconditioner,
                                            expected: "none, jacobi, ic0 or cholmod (block Jacobi per rank) under mpirun")
            }
        }
        matrix = d
        self.method = DistributedConjugateGradient(options, variant: variant)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// This rank's part of x for the whole right-hand side `b` (every rank passes it), from
    /// x = 0; the report carries `setupSeconds`.
    public func solve(_ b: [Double]) throws -> (x: [Double], report: SolverReport) {
        try solve(local: matrix.grid.localPart(of: b))
    }

    /// This rank's part of x for this rank's part of the right-hand side, from x = 0.
    public func solve(local b: [Double]) throws -> (x: [Double], report: SolverReport) {
        var x = [Double](repeating: 0, count: matrix.grid.ownedCount)
        var report = try method.solve(matrix, b, x: &x, preconditioner: preconditioner)
        report.setupSeconds = setupSeconds
        return (x, report)
    }
}
