import Foundation

/// An exponential moving average of parameters (Polyak–Ruppert iterate averaging with
/// exponential weights): after each optimizer step, a ← d·a + (1 − d)·θ for every parameter θ.
///
/// The average starts at the parameters' values when it is made, so it is unbiased from the
/// first step when training starts from a trained model (fine-tuning). Convex combinations
/// keep convex constraints: an average of non-negative weights is non-negative, so the
/// averaged input-convex network is still input-convex.
///
/// Stochastic gradients make the iterates of a small-step optimizer wander around the
/// optimum; the average keeps the drift and cancels most of the wander, with a memory of
/// about 1/(1 − d) steps.
public final class ParameterAverage<Scalar: TensorScalar> {
    /// d, the weight of the old average per step.
    public let decay: Double
    /// The averaged parameters with their names (module paths).
    public let parameters: [(name: String, variable: Variable<Scalar>)]
    /// The averages, in the order of `parameters`.
    public private(set) var averages: [Tensor<Scalar>]

    /// Prefix of the averages' tensor names in a checkpoint (`average.<parameter>`).
    public static var checkpointPrefix: String { "average." }

    /// Starts the average of `parameters` at their current values. Throws
    /// `LearningError.invalidArgument` unless 0 ≤ decay < 1.
    public init(_ parameters: [(name: String, variable: Variable<Scalar>)], decay: Double) throws {
        guard decay >= 0, decay < 1 else {
            throw LearningError.invalidArgument(name: "decay", value: "\(decay)", expected: "a number in [0, 1)")
        }
        self.decay = decay
        self.parameters = parameters
        averages = parameters.map(\.variable.value)
    }

    /// a ← d·a + (1 − d)·θ for every parameter (call after each optimizer step).
    public func update() {
        for (i, p) in parameters.enumerated() {
            averages[i].scaleInPlace(decay)
            averages[i].addUnchecked(p.variable.value, scaledBy: Scalar(1 - decay))
        }
    }

    /// The averages named `average.<parameter>`, for `Checkpoint.save(…, extra:)`.
    public func checkpointTensors() -> [(name: String, tensor: Tensor<Scalar>)] {
        zip(parameters, averages).map { (name: Self.checkpointPrefix + $0.name, tensor: $1) }
    }

    /// Restores the averages from a checkpoint's tensors (`checkpointTensors`' names). Throws
    /// `LearningError.checkpointMismatch` for a missing average or one of another shape.
    public func restore(from tensors: [String: Tensor<Scalar>], path: String) throws {
        var restored = averages
        for (i, p) in parameters.enumerated() {
            let name = Self.checkpointPrefix + p.name
            guard let t = tensors[name] else {
                throw LearningError.checkpointMismatch(path: path, tensor: name, reason: "missing from the file (a run without the average?)")
            }
            guard t.shape == p.variable.value.shape else {
                throw LearningError.checkpointMismatch(path: path, tensor: name,
                                                       reason: "shape \(shapeString(t.shape)), expected \(shapeString(p.variable.value.shape))")
            }
            restored[i] = t
        }
        averages = restored
    }

    /// Runs `body` with the averages in place of the parameters' values, then puts the values
    /// back (also when `body` throws).
    public func withAveragedParameters<R>(_ body: () throws -> R) rethrows -> R {
        let saved = parameters.map(\.variable.value)
        for (p, a) in zip(parameters, averages) { p.variable.value = a }
        defer { for (p, s) in zip(parameters, saved) { p.variable.value = s } }
        return try body()
    }
}
