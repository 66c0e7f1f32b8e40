import Foundation
import PDE

/// What `pde-solve` measured.
public struct SolveSummary: Sendable {
    /// Rows of the assembled matrix.
    public var unknowns = 0
    /// Stored nonzeros of the assembled matrix.
    public var nonzeros = 0
    public var assembleSeconds = 0.0
    /// CHOLMOD's symbolic analysis (direct solves only).
    public var analyzeSeconds = 0.0
    /// CHOLMOD's numeric factorization (direct solves only).
    public var factorizeSeconds = 0.0
    /// Preconditioner setup of iterative solves.
    public var setupSeconds = 0.0
    public var solveSeconds = 0.0
    /// True ‖b − Ax‖/‖b‖ of the returned solution.
    public var relativeResidual = 0.0
    /// Errors against the analytic solution (nil when the config changed its data).
    public var l2Error: Double?
    /// Maximum nodal error (nil when `l2Error` is).
    public var maxError: Double?
    /// H¹-seminorm error (nil when `l2Error` is).
    public var h1Error: Double?
    /// Iterative solves: iterations and why they stopped (nil for direct solves).
    public var iterations: Int?
    public var reason: ConvergenceReason?
    /// Paths of the files written, the residual plot included.
    public var outputs: [String] = []
}

/// Runs a `SolveConfig`: builds the domain and the equation, assembles, solves with the
/// method and preconditioner the config names (through `SolverRegistry`), measures errors against the analytic solution, writes outputs. Holds no
/// numerics of its own: everything is a library call.
public struct SolveRunner {
    public let config: SolveConfig
    /// The config's path, named in `ConfigError`s (data paths inside the config are
    /// relative to the working directory, not to it).
    public let configPath: String
    /// Receives every progress and report line.
    public let log: (String) -> Void

    /// The processes solving together; nil: `Communicator.world()` (MPI's world under mpirun).
    public let communicator: Communicator?

    /// A runner for `config`, read from `configPath`, that logs to `log` (standard output by
    /// default).
    public init(config: SolveConfig, configPath: String, log: @escaping (String) -> Void = { print($0) },
                communicator: Communicator? = nil) {
        self.communicator = communicator
        self.config = config
        self.configPath = configPath
        self.log = log
    }

    /// The processes solving together: `communicator`, or the world.
    func processes() throws -> Communicator { try communicator ?? Communicator.world() }

    func fail(_ key: String, _ value: String, _ expected: String) -> ConfigError {
        ConfigError(file: configPath, keyPath: key, value: value, expected: expected)
    }

    /// Paths in the config are relative to the working directory, as on the command line.
    func loadNPY(_ path: String, key: String, count: Int, shape: [Int]) throws -> [Double] {
        let a: NPYArray
        do { a = try NPY.read(path) } catch let e as PDEError { throw fail(key, "'\(path)': \(e.description)", "a readable .npy file") }
        guard a.count == count, a.shape == shape || a.shape == [count] else {
            throw fail(key, "'\(path)' has shape \(a.shape)", "shape \(shape) (\(count) values, one per node/vertex)")
        }
        return a.doubles
    }

    /// Builds the grid or mesh, boundary conditions and data, assembles, solves with the
    /// configured method, logs the report and writes the outputs. Errors against the exact
    /// solution are computed only when every datum comes from the named problem. Throws
    /// `ConfigError` for what the decoder could not check (unknown problem, faces or tags the
    /// domain lacks, NPY shapes, formats that do not fit); solver and I/O errors propagate.
    public func run() throws -> SolveSummary {
        let problem: AnalyticProblem?
        if let name = config.problem {
            do { problem = try ProblemCatalogue.named(name) } catch let PDEError.invalidValue(_, _, expected) {
                throw fail("problem", "'\(name)'", expected)
            }
        } else {
            problem = nil
        }
        // Errors are meaningful only when every datum comes from the analytic problem.
        let boundaryEntries = Array(config.boundary.faces.values) + Array(config.boundary.tags.values) + [config.boundary.defaultCondition]
        let explicitBoundaryValues = boundaryEntries.contains {
            switch $0 { case .dirichlet(let v), .neumann(let v): return v != nil; case .periodic: return false }
        }
        let exact = (problem != nil && !config.equation.overridesProblem && !explicitBoundaryValues) ? problem : nil
        if let p = problem { log("problem     \(p.name): \(p.summary)") }
        if let grid = config.grid { return try runGrid(grid, problem: problem, exact: exact) }
        return try runMesh(config.mesh!, problem: problem, exact: exact)
    }

