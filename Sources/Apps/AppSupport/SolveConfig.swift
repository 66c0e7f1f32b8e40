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
    /// Name of an analytic problem of `ProblemCatalogue` (coefficient, reaction, source,
    /// exact solution, boundary data, domain); nil: `equation` supplies the data.
    public var problem: String?
    /// A structured grid (finite differences); exactly one of `grid` and `mesh` is set.
    public var grid: GridSpec?
    /// A triangle mesh (P1 finite elements); exactly one of `grid` and `mesh` is set.
    public var mesh: MeshSpec?
    public var equation: EquationSpec
    public var boundary: BoundarySpec
    public var solver: SolverSpec
    public var output: OutputSpec

    static let keys = ["problem", "grid", "mesh", "equation", "boundary", "solver", "output"]

    /// Decodes the top-level mapping; `equation`, `boundary`, `solver` and `output` default when
    /// absent. Throws `ConfigError` on an unknown key, when not exactly one of `grid` and
    /// `mesh` is given, or when neither `problem` nor `equation.source` provides a source.
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
        // Checks that need both sections, made before any work is done.
        if mesh != nil {
            let pc = (try? SolverRegistry.preconditionerEntry(solver.preconditioner).name) ?? solver.preconditioner
            if ["mg", "fastpoisson"].contains(pc) {
                throw ConfigError(keyPath: "solver.preconditioner", value: "\(solver.preconditioner) on a mesh",
                                  expected: "gamg (algebraic multigrid) or another algebraic preconditioner; \(pc) needs a grid")
            }
            if let i = output.formats.firstIndex(of: .vti) {
                throw ConfigError(keyPath: "output.formats[\(i)]", value: "vti for a mesh solution", expected: "vtu (ParaView unstructured grid) for meshes")
            }
        }
        if let grid {
            if let i = output.formats.firstIndex(of: .vtu) {
                throw ConfigError(keyPath: "output.formats[\(i)]", value: "vtu for a grid solution", expected: "vti (ParaView image data) for grids")
            }
            if grid.nodes.count == 1, let i = output.formats.firstIndex(of: .png) {
                throw ConfigError(keyPath: "output.formats[\(i)]", value: "png for a 1-D grid", expected: "vti, npy or h5 (heat maps need 2-D or 3-D grids)")
            }
        }
    }
}

/// `grid: {nodes: [nx, ny(, nz)], lower: [...], upper: [...]}`; bounds default to the named
/// problem's box, else the unit box.
public struct GridSpec: Decodable, Sendable {
    /// Nodes per axis (x first, 1–3 axes), boundary nodes included; each ≥ 3.
    public var nodes: [Int]
    /// Lower corner of the box; nil: the named problem's, else 0 on every axis.
    public var lower: [Double]?
    /// Upper corner of the box; nil: the named problem's, else 1 on every axis.
    public var upper: [Double]?

    /// Throws `ConfigError` on an unknown key, a missing `nodes`, other than 1–3 node counts,
    /// a count below 3, or a `lower` / `upper` whose length differs from `nodes`.
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
    /// The built-in meshes: `MeshGenerator.disk`, `.rectangle` and `.lShape`.
    public enum Generator: String, Decodable, Sendable, CaseIterable { case disk, rectangle, lshape }
    /// The mesh to generate; nil when it is read from `file`.
    public var generate: Generator?
    /// A Gmsh .msh file to read instead (relative to the working directory).
    public var file: String?
    /// The generator's resolution (default 16; the rectangle's cells per side, the disk's
    /// rings of vertices); ignored for files.
    public var resolution: Int
    /// Uniform refinements after generating or reading, 0–6 (disk boundary vertices are
    /// projected back onto the circle).
    public var refine: Int
    /// Lower corner of a generated rectangle; nil: the named problem's box, else (0, 0).
    public var lower: [Double]?
    /// Upper corner of a generated rectangle; nil: the named problem's box, else (1, 1).
    public var upper: [Double]?
    /// Radius of a generated disk; nil: the named problem's, else 1 (the centre is the
    /// problem's, else the origin).
    public var radius: Double?

    /// Throws `ConfigError` on an unknown key or generator, when not exactly one of `generate`
    /// and `file` is given, and on `resolution` < 1, `refine` outside 0…6 or `radius` ≤ 0.
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
        // Keys that the chosen generator (or a file) does not use are refused, not ignored.
        let unused: [String]
        switch generate {
        case .disk?: unused = ["lower", "upper"]
        case .rectangle?: unused = ["radius"]
        case .lshape?: unused = ["lower", "upper", "radius"]
        case nil: unused = ["lower", "upper", "radius", "resolution"]
        }
        for key in unused where c.contains(AnyKey(key)) {
            throw ConfigError(keyPath: c.path(key), value: "given with \(generate.map { "generate: \($0.rawValue)" } ?? "a mesh file")",
                              expected: "only the keys that apply: \(generate == .disk ? "radius, resolution, refine" : generate == .rectangle ? "lower, upper, resolution, refine" : generate == .lshape ? "resolution, refine" : "file, refine")")
        }
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
    /// Path of a .npy file, relative to the working directory.
    case npy(String)

