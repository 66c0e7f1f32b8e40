import Foundation
import Learning

/// Input/output pairs held in memory as `[N, channels, n…]` Float tensors: a split read
/// once from an `OperatorDataset` (by slices), batched by index.
public struct OperatorSamples {
    /// `[N, inChannels, n…]`.
    public let inputs: Tensor<Float>
    /// `[N, outChannels, m…]`.
    public let outputs: Tensor<Float>

    /// Pairs from two tensors with the same leading count. Throws
    /// `LearningError.shapeMismatch` otherwise, or for fewer than three axes.
    public init(inputs: Tensor<Float>, outputs: Tensor<Float>) throws {
        guard inputs.rank >= 3, outputs.rank >= 3, inputs.shape[0] == outputs.shape[0], inputs.shape[0] >= 1 else {
            throw LearningError.shapeMismatch(operation: "operator samples", expected: "inputs and outputs [N ≥ 1, channels, n…] with equal N",
                                              got: "\(inputs.shape) and \(outputs.shape)")
        }
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Reads every sample of `dataset` (its split, subsampled), `chunk` samples per read.
    public init(_ dataset: OperatorDataset, chunk: Int = 64) throws {
        var xs: [Float] = [], ys: [Float] = []
        var shapes: (x: [Int], y: [Int]) = ([], [])
        var start = 0
        while start < dataset.count {
            let b = try dataset.batch(Array(start..<min(dataset.count, start + chunk)))
            xs += b.input.scalars
            ys += b.output.scalars
            shapes = (Array(b.input.shape.dropFirst()), Array(b.output.shape.dropFirst()))
            start += chunk
        }
        try self.init(inputs: try Tensor(shape: [dataset.count] + shapes.x, scalars: xs),
                      outputs: try Tensor(shape: [dataset.count] + shapes.y, scalars: ys))
    }

    /// Number of pairs.
    public var count: Int { inputs.shape[0] }

    /// The pairs `indices` (in that order) as `[b, …]` tensors. Throws
    /// `LearningError.invalidArgument` for an index out of range.
    public func batch(_ indices: [Int]) throws -> (input: Tensor<Float>, output: Tensor<Float>) {
        (try Self.rows(inputs, indices), try Self.rows(outputs, indices))
    }

    static func rows(_ t: Tensor<Float>, _ indices: [Int]) throws -> Tensor<Float> {
        let per = t.count / t.shape[0]
        var out = [Float]()
        out.reserveCapacity(per * indices.count)
        for i in indices {
            guard i >= 0, i < t.shape[0] else {
                throw LearningError.invalidArgument(name: "sample index", value: "\(i)", expected: "0..<\(t.shape[0])")
            }
            out += t.scalars[(i * per)..<((i + 1) * per)]
        }
        return try Tensor(shape: [indices.count] + t.shape.dropFirst(), scalars: out)
    }
}

/// The training losses `pde-train` offers, computed on decoded predictions (data units), as
/// the FNO reference does.
public enum OperatorLossKind: String, Codable, Sendable, CaseIterable {
    /// Relative L2 per sample, batch mean.
    case relativeL2 = "relative-l2"
    /// Relative H¹ per sample (periodic spectral derivatives on the unit cell), batch mean.
    case relativeH1 = "relative-h1"

