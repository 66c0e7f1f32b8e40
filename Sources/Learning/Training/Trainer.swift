import Foundation

/// Options of `Trainer.fit`.
public struct TrainingOptions: Sendable {
    /// Epochs of the whole run (a resumed run counts those already done).
    public var epochs: Int
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    public var batchSize: Int
    /// Seeds the shuffling of samples (saved in checkpoints, so a resumed run continues
    /// the same sequence).
    public var seed: UInt64
    /// Draw a new sample order every epoch (from `seed`); false: 0..<sampleCount.
    public var shuffle = true
    /// Learning rate per epoch (epoch e, counted from 1, uses `rate(at: e − 1)`). When set,
    /// the schedule owns the rate: the optimizer must be created with the schedule's
    /// `baseRate` (else `Trainer` throws) and its `learningRate` is overwritten every epoch.
    /// When nil, the optimizer owns the rate and the trainer never changes it.
    public var schedule: LearningRateSchedule?
    /// Clip the global gradient norm to this value before each step.
    public var gradientClipNorm: Double?
    /// Stop after this many epochs without a better validation loss.
    public var earlyStoppingPatience: Int?
    /// At the end, put back the parameters of the epoch with the best validation loss.
    public var restoreBest = false
    /// Written (atomically) after every `checkpointEvery` epochs; read by a resumed run.
    public var checkpointPath: String?
    /// Epochs between checkpoints (the last epoch and an early stop are always written).
    public var checkpointEvery = 1
    /// Metadata stored in checkpoints (e.g. the config as text).
    public var checkpointMetadata: [String: String] = [:]
    /// Print a progress line per epoch.
    public var progress = true
    /// Asked after every epoch (e.g. set by Ctrl-C): when true, the trainer writes its
    /// checkpoint (if it has a path) and returns; `Trainer.wasInterrupted` tells. A resumed
    /// run then continues the same curve.
    public var shouldStop: (@Sendable () -> Bool)?
    /// Data-parallel training over several processes (`mpirun -np N pde-train fit`): each
    /// global batch is split into contiguous slices, one per rank; the batch-weighted local
    /// gradients and losses are summed by `DataParallel.allreduce`, so every rank takes the same
    /// optimizer step as one process on the whole batch (to rounding). Only rank 0 writes
    /// checkpoints. Nil: one process.
    public var dataParallel: DataParallel?

    /// Every other option at its default: no schedule, clipping, early stopping or checkpoint;
    /// progress printed. Counts are checked by `Trainer`, not here.
    public init(epochs: Int, batchSize: Int, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
    }
}

/// How the processes of a data-parallel run reach each other: this process's rank, their
/// number, and a sum over all of them (an MPI allreduce; `Learning` knows no MPI, so the
/// caller supplies it).
public struct DataParallel: Sendable {
    /// This process, in 0..<size.
    public var rank: Int
    /// Number of processes.
    public var size: Int
    /// Element-wise sum of the arrays of all processes, the same on each (collective).
    public var allreduce: @Sendable ([Double]) throws -> [Double]

    /// Checks nothing; `Trainer` checks 0 ≤ rank < size.
    public init(rank: Int, size: Int, allreduce: @escaping @Sendable ([Double]) throws -> [Double]) {
        self.rank = rank
        self.size = size
        self.allreduce = allreduce
    }

    /// This rank's contiguous slice of a global batch of `count` (the first count mod size
    /// slices one longer).
    public func slice(_ count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let lo = rank * base + min(rank, extra)
        return lo..<(lo + base + (rank < extra ? 1 : 0))
    }
}

/// One epoch of a training run.
public struct EpochRecord: Sendable, Codable, Equatable {
    /// Counted from 1.
    public var epoch: Int
    /// Mean batch loss over the epoch, weighted by batch size.
    public var trainingLoss: Double
    /// What `validate()` returned; nil without a validation closure.
    public var validationLoss: Double?
    /// The optimizer's rate during the epoch.
    public var learningRate: Double
    /// Wall-clock time of the epoch, validation included.
    public var seconds: Double
}

/// What `fit` did.
public struct TrainingHistory: Sendable, Codable, Equatable {
    /// One per epoch, including those before a resume.
    public var records: [EpochRecord] = []
    /// Lowest validation loss so far; nil without validation.
    public var bestValidationLoss: Double?
    /// The epoch of `bestValidationLoss`.
    public var bestEpoch: Int?
    /// Whether `earlyStoppingPatience` ended the run.
    public var stoppedEarly = false
    /// Epoch the run resumed after (0 for a fresh run).
    public var resumedAfterEpoch = 0
}

