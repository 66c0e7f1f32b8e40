import Learning

/// Unit-Gaussian normalization of operator inputs or outputs (FNO's `UnitGaussianNormalizer`):
/// x ↦ (x − μ)/(σ + ε) with μ, σ from the training samples — per point (one μ, σ per entry
/// of a sample, the FNO default) or global (one pair) — and the inverse map for decoding
/// predictions. A `Module` whose `mean` and `std` are non-trainable variables, so they are
/// saved in and restored from the model's checkpoint (and the training statistics are the
/// ones used at evaluation). The statistics are accumulated in Double with a two-pass mean
/// and variance, so σ cannot come out negative or NaN by cancellation (neuraloperator #329).
public final class GaussianNormalizer<T: TensorScalar>: Module {
    /// Per-entry or whole-field statistics.
    public enum Mode: String, Sendable, CaseIterable { case perPoint = "per-point", global }

    /// μ, shape of one sample (per point) or [1] (global).
    public let mean: Variable<T>
    /// σ (population standard deviation), same shape as `mean`.
    public let std: Variable<T>
    /// Added to σ before dividing.
    public let epsilon: Double

    /// Statistics of `samples` (shape [N, …]) by `mode`. Throws `LearningError` for fewer than
    /// two axes, no samples, non-finite values, or ε < 0.
    public init(fitting samples: Tensor<T>, mode: Mode = .perPoint, epsilon: Double = 1e-5) throws {
        let shape = samples.shape
        guard shape.count >= 2, shape[0] >= 1, samples.count > 0 else {
            throw LearningError.shapeMismatch(operation: "Gaussian normalizer", expected: "samples of shape [N ≥ 1, …]", got: "\(shape)")
        }
        guard epsilon >= 0, epsilon.isFinite else {
            throw LearningError.invalidArgument(name: "epsilon", value: "\(epsilon)", expected: "a finite ε ≥ 0")
        }
        let values = samples.scalars.map { Double($0) }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw LearningError.invalidArgument(name: "normalizer samples", value: "\(bad)", expected: "finite values")
        }
        let n = shape[0], per = samples.count / n
        let groups = mode == .perPoint ? per : 1
        var mu = [Double](repeating: 0, count: groups), sigma = mu
        let members = mode == .perPoint ? Double(n) : Double(samples.count)
        for (i, v) in values.enumerated() { mu[mode == .perPoint ? i % per : 0] += v }
        for g in 0..<groups { mu[g] /= members }
        for (i, v) in values.enumerated() { let g = mode == .perPoint ? i % per : 0; let d = v - mu[g]; sigma[g] += d * d }
        for g in 0..<groups { sigma[g] = (sigma[g] / members).squareRoot() }
        let statShape = mode == .perPoint ? Array(shape.dropFirst()) : [1]
        mean = Variable(try Tensor(shape: statShape, scalars: mu.map { T($0) }))
        std = Variable(try Tensor(shape: statShape, scalars: sigma.map { T($0) }))
        self.epsilon = epsilon
    }

    /// (x − μ)/(σ + ε) for x of shape [batch, …sample shape] (differentiable).
    public func encode(_ x: Variable<T>) throws -> Variable<T> {
        try (x - mean) / (std + T(epsilon))
    }

    /// x·(σ + ε) + μ: predictions back in the data's units (differentiable).
    public func decode(_ x: Variable<T>) throws -> Variable<T> {
        try x * (std + T(epsilon)) + mean
    }
}
