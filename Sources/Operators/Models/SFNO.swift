import Foundation
import Learning

/// The settings of a spatio-temporal FNO (`SFNO`). Defaults: Spectral-Refiner's model
/// (torch-cfd's `SFNO(12, 12, 5, 20)`: 4 spectral layers, 10 latent steps, 10 input → 40
/// output frames).
public struct SFNOConfiguration: Codable, Equatable, Sendable {
    /// Modes kept along x, y (each ± on the full axes) and t (the rfft half axis).
    public var modes: [Int]
    /// Channels of the hidden layers.
    public var width: Int
    /// Spectral layers: the lifting one and `layers − 1` hidden ones.
    public var layers: Int
    /// Frames in, latent frames (after the lifting layer), frames out.
    public var inputSteps: Int, latentSteps: Int, outputSteps: Int
    /// Hidden channels of the pointwise feed-forward map after each spectral convolution.
    public var feedForwardWidth: Int
    /// Modes of the output spectral layer (nil: `modes`). Spectral-Refiner's fine-tuning
    /// rebuilds that layer with all the modes of the grid (`SFNO.refinable`).
    public var outputModes: [Int]?

    /// The dimension is fixed: 2 space + time.
    public init(modes: [Int] = [12, 12, 5], width: Int = 20, layers: Int = 4, inputSteps: Int = 10, latentSteps: Int = 10,
                outputSteps: Int = 40, feedForwardWidth: Int = 80, outputModes: [Int]? = nil) {
        self.modes = modes
        self.width = width
        self.layers = layers
        self.inputSteps = inputSteps
        self.latentSteps = latentSteps
        self.outputSteps = outputSteps
        self.feedForwardWidth = feedForwardWidth
        self.outputModes = outputModes
    }

    /// Throws `LearningError.invalidArgument` naming the first setting out of range.
    public func validate() throws {
        for (name, m) in [("modes", modes), ("outputModes", outputModes ?? modes)] where m.count != 3 || m.contains(where: { $0 < 1 }) {
            throw LearningError.invalidArgument(name: "SFNO \(name)", value: "\(m)", expected: "3 counts ≥ 1 (x, y, t)")
        }
        for (name, v) in [("width", width), ("layers", layers), ("inputSteps", inputSteps), ("latentSteps", latentSteps),
                          ("outputSteps", outputSteps), ("feedForwardWidth", feedForwardWidth)] where v < 1 {
            throw LearningError.invalidArgument(name: "SFNO \(name)", value: "\(v)", expected: "an integer ≥ 1")
        }
        let half = min(inputSteps, latentSteps) / 2 + 1
        // The output layer works on the latent frames zero-padded to twice their count and
        // maps to twice the output frames: up to min(latent, output) + 1 time modes.
        let outputHalf = min(latentSteps, outputSteps) + 1
        guard modes[2] <= half, (outputModes ?? modes)[2] <= outputHalf else {
            throw LearningError.invalidArgument(name: "SFNO time modes", value: "\(modes[2]) (output \((outputModes ?? modes)[2]))",
                                                expected: "at most \(half) for \(inputSteps) input and \(latentSteps) latent frames (output layer: \(outputHalf))")
        }
    }
}

