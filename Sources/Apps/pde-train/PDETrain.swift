import AppSupport
import ArgumentParser
import Foundation
import Learning
import Operators
import PDE

/// Set by SIGINT: training stops after the epoch in flight and writes its checkpoint.
nonisolated(unsafe) var interrupted: sig_atomic_t = 0

@main
struct PDETrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-train",
        abstract: "Train, evaluate and apply neural operators (FNO, SFNO, LSM) and the DCDM network on pde-datagen datasets, and learned proximal networks on image patches.",
        discussion: """
        Exit codes: 0 done, 130 interrupted (checkpoint written; run again with --resume),
        2 bad input (config, files, shapes), 1 other failures.

        Examples:
          pde-train fit data/configs/train-fno-darcy.yaml
          pde-train fit data/configs/train-fno-darcy.yaml --resume
          pde-train eval data/configs/train-fno-darcy.yaml
          pde-train predict runs/fno-darcy/model.safetensors a.npy -o u.npy
          pde-train dcdm data/configs/train-dcdm-64.yaml
          pde-train lpn data/configs/train-lpn-patches.yaml
        """,
        subcommands: [Fit.self, Eval.self, Refine.self, Predict.self, TrainDCDM.self, TrainLPN.self])
}

/// Prints `pde-train: error: …` and exits with `code`.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("pde-train: error: \(message)\n".utf8))
    Foundation.exit(code)
}

/// Runs `body`, turning the suite's errors into messages and exit codes.
func guarded(_ context: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as DecodingError {
        fail("\(context): unreadable progress or report file (\(e))", code: 2)
    } catch let e as CocoaError {
        fail("\(context): \(e.localizedDescription)", code: 2)
    } catch {
        guard let failure = appFailure(error, context: context) else { throw error }
        fail(failure.message, code: failure.code)
    }
}

/// The splits of a config's data file, read into memory.
struct LoadedData {
    var train: OperatorSamples
    var validation: OperatorSamples?
    var test: OperatorSamples?
    var testRange: Range<Int>

    init(_ cfg: TrainConfig, splits: Set<String> = ["train", "validation", "test"]) throws {
        let d = cfg.data
        guard FileManager.default.fileExists(atPath: d.file) else {
            throw ConfigError(keyPath: "data.file", value: "'\(d.file)' not found", expected: "an HDF5 file written by pde-datagen")
        }
        let total = try OperatorDataset.sampleCount(path: d.file, dataset: d.input)
        guard d.train + d.validation + d.test <= total else {
            throw ConfigError(keyPath: "data.split", value: "train \(d.train) + validation \(d.validation) + test \(d.test)",
                              expected: "at most the \(total) samples of \(d.file)")
        }
        let s = try OperatorDataset.split(total: total, train: d.train, validation: d.validation, test: d.test)
        func load(_ r: Range<Int>, test: Bool = false) throws -> OperatorSamples {
            let set = try OperatorDataset(path: d.file, input: d.input, output: d.output, samples: r, stride: d.stride)
            guard let w = d.windows else { return try OperatorSamples(set) }
            return try OperatorSamples(trajectories: set, inputSteps: w.inputSteps, outputSteps: w.outputSteps, starts: test ? [w.testStart] : w.starts)
        }
        train = try splits.contains("train") ? load(s.train) : load(s.train.prefix(1))
        validation = splits.contains("validation") && !s.validation.isEmpty ? try load(s.validation, test: true) : nil
        test = splits.contains("test") && !s.test.isEmpty ? try load(s.test, test: true) : nil
        testRange = s.test
    }
}

