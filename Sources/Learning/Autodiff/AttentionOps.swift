/// Softmax, log-softmax, scaled dot-product attention and dropout on variables, with their
/// VJPs.
extension Variable {
    /// exp(xᵢ) / Σⱼ exp(xⱼ) along `axis` (negative axes count from the end), computed stably
    /// (the line's maximum is subtracted first; a line of −∞ gives NaN, as PyTorch). The VJP
    /// is y ⊙ (g − Σ g ⊙ y). Throws `LearningError.invalidArgument` for an axis out of range
    /// (a rank-0 variable has none).
    public func softmax(axis: Int = -1) throws -> Variable {
        let (outer, n, inner) = try SoftmaxKernels.lines(value, axis: axis)
        let y = SoftmaxKernels.forward(value, outer: outer, n: n, inner: inner, log: false)
        return Variable.record(y, [self]) { [self] g in
            accumulate(SoftmaxKernels.backward(y, g, outer: outer, n: n, inner: inner, log: false))
        }
    }

    /// log softmax along `axis`: xᵢ − max − log Σⱼ exp(xⱼ − max), without forming the softmax
    /// (no underflow to log 0). The VJP is g − softmax ⊙ Σ g. Throws
    /// `LearningError.invalidArgument` for an axis out of range.
    public func logSoftmax(axis: Int = -1) throws -> Variable {
        let (outer, n, inner) = try SoftmaxKernels.lines(value, axis: axis)
        let y = SoftmaxKernels.forward(value, outer: outer, n: n, inner: inner, log: true)
        return Variable.record(y, [self]) { [self] g in
            accumulate(SoftmaxKernels.backward(y, g, outer: outer, n: n, inner: inner, log: true))
        }
    }

    /// Scaled dot-product attention softmax(scale · Q Kᵀ) V, the softmax over the keys:
    /// query [B, H, Lq, D], key [B, H, Lk, D], value [B, H, Lk, Dv] → [B, H, Lq, Dv]
    /// (any number ≥ 1 of leading batch axes, equal for the three; `scale` defaults to 1/√D).
    /// The two products are batched BLAS GEMMs (`matmul`) and the graph is matmul → softmax →
    /// matmul, so the VJP is theirs. Throws `LearningError.shapeMismatch` for shapes that do
    /// not fit, `invalidArgument` for Lk or D of 0 or a scale that is not finite and positive.
    public static func attention(query: Variable, key: Variable, value: Variable, scale: Double? = nil) throws -> Variable {
        let qs = query.value.shape, ks = key.value.shape, vs = value.value.shape
        let r = qs.count
        guard r >= 3, ks.count == r, vs.count == r, qs.dropLast(2) == ks.dropLast(2), ks.dropLast(2) == vs.dropLast(2),
              qs[r - 1] == ks[r - 1], ks[r - 2] == vs[r - 2] else {
            throw LearningError.shapeMismatch(operation: "attention",
                                              expected: "query [B, H, Lq, D], key [B, H, Lk, D], value [B, H, Lk, Dv] (equal batch axes)",
                                              got: "query \(shapeString(qs)), key \(shapeString(ks)), value \(shapeString(vs))")
        }
        guard ks[r - 2] >= 1, qs[r - 1] >= 1 else {
            throw LearningError.invalidArgument(name: "attention", value: "Lk = \(ks[r - 2]), D = \(qs[r - 1])", expected: "at least one key and one feature")
        }
        let s = scale ?? 1 / Double(qs[r - 1]).squareRoot()
        guard s.isFinite, s > 0 else {
            throw LearningError.invalidArgument(name: "attention scale", value: "\(s)", expected: "a finite positive number")
        }
        // Scaling the queries (Lq·D entries) is cheaper than scaling the scores (Lq·Lk).
        let scores = try Variable.matmul(query.apply(.scale(s)), key, transposeB: true)
        return try Variable.matmul(try scores.softmax(axis: -1), value)
    }

