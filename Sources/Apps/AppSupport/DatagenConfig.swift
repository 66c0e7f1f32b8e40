import Foundation
import PDE

/// The config of `pde-datagen`: which family, how many samples, the seed, the output file,
/// and the family's parameters (defaults: the FNO papers' settings).
///
/// ```yaml
/// family: darcy                 # darcy | burgers | navier-stokes | dcdm
/// samples: 1000
/// seed: 0
/// output: {file: out/darcy_r421.h5, precision: float32, compression: 4}
/// darcy: {size: 421, resolutions: [85, 421], alpha: 2, tau: 3, high: 12, low: 3, tolerance: 1e-10, solver: mg}
/// ```
public struct DatagenConfig: Decodable, Sendable {
    /// The dataset families by config name.
    public enum Family: String, Sendable, CaseIterable { case darcy, burgers, navierStokes = "navier-stokes", dcdm }

    public var family: Family
    public var samples: Int
    public var seed: UInt64
    /// Samples computed at once (default: the worker count).
    public var workers: Int?
    public var output: DatagenOutput
    public var darcy: DarcySpec
    public var burgers: BurgersSpec
    public var navierStokes: NavierStokesSpec
    public var dcdm: DCDMSpec

    /// Decodes and checks a config: the family name, 1 ≤ samples ≤ 10⁷, seed ≥ 0, workers 1…256, and only the chosen family's section.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["family", "samples", "seed", "workers", "output", "darcy", "burgers", "navier_stokes", "dcdm"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        let name: String = try c.required("family")
        guard let f = Family(rawValue: name) else {
            throw ConfigError(keyPath: c.path("family"), value: "'\(name)'", expected: "one of " + Family.allCases.map(\.rawValue).joined(separator: ", "))
        }
        family = f
        samples = try c.required("samples")
        guard samples >= 1, samples <= 10_000_000 else {
            throw ConfigError(keyPath: c.path("samples"), value: "\(samples)", expected: "an integer from 1 to 10⁷")
        }
        let s: Int = try c.value("seed") ?? 0
        guard s >= 0 else { throw ConfigError(keyPath: c.path("seed"), value: "\(s)", expected: "an integer ≥ 0") }
        seed = UInt64(s)
        workers = try c.value("workers")
        if let w = workers, !(1...256).contains(w) {
            throw ConfigError(keyPath: c.path("workers"), value: "\(w)", expected: "an integer from 1 to 256")
        }
        output = try c.required("output")
        darcy = try c.value("darcy") ?? DarcySpec()
        burgers = try c.value("burgers") ?? BurgersSpec()
        navierStokes = try c.value("navier_stokes") ?? NavierStokesSpec()
        dcdm = try c.value("dcdm") ?? DCDMSpec()
        for (key, other) in [("darcy", Family.darcy), ("burgers", .burgers), ("navier_stokes", .navierStokes), ("dcdm", .dcdm)] where other != family && c.contains(AnyKey(key)) {
            throw ConfigError(keyPath: c.path(key), value: "given with family \(family.rawValue)", expected: "the section of the chosen family only")
        }
    }
}

/// `output: {file: path.h5, precision: float32|float64, compression: 0…9}`.
public struct DatagenOutput: Decodable, Sendable {
    public var file: String
    public var doublePrecision = false
    /// Deflate level (0: no compression).
    public var compression = 4

    /// Decodes `output`; a missing file, a precision other than float32/float64 or a level outside 0…9 is a `ConfigError`.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["file", "precision", "compression"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        file = try c.required("file")
        guard !file.isEmpty else { throw ConfigError(keyPath: c.path("file"), value: "''", expected: "an output path (.h5)") }
        let p: String = try c.value("precision") ?? "float32"
        guard p == "float32" || p == "float64" else {
            throw ConfigError(keyPath: c.path("precision"), value: "'\(p)'", expected: "float32 or float64")
        }
        doublePrecision = p == "float64"
        compression = try c.value("compression") ?? compression
        guard (0...9).contains(compression) else {
            throw ConfigError(keyPath: c.path("compression"), value: "\(compression)", expected: "a deflate level from 0 to 9")
        }
    }
}

