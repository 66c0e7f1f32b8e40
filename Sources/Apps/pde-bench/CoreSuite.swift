import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench core`: SpMV bandwidth against STREAM triad, CHOLMOD against scikit-sparse.
struct CoreSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "SpMV effective bandwidth vs STREAM triad; CHOLMOD analyze/factorize/solve vs scikit-sparse.")

    @OptionGroup var options: BenchOptions

    @Option(help: "2-D SpMV grid: n×n interior nodes (5-point).")
    var spmv2d = 2048

    @Option(help: "3-D SpMV grid: n³ interior nodes (7-point).")
    var spmv3d = 128

    @Option(parsing: .upToNextOption, help: "2-D Poisson sizes (n×n interior) for CHOLMOD.")
    var cholmod: [Int] = [512, 1024]

    @Option(help: "CHOLMOD ordering: \(CholmodFactorization.Ordering.allCases.map(\.rawValue).joined(separator: ", ")).")
    var ordering = "amd"

    func run() throws {
        try options.validateRelease()
        guard let ord = CholmodFactorization.Ordering(rawValue: ordering) else {
            throw ValidationError("--ordering \(ordering): expected one of \(CholmodFactorization.Ordering.allCases.map(\.rawValue))")
        }
        let rec = BenchRecorder(path: options.results)
        print("pde-bench core — \(Parallel.workerCount) threads\n")

        // STREAM triad, 2e7 doubles per array (160 MB, far beyond cache).
        let n = 20_000_000
        var a = [Double](repeating: 0, count: n)
        let b = [Double](repeating: 1, count: n), c = [Double](repeating: 2, count: n)
        MemoryBandwidth.triad(&a, b, c, scalar: 3)  // first touch
        let triadTime = (0..<options.repetitions).map { _ in measureSeconds { MemoryBandwidth.triad(&a, b, c, scalar: 3) } }.min()!
        let triadGBs = 24.0 * Double(n) / triadTime / 1e9
        rec.record(["suite": "core", "case": "stream_triad", "tool": "swiftpde", "n": n, "seconds": triadTime, "gb_per_s": triadGBs])
        a = []

        var spmvRows: [[String]] = []
        for (label, grid) in [("poisson2d", try Grid.unit(dimension: 2, nodesPerAxis: spmv2d + 2)),
                              ("poisson3d", try Grid.unit(dimension: 3, nodesPerAxis: spmv3d + 2))] {
            let m = try FiniteDifference.laplacian(grid: grid)
            let x = (0..<m.columns).map { Double($0 % 7) * 0.25 }
            var y = [Double](repeating: 0, count: m.rows)
            m.apply(x, into: &y)
            let t = median((0..<max(options.repetitions, 10)).map { _ in measureSeconds { m.apply(x, into: &y) } })
            // Bytes moved: values (8) + column indices (4) per nonzero, row pointers (8) per row,
            // x read once (8) and y written once (8) per row — the minimum traffic.
            let bytes = Double(m.nonzeroCount) * 12 + Double(m.rows) * 24
            let gbs = bytes / t / 1e9
            let interior = label == "poisson2d" ? "\(spmv2d)²" : "\(spmv3d)³"
            spmvRows.append(["SpMV \(label) \(interior)", "\(m.rows)", "\(m.nonzeroCount)", formatSeconds(t),
                             String(format: "%.1f", gbs), String(format: "%.0f%%", 100 * gbs / triadGBs)])
            rec.record(["suite": "core", "case": "spmv_\(label)", "tool": "swiftpde", "rows": m.rows, "nnz": m.nonzeroCount,
                        "seconds": t, "gb_per_s": gbs, "fraction_of_triad": gbs / triadGBs])
        }
        spmvRows.append(["STREAM triad (Swift)", "\(n)", "", formatSeconds(triadTime), String(format: "%.1f", triadGBs), "100%"])
        for peer in runPeer("stream_numpy.py", [], options: options) where (peer["case"] as? String) == "stream_triad" {
            if let g = peer["gb_per_s"] as? Double, let s = peer["seconds"] as? Double {
                spmvRows.append(["STREAM triad (numpy, 1 thread)", "\(n)", "", formatSeconds(s), String(format: "%.1f", g),
                                 String(format: "%.0f%%", 100 * g / triadGBs)])
                rec.record(["suite": "core", "case": "stream_triad", "tool": "numpy", "n": n, "seconds": s, "gb_per_s": g, "threads": 1])
            }
        }
        printTable(["kernel", "rows", "nnz", "time", "GB/s", "of triad"], spmvRows)
        print()

        var cholRows: [[String]] = []
        for size in cholmod {
            let grid = try Grid.unit(dimension: 2, nodesPerAxis: size + 2)
            let m = try FiniteDifference.laplacian(grid: grid)
            // b = A u_exact with the peers' u = sin(πx) sin(πy) exp(x+y) at interior nodes.
            let h = 1.0 / Double(size + 1)
            var u = [Double](repeating: 0, count: m.rows)
            for j in 0..<size { for i in 0..<size {
                let x: Double = Double(i + 1) * h
                let y: Double = Double(j + 1) * h
                let s: Double = Foundation.sin(Double.pi * x) * Foundation.sin(Double.pi * y)
                u[i + size * j] = s * Foundation.exp(x + y)
            } }
            let rhs = try m.multiply(u)
            var analyze: [Double] = [], factor: [Double] = [], solve: [Double] = []
            var xs = [Double](repeating: 0, count: m.rows)
            var nnzL = 0
            for _ in 0..<min(options.repetitions, 3) {
                var chol: CholmodFactorization!
                analyze.append(try measureSeconds { chol = try CholmodFactorization.analyze(m, ordering: ord) })
                factor.append(try measureSeconds { try chol.factorize(m) })
                solve.append(try measureSeconds { try chol.solve(rhs, into: &xs) })
                nnzL = chol.factorNonzeros
            }
            let r = try m.multiply(xs)
            let relRes = Vectors.distance(r, rhs) / Vectors.norm2(rhs)
            let relL2 = Vectors.distance(xs, u) / Vectors.norm2(u)
            let (ta, tf, ts) = (median(analyze), median(factor), median(solve))
            cholRows.append(["swiftpde cholmod (\(ord.rawValue))", "\(size)²", formatSeconds(ta), formatSeconds(tf),
                             formatSeconds(ta + tf), formatSeconds(ts), String(format: "%.2e", relRes), ""])
            rec.record(["suite": "core", "case": "poisson2d_n\(size)_sinexp", "tool": "swiftpde_cholmod", "ordering": ord.rawValue,
                        "analyze_seconds": ta, "factorize_seconds": tf, "setup_seconds": ta + tf, "solve_seconds": ts,
                        "rel_residual": relRes, "rel_l2": relL2, "nnz_L": nnzL, "rows": m.rows])
            for peer in runPeer("cg_peers.py", ["--kind", "poisson2d", "--n", "\(size)", "--tools", "cholmod"], options: options) {
                guard let setup = peer["setup_seconds"] as? Double, let ps = peer["solve_seconds"] as? Double else {
                    cholRows.append(["scikit-sparse cholmod", "\(size)²", "", "", "", "", "", (peer["error"] as? String) ?? "no result"])
                    continue
                }
                let res = (peer["rel_residual"] as? Double).map { String(format: "%.2e", $0) } ?? ""
                cholRows.append(["scikit-sparse cholmod", "\(size)²", "", "", formatSeconds(setup), formatSeconds(ps), res,
                                 String(format: "ours/peer setup %.2f×, solve %.2f×", (ta + tf) / setup, ts / ps)])
                var o = peer
                o["suite"] = "core"
                rec.record(o)
            }
        }
        printTable(["solver", "n", "analyze", "factorize", "setup", "solve", "rel. residual", "ratio"], cholRows)
        try rec.flush()
    }
}

