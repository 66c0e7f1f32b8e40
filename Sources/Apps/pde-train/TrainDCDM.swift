import AppSupport
import ArgumentParser
import Foundation
import Learning
import Operators
import PDE

/// `pde-train dcdm`: trains the deep conjugate direction method's network on a
/// `pde-datagen dcdm` file.
struct TrainDCDM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcdm",
        abstract: "Train the deep conjugate direction method's network (unsupervised: DCDM's one-step residual loss).",
        discussion: """
        Reads `rhs` and `cells` of a pde-datagen dcdm file (the first `data.train` samples
        train, the next `data.validation` validate), and minimizes the batch mean of
        ‖b − (qᵀb/qᵀAq) A q‖², q = network(b scaled to unit RMS on the fluid cells, mask),
        with A each sample's pressure Poisson matrix applied matrix-free — or, with
        `objective.unroll` K > 1, the residual after K DCDM iterations (gradients through
        every step). Writes to the
        checkpoint folder: checkpoint.safetensors (every `checkpoint.every` epochs, at the end
        and on Ctrl-C; --resume continues the same loss curve), network.safetensors (for
        `pde-bench dcdm` and the solver registry's dcdm-net), history.json, curve.svg.

        Example:
          pde-datagen data/configs/datagen-dcdm-64.yaml
          pde-train dcdm data/configs/train-dcdm-64.yaml
        """)

    @OptionGroup var arguments: TrainRunOptions

    func run() throws {
        Threads.configure()
        try guarded(arguments.config) {
            var cfg = try loadConfig(DCDMTrainConfig.self, from: arguments.config)
            cfg.training.epochs = try epochOverride(arguments.epochs, config: arguments.config) ?? cfg.training.epochs
            let folder = cfg.training.checkpointFolder
            let t0 = Date()
            let data = try DCDMTrainingData(cfg, configPath: arguments.config)
            let checkpoint = try checkpointFile(in: folder, resume: arguments.resume, config: arguments.config)
            var g = SeededGenerator(seed: cfg.training.seed)
            let net = try DCDMNetwork<Float>(cfg.network, generator: &g)
            let optimizer = try cfg.training.optimizer.make(net.namedParameters(Float.self))
            var options = TrainingOptions(epochs: cfg.training.epochs, batchSize: cfg.training.batch, seed: cfg.training.seed)
            options.schedule = cfg.training.schedule
            options.checkpointPath = checkpoint
            options.checkpointEvery = cfg.training.checkpointEvery
            options.progress = !arguments.quiet
            options.checkpointMetadata = try net.metadata()
            options.checkpointMetadata["config"] = (try? String(contentsOfFile: arguments.config, encoding: .utf8)) ?? ""
            options.shouldStop = { interrupted != 0 }
            if !arguments.quiet {
                print("pde-train dcdm: \(cfg.network.dimension)-D network, \(net.parameterCount(Float.self)) parameters, loss unrolled over \(cfg.unroll) iteration(s); "
                      + "\(cfg.train) training and \(cfg.validation) validation right-hand sides on \(data.cellShape) cells, "
                      + "\(data.geometryCount) geometries" + String(format: "; data read in %.1f s", Date().timeIntervalSince(t0)))
            }
            let trainer = try Trainer(model: net, optimizer: optimizer, options: options)
            signal(SIGINT) { _ in interrupted = 1 }
            let validate: (() throws -> Double)? = cfg.validation > 0 ? {
                try Autodiff.withoutGradient {
                    var total = 0.0
                    var s = cfg.train
                    while s < cfg.train + cfg.validation {
                        let ids = Array(s..<min(s + cfg.training.batch, cfg.train + cfg.validation))
                        total += Double(try data.loss(net, ids, unroll: cfg.unroll, directions: cfg.directions).value.scalars[0]) * Double(ids.count)
                        s += ids.count
                    }
                    return total / Double(cfg.validation)
                }
            } : nil
            let refresh: ((Int) throws -> Void)? = cfg.onPolicyResiduals > 0 ? { epoch in
                let t = Date()
                let solves = try data.refreshPool(net, epoch: epoch, seed: cfg.training.seed)
                if !arguments.quiet {
                    print(String(format: "  epoch %d: %d on-policy residuals from %d DCDM solves (%.1f s)", epoch, data.poolCount, solves,
                                 Date().timeIntervalSince(t)))
                }
            } : nil
            let history = try trainer.fit(sampleCount: cfg.train + cfg.onPolicyResiduals,
                                          loss: { ids in
                                              // Pool samples follow the file's train and validation samples.
                                              try data.loss(net, ids.map { $0 < cfg.train ? $0 : $0 + cfg.validation },
                                                            unroll: cfg.unroll, directions: cfg.directions)
                                          },
                                          validate: validate, resume: arguments.resume, beforeEpoch: refresh)
            try writeHistory(history, folder: folder)
            if trainer.wasInterrupted {
                print("pde-train dcdm: interrupted after epoch \(history.records.last?.epoch ?? 0); run again with --resume")
                throw ExitCode(130)
            }
            try net.save(to: folder + "/network.safetensors",
                         metadata: ["config": options.checkpointMetadata["config"] ?? "",
                                    "trainer.history": String(decoding: try JSONEncoder().encode(history), as: UTF8.self)])
            let seconds = history.records.map(\.seconds).reduce(0, +)
            var line = String(format: "pde-train dcdm: %d epochs (%.0f s in all", history.records.count, seconds)
            if history.resumedAfterEpoch > 0 { line += ", resumed after epoch \(history.resumedAfterEpoch)" }
            line += String(format: "), final training loss %.4e", history.records.last?.trainingLoss ?? .nan)
            if let v = history.records.last?.validationLoss { line += String(format: ", validation loss %.4e", v) }
            print(line + " → \(folder)/network.safetensors")
        }
    }
}

