import Foundation
import Inverse
import PDE
import Yams

/// The config of `pde-invert`: a task, where the truth and measurement come from (a synthetic
/// image measured through the task's physics with noise, or saved arrays), the algorithm with
/// its prior, and the outputs.
///
/// ```yaml
/// task: deblur
/// image: {source: data/images/coins.png}
/// physics: {kernel: gaussian, sigma: 2, boundary: periodic}
/// noise: {sigma: 0.01, seed: 0}
/// algorithm: {name: admm, prior: tv, lambda: 5.0e-4, rho: 5.0e-3, iterations: 200}
/// output: {directory: out, name: deblur, formats: [npy, png, jsonl, svg]}
/// ```
public struct InvertConfig: Decodable, Sendable {
    /// Output files: the reconstruction (NPY), the panel truth | baseline | reconstruction |
    /// error (PNG), per-iteration records (JSON lines), the convergence plot (SVG).
    public enum Format: String, Sendable, CaseIterable { case npy, png, jsonl, svg }

    public var task: InverseTask
    /// Synthetic truth: a PNG/NPY file or a phantom name.
    public var imageSource: String?
    public var imageSize = 256
    public var imageBlock = 1
    public var imageSeed: UInt64 = 0
    /// Saved arrays instead (e.g. the peers' inputs): truth (optional), measurement, and for
    /// deblurring the kernel, for CT the angles in degrees.
    public var inputTruth: String?
    public var inputMeasurement: String?
    public var inputKernel: String?
    public var inputAngles: String?
    public var physics = PhysicsSettings()
    public var noise = NoiseModel.gaussian(sigma: 0)
    public var noiseRelative = false
    public var noiseSeed: UInt64 = 0
    public var algorithm: String
    public var settings = ReconstructionSettings()
    public var iterations = 200
    public var tolerance = 1e-6
    public var trackSSIM = false
    public var directory = "out"
    public var name = "reconstruction"
    public var formats: [Format] = [.npy, .png, .jsonl, .svg]
    /// The Darcy inversion's settings (task darcy).
    public var darcy = DarcyExperiment()
    /// L-BFGS memory of the Darcy inversion.
    public var darcyMemory = 10

