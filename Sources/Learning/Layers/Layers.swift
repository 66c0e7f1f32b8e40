import Foundation

/// Weight initializers (PyTorch's defaults where a layer has one).
public enum Initializer: Sendable {
    /// U(−b, b) with b = 1/√fanIn: what PyTorch's `kaiming_uniform_(a=√5)` reduces to, the
    /// default of its Linear and Conv layers (weights and biases).
    case pytorchDefault(fanIn: Int)
    /// U(−b, b), b = √(6/(fanIn + fanOut)).
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// N(0, 2/fanIn) (He).
    case kaimingNormal(fanIn: Int)
    case normal(standardDeviation: Double)
    case uniform(low: Double, high: Double)
    case constant(Double)

    /// A tensor of `shape` drawn from this distribution with `g` (sampled in Double, then
    /// rounded to `T`; `constant` draws nothing).
    public func tensor<T: TensorScalar>(_ shape: [Int], generator g: inout SeededGenerator) -> Tensor<T> {
        switch self {
        case .pytorchDefault(let fanIn):
            let b = 1 / Foundation.sqrt(Double(max(1, fanIn)))
            return .randomUniform(shape: shape, low: -b, high: b, generator: &g)
        case .xavierUniform(let fi, let fo):
            let b = Foundation.sqrt(6 / Double(max(1, fi + fo)))
            return .randomUniform(shape: shape, low: -b, high: b, generator: &g)
        case .kaimingNormal(let fanIn):
            return .randomNormal(shape: shape, standardDeviation: Foundation.sqrt(2 / Double(max(1, fanIn))), generator: &g)
        case .normal(let s):
            return .randomNormal(shape: shape, standardDeviation: s, generator: &g)
        case .uniform(let lo, let hi):
            return .randomUniform(shape: shape, low: lo, high: hi, generator: &g)
        case .constant(let c):
            return Tensor(repeating: T(c), shape: shape)
        }
    }
}

func checkPositive(_ values: [Int], _ name: String) throws {
    guard values.allSatisfy({ $0 >= 1 }) else {
        throw LearningError.invalidArgument(name: name, value: "\(values)", expected: "sizes ≥ 1")
    }
}

/// y = x Wᵀ + b over the last axis; W [out, in], b [out].
public final class Linear<T: TensorScalar>: Layer {
    /// [outputs, inputs] (PyTorch's layout), trainable.
    public let weight: Variable<T>
    /// [outputs], trainable; nil without bias.
    public let bias: Variable<T>?

    /// Weight and bias drawn from U(−1/√inputs, 1/√inputs), as PyTorch's `nn.Linear`. Throws
    /// `LearningError.invalidArgument` for sizes below 1.
    public init(inputs: Int, outputs: Int, bias: Bool = true, generator g: inout SeededGenerator) throws {
        try checkPositive([inputs, outputs], "Linear sizes")
        weight = Variable(Initializer.pytorchDefault(fanIn: inputs).tensor([outputs, inputs], generator: &g), requiresGradient: true)
        self.bias = bias ? Variable(Initializer.pytorchDefault(fanIn: inputs).tensor([outputs], generator: &g), requiresGradient: true) : nil
    }

    /// x [..., inputs] → [..., outputs] (a rank-1 x is one sample), through one GEMM.
    /// Throws `LearningError.shapeMismatch` on another last dimension.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        guard x.shape.last == weight.shape[1] else {
            throw LearningError.shapeMismatch(operation: "Linear(\(weight.shape[1]) → \(weight.shape[0]))",
                                              expected: "input [..., \(weight.shape[1])]", got: shapeString(x.shape))
        }
        return try Variable.linear(x, weight: weight, bias: bias)
    }
}

/// 1-, 2- or 3-D convolution (the number of kernel sizes decides), PyTorch's ConvNd.
public final class Convolution<T: TensorScalar>: Layer {
    /// [outChannels, inChannels, K…], trainable.
    public let weight: Variable<T>
    /// [outChannels], trainable; nil without bias.
    public let bias: Variable<T>?
    /// Per spatial axis.
    public let stride: [Int]
    /// Zeros added on both sides, per spatial axis.
    public let padding: [Int]

