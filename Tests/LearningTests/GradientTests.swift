import Foundation
import Testing
@testable import Learning

/// A finite-difference gradient check (Double) for every differentiable operation.
@Suite struct GradientTests {
    static let unaryOps: [UnaryOp] = [.negate, .relu, .leakyRelu(slope: 0.1), .gelu, .softplus(beta: 1), .softplus(beta: 3),
                                      .sigmoid, .tanh, .exp, .log, .square, .sqrt, .abs, .sin, .cos, .scale(-2.5),
                                      .shift(0.7), .power(1.5), .power(3), .reciprocal]

    @Test(arguments: GradientTests.unaryOps)
    func unary(op: UnaryOp) throws {
        // log, sqrt, power, reciprocal need positive inputs; kinks (relu, abs) are avoided
        // with high probability by the random values.
        let positive: Bool
        switch op {
        case .log, .sqrt, .power, .reciprocal: positive = true
        default: positive = false
        }
        let x = variable([3, 5], seed: 1, low: positive ? 0.3 : -2, high: 2)
        try checkGradients([x]) { x.apply(op) }
    }

    @Test(arguments: [BinaryOp.add, .subtract, .multiply, .divide, .maximum, .minimum])
    func binaryWithBroadcasting(op: BinaryOp) throws {
        let a = variable([2, 3, 4], seed: 2, low: 0.5, high: 2)
        let b = variable([3, 1], seed: 3, low: 0.5, high: 2)
        let c = variable([4], seed: 4, low: 0.5, high: 2)
        try checkGradients([a, b]) { try Variable.elementwise(op, a, b) }
        try checkGradients([a, c]) { try Variable.elementwise(op, c, a) }
        try checkGradients([a]) { try Variable.elementwise(op, a, a) }
    }