    /// The loss of `prediction` against `target` (both `[B, C, n…]` with `dimensions`
    /// spatial axes).
    public func callAsFunction(_ prediction: Variable<Float>, _ target: Variable<Float>, dimensions: Int) throws -> Variable<Float> {
        switch self {
        case .relativeL2: return try OperatorLoss.relativeLp(prediction, target)
        case .relativeH1: return try OperatorLoss.relativeH1(prediction, target, dimensions: dimensions)
        }
    }
}

/// Supervised training and evaluation of a `NeuralOperator` on in-memory samples, through
/// the shared `Trainer` (schedule, progress, checkpoints, resume).
public enum OperatorTraining {
    /// Trains `op` on `train` with `loss` of decoded predictions; validates (mean relative L2)
    /// on `validation` each epoch when given. The trainer checkpoints carry the operator's
    /// metadata, so every checkpoint is also a loadable `NeuralOperator` file.
    public static func fit(_ op: NeuralOperator<Float>, train: OperatorSamples, validation: OperatorSamples?,
                           loss: OperatorLossKind, optimizer: any Optimizer<Float>, options: TrainingOptions,
                           resume: Bool = true, log: ((String) -> Void)? = nil) throws -> (history: TrainingHistory, interrupted: Bool) {
        var options = options
        options.checkpointMetadata.merge(try op.metadata()) { _, new in new }
        let trainer = try Trainer<Float>(model: op, optimizer: optimizer, options: options)
        if let log { trainer.log = log }
        let d = op.architecture.dimensions
        op.setTraining(true)        // batch statistics in normalization layers; validation switches them off and back
        let history = try trainer.fit(sampleCount: train.count, loss: { indices in
            let (x, y) = try train.batch(indices)
            return try loss(try op(Variable(x)), Variable(y), dimensions: d)
        }, validate: validation.map { v in {
            defer { op.setTraining(true) }
            return try meanRelativeError(op, v)
        } }, resume: resume)
        op.setTraining(false)
        return (history, trainer.wasInterrupted)
    }

    /// Predictions of `op` for `inputs` `[N, C, n…]`, `batch` samples at a time, without
    /// gradients, in evaluation mode (batch normalization uses its running statistics).
    public static func predict(_ op: NeuralOperator<Float>, inputs: Tensor<Float>, batch: Int = 20) throws -> Tensor<Float> {
        guard batch >= 1 else { throw LearningError.invalidArgument(name: "batch", value: "\(batch)", expected: "an integer ≥ 1") }
        op.setTraining(false)       // running statistics in normalization layers
        return try Autodiff.withoutGradient {
            var out: [Float] = []
            var shape: [Int] = []
            var start = 0
            let n = inputs.shape[0]
            while start < n {
                let x = try OperatorSamples.rows(inputs, Array(start..<min(n, start + batch)))
                let y = try op(Variable(x)).value
                out += y.scalars
                shape = Array(y.shape.dropFirst())
                start += batch
            }
            return try Tensor(shape: [n] + shape, scalars: out)
        }
    }

    /// Relative L2 error of every sample: ‖ŷ − y‖₂/‖y‖₂ (in Double).
    public static func relativeErrors(_ op: NeuralOperator<Float>, _ samples: OperatorSamples, batch: Int = 20) throws -> [Double] {
        let prediction = try predict(op, inputs: samples.inputs, batch: batch)
        return try relativeErrors(prediction, samples.outputs)
    }

    /// Per-sample relative L2 errors of `prediction` against `truth` (same shape `[N, …]`).
    public static func relativeErrors(_ prediction: Tensor<Float>, _ truth: Tensor<Float>) throws -> [Double] {
        guard prediction.shape == truth.shape, prediction.rank >= 2 else {
            throw LearningError.shapeMismatch(operation: "relative errors", expected: "prediction and truth of one shape [N, …]",
                                              got: "\(prediction.shape) and \(truth.shape)")
        }
        let n = truth.shape[0], per = truth.count / n
        return (0..<n).map { s in
            var num = 0.0, den = 0.0
            for i in (s * per)..<((s + 1) * per) {
                let t = Double(truth.scalars[i]), e = Double(prediction.scalars[i]) - t
                num += e * e
                den += t * t
            }
            return (num / den).squareRoot()
        }
    }

    /// Mean relative L2 error over `samples`.
    public static func meanRelativeError(_ op: NeuralOperator<Float>, _ samples: OperatorSamples) throws -> Double {
        let e = try relativeErrors(op, samples)
        return e.reduce(0, +) / Double(e.count)
    }
}
