import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

/// Frames [1, T, n, n] of f(t, x, y) on points i/n in the given layout.
func frames(n: Int, times: [Double], layout: NavierStokesResidual.Layout = .yx, _ f: (Double, Double, Double) -> Double) throws -> Tensor<Double> {
    var v: [Double] = []
    for t in times { for a in 0..<n { for b in 0..<n {
        let (p, q) = (Double(a) / Double(n), Double(b) / Double(n))
        v.append(layout == .yx ? f(t, q, p) : f(t, p, q))   // .yx: rows are y, columns x
    } } }
    return try Tensor(shape: [1, times.count, n, n], scalars: v)
}

private let twoPi = 2 * Double.pi

@Suite struct NavierStokesResidualTests {
    @Test func aForcedSteadyStateHasAResidualAtRoundingLevel() throws {
        // w = f/(8π²ν) with f = 0.1(sin 2π(x+y) + cos 2π(x+y)): −νΔw = f and u·∇w = 0 (ψ ∝ w).
        let n = 32, nu = 1e-3
        for layout in NavierStokesResidual.Layout.allCases {
            let res = try NavierStokesResidual(points: n, viscosity: nu, timeStep: 0.2, forcing: NavierStokesResidual.fnoForcing(points: n), layout: layout)
            let w = try frames(n: n, times: (0..<6).map { Double($0) * 0.2 }, layout: layout) { _, x, y in
                0.1 * (sin(2 * .pi * (x + y)) + cos(2 * .pi * (x + y))) / (8 * .pi * .pi * nu)
            }
            let loss = try res.loss(Variable(w)).value.scalars[0]
            let scale = try res.negativeSobolevNorms(Variable(try Tensor<Double>(shape: [1, 1, n, n], scalars: NavierStokesResidual.fnoForcing(points: n)))).value.scalars[0]
            #expect(loss < 1e-13 * scale, "\(layout): \(loss) vs ‖f‖ \(scale)")
        }
    }

    @Test func taylorGreenIsExactInSpaceAndFourthOrderInTime() throws {
        // w = A cos 2πx cos 2πy e^{−8π²νt}: an unforced solution (u·∇w = 0).
        let n = 16, nu = 0.05, a = 3.0
        let decay = 8 * Double.pi * Double.pi * nu
        func tg(_ t: Double, _ x: Double, _ y: Double) -> Double { a * cos(twoPi * x) * cos(twoPi * y) * exp(-decay * t) }
        let times = (0..<6).map { Double($0) * 0.1 }
        let res = try NavierStokesResidual(points: n, viscosity: nu, timeStep: 0.1)
        let w = Variable(try frames(n: n, times: times, tg))
        let exactWt = Variable(try frames(n: n, times: times) { t, x, y in -decay * tg(t, x, y) })
        let norm = try res.negativeSobolevNorms(exactWt).value.scalars.max()!
        #expect(try res.loss(w, timeDerivative: exactWt).value.scalars[0] < 1e-14 * norm)
        // With ∂ₜw from the frames: fourth order in the spacing.
        var losses: [Double] = []
        for dt in [0.04, 0.02, 0.01] {
            let r = try NavierStokesResidual(points: n, viscosity: nu, timeStep: dt)
            losses.append(try r.loss(Variable(try frames(n: n, times: (0..<8).map { Double($0) * dt }, tg))).value.scalars[0])
        }
        let order = observedOrder(h: [0.04, 0.02, 0.01], errors: losses)
        #expect(order > 3.6 && order < 4.6, "order \(order), losses \(losses)")
    }

    @Test func aPerturbationRaisesTheResidualInProportion() throws {
        let n = 16, nu = 0.01
        let decay = 8 * Double.pi * Double.pi * nu
        let times = (0..<6).map { Double($0) * 0.05 }
        let base = try frames(n: n, times: times) { t, x, y in cos(twoPi * x) * cos(twoPi * y) * exp(-decay * t) }
        let bump = try frames(n: n, times: times) { t, x, y in sin(twoPi * (2 * x + y)) * (1 + t) }
        let res = try NavierStokesResidual(points: n, viscosity: nu, timeStep: 0.05)
        let l0 = try res.loss(Variable(base)).value.scalars[0]
        var last = l0
        for eps in [1e-3, 1e-2, 1e-1] {
            let l = try res.loss(Variable(try base + bump * eps)).value.scalars[0]
            #expect(l > 100 * l0 && l > 5 * last, "ε = \(eps): \(l) after \(last)")
            last = l
        }
    }

