import Dispatch
import Foundation

/// What a preconditioner factory may use: the matrix always; the grid layout of its unknowns
/// and the problem it came from where known (geometric multigrid needs the layout, and the
/// problem for rediscretized coarse operators); named parameters (`omega`, `ordering`, …).
public struct SolverContext {
    public var matrix: CSRMatrix
    /// Grid layout of the unknowns, when the matrix comes from an `FDSystem` (geometric multigrid).
    public var layout: GridUnknownLayout?
    /// The problem the matrix was assembled from (rediscretized multigrid coarse operators).
    public var problem: DiffusionProblem?
    /// Parameters by name, as text (from a config or `--pc-option key=value`); each entry
    /// checks the keys it knows and refuses the others.
    public var parameters: [String: String]
    /// The cell-domain system the matrix came from (pressure Poisson problems): what a
    /// learned direction model (`dcdm-net`) needs to place residuals on its grid.
    public var cells: PressurePoissonSystem?

    /// A context for `PreconditionerEntry.build`: the matrix, plus the layout, the problem,
    /// the cell system and text parameters where the caller has them.
    public init(matrix: CSRMatrix, layout: GridUnknownLayout? = nil, problem: DiffusionProblem? = nil,
                parameters: [String: String] = [:], cells: PressurePoissonSystem? = nil) {
        self.matrix = matrix
        self.layout = layout
        self.problem = problem
        self.parameters = parameters
        self.cells = cells
    }
}

/// The one place names map to methods and preconditioners (PETSc's KSP/PC registries).
/// PETSc's names are canonical; the aliases this suite used before are accepted. Every app,
/// benchmark and test builds its solvers through here. Adding a preconditioner is one file
/// (a `Preconditioner`) plus one `PreconditionerEntry` in `builtInPreconditioners` — or,
/// from another package, one `register(_:)` call (PETSc's `PCRegister`).
public enum SolverRegistry {
    /// A registered preconditioner (or direct solver, applied by `preonly`).
    public struct PreconditionerEntry: Sendable {
        public let name: String
        public let aliases: [String]
        public let summary: String
        /// Parameter keys this entry accepts, with a short description each.
        public let parameters: [(key: String, meaning: String)]
        /// Builds it (parameters not checked; use `build`); nil means no preconditioning.
        let make: @Sendable (SolverContext) throws -> Preconditioner?

        /// An entry: `make` builds the preconditioner from a context (read parameters with
        /// `SolverParameters(context, name)`); `parameters` lists the keys it accepts.
        public init(name: String, aliases: [String] = [], summary: String, parameters: [(key: String, meaning: String)] = [],
                    make: @escaping @Sendable (SolverContext) throws -> Preconditioner?) {
            self.name = name
            self.aliases = aliases
            self.summary = summary
            self.parameters = parameters
            self.make = make
        }

        /// Checks the context's parameter keys against the ones this entry knows, then builds
        /// the preconditioner (nil for `none`).
        public func build(_ context: SolverContext) throws -> Preconditioner? {
            let known = parameters.map(\.key)
            for key in context.parameters.keys.sorted() where !known.contains(key) {
                throw PDEError.invalidValue(key: "options.\(key)", value: context.parameters[key]!,
                                            expected: known.isEmpty ? "no parameters for \(name)" : "one of " + known.joined(separator: ", ") + " for \(name)")
            }
            return try make(context)
        }
    }

    /// A registered iterative method (KSP type).
    public struct MethodEntry: Sendable {
        public let name: String
        public let aliases: [String]
        public let summary: String
        /// Parameter keys this method accepts (its own keys among a solver's parameters).
        public let parameters: [(key: String, meaning: String)]
        let configured: @Sendable (IterativeOptions, SolverParameters) throws -> IterativeMethod

        /// A method without parameters.
        public init(name: String, aliases: [String] = [], summary: String, make: @escaping @Sendable (IterativeOptions) -> IterativeMethod) {
            self.init(name: name, aliases: aliases, summary: summary, parameters: []) { o, _ in make(o) }
        }

        /// A method reading its `parameters` (typed readers, errors naming `options.<key>`).
        public init(name: String, aliases: [String] = [], summary: String, parameters: [(key: String, meaning: String)],
                    make: @escaping @Sendable (IterativeOptions, SolverParameters) throws -> IterativeMethod) {
            self.name = name
            self.aliases = aliases
            self.summary = summary
            self.parameters = parameters
            configured = make
        }