/// A spatio-temporal Fourier neural operator (the SFNO of "Spectral-Refiner", Cao et al.):
/// maps a vorticity trajectory of `inputSteps` frames on the torus, `[B, T_in, n, n]`, to
/// the next `outputSteps` frames, `[B, T_out, n, n]`, with 3-D spectral convolutions over
/// (x, y, t) that change the number of frames inside the inverse FFT (no linear layer on
/// the time axis):
///
/// 1. coordinates (x, y, t in [0, 1), periodic convention) appended, a pointwise lifting;
/// 2. a spectral convolution to `latentSteps` frames, a feed-forward map, GELU;
/// 3. `layers − 1` layers `GELU(ffn(spectral(h)) + pointwise(h))`;
/// 4. a pointwise reduction to one channel;
/// 5. an output spectral convolution to `outputSteps` frames (with temporal zero padding, as
///    torch-cfd's output layer has: the time axis is not periodic), added to the last input
///    frame (the network predicts the change from it).
///
/// Our own arrangement of those steps; torch-cfd's also adds a positional encoding and a
/// group norm in the lifting. Parameters: `lifting`, `liftSpectral`, `liftFeedForward`
/// (`.0`, `.1`), `spectral.<i>`, `feedForward.<i>`, `skips.<i>`, `reduction`, `output`,
/// `outputBias`.
public final class SFNO<T: TensorScalar>: Layer {
    /// The settings the model was built with.
    public let configuration: SFNOConfiguration
    public let lifting: Convolution<T>
    public let liftSpectral: SpectralConvolution<T>
    public let liftFeedForward: [Convolution<T>]
    public let spectral: [SpectralConvolution<T>]
    public let feedForward: [[Convolution<T>]]
    public let skips: [Convolution<T>]
    public let reduction: Convolution<T>
    /// The output spectral layer (1 → 1 channel): what Spectral-Refiner fine-tunes.
    public let output: SpectralConvolution<T>
    /// A learned additive term per kept output mode `[1, 2m₁, 2m₂, m₃, 2]` (complex, zero at
    /// first), in units of normalized Fourier coefficients (û/N): the output layer's bias,
    /// which lets fine-tuning correct any kept mode directly, whatever the latent holds.
    public let outputBias: Variable<T>

    /// A model drawn from `g`. Throws `LearningError.invalidArgument` for settings out of range.
    public init(_ configuration: SFNOConfiguration, generator g: inout SeededGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration, w = c.width, one = [1, 1, 1]
        func ffn(_ g: inout SeededGenerator) throws -> [Convolution<T>] {
            [try Convolution(inChannels: w, outChannels: c.feedForwardWidth, kernel: one, generator: &g),
             try Convolution(inChannels: c.feedForwardWidth, outChannels: w, kernel: one, generator: &g)]
        }
        lifting = try Convolution(inChannels: 4, outChannels: w, kernel: one, generator: &g)
        liftSpectral = try SpectralConvolution(inChannels: w, outChannels: w, modes: c.modes, generator: &g)
        liftFeedForward = try ffn(&g)
        var sp: [SpectralConvolution<T>] = [], ff: [[Convolution<T>]] = [], sk: [Convolution<T>] = []
        for _ in 1..<max(1, c.layers) {
            sp.append(try SpectralConvolution(inChannels: w, outChannels: w, modes: c.modes, generator: &g))
            ff.append(try ffn(&g))
            sk.append(try Convolution(inChannels: w, outChannels: w, kernel: one, generator: &g))
        }
        (spectral, feedForward, skips) = (sp, ff, sk)
        reduction = try Convolution(inChannels: w, outChannels: 1, kernel: one, generator: &g)
        output = try SpectralConvolution(inChannels: 1, outChannels: 1, modes: c.outputModes ?? c.modes, generator: &g)
        let m = c.outputModes ?? c.modes
        outputBias = Variable(Tensor(zeros: [1, 2 * m[0], 2 * m[1], m[2], 2]), requiresGradient: true)
    }