    // MARK: Grids

    func runGrid(_ spec: GridSpec, problem: AnalyticProblem?, exact: AnalyticProblem?) throws -> SolveSummary {
        let dim = spec.nodes.count
        if let p = problem {
            guard p.dimension == dim else {
                throw fail("grid.nodes", "\(dim) axes", "\(p.dimension) node counts for the \(p.dimension)-D problem '\(p.name)'")
            }
            guard case .box = p.domain else {
                throw fail("grid", "a grid for '\(p.name)'", "a 'mesh' section: this problem lives on \(p.domain == .lShape ? "an L-shaped domain" : "a disk")")
            }
        }
        var lower = spec.lower, upper = spec.upper
        if case let .box(lo, hi)? = problem?.domain { lower = lower ?? lo; upper = upper ?? hi }
        let grid: Grid
        do {
            grid = try Grid(counts: spec.nodes, lower: lower ?? Array(repeating: 0, count: dim), upper: upper ?? Array(repeating: 1, count: dim))
        } catch let e as PDEError { throw fail("grid", e.description, "a valid grid") }
        log("grid        \(grid)")

        var bc = BoundaryConditions(dimension: dim, all: .dirichlet(value: 0))
        for face in Face.faces(dimension: dim) {
            let entry = config.boundary.faces[face] ?? config.boundary.defaultCondition
            var normal = [Double](repeating: 0, count: dim)
            normal[face.axis] = face.normalSign
            let n = normal
            switch entry {
            case .dirichlet(let v?): bc[face] = .dirichlet(value: v)
            case .dirichlet(nil): bc[face] = problem.map { .dirichlet($0.solution) } ?? .dirichlet(value: 0)
            case .neumann(let v?): bc[face] = .neumann(flux: v)
            case .neumann(nil): bc[face] = problem.map { p in .neumann { x in p.flux(x, normal: n) } } ?? .neumann(flux: 0)
            case .periodic: bc[face] = .periodic
            }
        }
        for face in config.boundary.faces.keys where face.axis >= dim {
            throw fail("boundary.\(face.name)", "a face of axis \(face.axis)", "faces of a \(dim)-D grid: " + Face.faces(dimension: dim).map(\.name).joined(separator: ", "))
        }
        do { try bc.validate() } catch let PDEError.invalidValue(key, value, expected) { throw fail(key, value, expected) }

        let zero: @Sendable ([Double]) -> Double = { _ in 0 }
        var pde = DiffusionProblem(grid: grid, source: problem?.source ?? zero, boundary: bc)
        if let p = problem { pde.coefficient = p.coefficient; let c = p.reaction; pde.reaction = { _ in c } }
        let npyShape = grid.counts.reversed() as [Int]
        switch config.equation.coefficient {
        case .constant(let a)?: pde.coefficient = { _ in a }
        case .npy(let path)?: pde.coefficientValues = try loadNPY(path, key: "equation.coefficient", count: grid.nodeCount, shape: npyShape)
        case nil: break
        }
        if let c = config.equation.reaction { pde.reaction = { _ in c } }
        switch config.equation.source {
        case .constant(let f)?: pde.source = { _ in f }
        case .npy(let path)?: pde.sourceValues = try loadNPY(path, key: "equation.source", count: grid.nodeCount, shape: npyShape)
        case nil: break
        }

        var summary = SolveSummary()
        let (field, errors) = try assembleAndSolve(serial: { try pde.assemble() }, distributed: { try DistributedFDSystem(pde, communicator: $0) },
                                                   problem: pde, exact: exact, summary: &summary)
        record(errors, in: &summary)
        try writeGridOutputs(field, exact: exact, summary: &summary)
        return summary
    }