    @Test func agreesWithAFiniteDifferenceResidualAsTheGridIsRefined() throws {
        // A smooth trajectory given by its stream function; the reference residual uses
        // second-order central differences in space on the same points (∂ₜw exact in both):
        // the difference falls at second order, i.e. both compute the same R.
        let nu = 0.01
        func psi(_ t: Double, _ x: Double, _ y: Double) -> Double {
            sin(twoPi * x) * sin(2 * twoPi * y) * (1 + t) + 0.5 * cos(twoPi * (x + y)) * t * t
        }
        // w = −Δψ and ∂ₜw, analytic.
        func w(_ t: Double, _ x: Double, _ y: Double) -> Double {
            5 * twoPi * twoPi * sin(twoPi * x) * sin(2 * twoPi * y) * (1 + t) + 2 * twoPi * twoPi * 0.5 * cos(twoPi * (x + y)) * t * t
        }
        func wt(_ t: Double, _ x: Double, _ y: Double) -> Double {
            5 * twoPi * twoPi * sin(twoPi * x) * sin(2 * twoPi * y) + 2 * twoPi * twoPi * cos(twoPi * (x + y)) * t
        }
        let times = [0.3, 0.6]
        var gaps: [Double] = []
        for n in [16, 32, 64] {
            let res = try NavierStokesResidual(points: n, viscosity: nu, timeStep: 0.3, forcing: NavierStokesResidual.fnoForcing(points: n))
            let spectral = try res.residual(Variable(try frames(n: n, times: times, w)), timeDerivative: Variable(try frames(n: n, times: times, wt))).value
            let h = 1 / Double(n)
            let f = NavierStokesResidual.fnoForcing(points: n)
            var gap = 0.0, size = 0.0
            for (k, t) in times.enumerated() {
                // Sampled fields, [y][x].
                func sample(_ g: (Double, Double, Double) -> Double) -> [[Double]] {
                    (0..<n).map { a in (0..<n).map { b in g(t, Double(b) * h, Double(a) * h) } }
                }
                let p = sample(psi), v = sample(w), vt = sample(wt)
                for a in 0..<n { for b in 0..<n {
                    let (an, ap, bn, bp) = ((a + n - 1) % n, (a + 1) % n, (b + n - 1) % n, (b + 1) % n)
                    let ux = (p[ap][b] - p[an][b]) / (2 * h)            // ψ_y
                    let vy = -(p[a][bp] - p[a][bn]) / (2 * h)           // −ψ_x
                    let wx = (v[a][bp] - v[a][bn]) / (2 * h), wy = (v[ap][b] - v[an][b]) / (2 * h)
                    let lap = (v[a][bp] + v[a][bn] + v[ap][b] + v[an][b] - 4 * v[a][b]) / (h * h)
                    let r = vt[a][b] + ux * wx + vy * wy - nu * lap - f[a * n + b]
                    let s = spectral.scalars[(k * n + a) * n + b]
                    gap = max(gap, Swift.abs(r - s))
                    size = max(size, Swift.abs(s))
                } }
            }
            gaps.append(gap / size)
        }
        let order = observedOrder(h: [1.0 / 16, 1.0 / 32, 1.0 / 64], errors: gaps)
        #expect(order > 1.8 && order < 2.3, "order \(order), gaps \(gaps)")
    }

