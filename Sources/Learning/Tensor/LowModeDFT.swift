import Foundation

/// The low-mode transforms of a spectral convolution as dense DFT products.
///
/// A Fourier layer keeps only a few modes per axis (FNO: 24 × 13 of an 85² grid), so the
/// kept rows of the DFT matrices, applied as GEMMs, cost O(N·m) per axis where an FFT costs
/// O(N log N) on the whole spectrum — and their speed does not depend on the grid size's
/// prime factors (85 = 5·17 has no FFTW codelet for 17). `LowModeDFT.isPreferred` chooses
/// between the two by an operation count; both paths give the same values (to rounding)
/// and exact adjoints.
///
/// Stages, for real data [P, N₁…N_d] and modes m₁…m_d:
/// - the half (last) axis: a real GEMM with R [N_d, 2m_d], R[n, 2k] = cos(2πkn/N_d),
///   R[n, 2k+1] = −sin(2πkn/N_d), giving [P, N₁…N_{d−1}, m_d] complex;
/// - each full axis a (innermost first): a complex GEMM with F_a [2m_a, N_a],
///   F_a[j, n] = exp(−2πi f_j n/N_a), f_j = j for j < m_a and N_a − 2m_a + j after (the
///   first and last m_a indices, non-negative frequencies first), after moving the axis to
///   the front.
/// The inverse (normalized, Hermitian reading of the self-conjugate planes as `irfft`)
/// applies F_aᴴ on the full axes and, on the half axis, S [2m_d, N_d] = W Rᵀ / ΠN with
/// W = 1 on the zero (and kept Nyquist) column and 2 elsewhere: the real part of the
/// Hermitian-extended sum. Each stage's adjoint is the transposed (conjugate-transposed)
/// matrix, so the VJPs are GEMMs too.
enum LowModeDFT {
    /// Whether dense DFT products are expected to be cheaper than FFTs for transforms of
    /// real sizes `sizes` keeping `modes`: DFT GEMM flops against FFT flops (≈ 2.5 N log₂ N
    /// real flops per r2c of N points, doubled on sizes with a prime factor above 7, where
    /// FFTW falls back to generic codelets). Measured here (`pde-bench learning --cases
    /// lowmodes`), 1-D and 2-D DFT stages run at about 3× FFTW's flop rate (DFT time ≈ 0.3 ×
    /// the flop ratio: 0.25× of the FFT at 85² with 24 × 13 modes, 0.6–0.8× at 64²–256²),
    /// 3-D ones at about a third of it (the middle axis is many narrow GEMMs).
    static func isPreferred(sizes: [Int], modes: [Int]) -> Bool {
        let d = sizes.count
        guard d == modes.count, (1...3).contains(d) else { return false }
        let points = Double(sizes.reduce(1, *))
        let fft = 2.5 * points * log2(max(points, 2)) * (sizes.allSatisfy(isSmooth) ? 1 : 2)
        return flops(sizes: sizes, modes: modes) < (d == 3 ? 0.35 : 3) * fft
    }

    /// Real flops of the DFT stages (either direction).
    static func flops(sizes: [Int], modes: [Int]) -> Double {
        let d = sizes.count
        // Half axis: real [rows, N_d] × [N_d, 2m_d].
        var total = 2 * Double(sizes.reduce(1, *)) * Double(2 * modes[d - 1])
        // Full axes, innermost first: complex [2m_a, N_a] × [N_a, pre·post] at 8 flops per MAC.
        var post = Double(modes[d - 1])
        for a in stride(from: d - 2, through: 0, by: -1) {
            let pre = Double(sizes[..<a].reduce(1, *))
            total += 8 * Double(2 * modes[a]) * Double(sizes[a]) * pre * post
            post *= Double(2 * modes[a])
        }
        return total
    }

    /// No prime factor above 7.
    static func isSmooth(_ n: Int) -> Bool {
        var n = n
        for p in [2, 3, 5, 7] { while n % p == 0 && n > 1 { n /= p } }
        return n == 1
    }

