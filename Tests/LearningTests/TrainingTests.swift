import Foundation
import Testing
@testable import Learning

@Suite struct TrainingTests {
    @Test func adamMatchesTheUpdateRule() throws {
        // Two Adam steps on f(p) = Σ p², checked against the formulas.
        let p = Variable(try Tensor<Double>(shape: [2], scalars: [1, -2]), requiresGradient: true)
        let opt = try Adam([("p", p)], learningRate: 0.1)
        var m = [0.0, 0.0], v = [0.0, 0.0], ref = [1.0, -2.0]
        for t in 1...2 {
            p.zeroGradient()
            try p.square().sum().backward()
            try opt.step()
            for i in 0..<2 {
                let g = 2 * ref[i]
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let mh = m[i] / (1 - Foundation.pow(0.9, Double(t))), vh = v[i] / (1 - Foundation.pow(0.999, Double(t)))
                ref[i] -= 0.1 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        #expect(Swift.abs(p.value.scalars[0] - ref[0]) < 1e-12 && Swift.abs(p.value.scalars[1] - ref[1]) < 1e-12)
        #expect(throws: LearningError.self) { _ = try Adam([("p", p)], learningRate: -1) }
        p.grad = Tensor([1, 2, 3])
        #expect(throws: LearningError.self) { try opt.step() }
        #expect(throws: LearningError.self) { _ = try Adam([("p", p)], beta1: 1.5) }
    }

    @Test func sgdMomentumWeightDecayAndConstraints() throws {
        let p = Variable(Tensor<Double>([1, -1]), requiresGradient: true)
        let opt = try SGD([("w", p)], learningRate: 0.5, momentum: 0.9, weightDecay: 0.1)
        opt.constraint = ParameterConstraint.clampMinimum(0, where: { $0 == "w" })
        p.grad = Tensor([1, 1])
        try opt.step()
        // v = g + 0.1 p = [1.1, 0.9]; p − 0.5 v = [0.45, −1.45] → clamped [0.45, 0].
        #expect(Swift.abs(p.value.scalars[0] - 0.45) < 1e-15 && p.value.scalars[1] == 0)
        p.grad = Tensor([0, 0])
        try opt.step()
        // v = 0.9·[1.1, 0.9] + 0.1·[0.45, 0] = [1.035, 0.81]; p = 0.45 − 0.5·1.035 < 0 → 0.
        #expect(maxDifference(opt.stateTensors()[0].tensor, Tensor([1.035, 0.81])) < 1e-15)
        #expect(p.value.scalars == [0, 0])
    }

    @Test func parameterAverageFollowsItsRecursionAndRestores() throws {
        let p = Variable(try Tensor<Double>(shape: [2], scalars: [1, -2]), requiresGradient: true)
        let q = Variable(Tensor<Double>([4]), requiresGradient: true)
        let avg = try ParameterAverage([("p", p), ("q", q)], decay: 0.75)
        // Starts at the values; a ← 0.75 a + 0.25 θ after each change.
        var ref = [1.0, -2.0, 4.0]
        for (k, step) in [[0.5, 1.0, -1.0], [2.0, 0.0, 3.0], [-1.0, 1.0, 0.0]].enumerated() {
            p.value = Tensor([p.value.scalars[0] + step[0], p.value.scalars[1] + step[1]])
            q.value = Tensor([q.value.scalars[0] + step[2]])
            avg.update()
            let now = p.value.scalars + q.value.scalars
            for i in 0..<3 { ref[i] = 0.75 * ref[i] + 0.25 * now[i] }
            #expect(zip(avg.averages[0].scalars + avg.averages[1].scalars, ref).allSatisfy { Swift.abs($0 - $1) < 1e-14 }, "step \(k)")
        }
        // The averages stand in for the values inside the closure only, also when it throws.
        let values = p.value.scalars + q.value.scalars
        let inside = avg.withAveragedParameters { p.value.scalars + q.value.scalars }
        #expect(inside == avg.averages[0].scalars + avg.averages[1].scalars)
        struct Stop: Error {}
        #expect(throws: Stop.self) { try avg.withAveragedParameters { throw Stop() } }
        #expect(p.value.scalars + q.value.scalars == values)
        // A checkpoint round trip, and the bad inputs.
        let saved = Dictionary(uniqueKeysWithValues: avg.checkpointTensors().map { ($0.name, $0.tensor) })
        #expect(saved.keys.sorted() == ["average.p", "average.q"])
        let other = try ParameterAverage([("p", p), ("q", q)], decay: 0.75)
        try other.restore(from: saved, path: "c.safetensors")
        #expect(other.averages.map(\.scalars) == avg.averages.map(\.scalars))
        #expect(throws: LearningError.self) { try other.restore(from: ["average.p": saved["average.p"]!], path: "c.safetensors") }
        #expect(throws: LearningError.self) { try other.restore(from: ["average.p": Tensor([1]), "average.q": Tensor([1])], path: "c.safetensors") }
        for bad in [1.0, -0.1, .nan] {
            #expect(throws: LearningError.self) { _ = try ParameterAverage([("p", p)], decay: bad) }
        }
    }

    @Test func schedulesAndClipping() throws {
        #expect(LearningRateSchedule.step(base: 1, stepSize: 2, gamma: 0.5).rate(at: 5) == 0.25)
        let cos = LearningRateSchedule.cosine(base: 1, total: 10, minimum: 0.1)
        #expect(cos.rate(at: 0) == 1 && Swift.abs(cos.rate(at: 10) - 0.1) < 1e-15 && Swift.abs(cos.rate(at: 5) - 0.55) < 1e-15)
        let warm = LearningRateSchedule.warmup(4, .constant(0.4))
        #expect(warm.rate(at: 0) == 0.1 && warm.rate(at: 3) == 0.4 && warm.rate(at: 10) == 0.4)
        #expect(throws: LearningError.self) { try LearningRateSchedule.cosine(base: 1, total: 0, minimum: 0).validate() }
        let a = Variable(Tensor<Double>([3, 0]), requiresGradient: true), b = Variable(Tensor<Double>([4]), requiresGradient: true)
        a.grad = Tensor([3, 0]); b.grad = Tensor([4])
        #expect(clipGradientNorm([a, b], maxNorm: 1) == 5)
        #expect(Swift.abs(try a.grad!.dot(a.grad!) + b.grad!.dot(b.grad!) - 1) < 1e-5)
        clipGradientValues([b], limit: 0.5)
        #expect(b.grad!.scalars == [0.5])
    }

    @Test func mlpFitsAFunction() throws {
        // y = sin(3x) on [−1, 1], 64 points; MLP 1-32-32-1 (tanh), Adam, 300 epochs of
        // full batches. Deterministic with the seed.
        var g = SeededGenerator(seed: 1)
        let mlp = try MLP<Float>(sizes: [1, 32, 32, 1], activation: .tanh, generator: &g)
        let xs = Tensor<Float>.linspace(-1, 1, count: 64)
        let x = Variable(try xs.reshaped([64, 1]))
        let y = Variable(try xs.map { Float(Foundation.sin(3 * Double($0))) }.reshaped([64, 1]))
        let opt = try Adam(mlp.namedParameters(Float.self), learningRate: 0.01)
        var options = TrainingOptions(epochs: 300, batchSize: 64, seed: 2)
        options.progress = false
        let trainer = try Trainer(model: mlp, optimizer: opt, options: options)
        let history = try trainer.fit(sampleCount: 64) { _ in try (try mlp(x) - y).square().mean() }
        let final = history.records.last!.trainingLoss
        #expect(final < 1e-3, "final loss \(final)")
        #expect(history.records.first!.trainingLoss > 10 * final)
    }

    @Test func convNetLearnsASmoothingFilter() throws {
        // Target: the 3×3 box filter (zero padding) applied to random images; a single 3×3
        // convolution learns it to a loss below 1e-6 (the filter is exactly representable).
        var g = SeededGenerator(seed: 3)
        let images = Tensor<Float>.randomNormal(shape: [16, 1, 12, 12], generator: &g)
        let box = Tensor<Float>(repeating: 1.0 / 9, shape: [1, 1, 3, 3])
        let target = try Variable.convolution(Variable(images), weight: Variable(box), padding: [1, 1]).value
        let net = try Convolution<Float>(inChannels: 1, outChannels: 1, kernel: [3, 3], padding: [1, 1], generator: &g)
        let opt = try Adam(net.namedParameters(Float.self), learningRate: 0.02)
        var options = TrainingOptions(epochs: 150, batchSize: 8, seed: 4)
        options.progress = false
        options.schedule = .cosine(base: 0.02, total: 150, minimum: 1e-4)
        let trainer = try Trainer(model: net, optimizer: opt, options: options)
        let history = try trainer.fit(sampleCount: 16) { idx in
            let xb = Variable(try images.gathered(idx, axis: 0)), yb = Variable(try target.gathered(idx, axis: 0))
            return try (try net(xb) - yb).square().mean()
        }
        #expect(history.records.last!.trainingLoss < 1e-6, "\(history.records.last!.trainingLoss)")
        #expect(maxDifference(net.weight.value, box) < 2e-3)
    }

    @Test func earlyStoppingRestoresTheBestEpoch() throws {
        var g = SeededGenerator(seed: 5)
        let lin = try Linear<Double>(inputs: 1, outputs: 1, generator: &g)
        let opt = try SGD(lin.namedParameters(Double.self), learningRate: 0.1)
        var options = TrainingOptions(epochs: 50, batchSize: 1, seed: 6)
        options.progress = false
        options.earlyStoppingPatience = 3
        options.restoreBest = true
        var calls = 0
        let trainer = try Trainer(model: lin, optimizer: opt, options: options)
        var lines: [String] = []
        trainer.options.progress = true
        trainer.log = { lines.append($0) }
        // A validation loss that is best at the third epoch and worse afterwards.
        var weightAtBest = 0.0
        let history = try trainer.fit(sampleCount: 4, loss: { _ in lin.weight.square().sum() }, validate: {
            calls += 1
            if calls == 3 { weightAtBest = lin.weight.value.scalars[0] }
            return calls == 3 ? 0 : 1
        })
        #expect(history.stoppedEarly && history.bestEpoch == 3 && history.records.count == 6)
        #expect(lin.weight.value.scalars[0] == weightAtBest)
        // One progress line per epoch (epoch, loss, validation, rate, samples/s, ETA), then the stop.
        #expect(lines.count == 7)
        #expect(lines[0].hasPrefix("epoch 1/50  loss ") && lines[0].contains("  val ") && lines[0].contains(" samples/s  ETA "))
        #expect(lines[6].hasPrefix("early stop"))
        // Bad options are typed errors.
        #expect(throws: LearningError.self) { _ = try Trainer(model: lin, optimizer: opt, options: TrainingOptions(epochs: 0, batchSize: 1)) }
        #expect(throws: LearningError.self) { _ = try trainer.fit(sampleCount: 0) { _ in lin.weight.sum() } }
    }
}
