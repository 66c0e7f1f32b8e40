import Foundation
import Learning

/// The settings of a 2-D Latent Spectral Model (`LSM`). Defaults: the reference's Darcy model
/// (thuml/Latent-Spectral-Models, `LSM_2D`: d_model 64, 12 basis functions, 4 latent tokens,
/// 8 heads, patches 6×6 for the Darcy script, 4 down-samplings, padding to 96 from 85).
public struct LSMConfiguration: Codable, Equatable, Sendable {
    public var inChannels: Int
    public var outChannels: Int
    /// Channels at the finest scale (×1, 2, 4, 8, 8 down the U-Net).
    public var width: Int
    /// Trigonometric basis functions of the latent spectral map.
    public var basis: Int
    /// Latent tokens per patch.
    public var tokens: Int
    /// Attention heads (must divide `width`).
    public var heads: Int
    /// Patch side at every scale (must divide every scale's size).
    public var patch: Int
    /// Down-samplings (by 2) of the U-Net.
    public var levels: Int
    /// Hidden channels of the projection.
    public var projectionWidth: Int

    /// The reference's Darcy settings unless given.
    public init(inChannels: Int = 1, outChannels: Int = 1, width: Int = 64, basis: Int = 12, tokens: Int = 4, heads: Int = 8, patch: Int = 6,
                levels: Int = 4, projectionWidth: Int = 128) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.width = width
        self.basis = basis
        self.tokens = tokens
        self.heads = heads
        self.patch = patch
        self.levels = levels
        self.projectionWidth = projectionWidth
    }

    /// Throws `LearningError.invalidArgument` naming the first setting out of range.
    public func validate() throws {
        for (name, v) in [("inChannels", inChannels), ("outChannels", outChannels), ("width", width), ("basis", basis), ("tokens", tokens),
                          ("heads", heads), ("patch", patch), ("levels", levels), ("projectionWidth", projectionWidth)] where v < 1 {
            throw LearningError.invalidArgument(name: "LSM \(name)", value: "\(v)", expected: "an integer ≥ 1")
        }
        guard width % heads == 0 else {
            throw LearningError.invalidArgument(name: "LSM heads", value: "\(heads) for width \(width)", expected: "a divisor of the width")
        }
        guard levels <= 8, patch <= 64 else {
            throw LearningError.invalidArgument(name: "LSM levels and patch", value: "\(levels) levels, patch \(patch)",
                                                expected: "at most 8 down-samplings and patches of at most 64")
        }
    }

    /// The padded grid side for n points: the smallest size ≥ n that `patch`·2^levels divides.
    public func paddedSize(_ n: Int) -> Int {
        let unit = patch << levels
        return (n + unit - 1) / unit * unit
    }

    /// Channels at scale `level` (0: finest): width·(1, 2, 4, 8, 8, …), doubling up to 8×.
    func channels(_ level: Int) -> Int { width * min(1 << level, 8) }
}

/// Two 3×3 convolutions (padding 1, no bias), each followed by batch normalization and ReLU
/// (the U-Net's `DoubleConv`).
public final class DoubleConvolution<T: TensorScalar>: Layer {
    public let first: Convolution<T>, firstNorm: BatchNorm<T>, second: Convolution<T>, secondNorm: BatchNorm<T>

    /// inChannels → middle → outChannels. Throws `LearningError.invalidArgument` for sizes below 1.
    public init(inChannels: Int, outChannels: Int, middle: Int? = nil, generator g: inout SeededGenerator) throws {
        let mid = middle ?? outChannels
        first = try Convolution(inChannels: inChannels, outChannels: mid, kernel: [3, 3], padding: [1, 1], bias: false, generator: &g)
        firstNorm = try BatchNorm(channels: mid)
        second = try Convolution(inChannels: mid, outChannels: outChannels, kernel: [3, 3], padding: [1, 1], bias: false, generator: &g)
        secondNorm = try BatchNorm(channels: outChannels)
    }

    /// [B, in, H, W] → [B, out, H, W].
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        try secondNorm(try second(try firstNorm(try first(x)).relu())).relu()
    }
}

/// LSM's neural spectral block on a feature map [B, C, H, W]: cut into p×p patches; per
/// patch, the pixels attend (as keys and values, from a 1×1 convolution) to a few learned
/// latent tokens (the queries); the tokens pass through a latent spectral map — per channel a
/// learned combination of sin(mπz/M), cos(mπz/M), m = 0…M−1, of the token value z, plus z; the
/// pixels (queries from a 1×1 convolution) attend back to the tokens; the result is added to
/// the input. Dot products are unscaled, as in the reference.
public final class NeuralSpectralBlock<T: TensorScalar>: Layer {
    /// The latent tokens [heads, tokens, C/heads], initially U(0, 1/C).
    public let latent: Variable<T>
    /// The spectral coefficients [C, 2·basis], initially U(0, 1/C).
    public let weights: Variable<T>
    /// Pixels → keys and values (interleaved, per head) [2C].
    public let encoderAttention: Convolution<T>
    /// Pixels → queries of the way back [C].
    public let decoderAttention: Convolution<T>
    public let heads: Int, patch: Int, basis: Int