    /// Inverted dropout: while `training`, each element is kept with probability 1 − `rate`
    /// and scaled by 1/(1 − rate) (zeroed otherwise), so the mean is preserved; the mask is
    /// drawn from `generator` (one uniform per element, row-major: the same seed gives the
    /// same mask) and reused by the VJP (g ⊙ mask · scale). When not training, or for rate 0,
    /// it returns `self` and draws nothing. Throws `LearningError.invalidArgument` unless
    /// 0 ≤ rate < 1.
    public func dropout(rate: Double, generator: inout SeededGenerator, training: Bool) throws -> Variable {
        guard rate >= 0, rate < 1 else {
            throw LearningError.invalidArgument(name: "dropout rate", value: "\(rate)", expected: "a probability in [0, 1)")
        }
        guard training, rate > 0 else { return self }
        let keep = T(1 / (1 - rate))
        var m = [T](repeating: 0, count: value.count)
        for i in m.indices where generator.uniform() >= rate { m[i] = keep }
        let mask = Tensor(unchecked: value.shape, m)
        let y = try Tensor.elementwise(.multiply, value, mask)
        return Variable.record(y, [self]) { [self] g in accumulate(try Tensor.elementwise(.multiply, g, mask)) }
    }
}

/// Softmax along one axis of a row-major tensor seen as [outer, n, inner].
enum SoftmaxKernels {
    static func lines<T: TensorScalar>(_ x: Tensor<T>, axis: Int) throws -> (Int, Int, Int) {
        let a = try x.normalizedAxes([axis])[0]
        return (x.shape[..<a].reduce(1, *), x.shape[a], x.shape[(a + 1)...].reduce(1, *))
    }

    /// Lines per work item: enough elements to be worth a thread.
    static func parallelLines(_ count: Int, n: Int, _ body: (Int, Int) -> Void) {
        if count * n < 1 << 15 { body(0, count); return }
        Threads.parallelItems(count) { _, s, e in body(s, e) }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: TensorScalar>(_ x: Tensor<T>, outer: Int, n: Int, inner: Int, log: Bool) -> Tensor<T> {
        Tensor(uninitializedShape: x.shape) { y in
            x.scalars.withUnsafeBufferPointer { px in
                let px = px.baseAddress!
                parallelLines(outer * inner, n: n) { s, e in
                    let scratch = UnsafeMutablePointer<T>.allocate(capacity: n)
                    defer { scratch.deallocate() }
                    for line in s..<e {
                        let base = (line / inner) * n * inner + line % inner
                        var m = -T.infinity
                        for j in 0..<n {
                            let v = px[base + j * inner]
                            if v > m || v.isNaN { m = v }
                        }
                        var sum: T = 0
                        if inner == 1 && !log {
                            // A contiguous row: shifted into scratch, then the vectorized exp
                            // (its operands must not alias).
                            for j in 0..<n { scratch[j] = px[base + j] - m }
                            T.unaryKernel(.exp, scratch, y + base, n)
                            for j in 0..<n { sum += y[base + j] }
                        } else {
                            for j in 0..<n {
                                let k = base + j * inner
                                let ex = T._exp(px[k] - m)
                                sum += ex
                                if !log { y[k] = ex }
                            }
                        }
                        if log {
                            // (x − m) − log Σ: x − m is exact, m + log Σ would round at |m|'s scale.
                            let lse = T._log(sum)
                            for j in 0..<n { let k = base + j * inner; y[k] = (px[k] - m) - lse }
                        } else {
                            let r = 1 / sum
                            for j in 0..<n { y[base + j * inner] *= r }
                        }
                    }
                }
            }
        }
    }

    /// Softmax: gx = y ⊙ (g − Σ g ⊙ y); log-softmax: gx = g − exp(y) ⊙ Σ g.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: TensorScalar>(_ y: Tensor<T>, _ g: Tensor<T>, outer: Int, n: Int, inner: Int, log: Bool) -> Tensor<T> {
        Tensor(uninitializedShape: y.shape) { gx in
            y.scalars.withUnsafeBufferPointer { py in g.scalars.withUnsafeBufferPointer { pg in
                let py = py.baseAddress!, pg = pg.baseAddress!
                parallelLines(outer * inner, n: n) { s, e in
                    for line in s..<e {
                        let base = (line / inner) * n * inner + line % inner
                        var acc: T = 0
                        if log {
                            for j in 0..<n { acc += pg[base + j * inner] }
                            for j in 0..<n { let k = base + j * inner; gx[k] = pg[k] - T._exp(py[k]) * acc }
                        } else {
                            for j in 0..<n { let k = base + j * inner; acc += pg[k] * py[k] }
                            for j in 0..<n { let k = base + j * inner; gx[k] = py[k] * (pg[k] - acc) }
                        }
                    }
                }
            } }
        }
    }
}
