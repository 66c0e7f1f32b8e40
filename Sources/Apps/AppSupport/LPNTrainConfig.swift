import Foundation
import Inverse
import Learning

/// The config of `pde-train lpn`: a learned proximal network (`LearnedProximalNetwork`)
/// trained as a denoiser on pairs drawn on the fly from the seeded generator, y = x + σ·N(0, 1),
/// with the reference's schedule (an ℓ¹ warm start, then proximal matching with γ halving over
/// `stages` down to `sigma_min`, or the explicit `gammas`). The clean x are random patches of
/// gray PNG images (`data.source: images`, the default) or i.i.d. Laplace samples
/// p(x) ∝ exp(−|x|/b) (`data.source: laplace`, the paper's 1-D toy, whose MAP denoiser is
/// soft-thresholding at σ²/b), or patches of random-ellipse phantoms (`data.source: phantoms`,
/// for CT). Image and phantom patches can be augmented (`data.augment: flips` or `dihedral`):
/// each patch is mapped by one symmetry of the square drawn uniformly, so the network sees
/// the flipped and rotated textures it will meet in held-out images.
///
/// ```yaml
/// model: {kind: fully-connected, hidden: 64, layers: 2, beta: 10, alpha: 0.02}
/// data: {images: [data/images/*.png], patch: 28, noise: 0.1, seed: 0}
/// training:
///   batch: 32
///   pretrain_steps: 2000
///   matching_steps: 2000
///   stages: 4
///   sigma_min: 0.5            # optional; default 0.08·√(patch²)
///   pretrain_learning_rate: 1.0e-3
///   learning_rate: 1.0e-4
///   checkpoint_every: 500
///   progress_every: 100       # optional; default 100
///   directory: runs/lpn-patches
///   initial_model: runs/lpn-images/model.safetensors   # optional: fine-tune a trained network
///   ema_decay: 0.999          # optional: the model file holds the weights' moving average
///   screen: 4                 # optional: matching steps record only pairs within 4γ of f(y)
/// ```
///
/// The Laplace toy: `data: {source: laplace, scale: 1, dimension: 1, noise: 1, seed: 1}` with a
/// fully connected model, and optionally explicit stages
/// `gammas: [0.5, 0.4, 0.3, 0.2, 0.1]` with `learning_rates: [...]` (one per γ) in `training`;
/// `expectation: exact` (no `batch`) trains it on its expected loss instead of sampled pairs.
public struct LPNTrainConfig: Decodable, Sendable {
    /// The network's input layout.
    public enum ModelKind: String, Sendable, CaseIterable {
        /// Flattened patches [batch, patch²].
        case fullyConnected = "fully-connected"
        /// Patches as images [batch, 1, patch, patch] (with the reference's dense layers).
        case convolutional
        /// Patches as images, stride-1 convolutions only: the trained network applies to
        /// images of any size.
        case fullyConvolutional = "fully-convolutional"
    }

    /// Where the clean samples come from (`data.source`).
    public enum DataSource: String, Sendable, CaseIterable {
        /// Random patches of gray PNG images (`data.images`, `data.patch`).
        case images
        /// I.i.d. Laplace samples of scale `data.scale` in `data.dimension` entries.
        case laplace
        /// Random patches of `data.count` random-ellipse phantoms (`Phantom.randomEllipses`,
        /// `data.size` pixels per side, `data.ellipses` each, seeds from `data.seed`).
        case phantoms
    }

