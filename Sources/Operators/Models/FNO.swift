import Foundation
import Learning

/// The settings of a Fourier neural operator (`FNO`), as a config or a checkpoint stores
/// them. Defaults are the FNO paper's Darcy model (`fourier_2d.py`): width 32, 4 Fourier
/// layers, projection width 128, (x, y) appended to the input.
public struct FNOConfiguration: Codable, Equatable, Sendable {
    /// Input channels of the data (the grid coordinates are added on top when
    /// `gridCoordinates`).
    public var inChannels: Int
    /// Output channels.
    public var outChannels: Int
    /// Fourier modes kept per spatial axis (1–3 axes; its count is the dimension). Along
    /// every axis but the last, the lowest `modes[a]` non-negative and negative frequencies;
    /// along the last (the rfft half axis), the lowest `modes[d − 1]` — the paper's
    /// convention (`modes = 12` keeps −12…11 × 0…11 in 2-D).
    public var modes: [Int]
    /// Channels of the Fourier layers.
    public var width: Int
    /// Number of Fourier layers.
    public var layers: Int
    /// Hidden channels of the two-layer pointwise projection.
    public var projectionWidth: Int
    /// Zero padding appended after each spatial axis, as a fraction of its size (at least
    /// ⌈f·n⌉ points, up to an FFT-friendly size: see `paddingPoints`; the paper's 9 points at
    /// n = 85 is f ≈ 0.1). A fraction rather than a count,
    /// so that evaluation at another resolution pads the same physical length
    /// (neuraloperator #72). 0 for periodic problems.
    public var padding: [Double]
    /// Append the coordinates of the nodes to the input channels, as the paper does (in
    /// [0, 1], i/(n − 1); neuraloperator's style: i/n).
    public var gridCoordinates: Bool
    /// The arrangement of the layers (`FNOStyle`): the paper's, or neuraloperator's.
    public var style: FNOStyle
    /// Hidden channels of a two-layer lifting (input → liftingWidth → GELU → width), as
    /// neuraloperator has (2·width); nil: the paper's single pointwise lifting.
    public var liftingWidth: Int?

    /// The dimension is `modes.count`; `padding` defaults to none.
    public init(inChannels: Int = 1, outChannels: Int = 1, modes: [Int], width: Int = 32, layers: Int = 4,
                projectionWidth: Int = 128, padding: [Double]? = nil, gridCoordinates: Bool = true,
                style: FNOStyle = .paper, liftingWidth: Int? = nil) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.modes = modes
        self.width = width
        self.layers = layers
        self.projectionWidth = projectionWidth
        self.padding = padding ?? [Double](repeating: 0, count: modes.count)
        self.gridCoordinates = gridCoordinates
        self.style = style
        self.liftingWidth = liftingWidth
    }

    /// neuraloperator's `FNO(n_modes, in_channels, out_channels, hidden_channels, n_layers)`
    /// with every other argument at its default (version 2.0): `nModes[a]` is that
    /// library's count of kept frequencies per axis (−n/2…n/2 − 1 on a full axis, 0…n/2 on
    /// the last), so `n_modes = (24, 24)` is `modes = [12, 13]` here; lifting and projection
    /// MLPs of 2·hidden channels; no padding.
    public static func neuraloperator(nModes: [Int], inChannels: Int = 1, outChannels: Int = 1, hiddenChannels: Int,
                                      layers: Int = 4) -> FNOConfiguration {
        let d = nModes.count
        let modes = nModes.enumerated().map { $0.offset < d - 1 ? $0.element / 2 : $0.element / 2 + 1 }
        return FNOConfiguration(inChannels: inChannels, outChannels: outChannels, modes: modes, width: hiddenChannels, layers: layers,
                                projectionWidth: 2 * hiddenChannels, gridCoordinates: true, style: .neuraloperator,
                                liftingWidth: 2 * hiddenChannels)
    }

    enum CodingKeys: String, CodingKey {
        case inChannels, outChannels, modes, width, layers, projectionWidth, padding, gridCoordinates, style, liftingWidth
    }

    /// Decodes a configuration; `style` (paper) and `liftingWidth` (none) may be absent, as
    /// in files written before they existed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.decode(Int.self, forKey: .inChannels)
        outChannels = try c.decode(Int.self, forKey: .outChannels)
        modes = try c.decode([Int].self, forKey: .modes)
        width = try c.decode(Int.self, forKey: .width)
        layers = try c.decode(Int.self, forKey: .layers)
        projectionWidth = try c.decode(Int.self, forKey: .projectionWidth)
        padding = try c.decode([Double].self, forKey: .padding)
        gridCoordinates = try c.decode(Bool.self, forKey: .gridCoordinates)
        style = try c.decodeIfPresent(FNOStyle.self, forKey: .style) ?? .paper
        liftingWidth = try c.decodeIfPresent(Int.self, forKey: .liftingWidth)
    }

    /// Spatial dimension (1–3).
    public var dimensions: Int { modes.count }

    /// Throws `LearningError.invalidArgument` naming the first setting out of range.
    public func validate() throws {
        guard (1...3).contains(modes.count), modes.allSatisfy({ $0 >= 1 }) else {
            throw LearningError.invalidArgument(name: "FNO modes", value: "\(modes)", expected: "1 to 3 counts ≥ 1 (one per spatial axis)")
        }
        for (name, v) in [("inChannels", inChannels), ("outChannels", outChannels), ("width", width), ("layers", layers),
                          ("projectionWidth", projectionWidth), ("liftingWidth", liftingWidth ?? 1)] where v < 1 {
            throw LearningError.invalidArgument(name: "FNO \(name)", value: "\(v)", expected: "an integer ≥ 1")
        }
        guard padding.count == modes.count, padding.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw LearningError.invalidArgument(name: "FNO padding", value: "\(padding)",
                                                expected: "\(modes.count) fractions in [0, 1] (one per spatial axis)")
        }
    }

    /// Points of zero padding appended to an axis of `n` points along axis `a`: at least
    /// ⌈f·n⌉, rounded up so that the padded size is FFT-friendly (its prime factors are 2,
    /// 3, 5 and 7): the paper's 85 + 9 = 94 = 2·47 would make every FFT a prime-size one,
    /// so 85 pads to 96 (as LSM does). No padding when f = 0.
    public func paddingPoints(_ n: Int, axis a: Int) -> Int {
        guard padding[a] > 0 else { return 0 }
        var m = n + Int((padding[a] * Double(n)).rounded(.up))
        while !isSmooth(m) { m += 1 }
        return m - n
    }
}

