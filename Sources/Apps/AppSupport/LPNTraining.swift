import Foundation
import Inverse
import Learning
import PDE

/// The training loop of `pde-train lpn` (callable from tests): the network of an
/// `LPNTrainConfig`, Adam with the non-negativity constraint of the hidden weights, and
/// noisy patch pairs drawn on the fly from one seeded generator. Checkpoints hold the model,
/// the optimizer, the step and the generator's state, so a resumed run continues with the
/// same batches and the same losses as an uninterrupted one.
public final class LPNTraining {
    /// The config trained.
    public let config: LPNTrainConfig
    /// The network being trained.
    public let network: LearnedProximalNetwork<Float>
    /// Adam over the network's parameters, clamping `lin.k.weight` (k ≥ 1) to ≥ 0.
    public let optimizer: Adam<Float>
    /// Phases and learning rates per step.
    public let schedule: ProximalMatchingSchedule
    /// The moving average of the weights (`training.ema_decay`), updated after every step and
    /// written as the model; nil without it.
    public let average: ParameterAverage<Float>?
    /// Steps done so far (the 0-based index of the next step).
    public private(set) var step = 0
    /// Where progress lines go (standard output by default).
    public var log: (String) -> Void = { print($0); fflush(stdout) }
    /// Asked after every step; true stops the run after writing a checkpoint (Ctrl-C).
    public var shouldStop: (() -> Bool)?
    /// Extra metadata stored in checkpoints and the model file (e.g. the config's text).
    public var metadata: [String: String] = [:]
    /// Whether the last `run` returned because `shouldStop` asked it to.
    public private(set) var wasInterrupted = false

    /// Draws patches and noise.
    var generator: SeededGenerator
    /// The gray images (or phantoms), values in [0, 1].
    let images: [(values: [Float], width: Int, height: Int)]
    /// The pixel permutations of `data.augment` on one patch (empty for none).
    let augmentation: [[Int]]
    /// The quadrature of `training.expectation: exact` and its grid as the network's input;
    /// nil for sampled batches.
    let expectation: (quadrature: LaplaceToyExpectation, inputs: Tensor<Float>)?

    /// `directory/checkpoint.safetensors`.
    public var checkpointPath: String { config.directory + "/checkpoint.safetensors" }
    /// `directory/model.safetensors`.
    public var modelPath: String { config.directory + "/model.safetensors" }

    /// Reads the images (patterns expanded; each must be at least patch × patch), builds the
    /// network from `data.seed` (its weights then replaced by those of `training.initial_model`
    /// when given) and the optimizer. Throws `ConfigError` at `data.images` for missing or too
    /// small images, at `training.initial_model` for a missing file or one of another
    /// architecture, and `LearningError` / `PDEError` otherwise.
    public init(config: LPNTrainConfig) throws {
        self.config = config
        var g = SeededGenerator(seed: config.seed)
        network = try config.makeNetwork(generator: &g)
        generator = g
        if let initial = config.initialModel { try Self.loadWeights(of: initial, into: network) }
        schedule = try config.schedule()
        optimizer = try Adam(network.namedParameters(Float.self), learningRate: schedule.learningRate(atStep: 0))
        optimizer.constraint = LearnedProximalNetwork<Float>.nonnegativeConstraint()
        let parameters = network.namedParameters(Float.self)
        average = try config.emaDecay.map { try ParameterAverage(parameters, decay: $0) }
        var loaded: [(values: [Float], width: Int, height: Int)] = []
        for path in try config.source == .images ? Self.expand(config.images) : [] {
            let img = try PNGImage.readGray(path)
            guard img.width >= config.patch, img.height >= config.patch else {
                throw ConfigError(keyPath: "data.images", value: "'\(path)' of \(img.width) × \(img.height) pixels",
                                  expected: "images of at least \(config.patch) × \(config.patch) pixels (data.patch)")
            }
            loaded.append((img.values.map(Float.init), img.width, img.height))
        }
        if config.source == .phantoms {
            for k in 0..<config.phantomCount {
                let seed = config.seed &+ 1 &+ UInt64(k)
                let (n, samples) = (config.phantomSize, config.phantomSupersampling[k % config.phantomSupersampling.count])
                let p = config.phantomFamily == .ellipses ? try Phantom.randomEllipses(size: n, count: config.phantomEllipses, seed: seed, supersampling: samples)
                                                          : try Phantom.randomSheppLogan(size: n, seed: seed, supersampling: samples)
                loaded.append((p.map(Float.init), config.phantomSize, config.phantomSize))
            }
        }
        images = loaded
        expectation = try config.laplaceExpectation().map { ($0, $0.inputs(Float.self)) }
        augmentation = config.augment == .none ? [] : try config.augment.permutations(channels: 1, height: config.patch, width: config.patch)
    }

