import Foundation
import Support

/// The result of a mesh-free (kernel) method on a named problem: the solution on a uniform
/// evaluation grid with the reference where one exists, the iteration history, and what the
/// method learned.
public struct MeshFreeSolution: Sendable {
    /// Evaluation grid: points per axis and the box (1-D or 2-D), values in row-major order
    /// (the last axis fastest).
    public let counts: [Int]
    public let lower: [Double]
    public let upper: [Double]
    public let values: [Double]
    /// The exact or reference solution at the same points (nil when none is known).
    public let reference: [Double]?
    /// (iteration, objective or loss, test error when evaluated).
    public let history: [(iteration: Int, objective: Double, error: Double?)]
    /// Spectral-mixture weights against frequency (GP-HM), empty otherwise.
    public let spectrum: [(frequency: Double, weight: Double)]
    public let seconds: Double
    /// Lines for the run's summary (method-specific facts: points, jitter, convergence).
    public let notes: [String]

    /// RMS, maximum and relative L2 error against the reference.
    public var errors: (rms: Double, max: Double, relativeL2: Double)? {
        guard let reference else { return nil }
        var sum = 0.0, worst = 0.0, norm = 0.0
        for (a, b) in zip(values, reference) {
            sum += (a - b) * (a - b)
            norm += b * b
            worst = max(worst, abs(a - b))
        }
        return ((sum / Double(max(1, values.count))).squareRoot(), worst, (sum / max(norm, Double.leastNormalMagnitude)).squareRoot())
    }
}

/// A mesh-free PDE method chosen by name — the registry's third kind, next to iterative
/// methods and preconditioners: `pde-solve` configs with `solver: {method: gp-collocation}`
/// (or `gp-hm`) reach the kernel solvers through these entries. Parameters arrive as text
/// (from YAML) and are checked by the entry.
public struct MeshFreeMethodEntry: Sendable {
    public let name: String
    public let summary: String
    /// The problem names the method knows.
    public let problems: [String]
    /// Parameter keys with a short description each.
    public let parameters: [(key: String, meaning: String)]
    let solve: @Sendable (_ problem: String, _ parameters: SolverParameters, _ log: @escaping @Sendable (String) -> Void) throws -> MeshFreeSolution

    /// Solves `problem` with text `parameters`; unknown keys and problems throw typed errors.
    public func run(problem: String, parameters: [String: String], log: @escaping @Sendable (String) -> Void = { _ in })
        throws -> MeshFreeSolution {
        guard problems.contains(problem) else {
            throw PDEError.invalidValue(key: "problem", value: "'\(problem)'", expected: "one of \(problems.joined(separator: ", ")) for \(name)")
        }
        let known = Set(self.parameters.map(\.key))
        if let bad = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw PDEError.invalidValue(key: "options.\(bad)", value: "unknown option",
                                        expected: "one of \(self.parameters.map(\.key).joined(separator: ", ")) for \(name)")
        }
        return try solve(problem, SolverParameters(values: parameters, owner: name), log)
    }
}

