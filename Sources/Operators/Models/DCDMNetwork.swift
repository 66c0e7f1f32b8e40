import Foundation
import Learning

/// Settings of the deep conjugate direction method's network (`DCDMNetwork`).
public struct DCDMConfiguration: Codable, Equatable, Sendable {
    /// 2 (3×3 convolutions) or 3 (3×3×3).
    public var dimension: Int
    /// Channels of every hidden convolution (the paper's 16).
    public var channels: Int
    /// Residual blocks at full resolution before pooling.
    public var fineBlocks: Int
    /// Residual blocks at half resolution.
    public var coarseBlocks: Int
    /// Residual blocks at full resolution after upsampling and the skip.
    public var decoderBlocks: Int
    /// Biases in the convolutions (the paper's Keras default has them). Without them the
    /// network is positively homogeneous (f(αr) = αf(r) for α > 0), as a model of A⁻¹ up
    /// to scale should be.
    public var bias: Bool
    /// Also feed D r, D the matrix diagonal divided by 2·dimension (an extension of the
    /// paper): the fluid mask alone does not tell an air neighbour (Dirichlet, counted in
    /// the diagonal) from a solid one (Neumann, not counted) or an open face from a closed
    /// one, and D r keeps the network positively homogeneous in r. The input then has a third
    /// channel, the scaled diagonal.
    public var operatorChannel: Bool
    /// Pool recursively (an extension of the paper, which pools once): the stem's linear
    /// features are pooled level by level, halving the grid until a side would fall below
    /// `coarsestSide` or be odd; the lift, fine and decoder blocks run at every level with
    /// shared weights, and the coarse blocks at the bottom.
    /// The network's depth then follows the grid size, like a multigrid V-cycle, so its
    /// receptive field covers a larger grid than the one it was trained on.
    public var multilevel: Bool
    /// The smallest side of the bottom level with `multilevel`.
    public var coarsestSide: Int

    /// The paper's 64-grid network: 16 channels, 1 + 3 + 2 residual blocks, one pooling level.
    public init(dimension: Int = 2, channels: Int = 16, fineBlocks: Int = 1, coarseBlocks: Int = 3, decoderBlocks: Int = 2, bias: Bool = false,
                operatorChannel: Bool = false, multilevel: Bool = false, coarsestSide: Int = 4) {
        self.dimension = dimension
        self.channels = channels
        self.fineBlocks = fineBlocks
        self.coarseBlocks = coarseBlocks
        self.decoderBlocks = decoderBlocks
        self.bias = bias
        self.operatorChannel = operatorChannel
        self.multilevel = multilevel
        self.coarsestSide = coarsestSide
    }

    /// Input channels: residual and fluid mask, plus the scaled diagonal with `operatorChannel`.
    public var inputChannels: Int { operatorChannel ? 3 : 2 }

    /// The factor of the matrix diagonal in the operator channel: 1 / (2·dimension), so an
    /// interior cell of the pressure matrix gets 1.
    public static func diagonalScale(dimension: Int) -> Double { 1 / Double(2 * dimension) }

    private enum CodingKeys: String, CodingKey { case dimension, channels, fineBlocks, coarseBlocks, decoderBlocks, bias, operatorChannel, multilevel, coarsestSide }

    /// Decodes with the defaults for absent keys.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DCDMConfiguration()
        self.init(dimension: try c.decodeIfPresent(Int.self, forKey: .dimension) ?? d.dimension,
                  channels: try c.decodeIfPresent(Int.self, forKey: .channels) ?? d.channels,
                  fineBlocks: try c.decodeIfPresent(Int.self, forKey: .fineBlocks) ?? d.fineBlocks,
                  coarseBlocks: try c.decodeIfPresent(Int.self, forKey: .coarseBlocks) ?? d.coarseBlocks,
                  decoderBlocks: try c.decodeIfPresent(Int.self, forKey: .decoderBlocks) ?? d.decoderBlocks,
                  bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? d.bias,
                  operatorChannel: try c.decodeIfPresent(Bool.self, forKey: .operatorChannel) ?? d.operatorChannel,
                  multilevel: try c.decodeIfPresent(Bool.self, forKey: .multilevel) ?? d.multilevel,
                  coarsestSide: try c.decodeIfPresent(Int.self, forKey: .coarsestSide) ?? d.coarsestSide)
    }

    /// Throws `LearningError.invalidArgument` naming the first setting out of range.
    public func validate() throws {
        guard dimension == 2 || dimension == 3 else {
            throw LearningError.invalidArgument(name: "DCDM dimension", value: "\(dimension)", expected: "2 or 3")
        }
        for (name, v, low) in [("channels", channels, 1), ("fineBlocks", fineBlocks, 0), ("coarseBlocks", coarseBlocks, 0),
                               ("decoderBlocks", decoderBlocks, 0)] where v < low || v > 64 {
            throw LearningError.invalidArgument(name: "DCDM \(name)", value: "\(v)", expected: "an integer in \(low)...64")
        }
        guard (1...4096).contains(coarsestSide) else {
            throw LearningError.invalidArgument(name: "DCDM coarsestSide", value: "\(coarsestSide)", expected: "an integer in 1...4096")
        }
    }

    /// The sides of each level for a grid of `sides`: one pooling level (even sides required),
    /// or with `multilevel` halvings while every side stays even and at least `coarsestSide`.
    public func levelSides(for sides: [Int]) -> [[Int]] {
        var levels = [sides]
        if !multilevel { return sides.allSatisfy({ $0 % 2 == 0 }) ? [sides, sides.map { $0 / 2 }] : levels }
        while let s = levels.last, s.allSatisfy({ $0 % 2 == 0 && $0 / 2 >= coarsestSide }) { levels.append(s.map { $0 / 2 }) }
        return levels
    }
}