/// The right-hand sides and cell masks of a dcdm file in memory, with one masked Poisson
/// operator per distinct geometry, and the on-policy pool: sample ids from `train +
/// validation` on are residuals DCDM met with the network of the epoch's start.
final class DCDMTrainingData {
    let rhs: [Float]
    let cellShape: [Int]
    let cellsPer: Int
    /// Geometry of each sample, and each geometry's operator (batch 1) and system.
    let geometryOfSample: [Int]
    let operators: [MaskedPoissonOperator<Float>]
    let systems: [PressurePoissonSystem]
    var geometryCount: Int { operators.count }
    let train: Int, directions: Int, poolCapacity: Int, poolIterations: Int
    /// The pool's right-hand sides (on the cells, unit norm) and their geometries.
    private(set) var poolRHS: [Float] = []
    private(set) var poolGeometry: [Int] = []
    var poolCount: Int { poolGeometry.count }

    init(_ cfg: DCDMTrainConfig, configPath: String) throws {
        guard FileManager.default.fileExists(atPath: cfg.file) else {
            throw ConfigError(file: configPath, keyPath: "data.file", value: "'\(cfg.file)' not found", expected: "an HDF5 file written by pde-datagen dcdm")
        }
        let f = try HDF5DatasetFile(path: cfg.file, fileLocking: false)
        defer { try? f.close() }
        let faces = try Self.faces(f, dimension: cfg.network.dimension)
        let total = try f.sampleCount("rhs")
        let count = cfg.train + cfg.validation
        guard count <= total else {
            throw ConfigError(file: configPath, keyPath: "data", value: "train \(cfg.train) + validation \(cfg.validation)",
                              expected: "at most the \(total) samples of \(cfg.file)")
        }
        let b = try f.read("rhs", samples: 0..<count, as: Float.self)
        let cells = try f.read("cells", samples: 0..<count, as: Float.self)
        let shape = Array(b.shape.dropFirst())
        guard shape.count == cfg.network.dimension, Array(cells.shape.dropFirst()) == shape else {
            throw ConfigError(file: configPath, keyPath: "network.dimension", value: "\(cfg.network.dimension)",
                              expected: "the data's dimension: rhs \(shape), cells \(Array(cells.shape.dropFirst()))")
        }
        rhs = b.values
        cellShape = shape
        cellsPer = shape.reduce(1, *)
        var index: [[Float]: Int] = [:]
        var ops: [MaskedPoissonOperator<Float>] = [], geometryOfSample: [Int] = [], systems: [PressurePoissonSystem] = []
        for s in 0..<count {
            let mask = Array(cells.values[(s * cellsPer)..<((s + 1) * cellsPer)])
            if let g = index[mask] { geometryOfSample.append(g); continue }
            let domain = try CellDomain(mask: mask.map(Double.init), shape: shape, faces: faces,
                                        source: "\(cfg.file): cells[\(s)]")
            let op = try MaskedPoissonOperator<Float>(domains: [domain])
            index[mask] = ops.count
            geometryOfSample.append(ops.count)
            ops.append(op)
            systems.append(try PressurePoissonSystem(domain))
        }
        operators = ops
        self.systems = systems
        self.geometryOfSample = geometryOfSample
        train = cfg.train
        directions = cfg.directions
        poolCapacity = cfg.onPolicyResiduals
        poolIterations = cfg.onPolicyIterations
    }

