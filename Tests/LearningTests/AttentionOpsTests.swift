import Foundation
import Testing
@testable import Learning

/// Softmax, attention, dropout, max pooling and circular padding: forward values against
/// direct loops, finite-difference gradients (Double) and typed errors.
@Suite struct AttentionOpsTests {
    // MARK: Softmax

    /// Softmax along `axis` of a rank-3 tensor by direct loops.
    static func referenceSoftmax(_ x: Tensor<Double>, axis: Int, log: Bool) -> Tensor<Double> {
        var y = x
        let s = x.shape
        for i in 0..<s[0] { for j in 0..<s[1] { for k in 0..<s[2] {
            var line: [Double] = []
            for t in 0..<s[axis] {
                var idx = [i, j, k]
                idx[axis] = t
                line.append(x.scalars[(idx[0] * s[1] + idx[1]) * s[2] + idx[2]])
            }
            let m = line.max()!
            let z = line.reduce(0) { $0 + Foundation.exp($1 - m) }
            let v = x[i, j, k]
            y[i, j, k] = log ? v - m - Foundation.log(z) : Foundation.exp(v - m) / z
        } } }
        return y
    }

    @Test(arguments: [0, 1, 2, -1, -3])
    func softmaxValuesAndGradients(axis: Int) throws {
        let x = variable([2, 3, 4], seed: 21, low: -3, high: 3)
        let a = axis < 0 ? axis + 3 : axis
        let y = try x.softmax(axis: axis), ly = try x.logSoftmax(axis: axis)
        #expect(maxDifference(y.value, Self.referenceSoftmax(x.value, axis: a, log: false)) < 1e-14)
        #expect(maxDifference(ly.value, Self.referenceSoftmax(x.value, axis: a, log: true)) < 1e-13)
        let sums = try y.value.sum(alongAxes: [a])
        #expect(sums.scalars.allSatisfy { Swift.abs($0 - 1) < 1e-14 })
        try checkGradients([x]) { try x.softmax(axis: axis) }
        try checkGradients([x]) { try x.logSoftmax(axis: axis) }
    }

    @Test func softmaxIsStableForLargeInputs() throws {
        let x = Variable(try Tensor<Float>(shape: [2, 3], scalars: [1000, 1001, 1002, -1000, -1001, -1002]))
        let y = try x.softmax(), ly = try x.logSoftmax()
        #expect(y.value.scalars.allSatisfy { $0.isFinite })
        #expect(ly.value.scalars.allSatisfy { $0.isFinite })
        let ref = Self.referenceSoftmax(try Tensor<Double>(shape: [2, 3, 1], scalars: [0, 1, 2, 0, -1, -2]), axis: 1, log: false)
        #expect(maxDifference(y.value.converted(to: Double.self), ref) < 1e-6)
        #expect(Swift.abs(Double(ly.value[0, 2]) - Foundation.log(ref.scalars[2])) < 1e-5)
    }

    @Test func softmaxRejectsBadAxes() throws {
        let x = variable([2, 3], seed: 22)
        #expect(throws: LearningError.self) { try x.softmax(axis: 2) }
        #expect(throws: LearningError.self) { try x.logSoftmax(axis: -3) }
        #expect(throws: LearningError.self) { try Variable(Tensor<Double>(1.5)).softmax() }
    }

    // MARK: Attention

    /// softmax(scale Q Kᵀ) V by direct loops over [B, H, L, D].
    static func referenceAttention(_ q: Tensor<Double>, _ k: Tensor<Double>, _ v: Tensor<Double>, scale: Double) -> Tensor<Double> {
        let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (lk, dv) = (k.shape[2], v.shape[3])
        var out = Tensor<Double>(zeros: [b, h, lq, dv])
        for i in 0..<b { for j in 0..<h { for r in 0..<lq {
            var s = [Double](repeating: 0, count: lk)
            for c in 0..<lk { for t in 0..<d { s[c] += q[i, j, r, t] * k[i, j, c, t] }; s[c] *= scale }
            let m = s.max()!
            let e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
            for t in 0..<dv { out[i, j, r, t] = (0..<lk).reduce(0) { $0 + e[$1] / z * v[i, j, $1, t] } }
        } } }
        return out
    }