extension SolverRegistry {
    /// The mesh-free methods: kernel collocation and GP-HM.
    public static let meshFreeMethods: [MeshFreeMethodEntry] = [
        MeshFreeMethodEntry(
            name: "gp-collocation",
            summary: "Gaussian-process kernel collocation with Gauss–Newton (Chen, Hosseini, Owhadi & Stuart 2021)",
            problems: CollocationCase.names,
            parameters: [("kernel", "gaussian | matern52 | matern72, default gaussian"),
                         ("lengthscale", "ℓ in exp(−d²/2ℓ²), one value or one per axis separated by commas, or ml (one ℓ maximizing the log marginal likelihood of the PDE data, amplitude profiled out); default the problem's"),
                         ("lengthscale_range", "with lengthscale ml: the range searched, two values separated by a comma, default 0.02,1"),
                         ("evaluations", "with lengthscale ml: solves in the search, default 20"),
                         ("nugget", "relative nugget, default 1e-10 (burgers 1e-5)"),
                         ("interior", "interior points, default 900 (burgers 1000)"),
                         ("boundary_per_side", "boundary points per side, default 31 (burgers 66)"),
                         ("sampling", "random | halton, default halton"),
                         ("seed", "seed of random points and of the N(0, 1) start, default 0"),
                         ("max_iterations", "Gauss–Newton iterations at most, default 30"),
                         ("step_solver", "qr | normal-equations, default normal-equations"),
                         ("test_points", "evaluation grid points per axis, default 60")],
            solve: solveCollocation),
        MeshFreeMethodEntry(
            name: "gp-hm",
            summary: "GP-HM: spectral-mixture GP on a grid for high-frequency solutions (Fang et al. 2024), one or two variables",
            problems: GPHMProblem1D.names + GPHMProblem2D.names,
            parameters: [("mode", "joint (the paper) | exact-inner (u solved for each kernel: 1-D Poisson and Allen–Cahn, 2-D Poisson and advection), default exact-inner in 1-D, joint in 2-D (the Kronecker PCG is slow to converge there)"),
                         ("inner_iterations", "2-D exact-inner: PCG iterations per step at most (warm-started), default 5000"),
                         ("shape", "student-t | gaussian, default student-t"),
                         ("points", "grid points, default the problem's"),
                         ("components", "mixture components Q, default 30"),
                         ("frequency_scale", "initial frequencies linspace(0, 1, Q)·scale, default the problem's"),
                         ("steps", "Adam steps, default 2000"),
                         ("learning_rate", "Adam learning rate, default 0.01"),
                         ("final_learning_rate", "fraction of the rate at the last step, cosine decay; default 1 (constant, the paper)"),
                         ("boundary_weight", "boundary likelihood weight, default 200 (advection 500)"),
                         ("jitter", "diagonal jitter of K, default 1e-6"),
                         ("evaluate_every", "test-error evaluations every this many steps, default 100"),
                         ("smooth_component", "true adds a component pinned at frequency 0 for a smooth part (per axis in 2-D), default false"),
                         ("precision_rate", "log τ and log v move at this multiple of the learning rate, default 1 (the paper)")],
            solve: solveGPHM),
    ]

    /// The mesh-free method called `name`; a typed error listing the names otherwise.
    public static func meshFreeMethod(_ name: String) throws -> MeshFreeMethodEntry {
        if let e = meshFreeMethods.first(where: { $0.name == name }) { return e }
        throw PDEError.invalidValue(key: "method", value: "'\(name)'", expected: "one of " + meshFreeMethods.map(\.name).joined(separator: ", "))
    }

    /// Whether `name` is a mesh-free method (configs of these need no grid or mesh).
    public static func isMeshFree(_ name: String) -> Bool { meshFreeMethods.contains { $0.name == name } }

