import Foundation
import Testing
@testable import PDE

/// 2-D Navier–Stokes (vorticity form) on the torus: exact solutions, time order, the FNO
/// generator peer, CFL refusal, diagnostics.
@Suite struct NavierStokesTests {
    typealias NS = NavierStokes2D

    func relativeMaxError(_ a: [Double], _ b: [Double]) -> Double {
        maxAbsDifference(a, b) / Vectors.maxAbs(b)
    }

    func torus(_ n: Int, _ length: Double) throws -> PeriodicGrid {
        try PeriodicGrid(counts: [n, n], lengths: [length, length])
    }

    /// w = 2k cos(kx) cos(ky) e^{−2νk²t} solves the equations without forcing (u·∇w = 0).
    /// Crank–Nicolson's decay factor (1 − a)/(1 + a) vs e^{−2a}, a = νk²dt, errs by
    /// ~(2/3)a³ per step: 3.4e-8 relative after 100 steps here.
    @Test(arguments: NS.Scheme.allCases)
    func taylorGreenVortexDecaysAtTheExactRate(scheme: NS.Scheme) throws {
        let g = try torus(32, 2 * Double.pi)
        let k = 2.0, nu = 0.02, dt = 0.01, t = 1.0
        let w0 = g.sample { 2 * k * cos(k * $0[0]) * cos(k * $0[1]) }
        let model = try NS(grid: g, viscosity: nu, timeStep: dt, scheme: scheme)
        let out = try model.evolve(w0, to: [0, t])
        let exact = w0.map { $0 * exp(-2 * nu * k * k * t) }
        let err = relativeMaxError(out[1], exact)
        #expect(relativeMaxError(out[0], w0) < 1e-14)
        print("Navier–Stokes Taylor–Green (\(scheme)): relative max error \(err) at t = \(t)")
        #expect(err < 1e-6, "Taylor–Green relative error \(err) (\(scheme))")
    }

    /// Kolmogorov flow: body force F sin(κy) e_x, i.e. vorticity forcing f = −Fκ cos(κy), has
    /// the steady solution u = (U sin(κy), 0), U = F/(νκ²), w = −Uκ cos(κy). Started there it
    /// stays (to rounding) for 400 steps; a perturbation of the lowest-mode flow on the square
    /// torus (globally stable) decays.
    @Test func kolmogorovFlowIsSteadyAndAttracting() throws {
        let g = try torus(32, 2 * Double.pi)
        let kappa = 1.0, force = 0.02, nu = 0.05
        let amplitude = force / (nu * kappa * kappa)
        let f = g.sample { -force * kappa * cos(kappa * $0[1]) }
        let steady = g.sample { -amplitude * kappa * cos(kappa * $0[1]) }
        for scheme in NS.Scheme.allCases {
            let model = try NS(grid: g, viscosity: nu, timeStep: 0.05, scheme: scheme, forcing: f)
            let out = try model.evolve(steady, to: [20])
            let err = relativeMaxError(out[0], steady)
            print("Navier–Stokes Kolmogorov steady state (\(scheme)): relative drift \(err) after 400 steps")
            #expect(err < 1e-12, "Kolmogorov steady state drifted by \(err) (\(scheme))")
            let (u, v) = try model.velocity(of: steady)
            #expect(maxAbsDifference(u, g.sample { amplitude * sin(kappa * $0[1]) }) < 1e-14)
            #expect(Vectors.maxAbs(v) < 1e-14)
        }
        let model = try NS(grid: g, viscosity: nu, timeStep: 0.05, scheme: .crankNicolsonHeun, forcing: f)
        let perturbed = zip(steady, g.sample { 0.05 * cos(2 * $0[0]) * sin($0[1]) }).map { $0 + $1 }
        let t = 20.0
        let out = try model.evolve(perturbed, to: [t])
        let before = maxAbsDifference(perturbed, steady), after = maxAbsDifference(out[0], steady)
        print("Navier–Stokes Kolmogorov perturbation: \(before) → \(after) at t = \(t) (bound \(before * exp(-nu * t)))")
        #expect(after < before * exp(-nu * t), "perturbation \(before) → \(after)")
    }