/// Checks that the model's channel count fits the data's.
func checkChannels(_ cfg: TrainConfig, _ samples: OperatorSamples) throws {
    let (cin, cout) = cfg.model.channels
    guard samples.inputs.shape[1] == cin, samples.outputs.shape[1] == cout,
          samples.inputs.rank - 2 == cfg.model.dimensions else {
        throw ConfigError(keyPath: "model", value: "\(cfg.model.dimensions)-D, \(cin) → \(cout) channels",
                          expected: "the data's shape: inputs \(samples.inputs.shape.dropFirst()), outputs \(samples.outputs.shape.dropFirst()) per sample")
    }
}

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the config's model; progress per epoch, checkpoints every N epochs and on Ctrl-C.",
        discussion: """
        Writes to the config's checkpoint folder: checkpoint.safetensors (model, normalizers,
        optimizer, history; written every `checkpoint.every` epochs, at the end and on Ctrl-C),
        model.safetensors (the trained operator, for eval and predict), history.json and
        curve.svg. With --resume, training continues from checkpoint.safetensors and gives the
        same loss curve as an uninterrupted run.
        """)

    @OptionGroup var arguments: TrainRunOptions

    func run() throws {
        Threads.configure()
        try guarded(arguments.config) {
            var cfg = try loadConfig(TrainConfig.self, from: arguments.config)
            cfg.training.epochs = try epochOverride(arguments.epochs, config: arguments.config) ?? cfg.training.epochs
            let folder = cfg.training.checkpointFolder
            let checkpoint = try checkpointFile(in: folder, resume: arguments.resume, config: arguments.config)
            let t0 = Date()
            let data = try LoadedData(cfg, splits: ["train", "validation", "test"])
            try checkChannels(cfg, data.train)
            let inNorm = try cfg.data.inputNormalizer.map { try GaussianNormalizer(fitting: data.train.inputs, mode: $0) }
            let outNorm = try cfg.data.outputNormalizer.map { try GaussianNormalizer(fitting: data.train.outputs, mode: $0) }
            var g = SeededGenerator(seed: cfg.training.seed)
            let op = try NeuralOperator<Float>(architecture: cfg.model, inputNormalizer: inNorm, outputNormalizer: outNorm, generator: &g)
            let optimizer = try cfg.training.optimizer.make(op.namedParameters(Float.self))
            var options = TrainingOptions(epochs: cfg.training.epochs, batchSize: cfg.training.batch, seed: cfg.training.seed)
            options.schedule = cfg.training.schedule
            options.checkpointPath = checkpoint
            options.checkpointEvery = cfg.training.checkpointEvery
            // Under mpirun: data parallel, every rank on a slice of each batch; rank 0 prints and writes.
            let world = try Communicator.world()
            let root = world.rank == 0
            if world.size > 1 {
                options.dataParallel = DataParallel(rank: world.rank, size: world.size) { v in
                    var a = v
                    try world.allreduce(&a, .sum)
                    return a
                }
            }
            options.progress = !arguments.quiet && root
            options.checkpointMetadata["config"] = (try? String(contentsOfFile: arguments.config, encoding: .utf8)) ?? ""
            options.shouldStop = { interrupted != 0 }
            let validation = data.validation ?? data.test
            if !arguments.quiet && root {
                print("pde-train fit: \(cfg.model.kind), \(op.model.parameterCount(Float.self)) parameters; \(data.train.count) training samples "
                      + "\(data.train.inputs.shape.dropFirst()) → \(data.train.outputs.shape.dropFirst()); "
                      + (validation.map { "\(data.validation != nil ? "validation" : "test") \($0.count)" } ?? "no validation")
                      + String(format: "; data read in %.1f s", Date().timeIntervalSince(t0))
                      + (world.size > 1 ? "; data parallel on \(world.size) ranks" : ""))
            }
            signal(SIGINT) { _ in interrupted = 1 }
            let (history, stopped) = try OperatorTraining.fit(op, train: data.train, validation: validation, loss: cfg.training.loss,
                                                              optimizer: optimizer, options: options, resume: arguments.resume)
            guard root else { return }
            try writeHistory(history, folder: folder)
            if stopped {
                print("pde-train fit: interrupted after epoch \(history.records.last?.epoch ?? 0); run again with --resume")
                throw ExitCode(130)
            }
            try op.save(to: folder + "/model.safetensors",
                        metadata: ["config": options.checkpointMetadata["config"] ?? "",
                                   "trainer.history": String(decoding: try JSONEncoder().encode(history), as: UTF8.self)])
            let seconds = history.records.map(\.seconds).reduce(0, +)
            var line = String(format: "pde-train fit: %d epochs (%.0f s in all", history.records.count, seconds)
            if history.resumedAfterEpoch > 0 { line += ", resumed after epoch \(history.resumedAfterEpoch)" }
            line += String(format: "), final training loss %.4e", history.records.last?.trainingLoss ?? .nan)
            if let test = data.test { line += String(format: ", test relative L2 %.4e", try OperatorTraining.meanRelativeError(op, test)) }
            print(line + " → \(folder)/model.safetensors")
        }
    }
}