    /// Weight and bias drawn from U(−b, b), b = 1/√(inChannels·ΠK) (PyTorch's default); stride
    /// 1 and padding 0 per axis unless given. Throws `LearningError.invalidArgument` for sizes
    /// below 1, other than 1–3 kernel axes, or stride / padding counts or values that do not fit.
    public init(inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int]? = nil, padding: [Int]? = nil,
                bias: Bool = true, generator g: inout SeededGenerator) throws {
        try checkPositive([inChannels, outChannels] + kernel, "Convolution channels and kernel")
        guard (1...3).contains(kernel.count) else {
            throw LearningError.invalidArgument(name: "Convolution kernel", value: "\(kernel)", expected: "1 to 3 sizes")
        }
        let fanIn = inChannels * kernel.reduce(1, *)
        weight = Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor([outChannels, inChannels] + kernel, generator: &g), requiresGradient: true)
        self.bias = bias ? Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor([outChannels], generator: &g), requiresGradient: true) : nil
        self.stride = stride ?? [Int](repeating: 1, count: kernel.count)
        self.padding = padding ?? [Int](repeating: 0, count: kernel.count)
        _ = try ConvGeometry(spatial: kernel, kernel: kernel, stride: self.stride, padding: self.padding)
    }

    /// x [B, inChannels, S…] → [B, outChannels, O…], O = ⌊(S + 2p − K)/s⌋ + 1 (im2col + GEMM).
    /// Throws `LearningError.shapeMismatch` on another channel or axis count, or an input
    /// smaller than the kernel.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try Variable.convolution(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// Transposed convolution (PyTorch's ConvTransposeNd): weight [in, out, K…].
public final class TransposedConvolution<T: TensorScalar>: Layer {
    /// [inChannels, outChannels, K…] (PyTorch's ConvTranspose layout), trainable.
    public let weight: Variable<T>
    /// [outChannels], trainable; nil without bias.
    public let bias: Variable<T>?
    /// Per spatial axis (the up-sampling factor).
    public let stride: [Int]
    /// Removed from both sides of each output axis, as PyTorch's `padding`.
    public let padding: [Int]
    /// Added to one side of each output axis (0 ≤ outputPadding < stride), as PyTorch's
    /// `output_padding`.
    public let outputPadding: [Int]

    /// Weight and bias drawn from U(−b, b), b = 1/√(outChannels·ΠK) (PyTorch's fan-in for
    /// ConvTranspose); stride 1, paddings 0 unless given. Throws `LearningError.invalidArgument`
    /// for sizes below 1 or other than 1–3 kernel axes (stride and paddings are checked per call).
    public init(inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int]? = nil, padding: [Int]? = nil,
                outputPadding: [Int]? = nil, bias: Bool = true, generator g: inout SeededGenerator) throws {
        try checkPositive([inChannels, outChannels] + kernel, "TransposedConvolution channels and kernel")
        guard (1...3).contains(kernel.count) else {
            throw LearningError.invalidArgument(name: "TransposedConvolution kernel", value: "\(kernel)", expected: "1 to 3 sizes")
        }
        let fanIn = outChannels * kernel.reduce(1, *)
        weight = Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor([inChannels, outChannels] + kernel, generator: &g), requiresGradient: true)
        self.bias = bias ? Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor([outChannels], generator: &g), requiresGradient: true) : nil
        self.stride = stride ?? [Int](repeating: 1, count: kernel.count)
        self.padding = padding ?? [Int](repeating: 0, count: kernel.count)
        self.outputPadding = outputPadding ?? [Int](repeating: 0, count: kernel.count)
    }

    /// x [B, inChannels, S…] → [B, outChannels, (S − 1)·s − 2p + K + outputPadding…]. Throws
    /// `LearningError.shapeMismatch` on another channel or axis count, `invalidArgument` on
    /// stride / padding counts or outputPadding ≥ stride.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try Variable.transposedConvolution(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }
}

/// The spectral convolution of a Fourier neural operator (Li et al. 2021) in 1–3 spatial
/// dimensions: rfft over the spatial axes, a learned complex channel mix on the kept low
/// modes (along every full axis the lowest `modes[a]` non-negative and negative
/// frequencies, along the half axis the lowest `modes[d−1]`), zero elsewhere, inverse
/// rfft. Weight [Cin, Cout, 2m₁…2m_{d−1}, m_d, 2] (re, im), initialized as the reference
/// implementation: U(0, 1)/(Cin·Cout).
public final class SpectralConvolution<T: TensorScalar>: Layer {
    /// Complex mode weights [Cin, Cout, 2m₁…2m_{d−1}, m_d, 2] (re, im), trainable.
    public let weight: Variable<T>
    /// Modes kept per spatial axis (the last one counts half-axis frequencies).
    public let modes: [Int]

    /// `modes` has one count per spatial axis (1–3). Throws `LearningError.invalidArgument` for
    /// sizes below 1 or more than 3 mode counts.
    public init(inChannels: Int, outChannels: Int, modes: [Int], generator g: inout SeededGenerator) throws {
        try checkPositive([inChannels, outChannels] + modes, "SpectralConvolution channels and modes")
        guard (1...3).contains(modes.count) else {
            throw LearningError.invalidArgument(name: "SpectralConvolution modes", value: "\(modes)", expected: "1 to 3 mode counts")
        }
        self.modes = modes
        let d = modes.count
        let modeShape = (0..<d).map { $0 < d - 1 ? 2 * modes[$0] : modes[$0] }
        let scale = 1 / Double(inChannels * outChannels)
        weight = Variable(Initializer.uniform(low: 0, high: scale).tensor([inChannels, outChannels] + modeShape + [2], generator: &g),
                          requiresGradient: true)
    }

