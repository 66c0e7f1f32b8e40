import Foundation
import Operators
import PDE

/// The config of `pde-train dcdm`: the network, the `pde-datagen dcdm` file and its split,
/// the objective (DCDM's residual after `unroll` iterations: 1 is the paper's one-step loss
/// ‖b − (qᵀb/qᵀAq)Aq‖²) and the training (as for operators, without a loss key).
///
/// ```yaml
/// network: {dimension: 2, channels: 16, fine_blocks: 1, coarse_blocks: 3, decoder_blocks: 2, bias: false,
///           operator_channel: false, multilevel: false, coarsest_side: 4}
/// data: {file: out/dcdm_64.h5, train: 3600, validation: 400}
/// objective: {unroll: 3, directions: 2, on_policy: {residuals: 1200, iterations: 10}}
/// training:
///   epochs: 20
///   batch: 10
///   optimizer: {name: adam, learning_rate: 1.0e-4}
///   checkpoint: {folder: runs/dcdm-64, every: 1}
/// ```
public struct DCDMTrainConfig: Decodable, Sendable {
    public var network: DCDMConfiguration
    public var file: String
    public var train: Int
    public var validation: Int
    /// DCDM iterations the loss is unrolled over (1: the paper's loss).
    public var unroll = 1
    /// Previous directions each unrolled step A-orthogonalizes against.
    public var directions = 2
    /// On-policy right-hand sides (an extension of the paper): at the start of every epoch,
    /// this many residuals that DCDM meets with the current network (iterations 2…
    /// `onPolicyIterations` of solves of training right-hand sides, unit norm) join the
    /// training samples, replacing the previous epoch's. 0: off (the paper's fixed set).
    public var onPolicyResiduals = 0
    /// DCDM iterations per on-policy solve.
    public var onPolicyIterations = 10
    public var training: TrainingSpec

    /// Decodes and checks the config; unknown keys, out-of-range values and a `training.loss`
    /// (DCDM's loss is fixed) are `ConfigError`s naming the key path.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["network", "data", "objective", "training"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        network = try c.value("network", as: NetworkSpec.self)?.configuration ?? DCDMConfiguration()
        let d = try c.required("data", as: DataSpec.self)
        file = d.file
        train = d.train
        validation = d.validation
        if let o = try c.value("objective", as: ObjectiveSpec.self) {
            unroll = o.unroll
            directions = o.directions
            onPolicyResiduals = o.onPolicy?.residuals ?? 0
            onPolicyIterations = o.onPolicy?.iterations ?? onPolicyIterations
        }
        if let t = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("training")), t.contains(AnyKey("loss")) {
            throw ConfigError(keyPath: c.path("training") + ".loss", value: "given", expected: "no loss: DCDM's loss ‖b − (qᵀb/qᵀAq)Aq‖² is fixed")
        }
        training = try c.required("training")
    }

    struct NetworkSpec: Decodable {
        var configuration = DCDMConfiguration()
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["dimension", "channels", "fine_blocks", "coarse_blocks", "decoder_blocks", "bias", "operator_channel",
                                           "multilevel", "coarsest_side"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            var n = DCDMConfiguration()
            n.dimension = try c.value("dimension") ?? n.dimension
            n.channels = try c.value("channels") ?? n.channels
            n.fineBlocks = try c.value("fine_blocks") ?? n.fineBlocks
            n.coarseBlocks = try c.value("coarse_blocks") ?? n.coarseBlocks
            n.decoderBlocks = try c.value("decoder_blocks") ?? n.decoderBlocks
            n.bias = try c.value("bias") ?? n.bias
            n.operatorChannel = try c.value("operator_channel") ?? n.operatorChannel
            n.multilevel = try c.value("multilevel") ?? n.multilevel
            n.coarsestSide = try c.value("coarsest_side") ?? n.coarsestSide
            do { try n.validate() } catch {
                throw ConfigError(keyPath: "network", value: "\(n)", expected: "\(error)")
            }
            configuration = n
        }
    }

    struct ObjectiveSpec: Decodable {
        var unroll = 1, directions = 2
        var onPolicy: OnPolicySpec?
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["unroll", "directions", "on_policy"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            unroll = try c.value("unroll") ?? unroll
            directions = try c.value("directions") ?? directions
            onPolicy = try c.value("on_policy")
            guard (1...50).contains(unroll) else { throw ConfigError(keyPath: c.path("unroll"), value: "\(unroll)", expected: "1 to 50 iterations") }
            guard (0...50).contains(directions) else { throw ConfigError(keyPath: c.path("directions"), value: "\(directions)", expected: "0 to 50 directions") }
        }
    }

    struct OnPolicySpec: Decodable {
        var residuals: Int, iterations = 10
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["residuals", "iterations"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            residuals = try c.required("residuals")
            iterations = try c.value("iterations") ?? iterations
            guard (0...1_000_000).contains(residuals) else {
                throw ConfigError(keyPath: c.path("residuals"), value: "\(residuals)", expected: "0 to 1000000 right-hand sides per epoch")
            }
            guard (2...1000).contains(iterations) else {
                throw ConfigError(keyPath: c.path("iterations"), value: "\(iterations)", expected: "2 to 1000 DCDM iterations per solve")
            }
        }
    }

    struct DataSpec: Decodable {
        var file: String, train: Int, validation: Int
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(["file", "train", "validation"])
            let c = try decoder.container(keyedBy: AnyKey.self)
            file = try c.required("file")
            train = try c.required("train")
            validation = try c.value("validation") ?? 0
            guard train >= 1 else { throw ConfigError(keyPath: c.path("train"), value: "\(train)", expected: "an integer ≥ 1") }
            guard validation >= 0 else { throw ConfigError(keyPath: c.path("validation"), value: "\(validation)", expected: "an integer ≥ 0") }
        }
    }
}