    // MARK: Matrices (cached per precision and size)

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Any] = [:]

    private static func cached<T: TensorScalar>(_ key: String, _ make: () -> [T]) -> [T] {
        let k = "\(T.dtypeName) \(key)"
        lock.lock()
        defer { lock.unlock() }
        if let m = cache[k] as? [T] { return m }
        let m = make()
        cache[k] = m
        return m
    }

    /// cos and sin of 2π·(k·n mod N)/N, the product reduced exactly in integers.
    private static func angle(_ k: Int, _ n: Int, _ size: Int) -> (Double, Double) {
        let t = 2 * Double.pi * Double((k * n) % size) / Double(size)
        return (cos(t), sin(t))
    }

    /// R [N, 2m] (forward, half axis).
    static func halfAxisForward<T: TensorScalar>(_: T.Type, size n: Int, modes m: Int) -> [T] {
        cached("R \(n) \(m)") {
            var r = [Double](repeating: 0, count: n * 2 * m)
            for i in 0..<n {
                for k in 0..<m {
                    let (c, s) = angle(k, i, n)
                    r[i * 2 * m + 2 * k] = c
                    r[i * 2 * m + 2 * k + 1] = -s
                }
            }
            return r.map { T($0) }
        }
    }

    /// S [2m, N] = W Rᵀ · scale (inverse, half axis).
    static func halfAxisInverse<T: TensorScalar>(_: T.Type, size n: Int, modes m: Int, scale: Double) -> [T] {
        cached("S \(n) \(m) \(scale)") {
            let nyquist = FFT.keepsNyquist(columns: m, lastSize: n)
            var s = [Double](repeating: 0, count: 2 * m * n)
            for k in 0..<m {
                let w = (k == 0 || (nyquist && k == m - 1)) ? scale : 2 * scale
                for i in 0..<n {
                    let (c, sn) = angle(k, i, n)
                    s[2 * k * n + i] = w * c
                    s[(2 * k + 1) * n + i] = -w * sn
                }
            }
            return s.map { T($0) }
        }
    }

    /// F [2m, N] complex, interleaved (forward, full axis).
    static func fullAxisForward<T: TensorScalar>(_: T.Type, size n: Int, modes m: Int) -> [T] {
        cached("F \(n) \(m)") {
            var f = [Double](repeating: 0, count: 2 * m * n * 2)
            for j in 0..<(2 * m) {
                let freq = j < m ? j : n - 2 * m + j
                for i in 0..<n {
                    let (c, s) = angle(freq, i, n)
                    f[(j * n + i) * 2] = c
                    f[(j * n + i) * 2 + 1] = -s
                }
            }
            return f.map { T($0) }
        }
    }

    // MARK: Transforms

    /// Low modes of the real FFT over the last `modes.count` axes of `x` (the values of
    /// `FFT.forward` followed by `LowModeBoxes.extract`).
    static func forward<T: TensorScalar>(_ x: Tensor<T>, modes: [Int]) -> Tensor<T> {
        toModes(x, modes: modes, .forward)
    }

    /// The adjoint of `forward`: low-mode gradients [P, 2m₁…, m_d, 2] → real [P, N₁…N_d].
    static func forwardAdjoint<T: TensorScalar>(_ g: Tensor<T>, sizes: [Int], modes: [Int]) -> Tensor<T> {
        let lead = Array(g.shape.dropLast(modes.count + 1))
        let complex = toGrid(g, lead: lead, sizes: sizes, modes: modes)
        return Tensor<T>(uninitializedShape: lead + sizes) { y in
            halfAxis(complex.scalars, rows: complex.count / (2 * modes.last!), size: sizes.last!, modes: modes.last!, y, .forwardAdjoint)
        }
    }

    /// Real data [P, N₁…N_d] from low modes [P, 2m₁…, m_d, 2] (the values of `irfft` of
    /// the embedded half spectrum, normalized by 1/ΠN).
    static func inverse<T: TensorScalar>(_ low: Tensor<T>, sizes: [Int], modes: [Int]) -> Tensor<T> {
        let lead = Array(low.shape.dropLast(modes.count + 1))
        let complex = toGrid(low, lead: lead, sizes: sizes, modes: modes)
        let scale = 1 / Double(sizes.reduce(1, *))
        return Tensor<T>(uninitializedShape: lead + sizes) { y in
            halfAxis(complex.scalars, rows: complex.count / (2 * modes.last!), size: sizes.last!, modes: modes.last!, y, .inverse(scale: scale))
        }
    }

    /// The adjoint of `inverse`: real gradients [P, N₁…N_d] → low modes [P, 2m₁…, m_d, 2].
    static func inverseAdjoint<T: TensorScalar>(_ g: Tensor<T>, modes: [Int]) -> Tensor<T> {
        toModes(g, modes: modes, .inverseAdjoint(scale: 1 / Double(g.shape.suffix(modes.count).reduce(1, *))))
    }

    /// Real data [P, N₁…N_d] → low modes: the half-axis `stage` (forward or inverse
    /// adjoint, real → complex), then F_a on each full axis, innermost first.
    private static func toModes<T: TensorScalar>(_ x: Tensor<T>, modes: [Int], _ stage: HalfAxisStage) -> Tensor<T> {
        let d = modes.count
        let sizes = Array(x.shape.suffix(d)), lead = Array(x.shape.dropLast(d))
        let p = lead.reduce(1, *)
        var axisSizes = sizes
        axisSizes[d - 1] = modes[d - 1]
        var current = Tensor<T>(uninitializedShape: lead + axisSizes + [2]) { y in
            halfAxis(x.scalars, rows: p * sizes.dropLast().reduce(1, *), size: sizes[d - 1], modes: modes[d - 1], y, stage)
        }
        for a in stride(from: d - 2, through: 0, by: -1) {
            let pre = p * axisSizes[..<a].reduce(1, *), post = axisSizes[(a + 1)...].reduce(1, *)
            axisSizes[a] = 2 * modes[a]
            current = Tensor<T>(uninitializedShape: lead + axisSizes + [2]) { [current] y in
                fullAxis(current.scalars, pre: pre, post: post, size: sizes[a], modes: modes[a], y, toModes: true)
            }
        }
        return current
    }

    /// Low modes [P, 2m₁…2m_{d−1}, m_d, 2] → [P, N₁…N_{d−1}, m_d, 2] by F_aᴴ on each full axis.
    private static func toGrid<T: TensorScalar>(_ low: Tensor<T>, lead: [Int], sizes: [Int], modes: [Int]) -> Tensor<T> {
        let d = modes.count
        let p = lead.reduce(1, *)
        var current = low
        var axisSizes = (0..<d).map { $0 < d - 1 ? 2 * modes[$0] : modes[$0] }
        for a in 0..<(d - 1) {
            let pre = p * axisSizes[..<a].reduce(1, *), post = axisSizes[(a + 1)...].reduce(1, *)
            axisSizes[a] = sizes[a]
            current = Tensor<T>(uninitializedShape: lead + axisSizes + [2]) { [current] y in
                fullAxis(current.scalars, pre: pre, post: post, size: sizes[a], modes: modes[a], y, toModes: false)
            }
        }
        return current
    }

    /// The four uses of the half-axis stage.
    private enum HalfAxisStage {
        /// Y = X R: real [rows, N] → complex [rows, m].
        case forward
        /// X = Y Rᵀ: complex → real.
        case forwardAdjoint
        /// X = Y S, S = W Rᵀ · scale: complex → real.
        case inverse(scale: Double)
        /// Y = X Sᵀ: real → complex.
        case inverseAdjoint(scale: Double)
    }

    /// The half-axis stage as one GEMM over all rows (R is [N, 2m], S is [2m, N]).
    private static func halfAxis<T: TensorScalar>(_ x: [T], rows: Int, size n: Int, modes m: Int, _ y: UnsafeMutablePointer<T>,
                                                  _ stage: HalfAxisStage) {
        x.withUnsafeBufferPointer { px in
            let px = px.baseAddress!
            switch stage {
            case .forward, .forwardAdjoint:
                let r: [T] = halfAxisForward(T.self, size: n, modes: m)
                r.withUnsafeBufferPointer { pr in
                    if case .forward = stage {
                        T.gemm(transA: false, transB: false, m: rows, n: 2 * m, k: n, alpha: 1, a: px, lda: n,
                               b: pr.baseAddress!, ldb: 2 * m, beta: 0, c: y, ldc: 2 * m)
                    } else {
                        T.gemm(transA: false, transB: true, m: rows, n: n, k: 2 * m, alpha: 1, a: px, lda: 2 * m,
                               b: pr.baseAddress!, ldb: 2 * m, beta: 0, c: y, ldc: n)
                    }
                }
            case .inverse(let scale), .inverseAdjoint(let scale):
                let sm: [T] = halfAxisInverse(T.self, size: n, modes: m, scale: scale)
                sm.withUnsafeBufferPointer { ps in
                    if case .inverse = stage {
                        T.gemm(transA: false, transB: false, m: rows, n: n, k: 2 * m, alpha: 1, a: px, lda: 2 * m,
                               b: ps.baseAddress!, ldb: n, beta: 0, c: y, ldc: n)
                    } else {
                        T.gemm(transA: false, transB: true, m: rows, n: 2 * m, k: n, alpha: 1, a: px, lda: n,
                               b: ps.baseAddress!, ldb: n, beta: 0, c: y, ldc: 2 * m)
                    }
                }
            }
        }
    }

    /// A full-axis stage on complex data [pre, L, post] → [pre, L′, post]: with `toModes`,
    /// F [2m, N] (L = N, L′ = 2m), else Fᴴ (L = 2m, L′ = N); one complex GEMM per leading
    /// block, blocks spread over the worker threads.
    private static func fullAxis<T: TensorScalar>(_ x: [T], pre: Int, post: Int, size n: Int, modes m: Int,
                                                  _ y: UnsafeMutablePointer<T>, toModes: Bool) {
        let f: [T] = fullAxisForward(T.self, size: n, modes: m)
        let (inLength, outLength) = toModes ? (n, 2 * m) : (2 * m, n)
        x.withUnsafeBufferPointer { px in f.withUnsafeBufferPointer { pf in
            let px = px.baseAddress!, pf = pf.baseAddress!
            Threads.parallelItems(pre) { _, s, e in
                for q in s..<e {
                    T.complexGemm(transA: !toModes, conjA: !toModes, transB: false, conjB: false, m: outLength, n: post, k: inLength,
                                  a: pf, lda: n, b: px + q &* inLength &* post &* 2, ldb: post,
                                  beta: 0, c: y + q &* outLength &* post &* 2, ldc: post)
                }
            }
        } }
    }
}