    @Sendable private static func solveCollocation(_ problem: String, _ p: SolverParameters, _ log: @escaping @Sendable (String) -> Void) throws -> MeshFreeSolution {
        let burgers = problem == "burgers"
        let interior = try p.int("interior", default: burgers ? 1000 : 900, in: 1...20_000)
        let perSide = try p.int("boundary_per_side", default: burgers ? 66 : 31, in: 0...5000)
        let sampling = CollocationCase.Sampling(rawValue: try p.choice("sampling", CollocationCase.Sampling.allCases.map(\.rawValue), default: "halton"))!
        let seed = try p.int("seed", default: 0, in: 0...Int(Int32.max))
        let testPoints = try p.int("test_points", default: 60, in: 3...2000)
        let c = try CollocationCase.make(problem, interior: interior, boundaryPerSide: perSide, testPoints: testPoints,
                                         sampling: sampling, seed: UInt64(seed))
        var kernel = c.kernel
        let profileName = try p.choice("kernel", ["gaussian", "matern52", "matern72"], default: "gaussian")
        let profile: RadialProfile = profileName == "gaussian" ? .gaussian : profileName == "matern52" ? .matern52 : .matern72
        let searchLengthscale = p.values["lengthscale"] == "ml"
        for key in ["evaluations", "lengthscale_range"] where !searchLengthscale {
            if let value = p.values[key] {
                throw PDEError.invalidValue(key: "options.\(key)", value: value, expected: "only with lengthscale: ml (the marginal-likelihood search)")
            }
        }
        if let text = p.values["lengthscale"], !searchLengthscale {
            let ls = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !ls.isEmpty, ls.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }), ls.count == 1 || ls.count == 2 else {
                throw PDEError.invalidValue(key: "options.lengthscale", value: text,
                                            expected: "one positive lengthscale or one per axis (two) for gp-collocation")
            }
            kernel = try RadialKernel(profile, lengthscales: ls.map { $0! })
        } else if let radial = c.kernel as? RadialKernel, profile != .gaussian {
            kernel = try RadialKernel(profile, lengthscales: radial.lengthscales)
        }
        var options = CollocationOptions()
        options.nugget = try p.double("nugget", default: burgers ? 1e-5 : 1e-10, expected: "a non-negative finite nugget") { $0 >= 0 }
        options.maxIterations = try p.int("max_iterations", default: 30, in: 1...10_000)
        options.stepTolerance = 1e-10
        options.stepSolver = GaussNewtonStepSolver(rawValue: try p.choice("step_solver", GaussNewtonStepSolver.allCases.map(\.rawValue),
                                                                          default: "normal-equations"))!
        var g = SeededGenerator(seed: UInt64(seed) &+ 7)
        let start = c.pde.isLinear ? nil : (0..<((c.pde.functionals.count - 1) * c.interior.count)).map { _ in g.normal() }
        let t0 = Date()
        var searchNote: String?
        let solution: CollocationSolution
        if searchLengthscale {
            let text = p.values["lengthscale_range"] ?? "0.02,1"
            let bounds = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count == 2, bounds[0] > 0, bounds[1] > bounds[0], bounds[1].isFinite else {
                throw PDEError.invalidValue(key: "options.lengthscale_range", value: text, expected: "two lengthscales 0 < lower < upper, e.g. 0.02,1")
            }
            let evaluations = try p.int("evaluations", default: 20, in: 7...200)
            options.evidence = true
            log("gp-collocation on \(problem): \(c.interior.count) interior + \(c.boundary.count) boundary points, \(profileName) kernel, ℓ by marginal likelihood in [\(bounds[0]), \(bounds[1])]")
            let opts = options
            let search = try KernelCollocation.maximizingEvidence(over: bounds[0]...bounds[1], evaluations: evaluations) { l in
                let s = try KernelCollocation(kernel: try RadialKernel(profile, lengthscale: l), options: opts)
                    .solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues, initial: start)
                log(String(format: "  ℓ = %.5f  log evidence %.6e  (Gauss–Newton %d iterations", l, s.profiledLogMarginalLikelihood ?? .nan,
                           s.history.count) + (s.converged ? ")" : ", not converged)"))
                return s
            }
            solution = search.solution
            searchNote = String(format: "ℓ = %.5f by marginal likelihood (%d solves, log evidence %.6e)", search.lengthscale,
                                search.trace.count, solution.profiledLogMarginalLikelihood ?? .nan)
        } else {
            log("gp-collocation on \(problem): \(c.interior.count) interior + \(c.boundary.count) boundary points, kernel \(kernel)")
            solution = try KernelCollocation(kernel: kernel, options: options)
                .solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues, initial: start) { it in
                    log(String(format: "  Gauss–Newton %2d  objective %.6e  step %.3e  length %.3g", it.iteration, it.objective,
                               it.stepNorm, it.stepLength))
                }
        }
        let seconds = Date().timeIntervalSince(t0)
        // The evaluation grid: the case's test points when they form the full grid, else a grid of the box.
        let lower = problem == "burgers" ? [-1.0, 0.0] : [0.0, 0.0]
        let upper = [1.0, 1.0]
        let gridPoints = try CollocationPoints.grid(lower: lower, upper: upper, counts: [testPoints, testPoints])
        let values = try solution.predict(gridPoints)
        let reference: [Double]? = c.test.count == gridPoints.count ? c.reference : nil
        var notes = ["Gauss–Newton \(solution.converged ? "converged" : "did not converge") in \(solution.history.count) iterations",
                     String(format: "setup %.2f s, total %.2f s", solution.setupSeconds, seconds)]
        if let searchNote { notes.insert(searchNote, at: 0) }
        if solution.jitter > 0 { notes.append("Cholesky of Θ needed a jitter of \(solution.jitter)") }
        if reference == nil, let e = try? c.errors(solution) {
            notes.append(String(format: "RMS error %.3e, max %.3e at the %d reference points", e.rms, e.max, c.test.count))
        }
        return MeshFreeSolution(counts: [testPoints, testPoints], lower: lower, upper: upper, values: values, reference: reference,
                                history: solution.history.map { ($0.iteration, $0.objective, nil) }, spectrum: [],
                                seconds: seconds, notes: notes)
    }

    @Sendable private static func solveGPHM(_ problem: String, _ p: SolverParameters, _ log: @escaping @Sendable (String) -> Void) throws -> MeshFreeSolution {
        if GPHMProblem2D.names.contains(problem) { return try solveGPHM2D(problem, p, log) }
        let prob = try GPHMProblem1D.named(problem)
        var s = GPHM1D.Settings()
        s.lower = prob.lower
        s.upper = prob.upper
        s.points = try p.int("points", default: prob.points, in: 4...20_000)
        let common = try GPHMOptions(p, frequencyScale: prob.frequencyScale)
        s.components = common.components
        s.frequencyScale = common.frequencyScale
        s.steps = common.steps
        s.learningRate = common.learningRate
        s.finalLearningRateFraction = common.finalFraction
        s.boundaryWeight = common.boundaryWeight
        s.jitter = common.jitter
        s.evaluateEvery = common.evaluateEvery
        s.shape = common.shape
        s.smoothComponent = try p.choice("smooth_component", ["true", "false"], default: "false") == "true"
        s.precisionRateFactor = common.precisionRate
        if let value = p.values["inner_iterations"] {
            throw PDEError.invalidValue(key: "options.inner_iterations", value: value, expected: "no inner_iterations for the one-variable problem \(problem) (its inner solve is direct)")
        }
        let defaultMode = "exact-inner"      // Poisson: one solve; Allen–Cahn: Gauss–Newton (both 1-D)
        s.mode = GPHM1D.Mode(rawValue: try p.choice("mode", GPHM1D.Mode.allCases.map(\.rawValue), default: defaultMode))!
        log("gp-hm on \(problem): \(s.points) grid points, \(s.components) \(s.shape.rawValue) components, \(s.mode.rawValue), \(s.steps) steps")
        let result = try GPHM1D(settings: s).solve(prob.equation, source: prob.source,
                                                   boundary: (prob.exact(prob.lower), prob.exact(prob.upper)),
                                                   exact: prob.exact) { progress in
            if let e = progress.error {
                log(String(format: "  step %7d  loss %.6e  rel. L2 %.3e", progress.step, progress.loss, e))
            }
        }
        let m = s.evaluationPoints
        let x = (0..<m).map { prob.lower + (prob.upper - prob.lower) * Double($0) / Double(m - 1) }
        let values = try result.predict(x)
        let errorsByStep = Dictionary(result.errors.map { ($0.step, $0.error) }, uniquingKeysWith: { a, _ in a })
        let history = result.losses.enumerated().map { (iteration: $0.offset, objective: $0.element, error: errorsByStep[$0.offset]) }
        let spectrum = (0..<result.kernel.count).map { (result.kernel.frequencies[$0], exp(result.kernel.logWeights[$0])) }
        return MeshFreeSolution(counts: [m], lower: [prob.lower], upper: [prob.upper], values: values, reference: x.map(prob.exact),
                                history: history, spectrum: spectrum, seconds: result.seconds,
                                notes: [String(format: "%d Adam steps in %.1f s (final iterate reported)", s.steps, result.seconds),
                                        String(format: "boundary precision τ = %.4g, residual precision v = %.4g", exp(result.logTau), exp(result.logV))]
                                    + (s.smoothComponent ? [String(format: "smooth component: weight %.4g, lengthscale %.4g", exp(result.kernel.logWeights.last!),
                                                                   result.kernel.lengthscale(result.kernel.count - 1))] : []))
    }

    @Sendable private static func solveGPHM2D(_ problem: String, _ p: SolverParameters, _ log: @escaping @Sendable (String) -> Void) throws -> MeshFreeSolution {
        let prob = try GPHMProblem2D.named(problem)
        var s = GPHM2D.Settings()
        s.lower = prob.lower
        s.upper = prob.upper
        let n = try p.int("points", default: prob.points, in: 4...5000)
        s.points = [n, n]
        let common = try GPHMOptions(p, frequencyScale: prob.frequencyScale, boundaryWeight: prob.boundaryWeight)
        s.advectionSpeed = prob.advectionSpeed
        s.components = common.components
        s.frequencyScale = common.frequencyScale
        s.steps = common.steps
        s.learningRate = common.learningRate
        s.finalLearningRateFraction = common.finalFraction
        s.boundaryWeight = common.boundaryWeight
        s.jitter = common.jitter
        s.evaluateEvery = common.evaluateEvery
        s.shape = common.shape
        s.evaluationPoints = 300
        s.mode = GPHM1D.Mode(rawValue: try p.choice("mode", GPHM1D.Mode.allCases.map(\.rawValue), default: "joint"))!
        s.innerMaxIterations = try p.int("inner_iterations", default: 5000, in: 1...1_000_000)
        s.smoothComponent = try p.choice("smooth_component", ["true", "false"], default: "false") == "true"
        s.precisionRateFactor = common.precisionRate
        log("gp-hm on \(problem): \(n)² grid points, \(s.components) \(s.shape.rawValue) components per axis, \(s.mode.rawValue), \(s.steps) steps")
        let result = try GPHM2D(settings: s).solve(prob.equation, source: prob.source, boundary: prob.exact, exact: prob.exact) { progress in
            if let e = progress.error { log(String(format: "  step %7d  loss %.6e  rel. L2 %.3e", progress.step, progress.loss, e)) }
        }
        let m = s.evaluationPoints
        let ex = (0..<m).map { prob.lower[0] + (prob.upper[0] - prob.lower[0]) * Double($0) / Double(m - 1) }
        let ey = (0..<m).map { prob.lower[1] + (prob.upper[1] - prob.lower[1]) * Double($0) / Double(m - 1) }
        let u = try DenseMatrix(rows: n, columns: n, values: result.u)
        let values = try GPHM2D.interpolate(kernels: result.kernels, x: result.x, y: result.y, u: u, jitter: s.jitter, at: (ex, ey))
        let errorsByStep = Dictionary(result.errors.map { ($0.step, $0.error) }, uniquingKeysWith: { a, _ in a })
        let history = result.losses.enumerated().map { (iteration: $0.offset, objective: $0.element, error: errorsByStep[$0.offset]) }
        let spectrum = (0..<result.kernels[0].count).map { (result.kernels[0].frequencies[$0], exp(result.kernels[0].logWeights[$0])) }
        var notes = [String(format: "%d Adam steps in %.1f s (final iterate reported); spectrum: the x axis", s.steps, result.seconds)]
        if !result.innerIterations.isEmpty {
            notes.append("inner PCG iterations per step: mean \(result.innerIterations.reduce(0, +) / result.innerIterations.count)")
        }
        return MeshFreeSolution(counts: [m, m], lower: prob.lower, upper: prob.upper, values: values,
                                reference: ex.flatMap { a in ey.map { b in prob.exact(a, b) } }, history: history, spectrum: spectrum,
                                seconds: result.seconds, notes: notes)
    }
}

