/// How `rfftLowModes` and `irfftFromLowModes` compute: FFTs of the whole grid, dense DFT
/// products of the kept modes only (`LowModeDFT`), or whichever an operation count
/// predicts is faster (the default; deterministic for given sizes and modes).
public enum LowModeTransform: String, Sendable, CaseIterable {
    case automatic, fft, dft

    /// Whether transforms of real `sizes` keeping `modes` use the dense DFT.
    public func usesDFT(sizes: [Int], modes: [Int]) -> Bool {
        switch self {
        case .fft: false
        case .dft: true
        case .automatic: LowModeDFT.isPreferred(sizes: sizes, modes: modes)
        }
    }
}

/// Real FFTs, low-mode selection and complex channel mixing: the pieces of a Fourier
/// neural operator's spectral convolution, each with an exact VJP.
extension Variable {
    /// Unnormalized real-to-complex FFT over the last `dimensions` axes (1–3):
    /// [..., N₁…N_d] → [..., N₁…N_{d−1}, N_d/2 + 1, 2].
    public func rfft(dimensions d: Int) throws -> Variable {
        let sizes = try fftSizes(d)
        let half = sizes[d - 1] / 2 + 1
        return Variable.record(try FFT.forward(value, dimensions: d), [self]) { [self] g in
            // Adjoint of r2c: c2r of the gradient with the interior half-axis entries halved
            // and the self-conjugate planes made Hermitian.
            var z = g
            FFT.scaleHalfAxis(&z, columns: half, nyquistColumn: FFT.keepsNyquist(columns: half, lastSize: sizes[d - 1]),
                              planeScale: 1, interiorScale: 0.5)
            FFT.hermitianPlanes(&z, sizes: sizes)
            accumulate(try FFT.inverse(consuming: &z, sizes: sizes))
        }
    }

    /// Inverse of `rfft` (normalized by 1/ΠN): a half spectrum [..., N₁…N_{d−1}, N_d/2+1, 2]
    /// → real [..., N₁…N_d]; `lastSize` is N_d (even or odd). The planes k_d = 0 (and
    /// N_d/2) are read through their Hermitian part, so the result is well defined for any
    /// input (numpy's and PyTorch's irfftn agree on Hermitian input).
    public func irfft(dimensions d: Int, lastSize: Int) throws -> Variable {
        let s = value.shape
        guard (1...3).contains(d), s.count >= d + 1, s.last == 2, lastSize >= 1, s[s.count - 2] == lastSize / 2 + 1 else {
            throw LearningError.shapeMismatch(operation: "irfft over \(d) axes to last size \(lastSize)",
                                              expected: "a half spectrum [..., N…, \(lastSize / 2 + 1), 2]", got: shapeString(s))
        }
        let sizes = Array(s.dropLast(2).suffix(d - 1)) + [lastSize]
        let half = lastSize / 2 + 1
        let n = Double(sizes.reduce(1, *))
        var z = value
        FFT.hermitianPlanes(&z, sizes: sizes)
        var y = try FFT.inverse(consuming: &z, sizes: sizes)
        y.scaleInPlace(1 / n)
        return Variable.record(y, [self]) { [self] g in
            // Adjoint: (1/N) · w_k · r2c(g), w = 2 on interior planes of the half axis.
            var gx = try FFT.forward(g, dimensions: d)
            FFT.scaleHalfAxis(&gx, columns: half, nyquistColumn: FFT.keepsNyquist(columns: half, lastSize: lastSize),
                              planeScale: 1 / n, interiorScale: 2 / n)
            accumulate(gx)
        }
    }

    /// The low modes of a half spectrum [..., N₁…N_{d−1}, H, 2]: along each full axis a the
    /// first and last `modes[a]` indices (2·modes[a] in all, non-negative frequencies
    /// first), along the half axis the first `modes[d−1]` → [..., 2m₁…2m_{d−1}, m_d, 2].
    public func lowModes(_ modes: [Int]) throws -> Variable {
        let s = value.shape
        let d = modes.count
        guard (1...3).contains(d), s.count >= d + 1, s.last == 2 else {
            throw LearningError.shapeMismatch(operation: "lowModes \(modes)", expected: "a half spectrum with \(d) spectral axes", got: shapeString(s))
        }
        let lead = s.count - d - 1
        let boxes = try LowModeBoxes(leading: Array(s[..<lead]), spectral: Array(s[lead..<(s.count - 1)]), modes: modes)
        let y = boxes.extract(value)
        return Variable.record(y, [self]) { [self] g in accumulate(boxes.embed(g)) }
    }

