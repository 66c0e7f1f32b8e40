/// Symmetric successive over-relaxation (symmetric Gauss–Seidel for ω = 1):
/// M = ω/(2−ω) · (D/ω + L) (D/ω)⁻¹ (D/ω + U), SPD for SPD A and 0 < ω < 2.
public final class SSORPreconditioner: Preconditioner {
    public let name = "sor"
    public let omega: Double
    private var a: CSRMatrix
    private var diagonal: [Double]
    private var work: [Double]

    /// SSOR with relaxation ω (1: symmetric Gauss–Seidel); keeps `a`, nothing is factorized. Throws
    /// `PDEError.shapeMismatch` for a non-square matrix, `.invalidValue` for ω ∉ (0, 2),
    /// `.notPositiveDefinite` for a diagonal entry ≤ 0.
    public init(_ a: CSRMatrix, omega: Double = 1) throws {
        guard a.rows == a.columns else {
            throw PDEError.shapeMismatch(what: "SSOR", expected: "a square matrix", got: "\(a.rows)×\(a.columns)")
        }
        guard omega > 0, omega < 2 else {
            throw PDEError.invalidValue(key: "omega", value: "\(omega)", expected: "a relaxation factor in (0, 2)")
        }
        self.a = a
        self.omega = omega
        diagonal = try SSORPreconditioner.positiveDiagonal(a)
        work = [Double](repeating: 0, count: a.rows)
    }

    private static func positiveDiagonal(_ a: CSRMatrix) throws -> [Double] {
        let d = a.diagonal()
        for (i, v) in d.enumerated() where !(v > 0) || !v.isFinite {
            throw PDEError.notPositiveDefinite(column: i, reason: "SSOR needs positive diagonal entries; a[\(i),\(i)] = \(v)")
        }
        return d
    }

    /// Numeric re-setup: SSOR uses the matrix itself, so this keeps the new values.
    public func update(_ matrix: CSRMatrix) throws {
        guard matrix.rows == a.rows, matrix.columns == a.columns else {
            throw PDEError.shapeMismatch(what: "SSOR update", expected: "a \(a.rows)×\(a.columns) matrix", got: "\(matrix.rows)×\(matrix.columns)")
        }
        diagonal = try SSORPreconditioner.positiveDiagonal(matrix)
        a = matrix
    }

    /// A forward sweep with D/ω + L, a backward one with D/ω + U, scaled by (2 − ω)/ω: serial,
    /// O(nnz), no allocation; returns r · z and never throws.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try checkApplySizes(r, z, size: a.rows, name)
        let n = a.rows
        let w = omega
        let scale = (2 - w) / w
        a.rowPointers.withUnsafeBufferPointer { rpp in
        a.columnIndices.withUnsafeBufferPointer { cp in
        a.values.withUnsafeBufferPointer { vp in
        diagonal.withUnsafeBufferPointer { dp in
        r.withUnsafeBufferPointer { rp in
        work.withUnsafeMutableBufferPointer { yp in
        z.withUnsafeMutableBufferPointer { zp in
            let y = yp.baseAddress!, zz = zp.baseAddress!
            // (D/ω + L) y = r
            var i = 0
            while i < n {
                var t = rp[i]
                var k = rpp[i]
                let e = rpp[i &+ 1]
                while k < e {
                    let j = Int(truncatingIfNeeded: cp[k])
                    if j < i { t -= vp[k] * y[j] }
                    k &+= 1
                }
                y[i] = t * w / dp[i]
                i &+= 1
            }
            // (D/ω + U) z = (D/ω) y, then scale by (2 − ω)/ω
            i = n &- 1
            while i >= 0 {
                var t = dp[i] / w * y[i]
                var k = rpp[i]
                let e = rpp[i &+ 1]
                while k < e {
                    let j = Int(truncatingIfNeeded: cp[k])
                    if j > i { t -= vp[k] * zz[j] }
                    k &+= 1
                }
                zz[i] = t * w / dp[i]
                i &-= 1
            }
            i = 0
            while i < n { zz[i] *= scale; i &+= 1 }
        }}}}}}}
        return VectorKernels.dot(r, z)
    }
}
