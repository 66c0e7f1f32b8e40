import Foundation
import Learning

/// Which neural operator, with its settings: what a config names and what a checkpoint
/// stores (as JSON in its metadata), so that a checkpoint rebuilds its own model.
public enum OperatorArchitecture: Codable, Equatable, Sendable {
    /// A Fourier neural operator (1-, 2- or 3-D).
    case fno(FNOConfiguration)
    /// A spatio-temporal FNO: frames `[B, T_in, n, n]` → `[B, T_out, n, n]`.
    case sfno(SFNOConfiguration)
    /// A 2-D Latent Spectral Model.
    case lsm(LSMConfiguration)

    /// The short name used in configs and progress lines (`fno`, `sfno`).
    public var kind: String {
        switch self {
        case .fno: return "fno"
        case .sfno: return "sfno"
        case .lsm: return "lsm"
        }
    }

    /// Spatial axes of the data the model takes (the frames of an SFNO: 2).
    public var dimensions: Int {
        switch self {
        case .fno(let c): return c.dimensions
        case .sfno, .lsm: return 2
        }
    }

    /// Input and output channels (frames for an SFNO).
    public var channels: (input: Int, output: Int) {
        switch self {
        case .fno(let c): return (c.inChannels, c.outChannels)
        case .sfno(let c): return (c.inputSteps, c.outputSteps)
        case .lsm(let c): return (c.inChannels, c.outChannels)
        }
    }

    /// A freshly initialized model drawn from `g`; throws the configuration's
    /// `LearningError.invalidArgument`.
    public func build<T: TensorScalar>(_: T.Type = T.self, generator g: inout SeededGenerator) throws -> any Layer<T> {
        switch self {
        case .fno(let c): return try FNO<T>(c, generator: &g)
        case .sfno(let c): return try SFNO<T>(c, generator: &g)
        case .lsm(let c): return try LSM<T>(c, generator: &g)
        }
    }
}

/// A trained operator as users apply it: the model between an optional input normalizer
/// (encoding the data) and an optional output normalizer (decoding its prediction), so
/// that `op(a)` maps data to data. Normalizers fitted per point at one resolution are
/// interpolated to another (`GaussianNormalizer.resampled`), so the operator evaluates at
/// any resolution its model accepts.
///
/// `save` writes one safetensors file with the model's and normalizers' variables
/// (`model.…`, `inputNormalizer.mean`, …) and the architecture as JSON metadata;
/// `load` rebuilds the same operator from that file alone. Trainer checkpoints made with
/// `checkpointMetadata(…)` are such files (with optimizer state, ignored here).
public final class NeuralOperator<T: TensorScalar>: Layer {
    /// The model's kind and settings.
    public let architecture: OperatorArchitecture
    /// The network.
    public let model: any Layer<T>
    /// Encodes inputs before the model; nil: inputs enter as they are.
    public let inputNormalizer: GaussianNormalizer<T>?
    /// Decodes the model's outputs; nil: outputs are returned as they are.
    public let outputNormalizer: GaussianNormalizer<T>?

    /// A new model of `architecture` drawn from `g`, with the given normalizers. Throws the
    /// architecture's `LearningError.invalidArgument`.
    public init(architecture: OperatorArchitecture, inputNormalizer: GaussianNormalizer<T>? = nil,
                outputNormalizer: GaussianNormalizer<T>? = nil, generator g: inout SeededGenerator) throws {
        self.architecture = architecture
        model = try architecture.build(T.self, generator: &g)
        self.inputNormalizer = inputNormalizer
        self.outputNormalizer = outputNormalizer
    }

