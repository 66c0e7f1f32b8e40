import Learning

/// One Fourier layer of a Fourier neural operator (Li et al. 2021): the sum of a spectral
/// convolution on the low modes and a pointwise (kernel-1) convolution of the same input,
/// `spectral(x) + pointwise(x)`, channels `width → width`. The activation is applied by
/// `FourierBlocks`, between blocks.
public final class FourierBlock<T: TensorScalar>: Layer {
    /// The spectral convolution (weight `[width, width, 2m₁…, m_d, 2]`).
    public let spectral: SpectralConvolution<T>
    /// The 1×1 (1-, 2- or 3-D) convolution with bias: the local linear skip.
    public let pointwise: Convolution<T>

    /// A block of `width` channels keeping `modes[a]` Fourier modes per spatial axis (1–3
    /// axes). Throws `LearningError.invalidArgument` on sizes below 1 or more than 3 axes.
    public init(width: Int, modes: [Int], generator g: inout SeededGenerator) throws {
        spectral = try SpectralConvolution(inChannels: width, outChannels: width, modes: modes, generator: &g)
        pointwise = try Convolution(inChannels: width, outChannels: width, kernel: [Int](repeating: 1, count: modes.count), generator: &g)
    }

    /// `spectral(x) + pointwise(x)` for `x` of shape `[B, width, spatial…]`; the output has
    /// the input's shape, whatever its resolution. Throws `LearningError.shapeMismatch` on
    /// another channel count or number of spatial axes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try spectral(x) + pointwise(x)
    }
}

/// The stack of Fourier layers at the heart of an FNO (neuraloperator's `FNOBlocks`, and
/// the `fno4` case of `pde-bench learning`): `x ← GELU(spectral(x) + pointwise(x))` per
/// block, with no GELU after the last block. The lifting and projection layers of a full
/// FNO are not part of it.
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
    public init(width: Int, modes: [Int], layers: Int, generator g: inout SeededGenerator) throws {
        guard layers >= 1 else {
            throw LearningError.invalidArgument(name: "FourierBlocks layers", value: "\(layers)", expected: "at least 1 block")
        }
        var blocks: [FourierBlock<T>] = []
        for _ in 0..<layers { blocks.append(try FourierBlock(width: width, modes: modes, generator: &g)) }
        self.blocks = blocks
    }

    /// Applies the blocks to `x` of shape `[B, width, spatial…]`, GELU between them; the
    /// output has the input's shape. Throws `LearningError.shapeMismatch` on another
    /// channel count or number of spatial axes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        var h = x
        for (i, block) in blocks.enumerated() {
            h = try block(h)
            if i < blocks.count - 1 { h = h.gelu() }
        }
        return h
    }
}
