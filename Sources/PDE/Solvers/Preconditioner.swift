/// A preconditioner M ≈ A: `setup` does the (possibly expensive) construction once per
/// matrix, `apply` computes z = M⁻¹ r for every iteration. Setup is separate from solve so
/// repeated solves with one matrix reuse it.
public protocol Preconditioner: AnyObject {
    /// Short name for reports (`jacobi`, `ic0`, `ssor`, …).
    var name: String { get }
    /// Notes gathered during setup (shifts, retries, complexities).
    var notes: [String] { get }
    /// z ← M⁻¹ r; returns r · z (fused where cheap; CG needs it next).
    func apply(_ r: [Double], into z: inout [Double]) -> Double
}

extension Preconditioner {
    public var notes: [String] { [] }
}

/// Jacobi (diagonal) preconditioning: z = D⁻¹ r.
public final class JacobiPreconditioner: Preconditioner {
    public let name = "jacobi"
    private let inverseDiagonal: [Double]

    /// Throws when a diagonal entry is not positive (A cannot be SPD then), naming the row.
    public init(diagonal: [Double]) throws {
        for (i, d) in diagonal.enumerated() where !(d > 0) || !d.isFinite {
            throw PDEError.invalidValue(key: "diagonal[\(i)]", value: "\(d)",
                                        expected: "positive finite diagonal entries (an SPD matrix) for Jacobi preconditioning")
        }
        inverseDiagonal = diagonal.map { 1 / $0 }
    }

    public convenience init(_ operator: LinearOperator) throws {
        guard let d = `operator`.diagonalEntries() else {
            throw PDEError.invalidValue(key: "preconditioner", value: "jacobi",
                                        expected: "an operator that knows its diagonal (a matrix or stencil)")
        }
        try self.init(diagonal: d)
    }

    public func apply(_ r: [Double], into z: inout [Double]) -> Double {
        VectorKernels.scaleAndDot(inverseDiagonal, r, into: &z)
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
