import Foundation

/// Model (and optimizer) checkpoints in safetensors: model variables under their module
/// paths (`layers.0.weight`), optimizer state under `optimizer.<path>.<slot>`, and string
/// metadata (format, the optimizer's scalars such as `optimizer.step` and
/// `optimizer.learning_rate`, plus the caller's: config, epoch, random-generator state).
///
/// The optimizer is seen only through `CheckpointableState` (named tensors and scalars);
/// what its scalars mean, and who owns the learning rate on resume, is decided in
/// `Training` (see `Trainer`).
public enum Checkpoint {
    /// The value of the `format` metadata entry of every checkpoint.
    public static let format = "swiftpde-checkpoint-1"

    /// Prefix of the optimizer's tensors and metadata entries in the file.
    static let statePrefix = "optimizer."

    /// Writes the model's variables, the optimizer's state (any `CheckpointableState`) and
    /// `extra` tensors (stored under their own names) with the metadata.
    public static func save<S: CheckpointableState>(model: Module, optimizer: S, metadata: [String: String] = [:],
                                                    extra: [(name: String, tensor: Tensor<S.Scalar>)] = [], to path: String) throws {
        try write(model: model, optimizer: optimizer, metadata: metadata, extra: extra, to: path)
    }

    /// Writes the model's variables of precision `T` (no optimizer state).
    public static func save<T: TensorScalar>(model: Module, scalar: T.Type, metadata: [String: String] = [:], to path: String) throws {
        try write(model: model, optimizer: nil as (any CheckpointableState<T>)?, metadata: metadata, extra: [], to: path)
    }

    /// Loads every model variable (all must be present with the same shape) and the
    /// optimizer state; returns the metadata.
    @discardableResult
    public static func load<S: CheckpointableState>(into model: Module, optimizer: S, from path: String) throws -> [String: String] {
        try read(into: model, optimizer: optimizer, from: path).metadata
    }

    /// Loads as `load(into:optimizer:from:)`, reading the file once, and returns with the
    /// metadata the tensors `save(…, extra:)` wrote: every tensor that is neither a model
    /// variable nor optimizer state, by name.
    public static func loadWithExtra<S: CheckpointableState>(into model: Module, optimizer: S,
                                                             from path: String) throws -> (metadata: [String: String], extra: [String: SafeTensors.Entry]) {
        try read(into: model, optimizer: optimizer, from: path)
    }

    /// Loads every model variable of precision `T`; returns the metadata.
    @discardableResult
    public static func load<T: TensorScalar>(into model: Module, scalar: T.Type, from path: String) throws -> [String: String] {
        try read(into: model, optimizer: nil as (any CheckpointableState<T>)?, from: path).metadata
    }

    static func write<T: TensorScalar>(model: Module, optimizer: (any CheckpointableState<T>)?, metadata: [String: String],
                                       extra: [(name: String, tensor: Tensor<T>)], to path: String) throws {
        var entries: [(name: String, entry: SafeTensors.Entry)] = model.namedVariables(T.self).map { (name: $0.name, entry: SafeTensors.Entry($0.variable.value)) }
        entries += extra.map { (name: $0.name, entry: SafeTensors.Entry($0.tensor)) }
        var meta = metadata
        meta["format"] = format
        if let optimizer {
            entries += optimizer.checkpointTensors().map { (name: statePrefix + $0.name, entry: SafeTensors.Entry($0.tensor)) }
            for (key, value) in optimizer.checkpointScalars() { meta[statePrefix + key] = value }
        }
        try SafeTensors.write(entries, metadata: meta, to: path)
    }

    /// Loads the model's variables and the optimizer's state; returns the metadata and the other
    /// tensors of the file (`extra`).
    static func read<T: TensorScalar>(into model: Module, optimizer: (any CheckpointableState<T>)?,
                                      from path: String) throws -> (metadata: [String: String], extra: [String: SafeTensors.Entry]) {
        let file = try SafeTensors.read(path)
        var extra = file.tensors.filter { !$0.key.hasPrefix(statePrefix) }
        for (name, v) in model.namedVariables(T.self) {
            extra[name] = nil
            guard let e = file.tensors[name] else {
                throw LearningError.checkpointMismatch(path: path, tensor: name, reason: "missing from the file")
            }
            guard e.shape == v.value.shape else {
                throw LearningError.checkpointMismatch(path: path, tensor: name,
                                                       reason: "shape \(shapeString(e.shape)) in the file, \(shapeString(v.value.shape)) in the model")
            }
            v.value = e.tensor(T.self)
        }
        if let optimizer {
            var tensors: [String: Tensor<T>] = [:]
            for (name, e) in file.tensors where name.hasPrefix(statePrefix) {
                tensors[String(name.dropFirst(statePrefix.count))] = e.tensor(T.self)
            }
            var scalars: [String: String] = [:]
            for (key, value) in file.metadata where key.hasPrefix(statePrefix) {
                scalars[String(key.dropFirst(statePrefix.count))] = value
            }
            try optimizer.restoreCheckpoint(tensors: tensors, scalars: scalars)
        }
        return (file.metadata, extra)
    }
}
