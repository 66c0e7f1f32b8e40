import Foundation
import Testing
@testable import Inverse
import Learning
import PDE
import TestSupport

// The regularizer R_θ of a learned proximal network (inversion of f by L-BFGS, the conjugate
// formula, the prox property, the path profile) and the network as a ProximalOperator (PnP).

/// A fully connected LPN of dimension d with every parameter redrawn from
/// U(−scale/√fanIn, scale/√fanIn), then the hidden weights clamped to ≥ 0 (ψ convex): the
/// reference's e^{−10} start is nearly linear, too easy a test.
private func denseNetwork<T: TensorScalar>(_: T.Type, dimension d: Int = 12, alpha: Double = 0.2, seed: UInt64 = 1) throws -> LearnedProximalNetwork<T> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<T>(kind: .fullyConnected(dimension: d), hidden: 16, layers: 2, beta: 5, alpha: alpha, generator: &g)
    scramble(net, seed: seed + 100)
    return net
}

/// A tiny convolutional LPN on 1 × 8 × 8 images (hidden 4, 3 convolutions, dense width 6).
private func convNetwork(alpha: Double = 0.2, seed: UInt64 = 2) throws -> LearnedProximalNetwork<Double> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<Double>(kind: .convolutional(channels: 1, height: 8, width: 8, denseFeatures: 6), hidden: 4,
                                                 layers: 3, beta: 5, alpha: alpha, generator: &g)
    scramble(net, seed: seed + 100)
    return net
}

/// f(y) and ψ(y) straight from the network (batch 1), independent of `LearnedRegularizer`.
private func networkProx<T: TensorScalar>(_ net: LearnedProximalNetwork<T>, _ y: [Double], shape: [Int]) throws -> (f: [Double], psi: Double) {
    let input = Variable<T>(try Tensor(shape: [1] + shape, scalars: y.map { T($0) }))
    let (psi, f) = try net.potentialAndProx(input)
    return (f.value.scalars.map { Double($0) }, Double(psi.value.scalars[0]))
}

private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
private func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
private func distance(_ a: [Double], _ b: [Double]) -> Double { norm(zip(a, b).map { $0 - $1 }) }

@Suite struct LearnedRegularizerTests {
    // Inversion of f and R(x) = ⟨x, y⟩ − ½‖x‖² − ψ(y), dense (several y) and convolutional.
    @Test func inversionRecoversYAndRegularizerMatchesTheConjugateFormula() throws {
        let cases: [(String, LearnedProximalNetwork<Double>, [Int], Int)] = [
            ("dense d=12", try denseNetwork(Double.self), [12], 3),
            ("dense d=6", try denseNetwork(Double.self, dimension: 6, alpha: 0.05, seed: 5), [6], 2),
            ("conv 8x8", try convNetwork(), [1, 8, 8], 1),
        ]
        for (label, net, shape, samples) in cases {
            let r = try LearnedRegularizer(network: net)
            #expect(r.sampleShape == shape && r.count == shape.reduce(1, *))
            var worstResidual = 0.0, worstY = 0.0, worstR = 0.0, iterations: [Int] = []
            for s in 0..<samples {
                let y = randomArray(r.count, seed: 300 + UInt64(s), scale: 1.5)
                let (x, psi) = try networkProx(net, y, shape: shape)
                let e = try r.evaluate(x)
                let (fy, _) = try networkProx(net, e.inversion.y, shape: shape)
                let residual = distance(fy, x) / norm(x)
                #expect(abs(residual - e.inversion.residual) <= 1e-12 * max(1, residual) + 1e-15)
                let want = dot(x, y) - 0.5 * dot(x, x) - psi
                worstResidual = max(worstResidual, residual)
                worstY = max(worstY, distance(e.inversion.y, y) / norm(y))
                worstR = max(worstR, abs(e.value - want) / max(abs(want), 1))
                // ∇R(x) = y − x.
                #expect(maxAbsDifference(e.gradient, zip(e.inversion.y, x).map { $0 - $1 }) == 0)
                #expect(e.inversion.report.stop == .converged)
                #expect(abs(try r.value(x) - e.value) <= 1e-9 * max(1, abs(e.value)))
                iterations.append(e.inversion.report.iterations)
                if s == 0 { print("LearnedRegularizer \(label) inversion notes: \(e.inversion.report.notes)") }
            }
            print("LearnedRegularizer \(label): residual ‖f(y′) − x‖/‖x‖ ≤ \(worstResidual), ‖y′ − y‖/‖y‖ ≤ \(worstY), R relative error ≤ \(worstR), L-BFGS iterations \(iterations)")
            #expect(worstResidual < 1e-8)
            #expect(worstY < 1e-6)
            #expect(worstR < 1e-8)
        }
        // Without the Newton polish L-BFGS ends at its floating-point floor, above the 1e-10
        // tolerance: accepted (≤ 1e-6) but not reported as converged.
        let dense = cases[0].1
        let unpolished = try LearnedRegularizer(network: dense, polishSteps: 0)
        let x0 = try networkProx(dense, randomArray(12, seed: 300, scale: 1.5), shape: [12]).f
        let floor = try unpolished.inverse(x0)
        print("LearnedRegularizer without polish: residual \(floor.residual), stop \(floor.report.stop.rawValue)")
        #expect(floor.residual > unpolished.tolerance && floor.residual < 1e-7)
        #expect(floor.report.stop != .converged)

        // A Float network behind the Double interface: Float-limited, with its looser defaults.
        let netF = try denseNetwork(Float.self)
        let rF = try LearnedRegularizer(network: netF)
        #expect(rF.tolerance == 1e-5 && rF.acceptableResidual == 1e-3)
        let yF = randomArray(12, seed: 310, scale: 1.5)
        let (xF, psiF) = try networkProx(netF, yF, shape: [12])
        let eF = try rF.evaluate(xF)
        let wantF = dot(xF, yF) - 0.5 * dot(xF, xF) - psiF
        print("LearnedRegularizer Float dense: residual \(eF.inversion.residual), R relative error \(abs(eF.value - wantF) / max(abs(wantF), 1)) (\(eF.inversion.report.stop.rawValue), \(eF.inversion.report.iterations) iterations)")
        #expect(eF.inversion.residual < 1e-3)
        #expect(abs(eF.value - wantF) < 1e-3 * max(abs(wantF), 1))
    }

