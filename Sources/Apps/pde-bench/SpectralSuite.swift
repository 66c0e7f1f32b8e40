import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench spectral`: the fast Poisson solver against the FFTW floor (its transforms
/// alone), and the dataset generators against the numpy/scipy/torch peers
/// (`datagen_peer.py`) on the same parameters.
struct SpectralSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral",
        abstract: "Fast Poisson vs the FFTW floor; Darcy, Navier–Stokes and Burgers generation vs datagen_peer.py.")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .upToNextOption, help: "Cases: fastpoisson2d, fastpoisson3d, darcy, ns, burgers.")
    var cases: [String] = ["fastpoisson2d", "fastpoisson3d", "darcy", "ns", "burgers"]

    @Option(help: "Darcy nodes per axis (FNO: 421).")
    var darcySize = 421

    @Option(help: "Navier–Stokes steps timed per case.")
    var nsSteps = 200

    @Option(help: "Burgers points (FNO: 8192).")
    var burgersPoints = 8192

    @Option(help: "Fast Poisson 2-D interior nodes per axis.")
    var n2d = 1024

    @Option(help: "Fast Poisson 3-D interior nodes per axis.")
    var n3d = 128

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        print("pde-bench spectral — \(Threads.count) threads\n")
        var rows: [[String]] = []
        for name in cases {
            switch name {
            case "fastpoisson2d", "fastpoisson3d":
                let dim = name == "fastpoisson2d" ? 2 : 3
                let n = dim == 2 ? n2d : n3d
                rows += try fastPoisson(dimension: dim, interior: n, rec: rec)
            case "darcy": rows += try darcy(rec: rec)
            case "ns":
                rows += try navierStokes(n: 256, batch: 1, rec: rec)
                rows += try navierStokes(n: 64, batch: 20, rec: rec)
            case "burgers": rows += try burgers(rec: rec)
            default:
                throw ValidationError("unknown case \(name): expected fastpoisson2d, fastpoisson3d, darcy, ns, burgers")
            }
        }
        printTable(["case", "tool", "time", "ratio", "note"], rows)
        try rec.flush()
    }

    /// Dirichlet Poisson on n^d interior nodes: the solve (scaling, DST-I, eigenvalue
    /// division, inverse DST-I, scaling) against the two transforms alone; the residual of the
    /// solve against the FD matrix.
    func fastPoisson(dimension dim: Int, interior n: Int, rec: BenchRecorder) throws -> [[String]] {
        let grid = try Grid.unit(dimension: dim, nodesPerAxis: n + 2)
        let layout = try GridUnknownLayout(grid: grid, boundary: BoundaryConditions(dimension: dim, all: .dirichlet(value: 0)))
        let solver = try FastPoissonSolver(layout: layout)
        let count = layout.unknownCount
        var g = SeededGenerator(seed: 1)
        let f = (0..<count).map { _ in g.normal() }
        var u = [Double](repeating: 0, count: count)
        try solver.solve(f, into: &u)                       // plans
        let transform = try RealToRealTransform(shape: Array(repeating: n, count: dim), kinds: Array(repeating: .dst1, count: dim))
        var y = u
        try transform.apply(f, into: &y)
        let reps = max(options.repetitions, 5)
        let solve = median(try (0..<reps).map { _ in try measureSeconds { try solver.solve(f, into: &u) } })
        let floor = median(try (0..<reps).map { _ in try measureSeconds { try transform.apply(f, into: &y); try transform.apply(y, into: &u) } })
        try solver.solve(f, into: &u)
        let a = try FiniteDifference.laplacian(grid: grid)
        let residual = try a.relativeResidual(u, f)
        let label = "fastpoisson\(dim)d_n\(n)"
        rec.record(["suite": "spectral", "case": label, "tool": "swiftpde_fastpoisson", "seconds": solve, "unknowns": count,
                    "rel_residual": residual, "fftw_floor_seconds": floor, "ratio_to_floor": solve / floor])
        return [[label, "SwiftPDE FastPoissonSolver", formatSeconds(solve), String(format: "%.2f× floor", solve / floor),
                 String(format: "rel. residual %.1e vs the FD matrix", residual)],
                [label, "FFTW floor: 2 × DST-I", formatSeconds(floor), "", "\(count) unknowns"]]
    }

    /// A scratch folder for the peers' saved arrays.
    func scratch(_ name: String) -> String {
        NSTemporaryDirectory() + "pde-bench-\(name)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    func ratioRow(_ label: String, ours: Double, peer: Double?, peerTool: String, unit: String, note: String) -> [[String]] {
        var rows = [[label, "SwiftPDE", formatSeconds(ours) + unit, peer.map { String(format: "%.2f× %@", ours / $0, peerTool) } ?? "", note]]
        if let peer { rows.append([label, peerTool, formatSeconds(peer) + unit, "", ""]) }
        return rows
    }

    /// Darcy at s×s: one sample (GRF, coefficient, FV assembly, CG + multigrid to 1e-10, or
    /// CHOLMOD) against `datagen_peer.py --case darcy` (scipy spsolve), seconds per sample.
    func darcy(rec: BenchRecorder) throws -> [[String]] {
        let s = darcySize
        let peer = runPeer("datagen_peer.py", ["--case", "darcy", "--s", "\(s)", "--samples", "3"], options: options).first
        let peerSeconds = peer?["seconds_per_sample"] as? Double
        if var o = peer { o["suite"] = "spectral"; rec.record(o) }
        var rows: [[String]] = []
        for direct in [false, true] {
            let family = try DarcyFamily(size: s, resolutions: [s], tolerance: 1e-10, direct: direct)
            var times: [Double] = []
            for i in 0..<3 {
                var g = DatasetGeneration.generator(seed: 0, index: i)
                times.append(try measureSeconds { _ = try family.sample(i, generator: &g) })
            }
            let t = median(times)
            // Where a sample's time goes (one more sample, timed by phase).
            var g = DatasetGeneration.generator(seed: 0, index: 9)
            var field: [Double] = [], system: FDSystem?, solver: LinearSolver?
            let tField = try measureSeconds { field = try family.field.sample(using: &g) }
            let a = CosineGaussianRandomField.darcyCoefficient(field)
            let tAssemble = try measureSeconds { system = try family.problem(coefficient: a).assemble() }
            let tSetup = try measureSeconds {
                solver = try LinearSolver(matrix: system!.matrix, method: direct ? "cholmod" : "cg", preconditioner: direct ? "none" : "mg",
                                          options: IterativeOptions(relativeTolerance: 1e-10, recordHistory: false), layout: system!.gridLayout)
            }
            var iterations = 0
            let tSolve = try measureSeconds { iterations = try solver!.solve(system!.rhs).report.iterations }
            print(String(format: "  darcy %@ phases: field %@, assembly %@, setup %@, solve %@ (%d iterations)", direct ? "cholmod" : "cg+mg",
                         formatSeconds(tField), formatSeconds(tAssemble), formatSeconds(tSetup), formatSeconds(tSolve), iterations))
            let tool = direct ? "swiftpde_darcy_cholmod" : "swiftpde_darcy_cg_mg"
            rec.record(["suite": "spectral", "case": "darcy_s\(s)", "tool": tool, "seconds_per_sample": t,
                        "ratio_to_peer": peerSeconds.map { t / $0 } ?? NSNull()])
            rows += ratioRow("darcy_s\(s)", ours: t, peer: direct ? nil : peerSeconds, peerTool: "scipy spsolve", unit: "/sample",
                             note: direct ? "CHOLMOD (ratio \(peerSeconds.map { String(format: "%.2f×", t / $0) } ?? "–"))" : "CG + geometric multigrid, rtol 1e-10")
        }
        return rows
    }

    /// Navier–Stokes seconds per step at n² with a batch, the FNO scheme, against
    /// `datagen_peer.py --case ns` (numpy/scipy FFT, and torch when installed); a cross-check
    /// from the peer's saved w0 after the same number of steps.
    func navierStokes(n: Int, batch: Int, rec: BenchRecorder) throws -> [[String]] {
        let folder = scratch("ns")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let label = "ns_n\(n)_b\(batch)"
        var peers: [[String: Any]] = []
        for backend in ["numpy", "torch"] {
            var args = ["--case", "ns", "--n", "\(n)", "--batch", "\(batch)", "--steps", "\(nsSteps)", "--backend", backend,
                        "--threads", "\(Threads.count)"]
            if backend == "numpy" && batch == 1 { args += ["--save", folder] }
            if backend == "torch" && !PythonProbe.has("torch") { continue }
            peers += runPeer("datagen_peer.py", args, options: options)
        }
        for var o in peers { o["suite"] = "spectral"; rec.record(o) }
        let model = try NavierStokes2D.fno(pointsPerAxis: n)
        var g = SeededGenerator(seed: 0)
        let field = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: n)
        let w0 = try (0..<batch).map { _ in try field.sample(using: &g) }
        let integrator = try NavierStokes2D.Integrator(model, batch: batch)
        try integrator.load(w0)
        try integrator.step(5)
        let t = try measureSeconds { try integrator.step(nsSteps) } / Double(nsSteps)
        var crossCheck: Double?
        if batch == 1, let a = try? NPY.read(folder + "/ns_w0.npy"), let b = try? NPY.read(folder + "/ns_w_after_\(nsSteps + 5)_steps.npy") {
            // The peer's arrays are indexed [x, y]; ours are x fastest.
            func transposed(_ v: [Double]) -> [Double] { (0..<n * n).map { l in v[(l % n) * n + l / n] } }
            let ours = try model.step(transposed(a.doubles), count: nsSteps + 5)
            let ref = transposed(b.doubles)
            crossCheck = zip(ours, ref).reduce(0) { max($0, abs($1.0 - $1.1)) } / ref.reduce(0) { max($0, abs($1)) }
        }
        let fastest = peers.compactMap { $0["seconds_per_step"] as? Double }.min()
        let fastestTool = peers.first { ($0["seconds_per_step"] as? Double) == fastest }?["tool"] as? String ?? "peer"
        rec.record(["suite": "spectral", "case": label, "tool": "swiftpde_ns", "seconds_per_step": t,
                    "ratio_to_fastest_peer": fastest.map { t / $0 } ?? NSNull(),
                    "relative_max_difference_vs_peer": crossCheck ?? NSNull()])
        var rows = [[label, "SwiftPDE (CN + Euler, 2/3 dealiasing)", formatSeconds(t) + "/step",
                     fastest.map { String(format: "%.2f× fastest peer", t / $0) } ?? "",
                     crossCheck.map { String(format: "vs peer after %d steps: %.1e relative", nsSteps + 5, $0) } ?? ""]]
        for p in peers {
            rows.append([label, (p["tool"] as? String) ?? "peer", ((p["seconds_per_step"] as? Double).map(formatSeconds) ?? "–") + "/step",
                         (p["tool"] as? String) == fastestTool ? "fastest peer" : "", ""])
        }
        return rows
    }

    /// Burgers at N points to t = 1 (10,000 ETDRK4 steps): seconds per sample, one sample and
    /// a batch over the workers, against `datagen_peer.py --case burgers`, with a cross-check
    /// of u(1) from the peer's u0.
    func burgers(rec: BenchRecorder) throws -> [[String]] {
        let n = burgersPoints
        let folder = scratch("burgers")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let peer = runPeer("datagen_peer.py", ["--case", "burgers", "--n", "\(n)", "--samples", "1", "--save", folder], options: options).first
        let solver = try BurgersSolver(viscosity: 0.1, points: n, timeStep: 1e-4)
        var u0: [Double]
        var reference: [Double]?
        if peer != nil, let a = try? NPY.read(folder + "/burgers_u0.npy"), let b = try? NPY.read(folder + "/burgers_u1.npy") {
            u0 = a.doubles
            reference = b.doubles
        } else {
            var g = SeededGenerator(seed: 0)
            u0 = try PeriodicGaussianRandomField.burgersInitialCondition(points: n).sample(using: &g)
        }
        var u1: [Double] = []
        let single = median(try (0..<3).map { _ in try measureSeconds { u1 = try solver.evolve(u0, to: 1).final } })
        let batchCount = Threads.count
        let batched = try measureSeconds { _ = try solver.evolve(batch: Array(repeating: u0, count: batchCount), to: 1) } / Double(batchCount)
        let crossCheck = reference.map { r in zip(u1, r).reduce(0) { max($0, abs($1.0 - $1.1)) } / r.reduce(0) { max($0, abs($1)) } }
        let peerSeconds = peer?["seconds_per_sample"] as? Double
        if var o = peer { o["suite"] = "spectral"; rec.record(o) }
        rec.record(["suite": "spectral", "case": "burgers_n\(n)", "tool": "swiftpde_burgers", "seconds_per_sample": single,
                    "seconds_per_sample_batched": batched, "ratio_to_peer": peerSeconds.map { single / $0 } ?? NSNull(),
                    "relative_max_difference_vs_peer": crossCheck ?? NSNull()])
        return ratioRow("burgers_n\(n)", ours: single, peer: peerSeconds, peerTool: "numpy ETDRK4", unit: "/sample",
                        note: String(format: "batched ×%d: %@/sample", batchCount, formatSeconds(batched))
                            + (crossCheck.map { String(format: "; u(1) vs peer %.1e relative", $0) } ?? ""))
    }
}

/// Whether python3 imports a module (the torch backend of the NS peer is optional).
enum PythonProbe {
    static func has(_ module: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import \(module)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