/// A training loop over samples `0..<sampleCount` in shuffled mini-batches: the caller
/// builds the loss of a batch from its sample indices; the trainer steps the optimizer,
/// follows the schedule, validates, stops early, prints progress (epoch, loss, samples/s,
/// ETA) and checkpoints, and resumes from its checkpoint with the same loss curve as an
/// uninterrupted run.
///
/// The learning rate has one owner:
/// - With `options.schedule`, the schedule. The optimizer's rate when the trainer is
///   created must equal `schedule.baseRate` (to a relative 1e-12), else `init` (and `fit`,
///   if the options were changed since) throws `LearningError.invalidArgument` naming both
///   values. Epoch e uses `schedule.rate(at: e − 1)`. On resume the rate is recomputed
///   from the schedule at the restored epoch E, and the rate the checkpoint stored must
///   equal `schedule.rate(at: E − 1)`; otherwise the checkpoint was written under another
///   schedule, the resumed run could not continue its curve, and `fit` throws
///   `LearningError.invalidArgument` before training any epoch.
/// - Without a schedule, the optimizer. The trainer never sets the rate; on resume the
///   optimizer's stored rate is restored with the rest of its state (`Checkpoint`).
public final class Trainer<T: TensorScalar> {
    /// The model whose variables are checkpointed (and restored with `restoreBest`).
    public let model: Module
    /// The optimizer stepping the model's parameters.
    public let optimizer: any Optimizer<T>
    /// The options; checked again by every `fit`.
    public var options: TrainingOptions
    /// Where progress lines go (standard output by default).
    public var log: (String) -> Void = { print($0); fflush(stdout) }
    /// Whether the last `fit` returned because `options.shouldStop` asked it to.
    public private(set) var wasInterrupted = false
    /// The optimizer's learning rate when the trainer was created (what a schedule's base
    /// rate must equal).
    private let initialLearningRate: Double

    /// Checks the options (counts ≥ 1, a valid schedule whose `baseRate` equals the
    /// optimizer's learning rate) and throws `LearningError.invalidArgument` otherwise.
    public init(model: Module, optimizer: any Optimizer<T>, options: TrainingOptions) throws {
        self.model = model
        self.optimizer = optimizer
        self.options = options
        initialLearningRate = optimizer.learningRate
        try checkOptions()
    }

    private func checkOptions() throws {
        if let dp = options.dataParallel, !(dp.size >= 1 && dp.rank >= 0 && dp.rank < dp.size) {
            throw LearningError.invalidArgument(name: "data parallel", value: "rank \(dp.rank) of \(dp.size)", expected: "0 ≤ rank < size, size ≥ 1")
        }
        guard options.epochs >= 1, options.batchSize >= 1, options.checkpointEvery >= 1 else {
            throw LearningError.invalidArgument(name: "training options", value: "epochs \(options.epochs), batchSize \(options.batchSize), checkpointEvery \(options.checkpointEvery)",
                                                expected: "all ≥ 1")
        }
        guard let schedule = options.schedule else { return }
        try schedule.validate()
        guard ratesAgree(schedule.baseRate, initialLearningRate) else {
            throw LearningError.invalidArgument(
                name: "learning rate", value: "optimizer learningRate \(initialLearningRate), schedule baseRate \(schedule.baseRate)",
                expected: "equal rates: with a schedule the schedule owns the rate, so create the optimizer with the schedule's base rate")
        }
    }

