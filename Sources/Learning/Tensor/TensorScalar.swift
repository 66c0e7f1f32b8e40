import CBLAS
import CFFTW
import CVectorMath
import Foundation

/// The element types of `Tensor`: `Float` (networks) and `Double` (gradient checks, Gaussian
/// processes). Generic tensor code does shapes and bookkeeping; every loop over elements
/// goes through one of these static requirements, whose implementations call internal
/// generic kernels with a concrete type, so the loops are specialized and vectorized and
/// dispatch costs one witness call per operation, not per element.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, Codable, CustomStringConvertible {
    /// The safetensors / numpy dtype name: "F32" or "F64".
    static var dtypeName: String { get }

    // Scalar math used by the element kernels (vectorizable approximations for Float,
    // libm for Double).
    static func _exp(_ x: Self) -> Self
    static func _log(_ x: Self) -> Self
    static func _tanh(_ x: Self) -> Self
    static func _erf(_ x: Self) -> Self

    /// C ← α op(A) op(B) + β C, row-major (`cblas_?gemm`).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Complex GEMM on interleaved (re, im) data, row-major; `conjA` / `conjB` take the
    /// conjugate transpose instead of the transpose when the matching `trans` is set.
    static func complexGemm(transA: Bool, conjA: Bool, transB: Bool, conjB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    // Element kernels. Each has one generic implementation (the extension below); a
    // conformance's witness is that implementation specialized for its type, so the loops
    // are compiled for Float and Double even when called from generic code.
    static func unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func unaryBackwardKernel(_ op: UnaryOp, _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>,
                                    _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int)
    static func binaryKernel(_ op: BinaryOp, _ a: UnsafePointer<Self>, _ sa: Int, _ b: UnsafePointer<Self>, _ sb: Int,
                             _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func axpyKernel(_ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func fillKernel(_ value: Self, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func stridedCopyKernel(_ src: UnsafePointer<Self>, _ stride: Int, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    static func sumKernel(_ x: UnsafePointer<Self>, _ stride: Int, _ n: Int) -> Self
    static func dotKernel(_ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>, _ n: Int) -> Self
    static func im2colKernel(_ g: ConvGeometry, channels: Int, _ x: UnsafePointer<Self>, _ col: UnsafeMutablePointer<Self>,
                             lineStart: Int, lines: Int)
    static func col2imKernel(_ g: ConvGeometry, channels: Int, _ col: UnsafePointer<Self>, _ dx: UnsafeMutablePointer<Self>,
                             lineStart: Int, lines: Int)
    static func averagePoolKernel(spatial: [Int], k: [Int], planes: Int, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>)
    static func averagePoolBackwardKernel(spatial: [Int], k: [Int], planes: Int, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>)
    static func resampleKernel(outer: Int, n: Int, inner: Int, m: Int, taps: [(Int, Double, Int, Double)],
                               _ x: UnsafeMutablePointer<Self>, _ y: UnsafeMutablePointer<Self>, transpose: Bool)
    static func hermitianPlanesKernel(_ x: UnsafeMutablePointer<Self>, howmany: Int, mirror: UnsafePointer<Int>, rows: Int,
                                      half: Int, nyquist: Bool)
    static func scaleHalfAxisKernel(_ x: UnsafeMutablePointer<Self>, rows: Int, columns: Int, lastIsPlane: Bool,
                                    planeScale: Self, interiorScale: Self)
    static func fromDoublesKernel(_ src: UnsafePointer<Double>, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    static func toDoublesKernel(_ src: UnsafePointer<Self>, _ dst: UnsafeMutablePointer<Double>, _ n: Int)

    // FFTW (the matching precision). Plans are created by `FFTPlanCache`.
    static func _planManyR2C(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Self>,
                             output: UnsafeMutablePointer<Self>, flags: UInt32) -> OpaquePointer?
    static func _planManyC2R(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Self>,
                             output: UnsafeMutablePointer<Self>, flags: UInt32) -> OpaquePointer?
    static func _executeR2C(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Self>, _ output: UnsafeMutablePointer<Self>)
    static func _executeC2R(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Self>, _ output: UnsafeMutablePointer<Self>)
    static func _allocate(_ count: Int) -> UnsafeMutablePointer<Self>
    static func _free(_ p: UnsafeMutablePointer<Self>)
}

// MARK: - Float

extension Float: TensorScalar {
    public static var dtypeName: String { "F32" }

    /// eˣ to about 1 ulp (Cephes expf): x = n ln 2 + r, |r| ≤ ln2/2, degree-6 polynomial,
    /// 2ⁿ from the exponent bits. Branch-free (selects only), so loops over it vectorize.
    /// Below −87.34 (the smallest normal result) it returns 0; above 88.72, +∞.
    @inline(__always) public static func _exp(_ x: Float) -> Float {
        var xc = x > 88.72283 ? 88.72283 : x
        xc = xc < -87.33654 ? -87.33654 : xc
        // Round x·log₂e to the nearest integer with the 1.5·2²³ trick (no conversion traps).
        let t = xc * 1.442695041 + 12_582_912
        let n = t - 12_582_912
        let ni = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
        var r = xc - n * 0.693359375
        r = r + n * 2.12194440e-4
        let r2 = r * r
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r2 + r + 1
        // 2ⁿ as 2·2ⁿ⁻¹ when n > 0, so n = 128 (results near Float.max) stays finite.
        let positive = ni > 0
        let e = positive ? ni &- 1 : ni
        let scale = Float(bitPattern: UInt32(bitPattern: e &+ 127) &<< 23)
        let res = er * scale * (positive ? 2 : 1)
        let clipped: Float = x > 88.72283 ? .infinity : (x < -87.33654 ? 0 : res)
        return x != x ? x : clipped
    }

    /// ln x to about 1 ulp for normal positive x (Cephes logf); log(0) = −∞, log(<0) = NaN.
    @inline(__always) public static func _log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: (bits &>> 23) & 0xff) &- 126)
        var m = Float(bitPattern: (bits & 0x007f_ffff) | 0x3f00_0000)  // in [0.5, 1)
        let small = m < 0.707106781
        e = small ? e - 1 : e
        m = small ? m + m - 1 : m - 1
        let z = m * m
        var p: Float = 7.0376836292e-2
        p = p * m - 1.1514610310e-1
        p = p * m + 1.1676998740e-1
        p = p * m - 1.2420140846e-1
        p = p * m + 1.4249322787e-1
        p = p * m - 1.6668057665e-1
        p = p * m + 2.0000714765e-1
        p = p * m - 2.4999993993e-1
        p = p * m + 3.3333331174e-1
        var y = m * z * p
        y += -2.12194440e-4 * e
        y += -0.5 * z
        var r = m + y + 0.693359375 * e
        r = x > 0 ? r : (x == 0 ? -.infinity : .nan)
        return x == .infinity ? .infinity : r
    }

    /// tanh to about 2 ulp: odd polynomial for |x| < 0.625, 1 − 2/(e^{2|x|} + 1) beyond.
    @inline(__always) public static func _tanh(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let z = x * x
        var p: Float = -5.70498872745e-3
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = x + x * z * p
        let e = _exp(2 * a)
        let large = 1 - 2 / (e + 1)
        let big: Float = x < 0 ? -large : large
        return a < 0.625 ? small : big
    }

    /// erf(x): Taylor series to x¹¹ for |x| < 0.5 (relative error < 1e-7), beyond it
    /// 1 − erfc with the Numerical Recipes erfc (relative error < 1.2e-7), so the absolute
    /// error is below 2.5e-7 everywhere.
    @inline(__always) public static func _erf(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let t = 1 / (1 + 0.5 * a)
        var p: Float = 0.17087277
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        let r = 1 - t * _exp(-a * a + p)
        let large = x < 0 ? -r : r
        let z = x * x
        var s: Float = -1.0 / 1320
        s = s * z + 1.0 / 216
        s = s * z - 1.0 / 42
        s = s * z + 1.0 / 10
        s = s * z - 1.0 / 3
        let small = 1.1283791671 * (x + x * z * s)
        return a < 0.5 ? small : large
    }

    /// The transcendental functions run in the C kernels of CVectorMath (AVX2/AVX-512 when
    /// the CPU has them); the others in the generic Swift kernels.
    public static func unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .gelu, .exp, .log, .tanh, .sigmoid, .softplus, .sin, .cos:
            Parallel.forChunks(n, minimumPerChunk: Kernels.grain) { s, e in
                let (px, py, c) = (x + s, y + s, e - s)
                switch op {
                case .gelu: svm_gelu(px, py, c)
                case .sin: svm_sin(px, py, c)
                case .cos: svm_cos(px, py, c)
                case .exp: svm_exp(px, py, c)
                case .log: svm_log(px, py, c)
                case .tanh: svm_tanh(px, py, c)
                case .sigmoid: svm_sigmoid(px, py, c)
                case .softplus(let beta): svm_softplus(px, py, c, Float(beta))
                default: Kernels.unaryRange(op, x, y, s, e)
                }
            }
        default:
            Kernels.unary(op, x, y, n)
        }
    }

    /// GELU, softplus, sine and cosine gradients run in CVectorMath's C kernels
    /// (`svm_gelu_backward`, `svm_softplus_backward`, `svm_sin_backward`, `svm_cos_backward`)
    /// on per-thread chunks; the others in the generic Swift kernels.
    public static func unaryBackwardKernel(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                           _ gy: UnsafePointer<Float>, _ gx: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .gelu, .softplus, .sin, .cos:
            Parallel.forChunks(n, minimumPerChunk: Kernels.grain) { s, e in
                switch op {
                case .softplus(let beta): svm_softplus_backward(x + s, gy + s, gx + s, e - s, Float(beta))
                case .sin: svm_sin_backward(x + s, gy + s, gx + s, e - s)
                case .cos: svm_cos_backward(x + s, gy + s, gx + s, e - s)
                default: svm_gelu_backward(x + s, gy + s, gx + s, e - s)
                }
            }
        default:
            Kernels.unaryBackward(op, x, y, gy, gx, n)
        }
    }

    /// Calls `cblas_sgemm` (row-major).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Calls `cblas_cgemm` (row-major, α = 1) on interleaved (re, im) Float pairs.
    public static func complexGemm(transA: Bool, conjA: Bool, transB: Bool, conjB: Bool, m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var one: (Float, Float) = (1, 0), bt: (Float, Float) = (beta, 0)
        cblas_cgemm(CblasRowMajor, blasTranspose(transA, conjA), blasTranspose(transB, conjB),
                    Int32(m), Int32(n), Int32(k), &one, a, Int32(lda), b, Int32(ldb), &bt, c, Int32(ldc))
    }

    /// `fftwf_plan_many_dft_r2c` for `howmany` contiguous real arrays of sizes `n` into
    /// contiguous half spectra (Πn[..<last]·(n_last/2 + 1) complex values each); nil on failure.
    public static func _planManyR2C(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Float>,
                                    output: UnsafeMutablePointer<Float>, flags: UInt32) -> OpaquePointer? {
        let inDist = n.reduce(1, *), outDist = n.dropLast().reduce(1, *) * (n.last! / 2 + 1)
        return output.withMemoryRebound(to: fftwf_complex.self, capacity: 1) { out in
            fftwf_plan_many_dft_r2c(rank, n, howmany, input, nil, 1, inDist, out, nil, 1, outDist, flags)
        }
    }
    /// `fftwf_plan_many_dft_c2r`, the inverse layout of `_planManyR2C`; nil on failure.
    public static func _planManyC2R(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Float>,
                                    output: UnsafeMutablePointer<Float>, flags: UInt32) -> OpaquePointer? {
        let outDist = n.reduce(1, *), inDist = n.dropLast().reduce(1, *) * (n.last! / 2 + 1)
        return input.withMemoryRebound(to: fftwf_complex.self, capacity: 1) { inp in
            fftwf_plan_many_dft_c2r(rank, n, howmany, inp, nil, 1, inDist, output, nil, 1, outDist, flags)
        }
    }
    /// `fftwf_execute_dft_r2c`: runs `plan` on new arrays of the planned sizes and alignment.
    public static func _executeR2C(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        output.withMemoryRebound(to: fftwf_complex.self, capacity: 1) { fftwf_execute_dft_r2c(plan, input, $0) }
    }
    /// `fftwf_execute_dft_c2r` on new arrays (FFTW's c2r overwrites `input`).
    public static func _executeC2R(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        input.withMemoryRebound(to: fftwf_complex.self, capacity: 1) { fftwf_execute_dft_c2r(plan, $0, output) }
    }
    /// `fftwf_alloc_real` (SIMD-aligned, at least one element); release with `_free`.
    public static func _allocate(_ count: Int) -> UnsafeMutablePointer<Float> { fftwf_alloc_real(max(1, count))! }
    /// `fftwf_free`.
    public static func _free(_ p: UnsafeMutablePointer<Float>) { fftwf_free(p) }
}