    /// The network's input layout (`model.kind`).
    public var kind: ModelKind
    /// Hidden width, units or channels (`model.hidden`).
    public var hidden: Int
    /// Hidden-to-hidden layers or convolutions after the first (`model.layers`).
    public var layers: Int
    /// Softplus β (`model.beta`).
    public var beta: Double
    /// Strong-convexity weight α (`model.alpha`, default 0).
    public var alpha: Double
    /// How the hidden-to-hidden weights start (`model.hidden_init`): `exp-normal` (the default,
    /// the reference's image networks, exp(N(−10, 0.1²))) or `uniform-clipped` (PyTorch's default
    /// clipped at 0, the reference's 1-D Laplace toy).
    public var hiddenInitialization: LearnedProximalNetwork<Float>.HiddenInitialization
    /// Block sizes of the coarse input paths (`model.scales`, fully convolutional only; empty
    /// for none): `LearnedProximalNetwork.scales`. With `training.initial_model` a network
    /// without them may be grown: its weights are loaded and the coarse paths start at zero.
    public var scales: [Int]
    /// Where the clean samples come from (`data.source`, default images).
    public var source: DataSource
    /// PNG paths or patterns with `*` / `?` in the file name (`data.images`; empty for laplace).
    public var images: [String]
    /// Side of the square patches (`data.patch`; 1 for laplace).
    public var patch: Int
    /// Scale b of the Laplace samples (`data.scale`, default 1; laplace only).
    public var scale: Double
    /// Entries per Laplace sample (`data.dimension`, default 1; laplace only).
    public var laplaceDimension: Int
    /// Number of phantoms (`data.count`, default 64), their side (`data.size`, default 128)
    /// and their ellipses (`data.ellipses`, default 10; family ellipses); phantoms only.
    public var phantomCount: Int, phantomSize: Int, phantomEllipses: Int
    /// Which phantoms (`data.family`): `ellipses` (the default, `Phantom.randomEllipses`) or
    /// `shepp-logan` (`Phantom.randomSheppLogan`, random members of the Shepp–Logan family).
    public var phantomFamily: PhantomFamily
    /// Points per pixel side the phantoms are area-sampled with (`data.supersampling`: one k,
    /// default 1, or a list used in turn, phantom i taking entry i mod count; phantoms only):
    /// k > 1 gives partial-volume edges, a list mixes hard and soft edges.
    public var phantomSupersampling: [Int]

    /// The phantoms of `data.source: phantoms`.
    public enum PhantomFamily: String, Sendable, CaseIterable {
        /// `Phantom.randomEllipses` with `data.ellipses` ellipses.
        case ellipses
        /// `Phantom.randomSheppLogan`.
        case sheppLogan = "shepp-logan"
    }
    /// σ of the Gaussian noise added to the patches (`data.noise`).
    public var noise: Double
    /// The symmetries a patch is mapped by, one drawn uniformly per patch (`data.augment`:
    /// `none`, the default, `flips` or `dihedral`; images and phantoms only).
    public var augment: LPNSymmetries
    /// Seed of the network's initialization and of the patches and noise (`data.seed`).
    public var seed: UInt64
    /// Patches per step (`training.batch`); the quadrature points with `training.expectation: exact`.
    public var batch: Int
    /// Steps of the ℓ¹ warm start (`training.pretrain_steps`).
    public var pretrainSteps: Int
    /// Steps of proximal matching (`training.matching_steps`).
    public var matchingSteps: Int
    /// Number of γ stages of proximal matching (`training.stages`).
    public var stages: Int
    /// The last γ (`training.sigma_min`); nil for 0.08·√(patch²).
    public var sigmaMin: Double?
    /// Explicit γ per stage (`training.gammas`, non-increasing); nil for the halving schedule.
    public var gammas: [Double]?
    /// Learning rate per explicit stage (`training.learning_rates`); nil for `learning_rate`.
    public var stageLearningRates: [Double]?
    /// Learning rate of the warm start (`training.pretrain_learning_rate`).
    public var pretrainLearningRate: Double
    /// Learning rates of equal parts of the warm start (`training.pretrain_learning_rates`,
    /// instead of `pretrain_learning_rate`); nil for one rate throughout.
    public var pretrainLearningRates: [Double]?
    /// Learning rate of proximal matching (`training.learning_rate`).
    public var learningRate: Double
    /// Steps between checkpoints (`training.checkpoint_every`; the last step is always saved).
    public var checkpointEvery: Int
    /// Steps between progress lines (`training.progress_every`, default 100).
    public var progressEvery: Int
    /// Folder of checkpoint.safetensors and model.safetensors (`training.directory`).
    public var directory: String
    /// A model file or checkpoint of an earlier run of the same architecture whose weights
    /// replace the fresh initialization (`training.initial_model`): fine-tuning, e.g. at another
    /// noise level or on other data. nil trains from the seeded initialization.
    public var initialModel: String?
    /// The decay d of an exponential moving average of the weights kept during training
    /// (`training.ema_decay`, `ParameterAverage`): the model file then holds the average,
    /// a ← d·a + (1 − d)·θ after every step, started at the initial weights. nil: the model
    /// file holds the last step's weights.
    public var emaDecay: Double?
    /// The screening margin k of proximal-matching steps (`training.screen`,
    /// `ProximalMatchingLoss.screenedMatching`): a pass without gradients over the batch, then
    /// a recorded pass over the pairs with ‖f(y) − x‖ < k·γ only. The same loss, and the same
    /// gradient up to terms below 2k·e^{−k²}/γ, for less than the cost of recording every pair
    /// at small γ, where almost every pair is dropped (1.25× the pairs per second on the Laplace
    /// toy at γ = 0.02). nil records every pair.
    public var screen: Double?
    /// How each step's loss is formed (`training.expectation`): `sampled` (the default) from a
    /// batch of pairs drawn by the seeded generator; `exact` (the Laplace toy in one dimension
    /// only) as its expectation over y on a quadrature grid with the clean x integrated out in
    /// closed form (`LaplaceToyExpectation`): no sampling error and no batch.
    public var expectation: Expectation
    /// Points of the quadrature grid over y (`training.quadrature_points`, default 2401; exact
    /// expectation only).
    public var quadraturePoints: Int
    /// Half-width of the quadrature grid (`training.quadrature_span`, default 6·(b + σ); exact
    /// expectation only).
    public var quadratureSpan: Double

