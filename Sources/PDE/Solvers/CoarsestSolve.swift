/// The direct solve on the coarsest level of a multigrid hierarchy (AMG or geometric), by
/// CHOLMOD. When the fine matrix has a constant null space (pure Neumann, periodic), the
/// coarsest Galerkin matrix is singular too (the interpolation reproduces constants), so
/// the coarse unknown 0 is pinned: the solve returns the particular solution with y₀ = 0 —
/// a symmetric generalized inverse, so the cycle stays a symmetric preconditioner, and
/// exact on the consistent coarse residuals of a consistent fine system.
final class CoarsestSolve {
    private let factorization: CholmodFactorization
    /// True when unknown 0 is pinned (singular coarsest matrix).
    let pinned: Bool
    private var scratch: [Double]

    init(_ a: CSRMatrix, singular: Bool) throws {
        pinned = singular && a.rows > 1
        var m = a
        if pinned { CSRMatrix.pinFirstUnknown(&m) }
        factorization = try CholmodFactorization(matrix: m, checkSymmetry: false)
        scratch = [Double](repeating: 0, count: pinned ? a.rows : 0)
    }

    /// Numeric factorization of new values on the kept analysis.
    func update(_ a: CSRMatrix) throws {
        var m = a
        if pinned { CSRMatrix.pinFirstUnknown(&m) }
        try factorization.factorize(m)
    }

    /// x = A⁻¹ b (with b₀ dropped and x₀ = 0 when pinned).
    func solve(_ b: [Double], into x: inout [Double]) throws {
        guard pinned else { return try factorization.solve(b, into: &x) }
        for i in 0..<b.count { scratch[i] = b[i] }
        scratch[0] = 0
        try factorization.solve(scratch, into: &x)
    }

    var note: String? { pinned ? "coarsest matrix singular (constant null space): solved with coarse unknown 0 pinned" : nil }
}
