import Learning

/// The training losses of neural operators, as differentiable `Variable` expressions with a
/// stated batch reduction: every loss is computed per sample (over all non-batch axes) and
/// averaged over the batch — FNO's reference code sums over the batch instead, so its
/// numbers are ours times the batch size.
public enum OperatorLoss {
    /// Relative Lp error per sample, batch mean: mean_b ‖ŷ_b − y_b‖_p / ‖y_b‖_p, with the
    /// p-norm over every axis but the first (the sample axis) — the discrete norm, so a grid
    /// spacing factor would cancel. p = 2 is FNO's loss. Throws `LearningError` for shapes
    /// that differ, fewer than 2 axes, or p < 1.
    public static func relativeLp<T: TensorScalar>(_ prediction: Variable<T>, _ target: Variable<T>, p: Double = 2) throws -> Variable<T> {
        guard prediction.value.shape == target.value.shape, prediction.value.shape.count >= 2 else {
            throw LearningError.shapeMismatch(operation: "relative Lp loss", expected: "prediction and target of one shape [batch, …]",
                                              got: "\(prediction.value.shape) and \(target.value.shape)")
        }
        guard p >= 1, p.isFinite else {
            throw LearningError.invalidArgument(name: "p", value: "\(p)", expected: "a finite p ≥ 1")
        }
        let axes = Array(1..<prediction.value.shape.count)
        func norm(_ v: Variable<T>) throws -> Variable<T> {
            if p == 2 { return try v.square().sum(alongAxes: axes).sqrt() }
            if p == 1 { return try v.abs().sum(alongAxes: axes) }
            return try v.abs().pow(p).sum(alongAxes: axes).pow(1 / p)
        }
        return (try norm(prediction - target) / norm(target)).mean()
    }

    /// Relative H¹ error per sample on a periodic grid, batch mean:
    /// mean_b ‖ŷ_b − y_b‖_{H¹} / ‖y_b‖_{H¹} with ‖u‖²_{H¹} = Σ_k (1 + |k|²)|û_k|² over the
    /// last `dimensions` axes (angular wavenumbers 2πk/L, periods `lengths`, default 1), the
    /// derivatives taken spectrally (exact for the resolved modes). Leading axes other than
    /// the batch (channels, time) are summed into the norm. Throws `LearningError` for
    /// mismatched shapes, a bad dimension count or periods.
    public static func relativeH1<T: TensorScalar>(_ prediction: Variable<T>, _ target: Variable<T>, dimensions d: Int,
                                                   lengths: [Double]? = nil) throws -> Variable<T> {
        let shape = prediction.value.shape
        guard shape == target.value.shape, (1...3).contains(d), shape.count >= d + 1 else {
            throw LearningError.shapeMismatch(operation: "relative H1 loss", expected: "prediction and target of one shape [batch, …, n₁, …, n_d] with 1 ≤ d ≤ 3",
                                              got: "\(shape) and \(target.value.shape), d = \(d)")
        }
        let periods = lengths ?? Array(repeating: 1, count: d)
        guard periods.count == d, periods.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LearningError.invalidArgument(name: "lengths", value: "\(periods)", expected: "\(d) positive finite periods")
        }
        let weight = Variable(try sobolevWeights(sizes: Array(shape.suffix(d)), lengths: periods, as: T.self))
        func norm(_ v: Variable<T>) throws -> Variable<T> {
            let spectrum = try v.rfft(dimensions: d).square()                 // re², im² on the trailing axis
            let weighted = try spectrum * weight                              // broadcasts over leading axes
            return try weighted.sum(alongAxes: Array(1..<(shape.count + 1))).sqrt()
        }
        return (try norm(prediction - target) / norm(target)).mean()
    }

    /// (1 + |k|²) per half-spectrum entry (shape [n₁, …, n_d/2 + 1, 2]), doubled for the
    /// modes that stand for a conjugate pair (0 < k_d < n_d/2), so that the half spectrum
    /// sums to the full Σ_k over all modes.
    static func sobolevWeights<T: TensorScalar>(sizes: [Int], lengths: [Double], as _: T.Type) throws -> Tensor<T> {
        let half = sizes[sizes.count - 1] / 2 + 1
        let shape = Array(sizes.dropLast()) + [half, 2]
        let count = shape.reduce(1, *)
        var values = [T](repeating: 0, count: count)
        let d = sizes.count
        var index = [Int](repeating: 0, count: d)
        for flat in 0..<(count / 2) {
            var r = flat
            index[d - 1] = r % half; r /= half
            for axis in stride(from: d - 2, through: 0, by: -1) { index[axis] = r % sizes[axis]; r /= sizes[axis] }
            var k2 = 0.0
            for axis in 0..<d {
                let n = sizes[axis], i = index[axis]
                let k = axis == d - 1 ? Double(i) : Double(i <= n / 2 ? i : i - n)
                let w = 2 * Double.pi * k / lengths[axis]
                k2 += w * w
            }
            let last = index[d - 1], n = sizes[d - 1]
            let pair = last > 0 && !(n % 2 == 0 && last == n / 2) ? 2.0 : 1.0
            values[2 * flat] = T(pair * (1 + k2))
            values[2 * flat + 1] = T(pair * (1 + k2))
        }
        return try Tensor(shape: shape, scalars: values)
    }
}