        /// The method with `options` and default parameters.
        public func make(_ options: IterativeOptions) throws -> IterativeMethod {
            try configured(options, SolverParameters(values: [:], owner: name))
        }

        /// The method with `options` and `parameters` (only this method's keys).
        public func build(_ options: IterativeOptions, parameters: [String: String]) throws -> IterativeMethod {
            try configured(options, SolverParameters(values: parameters, owner: name))
        }
    }

    public static let methods: [MethodEntry] = [
        MethodEntry(name: "cg", aliases: ["pcg"], summary: "conjugate gradients (SPD A, SPD preconditioner)") { ConjugateGradient($0) },
        MethodEntry(name: "richardson", aliases: ["stationary"],
                    summary: "x ← x + M⁻¹(b − Ax); with mg or gamg: stand-alone multigrid") { Richardson($0) },
        MethodEntry(name: "preonly", aliases: [], summary: "apply the preconditioner once (with cholesky: a direct solve; the methods cholmod, cholesky and direct mean preonly + cholesky)") { PreconditionerOnly($0) },
        MethodEntry(name: "dcdm", aliases: ["deep-conjugate-direction"],
                    summary: "deep conjugate direction method: the preconditioner (a trained network, dcdm-net, or any other) proposes each search direction, A-orthogonalized against the last k, with an exact line search",
                    parameters: [("directions", "k, previous directions to A-orthogonalize against, default 2; all: every earlier one (no direction can come back; stores them all)"),
                                 ("replace_every", "iterations between true residuals, default 10"),
                                 ("descent_tolerance", "|qᵀr| / ‖q‖‖r‖ below which a direction is non-descent, default 1e-8"),
                                 ("fallback", "none | jacobi: what a non-descent iteration uses instead of stopping, default none")]) { o, p in
            var m = DeepConjugateDirection(o)
            m.directions = p.values["directions"] == "all" ? o.maxIterations : try p.int("directions", default: 2, in: 0...100)
            m.replacementInterval = try p.int("replace_every", default: 10, in: 1...1_000_000)
            m.descentTolerance = try p.double("descent_tolerance", default: 1e-8, expected: "a cosine in [0, 1)") { $0 >= 0 && $0 < 1 }
            m.jacobiFallback = try p.choice("fallback", ["none", "jacobi"], default: "none") == "jacobi"
            return m
        },
    ]

    /// The registered preconditioners: the built-in ones, then those added by `register`.
    public static var preconditioners: [PreconditionerEntry] {
        lock.lock(); defer { lock.unlock() }
        return builtInPreconditioners + registered
    }

    nonisolated(unsafe) private static var registered: [PreconditionerEntry] = []
    private static let lock = NSLock()

    /// Adds a preconditioner under a new name (PETSc's `PCRegister`): every app and solver
    /// built afterwards in this process reaches it by name. Throws when the name or an alias
    /// is taken.
    public static func register(_ entry: PreconditionerEntry) throws {
        lock.lock(); defer { lock.unlock() }
        let taken = Set((builtInPreconditioners + registered).flatMap { [$0.name] + $0.aliases })
        for n in [entry.name] + entry.aliases where taken.contains(n) || n.isEmpty {
            throw PDEError.invalidValue(key: "preconditioner name", value: "'\(n)'", expected: "a name not registered yet")
        }
        registered.append(entry)
    }