    /// Throws `ConfigError` naming the key for unknown keys, wrong types and bad values.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["task", "image", "inputs", "physics", "noise", "algorithm", "output", "darcy"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        let taskName: String = try c.required("task")
        guard let task = InverseTask(rawValue: taskName) else {
            throw ConfigError(keyPath: "task", value: "'\(taskName)'", expected: "one of " + InverseTask.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.task = task
        if task == .darcy {
            algorithm = "lbfgs"
            try decodeDarcy(c)
            return
        }
        guard !c.contains(AnyKey("darcy")) else {
            throw ConfigError(keyPath: "darcy", value: "given for task \(taskName)", expected: "a darcy section only with task: darcy")
        }
        if c.contains(AnyKey("image")) {
            let i = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("image"))
            try i.rejectUnknownKeys(["source", "size", "block", "seed"], path: "image")
            imageSource = try i.required("source")
            imageSize = try i.value("size") ?? imageSize
            imageBlock = try i.value("block") ?? imageBlock
            imageSeed = try i.value("seed") ?? imageSeed
            guard (2...8192).contains(imageSize) else { throw ConfigError(keyPath: i.path("size"), value: "\(imageSize)", expected: "2…8192 pixels") }
            guard (1...64).contains(imageBlock) else { throw ConfigError(keyPath: i.path("block"), value: "\(imageBlock)", expected: "1…64") }
        }
        if c.contains(AnyKey("inputs")) {
            let i = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("inputs"))
            try i.rejectUnknownKeys(["truth", "measurement", "kernel", "angles"], path: "inputs")
            inputTruth = try i.value("truth")
            inputMeasurement = try i.required("measurement")
            inputKernel = try i.value("kernel")
            inputAngles = try i.value("angles")
        }
        guard (imageSource == nil) != (inputMeasurement == nil) else {
            throw ConfigError(keyPath: "image", value: imageSource == nil ? "missing" : "given with 'inputs'",
                              expected: "exactly one of 'image' (synthetic measurement) or 'inputs' (saved arrays)")
        }
        if c.contains(AnyKey("physics")) {
            let p = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("physics"))
            try p.rejectUnknownKeys(["kernel", "sigma", "radius", "size", "length", "angle", "boundary", "angles", "mask",
                                     "acceleration", "center_fraction", "lines", "decay", "missing_fraction", "factor", "mask_seed"],
                                    path: "physics")
            physics.kernel = try p.value("kernel") ?? physics.kernel
            physics.sigma = try p.value("sigma") ?? physics.sigma
            physics.radius = try p.value("radius")
            physics.size = try p.value("size") ?? physics.size
            physics.length = try p.value("length") ?? physics.length
            physics.angle = try p.value("angle") ?? physics.angle
            if let b: String = try p.value("boundary") {
                guard let boundary = BlurBoundary(rawValue: b) else {
                    throw ConfigError(keyPath: p.path("boundary"), value: "'\(b)'", expected: BlurBoundary.allCases.map(\.rawValue).joined(separator: ", "))
                }
                physics.boundary = boundary
            }
            physics.angles = try p.value("angles") ?? physics.angles
            physics.mask = try p.value("mask") ?? physics.mask
            physics.acceleration = try p.value("acceleration") ?? physics.acceleration
            physics.centerFraction = try p.value("center_fraction") ?? physics.centerFraction
            physics.lines = try p.value("lines")
            physics.decay = try p.value("decay") ?? physics.decay
            physics.missingFraction = try p.value("missing_fraction") ?? physics.missingFraction
            physics.factor = try p.value("factor") ?? physics.factor
            physics.maskSeed = try p.value("mask_seed") ?? physics.maskSeed
        }
        if c.contains(AnyKey("noise")) {
            let n = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("noise"))
            try n.rejectUnknownKeys(["type", "sigma", "gain", "relative", "seed"], path: "noise")
            let type: String = try n.value("type") ?? "gaussian"
            switch type {
            case "gaussian": noise = .gaussian(sigma: try n.value("sigma") ?? 0)
            case "poisson": noise = .poisson(gain: try n.required("gain"))
            case "none": noise = .none
            default: throw ConfigError(keyPath: n.path("type"), value: "'\(type)'", expected: "gaussian, poisson or none")
            }
            do { try noise.validate() } catch let e as PDEError {
                throw ConfigError(keyPath: n.path(type == "poisson" ? "gain" : "sigma"), value: "\(e)", expected: "a valid noise level")
            }
            noiseRelative = try n.value("relative") ?? false
            noiseSeed = try n.value("seed") ?? 0
        }
        let a = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("algorithm"))
        try a.rejectUnknownKeys(["name", "iterations", "tolerance", "ssim", "prior", "lambda", "rho", "nu", "step", "filter",
                                 "regularizer", "nonnegative", "inner_iterations", "model", "evaluate_regularizer",
                                 "relaxation", "symmetries", "denoiser_scale", "denoiser_center"], path: "algorithm")
        algorithm = try a.required("name")
        let method: ReconstructionMethod
        do { method = try ReconstructionRegistry.method(algorithm) } catch {
            throw ConfigError(keyPath: a.path("name"), value: "'\(algorithm)'",
                              expected: "one of " + ReconstructionRegistry.methods.map(\.name).joined(separator: ", "))
        }
        iterations = try a.value("iterations") ?? iterations
        tolerance = try a.value("tolerance") ?? tolerance
        trackSSIM = try a.value("ssim") ?? false
        guard iterations >= 1 else { throw ConfigError(keyPath: a.path("iterations"), value: "\(iterations)", expected: "an integer ≥ 1") }
        guard tolerance >= 0, tolerance.isFinite else { throw ConfigError(keyPath: a.path("tolerance"), value: "\(tolerance)", expected: "a number ≥ 0") }
        settings.prior = try a.value("prior")
        settings.lambda = try a.value("lambda")
        settings.rho = try a.value("rho")
        settings.nu = try a.value("nu")
        settings.step = try a.value("step")
        settings.filter = try a.value("filter")
        settings.regularizer = try a.value("regularizer")
        settings.nonnegative = try a.value("nonnegative")
        settings.innerIterations = try a.value("inner_iterations")
        settings.model = try a.value("model")
        settings.evaluateRegularizer = try a.value("evaluate_regularizer")
        settings.relaxation = try a.value("relaxation")
        settings.symmetries = try a.value("symmetries")
        settings.denoiserScale = try a.value("denoiser_scale")
        settings.denoiserCenter = try a.value("denoiser_center")
        for key in settings.givenKeys where !method.keys.contains(key) {
            throw ConfigError(keyPath: a.path(key), value: "not read by \(algorithm)",
                              expected: method.keys.isEmpty ? "no settings for \(algorithm)" : "only " + method.keys.joined(separator: ", "))
        }
        for (key, value) in [("lambda", settings.lambda), ("rho", settings.rho), ("nu", settings.nu)] {
            if let v = value, !(v >= 0 && v.isFinite) {
                throw ConfigError(keyPath: a.path(key), value: "\(v)", expected: "a finite number ≥ 0")
            }
        }
        if let r = settings.relaxation, !(r > 0 && r < 2) {
            throw ConfigError(keyPath: a.path("relaxation"), value: "\(r)", expected: "a number in (0, 2) (1: plain ADMM; below 1 damps)")
        }
        if let g = settings.symmetries, LPNSymmetries(rawValue: g) == nil {
            throw ConfigError(keyPath: a.path("symmetries"), value: "'\(g)'",
                              expected: "one of " + LPNSymmetries.names)
        }
        if let v = settings.denoiserScale, !(v > 0 && v <= 1e6) {
            throw ConfigError(keyPath: a.path("denoiser_scale"), value: "\(v)", expected: "a scale s with 0 < s ≤ 1e6 (1: the network itself; above 1 weakens the prior)")
        }
        if let v = settings.denoiserCenter, !v.isFinite {
            throw ConfigError(keyPath: a.path("denoiser_center"), value: "\(v)", expected: "a finite centre of the denoiser scaling")
        }
        if let p = settings.prior, !(ReconstructionRegistry.priorNames.contains(p)) {
            throw ConfigError(keyPath: a.path("prior"), value: "'\(p)'", expected: "one of " + ReconstructionRegistry.priorNames.joined(separator: ", "))
        }
        if settings.prior == "lpn" {
            guard ["pnp-admm", "pnp-pgd"].contains(algorithm) else {
                throw ConfigError(keyPath: a.path("prior"), value: "'lpn' with \(algorithm)", expected: "algorithm pnp-admm or pnp-pgd for prior lpn")
            }
            // The file is read when the run starts (a missing one is a typed error naming it), so
            // shipped configs decode before their model is trained.
            guard settings.model != nil else {
                throw ConfigError(keyPath: a.path("model"), value: "missing", expected: "the learned proximal network file of prior lpn (pde-train lpn's model.safetensors)")
            }
            if let l = settings.lambda {
                throw ConfigError(keyPath: a.path("lambda"), value: "\(l)", expected: "no lambda with prior lpn (rho, or the step 1/L, weighs the learned prior)")
            }
            if algorithm == "pnp-admm" && settings.rho == nil {
                throw ConfigError(keyPath: a.path("rho"), value: "missing", expected: "ρ > 0, the weight of the learned prior (pnp-admm with prior lpn)")
            }
        } else {
            for key in ["model", "evaluate_regularizer", "symmetries", "denoiser_scale", "denoiser_center"] where a.contains(AnyKey(key)) {
                throw ConfigError(keyPath: a.path(key), value: "given", expected: "prior lpn (the key is for a learned proximal network)")
            }
        }
        try decodeOutput(c)
    }
}

