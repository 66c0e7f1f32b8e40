import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench krylov`: CG with every preconditioner against scipy/pyamg (cg_peers.py) and
/// PETSc (petsc_cg.py) on the same matrices and right-hand sides.
struct KrylovSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "krylov",
        abstract: "CG + none/jacobi/ic0/amg/mg vs scipy, pyamg and PETSc on the same matrices (rtol 1e-8, x0 = 0).")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .upToNextOption, help: "Cases: \(KrylovCase.allNames.joined(separator: ", ")).")
    var cases: [String] = KrylovCase.allNames

    @Option(help: "Our preconditioners for CG (comma separated registry names or aliases; cg = none).")
    var methods = "cg,jacobi,ic0,amg,mg,fastpoisson"

    @Option(help: "Peer tools for cg_peers.py (comma separated).")
    var scipyTools = "cg,cg_jacobi,cg_ic0,amg_sa,amg_rs"

    @Option(help: "PETSc preconditioners for petsc_cg.py (comma separated).")
    var petscPcs = "none,jacobi,icc,gamg,hypre"

    @Option(help: "Folder for the Matrix Market files handed to the peers.")
    var work = "bench-results/matrices"

    @Option(help: "Relative tolerance.")
    var rtol = IterativeOptions.defaultRelativeTolerance

    func run() throws {
        try options.validateRelease()
        let rec = BenchRecorder(path: options.results)
        print("pde-bench krylov — \(Parallel.workerCount) threads, rtol \(rtol), x0 = 0, stop on ‖b − Ax‖₂ ≤ rtol‖b‖₂\n")
        for name in cases {
            guard let c = KrylovCase(name: name) else {
                throw ValidationError("unknown case \(name): expected one of \(KrylovCase.allNames.joined(separator: ", "))")
            }
            let prepared = try c.prepare(work: work, peerDir: options.peerDir)
            print("== \(name): \(prepared.a.rows) unknowns, \(prepared.a.nonzeroCount) nonzeros")
            var rows: [[String]] = []
            for m in methods.split(separator: ",").map(String.init) {
                guard let r = try runOurs(m, prepared) else { continue }
                rows.append(r.row)
                var o: [String: Any] = ["suite": "krylov", "case": name, "tool": "swiftpde_\(m)", "iterations": r.iterations,
                                        "setup_seconds": r.setup, "solve_seconds": r.solve, "sec_per_iter": r.solve / Double(max(1, r.iterations)),
                                        "rel_residual": r.residual, "rows": prepared.a.rows, "nnz": prepared.a.nonzeroCount, "note": r.note]
                if let u = r.update {
                    o["update_seconds"] = u.update
                    o["fresh_setup_seconds"] = u.fresh
                    o["update_iterations"] = u.iterations
                    o["update_max_difference"] = u.difference
                    rows.append(["  numeric re-setup (A + 0.05·diag A)", "\(u.iterations)", formatSeconds(u.update), "", "",
                                 String(format: "fresh setup %@ (%.2f×)", formatSeconds(u.fresh), u.update / max(u.fresh, 1e-12)),
                                 String(format: "max |x_update − x_fresh| %.1e", u.difference)])
                }
                rec.record(o)
            }
            var peerArgs = prepared.peerArgs
            peerArgs += ["--rtol", "\(rtol)"]
            for peer in runPeer("cg_peers.py", peerArgs + ["--tools", scipyTools], options: options) + runPetsc(peerArgs) {
                rows.append(peerRow(peer))
                var o = peer
                o["suite"] = "krylov"
                o["case"] = name
                rec.record(o)
            }
            printTable(["tool", "iterations", "setup", "solve", "per iteration", "rel. residual", "note"], rows)
            print()
            try rec.flush()
        }
    }

    struct Update { var update: Double; var fresh: Double; var iterations: Int; var difference: Double }
    struct Result {
        var row: [String]; var iterations: Int; var setup: Double; var solve: Double; var residual: Double; var note: String
        var update: Update?
    }

    /// CG with the named preconditioner through the registry: median of 3 setups and solves;
    /// for gamg and mg also the numeric re-setup for A + 0.05·diag(A) (same pattern) against
    /// a fresh setup on that matrix, with the solutions compared.
    func runOurs(_ method: String, _ p: KrylovCase.Prepared) throws -> Result? {
        let pcName = method == "cg" ? "none" : method
        let canonical = try SolverRegistry.preconditionerEntry(pcName).name
        if (canonical == "mg" || canonical == "fastpoisson") && p.layout == nil { return nil }  // no grid layout for this case
        let options = IterativeOptions(relativeTolerance: rtol, maxIterations: 100_000, recordHistory: false)
        var setups: [Double] = [], solves: [Double] = []
        var report: SolverReport!
        var x = [Double](repeating: 0, count: p.a.rows)
        var note = ""
        var solver: LinearSolver!
        for _ in 0..<3 {
            do {
                solver = try LinearSolver(matrix: p.a, method: "cg", preconditioner: pcName, options: options, layout: p.layout)
            } catch PDEError.shapeMismatch where canonical == "fastpoisson" {
                return nil  // not the grid's stencil matrix (e.g. a matrix read from a file)
            }
            for i in x.indices { x[i] = 0 }
            let solve = try measureSeconds { report = try solver.solve(p.b, x: &x) }
            setups.append(solver.setupSeconds)
            solves.append(solve)
            note = solver.preconditioner?.notes.first ?? ""
            if solver.setupSeconds + solve > 20 { break }
        }
        let (s, t) = (median(setups), median(solves))
        let res = report.trueRelativeResidual
        let it = report.iterations
        let reason = report.reason.converged ? "" : report.reason.petscName + " "
        var update: Update?
        if canonical == "gamg" || canonical == "mg" {
            var shifted = p.a
            for i in 0..<shifted.rows {
                for k in shifted.rowPointers[i]..<shifted.rowPointers[i + 1] where Int(shifted.columnIndices[k]) == i { shifted.values[k] *= 1.05 }
            }
            try solver.update(shifted)
            let updated = try solver.solve(p.b)
            let fresh = try LinearSolver(matrix: shifted, method: "cg", preconditioner: pcName, options: options, layout: p.layout)
            let reference = try fresh.solve(p.b)
            update = Update(update: solver.setupSeconds, fresh: fresh.setupSeconds, iterations: updated.report.iterations,
                            difference: zip(updated.x, reference.x).reduce(0) { max($0, abs($1.0 - $1.1)) })
        }
        return Result(row: ["swiftpde cg+\(method)", "\(it)", formatSeconds(s), formatSeconds(t), formatSeconds(t / Double(max(1, it))),
                            String(format: "%.2e", res), reason + note],
                      iterations: it, setup: s, solve: t, residual: res, note: reason + note, update: update)
    }

    func runPetsc(_ args: [String]) -> [[String: Any]] {
        guard !options.noPeers else { return [] }
        let path = options.peerDir + "/petsc_cg.py"
        guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: "/usr/bin/python3") else { return [] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")  // Debian's python has petsc4py
        p.arguments = [path] + args.filter { $0 != "--tools" } + ["--pcs", petscPcs]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        do { try p.run() } catch { return [] }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func peerRow(_ o: [String: Any]) -> [String] {
        let tool = (o["tool"] as? String) ?? "?"
        if let err = (o["error"] as? String) ?? (o["skipped"] as? String) { return [tool, "", "", "", "", "", err] }
        let it = (o["iterations"] as? Int).map(String.init) ?? ""
        let setup = (o["setup_seconds"] as? Double).map(formatSeconds) ?? ""
        let solve = (o["solve_seconds"] as? Double).map(formatSeconds) ?? ""
        let per = (o["sec_per_iter"] as? Double).map(formatSeconds) ?? ""
        let res = (o["rel_residual"] as? Double).map { String(format: "%.2e", $0) } ?? ""
        return [tool, it, setup, solve, per, res, (o["note"] as? String) ?? ""]
    }
}

/// The benchmark problems of issue 3.
enum KrylovCase {
    case poisson2d(Int), poisson3d(Int), aniso2d(Int), darcy2d(Int), femDisk(Int)

    static let allNames = ["poisson2d-256", "poisson2d-1024", "poisson3d-64", "poisson3d-128", "aniso2d-256", "darcy2d-512", "femdisk-192"]

    init?(name: String) {
        let parts = name.split(separator: "-")
        guard parts.count == 2, let n = Int(parts[1]), n >= 4 else { return nil }
        switch parts[0] {
        case "poisson2d": self = .poisson2d(n)
        case "poisson3d": self = .poisson3d(n)
        case "aniso2d": self = .aniso2d(n)
        case "darcy2d": self = .darcy2d(n)
        case "femdisk": self = .femDisk(n)
        default: return nil
        }
    }

    struct Prepared {
        var a: CSRMatrix
        var b: [Double]
        var layout: GridUnknownLayout?
        var peerArgs: [String]
    }

    /// b = A·u with the peers' u = Π sin(πxᵢ)·exp(Σxᵢ) at the interior nodes.
    static func sinexp(_ layout: GridUnknownLayout) -> [Double] {
        (0..<layout.unknownCount).map { u in
            let x = layout.grid.position(linear: layout.node(ofUnknown: u))
            return x.reduce(1.0) { $0 * Foundation.sin(Double.pi * $1) } * Foundation.exp(x.reduce(0, +))
        }
    }

    func prepare(work: String, peerDir: String) throws -> Prepared {
        switch self {
        case .poisson2d(let n), .poisson3d(let n):
            let dim: Int
            if case .poisson2d = self { dim = 2 } else { dim = 3 }
            let grid = try Grid.unit(dimension: dim, nodesPerAxis: n + 2)
            let bc = BoundaryConditions(dimension: dim, all: .dirichlet(value: 0))
            let layout = try GridUnknownLayout(grid: grid, boundary: bc)
            let a = try FiniteDifference.laplacian(grid: grid)
            return Prepared(a: a, b: try a.multiply(KrylovCase.sinexp(layout)), layout: layout,
                            peerArgs: ["--kind", dim == 2 ? "poisson2d" : "poisson3d", "--n", "\(n)"])
        case .aniso2d(let n):
            // pyamg's rotated anisotropic FE stencil, written by the peers' own generator.
            let path = work + "/aniso2d_n\(n).mtx"
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = ["python3", peerDir + "/poisson_matrix.py", "--kind", "aniso2d", "--n", "\(n)", "--out", path]
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw ValidationError("poisson_matrix.py failed for aniso2d (is pyamg installed?)") }
            }
            let a = try MatrixMarket.read(path)
            let b = try MatrixMarket.readVector(work + "/aniso2d_n\(n)_b.mtx")
            let grid = try Grid.unit(dimension: 2, nodesPerAxis: n + 2)
            let layout = try GridUnknownLayout(grid: grid, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
            return Prepared(a: a, b: b, layout: layout, peerArgs: ["--mtx", path])
        case .darcy2d(let n):
            // −∇·(a∇u) with a = 12 / 3 from the shipped thresholded random field, repeated to
            // fill the grid (nearest value), Dirichlet boundary; written for the peers.
            let grid = try Grid.unit(dimension: 2, nodesPerAxis: n + 2)
            let coef = try NPY.read("data/coefficients/darcy65.npy")
            let m = coef.shape[1]
            var pde = DiffusionProblem(grid: grid, source: { _ in 1 }, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
            pde.coefficientValues = (0..<grid.nodeCount).map { l in
                let idx = grid.multiIndex(l)
                let i = min(m - 1, idx[0] * m / grid.counts[0]), j = min(m - 1, idx[1] * m / grid.counts[1])
                return coef.doubles[j * m + i]
            }
            let sys = try pde.assemble()
            let u = KrylovCase.sinexp(sys.layout)
            let b = try sys.matrix.multiply(u)
            let path = try write(sys.matrix, b, u, name: "darcy2d_n\(n)", work: work)
            return Prepared(a: sys.matrix, b: b, layout: sys.layout, peerArgs: ["--mtx", path])
        case .femDisk(let n):
            let mesh = try MeshGenerator.disk(resolution: n)
            let sys = try P1Problem(mesh: mesh, analytic: try ProblemCatalogue.named("disk-variable")).assemble()
            let u = sys.vertexOfUnknown.map { v in Foundation.sin(3 * mesh.vertices[Int(v)].x) * Foundation.exp(mesh.vertices[Int(v)].y) }
            let b = try sys.matrix.multiply(u)
            let path = try write(sys.matrix, b, u, name: "femdisk_n\(n)", work: work)
            return Prepared(a: sys.matrix, b: b, layout: nil, peerArgs: ["--mtx", path])
        }
    }

    private func write(_ a: CSRMatrix, _ b: [Double], _ u: [Double], name: String, work: String) throws -> String {
        let path = work + "/\(name).mtx"
        if !FileManager.default.fileExists(atPath: path) {
            try MatrixMarket.write(a, to: path, symmetry: .symmetric)
            try MatrixMarket.writeVector(b, to: work + "/\(name)_b.mtx")
            try MatrixMarket.writeVector(u, to: work + "/\(name)_uexact.mtx")
        }
        return path
    }
}