/// x + ReLU(conv₂(ReLU(conv₁(x)))): the residual pair of the DCDM network.
public final class DCDMResidualBlock<T: TensorScalar>: Layer {
    public let first: Convolution<T>, second: Convolution<T>

    init(channels: Int, kernel: [Int], bias: Bool, generator g: inout SeededGenerator) throws {
        let pad = kernel.map { _ in 1 }
        first = try Convolution(inChannels: channels, outChannels: channels, kernel: kernel, padding: pad, bias: bias, generator: &g)
        second = try Convolution(inChannels: channels, outChannels: channels, kernel: kernel, padding: pad, bias: bias, generator: &g)
    }

    /// x + ReLU(conv₂(ReLU(conv₁(x)))), shape kept.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try x + second(try first(x).relu()).relu()
    }
}

/// The deep conjugate direction method's fully convolutional network (Kaneda et al., ICML
/// 2023): from a residual on the cell grid and the fluid mask, a direction ≈ A⁻¹r up to
/// scale. Input [B, 2, n…] (channel 0 the residual, channel 1 the fluid mask, 1 on fluid
/// cells; with `operatorChannel` a third channel, the matrix diagonal / (2·dimension)),
/// output [B, 1, n…], zero off the fluid cells.
///
/// Layers: a linear 3×3(×3) convolution 1 → C of the residual (2 → C of r and D r with
/// `operatorChannel`), a ReLU convolution,
/// `fineBlocks` residual pairs (features kept for the skip), 2×2(×2) average pooling,
/// `coarseBlocks` residual pairs, nearest upsampling plus the skip, `decoderBlocks` residual
/// pairs, a linear 1×1 convolution C → 1. Zero ("same") padding, so the network applies to
/// any grid size whose sides are even (trained at one size, applied at larger ones). With
/// `multilevel` (an extension) the pooling recurses with shared weights down to
/// `coarsestSide` (see `level`), and any side is accepted.
///
/// The mask gates rather than feeds: features are multiplied by it after every layer at
/// full resolution (by its average-pooled fluid fraction at half resolution), so solid and
/// air cells carry nothing, and without biases the network is positively homogeneous —
/// f(αr) = αf(r), f(0) = 0 — as a model of A⁻¹ up to scale should be. (Fed as an input
/// channel, the mask adds an r-independent pattern to every output.) Parameter names follow the property
/// paths (`stem.weight`, `coarse.0.first.weight`, …).
public final class DCDMNetwork<T: TensorScalar>: Layer {
    public let configuration: DCDMConfiguration
    public let stem: Convolution<T>, lift: Convolution<T>
    public let fine: [DCDMResidualBlock<T>], coarse: [DCDMResidualBlock<T>], decoder: [DCDMResidualBlock<T>]
    public let output: Convolution<T>
    /// With `multilevel`: the per-channel factor [1, C, 1…] of the upsampled coarse features
    /// at every level, shared like the blocks. Initialized to 4: the pressure matrix's stencil
    /// on a twice coarser grid is 4× the fine one's, so a coarse solution is a quarter of the
    /// fine.
    public let levelGain: Variable<T>?

    /// A freshly initialized network (PyTorch's default convolution initialization).
    public init(_ c: DCDMConfiguration = DCDMConfiguration(), generator g: inout SeededGenerator) throws {
        try c.validate()
        configuration = c
        let k = [Int](repeating: 3, count: c.dimension), pad = [Int](repeating: 1, count: c.dimension)
        stem = try Convolution(inChannels: c.operatorChannel ? 2 : 1, outChannels: c.channels, kernel: k, padding: pad, bias: c.bias, generator: &g)
        lift = try Convolution(inChannels: c.channels, outChannels: c.channels, kernel: k, padding: pad, bias: c.bias, generator: &g)
        fine = try (0..<c.fineBlocks).map { _ in try DCDMResidualBlock(channels: c.channels, kernel: k, bias: c.bias, generator: &g) }
        coarse = try (0..<c.coarseBlocks).map { _ in try DCDMResidualBlock(channels: c.channels, kernel: k, bias: c.bias, generator: &g) }
        decoder = try (0..<c.decoderBlocks).map { _ in try DCDMResidualBlock(channels: c.channels, kernel: k, bias: c.bias, generator: &g) }
        output = try Convolution(inChannels: c.channels, outChannels: 1, kernel: [Int](repeating: 1, count: c.dimension), bias: c.bias, generator: &g)
        levelGain = c.multilevel
            ? Variable(Tensor(repeating: 4, shape: [1, c.channels] + [Int](repeating: 1, count: c.dimension)), requiresGradient: true) : nil
    }

