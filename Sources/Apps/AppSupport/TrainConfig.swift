import Foundation
import Learning
import Operators
import PDE

/// The config of `pde-train`: the model, the data (an HDF5 file of `pde-datagen`, its split
/// and resolution), the training, and what `eval` reports.
///
/// ```yaml
/// model: {kind: fno, modes: [12, 12], width: 32, layers: 4, projection_width: 128, padding: 0.1}
/// data:
///   file: out/darcy_r421.h5
///   input: a_85
///   output: u_85
///   split: {train: 1000, validation: 0, test: 100}
///   normalize: {input: per-point, output: per-point}
/// training:
///   epochs: 500
///   batch: 20
///   seed: 0
///   optimizer: {name: adam, learning_rate: 1.0e-3, weight_decay: 1.0e-4}
///   schedule: {name: step, step_size: 100, gamma: 0.5}
///   loss: relative-l2
///   checkpoint: {folder: runs/fno-darcy, every: 10}
/// evaluation: {fine: {input: a_141, output: u_141}, panels: [0, 1, 2]}
/// ```
public struct TrainConfig: Decodable, Sendable {
    public var model: OperatorArchitecture
    public var data: TrainDataSpec
    public var training: TrainingSpec
    public var evaluation: EvaluationSpec
    /// Spectral-Refiner's fine-tuning (`pde-train refine`), for SFNO models.
    public var refine: RefineSpec?

    /// Decodes and checks every section (unknown keys, types and ranges are `ConfigError`s
    /// naming the key path).
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["model", "data", "training", "evaluation", "refine"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        model = try c.required("model", as: ModelSpec.self).architecture
        data = try c.required("data")
        training = try c.required("training")
        evaluation = try c.value("evaluation") ?? EvaluationSpec()
        refine = try c.value("refine")
        if case .sfno(let s) = model {
            guard let w = data.windows, w.inputSteps == s.inputSteps, w.outputSteps == s.outputSteps else {
                throw ConfigError(keyPath: c.path("data") + ".windows", value: data.windows.map { "\($0.inputSteps) → \($0.outputSteps) frames" } ?? "missing",
                                  expected: "trajectory windows of \(s.inputSteps) input and \(s.outputSteps) output frames for the sfno model")
            }
        }
        if refine != nil, model.kind != "sfno" {
            throw ConfigError(keyPath: c.path("refine"), value: "given for a \(model.kind) model", expected: "a refine section only with model kind sfno")
        }
    }
}