/// The arguments of the training commands (`fit`, `dcdm`).
struct TrainRunOptions: ParsableArguments {
    @Argument(help: "YAML config file.")
    var config: String
    @Flag(help: "Continue from the checkpoint in the config's folder.")
    var resume = false
    @Option(help: "Override the config's epoch count (a resumed run counts the epochs already done).")
    var epochs: Int?
    @Flag(help: "Print only the final line.")
    var quiet = false
}

/// `--epochs`, checked (nil when not given).
func epochOverride(_ epochs: Int?, config: String) throws -> Int? {
    guard let epochs else { return nil }
    guard epochs >= 1 else { throw ConfigError(file: config, keyPath: "--epochs", value: "\(epochs)", expected: "an integer ≥ 1") }
    return epochs
}

/// `folder/checkpoint.safetensors`, the folder created; refused when a checkpoint is there
/// and the run is not resumed.
func checkpointFile(in folder: String, resume: Bool, config: String) throws -> String {
    let checkpoint = folder + "/checkpoint.safetensors"
    if FileManager.default.fileExists(atPath: checkpoint) && !resume {
        throw ConfigError(file: config, keyPath: "training.checkpoint.folder", value: "'\(folder)' already holds checkpoint.safetensors",
                          expected: "--resume to continue it, or another (or emptied) folder")
    }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return checkpoint
}

/// history.json and curve.svg (training loss and validation error per epoch).
func writeHistory(_ h: TrainingHistory, folder: String) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try enc.encode(h), to: folder + "/history.json")
    guard !h.records.isEmpty else { return }
    var plot = SVGLinePlot(title: "Training curve", xLabel: "epoch", yLabel: "loss / relative L2", logY: true)
    let epochs = h.records.map { Double($0.epoch) }
    plot.series.append(.init(label: "training loss", x: epochs, y: h.records.map(\.trainingLoss)))
    let val = h.records.compactMap { r in r.validationLoss.map { (Double(r.epoch), $0) } }
    if !val.isEmpty { plot.series.append(.init(label: "validation relative L2", x: val.map(\.0), y: val.map(\.1))) }
    try plot.write(to: folder + "/curve.svg")
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test errors at the training resolution and zero-shot at a finer one; per-sample errors, panels, curve.",
        discussion: """
        Writes to the config's folder: eval.json (mean/median/max relative L2 per resolution),
        errors.npy and errors_fine.npy (per test sample), panel_<i>.png (input | truth |
        prediction | error) for the config's `evaluation.panels`, and curve.svg from the
        checkpoint's history.
        """)

    @Argument(help: "YAML config file.")
    var config: String
    @Option(help: "Operator file (default: <folder>/model.safetensors).")
    var model: String?

    func run() throws {
        Threads.configure()
        try guarded(config) {
            let cfg = try loadConfig(TrainConfig.self, from: config)
            let folder = cfg.training.checkpointFolder
            let path = model ?? folder + "/model.safetensors"
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigError(file: config, keyPath: "training.checkpoint.folder", value: "no \(path)", expected: "a trained model: run pde-train fit first")
            }
            let op = try NeuralOperator<Float>.load(from: path)
            let data = try LoadedData(cfg, splits: ["test"])
            guard let test = data.test else {
                throw ConfigError(file: config, keyPath: "data.split.test", value: "0", expected: "test samples to evaluate on")
            }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var report: [String: [String: Double]] = [:]
            let t0 = Date()
            let prediction = try OperatorTraining.predict(op, inputs: test.inputs, batch: cfg.evaluation.batch)
            let seconds = Date().timeIntervalSince(t0)
            let errors = try OperatorTraining.relativeErrors(prediction, test.outputs)
            try NPY.write(errors, shape: [errors.count], to: folder + "/errors.npy")
            report["test"] = summary(errors, seconds: seconds)
            let n = Array(test.inputs.shape.dropFirst(2))
            print(String(format: "test %@: relative L2 mean %.4e, median %.4e, max %.4e (%d samples, %.0f samples/s)",
                         n.map(String.init).joined(separator: "×"), report["test"]!["mean"]!, report["test"]!["median"]!,
                         report["test"]!["max"]!, errors.count, Double(errors.count) / seconds))
            for i in cfg.evaluation.panels {
                guard i < test.count else {
                    throw ConfigError(file: config, keyPath: "evaluation.panels", value: "\(i)", expected: "test-sample indices below \(test.count)")
                }
                try writePanel(input: test.inputs, truth: test.outputs, prediction: prediction, sample: i, to: folder + "/panel_\(i)")
            }
            if let fi = cfg.evaluation.fineInput, let fo = cfg.evaluation.fineOutput, cfg.data.windows == nil {
                let fine = try OperatorSamples(OperatorDataset(path: cfg.data.file, input: fi, output: fo, samples: data.testRange,
                                                               stride: cfg.evaluation.fineStride))
                let t1 = Date()
                let fp = try OperatorTraining.predict(op, inputs: fine.inputs, batch: cfg.evaluation.batch)
                let fs = Date().timeIntervalSince(t1)
                let fe = try OperatorTraining.relativeErrors(fp, fine.outputs)
                try NPY.write(fe, shape: [fe.count], to: folder + "/errors_fine.npy")
                report["fine"] = summary(fe, seconds: fs)
                print(String(format: "zero-shot %@: relative L2 mean %.4e, median %.4e, max %.4e",
                             fine.inputs.shape.dropFirst(2).map(String.init).joined(separator: "×"), report["fine"]!["mean"]!,
                             report["fine"]!["median"]!, report["fine"]!["max"]!))
            }
            let meta = try SafeTensors.read(path).metadata
            let checkpoint = folder + "/checkpoint.safetensors"
            let stored = FileManager.default.fileExists(atPath: checkpoint) ? try SafeTensors.read(checkpoint).metadata["trainer.history"] : nil
            if let text = meta["trainer.history"] ?? stored,
               let h = try? JSONDecoder().decode(TrainingHistory.self, from: Data(text.utf8)) {
                try writeHistory(h, folder: folder)
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(report), to: folder + "/eval.json")
            print("pde-train eval: \(folder)/eval.json")
        }
    }

    func summary(_ e: [Double], seconds: Double) -> [String: Double] {
        ["mean": e.reduce(0, +) / Double(e.count), "median": median(e), "max": e.max() ?? .nan, "samples": Double(e.count),
         "samples_per_second": Double(e.count) / seconds]
    }
}