    static let builtInPreconditioners: [PreconditionerEntry] = [
        PreconditionerEntry(name: "none", aliases: [], summary: "no preconditioning", parameters: []) { _ in nil },
        PreconditionerEntry(name: "jacobi", aliases: ["diagonal"], summary: "diagonal scaling", parameters: []) { try JacobiPreconditioner($0.matrix) },
        PreconditionerEntry(name: "icc", aliases: ["ic0"], summary: "zero-fill incomplete Cholesky (diagonal shift and retry)",
                            parameters: [("max_shifts", "diagonal shift attempts (default 8)")]) { c in
            try IncompleteCholeskyPreconditioner(c.matrix, maxShiftAttempts: SolverParameters(c, "icc").int("max_shifts", default: 8, in: 0...30))
        },
        PreconditionerEntry(name: "sor", aliases: ["ssor"], summary: "symmetric successive over-relaxation",
                            parameters: [("omega", "relaxation factor in (0, 2), default 1")]) { c in
            try SSORPreconditioner(c.matrix, omega: SolverParameters(c, "sor").double("omega", default: 1, expected: "a relaxation factor in (0, 2)") { $0 > 0 && $0 < 2 })
        },
        PreconditionerEntry(name: "gamg", aliases: ["amg", "sa-amg"], summary: "smoothed-aggregation algebraic multigrid V-cycle",
                            parameters: [("strength_threshold", "θ in [0, 1), default 0"), ("coarse_size", "unknowns on the coarsest level, default 500"),
                                         ("max_levels", "default 20"), ("presmooth", "sweeps, default 1"), ("postsmooth", "sweeps, default 1")]) { c in
            let p = SolverParameters(c, "gamg")
            var o = SmoothedAggregationAMG.Options()
            o.strengthThreshold = try p.double("strength_threshold", default: o.strengthThreshold, expected: "a threshold in [0, 1)") { $0 >= 0 && $0 < 1 }
            o.coarseSize = try p.int("coarse_size", default: o.coarseSize, in: 1...10_000_000)
            o.maxLevels = try p.int("max_levels", default: o.maxLevels, in: 1...100)
            o.presmoothingSweeps = try p.int("presmooth", default: o.presmoothingSweeps, in: 0...100)
            o.postsmoothingSweeps = try p.int("postsmooth", default: o.postsmoothingSweeps, in: 0...100)
            return try SmoothedAggregationAMG(c.matrix, options: o)
        },
        PreconditionerEntry(name: "mg", aliases: ["multigrid", "gmg"], summary: "geometric multigrid cycle (needs the grid layout)",
                            parameters: [("smoother", "gauss-seidel | chebyshev, default gauss-seidel"), ("chebyshev_degree", "default 2"),
                                         ("cycle", "v | w, default v"), ("coarse_operator", "galerkin | rediscretized, default galerkin"),
                                         ("coarse_size", "default 2000"), ("presmooth", "default 1"), ("postsmooth", "default 1")]) { c in
            let p = SolverParameters(c, "mg")
            guard let layout = c.layout else {
                throw PDEError.invalidValue(key: "preconditioner", value: "mg on a matrix without a grid layout",
                                            expected: "gamg (algebraic multigrid) for matrices from meshes or files; mg needs the grid of the unknowns")
            }
            var o = GeometricMultigrid.Options()
            switch try p.choice("smoother", ["gauss-seidel", "chebyshev"], default: "gauss-seidel") {
            case "chebyshev": o.smoother = .chebyshev(degree: try p.int("chebyshev_degree", default: 2, in: 1...20))
            default: o.smoother = .gaussSeidel
            }
            o.cycle = try p.choice("cycle", ["v", "w"], default: "v") == "w" ? .w : .v
            o.coarseOperator = try p.choice("coarse_operator", ["galerkin", "rediscretized"], default: "galerkin") == "galerkin" ? .galerkin : .rediscretized
            o.coarseSize = try p.int("coarse_size", default: o.coarseSize, in: 1...10_000_000)
            o.presmoothingSweeps = try p.int("presmooth", default: o.presmoothingSweeps, in: 0...100)
            o.postsmoothingSweeps = try p.int("postsmooth", default: o.postsmoothingSweeps, in: 0...100)
            return try GeometricMultigrid(matrix: c.matrix, layout: layout, problem: c.problem, options: o)
        },
        PreconditionerEntry(name: "fastpoisson", aliases: ["fft", "spectral"],
                            summary: "fast Poisson solver by sine/cosine/Hartley transforms (needs the grid layout): exact for constant-coefficient grid matrices") { c in
            guard let layout = c.layout else {
                throw PDEError.invalidValue(key: "preconditioner", value: "fastpoisson on a matrix without a grid layout",
                                            expected: "a grid problem (fast transforms need the grid and its walls)")
            }
            return try FastPoissonSolver.matching(c.matrix, layout: layout)
        },
        PreconditionerEntry(name: "cholesky", aliases: ["cholmod"], summary: "CHOLMOD sparse Cholesky (with preonly: the direct solver)",
                            parameters: [("ordering", "amd | metis | nesdis | natural | automatic, default amd")]) { c in
            let p = SolverParameters(c, "cholesky")
            let ordering = try p.choice("ordering", CholmodFactorization.Ordering.allCases.map(\.rawValue), default: "amd")
            return try CholmodPreconditioner(c.matrix, ordering: CholmodFactorization.Ordering(rawValue: ordering)!)
        },
    ]