/// The options both GP-HM entries read (components, frequency scale, steps, learning rate,
/// boundary weight, jitter, evaluation interval, component shape), with their defaults.
private struct GPHMOptions {
    let components: Int, frequencyScale: Double, steps: Int, learningRate: Double, finalFraction: Double
    let boundaryWeight: Double, jitter: Double, evaluateEvery: Int, precisionRate: Double
    let shape: SpectralMixtureAxis.Shape

    init(_ p: SolverParameters, frequencyScale scale: Double, boundaryWeight defaultWeight: Double = 200) throws {
        components = try p.int("components", default: 30, in: 1...1000)
        frequencyScale = try p.double("frequency_scale", default: scale, expected: "a non-negative frequency scale") { $0 >= 0 }
        steps = try p.int("steps", default: 2000, in: 0...100_000_000)
        learningRate = try p.double("learning_rate", default: 0.01, expected: "a positive learning rate") { $0 > 0 }
        finalFraction = try p.double("final_learning_rate", default: 1, expected: "a fraction in (0, 1] of the learning rate (1: constant)") { $0 > 0 && $0 <= 1 }
        boundaryWeight = try p.double("boundary_weight", default: defaultWeight, expected: "a positive weight") { $0 > 0 }
        jitter = try p.double("jitter", default: 1e-6, expected: "a non-negative jitter") { $0 >= 0 }
        evaluateEvery = try p.int("evaluate_every", default: 100, in: 1...100_000_000)
        precisionRate = try p.double("precision_rate", default: 1, expected: "a positive factor on the learning rate of log τ and log v") { $0 > 0 }
        shape = SpectralMixtureAxis.Shape(rawValue: try p.choice("shape", SpectralMixtureAxis.Shape.allCases.map(\.rawValue), default: "student-t"))!
    }
}