extension InvertConfig {
    mutating func decodeOutput(_ c: KeyedDecodingContainer<AnyKey>) throws {
        if c.contains(AnyKey("output")) {
            let o = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("output"))
            try o.rejectUnknownKeys(["directory", "name", "formats"], path: "output")
            directory = try o.value("directory") ?? directory
            name = try o.value("name") ?? name
            guard !name.isEmpty, !name.contains("/") else {
                throw ConfigError(keyPath: o.path("name"), value: "'\(name)'", expected: "a file name without '/'")
            }
            if let raw: [String] = try o.value("formats") {
                formats = try raw.enumerated().map { i, f in
                    guard let format = Format(rawValue: f) else {
                        throw ConfigError(keyPath: o.path("formats") + "[\(i)]", value: "'\(f)'",
                                          expected: "one of " + Format.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    return format
                }
            }
        }
    }

    /// task: darcy — `darcy:` (nodes, observations, lattice, noise, seed, unknown, regularization,
    /// beta, alpha, epsilon), `algorithm:` (name: lbfgs, iterations, gradient_tolerance, memory),
    /// `output:`.
    mutating func decodeDarcy(_ c: KeyedDecodingContainer<AnyKey>) throws {
        for key in ["image", "inputs", "physics", "noise"] where c.contains(AnyKey(key)) {
            throw ConfigError(keyPath: key, value: "given for task darcy", expected: "only darcy, algorithm and output sections")
        }
        if c.contains(AnyKey("darcy")) {
            let d = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("darcy"))
            try d.rejectUnknownKeys(["nodes", "observations", "lattice", "noise", "seed", "unknown", "regularization", "beta", "alpha", "epsilon"],
                                    path: "darcy")
            darcy.nodesPerAxis = try d.value("nodes") ?? darcy.nodesPerAxis
            darcy.observations = try d.value("observations") ?? darcy.observations
            darcy.lattice = try d.value("lattice") ?? darcy.lattice
            darcy.noiseLevel = try d.value("noise") ?? darcy.noiseLevel
            darcy.seed = try d.value("seed") ?? darcy.seed
            guard (4...1024).contains(darcy.nodesPerAxis) else {
                throw ConfigError(keyPath: d.path("nodes"), value: "\(darcy.nodesPerAxis)", expected: "4…1024 interior nodes per axis")
            }
            guard darcy.observations >= 1 else { throw ConfigError(keyPath: d.path("observations"), value: "\(darcy.observations)", expected: "≥ 1") }
            guard darcy.noiseLevel >= 0, darcy.noiseLevel.isFinite else {
                throw ConfigError(keyPath: d.path("noise"), value: "\(darcy.noiseLevel)", expected: "a relative noise level ≥ 0")
            }
            if let u: String = try d.value("unknown") {
                guard let unknown = DarcyExperiment.Unknown(rawValue: u) else {
                    throw ConfigError(keyPath: d.path("unknown"), value: "'\(u)'", expected: "conductivity or source")
                }
                darcy.unknown = unknown
            }
            let kind: String = try d.value("regularization") ?? "tikhonov"
            let beta: Double = try d.value("beta") ?? 10
            switch kind {
            case "tikhonov": darcy.regularization = .tikhonov(beta: beta, alpha: try d.value("alpha") ?? 0.01)
            case "tv": darcy.regularization = .totalVariation(beta: beta, epsilon: try d.value("epsilon") ?? 1)
            case "none": darcy.regularization = .none
            default: throw ConfigError(keyPath: d.path("regularization"), value: "'\(kind)'", expected: "tikhonov, tv or none")
            }
            do { try darcy.regularization.validate() } catch let e as PDEError {
                throw ConfigError(keyPath: d.path("beta"), value: "\(e)", expected: "non-negative weights and ε > 0")
            }
        }
        if c.contains(AnyKey("algorithm")) {
            let a = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("algorithm"))
            try a.rejectUnknownKeys(["name", "iterations", "gradient_tolerance", "memory"], path: "algorithm")
            let name: String = try a.value("name") ?? "lbfgs"
            guard name == "lbfgs" else { throw ConfigError(keyPath: a.path("name"), value: "'\(name)'", expected: "lbfgs (the Darcy inversion's optimizer)") }
            iterations = try a.value("iterations") ?? 500
            tolerance = try a.value("gradient_tolerance") ?? 1e-5
            darcyMemory = try a.value("memory") ?? 10
            guard iterations >= 1 else { throw ConfigError(keyPath: a.path("iterations"), value: "\(iterations)", expected: "≥ 1") }
            guard tolerance > 0, tolerance.isFinite else {
                throw ConfigError(keyPath: a.path("gradient_tolerance"), value: "\(tolerance)", expected: "a number > 0")
            }
            guard (1...100).contains(darcyMemory) else { throw ConfigError(keyPath: a.path("memory"), value: "\(darcyMemory)", expected: "1…100") }
        } else {
            iterations = 500
            tolerance = 1e-5
        }
        try decodeOutput(c)
    }
}