    /// The entry for a preconditioner name or alias; a typed error listing the names otherwise.
    public static func preconditionerEntry(_ name: String) throws -> PreconditionerEntry {
        if let e = preconditioners.first(where: { $0.name == name || $0.aliases.contains(name) }) { return e }
        throw PDEError.invalidValue(key: "preconditioner", value: "'\(name)'", expected: "one of " + names(preconditioners.map { ($0.name, $0.aliases) }))
    }

    /// The entry for a method name or alias; a typed error listing the names otherwise.
    public static func methodEntry(_ name: String) throws -> MethodEntry {
        if let e = methods.first(where: { $0.name == name || $0.aliases.contains(name) }) { return e }
        throw PDEError.invalidValue(key: "method", value: "'\(name)'", expected: "one of " + names(methods.map { ($0.name, $0.aliases) }))
    }

    /// Builds a preconditioner by name (nil for `none`).
    public static func preconditioner(_ name: String, context: SolverContext) throws -> Preconditioner? {
        try preconditionerEntry(name).build(context)
    }

    /// Builds a method by name with `options`.
    public static func method(_ name: String, options: IterativeOptions = IterativeOptions()) throws -> IterativeMethod {
        try methodEntry(name).make(options)
    }

    /// The names, aliases and parameters, for `--help` texts.
    public static var helpText: String {
        var lines = ["Methods (--ksp / solver.method):"]
        for m in methods {
            lines.append("  \(m.name)\(m.aliases.isEmpty ? "" : " (" + m.aliases.joined(separator: ", ") + ")"): \(m.summary)")
            for (k, meaning) in m.parameters { lines.append("      \(k): \(meaning)") }
        }
        lines.append("Preconditioners (--pc / solver.preconditioner):")
        for p in preconditioners {
            lines.append("  \(p.name)\(p.aliases.isEmpty ? "" : " (" + p.aliases.joined(separator: ", ") + ")"): \(p.summary)")
            for (k, m) in p.parameters { lines.append("      \(k): \(m)") }
        }
        return lines.joined(separator: "\n")
    }

    private static func names(_ list: [(String, [String])]) -> String {
        list.map { $0.1.isEmpty ? $0.0 : "\($0.0) (\($0.1.joined(separator: ", ")))" }.joined(separator: ", ")
    }
}

/// A configured linear solver (PETSc's KSP with its PC): method and preconditioner chosen
/// by name through `SolverRegistry`, set up once for a matrix, then `solve` for any number
/// of right-hand sides and `update` for new values on the same pattern.
///
/// ```swift
/// let solver = try LinearSolver(matrix: a, method: "cg", preconditioner: "gamg",
///                               options: IterativeOptions(relativeTolerance: 1e-10))
/// let (x, report) = try solver.solve(b)
/// ```
public final class LinearSolver {
    /// The iterative method (its options are the solve's options).
    public private(set) var method: IterativeMethod
    /// The preconditioner (nil for `none`).
    public let preconditioner: Preconditioner?
    /// The registry names the solver was built from (canonical, aliases resolved).
    public let methodName: String, preconditionerName: String
    /// The matrix of the last setup or update.
    public private(set) var matrix: CSRMatrix
    /// Seconds of the last setup or numeric update of the preconditioner.
    public private(set) var setupSeconds: Double