    func writeGridOutputs(_ field: GridField, exact: AnalyticProblem?, summary: inout SolveSummary) throws {
        let out = config.output
        let base = out.directory + "/" + out.name
        let world = try processes()
        for format in out.formats {
            var path = base + "." + format.rawValue
            // Under mpirun each rank writes its VTK piece (and rank 0 the .pvti index); the other
            // formats are written whole by rank 0.
            if world.size > 1 && format != .vti && world.rank != 0 { continue }
            switch format {
            case .vti:
                var extra: [(name: String, values: [Double])] = []
                if let p = exact { extra.append(("error", zip(field.values, field.grid.sample(p.solution)).map { $0 - $1 })) }
                if world.size > 1 {
                    path = base + ".pvti"
                    let piece = try VTK.writeImageDataPiece(path: path, counts: field.grid.counts, origin: field.grid.lower, spacing: field.grid.spacing,
                                                            pointData: [("u", field.values)] + extra, pieces: world.size, piece: world.rank)
                    log("wrote       \(piece) (piece \(world.rank) of \(world.size))")
                } else {
                    try VTK.write(field, name: "u", to: path, extra: extra)
                }
            case .vtu:
                throw fail("output.formats", "vtu for a grid solution", "vti (ParaView image data) for grids; vtu is for meshes")
            case .npy:
                try NPY.write(field.values, shape: field.numpyShape, to: path)
            case .png:
                try writeGridPNG(field, path: path)
            case .h5:
                try HDF5File.write([.init(name: "u", shape: field.numpyShape, values: field.values),
                                    .init(name: "grid/lower", shape: [field.grid.dimension], values: field.grid.lower),
                                    .init(name: "grid/upper", shape: [field.grid.dimension], values: field.grid.upper)], to: path)
            }
            summary.outputs.append(path)
            log("wrote       \(path)")
        }
    }

    func writeGridPNG(_ field: GridField, path: String) throws {
        let g = field.grid
        let title = config.problem ?? config.output.name
        switch g.dimension {
        case 2:
            try HeatMap.write(field, to: path, title: title)
        case 3:
            // The mid-plane z = const.
            let k = g.counts[2] / 2
            let plane = Array(field.values[(k * g.counts[0] * g.counts[1])..<((k + 1) * g.counts[0] * g.counts[1])])
            try HeatMap.write(values: plane, width: g.counts[0], height: g.counts[1], to: path,
                              title: title + String(format: " z=%.3g", g.coordinate(axis: 2, k)))
        default:
            throw fail("output.formats", "png for a 1-D grid", "vti, npy or h5 (heat maps need 2-D or 3-D grids)")
        }
    }

    // MARK: Meshes

    func runMesh(_ spec: MeshSpec, problem: AnalyticProblem?, exact: AnalyticProblem?) throws -> SolveSummary {
        if let p = problem, p.dimension != 2 {
            throw fail("mesh", "a triangle mesh for the \(p.dimension)-D problem '\(p.name)'", "a 'grid' section (meshes are 2-D)")
        }
        let world = try processes()
        if world.size > 1 {
            // The whole mesh lives only while the ranks assemble: each keeps its part.
            return try runMeshDistributed({ try meshProblem(spec, problem: problem) }, exact: exact, world: world)
        }
        let pde = try meshProblem(spec, problem: problem)
        var summary = SolveSummary()
        var system: P1System!
        summary.assembleSeconds = try measureSeconds { system = try pde.assemble() }
        let (field, errors) = try solve(system, problem: nil, exact: exact, summary: &summary)
        record(errors, in: &summary)
        let base = config.output.directory + "/" + config.output.name
        for format in config.output.formats {
            let path = base + "." + format.rawValue
            try writeWholeMeshOutput(format, field: field, exact: exact, to: path)
            summary.outputs.append(path)
            log("wrote       \(path)")
        }
        return summary
    }