/// What `pde-invert` did: the report, the scores and the files.
public struct InvertSummary {
    public var reconstruction: Reconstruction
    /// PSNR / SSIM of the reconstruction and of the baseline against the truth (when known).
    public var psnr: Double?
    public var ssim: Double?
    public var baselinePSNR: Double?
    /// Relative L2 error of the unknown (Darcy).
    public var relativeError: Double?
    public var outputs: [String]
}

/// Runs an `InvertConfig`: builds the experiment (library), reconstructs through the
/// registry, writes the outputs atomically.
public struct InvertRunner {
    public let config: InvertConfig
    public let configPath: String
    public let log: (String) -> Void

    /// A runner printing progress through `log`.
    public init(config: InvertConfig, configPath: String, log: @escaping (String) -> Void = { print($0) }) {
        self.config = config
        self.configPath = configPath
        self.log = log
    }

    /// The experiment the config describes.
    public func experiment() throws -> InverseExperiment {
        let c = config
        if let source = c.imageSource {
            let image = try TestImage.load(source, size: c.imageSize, block: c.imageBlock, seed: c.imageSeed)
            return try InverseExperiment.synthetic(task: c.task, truth: image.values, shape: image.shape, physics: c.physics,
                                                   noise: c.noise, relativeNoise: c.noiseRelative, noiseSeed: c.noiseSeed)
        }
        let y = try NPY.read(c.inputMeasurement!)
        let truth = try c.inputTruth.map { try NPY.read($0) }
        var physics = c.physics
        let model: ForwardModel
        switch c.task {
        case .deblur:
            guard let truth else {
                throw ConfigError(keyPath: "inputs.truth", value: "missing", expected: "the truth array (its shape sets the image shape)")
            }
            if let k = c.inputKernel {
                let kernel = try NPY.read(k)
                guard kernel.shape.count == 2 else {
                    throw ConfigError(keyPath: "inputs.kernel", value: "shape \(kernel.shape)", expected: "a 2-D kernel")
                }
                model = try Blur(imageShape: truth.shape, kernel: BlurKernel(values: kernel.doubles, shape: kernel.shape), boundary: physics.boundary)
            } else {
                model = try InverseExperiment.makeModel(task: .deblur, shape: truth.shape, physics: physics)
            }
        case .ct:
            guard y.shape.count == 2 else { throw ConfigError(keyPath: "inputs.measurement", value: "shape \(y.shape)", expected: "a sinogram [detectors, angles]") }
            if let a = c.inputAngles {
                let angles = try NPY.read(a).doubles
                model = try ParallelBeamProjector(size: y.shape[0], anglesDegrees: angles)
            } else {
                physics.angles = y.shape[1]
                model = try InverseExperiment.makeModel(task: .ct, shape: [y.shape[0], y.shape[0]], physics: physics)
            }
        default:
            guard let truth else {
                throw ConfigError(keyPath: "inputs.truth", value: "missing", expected: "the truth array (its shape sets the image shape)")
            }
            model = try InverseExperiment.makeModel(task: c.task, shape: truth.shape, physics: physics)
        }
        return try InverseExperiment(task: c.task, model: model, measurement: y.doubles, truth: truth?.doubles)
    }

