import Foundation
import PDE

/// The imaging tasks `pde-invert` sets up.
public enum InverseTask: String, Sendable, CaseIterable {
    case denoise, deblur, ct, mri, inpaint
    case superResolution = "super-resolution"
    /// The PDE-constrained Darcy inversion (`DarcyExperiment`), not an imaging model.
    case darcy
}

/// How the forward model of a task is configured (the keys of a `physics:` config section;
/// each task reads the ones it needs).
public struct PhysicsSettings: Sendable, Equatable {
    /// Blur kernel: gaussian, uniform or motion.
    public var kernel = "gaussian"
    /// Gaussian σ in pixels.
    public var sigma = 2.0
    /// Gaussian radius (nil: ⌈4σ⌉).
    public var radius: Int?
    /// Uniform kernel size.
    public var size = 5
    /// Motion length in pixels.
    public var length = 9.0
    /// Motion angle in degrees.
    public var angle = 0.0
    /// Blur boundary.
    public var boundary = BlurBoundary.periodic
    /// CT: number of angles, evenly spaced in [0, 180).
    public var angles = 60
    /// MRI mask: random, radial or variable-density.
    public var mask = "random"
    /// MRI acceleration.
    public var acceleration = 4.0
    /// MRI fully sampled centre fraction (random mask).
    public var centerFraction = 0.08
    /// MRI radial lines (radial mask; nil: chosen for the acceleration).
    public var lines: Int?
    /// MRI density decay (variable-density mask).
    public var decay = 2.0
    /// Inpainting: fraction of pixels missing.
    public var missingFraction = 0.5
    /// Super-resolution factor.
    public var factor = 2
    /// Seed of random masks.
    public var maskSeed: UInt64 = 1

    /// The defaults above.
    public init() {}
}

/// A measurement to invert: the forward model, y, the truth when known (synthetic data), and
/// a baseline image to show next to the reconstruction (the measurement itself, FBP,
/// zero-filled k-space, pixel-replicated low resolution).
public struct InverseExperiment {
    /// The task.
    public let task: InverseTask
    /// A.
    public let model: ForwardModel
    /// y.
    public let measurement: [Double]
    /// x (nil for real data without ground truth).
    public let truth: [Double]?
    /// The image shape [rows, cols].
    public var imageShape: [Int] { model.domainShape }
    /// The baseline's name and image.
    public let baseline: (name: String, image: [Double])

    /// An experiment from a given model and measurement (external data), with the task's
    /// baseline computed.
    public init(task: InverseTask, model: ForwardModel, measurement: [Double], truth: [Double]?) throws {
        try InverseCheck.length(measurement.count, model.rangeCount, "measurement of \(model.name)")
        if let truth { try InverseCheck.length(truth.count, model.domainCount, "truth image") }
        guard model.domainShape.count == 2 else {
            throw PDEError.invalidValue(key: "model", value: "\(model.domainShape)", expected: "a model on 2-D images")
        }
        self.task = task
        self.model = model
        self.measurement = measurement
        self.truth = truth
        baseline = try InverseExperiment.baseline(task: task, model: model, measurement: measurement)
    }

    /// A synthetic experiment: builds the task's model for `truth` (shape [rows, cols]),
    /// measures it and adds noise. For CT the noise σ is relative to max|Ax| when
    /// `relativeNoise` (the CT peer's convention); otherwise absolute.
    public static func synthetic(task: InverseTask, truth: [Double], shape: [Int], physics: PhysicsSettings = PhysicsSettings(),
                                 noise: NoiseModel, relativeNoise: Bool = false, noiseSeed: UInt64 = 0) throws -> InverseExperiment {
        try InverseCheck.shape(shape, key: "image shape", axes: 2...2)
        try InverseCheck.length(truth.count, shape[0] * shape[1], "truth image of shape \(shape)")
        let model = try makeModel(task: task, shape: shape, physics: physics)
        let clean = try model(truth)
        var effective = noise
        if relativeNoise, case let .gaussian(sigma) = noise {
            effective = .gaussian(sigma: sigma * (clean.map { abs($0) }.max() ?? 0))
        }
        let y = try effective.corrupt(clean, seed: noiseSeed)
        return try InverseExperiment(task: task, model: model, measurement: y, truth: truth)
    }