// MARK: - Double

extension Double: TensorScalar {
    public static var dtypeName: String { "F64" }

    /// libm `exp`.
    @inline(__always) public static func _exp(_ x: Double) -> Double { Foundation.exp(x) }
    /// libm `log`.
    @inline(__always) public static func _log(_ x: Double) -> Double { Foundation.log(x) }
    /// libm `tanh`.
    @inline(__always) public static func _tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    /// libm `erf`.
    @inline(__always) public static func _erf(_ x: Double) -> Double { Foundation.erf(x) }

    /// Calls `cblas_dgemm` (row-major).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Calls `cblas_zgemm` (row-major, α = 1) on interleaved (re, im) Double pairs.
    public static func complexGemm(transA: Bool, conjA: Bool, transB: Bool, conjB: Bool, m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                                   beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        var one: (Double, Double) = (1, 0), bt: (Double, Double) = (beta, 0)
        cblas_zgemm(CblasRowMajor, blasTranspose(transA, conjA), blasTranspose(transB, conjB),
                    Int32(m), Int32(n), Int32(k), &one, a, Int32(lda), b, Int32(ldb), &bt, c, Int32(ldc))
    }

    /// `fftw_plan_many_dft_r2c` for `howmany` contiguous real arrays of sizes `n` into
    /// contiguous half spectra (Πn[..<last]·(n_last/2 + 1) complex values each); nil on failure.
    public static func _planManyR2C(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Double>,
                                    output: UnsafeMutablePointer<Double>, flags: UInt32) -> OpaquePointer? {
        let inDist = n.reduce(1, *), outDist = n.dropLast().reduce(1, *) * (n.last! / 2 + 1)
        return output.withMemoryRebound(to: fftw_complex.self, capacity: 1) { out in
            fftw_plan_many_dft_r2c(rank, n, howmany, input, nil, 1, inDist, out, nil, 1, outDist, flags)
        }
    }
    /// `fftw_plan_many_dft_c2r`, the inverse layout of `_planManyR2C`; nil on failure.
    public static func _planManyC2R(rank: Int32, n: [Int32], howmany: Int32, input: UnsafeMutablePointer<Double>,
                                    output: UnsafeMutablePointer<Double>, flags: UInt32) -> OpaquePointer? {
        let outDist = n.reduce(1, *), inDist = n.dropLast().reduce(1, *) * (n.last! / 2 + 1)
        return input.withMemoryRebound(to: fftw_complex.self, capacity: 1) { inp in
            fftw_plan_many_dft_c2r(rank, n, howmany, inp, nil, 1, inDist, output, nil, 1, outDist, flags)
        }
    }
    /// `fftw_execute_dft_r2c`: runs `plan` on new arrays of the planned sizes and alignment.
    public static func _executeR2C(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Double>, _ output: UnsafeMutablePointer<Double>) {
        output.withMemoryRebound(to: fftw_complex.self, capacity: 1) { fftw_execute_dft_r2c(plan, input, $0) }
    }
    /// `fftw_execute_dft_c2r` on new arrays (FFTW's c2r overwrites `input`).
    public static func _executeC2R(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<Double>, _ output: UnsafeMutablePointer<Double>) {
        input.withMemoryRebound(to: fftw_complex.self, capacity: 1) { fftw_execute_dft_c2r(plan, $0, output) }
    }
    /// `fftw_alloc_real` (SIMD-aligned, at least one element); release with `_free`.
    public static func _allocate(_ count: Int) -> UnsafeMutablePointer<Double> { fftw_alloc_real(max(1, count))! }
    /// `fftw_free`.
    public static func _free(_ p: UnsafeMutablePointer<Double>) { fftw_free(p) }
}

