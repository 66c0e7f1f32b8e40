import Learning

/// How the layers of a Fourier neural operator are arranged: the paper's (Li et al. 2021,
/// `fourier_2d.py`) or neuraloperator's `FNO` with its defaults (library version 2.0), so
/// that weights trained with that library load into the same computation.
public enum FNOStyle: String, Codable, Sendable, CaseIterable {
    /// Block `spectral(x) + pointwise(x)` (pointwise with bias), GELU between blocks; a
    /// single pointwise lifting; coordinates i/(n − 1).
    case paper
    /// Block `h = GELU(spectral(x) + b + skip(x))` (skip without bias, b the spectral
    /// convolution's bias), then `GELU(mlp(h) + g ⊙ x)` (a two-layer channel MLP of half
    /// width with GELU, and a soft-gating skip g of the block input), no GELU in the last
    /// block; a two-layer lifting MLP; coordinates i/n.
    case neuraloperator
}

/// One Fourier layer of a Fourier neural operator (Li et al. 2021). In the paper's style the
/// sum of a spectral convolution on the low modes and a pointwise (kernel-1) convolution of
/// the same input, `spectral(x) + pointwise(x)`, channels `width → width`, the activation
/// applied by `FourierBlocks` between blocks; in neuraloperator's style with the spectral
/// bias, channel MLP and soft gating of `FNOStyle.neuraloperator`.
public final class FourierBlock<T: TensorScalar>: Layer {
    /// The spectral convolution (weight `[width, width, 2m₁…, m_d, 2]`).
    public let spectral: SpectralConvolution<T>
    /// The 1×1 (1-, 2- or 3-D) convolution: the local linear skip (with bias in the paper's
    /// style, without in neuraloperator's).
    public let pointwise: Convolution<T>
    /// neuraloperator: the spectral convolution's bias `[width, 1…]`, added after it.
    public let spectralBias: Variable<T>?
    /// neuraloperator: the channel MLP, width → width/2 (GELU) → width, 1×1 convolutions.
    public let mlpIn: Convolution<T>?, mlpOut: Convolution<T>?
    /// neuraloperator: the soft-gating weights `[1, width, 1…]` of the MLP's skip.
    public let gate: Variable<T>?
    /// The arrangement.
    public let style: FNOStyle

    /// A block of `width` channels keeping `modes[a]` Fourier modes per spatial axis (1–3
    /// axes). Throws `LearningError.invalidArgument` on sizes below 1 or more than 3 axes.
    public init(width: Int, modes: [Int], style: FNOStyle = .paper, generator g: inout SeededGenerator) throws {
        self.style = style
        let d = modes.count
        let ones = [Int](repeating: 1, count: d)
        spectral = try SpectralConvolution(inChannels: width, outChannels: width, modes: modes, generator: &g)
        pointwise = try Convolution(inChannels: width, outChannels: width, kernel: ones, bias: style == .paper, generator: &g)
        if style == .neuraloperator {
            let hidden = max(1, Int((Double(width) * 0.5).rounded()))
            spectralBias = Variable(Tensor(zeros: [width] + ones), requiresGradient: true)
            mlpIn = try Convolution(inChannels: width, outChannels: hidden, kernel: ones, generator: &g)
            mlpOut = try Convolution(inChannels: hidden, outChannels: width, kernel: ones, generator: &g)
            gate = Variable(Tensor(repeating: 1, shape: [1, width] + ones), requiresGradient: true)
        } else {
            (spectralBias, mlpIn, mlpOut, gate) = (nil, nil, nil, nil)
        }
    }

    /// The paper's block: `spectral(x) + pointwise(x)` for `x` of shape `[B, width, spatial…]`;
    /// the output has the input's shape, whatever its resolution. (In neuraloperator's style,
    /// the block with its inner activations, as in a middle layer.) Throws
    /// `LearningError.shapeMismatch` on another channel count or number of spatial axes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try callAsFunction(x, last: false)
    }

    /// The block, `last` leaving out the activations of neuraloperator's last layer.
    public func callAsFunction(_ x: Variable<T>, last: Bool) throws -> Variable<T> {
        guard style == .neuraloperator, let bias = spectralBias, let mlpIn, let mlpOut, let gate else {
            return try spectral(x) + pointwise(x)
        }
        var h = try spectral(x) + bias + pointwise(x)
        if !last { h = h.gelu() }
        h = try mlpOut(try mlpIn(h).gelu()) + gate * x
        return last ? h : h.gelu()
    }
}

/// The stack of Fourier layers at the heart of an FNO (neuraloperator's `FNOBlocks`, and
/// the `fno4` case of `pde-bench learning`): in the paper's style
/// `x ← GELU(spectral(x) + pointwise(x))` per block, with no GELU after the last block; in
/// neuraloperator's style its blocks (see `FNOStyle`). The lifting and projection layers of
/// a full FNO are not part of it.
///
/// The weights act on Fourier modes and single points, so the same stack applies at any
/// resolution with at least `2·modes[a]` points along every spatial axis but the last, and
/// at least `modes` frequencies (N/2 + 1) along the last: with 4 modes, `[B, width, 16, 16]`
/// and `[B, width, 32, 32]` both work.
/// Parameters are named as in PyTorch state dicts: `blocks.0.spectral.weight`,
/// `blocks.0.pointwise.weight`, `blocks.0.pointwise.bias`, `blocks.1.spectral.weight`, ….
public final class FourierBlocks<T: TensorScalar>: Layer {
    /// The blocks, applied in order.
    public let blocks: [FourierBlock<T>]

    /// `layers` blocks of `width` channels keeping `modes[a]` modes along spatial axis `a`
    /// (1–3 axes). Throws `LearningError.invalidArgument` when `layers`, `width` or a mode
    /// count is below 1, or `modes` has more than 3 entries.
    public init(width: Int, modes: [Int], layers: Int, style: FNOStyle = .paper, generator g: inout SeededGenerator) throws {
        guard layers >= 1 else {
            throw LearningError.invalidArgument(name: "FourierBlocks layers", value: "\(layers)", expected: "at least 1 block")
        }
        var blocks: [FourierBlock<T>] = []
        for _ in 0..<layers { blocks.append(try FourierBlock(width: width, modes: modes, style: style, generator: &g)) }
        self.blocks = blocks
    }

    /// Applies the blocks to `x` of shape `[B, width, spatial…]`, GELU between them; the
    /// output has the input's shape. Throws `LearningError.shapeMismatch` on another
    /// channel count or number of spatial axes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        var h = x
        for (i, block) in blocks.enumerated() {
            let last = i == blocks.count - 1
            if block.style == .neuraloperator {
                h = try block(h, last: last)
            } else {
                h = try block(h)
                if !last { h = h.gelu() }
            }
        }
        return h
    }
}
