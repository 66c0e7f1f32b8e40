import CBLAS
import CLapacke
import Support

/// The Lanczos process with full reorthogonalization for a symmetric operator, and its Ritz
/// pairs: the spectral information the deep conjugate direction method's training data are
/// built from (right-hand sides mixing Ritz vectors, weighted toward the low end of the
/// spectrum).
public enum Lanczos {
    /// An orthonormal Krylov basis Q = [q₀ … q_{m−1}] of A and the tridiagonal T = QᵀAQ
    /// (diagonal `alpha`, off-diagonal `beta`, m − 1 entries).
    public struct Decomposition: Sendable {
        /// The basis, vector after vector (m × n, row-major).
        public let basis: [Double]
        public let size: Int
        public let alpha: [Double]
        public let beta: [Double]
        public var steps: Int { alpha.count }
        /// Why the process stopped before the requested steps (an invariant subspace), if it did.
        public let note: String?
    }

    /// `steps` Lanczos steps from `start` (normalized here), each new vector orthogonalized
    /// against all previous ones twice (classical Gram–Schmidt twice, "twice is enough"), so
    /// the basis stays orthonormal to rounding. Stops early when the Krylov space is
    /// invariant (β below 10⁻¹² of the operator's scale). `progress` is called with the
    /// step count every `progressInterval` steps. Throws for a zero or non-finite start, a
    /// size mismatch, or steps outside 1…n.
    public static func run(_ a: LinearOperator, start: [Double], steps: Int, progressInterval: Int = 100,
                           progress: ((Int) -> Void)? = nil) throws -> Decomposition {
        let n = a.size
        guard start.count == n else {
            throw PDEError.shapeMismatch(what: "Lanczos start vector", expected: "\(n) entries", got: "\(start.count)")
        }
        guard (1...n).contains(steps) else {
            throw PDEError.invalidValue(key: "steps", value: "\(steps)", expected: "1 to \(n) Lanczos steps (the operator's size)")
        }
        let s0 = VectorKernels.norm(start)
        guard s0 > 0, s0.isFinite else {
            throw PDEError.invalidValue(key: "start", value: "norm \(s0)", expected: "a nonzero finite start vector")
        }
        var q = [Double](repeating: 0, count: steps * n)
        for i in 0..<n { q[i] = start[i] / s0 }
        var alpha: [Double] = [], beta: [Double] = []
        var w = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n)
        var coefficients = [Double](repeating: 0, count: steps)
        var scale = 0.0
        var note: String?
        for j in 0..<steps {
            for i in 0..<n { v[i] = q[j * n + i] }
            a.apply(v, into: &w)
            let aj = VectorKernels.dot(v, w)
            alpha.append(aj)
            scale = max(scale, abs(aj))
            if j == steps - 1 { break }
            // w ← (I − QQᵀ) w, twice, over q₀…q_j (this includes the three-term recurrence).
            for _ in 0..<2 {
                // Fixed-order loops rather than BLAS: OpenBLAS's thread count is process-wide (other
                // threads may change it), and its reductions change with it; the Ritz vectors,
                // and so the DCDM training data, must be the same bits on every run.
                q.withUnsafeBufferPointer { pq in w.withUnsafeMutableBufferPointer { pw in coefficients.withUnsafeMutableBufferPointer { pc in
                    let rows = j &+ 1
                    for r in 0..<rows {
                        let row = pq.baseAddress! + r &* n
                        var s0 = 0.0, s1 = 0.0
                        var i = 0
                        while i &+ 1 < n { s0 += row[i] * pw[i]; s1 += row[i &+ 1] * pw[i &+ 1]; i &+= 2 }
                        if i < n { s0 += row[i] * pw[i] }
                        pc[r] = s0 + s1
                    }
                    for r in 0..<rows {
                        let row = pq.baseAddress! + r &* n, c = pc[r]
                        for i in 0..<n { pw[i] -= c * row[i] }
                    }
                } } }
            }
            let b = VectorKernels.norm(w)
            guard b.isFinite else {
                throw PDEError.invalidValue(key: "operator", value: "NaN or Inf at Lanczos step \(j)", expected: "a finite symmetric operator")
            }
            if b <= 1e-12 * max(scale, 1e-300) {
                note = "invariant Krylov subspace after \(j + 1) steps (β = \(b))"
                q.removeLast((steps - j - 1) * n)
                break
            }
            beta.append(b)
            let inv = 1 / b
            for i in 0..<n { q[(j + 1) * n + i] = w[i] * inv }
            if let progress, (j + 1) % max(1, progressInterval) == 0 { progress(j + 1) }
        }
        return Decomposition(basis: q, size: n, alpha: alpha, beta: beta, note: note)
    }

    /// Ritz values (ascending) and Ritz vectors (m × n row-major, unit norm, in the order
    /// of the values) of a decomposition: eigenpairs of T from LAPACK's `dsteqr`, mapped
    /// through the basis (fixed-order loops: the same bits for any BLAS thread count). Throws when LAPACK fails.
    public static func ritzPairs(_ d: Decomposition) throws -> (values: [Double], vectors: [Double]) {
        let m = d.steps, n = d.size
        var values = d.alpha
        var off = d.beta + [0]
        var z = [Double](repeating: 0, count: m * m)
        // dsteqr (implicit QL/QR, no level-3 BLAS inside, unlike dstevd's divide and conquer):
        // the same bits whatever OpenBLAS's thread count.
        let info = LAPACKE_dsteqr(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "I")), Int32(m), &values, &off, &z, Int32(m))
        guard info == 0 else {
            throw PDEError.libraryFailure(library: "LAPACK", reason: "dsteqr on the \(m)×\(m) Lanczos matrix returned info = \(info)")
        }
        // Ritz vector k = Σ_j z[j, k] q_j: Y = Zᵀ Q (m × n), in fixed-order loops.
        var y = [Double](repeating: 0, count: m * n)
        z.withUnsafeBufferPointer { pz in d.basis.withUnsafeBufferPointer { pq in y.withUnsafeMutableBufferPointer { py in
            for k in 0..<m {
                let out = py.baseAddress! + k &* n
                for j in 0..<m {
                    let c = pz[j &* m &+ k], row = pq.baseAddress! + j &* n
                    for i in 0..<n { out[i] += c * row[i] }
                }
            }
        } } }
        return (values, y)
    }

    /// Right-hand sides for training a direction model, as in the deep conjugate direction
    /// method's data: b = Σ_k c_k y_k over the Ritz vectors (ascending values), c_k ~ N(0, 1)
    /// multiplied by `lowWeight` for the `emphasized` lowest ones (the paper: 9 and
    /// m/2 + m/20), each b normalized to unit norm. Ritz values ≤ `cutoff` × the largest are
    /// skipped (numerically null directions). Throws for an empty selection.
    public static func mixedRightHandSides(values: [Double], vectors: [Double], size n: Int, count: Int,
                                           emphasized: Int? = nil, lowWeight: Double = 9, cutoff: Double = 1e-12,
                                           seed: UInt64) throws -> [[Double]] {
        let m = values.count
        let largest = values.map(abs).max() ?? 0
        let first = values.firstIndex { $0 > cutoff * largest } ?? m
        guard first < m, vectors.count == m * n else {
            throw PDEError.invalidValue(key: "ritz pairs", value: "\(m) values, \(vectors.count / max(n, 1)) vectors",
                                        expected: "matching Ritz values and vectors, some above the cutoff")
        }
        let low = emphasized ?? (m / 2 + m / 20)
        var g = SeededGenerator(seed: seed)
        var out: [[Double]] = []
        var c = [Double](repeating: 0, count: m)
        for _ in 0..<count {
            for k in 0..<m { c[k] = k < first ? 0 : g.normal() * (k < low ? lowWeight : 1) }
            var b = [Double](repeating: 0, count: n)
            c.withUnsafeBufferPointer { pc in vectors.withUnsafeBufferPointer { pv in b.withUnsafeMutableBufferPointer { pb in
                for k in 0..<m where pc[k] != 0 {
                    let row = pv.baseAddress! + k &* n, ck = pc[k]
                    for i in 0..<n { pb[i] += ck * row[i] }
                }
            } } }
            let norm = VectorKernels.norm(b)
            if norm > 0 { for i in 0..<n { b[i] /= norm } }
            out.append(b)
        }
        return out
    }
}