    @Test func scalarOperators() throws {
        let a = variable([4, 2], seed: 5, low: 0.5, high: 2)
        try checkGradients([a]) { (2.0 - a * 3.0 + 1.5) / 0.5 }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul(transposes: (Bool, Bool)) throws {
        let (ta, tb) = transposes
        let a = variable(ta ? [4, 3] : [3, 4], seed: 6), b = variable(tb ? [5, 4] : [4, 5], seed: 7)
        try checkGradients([a, b]) { try Variable.matmul(a, b, transposeA: ta, transposeB: tb) }
        // Batched, and batched against a shared right factor.
        let ab = variable(ta ? [2, 4, 3] : [2, 3, 4], seed: 8), bb = variable(tb ? [2, 5, 4] : [2, 4, 5], seed: 9)
        try checkGradients([ab, bb]) { try Variable.matmul(ab, bb, transposeA: ta, transposeB: tb) }
        try checkGradients([ab, b]) { try Variable.matmul(ab, b, transposeA: ta, transposeB: tb) }
        try checkGradients([a, bb]) { try Variable.matmul(a, bb, transposeA: ta, transposeB: tb) }
    }

    @Test func linear() throws {
        let x = variable([2, 3, 4], seed: 10), w = variable([5, 4], seed: 11), b = variable([5], seed: 12)
        try checkGradients([x, w, b]) { try Variable.linear(x, weight: w, bias: b) }
        let v = variable([4], seed: 13)
        try checkGradients([v, w, b]) { try Variable.linear(v, weight: w, bias: b) }
    }

    @Test func structure() throws {
        let x = variable([2, 3, 4], seed: 14)
        try checkGradients([x]) { try x.reshaped([4, -1]) }
        try checkGradients([x]) { try x.permuted([2, 0, 1]) }
        try checkGradients([x]) { try x.slice(lower: [0, 1, 1], sizes: [2, 2, 2]) }
        try checkGradients([x]) { try x.slice(axis: -1, 1..<3) }
        try checkGradients([x]) { try x.padded(lower: [0, 1, 2], upper: [1, 0, 1], value: 0.5) }
        try checkGradients([x]) { try x.cropped(lower: [0, 1, 1], upper: [1, 0, 2]) }
        try checkGradients([x]) { try x.gathered([2, 0, 2, 1], axis: 2) }
        try checkGradients([x]) { try x.slice(axis: 0, 0..<1).broadcast(to: [3, 3, 4]) }
        let y = variable([2, 1, 4], seed: 15)
        try checkGradients([x, y]) { try Variable.concatenate([x, y, x], axis: 1) }
        let m = variable([3, 2], seed: 16)
        try checkGradients([m]) { try m.transposed() }
        try checkGradients([x]) { try x.flattened(from: 1) }
    }

    @Test func reductions() throws {
        let x = variable([2, 3, 4], seed: 17)
        try checkGradients([x]) { x.sum() }
        try checkGradients([x]) { x.mean() }
        try checkGradients([x]) { try x.sum(alongAxes: [0, 2]) }
        try checkGradients([x]) { try x.sum(alongAxes: [1], keepingDimensions: true) }
        try checkGradients([x]) { try x.mean(alongAxes: [-1]) }
        try checkGradients([x]) { x.squaredNorm() }
        try checkGradients([x]) { x.norm() }
    }

    @Test(arguments: [1, 2, 3])
    func convolution(dimensions d: Int) throws {
        let spatial = [7, 6, 5].prefix(d).map { $0 }
        let kernel = [3, 2, 3].prefix(d).map { $0 }
        let x = variable([2, 3] + spatial, seed: 20), w = variable([4, 3] + kernel, seed: 21), b = variable([4], seed: 22)
        // Stride 1 without padding, then stride 2 with padding 1.
        try checkGradients([x, w, b]) { try Variable.convolution(x, weight: w, bias: b) }
        let s = [Int](repeating: 2, count: d), p = [Int](repeating: 1, count: d)
        try checkGradients([x, w, b]) { try Variable.convolution(x, weight: w, bias: b, stride: s, padding: p) }
        // Pointwise (1×1) path.
        let w1 = variable([4, 3] + [Int](repeating: 1, count: d), seed: 23)
        try checkGradients([x, w1]) { try Variable.convolution(x, weight: w1) }
    }

    @Test(arguments: [1, 2, 3])
    func transposedConvolution(dimensions d: Int) throws {
        let spatial = [4, 3, 3].prefix(d).map { $0 }
        let kernel = [3, 2, 3].prefix(d).map { $0 }
        let x = variable([2, 3] + spatial, seed: 24), w = variable([3, 2] + kernel, seed: 25), b = variable([2], seed: 26)
        try checkGradients([x, w, b]) { try Variable.transposedConvolution(x, weight: w, bias: b) }
        let s = [Int](repeating: 2, count: d), p = [Int](repeating: 1, count: d), op = [Int](repeating: 1, count: d)
        try checkGradients([x, w, b]) { try Variable.transposedConvolution(x, weight: w, bias: b, stride: s, padding: p, outputPadding: op) }
    }

    @Test(arguments: [1, 2, 3])
    func poolingAndUpsampling(dimensions d: Int) throws {
        let x = variable([2, 2] + [4, 6, 2].prefix(d).map { $0 }, seed: 27)
        try checkGradients([x]) { try x.averagePooled(kernel: [2, 3, 2].prefix(d).map { $0 }) }
        let factor = [2, 3, 2].prefix(d).map { $0 }
        try checkGradients([x]) { try x.upsampled(factor: factor, mode: .nearest) }
        try checkGradients([x]) { try x.upsampled(factor: factor, mode: .linear) }
        try checkGradients([x]) { try x.upsampled(to: [5, 7, 3].prefix(d).map { $0 }, mode: .linear) }
    }

    @Test(arguments: [[8], [7], [6, 5], [5, 6], [4, 3, 6], [3, 4, 5]])
    func fourierTransforms(sizes: [Int]) throws {
        let d = sizes.count
        let x = variable([2] + sizes, seed: 28)
        try checkGradients([x]) { try x.rfft(dimensions: d) }
        let spec = FFT.spectrumShape([2] + sizes, dimensions: d)
        let s = variable(spec, seed: 29)
        try checkGradients([s]) { try s.irfft(dimensions: d, lastSize: sizes[d - 1]) }
        try checkGradients([x]) { try x.rfft(dimensions: d).irfft(dimensions: d, lastSize: sizes[d - 1]).square() }
    }

    @Test func lowModesAndComplexMix() throws {
        let s = variable([2, 3, 8, 5, 2], seed: 30)
        try checkGradients([s]) { try s.lowModes([2, 3]) }
        let low = variable([2, 3, 4, 3, 2], seed: 31)
        try checkGradients([low]) { try low.embeddingLowModes(spectral: [8, 5]) }
        let w = variable([3, 4, 4, 3, 2], seed: 32)
        try checkGradients([low, w]) { try Variable.complexMix(low, w) }
    }

    /// The fused rfft+lowModes and embedding+irfft agree with the compositions, by FFTs and
    /// by dense DFT products, including odd sizes, a kept Nyquist column and all modes of an
    /// axis, and have correct gradients.
    static let spectralCases: [([Int], [Int])] = [([8], [5]), ([7], [3]), ([6, 8], [2, 5]), ([5, 7], [2, 2]), ([6, 5], [3, 3]),
                                                  ([4, 6, 6], [2, 1, 4]), ([4, 5, 6], [1, 2, 2])]
    static let methods: [LowModeTransform] = [.fft, .dft]

    @Test(arguments: spectralCases, methods)
    func fusedSpectralOps(_ shape: ([Int], [Int]), method: LowModeTransform) throws {
        let (sizes, modes) = shape
        let d = sizes.count
        let x = variable([2] + sizes, seed: 40)
        let fused = try x.rfftLowModes(modes, method: method), composed = try x.rfft(dimensions: d).lowModes(modes)
        #expect(maxDifference(fused.value, composed.value) < 1e-13)
        try checkGradients([x]) { try x.rfftLowModes(modes, method: method) }
        let low = variable(fused.shape, seed: 41)
        var spectral = sizes
        spectral[d - 1] = sizes[d - 1] / 2 + 1
        let a = try low.irfftFromLowModes(spatial: sizes, method: method)
        let b = try low.embeddingLowModes(spectral: spectral).irfft(dimensions: d, lastSize: sizes[d - 1])
        #expect(maxDifference(a.value, b.value) < 1e-14)
        try checkGradients([low]) { try low.irfftFromLowModes(spatial: sizes, method: method) }
    }

    /// In single precision the two methods agree to float rounding on an FNO-sized grid with
    /// a prime factor (85 = 5 · 17), and to a finer output grid (the resolution change of a
    /// spectral convolution).
    @Test func lowModeMethodsAgreeInFloat() throws {
        var g = SeededGenerator(seed: 42)
        let x = Variable(Tensor<Float>.randomNormal(shape: [2, 3, 85, 85], generator: &g))
        let fft = try x.rfftLowModes([6, 7], method: .fft), dft = try x.rfftLowModes([6, 7], method: .dft)
        let scale = fft.value.scalars.map { abs($0) }.max()!
        #expect(zip(fft.value.scalars, dft.value.scalars).map { abs($0 - $1) }.max()! < 1e-5 * scale)
        for out in [[85, 85], [170, 170], [85, 96]] {
            let a = try fft.irfftFromLowModes(spatial: out, method: .fft), b = try fft.irfftFromLowModes(spatial: out, method: .dft)
            let s = a.value.scalars.map { abs($0) }.max()!
            #expect(zip(a.value.scalars, b.value.scalars).map { abs($0 - $1) }.max()! < 1e-5 * s)
        }
    }

    @Test(arguments: [1, 2, 3])
    func spectralConvolutionLayer(dimensions d: Int) throws {
        var g = SeededGenerator(seed: 33)
        let modes = [2, 2, 2].prefix(d).map { $0 }
        let layer = try SpectralConvolution<Double>(inChannels: 2, outChannels: 3, modes: modes, generator: &g)
        let x = variable([2, 2] + [6, 5, 4].prefix(d).map { $0 }, seed: 34)
        try checkGradients([x, layer.weight]) { try layer(x) }
    }

    @Test func compositeModules() throws {
        var g = SeededGenerator(seed: 35)
        // MLP.
        let mlp = try MLP<Double>(sizes: [3, 8, 8, 2], activation: .tanh, generator: &g)
        let x = variable([5, 3], seed: 36)
        try checkGradients([x] + mlp.parameters()) { try mlp(x) }
        // Conv net with a residual block and layer norm over channels-last features.
        let conv1 = try Convolution<Double>(inChannels: 2, outChannels: 4, kernel: [3, 3], padding: [1, 1], generator: &g)
        let conv2 = try Convolution<Double>(inChannels: 4, outChannels: 4, kernel: [3, 3], padding: [1, 1], generator: &g)
        let net = Sequential<Double>([conv1, Activation(.gelu), Residual(Sequential([conv2, Activation(.softplus(beta: 2))]))])
        let img = variable([2, 2, 5, 6], seed: 37)
        try checkGradients([img] + net.parameters()) { try net(img) }
        let norm = try LayerNorm<Double>(features: 6)
        try checkGradients([img] + norm.parameters()) { try norm(img) }
        // An FNO-like block: spectral convolution + pointwise convolution, GELU.
        let spectral = try SpectralConvolution<Double>(inChannels: 4, outChannels: 4, modes: [2, 2], generator: &g)
        let pointwise = try Convolution<Double>(inChannels: 4, outChannels: 4, kernel: [1, 1], generator: &g)
        let h = variable([2, 4, 6, 6], seed: 38)
        try checkGradients([h] + spectral.parameters() + pointwise.parameters()) { (try spectral(h) + pointwise(h)).gelu() }
    }

    @Test func gradientsAccumulateAndDetachStopsThem() throws {
        let x = variable([3], seed: 39)
        try (x * x).sum().backward()
        let once = x.grad!
        try (x * x).sum().backward()
        #expect(maxDifference(x.grad!, once * 2) < 1e-15)
        x.zeroGradient()
        try (x * x.detached()).sum().backward()
        #expect(maxDifference(x.grad!, x.value) < 1e-15)
        // No recording inside withoutGradient.
        let y = Autodiff.withoutGradient { x.square() }
        #expect(!y.requiresGradient)
        #expect(throws: LearningError.self) { try y.sum().backward() }
        // A non-scalar result needs a seed of its own shape.
        #expect(throws: LearningError.self) { try x.square().backward() }
        #expect(throws: LearningError.self) { try x.square().backward(seed: Tensor(zeros: [2])) }
    }
}

extension UnaryOp: CustomTestStringConvertible {
    public var testDescription: String { "\(self)" }
}

/// The maximum/minimum VJP finds the selected input by comparison, so a selected ±∞ gets
/// its gradient (subtracting ∞ − ∞ used to send it to the other input).
@Suite struct ExtremumGradientTests {
    @Test func maximumAtInfinitySendsTheGradientToTheSelectedInput() throws {
        let a = Variable(Tensor<Double>([.infinity, 1, -2]), requiresGradient: true)
        let b = Variable(Tensor<Double>([1, 5, -.infinity]), requiresGradient: true)
        try Variable.maximum(a, b).sum().backward()
        #expect(a.grad!.scalars == [1, 0, 1])
        #expect(b.grad!.scalars == [0, 1, 0])
        let c = Variable(Tensor<Double>([-.infinity, 3]), requiresGradient: true)
        let d = Variable(Tensor<Double>([0, 3]), requiresGradient: true)
        try Variable.minimum(c, d).sum().backward()
        #expect(c.grad!.scalars == [1, 1])   // ties go to the first input
        #expect(d.grad!.scalars == [0, 0])
    }
}