    /// Trains. `loss(indices)` returns the mean loss over the batch; `validate()` returns a
    /// validation loss (computed without gradients). With `resume` and an existing
    /// checkpoint, training continues after the checkpoint's epoch (see the type's notes on
    /// who owns the learning rate then). `beforeEpoch(e)` runs at the start of epoch e (its
    /// time counts in the epoch's): e.g. to refresh samples drawn from the model itself.
    /// It must depend only on the model's state and e, so that a resumed run repeats it.
    public func fit(sampleCount: Int, loss: ([Int]) throws -> Variable<T>, validate: (() throws -> Double)? = nil,
                    resume: Bool = true, beforeEpoch: ((Int) throws -> Void)? = nil) throws -> TrainingHistory {
        try checkOptions()
        wasInterrupted = false
        guard sampleCount >= 1 else {
            throw LearningError.invalidArgument(name: "sampleCount", value: "\(sampleCount)", expected: "at least one training sample")
        }
        var generator = SeededGenerator(seed: options.seed)
        var history = TrainingHistory()
        var best: [Tensor<T>]?
        var badEpochs = 0
        var start = 1
        if resume, let path = options.checkpointPath, FileManager.default.fileExists(atPath: path) {
            // Restores the model and the optimizer's state, including its stored rate.
            let (meta, extra) = try Checkpoint.read(into: model, optimizer: optimizer, from: path)
            guard let h = meta["trainer.history"].flatMap({ try? JSONDecoder().decode(TrainingHistory.self, from: Data($0.utf8)) }),
                  let rng = meta["trainer.rng"].map({ $0.split(separator: ",").compactMap { UInt64($0) } }),
                  let g = SeededGenerator(state: rng), let epoch = meta["trainer.epoch"].flatMap({ Int($0) }), epoch >= 1,
                  let bad = meta["trainer.bad_epochs"].flatMap({ Int($0) }) else {
                throw LearningError.malformedFile(path: path, reason: "not a trainer checkpoint (trainer.* metadata missing)")
            }
            if let s = options.schedule {
                // The schedule owns the rate: recompute it at the restored epoch; the stored
                // rate must be the one the schedule gave that epoch.
                let scheduled = s.rate(at: epoch - 1)
                guard ratesAgree(scheduled, optimizer.learningRate) else {
                    throw LearningError.invalidArgument(
                        name: "learning-rate schedule",
                        value: "checkpoint \(path) stored rate \(optimizer.learningRate) after epoch \(epoch), the schedule gives \(scheduled)",
                        expected: "the schedule the checkpoint was written with")
                }
                optimizer.learningRate = scheduled
            }
            history = h
            generator = g
            badEpochs = bad
            start = epoch + 1
            history.resumedAfterEpoch = epoch
            if options.restoreBest {
                let names = model.namedParameters(T.self).map(\.name)
                if names.allSatisfy({ extra["best.\($0)"] != nil }) {
                    best = names.map { extra["best.\($0)"]!.tensor(T.self) }
                }
            }
            if options.progress { log("resumed from \(path) after epoch \(epoch)") }
        }
        let params = model.namedParameters(T.self)
        for epoch in start...max(start, options.epochs) where epoch <= options.epochs {
            let t0 = Date()
            if let s = options.schedule { optimizer.learningRate = s.rate(at: epoch - 1) }
            try beforeEpoch?(epoch)
            let order = options.shuffle ? generator.permutation(sampleCount) : Array(0..<sampleCount)
            var total = 0.0
            var b = 0
            while b < sampleCount {
                let batch = Array(order[b..<min(sampleCount, b + options.batchSize)])
                optimizer.zeroGradients()
                let value: Double
                if let dp = options.dataParallel, dp.size > 1 {
                    value = try dataParallelStep(dp, batch: batch, loss: loss, params: params.map(\.variable), epoch: epoch)
                } else {
                    let l = try loss(batch)
                    guard let v = l.value.scalar else {
                        throw LearningError.shapeMismatch(operation: "training loss", expected: "a single value", got: shapeString(l.shape))
                    }
                    guard v.isFinite else {
                        throw LearningError.invalidArgument(name: "training loss", value: "\(v) at epoch \(epoch)",
                                                            expected: "a finite loss (lower the learning rate?)")
                    }
                    try l.backward()
                    value = Double(v)
                }
                if let c = options.gradientClipNorm { clipGradientNorm(params.map(\.variable), maxNorm: c) }
                try optimizer.step()
                total += value * Double(batch.count)
                b += options.batchSize
            }
            let trainLoss = total / Double(sampleCount)
            let val = try validate.map { v in try Autodiff.withoutGradient { try v() } }
            let seconds = Date().timeIntervalSince(t0)
            history.records.append(EpochRecord(epoch: epoch, trainingLoss: trainLoss, validationLoss: val,
                                               learningRate: optimizer.learningRate, seconds: seconds))
            if let v = val {
                if history.bestValidationLoss.map({ v < $0 }) ?? true {
                    history.bestValidationLoss = v
                    history.bestEpoch = epoch
                    badEpochs = 0
                    if options.restoreBest { best = params.map { $0.variable.value } }
                } else {
                    badEpochs += 1
                }
            }
            if options.progress { log(progressLine(epoch: epoch, history: history, sampleCount: sampleCount)) }
            let stop = options.earlyStoppingPatience.map { badEpochs >= $0 } ?? false
            let interrupt = options.shouldStop?() ?? false
            if let path = options.checkpointPath, (options.dataParallel?.rank ?? 0) == 0,
               epoch % options.checkpointEvery == 0 || epoch == options.epochs || stop || interrupt {
                try saveCheckpoint(path, epoch: epoch, history: history, generator: generator, badEpochs: badEpochs, best: best)
            }
            if interrupt && !stop {
                wasInterrupted = true
                if options.progress { log("interrupted after epoch \(epoch)" + (options.checkpointPath.map { ": checkpoint \($0); run again with --resume" } ?? "")) }
                break
            }
            if stop {
                history.stoppedEarly = true
                if options.progress { log("early stop: no better validation loss for \(badEpochs) epochs (best \(history.bestValidationLoss!) at epoch \(history.bestEpoch!))") }
                break
            }
        }
        if options.restoreBest, let best {
            for (p, t) in zip(params, best) { p.variable.value = t }
        }
        return history
    }

