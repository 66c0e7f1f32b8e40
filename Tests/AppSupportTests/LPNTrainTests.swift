import Foundation
import Inverse
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
        let fully = try decode(replacing("kind: fully-connected", "kind: fully-convolutional").replacingOccurrences(of: "patch: 28", with: "patch: 30"))
        #expect(fully.kind == .fullyConvolutional && fully.networkKind == .fullyConvolutional(channels: 1))
        #expect(fully.source == .images && fully.dimension == 900)
    }

    static let laplace = """
    model: {kind: fully-connected, hidden: 8, layers: 2, beta: 10, alpha: 0.001}
    data: {source: laplace, scale: 2, noise: 1, seed: 1}
    training:
      batch: 64
      pretrain_steps: 5
      matching_steps: 10
      gammas: [0.5, 0.3]
      learning_rates: [1.0e-3, 1.0e-4]
      checkpoint_every: 100
      directory: runs/laplace
    """

    @Test func laplaceSourceAndExplicitStages() throws {
        let c = try decode(Self.laplace)
        #expect(c.source == .laplace && c.scale == 2 && c.dimension == 1 && c.images.isEmpty && c.stages == 2)
        let s = try c.schedule()
        #expect(s.gammas == [0.5, 0.3] && s.stageLearningRates == [1e-3, 1e-4] && s.pretrainLearningRate == 1e-3)
        #expect(s.phase(atStep: 4) == .l1 && s.phase(atStep: 5) == .matching(gamma: 0.5, stage: 0) && s.learningRate(atStep: 14) == 1e-4)
        // Without learning_rates, every stage runs at learning_rate.
        let plain = try decode(Self.laplace.replacingOccurrences(of: "  learning_rates: [1.0e-3, 1.0e-4]\n", with: "  learning_rate: 2.0e-4\n"))
        #expect(try plain.schedule().stageLearningRates == [2e-4, 2e-4])
        // The reference toy's network initialization and a warm start in two parts.
        let reference = try decode(Self.laplace.replacingOccurrences(of: "alpha: 0.001}", with: "alpha: 0, hidden_init: uniform-clipped}")
            .replacingOccurrences(of: "  matching_steps: 10\n", with: "  matching_steps: 10\n  pretrain_learning_rates: [1.0e-3, 1.0e-4]\n"))
        #expect(reference.hiddenInitialization == .uniformClipped && c.hiddenInitialization == .reference)
        let rs = try reference.schedule()
        #expect(rs.pretrainLearningRates == [1e-3, 1e-4] && rs.learningRate(atStep: 1) == 1e-3 && rs.learningRate(atStep: 2) == 1e-4)
        #expect(rs.learningRate(atStep: 5) == 1e-3 && rs.gammas == [0.5, 0.3])
        let halving = try decode(Self.good.replacingOccurrences(of: "  pretrain_learning_rate: 1.0e-3\n", with: "  pretrain_learning_rates: [1.0e-3, 5.0e-4]\n"))
        #expect(try halving.schedule().pretrainLearningRates == [1e-3, 5e-4] && halving.schedule().stages == 4)
        // A short run: Laplace samples of scale 2 (mean |x| = 2), finite losses.
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let t = try LPNTraining(config: try decode(Self.laplace.replacingOccurrences(of: "runs/laplace", with: folder)))
        t.log = { _ in }
        let (x, y) = try t.nextBatch()
        #expect(x.shape == [64, 1] && y.shape == [64, 1])
        let meanAbs = x.scalars.reduce(0) { $0 + abs(Double($1)) } / 64
        #expect(meanAbs > 1 && meanAbs < 3, "mean |x| = \(meanAbs), expected ≈ 2")
        let noise = zip(x.scalars, y.scalars).map { Double($1 - $0) }
        #expect(noise.map { $0 * $0 }.reduce(0, +) / 64 > 0.4)
        let losses = try t.run()
        #expect(losses.count == 15 && losses.allSatisfy { $0.isFinite })
    }

    @Test func phantomSourceDrawsPatchesOfSeededEllipsePhantoms() throws {
        let yaml = """
        model: {kind: fully-convolutional, hidden: 4, layers: 1, beta: 10, alpha: 0.001}
        data: {source: phantoms, count: 3, size: 32, ellipses: 4, patch: 12, noise: 0.1, seed: 7}
        training: {batch: 5, pretrain_steps: 2, matching_steps: 2, checkpoint_every: 10, directory: runs/x}
        """
        let c = try decode(yaml)
        #expect(c.source == .phantoms && c.phantomCount == 3 && c.phantomSize == 32 && c.phantomEllipses == 4 && c.dimension == 144)
        let t = try LPNTraining(config: c)
        #expect(t.images.count == 3 && t.images.allSatisfy { $0.width == 32 && $0.height == 32 })
        // The pool is the library's phantoms with seeds seed + 1 + k.
        #expect(t.images[1].values == (try Phantom.randomEllipses(size: 32, count: 4, seed: 9)).map(Float.init))
        let (x, y) = try t.nextBatch()
        #expect(x.shape == [5, 1, 12, 12] && y.shape == [5, 1, 12, 12])
        #expect(x.scalars.allSatisfy { $0 >= 0 && $0 <= 1 } && x.scalars != y.scalars)
        expectError(yaml.replacingOccurrences(of: "patch: 12", with: "patch: 40"), keyPath: "data.patch", mentions: "at most data.size")
        expectError(yaml.replacingOccurrences(of: "count: 3", with: "count: 0"), keyPath: "data.count")
        expectError(yaml.replacingOccurrences(of: "size: 32", with: "size: 1"), keyPath: "data.size")
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "ellipses: 0"), keyPath: "data.ellipses")
        expectError(yaml.replacingOccurrences(of: "count: 3", with: "images: [a.png]"), keyPath: "data.images", mentions: "images only")
        // The Shepp–Logan family: the pool is the library's random members, never the phantom.
        let family = try decode(yaml.replacingOccurrences(of: "ellipses: 4", with: "family: shepp-logan"))
        #expect(family.phantomFamily == .sheppLogan && c.phantomFamily == .ellipses)
        let heads = try LPNTraining(config: family)
        #expect(heads.images[1].values == (try Phantom.randomSheppLogan(size: 32, seed: 9)).map(Float.init))
        let shepp = try Phantom.sheppLogan(size: 32).map(Float.init)
        #expect(heads.images.allSatisfy { $0.values != shepp })
        let sampled = try decode(yaml.replacingOccurrences(of: "ellipses: 4", with: "family: shepp-logan, supersampling: 3"))
        #expect(sampled.phantomSupersampling == [3] && family.phantomSupersampling == [1])
        let mixed = try LPNTraining(config: try decode(yaml.replacingOccurrences(of: "ellipses: 4", with: "family: shepp-logan, supersampling: [1, 3]")))
        #expect(mixed.images[0].values == (try Phantom.randomSheppLogan(size: 32, seed: 8)).map(Float.init))
        #expect(mixed.images[1].values == (try Phantom.randomSheppLogan(size: 32, seed: 9, supersampling: 3)).map(Float.init))
        #expect(mixed.images[2].values == (try Phantom.randomSheppLogan(size: 32, seed: 10)).map(Float.init))
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "supersampling: []"), keyPath: "data.supersampling", mentions: "non-empty list")
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "supersampling: [1, 20]"), keyPath: "data.supersampling", mentions: "1 to 16")
        #expect(try LPNTraining(config: sampled).images[0].values == (try Phantom.randomSheppLogan(size: 32, seed: 8, supersampling: 3)).map(Float.init))
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "supersampling: 0"), keyPath: "data.supersampling", mentions: "1 to 16")
        expectError(Self.good.replacingOccurrences(of: "patch: 28", with: "patch: 28, supersampling: 2"), keyPath: "data.supersampling", mentions: "phantoms only")
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "family: heads"), keyPath: "data.family", mentions: "ellipses, shepp-logan")
        expectError(yaml.replacingOccurrences(of: "ellipses: 4", with: "ellipses: 4, family: shepp-logan"), keyPath: "data.ellipses", mentions: "shepp-logan")
        expectError(Self.good.replacingOccurrences(of: "patch: 28", with: "patch: 28, family: ellipses"), keyPath: "data.family", mentions: "phantoms only")
        expectError(Self.good.replacingOccurrences(of: "patch: 28", with: "patch: 28, size: 64"), keyPath: "data.size", mentions: "phantoms only")
    }

    @Test func augmentedPatchesAreSymmetriesOfImagePatches() throws {
        let yaml = """
        model: {kind: fully-convolutional, hidden: 4, layers: 1, beta: 10, alpha: 0.001}
        data: {images: ['\(Self.root)/data/images/coins.png'], patch: 6, noise: 0.1, seed: 11, augment: dihedral}
        training: {batch: 24, pretrain_steps: 2, matching_steps: 2, checkpoint_every: 10, directory: runs/x}
        """
        let c = try decode(yaml)
        let unaugmented = try decode(yaml.replacingOccurrences(of: ", augment: dihedral", with: ""))
        #expect(c.augment == .dihedral && unaugmented.augment == LPNSymmetries.none)
        let t = try LPNTraining(config: c)
        let (x, y) = try t.nextBatch()
        let img = try PNGImage.readGray(Self.root + "/data/images/coins.png")
        let p = 6, w = img.width
        // The eight maps of the square, written out: patch pixel (i, j) comes from (a, b).
        func source(_ g: Int, _ i: Int, _ j: Int) -> (Int, Int) {
            let a = g & 1 == 1 ? p - 1 - i : i, b = g & 2 == 2 ? p - 1 - j : j
            return g >= 4 ? (b, a) : (a, b)
        }
        var seen = Set<Int>()
        for s in 0..<24 {
            let patch = Array(x.scalars[(s * p * p)..<((s + 1) * p * p)])
            var matches = Set<Int>()
            for g in 0..<8 {
                for r0 in 0...(img.height - p) {
                    for c0 in 0...(w - p) where Float(img.values[(r0 + source(g, 0, 0).0) * w + c0 + source(g, 0, 0).1]) == patch[0] {
                        if (0..<(p * p)).allSatisfy({ k in
                            let (a, b) = source(g, k / p, k % p)
                            return Float(img.values[(r0 + a) * w + c0 + b]) == patch[k]
                        }) { matches.insert(g) }
                    }
                }
            }
            #expect(!matches.isEmpty, "patch \(s) is no symmetry of an image patch")
            if matches.count == 1 { seen.formUnion(matches) }
        }
        // 24 draws from 8 maps: (almost) all of them occur, not just the identity.
        #expect(seen.count >= 6, "maps seen: \(seen.sorted())")
        let noise = zip(x.scalars, y.scalars).map { Double($1 - $0) }
        let variance = noise.map { $0 * $0 }.reduce(0, +) / Double(noise.count)
        #expect(abs(variance - 0.01) < 0.002)
        // `augment: none` draws what a config without the key draws.
        let plain = try LPNTraining(config: unaugmented).nextBatch()
        let none = try LPNTraining(config: try decode(yaml.replacingOccurrences(of: "augment: dihedral", with: "augment: none"))).nextBatch()
        #expect(plain.clean.scalars == none.clean.scalars && plain.noisy.scalars == none.noisy.scalars && plain.clean.scalars != x.scalars)
        expectError(yaml.replacingOccurrences(of: "augment: dihedral", with: "augment: negation"), keyPath: "data.augment", mentions: "none, flips, dihedral")
        expectError(yaml.replacingOccurrences(of: "augment: dihedral", with: "augment: rotate"), keyPath: "data.augment", mentions: "none, flips, dihedral")
        expectError(Self.laplace.replacingOccurrences(of: "scale: 2", with: "scale: 2, augment: flips"), keyPath: "data.augment", mentions: "laplace")
    }

    @Test func badLaplaceAndStageKeysNameTheKey() {
        let l = Self.laplace
        func swap(_ a: String, _ b: String) -> String {
            precondition(l.contains(a), a)
            return l.replacingOccurrences(of: a, with: b)
        }
        expectError(swap("source: laplace", "source: gauss"), keyPath: "data.source", mentions: "images, laplace")
        expectError(swap("scale: 2", "scale: 0"), keyPath: "data.scale")
        expectError(swap("scale: 2", "dimension: 0"), keyPath: "data.dimension")
        expectError(swap("scale: 2", "patch: 8"), keyPath: "data.patch", mentions: "laplace")
        expectError(swap("kind: fully-connected", "kind: fully-convolutional"), keyPath: "model.kind", mentions: "fully-connected for data.source laplace")
        expectError(swap("gammas: [0.5, 0.3]", "gammas: [0.3, 0.5]"), keyPath: "training.gammas", mentions: "non-increasing")
        expectError(swap("gammas: [0.5, 0.3]", "gammas: []"), keyPath: "training.gammas")
        expectError(swap("gammas: [0.5, 0.3]", "gammas: [0.5, 0.3]\n  stages: 2"), keyPath: "training.stages", mentions: "either gammas")
        expectError(swap("learning_rates: [1.0e-3, 1.0e-4]", "learning_rates: [1.0e-3]"), keyPath: "training.learning_rates", mentions: "per γ")
        expectError(swap("  gammas: [0.5, 0.3]\n", ""), keyPath: "training.learning_rates", mentions: "without training.gammas")
        expectError(replacing("patch: 28", "patch: 28, scale: 1"), keyPath: "data.scale", mentions: "laplace only")
        expectError(swap("alpha: 0.001}", "alpha: 0.001, hidden_init: zeros}"), keyPath: "model.hidden_init", mentions: "exp-normal, uniform-clipped")
        expectError(swap("  matching_steps: 10\n", "  matching_steps: 10\n  pretrain_learning_rates: []\n"),
                    keyPath: "training.pretrain_learning_rates", mentions: "1 to 5 positive")
        expectError(swap("  matching_steps: 10\n", "  matching_steps: 10\n  pretrain_learning_rates: [1, 1, 1, 1, 1, 1]\n"),
                    keyPath: "training.pretrain_learning_rates", mentions: "at most one per warm-start step")
        expectError(swap("  matching_steps: 10\n", "  matching_steps: 10\n  pretrain_learning_rates: [1.0e-3, 0]\n"),
                    keyPath: "training.pretrain_learning_rates")
        expectError(swap("  matching_steps: 10\n", "  matching_steps: 10\n  pretrain_learning_rates: [1.0e-3]\n  pretrain_learning_rate: 1.0e-3\n"),
                    keyPath: "training.pretrain_learning_rate", mentions: "either pretrain_learning_rate")
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
        for bad in ["1", "0", "-0.5", ".nan", "'x'"] {
            expectError(replacing("  directory: runs/lpn", "  directory: runs/lpn\n  ema_decay: \(bad)"), keyPath: "training.ema_decay")
        }
        for bad in ["1", "-4", ".nan", "1001"] {
            expectError(replacing("  directory: runs/lpn", "  directory: runs/lpn\n  screen: \(bad)"), keyPath: "training.screen", mentions: "margin")
        }
        // 28² entries per sample: at most 2^26 / 784 = 85 598 samples per batch.
        expectError(replacing("batch: 32", "batch: 85599"), keyPath: "training.batch", mentions: "2^26")
        #expect((try? decode(replacing("batch: 32", "batch: 85598")))?.batch == 85598)
    }

    func tinyConfig(folder: String, images: String = "coins.png", hidden: Int = 16, extra: String = "") throws -> LPNTrainConfig {
        try decode("""
        model: {kind: fully-connected, hidden: \(hidden), layers: 2, beta: 10, alpha: 0.02}
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
        \(extra)
        """)
    }

    /// `model.scales` adds coarse input paths to a fully convolutional network; a trained
    /// network without them grows into one with them (`training.initial_model`), starting as
    /// the same function; bad scales name the key.
    @Test func scalesGrowAFullyConvolutionalNetwork() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func config(_ dir: String, _ scales: String, extra: String = "") throws -> LPNTrainConfig {
            try decode("""
            model: {kind: fully-convolutional, hidden: 4, layers: 2, beta: 10, alpha: 0.01\(scales)}
            data: {images: ['\(Self.root)/data/images/coins.png'], patch: 8, noise: 0.1, seed: 5}
            training: {batch: 4, pretrain_steps: 3, matching_steps: 3, stages: 1, checkpoint_every: 10, directory: '\(dir)'\(extra)}
            """)
        }
        let plain = try LPNTraining(config: try config(folder + "/a", ""))
        plain.log = { _ in }
        try plain.run()
        try plain.saveModel(to: plain.modelPath)
        let c = try config(folder + "/b", ", scales: [2, 4]", extra: ", initial_model: '\(plain.modelPath)'")
        #expect(c.scales == [2, 4])
        let grown = try LPNTraining(config: c)
        func coarse() -> [Float] { grown.network.namedParameters(Float.self).filter { $0.name.hasPrefix("coarse.") }.flatMap(\.variable.value.scalars) }
        #expect(grown.network.scales == [2, 4] && coarse().count == 2 * 2 * 4 * 9 && coarse().allSatisfy { $0 == 0 })
        let y = Variable(try Tensor<Float>(shape: [1, 1, 16, 8], scalars: (0..<128).map { Float(($0 * 37) % 11) / 10 }))
        #expect(try grown.network.prox(y).value.scalars == plain.network.prox(y).value.scalars)
        grown.log = { _ in }
        let losses = try grown.run()
        #expect(losses.count == 6 && losses.allSatisfy(\.isFinite))
        #expect(coarse().contains { $0 != 0 })
        try grown.saveModel(to: grown.modelPath)
        #expect(try LPNTraining.loadNetwork(from: grown.modelPath).scales == [2, 4])
        // The reverse (a network with scales into one without) is an architecture mismatch.
        #expect(throws: ConfigError.self) { _ = try LPNTraining(config: try config(folder + "/c", "", extra: ", initial_model: '\(grown.modelPath)'")) }
        for (scales, mentions) in [(", scales: [3]", "dividing data.patch"), (", scales: [4, 2]", "increasing"), (", scales: [1]", "from 2 to 256")] {
            do {
                _ = try config(folder + "/d", scales)
                Issue.record("expected an error for \(scales)")
            } catch let e as ConfigError {
                #expect(e.keyPath == "model.scales" && "\(e)".contains(mentions), "\(e)")
            }
        }
        expectError(replacing("alpha: 0.02}", "alpha: 0.02, scales: [2]}"), keyPath: "model.scales", mentions: "fully-convolutional")
    }

    @Test func anInitialModelReplacesTheInitializationAndMustMatchTheArchitecture() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let a = try LPNTraining(config: try tinyConfig(folder: folder))
        a.log = { _ in }
        try a.run(until: 5)
        try a.saveModel(to: folder + "/a.safetensors")
        // Fine-tuning: the weights of the file, not those of the seed, and training goes on from them.
        let b = try LPNTraining(config: try tinyConfig(folder: folder + "/b", extra: "  initial_model: '\(folder)/a.safetensors'"))
        let trained = a.network.namedParameters(Float.self), start = b.network.namedParameters(Float.self)
        #expect(zip(trained, start).allSatisfy { $0.variable.value.scalars == $1.variable.value.scalars })
        let fresh = try LPNTraining(config: try tinyConfig(folder: folder + "/c")).network.namedParameters(Float.self)
        #expect(!zip(fresh, start).allSatisfy { $0.variable.value.scalars == $1.variable.value.scalars })
        b.log = { _ in }
        let losses = try b.run(until: 3)
        #expect(losses.count == 3 && losses.allSatisfy { $0.isFinite } && b.minimumHiddenWeight >= 0)
        // Bad inputs: a missing file, another architecture, an empty path.
        for (extra, mentions) in [("  initial_model: '\(folder)/none.safetensors'", "not found"),
                                  ("  initial_model: '\(folder)/a.safetensors'", "lpn.hidden = 16")] {
            let hidden = mentions == "not found" ? 16 : 8
            do {
                _ = try LPNTraining(config: try tinyConfig(folder: folder + "/d", hidden: hidden, extra: extra))
                Issue.record("expected a ConfigError for \(extra)")
            } catch let e as ConfigError {
                #expect(e.keyPath == "training.initial_model" && "\(e)".contains(mentions), "\(e)")
            }
        }
        #expect(throws: ConfigError.self) { _ = try self.tinyConfig(folder: folder, extra: "  initial_model: ''") }
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

    /// `training.expectation: exact` trains the Laplace toy on its expected loss: no batch is
    /// drawn, the first step's loss is the quadrature's value at the initial network, a
    /// stage's losses fall, a run is reproducible and resumes with the same losses, and the
    /// keys that only make sense with (or without) it are refused by key path.
    @Test func exactExpectationTrainsTheLaplaceToyOnItsExpectedLoss() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let yaml = Self.laplace.replacingOccurrences(of: "  batch: 64\n", with: "  expectation: exact\n  quadrature_points: 201\n")
            .replacingOccurrences(of: "matching_steps: 10", with: "matching_steps: 30").replacingOccurrences(of: "runs/laplace", with: folder)
        let c = try decode(yaml)
        #expect(c.expectation == .exact && c.quadraturePoints == 201 && c.quadratureSpan == 18 && c.batch == 201)
        let q = try #require(try c.laplaceExpectation())
        #expect(q.grid.count == 201 && q.scale == 2 && q.noise == 1)
        let a = try LPNTraining(config: c)
        a.log = { _ in }
        let start = try Autodiff.withoutGradient { try a.network.prox(Variable(q.inputs(Float.self))).value.scalars.map(Double.init) }
        let expected = try q.expectedLoss(values: start, phase: .l1).value
        let state = a.generator.state
        let losses = try a.run(until: 20, checkpoint: a.checkpointPath)
        #expect(abs(losses[0] - expected) < 1e-6 * expected, "\(losses[0]) vs \(expected)")
        #expect(a.generator.state == state)
        // Stage 1 (γ = 0.5, steps 6–20) at lr 1e-3: the expected loss falls.
        #expect(losses[19] < losses[5], "\(losses)")
        let saved = folder + "/step20.safetensors"
        try FileManager.default.copyItem(atPath: a.checkpointPath, toPath: saved)
        let rest = try a.run(checkpoint: a.checkpointPath)
        let b = try LPNTraining(config: c)
        b.log = { _ in }
        #expect(try b.run(until: 20) == losses)
        let c2 = try LPNTraining(config: c)
        c2.log = { _ in }
        try c2.resume(from: saved)
        #expect(try c2.run() == rest)
        // The default span is 6·(b + σ); keys of the other mode are refused.
        #expect(try decode(yaml.replacingOccurrences(of: "  quadrature_points: 201\n", with: "")).quadratureSpan == 18)
        #expect(try decode(yaml.replacingOccurrences(of: "  quadrature_points: 201\n", with: "")).quadraturePoints == 2401)
        expectError(yaml.replacingOccurrences(of: "expectation: exact", with: "expectation: analytic"), keyPath: "training.expectation", mentions: "sampled, exact")
        expectError(yaml + "\n  batch: 64", keyPath: "training.batch", mentions: "quadrature grid")
        expectError(yaml + "\n  screen: 4", keyPath: "training.screen", mentions: "quadrature grid")
        expectError(yaml.replacingOccurrences(of: "quadrature_points: 201", with: "quadrature_points: 2"), keyPath: "training.quadrature_points")
        expectError(yaml + "\n  quadrature_span: 0", keyPath: "training.quadrature_span")
        expectError(yaml + "\n  quadrature_span: 100", keyPath: "training.quadrature_span", mentions: "40·max")
        expectError(yaml.replacingOccurrences(of: "scale: 2", with: "scale: 2, dimension: 2"), keyPath: "training.expectation", mentions: "data.dimension 1")
        expectError(yaml.replacingOccurrences(of: "scale: 2", with: "scale: 0.01"), keyPath: "training.quadrature_span", mentions: "underflows")
        expectError(Self.laplace + "\n  quadrature_points: 201", keyPath: "training.quadrature_points", mentions: "without training.expectation exact")
        expectError(Self.good + "\n  expectation: exact", keyPath: "training.batch", mentions: "quadrature grid")
        expectError(Self.good.replacingOccurrences(of: "  batch: 32\n", with: "  expectation: exact\n"), keyPath: "training.expectation", mentions: "data.source laplace")
        expectError(Self.laplace.replacingOccurrences(of: "  batch: 64\n", with: ""), keyPath: "training.batch", mentions: "missing")
    }

    @Test func aScreenedRunHasTheLossesOfTheFullBatch() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var runs: [[Double]] = []
        var kept: [String] = []
        for extra in ["", "  screen: 6"] {
            let t = try LPNTraining(config: try tinyConfig(folder: folder + "/\(runs.count)", extra: extra))
            t.log = { kept.append($0) }
            runs.append(try t.run())
        }
        // Same batches, same losses: screening at margin 6 drops only terms below 1e-14.
        #expect(runs[0].count == 20 && maxAbsDifference(runs[0], runs[1]) <= 1e-5 * runs[0].map(abs).max()!, "\(runs)")
        #expect(kept.last!.contains("kept ") && !kept[0].contains("kept "), "\(kept)")
    }

    @Test func theWeightAverageIsTheModelAndResumes() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cfg = try tinyConfig(folder: folder, extra: "  ema_decay: 0.8")
        #expect(cfg.emaDecay == 0.8)
        let a = try LPNTraining(config: cfg)
        a.log = { _ in }
        // The average by hand (in Double), from the initial weights, one step at a time.
        var ref = a.network.namedParameters(Float.self).map { $0.variable.value.scalars.map(Double.init) }
        let saved = folder + "/step10.safetensors"
        while a.step < 20 {
            try a.run(until: a.step + 1, checkpoint: a.checkpointPath)
            for (i, p) in a.network.namedParameters(Float.self).enumerated() {
                ref[i] = zip(ref[i], p.variable.value.scalars).map { 0.8 * $0 + 0.2 * Double($1) }
            }
            if a.step == 10 { try FileManager.default.copyItem(atPath: a.checkpointPath, toPath: saved) }
        }
        let last = a.network.namedParameters(Float.self).map(\.variable.value.scalars)
        try a.saveModel(to: a.modelPath)
        #expect(a.network.namedParameters(Float.self).map(\.variable.value.scalars) == last, "saving must not change the live weights")
        let model = try LPNTraining.loadNetwork(from: a.modelPath).namedParameters(Float.self)
        #expect(zip(model, ref).allSatisfy { maxAbsDifference($0.variable.value.scalars.map(Double.init), $1) < 1e-5 })
        #expect(!zip(model, last).allSatisfy { $0.variable.value.scalars == $1 }, "the model is the average, not the last weights")
        #expect(try SafeTensors.read(a.modelPath).metadata["lpn.ema_decay"] == "0.8")
        // Averages of non-negative hidden weights stay non-negative: the model is input-convex.
        #expect(model.filter { LearnedProximalNetwork<Float>.isHiddenWeight($0.name) }.allSatisfy { $0.variable.value.scalars.min()! >= 0 })
        // Resumed from step 10, the same average and the same model file.
        let b = try LPNTraining(config: cfg)
        b.log = { _ in }
        try b.resume(from: saved)
        try b.run(checkpoint: folder + "/b.safetensors")
        try b.saveModel(to: folder + "/b-model.safetensors")
        let resumed = try LPNTraining.loadNetwork(from: folder + "/b-model.safetensors").namedParameters(Float.self)
        #expect(zip(model, resumed).allSatisfy { maxAbsDifference($0.variable.value.scalars.map(Double.init), $1.variable.value.scalars.map(Double.init)) <= 1e-6 })
        // A checkpoint of a run without the average cannot resume one with it.
        let plain = try LPNTraining(config: try tinyConfig(folder: folder + "/plain"))
        plain.log = { _ in }
        try plain.run(until: 2, checkpoint: plain.checkpointPath)
        let c = try LPNTraining(config: cfg)
        #expect(throws: LearningError.self) { try c.resume(from: plain.checkpointPath) }
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