    /// Reconstructs and writes the outputs.
    public func run() throws -> InvertSummary {
        let c = config
        if c.task == .darcy { return try runDarcy() }
        let e = try experiment()
        let method = try ReconstructionRegistry.method(c.algorithm)
        let shape = e.imageShape
        log("\(c.task.rawValue): \(e.model.name), image \(shape[0])×\(shape[1]), measurement \(e.measurement.count) values; \(c.algorithm)"
            + (c.settings.prior.map { " with \($0)" } ?? ""))
        let clip = { (x: [Double]) in x.map { min(max($0, 0), 1) } }
        var baselinePSNR: Double?
        if let t = e.truth {
            baselinePSNR = try ImageMetrics.psnr(clip(e.baseline.image), t, dataRange: 1)
            log(String(format: "%@: PSNR %.2f dB", e.baseline.name, baselinePSNR!))
        }
        let every = max(1, c.iterations / 20)
        let log = self.log
        let options = ReconstructionOptions(maxIterations: c.iterations, tolerance: c.tolerance, truth: e.truth, imageShape: shape,
                                            trackSSIM: c.trackSSIM, monitor: { r in
            guard r.iteration % every == 0 || r.iteration == 1 else { return }
            var line = "iteration \(r.iteration)/\(c.iterations)"
            if let o = r.objective { line += String(format: "  objective %.6e", o) }
            if let p = r.psnr { line += String(format: "  PSNR %.2f dB", p) }
            if let s = r.ssim { line += String(format: "  SSIM %.4f", s) }
            line += String(format: "  change %.2e  %.2f s", r.relativeChange, r.seconds)
            log(line)
        })
        let result = try method.run(e, settings: c.settings, options: options)
        for note in result.report.notes { log(note) }
        var summary = InvertSummary(reconstruction: result, outputs: [])
        summary.baselinePSNR = baselinePSNR
        if let t = e.truth {
            summary.psnr = try ImageMetrics.psnr(clip(result.x), t, dataRange: 1)
            summary.ssim = try ImageMetrics.ssim(clip(result.x), t, shape: shape, dataRange: 1)
            log(String(format: "%@: PSNR %.2f dB, SSIM %.4f (%@ after %d iterations, %.2f s)", c.algorithm, summary.psnr!, summary.ssim!,
                       result.report.stop.rawValue, result.report.iterations, result.report.seconds))
        } else {
            log(String(format: "%@: %@ after %d iterations, %.2f s", c.algorithm, result.report.stop.rawValue, result.report.iterations, result.report.seconds))
        }
        summary.outputs = try writeOutputs(e, result, baselinePSNR: baselinePSNR, psnr: summary.psnr)
        return summary
    }

