import Foundation
import PDE

/// The config of `pde-solve`: what to solve, on what, how, and where to write it.
///
/// ```yaml
/// problem: diffusion2d-variable      # analytic problem by name (a, c, f, exact u, boundary data)
/// grid: {nodes: [513, 513]}          # or mesh: {generate: disk, resolution: 16} / {file: x.msh}
/// equation: {coefficient: {npy: a.npy}, reaction: 0, source: 1}   # without or over a problem
/// boundary: {default: dirichlet, xmin: {neumann: 0}}
/// solver: {method: cholmod, ordering: amd}
/// output: {directory: out, name: run, formats: [vti, npy, png]}
/// ```
public struct SolveConfig: Decodable, Sendable {
    public var problem: String?
    public var grid: GridSpec?
    public var mesh: MeshSpec?
    public var equation: EquationSpec
    public var boundary: BoundarySpec
    public var solver: SolverSpec
    public var output: OutputSpec

    static let keys = ["problem", "grid", "mesh", "equation", "boundary", "solver", "output"]

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(Self.keys)
        let c = try decoder.container(keyedBy: AnyKey.self)
        problem = try c.value("problem")
        grid = try c.value("grid")
        mesh = try c.value("mesh")
        equation = try c.value("equation") ?? EquationSpec()
        boundary = try c.value("boundary") ?? BoundarySpec()
        solver = try c.value("solver") ?? SolverSpec()
        output = try c.value("output") ?? OutputSpec()
        if grid == nil && mesh == nil {
            throw ConfigError(keyPath: "grid", value: "missing", expected: "a 'grid' or a 'mesh' section")
        }
        if grid != nil && mesh != nil {
            throw ConfigError(keyPath: "mesh", value: "given together with 'grid'", expected: "either a 'grid' or a 'mesh' section, not both")
        }
        if problem == nil && equation.source == nil {
            throw ConfigError(keyPath: "equation.source", value: "missing",
                              expected: "a source term (number or {npy: file}) when no analytic 'problem' is named")
        }
    }
}

/// `grid: {nodes: [nx, ny(, nz)], lower: [...], upper: [...]}`; bounds default to the named
/// problem's box, else the unit box.
public struct GridSpec: Decodable, Sendable {
    public var nodes: [Int]
    public var lower: [Double]?
    public var upper: [Double]?

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["nodes", "lower", "upper"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        nodes = try c.required("nodes")
        lower = try c.value("lower")
        upper = try c.value("upper")
        guard (1...3).contains(nodes.count) else {
            throw ConfigError(keyPath: c.path("nodes"), value: "\(nodes)", expected: "1 to 3 node counts")
        }
        for (i, n) in nodes.enumerated() where n < 3 {
            throw ConfigError(keyPath: c.path("nodes") + "[\(i)]", value: "\(n)",
                              expected: "an integer ≥ 3 (nodes per axis, boundary nodes included)")
        }
        for (name, b) in [("lower", lower), ("upper", upper)] {
            if let b, b.count != nodes.count {
                throw ConfigError(keyPath: c.path(name), value: "\(b)", expected: "\(nodes.count) values, one per axis of 'nodes'")
            }
        }
    }
}

/// `mesh: {generate: disk|rectangle|lshape, resolution: n, refine: k}` or `{file: m.msh, refine: k}`.
public struct MeshSpec: Decodable, Sendable {
    public enum Generator: String, Decodable, Sendable, CaseIterable { case disk, rectangle, lshape }
    public var generate: Generator?
    public var file: String?
    public var resolution: Int
    public var refine: Int
    public var lower: [Double]?
    public var upper: [Double]?
    public var radius: Double?

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["generate", "file", "resolution", "refine", "lower", "upper", "radius"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        if let g: String = try c.value("generate") {
            guard let gen = Generator(rawValue: g) else {
                throw ConfigError(keyPath: c.path("generate"), value: "'\(g)'",
                                  expected: "one of " + Generator.allCases.map(\.rawValue).joined(separator: ", "))
            }
            generate = gen
        }
        file = try c.value("file")
        resolution = try c.value("resolution") ?? 16
        refine = try c.value("refine") ?? 0
        lower = try c.value("lower")
        upper = try c.value("upper")
        radius = try c.value("radius")
        if (generate == nil) == (file == nil) {
            throw ConfigError(keyPath: decoder.keyPath, value: generate == nil ? "neither 'generate' nor 'file'" : "both 'generate' and 'file'",
                              expected: "exactly one of 'generate' (disk, rectangle, lshape) or 'file' (a Gmsh .msh file, 4.1 ASCII or binary, or 2.2 ASCII)")
        }
        guard resolution >= 1 else {
            throw ConfigError(keyPath: c.path("resolution"), value: "\(resolution)", expected: "an integer ≥ 1")
        }
        guard (0...6).contains(refine) else {
            throw ConfigError(keyPath: c.path("refine"), value: "\(refine)", expected: "an integer from 0 to 6 (uniform refinements)")
        }
        if let radius, !(radius > 0) {
            throw ConfigError(keyPath: c.path("radius"), value: "\(radius)", expected: "a positive number")
        }
    }
}