    /// The adjoint of `lowModes`: places [..., 2m₁…2m_{d−1}, m_d, 2] into a zero half
    /// spectrum whose spectral axes are `spectral` (N₁…N_{d−1}, H).
    public func embeddingLowModes(spectral: [Int]) throws -> Variable {
        let boxes = try LowModeBoxes(lowShape: value.shape, spectral: spectral)
        return Variable.record(boxes.embed(value), [self]) { [self] g in accumulate(boxes.extract(g)) }
    }

    /// `rfft(dimensions:)` followed by `lowModes(_:)`, fused: the full spectrum is not kept,
    /// and the VJP touches only the low modes before its inverse transform. `method` picks
    /// FFTs or dense DFT products of the kept modes (`LowModeTransform`); both give the same
    /// values to rounding.
    public func rfftLowModes(_ modes: [Int], method: LowModeTransform = .automatic) throws -> Variable {
        let d = modes.count
        let sizes = try fftSizes(d)
        let lead = Array(value.shape.dropLast(d))
        var spectral = sizes
        spectral[d - 1] = sizes[d - 1] / 2 + 1
        let boxes = try LowModeBoxes(leading: lead, spectral: spectral, modes: modes)
        if method.usesDFT(sizes: sizes, modes: modes) {
            return Variable.record(LowModeDFT.forward(value, modes: modes), [self]) { [self] g in
                accumulate(LowModeDFT.forwardAdjoint(g, sizes: sizes, modes: modes))
            }
        }
        let y = boxes.extract(try FFT.forward(value, dimensions: d))
        let nyquist = FFT.keepsNyquist(columns: modes[d - 1], lastSize: sizes[d - 1])
        return Variable.record(y, [self]) { [self] g in
            var small = g
            FFT.scaleHalfAxis(&small, columns: modes[d - 1], nyquistColumn: nyquist, planeScale: 1, interiorScale: 0.5)
            var z = boxes.embed(small)
            FFT.hermitianPlanes(&z, sizes: sizes)
            accumulate(try FFT.inverse(consuming: &z, sizes: sizes))
        }
    }

    /// `embeddingLowModes` followed by `irfft`, fused: low modes [..., 2m₁…, m_d, 2] → real
    /// [..., N₁…N_d] (`spatial` = N₁…N_d). `method` as for `rfftLowModes`.
    public func irfftFromLowModes(spatial sizes: [Int], method: LowModeTransform = .automatic) throws -> Variable {
        let d = sizes.count
        guard (1...3).contains(d), sizes.allSatisfy({ $0 >= 1 }) else {
            throw LearningError.invalidArgument(name: "irfftFromLowModes sizes", value: "\(sizes)", expected: "1 to 3 positive sizes")
        }
        var spectral = sizes
        spectral[d - 1] = sizes[d - 1] / 2 + 1
        let boxes = try LowModeBoxes(lowShape: value.shape, spectral: spectral)
        if method.usesDFT(sizes: sizes, modes: boxes.modes) {
            let modes = boxes.modes
            return Variable.record(LowModeDFT.inverse(value, sizes: sizes, modes: modes), [self]) { [self] g in
                accumulate(LowModeDFT.inverseAdjoint(g, modes: modes))
            }
        }
        let n = Double(sizes.reduce(1, *))
        let md = boxes.modes[d - 1]
        let nyquist = FFT.keepsNyquist(columns: md, lastSize: sizes[d - 1])
        var small = value
        small.scaleInPlace(1 / n)
        var z = boxes.embed(small)
        FFT.hermitianPlanes(&z, sizes: sizes)
        let y = try FFT.inverse(consuming: &z, sizes: sizes)
        return Variable.record(y, [self]) { [self] g in
            var low = boxes.extract(try FFT.forward(g, dimensions: d))
            FFT.scaleHalfAxis(&low, columns: md, nyquistColumn: nyquist, planeScale: 1 / n, interiorScale: 2 / n)
            accumulate(low)
        }
    }

    /// The last `d` axis sizes, checked for a real FFT.
    func fftSizes(_ d: Int) throws -> [Int] {
        let xs = value.shape
        guard (1...3).contains(d), xs.count >= d, xs.suffix(d).allSatisfy({ $0 >= 1 }) else {
            throw LearningError.invalidArgument(name: "rfft dimensions", value: "\(d) on \(shapeString(xs))",
                                                expected: "1 to 3 transform axes, at most the tensor's rank")
        }
        return Array(xs.suffix(d))
    }

