import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench gp`: the Gaussian-process (kernel collocation) solvers on the papers' examples.
struct GPSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gp",
        abstract: "Kernel collocation with Gauss–Newton on the examples of Chen, Hosseini, Owhadi & Stuart: error, iterations and time.",
        discussion: """
        Cases: poisson, nonlinear-elliptic (−Δu + u³ = f, 900 + 124 points), burgers (ν = 0.02,
        space-time, 1000 + 198 points, Cole–Hopf reference), eikonal (ε = 0.1, finite-difference
        reference), darcy (variable coefficient, manufactured). Errors are RMS and max on the
        test grid at the final Gauss–Newton iterate.
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Cases (comma-separated).")
    var cases = "nonlinear-elliptic,burgers,eikonal,darcy"
    @Option(help: "Interior points (default: 900, Burgers 1000).")
    var interior: Int?
    @Option(help: "Boundary points per side (default: 31, Burgers 66).")
    var boundaryPerSide: Int?
    @Option(help: "Gaussian lengthscale(s) ℓ in exp(−d²/2ℓ²), comma-separated per axis (default: the case's).")
    var lengthscale: String?
    @Option(help: "Relative nugget (default: 1e-5 for Burgers as in the paper, 1e-10 otherwise).")
    var nugget: Double?
    @Option(help: "Gauss–Newton iterations at most (the iteration stops earlier when the step is below 1e-10 relative).")
    var iterations = 30
    @Option(help: "Point placement: random (the paper's) or halton (low-discrepancy interior, even boundary).")
    var sampling = "random"
    @Option(help: "Gauss–Newton step solver: qr or normal-equations.")
    var stepSolver = "qr"
    @Option(help: "Seed of the random points and of the N(0, 1) start.")
    var seed: UInt64 = 0

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        var rows: [[String]] = []
        for name in cases.split(separator: ",").map(String.init) {
            let nInt = interior ?? (name == "burgers" ? 1000 : 900)
            let perSide = boundaryPerSide ?? (name == "burgers" ? 66 : 31)
            guard let place = CollocationCase.Sampling(rawValue: sampling) else { throw ValidationError("--sampling: random or halton") }
            let c = try CollocationCase.make(name, interior: nInt, boundaryPerSide: perSide, sampling: place, seed: seed)
            var kernel = c.kernel
            if let lengthscale {
                let ls = lengthscale.split(separator: ",").compactMap { Double($0) }
                kernel = try RadialKernel(.gaussian, lengthscales: ls)
            }
            var opts = CollocationOptions()
            let nugget = self.nugget ?? (name == "burgers" ? 1e-5 : 1e-10)
            opts.nugget = nugget
            opts.stepTolerance = 1e-10
            opts.maxIterations = iterations
            guard let method = GaussNewtonStepSolver(rawValue: stepSolver) else {
                throw ValidationError("--step-solver: qr or normal-equations")
            }
            opts.stepSolver = method
            let solver = try KernelCollocation(kernel: kernel, options: opts)
            var g = SeededGenerator(seed: seed &+ 7)
            let kept = (c.pde.functionals.count - 1) * c.interior.count
            let start = (0..<kept).map { _ in g.normal() }
            print("\(name): \(c.interior.count) interior + \(c.boundary.count) boundary points, Θ \(c.boundary.count + c.pde.functionals.count * c.interior.count)², kernel \(kernel)")
            let t0 = Date()
            let s = try solver.solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues,
                                     initial: start) { it in
                print(String(format: "  GN %2d  objective %.6e  step %.3e  length %.3g  %.2f s", it.iteration, it.objective,
                             it.stepNorm, it.stepLength, it.seconds))
            }
            let seconds = Date().timeIntervalSince(t0)
            let (rmsError, maxError) = try c.errors(s)
            rows.append([name, "\(c.interior.count)+\(c.boundary.count)", "\(s.history.count)", String(format: "%.3e", rmsError),
                         String(format: "%.3e", maxError), String(format: "%.2f", s.setupSeconds), String(format: "%.2f", seconds),
                         s.jitter > 0 ? String(format: "%.1e", s.jitter) : "0"])
            rec.record(["suite": "gp", "case": name, "interior": c.interior.count, "boundary": c.boundary.count,
                        "iterations": s.history.count, "rms": rmsError, "max": maxError, "seconds": seconds,
                        "setup_seconds": s.setupSeconds, "nugget": nugget, "seed": Int(seed), "sampling": sampling, "step_solver": stepSolver, "kernel": "\(kernel)"])
        }
        print("")
        printTable(["case", "points", "GN its", "RMS error", "max error", "setup s", "total s", "jitter"], rows)
        try rec.flush()
    }
}