/// input | truth | prediction | |error| of one test sample (first channel): a PNG row of
/// heat maps for 2-D data (the last two axes; for 3-D data the last frame), an SVG of the
/// curves for 1-D data. Returns the file written (`base` + .png or .svg).
@discardableResult
func writePanel(input: Tensor<Float>, truth: Tensor<Float>, prediction: Tensor<Float>, sample i: Int, to base: String) throws -> String {
    let spatial = Array(truth.shape.dropFirst(2))
    func field(_ t: Tensor<Float>) -> [Double] {
        let per = t.count / t.shape[0], plane = spatial.suffix(2).reduce(1, *)
        let frame = Array(t.shape.dropFirst(2)).reduce(1, *) - plane   // last plane of the first channel
        return t.scalars[(i * per + frame)..<(i * per + frame + plane)].map(Double.init)
    }
    let a = input.shape.dropFirst(2).elementsEqual(spatial) ? field(input) : nil
    let u = field(truth), p = field(prediction)
    let err = zip(u, p).map { Swift.abs($0 - $1) }
    if spatial.count == 1 {
        var plot = SVGLinePlot(title: "Test sample \(i)", xLabel: "x", yLabel: "value")
        let x = (0..<u.count).map { Double($0) / Double(max(1, u.count - 1)) }
        if let a { plot.series.append(.init(label: "input", x: x, y: a)) }
        plot.series.append(.init(label: "truth", x: x, y: u))
        plot.series.append(.init(label: "prediction", x: x, y: p))
        try plot.write(to: base + ".svg")
        return base + ".svg"
    }
    var panels: [(title: String, values: [Double])] = []
    if let a { panels.append(("input", a)) }
    panels += [("truth", u), ("prediction", p), ("|error|", err)]
    let (h, w) = (spatial[spatial.count - 2], spatial[spatial.count - 1])
    try HeatMap.writeRow(panels, width: w, height: h, to: base + ".png")
    return base + ".png"
}