    /// Complex channel mixing per mode: x [B, Cin, M…, 2], w [Cin, Cout, M…, 2] →
    /// y [B, Cout, M…, 2] with y[b, o, m] = Σᵢ x[b, i, m] · w[i, o, m] (complex products;
    /// einsum "bixy,ioxy->boxy"). One complex GEMM per mode, modes spread over threads.
    public static func complexMix(_ x: Variable, _ w: Variable) throws -> Variable {
        let xs = x.value.shape, ws = w.value.shape
        guard xs.count >= 3, ws.count == xs.count, xs.last == 2, ws.last == 2, xs[1] == ws[0], Array(xs[2...]) == Array(ws[2...]) else {
            throw LearningError.shapeMismatch(operation: "complexMix", expected: "x [B, Cin, M…, 2] and w [Cin, Cout, M…, 2] with equal M…",
                                              got: "\(shapeString(xs)) and \(shapeString(ws))")
        }
        let (b, ci, co) = (xs[0], xs[1], ws[1])
        let m = xs.dropFirst(2).dropLast().reduce(1, *)
        let xv = x.value, wv = w.value
        // Mode-major copies: x → [M, B·Cin], w → [M, Cin·Cout] (complex entries).
        let xm = modeMajor(xv, rows: b * ci, modes: m), wm = modeMajor(wv, rows: ci * co, modes: m)
        let ym = perModeProducts(xm, wm, modes: m, m: b, n: co, k: ci, transA: false, transB: false)
        let y = fromModeMajor(ym, rows: b * co, modes: m, shape: [b, co] + Array(xs[2...]))
        return Variable.record(y, [x, w]) { g in
            let gm = modeMajor(g, rows: b * co, modes: m)
            if x.requiresGradient {
                // gx[m] = g[m] · w[m]ᴴ.
                let gxm = perModeProducts(gm, wm, modes: m, m: b, n: ci, k: co, transA: false, transB: true)
                x.accumulate(fromModeMajor(gxm, rows: b * ci, modes: m, shape: xs))
            }
            if w.requiresGradient {
                // gw[m] = x[m]ᴴ · g[m].
                let gwm = perModeProducts(xm, gm, modes: m, m: ci, n: co, k: b, transA: true, transB: false)
                w.accumulate(fromModeMajor(gwm, rows: ci * co, modes: m, shape: ws))
            }
        }
    }

    /// For each mode: C[mode] = op(A[mode]) · op(B[mode]) (complex, row-major; op is the
    /// conjugate transpose when the flag is set), modes spread over the worker threads.
    /// A[mode] is m×k (k×m transposed), B[mode] k×n (n×k), C[mode] m×n.
    static func perModeProducts(_ a: Tensor<T>, _ bt: Tensor<T>, modes: Int, m: Int, n: Int, k: Int,
                                transA: Bool, transB: Bool) -> Tensor<T> {
        Tensor<T>(uninitializedShape: [modes, m * n, 2]) { c in
            a.scalars.withUnsafeBufferPointer { pa in bt.scalars.withUnsafeBufferPointer { pb in
                let pa = pa.baseAddress!, pb = pb.baseAddress!
                Threads.parallelItems(modes) { _, s, e in
                    for q in s..<e {
                        T.complexGemm(transA: transA, conjA: transA, transB: transB, conjB: transB, m: m, n: n, k: k,
                                      a: pa + q * m * k * 2, lda: transA ? m : k, b: pb + q * k * n * 2, ldb: transB ? k : n,
                                      beta: 0, c: c + q * m * n * 2, ldc: n)
                    }
                }
            } }
        }
    }

    /// [rows, M, 2] → [M, rows, 2].
    static func modeMajor(_ t: Tensor<T>, rows: Int, modes: Int) -> Tensor<T> {
        Tensor(uninitializedShape: [modes, rows, 2]) { out in
            t.scalars.withUnsafeBufferPointer { FFT.transposePairs($0.baseAddress!, out, rows: rows, cols: modes) }
        }
    }

    /// [M, rows, 2] → `shape` (= [rows…, M…, 2]).
    static func fromModeMajor(_ t: Tensor<T>, rows: Int, modes: Int, shape: [Int]) -> Tensor<T> {
        Tensor(uninitializedShape: shape) { out in
            t.scalars.withUnsafeBufferPointer { FFT.transposePairs($0.baseAddress!, out, rows: modes, cols: rows) }
        }
    }
}