    // f(v) minimizes R(x) + ½‖x − v‖² (the network is prox_R).
    @Test func proxOfTheLearnedRegularizerIsTheNetwork() throws {
        for (label, net, _, directions) in [("dense", try denseNetwork(Double.self), [12], 4), ("conv", try convNetwork(), [1, 8, 8], 2)] {
            let r = try LearnedRegularizer(network: net)
            let v = randomArray(r.count, seed: 400, scale: 1.2)
            let xStar = try r.prox(v)
            func objective(_ x: [Double]) throws -> Double { try r.value(x) + 0.5 * distance(x, v) * distance(x, v) }
            let center = try objective(xStar)
            // y* = f⁻¹(x*) = v.
            let inv = try r.inverse(xStar)
            #expect(distance(inv.y, v) / norm(v) < 1e-6)
            var smallestGap = Double.infinity
            for k in 0..<directions {
                var d = randomArray(r.count, seed: 410 + UInt64(k))
                let n = norm(d)
                d = d.map { $0 / n }
                for eps in [1e-3, -1e-3, 1e-2] {
                    let gap = try objective(zip(xStar, d).map { $0 + eps * $1 }) - center
                    smallestGap = min(smallestGap, gap / (eps * eps))
                    #expect(gap >= 0, "\(label): direction \(k), ε = \(eps), gap \(gap)")
                }
            }
            // The gap is second order: (ε²/2)·dᵀ∇²ψ*(x*)d + ε²/2·… ≥ 0; its size over ε².
            print("LearnedRegularizer prox property (\(label)): min [F(x* + εd) − F(x*)]/ε² = \(smallestGap) over \(directions) directions × 3 ε")
        }
    }

    @Test func profileEndpointsAreTheRegularizerAtTheEnds() throws {
        let net = try denseNetwork(Double.self)
        let r = try LearnedRegularizer(network: net)
        let a = randomArray(12, seed: 500), b = randomArray(12, seed: 501, scale: 2)
        let p = try r.profile(from: a, to: b, steps: 4)
        #expect(p.t == [0, 0.25, 0.5, 0.75, 1])
        #expect(p.values.count == 5 && p.residuals.count == 5 && p.iterations.count == 5)
        let ra = try r.value(a), rb = try r.value(b)
        #expect(abs(p.values[0] - ra) <= 1e-8 * max(1, abs(ra)))
        #expect(abs(p.values[4] - rb) <= 1e-8 * max(1, abs(rb)))
        let mid = try r.value(zip(a, b).map { 0.5 * $0 + 0.5 * $1 })
        #expect(abs(p.values[2] - mid) <= 1e-8 * max(1, abs(mid)))
        #expect(p.residuals.allSatisfy { $0 <= r.tolerance })
        print("LearnedRegularizer profile: R = \(p.values), L-BFGS iterations \(p.iterations) (warm-started)")
    }