/// `model:` — `kind` and that kind's settings.
struct ModelSpec: Decodable {
    var architecture: OperatorArchitecture

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        let kind: String = try c.required("kind")
        switch kind {
        case "fno":
            try decoder.rejectUnknownKeys(["kind", "in_channels", "out_channels", "modes", "width", "layers", "projection_width",
                                           "padding", "grid_coordinates"])
            let modes: [Int] = try c.required("modes")
            guard (1...3).contains(modes.count), modes.allSatisfy({ $0 >= 1 }) else {
                throw ConfigError(keyPath: c.path("modes"), value: "\(modes)", expected: "1 to 3 mode counts ≥ 1, one per spatial axis")
            }
            var f = FNOConfiguration(modes: modes)
            f.inChannels = try positive(c, "in_channels") ?? f.inChannels
            f.outChannels = try positive(c, "out_channels") ?? f.outChannels
            f.width = try positive(c, "width") ?? f.width
            f.layers = try positive(c, "layers") ?? f.layers
            f.projectionWidth = try positive(c, "projection_width") ?? f.projectionWidth
            f.gridCoordinates = try c.value("grid_coordinates") ?? true
            if c.contains(AnyKey("padding")) {
                let list: [Double]
                if let one = try? c.decode(Double.self, forKey: AnyKey("padding")) { list = Array(repeating: one, count: modes.count) } else {
                    list = try c.required("padding")
                }
                guard list.count == modes.count, list.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                    throw ConfigError(keyPath: c.path("padding"), value: "\(list)",
                                      expected: "a fraction in [0, 1], or one per spatial axis (\(modes.count))")
                }
                f.padding = list
            }
            architecture = .fno(f)
        case "sfno":
            try decoder.rejectUnknownKeys(["kind", "modes", "width", "layers", "input_steps", "latent_steps", "output_steps", "feed_forward_width"])
            var f = SFNOConfiguration()
            if let modes: [Int] = try c.value("modes") {
                guard modes.count == 3, modes.allSatisfy({ $0 >= 1 }) else {
                    throw ConfigError(keyPath: c.path("modes"), value: "\(modes)", expected: "3 mode counts ≥ 1 (x, y, t)")
                }
                f.modes = modes
            }
            f.width = try positive(c, "width") ?? f.width
            f.layers = try positive(c, "layers") ?? f.layers
            f.inputSteps = try positive(c, "input_steps") ?? f.inputSteps
            f.latentSteps = try positive(c, "latent_steps") ?? f.latentSteps
            f.outputSteps = try positive(c, "output_steps") ?? f.outputSteps
            f.feedForwardWidth = try positive(c, "feed_forward_width") ?? f.feedForwardWidth
            do { try f.validate() } catch let e as LearningError {
                throw ConfigError(keyPath: c.path("modes"), value: "\(f.modes)", expected: "\(e)")
            }
            architecture = .sfno(f)
        case "lsm":
            try decoder.rejectUnknownKeys(["kind", "in_channels", "out_channels", "width", "basis", "tokens", "heads", "patch", "levels", "projection_width"])
            var f = LSMConfiguration()
            f.inChannels = try positive(c, "in_channels") ?? f.inChannels
            f.outChannels = try positive(c, "out_channels") ?? f.outChannels
            f.width = try positive(c, "width") ?? f.width
            f.basis = try positive(c, "basis") ?? f.basis
            f.tokens = try positive(c, "tokens") ?? f.tokens
            f.heads = try positive(c, "heads") ?? f.heads
            f.patch = try positive(c, "patch") ?? f.patch
            f.levels = try positive(c, "levels") ?? f.levels
            f.projectionWidth = try positive(c, "projection_width") ?? f.projectionWidth
            guard f.width % f.heads == 0 else {
                throw ConfigError(keyPath: c.path("heads"), value: "\(f.heads)", expected: "a divisor of the width \(f.width)")
            }
            guard f.levels <= 8 else { throw ConfigError(keyPath: c.path("levels"), value: "\(f.levels)", expected: "1 to 8 down-samplings") }
            guard f.patch <= 64 else { throw ConfigError(keyPath: c.path("patch"), value: "\(f.patch)", expected: "a patch side from 1 to 64") }
            architecture = .lsm(f)
        default:
            throw ConfigError(keyPath: c.path("kind"), value: "'\(kind)'", expected: "fno, sfno or lsm")
        }
    }
}

func positive(_ c: KeyedDecodingContainer<AnyKey>, _ key: String) throws -> Int? {
    guard let v: Int = try c.value(key) else { return nil }
    guard v >= 1 else { throw ConfigError(keyPath: c.path(key), value: "\(v)", expected: "an integer ≥ 1") }
    return v
}

