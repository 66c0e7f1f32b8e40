import CFFTW
import Foundation

/// Real FFTs over the last 1–3 axes through FFTW, batched over the leading axes, in the
/// tensor's precision. Plans are made once per (precision, direction, sizes, batch) with
/// FFTW_MEASURE on scratch arrays and cached; execution uses FFTW's new-array interface on
/// chunks of the batch, one chunk per worker thread.
///
/// Conventions (numpy's and PyTorch's "backward" norm): `rfft` is unnormalized, `irfft`
/// divides by the number of points. A half spectrum has shape [..., N₁, …, N_{d−1},
/// N_d/2 + 1, 2] (re, im pairs).
public enum FFT {
    /// FFTW planning rigor for new plans (measure: slower planning, faster transforms);
    /// the suite-wide setting `FFTWPlans.measure`.
    public static var measurePlans: Bool {
        get { FFTWPlans.measure }
        set { FFTWPlans.measure = newValue }
    }

    /// The half-spectrum shape for real data of `shape` transformed over its last `d` axes.
    public static func spectrumShape(_ shape: [Int], dimensions d: Int) -> [Int] {
        var s = shape
        s[s.count - 1] = s[s.count - 1] / 2 + 1
        return s + [2]
    }

    /// A plan for 16-byte aligned arrays (FFTW's SIMD alignment, which Swift array storage
    /// and FFTW's own allocations have), or an FFTW_UNALIGNED one for other offsets.
    private static func plan<T: TensorScalar>(_: T.Type, inverse: Bool, sizes: [Int], howmany: Int, aligned: Bool) throws -> OpaquePointer {
        let key = "\(T.dtypeName) \(inverse ? "c2r" : "r2c") \(sizes) \(howmany) \(aligned)"
        do {
            return try FFTWPlans.plan(key) {
                let real = sizes.reduce(1, *) * howmany
                let complex = sizes.dropLast().reduce(1, *) * (sizes.last! / 2 + 1) * 2 * howmany
                let a = T._allocate(real), b = T._allocate(complex)
                defer { T._free(a); T._free(b) }
                let flags = FFTWPlans.flags((aligned ? 0 : swiftpde_fftw_unaligned()) | (inverse ? swiftpde_fftw_destroy_input() : 0))
                let n = sizes.map { Int32($0) }
                return inverse
                    ? T._planManyC2R(rank: Int32(sizes.count), n: n, howmany: Int32(howmany), input: b, output: a, flags: flags)
                    : T._planManyR2C(rank: Int32(sizes.count), n: n, howmany: Int32(howmany), input: a, output: b, flags: flags)
            }.pointer
        } catch {
            throw LearningError.invalidArgument(name: "FFT size", value: "\(sizes) × \(howmany) transforms",
                                                expected: "a transform FFTW can plan (it failed: out of memory?)")
        }
    }

    @inline(__always)
    private static func isAligned<P>(_ p: UnsafeMutablePointer<P>) -> Bool { Int(bitPattern: p) % 16 == 0 }

    /// Splits `count` transforms into per-worker chunks.
    private static func chunks(_ count: Int, pointsPerTransform: Int) -> [(Int, Int)] {
        let workers = max(1, min(Threads.count, count, count * pointsPerTransform / 4096))
        let size = (count + workers - 1) / workers
        return stride(from: 0, to: count, by: size).map { ($0, min(count, $0 + size)) }
    }

    /// Runs `howmany` transforms from `input` (`inPer` scalars each) to `output` (`outPer`
    /// each), in per-worker chunks, with the cached plan of each chunk's size and alignment.
    private static func execute<T: TensorScalar>(inverse: Bool, sizes: [Int], howmany: Int,
                                                 _ input: UnsafeMutablePointer<T>, inPer: Int,
                                                 _ output: UnsafeMutablePointer<T>, outPer: Int) throws {
        let parts = chunks(howmany, pointsPerTransform: sizes.reduce(1, *))
        let plans = try parts.map { (s, e) in
            try plan(T.self, inverse: inverse, sizes: sizes, howmany: e - s,
                     aligned: isAligned(input + s * inPer) && isAligned(output + s * outPer))
        }
        DispatchQueue.concurrentPerform(iterations: parts.count) { i in
            let s = parts[i].0
            if inverse {
                T._executeC2R(plans[i], input + s * inPer, output + s * outPer)
            } else {
                T._executeR2C(plans[i], input + s * inPer, output + s * outPer)
            }
        }
    }

