import Foundation
import Testing
@testable import Learning

/// One owner of the learning rate: the schedule when there is one, else the optimizer;
/// resuming from a checkpoint keeps to the same rule.
@Suite struct LearningRateOwnerTests {
    /// A small regression problem trained by a fresh TinyNet + Adam(learningRate) per call.
    struct Run {
        var records: [EpochRecord]
        var finalRate: Double
    }

    static func train(epochs: Int, learningRate: Double, schedule: LearningRateSchedule?, checkpoint: String?,
                      resume: Bool) throws -> Run {
        var g = SeededGenerator(seed: 21)
        let net = try TinyNet(generator: &g)
        let data = Tensor<Float>.randomNormal(shape: [20, 2], generator: &g)
        let target = try data.sum(alongAxes: [1], keepingDimensions: true).map(.sin)
        let opt = try Adam(net.namedParameters(Float.self), learningRate: learningRate)
        var o = TrainingOptions(epochs: epochs, batchSize: 6, seed: 22)
        o.progress = false
        o.checkpointPath = checkpoint
        o.schedule = schedule
        let trainer = try Trainer(model: net, optimizer: opt, options: o)
        let h = try trainer.fit(sampleCount: 20, loss: { idx in
            let y = try net(Variable(try data.gathered(idx, axis: 0)))
            return try (y - Variable(try target.gathered(idx, axis: 0))).square().mean()
        }, resume: resume)
        return Run(records: h.records, finalRate: opt.learningRate)
    }

    @Test func resumeWithAScheduleReproducesRatesAndLosses() throws {
        // Warm-up then cosine decay: the rate changes every epoch, so a resumed run that
        // took its rate from the checkpoint or the optimizer instead of the schedule would
        // show in both sequences.
        let schedule = LearningRateSchedule.warmup(2, .cosine(base: 0.02, total: 6, minimum: 0.001))
        let full = try Self.train(epochs: 8, learningRate: 0.02, schedule: schedule, checkpoint: nil, resume: false)
        #expect(full.records.map(\.learningRate) == (0..<8).map { schedule.rate(at: $0) })
        #expect(Set(full.records.map(\.learningRate)).count == 7)  // warm-up end = cosine start: one repeat
        let path = makeTemporaryFolder() + "/scheduled.safetensors"
        let first = try Self.train(epochs: 3, learningRate: 0.02, schedule: schedule, checkpoint: path, resume: false)
        let resumed = try Self.train(epochs: 8, learningRate: 0.02, schedule: schedule, checkpoint: path, resume: true)
        #expect(first.records.map(\.learningRate) == Array(full.records.prefix(3)).map(\.learningRate))
        #expect(resumed.records.map(\.learningRate) == full.records.map(\.learningRate))
        #expect(resumed.records.map(\.trainingLoss) == full.records.map(\.trainingLoss))
        #expect(resumed.finalRate == full.finalRate && resumed.finalRate == schedule.rate(at: 7))
    }

    @Test func scheduleBaseRateMustMatchTheOptimizer() throws {
        var g = SeededGenerator(seed: 23)
        let lin = try Linear<Double>(inputs: 1, outputs: 1, generator: &g)
        let opt = try SGD(lin.namedParameters(Double.self), learningRate: 0.02)
        var o = TrainingOptions(epochs: 2, batchSize: 1)
        o.progress = false
        o.schedule = .step(base: 0.01, stepSize: 1, gamma: 0.5)
        do {
            _ = try Trainer(model: lin, optimizer: opt, options: o)
            Issue.record("a schedule with base 0.01 and an optimizer at 0.02 were accepted")
        } catch let LearningError.invalidArgument(name, value, _) {
            #expect(name == "learning rate" && value.contains("0.02") && value.contains("0.01"), "\(value)")
        }
        // A warm-up's base is the wrapped schedule's base, not its first (warm-up) rate.
        o.schedule = .warmup(4, .constant(0.02))
        let trainer = try Trainer(model: lin, optimizer: opt, options: o)
        // Options changed after creation are checked again by fit.
        trainer.options.schedule = .cosine(base: 0.5, total: 2, minimum: 0)
        #expect(throws: LearningError.self) { _ = try trainer.fit(sampleCount: 1) { _ in lin.weight.square().sum() } }
        #expect(lin.weight.grad == nil)  // nothing was trained
        // Without a schedule the optimizer owns the rate and the trainer leaves it alone.
        trainer.options.schedule = nil
        _ = try trainer.fit(sampleCount: 1) { _ in lin.weight.square().sum() }
        #expect(opt.learningRate == 0.02)
    }

    @Test func resumeUnderAnotherScheduleIsATypedError() throws {
        let path = makeTemporaryFolder() + "/other.safetensors"
        _ = try Self.train(epochs: 3, learningRate: 0.01, schedule: .step(base: 0.01, stepSize: 1, gamma: 0.5), checkpoint: path, resume: false)
        do {
            _ = try Self.train(epochs: 6, learningRate: 0.01, schedule: .step(base: 0.01, stepSize: 2, gamma: 0.5), checkpoint: path, resume: true)
            Issue.record("a checkpoint written under another schedule was resumed")
        } catch let LearningError.invalidArgument(name, value, _) {
            // Epoch 3 of the first schedule ran at 0.0025, of the second at 0.005.
            #expect(name == "learning-rate schedule" && value.contains("0.0025") && value.contains("0.005"), "\(value)")
        }
        // The same schedule resumes.
        let resumed = try Self.train(epochs: 4, learningRate: 0.01, schedule: .step(base: 0.01, stepSize: 1, gamma: 0.5), checkpoint: path, resume: true)
        #expect(resumed.records.map(\.learningRate) == [0.01, 0.005, 0.0025, 0.00125])
    }

    @Test func withoutAScheduleTheSavedRateIsRestored() throws {
        let full = try Self.train(epochs: 5, learningRate: 0.004, schedule: nil, checkpoint: nil, resume: false)
        let path = makeTemporaryFolder() + "/unscheduled.safetensors"
        _ = try Self.train(epochs: 2, learningRate: 0.004, schedule: nil, checkpoint: path, resume: false)
        #expect(try SafeTensors.read(path).metadata["optimizer.learning_rate"] == "0.004")
        // Resumed with an optimizer created at another rate: the saved rate wins.
        let resumed = try Self.train(epochs: 5, learningRate: 0.3, schedule: nil, checkpoint: path, resume: true)
        #expect(resumed.finalRate == 0.004)
        #expect(resumed.records.map(\.learningRate) == [Double](repeating: 0.004, count: 5))
        #expect(resumed.records.map(\.trainingLoss) == full.records.map(\.trainingLoss))
    }
}
