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

    /// Statistics of shape `statisticsShape` (μ = 0, σ = 1) to be overwritten by a checkpoint
    /// (`Checkpoint.load` needs the variables before it fills them). Throws
    /// `LearningError.invalidArgument` for an empty shape or ε < 0.
    public init(statisticsShape: [Int], epsilon: Double = 1e-5) throws {
        guard !statisticsShape.isEmpty, statisticsShape.allSatisfy({ $0 >= 1 }), epsilon >= 0, epsilon.isFinite else {
            throw LearningError.invalidArgument(name: "normalizer statistics", value: "shape \(statisticsShape), ε \(epsilon)",
                                                expected: "a non-empty shape of sizes ≥ 1 and a finite ε ≥ 0")
        }
        mean = Variable(Tensor(zeros: statisticsShape))
        std = Variable(Tensor(repeating: 1, shape: statisticsShape))
        self.epsilon = epsilon
    }

    private init(mean: Tensor<T>, std: Tensor<T>, epsilon: Double) {
        self.mean = Variable(mean)
        self.std = Variable(std)
        self.epsilon = epsilon
    }

    /// Whether the statistics are one global pair (they then apply at any resolution).
    public var isGlobal: Bool { mean.value.count == 1 }

    /// The normalizer for samples whose trailing spatial axes have `sizes` points: itself when
    /// global or already of that size, else per-point statistics interpolated multilinearly
    /// between grids of nodes spanning the same interval with both endpoints (as subsampling
    /// `[::k]` of a node grid produces: 85 and 421 points of [0, 1]; not the periodic grids
    /// i/n of torus data, which would need j·old/new). This is what lets a
    /// per-point normalizer fitted at one resolution apply at another (zero-shot
    /// super-resolution). Throws `LearningError.shapeMismatch` for more sizes than the
    /// statistics have axes or a size below 1.
    public func resampled(to sizes: [Int]) throws -> GaussianNormalizer {
        if isGlobal { return self }
        let shape = mean.value.shape
        let d = sizes.count
        guard d <= shape.count, sizes.allSatisfy({ $0 >= 1 }) else {
            throw LearningError.shapeMismatch(operation: "normalizer resampling", expected: "at most \(shape.count) spatial sizes ≥ 1",
                                              got: "\(sizes)")
        }
        if Array(shape.suffix(d)) == sizes { return self }
        let lead = Array(shape.dropLast(d))
        let old = Array(shape.suffix(d))
        return GaussianNormalizer(mean: try interpolate(mean.value, lead: lead, from: old, to: sizes),
                                  std: try interpolate(std.value, lead: lead, from: old, to: sizes), epsilon: epsilon)
    }

    /// Multilinear interpolation of the trailing axes of `t` from node grids `old` to `new`.
    private func interpolate(_ t: Tensor<T>, lead: [Int], from old: [Int], to new: [Int]) throws -> Tensor<T> {
        let d = old.count
        let leadCount = lead.reduce(1, *), oldCount = old.reduce(1, *), newCount = new.reduce(1, *)
        let oldStrides = (0..<d).map { a in old[(a + 1)...].reduce(1, *) }
        var out = [T](repeating: 0, count: leadCount * newCount)
        let src = t.scalars
        var index = [Int](repeating: 0, count: d)
        for n in 0..<newCount {
            var r = n
            for a in stride(from: d - 1, through: 0, by: -1) { index[a] = r % new[a]; r /= new[a] }
            // Lower node and weight of the upper one, per axis.
            var base = [Int](repeating: 0, count: d), frac = [Double](repeating: 0, count: d)
            for a in 0..<d {
                let x = new[a] > 1 ? Double(index[a]) * Double(old[a] - 1) / Double(new[a] - 1) : 0
                let i = min(Int(x.rounded(.down)), max(0, old[a] - 2))
                base[a] = old[a] > 1 ? i : 0
                frac[a] = old[a] > 1 ? x - Double(i) : 0
            }
            for l in 0..<leadCount {
                var value = 0.0
                for corner in 0..<(1 << d) {
                    var w = 1.0, offset = l * oldCount
                    for a in 0..<d {
                        let up = (corner >> a) & 1 == 1
                        if up && old[a] == 1 { w = 0; break }
                        w *= up ? frac[a] : 1 - frac[a]
                        offset += (base[a] + (up ? 1 : 0)) * oldStrides[a]
                    }
                    if w != 0 { value += w * Double(src[offset]) }
                }
                out[l * newCount + n] = T(value)
            }
        }
        return try Tensor(shape: lead + new, scalars: out)
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
