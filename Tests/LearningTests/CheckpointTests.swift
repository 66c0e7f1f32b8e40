import Foundation
import Testing
@testable import Learning

final class TinyNet: Layer {
    let first: Linear<Float>
    let blocks: [Linear<Float>]
    let scale: Variable<Float>   // a buffer: saved, not trained
    init(generator g: inout SeededGenerator) throws {
        first = try Linear(inputs: 2, outputs: 8, generator: &g)
        blocks = [try Linear(inputs: 8, outputs: 8, generator: &g), try Linear(inputs: 8, outputs: 1, bias: false, generator: &g)]
        scale = Variable(Tensor([2]))
    }
    func callAsFunction(_ x: Variable<Float>) throws -> Variable<Float> {
        var h = try first(x).gelu()
        h = try blocks[0](h).tanh()
        return try blocks[1](h) * scale
    }
}

@Suite struct CheckpointTests {
    @Test func parameterNamesFollowPropertyPaths() throws {
        var g = SeededGenerator(seed: 1)
        let net = try TinyNet(generator: &g)
        #expect(net.namedVariables(Float.self).map(\.name) == ["first.weight", "first.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "scale"])
        #expect(net.namedParameters(Float.self).count == 5)
        #expect(net.parameterCount(Float.self) == 2 * 8 + 8 + 64 + 8 + 8)
    }

    @Test func safetensorsRoundTripAndBadFiles() throws {
        let dir = makeTemporaryFolder()
        let a = randomTensor([2, 3], seed: 2), b = randomTensor([4], seed: 3).converted(to: Float.self)
        let path = dir + "/t.safetensors"
        try SafeTensors.write([("a", .init(a)), ("b", .init(b))], metadata: ["k": "v"], to: path)
        let file = try SafeTensors.read(path)
        #expect(file.tensors["a"]!.tensor(Double.self) == a && file.tensors["b"]!.tensor(Float.self) == b)
        #expect(file.order == ["a", "b"] && file.metadata["k"] == "v")
        #expect(throws: LearningError.fileNotFound(path: dir + "/missing")) { _ = try SafeTensors.read(dir + "/missing") }
        let bad = dir + "/bad.safetensors"
        for bytes in [Data([1, 2, 3]), Data([200, 0, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8), Data([2, 0, 0, 0, 0, 0, 0, 0]) + Data("[]".utf8)] {
            try bytes.write(to: URL(fileURLWithPath: bad))
            #expect(throws: LearningError.self) { _ = try SafeTensors.read(bad) }
        }
        // A header whose offsets run past the data.
        var header = Data("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var len = UInt64(header.count).littleEndian
        try (Data(bytes: &len, count: 8) + header + Data(count: 8)).write(to: URL(fileURLWithPath: bad))
        do {
            _ = try SafeTensors.read(bad)
            Issue.record("expected an error")
        } catch let e as LearningError {
            #expect(e.description.contains("bad.safetensors") && e.description.contains("'x'"))
        }
    }

    @Test func checkpointRestoresModelAndOptimizer() throws {
        var g = SeededGenerator(seed: 4)
        let net = try TinyNet(generator: &g)
        let opt = try Adam(net.namedParameters(Float.self), learningRate: 0.01)
        let x = Variable(Tensor<Float>.randomNormal(shape: [5, 2], generator: &g))
        try net(x).sum().backward()
        try opt.step()
        let path = makeTemporaryFolder() + "/net.safetensors"
        try Checkpoint.save(model: net, optimizer: opt, metadata: ["config": "tiny"], to: path)
        var g2 = SeededGenerator(seed: 99)
        let other = try TinyNet(generator: &g2)
        let opt2 = try Adam(other.namedParameters(Float.self), learningRate: 0.5)
        let meta = try Checkpoint.load(into: other, optimizer: opt2, from: path)
        #expect(meta["config"] == "tiny" && opt2.stepCount == 1 && opt2.learningRate == 0.01)
        #expect(try net(x).value == other(x).value)
        #expect(opt2.stateTensors().map(\.tensor) == opt.stateTensors().map(\.tensor))
        // A model with another shape is rejected, naming the tensor.
        var g3 = SeededGenerator(seed: 5)
        let wrong = try MLP<Float>(sizes: [2, 3], generator: &g3)
        #expect(throws: LearningError.self) { try Checkpoint.load(into: wrong, scalar: Float.self, from: path) }
        // Extra tensors come back by name, apart from the model's and the optimizer's.
        let kept = Tensor<Float>([1, 2, 3])
        try Checkpoint.save(model: net, optimizer: opt, metadata: ["config": "tiny"], extra: [(name: "average.w", tensor: kept)], to: path)
        let (meta2, extra) = try Checkpoint.loadWithExtra(into: other, optimizer: opt2, from: path)
        #expect(meta2["config"] == "tiny" && Array(extra.keys) == ["average.w"] && extra["average.w"]?.tensor(Float.self) == kept)
        #expect(try net(x).value == other(x).value)
    }

    @Test func resumedTrainingReproducesTheUninterruptedRun() throws {
        func run(epochs: Int, checkpoint: String?, resume: Bool) throws -> [Double] {
            var g = SeededGenerator(seed: 7)
            let net = try TinyNet(generator: &g)
            let data = Tensor<Float>.randomNormal(shape: [24, 2], generator: &g)
            let target = try data.sum(alongAxes: [1], keepingDimensions: true).map(.sin)
            let opt = try Adam(net.namedParameters(Float.self), learningRate: 0.01)
            var o = TrainingOptions(epochs: epochs, batchSize: 5, seed: 8)
            o.progress = false
            o.checkpointPath = checkpoint
            o.schedule = .step(base: 0.01, stepSize: 3, gamma: 0.5)
            let trainer = try Trainer(model: net, optimizer: opt, options: o)
            let h = try trainer.fit(sampleCount: 24, loss: { idx in
                (try net(Variable(try data.gathered(idx, axis: 0))) - Variable(try target.gathered(idx, axis: 0))).square().mean()
            }, resume: resume)
            return h.records.map(\.trainingLoss)
        }
        let full = try run(epochs: 8, checkpoint: nil, resume: false)
        let path = makeTemporaryFolder() + "/resume.safetensors"
        let first = try run(epochs: 5, checkpoint: path, resume: false)
        let all = try run(epochs: 8, checkpoint: path, resume: true)
        #expect(first == Array(full.prefix(5)))
        #expect(all == full, "\(all) vs \(full)")
    }

    @Test(.enabled(if: Python.has("safetensors.numpy"), "needs python3 with numpy and safetensors (scripts/install-python-deps)"))
    func checkpointLoadsInPythonSafetensors() throws {
        var g = SeededGenerator(seed: 9)
        let net = try TinyNet(generator: &g)
        let path = makeTemporaryFolder() + "/py.safetensors"
        try Checkpoint.save(model: net, scalar: Float.self, to: path)
        let w = net.blocks[0].weight.value
        let r = Python.run("""
        from safetensors.numpy import load_file
        t = load_file('\(path)')
        w = t['blocks.0.weight']
        print(w.dtype, w.shape, repr(float(w[2, 5])))
        """)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("float32 (8, 8) \(Double(w[2, 5]))"), "\(r.output)")
    }
}

/// A non-optimizer state: Checkpoint needs nothing but `CheckpointableState`.
final class CounterState: CheckpointableState {
    var count = 0
    var history = Tensor<Double>([0, 0])
    func checkpointTensors() -> [(name: String, tensor: Tensor<Double>)] { [(name: "history", tensor: history)] }
    func checkpointScalars() -> [String: String] { ["count": String(count)] }
    func restoreCheckpoint(tensors: [String: Tensor<Double>], scalars: [String: String]) throws {
        guard let h = tensors["history"], let c = scalars["count"].flatMap({ Int($0) }) else {
            throw LearningError.invalidArgument(name: "counter state", value: "\(scalars)", expected: "history and count")
        }
        history = h
        count = c
    }
}

@Suite struct CheckpointStateTests {
    @Test func optimizerStateKeepsTheFileLayout() throws {
        // The names and metadata keys checkpoints have always used.
        var g = SeededGenerator(seed: 31)
        let net = try TinyNet(generator: &g)
        let opt = try Adam(net.namedParameters(Float.self), learningRate: 0.01)
        try net(Variable(Tensor<Float>.randomNormal(shape: [3, 2], generator: &g))).sum().backward()
        try opt.step()
        let path = makeTemporaryFolder() + "/layout.safetensors"
        try Checkpoint.save(model: net, optimizer: opt, metadata: ["config": "x"], to: path)
        let file = try SafeTensors.read(path)
        #expect(file.metadata == ["config": "x", "format": "swiftpde-checkpoint-1", "optimizer.step": "1", "optimizer.learning_rate": "0.01"])
        let names = net.namedVariables(Float.self).map(\.name)
        let state = net.namedParameters(Float.self).flatMap { ["optimizer.\($0.name).exp_avg", "optimizer.\($0.name).exp_avg_sq"] }
        #expect(file.order == names + state)
    }