/// `data:` — the file, the input and output dataset names, the split (contiguous: train,
/// then validation, then test), the subsampling stride and the normalizers.
public struct TrainDataSpec: Decodable, Sendable {
    public var file: String
    public var input: String
    public var output: String
    public var train: Int
    public var validation = 0
    public var test = 0
    public var stride = 1
    public var inputNormalizer: GaussianNormalizer<Float>.Mode?
    public var outputNormalizer: GaussianNormalizer<Float>.Mode?
    /// Trajectory windows (SFNO): `input` names trajectories [T, n, n] cut into windows.
    public var windows: WindowSpec?

    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["file", "input", "output", "split", "stride", "normalize", "windows"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        file = try c.required("file")
        input = try c.required("input")
        output = try c.required("output")
        let split = try c.required("split", as: SplitSpec.self)
        (train, validation, test) = (split.train, split.validation, split.test)
        stride = try positive(c, "stride") ?? 1
        let n = try c.value("normalize", as: NormalizeSpec.self) ?? NormalizeSpec()
        (inputNormalizer, outputNormalizer) = (n.input, n.output)
        windows = try c.value("windows")
        if windows != nil && stride > 1 {
            throw ConfigError(keyPath: c.path("stride"), value: "\(stride)",
                              expected: "1 with trajectory windows (the stride would thin the frames in time too)")
        }
    }
}

/// `windows: {input_steps, output_steps, starts: [s…], test_start}`: training windows start
/// at every s, test windows at `test_start` (Spectral-Refiner: 30).
public struct WindowSpec: Decodable, Sendable {
    public var inputSteps: Int, outputSteps: Int, starts: [Int], testStart: Int
    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["input_steps", "output_steps", "starts", "test_start"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        inputSteps = try positive(c, "input_steps") ?? 10
        outputSteps = try positive(c, "output_steps") ?? 40
        starts = try c.value("starts") ?? [0]
        guard !starts.isEmpty, starts.allSatisfy({ $0 >= 0 }) else {
            throw ConfigError(keyPath: c.path("starts"), value: "\(starts)", expected: "frame indices ≥ 0")
        }
        testStart = try c.value("test_start") ?? starts[0]
        guard testStart >= 0 else { throw ConfigError(keyPath: c.path("test_start"), value: "\(testStart)", expected: "a frame index ≥ 0") }
    }
}

/// `refine: {iterations, learning_rate, output_modes, viscosity, time_step, forcing: fno|none, alpha, layout: yx|xy}`.
public struct RefineSpec: Decodable, Sendable {
    public var iterations = 50, learningRate = 1e-3
    public var outputModes: [Int]
    public var viscosity: Double, timeStep: Double
    public var fnoForcing = true
    public var alpha = 1.0
    public var layout = NavierStokesResidual.Layout.yx
    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["iterations", "learning_rate", "output_modes", "viscosity", "time_step", "forcing", "alpha", "layout"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        iterations = try positive(c, "iterations") ?? iterations
        learningRate = try c.value("learning_rate") ?? learningRate
        guard learningRate > 0 else { throw ConfigError(keyPath: c.path("learning_rate"), value: "\(learningRate)", expected: "a positive rate") }
        outputModes = try c.required("output_modes")
        guard outputModes.count == 3, outputModes.allSatisfy({ $0 >= 1 }) else {
            throw ConfigError(keyPath: c.path("output_modes"), value: "\(outputModes)", expected: "3 mode counts ≥ 1 (x, y, t)")
        }
        viscosity = try c.required("viscosity")
        guard viscosity >= 0 else { throw ConfigError(keyPath: c.path("viscosity"), value: "\(viscosity)", expected: "ν ≥ 0") }
        timeStep = try c.required("time_step")
        guard timeStep > 0 else { throw ConfigError(keyPath: c.path("time_step"), value: "\(timeStep)", expected: "the positive time between frames") }
        let f: String = try c.value("forcing") ?? "fno"
        guard f == "fno" || f == "none" else { throw ConfigError(keyPath: c.path("forcing"), value: "'\(f)'", expected: "fno or none") }
        fnoForcing = f == "fno"
        alpha = try c.value("alpha") ?? alpha
        guard alpha > 0 else { throw ConfigError(keyPath: c.path("alpha"), value: "\(alpha)", expected: "a positive α") }
        if let l: String = try c.value("layout") {
            guard let v = NavierStokesResidual.Layout(rawValue: l) else { throw ConfigError(keyPath: c.path("layout"), value: "'\(l)'", expected: "yx or xy") }
            layout = v
        }
    }
}

