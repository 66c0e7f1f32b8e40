import AppSupport
import ArgumentParser
import Dispatch
import Foundation
import PDE

/// `pde-bench mpi`: strong scaling of the distributed matrix-free CG (classic and pipelined)
/// on the peers' Poisson matrices, one thread per rank, at each rank count, side by side with
/// PETSc's KSP cg / pipecg under the same `mpirun -np N` (benchmarks/peers/petsc_cg_mpi.py).
///
/// Run it as a plain command: it starts `mpirun -np N` on itself (`--worker`) for each N and
/// on the PETSc peer, and prints and records the figures.
struct MPISuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Strong scaling of distributed CG / pipelined CG under mpirun vs PETSc (rtol 1e-8, x0 = 0, one thread per rank).")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .upToNextOption, help: "Cases: poisson2d-N or poisson3d-N (N interior unknowns per axis), ns2d-N (100 steps of the distributed Navier–Stokes solver on N × N points, FNO setting; no peer).")
    var cases: [String] = ["poisson2d-2048", "poisson3d-128"]

    @Option(help: "Rank counts (comma separated); counts above the core count run oversubscribed and are marked so.")
    var ranks = "1,2"

    @Option(help: "Our CG variants (comma separated): classic, pipelined, mg (classic CG preconditioned by the distributed multigrid V-cycle; needs odd unknown counts, e.g. poisson2d-2047).")
    var variants = "classic,pipelined"

    @Option(help: "PETSc preconditioners for the peer (comma separated: none, jacobi, gamg).")
    var petscPcs = "none"

    @Option(help: "PETSc KSP types for the peer (comma separated).")
    var petscKsps = "cg,pipecg"

    @Option(help: "Relative tolerance.")
    var rtol = IterativeOptions.defaultRelativeTolerance

    @Option(help: "Stop every solver (ours and PETSc's) after this many iterations (0: run to the tolerance); the figure is then the time per iteration.")
    var iterations = 0

    @Option(help: "Reductions: reproducible (bitwise equal for every rank count) or fast (one value per sum).")
    var reductions = "reproducible"

    @Flag(help: "Internal: run as one rank under mpirun and print JSON lines on rank 0.")
    var worker = false

    @Flag(help: "Also measure the communication model's parameters: allreduce and neighbour exchange times by message size (at every rank count above 1).")
    var latency = false

    func run() throws {
        try options.validateRelease()
        guard let red = DistributedGrid.Reductions(rawValue: reductions) else {
            throw ValidationError("--reductions \(reductions): expected reproducible or fast")
        }
        let variantList = try variants.split(separator: ",").map { s -> String in
            guard ["classic", "pipelined", "mg"].contains(String(s)) else {
                throw ValidationError("--variants: unknown \(s) (expected classic, pipelined, mg)")
            }
            return String(s)
        }
        let parsed = try cases.map { try MPISuite.parseCase($0) }
        if worker {
            if latency { try runLatency() }
            return try runWorker(parsed, variantList, red)
        }

        guard Communicator.mpiAvailable else {
            throw ValidationError("this pde-bench was built without MPI: build with `swift build -c release --traits MPI` (or `make bench-deps`)")
        }
        let rankList = try ranks.split(separator: ",").map { s -> Int in
            guard let r = Int(s), r >= 1 else { throw ValidationError("--ranks: \(s) is not a positive integer") }
            return r
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let rec = BenchRecorder(path: options.results)
        print("pde-bench mpi — one thread per rank, \(cores) cores, rtol \(rtol)\(iterations > 0 ? " or \(iterations) iterations" : ""), x0 = 0, \(red.rawValue) reductions\n")
        var results: [[String: Any]] = []
        for np in rankList {
            let over = np > cores
            let bind = over ? ["--bind-to", "none"] : ["--bind-to", "core"]
            let selfPath = CommandLine.arguments[0]
            var args = ["-np", "\(np)", "--allow-run-as-root"] + (over ? ["--oversubscribe"] : []) + bind
                + ["-x", "SWIFTPDE_THREADS=1", "-x", "OPENBLAS_NUM_THREADS=1",
                   selfPath, "mpi", "--worker", "--repeat", "\(options.repetitions)", "--rtol", "\(rtol)",
                   "--variants", variants, "--reductions", reductions, "--iterations", "\(iterations)"]
                + (latency && np > 1 ? ["--latency"] : []) + ["--cases"] + cases
            for line in try MPISuite.mpirun(args) {
                var o = line
                o["oversubscribed"] = over
                results.append(o)
            }
            if !options.noPeers {
                for c in parsed where c.kind != "ns2d" {
                    args = ["-np", "\(np)", "--allow-run-as-root"] + (over ? ["--oversubscribe"] : []) + bind
                        + ["-x", "OMP_NUM_THREADS=1", "-x", "OPENBLAS_NUM_THREADS=1",
                           "/usr/bin/python3", options.peerDir + "/petsc_cg_mpi.py", "--kind", c.kind, "--n", "\(c.n)",
                           "--pcs", petscPcs, "--ksps", petscKsps,
                           "--rtol", "\(rtol)", "--repeat", "\(options.repetitions)", "--max-it", "\(iterations > 0 ? iterations : 100_000)"]
                    for line in (try? MPISuite.mpirun(args)) ?? [] {
                        var o = line
                        o["oversubscribed"] = over
                        results.append(o)
                    }
                }
            }
        }
        // The communication model's figures.
        let lat = results.filter { $0["tool"] as? String == "latency" }
        if !lat.isEmpty {
            print("== communication (loopback, shared memory)")
            var rows: [[String]] = []
            for o in lat {
                rec.record(o.merging(["suite": "mpi"]) { a, _ in a })
                rows.append(["\(o["operation"] ?? "")", "\(o["ranks"] ?? "")", "\(o["bytes"] ?? "")",
                             String(format: "%.2f µs", 1e6 * (o["seconds"] as? Double ?? .nan))])
            }
            printTable(["operation", "ranks", "bytes", "time"], rows)
            print("")
        }
        // Table: per case and tool, seconds at each np, efficiency against np = 1, ratio to PETSc cg.
        for c in parsed {
            let name = "\(c.kind)-\(c.n)"
            print("== \(name)")
            var rows: [[String]] = []
            let tools = Array(Set(results.filter { $0["case"] as? String == name }.compactMap { $0["tool"] as? String })).sorted()
            for tool in tools {
                let mine = results.filter { $0["case"] as? String == name && $0["tool"] as? String == tool }
                let t1 = mine.first { ($0["ranks"] as? Int) == 1 }?["solve_seconds"] as? Double
                for o in mine.sorted(by: { ($0["ranks"] as? Int ?? 0) < ($1["ranks"] as? Int ?? 0) }) {
                    let np = o["ranks"] as? Int ?? 0
                    let t = o["solve_seconds"] as? Double ?? .nan
                    let eff = t1.map { $0 / (Double(np) * t) }
                    // MG-PCG against PETSc's CG + GAMG, the CG variants against PETSc's plain CG.
                    let peerTool = tool == "swiftpde_mg_pcg" ? "petsc_cg_gamg" : "petsc_cg"
                    let petsc = results.first { $0["case"] as? String == name && $0["tool"] as? String == peerTool && ($0["ranks"] as? Int) == np }?["solve_seconds"] as? Double
                    var out = o
                    out["suite"] = "mpi"
                    if let eff { out["parallel_efficiency"] = eff }
                    if let petsc, tool.hasPrefix("swiftpde") { out["ratio_to_peer"] = t / petsc; out["peer"] = peerTool }
                    out["threads"] = 1
                    rec.record(out)
                    rows.append([tool, "\(np)\((o["oversubscribed"] as? Bool ?? false) ? " (over)" : "")", "\(o["iterations"] ?? "")",
                                 formatSeconds(t), String(format: "%.2f ms", 1e3 * (o["sec_per_iter"] as? Double ?? .nan)),
                                 eff.map { String(format: "%.0f%%", 100 * $0) } ?? "",
                                 (petsc != nil && tool.hasPrefix("swiftpde")) ? String(format: "%.2f×", t / petsc!) : "",
                                 String(format: "%.1e", o["rel_residual"] as? Double ?? .nan)])
                }
            }
            printTable(["tool", "ranks", "its", "solve", "per it", "efficiency", "vs petsc (cg; mg: cg+gamg)", "‖b−Ax‖/‖b‖"], rows)
            print("")
        }
        try rec.flush()
    }

    struct Case { let kind: String; let n: Int }

    static func parseCase(_ s: String) throws -> Case {
        let parts = s.split(separator: "-")
        guard parts.count == 2, ["poisson2d", "poisson3d", "ns2d"].contains(String(parts[0])), let n = Int(parts[1]), n >= 2 else {
            throw ValidationError("case \(s): expected poisson2d-N, poisson3d-N (N ≥ 2 unknowns per axis) or ns2d-N (Navier–Stokes, N × N points)")
        }
        return Case(kind: String(parts[0]), n: n)
    }

    /// Runs mpirun with `arguments`, returns the JSON lines it printed; throws on a non-zero exit.
    static func mpirun(_ arguments: [String]) throws -> [[String: Any]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["mpirun"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        try p.run()
        var objects: [[String: Any]] = []
        var pending = Data()
        let h = out.fileHandleForReading
        while true {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<nl]
                pending = Data(pending[(nl + 1)...])
                if let o = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] {
                    objects.append(o)
                    print("  \(o["tool"] ?? "?") np=\(o["ranks"] ?? "?") \(o["case"] ?? "?"): \(o["iterations"] ?? "?") its, \(formatSeconds(o["solve_seconds"] as? Double ?? .nan))")
                } else if let s = String(data: line, encoding: .utf8) {
                    print("  | \(s)")
                }
            }
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ValidationError("mpirun \(arguments.joined(separator: " ")) exited with status \(p.terminationStatus)")
        }
        return objects
    }

    /// Median time of allreduce and of a neighbour exchange (rank r with r xor 1) by size.
    func runLatency() throws {
        let world = try Communicator.world()
        func median(_ reps: Int, _ body: () throws -> Void) throws -> Double {
            var t: [Double] = []
            for _ in 0..<reps {
                try world.barrier()
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                t.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            }
            t.sort()
            return t[t.count / 2]
        }
        for count in [1, 3, 2048, 16384, 131072] {
            var v = [Double](repeating: 1, count: count)
            let reps = count > 10000 ? 200 : 2000
            let tr = try median(reps) { try world.allreduce(&v, .sum) }
            let partner = world.rank ^ 1
            let send = [Double](repeating: 1, count: count)
            var recv = send
            let te = try median(reps) {
                try send.withUnsafeBufferPointer { sp in
                    try recv.withUnsafeMutableBufferPointer { rp in
                        try world.exchange(send: sp, to: partner < world.size ? partner : nil, receive: rp,
                                           from: partner < world.size ? partner : nil)
                    }
                }
            }
            if world.rank == 0 {
                for (op, t) in [("allreduce", tr), ("sendrecv", te)] {
                    let o: [String: Any] = ["tool": "latency", "operation": op, "ranks": world.size, "bytes": 8 * count, "seconds": t]
                    if let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) {
                        print(String(decoding: data, as: UTF8.self))
                        fflush(stdout)
                    }
                }
            }
        }
    }

    /// One rank: builds each case on the world communicator, solves `repetitions` times from
    /// x0 = 0, and prints the median (rank 0).
    func runWorker(_ parsed: [Case], _ variantList: [String], _ red: DistributedGrid.Reductions) throws {
        let world = try Communicator.world()
        for c in parsed {
            if c.kind == "ns2d" {
                try runNavierStokes(c.n, world)
                continue
            }
            let dim = c.kind == "poisson2d" ? 2 : 3
            let nodes = try Grid.unit(dimension: dim, nodesPerAxis: c.n + 2)
            let a = try DistributedLaplacian(nodes: nodes, communicator: world, layout: .slab, reductions: red)
            let g = a.grid
            // b = A u_exact, u_exact = Π sin(πt) e^t (poisson_matrix.py's sinexp).
            let h = nodes.spacing[0]
            let uExact = g.localVector { gi in
                var rest = gi, u = 1.0
                for _ in 0..<dim {
                    let t = Double(rest % c.n + 1) * h
                    u *= sin(.pi * t) * exp(t)
                    rest /= c.n
                }
                return u
            }
            var b = [Double](repeating: 0, count: g.ownedCount)
            try a.apply(uExact, into: &b)
            for name in variantList {
                var mg: DistributedMultigrid?
                var setup = 0.0
                if name == "mg" {
                    guard c.n % 2 == 1 else {
                        if world.rank == 0 { print("  (mg skipped on \(c.kind)-\(c.n): the distributed multigrid coarsens odd counts, e.g. \(c.n - 1))") }
                        continue
                    }
                    try world.barrier()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    mg = try DistributedMultigrid(a)
                    try world.barrier()
                    setup = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                }
                let v: DistributedConjugateGradient.Variant = name == "pipelined" ? .pipelined : .classic
                let solver = DistributedConjugateGradient(IterativeOptions(relativeTolerance: rtol, maxIterations: iterations > 0 ? iterations : IterativeOptions.defaultMaxIterations * 10,
                                                                             recordHistory: false), variant: v)
                var times: [Double] = []
                var report: SolverReport?
                var error = 0.0
                for _ in 0..<max(1, options.repetitions) {
                    var x = [Double](repeating: 0, count: g.ownedCount)
                    try world.barrier()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    report = try solver.solve(a, b, x: &x, preconditioner: mg)
                    try world.barrier()
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
                    var e = [Double](repeating: 0, count: g.ownedCount)
                    for i in e.indices { e[i] = x[i] - uExact[i] }
                    error = try g.norm(e) / g.norm(uExact)
                }
                let sorted = times.sorted()
                let med = sorted[sorted.count / 2]
                if world.rank == 0, let r = report {
                    var o: [String: Any] = ["tool": name == "mg" ? "swiftpde_mg_pcg" : "swiftpde_\(name)_cg", "case": "\(c.kind)-\(c.n)", "ranks": world.size,
                                            "rows": g.decomposition.globalCount, "iterations": r.iterations, "solve_seconds": med,
                                            "all_seconds": times, "sec_per_iter": med / Double(max(1, r.iterations)),
                                            "rel_residual": r.trueRelativeResidual, "rel_error": error, "reason": r.reason.petscName,
                                            "reductions": red.rawValue, "decomposition": g.decomposition.processes]
                    if let mg { o["setup_seconds"] = setup; o["levels"] = mg.levelCount }
                    if let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) {
                        print(String(decoding: data, as: UTF8.self))
                        fflush(stdout)
                    }
                }
            }
        }
    }

    /// 100 Crank–Nicolson/Euler steps of `DistributedNavierStokes2D` on the FNO setting (ν = 1e-3,
    /// dt = 1e-4, the FNO forcing) from a smooth field; a JSON line like the CG cases' (an
    /// "iteration" is a step).
    func runNavierStokes(_ n: Int, _ world: Communicator) throws {
        let grid = try PeriodicGrid.unit(dimension: 2, pointsPerAxis: n)
        let rows = try DistributedNavierStokes2D.rows(pointsPerAxis: n, communicator: world)
        func mine(_ f: [Double]) -> [Double] { Array(f[(rows.lowerBound * n)..<(rows.upperBound * n)]) }
        let forcing = mine(NavierStokes2D.fnoForcing(on: grid))
        let w0 = mine(grid.sample { p in sin(2 * .pi * p[0]) + cos(4 * .pi * p[1]) + 0.5 * sin(2 * .pi * (p[0] + p[1])) })
        let ns = try DistributedNavierStokes2D(grid: grid, viscosity: 1e-3, timeStep: 1e-4, forcing: forcing, communicator: world)
        let steps = 100
        var times: [Double] = []
        for _ in 0..<max(1, options.repetitions) {
            try ns.load(w0)
            try world.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            try ns.step(steps)
            try world.barrier()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        let med = times.sorted()[times.count / 2]
        if world.rank == 0 {
            let o: [String: Any] = ["tool": "swiftpde_ns2d", "case": "ns2d-\(n)", "ranks": world.size, "rows": n * n, "iterations": steps,
                                    "solve_seconds": med, "all_seconds": times, "sec_per_iter": med / Double(steps),
                                    "rel_residual": 0.0, "reason": "steps"]
            if let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
                fflush(stdout)
            }
        }
    }
}
