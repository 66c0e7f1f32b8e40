import Foundation

/// Model (and optimizer) checkpoints in safetensors: model variables under their module
/// paths (`layers.0.weight`), optimizer state under `optimizer.<path>.<slot>`, and string
/// metadata (format, optimizer step and learning rate, plus the caller's: config, epoch,
/// random-generator state).
public enum Checkpoint {
    public static let format = "swiftpde-checkpoint-1"

    /// Writes the model's variables, the optimizer's state and `extra` tensors (stored under
    /// their own names) with the metadata.
    public static func save<O: Optimizer>(model: Module, optimizer: O, metadata: [String: String] = [:],
                                          extra: [(name: String, tensor: Tensor<O.Scalar>)] = [], to path: String) throws {
        try write(model: model, optimizer: optimizer, metadata: metadata, extra: extra, to: path)
    }

    /// Writes the model's variables of precision `T` (no optimizer state).
    public static func save<T: TensorScalar>(model: Module, scalar: T.Type, metadata: [String: String] = [:], to path: String) throws {
        try write(model: model, optimizer: nil as (any Optimizer<T>)?, metadata: metadata, extra: [], to: path)
    }

    /// Loads every model variable (all must be present with the same shape) and the
    /// optimizer state; returns the metadata.
    @discardableResult
    public static func load<O: Optimizer>(into model: Module, optimizer: O, from path: String) throws -> [String: String] {
        try read(into: model, optimizer: optimizer, from: path)
    }

    /// Loads every model variable of precision `T`; returns the metadata.
    @discardableResult
    public static func load<T: TensorScalar>(into model: Module, scalar: T.Type, from path: String) throws -> [String: String] {
        try read(into: model, optimizer: nil as (any Optimizer<T>)?, from: path)
    }

    static func write<T: TensorScalar>(model: Module, optimizer: (any Optimizer<T>)?, metadata: [String: String],
                                       extra: [(name: String, tensor: Tensor<T>)], to path: String) throws {
        var entries: [(name: String, entry: SafeTensors.Entry)] = model.namedVariables(T.self).map { (name: $0.name, entry: SafeTensors.Entry($0.variable.value)) }
        entries += extra.map { (name: $0.name, entry: SafeTensors.Entry($0.tensor)) }
        var meta = metadata
        meta["format"] = format
        if let optimizer {
            entries += optimizer.stateTensors().map { (name: "optimizer.\($0.name)", entry: SafeTensors.Entry($0.tensor)) }
            meta["optimizer.step"] = String(optimizer.stepCount)
            meta["optimizer.learning_rate"] = String(optimizer.learningRate)
        }
        try SafeTensors.write(entries, metadata: meta, to: path)
    }

    static func read<T: TensorScalar>(into model: Module, optimizer: (any Optimizer<T>)?, from path: String) throws -> [String: String] {
        let file = try SafeTensors.read(path)
        for (name, v) in model.namedVariables(T.self) {
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
            var state: [String: Tensor<T>] = [:]
            for (name, e) in file.tensors where name.hasPrefix("optimizer.") {
                state[String(name.dropFirst("optimizer.".count))] = e.tensor(T.self)
            }
            try optimizer.loadState(state)
            if let s = file.metadata["optimizer.step"], let k = Int(s) { optimizer.stepCount = k }
            if let s = file.metadata["optimizer.learning_rate"], let r = Double(s) { optimizer.learningRate = r }
        }
        return file.metadata
    }
}
