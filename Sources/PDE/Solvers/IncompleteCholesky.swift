/// Zero-fill incomplete Cholesky, IC(0): A ≈ L Lᵀ with L restricted to the pattern of
/// tril(A). When a pivot is not positive (possible for SPD matrices that are not
/// M-matrices), the factorization restarts on A + α·diag(A) with α = 10⁻³, 10⁻², …, and
/// the shift is reported in `notes`.
public final class IncompleteCholeskyPreconditioner: Preconditioner {
    public let name = "icc"
    public private(set) var notes: [String] = []
    /// The diagonal shift α finally used (0 when none was needed).
    public private(set) var shift: Double = 0

    private let n: Int
    private let maxShiftAttempts: Int
    // Strictly lower part of L by rows, strictly upper part of Lᵀ by rows, and 1/L_ii.
    private var lRowPointers: [Int] = [], lColumns: [Int32] = [], lValues: [Double] = []
    private var uRowPointers: [Int] = [], uColumns: [Int32] = [], uValues: [Double] = []
    private var inverseDiagonal: [Double] = []
    private var work: [Double]

    /// IC(0) of `a`, reading only its lower triangle, retrying with shifts 10⁻³, 10⁻², … up to
    /// `maxShiftAttempts` (≥ 0) times. Throws `PDEError.shapeMismatch` for a non-square matrix,
    /// `.notPositiveDefinite` for a diagonal entry ≤ 0 or when every shift fails.
    public init(_ a: CSRMatrix, maxShiftAttempts: Int = 8) throws {
        guard a.rows == a.columns else {
            throw PDEError.shapeMismatch(what: "IC(0)", expected: "a square matrix", got: "\(a.rows)×\(a.columns)")
        }
        guard maxShiftAttempts >= 0 else {
            throw PDEError.invalidValue(key: "maxShiftAttempts", value: "\(maxShiftAttempts)", expected: "an integer ≥ 0")
        }
        n = a.rows
        self.maxShiftAttempts = maxShiftAttempts
        work = [Double](repeating: 0, count: n)
        try factorize(a)
    }

    /// Numeric re-setup: IC(0) of the new values (shift retries as in the first setup).
    public func update(_ matrix: CSRMatrix) throws {
        guard matrix.rows == n, matrix.columns == n else {
            throw PDEError.shapeMismatch(what: "IC(0) update", expected: "a \(n)×\(n) matrix", got: "\(matrix.rows)×\(matrix.columns)")
        }
        notes.removeAll()
        try factorize(matrix)
    }

    private func factorize(_ a: CSRMatrix) throws {
        let diag = a.diagonal()
        for (i, d) in diag.enumerated() where !(d > 0) || !d.isFinite {
            throw PDEError.notPositiveDefinite(column: i, reason: "IC(0) needs positive diagonal entries; a[\(i),\(i)] = \(d)")
        }
        var alpha = 0.0
        var lastFailure = 0
        for attempt in 0...maxShiftAttempts {
            guard let failed = factor(a, diag: diag, shift: alpha) else {
                shift = alpha
                if alpha > 0 { notes.append("IC(0) used diagonal shift α = \(alpha) (A + α·diag(A))") }
                return
            }
            lastFailure = failed
            if attempt == maxShiftAttempts { break }
            let next = attempt == 0 ? 1e-3 : alpha * 10
            notes.append("IC(0) pivot ≤ 0 at row \(failed) with shift \(alpha); retrying with diagonal shift \(next)")
            alpha = next
        }
        throw PDEError.notPositiveDefinite(column: lastFailure,
            reason: "IC(0) pivot ≤ 0 at row \(lastFailure) even with diagonal shift \(alpha) after \(maxShiftAttempts) retries")
    }