    @Test func theNavierStokesSolversTrajectoriesHaveASmallResidual() throws {
        // Frames of the suite's own solver (Crank–Nicolson + Heun, dt 1e-3, 2/3 rule) at 32²:
        // the residual is a small fraction of ∂ₜw, whereas frames of another trajectory are not.
        let n = 32
        let solver = try NavierStokes2D.fno(pointsPerAxis: n, viscosity: 1e-3, timeStep: 1e-3, scheme: .crankNicolsonHeun)
        var g = SeededGenerator(seed: 3)
        let w0 = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: n).sample(using: &g)
        let times = (1...7).map { Double($0) * 0.05 }
        let snapshots = try solver.evolve(w0, to: times)
        let w = try Tensor<Double>(shape: [1, 7, n, n], scalars: snapshots.flatMap { $0 })
        let res = try NavierStokesResidual(points: n, viscosity: 1e-3, timeStep: 0.05, forcing: NavierStokesResidual.fnoForcing(points: n))
        let r = try res.negativeSobolevNorms(try res.residual(Variable(w))).value.scalars
        let wt = try res.negativeSobolevNorms(try res.finiteDifference(Variable(w))).value.scalars
        let ratio = zip(r, wt).map { $0 / $1 }.max()!
        #expect(ratio < 1e-3, "‖R‖/‖∂ₜw‖ = \(ratio)")
        // The same frames in reverse order violate the equation (viscosity and forcing act backwards).
        let reversed = try Tensor<Double>(shape: [1, 7, n, n], scalars: snapshots.reversed().flatMap { $0 })
        let rr = try res.negativeSobolevNorms(try res.residual(Variable(reversed))).value.scalars
        #expect(zip(rr, wt).map { $0 / $1 }.min()! > 100 * ratio)
    }

    @Test func lossGradientsMatchFiniteDifferences() throws {
        let n = 8
        var g = SeededGenerator(seed: 5)
        let w = Variable(Tensor<Double>.randomNormal(shape: [2, 5, n, n], generator: &g), requiresGradient: true)
        let res = try NavierStokesResidual(points: n, viscosity: 0.01, timeStep: 0.1, forcing: NavierStokesResidual.fnoForcing(points: n))
        try res.loss(w).backward()
        let grad = try #require(w.grad)
        for k in [0, 77, 200, 639] {
            let original = w.value
            func at(_ d: Double) throws -> Double {
                var s = original.scalars
                s[k] += d
                return try res.loss(Variable(try Tensor(shape: original.shape, scalars: s))).value.scalars[0]
            }
            let numeric = (try at(1e-6) - at(-1e-6)) / 2e-6
            #expect(abs(numeric - grad.scalars[k]) <= 1e-7 + 1e-5 * abs(numeric), "[\(k)] \(grad.scalars[k]) vs \(numeric)")
        }
    }

    @Test func theNegativeSobolevNormOfAFourierModeIsTheStatedFormula() throws {
        // r = cos 2π(k·x) has r̂ = ½ at ±k: ‖r‖²_{H⁻¹} = 2·¼/(α + 4π²|k|²).
        let n = 16
        for (kx, ky, alpha) in [(1.0, 0.0, 1.0), (2.0, 3.0, 1.0), (0.0, 5.0, 0.1), (3.0, 3.0, 2.5)] {
            let res = try NavierStokesResidual(points: n, viscosity: 0, timeStep: 1, alpha: alpha)
            let r = try frames(n: n, times: [0]) { _, x, y in cos(twoPi * (kx * x + ky * y)) }
            let norm = try res.negativeSobolevNorms(Variable(r)).value.scalars[0]
            let expected = (0.5 / (alpha + twoPi * twoPi * (kx * kx + ky * ky))).squareRoot()
            #expect(abs(norm - expected) < 1e-14 * expected, "k = (\(kx), \(ky)), α = \(alpha): \(norm) vs \(expected)")
        }
        // A constant: |r̂₀|²/α.
        let res = try NavierStokesResidual(points: n, viscosity: 0, timeStep: 1, alpha: 4)
        let c = try res.negativeSobolevNorms(Variable(try frames(n: n, times: [0]) { _, _, _ in 3 })).value.scalars[0]
        #expect(abs(c - 1.5) < 1e-14)
    }

    @Test func badArgumentsAreTypedErrors() throws {
        #expect(throws: LearningError.self) { try NavierStokesResidual(points: 2, viscosity: 1e-3, timeStep: 1) }
        #expect(throws: LearningError.self) { try NavierStokesResidual(points: 8, viscosity: -1, timeStep: 1) }
        #expect(throws: LearningError.self) { try NavierStokesResidual(points: 8, viscosity: 1e-3, timeStep: 0) }
        #expect(throws: LearningError.self) { try NavierStokesResidual(points: 8, viscosity: 1e-3, timeStep: 1, forcing: [1, 2]) }
        let res = try NavierStokesResidual(points: 8, viscosity: 1e-3, timeStep: 1)
        #expect(throws: LearningError.self) { try res.loss(Variable(Tensor<Float>(zeros: [1, 4, 8, 8]))) }   // too few frames
        #expect(throws: LearningError.self) { try res.loss(Variable(Tensor<Float>(zeros: [1, 6, 8, 16]))) }
    }
}