/// `darcy: {size, resolutions, alpha, tau, high, low, tolerance, solver: mg|cholmod}`.
public struct DarcySpec: Decodable, Sendable {
    public var size = 421, resolutions = [85, 421]
    public var alpha = 2.0, tau = 3.0, high = 12.0, low = 3.0, tolerance = 1e-10
    public var direct = false
    /// The FNO defaults: 421² nodes stored at 85 and 421, α = 2, τ = 3, 12/3, rtol 1e-10, CG + multigrid.
    public init() {}
    /// Decodes the section; unknown keys, a solver other than mg/cholmod or a size outside 3…8193 are `ConfigError`s.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["size", "resolutions", "alpha", "tau", "high", "low", "tolerance", "solver"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        size = try c.value("size") ?? size
        resolutions = try c.value("resolutions") ?? resolutions
        alpha = try c.value("alpha") ?? alpha
        tau = try c.value("tau") ?? tau
        high = try c.value("high") ?? high
        low = try c.value("low") ?? low
        tolerance = try c.value("tolerance") ?? tolerance
        let solver: String = try c.value("solver") ?? "mg"
        guard solver == "mg" || solver == "cholmod" else {
            throw ConfigError(keyPath: c.path("solver"), value: "'\(solver)'", expected: "mg (CG + geometric multigrid) or cholmod")
        }
        direct = solver == "cholmod"
        guard (3...8193).contains(size) else { throw ConfigError(keyPath: c.path("size"), value: "\(size)", expected: "3 to 8193 nodes per axis") }
    }
}

/// `burgers: {points, resolutions, viscosity, length, time_step, final_time}`.
public struct BurgersSpec: Decodable, Sendable {
    public var points = 8192, resolutions = [1024, 8192]
    public var viscosity = 0.1, length = 1.0, timeStep = 1e-4, finalTime = 1.0
    /// The FNO defaults: 8192 points stored at 1024 and 8192, ν = 0.1, dt = 1e-4, t = 1.
    public init() {}
    /// Decodes the section; unknown keys and out-of-range sizes are `ConfigError`s (divisibility is checked by the family).
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["points", "resolutions", "viscosity", "length", "time_step", "final_time"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        points = try c.value("points") ?? points
        resolutions = try c.value("resolutions") ?? resolutions
        viscosity = try c.value("viscosity") ?? viscosity
        length = try c.value("length") ?? length
        timeStep = try c.value("time_step") ?? timeStep
        finalTime = try c.value("final_time") ?? finalTime
        guard (4...(1 << 20)).contains(points) else { throw ConfigError(keyPath: c.path("points"), value: "\(points)", expected: "4 to 2²⁰ points") }
    }
}

/// `navier_stokes: {points, stored_points, viscosity, time_step, final_time, interval, record_from, scheme}`.
public struct NavierStokesSpec: Decodable, Sendable {
    public var points = 256, storedPoints = 64
    public var viscosity = 1e-3, timeStep = 1e-4, finalTime = 50.0, interval = 1.0, recordFrom = 0.0
    public var scheme = NavierStokes2D.Scheme.crankNicolsonEuler
    /// The FNO defaults: 256² → 64², ν = 1e-3, dt = 1e-4, T = 50, interval 1, Crank–Nicolson + Euler.
    public init() {}
    /// Decodes the section; unknown keys, a bad scheme or out-of-range sizes are `ConfigError`s (ranges are checked by the family).
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["points", "stored_points", "viscosity", "time_step", "final_time", "interval", "record_from", "scheme"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        points = try c.value("points") ?? points
        storedPoints = try c.value("stored_points") ?? storedPoints
        viscosity = try c.value("viscosity") ?? viscosity
        timeStep = try c.value("time_step") ?? timeStep
        finalTime = try c.value("final_time") ?? finalTime
        interval = try c.value("interval") ?? interval
        recordFrom = try c.value("record_from") ?? recordFrom
        if let s: String = try c.value("scheme") {
            guard let v = NavierStokes2D.Scheme(rawValue: s) else {
                throw ConfigError(keyPath: c.path("scheme"), value: "'\(s)'", expected: "one of " + NavierStokes2D.Scheme.allCases.map(\.rawValue).joined(separator: ", "))
            }
            scheme = v
        }
        guard (4...4096).contains(points) else { throw ConfigError(keyPath: c.path("points"), value: "\(points)", expected: "4 to 4096 points per axis") }
    }
}