/// A coefficient or source: a constant or values read from an NPY file (one per grid node in
/// C order [nz, ny, nx], or one per mesh vertex).
public enum FieldSpec: Decodable, Sendable, Equatable {
    case constant(Double)
    case npy(String)

    public init(from decoder: Decoder) throws {
        if let v = try? decoder.singleValueContainer().decode(Double.self) {
            self = .constant(v)
            return
        }
        guard (try? decoder.container(keyedBy: AnyKey.self)) != nil else {
            throw ConfigError(keyPath: decoder.keyPath, value: "not a number or mapping", expected: "a number or {npy: file.npy}")
        }
        try decoder.rejectUnknownKeys(["npy"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        self = .npy(try c.required("npy"))
    }
}

/// `equation: {coefficient: a, reaction: c, source: f}`: −∇·(a∇u) + c·u = f. Entries given
/// here replace the named problem's (its exact solution is then no longer used for errors).
public struct EquationSpec: Decodable, Sendable {
    public var coefficient: FieldSpec?
    public var reaction: Double?
    public var source: FieldSpec?

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["coefficient", "reaction", "source"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        coefficient = try c.value("coefficient")
        reaction = try c.value("reaction")
        source = try c.value("source")
        if case .constant(let a)? = coefficient, !(a > 0) || !a.isFinite {
            throw ConfigError(keyPath: c.path("coefficient"), value: "\(a)", expected: "a positive finite coefficient")
        }
        if let r = reaction, !(r >= 0) || !r.isFinite {
            throw ConfigError(keyPath: c.path("reaction"), value: "\(r)", expected: "a finite number ≥ 0")
        }
    }

    /// True when any entry overrides the analytic problem's data.
    public var overridesProblem: Bool { coefficient != nil || reaction != nil || source != nil }
}

/// One boundary condition: `dirichlet` / `neumann` (data from the analytic problem, or 0),
/// `periodic`, `{dirichlet: value}`, `{neumann: flux}`.
public enum BoundarySpecEntry: Decodable, Sendable, Equatable {
    case dirichlet(Double?)
    case neumann(Double?)
    case periodic

    static let kinds = "dirichlet, neumann, periodic, {dirichlet: value} or {neumann: flux}"

    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            switch s {
            case "dirichlet": self = .dirichlet(nil)
            case "neumann": self = .neumann(nil)
            case "periodic": self = .periodic
            default: throw ConfigError(keyPath: decoder.keyPath, value: "'\(s)'", expected: Self.kinds)
            }
            return
        }
        guard let c = try? decoder.container(keyedBy: AnyKey.self), c.allKeys.count == 1, let key = c.allKeys.first else {
            throw ConfigError(keyPath: decoder.keyPath, value: "not a boundary condition", expected: Self.kinds)
        }
        let v: Double
        do { v = try c.decode(Double.self, forKey: key) } catch {
            throw ConfigError(keyPath: c.path(key.stringValue), value: "not a number", expected: "a number")
        }
        guard v.isFinite else { throw ConfigError(keyPath: c.path(key.stringValue), value: "\(v)", expected: "a finite number") }
        switch key.stringValue {
        case "dirichlet": self = .dirichlet(v)
        case "neumann": self = .neumann(v)
        default: throw ConfigError(keyPath: c.path(key.stringValue), value: "unknown key", expected: "dirichlet or neumann")
        }
    }
}

/// `boundary: {default: ..., xmin: ..., ..., tags: {1: ..., 2: ...}}`: faces by name for
/// grids, Gmsh physical tags (or generator tags) for meshes.
public struct BoundarySpec: Decodable, Sendable {
    public var defaultCondition: BoundarySpecEntry = .dirichlet(nil)
    public var faces: [Face: BoundarySpecEntry] = [:]
    public var tags: [Int: BoundarySpecEntry] = [:]