@inline(__always)
private func blasTranspose(_ trans: Bool, _ conj: Bool) -> CBLAS_TRANSPOSE {
    trans ? (conj ? CblasConjTrans : CblasTrans) : CblasNoTrans
}

// MARK: - Generic kernels, specialized per conformance

extension TensorScalar {
    /// y[i] = op(x[i]) for i < n, in per-thread chunks (Double's kernel; Float overrides it).
    public static func unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        Kernels.unary(op, x, y, n)
    }
    /// gx[i] = gy[i]·op′(x[i]) for i < n (overwrites gx; y = op(x) is used where cheaper, e.g.
    /// sigmoid, tanh, exp), in per-thread chunks (Double's kernel; Float overrides it).
    public static func unaryBackwardKernel(_ op: UnaryOp, _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>,
                                           _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>, _ n: Int) {
        Kernels.unaryBackward(op, x, y, gy, gx, n)
    }
    /// y[i] = a[i·sa] ∘ b[i·sb] for i < n, strides sa, sb ∈ {0, 1} (0 repeats one element);
    /// single-threaded (callers split the work).
    public static func binaryKernel(_ op: BinaryOp, _ a: UnsafePointer<Self>, _ sa: Int, _ b: UnsafePointer<Self>, _ sb: Int,
                                    _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        Kernels.binary(op, a, sa, b, sb, y, n)
    }
    /// y ← y + α·x over n elements, in per-thread chunks.
    public static func axpyKernel(_ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        Kernels.axpy(alpha, x, y, n)
    }
    /// y[i] = value for i < n.
    public static func fillKernel(_ value: Self, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        var i = 0
        while i < n { y[i] = value; i &+= 1 }
    }
    /// dst[i] = src[i·stride] for i < n (gathers a strided run).
    public static func stridedCopyKernel(_ src: UnsafePointer<Self>, _ stride: Int, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        ConvKernels.stridedCopy(src, stride, dst, n)
    }
    /// Σ x[i·stride] for i < n; a contiguous run is summed in 8 interleaved partial sums.
    public static func sumKernel(_ x: UnsafePointer<Self>, _ stride: Int, _ n: Int) -> Self {
        Kernels.sum(x, stride, n)
    }
    /// Σ x[i]·y[i] for i < n, in 8 interleaved partial sums.
    public static func dotKernel(_ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>, _ n: Int) -> Self {
        Kernels.dot(x, y, n)
    }
    /// im2col of one image x [channels, S…] for output lines lineStart..<lineStart + lines:
    /// col[(c·ΠK + k), j], one row per (channel, kernel offset), one column per output position
    /// of those lines, zeros where the kernel reads padding.
    public static func im2colKernel(_ g: ConvGeometry, channels: Int, _ x: UnsafePointer<Self>, _ col: UnsafeMutablePointer<Self>,
                                    lineStart: Int, lines: Int) {
        ConvKernels.im2col(g, channels: channels, x, col, lineStart: lineStart, lines: lines)
    }
    /// The adjoint of `im2colKernel`: dx [channels, S…] += col2im(col) for the same output lines
    /// (padding entries dropped).
    public static func col2imKernel(_ g: ConvGeometry, channels: Int, _ col: UnsafePointer<Self>, _ dx: UnsafeMutablePointer<Self>,
                                    lineStart: Int, lines: Int) {
        ConvKernels.col2im(g, channels: channels, col, dx, lineStart: lineStart, lines: lines)
    }
    /// Average pooling with window = stride = k (no padding): x [planes, S…] → y [planes, S/k…];
    /// every S must be divisible by its k. Planes are spread over the worker threads.
    public static func averagePoolKernel(spatial: [Int], k: [Int], planes: Int, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>) {
        ConvKernels.averagePool(spatial: spatial, k: k, planes: planes, x, y)
    }
    /// The adjoint of `averagePoolKernel`: every entry of a window of gx [planes, S…] gets gy/Πk
    /// (writes all of gx).
    public static func averagePoolBackwardKernel(spatial: [Int], k: [Int], planes: Int, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>) {
        ConvKernels.averagePoolBackward(spatial: spatial, k: k, planes: planes, gy, gx)
    }
    /// Two-tap resampling along one axis, [outer, n, inner] → [outer, m, inner]:
    /// y[o, i, :] = w₀·x[o, i₀, :] + w₁·x[o, i₁, :] with (i₀, w₀, i₁, w₁) = taps[i]. With
    /// `transpose`, the adjoint: x is zeroed, then accumulates the contributions of y.
    public static func resampleKernel(outer: Int, n: Int, inner: Int, m: Int, taps: [(Int, Double, Int, Double)],
                                      _ x: UnsafeMutablePointer<Self>, _ y: UnsafeMutablePointer<Self>, transpose: Bool) {
        ConvKernels.resampleAxis(outer: outer, n: n, inner: inner, m: m, taps: taps, x, y, transpose: transpose)
    }
}