    /// Unnormalized r2c over the last `d` axes of `x`.
    static func forward<T: TensorScalar>(_ x: Tensor<T>, dimensions d: Int) throws -> Tensor<T> {
        let sizes = Array(x.shape.suffix(d))
        let howmany = x.shape.dropLast(d).reduce(1, *)
        let realPer = sizes.reduce(1, *), complexPer = sizes.dropLast().reduce(1, *) * (sizes.last! / 2 + 1) * 2
        var failure: Error?
        let out = Tensor<T>(uninitializedShape: spectrumShape(x.shape, dimensions: d)) { y in
            x.scalars.withUnsafeBufferPointer { px in
                // r2c does not write its input.
                do { try execute(inverse: false, sizes: sizes, howmany: howmany, UnsafeMutablePointer(mutating: px.baseAddress!),
                                 inPer: realPer, y, outPer: complexPer) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Unnormalized c2r of a half spectrum to real data whose last `sizes.count` axes are
    /// `sizes` (the input is copied: FFTW's c2r overwrites it).
    static func inverse<T: TensorScalar>(_ spectrum: Tensor<T>, sizes: [Int]) throws -> Tensor<T> {
        var scratch = spectrum
        return try inverse(consuming: &scratch, sizes: sizes)
    }

    /// c2r that may overwrite `spectrum` (no copy when its storage is not shared).
    static func inverse<T: TensorScalar>(consuming spectrum: inout Tensor<T>, sizes: [Int]) throws -> Tensor<T> {
        let d = sizes.count
        let lead = Array(spectrum.shape.dropLast(d + 1))
        let howmany = lead.reduce(1, *)
        let realPer = sizes.reduce(1, *), complexPer = sizes.dropLast().reduce(1, *) * (sizes.last! / 2 + 1) * 2
        var scratch = spectrum.scalars
        spectrum = Tensor(zeros: [0])
        var failure: Error?
        let out = Tensor<T>(uninitializedShape: lead + sizes) { y in
            scratch.withUnsafeMutableBufferPointer { ps in
                do { try execute(inverse: true, sizes: sizes, howmany: howmany, ps.baseAddress!, inPer: complexPer, y, outPer: realPer) }
                catch { failure = error }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Replaces, on the planes k_d = 0 and (even N_d) k_d = N_d/2 of half spectra with
    /// spectral sizes `sizes`, every value by its Hermitian part (X[k] + conj X[−k])/2 over
    /// the other spectral axes. Only the plane entries are touched.
    static func hermitianPlanes<T: TensorScalar>(_ x: inout Tensor<T>, sizes: [Int]) {
        let d = sizes.count
        let half = sizes[d - 1] / 2 + 1
        let lead = Array(sizes.dropLast())
        let planeCount = lead.reduce(1, *)
        guard planeCount > 1 else { return }  // 1-D: a plane is one entry, its own mirror
        let howmany = x.count / (planeCount * half * 2)
        // mirror[r]: the row index of −k for the row of k, over the leading spectral axes.
        var mirror = [Int](repeating: 0, count: planeCount)
        for r in 0..<planeCount {
            var rem = r, m = 0, mul = 1
            for a in stride(from: lead.count - 1, through: 0, by: -1) {
                let i = rem % lead[a]
                rem /= lead[a]
                m += ((lead[a] - i) % lead[a]) * mul
                mul *= lead[a]
            }
            mirror[r] = m
        }
        let nyquist = sizes[d - 1] % 2 == 0 && half > 1
        x.scalars.withUnsafeMutableBufferPointer { buf in
            mirror.withUnsafeBufferPointer { mp in
                T.hermitianPlanesKernel(buf.baseAddress!, howmany: howmany, mirror: mp.baseAddress!, rows: planeCount,
                                        half: half, nyquist: nyquist)
            }
        }
    }

    /// Multiplies the entries of half spectra [rows, columns, 2] (columns: the first
    /// `columns` indices of a half axis of length `half`) by `planeScale` on the planes
    /// (index 0, and half − 1 when it is the Nyquist index of an even axis and present)
    /// and by `interiorScale` elsewhere.
    static func scaleHalfAxis<T: TensorScalar>(_ x: inout Tensor<T>, columns: Int, nyquistColumn: Bool,
                                              planeScale: Double, interiorScale: Double) {
        let rows = x.count / (columns * 2)
        x.scalars.withUnsafeMutableBufferPointer {
            T.scaleHalfAxisKernel($0.baseAddress!, rows: rows, columns: columns, lastIsPlane: nyquistColumn,
                                  planeScale: T(planeScale), interiorScale: T(interiorScale))
        }
    }

    /// Whether the last of `columns` kept indices of the half axis of an axis of length `n`
    /// is its Nyquist index.
    static func keepsNyquist(columns: Int, lastSize n: Int) -> Bool { n % 2 == 0 && n > 1 && columns == n / 2 + 1 }

    /// Transposes a row-major [rows, cols] array of complex pairs (raw copies).
    static func transposePairs<T: TensorScalar>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, rows: Int, cols: Int) {
        let block = 32
        if MemoryLayout<T>.stride == 4 {
            let s = UnsafeRawPointer(src).assumingMemoryBound(to: UInt64.self)
            let t = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: UInt64.self)
            transposeBlocked(s, t, rows: rows, cols: cols, block: block)
        } else {
            let s = UnsafeRawPointer(src).assumingMemoryBound(to: SIMD2<UInt64>.self)
            let t = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: SIMD2<UInt64>.self)
            transposeBlocked(s, t, rows: rows, cols: cols, block: block)
        }
    }

    @inline(__always)
    private static func transposeBlocked<E>(_ s: UnsafePointer<E>, _ t: UnsafeMutablePointer<E>, rows: Int, cols: Int, block: Int) {
        var i0 = 0
        while i0 < rows {
            let i1 = min(rows, i0 + block)
            var j0 = 0
            while j0 < cols {
                let j1 = min(cols, j0 + block)
                for i in i0..<i1 {
                    var j = j0
                    while j < j1 { t[j &* rows &+ i] = s[i &* cols &+ j]; j &+= 1 }
                }
                j0 = j1
            }
            i0 = i1
        }
    }
}