/// The 2^{d−1} corner boxes of low modes in a half spectrum.
struct LowModeBoxes {
    let leading: [Int], spectral: [Int], modes: [Int]

    /// Low modes `modes` of half spectra with leading axes `leading` and spectral axes
    /// `spectral` (N₁…N_{d−1}, H).
    init(leading: [Int], spectral: [Int], modes: [Int]) throws {
        let d = modes.count
        guard (1...3).contains(d), spectral.count == d,
              (0..<(d - 1)).allSatisfy({ modes[$0] >= 1 && 2 * modes[$0] <= spectral[$0] }), modes[d - 1] >= 1, modes[d - 1] <= spectral[d - 1] else {
            throw LearningError.invalidArgument(name: "modes", value: "\(modes) for spectral axes \(spectral)",
                                                expected: "1 to 3 mode counts, 1 ≤ 2m ≤ N on the full axes and 1 ≤ m ≤ H on the half axis")
        }
        self.leading = leading
        self.spectral = spectral
        self.modes = modes
    }

    /// The boxes for low modes of shape `lowShape` = [..., 2m₁…2m_{d−1}, m_d, 2].
    init(lowShape s: [Int], spectral: [Int]) throws {
        let d = spectral.count
        guard (1...3).contains(d), s.count >= d + 1, s.last == 2 else {
            throw LearningError.shapeMismatch(operation: "low modes into spectral axes \(spectral)", expected: "[..., \(d) mode axes, 2]", got: shapeString(s))
        }
        let lead = s.count - d - 1
        let got = Array(s[lead..<(s.count - 1)])
        guard (0..<(d - 1)).allSatisfy({ got[$0] % 2 == 0 }) else {
            throw LearningError.shapeMismatch(operation: "low modes into spectral axes \(spectral)", expected: "even mode counts on the full axes",
                                              got: shapeString(s))
        }
        var modes = got
        for a in 0..<(d - 1) { modes[a] = got[a] / 2 }
        try self.init(leading: Array(s[..<lead]), spectral: spectral, modes: modes)
    }

    var lowShape: [Int] {
        let d = modes.count
        return leading + (0..<d).map { $0 < d - 1 ? 2 * modes[$0] : modes[$0] } + [2]
    }
    var fullShape: [Int] { leading + spectral + [2] }

    /// Calls body(fullOffset, lowOffset, count) for every contiguous run (m_d complex
    /// entries) of every corner.
    func forEachRun(_ body: (Int, Int, Int) -> Void) {
        let d = modes.count
        let outer = leading.reduce(1, *)
        let lowModeShape = Array(lowShape.suffix(d + 1))
        let fullStrides = Tensor<Double>.strides(spectral + [2]), lowStrides = Tensor<Double>.strides(lowModeShape)
        let fullItem = spectral.reduce(1, *) * 2, lowItem = lowModeShape.reduce(1, *)
        let run = modes[d - 1] * 2
        // Rows over the full axes 0..<d−1 of the low array, with their source row.
        let lowFull = (0..<(d - 1)).map { 2 * modes[$0] }
        let rowCount = lowFull.reduce(1, *)
        var rows: [(Int, Int)] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var rem = r, fo = 0, lo = 0
            for a in stride(from: d - 2, through: 0, by: -1) {
                let i = rem % lowFull[a]
                rem /= lowFull[a]
                let src = i < modes[a] ? i : spectral[a] - 2 * modes[a] + i
                fo += src * fullStrides[a]
                lo += i * lowStrides[a]
            }
            rows.append((fo, lo))
        }
        for o in 0..<outer {
            for (fo, lo) in rows { body(o * fullItem + fo, o * lowItem + lo, run) }
        }
    }

    func extract<T: TensorScalar>(_ x: Tensor<T>) -> Tensor<T> {
        Tensor<T>(uninitializedShape: lowShape) { y in
            x.scalars.withUnsafeBufferPointer { px in
                forEachRun { f, l, n in copyElements(px.baseAddress! + f, y + l, n) }
            }
        }
    }

    func embed<T: TensorScalar>(_ y: Tensor<T>) -> Tensor<T> {
        var x = Tensor<T>(zeros: fullShape)
        x.scalars.withUnsafeMutableBufferPointer { px in
            y.scalars.withUnsafeBufferPointer { py in
                forEachRun { f, l, n in copyElements(py.baseAddress! + l, px.baseAddress! + f, n) }
            }
        }
        return x
    }
}