    public init() {}

    public init(from decoder: Decoder) throws {
        let faceNames = Face.allCases.map(\.name)
        try decoder.rejectUnknownKeys(["default", "tags"] + faceNames)
        let c = try decoder.container(keyedBy: AnyKey.self)
        defaultCondition = try c.value("default") ?? .dirichlet(nil)
        for f in Face.allCases {
            if let e: BoundarySpecEntry = try c.value(f.name) { faces[f] = e }
        }
        if c.contains(AnyKey("tags")) {
            let t = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("tags"))
            for key in t.allKeys {
                guard let tag = Int(key.stringValue) else {
                    throw ConfigError(keyPath: t.path(key.stringValue), value: "'\(key.stringValue)'", expected: "an integer boundary tag")
                }
                tags[tag] = try t.decode(BoundarySpecEntry.self, forKey: key)
            }
        }
    }
}

/// `solver: {method: cholmod, ordering: amd}` or
/// `solver: {method: cg, preconditioner: multigrid, rtol: 1e-8, atol: 0, max_iterations: 1000,
/// monitor: true, plot: out/residuals.svg}`.
public struct SolverSpec: Decodable, Sendable {
    public enum Method: String, Sendable, CaseIterable { case cholmod, cg }
    public enum PreconditionerName: String, Sendable, CaseIterable { case none, jacobi, ic0, ssor, amg, multigrid }
    public var method: Method = .cholmod
    public var ordering: CholmodFactorization.Ordering = .amd
    public var preconditioner: PreconditionerName = .none
    public var relativeTolerance = 1e-8
    public var absoluteTolerance = 0.0
    public var maxIterations = 10_000
    public var monitor = false
    public var plot: String?

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["method", "ordering", "preconditioner", "rtol", "atol", "max_iterations", "monitor", "plot"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
            guard let raw: String = try c.value(key) else { return nil }
            guard let v = T(rawValue: raw) else {
                throw ConfigError(keyPath: c.path(key), value: "'\(raw)'",
                                  expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return v
        }
        method = try choice("method", Method.self) ?? .cholmod
        ordering = try choice("ordering", CholmodFactorization.Ordering.self) ?? .amd
        preconditioner = try choice("preconditioner", PreconditionerName.self) ?? .none
        relativeTolerance = try c.value("rtol") ?? relativeTolerance
        absoluteTolerance = try c.value("atol") ?? absoluteTolerance
        maxIterations = try c.value("max_iterations") ?? maxIterations
        monitor = try c.value("monitor") ?? false
        plot = try c.value("plot")
        guard relativeTolerance >= 0, relativeTolerance < 1 else {
            throw ConfigError(keyPath: c.path("rtol"), value: "\(relativeTolerance)", expected: "a relative tolerance in [0, 1)")
        }
        guard absoluteTolerance >= 0 else {
            throw ConfigError(keyPath: c.path("atol"), value: "\(absoluteTolerance)", expected: "a non-negative absolute tolerance")
        }
        guard maxIterations >= 1 else {
            throw ConfigError(keyPath: c.path("max_iterations"), value: "\(maxIterations)", expected: "an integer ≥ 1")
        }
        if method == .cholmod && (preconditioner != .none || c.contains(AnyKey("rtol"))) {
            throw ConfigError(keyPath: c.path(preconditioner != .none ? "preconditioner" : "rtol"), value: "given with method cholmod",
                              expected: "method: cg for iterative options (cholmod is a direct solver)")
        }
    }
}

/// `output: {directory: out, name: run, formats: [vti, vtu, npy, png, h5]}`.
public struct OutputSpec: Decodable, Sendable {
    public enum Format: String, Sendable, CaseIterable { case vti, vtu, npy, png, h5 }
    public var directory = "out"
    public var name = "solution"
    public var formats: [Format] = []

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["directory", "name", "formats"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        directory = try c.value("directory") ?? directory
        name = try c.value("name") ?? name
        guard !name.isEmpty, !name.contains("/") else {
            throw ConfigError(keyPath: c.path("name"), value: "'\(name)'", expected: "a file name without '/'")
        }
        let raw: [String] = try c.value("formats") ?? []
        formats = try raw.enumerated().map { i, s in
            guard let f = Format(rawValue: s) else {
                throw ConfigError(keyPath: c.path("formats") + "[\(i)]", value: "'\(s)'",
                                  expected: "one of " + Format.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return f
        }
    }
}
