/// A preconditioner M ≈ A (PETSc's PC): the initializer does the (possibly expensive)
/// setup once per matrix, `apply` computes z = M⁻¹ r for every iteration, and `update`
/// redoes only the numeric part for new values on the same sparsity pattern (like
/// CHOLMOD's factorize after analyze), so repeated solves reuse the setup.
///
/// New preconditioners are one file plus one entry in `SolverRegistry`.
public protocol Preconditioner: AnyObject {
    /// Short name for reports (the registry name: `jacobi`, `icc`, `gamg`, …).
    var name: String { get }
    /// Notes gathered during setup (shifts, retries, complexities).
    var notes: [String] { get }
    /// z ← M⁻¹ r; returns r · z (fused where cheap; CG needs it next). Throws when the
    /// application fails (e.g. a direct coarse solve); the solver then stops with
    /// `.preconditionerFailure` and the error in its notes.
    func apply(_ r: [Double], into z: inout [Double]) throws -> Double
    /// Numeric re-setup for `matrix`, which has the sparsity pattern of the matrix the
    /// preconditioner was built for and new values. Throws `PDEError.shapeMismatch` for
    /// another size (and, for multigrid, AMG and CHOLMOD, which keep pattern-dependent
    /// structures, for another pattern), and the setup's errors (non-positive pivots, …)
    /// for bad values.
    func update(_ matrix: CSRMatrix) throws
}

extension Preconditioner {
    public var notes: [String] { [] }
}

/// Throws `PDEError.shapeMismatch` unless r and z both have `size` entries: the
/// preconditioners' kernels run on unsafe pointers.
@inline(__always)
func checkApplySizes(_ r: [Double], _ z: [Double], size: Int, _ name: String) throws {
    guard r.count == size, z.count == size else {
        throw PDEError.shapeMismatch(what: "\(name) preconditioner", expected: "r and z of length \(size)", got: "r \(r.count), z \(z.count)")
    }
}

/// Jacobi (diagonal) preconditioning: z = D⁻¹ r.
public final class JacobiPreconditioner: Preconditioner {
    public let name = "jacobi"
    private var inverseDiagonal: [Double]

    /// Throws when a diagonal entry is not positive (A cannot be SPD then), naming the row.
    public init(diagonal: [Double]) throws {
        inverseDiagonal = try JacobiPreconditioner.invert(diagonal)
    }

    private static func invert(_ diagonal: [Double]) throws -> [Double] {
        for (i, d) in diagonal.enumerated() where !(d > 0) || !d.isFinite {
            throw PDEError.invalidValue(key: "diagonal[\(i)]", value: "\(d)",
                                        expected: "positive finite diagonal entries (an SPD matrix) for Jacobi preconditioning")
        }
        return diagonal.map { 1 / $0 }
    }

    /// Recomputes D⁻¹ from `matrix`'s diagonal (only the size is checked, not the pattern). Throws
    /// `PDEError.shapeMismatch` for another size, `.invalidValue` for a diagonal entry ≤ 0.
    public func update(_ matrix: CSRMatrix) throws {
        guard matrix.rows == inverseDiagonal.count, matrix.columns == matrix.rows else {
            throw PDEError.shapeMismatch(what: "Jacobi update", expected: "a \(inverseDiagonal.count)×\(inverseDiagonal.count) matrix",
                                         got: "\(matrix.rows)×\(matrix.columns)")
        }
        inverseDiagonal = try JacobiPreconditioner.invert(matrix.diagonal())
    }

    /// Jacobi from `diagonalEntries()` (a matrix or a stencil); throws `PDEError.invalidValue`
    /// when the operator does not know its diagonal or an entry is not positive and finite.
    public convenience init(_ operator: LinearOperator) throws {
        guard let d = `operator`.diagonalEntries() else {
            throw PDEError.invalidValue(key: "preconditioner", value: "jacobi",
                                        expected: "an operator that knows its diagonal (a matrix or stencil)")
        }
        try self.init(diagonal: d)
    }

    /// z = D⁻¹ r fused with r · z in one threaded pass; no allocation. Throws only for
    /// vectors of the wrong length.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try checkApplySizes(r, z, size: inverseDiagonal.count, name)
        return VectorKernels.scaleAndDot(inverseDiagonal, r, into: &z)
    }
}

/// Estimates λmax(D⁻¹A) for SPD A with positive diagonal `d`, by power iterations from a
/// fixed pseudo-random start (deterministic). Smoothers and prolongator smoothing need it.
func estimateLargestEigenvalueDinvA(_ a: CSRMatrix, diagonal d: [Double], iterations: Int = 15) -> Double {
    let n = a.rows
    var g = SeededGenerator(seed: 12345)
    var v = (0..<n).map { _ in g.uniform() - 0.25 }
    var w = [Double](repeating: 0, count: n)
    var lambda = 1.0
    for _ in 0..<iterations {
        let norm = VectorKernels.norm(v)
        guard norm > 0 else { break }
        for i in 0..<n { v[i] /= norm }
        a.apply(v, into: &w)
        for i in 0..<n { w[i] /= d[i] }
        lambda = VectorKernels.norm(w)
        swap(&v, &w)
    }
    return lambda
}
