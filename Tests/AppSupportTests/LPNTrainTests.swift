import Foundation
import Learning
import PDE
import Testing
import TestSupport
@testable import AppSupport

// `pde-train lpn`: the config's checks (key paths of bad inputs) and a tiny end-to-end run
// through `LPNTraining`, interrupted at step 10 and resumed from that checkpoint with the same
// losses as the uninterrupted run.

@Suite struct LPNTrainTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let good = """
    model: {kind: fully-connected, hidden: 64, layers: 2, beta: 10, alpha: 0.02}
    data: {images: [data/images/*.png], patch: 28, noise: 0.1, seed: 3}
    training:
      batch: 32
      pretrain_steps: 2000
      matching_steps: 2000
      stages: 4
      pretrain_learning_rate: 1.0e-3
      learning_rate: 1.0e-4
      checkpoint_every: 500
      directory: runs/lpn
    """

    func decode(_ yaml: String) throws -> LPNTrainConfig { try decodeConfig(LPNTrainConfig.self, yaml: yaml, file: "t.yaml") }

    func expectError(_ yaml: String, keyPath: String, mentions: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decode(yaml)
            Issue.record("expected an error at \(keyPath)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.file == "t.yaml" && e.keyPath == keyPath && (mentions.isEmpty || e.description.contains(mentions)), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("wrong error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    func replacing(_ old: String, _ new: String) -> String {
        precondition(Self.good.contains(old), old)
        return Self.good.replacingOccurrences(of: old, with: new)
    }

    @Test func goodConfigDecodesWithDefaults() throws {
        let c = try decode(Self.good)
        #expect(c.kind == .fullyConnected && c.hidden == 64 && c.layers == 2 && c.beta == 10 && c.alpha == 0.02)
        #expect(c.images == ["data/images/*.png"] && c.patch == 28 && c.noise == 0.1 && c.seed == 3)
        #expect(c.batch == 32 && c.pretrainSteps == 2000 && c.matchingSteps == 2000 && c.stages == 4 && c.totalSteps == 4000)
        #expect(c.sigmaMin == nil && c.progressEvery == 100 && c.checkpointEvery == 500 && c.directory == "runs/lpn")
        let s = try c.schedule()
        #expect(abs(s.sigmaMin - 0.08 * 28) < 1e-12 && abs(s.gamma(stage: 0) - 8 * 0.08 * 28) < 1e-12)
        #expect(s.phase(atStep: 1999) == .l1 && s.learningRate(atStep: 2000) == 1e-4)
        let conv = try decode(replacing("kind: fully-connected", "kind: convolutional").replacingOccurrences(of: "layers: 2", with: "layers: 3"))
        #expect(conv.kind == .convolutional && conv.layers == 3)
        #expect(try decode(replacing("  stages: 4\n", "  stages: 2\n  sigma_min: 0.5\n")).sigmaMin == 0.5)
    }

    @Test func badConfigsNameTheKey() {
        expectError(Self.good + "\nextra: 1", keyPath: "extra", mentions: "unknown key")
        expectError(replacing("alpha: 0.02}", "alpha: 0.02, depth: 3}"), keyPath: "model.depth", mentions: "unknown key")
        expectError(replacing("kind: fully-connected", "kind: resnet"), keyPath: "model.kind", mentions: "fully-connected, convolutional")
        expectError(replacing("hidden: 64, ", ""), keyPath: "model.hidden", mentions: "missing")
        expectError(replacing("hidden: 64", "hidden: 0"), keyPath: "model.hidden")
        expectError(replacing("layers: 2", "layers: 99"), keyPath: "model.layers")
        expectError(replacing("beta: 10", "beta: -1"), keyPath: "model.beta")
        expectError(replacing("alpha: 0.02", "alpha: .nan"), keyPath: "model.alpha")
        expectError(replacing("images: [data/images/*.png]", "images: []"), keyPath: "data.images")
        expectError(replacing("images: [data/images/*.png], ", ""), keyPath: "data.images", mentions: "missing")
        expectError(replacing("patch: 28", "patch: 1"), keyPath: "data.patch")
        expectError(replacing("patch: 28", "patch: 9223372036854775807"), keyPath: "data.patch")
        expectError(replacing("noise: 0.1", "noise: 0"), keyPath: "data.noise")
        expectError(replacing("seed: 3", "seed: -1"), keyPath: "data.seed")
        expectError(replacing("seed: 3", "colour: 1"), keyPath: "data.colour", mentions: "unknown key")
        // A convolutional network of 3 layers needs patches divisible by 4.
        expectError(replacing("kind: fully-connected", "kind: convolutional").replacingOccurrences(of: "layers: 2", with: "layers: 3")
                        .replacingOccurrences(of: "patch: 28", with: "patch: 30"), keyPath: "data.patch", mentions: "multiple of 4")
        expectError(replacing("batch: 32", "batch: 0"), keyPath: "training.batch")
        expectError(replacing("pretrain_steps: 2000", "pretrain_steps: -1"), keyPath: "training.pretrain_steps")
        expectError(replacing("pretrain_steps: 2000", "pretrain_steps: 0").replacingOccurrences(of: "matching_steps: 2000", with: "matching_steps: 0"),
                    keyPath: "training.matching_steps", mentions: "at least one step")
        expectError(replacing("stages: 4", "stages: 0"), keyPath: "training.stages")
        expectError(replacing("  stages: 4\n", "  stages: 4\n  sigma_min: 0\n"), keyPath: "training.sigma_min")
        expectError(replacing("pretrain_learning_rate: 1.0e-3", "pretrain_learning_rate: .inf"), keyPath: "training.pretrain_learning_rate")
        expectError(replacing("learning_rate: 1.0e-4", "learning_rate: -1"), keyPath: "training.learning_rate")
        expectError(replacing("checkpoint_every: 500", "checkpoint_every: 0"), keyPath: "training.checkpoint_every")
        expectError(replacing("  directory: runs/lpn", "  directory: runs/lpn\n  progress_every: 0"), keyPath: "training.progress_every")
        expectError(replacing("  directory: runs/lpn", "  directory: ''"), keyPath: "training.directory")
        expectError(replacing("  directory: runs/lpn", ""), keyPath: "training.directory", mentions: "missing")
    }

    func tinyConfig(folder: String, images: String = "coins.png") throws -> LPNTrainConfig {
        try decode("""
        model: {kind: fully-connected, hidden: 16, layers: 2, beta: 10, alpha: 0.02}
        data: {images: ['\(Self.root)/data/images/\(images)'], patch: 8, noise: 0.1, seed: 5}
        training:
          batch: 8
          pretrain_steps: 10
          matching_steps: 10
          stages: 2
          pretrain_learning_rate: 1.0e-2
          learning_rate: 1.0e-3
          checkpoint_every: 10
          progress_every: 5
          directory: '\(folder)'
        """)
    }

    @Test func tinyRunResumesWithTheSameLosses() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cfg = try tinyConfig(folder: folder)
        var lines: [String] = []
        // The uninterrupted run, with the step-10 checkpoint kept aside.
        let a = try LPNTraining(config: cfg)
        a.log = { lines.append($0) }
        let first = try a.run(until: 10, checkpoint: a.checkpointPath)
        #expect(first.count == 10 && a.step == 10)
        let saved = folder + "/step10.safetensors"
        try FileManager.default.copyItem(atPath: a.checkpointPath, toPath: saved)
        let second = try a.run(checkpoint: a.checkpointPath)
        #expect(second.count == 10 && a.step == 20 && !a.wasInterrupted)
        let all = first + second
        #expect(all.allSatisfy { $0.isFinite })
        #expect(lines.count == 4 && lines[0].hasPrefix("step 5/20  l1  loss ") && lines[3].hasPrefix("step 20/20  matching γ="), "\(lines)")
        #expect(a.minimumHiddenWeight >= 0)
        try a.saveModel(to: a.modelPath)

        // Resumed from the step-10 checkpoint in a fresh process state.
        let b = try LPNTraining(config: cfg)
        b.log = { _ in }
        try b.resume(from: saved)
        #expect(b.step == 10)
        let resumed = try b.run(checkpoint: folder + "/b.safetensors")
        #expect(resumed.count == 10)
        #expect(maxAbsDifference(resumed, second) <= 1e-6, "\(resumed) vs \(second)")
        #expect(b.minimumHiddenWeight >= 0)

        // The model file reloads with its architecture and the trained parameters.
        let net = try LPNTraining.loadNetwork(from: a.modelPath)
        #expect(net.hidden == 16 && net.layers == 2 && net.alpha == 0.02)
        let trained = a.network.namedParameters(Float.self), loaded = net.namedParameters(Float.self)
        #expect(trained.map(\.name) == loaded.map(\.name))
        #expect(zip(trained, loaded).allSatisfy { $0.variable.value.scalars == $1.variable.value.scalars })
    }

    @Test func interruptionWritesACheckpointAndBadImagesAreConfigErrors() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let t = try LPNTraining(config: try tinyConfig(folder: folder))
        t.log = { _ in }
        t.shouldStop = { t.step >= 3 }
        let losses = try t.run(checkpoint: t.checkpointPath)
        #expect(losses.count == 3 && t.wasInterrupted && FileManager.default.fileExists(atPath: t.checkpointPath))
        let u = try LPNTraining(config: try tinyConfig(folder: folder))
        try u.resume(from: t.checkpointPath)
        #expect(u.step == 3)
        for (images, mentions) in [("missing.png", "not found"), ("nothing-*.png", "matches no file")] {
            #expect { try LPNTraining(config: try tinyConfig(folder: folder, images: images)) } throws: {
                ($0 as? ConfigError).map { $0.keyPath == "data.images" && $0.description.contains(mentions) } ?? false
            }
        }
    }
}