    /// One data-parallel step: this rank's slice of `batch` gives a mean loss and gradients,
    /// weighted by slice / batch and summed over the ranks (one allreduce of every gradient and
    /// the loss); the summed gradients replace the local ones. Returns the batch's mean loss.
    private func dataParallelStep(_ dp: DataParallel, batch: [Int], loss: ([Int]) throws -> Variable<T>,
                                  params: [Variable<T>], epoch: Int) throws -> Double {
        let mine = Array(batch[dp.slice(batch.count)])
        let weight = Double(mine.count) / Double(batch.count)
        var localLoss = 0.0
        if !mine.isEmpty {
            let l = try loss(mine)
            guard let v = l.value.scalar else {
                throw LearningError.shapeMismatch(operation: "training loss", expected: "a single value", got: shapeString(l.shape))
            }
            localLoss = Double(v)
            if localLoss.isFinite { try l.backward() }
        }
        // [gradients…, weighted loss], each gradient weighted by this slice's share. Packed and
        // unpacked by the scalar type's conversion kernels: millions of parameters go through
        // here every step, too many for per-element generic code.
        let total = params.reduce(0) { $0 + $1.value.count }
        var flat = [Double](repeating: 0, count: total + 1)
        flat.withUnsafeMutableBufferPointer { f in
            var o = 0
            for p in params {
                let n = p.value.count
                if let g = p.grad, !mine.isEmpty {
                    g.scalars.withUnsafeBufferPointer { T.toDoublesKernel($0.baseAddress!, f.baseAddress! + o, n) }
                    for i in o..<(o + n) { f[i] *= weight }
                }
                o += n
            }
            f[total] = localLoss * weight
        }
        let sums = try dp.allreduce(flat)
        let value = sums[sums.count - 1]
        guard value.isFinite else {
            throw LearningError.invalidArgument(name: "training loss", value: "\(value) at epoch \(epoch)",
                                                expected: "a finite loss (lower the learning rate?)")
        }
        var o = 0
        sums.withUnsafeBufferPointer { s in
            for p in params {
                let n = p.value.count
                p.grad = Tensor<T>(uninitializedShape: p.value.shape) { T.fromDoublesKernel(s.baseAddress! + o, $0, n) }
                o += n
            }
        }
        return value
    }

    private func saveCheckpoint(_ path: String, epoch: Int, history: TrainingHistory, generator: SeededGenerator,
                                badEpochs: Int, best: [Tensor<T>]?) throws {
        var meta = options.checkpointMetadata
        meta["trainer.epoch"] = String(epoch)
        meta["trainer.rng"] = generator.state.map(String.init).joined(separator: ",")
        meta["trainer.bad_epochs"] = String(badEpochs)
        meta["trainer.history"] = String(decoding: try JSONEncoder().encode(history), as: UTF8.self)
        let extra = best.map { zip(model.namedParameters(T.self), $0).map { (name: "best.\($0.0.name)", tensor: $0.1) } } ?? []
        try Checkpoint.write(model: model, optimizer: optimizer, metadata: meta, extra: extra, to: path)
    }

    private func progressLine(epoch: Int, history: TrainingHistory, sampleCount: Int) -> String {
        let r = history.records.last!
        let recent = history.records.suffix(5)
        let perEpoch = recent.map(\.seconds).reduce(0, +) / Double(recent.count)
        let eta = perEpoch * Double(options.epochs - epoch)
        var s = "epoch \(epoch)/\(options.epochs)  loss \(String(format: "%.4e", r.trainingLoss))"
        if let v = r.validationLoss { s += "  val \(String(format: "%.4e", v))" }
        s += "  lr \(String(format: "%.2e", r.learningRate))"
        s += "  \(String(format: "%.0f", Double(sampleCount) / max(1e-9, r.seconds))) samples/s"
        s += "  ETA \(formatDuration(eta))"
        return s
    }
}

/// Equal to a relative 1e-12 (rates that went through text and `pow`/`cos` on another
/// machine still agree).
func ratesAgree(_ a: Double, _ b: Double) -> Bool {
    Swift.abs(a - b) <= 1e-12 * Swift.max(Swift.abs(a), Swift.abs(b))
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}
