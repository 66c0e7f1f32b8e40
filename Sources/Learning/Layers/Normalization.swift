import Foundation

/// Batch normalization over the channel axis 1 of x [N, C, spatial…] (PyTorch's
/// BatchNorm1d/2d/3d with `track_running_stats`): in training mode the batch statistics
/// normalize (biased variance) and update the running estimates with momentum (unbiased
/// variance); in evaluation mode the running estimates normalize.
///
/// Checkpoint names follow PyTorch's state dict: `weight`, `bias` (trainable) and the
/// buffers `running_mean`, `running_var`, `num_batches_tracked` (variables that do not
/// require gradients: saved and loaded with the model, never seen by optimizers).
public final class BatchNorm<T: TensorScalar>: Layer {
    /// γ [C], trainable, initially 1; nil without the affine part.
    public let weight: Variable<T>?
    /// β [C], trainable, initially 0; nil without the affine part.
    public let bias: Variable<T>?
    /// Buffer [C]: the running mean estimate, initially 0 (PyTorch's name, kept for checkpoints).
    public let running_mean: Variable<T>
    /// Buffer [C]: the running (unbiased) variance estimate, initially 1 (PyTorch's name).
    public let running_var: Variable<T>
    /// Buffer []: the number of training batches seen (PyTorch's name; stored in the
    /// layer's precision, exact up to 2²⁴ batches in Float).
    public let num_batches_tracked: Variable<T>
    /// ε added to the variance before the square root.
    public let epsilon: Double
    /// Weight of the new batch statistic in the running estimates: r ← (1 − m)·r + m·s.
    public let momentum: Double
    /// Training mode (batch statistics, running estimates updated) when true; evaluation
    /// mode (running estimates) when false. Initially true, as PyTorch.
    public var isTraining = true

    /// A layer for `channels` channels: γ = 1, β = 0 (when `affine`), running mean 0 and
    /// variance 1. Throws `LearningError.invalidArgument` for channels < 1, ε < 0 or a
    /// momentum outside [0, 1].
    public init(channels: Int, epsilon: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true) throws {
        try checkPositive([channels], "BatchNorm channels")
        guard epsilon >= 0, epsilon.isFinite else {
            throw LearningError.invalidArgument(name: "BatchNorm epsilon", value: "\(epsilon)", expected: "a finite ε ≥ 0")
        }
        guard (0...1).contains(momentum) else {
            throw LearningError.invalidArgument(name: "BatchNorm momentum", value: "\(momentum)", expected: "a value in [0, 1]")
        }
        weight = affine ? Variable(Tensor(repeating: 1, shape: [channels]), requiresGradient: true) : nil
        bias = affine ? Variable(Tensor(zeros: [channels]), requiresGradient: true) : nil
        running_mean = Variable(Tensor(zeros: [channels]))
        running_var = Variable(Tensor(repeating: 1, shape: [channels]))
        num_batches_tracked = Variable(Tensor(0))
        self.epsilon = epsilon
        self.momentum = momentum
    }

    /// The number of channels C.
    public var channels: Int { running_mean.shape[0] }

    /// The running mean estimate [C].
    public var runningMean: Tensor<T> { running_mean.value }
    /// The running unbiased variance estimate [C].
    public var runningVariance: Tensor<T> { running_var.value }
    /// The number of training batches that updated the running estimates.
    public var batchesTracked: Int { Int(num_batches_tracked.value.scalars[0]) }

    /// Normalizes x [N, C, spatial…]: with the batch statistics in training mode (and then
    /// updates the running estimates, also without gradient recording, as PyTorch), with
    /// the running estimates in evaluation mode. Throws `LearningError.shapeMismatch` on
    /// another channel count or a rank below 2, and `invalidArgument` in training mode for a
    /// batch with one value per channel.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        guard x.shape.count >= 2, x.shape[1] == channels else {
            throw LearningError.shapeMismatch(operation: "BatchNorm(\(channels))", expected: "input [N, \(channels), spatial…]", got: shapeString(x.shape))
        }
        guard isTraining else {
            return try x.batchNormalized(mean: running_mean.value, variance: running_var.value, weight: weight, bias: bias, epsilon: epsilon)
        }
        let (y, mean, variance) = try x.batchNormalizedWithStatistics(weight: weight, bias: bias, epsilon: epsilon)
        let m = Double(x.value.count / channels)
        let unbiased = variance.map(.scale(m / (m - 1)))
        let keep = T(1 - momentum), take = T(momentum)
        running_mean.value = try running_mean.value * keep + mean * take
        running_var.value = try running_var.value * keep + unbiased * take
        num_batches_tracked.value = Tensor(num_batches_tracked.value.scalars[0] + 1)
        return y
    }
}

/// A module whose forward pass differs between training and evaluation (`BatchNorm`);
/// `Module.setTraining(_:)` switches every one in a model.
public protocol TrainingModeDependent: Module {
    /// Training mode when true, evaluation mode when false.
    var isTraining: Bool { get set }
}

extension BatchNorm: TrainingModeDependent {}

extension Module {
    /// Sets `isTraining` on this module and every `TrainingModeDependent` module in its tree
    /// (stored properties, arrays and optionals, as `namedVariables` walks them): PyTorch's
    /// `train()` (true) and `eval()` (false).
    public func setTraining(_ training: Bool) {
        var seen = Set<ObjectIdentifier>()
        setTrainingMode(self, training, &seen)
    }
}

private func setTrainingMode(_ value: Any, _ training: Bool, _ seen: inout Set<ObjectIdentifier>) {
    if let module = value as? Module {
        guard seen.insert(ObjectIdentifier(module)).inserted else { return }
        if let m = module as? any TrainingModeDependent { m.isTraining = training }
        var mirror: Mirror? = Mirror(reflecting: module)
        while let current = mirror {
            for child in current.children { setTrainingMode(child.value, training, &seen) }
            mirror = current.superclassMirror
        }
        return
    }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .collection?, .optional?:
        for child in mirror.children { setTrainingMode(child.value, training, &seen) }
    default:
        break
    }
}