    func createOutputDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: config.directory, reason: error.localizedDescription)
        }
    }

    /// One JSON object per iteration record, keys sorted, written atomically.
    static func writeJSONLines(_ history: [IterationRecord], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = ""
        for rec in history { text += String(decoding: try encoder.encode(rec), as: UTF8.self) + "\n" }
        try AtomicFile.write(Data(text.utf8), to: path)
    }

    func writeOutputs(_ e: InverseExperiment, _ r: Reconstruction, baselinePSNR: Double?, psnr: Double?) throws -> [String] {
        let c = config
        guard !c.formats.isEmpty else { return [] }
        try createOutputDirectory()
        let base = c.directory + "/" + c.name
        let (rows, cols) = (e.imageShape[0], e.imageShape[1])
        // Heat maps draw row 0 at the bottom; images have it at the top.
        let flip = { (x: [Double]) -> [Double] in (0..<(rows * cols)).map { x[(rows - 1 - $0 / cols) * cols + $0 % cols] } }
        var outputs: [String] = []
        for format in c.formats {
            let path: String
            switch format {
            case .npy:
                path = base + ".npy"
                try NPY.write(r.x, shape: e.imageShape, to: path)
            case .png:
                path = base + ".png"
                var panels: [HeatMap.Panel] = []
                let fmt = { (p: Double?) in p.map { String(format: " %.2f dB", $0) } ?? "" }
                if let t = e.truth { panels.append(.init(title: "truth", values: flip(t), range: 0...1, colormap: .gray)) }
                panels.append(.init(title: e.baseline.name + fmt(baselinePSNR), values: flip(e.baseline.image), range: 0...1, colormap: .gray))
                panels.append(.init(title: c.algorithm + fmt(psnr), values: flip(r.x), range: 0...1, colormap: .gray))
                if let t = e.truth {
                    panels.append(.init(title: "abs error", values: flip(zip(r.x, t).map { abs($0 - $1) })))
                }
                try HeatMap.writeRow(panels, width: cols, height: rows, to: path)
            case .jsonl:
                path = base + ".jsonl"
                try Self.writeJSONLines(r.report.history, to: path)
            case .svg:
                path = base + "-convergence.svg"
                var plot = SVGLinePlot(title: "\(c.algorithm) on \(c.task.rawValue)", xLabel: "iteration", yLabel: "relative change, objective", logY: true)
                let h = r.report.history
                plot.series.append(.init(label: "relative change", x: h.map { Double($0.iteration) }, y: h.map { max($0.relativeChange, 1e-300) }))
                let obj = h.compactMap { rec in rec.objective.map { (Double(rec.iteration), $0) } }.filter { $0.1 > 0 }
                if !obj.isEmpty { plot.series.append(.init(label: "objective", x: obj.map(\.0), y: obj.map(\.1))) }
                try plot.write(to: path)
                if h.contains(where: { $0.psnr != nil }) {
                    var p = SVGLinePlot(title: "\(c.algorithm): PSNR", xLabel: "iteration", yLabel: "PSNR (dB)")
                    let pts = h.compactMap { rec in rec.psnr.map { (Double(rec.iteration), $0) } }.filter { $0.1.isFinite }
                    p.series.append(.init(label: "PSNR", x: pts.map(\.0), y: pts.map(\.1)))
                    try p.write(to: base + "-psnr.svg")
                    outputs.append(base + "-psnr.svg")
                    log("wrote \(base)-psnr.svg")
                }
            }
            outputs.append(path)
            log("wrote \(path)")
        }
        return outputs
    }
}