    /// `runMesh` under mpirun: each rank assembles its rows and keeps its part of the mesh; the
    /// errors are summed over the parts; each rank writes its part as a VTU piece (rank 0 the
    /// `.pvtu` index), and rank 0 the formats that need the whole field, gathered onto it.
    func runMeshDistributed(_ makeProblem: () throws -> P1Problem, exact: AnalyticProblem?, world: Communicator) throws -> SolveSummary {
        var summary = SolveSummary()
        var system: DistributedP1System!
        summary.assembleSeconds = try measureSeconds { system = try DistributedP1System(try makeProblem(), communicator: world) }
        let x = try solveDistributedLocal(system, summary: &summary)
        var values = try system.localValues(local: x)
        let errors = try exact.map { try system.errors(of: &values, against: $0) }
        record(errors, in: &summary)
        let wholeFormats = config.output.formats.filter { $0 != .vtu }
        let whole = wholeFormats.isEmpty ? nil : try system.gatheredSolution(values: values, root: 0)
        let base = config.output.directory + "/" + config.output.name
        if config.output.formats.contains(.vtu) {
            let points = system.localPoints
            var pointData: [(name: String, values: [Double])] = [("u", values)]
            if let p = exact { pointData.append(("error", zip(values, points).map { $0 - p.solution([$1.x, $1.y]) })) }
            let path = base + ".pvtu"
            let piece = try VTK.writeUnstructuredGridPiece(path: path, piece: world.rank, of: world.size, points: points.map { [$0.x, $0.y] },
                                                           triangles: system.localMesh?.triangleArrays ?? [], pointData: pointData,
                                                           cellData: [("area", system.localMesh?.areas ?? [])])
            log("wrote       \(piece) (piece \(world.rank) of \(world.size): \(system.localTriangleIds.count) triangles)")
            if world.rank == 0 { summary.outputs.append(path); log("wrote       \(path)") }
        }
        if let whole {
            for format in wholeFormats {
                let path = base + "." + format.rawValue
                try writeWholeMeshOutput(format, field: whole, exact: exact, to: path)
                summary.outputs.append(path)
                log("wrote       \(path)")
            }
        }
        return summary
    }

    /// A whole mesh solution in one format (vti is refused); the VTU has the error against
    /// `exact` when given.
    func writeWholeMeshOutput(_ format: OutputSpec.Format, field: MeshField, exact: AnalyticProblem?, to path: String) throws {
        let mesh = field.mesh
        switch format {
        case .vtu:
            var pointData: [(name: String, values: [Double])] = [("u", field.values)]
            if let p = exact { pointData.append(("error", zip(field.values, mesh.vertices).map { $0 - p.solution([$1.x, $1.y]) })) }
            try VTK.writeUnstructuredGrid(path: path, points: mesh.vertexArrays, triangles: mesh.triangleArrays,
                                          pointData: pointData, cellData: [("area", mesh.areas)])
        case .vti:  // refused with the config (output.formats) before any work
            throw fail("output.formats", "vti for a mesh solution", "vtu (ParaView unstructured grid) for meshes; vti is for grids")
        case .npy:
            try NPY.write(field.values, shape: [field.values.count], to: path)
        case .png:
            let xs = mesh.vertices.map(\.x), ys = mesh.vertices.map(\.y)
            let aspect = (ys.max()! - ys.min()!) / max(1e-300, xs.max()! - xs.min()!)
            let w = 480, h = max(1, Int((Double(w) * aspect).rounded()))
            try HeatMap.write(values: field.rasterized(width: w, height: h), width: w, height: h, to: path,
                              title: config.problem ?? config.output.name, scale: 1)
        case .h5:
            try HDF5File.write([.init(name: "u", shape: [field.values.count], values: field.values),
                                .init(name: "mesh/vertices", shape: [mesh.vertexCount, 2], values: mesh.vertices.flatMap { [$0.x, $0.y] }),
                                .init(name: "mesh/triangles", shape: [mesh.triangleCount, 3],
                                      values: mesh.triangles.flatMap { [Double($0[0]), Double($0[1]), Double($0[2])] })], to: path)
        }
    }

