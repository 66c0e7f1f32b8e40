import AppSupport
import ArgumentParser
import Foundation
import Learning
import Operators
import PDE

/// `pde-bench dcdm`: the deep conjugate direction method with a trained network against CG,
/// IC(0)-PCG, AMG-PCG and CHOLMOD on the fixed evaluation scenes.
struct DCDMSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcdm",
        abstract: "DCDM (trained network) vs CG, IC(0)-PCG, AMG-PCG and CHOLMOD on the evaluation scenes: iterations and time to 1e-4 and 1e-8.",
        discussion: """
        For every scene of --scenes (data/dcdm: plume, obstacles, pool; never used in
        training) whose dimension matches the network's and whose size is in --sizes: the
        pressure Poisson system, a smooth right-hand side (seeded white noise on the fluid
        cells smoothed by 8 damped Jacobi sweeps, unit norm), and each method to each
        tolerance, from x = 0. DCDM's
        time is split into network, SpMV + orthogonalization (the rest). Writes an SVG of
        the residual histories and a PNG of geometry | solution per scene into --plots.
        Geometric multigrid needs a box of unknowns and does not apply to masked domains;
        AMG-PCG stands for multigrid.
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Trained network (pde-train dcdm's network.safetensors).")
    var network = "runs/dcdm-64/network.safetensors"
    @Option(help: "Folder of evaluation scenes (scenes.json + NPY masks).")
    var scenes = "data/dcdm"
    @Option(help: "Grid sides to run (comma-separated), e.g. 64,128,256 or 32,64.")
    var sizes = "64,128,256"
    @Option(help: "Relative tolerances (comma-separated).")
    var tolerances = "1e-4,1e-8"
    @Option(help: "Iteration limit of every iterative method.")
    var maxIterations = 5000
    @Option(help: "Previous directions DCDM A-orthogonalizes against.")
    var directions = 2
    @Option(help: "What DCDM does when the network's direction cannot descend: none (stop, the paper's method) or jacobi (a Jacobi direction for that iteration).")
    var fallback = "none"
    @Option(help: "Reference methods besides DCDM (comma-separated): cg, icc-pcg, amg-pcg, cholmod (drop cholmod at 128³ in 3-D: its factorization's work grows as N²).")
    var methods = "cg,icc-pcg,amg-pcg,cholmod"
    @Option(help: "Folder for the SVG convergence plots and PNG panels (empty: none).")
    var plots = "bench-results/dcdm"
    @Flag(help: "Instead of solving: time the network's forward pass (batch 1, no gradient) on each selected scene next to the same network in PyTorch (dcdm_peer.py), and compare the predictions.")
    var inference = false

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let net = try DCDMNetwork<Float>.load(from: network)
        let d = net.configuration.dimension
        let wanted = Set(sizes.split(separator: ",").compactMap { Int($0) })
        let tols = tolerances.split(separator: ",").compactMap { Double($0) }
        guard !wanted.isEmpty, !tols.isEmpty else { throw ValidationError("--sizes and --tolerances need numbers") }
        guard ["none", "jacobi"].contains(fallback) else { throw ValidationError("--fallback: none or jacobi") }
        let chosen = Set(methods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        guard chosen.isSubset(of: ["cg", "icc-pcg", "amg-pcg", "cholmod"]) else {
            throw ValidationError("--methods: a comma-separated subset of cg, icc-pcg, amg-pcg, cholmod")
        }
        let rec = BenchRecorder(path: options.results)
        if !plots.isEmpty { try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true) }
        if inference {
            try timeInference(net, sizes: wanted, recorder: rec)
            return
        }
        print("pde-bench dcdm — network \(network) (\(d)-D, \(net.parameterCount(Float.self)) parameters), k = \(directions), fallback \(fallback), \(Threads.count) threads\n")
        var rows: [[String]] = []
        for (name, domain) in try DCDMScenes.load(from: scenes) where domain.dimension == d && wanted.contains(domain.counts[0]) {
            let sys = try PressurePoissonSystem(domain)
            let b = smoothRightHandSide(sys, seed: 1)
            var histories: [(String, [Double])] = []
            var solution: [Double] = []
            for tol in tols {
                let opts = IterativeOptions(relativeTolerance: tol, maxIterations: maxIterations)
                var results: [(method: String, iterations: Int, seconds: Double, converged: Bool, note: String)] = []
                // DCDM with the network.
                let model = try DCDMDirectionModel(network: net, system: sys)
                var x = [Double](repeating: 0, count: sys.unknownCount)
                var dcdm = DeepConjugateDirection(opts, directions: directions)
                dcdm.jacobiFallback = fallback == "jacobi"
                let t0 = Date()
                let r = try dcdm.solve(sys.matrix, b, x: &x, model: model)
                let total = Date().timeIntervalSince(t0)
                results.append(("dcdm", r.iterations, total, r.reason.converged,
                                String(format: "network %.0f%%", 100 * model.networkSeconds / max(total, 1e-12))
                                    + (r.notes.first { $0.contains("came from the fallback") }.map { ", " + $0.components(separatedBy: " directions")[0] + " fallback" } ?? "")
                                    + (r.reason.converged ? "" : ", " + r.reason.rawValue
                                       + String(format: " at ‖r‖/‖b‖ = %.1e", (r.residualHistory.last ?? .nan) / VectorKernels.norm(b)))))
                if tol == tols.last { histories.append(("DCDM", r.residualHistory)); solution = x }
                for (method, pc) in [("cg", "none"), ("icc-pcg", "icc"), ("amg-pcg", "gamg")] where chosen.contains(method) {
                    let solver = try LinearSolver(matrix: sys.matrix, method: "cg", preconditioner: pc, options: opts)
                    let t = Date()
                    let (_, rep) = try solver.solve(b)
                    results.append((method, rep.iterations, Date().timeIntervalSince(t) + solver.setupSeconds, rep.reason.converged,
                                    rep.reason.converged ? "" : rep.reason.rawValue))
                    if tol == tols.last { histories.append((method, rep.residualHistory)) }
                }
                if chosen.contains("cholmod") {
                    let t = Date()
                    let chol = try CholmodFactorization(matrix: sys.matrix)
                    _ = try chol.solve(b)
                    results.append(("cholmod", 1, Date().timeIntervalSince(t), true, "factor + solve"))
                }
                let icc = results.first { $0.method == "icc-pcg" }
                for res in results {
                    rows.append([name, String(format: "%.0e", tol), res.method, res.converged ? "\(res.iterations)" : "(\(res.iterations))",
                                 res.method == "dcdm" ? icc.map { String(format: "%.2f", Double(res.iterations) / Double(max($0.iterations, 1))) } ?? "" : "",
                                 formatSeconds(res.seconds), res.note])
                    rec.record(["suite": "dcdm", "scene": name, "unknowns": sys.unknownCount, "tolerance": tol, "method": res.method,
                                "iterations": res.iterations, "converged": res.converged, "seconds": res.seconds, "note": res.note,
                                "network": network, "directions": directions, "fallback": fallback])
                }
            }
            if !plots.isEmpty {
                var plot = SVGLinePlot(title: "\(name): relative residual", xLabel: "iteration", yLabel: "‖r‖ / ‖b‖", logY: true)
                let bn = VectorKernels.norm(b)
                for (label, h) in histories { plot.series.append(.init(label: label, y: h.map { $0 / bn })) }
                try plot.write(to: "\(plots)/\(name).svg")
                if d == 2 {
                    let geometry = sys.domain.cells.map { Double($0.rawValue) }
                    try HeatMap.writeRow([("cells (0 fluid, 1 solid, 2 air)", geometry), ("pressure (DCDM)", sys.scatter(solution))],
                                         width: domain.counts[0], height: domain.counts[1], to: "\(plots)/\(name).png")
                }
            }
        }
        printTable(["scene", "rtol", "method", "iterations", "vs IC(0)", "time", "note"], rows)
        try rec.flush()
    }

    /// The network's forward time (median of --repeat after 2 warm-ups, batch 1, float32, no
    /// gradient) on the smooth right-hand side of each selected scene, then the same inputs
    /// through `dcdm_peer.py` (the network rebuilt in PyTorch from the same file): times,
    /// ratio, and the largest difference of the predictions relative to their largest value.
    func timeInference(_ net: DCDMNetwork<Float>, sizes: Set<Int>, recorder rec: BenchRecorder) throws {
        let d = net.configuration.dimension
        print("pde-bench dcdm --inference — network \(network) (\(d)-D, \(net.parameterCount(Float.self)) parameters), \(Threads.count) threads, median of \(options.repetitions) forward passes after 2 warm-ups\n")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dcdm-inference-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var ours: [(name: String, shape: [Int], seconds: Double, prediction: [Float], input: String)] = []
        for (name, domain) in try DCDMScenes.load(from: scenes) where domain.dimension == d && sizes.contains(domain.counts[0]) {
            let sys = try PressurePoissonSystem(domain)
            let model = try DCDMDirectionModel(network: net, system: sys)
            let input = try model.networkInput(for: smoothRightHandSide(sys, seed: 1))
            let x = Variable(input)
            var times: [Double] = []
            var prediction: [Float] = []
            for i in 0..<(options.repetitions + 2) {
                let t = try measureSeconds { prediction = try Autodiff.withoutGradient { try net(x) }.value.scalars }
                if i >= 2 { times.append(t) }
            }
            let path = "\(folder)/\(name).npy"
            try NPY.write(input.scalars, shape: input.shape, to: path)
            ours.append((name, input.shape, median(times), prediction, path))
        }
        guard !ours.isEmpty else { throw ValidationError("no scene of the network's dimension (\(d)-D) has a size in --sizes") }
        let peers = runPeer("dcdm_peer.py", ["--network", network, "--inputs", ours.map(\.input).joined(separator: ","),
                                             "--threads", "\(Threads.count)", "--reps", "\(max(options.repetitions, 5))"], options: options)
        var rows: [[String]] = []
        for o in ours {
            let peer = peers.first { ($0["input"] as? String) == o.input }
            let pt = peer?["seconds"] as? Double
            var difference = "—"
            if let out = peer?["output"] as? String {
                let theirs = try NPY.read(out).doubles
                if theirs.count == o.prediction.count {
                    let scale = o.prediction.reduce(0) { max($0, abs(Double($1))) }
                    let diff = zip(o.prediction, theirs).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
                    difference = String(format: "%.1e", diff / max(scale, .leastNormalMagnitude))
                } else {
                    difference = "size \(theirs.count) ≠ \(o.prediction.count)"
                }
            }
            let note = (peer?["skipped"] as? String).map { "skipped: \($0)" } ?? (peer?["tool"] as? String) ?? "(peer not run)"
            rows.append([o.name, shapeString(o.shape), formatSeconds(o.seconds), pt.map(formatSeconds) ?? "—",
                         pt.map { String(format: "%.2f×", o.seconds / $0) } ?? "—", difference, note])
            rec.record(["suite": "dcdm-inference", "scene": o.name, "shape": o.shape, "tool": "swiftpde", "seconds": o.seconds,
                        "network": network, "threads": Threads.count])
            if var p = peer, pt != nil {
                p["suite"] = "dcdm-inference"
                p["scene"] = o.name
                p["max_relative_difference"] = difference
                rec.record(p)
            }
        }
        printTable(["scene", "input", "SwiftPDE", "PyTorch", "ratio", "max |Δ| / max |y|", "peer"], rows)
        try rec.flush()
    }

    /// White noise on the fluid cells, smoothed by 8 Jacobi sweeps of the system, unit norm.
    func smoothRightHandSide(_ sys: PressurePoissonSystem, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        var v = (0..<sys.unknownCount).map { _ in g.normal() }
        let a = sys.matrix, diag = a.diagonal()
        var av = v
        for _ in 0..<8 {
            a.apply(v, into: &av)
            for i in v.indices { v[i] -= 0.5 * av[i] / diag[i] }
        }
        let n = VectorKernels.norm(v)
        return v.map { $0 / n }
    }
}