/// `dcdm: {size, geometries, boxes, balls, scene_seed, lanczos_steps, low_weight, emphasized}`.
public struct DCDMSpec: Decodable, Sendable {
    public var size = [64, 64], geometries = 8, boxes = 3, balls = 2, sceneSeed = 1, lanczosSteps = 500
    public var lowWeight = 9.0, emphasized = 0.55
    /// 64² cells, 8 scenes of 3 boxes and 2 balls, 500 Lanczos steps, the paper's ×9 on the lowest 55 %.
    public init() {}
    /// Decodes the section; unknown keys and a negative scene seed are `ConfigError`s (ranges are checked by the family).
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["size", "geometries", "boxes", "balls", "scene_seed", "lanczos_steps", "low_weight", "emphasized"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        size = try c.value("size") ?? size
        geometries = try c.value("geometries") ?? geometries
        boxes = try c.value("boxes") ?? boxes
        balls = try c.value("balls") ?? balls
        sceneSeed = try c.value("scene_seed") ?? sceneSeed
        lanczosSteps = try c.value("lanczos_steps") ?? lanczosSteps
        lowWeight = try c.value("low_weight") ?? lowWeight
        emphasized = try c.value("emphasized") ?? emphasized
        guard sceneSeed >= 0 else { throw ConfigError(keyPath: c.path("scene_seed"), value: "\(sceneSeed)", expected: "an integer ≥ 0") }
    }
}

extension DatagenConfig {
    /// The library family the config describes; parameter errors become `ConfigError`s at
    /// the family's section.
    public func makeFamily(file: String) throws -> any DatasetFamily {
        do {
            switch family {
            case .darcy:
                let d = darcy
                return try DarcyFamily(size: d.size, resolutions: d.resolutions, alpha: d.alpha, tau: d.tau, high: d.high, low: d.low,
                                       tolerance: d.tolerance, direct: d.direct)
            case .burgers:
                let b = burgers
                return try BurgersFamily(points: b.points, resolutions: b.resolutions, viscosity: b.viscosity, length: b.length,
                                         timeStep: b.timeStep, finalTime: b.finalTime)
            case .navierStokes:
                let n = navierStokes
                return try NavierStokesFamily(points: n.points, storedPoints: n.storedPoints, viscosity: n.viscosity, timeStep: n.timeStep,
                                              finalTime: n.finalTime, interval: n.interval, recordFrom: n.recordFrom, scheme: n.scheme)
            case .dcdm:
                let d = dcdm
                return try DCDMFamily(counts: d.size, geometries: d.geometries, boxes: d.boxes, balls: d.balls, sceneSeed: UInt64(d.sceneSeed),
                                      lanczosSteps: d.lanczosSteps, lowWeight: d.lowWeight, emphasized: d.emphasized)
            }
        } catch let PDEError.invalidValue(key, value, expected) {
            let section = family == .navierStokes ? "navier_stokes" : family.rawValue
            throw ConfigError(file: file, keyPath: key.contains(".") ? key : section + " (" + key + ")", value: value, expected: expected)
        }
    }
}