    @Test func anyCheckpointableStateRoundTrips() throws {
        var g = SeededGenerator(seed: 32)
        let lin = try Linear<Double>(inputs: 2, outputs: 1, generator: &g)
        let state = CounterState()
        state.count = 7
        state.history = Tensor([1.5, -2])
        let path = makeTemporaryFolder() + "/counter.safetensors"
        try Checkpoint.save(model: lin, optimizer: state, to: path)
        #expect(try SafeTensors.read(path).metadata["optimizer.count"] == "7")
        let restored = CounterState()
        try Checkpoint.load(into: lin, optimizer: restored, from: path)
        #expect(restored.count == 7 && restored.history == Tensor([1.5, -2]))
    }

    @Test func malformedOptimizerScalarsAreTypedErrors() throws {
        var g = SeededGenerator(seed: 33)
        let lin = try Linear<Double>(inputs: 2, outputs: 1, generator: &g)
        let entries = lin.namedVariables(Double.self).map { (name: $0.name, entry: SafeTensors.Entry($0.variable.value)) }
        let path = makeTemporaryFolder() + "/bad.safetensors"
        for (key, value) in [("optimizer.learning_rate", "fast"), ("optimizer.learning_rate", "-0.1"), ("optimizer.step", "1.5")] {
            try SafeTensors.write(entries, metadata: [key: value], to: path)
            let opt = try SGD(lin.namedParameters(Double.self), learningRate: 0.1)
            #expect(throws: LearningError.invalidArgument(name: key, value: "'\(value)'",
                                                          expected: key.hasSuffix("step") ? "a non-negative integer" : "a positive finite number")) {
                try Checkpoint.load(into: lin, optimizer: opt, from: path)
            }
            #expect(opt.learningRate == 0.1 && opt.stepCount == 0)
        }
    }
}
