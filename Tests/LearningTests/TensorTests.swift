import Foundation
import Testing
@testable import Learning

/// Forward values against direct definitions, and bad inputs.
@Suite struct TensorTests {
    @Test("Strided convolutions whose kernel taps see only padding read no input (1-D, 2-D, 3-D)")
    func stridedTapsOnPaddingOnly() throws {
        // S = 1, padding 1, kernel 3, stride 2: one output, only the centre tap meets the input;
        // the last tap used to read one element past its channel (the next channel's value).
        for d in 1...3 {
            let ones = [Int](repeating: 1, count: d)
            let x = Variable(try Tensor<Double>(shape: [1, 2] + ones, scalars: [3, 5]))
            let k = Int(pow(3.0, Double(d)))
            let w = Variable(try Tensor<Double>(shape: [1, 2] + [Int](repeating: 3, count: d),
                                                scalars: (0..<(2 * k)).map { Double($0 + 1) }))
            let y = try Variable.convolution(x, weight: w, stride: [Int](repeating: 2, count: d), padding: ones)
            #expect(y.value.shape == [1, 1] + ones)
            let centre = k / 2
            #expect(y.value.scalars == [3 * Double(centre + 1) + 5 * Double(k + centre + 1)], "d = \(d)")
        }
    }

    @Test func broadcastingFollowsNumpy() throws {
        let a = try Tensor<Double>(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor<Double>(shape: [4, 1], scalars: [10, 20, 30, 40])
        let c = try a + b
        #expect(c.shape == [2, 4, 3])
        #expect(c[1, 2, 0] == 4 + 30)
        #expect(c[0, 3, 2] == 3 + 40)
        let expected: [Double] = [81, 141, 201, 261]  // Σ a (= 21) + 6·b, per row of b
        #expect(try c.summed(toShape: [4, 1]).scalars == expected)
        #expect(Tensor<Double>.broadcastShape([3], [2, 4]) == nil)
        #expect(throws: LearningError.self) { _ = try a + Tensor<Double>(zeros: [5]) }
        #expect(try a.sum(alongAxes: [2]).scalars == [6, 15])
        #expect(try a.sum(alongAxes: [0, 2], keepingDimensions: true).shape == [1, 1, 1])
    }

    /// `permuted` (the merged-axis block gather of `svm_permute`) against an element-by-element
    /// reference: every permutation of a rank-4 tensor with a unit axis, in Float and Double,
    /// and the patch permutation of LSM's spectral block (rank 6, runs of 3 and strided).
    @Test func permutationsMatchElementByElementGathers() throws {
        func reference<T: TensorScalar>(_ x: Tensor<T>, _ axes: [Int]) -> [T] {
            let shape = axes.map { x.shape[$0] }, own = Tensor<T>.strides(x.shape)
            var out: [T] = [], index = [Int](repeating: 0, count: shape.count)
            for _ in 0..<shape.reduce(1, *) {
                out.append(x.scalars[zip(index, axes).reduce(0) { $0 + $1.0 * own[$1.1] }])
                var d = shape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
            }
            return out
        }
        func permutations(_ n: Int) -> [[Int]] {
            n == 0 ? [[]] : permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
        }
        let xd = try Tensor<Double>(shape: [2, 1, 3, 5], scalars: (0..<30).map(Double.init))
        let xf = xd.converted(to: Float.self)
        for axes in permutations(4) {
            #expect(try xd.permuted(axes).scalars == reference(xd, axes), "\(axes)")
            #expect(try xf.permuted(axes).scalars == reference(xf, axes), "\(axes) Float")
            #expect(try xd.permuted(axes).shape == axes.map { xd.shape[$0] })
        }
        let patches = try Tensor<Float>(shape: [2, 4, 2, 3, 2, 3], scalars: (0..<288).map(Float.init))
        for axes in [[0, 2, 4, 1, 3, 5], [0, 3, 1, 4, 2, 5], [5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 5, 4]] {
            #expect(try patches.permuted(axes).scalars == reference(patches, axes), "\(axes)")
        }
    }

    @Test func shapeOperations() throws {
        let x = try Tensor<Float>(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let p = try x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p[3, 1, 2] == x[1, 2, 3])
        #expect(try x.reshaped([-1, 6]).shape == [4, 6])
        #expect(throws: LearningError.self) { _ = try x.reshaped([5, -1]) }
        #expect(throws: LearningError.self) { _ = try x.permuted([0, 0, 1]) }
        // An empty axis: the permuted shape, no elements.
        let empty = try Tensor<Float>(shape: [0, 3, 2], scalars: [])
        let pe = try empty.permuted([2, 0, 1])
        #expect(pe.shape == [2, 0, 3] && pe.scalars.isEmpty)
        #expect(try Tensor<Double>(shape: [4, 0, 5, 2], scalars: []).permuted([3, 1, 2, 0]).shape == [2, 0, 5, 4])
        let s = try x.slice(lower: [1, 1, 2], sizes: [1, 2, 2])
        #expect(s.scalars == [18, 19, 22, 23])
        #expect(throws: LearningError.self) { _ = try x.slice(lower: [1, 2, 2], sizes: [1, 2, 2]) }
        let padded = try s.padded(lower: [0, 1, 0], upper: [0, 0, 1], value: -1)
        #expect(padded.shape == [1, 3, 3] && padded.scalars == [-1, -1, -1, 18, 19, -1, 22, 23, -1])
        let c = try Tensor.concatenate([s, s], axis: 2)
        #expect(c.scalars == [18, 19, 18, 19, 22, 23, 22, 23])
        #expect(throws: LearningError.self) { _ = try Tensor.concatenate([s, x], axis: 0) }
        #expect(try x.gathered([3, 0], axis: 2).scalars.prefix(4) == [3, 0, 7, 4])
        #expect(throws: LearningError.self) { _ = try x.gathered([4], axis: 2) }
        #expect(throws: LearningError.self) { _ = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3]) }
    }

    @Test func gridCoordinatesAsChannels() throws {
        let g = try Tensor<Double>.gridCoordinates([3, 5], batch: 2)
        #expect(g.shape == [2, 2, 3, 5])
        #expect(g[1, 0, 2, 4] == 1 && g[1, 1, 2, 4] == 1 && g[0, 0, 1, 3] == 0.5 && g[0, 1, 1, 3] == 0.75)
        let x = variable([2, 4, 3, 5], seed: 3)
        let y = try x.appendingGridCoordinates()
        #expect(y.shape == [2, 6, 3, 5] && y.value[1, 5, 2, 1] == 0.25)
        try checkGradients([x]) { try x.appendingGridCoordinates() }
        #expect(throws: LearningError.self) { _ = try Tensor<Float>.gridCoordinates([0, 4]) }
    }

    @Test func matmulAgainstNaive() throws {
        let a = randomTensor([3, 4, 5], seed: 1), b = randomTensor([3, 5, 2], seed: 2)
        let c = try Tensor.matmul(a, b)
        for n in 0..<3 { for i in 0..<4 { for j in 0..<2 {
            var s = 0.0
            for k in 0..<5 { s += a[n, i, k] * b[n, k, j] }
            #expect(Swift.abs(c[n, i, j] - s) < 1e-14)
        } } }
        #expect(throws: LearningError.self) { _ = try Tensor.matmul(a, a) }
    }

    /// Direct cross-correlation with zero padding, for reference.
    func naiveConv2d(_ x: Tensor<Double>, _ w: Tensor<Double>, stride s: Int, padding p: Int) -> Tensor<Double> {
        let (b, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * p - kh) / s + 1, ow = (wd + 2 * p - kw) / s + 1
        var y = Tensor<Double>(zeros: [b, co, oh, ow])
        for n in 0..<b { for o in 0..<co { for i in 0..<oh { for j in 0..<ow {
            var acc = 0.0
            for c in 0..<ci { for u in 0..<kh { for v in 0..<kw {
                let yy = i * s - p + u, xx = j * s - p + v
                if yy >= 0 && yy < h && xx >= 0 && xx < wd { acc += x[n, c, yy, xx] * w[o, c, u, v] }
            } } }
            y[n, o, i, j] = acc
        } } } }
        return y
    }

    @Test(arguments: [(1, 0), (1, 1), (2, 1), (3, 2)])
    func convolutionMatchesDirectSum(strideAndPadding: (Int, Int)) throws {
        let (s, p) = strideAndPadding
        let x = randomTensor([2, 3, 9, 8], seed: 3), w = randomTensor([4, 3, 3, 2], seed: 4)
        let y = try Variable.convolution(Variable(x), weight: Variable(w), stride: [s, s], padding: [p, p]).value
        let ref = naiveConv2d(x, w, stride: s, padding: p)
        #expect(y.shape == ref.shape)
        #expect(maxDifference(y, ref) < 1e-13)
    }

    /// Float 3×3(×3) stride-1 "same" convolutions run the direct kernels (CVectorMath/Conv3.c),
    /// Double ones im2col + GEMM: the two agree on the output and on the gradients of the
    /// input, weight and bias, for widths that are and are not multiples of the vector width,
    /// channel counts below, at and above the four-channel blocks, heights that leave a
    /// partial row chunk, and 2-D and 3-D; a 6 × 6 plane, below the direct kernels' 8 × 8,
    /// takes Float im2col + SGEMM.
    @Test("Direct Float 3×3(×3) kernels equal the im2col path in Double (forward and gradients)",
          arguments: [([2, 3, 13, 19], 5), ([1, 16, 9, 64], 16), ([3, 1, 8, 8], 4), ([2, 4, 17, 5], 1), ([2, 8, 6, 6], 5),
                      ([2, 3, 5, 7, 11], 6), ([1, 16, 4, 10, 32], 16), ([1, 2, 3, 3, 9], 1)])
    func directConvolutionKernels(shape: [Int], outChannels: Int) throws {
        var g = SeededGenerator(seed: UInt64(shape.reduce(0, +) * 31 + outChannels))
        let d = shape.count - 2, cin = shape[1]
        let x64 = Tensor<Double>.randomNormal(shape: shape, generator: &g)
        let w64 = Tensor<Double>.randomNormal(shape: [outChannels, cin] + [Int](repeating: 3, count: d), generator: &g)
        let b64 = Tensor<Double>.randomNormal(shape: [outChannels], generator: &g)
        let pad = [Int](repeating: 1, count: d)
        func run<T: TensorScalar>(_: T.Type) throws -> [[Double]] {
            let x = Variable(try Tensor<T>(shape: shape, scalars: x64.scalars.map { T($0) }), requiresGradient: true)
            let w = Variable(try Tensor<T>(shape: w64.shape, scalars: w64.scalars.map { T($0) }), requiresGradient: true)
            let b = Variable(try Tensor<T>(shape: [outChannels], scalars: b64.scalars.map { T($0) }), requiresGradient: true)
            let y = try Variable.convolution(x, weight: w, bias: b, padding: pad)
            // A weighted sum, so every output position has its own cotangent.
            let c = Variable(try Tensor<T>(shape: y.value.shape, scalars: (0..<y.value.count).map { T(Double(($0 * 7) % 11) - 5) }))
            try (y * c).sum().backward()
            return [y.value, x.grad!, w.grad!, b.grad!].map { $0.scalars.map { Double($0) } }
        }
        let reference = try run(Double.self), direct = try run(Float.self)
        for (name, (r, f)) in zip(["output", "input gradient", "weight gradient", "bias gradient"], zip(reference, direct)) {
            #expect(r.count == f.count, "\(name) \(shape)")
            let scale = r.reduce(0) { max($0, abs($1)) }
            let error = zip(r, f).reduce(0) { max($0, abs($1.0 - $1.1)) }
            #expect(error <= 1e-5 * scale, "\(name) \(shape): \(error) (scale \(scale))")
        }
    }

    /// Threads.parallelDynamic hands out every item exactly once, in ranges of at most
    /// `grain`, whatever the item count.
    @Test(arguments: [(0, 1), (1, 1), (7, 1), (100, 1), (100, 3), (5, 8)])
    func dynamicItemsAreEachRunOnce(items: Int, grain: Int) {
        let lock = NSLock()
        nonisolated(unsafe) var seen = [Int](repeating: 0, count: items)
        nonisolated(unsafe) var widest = 0
        Threads.parallelDynamic(items, grain: grain) { s, e in
            lock.lock()
            for i in s..<e { seen[i] += 1 }
            widest = max(widest, e - s)
            lock.unlock()
        }
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(widest <= max(grain, items == 0 ? 0 : 1) || (Threads.count == 1 && widest == items))
    }

    @Test func transposedConvolutionIsTheAdjoint() throws {
        // ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ for the same weight, stride and padding (3-D).
        let x = randomTensor([2, 3, 7, 6, 5], seed: 5), w = randomTensor([4, 3, 3, 3, 2], seed: 6)
        let cx = try Variable.convolution(Variable(x), weight: Variable(w), stride: [2, 2, 1], padding: [1, 0, 1]).value
        let y = randomTensor(cx.shape, seed: 7)
        // Output padding recovers the input size lost to the stride's rounding.
        let op = [(7 + 2 - 3) % 2, (6 - 3) % 2, 0]
        let ty = try Variable.transposedConvolution(Variable(y), weight: Variable(w), stride: [2, 2, 1], padding: [1, 0, 1], outputPadding: op).value
        #expect(ty.shape == x.shape)
        #expect(Swift.abs(try cx.dot(y) - x.dot(ty)) < 1e-11)
    }

    @Test func largeThreeDimensionalConvolutionRunsInChunks() throws {
        // 16 channels, 3×3×3 kernel on 24³: the column matrix would be 432 × 13824 entries;
        // chunks keep it at the budget. Compare a few outputs with the direct sum.
        let x = randomTensor([1, 16, 24, 24, 24], seed: 8).converted(to: Float.self)
        let w = randomTensor([2, 16, 3, 3, 3], seed: 9).converted(to: Float.self)
        let y = try Variable.convolution(Variable(x), weight: Variable(w), padding: [1, 1, 1]).value
        for (o, i, j, k) in [(0, 0, 0, 0), (1, 23, 5, 17), (0, 12, 12, 12)] {
            var acc = 0.0
            for c in 0..<16 { for u in 0..<3 { for v in 0..<3 { for t in 0..<3 {
                let a = i - 1 + u, b = j - 1 + v, e = k - 1 + t
                if (0..<24).contains(a) && (0..<24).contains(b) && (0..<24).contains(e) {
                    acc += Double(x[0, c, a, b, e]) * Double(w[o, c, u, v, t])
                }
            } } } }
            #expect(Swift.abs(Double(y[0, o, i, j, k]) - acc) < 1e-4)
        }
    }

    @Test func poolingAndUpsamplingValues() throws {
        let x = try Tensor<Double>(shape: [1, 1, 2, 4], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        let pooled = try Variable(x).averagePooled(kernel: [2, 2]).value
        #expect(pooled.scalars == [3.5, 5.5])
        let row = try Tensor<Double>(shape: [1, 1, 2], scalars: [1, 3])
        // PyTorch: F.interpolate([1, 3], scale_factor=2, mode='linear') = [1, 1.5, 2.5, 3].
        #expect(try Variable(row).upsampled(factor: [2], mode: .linear).value.scalars == [1, 1.5, 2.5, 3])
        #expect(try Variable(row).upsampled(factor: [3], mode: .nearest).value.scalars == [1, 1, 1, 3, 3, 3])
        #expect(throws: LearningError.self) { _ = try Variable(x).averagePooled(kernel: [3, 2]) }
    }

    @Test func rfftMatchesTheDefinitionAndInverts() throws {
        let n = [6, 5]
        let x = randomTensor([2] + n, seed: 10)
        let spec = try Variable(x).rfft(dimensions: 2).value
        #expect(spec.shape == [2, 6, 3, 2])
        for b in 0..<2 { for k1 in 0..<6 { for k2 in 0..<3 {
            var re = 0.0, im = 0.0
            for j1 in 0..<6 { for j2 in 0..<5 {
                let t = -2 * Double.pi * (Double(j1 * k1) / 6 + Double(j2 * k2) / 5)
                re += x[b, j1, j2] * Foundation.cos(t)
                im += x[b, j1, j2] * Foundation.sin(t)
            } }
            #expect(Swift.abs(spec[b, k1, k2, 0] - re) < 1e-12 && Swift.abs(spec[b, k1, k2, 1] - im) < 1e-12)
        } } }
        let back = try Variable(spec).irfft(dimensions: 2, lastSize: 5).value
        #expect(maxDifference(back, x) < 1e-14)
        #expect(throws: LearningError.self) { _ = try Variable(spec).irfft(dimensions: 2, lastSize: 7) }
        // Float path agrees with Double.
        let xf = x.converted(to: Float.self)
        let sf = try Variable(xf).rfft(dimensions: 2).value
        #expect(maxDifference(sf.converted(to: Double.self), spec) < 1e-5)
    }

    @Test func spectralConvolutionMatchesEinsumReference() throws {
        // out = irfft2(Σᵢ rfft2(x)[b,i] · W[i,o] on the kept corners), compared with a
        // direct DFT evaluation for one output point.
        var g = SeededGenerator(seed: 11)
        let layer = try SpectralConvolution<Double>(inChannels: 2, outChannels: 2, modes: [2, 2], generator: &g)
        let x = randomTensor([1, 2, 6, 6], seed: 12)
        let y = try layer(Variable(x)).value
        let xs = try Variable(x).rfft(dimensions: 2).value
        let w = layer.weight.value
        // Reference: the mixed half spectrum Y (zero off the kept corners), its k₂ = 0 column
        // replaced by the Hermitian part, extended to the full spectrum, inverse DFT.
        let o = 1, (p, q) = (4, 3)
        func mixed(_ h1: Int, _ h2: Int) -> (Double, Double) {
            guard h2 < 2, h1 < 2 || h1 >= 4 else { return (0, 0) }
            let r1 = h1 < 2 ? h1 : h1 - 4 + 2
            var re = 0.0, im = 0.0
            for i in 0..<2 {
                let (xr, xi) = (xs[0, i, h1, h2, 0], xs[0, i, h1, h2, 1])
                let (wr, wi) = (w[i, o, r1, h2, 0], w[i, o, r1, h2, 1])
                re += xr * wr - xi * wi
                im += xr * wi + xi * wr
            }
            return (re, im)
        }
        var value = 0.0
        for k1 in 0..<6 { for k2 in 0..<6 {
            var (re, im): (Double, Double)
            if k2 == 0 {
                let (a, b) = mixed(k1, 0), (c, d) = mixed((6 - k1) % 6, 0)
                (re, im) = ((a + c) / 2, (b - d) / 2)
            } else if k2 <= 3 {
                (re, im) = mixed(k1, k2)
            } else {
                let (a, b) = mixed((6 - k1) % 6, 6 - k2)
                (re, im) = (a, -b)
            }
            let t = 2 * Double.pi * (Double(k1 * p) + Double(k2 * q)) / 6
            value += re * Foundation.cos(t) - im * Foundation.sin(t)
        } }
        value /= 36
        #expect(Swift.abs(y[0, o, p, q] - value) < 1e-12)
    }

    @Test func floatMathIsAccurate() throws {
        // The vectorizable Float exp, log, tanh, erf against Double libm.
        var worst = (exp: 0.0, log: 0.0, tanh: 0.0, erf: 0.0)
        for i in 0...20_000 {
            let x = -20 + 40 * Double(i) / 20_000
            let xf = Float(x), xd = Double(xf)
            worst.exp = max(worst.exp, Swift.abs(Double(Float._exp(xf)) - Foundation.exp(xd)) / Foundation.exp(xd))
            worst.tanh = max(worst.tanh, Swift.abs(Double(Float._tanh(xf)) - Foundation.tanh(xd)))
            worst.erf = max(worst.erf, Swift.abs(Double(Float._erf(xf)) - Foundation.erf(xd)))
            let pos = Float(Foundation.exp(x * 2))
            worst.log = max(worst.log, Swift.abs(Double(Float._log(pos)) - Foundation.log(Double(pos))) / max(1, Swift.abs(Foundation.log(Double(pos)))))
        }
        #expect(worst.exp < 3e-7, "exp \(worst.exp)")
        #expect(worst.log < 3e-7, "log \(worst.log)")
        #expect(worst.tanh < 3e-7, "tanh \(worst.tanh)")
        #expect(worst.erf < 3e-7, "erf \(worst.erf)")
        #expect(Float._exp(100) == .infinity && Float._exp(-100) == 0 && Float._exp(.nan).isNaN)
        #expect(Float._log(0) == -.infinity && Float._log(-1).isNaN && Float._log(.infinity) == .infinity)
        // Float GELU and softplus agree with the Double ones.
        let x = randomTensor([1000], seed: 13, low: -8, high: 8)
        for op in [UnaryOp.gelu, .softplus(beta: 2), .sigmoid, .tanh, .exp, .sin, .cos] {
            let scale = op == .exp ? Foundation.exp(8.0) : 1
            #expect(maxDifference(x.converted(to: Float.self).map(op).converted(to: Double.self), x.map(op)) < 2e-6 * scale, "\(op)")
        }
        let positive = randomTensor([1000], seed: 15, low: 1e-3, high: 100)
        #expect(maxDifference(positive.converted(to: Float.self).map(.log).converted(to: Double.self), positive.map(.log)) < 2e-6)
        // Float sine and cosine: the polynomial range (|x| < 8192, where the argument's own
        // rounding bounds the error at 8192·2⁻²⁴ ≈ 5e-4) and libm beyond, infinities and NaN.
        let wide = Tensor<Double>([-8191.5, -1000.25, -3.25, 1e-30, 0, 0.5, 2.5, 100.75, 8191.9, 8192, -8192, 1e5, -3e7, 1e30])
        for op in [UnaryOp.sin, .cos] {
            let wf = wide.converted(to: Float.self)
            let exact = wf.converted(to: Double.self).map(op)
            #expect(maxDifference(wf.map(op).converted(to: Double.self), exact) < 3e-7, "\(op)")
            let special = Tensor<Float>([.infinity, -.infinity, .nan]).map(op)
            #expect(special.scalars.allSatisfy { $0.isNaN }, "\(op) of ±∞ and NaN")
        }
        // Float gradients of the C kernels (GELU, softplus, sine, cosine) agree with Double.
        for op in [UnaryOp.gelu, .softplus(beta: 2), .sin, .cos] {
            let xd = Variable(x, requiresGradient: true), xf = Variable(x.converted(to: Float.self), requiresGradient: true)
            try xd.apply(op).sum().backward()
            try xf.apply(op).sum().backward()
            #expect(maxDifference(xf.grad!.converted(to: Double.self), xd.grad!) < 2e-6, "\(op)")
        }
    }

    /// The Float paths (sgemm, cgemm, fftwf, C element kernels) agree with Double on the
    /// same weights and inputs, values and gradients.
    @Test func floatLayersAgreeWithDouble() throws {
        var g1 = SeededGenerator(seed: 20), g2 = SeededGenerator(seed: 20)
        let sd = try SpectralConvolution<Double>(inChannels: 3, outChannels: 4, modes: [3, 2], generator: &g1)
        let sf = try SpectralConvolution<Float>(inChannels: 3, outChannels: 4, modes: [3, 2], generator: &g2)
        let cd = try Convolution<Double>(inChannels: 4, outChannels: 2, kernel: [3, 3], stride: [2, 1], padding: [1, 1], generator: &g1)
        let cf = try Convolution<Float>(inChannels: 4, outChannels: 2, kernel: [3, 3], stride: [2, 1], padding: [1, 1], generator: &g2)
        let x = randomTensor([3, 3, 8, 6], seed: 21)
        let xd = Variable(x, requiresGradient: true), xf = Variable(x.converted(to: Float.self), requiresGradient: true)
        let yd = try cd(try sd(xd).gelu()), yf = try cf(try sf(xf).gelu())
        #expect(maxDifference(yf.value.converted(to: Double.self), yd.value) < 1e-5)
        try yd.square().sum().backward()
        try yf.square().sum().backward()
        #expect(maxDifference(xf.grad!.converted(to: Double.self), xd.grad!) < 1e-4)
        #expect(maxDifference(sf.weight.grad!.converted(to: Double.self), sd.weight.grad!) < 1e-4 * max(1, sd.weight.grad!.maxAbs()))
    }

    @Test func badShapesAreTypedErrors() throws {
        var g = SeededGenerator(seed: 14)
        let conv = try Convolution<Float>(inChannels: 3, outChannels: 2, kernel: [3, 3], generator: &g)
        #expect(throws: LearningError.self) { _ = try conv(Variable(Tensor(zeros: [1, 2, 8, 8]))) }
        #expect(throws: LearningError.self) { _ = try conv(Variable(Tensor(zeros: [1, 3, 2, 8]))) }
        #expect(throws: LearningError.self) { _ = try Convolution<Float>(inChannels: 0, outChannels: 2, kernel: [3], generator: &g) }
        let lin = try Linear<Float>(inputs: 4, outputs: 2, generator: &g)
        #expect(throws: LearningError.self) { _ = try lin(Variable(Tensor(zeros: [3, 5]))) }
        #expect(throws: LearningError.self) { _ = try SpectralConvolution<Float>(inChannels: 2, outChannels: 2, modes: [5, 5], generator: &g)(Variable(Tensor(zeros: [1, 2, 8, 8]))) }
        do {
            _ = try lin(Variable(Tensor(zeros: [3, 5])))
        } catch let e as LearningError {
            #expect(e.description.contains("Linear(4 → 2)") && e.description.contains("[3, 5]"))
        }
    }
}
