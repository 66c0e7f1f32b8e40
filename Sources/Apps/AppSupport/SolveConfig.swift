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
/// `solver: {method: cg, preconditioner: mg, rtol: 1e-8, atol: 0, max_iterations: 1000,
/// null_space: detect, monitor: true, plot: out/residuals.svg, options: {cycle: w}}`.
/// Names are those of `SolverRegistry` (PETSc's, with aliases); `options` are the
/// preconditioner's parameters.
public struct SolverSpec: Decodable, Sendable {
    /// The method name (`cholmod` = the direct solver, `cg`, `richardson`, `preonly`).
    public var method = "cholmod"
    /// The preconditioner name (`none`, `jacobi`, `icc`, `sor`, `gamg`, `mg`, `cholesky`, aliases).
    public var preconditioner = "none"
    public var relativeTolerance = IterativeOptions.defaultRelativeTolerance
    public var absoluteTolerance = 0.0
    public var maxIterations = IterativeOptions.defaultMaxIterations
    public var nullSpace: IterativeOptions.NullSpacePolicy = .detect
    public var monitor = false
    public var plot: String?
    /// Preconditioner parameters (`ordering` included), as text.
    public var parameters: [String: String] = [:]

    public init() {}

    /// The options of the solve (monitor excluded: the runner sets it).
    public var iterativeOptions: IterativeOptions {
        IterativeOptions(relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
                         maxIterations: maxIterations, nullSpace: nullSpace)
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["method", "ordering", "preconditioner", "rtol", "atol", "max_iterations", "null_space",
                                       "monitor", "plot", "options"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        method = try c.value("method") ?? method
        preconditioner = try c.value("preconditioner") ?? preconditioner
        let direct = ["cholmod", "cholesky"].contains(method)
        do {
            if !direct { _ = try SolverRegistry.methodEntry(method) }
        } catch {
            throw ConfigError(keyPath: c.path("method"), value: "'\(method)'",
                              expected: "cholmod (direct) or one of " + SolverRegistry.methods.map(\.name).joined(separator: ", "))
        }
        do { _ = try SolverRegistry.preconditionerEntry(preconditioner) } catch let PDEError.invalidValue(_, _, expected) {
            throw ConfigError(keyPath: c.path("preconditioner"), value: "'\(preconditioner)'", expected: expected)
        }
        relativeTolerance = try c.value("rtol") ?? relativeTolerance
        absoluteTolerance = try c.value("atol") ?? absoluteTolerance
        maxIterations = try c.value("max_iterations") ?? maxIterations
        monitor = try c.value("monitor") ?? false
        plot = try c.value("plot")
        if let raw: String = try c.value("null_space") {
            guard let policy = IterativeOptions.NullSpacePolicy(rawValue: raw) else {
                throw ConfigError(keyPath: c.path("null_space"), value: "'\(raw)'",
                                  expected: "one of " + IterativeOptions.NullSpacePolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            nullSpace = policy
        }
        if c.contains(AnyKey("options")) {
            let o = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("options"))
            for key in o.allKeys {
                if let v = try? o.decode(String.self, forKey: key) { parameters[key.stringValue] = v }
                else if let v = try? o.decode(Double.self, forKey: key) { parameters[key.stringValue] = "\(v)" }
                else {
                    throw ConfigError(keyPath: o.path(key.stringValue), value: "not a scalar", expected: "a number or a name")
                }
            }
        }
        if let ordering: String = try c.value("ordering") { parameters["ordering"] = ordering }
        guard relativeTolerance >= 0, relativeTolerance < 1 else {
            throw ConfigError(keyPath: c.path("rtol"), value: "\(relativeTolerance)", expected: "a relative tolerance in [0, 1)")
        }
        guard absoluteTolerance >= 0 else {
            throw ConfigError(keyPath: c.path("atol"), value: "\(absoluteTolerance)", expected: "a non-negative absolute tolerance")
        }
        guard maxIterations >= 1 else {
            throw ConfigError(keyPath: c.path("max_iterations"), value: "\(maxIterations)", expected: "an integer ≥ 1")
        }
        if direct && (preconditioner != "none" || c.contains(AnyKey("rtol"))) {
            throw ConfigError(keyPath: c.path(preconditioner != "none" ? "preconditioner" : "rtol"), value: "given with method \(method)",
                              expected: "method: cg for iterative options (\(method) is a direct solver)")
        }
        if let ordering = parameters["ordering"], !CholmodFactorization.Ordering.allCases.map(\.rawValue).contains(ordering) {
            throw ConfigError(keyPath: c.path("ordering"), value: "'\(ordering)'",
                              expected: "one of " + CholmodFactorization.Ordering.allCases.map(\.rawValue).joined(separator: ", "))
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