    /// [B, 2 (3), n…] → [B, 1, n…]. Throws for another channel count, rank, or an odd side.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let s = x.value.shape
        let d = configuration.dimension, k = configuration.inputChannels
        let multilevel = configuration.multilevel
        guard s.count == d + 2, s[1] == k, s[2...].allSatisfy({ multilevel ? $0 >= 1 : $0 >= 2 && $0 % 2 == 0 }) else {
            throw LearningError.shapeMismatch(operation: "DCDM network",
                                              expected: "[batch, \(k) (residual, mask\(k == 3 ? ", diagonal" : "")), \(d) \(multilevel ? "" : "even ")sides]",
                                              got: shapeString(s))
        }
        let r = try x.slice(axis: 1, 0..<1), mask = try x.slice(axis: 1, 1..<2)
        let input = configuration.operatorChannel ? try Variable.concatenate([r, r * (try x.slice(axis: 1, 2..<3))], axis: 1) : r
        var h = try stem(input) * mask
        if multilevel { return try output(try level(h, mask: mask, depth: configuration.levelSides(for: Array(s[2...])).count - 1)) * mask }
        let window = [Int](repeating: 2, count: d)
        let coarseMask = try mask.averagePooled(kernel: window)
        h = try lift(h).relu() * mask
        for b in fine { h = try b(h) * mask }
        let skip = h
        var c = try h.averagePooled(kernel: window)
        for b in coarse { c = try b(c) * coarseMask }
        h = try (try c.upsampled(factor: window, mode: .nearest) + skip) * mask
        for b in decoder { h = try b(h) * mask }
        return try output(h) * mask
    }

    /// One level of the multilevel network, from the stem's linear (signed) features `s`:
    /// the ReLU lift and the fine blocks; above the bottom, the next level on the pooled `s`
    /// (the restricted residual, as in multigrid: pooling ReLU features would average
    /// magnitudes and lose the residual's sign) and its result upsampled (linearly), scaled
    /// by the level gain and added; the coarse blocks at the bottom; then the decoder blocks.
    /// Features are gated by the level's fluid fraction.
    private func level(_ s: Variable<T>, mask: Variable<T>, depth: Int) throws -> Variable<T> {
        var h = try lift(s).relu() * mask
        for b in fine { h = try b(h) * mask }
        if depth == 0 {
            for b in coarse { h = try b(h) * mask }
        } else {
            guard let gain = levelGain else {
                throw LearningError.invalidArgument(name: "DCDM levelGain", value: "nil", expected: "a gain for a multilevel network")
            }
            let window = [Int](repeating: 2, count: configuration.dimension)
            let c = try level(try s.averagePooled(kernel: window), mask: try mask.averagePooled(kernel: window), depth: depth - 1)
            h = try (try c.upsampled(factor: window, mode: .linear) * gain + h) * mask
        }
        for b in decoder { h = try b(h) * mask }
        return h
    }
}

extension DCDMNetwork {
    /// Metadata key of the configuration (JSON) in saved networks and trainer checkpoints.
    public static var configurationKey: String { "dcdm.configuration" }

    /// The configuration as checkpoint metadata.
    public func metadata() throws -> [String: String] {
        [Self.configurationKey: String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)]
    }

    /// Writes the network (variables and configuration, plus `extra` metadata) atomically.
    public func save(to path: String, metadata extra: [String: String] = [:]) throws {
        try Checkpoint.save(model: self, scalar: T.self, metadata: try metadata().merging(extra) { a, _ in a }, to: path)
    }

    /// Rebuilds a network saved by `save` (or a trainer checkpoint carrying `metadata()`).
    /// Throws `LearningError.malformedFile` without readable configuration metadata, and the
    /// checkpoint's errors when the tensors do not fit.
    public static func load(from path: String) throws -> DCDMNetwork {
        let meta = try SafeTensors.read(path).metadata
        guard let text = meta[configurationKey] else {
            throw LearningError.malformedFile(path: path, reason: "no '\(configurationKey)' metadata: not a DCDM network")
        }
        guard let c = try? JSONDecoder().decode(DCDMConfiguration.self, from: Data(text.utf8)) else {
            throw LearningError.malformedFile(path: path, reason: "unreadable '\(configurationKey)' metadata: \(text.prefix(200))")
        }
        var g = SeededGenerator(seed: 0)
        let net = try DCDMNetwork(c, generator: &g)
        try Checkpoint.load(into: net, scalar: T.self, from: path)
        return net
    }
}