    @Test func attentionValuesAndGradients() throws {
        let q = variable([2, 3, 2, 4], seed: 23, low: -2, high: 2)
        let k = variable([2, 3, 5, 4], seed: 24, low: -2, high: 2)
        let v = variable([2, 3, 5, 3], seed: 25)
        let y = try Variable.attention(query: q, key: k, value: v)
        #expect(y.shape == [2, 3, 2, 3])
        #expect(maxDifference(y.value, Self.referenceAttention(q.value, k.value, v.value, scale: 0.5)) < 1e-14)
        let y2 = try Variable.attention(query: q, key: k, value: v, scale: 1.3)
        #expect(maxDifference(y2.value, Self.referenceAttention(q.value, k.value, v.value, scale: 1.3)) < 1e-14)
        try checkGradients([q, k, v]) { try Variable.attention(query: q, key: k, value: v) }
        try checkGradients([q, k, v]) { try Variable.attention(query: q, key: k, value: v, scale: 0.8) }
        // Self-attention: one variable in all three roles.
        let x = variable([1, 2, 3, 4], seed: 26)
        try checkGradients([x]) { try Variable.attention(query: x, key: x, value: x) }
    }

    @Test func attentionWithLatentQueriesInFloat() throws {
        // LSM's shape: a few latent tokens attend to the patches, 8 heads.
        var g = SeededGenerator(seed: 27)
        let q = Variable(Tensor<Float>.randomNormal(shape: [2, 8, 4, 8], generator: &g), requiresGradient: true)
        let k = Variable(Tensor<Float>.randomNormal(shape: [2, 8, 64, 8], generator: &g), requiresGradient: true)
        let v = Variable(Tensor<Float>.randomNormal(shape: [2, 8, 64, 8], generator: &g), requiresGradient: true)
        let y = try Variable.attention(query: q, key: k, value: v)
        #expect(y.shape == [2, 8, 4, 8])
        let ref = Self.referenceAttention(q.value.converted(), k.value.converted(), v.value.converted(), scale: 1 / 8.0.squareRoot())
        #expect(maxDifference(y.value.converted(to: Double.self), ref) < 1e-5)
        try y.sum().backward()
        #expect(q.grad?.shape == q.shape && k.grad?.shape == k.shape && v.grad?.shape == v.shape)
    }