    /// A block for `width` channels. Throws `LearningError.invalidArgument` for sizes below 1
    /// or heads not dividing the width.
    public init(width: Int, basis: Int, tokens: Int, heads: Int, patch: Int, generator g: inout SeededGenerator) throws {
        guard width % heads == 0 else {
            throw LearningError.invalidArgument(name: "spectral block heads", value: "\(heads) for \(width) channels", expected: "a divisor of the width")
        }
        self.heads = heads
        self.patch = patch
        self.basis = basis
        latent = Variable(Initializer.uniform(low: 0, high: 1 / Double(width)).tensor([heads, tokens, width / heads], generator: &g), requiresGradient: true)
        weights = Variable(Initializer.uniform(low: 0, high: 1 / Double(width)).tensor([width, 2 * basis], generator: &g), requiresGradient: true)
        encoderAttention = try Convolution(inChannels: width, outChannels: 2 * width, kernel: [1, 1], generator: &g)
        decoderAttention = try Convolution(inChannels: width, outChannels: width, kernel: [1, 1], generator: &g)
    }

    /// [B, C, H, W] → the same shape; H and W must be multiples of the patch.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let s = x.shape
        guard s.count == 4, s[2] % patch == 0, s[3] % patch == 0, s[1] == weights.shape[0] else {
            throw LearningError.shapeMismatch(operation: "neural spectral block", expected: "[B, \(weights.shape[0]), H, W] with H, W multiples of \(patch)",
                                              got: shapeString(s))
        }
        let (b, c, h, w, p) = (s[0], s[1], s[2], s[3], patch)
        let (hp, wp, l, d) = (h / p, w / p, p * p, c / heads)
        let count = b * hp * wp
        let patches = try x.reshaped([b, c, hp, p, wp, p]).permuted([0, 2, 4, 1, 3, 5]).reshaped([count, c, p, p])
        // Keys and values: channel h·2d + 2j + {0: key, 1: value}.
        let kv = try encoderAttention(patches).reshaped([count, 2 * c, l]).permuted([0, 2, 1]).reshaped([count, l, heads, d, 2])
            .permuted([4, 0, 2, 1, 3])                                                        // [2, B′, heads, L, d]
        let keys = try kv.slice(axis: 0, 0..<1).reshaped([count, heads, l, d])
        let values = try kv.slice(axis: 0, 1..<2).reshaped([count, heads, l, d])
        let tokenCount = latent.shape[1]
        let queries = try latent.reshaped([1, heads, tokenCount, d]).broadcast(to: [count, heads, tokenCount, d])
        let tokens = try Variable.attention(query: queries, key: keys, value: values, scale: 1) + queries   // [B′, heads, tokens, d]
        // Latent spectral map per channel (channel = head·d + j).
        let z = try tokens.permuted([0, 1, 3, 2]).reshaped([count, c, tokenCount, 1])
        let frequencies = Variable(try Tensor<T>(shape: [basis], scalars: (0..<basis).map { T(Double($0) / Double(basis) * Double.pi) }))
        let angle = try z * frequencies                                                       // [B′, C, tokens, basis]
        let expansion = try Variable.concatenate([angle.sin(), angle.cos()], axis: 3)         // [B′, C, tokens, 2·basis]
        let mapped = try (try expansion * weights.reshaped([c, 1, 2 * basis])).sum(alongAxes: [3]) + z.reshaped([count, c, tokenCount])
        // Back to the pixels: tokens are keys and values, queries from the pixels.
        let tokenKV = try mapped.reshaped([count, heads, d, tokenCount]).permuted([0, 1, 3, 2])   // [B′, heads, tokens, d]
        let pixelQueries = try decoderAttention(patches).reshaped([count, c, l]).permuted([0, 2, 1]).reshaped([count, l, heads, d])
            .permuted([0, 2, 1, 3])                                                           // [B′, heads, L, d]
        let back = try Variable.attention(query: pixelQueries, key: tokenKV, value: tokenKV, scale: 1)      // [B′, heads, L, d]
        let pixels = try back.permuted([0, 1, 3, 2]).reshaped([count, c, p, p]) + patches
        return try pixels.reshaped([b, hp, wp, c, p, p]).permuted([0, 3, 1, 4, 2, 5]).reshaped([b, c, h, w])
    }
}

