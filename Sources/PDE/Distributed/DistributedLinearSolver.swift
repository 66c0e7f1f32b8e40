import Dispatch

/// The distributed counterpart of `LinearSolver` for an assembled matrix: the method and the
/// preconditioner chosen by name, once, for every app that solves under `mpirun` (`linsolve`,
/// `pde-solve`). Every rank passes the whole matrix and keeps its block of rows
/// (`DistributedCSRMatrix`); methods `cg` and `pipecg`, preconditioners `none`, `jacobi`, and
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
    public init(matrix a: CSRMatrix, method: String, preconditioner: String, options: IterativeOptions,
                communicator: Communicator) throws {
        let variant: DistributedConjugateGradient.Variant
        switch method {
        case "cg": variant = .classic
        case "pipecg": variant = .pipelined
        default: throw PDEError.invalidValue(key: "method", value: method, expected: "cg or pipecg under mpirun (\(communicator.size) ranks)")
        }
        guard options.norm == .unpreconditioned else {
            throw PDEError.invalidValue(key: "norm", value: options.norm.rawValue, expected: "unpreconditioned under mpirun")
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let d = try DistributedCSRMatrix(rowsOf: a, communicator: communicator)
        switch preconditioner {
        case "none": self.preconditioner = nil
        case "jacobi": self.preconditioner = try DistributedJacobi(d)
        case "ic0", "icc": self.preconditioner = try DistributedBlockJacobi(d, name: "bjacobi+ic0") { try IncompleteCholeskyPreconditioner($0) }
        case "cholmod": self.preconditioner = try DistributedBlockJacobi(d, name: "bjacobi+cholmod") { try CholmodPreconditioner($0) }
        default:
            throw PDEError.invalidValue(key: "preconditioner", value: preconditioner,
                                        expected: "none, jacobi, ic0 or cholmod (block Jacobi per rank) under mpirun")
        }
        matrix = d
        self.method = DistributedConjugateGradient(options, variant: variant)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// This rank's part of x for the whole right-hand side `b` (every rank passes it), from
    /// x = 0; the report carries `setupSeconds`.
    public func solve(_ b: [Double]) throws -> (x: [Double], report: SolverReport) {
        var x = [Double](repeating: 0, count: matrix.grid.ownedCount)
        var report = try method.solve(matrix, matrix.grid.localPart(of: b), x: &x, preconditioner: preconditioner)
        report.setupSeconds = setupSeconds
        return (x, report)
    }
}