    /// The mesh (read, generated, refined) and the P1 problem of the config on it.
    func meshProblem(_ spec: MeshSpec, problem: AnalyticProblem?) throws -> P1Problem {
        var mesh: TriangleMesh
        var projection: ((SIMD2<Double>) -> SIMD2<Double>)?
        do {
            if let file = spec.file {
                mesh = try Gmsh.read(file)
            } else {
                switch spec.generate! {
                case .disk:
                    var center = [0.0, 0], radius = spec.radius ?? 1
                    if case let .disk(c, r)? = problem?.domain { center = c; radius = spec.radius ?? r }
                    mesh = try MeshGenerator.disk(center: center, radius: radius, resolution: spec.resolution)
                    projection = MeshGenerator.circleProjection(center: center, radius: radius)
                case .rectangle:
                    var lower = spec.lower ?? [0, 0], upper = spec.upper ?? [1, 1]
                    if case let .box(lo, hi)? = problem?.domain, lo.count == 2 { lower = spec.lower ?? lo; upper = spec.upper ?? hi }
                    mesh = try MeshGenerator.rectangle(lower: lower, upper: upper, nx: spec.resolution, ny: spec.resolution)
                case .lshape:
                    mesh = try MeshGenerator.lShape(resolution: spec.resolution)
                }
            }
            for _ in 0..<spec.refine { mesh = try mesh.refined(project: projection) }
        } catch let e as PDEError {
            if case .fileNotFound = e { throw fail("mesh.file", "'\(spec.file ?? "")': file not found", "an existing Gmsh .msh file") }
            if case .malformedFile = e { throw fail("mesh.file", e.description, "a Gmsh mesh (4.1 ASCII or binary, or 2.2 ASCII)") }
            throw fail("mesh", e.description, "valid mesh parameters")
        }
        log("mesh        \(mesh.vertexCount) vertices, \(mesh.triangleCount) triangles; \(mesh.quality)")

        var conditions: [Int: BoundaryCondition] = [:]
        let tags = Set(mesh.boundaryEdges.map(\.tag))
        for tag in config.boundary.tags.keys where !tags.contains(tag) {
            throw fail("boundary.tags.\(tag)", "tag \(tag)", "a boundary tag of this mesh: " + tags.sorted().map(String.init).joined(separator: ", "))
        }
        if !config.boundary.faces.isEmpty {
            throw fail("boundary." + config.boundary.faces.keys.first!.name, "a grid face on a mesh", "'default' and 'tags' (mesh boundary tags)")
        }
        for tag in tags {
            switch config.boundary.tags[tag] ?? config.boundary.defaultCondition {
            case .dirichlet(let v?): conditions[tag] = .dirichlet(value: v)
            case .dirichlet(nil): conditions[tag] = problem.map { .dirichlet($0.solution) } ?? .dirichlet(value: 0)
            case .neumann(let v?): conditions[tag] = .neumann(flux: v)
            case .neumann(nil):
                conditions[tag] = problem.map { p in .neumann { x in x.count >= 4 ? p.flux([x[0], x[1]], normal: [x[2], x[3]]) : 0 } } ?? .neumann(flux: 0)
            case .periodic:
                throw fail("boundary.tags.\(tag)", "periodic", "dirichlet or neumann on a mesh")
            }
        }
        let zero: @Sendable ([Double]) -> Double = { _ in 0 }
        var pde = P1Problem(mesh: mesh, source: problem?.source ?? zero, boundary: conditions)
        if let p = problem { pde.coefficient = p.coefficient; let c = p.reaction; pde.reaction = { _ in c } }
        switch config.equation.coefficient {
        case .constant(let a)?: pde.coefficient = { _ in a }
        case .npy(let path)?: pde.coefficientValues = try loadNPY(path, key: "equation.coefficient", count: mesh.vertexCount, shape: [mesh.vertexCount])
        case nil: break
        }
        if let c = config.equation.reaction { pde.reaction = { _ in c } }
        switch config.equation.source {
        case .constant(let f)?: pde.source = { _ in f }
        case .npy(let path)?: pde.sourceValues = try loadNPY(path, key: "equation.source", count: mesh.vertexCount, shape: [mesh.vertexCount])
        case nil: break
        }
        return pde
    }