    /// Errors at T against a fine-dt reference (Heun, dt/32) for dt, dt/2, dt/4: the Heun
    /// scheme is second order, the FNO generator's (forward Euler advection) first order.
    @Test func observedOrdersInTime() throws {
        let g = try torus(32, 1)
        let w0 = g.sample { p in
            3 * sin(2 * Double.pi * p[0]) * cos(4 * Double.pi * p[1]) + 2 * cos(2 * Double.pi * (p[0] + p[1]))
        }
        let f = NS.fnoForcing(on: g).map { 5 * $0 }
        let t = 0.5
        func run(_ scheme: NS.Scheme, _ steps: Int) throws -> [Double] {
            try NS(grid: g, viscosity: 0.01, timeStep: t / Double(steps), scheme: scheme, forcing: f).evolve(w0, to: [t])[0]
        }
        let reference = try run(.crankNicolsonHeun, 640)
        let steps = [20, 40, 80]
        let h = steps.map { t / Double($0) }
        for (scheme, range) in [(NS.Scheme.crankNicolsonHeun, 1.8...2.2), (.crankNicolsonEuler, 0.9...1.1)] {
            let errors = try steps.map { relativeMaxError(try run(scheme, $0), reference) }
            let order = observedOrder(h: h, errors: errors)
            print("Navier–Stokes \(scheme): errors \(errors) for dt = \(h), observed order \(order)")
            #expect(range.contains(order), "\(scheme): errors \(errors), order \(order)")
            #expect(errors[0] > 1e-7, "\(scheme): errors too small to measure an order: \(errors)")
        }
    }

    /// The FNO generator (`datagen_peer.py --case ns`, numpy/scipy): N = 64, its w0, 5 + 20
    /// steps of dt = 1e-4 with ν = 1e-3 and its forcing; its arrays are indexed [x, y].
    @Test(.enabled(if: Python.has("numpy", "scipy") && Python.peersFolder != nil, "needs numpy, scipy and ../shared/peers"))
    func matchesTheFNOGeneratorPeer() throws {
        let dir = makeTemporaryFolder()
        let r = try runProcess("/usr/bin/env", ["python3", Python.peersFolder! + "/datagen_peer.py", "--case", "ns", "--n", "64",
                                                "--batch", "1", "--steps", "20", "--threads", "1", "--save", dir])
        #expect(r.status == 0, "peer failed: \(r.stderr)")
        let w0 = try NPY.read(dir + "/ns_w0.npy"), w25 = try NPY.read(dir + "/ns_w_after_25_steps.npy")
        #expect(w0.shape == [1, 64, 64] && w25.shape == [1, 64, 64])
        let n = 64
        func transposed(_ a: [Double]) -> [Double] { (0..<n * n).map { l in a[(l % n) * n + l / n] } }
        let model = try NS.fno(pointsPerAxis: n)
        #expect(model.scheme == .crankNicolsonEuler && model.viscosity == 1e-3 && model.timeStep == 1e-4)
        let out = try model.step(transposed(w0.doubles), count: 25)
        let err = relativeMaxError(out, transposed(w25.doubles))
        print("Navier–Stokes vs FNO generator peer: relative max difference \(err) after 25 steps")
        #expect(err < 1e-8, "relative max difference to the peer \(err)")
    }

    /// A dt beyond the CFL limit is refused before the state changes, with the numbers.
    @Test func cflViolationIsRefusedWithTheNumbers() throws {
        let g = try torus(32, 1)
        let a = 40.0, kappa = 2 * Double.pi
        let w0 = g.sample { a * cos(kappa * $0[0]) * cos(kappa * $0[1]) }
        let model = try NS(grid: g, viscosity: 1e-3, timeStep: 0.02)
        let it = try NS.Integrator(model, initial: [w0])
        let umax = a / (2 * kappa)
        do {
            try it.step()
            Issue.record("a CFL number of 2 was accepted")
        } catch let e as NavierStokesCFLViolation {
            #expect(abs(e.maxVelocity - umax) < 1e-12 * umax)
            #expect(abs(e.cfl - umax * 0.02 * 32) < 1e-12)
            #expect(e.limit == 1 && e.timeStep == 0.02 && e.spacing == 1.0 / 32 && e.sample == 0)
            #expect(abs(e.largestStableTimeStep - 1.0 / 32 / umax) < 1e-15)
            for text in ["3.1831", "0.02", "0.03125", "2.03718", "limit 1", "0.00981748"] {
                #expect(e.description.contains(text), "\(e.description) lacks \(text)")
            }
        }
        #expect(it.stepCount == 0 && relativeMaxError(it.vorticity()[0], w0) < 1e-14)
        #expect(throws: NavierStokesCFLViolation.self) { try model.validateTimeStep(for: [w0]) }
        #expect(throws: NavierStokesCFLViolation.self) { try model.evolve(w0, to: [0.1]) }
        let safe = try NS(grid: g, viscosity: 1e-3, timeStep: 0.99 / 32 / umax)
        try safe.validateTimeStep(for: [w0])
        #expect(try safe.courantNumber(of: w0) < 1)
        _ = try safe.step(w0)
        // A looser limit accepts the original dt.
        _ = try NS(grid: g, viscosity: 1e-3, timeStep: 0.02, cflLimit: 2.5).step(w0)
    }