/// A Latent Spectral Model (Wu et al., ICML 2023) in 2-D: coordinates appended, a pointwise
/// lifting, zero padding (after each axis) to a size the patches and down-samplings divide,
/// a U-Net of `DoubleConvolution`s (max-pool down, bilinear up with the skip concatenated
/// first) with a `NeuralSpectralBlock` on the skip of every scale and on the bottleneck, the
/// padding removed, and a two-layer pointwise projection with GELU. Parameters:
/// `lifting`, `encoder.<i>`, `blocks.<i>`, `decoder.<i>`, `outConvolution`, `projection`, `output`.
/// Differs from the reference in the bilinear up-sampling (half-pixel centres, PyTorch's
/// `align_corners=False`, where the reference aligns corners).
public final class LSM<T: TensorScalar>: Layer {
    public let configuration: LSMConfiguration
    public let lifting: Convolution<T>
    /// The encoder: the first at full resolution, then one per down-sampling.
    public let encoder: [DoubleConvolution<T>]
    /// One per scale, finest first (the last on the bottleneck).
    public let blocks: [NeuralSpectralBlock<T>]
    /// One per up-sampling, coarsest first.
    public let decoder: [DoubleConvolution<T>]
    public let outConvolution: Convolution<T>
    public let projection: Convolution<T>
    public let output: Convolution<T>

    /// A model drawn from `g`. Throws `LearningError.invalidArgument` for settings out of range.
    public init(_ configuration: LSMConfiguration, generator g: inout SeededGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        lifting = try Convolution(inChannels: c.inChannels + 2, outChannels: c.width, kernel: [1, 1], generator: &g)
        var enc = [try DoubleConvolution<T>(inChannels: c.width, outChannels: c.width, generator: &g)]
        for level in 1...c.levels { enc.append(try DoubleConvolution(inChannels: c.channels(level - 1), outChannels: c.channels(level), generator: &g)) }
        encoder = enc
        blocks = try (0...c.levels).map {
            try NeuralSpectralBlock(width: c.channels($0), basis: c.basis, tokens: c.tokens, heads: c.heads, patch: c.patch, generator: &g)
        }
        var dec: [DoubleConvolution<T>] = []
        for level in stride(from: c.levels, through: 1, by: -1) {
            // Up from `level` to `level − 1`: the skip of level − 1 and the up-sampled features
            // (the bottleneck's channels, then what the previous step put out: those of level − 1)
            // in; out: the channels of level − 2 (the width at the top).
            let inputs = c.channels(level - 1) + (level == c.levels ? c.channels(level) : c.channels(level - 1))
            let out = level >= 2 ? c.channels(level - 2) : c.width
            dec.append(try DoubleConvolution(inChannels: inputs, outChannels: out, middle: inputs / 2, generator: &g))
        }
        decoder = dec
        outConvolution = try Convolution(inChannels: c.width, outChannels: c.width, kernel: [1, 1], generator: &g)
        projection = try Convolution(inChannels: c.width, outChannels: c.projectionWidth, kernel: [1, 1], generator: &g)
        output = try Convolution(inChannels: c.projectionWidth, outChannels: c.outChannels, kernel: [1, 1], generator: &g)
    }

    /// x [B, inChannels, H, W] → [B, outChannels, H, W] at any size (padded internally).
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let c = configuration
        guard x.shape.count == 4, x.shape[1] == c.inChannels else {
            throw LearningError.shapeMismatch(operation: "LSM", expected: "input [B, \(c.inChannels), H, W]", got: shapeString(x.shape))
        }
        let (h, w) = (x.shape[2], x.shape[3])
        let (ph, pw) = (c.paddedSize(h) - h, c.paddedSize(w) - w)
        var v = try lifting(try x.appendingGridCoordinates())
        v = try v.padded(lower: [0, 0, 0, 0], upper: [0, 0, ph, pw])
        var skips: [Variable<T>] = []
        for (level, e) in encoder.enumerated() {
            if level > 0 { v = try v.maxPooled(kernel: [2, 2]) }
            v = try e(v)
            skips.append(try blocks[level](v))
        }
        var u = skips[c.levels]
        for (i, d) in decoder.enumerated() {
            let skip = skips[c.levels - 1 - i]
            u = try u.upsampled(to: Array(skip.shape[2...]), mode: .linear)
            u = try d(try Variable.concatenate([skip, u], axis: 1))
        }
        u = try outConvolution(u).cropped(lower: [0, 0, 0, 0], upper: [0, 0, ph, pw])
        return try output(try projection(u).gelu())
    }
}