    // MARK: Shared

    /// Assembles (timed) and solves: the whole system in one process, or each rank its rows
    /// under mpirun.
    func assembleAndSolve<S: DiscreteSystem, D: DistributedDiscreteSystem>(
        serial: () throws -> S, distributed: (Communicator) throws -> D, problem: DiffusionProblem?, exact: AnalyticProblem?,
        summary: inout SolveSummary) throws -> (S.Solution, FieldErrors?) where D.Solution == S.Solution {
        let world = try processes()
        if world.size > 1 {
            var system: D!
            summary.assembleSeconds = try measureSeconds { system = try distributed(world) }
            return try solveDistributed(system, exact: exact, summary: &summary)
        }
        var system: S!
        summary.assembleSeconds = try measureSeconds { system = try serial() }
        return try solve(system, problem: problem, exact: exact, summary: &summary)
    }

    /// The config's iterative options, with the residual monitor when asked for.
    func iterativeOptions() -> IterativeOptions {
        var options = config.solver.iterativeOptions
        if config.solver.monitor { options.monitor = { [log] it, r in log(String(format: "%5d KSP residual norm %.12e", it, r)) } }
        return options
    }

    /// The one solve path for grids and meshes: the solver from the registry by the config's
    /// names, the report, the field and its errors against the exact solution.
    func solve<S: DiscreteSystem>(_ system: S, problem: DiffusionProblem?, exact: AnalyticProblem?,
                                  summary: inout SolveSummary) throws -> (S.Solution, FieldErrors?) {
        let a = system.matrix, b = system.rhs
        summary.unknowns = a.rows
        summary.nonzeros = a.nonzeroCount
        log("system      \(a.rows) unknowns, \(a.nonzeroCount) nonzeros (assembled in \(formatSeconds(summary.assembleSeconds)))")
        let spec = config.solver
        let options = iterativeOptions()
        let solver: LinearSolver
        do {
            solver = try LinearSolver(matrix: a, method: spec.method, preconditioner: spec.preconditioner, options: options,
                                      layout: system.gridLayout, problem: problem, parameters: spec.parameters)
        } catch let PDEError.invalidValue(key, value, expected) {
            throw fail("solver.\(key)", value, expected)
        }
        let (x, report) = try solver.solve(b)
        summary.relativeResidual = report.trueRelativeResidual
        if let chol = solver.preconditioner as? CholmodPreconditioner, solver.methodName == "preonly" {
            summary.analyzeSeconds = chol.analyzeSeconds
            summary.factorizeSeconds = chol.factorizeSeconds
            summary.solveSeconds = report.solveSeconds
            log("cholmod     analyze \(formatSeconds(chol.analyzeSeconds)), factorize \(formatSeconds(chol.factorizeSeconds)), solve \(formatSeconds(report.solveSeconds)) (ordering \(chol.factorization.ordering.rawValue))")
            if !report.reason.converged { summary.reason = report.reason }
        } else {
            recordIterations(report, label: "\(solver.methodName.padding(toLength: 11, withPad: " ", startingAt: 0)) \(solver.preconditionerName)", in: &summary)
        }
        for note in report.notes { log("            \(note)") }
        if let plot = spec.plot, !report.residualHistory.isEmpty {
            var p = SVGLinePlot(title: "\(solver.methodName) + \(solver.preconditionerName): \(config.problem ?? config.output.name)",
                                xLabel: "iteration", yLabel: "residual norm ‖b − Ax‖", logY: true)
            p.series.append(.init(label: "\(solver.methodName) + \(solver.preconditionerName)", y: report.residualHistory))
            try p.write(to: plot)
            summary.outputs.append(plot)
            log("wrote       \(plot)")
        }
        return try system.solution(x, comparedWith: exact)
    }