struct SplitSpec: Decodable {
    var train: Int, validation: Int, test: Int
    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["train", "validation", "test"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        train = try c.required("train")
        guard train >= 1 else { throw ConfigError(keyPath: c.path("train"), value: "\(train)", expected: "at least 1 training sample") }
        validation = try c.value("validation") ?? 0
        test = try c.value("test") ?? 0
        for (k, v) in [("validation", validation), ("test", test)] where v < 0 {
            throw ConfigError(keyPath: c.path(k), value: "\(v)", expected: "a count ≥ 0")
        }
    }
}

struct NormalizeSpec: Decodable {
    var input: GaussianNormalizer<Float>.Mode? = .perPoint
    var output: GaussianNormalizer<Float>.Mode? = .perPoint
    init() {}
    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["input", "output"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        func mode(_ key: String) throws -> GaussianNormalizer<Float>.Mode? {
            let s: String = try c.value(key) ?? "per-point"
            if s == "none" { return nil }
            guard let m = GaussianNormalizer<Float>.Mode(rawValue: s) else {
                throw ConfigError(keyPath: c.path(key), value: "'\(s)'", expected: "per-point, global or none")
            }
            return m
        }
        input = try mode("input")
        output = try mode("output")
    }
}

/// `training:` — epochs, batch, seed, optimizer, schedule, loss, checkpoints.
public struct TrainingSpec: Decodable, Sendable {
    public var epochs: Int
    public var batch: Int
    public var seed: UInt64 = 0
    public var optimizer: OptimizerSpec
    public var schedule: LearningRateSchedule?
    public var loss: OperatorLossKind = .relativeL2
    public var checkpointFolder: String
    public var checkpointEvery = 1

    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["epochs", "batch", "seed", "optimizer", "schedule", "loss", "checkpoint"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        epochs = try c.required("epochs")
        guard (1...1_000_000).contains(epochs) else { throw ConfigError(keyPath: c.path("epochs"), value: "\(epochs)", expected: "1 to 10⁶ epochs") }
        batch = try c.required("batch")
        guard batch >= 1 else { throw ConfigError(keyPath: c.path("batch"), value: "\(batch)", expected: "an integer ≥ 1") }
        let s: Int = try c.value("seed") ?? 0
        guard s >= 0 else { throw ConfigError(keyPath: c.path("seed"), value: "\(s)", expected: "an integer ≥ 0") }
        seed = UInt64(s)
        optimizer = try c.value("optimizer") ?? OptimizerSpec()
        if let sc = try c.value("schedule", as: ScheduleSpec.self) { schedule = try sc.schedule(base: optimizer.learningRate, epochs: epochs) }
        if let l: String = try c.value("loss") {
            guard let k = OperatorLossKind(rawValue: l) else {
                throw ConfigError(keyPath: c.path("loss"), value: "'\(l)'", expected: OperatorLossKind.allCases.map(\.rawValue).joined(separator: " or "))
            }
            loss = k
        }
        let ck = try c.required("checkpoint", as: CheckpointSpec.self)
        checkpointFolder = ck.folder
        checkpointEvery = ck.every
    }
}

/// `optimizer: {name: adam|adamw, learning_rate, weight_decay}`.
public struct OptimizerSpec: Decodable, Sendable {
    public var name = "adam"
    public var learningRate = 1e-3
    public var weightDecay = 0.0
    init() {}
    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["name", "learning_rate", "weight_decay"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        name = try c.value("name") ?? name
        guard name == "adam" || name == "adamw" else { throw ConfigError(keyPath: c.path("name"), value: "'\(name)'", expected: "adam or adamw") }
        learningRate = try c.value("learning_rate") ?? learningRate
        guard learningRate > 0, learningRate.isFinite else {
            throw ConfigError(keyPath: c.path("learning_rate"), value: "\(learningRate)", expected: "a positive finite rate")
        }
        weightDecay = try c.value("weight_decay") ?? weightDecay
        guard weightDecay >= 0, weightDecay <= 1e6 else {
            throw ConfigError(keyPath: c.path("weight_decay"), value: "\(weightDecay)", expected: "a value in [0, 10⁶]")
        }
    }