    @Test func attentionRejectsBadInputs() throws {
        let q = variable([1, 2, 3, 4], seed: 28), k = variable([1, 2, 5, 4], seed: 29), v = variable([1, 2, 5, 3], seed: 30)
        func shapeError(_ body: () throws -> Variable<Double>) -> Bool {
            do { _ = try body(); return false } catch let LearningError.shapeMismatch(operation, _, _) { return operation == "attention" } catch { return false }
        }
        #expect(shapeError { try Variable.attention(query: q, key: k, value: variable([1, 2, 4, 3], seed: 31)) })  // Lk
        #expect(shapeError { try Variable.attention(query: q, key: variable([1, 2, 5, 3], seed: 32), value: v) })  // D
        #expect(shapeError { try Variable.attention(query: q, key: variable([2, 2, 5, 4], seed: 33), value: v) })  // batch
        #expect(shapeError { try Variable.attention(query: variable([3, 4], seed: 34), key: variable([5, 4], seed: 35), value: variable([5, 3], seed: 36)) })
        #expect(throws: LearningError.self) { try Variable.attention(query: q, key: k, value: v, scale: 0) }
        #expect(throws: LearningError.self) { try Variable.attention(query: q, key: k, value: v, scale: .nan) }
        #expect(throws: LearningError.self) {
            try Variable.attention(query: q, key: Variable(Tensor<Double>(zeros: [1, 2, 0, 4])), value: Variable(Tensor<Double>(zeros: [1, 2, 0, 3])))
        }
    }

    // MARK: Dropout

    @Test func dropoutPreservesTheMeanAndIsReproducible() throws {
        let n = 100_000, rate = 0.25
        let x = Variable(Tensor<Double>(repeating: 1, shape: [n]), requiresGradient: true)
        var g1 = SeededGenerator(seed: 40), g2 = SeededGenerator(seed: 40)
        let y = try x.dropout(rate: rate, generator: &g1, training: true)
        let scale = 1 / (1 - rate)
        #expect(y.value.scalars.allSatisfy { $0 == 0 || $0 == scale })
        let mean = y.value.sum() / Double(n)
        // σ of the mean: √(p/(1−p)/n) ≈ 0.0018.
        #expect(Swift.abs(mean - 1) < 0.01, "mean \(mean)")
        let dropped = Double(y.value.scalars.filter { $0 == 0 }.count) / Double(n)
        #expect(Swift.abs(dropped - rate) < 0.01, "dropped fraction \(dropped)")
        // The same seed gives the same mask; another seed another one.
        #expect(try x.dropout(rate: rate, generator: &g2, training: true).value == y.value)
        var g3 = SeededGenerator(seed: 41)
        #expect(try x.dropout(rate: rate, generator: &g3, training: true).value != y.value)
        // The gradient is the mask times the scale (x = 1, so that is y).
        try y.backward(seed: Tensor(repeating: 1, shape: [n]))
        #expect(x.grad == y.value)
        let r = randomTensor([n], seed: 42)
        x.zeroGradient()
        try y.backward(seed: r)
        #expect(x.grad == (try r * y.value))
    }

    @Test func dropoutGradientAndEvaluation() throws {
        let x = variable([3, 4, 5], seed: 43)
        try checkGradients([x]) {
            var g = SeededGenerator(seed: 44)
            return try x.dropout(rate: 0.5, generator: &g, training: true)
        }
        // Not training (or rate 0): the identity, and the generator is not advanced.
        var g = SeededGenerator(seed: 45)
        let before = g.state
        #expect(try x.dropout(rate: 0.5, generator: &g, training: false) === x)
        #expect(try x.dropout(rate: 0, generator: &g, training: true) === x)
        #expect(g.state == before)
        #expect(throws: LearningError.self) { try x.dropout(rate: 1, generator: &g, training: true) }
        #expect(throws: LearningError.self) { try x.dropout(rate: -0.1, generator: &g, training: false) }
        #expect(throws: LearningError.self) { try x.dropout(rate: .nan, generator: &g, training: true) }
    }

    // MARK: Max pooling

    /// Max pooling by direct loops (any of 1–3 spatial axes, first maximum on ties); also the
    /// flat argmax of each output.
    static func referenceMaxPool(_ x: Tensor<Double>, kernel: [Int], stride: [Int]) -> (Tensor<Double>, [Int]) {
        let d = x.rank - 2
        let spatial = Array(x.shape[2...])
        let out = (0..<d).map { (spatial[$0] - kernel[$0]) / stride[$0] + 1 }
        let outCount = out.reduce(1, *), kCount = kernel.reduce(1, *), inCount = spatial.reduce(1, *)
        func unflatten(_ i: Int, _ dims: [Int]) -> [Int] {
            var r = [Int](repeating: 0, count: dims.count), i = i
            for a in Swift.stride(from: dims.count - 1, through: 0, by: -1) { r[a] = i % dims[a]; i /= dims[a] }
            return r
        }
        var ys: [Double] = [], arg: [Int] = []
        for p in 0..<(x.shape[0] * x.shape[1]) {
            for o in 0..<outCount {
                let oi = unflatten(o, out)
                var best = -Double.infinity, at = -1
                for w in 0..<kCount {
                    let wi = unflatten(w, kernel)
                    var flat = 0
                    for a in 0..<d { flat = flat * spatial[a] + oi[a] * stride[a] + wi[a] }
                    let k = p * inCount + flat
                    if at < 0 || x.scalars[k] > best { best = x.scalars[k]; at = k }
                }
                ys.append(best)
                arg.append(at)
            }
        }
        return (Tensor(unchecked: Array(x.shape[..<2]) + out, ys), arg)
    }

    static let poolCases: [(shape: [Int], kernel: [Int], stride: [Int]?)] = [
        ([2, 3, 8], [2], nil), ([2, 2, 9], [3], [2]), ([1, 2, 7], [3], [1]),
        ([2, 2, 4, 6], [2, 3], nil), ([1, 3, 5, 7], [2, 3], [2, 2]), ([1, 2, 6, 5], [3, 2], [1, 3]),
        ([1, 2, 4, 4, 6], [2, 2, 3], nil), ([1, 1, 5, 4, 5], [2, 2, 2], [2, 1, 3]),
    ]

    @Test(arguments: 0..<AttentionOpsTests.poolCases.count)
    func maxPoolingValuesAndGradients(index: Int) throws {
        let c = Self.poolCases[index]
        let x = variable(c.shape, seed: 50 + UInt64(index), low: -2, high: 2)
        let y = try x.maxPooled(kernel: c.kernel, stride: c.stride)
        let (ref, arg) = Self.referenceMaxPool(x.value, kernel: c.kernel, stride: c.stride ?? c.kernel)
        #expect(y.shape == ref.shape)
        #expect(y.value == ref)
        // The gradient goes to the argmax (summed where windows overlap).
        let r = randomTensor(y.shape, seed: 60)
        try y.backward(seed: r)
        var expected = Tensor<Double>(zeros: c.shape)
        for (i, k) in arg.enumerated() { expected.scalars[k] += r.scalars[i] }
        #expect(x.grad == expected)
        try checkGradients([x]) { try x.maxPooled(kernel: c.kernel, stride: c.stride) }
    }

    @Test func maxPoolingTiesGoToTheFirstMaximum() throws {
        let x = Variable(try Tensor<Double>(shape: [1, 1, 2, 4], scalars: [1, 3, 3, 3, 3, 2, 0, 3]), requiresGradient: true)
        let y = try x.maxPooled(kernel: [2, 2])
        #expect(y.value.scalars == [3, 3])
        try y.backward(seed: try Tensor(shape: [1, 1, 1, 2], scalars: [1, 10]))
        #expect(x.grad?.scalars == [0, 1, 10, 0, 0, 0, 0, 0])
        // NaN propagates, as in PyTorch.
        let n = Variable(try Tensor<Double>(shape: [1, 1, 4], scalars: [1, .nan, 2, 0]))
        let yn = try n.maxPooled(kernel: [2])
        #expect(yn.value.scalars[0].isNaN && yn.value.scalars[1] == 2)
    }

    @Test func maxPoolingRejectsBadInputs() throws {
        let x = variable([1, 2, 6, 6], seed: 61)
        #expect(throws: LearningError.self) { try variable([6, 6], seed: 62).maxPooled(kernel: [2]) }
        #expect(throws: LearningError.self) { try variable([1, 1, 2, 2, 2, 2], seed: 63).maxPooled(kernel: [1, 1, 1, 1]) }
        #expect(throws: LearningError.self) { try x.maxPooled(kernel: [2]) }
        #expect(throws: LearningError.self) { try x.maxPooled(kernel: [2, 0]) }
        #expect(throws: LearningError.self) { try x.maxPooled(kernel: [2, 2], stride: [1]) }
        #expect(throws: LearningError.self) { try x.maxPooled(kernel: [2, 2], stride: [1, 0]) }
        #expect(throws: LearningError.self) { try x.maxPooled(kernel: [7, 2]) }
    }

    // MARK: Circular padding

    @Test func circularPaddingValuesAndGradients() throws {
        let x = variable([2, 3, 4], seed: 70)
        let pads: [(before: Int, after: Int)] = [(2, 1), (1, 3)]
        let y = try x.paddedCircular(pads)
        #expect(y.shape == [2, 6, 8])
        for b in 0..<2 { for i in 0..<6 { for j in 0..<8 {
            #expect(y.value[b, i, j] == x.value[b, (i - 2 + 3) % 3, (j - 1 + 4) % 4])
        } } }
        try checkGradients([x]) { try x.paddedCircular(pads) }
        // Pads longer than the axis wrap around again; all axes; a single axis.
        let z = try x.paddedCircular([(0, 0), (4, 0), (0, 9)])
        #expect(z.shape == [2, 7, 13])
        #expect(z.value[1, 0, 12] == x.value[1, 2, 0] && z.value[0, 3, 5] == x.value[0, 2, 1])
        try checkGradients([x]) { try x.paddedCircular([(1, 2), (4, 0), (0, 9)]) }
        try checkGradients([x]) { try x.paddedCircular([(3, 2)]) }
        // No padding: the same values.
        #expect(try x.paddedCircular([(0, 0)]).value == x.value)
        // The gradient sums the wrapped copies: padding a length-2 axis by (1, 1) of ones.
        let w = Variable(Tensor<Double>(repeating: 1, shape: [2]), requiresGradient: true)
        try w.paddedCircular([(1, 1)]).sum().backward()
        #expect(w.grad?.scalars == [2, 2])
    }

    @Test func circularPaddingRejectsBadInputs() throws {
        let x = variable([2, 3], seed: 71)
        #expect(throws: LearningError.self) { try x.paddedCircular([(1, 1), (1, 1), (1, 1)]) }
        #expect(throws: LearningError.self) { try x.paddedCircular([(-1, 1)]) }
        #expect(throws: LearningError.self) { try Variable(Tensor<Double>(zeros: [2, 0])).paddedCircular([(1, 0)]) }
    }

    // MARK: PyTorch parity

    @Test(.enabled(if: Python.has("torch"), "needs PyTorch"))
    func pytorchParity() throws {
        let q = randomTensor([1, 2, 3, 4], seed: 80), k = randomTensor([1, 2, 5, 4], seed: 81), v = randomTensor([1, 2, 5, 3], seed: 82)
        let x = randomTensor([1, 2, 6, 6], seed: 83)
        func list(_ t: Tensor<Double>) -> String { "torch.tensor([\(t.scalars.map { "\($0)" }.joined(separator: ","))], dtype=torch.float64).reshape(\(t.shape))" }
        let a = try Variable.attention(query: Variable(q), key: Variable(k), value: Variable(v))
        let s = try Variable(x).softmax(axis: 2)
        let m = try Variable(x).maxPooled(kernel: [3, 2], stride: [2, 1])
        let c = try Variable(x).paddedCircular([(2, 1), (1, 3)])
        let script = """
        import torch, torch.nn.functional as F, sys
        q, k, v, x = \(list(q)), \(list(k)), \(list(v)), \(list(x))
        def check(name, ours, theirs):
            d = (torch.tensor(ours, dtype=torch.float64) - theirs.flatten()).abs().max().item()
            if d > 1e-12: print(name, d); sys.exit(1)
        check("attention", \(a.value.scalars), F.scaled_dot_product_attention(q, k, v))
        check("softmax", \(s.value.scalars), torch.softmax(x, dim=2))
        check("maxpool", \(m.value.scalars), F.max_pool2d(x, (3, 2), (2, 1)))
        check("circular", \(c.value.scalars), F.pad(x, (1, 3, 2, 1), mode="circular"))
        """
        let r = Python.run(script)
        #expect(r.status == 0, "\(r.output)")
    }
}