    /// The solve under mpirun: each rank assembled its rows; the method and block-Jacobi
    /// preconditioner from the config's names (`DistributedLinearSolver`); the whole field on
    /// every rank.
    func solveDistributed<S: DistributedDiscreteSystem>(_ system: S, exact: AnalyticProblem?,
                                                        summary: inout SolveSummary) throws -> (S.Solution, FieldErrors?) {
        try system.solution(local: try solveDistributedLocal(system, summary: &summary), comparedWith: exact)
    }

    /// The distributed solve of `solveDistributed`, returning this rank's part of x.
    func solveDistributedLocal<S: DistributedDiscreteSystem>(_ system: S, summary: inout SolveSummary) throws -> [Double] {
        summary.unknowns = system.unknownCount
        summary.nonzeros = system.nonzeroCount
        let ranks = system.matrix.grid.communicator.size
        log("system      \(system.unknownCount) unknowns, \(system.nonzeroCount) nonzeros (assembled by rows on \(ranks) ranks in \(formatSeconds(summary.assembleSeconds)))")
        let spec = config.solver
        let options = iterativeOptions()
        let solver: DistributedLinearSolver
        do {
            solver = try DistributedLinearSolver(distributed: system.matrix, method: spec.method, preconditioner: spec.preconditioner,
                                                 options: options)
        } catch let PDEError.invalidValue(key, value, expected) {
            throw fail("solver.\(key)", value, expected)
        }
        let (local, report) = try solver.solve(local: system.rhs)
        summary.relativeResidual = report.trueRelativeResidual
        recordIterations(report, label: "\(spec.method.padding(toLength: 11, withPad: " ", startingAt: 0)) \(spec.preconditioner) (block Jacobi per rank), \(ranks) ranks", in: &summary)
        for note in report.notes { log("            \(note)") }
        return local
    }

    /// An iterative solve's figures into the summary, and its report line.
    func recordIterations(_ report: SolverReport, label: String, in summary: inout SolveSummary) {
        summary.setupSeconds = report.setupSeconds
        summary.solveSeconds = report.solveSeconds
        summary.iterations = report.iterations
        summary.reason = report.reason
        log("\(label): \(report.reason.petscName) after \(report.iterations) iterations; setup \(formatSeconds(report.setupSeconds)), solve \(formatSeconds(report.solveSeconds))")
    }

    func record(_ errors: FieldErrors?, in summary: inout SolveSummary) {
        if let e = errors { (summary.l2Error, summary.maxError, summary.h1Error) = (e.l2, e.max, e.h1) }
        report(summary)
    }

    func report(_ s: SolveSummary) {
        log(String(format: "residual    ‖b − Ax‖/‖b‖ = %.3e", s.relativeResidual))
        if let l2 = s.l2Error, let mx = s.maxError, let h1 = s.h1Error {
            log(String(format: "error       L2 %.4e   max %.4e   H1-seminorm %.4e", l2, mx, h1))
        } else if config.problem != nil {
            log("error       (not computed: the config changes the analytic problem's data)")
        }
    }
}
