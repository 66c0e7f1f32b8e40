import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench gphm`: GP-HM (spectral-mixture GP on a grid) on the paper's 1-D problems, the
/// paper's joint Adam protocol against the exact inner solve.
struct GPHMSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gphm",
        abstract: "GP-HM on the paper's 1-D problems: joint Adam (the paper) vs exact inner solve; final-iterate relative L2 error and time.",
        discussion: """
        Relative L2 error on 300 uniform points at the final step (and the steps where it first
        went below 1e-3). Settings of the reference code: Q = 30 components, frequencies
        linspace(0, 1, Q)·scale, log weights log(1/Q), λ = 0, Adam lr 0.01, boundary weight 200,
        jitter 1e-6.
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Problems (comma-separated): \(GPHMProblem1D.names.joined(separator: ", ")).")
    var cases = "poisson1d-sin100x"
    @Option(help: "Modes (comma-separated): joint, exact-inner.")
    var modes = "exact-inner,joint"
    @Option(help: "Adam steps.")
    var steps = 2000
    @Option(help: "Kernel components: student-t (GP-HM-StM) or gaussian (GP-HM-GM).")
    var shape = "student-t"
    @Option(help: "Grid points (default: the reference code's per problem).")
    var points: Int?
    @Option(help: "Learning rate at the last step as a fraction of 0.01 (cosine decay); 1 keeps it constant (the paper).")
    var finalLearningRate = 1.0
    @Option(help: "Evaluate the test error every this many steps.")
    var evaluateEvery = 100
    @Option(help: "log τ and log v move at this multiple of the learning rate (1: the paper).")
    var precisionRate = 1.0
    @Option(help: "2-D exact inner solve: PCG iterations per step at most (warm-started).")
    var innerIterations = 5000
    @Flag(help: "Add a mixture component pinned at frequency 0 for the smooth part of the solution (per axis in 2-D).")
    var smoothComponent = false
    @Flag(help: "Also solve the Poisson problems by second-order finite differences and by the sine-series (DST-I) spectral method on the same grid (2-D: those with zero boundary values), errors on the same test points, with times.")
    var baselines = false
    @Option(help: "Boundary likelihood weight (default: the problem's, the paper's 200).")
    var boundaryWeight: Double?

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        guard let kernelShape = SpectralMixtureAxis.Shape(rawValue: shape) else { throw ValidationError("--shape: student-t or gaussian") }
        let rec = BenchRecorder(path: options.results)
        var rows: [[String]] = []
        var baselineRows: [[String]] = []
        for name in cases.split(separator: ",").map(String.init) {
            if GPHMProblem2D.names.contains(name) {
                for modeName in modes.split(separator: ",").map(String.init) {
                    guard let mode = GPHM1D.Mode(rawValue: modeName) else { throw ValidationError("--modes: joint, exact-inner") }
                    let equation = try GPHMProblem2D.named(name).equation
                    if mode == .exactInner && !equation.isLinear { continue }
                    rows.append(try run2D(name, mode: mode, shape: kernelShape, recorder: rec))
                    if baselines && equation == .poisson && modeName == modes.split(separator: ",").first.map(String.init) {
                        baselineRows.append(try baselineRow2D(try GPHMProblem2D.named(name), gphm: rows.last!, recorder: rec))
                    }
                }
                continue
            }
            let problem = try GPHMProblem1D.named(name)
            for modeName in modes.split(separator: ",").map(String.init) {
                guard let mode = GPHM1D.Mode(rawValue: modeName) else { throw ValidationError("--modes: joint, exact-inner") }
                var s = GPHM1D.Settings()
                s.points = points ?? problem.points
                s.lower = problem.lower
                s.upper = problem.upper
                s.shape = kernelShape
                s.frequencyScale = problem.frequencyScale
                s.steps = steps
                s.mode = mode
                s.evaluateEvery = evaluateEvery
                s.finalLearningRateFraction = finalLearningRate
                s.smoothComponent = smoothComponent
                s.precisionRateFactor = precisionRate
                print("\(name) (\(modeName), \(s.points) points, \(steps) steps\(smoothComponent ? ", smooth component" : ""))")
                var firstBelow: (Int, Double)?
                let t0 = Date()
                let result = try GPHM1D(settings: s).solve(problem.equation, source: problem.source,
                                                          boundary: (problem.exact(problem.lower), problem.exact(problem.upper)),
                                                          exact: problem.exact) { p in
                    if let e = p.error {
                        if e <= 1e-3 && firstBelow == nil { firstBelow = (p.step, Date().timeIntervalSince(t0)) }
                        print(String(format: "  step %6d  loss %.6e  rel. L2 %.3e", p.step, p.loss, e))
                    }
                }
                let final = result.errors.last!.error
                if baselines && problem.equation == .poisson && modeName == modes.split(separator: ",").first.map(String.init) {
                    baselineRows.append(try baselineRow(problem, points: s.points, evaluationPoints: s.evaluationPoints, gphm: final,
                                                        gphmSeconds: result.seconds, recorder: rec))
                }
                rows.append([name, modeName, "\(s.points)", "\(steps)", String(format: "%.3e", final),
                             firstBelow.map { "step \($0.0), \(String(format: "%.1f", $0.1)) s" } ?? "—",
                             String(format: "%.1f", result.seconds)])
                rec.record(["suite": "gphm", "case": name, "mode": modeName, "points": s.points, "steps": steps, "shape": shape,
                            "error": final, "seconds": result.seconds, "final_learning_rate": finalLearningRate, "smooth_component": smoothComponent, "precision_rate": precisionRate, "first_below_1e-3_step": firstBelow?.0 ?? -1,
                            "first_below_1e-3_seconds": firstBelow?.1 ?? -1])
            }
        }
        print("")
        printTable(["problem", "mode", "points", "steps", "final rel. L2", "first ≤ 1e-3", "total s"], rows)
        if !baselineRows.isEmpty {
            print("\nthe same grid by other methods (relative L2 on the same test points; 1-D: FD interpolated linearly, the sine series evaluated; 2-D: at the grid nodes; grid-method times: 1-D one call, the first at a size planning its DST, 2-D median of 3 after a warm-up):")
            printTable(["problem", "points", "GP-HM (s)", "finite differences (time)", "sine spectral (time)", "FD at 4× the points"], baselineRows)
        }
        try rec.flush()
    }

    /// Second-order finite differences and the sine-series spectral method on GP-HM's grid.
    func baselineRow(_ problem: GPHMProblem1D, points n: Int, evaluationPoints: Int, gphm: Double, gphmSeconds: Double,
                     recorder rec: BenchRecorder) throws -> [String] {
        let (a, b) = (problem.lower, problem.upper)
        let boundary = (problem.exact(a), problem.exact(b))
        let minusF: (Double) -> Double = { -problem.source($0) }     // GP-HM's equation is u″ = f
        let test = PoissonGridBaselines1D.nodes(lower: a, upper: b, points: evaluationPoints)
        let exact = test.map(problem.exact)
        func relative(_ values: [Double]) -> Double {
            var num = 0.0, den = 0.0
            for i in values.indices { num += (values[i] - exact[i]) * (values[i] - exact[i]); den += exact[i] * exact[i] }
            return (num / den).squareRoot()
        }
        func interpolate(_ u: [Double], _ m: Int) -> [Double] {
            test.map { x in
                let s = (x - a) / (b - a) * Double(m - 1)
                let i = min(m - 2, max(0, Int(s)))
                let t = s - Double(i)
                return u[i] * (1 - t) + u[i + 1] * t
            }
        }
        let t0 = Date()
        let fd = relative(interpolate(try PoissonGridBaselines1D.finiteDifference(source: minusF, lower: a, upper: b, boundary: boundary, points: n), n))
        let fdSeconds = Date().timeIntervalSince(t0)
        let fd4 = relative(interpolate(try PoissonGridBaselines1D.finiteDifference(source: minusF, lower: a, upper: b, boundary: boundary, points: 4 * n - 3), 4 * n - 3))
        let t1 = Date()
        let series = try PoissonGridBaselines1D.sineSpectral(source: minusF, lower: a, upper: b, boundary: boundary, points: n)
        let spectral = relative(test.map { series($0) })
        let spectralSeconds = Date().timeIntervalSince(t1)
        rec.record(["suite": "gphm", "case": problem.name, "mode": "baselines", "points": n, "gphm_error": gphm,
                    "fd_error": fd, "spectral_error": spectral, "fd4_error": fd4, "fd_seconds": fdSeconds, "spectral_seconds": spectralSeconds])
        return [problem.name, "\(n)", String(format: "%.2e (%.1f s)", gphm, gphmSeconds), String(format: "%.2e (%@)", fd, secondsText(fdSeconds)),
                String(format: "%.2e (%@)", spectral, secondsText(spectralSeconds)), String(format: "%.2e", fd4)]
    }

    /// "12.3 ms" or "1.23 s".
    func secondsText(_ t: Double) -> String { t < 1 ? String(format: "%.3g ms", t * 1e3) : String(format: "%.3g s", t) }

    /// The 2-D baselines on GP-HM's grid (zero boundary values only: the DST solvers have no
    /// boundary lift in 2-D), errors at the grid nodes (GP-HM's evaluation grid holds them).
    func baselineRow2D(_ problem: GPHMProblem2D, gphm: [String], recorder rec: BenchRecorder) throws -> [String] {
        let n = points ?? problem.points
        let x = PoissonGridBaselines1D.nodes(lower: problem.lower[0], upper: problem.upper[0], points: n)
        let y = PoissonGridBaselines1D.nodes(lower: problem.lower[1], upper: problem.upper[1], points: n)
        let exact = x.flatMap { xi in y.map { problem.exact(xi, $0) } }
        let scale = exact.reduce(0) { max($0, abs($1)) }
        for i in 0..<n { for j in 0..<n where i == 0 || j == 0 || i == n - 1 || j == n - 1 {
            guard abs(exact[i * n + j]) <= 1e-9 * max(1, scale) else {
                return [problem.name, "\(n)²", gphm[4] + " (" + gphm[6] + " s)", "— (boundary values ≠ 0)", "—", "—"]
            }
        } }
        // Median of 3 after a warm-up (the first call plans the DST with FFTW_MEASURE).
        func run(_ method: PoissonGridBaselines2D.Method, _ m: Int) throws -> (error: Double, seconds: Double) {
            var u: [Double] = []
            var times: [Double] = []
            for k in 0..<4 {
                let t0 = Date()
                u = try PoissonGridBaselines2D.solve(method, source: problem.source, lower: problem.lower, upper: problem.upper, points: [m, m])
                if k > 0 { times.append(Date().timeIntervalSince(t0)) }
            }
            // At GP-HM's nodes (every stride-th node of a finer grid).
            let stride = (m - 1) / (n - 1)
            var num = 0.0, den = 0.0
            for i in 0..<n { for j in 0..<n {
                let d = u[i * stride * m + j * stride] - exact[i * n + j]
                num += d * d; den += exact[i * n + j] * exact[i * n + j]
            } }
            return ((num / den).squareRoot(), times.sorted()[1])
        }
        let fd = try run(.finiteDifference, n), spectral = try run(.sineSpectral, n), fd4 = try run(.finiteDifference, 4 * n - 3)
        rec.record(["suite": "gphm", "case": problem.name, "mode": "baselines", "points": n, "gphm_error": Double(gphm[4]) ?? -1,
                    "fd_error": fd.error, "spectral_error": spectral.error, "fd4_error": fd4.error, "fd_seconds": fd.seconds,
                    "spectral_seconds": spectral.seconds, "fd4_seconds": fd4.seconds])
        return [problem.name, "\(n)²", gphm[4] + " (" + gphm[6] + " s)", String(format: "%.2e (%@)", fd.error, secondsText(fd.seconds)),
                String(format: "%.2e (%@)", spectral.error, secondsText(spectral.seconds)),
                String(format: "%.2e (%@)", fd4.error, secondsText(fd4.seconds))]
    }

    /// A 2-D problem with the paper's joint Adam protocol on the Kronecker grid.
    func run2D(_ name: String, mode: GPHM1D.Mode, shape: SpectralMixtureAxis.Shape, recorder rec: BenchRecorder) throws -> [String] {
        let problem = try GPHMProblem2D.named(name)
        var s = GPHM2D.Settings()
        let n = points ?? problem.points
        s.points = [n, n]
        s.lower = problem.lower
        s.upper = problem.upper
        s.shape = shape
        s.frequencyScale = problem.frequencyScale
        s.advectionSpeed = problem.advectionSpeed
        s.boundaryWeight = boundaryWeight ?? problem.boundaryWeight
        s.steps = steps
        s.evaluateEvery = evaluateEvery
        s.finalLearningRateFraction = finalLearningRate
        s.mode = mode
        s.innerMaxIterations = innerIterations
        s.precisionRateFactor = precisionRate
        s.smoothComponent = smoothComponent
        print("\(name) (\(mode.rawValue), \(n)² points, \(steps) steps\(mode == .exactInner ? ", ≤ \(innerIterations) PCG iterations per step" : ""))")
        var firstBelow: (Int, Double)?
        let t0 = Date()
        let result = try GPHM2D(settings: s).solve(problem.equation, source: problem.source, boundary: problem.exact,
                                                   exact: problem.exact) { p in
            if let e = p.error {
                if e <= 1e-2 && firstBelow == nil { firstBelow = (p.step, Date().timeIntervalSince(t0)) }
                print(String(format: "  step %6d  loss %.6e  rel. L2 %.3e", p.step, p.loss, e))
            }
        }
        let final = result.errors.last!.error
        if !result.innerIterations.isEmpty {
            print("  inner PCG iterations: first \(result.innerIterations.first!), mean \(result.innerIterations.reduce(0, +) / result.innerIterations.count), last \(result.innerIterations.last!)")
        }
        // Where the boundary data went: U's own misfit on the boundary nodes against the kernel
        // interpolant's there (with the jitter the interpolant at a node is not U itself).
        let grid = try DenseMatrix(rows: n, columns: n, values: result.u)
        let atNodes = try GPHM2D.interpolate(kernels: result.kernels, x: result.x, y: result.y, u: grid, jitter: s.jitter,
                                             at: (result.x, result.y))
        var misfitU = 0.0, misfitInterpolant = 0.0, boundaryCount = 0
        for i in 0..<n { for j in 0..<n where i == 0 || j == 0 || i == n - 1 || j == n - 1 {
            let g = problem.exact(result.x[i], result.y[j])
            misfitU += (result.u[i * n + j] - g) * (result.u[i * n + j] - g)
            misfitInterpolant += (atNodes[i * n + j] - g) * (atNodes[i * n + j] - g)
            boundaryCount += 1
        } }
        let (rmsU, rmsInterpolant) = ((misfitU / Double(boundaryCount)).squareRoot(), (misfitInterpolant / Double(boundaryCount)).squareRoot())
        print(String(format: "  boundary RMS misfit: grid values U %.3e, kernel interpolant at the same nodes %.3e", rmsU, rmsInterpolant))
        rec.record(["suite": "gphm", "case": name, "mode": mode.rawValue, "points": n, "steps": steps, "shape": shape.rawValue,
                    "error": final, "seconds": result.seconds, "first_below_1e-2_step": firstBelow?.0 ?? -1,
                    "precision_rate": precisionRate, "inner_iterations": innerIterations,
                    "boundary_rms_u": rmsU, "boundary_rms_interpolant": rmsInterpolant])
        return [name, mode.rawValue, "\(n)²", "\(steps)", String(format: "%.3e", final),
                firstBelow.map { "≤1e-2 at step \($0.0), \(String(format: "%.1f", $0.1)) s" } ?? "—", String(format: "%.1f", result.seconds)]
    }
}
