import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

private func seededNormals(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in scale * rng.normal() }
}

/// Remainders of the Taylor test of f at x along δ for the step sizes hs:
/// first order |f(x + hδ) − f(x)| and second order |f(x + hδ) − f(x) − h ∇f·δ|.
private func taylorRemainders(_ f: ([Double]) throws -> (value: Double, gradient: [Double]), at x: [Double],
                              direction d: [Double], steps hs: [Double]) throws -> (first: [Double], second: [Double]) {
    let (f0, g0) = try f(x)
    let slope = InverseVectors.dot(g0, d)
    var first: [Double] = [], second: [Double] = []
    for h in hs {
        let fh = try f(zip(x, d).map { $0 + h * $1 }).value
        first.append(abs(fh - f0))
        second.append(abs(fh - f0 - h * slope))
    }
    return (first, second)
}

private let taylorSteps = [1e-1, 1e-2, 1e-3, 1e-4]

/// The Darcy setup of the tests: n×n interior nodes, f = 1, a 10×10 lattice of observations of
/// the synthetic truth with 1% noise.
private func darcySetup(n: Int, seed: UInt64 = 3) throws -> (DarcyForwardProblem, truth: [Double], data: [Double], sigma: Double) {
    let problem = try DarcyForwardProblem(nodesPerAxis: n, source: { _, _ in 1 }, points: try DarcySynthetic.latticePoints(perAxis: 10))
    let truth = problem.cellValues(DarcySynthetic.logConductivity)
    let (noisy, _, sigma) = try DarcySynthetic.observations(problem, logConductivity: truth, noiseLevel: 0.01, seed: seed)
    return (problem, truth, noisy, sigma)
}

private func relativeError(_ x: [Double], _ truth: [Double]) -> Double {
    InverseVectors.distance(x, truth) / InverseVectors.norm(truth)
}

@Suite struct DarcyInversionTests {
    @Test func forwardSolveIsSecondOrderOnAManufacturedSolution() throws {
        // m = ½ sin(2πx) cos(πy), u = sin(πx) sin(πy), f = −∇·(e^m ∇u) = −e^m (∇m·∇u + Δu).
        let pi = Double.pi
        let m: (Double, Double) -> Double = { x, y in 0.5 * sin(2 * pi * x) * cos(pi * y) }
        let u: (Double, Double) -> Double = { x, y in sin(pi * x) * sin(pi * y) }
        let f: (Double, Double) -> Double = { x, y in
            let a = exp(m(x, y))
            let mx = pi * cos(2 * pi * x) * cos(pi * y), my = -0.5 * pi * sin(2 * pi * x) * sin(pi * y)
            let ux = pi * cos(pi * x) * sin(pi * y), uy = pi * sin(pi * x) * cos(pi * y)
            return -a * (mx * ux + my * uy - 2 * pi * pi * u(x, y))
        }
        var hs: [Double] = [], errors: [Double] = []
        for n in [7, 15, 31, 63] {
            let p = try DarcyForwardProblem(nodesPerAxis: n, source: f, points: [SIMD2(0.5, 0.5)])
            let state = try p.solve(p.cellValues(m))
            hs.append(p.spacing)
            errors.append(maxAbsDifference(state.u, p.nodeValues(u)))
        }
        let order = observedOrder(h: hs, errors: errors)
        print("Darcy forward solve: max errors \(errors), observed order \(order)")
        #expect(abs(order - 2) <= 0.15, "observed order \(order), errors \(errors)")
        #expect(errors.last! < 1e-3)
    }

    @Test func observationOperatorHasAnExactAdjointAndInterpolates() throws {
        let n = 13
        let model = try PointObservationModel(nodesPerAxis: n, points: try DarcySynthetic.randomPoints(count: 100, seed: 5, margin: 0))
        let mismatch = adjointMismatch(model, seed: 2)
        #expect(mismatch <= 1e-12, "dot test \(mismatch)")
        // Exact at nodes, bilinear between them, zero on the boundary.
        let h = 1 / Double(n + 1)
        let points: [SIMD2<Double>] = [SIMD2(3 * h, 5 * h), SIMD2(3.25 * h, 5.5 * h), SIMD2(0, 0.4), SIMD2(0.5 * h, 1)]
        let b = try PointObservationModel(nodesPerAxis: n, points: points)
        let p = try DarcyForwardProblem(nodesPerAxis: n, source: { _, _ in 0 }, points: points)
        let bilinear: (Double, Double) -> Double = { x, y in 2 + 3 * x - y + 5 * x * y }
        let values = try b(p.nodeValues(bilinear))
        #expect(abs(values[0] - bilinear(3 * h, 5 * h)) < 1e-14)
        #expect(abs(values[1] - bilinear(3.25 * h, 5.5 * h)) < 1e-13)
        #expect(values[2] == 0 && values[3] == 0)
    }