    /// Refills the pool for `epoch` from the network as it is now: DCDM solves (k =
    /// `directions`, from x = 0, at most `poolIterations` iterations) of training right-hand
    /// sides drawn in a seeded order for the epoch, keeping the residuals the network is
    /// given from the second iteration on, scaled to unit norm, until the pool is full.
    /// Deterministic in the network and the epoch, so a resumed run refills it alike.
    /// Returns the number of solves.
    func refreshPool(_ net: DCDMNetwork<Float>, epoch: Int, seed: UInt64) throws -> Int {
        var g = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch))
        let order = g.permutation(train)
        let models = try systems.map { try DCDMDirectionModel(network: net, system: $0) }
        var pool = [Float](), geometry = [Int]()
        pool.reserveCapacity(poolCapacity * cellsPer)
        var solves = 0
        for s in order where geometry.count < poolCapacity {
            let gi = geometryOfSample[s], sys = systems[gi]
            let b = sys.cellOfUnknown.map { Double(rhs[s * cellsPer + $0]) }
            let recorder = ResidualRecorder(models[gi])
            var x = [Double](repeating: 0, count: sys.unknownCount)
            let solver = DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-8, maxIterations: poolIterations), directions: directions)
            _ = try solver.solve(sys.matrix, b, x: &x, model: recorder)
            solves += 1
            for r in recorder.residuals.dropFirst() where geometry.count < poolCapacity {
                let norm = VectorKernels.norm(r)
                guard norm > 0, norm.isFinite else { continue }
                var cells = [Float](repeating: 0, count: cellsPer)
                for (u, c) in sys.cellOfUnknown.enumerated() { cells[c] = Float(r[u] / norm) }
                pool += cells
                geometry.append(gi)
            }
        }
        // Short of residuals (every solve converged at once): repeat those found.
        let found = geometry.count
        guard found > 0 else {
            throw PDEError.invalidValue(key: "objective.on_policy", value: "no residuals after \(solves) solves",
                                        expected: "solves that take at least two iterations (raise on_policy.iterations?)")
        }
        var i = 0
        while geometry.count < poolCapacity {
            pool += pool[(i * cellsPer)..<((i + 1) * cellsPer)]
            geometry.append(geometry[i])
            i = (i + 1) % found
        }
        poolRHS = pool
        poolGeometry = geometry
        return solves
    }

    /// The file's `faces` dataset (1 open, 0 closed per face).
    static func faces(_ f: HDF5DatasetFile, dimension d: Int) throws -> [CellDomain.FaceKind] {
        let v = try f.read("faces", as: Double.self).values
        guard v.count == 2 * d else {
            throw PDEError.shapeMismatch(what: "dataset 'faces'", expected: "\(2 * d) face kinds", got: "\(v.count)")
        }
        return v.map { $0 == 1 ? .open : .closed }
    }

    /// The DCDM loss of the network on samples `ids`, unrolled over `unroll` iterations.
    func loss(_ net: DCDMNetwork<Float>, _ ids: [Int], unroll: Int, directions: Int) throws -> Variable<Float> {
        var b = [Float]()
        b.reserveCapacity(ids.count * cellsPer)
        var parts: [MaskedPoissonOperator<Float>] = []
        for s in ids {
            if s < geometryOfSample.count {
                b += rhs[(s * cellsPer)..<((s + 1) * cellsPer)]
                parts.append(operators[geometryOfSample[s]])
            } else {
                let p = s - geometryOfSample.count
                b += poolRHS[(p * cellsPer)..<((p + 1) * cellsPer)]
                parts.append(operators[poolGeometry[p]])
            }
        }
        let op = try MaskedPoissonOperator.stacking(parts)
        let bt = Variable(try Tensor(shape: [ids.count, 1] + cellShape, scalars: b))
        return try op.unrolledLoss(steps: unroll, directions: directions, b: bt, operatorChannel: net.configuration.operatorChannel) { try net($0) }
    }
}

/// A direction model that keeps every residual it is asked about.
final class ResidualRecorder: DirectionModel {
    let inner: DirectionModel
    var residuals: [[Double]] = []
    var name: String { inner.name }

    init(_ inner: DirectionModel) { self.inner = inner }

    func direction(for residual: [Double], into q: inout [Double]) throws {
        residuals.append(residual)
        try inner.direction(for: residual, into: &q)
    }
}