extension TensorScalar {
    /// For `howmany` half spectra [rows, half, 2]: replaces the entries of column 0 (and of
    /// column half − 1 when `nyquist`) by their Hermitian part (X[r] + conj X[mirror[r]])/2,
    /// `mirror[r]` being the row of the negated frequencies.
    public static func hermitianPlanesKernel(_ x: UnsafeMutablePointer<Self>, howmany: Int, mirror: UnsafePointer<Int>, rows: Int,
                                             half: Int, nyquist: Bool) {
        let perItem = rows &* half &* 2
        for h in 0..<howmany {
            let base = x + h &* perItem
            for k in nyquist ? [0, half &- 1] : [0] {
                for r in 0..<rows {
                    let m = mirror[r]
                    if m < r { continue }
                    let u = base + (r &* half &+ k) &* 2, v = base + (m &* half &+ k) &* 2
                    let re = (u[0] + v[0]) / 2, im = (u[1] - v[1]) / 2
                    u[0] = re; u[1] = im
                    v[0] = re; v[1] = -im
                }
            }
        }
    }

    /// Scales the complex entries of [rows, columns, 2]: column 0 (and the last column when
    /// `lastIsPlane`) by `planeScale`, the other columns by `interiorScale`.
    public static func scaleHalfAxisKernel(_ x: UnsafeMutablePointer<Self>, rows: Int, columns: Int, lastIsPlane: Bool,
                                           planeScale: Self, interiorScale: Self) {
        let end = lastIsPlane ? columns &- 1 : columns
        for r in 0..<rows {
            let row = x + r &* columns &* 2
            row[0] *= planeScale; row[1] *= planeScale
            var i = 2
            while i < 2 &* end { row[i] *= interiorScale; i &+= 1 }
            if lastIsPlane && columns > 1 {
                row[2 &* columns &- 2] *= planeScale; row[2 &* columns &- 1] *= planeScale
            }
        }
    }

    /// dst[i] = Self(src[i]) for i < n (rounded to nearest for Float).
    public static func fromDoublesKernel(_ src: UnsafePointer<Double>, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        var i = 0
        while i < n { dst[i] = Self(src[i]); i &+= 1 }
    }

    /// dst[i] = Double(src[i]) for i < n (exact).
    public static func toDoublesKernel(_ src: UnsafePointer<Self>, _ dst: UnsafeMutablePointer<Double>, _ n: Int) {
        var i = 0
        while i < n { dst[i] = Double(src[i]); i &+= 1 }
    }
}