    /// How a step's loss is formed (`training.expectation`).
    public enum Expectation: String, Sendable, CaseIterable {
        /// A batch of pairs drawn on the fly.
        case sampled
        /// The Laplace toy's expected loss by quadrature over y, in closed form over x.
        case exact
    }

    /// The quadrature of `training.expectation: exact`; nil for sampled batches.
    public func laplaceExpectation() throws -> LaplaceToyExpectation? {
        guard expectation == .exact else { return nil }
        return try LaplaceToyExpectation(points: quadraturePoints, span: quadratureSpan, scale: scale, noise: noise)
    }

    /// Entries per sample: patch² for images, `data.dimension` for laplace.
    public var dimension: Int { source == .laplace ? laplaceDimension : patch * patch }
    /// All steps, warm start and matching.
    public var totalSteps: Int { pretrainSteps + matchingSteps }

    /// Decodes and checks the config; unknown or missing keys and out-of-range values are
    /// `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["model", "data", "training"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        let m = try c.required("model", as: ModelSpec.self)
        let d = try c.required("data", as: DataSpec.self)
        let t = try c.required("training", as: TrainingSpec.self)
        kind = m.kind; hidden = m.hidden; layers = m.layers; beta = m.beta; alpha = m.alpha
        hiddenInitialization = m.hiddenInitialization
        scales = m.scales
        source = d.source; images = d.images; patch = d.patch; noise = d.noise; seed = d.seed; augment = d.augment
        scale = d.scale; laplaceDimension = d.dimension
        if !scales.isEmpty, kind != .fullyConvolutional {
            throw ConfigError(keyPath: "model.scales", value: "\(scales)", expected: "no scales except with kind fully-convolutional")
        }
        if let f = m.scales.first(where: { d.patch % $0 != 0 }) {
            throw ConfigError(keyPath: "model.scales", value: "\(scales)", expected: "block sizes dividing data.patch (\(d.patch); \(f) does not)")
        }
        phantomCount = d.count; phantomSize = d.size; phantomEllipses = d.ellipses; phantomFamily = d.family; phantomSupersampling = d.supersampling
        batch = t.batch; pretrainSteps = t.pretrainSteps; matchingSteps = t.matchingSteps
        stages = t.gammas?.count ?? t.stages; gammas = t.gammas; stageLearningRates = t.learningRates
        sigmaMin = t.sigmaMin; pretrainLearningRate = t.pretrainLearningRate; learningRate = t.learningRate
        pretrainLearningRates = t.pretrainLearningRates
        if source == .laplace && kind != .fullyConnected {
            throw ConfigError(keyPath: "model.kind", value: "'\(kind.rawValue)'", expected: "fully-connected for data.source laplace")
        }
        checkpointEvery = t.checkpointEvery; progressEvery = t.progressEvery; directory = t.directory
        initialModel = t.initialModel
        emaDecay = t.emaDecay
        screen = t.screen
        expectation = t.expectation
        quadraturePoints = t.quadraturePoints ?? 2401
        quadratureSpan = t.quadratureSpan ?? 6 * (d.scale + d.noise)
        if expectation == .exact {
            batch = quadraturePoints
            guard source == .laplace, laplaceDimension == 1 else {
                throw ConfigError(keyPath: "training.expectation", value: "exact",
                                  expected: "data.source laplace with data.dimension 1 (the only prior whose expectation is known in closed form), or sampled")
            }
            // The window's checks (at most 40·max(b, σ), no underflow) are the quadrature's own.
            do { _ = try laplaceExpectation() } catch let LearningError.invalidArgument(_, value, expected) {
                throw ConfigError(keyPath: "training.quadrature_span", value: value, expected: expected + " (training.quadrature_span)")
            }
        }
        if kind == .convolutional {
            let factor = 1 << ((layers + 1) / 2)
            guard patch % factor == 0 else {
                throw ConfigError(keyPath: "data.patch", value: "\(patch)",
                                  expected: "a multiple of \(factor) (2^⌈layers/2⌉ for a convolutional network of \(layers) layers)")
            }
        }
        guard batch * dimension <= 1 << 26 else {
            throw ConfigError(keyPath: "training.batch", value: "\(batch)",
                              expected: "at most 2^26 entries per batch (batch × entries per sample; here \(dimension) per sample)")
        }
    }

    /// The training schedule (σ_min defaulting to 0.08·√(patch²)).
    public func schedule() throws -> ProximalMatchingSchedule {
        if let gammas {
            return try ProximalMatchingSchedule(pretrainSteps: pretrainSteps, matchingSteps: matchingSteps, gammas: gammas,
                                                pretrainLearningRates: pretrainLearningRates ?? [pretrainLearningRate],
                                                stageLearningRates: stageLearningRates ?? Array(repeating: learningRate, count: gammas.count))
        }
        var s = try ProximalMatchingSchedule(dimension: dimension, pretrainSteps: pretrainSteps, matchingSteps: matchingSteps, stages: stages,
                                             sigmaMin: sigmaMin, pretrainLearningRate: pretrainLearningRate, learningRate: learningRate)
        if let pretrainLearningRates {
            s = try ProximalMatchingSchedule(pretrainSteps: pretrainSteps, matchingSteps: matchingSteps, gammas: s.gammas,
                                             pretrainLearningRates: pretrainLearningRates, stageLearningRates: s.stageLearningRates)
        }
        return s
    }

    /// The network's input layout for 1-channel patches.
    public var networkKind: LearnedProximalNetwork<Float>.Kind {
        switch kind {
        case .fullyConnected: return .fullyConnected(dimension: dimension)
        case .convolutional: return .convolutional(channels: 1, height: patch, width: patch)
        case .fullyConvolutional: return .fullyConvolutional(channels: 1)
        }
    }

    /// A freshly initialized network of this architecture, drawn from `g`.
    public func makeNetwork(generator g: inout SeededGenerator) throws -> LearnedProximalNetwork<Float> {
        try LearnedProximalNetwork<Float>(kind: networkKind, hidden: hidden, layers: layers, beta: beta, alpha: alpha,
                                          hiddenInitialization: hiddenInitialization, scales: scales, generator: &g)
    }

    static func check<V: Comparable>(_ c: KeyedDecodingContainer<AnyKey>, _ key: String, _ v: V, _ range: ClosedRange<V>,
                                     _ expected: String) throws {
        guard range.contains(v) else { throw ConfigError(keyPath: c.path(key), value: "\(v)", expected: expected) }
    }

    static func positive(_ c: KeyedDecodingContainer<AnyKey>, _ key: String, _ v: Double, maximum: Double = 1e6) throws {
        guard v > 0, v <= maximum, v.isFinite else {
            throw ConfigError(keyPath: c.path(key), value: "\(v)", expected: "a positive finite number ≤ \(maximum)")
        }
    }

    struct ModelSpec: Decodable {
        var kind: ModelKind, hidden: Int, layers: Int, beta: Double, alpha: Double
        var hiddenInitialization = LearnedProximalNetwork<Float>.HiddenInitialization.reference
        var scales: [Int] = []
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["kind", "hidden", "layers", "beta", "alpha", "hidden_init", "scales"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            let k: String = try c.required("kind")
            guard let kind = ModelKind(rawValue: k) else {
                throw ConfigError(keyPath: c.path("kind"), value: "'\(k)'", expected: "one of: fully-connected, convolutional, fully-convolutional")
            }
            self.kind = kind
            hidden = try c.required("hidden")
            layers = try c.required("layers")
            beta = try c.required("beta")
            alpha = try c.value("alpha") ?? 0
            try check(c, "hidden", hidden, 1...4096, "an integer from 1 to 4096")
            try check(c, "layers", layers, 1...16, "an integer from 1 to 16")
            try positive(c, "beta", beta)
            guard alpha >= 0, alpha <= 1e6, alpha.isFinite else {
                throw ConfigError(keyPath: c.path("alpha"), value: "\(alpha)", expected: "a finite number from 0 to 1e6")
            }
            scales = try c.value("scales") ?? []
            guard scales.allSatisfy({ $0 >= 2 && $0 <= 256 }), zip(scales, scales.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw ConfigError(keyPath: c.path("scales"), value: "\(scales)", expected: "increasing block sizes from 2 to 256, e.g. [4, 8]")
            }
            switch try c.value("hidden_init") ?? "exp-normal" {
            case "exp-normal": hiddenInitialization = .reference
            case "uniform-clipped": hiddenInitialization = .uniformClipped
            case let other:
                throw ConfigError(keyPath: c.path("hidden_init"), value: "'\(other)'", expected: "one of: exp-normal, uniform-clipped")
            }
        }
    }

    struct DataSpec: Decodable {
        var source: DataSource, images: [String], patch: Int, noise: Double, seed: UInt64, scale: Double, dimension: Int
        var count: Int, size: Int, ellipses: Int, augment: LPNSymmetries, family: PhantomFamily, supersampling: [Int]
        static let only: [String: DataSource] = ["images": .images, "scale": .laplace, "dimension": .laplace,
                                                  "count": .phantoms, "size": .phantoms, "ellipses": .phantoms, "family": .phantoms, "supersampling": .phantoms]
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["source", "images", "patch", "noise", "seed", "scale", "dimension", "count", "size", "ellipses", "augment",
                                           "family", "supersampling"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            let name: String = try c.value("source") ?? "images"
            guard let source = DataSource(rawValue: name) else {
                throw ConfigError(keyPath: c.path("source"), value: "'\(name)'", expected: "one of: images, laplace, phantoms")
            }
            self.source = source
            noise = try c.required("noise")
            seed = try c.value("seed") ?? 0
            try positive(c, "noise", noise, maximum: 100)
            for (key, owner) in Self.only.sorted(by: { $0.key < $1.key }) where owner != source && c.contains(AnyKey(key)) {
                throw ConfigError(keyPath: c.path(key), value: "given", expected: "no '\(key)' with data.source \(source.rawValue) (\(owner.rawValue) only)")
            }
            for key in ["patch", "augment"] where source == .laplace && c.contains(AnyKey(key)) {
                throw ConfigError(keyPath: c.path(key), value: "given", expected: "no '\(key)' with data.source laplace (images and phantoms only)")
            }
            let augmentName: String = try c.value("augment") ?? "none"
            guard let augment = LPNSymmetries(rawValue: augmentName), augment != .negation else {
                throw ConfigError(keyPath: c.path("augment"), value: "'\(augmentName)'", expected: "one of: none, flips, dihedral")
            }
            self.augment = augment
            images = []
            patch = 1
            scale = try c.value("scale") ?? 1
            dimension = try c.value("dimension") ?? 1
            count = try c.value("count") ?? 64
            size = try c.value("size") ?? 128
            ellipses = try c.value("ellipses") ?? 10
            if let list = try? c.value("supersampling", as: [Int].self) { supersampling = list } else {
                supersampling = [try c.value("supersampling") ?? 1]
            }
            let familyName: String = try c.value("family") ?? "ellipses"
            guard let family = PhantomFamily(rawValue: familyName) else {
                throw ConfigError(keyPath: c.path("family"), value: "'\(familyName)'", expected: "one of: ellipses, shepp-logan")
            }
            self.family = family
            if family == .sheppLogan && c.contains(AnyKey("ellipses")) {
                throw ConfigError(keyPath: c.path("ellipses"), value: "given", expected: "no 'ellipses' with data.family shepp-logan (its ellipses are the phantom's ten)")
            }
            switch source {
            case .images:
                images = try c.required("images")
                guard !images.isEmpty, !images.contains(where: \.isEmpty) else {
                    throw ConfigError(keyPath: c.path("images"), value: "\(images)", expected: "a non-empty list of PNG paths or patterns")
                }
            case .laplace:
                try positive(c, "scale", scale, maximum: 1e6)
                try check(c, "dimension", dimension, 1...1_000_000, "an integer from 1 to 1e6")
            case .phantoms:
                try check(c, "count", count, 1...100_000, "an integer from 1 to 100000")
                try check(c, "size", size, 2...4096, "an integer from 2 to 4096")
                try check(c, "ellipses", ellipses, 1...10_000, "an integer from 1 to 10000")
                guard !supersampling.isEmpty, supersampling.allSatisfy({ Phantom.supersamplingRange.contains($0) }) else {
                    throw ConfigError(keyPath: c.path("supersampling"), value: "\(supersampling.count == 1 ? "\(supersampling[0])" : "\(supersampling)")",
                                      expected: "an integer from \(Phantom.supersamplingRange.lowerBound) to \(Phantom.supersamplingRange.upperBound) (points per pixel side), or a non-empty list of them")
                }
            }
            if source != .laplace {
                patch = try c.required("patch")
                try check(c, "patch", patch, 2...512, "an integer from 2 to 512")
                if source == .phantoms && patch > size {
                    throw ConfigError(keyPath: c.path("patch"), value: "\(patch)", expected: "at most data.size (\(size))")
                }
            }
        }
    }

    struct TrainingSpec: Decodable {
        var batch: Int, pretrainSteps: Int, matchingSteps: Int, stages: Int, sigmaMin: Double?, gammas: [Double]?, learningRates: [Double]?
        var pretrainLearningRate: Double, learningRate: Double, checkpointEvery: Int, progressEvery: Int, directory: String
        var pretrainLearningRates: [Double]?, initialModel: String?, emaDecay: Double?, screen: Double?
        var expectation = Expectation.sampled, quadraturePoints: Int?, quadratureSpan: Double?
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["batch", "pretrain_steps", "matching_steps", "stages", "sigma_min", "gammas", "pretrain_learning_rate",
                                           "pretrain_learning_rates", "learning_rate", "learning_rates", "checkpoint_every", "progress_every", "directory",
                                           "initial_model", "ema_decay", "screen", "expectation", "quadrature_points", "quadrature_span"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            let mode: String = try c.value("expectation") ?? "sampled"
            guard let e = Expectation(rawValue: mode) else {
                throw ConfigError(keyPath: c.path("expectation"), value: "'\(mode)'", expected: "one of: sampled, exact")
            }
            expectation = e
            if e == .exact {
                for key in ["batch", "screen"] where c.contains(AnyKey(key)) {
                    throw ConfigError(keyPath: c.path(key), value: "given with training.expectation exact",
                                      expected: "no \(key): the quadrature grid (quadrature_points) replaces the batch")
                }
                quadraturePoints = try c.value("quadrature_points")
                quadratureSpan = try c.value("quadrature_span")
                if let n = quadraturePoints { try check(c, "quadrature_points", n, 3...1_000_000, "an integer from 3 to 10⁶") }
                if let s = quadratureSpan { try positive(c, "quadrature_span", s) }
            } else {
                for key in ["quadrature_points", "quadrature_span"] where c.contains(AnyKey(key)) {
                    throw ConfigError(keyPath: c.path(key), value: "given", expected: "no \(key) without training.expectation exact")
                }
            }
            batch = e == .exact ? 1 : try c.required("batch")
            pretrainSteps = try c.required("pretrain_steps")
            matchingSteps = try c.required("matching_steps")
            stages = try c.value("stages") ?? 4
            sigmaMin = try c.value("sigma_min")
            gammas = try c.value("gammas")
            learningRates = try c.value("learning_rates")
            pretrainLearningRate = try c.value("pretrain_learning_rate") ?? 1e-3
            learningRate = try c.value("learning_rate") ?? 1e-4
            checkpointEvery = try c.required("checkpoint_every")
            progressEvery = try c.value("progress_every") ?? 100
            directory = try c.required("directory")
            try check(c, "batch", batch, 1...16_777_216, "an integer from 1 to 2^24 (and batch × entries per sample ≤ 2^26)")
            try check(c, "pretrain_steps", pretrainSteps, 0...1_000_000_000, "an integer from 0 to 1e9")
            try check(c, "matching_steps", matchingSteps, 0...1_000_000_000, "an integer from 0 to 1e9")
            guard pretrainSteps + matchingSteps >= 1 else {
                throw ConfigError(keyPath: c.path("matching_steps"), value: "\(matchingSteps)",
                                  expected: "at least one step in all (pretrain_steps + matching_steps ≥ 1)")
            }
            try check(c, "stages", stages, 1...64, "an integer from 1 to 64")
            if let s = sigmaMin { try positive(c, "sigma_min", s) }
            if let g = gammas {
                for key in ["stages", "sigma_min"] where c.contains(AnyKey(key)) {
                    throw ConfigError(keyPath: c.path(key), value: "given with training.gammas",
                                      expected: "either gammas (explicit stages) or stages / sigma_min (halving schedule)")
                }
                guard !g.isEmpty, g.count <= 64, g.allSatisfy({ $0 > 0 && $0.isFinite }), zip(g, g.dropFirst()).allSatisfy({ $0 >= $1 }) else {
                    throw ConfigError(keyPath: c.path("gammas"), value: "\(g)", expected: "1 to 64 positive, non-increasing numbers")
                }
            }
            if let r = learningRates {
                guard let g = gammas else {
                    throw ConfigError(keyPath: c.path("learning_rates"), value: "\(r)", expected: "no learning_rates without training.gammas")
                }
                guard r.count == g.count, r.allSatisfy({ $0 > 0 && $0 <= 10 && $0.isFinite }) else {
                    throw ConfigError(keyPath: c.path("learning_rates"), value: "\(r)",
                                      expected: "one positive learning rate ≤ 10 per γ (\(g.count))")
                }
            }
            try positive(c, "pretrain_learning_rate", pretrainLearningRate, maximum: 10)
            pretrainLearningRates = try c.value("pretrain_learning_rates")
            if let r = pretrainLearningRates {
                if c.contains(AnyKey("pretrain_learning_rate")) {
                    throw ConfigError(keyPath: c.path("pretrain_learning_rate"), value: "given with training.pretrain_learning_rates",
                                      expected: "either pretrain_learning_rate (one rate) or pretrain_learning_rates (equal parts)")
                }
                guard !r.isEmpty, r.count <= max(1, pretrainSteps), r.allSatisfy({ $0 > 0 && $0 <= 10 && $0.isFinite }) else {
                    throw ConfigError(keyPath: c.path("pretrain_learning_rates"), value: "\(r)",
                                      expected: "1 to \(max(1, pretrainSteps)) positive learning rates ≤ 10 (at most one per warm-start step)")
                }
                pretrainLearningRate = r[0]
            }
            try positive(c, "learning_rate", learningRate, maximum: 10)
            try check(c, "checkpoint_every", checkpointEvery, 1...1_000_000_000, "an integer ≥ 1")
            try check(c, "progress_every", progressEvery, 1...1_000_000_000, "an integer ≥ 1")
            guard !directory.isEmpty else {
                throw ConfigError(keyPath: c.path("directory"), value: "''", expected: "a folder path")
            }
            initialModel = try c.value("initial_model")
            if let m = initialModel, m.isEmpty {
                throw ConfigError(keyPath: c.path("initial_model"), value: "''", expected: "the path of a pde-train lpn model file")
            }
            emaDecay = try c.value("ema_decay")
            if let d = emaDecay, !(d > 0 && d < 1) {
                throw ConfigError(keyPath: c.path("ema_decay"), value: "\(d)", expected: "a number in (0, 1), e.g. 0.999 (an average over about 1000 steps)")
            }
            screen = try c.value("screen")
            if let k = screen, !(k >= 2 && k <= 1000) {
                throw ConfigError(keyPath: c.path("screen"), value: "\(k)",
                                  expected: "a margin from 2 to 1000 in units of γ (pairs beyond k·γ carry gradients below 2k·e^{−k²}/γ; 4 is below 1e-6/γ)")
            }
        }
    }
}