    /// A number decodes as `.constant`, a mapping `{npy: path}` as `.npy`; anything else (or
    /// another key) throws `ConfigError`.
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
    /// a in −∇·(a∇u); nil: the named problem's, else 1.
    public var coefficient: FieldSpec?
    /// c ≥ 0; nil: the named problem's, else 0.
    public var reaction: Double?
    /// f; nil: the named problem's (required when no problem is named).
    public var source: FieldSpec?

    /// No overrides: all data from the named problem.
    public init() {}

    /// Throws `ConfigError` on an unknown key, a constant coefficient that is not positive and
    /// finite, or a reaction that is negative or not finite (NPY files are read, and their
    /// shapes checked, by `SolveRunner`).
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
    /// u = value; nil: the named problem's exact solution, else 0.
    case dirichlet(Double?)
    /// a∇u·n = flux (outward normal); nil: the named problem's exact flux, else 0.
    case neumann(Double?)
    /// Periodic (grid faces only: `SolveRunner` throws when a mesh tag gets it).
    case periodic

    static let kinds = "dirichlet, neumann, periodic, {dirichlet: value} or {neumann: flux}"

    /// Decodes `dirichlet`, `neumann`, `periodic`, `{dirichlet: value}` or `{neumann: flux}`;
    /// throws `ConfigError` on other names or keys and on values that are not finite numbers.
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
    /// The `default` entry: the condition of every face or tag not listed (Dirichlet with
    /// the problem's data, else 0, when absent).
    public var defaultCondition: BoundarySpecEntry = .dirichlet(nil)
    /// Conditions of grid faces by name (`xmin` … `zmax`).
    public var faces: [Face: BoundarySpecEntry] = [:]
    /// Conditions of mesh boundary edges by tag (Gmsh physical or generator tags).
    public var tags: [Int: BoundarySpecEntry] = [:]

    /// Every face and tag Dirichlet, with the named problem's data, else 0.
    public init() {}

    /// Reads `default`, the face names and `tags: {tag: entry}`; throws `ConfigError` on other
    /// keys, a tag that is not an integer or a bad entry. `SolveRunner` checks that faces fit
    /// the grid's dimension and tags exist on the mesh.
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
    /// `rtol`, in [0, 1) (iterative methods only).
    public var relativeTolerance = IterativeOptions.defaultRelativeTolerance
    /// `atol`, ≥ 0.
    public var absoluteTolerance = 0.0
    /// `max_iterations`, ≥ 1.
    public var maxIterations = IterativeOptions.defaultMaxIterations
    /// `null_space`: how iterative solves treat a constant null space (`detect`, `project`,
    /// …; see `IterativeOptions.NullSpacePolicy`).
    public var nullSpace: IterativeOptions.NullSpacePolicy = .detect
    /// `monitor`: log the residual norm of every iteration, in PETSc's `-ksp_monitor` format.
    public var monitor = false
    /// `plot`: path of an SVG plot of the residual history, written after iterative solves.
    public var plot: String?
    /// Preconditioner parameters (`ordering` included), as text.
    public var parameters: [String: String] = [:]

    /// The direct solver (`cholmod`, no preconditioner) with the default iterative options.
    public init() {}

    /// The options of the solve (monitor excluded: the runner sets it).
    public var iterativeOptions: IterativeOptions {
        IterativeOptions(relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance,
                         maxIterations: maxIterations, nullSpace: nullSpace)
    }

    /// Checks names against `SolverRegistry` and ranges of the options; throws `ConfigError` on
    /// an unknown key, method, preconditioner, `null_space` or `ordering`, on out-of-range
    /// tolerances or iteration counts, non-scalar `options`, or a preconditioner or `rtol`
    /// given with a direct method. `ordering` and `options` end up in `parameters`.
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
            throw ConfigError(keyPath: c.path(c.contains(AnyKey("ordering")) ? "ordering" : "options.ordering"), value: "'\(ordering)'",
                              expected: "one of " + CholmodFactorization.Ordering.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }
}

/// `output: {directory: out, name: run, formats: [vti, vtu, npy, png, h5]}`.
public struct OutputSpec: Decodable, Sendable {
    /// File formats: VTK image data (grids), VTK unstructured grid (meshes), NumPy array,
    /// heat-map PNG (2-D, or the mid-plane of 3-D grids), HDF5.
    public enum Format: String, Sendable, CaseIterable { case vti, vtu, npy, png, h5 }
    /// Where files go: `directory/name.format`.
    public var directory = "out"
    /// Base name of the files (non-empty, no '/').
    public var name = "solution"
    /// Formats to write (none by default).
    public var formats: [Format] = []

    /// `out/solution`, no formats: nothing is written.
    public init() {}

    /// Throws `ConfigError` on an unknown key, an empty `name` or one containing '/', or an
    /// unknown format.
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
