import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

/// argmin_x h(x) + (x − v)²/(2τ) of a convex scalar h by golden-section search on a wide bracket.
private func scalarProx(_ h: @escaping (Double) -> Double, _ v: Double, _ tau: Double) -> Double {
    var (a, b) = (v - 10, v + 10)
    let r = (5.0.squareRoot() - 1) / 2
    let f = { (x: Double) in h(x) + (x - v) * (x - v) / (2 * tau) }
    for _ in 0..<200 {
        let c = b - r * (b - a), d = a + r * (b - a)
        if f(c) < f(d) { b = d } else { a = c }
    }
    return (a + b) / 2
}

@Suite struct ProximalTests {
    @Test func separableProxesMatchBruteForceMinimization() throws {
        let v = [-3.0, -0.7, -0.1, 0, 0.2, 0.9, 2.5]
        for tau in [0.3, 1.7] {
            let l1 = try L1Norm(weight: 0.8), l2 = try SquaredL2Norm(weight: 1.5), en = try ElasticNet(l1Weight: 0.4, l2Weight: 2)
            let cases: [(ProximalOperator, (Double) -> Double)] = [
                (l1, { 0.8 * abs($0) }), (l2, { 0.75 * $0 * $0 }), (en, { 0.4 * abs($0) + $0 * $0 }),
            ]
            for (p, h) in cases {
                let got = try p.prox(v, step: tau)
                let want = v.map { scalarProx(h, $0, tau) }
                #expect(maxAbsDifference(got, want) < 1e-7, "\(p.name) τ=\(tau)")
                #expect(abs(p.value(v)! - v.map(h).reduce(0, +)) < 1e-12)
            }
        }
        let box = try BoxConstraint(lower: -1, upper: 0.5)
        #expect(try box.prox(v, step: 1) == [-1, -0.7, -0.1, 0, 0.2, 0.5, 0.5])
        #expect(box.value([0, 0.6]) == .infinity && box.value([0, 0.5]) == 0)
        #expect(try BoxConstraint.nonNegative.prox(v, step: 3) == v.map { max($0, 0) })
    }

    @Test func ballProjectionAndGroupShrinkageSatisfyTheirOptimalityConditions() throws {
        let c = randomArray(10, seed: 1), v = randomArray(10, seed: 2, scale: 3)
        let ball = try L2BallIndicator(center: c, radius: 0.5)
        let p = try ball.prox(v, step: 7)
        #expect(abs(InverseVectors.distance(p, c) - 0.5) < 1e-12)
        // p − c is parallel to v − c.
        let cosine = InverseVectors.dot((0..<10).map { p[$0] - c[$0] }, (0..<10).map { v[$0] - c[$0] })
            / (0.5 * InverseVectors.distance(v, c))
        #expect(abs(cosine - 1) < 1e-12)
        let inside = (0..<10).map { c[$0] + 0.01 * v[$0] }
        #expect(try ball.prox(inside, step: 1) == inside)
        // Moreau: prox_{τλ‖·‖₂,₁}(v) + P_{‖·‖₂,∞ ≤ τλ}(v) = v.
        let z = randomArray(2 * 30, seed: 3)
        let g = try GroupL1Norm(weight: 0.6, channels: 2)
        let x = try g.prox(z, step: 1.5)
        let t = 0.9
        for i in 0..<30 {
            let n = (z[i] * z[i] + z[30 + i] * z[30 + i]).squareRoot()
            let s = n > t ? t / n : 1
            #expect(abs(x[i] + s * z[i] - z[i]) < 1e-14 && abs(x[30 + i] + s * z[30 + i] - z[30 + i]) < 1e-14)
        }
        #expect(throws: PDEError.self) { try g.prox([1, 2, 3], step: 1) }
    }