/// Whether `n` has no prime factor above 7.
func isSmooth(_ n: Int) -> Bool {
    var m = n
    for p in [2, 3, 5, 7] { while m % p == 0 { m /= p } }
    return m == 1
}

/// A Fourier neural operator (Li et al., ICLR 2021) in 1, 2 or 3 spatial dimensions
/// (3 covers the paper's 2-D + time model): the grid coordinates appended to the input,
/// a pointwise lifting to `width` channels, zero padding by a fraction of each axis,
/// `layers` Fourier layers (`FourierBlocks`: spectral convolution on the low modes plus a
/// pointwise linear map, GELU between), the padding removed, and a two-layer pointwise
/// projection (GELU between).
///
/// Every weight acts on Fourier modes or single points, so a trained model evaluates at
/// any resolution fine enough for its modes (zero-shot super-resolution).
///
/// Parameters (PyTorch-style paths; the pointwise maps are 1×1 convolutions, weight
/// `[out, in, 1…]`): `lifting.weight/bias`, `blocks.blocks.<i>.spectral.weight`
/// `[width, width, 2m₁…, m_d, 2]`, `blocks.blocks.<i>.pointwise.weight/bias`,
/// `projection.weight/bias`, `output.weight/bias`. In neuraloperator's style
/// (`FNOConfiguration.neuraloperator`) also `liftingOutput.*`, `blocks.blocks.<i>.spectralBias`,
/// `.mlpIn.*`, `.mlpOut.*`, `.gate`; `NeuraloperatorWeights` loads that library's state
/// dicts into them.
public final class FNO<T: TensorScalar>: Layer {
    /// The settings the model was built with.
    public let configuration: FNOConfiguration
    /// Input (+ coordinates) → width (or → liftingWidth), pointwise.
    public let lifting: Convolution<T>
    /// With a two-layer lifting: liftingWidth → width after a GELU.
    public let liftingOutput: Convolution<T>?
    /// The Fourier layers.
    public let blocks: FourierBlocks<T>
    /// Width → projectionWidth, pointwise (GELU after).
    public let projection: Convolution<T>
    /// ProjectionWidth → outChannels, pointwise.
    public let output: Convolution<T>

    /// A model with PyTorch's default initialization (and the reference's for the spectral
    /// weights) drawn from `g`. Throws `LearningError.invalidArgument` for a configuration
    /// out of range (see `FNOConfiguration.validate`).
    public init(_ configuration: FNOConfiguration, generator g: inout SeededGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        let d = configuration.dimensions
        let one = [Int](repeating: 1, count: d)
        let inputs = configuration.inChannels + (configuration.gridCoordinates ? d : 0)
        if let hidden = configuration.liftingWidth {
            lifting = try Convolution(inChannels: inputs, outChannels: hidden, kernel: one, generator: &g)
            liftingOutput = try Convolution(inChannels: hidden, outChannels: configuration.width, kernel: one, generator: &g)
        } else {
            lifting = try Convolution(inChannels: inputs, outChannels: configuration.width, kernel: one, generator: &g)
            liftingOutput = nil
        }
        blocks = try FourierBlocks(width: configuration.width, modes: configuration.modes, layers: configuration.layers,
                                   style: configuration.style, generator: &g)
        projection = try Convolution(inChannels: configuration.width, outChannels: configuration.projectionWidth, kernel: one, generator: &g)
        output = try Convolution(inChannels: configuration.projectionWidth, outChannels: configuration.outChannels, kernel: one, generator: &g)
    }

    /// x `[B, inChannels, n₁…n_d]` → `[B, outChannels, n₁…n_d]`. Throws
    /// `LearningError.shapeMismatch` on another channel or axis count, and
    /// `LearningError.invalidArgument` when a (padded) axis is too coarse for the modes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let c = configuration, d = c.dimensions
        guard x.shape.count == d + 2, x.shape[1] == c.inChannels else {
            throw LearningError.shapeMismatch(operation: "FNO (\(d)-D)", expected: "input [B, \(c.inChannels), \(d) spatial axes]",
                                              got: shapeString(x.shape))
        }
        let spatial = Array(x.shape[2...])
        var h = try lifting(c.gridCoordinates ? x.appendingGridCoordinates(includingEndpoint: c.style == .paper) : x)
        if let liftingOutput { h = try liftingOutput(h.gelu()) }
        let pads = spatial.enumerated().map { c.paddingPoints($0.element, axis: $0.offset) }
        let padded = pads.contains { $0 > 0 }
        if padded { h = try h.padded(lower: [Int](repeating: 0, count: d + 2), upper: [0, 0] + pads) }
        h = try blocks(h)
        if padded { h = try h.cropped(lower: [Int](repeating: 0, count: d + 2), upper: [0, 0] + pads) }
        return try output(try projection(h).gelu())
    }
}