    /// x [B, Cin, N₁…N_d] → [B, Cout, N₁…N_d] at any resolution with 2·modes[a] ≤ N_a on all
    /// axes but the last and modes[d−1] ≤ N_d/2 + 1: FFTW rfft, `complexMix`, inverse rfft,
    /// all with VJPs. Throws
    /// `LearningError.shapeMismatch` on another channel or axis count, `invalidArgument` on a
    /// grid too coarse for the modes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try callAsFunction(x, outputSizes: Array(x.shape.dropFirst(2)))
    }

    /// The same map onto a grid of other sizes `outputSizes` (the kept modes zero-padded or
    /// truncated by the inverse transform, as `irfftn(…, s=…)` does): how a spatio-temporal
    /// operator maps 10 input frames to 40 output frames. Throws as `callAsFunction(_:)`,
    /// and for output sizes too coarse for the modes.
    public func callAsFunction(_ x: Variable<T>, outputSizes: [Int]) throws -> Variable<T> {
        let d = modes.count
        guard x.shape.count == d + 2, x.shape[1] == weight.shape[0], outputSizes.count == d else {
            throw LearningError.shapeMismatch(operation: "SpectralConvolution", expected: "input [B, \(weight.shape[0]), \(d) spatial axes] and \(d) output sizes",
                                              got: shapeString(x.shape) + " → \(outputSizes)")
        }
        let mixed = try Variable.complexMix(try x.rfftLowModes(modes), weight)
        return try mixed.irfftFromLowModes(spatial: outputSizes)
    }
}

/// A multilayer perceptron: Linear layers with an activation between them (none after the
/// last unless `finalActivation`).
public final class MLP<T: TensorScalar>: Layer {
    /// The Linear layers in order (parameters `layers.0.weight`, `layers.0.bias`, …).
    public let layers: [Linear<T>]
    /// Applied after every layer but the last.
    public let activation: UnaryOp
    /// Applied after the last layer when set.
    public let finalActivation: UnaryOp?

    /// Linear layers sizes[0] → sizes[1] → … → sizes.last (PyTorch's initialization). Throws
    /// `LearningError.invalidArgument` for fewer than two sizes or a size below 1.
    public init(sizes: [Int], activation: UnaryOp = .gelu, finalActivation: UnaryOp? = nil, generator g: inout SeededGenerator) throws {
        guard sizes.count >= 2 else {
            throw LearningError.invalidArgument(name: "MLP sizes", value: "\(sizes)", expected: "at least an input and an output size")
        }
        var ls: [Linear<T>] = []
        for i in 0..<(sizes.count - 1) { ls.append(try Linear(inputs: sizes[i], outputs: sizes[i + 1], generator: &g)) }
        layers = ls
        self.activation = activation
        self.finalActivation = finalActivation
    }

    /// x [..., sizes.first] → [..., sizes.last]; throws `LearningError.shapeMismatch` on
    /// another last dimension.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        var y = x
        for (i, l) in layers.enumerated() {
            y = try l(y)
            if i < layers.count - 1 { y = y.apply(activation) } else if let f = finalActivation { y = y.apply(f) }
        }
        return y
    }
}

/// Layer normalization over the last axis: (x − mean)/√(var + ε) · γ + β.
public final class LayerNorm<T: TensorScalar>: Layer {
    /// γ [features], trainable, initially 1.
    public let gain: Variable<T>
    /// β [features], trainable, initially 0.
    public let offset: Variable<T>
    /// ε added to the variance before the square root.
    public let epsilon: Double

    /// γ = 1 and β = 0 of shape [features]; throws `LearningError.invalidArgument` for
    /// features < 1.
    public init(features: Int, epsilon: Double = 1e-5) throws {
        try checkPositive([features], "LayerNorm features")
        gain = Variable(Tensor(repeating: 1, shape: [features]), requiresGradient: true)
        offset = Variable(Tensor(zeros: [features]), requiresGradient: true)
        self.epsilon = epsilon
    }

    /// Normalizes x [..., features] over its last axis (biased variance, as PyTorch), then
    /// scales by γ and shifts by β. Throws `LearningError.shapeMismatch` on another last
    /// dimension.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        guard x.shape.last == gain.shape[0] else {
            throw LearningError.shapeMismatch(operation: "LayerNorm(\(gain.shape[0]))", expected: "input [..., \(gain.shape[0])]", got: shapeString(x.shape))
        }
        let axis = x.shape.count - 1
        let centered = try x - x.mean(alongAxes: [axis], keepingDimensions: true)
        let variance = try centered.square().mean(alongAxes: [axis], keepingDimensions: true)
        let normalized = try centered * (variance + T(epsilon)).pow(-0.5)
        return try normalized * gain + offset
    }
}