    @Test func tvProxOfTwoPixelsHasTheClosedForm() throws {
        let tv = try TotalVariation(shape: [1, 2], weight: 0.5, maxIterations: 5000, tolerance: 1e-14, warmStart: false)
        // θ = 0.5: |b − a| = 3 > 2θ moves both by θ towards each other; |b − a| = 0.4 merges them.
        let x = try tv.prox([1, 4], step: 1)
        #expect(maxAbsDifference(x, [1.5, 3.5]) < 1e-10)
        let y = try tv.prox([1, 1.4], step: 1)
        #expect(maxAbsDifference(y, [1.2, 1.2]) < 1e-8)
    }

    @Test(arguments: [true, false])
    func tvProxAgreesWithPDHGOnTheSameProblem(isotropic: Bool) throws {
        let shape = [7, 6]
        let v = randomArray(42, seed: 4)
        let lambda = 0.3, tau = 1.4
        let tv = try TotalVariation(shape: shape, weight: lambda, isotropic: isotropic, maxIterations: 20000, tolerance: 1e-13)
        let x = try tv.prox(v, step: tau)
        // min τλ TV(x) + ½‖x − v‖² by Chambolle–Pock: K = D, F = τλ‖·‖ (ℓ2,1 or ℓ1), G = ½‖· − v‖².
        let d = try FiniteDifferenceGradient(imageShape: shape)
        let f: ProximalOperator = isotropic ? try GroupL1Norm(weight: tau * lambda, channels: 2) : try L1Norm(weight: tau * lambda)
        let pd = try PDHG(options: ReconstructionOptions(maxIterations: 20000, tolerance: 1e-14, trackObjective: false, recordHistory: false))
            .solve(blocks: [(d, f)], g: SquaredDistance(center: v), initial: v)
        #expect(maxAbsDifference(x, pd.x) < 1e-6)
        // Warm start: a second call from the stored dual takes far fewer iterations.
        let first = tv.lastIterations
        _ = try tv.prox(v, step: tau)
        #expect(tv.lastIterations < first / 4)
        // Bounds: the constrained prox lies in the box.
        tv.bounds = -0.2...0.2
        tv.reset()
        #expect(try tv.prox(v, step: tau).allSatisfy { abs($0) <= 0.2 })
    }

    @Test func leastSquaresProxSolvesItsNormalEquationsOnEveryPath() throws {
        let shape = [8, 8]
        let v = randomArray(64, seed: 5)
        let blur = try Blur(imageShape: shape, kernel: .gaussian(sigma: 1.2, radius: 3))
        let wrapped = try Composition(IdentityModel(shape: shape), after: blur)   // no symbols: CG path
        let mask = try MaskModel.random(shape: shape, missingFraction: 0.4, seed: 9)
        let mri = try SubsampledFourier(shape: shape, mask: SamplingMask.variableDensity(shape: shape, acceleration: 3, seed: 2))
        let tau = 0.7
        for model in [blur as ForwardModel, wrapped, mask, mri] {
            let y = randomArray(model.rangeCount, seed: 6)
            let data = try LeastSquaresData(model: model, measurement: y, cgTolerance: 1e-12)
            let x = try data.prox(v, step: tau)
            // Residual of (I + τAᵀA)x = v + τAᵀy (AᵀA by the model's own products).
            var ax = [Double](repeating: 0, count: model.rangeCount), ata = x
            model.apply(x, into: &ax)
            model.adjoint(ax, into: &ata)
            let aty = try model.adjoint(y)
            let r = (0..<64).map { x[$0] + tau * ata[$0] - v[$0] - tau * aty[$0] }
            #expect(InverseVectors.norm(r) < 1e-9 * InverseVectors.norm(v), "\(model.name)")
        }
        let sigmas = SigmaBox()
        let pnp = DenoiserProx(name: "record", strength: 2) { img, s in sigmas.values.append(s); return img }
        _ = try pnp.prox(v, step: 0.08)
        #expect(abs(sigmas.values[0] - 0.4) < 1e-15)
        #expect(pnp.value(v) == nil)
    }
}

private final class SigmaBox { var values: [Double] = [] }