    // The ProximalOperator adapter: the network's prox, and PnP-ADMM on a tiny denoising problem.
    @Test func adapterIsTheNetworksProxAndRunsInADMM() throws {
        let conv = try convNetwork()
        let pnp = try LPNProx(network: conv, imageShape: [8, 8])
        let v = randomArray(64, seed: 600)
        let direct = try networkProx(conv, v, shape: [1, 8, 8]).f
        for tau in [0.1, 1, 7] { #expect(try pnp.prox(v, step: tau) == direct) }
        #expect(pnp.value(v) == nil && pnp.proxCalls == 3)
        let dense = try denseNetwork(Double.self)
        let pnpDense = try LPNProx(network: dense, imageShape: [3, 4], evaluatesRegularizer: true)
        let w = randomArray(12, seed: 601)
        #expect(try pnpDense.prox(w, step: 0.5) == networkProx(dense, w, shape: [12]).f)
        let rw = try #require(pnpDense.value(w))
        #expect(abs(rw - (try LearnedRegularizer(network: dense).value(w))) <= 1e-8 * max(1, abs(rw)))
        #expect(pnpDense.lastInversion != nil && pnpDense.regularizerEvaluations == 1)

        // Denoising a smooth 8 × 8 image with PnP-ADMM (no objective: a pure denoiser).
        let clean: [Double] = (0..<64).map { (i: Int) -> Double in
            let row = Double(i / 8), col = Double(i % 8)
            return 0.5 + 0.4 * Foundation.sin(0.7 * row) * Foundation.cos(0.5 * col)
        }
        let noise = randomArray(64, seed: 602, scale: 0.1)
        let y = zip(clean, noise).map { $0 + $1 }
        let model = try IdentityModel(shape: [8, 8])
        let run = try ADMM(penalty: 1, options: ReconstructionOptions(maxIterations: 8, tolerance: 0, truth: clean))
            .solve(model: model, measurement: y, prior: pnp)
        #expect(run.report.algorithm == "pnp-admm")
        #expect(run.report.iterations == 8 && run.report.stop == .maxIterations)
        #expect(run.x.count == 64 && run.x.allSatisfy { $0.isFinite })
        #expect(run.report.history.count == 8 && run.report.history.allSatisfy { $0.psnr?.isFinite == true })

        // With R evaluated, ADMM tracks ½‖x − y‖² + R(z) (an inversion per iteration).
        let yDense = zip(randomArray(12, seed: 603), randomArray(12, seed: 604, scale: 0.1)).map { $0 + $1 }
        let withValue = try ADMM(penalty: 1, options: ReconstructionOptions(maxIterations: 4, tolerance: 0))
            .solve(model: try IdentityModel(shape: [3, 4]), measurement: yDense, prior: pnpDense)
        #expect(withValue.report.algorithm == "admm")
        #expect(withValue.report.history.count == 4 && withValue.report.history.allSatisfy { $0.objective?.isFinite == true })
        #expect(withValue.x.allSatisfy { $0.isFinite } && pnpDense.lastError == nil)
        let psnrs: [String] = run.report.history.map { (r: IterationRecord) -> String in String(format: "%.2f", r.psnr ?? Double.nan) }
        let objectives: [Double] = withValue.report.history.map { (r: IterationRecord) -> Double in r.objective ?? Double.nan }
        print("LPNProx PnP-ADMM 8×8: PSNR \(psnrs) in \(String(format: "%.2f", run.report.seconds)) s; dense with R: objective \(objectives), \(pnpDense.regularizerEvaluations) R evaluations")
    }

    // L = λ_max(∇²ψ(y)) by power iteration against the eigenvalues of a Hessian built column
    // by column from the network (a different difference step), and L ≥ α (ψ is α-strongly
    // convex); the float network's estimate agrees with the double one.
    @Test func localLipschitzIsTheLargestHessianEigenvalue() throws {
        let net = try denseNetwork(Double.self, dimension: 8, alpha: 0.1, seed: 3)
        let r = try LearnedRegularizer(network: net)
        for s in 0..<3 {
            let y = randomArray(8, seed: 700 + UInt64(s), scale: 1.5)
            let h = 1e-5
            var columns: [[Double]] = []
            for j in 0..<8 {
                var plus = y, minus = y
                plus[j] += h; minus[j] -= h
                let fp = try networkProx(net, plus, shape: [8]).f, fm = try networkProx(net, minus, shape: [8]).f
                columns.append((0..<8).map { (fp[$0] - fm[$0]) / (2 * h) })
            }
            let hessian = DenseMatrix(rows: 8, columns: 8) { i, j in 0.5 * (columns[j][i] + columns[i][j]) }
            let eigen = try SymmetricEigendecomposition(hessian)
            let top = eigen.values.last!, second = eigen.values[6]
            let est = try r.localLipschitz(at: y, iterations: 500, tolerance: 1e-12, seed: 9)
            #expect(eigen.values.first! >= 0.1 - 1e-6, "ψ is α-strongly convex: \(eigen.values)")
            #expect(abs(est.value - top) <= 1e-6 * top, "L = \(est.value) vs λ_max \(top) (λ₂ \(second), \(est.iterations) iterations)")
            #expect(est.converged && abs(InverseVectors.norm(est.vector) - 1) < 1e-12)
            #expect(abs(est.weakConvexity - max(0, 1 - 1 / top)) <= 1e-6)
        }
        let netF = try denseNetwork(Float.self, dimension: 8, alpha: 0.1, seed: 3)
        let y = randomArray(8, seed: 700, scale: 1.5)
        let lf = try LearnedRegularizer(network: netF).localLipschitz(at: y, iterations: 200, tolerance: 1e-6)
        let ld = try r.localLipschitz(at: y, iterations: 200, tolerance: 1e-6)
        #expect(abs(lf.value - ld.value) <= 1e-3 * ld.value, "float \(lf.value) vs double \(ld.value)")
        #expect(pdeErrorKind { try r.localLipschitz(at: [1, 2]) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.localLipschitz(at: y, iterations: 0) } == "invalidValue")
        #expect(pdeErrorKind { try r.localLipschitz(at: y, tolerance: 0) } == "invalidValue")
        #expect(pdeErrorKind { try r.localLipschitz(at: y.map { _ in .nan }) } == "invalidValue")
    }

    @Test func badShapesAndFailedInversionsThrowTypedErrors() throws {
        let net = try denseNetwork(Double.self)
        let r = try LearnedRegularizer(network: net)
        #expect(pdeErrorKind { try r.inverse([1, 2, 3]) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.value([Double](repeating: 0, count: 13)) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.inverse([Double](repeating: 1, count: 12), initial: [0]) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.prox([1]) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.potential([]) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.inverse([Double](repeating: .nan, count: 12)) } == "invalidValue")
        let a = randomArray(12, seed: 700)
        #expect(pdeErrorKind { try r.profile(from: a, to: [1], steps: 2) } == "shapeMismatch")
        #expect(pdeErrorKind { try r.profile(from: a, to: a, steps: 0) } == "invalidValue")
        #expect(pdeErrorKind { try LearnedRegularizer(network: net, tolerance: 0) } == "invalidValue")
        #expect(pdeErrorKind { try LearnedRegularizer(network: net, tolerance: 1e-6, acceptableResidual: 1e-8) } == "invalidValue")
        #expect(pdeErrorKind { try LearnedRegularizer(network: net, maxIterations: 0) } == "invalidValue")
        #expect(pdeErrorKind { try LearnedRegularizer(network: net, memory: 0) } == "invalidValue")
        #expect(pdeErrorKind { try LearnedRegularizer(network: net, polishSteps: -1) } == "invalidValue")
        var mutated = r
        mutated.acceptableResidual = 1e-20
        #expect(pdeErrorKind { try mutated.inverse(a) } == "invalidValue")

        // An inversion stopped after one iteration with a strict acceptance fails, naming the residual.
        let strict = try LearnedRegularizer(network: net, tolerance: 1e-12, acceptableResidual: 1e-12, maxIterations: 1, polishSteps: 0)
        let x = try networkProx(net, randomArray(12, seed: 701, scale: 2), shape: [12]).f
        do {
            _ = try strict.inverse(x)
            Issue.record("a one-iteration inversion met a 1e-12 residual")
        } catch let PDEError.invalidValue(key, value, _) {
            #expect(key == "learned regularizer inversion")
            #expect(value.contains("residual") && value.contains("L-BFGS"))
        }

        // The adapter.
        let conv = try convNetwork()
        #expect(pdeErrorKind { try LPNProx(network: conv, imageShape: [8, 4]) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNProx(network: conv, imageShape: [64]) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNProx(network: conv, imageShape: [2, 8, 8]) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNProx(network: net, imageShape: [5, 3]) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNProx(network: conv, imageShape: [1, 8, 8]) } == nil)
        let pnp = try LPNProx(network: net, imageShape: [4, 3], evaluatesRegularizer: true)
        #expect(pdeErrorKind { try pnp.prox([1, 2], step: 1) } == "shapeMismatch")
        #expect(pdeErrorKind { try pnp.prox(a, step: 0) } == "invalidValue")
        #expect(pnp.value([1, 2]) == nil)
        #expect((pnp.lastError as? PDEError).map { if case .shapeMismatch = $0 { true } else { false } } == true)
        let failing = try LPNProx(regularizer: strict, imageShape: [12, 1], evaluatesRegularizer: true)
        #expect(failing.value(x) == nil && failing.lastError is PDEError && failing.regularizerEvaluations == 0)
    }
}