    /// Replaces `network`'s weights by those of the model file (or checkpoint) at `path`, whose
    /// architecture metadata must equal the network's, except that a file without coarse paths
    /// may start a network with them (`model.scales`): its weights are loaded and the coarse
    /// paths start at zero, so the grown network computes what the file's does. Throws
    /// `ConfigError` at `training.initial_model` otherwise.
    static func loadWeights(of path: String, into network: LearnedProximalNetwork<Float>) throws {
        let key = "training.initial_model"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(keyPath: key, value: "'\(path)' not found", expected: "a model file of pde-train lpn")
        }
        let meta: [String: String]
        do { meta = try SafeTensors.read(path).metadata } catch {
            throw ConfigError(keyPath: key, value: "'\(path)' (\(error))", expected: "a model file of pde-train lpn")
        }
        // A network without coarse paths grows into one with them (model.scales).
        let growing = meta["lpn.scales"] == nil && !network.scales.isEmpty
        if let s = meta["lpn.scales"], network.scales.isEmpty {
            throw ConfigError(keyPath: key, value: "'\(path)' with lpn.scales = \(s)", expected: "a network of the config's architecture (no model.scales)")
        }
        for (k, v) in network.architectureMetadata.sorted(by: { $0.key < $1.key }) where meta[k] != v && !(growing && k == "lpn.scales") {
            throw ConfigError(keyPath: key, value: "'\(path)' with \(k) = \(meta[k] ?? "none")",
                              expected: "a network of the config's architecture (\(k) = \(v))")
        }
        guard growing else {
            try Checkpoint.load(into: network, scalar: Float.self, from: path)
            return
        }
        let file = try SafeTensors.read(path)
        for (name, v) in network.namedParameters(Float.self) where !name.hasPrefix("coarse.") {
            guard let e = file.tensors[name], e.shape == v.value.shape else {
                throw ConfigError(keyPath: key, value: "'\(path)' without parameter \(name) of shape \(v.value.shape)",
                                  expected: "a model file of pde-train lpn of the config's architecture")
            }
            v.value = try e.tensor(Float.self)
        }
        network.zeroCoarsePaths()
    }

    /// The paths of `patterns` (sorted matches of `*` / `?` in the file name; plain paths must
    /// exist). Throws `ConfigError` at `data.images` for a missing file or a pattern matching
    /// nothing.
    static func expand(_ patterns: [String]) throws -> [String] {
        var out: [String] = []
        for p in patterns {
            let url = URL(fileURLWithPath: p)
            let name = url.lastPathComponent
            if name.contains("*") || name.contains("?") {
                let dir = (p as NSString).deletingLastPathComponent
                let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
                let matches = files.filter { fnmatch(name, $0, 0) == 0 }.sorted()
                guard !matches.isEmpty else {
                    throw ConfigError(keyPath: "data.images", value: "'\(p)' matches no file", expected: "patterns matching PNG files")
                }
                out += matches.map { dir.isEmpty ? $0 : dir + "/" + $0 }
            } else {
                guard FileManager.default.fileExists(atPath: p) else {
                    throw ConfigError(keyPath: "data.images", value: "'\(p)' not found", expected: "existing PNG files")
                }
                out.append(p)
            }
        }
        return out
    }

    /// The next batch: clean samples x (patches, each mapped by a symmetry drawn uniformly
    /// with `data.augment`; or Laplace samples) and noisy y = x + σ·N(0, 1), in the network's
    /// layout. Advances the training's generator, so a batch drawn here is one `run` does not
    /// draw. Without augmentation no symmetry is drawn (earlier runs' batches are unchanged).
    public func nextBatch() throws -> (clean: Tensor<Float>, noisy: Tensor<Float>) {
        let p = config.patch, d = config.dimension, b = config.batch
        var x = [Float](repeating: 0, count: b * d), y = x
        if config.source == .laplace {
            // x = b·(E₁ − E₂) with E₁, E₂ standard exponentials (1 − U lies in (0, 1]).
            for i in 0..<(b * d) {
                let v = config.scale * (-Foundation.log(1 - generator.uniform()) + Foundation.log(1 - generator.uniform()))
                x[i] = Float(v)
                y[i] = Float(v + config.noise * generator.normal())
            }
            return (try Tensor(shape: [b, d], scalars: x), try Tensor(shape: [b, d], scalars: y))
        }
        for s in 0..<b {
            let img = images[Int(generator.next() % UInt64(images.count))]
            let r0 = Int(generator.next() % UInt64(img.height - p + 1))
            let c0 = Int(generator.next() % UInt64(img.width - p + 1))
            // (T x)[k] = x[perm[k]] on the patch; the identity without augmentation.
            let perm: [Int]? = augmentation.isEmpty ? nil : augmentation[Int(generator.next() % UInt64(augmentation.count))]
            for k in 0..<d {
                let source = perm?[k] ?? k
                let v = img.values[(r0 + source / p) * img.width + c0 + source % p]
                x[s * d + k] = v
                y[s * d + k] = v + Float(config.noise * generator.normal())
            }
        }
        let shape = config.kind == .fullyConnected ? [b, d] : [b, 1, p, p]
        return (try Tensor(shape: shape, scalars: x), try Tensor(shape: shape, scalars: y))
    }

    /// Restores the model, the optimizer, the step, the generator and the weights' average (with
    /// `training.ema_decay`) from a checkpoint of `saveCheckpoint`. Throws
    /// `LearningError.malformedFile` for a file without them and `checkpointMismatch` for one
    /// without the average when the config asks for it.
    public func resume(from path: String) throws {
        let (meta, extra) = try Checkpoint.loadWithExtra(into: network, optimizer: optimizer, from: path)
        try average?.restore(from: extra.mapValues { $0.tensor(Float.self) }, path: path)
        guard let s = meta["lpn.step"].flatMap({ Int($0) }), s >= 0,
              let rng = meta["lpn.rng"].map({ $0.split(separator: ",").compactMap { UInt64($0) } }),
              let g = SeededGenerator(state: rng) else {
            throw LearningError.malformedFile(path: path, reason: "not a pde-train lpn checkpoint (lpn.step / lpn.rng metadata missing)")
        }
        step = s
        generator = g
    }

    /// Writes the model, the optimizer, the step, the generator's state and the weights'
    /// average (atomically).
    public func saveCheckpoint(to path: String) throws {
        var meta = metadata.merging(network.architectureMetadata) { _, a in a }
        meta["lpn.step"] = String(step)
        meta["lpn.rng"] = generator.state.map(String.init).joined(separator: ",")
        try Checkpoint.save(model: network, optimizer: optimizer, metadata: meta, extra: average?.checkpointTensors() ?? [], to: path)
    }

    /// Writes the trained network with its architecture (`LearnedProximalNetwork.load(from:)`
    /// reloads it) and `metadata`, atomically: the last step's weights, or their moving average
    /// with `training.ema_decay` (then recorded as `lpn.ema_decay`).
    public func saveModel(to path: String) throws {
        var meta = metadata
        meta["lpn.step"] = String(step)
        guard let average else { return try network.save(to: path, metadata: meta) }
        meta["lpn.ema_decay"] = String(average.decay)
        try average.withAveragedParameters { try network.save(to: path, metadata: meta) }
    }

    /// Trains from the current step to `steps` (default: the schedule's end), printing a
    /// progress line every `progress_every` steps and writing the checkpoint to `checkpoint`
    /// every `checkpoint_every` steps, at the end and when `shouldStop` stops the run. Returns
    /// the loss of every step run. Throws `LearningError.invalidArgument` for a non-finite loss.
    @discardableResult
    public func run(until steps: Int? = nil, checkpoint: String? = nil) throws -> [Double] {
        let end = min(steps ?? config.totalSteps, config.totalSteps)
        wasInterrupted = false
        var losses: [Double] = []
        var t0 = Date(), stepsSince = 0, keptSince = 0, screenedSince = 0
        while step < end {
            optimizer.learningRate = schedule.learningRate(atStep: step)
            optimizer.zeroGradients()
            let phase = schedule.phase(atStep: step)
            let loss: Variable<Float>?, value: Double
            if let (quadrature, inputs) = expectation {
                // The expected loss on the grid: no pairs are drawn (the generator stays put).
                (loss, value) = try quadrature.loss(try network.prox(Variable(inputs)), phase: phase)
            } else if case let .matching(gamma, _) = phase, let margin = config.screen {
                let (x, y) = try nextBatch()
                let r = try ProximalMatchingLoss.screenedMatching(prox: network.prox, noisy: y, clean: x, gamma: gamma, margin: margin)
                (loss, value) = (r.loss, r.value)
                keptSince += r.kept
                screenedSince += config.batch
            } else {
                let (x, y) = try nextBatch()
                let l = try schedule.loss(atStep: step, try network.prox(Variable(y)), Variable(x))
                (loss, value) = (l, Double(l.value.scalar ?? .nan))
            }
            guard value.isFinite else {
                throw LearningError.invalidArgument(name: "LPN training loss", value: "\(value) at step \(step + 1)",
                                                    expected: "a finite loss (lower the learning rate?)")
            }
            // A screened step that keeps no pair has no gradient (0 up to the screening bound):
            // Adam then leaves every parameter as it is.
            try loss?.backward()
            try optimizer.step()
            average?.update()
            losses.append(value)
            step += 1
            stepsSince += 1
            if step % config.progressEvery == 0 || step == end {
                let rate = Double(stepsSince) / max(1e-9, Date().timeIntervalSince(t0))
                let name: String
                switch phase {
                case .l1: name = "l1"
                case let .matching(gamma, stage): name = String(format: "matching γ=%.3g (stage %d/%d)", gamma, stage + 1, schedule.stages)
                }
                let kept = screenedSince > 0 ? String(format: "  kept %.2f %%", 100 * Double(keptSince) / Double(screenedSince)) : ""
                log("step \(step)/\(config.totalSteps)  \(name)  " + String(format: "loss %.4e  lr %.1e  %.1f steps/s", value,
                                                                                       optimizer.learningRate, rate) + kept)
                t0 = Date()
                (stepsSince, keptSince, screenedSince) = (0, 0, 0)
            }
            let stop = shouldStop?() ?? false
            if let checkpoint, step % config.checkpointEvery == 0 || step == end || stop {
                try saveCheckpoint(to: checkpoint)
            }
            if stop {
                wasInterrupted = true
                break
            }
        }
        return losses
    }

    /// The network of a model file or checkpoint written by `saveModel` / `saveCheckpoint`
    /// (`LearnedProximalNetwork.load(from:)`).
    public static func loadNetwork(from path: String) throws -> LearnedProximalNetwork<Float> {
        try LearnedProximalNetwork<Float>.load(from: path)
    }

    /// The smallest entry of the weights the constraint keeps non-negative (`lin.k.weight`,
    /// k ≥ 1), for checks.
    public var minimumHiddenWeight: Float {
        network.namedParameters(Float.self).filter { LearnedProximalNetwork<Float>.isHiddenWeight($0.name) }
            .flatMap(\.variable.value.scalars).min() ?? 0
    }
}
