import Foundation
import Testing
@testable import PDE

/// The exact Cole–Hopf solution of u_t + (u²/2)_x = ν u_xx on the periodic unit interval:
/// u = −2ν φ_x/φ with φ = a₀ + Σ a_k e^{−ν(2πk)²t} cos(2πkx) solving the heat equation
/// (a₀ = 2 > Σ|a_k| = 1.4, so φ > 0).
private func coleHopf(_ x: Double, _ t: Double, nu: Double) -> Double {
    let modes: [(Double, Double)] = [(1, 0.8), (2, 0.4), (3, 0.2)]
    var phi = 2.0, phix = 0.0
    for (k, a) in modes {
        let w = 2 * Double.pi * k, d = a * exp(-nu * w * w * t)
        phi += d * cos(w * x)
        phix -= w * d * sin(w * x)
    }
    return -2 * nu * phix / phi
}

private func peerScript() -> String? {
    guard let folder = Python.peersFolder else { return nil }
    let path = folder + "/datagen_peer.py"
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// Runs the reference generator's Burgers case on n points, saving its first sample.
private func runPeer(n: Int, into folder: String) throws -> (u0: [Double], u1: [Double], output: String) {
    let r = try runProcess("/usr/bin/env", ["python3", peerScript()!, "--case", "burgers", "--n", "\(n)",
                                            "--samples", "1", "--save", folder])
    #expect(r.status == 0, "\(r.stderr)")
    return (try NPY.read(folder + "/burgers_u0.npy").doubles, try NPY.read(folder + "/burgers_u1.npy").doubles, r.stdout)
}

@Suite struct BurgersTests {
    let nu = 0.1

    func coleHopfError(points n: Int, dt: Double, time: Double) throws -> Double {
        let solver = try BurgersSolver(viscosity: nu, points: n, timeStep: dt)
        let x = (0..<n).map { Double($0) / Double(n) }
        let u = try solver.evolve(x.map { coleHopf($0, 0, nu: nu) }, to: time).final
        return maxAbsDifference(u, x.map { coleHopf($0, time, nu: nu) })
    }

    /// N = 256, dt = 1e-3, t = 0.5: observed max error 3.6e-12 (time error; the spatial
    /// error is at rounding already for N = 64). Tolerance 2e-11.
    @Test func matchesTheColeHopfSolution() throws {
        let e = try coleHopfError(points: 256, dt: 1e-3, time: 0.5)
        #expect(e < 2e-11, "max error \(e)")
    }

    /// ETDRK4 is fourth order: dt = 0.01, 0.005, 0.0025 to t = 0.5 (N = 256, spatial error
    /// ~1e-15) give errors 3.1e-8, 2.1e-9, 1.4e-10, observed order ≈ 3.9.
    @Test func fourthOrderInTime() throws {
        let dts = [0.01, 0.005, 0.0025]
        let errors = try dts.map { try coleHopfError(points: 256, dt: $0, time: 0.5) }
        let order = observedOrder(h: dts, errors: errors)
        #expect(order >= 3.5, "errors \(errors), order \(order)")
        #expect(order <= 4.5, "errors \(errors), order \(order)")
    }

    @Test func savedTimesMonitorAndBatchAgree() throws {
        let n = 64
        let solver = try BurgersSolver(viscosity: nu, points: n, length: 2, timeStep: 0.01)
        var g = SeededGenerator(seed: 3)
        let field = try PeriodicGaussianRandomField(grid: solver.grid, alpha: 2, tau: 5, sigma: 25)
        let u0s = try field.samples(3, using: &g)
        var calls = 0
        let run = try solver.evolve(u0s[1], to: 0.2, saving: [0, 0.1, 0.1, 0.2]) { p in
            calls += 1
            #expect(p.steps == 20 && abs(p.time - Double(p.step) * 0.01) < 1e-15)
        }
        #expect(calls == 20)
        #expect(run.states.count == 4 && run.times == [0, 0.1, 0.1, 0.2])
        #expect(maxAbsDifference(run.states[0], u0s[1]) < 1e-13)
        #expect(run.states[1] == run.states[2])
        // The mean is conserved.
        #expect(abs(run.final.reduce(0, +) - u0s[1].reduce(0, +)) < 1e-11)
        let continued = try solver.evolve(run.states[1], to: 0.1).final
        #expect(maxAbsDifference(continued, run.final) < 1e-12)
        for workers in [1, 2] {
            let batch = try solver.evolve(batch: u0s, to: 0.2, saving: [0.1, 0.2], workers: workers)
            #expect(batch.count == 3)
            #expect(batch[1].states[1] == run.final, "workers \(workers)")
            let single = try solver.evolve(u0s[2], to: 0.2).final
            #expect(batch[2].final == single)
        }
    }

    @Test func badInputsAreTypedErrors() throws {
        #expect(throws: PDEError.self) { try BurgersSolver(viscosity: 0, points: 64, timeStep: 1e-3) }
        #expect(throws: PDEError.self) { try BurgersSolver(viscosity: .nan, points: 64, timeStep: 1e-3) }
        #expect(throws: PDEError.self) { try BurgersSolver(viscosity: 0.1, points: 2, timeStep: 1e-3) }
        #expect(throws: PDEError.self) { try BurgersSolver(viscosity: 0.1, points: 64, length: -1, timeStep: 1e-3) }
        #expect(throws: PDEError.self) { try BurgersSolver(viscosity: 0.1, points: 64, timeStep: 0) }
        let s = try BurgersSolver(viscosity: 0.1, points: 16, timeStep: 0.1)
        let u0 = [Double](repeating: 0, count: 16)
        #expect(throws: PDEError.self) { try s.evolve([1, 2, 3], to: 0.1) }
        #expect(throws: PDEError.self) { try s.evolve(u0.enumerated().map { $0.offset == 3 ? .infinity : $0.element }, to: 0.1) }
        #expect(throws: PDEError.self) { try s.evolve(u0, to: 0.15) }      // not a multiple of dt
        #expect(throws: PDEError.self) { try s.evolve(u0, to: -0.1) }
        #expect(throws: PDEError.self) { try s.evolve(u0, to: 0.2, saving: [0.2, 0.1]) }
        #expect(throws: PDEError.self) { try s.evolve(u0, to: 0.2, saving: [0.3]) }
        #expect(throws: PDEError.self) { try s.evolve(batch: [u0, [0]], to: 0.1) }
        // A step far too large for the data: the solution blows up, reported as a typed error.
        let big = try BurgersSolver(viscosity: 1e-3, points: 16, timeStep: 1)
        #expect(throws: PDEError.self) { try big.evolve((0..<16).map { 1e6 * sin(2 * Double.pi * Double($0) / 16) }, to: 50) }
    }

    /// The reference generator (`datagen_peer.py --case burgers`, numpy ETDRK4, dt = 1e-4):
    /// its u0 evolved by us to t = 1 (10 000 steps) against its u1. N = 1024 takes ~4 s in a
    /// debug build, the peer included; observed relative max difference 7.5e-16,
    /// tolerance 1e-12. With SWIFTPDE_LONG_TESTS=1 the FNO size N = 8192 (~8 s for the
    /// peer on a quiet machine, ~10 s here in debug: ~20 s in all).
    @Test(.enabled(if: Python.has("numpy") && peerScript() != nil, "needs numpy and ../shared/peers/datagen_peer.py"))
    func agreesWithTheReferenceGenerator() throws {
        let dir = makeTemporaryFolder()
        let n = ProcessInfo.processInfo.environment["SWIFTPDE_LONG_TESTS"] == "1" ? 8192 : 1024
        let solver = try BurgersSolver(viscosity: 0.1, points: n, timeStep: 1e-4)
        let peer = try runPeer(n: n, into: dir)
        let u1 = try solver.evolve(peer.u0, to: 1).final
        let rel = maxAbsDifference(u1, peer.u1) / Vectors.maxAbs(peer.u1)
        #expect(rel < 1e-12, "N = \(n): relative max difference \(rel)")
    }
}