struct Refine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Spectral-Refiner: fine-tune a trained SFNO's output layer per test trajectory against the H⁻¹ Navier–Stokes residual.",
        discussion: """
        Loads <folder>/model.safetensors (an sfno model), rebuilds its output spectral layer
        with the config's `refine.output_modes`, freezes everything else, and for every test
        window optimizes that layer alone (Adam, `refine.iterations` steps) against the H⁻¹
        norm of the Navier–Stokes residual of its predicted frames — no labels. Prints, per
        trajectory, the residual and the relative L2 error before and after; writes
        refine.json (means), errors_refined.npy, and refine-progress.json after every
        trajectory (--resume continues from it; Ctrl-C stops after the trajectory in flight).
        """)

    @Argument(help: "YAML config file (with a refine section).")
    var config: String
    @Option(help: "Operator file (default: <folder>/model.safetensors).")
    var model: String?
    @Option(help: "Refine only the first N test windows.")
    var samples: Int?
    @Flag(help: "Continue from refine-progress.json.")
    var resume = false

    struct Progress: Codable {
        var errorsBefore: [Double] = [], errorsAfter: [Double] = [], residualsBefore: [Double] = [], residualsAfter: [Double] = []
        var seconds: [Double] = []
    }

    func run() throws {
        Threads.configure()
        try guarded(config) {
            let cfg = try loadConfig(TrainConfig.self, from: config)
            guard let spec = cfg.refine else {
                throw ConfigError(file: config, keyPath: "refine", value: "missing", expected: "a refine section (iterations, output_modes, viscosity, time_step)")
            }
            let folder = cfg.training.checkpointFolder
            let path = model ?? folder + "/model.safetensors"
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigError(file: config, keyPath: "training.checkpoint.folder", value: "no \(path)", expected: "a trained model: run pde-train fit first")
            }
            let op = try NeuralOperator<Float>.load(from: path)
            guard let sfno = op.model as? SFNO<Float>, op.inputNormalizer == nil, op.outputNormalizer == nil else {
                throw ConfigError(file: config, keyPath: "model.kind", value: op.architecture.kind + (op.model is SFNO<Float> ? " with normalizers" : ""),
                                  expected: "an sfno model trained without normalizers (normalize: {input: none, output: none})")
            }
            let data = try LoadedData(cfg, splits: ["test"])
            guard let test = data.test else {
                throw ConfigError(file: config, keyPath: "data.split.test", value: "0", expected: "test trajectories to refine")
            }
            if let samples, samples < 1 {
                throw ConfigError(file: config, keyPath: "--samples", value: "\(samples)", expected: "an integer ≥ 1")
            }
            let count = min(test.count, samples ?? test.count)
            let n = test.inputs.shape[2]
            let residual = try NavierStokesResidual(points: n, viscosity: spec.viscosity, timeStep: spec.timeStep,
                                                    forcing: spec.fnoForcing ? NavierStokesResidual.fnoForcing(points: n) : nil,
                                                    alpha: spec.alpha, layout: spec.layout)
            let refiner = try SpectralRefiner(residual: residual, outputModes: spec.outputModes, iterations: spec.iterations, learningRate: spec.learningRate)
            let progressPath = folder + "/refine-progress.json"
            var progress = Progress()
            if FileManager.default.fileExists(atPath: progressPath) {
                guard resume else {
                    throw ConfigError(file: config, keyPath: "training.checkpoint.folder", value: "'\(folder)' holds refine-progress.json",
                                      expected: "--resume to continue it, or remove it")
                }
                progress = try JSONDecoder().decode(Progress.self, from: Data(contentsOf: URL(fileURLWithPath: progressPath)))
                print("pde-train refine: resumed after \(progress.errorsAfter.count) trajectories")
            }
            print("pde-train refine: \(count) test windows \(test.inputs.shape.dropFirst()) → \(test.outputs.shape.dropFirst()), output modes "
                  + "\((sfno.configuration.outputModes ?? sfno.configuration.modes)) → \(spec.outputModes), \(spec.iterations) Adam steps at \(spec.learningRate)")
            signal(SIGINT) { _ in interrupted = 1 }
            for i in min(progress.errorsAfter.count, count)..<count {
                let t0 = Date()
                let (x, y) = try test.batch([i])
                let before = try OperatorTraining.predict(op, inputs: x)
                let outcome = try refiner.refine(sfno, input: x)
                let eb = try OperatorTraining.relativeErrors(before, y)[0], ea = try OperatorTraining.relativeErrors(outcome.prediction, y)[0]
                progress.errorsBefore.append(eb)
                progress.errorsAfter.append(ea)
                progress.residualsBefore.append(outcome.residualBefore)
                progress.residualsAfter.append(outcome.residualAfter)
                progress.seconds.append(Date().timeIntervalSince(t0))
                try AtomicFile.write(try JSONEncoder().encode(progress), to: progressPath)
                print(String(format: "trajectory %d/%d  H⁻¹ residual %.3e → %.3e  relative L2 %.4e → %.4e  (%.1f s)", i + 1, count,
                             outcome.residualBefore, outcome.residualAfter, eb, ea, progress.seconds.last!))
                fflush(stdout)
                if interrupted != 0 {
                    print("pde-train refine: interrupted after trajectory \(i + 1); run again with --resume")
                    throw ExitCode(130)
                }
            }
            func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(1, v.count)) }
            let summary: [String: Double] = [
                "relative_l2_before": mean(progress.errorsBefore), "relative_l2_after": mean(progress.errorsAfter),
                "residual_before": mean(progress.residualsBefore), "residual_after": mean(progress.residualsAfter),
                "trajectories": Double(progress.errorsAfter.count), "seconds": progress.seconds.reduce(0, +)]
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(summary), to: folder + "/refine.json")
            try NPY.write(progress.errorsAfter, shape: [progress.errorsAfter.count], to: folder + "/errors_refined.npy")
            let cut = 1 - summary["relative_l2_after"]! / summary["relative_l2_before"]!
            print(String(format: "pde-train refine: relative L2 %.4e → %.4e (%.1f%% lower), H⁻¹ residual %.3e → %.3e → %@/refine.json",
                         summary["relative_l2_before"]!, summary["relative_l2_after"]!, 100 * cut, summary["residual_before"]!,
                         summary["residual_after"]!, folder))
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a trained operator to inputs in an NPY file.",
        discussion: """
        The input holds one sample [n…] or a batch [N, n…] (single-channel models) or
        [N, C, n…]; the output has the same layout with the model's output channels. An
        SFNO's frames are its channels: give [N, T_in, n, n] (one window: [1, T_in, n, n]).
        Any resolution the model accepts works (normalizers are interpolated).
        """)

    @Argument(help: "Operator file (model.safetensors or a training checkpoint).")
    var model: String
    @Argument(help: "Input NPY file.")
    var input: String
    @Option(name: .shortAndLong, help: "Output NPY file.")
    var output: String
    @Option(help: "Samples per forward pass.")
    var batch = 20

    func run() throws {
        Threads.configure()
        try guarded(input) {
            guard FileManager.default.fileExists(atPath: model) else { throw LearningError.fileNotFound(path: model) }
            let op = try NeuralOperator<Float>.load(from: model)
            let array = try NPY.read(input)
            let d = op.architecture.dimensions, cin = op.architecture.channels.input
            var shape = array.shape
            let layout: String
            if shape.count == d { shape = [1, 1] + shape; layout = "one" } else if shape.count == d + 1 { shape = [shape[0], 1] + shape.dropFirst(); layout = "batch" } else { layout = "full" }
            guard shape.count == d + 2, shape[1] == cin, shape.allSatisfy({ $0 >= 1 }) else {
                throw LearningError.shapeMismatch(operation: "pde-train predict \(input)",
                                                  expected: "[n…], [N, n…] or [N, \(cin), n…] with \(d) spatial axes", got: "\(array.shape)")
            }
            let x = try Tensor<Float>(shape: shape, scalars: array.doubles.map { Float($0) })
            let y = try OperatorTraining.predict(op, inputs: x, batch: batch)
            var outShape = y.shape
            if op.architecture.channels.output == 1 && layout != "full" { outShape.remove(at: 1) }
            if layout == "one" { outShape.removeFirst() }
            try NPY.write(y.scalars, shape: outShape, to: output)
            print("pde-train predict: \(array.shape) → \(outShape) in \(output)")
        }
    }
}