    /// Builds the preconditioner (timed as setup). Names may be canonical or aliases;
    /// `cholmod`, `cholesky` or `direct` as the method mean `preonly` with `cholesky`.
    /// Throws typed errors for unknown names, bad parameters and failing setups.
    public init(matrix: CSRMatrix, method: String = "cg", preconditioner: String = "none",
                options: IterativeOptions = IterativeOptions(), layout: GridUnknownLayout? = nil,
                problem: DiffusionProblem? = nil, parameters: [String: String] = [:], cells: PressurePoissonSystem? = nil) throws {
        guard matrix.rows == matrix.columns else {
            throw PDEError.shapeMismatch(what: "linear solve", expected: "a square matrix", got: "\(matrix.rows)×\(matrix.columns)")
        }
        try options.validate()
        var methodName = method, pcName = preconditioner
        if ["cholmod", "cholesky", "direct"].contains(method) {
            guard ["none", "cholesky", "cholmod"].contains(preconditioner) else {
                throw PDEError.invalidValue(key: "preconditioner", value: "'\(preconditioner)' with method \(method)",
                                            expected: "no preconditioner: \(method) is the direct solver")
            }
            methodName = "preonly"; pcName = "cholesky"
        }
        let m = try SolverRegistry.methodEntry(methodName)
        let p = try SolverRegistry.preconditionerEntry(pcName)
        if m.name == "preonly" && p.name == "none" {
            throw PDEError.invalidValue(key: "preconditioner", value: "none with method preonly",
                                        expected: "a preconditioner to apply once (cholesky for a direct solve)")
        }
        self.methodName = m.name
        preconditionerName = p.name
        // The method's own keys go to the method, the rest to the preconditioner (which
        // refuses keys it does not know).
        let methodKeys = Set(m.parameters.map(\.key))
        self.method = try m.build(options, parameters: parameters.filter { methodKeys.contains($0.key) })
        self.matrix = matrix
        let context = SolverContext(matrix: matrix, layout: layout, problem: problem, parameters: parameters.filter { !methodKeys.contains($0.key) },
                                    cells: cells)
        let t0 = DispatchTime.now().uptimeNanoseconds
        self.preconditioner = try p.build(context)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// The solve's options (tolerances, monitor, null-space policy); settable between solves.
    public var options: IterativeOptions {
        get { method.options }
        set { method.options = newValue }
    }

    /// Solves A x = b from x = 0 (or `initialGuess`); the report carries the setup time.
    public func solve(_ b: [Double], initialGuess: [Double]? = nil) throws -> (x: [Double], report: SolverReport) {
        var x = initialGuess ?? [Double](repeating: 0, count: matrix.rows)
        let report = try solve(b, x: &x)
        return (x, report)
    }

    /// In-place form: `x` holds the initial guess on entry and the solution on return.
    public func solve(_ b: [Double], x: inout [Double]) throws -> SolverReport {
        var report = try method.solve(matrix, b, x: &x, preconditioner: preconditioner)
        report.setupSeconds = setupSeconds
        return report
    }

    /// Numeric re-setup for new values on the same sparsity pattern (AMG and multigrid keep
    /// their hierarchies, CHOLMOD its analysis). Throws for another pattern.
    public func update(_ newMatrix: CSRMatrix) throws {
        try matrix.requireSamePattern(newMatrix, "linear solver update")
        let t0 = DispatchTime.now().uptimeNanoseconds
        try preconditioner?.update(newMatrix)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        matrix = newMatrix
    }
}

/// Typed access to a `SolverContext`'s text parameters, for preconditioner factories: each
/// reader returns the default when the key is absent and throws a typed error naming
/// `options.<key>`, the value and the accepted range otherwise. (Unknown keys are refused by
/// `PreconditionerEntry.build` before the factory runs.)
public struct SolverParameters {
    let values: [String: String]
    let owner: String

    /// The parameters of `context`, read for the preconditioner named `owner`.
    public init(_ context: SolverContext, _ owner: String) {
        values = context.parameters
        self.owner = owner
    }

    /// Text parameters read for the method or preconditioner named `owner`.
    public init(values: [String: String], owner: String) {
        self.values = values
        self.owner = owner
    }

    /// A number accepted by `valid` (described by `expected`), or `d` when absent.
    public func double(_ key: String, default d: Double, expected: String, where valid: (Double) -> Bool) throws -> Double {
        guard let text = values[key] else { return d }
        guard let v = Double(text), v.isFinite, valid(v) else {
            throw PDEError.invalidValue(key: "options.\(key)", value: text, expected: expected + " for \(owner)")
        }
        return v
    }

    /// An integer in `range`, or `d` when absent.
    public func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = values[key] else { return d }
        guard let v = Int(text), range.contains(v) else {
            throw PDEError.invalidValue(key: "options.\(key)", value: text,
                                        expected: "an integer in \(range.lowerBound)...\(range.upperBound) for \(owner)")
        }
        return v
    }

    /// One of `allowed`, or `d` when absent.
    public func choice(_ key: String, _ allowed: [String], default d: String) throws -> String {
        guard let text = values[key] else { return d }
        guard allowed.contains(text) else {
            throw PDEError.invalidValue(key: "options.\(key)", value: text, expected: "one of " + allowed.joined(separator: ", ") + " for \(owner)")
        }
        return text
    }
}