    /// Adam (L2 penalty, PyTorch's `Adam`) or AdamW (decoupled) over `parameters`.
    public func make(_ parameters: [(name: String, variable: Variable<Float>)]) throws -> Adam<Float> {
        try Adam(parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: name == "adamw")
    }
}

/// `schedule: {name: constant|step|cosine, step_size, gamma, minimum, warmup}`.
struct ScheduleSpec: Decodable {
    var name: String, stepSize: Int?, gamma: Double?, minimum: Double?, warmup: Int?, path: String, c: [String: String] = [:]
    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["name", "step_size", "gamma", "minimum", "warmup"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        name = try c.required("name")
        stepSize = try c.value("step_size")
        gamma = try c.value("gamma")
        minimum = try c.value("minimum")
        warmup = try c.value("warmup")
        path = decoder.keyPath
        guard ["constant", "step", "cosine"].contains(name) else {
            throw ConfigError(keyPath: c.path("name"), value: "'\(name)'", expected: "constant, step or cosine")
        }
        if let s = stepSize, s < 1 { throw ConfigError(keyPath: c.path("step_size"), value: "\(s)", expected: "an integer ≥ 1") }
        if let g = gamma, !(g > 0 && g <= 1) { throw ConfigError(keyPath: c.path("gamma"), value: "\(g)", expected: "a factor in (0, 1]") }
        if let w = warmup, w < 0 { throw ConfigError(keyPath: c.path("warmup"), value: "\(w)", expected: "a count ≥ 0") }
    }

    func schedule(base: Double, epochs: Int) throws -> LearningRateSchedule {
        var s: LearningRateSchedule
        switch name {
        case "step":
            guard let size = stepSize else { throw ConfigError(keyPath: path + ".step_size", value: "missing", expected: "the epochs between rate cuts") }
            s = .step(base: base, stepSize: size, gamma: gamma ?? 0.5)
        case "cosine":
            s = .cosine(base: base, total: epochs - (warmup ?? 0), minimum: minimum ?? 0)
        default:
            s = .constant(base)
        }
        if let w = warmup, w > 0 { s = .warmup(w, s) }
        return s
    }
}

struct CheckpointSpec: Decodable {
    var folder: String, every: Int
    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["folder", "every"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        folder = try c.required("folder")
        guard !folder.isEmpty else { throw ConfigError(keyPath: c.path("folder"), value: "''", expected: "a folder for checkpoints and reports") }
        every = try positive(c, "every") ?? 1
    }
}

/// `evaluation: {fine: {input, output, stride}, panels: [sample indices], batch}`.
public struct EvaluationSpec: Decodable, Sendable {
    /// Datasets of the same samples at a finer resolution (zero-shot evaluation).
    public var fineInput: String?, fineOutput: String?, fineStride = 1
    /// Test samples drawn in the PNG panel.
    public var panels: [Int] = [0]
    /// Samples per forward pass.
    public var batch = 20
    init() {}
    /// Decodes and checks the section; unknown keys and values out of range are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["fine", "panels", "batch"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        if let f = try c.value("fine", as: FineSpec.self) { (fineInput, fineOutput, fineStride) = (f.input, f.output, f.stride) }
        panels = try c.value("panels") ?? panels
        if let bad = panels.first(where: { $0 < 0 }) { throw ConfigError(keyPath: c.path("panels"), value: "\(bad)", expected: "test-sample indices ≥ 0") }
        batch = try positive(c, "batch") ?? batch
    }
}

struct FineSpec: Decodable {
    var input: String, output: String, stride: Int
    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["input", "output", "stride"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        input = try c.required("input")
        output = try c.required("output")
        stride = try positive(c, "stride") ?? 1
    }
}