    @Test func logConductivityGradientPassesTheTaylorTest() throws {
        let (problem, truth, data, sigma) = try darcySetup(n: 8)
        let inversion = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: sigma,
                                           regularization: .tikhonov(beta: 0.05, alpha: 0.01))
        let m = truth.map { 0.5 * $0 + 0.1 }
        let delta = seededNormals(problem.parameterCount, seed: 7, scale: 0.5)
        let (first, second) = try taylorRemainders(inversion.objective, at: m, direction: delta, steps: taylorSteps)
        let o1 = observedOrder(h: taylorSteps, errors: first), o2 = observedOrder(h: taylorSteps, errors: second)
        print("Darcy log-conductivity Taylor test: first-order remainders \(first) (order \(o1)), second-order \(second) (order \(o2))")
        #expect(o2 >= 1.9 && o2 <= 2.1, "second-order remainder order \(o2): \(second)")
        #expect(o1 >= 0.9 && o1 <= 1.1, "first-order remainder order \(o1): \(first)")
    }

    @Test func sourceGradientPassesTheTaylorTest() throws {
        let (problem, truth, _, _) = try darcySetup(n: 9)
        let trueSource = problem.nodeValues { x, y in 10 * exp(-((x - 0.4) * (x - 0.4) + (y - 0.6) * (y - 0.6)) / 0.02) }
        let (data, _, sigma) = try DarcySynthetic.observations(problem, logConductivity: truth, source: trueSource, seed: 4)
        let inversion = try DarcySourceInversion(problem: problem, logConductivity: truth, observations: data,
                                                 noiseStandardDeviation: sigma, regularization: .tikhonov(beta: 1e-3, alpha: 1e-3))
        let f = seededNormals(problem.unknownCount, seed: 8)
        let delta = seededNormals(problem.unknownCount, seed: 9)
        let (first, second) = try taylorRemainders(inversion.objective, at: f, direction: delta, steps: taylorSteps)
        let o1 = observedOrder(h: taylorSteps, errors: first), o2 = observedOrder(h: taylorSteps, errors: second)
        print("Darcy source Taylor test: first-order order \(o1), second-order \(second) (order \(o2))")
        #expect(o2 >= 1.9 && o2 <= 2.1, "second-order remainder order \(o2): \(second)")
        #expect(o1 >= 0.9 && o1 <= 1.1, "first-order remainder order \(o1): \(first)")
    }

    @Test func regularizerGradientsPassTheTaylorTest() throws {
        let (rows, cols, h) = (7, 9, 0.1)
        let x = seededNormals(rows * cols, seed: 10)
        let x0 = seededNormals(rows * cols, seed: 11, scale: 0.3)
        let delta = seededNormals(rows * cols, seed: 12)
        for reg in [DarcyRegularization.tikhonov(beta: 0.7, alpha: 0.3), .totalVariation(beta: 0.5, epsilon: 0.5)] {
            let (first, second) = try taylorRemainders({ try reg.evaluate($0, rows: rows, columns: cols, spacing: h, reference: x0) },
                                                       at: x, direction: delta, steps: taylorSteps)
            let o1 = observedOrder(h: taylorSteps, errors: first), o2 = observedOrder(h: taylorSteps, errors: second)
            print("\(reg) Taylor test: orders \(o1), \(o2)")
            #expect(o2 >= 1.9 && o2 <= 2.1, "\(reg): second-order remainder order \(o2): \(second)")
            #expect(o1 >= 0.9 && o1 <= 1.1, "\(reg): first-order remainder order \(o1)")
        }
        // H¹ of a constant is the α term only; TV of a constant is β·Σh²ε.
        let c = [Double](repeating: 2, count: rows * cols)
        let tv = try DarcyRegularization.totalVariation(beta: 0.5, epsilon: 0.5).evaluate(c, rows: rows, columns: cols, spacing: h)
        #expect(abs(tv.value - 0.5 * Double(rows * cols) * h * h * 0.5) < 1e-12)
        #expect(tv.gradient.allSatisfy { $0 == 0 })
        let h1 = try DarcyRegularization.tikhonov(beta: 3, alpha: 0).evaluate(c, rows: rows, columns: cols, spacing: h)
        #expect(h1.value == 0)
    }

    @Test func smallInversionRecoversTheLogConductivity() throws {
        let (problem, truth, data, sigma) = try darcySetup(n: 16)
        let zero = [Double](repeating: 0, count: problem.parameterCount)
        let lbfgs = LBFGS(gradientTolerance: 1e-5, options: ReconstructionOptions(maxIterations: 300, tolerance: 0, truth: truth, clipForMetrics: false))
        for (reg, bound) in [(DarcyRegularization.tikhonov(beta: 10, alpha: 0.01), 0.5), (.totalVariation(beta: 30, epsilon: 1), 0.55)] {
            let inversion = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: sigma, regularization: reg)
            let result = try inversion.reconstruct(initial: zero, optimizer: lbfgs)
            let err = relativeError(result.x, truth)
            let initial = try inversion.evaluate(zero), final = try inversion.evaluate(result.x)
            print("Darcy inversion n = 16 \(reg): relative L2 error \(err) (initial \(relativeError(zero, truth))), \(result.report.iterations) iterations, \(result.report.stop), misfit \(final.misfit), \(result.report.notes)")
            #expect(err < bound, "\(reg): relative error \(err)")
            #expect(result.report.stop == .converged, "\(result.report.notes)")
            #expect(final.value < initial.value)
        }
    }

    @Test func smallSourceRecoveryConverges() throws {
        let (problem, truth, _, _) = try darcySetup(n: 16)
        let trueSource = problem.nodeValues { x, y in 10 * exp(-((x - 0.4) * (x - 0.4) + (y - 0.6) * (y - 0.6)) / 0.02) }
        let (data, _, sigma) = try DarcySynthetic.observations(problem, logConductivity: truth, source: trueSource, seed: 6)
        let inversion = try DarcySourceInversion(problem: problem, logConductivity: truth, observations: data,
                                                 noiseStandardDeviation: sigma, regularization: .tikhonov(beta: 1, alpha: 1e-4))
        let result = try inversion.reconstruct(optimizer: LBFGS(options: ReconstructionOptions(maxIterations: 500, tolerance: 0)))
        let err = relativeError(result.x, trueSource)
        print("Darcy source recovery n = 16: relative L2 error \(err), \(result.report.iterations) iterations, \(result.report.notes)")
        #expect(result.report.stop == .converged)
        #expect(err < 0.3)
    }

    @Test func lbfgsMinimizesRosenbrock() throws {
        func rosenbrock(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            var f = 0.0
            var g = [Double](repeating: 0, count: x.count)
            for i in 0..<(x.count - 1) {
                let a = x[i + 1] - x[i] * x[i], b = 1 - x[i]
                f += 100 * a * a + b * b
                g[i] += -400 * x[i] * a - 2 * b
                g[i + 1] += 200 * a
            }
            return (f, g)
        }
        for start in [[-1.2, 1.0], [-1.2, 1, -1.2, 1, 0.5, -0.3]] {
            var records = 0
            let options = ReconstructionOptions(maxIterations: 500, tolerance: 0, monitor: { _ in records += 1 })
            let result = try LBFGS(memory: 5, gradientTolerance: 1e-10, objectiveTolerance: 0, options: options).minimize(initial: start, rosenbrock)
            print("L-BFGS Rosenbrock (\(start.count)-D): \(result.report.iterations) iterations, \(result.report.notes)")
            #expect(maxAbsDifference(result.x, [Double](repeating: 1, count: start.count)) < 1e-6, "\(result.x)")
            #expect(result.report.stop == .converged)
            #expect(records == result.report.iterations && result.report.history.count == records)
            #expect(result.report.iterations < 200)
        }
        // A strictly convex quadratic: n iterations at most in exact arithmetic, a few more here.
        let diag = (1...20).map { Double($0) }
        let quad = try LBFGS(memory: 20, gradientTolerance: 1e-12, objectiveTolerance: 0, options: ReconstructionOptions(maxIterations: 100, tolerance: 0))
            .minimize(initial: [Double](repeating: 1, count: 20)) { x in
                (zip(diag, x).reduce(0) { $0 + 0.5 * $1.0 * $1.1 * $1.1 }, zip(diag, x).map { $0 * $1 })
            }
        #expect(InverseVectors.norm(quad.x) < 1e-10)
        #expect(quad.report.iterations <= 60)
    }

    @Test func badInputsThrowTypedErrors() throws {
        let points = try DarcySynthetic.latticePoints(perAxis: 3)
        func isPDEError(_ body: () throws -> Void) -> Bool {
            do { try body(); return false } catch is PDEError { return true } catch { return false }
        }
        // Observation points outside the unit square, or none.
        #expect(isPDEError { _ = try PointObservationModel(nodesPerAxis: 4, points: [SIMD2(0.5, 1.01)]) })
        #expect(isPDEError { _ = try PointObservationModel(nodesPerAxis: 4, points: [SIMD2(-0.1, 0.5)]) })
        #expect(isPDEError { _ = try PointObservationModel(nodesPerAxis: 4, points: [SIMD2(.nan, 0.5)]) })
        #expect(isPDEError { _ = try PointObservationModel(nodesPerAxis: 4, points: []) })
        #expect(isPDEError { _ = try PointObservationModel(nodesPerAxis: 0, points: points) })
        // Wrong array lengths.
        #expect(isPDEError { _ = try DarcyForwardProblem(nodesPerAxis: 4, source: [1, 2, 3], points: points) })
        let problem = try DarcyForwardProblem(nodesPerAxis: 4, source: { _, _ in 1 }, points: points)
        #expect(isPDEError { _ = try problem.solve([0, 0]) })
        #expect(isPDEError { _ = try problem.solve([Double](repeating: 1000, count: problem.parameterCount)) })
        let m = [Double](repeating: 0, count: problem.parameterCount)
        let data = [Double](repeating: 0.01, count: points.count)
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: [1, 2], noiseStandardDeviation: 1, regularization: .none) })
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 1, regularization: .none, reference: [0]) })
        let inversion = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 1, regularization: .none)
        #expect(isPDEError { _ = try inversion.evaluate([0, 1]) })
        #expect(isPDEError { _ = try inversion.reconstruct(initial: [0]) })
        #expect(isPDEError { _ = try DarcySourceInversion(problem: problem, logConductivity: [0], observations: data, noiseStandardDeviation: 1, regularization: .none) })
        // Negative or zero weights.
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 0, regularization: .none) })
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 1, regularization: .tikhonov(beta: -1, alpha: 0)) })
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 1, regularization: .tikhonov(beta: 1, alpha: -0.1)) })
        #expect(isPDEError { _ = try DarcyInversion(problem: problem, observations: data, noiseStandardDeviation: 1, regularization: .totalVariation(beta: 1, epsilon: 0)) })
        #expect(isPDEError { _ = try DarcySynthetic.observations(problem, logConductivity: m, noiseLevel: -0.01) })
        #expect(isPDEError { _ = try DarcySynthetic.randomPoints(count: 0, seed: 1) })
        // Bad L-BFGS settings and starts.
        let quadratic: ([Double]) -> (value: Double, gradient: [Double]) = { x in (InverseVectors.dot(x, x), x.map { 2 * $0 }) }
        #expect(isPDEError { _ = try LBFGS(memory: 0).minimize(initial: [1], quadratic) })
        #expect(isPDEError { _ = try LBFGS(gradientTolerance: -1).minimize(initial: [1], quadratic) })
        #expect(isPDEError { _ = try LBFGS(sufficientDecrease: 0.5, curvature: 0.1).minimize(initial: [1], quadratic) })
        #expect(isPDEError { _ = try LBFGS(maxLineSearchEvaluations: 0).minimize(initial: [1], quadratic) })
        #expect(isPDEError { _ = try LBFGS(options: ReconstructionOptions(maxIterations: -1)).minimize(initial: [1], quadratic) })
        #expect(isPDEError { _ = try LBFGS().minimize(initial: [], quadratic) })
        #expect(isPDEError { _ = try LBFGS().minimize(initial: [.infinity], quadratic) })
        #expect(isPDEError { _ = try LBFGS().minimize(initial: [1, 2]) { _ in (1, [0]) } })
    }

}
