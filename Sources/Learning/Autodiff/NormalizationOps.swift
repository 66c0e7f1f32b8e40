/// Normalization over chosen axes (layer norm) and over the batch and spatial axes per
/// channel (batch norm), each one graph node with a hand-written VJP through the
/// statistics.
extension Variable {
    /// (x − μ)/√(σ² + ε) with μ and the biased variance σ² taken over `axes` (negative ones
    /// count from the end), per position of the other axes: PyTorch's `layer_norm` over
    /// those axes without the affine part (multiply and add your own gain and offset).
    /// VJP: with x̂ the result and r = 1/√(σ² + ε), ∂L/∂x = r·(ḡ − mean(ḡ) − x̂·mean(ḡ·x̂)),
    /// the means over `axes`. Throws `LearningError.invalidArgument` for an empty, repeated
    /// or out-of-range axis list or ε < 0.
    public func layerNormalized(axes: [Int], epsilon: Double = 1e-5) throws -> Variable {
        let normalized = try value.normalizedAxes(axes)
        guard !axes.isEmpty, normalized.count == axes.count else {
            throw LearningError.invalidArgument(name: "layerNormalized axes", value: "\(axes) on \(shapeString(value.shape))",
                                                expected: "one or more distinct axes")
        }
        try Variable.checkEpsilon(epsilon, "layerNormalized")
        let (xhat, r, _, _) = try Variable.standardize(value, axes: normalized, epsilon: epsilon)
        return Variable.record(xhat, [self]) { [self] g in
            accumulate(try Variable.standardizeBackward(g, xhat: xhat, r: r, axes: normalized))
        }
    }

    /// Batch normalization with batch statistics (training mode) of x [N, C, S…] (S… may be
    /// empty): per channel c, μ_c and the biased variance σ²_c over the batch and spatial
    /// axes, y = (x − μ_c)/√(σ²_c + ε)·w_c + b_c (w = 1 and b = 0 when nil; both [C]).
    /// The VJP runs through the statistics: ∂L/∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with
    /// ĝ = ḡ·w_c, ∂L/∂w_c = Σ ḡ·x̂, ∂L/∂b_c = Σ ḡ. Throws `LearningError.shapeMismatch` for
    /// a rank below 2 or weight/bias not [C], and `invalidArgument` for ε < 0 or a single
    /// value per channel (N·ΠS = 1, as PyTorch).
    public func batchNormalized(weight: Variable? = nil, bias: Variable? = nil, epsilon: Double = 1e-5) throws -> Variable {
        try batchNormalizedWithStatistics(weight: weight, bias: bias, epsilon: epsilon).output
    }

    /// Batch normalization with given per-channel statistics (evaluation mode, e.g. running
    /// estimates): y = (x − mean_c)/√(variance_c + ε)·w_c + b_c for x [N, C, S…], `mean` and
    /// `variance` [C] constants. VJP: ∂L/∂x = ḡ·w_c·r_c, ∂L/∂w_c = Σ ḡ·x̂, ∂L/∂b_c = Σ ḡ.
    /// Throws `LearningError.shapeMismatch` for a rank below 2 or a weight, bias, mean or
    /// variance not [C], and `invalidArgument` for ε < 0 or a variance + ε ≤ 0.
    public func batchNormalized(mean: Tensor<T>, variance: Tensor<T>, weight: Variable? = nil, bias: Variable? = nil,
                                epsilon: Double = 1e-5) throws -> Variable {
        let (c, kept, axes) = try batchNormShapes(weight: weight, bias: bias, epsilon: epsilon)
        guard mean.shape == [c], variance.shape == [c] else {
            throw LearningError.shapeMismatch(operation: "batchNormalized", expected: "mean and variance [\(c)]",
                                              got: "\(shapeString(mean.shape)) and \(shapeString(variance.shape))")
        }
        guard variance.scalars.allSatisfy({ Double($0) + epsilon > 0 }) else {
            throw LearningError.invalidArgument(name: "batchNormalized variance", value: "a variance + ε ≤ 0", expected: "variance + ε > 0")
        }
        let r = try (variance + T(epsilon)).map(.power(-0.5)).reshaped(kept)
        let xhat = try (try value - mean.reshaped(kept)) * r
        return try affine(xhat, weight: weight, bias: bias, kept: kept, axes: axes) { gxhat in try gxhat * r }
    }