extension InvertRunner {
    /// task: darcy — the inversion, its figures and the outputs (m or f on its grid).
    func runDarcy() throws -> InvertSummary {
        let c = config
        let d = c.darcy
        log("darcy: recover the \(d.unknown.rawValue) on \(d.shape[0])×\(d.shape[1]) from \(d.observations) point observations of u "
            + String(format: "(%d² nodes, noise %.3g·max|u|), L-BFGS", d.nodesPerAxis, d.noiseLevel))
        let every = max(1, c.iterations / 20)
        let log = self.log
        let options = ReconstructionOptions(maxIterations: c.iterations, tolerance: 0, monitor: { r in
            guard r.iteration % every == 0 || r.iteration == 1 else { return }
            log(String(format: "iteration %d  objective %.6e  change %.2e  %.2f s", r.iteration, r.objective ?? .nan, r.relativeChange, r.seconds))
        })
        let optimizer = LBFGS(memory: c.darcyMemory, gradientTolerance: c.tolerance, options: options)
        let (result, truth) = try d.run(optimizer: optimizer)
        for note in result.report.notes { log(note) }
        let error = try ImageMetrics.relativeError(result.x, truth)
        log(String(format: "relative L2 error of the %@: %.4f (%@ after %d iterations, %.2f s)", d.unknown.rawValue, error,
                   result.report.stop.rawValue, result.report.iterations, result.report.seconds))
        var summary = InvertSummary(reconstruction: result, outputs: [])
        summary.relativeError = error
        guard !c.formats.isEmpty else { return summary }
        try createOutputDirectory()
        let base = c.directory + "/" + c.name
        let (rows, cols) = (d.shape[0], d.shape[1])
        let lo = min(truth.min() ?? 0, result.x.min() ?? 0), hi = max(truth.max() ?? 1, result.x.max() ?? 1)
        for format in c.formats {
            let path: String
            switch format {
            case .npy:
                path = base + ".npy"
                try NPY.write(result.x, shape: d.shape, to: path)
            case .png:
                path = base + ".png"
                // Row 0 of the unknown is y = 0: the heat map's bottom row, as the grid.
                try HeatMap.writeRow([HeatMap.Panel(title: "truth", values: truth, range: lo...hi),
                                      HeatMap.Panel(title: String(format: "recovered (error %.3f)", error), values: result.x, range: lo...hi),
                                      HeatMap.Panel(title: "abs error", values: zip(result.x, truth).map { abs($0 - $1) })],
                                     width: cols, height: rows, to: path)
            case .jsonl:
                path = base + ".jsonl"
                try Self.writeJSONLines(result.report.history, to: path)
            case .svg:
                path = base + "-convergence.svg"
                var plot = SVGLinePlot(title: "L-BFGS on the Darcy inversion", xLabel: "iteration", yLabel: "objective", logY: true)
                let obj = result.report.history.compactMap { r in r.objective.map { (Double(r.iteration), $0) } }.filter { $0.1 > 0 }
                plot.series.append(.init(label: "objective", x: obj.map(\.0), y: obj.map(\.1)))
                try plot.write(to: path)
            }
            summary.outputs.append(path)
            log("wrote \(path)")
        }
        return summary
    }
}