    /// `[B, inputSteps, n, n]` → `[B, outputSteps, n, n]`. Throws `LearningError.shapeMismatch`
    /// for another shape, `invalidArgument` for a grid too coarse for the modes.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let r = try latent(x)
        return try decode(r, lastFrame: try x.slice(axis: 1, (x.shape[1] - 1)..<x.shape[1]))
    }

    /// Steps 1–4: the one-channel latent trajectory `[B, 1, n, n, latentSteps]` (what the
    /// output layer acts on; frozen during Spectral-Refiner's fine-tuning).
    public func latent(_ x: Variable<T>) throws -> Variable<T> {
        let c = configuration
        let s = x.shape
        guard s.count == 4, s[1] == c.inputSteps, s[2] == s[3] else {
            throw LearningError.shapeMismatch(operation: "SFNO", expected: "input [B, \(c.inputSteps), n, n]", got: shapeString(s))
        }
        let (b, n) = (s[0], s[2])
        let v = try x.permuted([0, 2, 3, 1]).reshaped([b, 1, n, n, c.inputSteps])
        var h = try lifting(try v.appendingGridCoordinates(includingEndpoint: false))
        h = try liftSpectral(h, outputSizes: [n, n, c.latentSteps])
        h = try liftFeedForward[1](try liftFeedForward[0](h).gelu()).gelu()
        for i in spectral.indices {
            h = try (try feedForward[i][1](try feedForward[i][0](try spectral[i](h)).gelu()) + skips[i](h)).gelu()
        }
        return try reduction(h)
    }

    /// Step 5: the output frames `[B, outputSteps, n, n]` from a latent trajectory and the
    /// last input frame `[B, 1, n, n]`.
    public func decode(_ latent: Variable<T>, lastFrame: Variable<T>) throws -> Variable<T> {
        let c = configuration
        let (b, n, l) = (latent.shape[0], latent.shape[2], latent.shape[4])
        // Temporal padding: the latent frames followed by as many zeros, mapped to twice the
        // output frames of which the first half is kept, so that the periodic extension the
        // FFT implies in time wraps around in the discarded half (a trend such as a linear
        // growth then needs few time modes).
        let padded = try latent.padded(lower: [0, 0, 0, 0, 0], upper: [0, 0, 0, 0, l])
        let sizes = [n, n, 2 * c.outputSteps]
        let modes = try Variable.complexMix(try padded.rfftLowModes(output.modes), output.weight)          // [B, 1, 2m, 2m, m_t, 2]
        let points = T(Double(sizes.reduce(1, *)))
        let y = try (try modes + outputBias * points).irfftFromLowModes(spatial: sizes).slice(axis: 4, 0..<c.outputSteps)   // [B, 1, n, n, T_out]
        let frames = try y.reshaped([b, n, n, c.outputSteps]).permuted([0, 3, 1, 2])                         // [B, T_out, n, n]
        return try frames + lastFrame
    }

    /// A copy whose output layer keeps `outputModes` modes (Spectral-Refiner: all the modes
    /// of the grid, "without the frequency truncation"), every other weight shared by value,
    /// the trained output modes copied to the same frequencies and the new ones zero — so the
    /// copy computes exactly what this model computes until it is fine-tuned. Throws
    /// `LearningError.invalidArgument` when `outputModes` does not contain the current ones.
    public func refinable(outputModes: [Int]) throws -> SFNO<T> {
        let old = configuration.outputModes ?? configuration.modes
        guard outputModes.count == 3, zip(outputModes, old).allSatisfy({ $0 >= $1 }) else {
            throw LearningError.invalidArgument(name: "refined output modes", value: "\(outputModes)", expected: "at least the trained modes \(old)")
        }
        var c = configuration
        c.outputModes = outputModes
        var g = SeededGenerator(seed: 0)
        let copy = try SFNO(c, generator: &g)
        let mine = namedVariables(T.self), theirs = Dictionary(uniqueKeysWithValues: copy.namedVariables(T.self).map { ($0.name, $0.variable) })
        for (name, v) in mine where name != "output.weight" && name != "outputBias" { theirs[name]?.value = v.value }
        copy.output.weight.value = try SFNO.embedModes(output.weight.value, from: old, to: outputModes)
        let bias = try SFNO.embedModes(try outputBias.value.reshaped([1, 1] + outputBias.shape.dropFirst()), from: old, to: outputModes)
        copy.outputBias.value = try bias.reshaped(Array(bias.shape.dropFirst()))
        return copy
    }

    /// Weights `[Cin, Cout, 2m₁, 2m₂, m₃, 2]` placed at the same frequencies of a
    /// `[Cin, Cout, 2M₁, 2M₂, M₃, 2]` array (zeros elsewhere).
    static func embedModes(_ w: Tensor<T>, from m: [Int], to big: [Int]) throws -> Tensor<T> {
        let (ci, co) = (w.shape[0], w.shape[1])
        let newShape = [ci, co, 2 * big[0], 2 * big[1], big[2], 2]
        var out = [T](repeating: 0, count: newShape.reduce(1, *))
        func target(_ r: Int, _ m: Int, _ bigM: Int) -> Int { r < m ? r : r - 2 * m + 2 * bigM }
        var src = 0
        for i in 0..<(ci * co) { for a in 0..<(2 * m[0]) { for b in 0..<(2 * m[1]) { for t in 0..<m[2] { for p in 0..<2 {
            let (ta, tb) = (target(a, m[0], big[0]), target(b, m[1], big[1]))
            out[(((i * 2 * big[0] + ta) * 2 * big[1] + tb) * big[2] + t) * 2 + p] = w.scalars[src]
            src += 1
        } } } } }
        return try Tensor(shape: newShape, scalars: out)
    }
}