    /// Training-mode batch normalization, also returning the per-channel batch mean and
    /// biased variance [C] (for running estimates).
    func batchNormalizedWithStatistics(weight: Variable?, bias: Variable?, epsilon: Double) throws
        -> (output: Variable, mean: Tensor<T>, variance: Tensor<T>) {
        let (c, kept, axes) = try batchNormShapes(weight: weight, bias: bias, epsilon: epsilon)
        let m = value.count / max(1, c)
        guard m > 1 else {
            throw LearningError.invalidArgument(name: "batchNormalized input", value: shapeString(value.shape),
                                                expected: "more than one value per channel in training mode")
        }
        let (xhat, r, mean, variance) = try Variable.standardize(value, axes: axes, epsilon: epsilon)
        let y = try affine(xhat, weight: weight, bias: bias, kept: kept, axes: axes) { gxhat in
            try Variable.standardizeBackward(gxhat, xhat: xhat, r: r, axes: axes)
        }
        return (y, try mean.reshaped([c]), try variance.reshaped([c]))
    }

    /// Checks x [N, C, S…], weight and bias [C] and ε; returns C, the kept-dimensions shape
    /// [1, C, 1…] and the reduced axes (0 and the spatial ones).
    private func batchNormShapes(weight: Variable?, bias: Variable?, epsilon: Double) throws -> (Int, [Int], [Int]) {
        let s = value.shape
        guard s.count >= 2 else {
            throw LearningError.shapeMismatch(operation: "batchNormalized", expected: "x [N, C, spatial…]", got: shapeString(s))
        }
        let c = s[1]
        for (label, p) in [("weight", weight), ("bias", bias)] {
            if let p, p.shape != [c] {
                throw LearningError.shapeMismatch(operation: "batchNormalized \(label)", expected: "[\(c)]", got: shapeString(p.shape))
            }
        }
        try Variable.checkEpsilon(epsilon, "batchNormalized")
        var kept = [Int](repeating: 1, count: s.count)
        kept[1] = c
        return (c, kept, [0] + Array(2..<s.count))
    }

    /// y = x̂·w + b per channel, recorded with x̂'s gradient mapped to x's by `backToX`.
    private func affine(_ xhat: Tensor<T>, weight: Variable?, bias: Variable?, kept: [Int], axes: [Int],
                        backToX: @escaping (Tensor<T>) throws -> Tensor<T>) throws -> Variable {
        let wk = try weight.map { try $0.value.reshaped(kept) }
        var y = xhat
        if let wk { y = try y * wk }
        if let bias { y = try y + bias.value.reshaped(kept) }
        let c = kept[1]
        let parents = [self] + [weight, bias].compactMap { $0 }
        return Variable.record(y, parents) { [self] g in
            if let bias, bias.requiresGradient { bias.accumulate(try g.sum(alongAxes: axes).reshaped([c])) }
            if let weight, weight.requiresGradient { weight.accumulate(try (try g * xhat).sum(alongAxes: axes).reshaped([c])) }
            if requiresGradient { accumulate(try backToX(wk.map { try g * $0 } ?? g)) }
        }
    }

    /// x̂ = (x − μ)·r over `axes` (normalized), r = 1/√(σ² + ε) with the biased variance;
    /// returns x̂, and r, μ and σ² with the axes kept as size 1.
    static func standardize(_ x: Tensor<T>, axes: [Int], epsilon: Double) throws -> (Tensor<T>, Tensor<T>, Tensor<T>, Tensor<T>) {
        let m = axes.reduce(1) { $0 * x.shape[$1] }
        let inv = 1 / Double(max(1, m))
        let mean = try x.sum(alongAxes: axes, keepingDimensions: true).map(.scale(inv))
        let centered = try x - mean
        let variance = try centered.map(.square).sum(alongAxes: axes, keepingDimensions: true).map(.scale(inv))
        let r = (variance + T(epsilon)).map(.power(-0.5))
        return (try centered * r, r, mean, variance)
    }

    /// The VJP of `standardize` for x: r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), means over `axes`.
    static func standardizeBackward(_ g: Tensor<T>, xhat: Tensor<T>, r: Tensor<T>, axes: [Int]) throws -> Tensor<T> {
        let m = axes.reduce(1) { $0 * xhat.shape[$1] }
        let inv = 1 / Double(max(1, m))
        let meanG = try g.sum(alongAxes: axes, keepingDimensions: true).map(.scale(inv))
        let meanGX = try (try g * xhat).sum(alongAxes: axes, keepingDimensions: true).map(.scale(inv))
        return try (try (try g - meanG) - (try xhat * meanGX)) * r
    }

    static func checkEpsilon(_ epsilon: Double, _ operation: String) throws {
        guard epsilon >= 0, epsilon.isFinite else {
            throw LearningError.invalidArgument(name: "\(operation) epsilon", value: "\(epsilon)", expected: "a finite ε ≥ 0")
        }
    }
}