    /// `decode(model(encode(x)))` for x `[B, inChannels, n…]`; the normalizers are resampled
    /// to the input's resolution when they were fitted at another. Rethrows the model's
    /// shape errors.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let y = try normalizedPrediction(x)
        return try outputNormalizer.map { try $0.resampled(to: Array(y.shape.suffix(architecture.dimensions))).decode(y) } ?? y
    }

    /// The model's output before decoding (what a loss in normalized units compares).
    public func normalizedPrediction(_ x: Variable<T>) throws -> Variable<T> {
        let spatial = Array(x.shape.suffix(architecture.dimensions))
        return try model(try inputNormalizer.map { try $0.resampled(to: spatial).encode(x) } ?? x)
    }

    /// The metadata that lets `load` rebuild this operator (add it to a trainer's
    /// `checkpointMetadata`).
    public func metadata() throws -> [String: String] {
        var meta: [String: String] = [:]
        meta[NeuralOperatorMetadataKey.architecture] = String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)
        func describe(_ n: GaussianNormalizer<T>) throws -> String {
            String(decoding: try JSONEncoder().encode(NormalizerRecord(shape: n.mean.value.shape, epsilon: n.epsilon)), as: UTF8.self)
        }
        if let n = inputNormalizer { meta[NeuralOperatorMetadataKey.inputNormalizer] = try describe(n) }
        if let n = outputNormalizer { meta[NeuralOperatorMetadataKey.outputNormalizer] = try describe(n) }
        return meta
    }

    /// Writes the operator (variables + `metadata()` + `extra` metadata) atomically to `path`.
    public func save(to path: String, metadata extra: [String: String] = [:]) throws {
        try Checkpoint.save(model: self, scalar: T.self, metadata: try metadata().merging(extra) { a, _ in a }, to: path)
    }

    /// Rebuilds the operator saved at `path` (by `save` or a trainer checkpoint carrying
    /// `metadata()`). Throws `LearningError.malformedFile` when the file lacks or garbles
    /// the operator metadata, `checkpointMismatch` when its tensors do not fit, and the
    /// file's read errors.
    public static func load(from path: String) throws -> NeuralOperator {
        let file = try SafeTensors.read(path)
        let meta = file.metadata
        guard let text = meta[NeuralOperatorMetadataKey.architecture] else {
            throw LearningError.malformedFile(path: path, reason: "no '\(NeuralOperatorMetadataKey.architecture)' metadata: not a neural-operator checkpoint")
        }
        guard let architecture = try? JSONDecoder().decode(OperatorArchitecture.self, from: Data(text.utf8)) else {
            throw LearningError.malformedFile(path: path, reason: "unreadable '\(NeuralOperatorMetadataKey.architecture)' metadata: \(text.prefix(200))")
        }
        func normalizer(_ key: String) throws -> GaussianNormalizer<T>? {
            guard let text = meta[key] else { return nil }
            guard let r = try? JSONDecoder().decode(NormalizerRecord.self, from: Data(text.utf8)) else {
                throw LearningError.malformedFile(path: path, reason: "unreadable '\(key)' metadata: \(text.prefix(200))")
            }
            return try GaussianNormalizer(statisticsShape: r.shape, epsilon: r.epsilon)
        }
        var g = SeededGenerator(seed: 0)
        let op = try NeuralOperator(architecture: architecture, inputNormalizer: try normalizer(NeuralOperatorMetadataKey.inputNormalizer),
                                    outputNormalizer: try normalizer(NeuralOperatorMetadataKey.outputNormalizer), generator: &g)
        try Checkpoint.load(into: op, scalar: T.self, from: path)
        return op
    }
}

/// Metadata keys of the files `NeuralOperator.save` writes.
public enum NeuralOperatorMetadataKey {
    /// The `OperatorArchitecture` as JSON.
    public static let architecture = "operator.architecture"
    /// Shape and ε of the input normalizer, as JSON (absent without one).
    public static let inputNormalizer = "operator.input_normalizer"
    /// Shape and ε of the output normalizer, as JSON (absent without one).
    public static let outputNormalizer = "operator.output_normalizer"
}

/// How a normalizer is described in checkpoint metadata (its variables hold the values).
struct NormalizerRecord: Codable {
    var shape: [Int]
    var epsilon: Double
}