    /// Energy ½∫|u|², enstrophy ½∫w², max|w| and max|u| of w = A cos(κx) cos(κy) on a
    /// torus of period 2: ψ = w/(2κ²), u = −A cos(κx) sin(κy)/(2κ), so E = A²L²/(16κ²),
    /// Z = A²L²/8 (exact on the grid for a band-limited field).
    @Test func diagnosticsOfAnAnalyticField() throws {
        let l = 2.0, a = 1.5, kappa = 2 * Double.pi * 2 / l
        let g = try torus(32, l)
        let w = g.sample { a * cos(kappa * $0[0]) * cos(kappa * $0[1]) }
        let model = try NS(grid: g, viscosity: 0, timeStep: 1e-3)
        let d = try model.diagnostics(of: w)
        #expect(abs(d.kineticEnergy - a * a * l * l / (16 * kappa * kappa)) < 1e-14)
        #expect(abs(d.enstrophy - a * a * l * l / 8) < 1e-13)
        #expect(abs(d.maxVorticity - a) < 1e-14 && abs(d.maxVelocity - a / (2 * kappa)) < 1e-14)
        let (u, v) = try model.velocity(of: w)
        #expect(maxAbsDifference(u, g.sample { -a * cos(kappa * $0[0]) * sin(kappa * $0[1]) / (2 * kappa) }) < 1e-14)
        #expect(maxAbsDifference(v, g.sample { a * sin(kappa * $0[0]) * cos(kappa * $0[1]) / (2 * kappa) }) < 1e-14)
        // Inviscid, unforced: the Taylor–Green field is steady, its diagnostics too.
        var seen: [NS.Snapshot] = []
        _ = try model.evolve(w, to: [0, 0.01, 0.02]) { seen.append($0) }
        #expect(seen.map(\.step) == [0, 10, 20])
        #expect(seen.allSatisfy { abs($0.diagnostics[0].kineticEnergy - d.kineticEnergy) < 1e-13 })
    }

    /// A batch evolves as its samples do one by one (batched FFTs, one integrator).
    @Test func batchMatchesSingleSamples() throws {
        let model = try NS.fno(pointsPerAxis: 32, timeStep: 1e-3, scheme: .crankNicolsonHeun)
        var gen = SeededGenerator(seed: 7)
        let samples = (0..<3).map { s in
            model.grid.sample { p in
                Double(s + 1) * sin(2 * Double.pi * (p[0] + 2 * p[1])) + gen.normal() * 0.01
            }
        }
        let times = [0.005, 0.01]
        let batched = try model.evolve(batch: samples, to: times)
        for (s, w0) in samples.enumerated() {
            let one = try model.evolve(w0, to: times)
            for i in times.indices { #expect(maxAbsDifference(batched[s][i], one[i]) < 1e-13) }
        }
    }

    /// Bad inputs are typed errors naming the value.
    @Test func badInputsAreRejected() throws {
        let square = try torus(16, 1)
        #expect(throws: PDEError.self) { try NS(grid: PeriodicGrid(counts: [16, 8], lengths: [1, 1]), viscosity: 1, timeStep: 0.1) }
        #expect(throws: PDEError.self) { try NS(grid: square, viscosity: -1, timeStep: 0.1) }
        #expect(throws: PDEError.self) { try NS(grid: square, viscosity: 1, timeStep: 0) }
        #expect(throws: PDEError.self) { try NS(grid: square, viscosity: 1, timeStep: 0.1, forcing: [1, 2]) }
        let model = try NS(grid: square, viscosity: 1, timeStep: 0.1)
        let w = [Double](repeating: 0, count: 256)
        #expect(throws: PDEError.self) { try model.evolve(w, to: [0.15]) }
        #expect(throws: PDEError.self) { try model.evolve(w, to: [0.2, 0.1]) }
        #expect(throws: PDEError.self) { try model.evolve([1, 2, 3], to: [0.1]) }
        #expect(throws: PDEError.self) { try model.evolve(w.map { _ in .nan }, to: [0.1]) }
        #expect(try model.stepCounts([0, 0.1, 0.3, 5]) == [0, 1, 3, 50])
    }
}