    /// Returns the failing row, or nil on success.
    private func factor(_ a: CSRMatrix, diag: [Double], shift: Double) -> Int? {
        // Pattern of tril(A), strictly lower part.
        var rp = [Int](repeating: 0, count: n + 1)
        var cols: [Int32] = []
        var vals: [Double] = []
        cols.reserveCapacity(a.nonzeroCount / 2)
        vals.reserveCapacity(a.nonzeroCount / 2)
        for i in 0..<n {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] where Int(a.columnIndices[k]) < i {
                cols.append(a.columnIndices[k])
                vals.append(a.values[k])
            }
            rp[i + 1] = cols.count
        }
        var dl = [Double](repeating: 0, count: n)  // L_ii
        let failed: Int? = cols.withUnsafeBufferPointer { cp in
            vals.withUnsafeMutableBufferPointer { vp in
                rp.withUnsafeBufferPointer { rpp in
                    dl.withUnsafeMutableBufferPointer { dp in
                        for i in 0..<n {
                            let s = rpp[i], e = rpp[i &+ 1]
                            var sumSquares = 0.0
                            var p = s
                            while p < e {
                                let k = Int(cp[p])
                                // L_ik = (A_ik − Σ_{j<k} L_ij L_kj) / L_kk, merging rows i and k.
                                var t = vp[p]
                                var pi = s, pk = rpp[k]
                                let ek = rpp[k &+ 1]
                                while pi < p && pk < ek {
                                    let ci = cp[pi], ck = cp[pk]
                                    if ci == ck { t -= vp[pi] * vp[pk]; pi &+= 1; pk &+= 1 }
                                    else if ci < ck { pi &+= 1 } else { pk &+= 1 }
                                }
                                let lik = t / dp[k]
                                vp[p] = lik
                                sumSquares += lik * lik
                                p &+= 1
                            }
                            let pivot = diag[i] * (1 + shift) - sumSquares
                            if !(pivot > 0) || !pivot.isFinite { return i }
                            dp[i] = pivot.squareRoot()
                        }
                        return nil
                    }
                }
            }
        }
        if let failed { return failed }
        lRowPointers = rp
        lColumns = cols
        lValues = vals
        inverseDiagonal = dl.map { 1 / $0 }
        // Lᵀ by rows = L by columns.
        let l = CSRMatrix(unchecked: n, columns: n, rowPointers: rp, columnIndices: cols, values: vals)
        let u = l.transposed()
        uRowPointers = u.rowPointers
        uColumns = u.columnIndices
        uValues = u.values
        return nil
    }

    /// z = (L Lᵀ)⁻¹ r by a forward and a backward substitution; returns r · z.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try checkApplySizes(r, z, size: n, name)
        let n = self.n
        var rz = 0.0
        lRowPointers.withUnsafeBufferPointer { lrp in
        lColumns.withUnsafeBufferPointer { lc in
        lValues.withUnsafeBufferPointer { lv in
        uRowPointers.withUnsafeBufferPointer { urp in
        uColumns.withUnsafeBufferPointer { uc in
        uValues.withUnsafeBufferPointer { uv in
        inverseDiagonal.withUnsafeBufferPointer { dinv in
        r.withUnsafeBufferPointer { rp in
        work.withUnsafeMutableBufferPointer { yp in
        z.withUnsafeMutableBufferPointer { zp in
            let y = yp.baseAddress!, zz = zp.baseAddress!
            // L y = r
            var i = 0
            while i < n {
                var t = rp[i]
                var k = lrp[i]
                let e = lrp[i &+ 1]
                while k < e { t -= lv[k] * y[Int(truncatingIfNeeded: lc[k])]; k &+= 1 }
                y[i] = t * dinv[i]
                i &+= 1
            }
            // Lᵀ z = y, accumulating r · z on the way.
            i = n &- 1
            while i >= 0 {
                var t = y[i]
                var k = urp[i]
                let e = urp[i &+ 1]
                while k < e { t -= uv[k] * zz[Int(truncatingIfNeeded: uc[k])]; k &+= 1 }
                let zi = t * dinv[i]
                zz[i] = zi
                rz += rp[i] * zi
                i &-= 1
            }
        }}}}}}}}}}
        return rz
    }
}