    /// The forward model of a task on images of `shape`.
    public static func makeModel(task: InverseTask, shape: [Int], physics p: PhysicsSettings) throws -> ForwardModel {
        switch task {
        case .denoise:
            return try IdentityModel(shape: shape)
        case .deblur, .superResolution:
            let k: BlurKernel
            switch p.kernel {
            case "gaussian": k = try .gaussian(sigma: p.sigma, radius: p.radius)
            case "uniform": k = try .uniform(size: p.size)
            case "motion": k = try .motion(length: p.length, angleDegrees: p.angle)
            default: throw PDEError.invalidValue(key: "kernel", value: "'\(p.kernel)'", expected: "gaussian, uniform or motion")
            }
            if task == .deblur { return try Blur(imageShape: shape, kernel: k, boundary: p.boundary) }
            return try superResolution(imageShape: shape, kernel: k, factor: p.factor, boundary: p.boundary)
        case .ct:
            guard shape[0] == shape[1] else {
                throw PDEError.invalidValue(key: "image shape", value: "\(shape)", expected: "a square image for parallel-beam CT")
            }
            guard p.angles >= 1 else { throw PDEError.invalidValue(key: "angles", value: "\(p.angles)", expected: "≥ 1") }
            return try ParallelBeamProjector(size: shape[0], anglesDegrees: (0..<p.angles).map { 180 * Double($0) / Double(p.angles) })
        case .mri:
            let mask: [Bool]
            switch p.mask {
            case "random": mask = try SamplingMask.random(shape: shape, acceleration: p.acceleration, centerFraction: p.centerFraction, seed: p.maskSeed)
            case "radial":
                let lines = p.lines ?? max(1, Int((Double(max(shape[0], shape[1])) * Double.pi / 2 / p.acceleration).rounded()))
                mask = try SamplingMask.radial(shape: shape, lines: lines)
            case "variable-density": mask = try SamplingMask.variableDensity(shape: shape, acceleration: p.acceleration, decay: p.decay, seed: p.maskSeed)
            default: throw PDEError.invalidValue(key: "mask", value: "'\(p.mask)'", expected: "random, radial or variable-density")
            }
            return try SubsampledFourier(shape: shape, mask: mask)
        case .inpaint:
            return try MaskModel.random(shape: shape, missingFraction: p.missingFraction, seed: p.maskSeed)
        case .darcy:
            throw PDEError.invalidValue(key: "task", value: "darcy", expected: "an imaging task (the Darcy inversion is a DarcyExperiment)")
        }
    }

    static func baseline(task: InverseTask, model: ForwardModel, measurement y: [Double]) throws -> (name: String, image: [Double]) {
        switch task {
        case .denoise, .deblur, .inpaint, .darcy:
            return ("measurement", y)
        case .ct:
            if let ct = model as? ParallelBeamProjector {
                return ("FBP (ramp)", try FilteredBackProjection(size: ct.size, anglesDegrees: ct.anglesDegrees).reconstruct(y))
            }
            return ("back-projection", try model.adjoint(y))
        case .mri:
            if let mri = model as? SubsampledFourier { return ("zero-filled", try mri.pseudoInverse(y)) }
            return ("adjoint", try model.adjoint(y))
        case .superResolution:
            let (n0, n1) = (model.domainShape[0], model.domainShape[1])
            let (m0, m1) = (model.rangeShape[0], model.rangeShape[1])
            let (f0, f1) = (n0 / max(1, m0), n1 / max(1, m1))
            var up = [Double](repeating: 0, count: n0 * n1)
            for i in 0..<n0 { for j in 0..<n1 { up[i * n1 + j] = y[min(m0 - 1, i / f0) * m1 + min(m1 - 1, j / f1)] } }
            return ("low resolution", up)
        }
    }
}

/// Test images: the bundled PNGs, NPY arrays, and generated phantoms.
public enum TestImage {
    /// An image from a file (.png as gray in [0, 1], .npy 2-D array) or a phantom name
    /// (`shepp-logan`, `ellipses`), at `size` (phantoms), or block-averaged by `block` ≥ 1
    /// (files). Returns the values (row 0 at the top) and [rows, cols].
    public static func load(_ source: String, size: Int = 256, block: Int = 1, seed: UInt64 = 0) throws -> (values: [Double], shape: [Int]) {
        guard block >= 1 else { throw PDEError.invalidValue(key: "block", value: "\(block)", expected: "an integer ≥ 1") }
        var values: [Double], shape: [Int]
        switch source {
        case "shepp-logan":
            return (try Phantom.sheppLogan(size: size), [size, size])
        case "ellipses":
            return (try Phantom.randomEllipses(size: size, count: 10, seed: seed), [size, size])
        default:
            if source.hasSuffix(".png") {
                let img = try PNGImage.readGray(source)
                (values, shape) = (img.values, [img.height, img.width])
            } else if source.hasSuffix(".npy") {
                let a = try NPY.read(source)
                guard a.shape.count == 2 else {
                    throw PDEError.malformedFile(path: source, line: nil, reason: "array of shape \(a.shape) (expected a 2-D image)")
                }
                (values, shape) = (a.doubles, a.shape)
            } else {
                throw PDEError.invalidValue(key: "image", value: "'\(source)'", expected: "a .png or .npy file, or shepp-logan / ellipses")
            }
        }
        if block == 1 { return (values, shape) }
        let (m0, m1) = (shape[0] / block, shape[1] / block)
        guard m0 >= 1, m1 >= 1 else {
            throw PDEError.invalidValue(key: "block", value: "\(block)", expected: "a factor no larger than the image \(shape)")
        }
        var out = [Double](repeating: 0, count: m0 * m1)
        for i in 0..<(m0 * block) { for j in 0..<(m1 * block) { out[(i / block) * m1 + j / block] += values[i * shape[1] + j] } }
        let s = 1 / Double(block * block)
        return (out.map { $0 * s }, [m0, m1])
    }
}
