import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

private func quiet(_ iterations: Int, tolerance: Double = 0) -> ReconstructionOptions {
    ReconstructionOptions(maxIterations: iterations, tolerance: tolerance, trackObjective: false, recordHistory: false)
}

/// A small least-squares problem with a known matrix.
private func smallProblem() -> (MatrixModel, [Double]) {
    let a = DenseMatrix(rows: 14, columns: 10) { i, j in sin(Double(7 * i + 3 * j + 1)) + (i == j ? 1.5 : 0) }
    return (MatrixModel(a), randomArray(14, seed: 11))
}

/// The largest violation of the lasso optimality conditions 0 ∈ Aᵀ(Ax − y) + λ∂‖x‖₁.
private func lassoKKT(_ model: ForwardModel, _ y: [Double], _ x: [Double], _ lambda: Double) throws -> Double {
    var r = try model(x)
    for i in r.indices { r[i] -= y[i] }
    let g = try model.adjoint(r)
    var worst = 0.0
    for i in x.indices {
        worst = max(worst, abs(x[i]) > 1e-9 ? abs(g[i] + lambda * (x[i] > 0 ? 1 : -1)) : max(0, abs(g[i]) - lambda))
    }
    return worst
}

@Suite struct AlgorithmTests {
    @Test func ridgeMinimizerIsReachedByEveryAlgorithm() throws {
        let (model, y) = smallProblem()
        let lambda = 0.3
        // Dense solve of (AᵀA + λI) x = Aᵀy.
        var normal = model.matrix.gram(transpose: true)
        for i in 0..<10 { normal.values[i * 10 + i] += lambda }
        let exact = try LUFactorization(normal).solve(try model.adjoint(y))
        let prior = try SquaredL2Norm(weight: lambda)
        let fista = try ProximalGradient(options: quiet(3000, tolerance: 1e-14)).solve(model: model, measurement: y, prior: prior)
        let admm = try ADMM(penalty: 1, options: quiet(3000, tolerance: 1e-14), cgTolerance: 1e-13).solve(model: model, measurement: y, prior: prior)
        let pdhg = try PDHG(options: quiet(20000, tolerance: 1e-15)).solve(
            blocks: [(model, SquaredDistance(center: y))], g: prior, initial: [Double](repeating: 0, count: 10))
        let tik = try Tikhonov(weight: lambda).solve(model: model, measurement: y)
        for (name, x) in [("fista", fista.x), ("admm", admm.x), ("pdhg", pdhg.x), ("tikhonov", tik.x)] {
            #expect(maxAbsDifference(x, exact) < 1e-7, "\(name)")
        }
        #expect(fista.report.stop == .converged && admm.report.stop == .converged)
    }

    @Test func lassoSolutionsSatisfyTheOptimalityConditions() throws {
        let (model, y) = smallProblem()
        let lambda = 0.8
        let l1 = try L1Norm(weight: lambda)
        let zero = [Double](repeating: 0, count: 10)
        let runs: [(String, Reconstruction)] = [
            ("fista", try ProximalGradient(options: quiet(5000, tolerance: 1e-13)).solve(model: model, measurement: y, prior: l1)),
            ("ista", try ProximalGradient(accelerated: false, options: quiet(20000, tolerance: 1e-13)).solve(model: model, measurement: y, prior: l1)),
            ("fista-backtracking", try ProximalGradient(step: .backtracking(initial: 1, shrink: 0.5), options: quiet(5000, tolerance: 1e-13))
                .solve(model: model, measurement: y, prior: l1)),
            ("admm", try ADMM(penalty: 2, options: quiet(5000, tolerance: 1e-13), cgTolerance: 1e-13).solve(model: model, measurement: y, prior: l1)),
            ("linearized-admm", try LinearizedADMM(nu: 0.5, options: quiet(20000, tolerance: 1e-14)).solve(
                f: try LeastSquaresData(model: model, measurement: y, cgTolerance: 1e-13), g: l1,
                c: IdentityModel(shape: [10]), initial: zero)),
            ("pdhg", try PDHG(options: quiet(30000, tolerance: 1e-15)).solve(blocks: [(model, SquaredDistance(center: y))], g: l1, initial: zero)),
        ]
        for (name, run) in runs {
            #expect(try lassoKKT(model, y, run.x, lambda) < 1e-6, "\(name)")
            #expect(maxAbsDifference(run.x, runs[0].1.x) < 1e-6, "\(name)")
        }
        #expect(runs[0].1.x.contains(0) && runs[0].1.x.contains { $0 != 0 })   // a sparse, non-trivial solution
    }

    // Relaxed ADMM (αKx + (1 − α)z in the z- and u-updates) has plain ADMM's fixed points: on
    // the lasso (K = I, x-update by CG) and on periodic TV deblurring (K = ∇, x-update by FFT,
    // which leaves the fused kernels for α ≠ 1) every α reaches the same minimizer.
    @Test func relaxedADMMReachesTheSameMinimizer() throws {
        let (model, y) = smallProblem()
        let lambda = 0.8
        let l1 = try L1Norm(weight: lambda)
        var lasso: [Double: Reconstruction] = [:]
        for alpha in [0.5, 1, 1.6] {
            lasso[alpha] = try ADMM(penalty: 2, options: quiet(8000, tolerance: 1e-13), cgTolerance: 1e-13, relaxation: alpha)
                .solve(model: model, measurement: y, prior: l1)
            #expect(try lassoKKT(model, y, lasso[alpha]!.x, lambda) < 1e-6, "α = \(alpha)")
            #expect(lasso[alpha]!.report.stop == .converged, "α = \(alpha)")
        }
        #expect(maxAbsDifference(lasso[0.5]!.x, lasso[1]!.x) < 1e-6 && maxAbsDifference(lasso[1.6]!.x, lasso[1]!.x) < 1e-6)
        #expect(lasso[0.5]!.report.notes.contains("relaxation α = 0.5") && !lasso[1]!.report.notes.contains { $0.hasPrefix("relaxation") })
        // Over-relaxation speeds this problem up, damping slows it down (Boyd et al. §3.4.3).
        #expect(lasso[1.6]!.report.iterations < lasso[1]!.report.iterations && lasso[1]!.report.iterations < lasso[0.5]!.report.iterations)

        let shape = [10, 10]
        let truth = (0..<100).map { k in (k / 10 >= 3 && k / 10 < 7 && k % 10 >= 2 && k % 10 < 6) ? 1.0 : 0.0 }
        let blur = try Blur(imageShape: shape, kernel: .gaussian(sigma: 1))
        let yb = try NoiseModel.gaussian(sigma: 0.02).corrupt(try blur(truth), seed: 4)
        let d = try FiniteDifferenceGradient(imageShape: shape, boundary: .periodic)
        let l21 = try GroupL1Norm(weight: 0.02, channels: 2)
        let plain = try ADMM(penalty: 0.2, options: quiet(8000, tolerance: 1e-14)).solve(model: blur, measurement: yb, prior: l21, splitting: d)
        #expect(plain.report.notes.contains("fused TV kernels"))
        for alpha in [0.7, 1.5] {
            let relaxed = try ADMM(penalty: 0.2, options: quiet(8000, tolerance: 1e-14), relaxation: alpha)
                .solve(model: blur, measurement: yb, prior: l21, splitting: d)
            #expect(!relaxed.report.notes.contains("fused TV kernels") && relaxed.report.notes.contains("x-update by FFT"))
            #expect(maxAbsDifference(relaxed.x, plain.x) < 1e-7, "α = \(alpha): \(maxAbsDifference(relaxed.x, plain.x)), \(relaxed.report.iterations) vs \(plain.report.iterations) iterations")
        }
        for bad in [0.0, 2.0, -1, .nan, .infinity] {
            #expect(pdeErrorKind { try ADMM(penalty: 1, relaxation: bad).solve(model: model, measurement: y, prior: l1) } == "invalidValue",
                    "α = \(bad)")
        }
    }

    @Test func tvDeblurringAgreesAcrossADMMPathsAndPDHG() throws {
        let shape = [12, 12]
        var truth = [Double](repeating: 0, count: 144)
        for i in 3..<9 { for j in 2..<7 { truth[i * 12 + j] = 1 } }
        let blur = try Blur(imageShape: shape, kernel: .gaussian(sigma: 1))
        let y = try NoiseModel.gaussian(sigma: 0.02).corrupt(try blur(truth), seed: 3)
        let lambda = 0.02
        let dPer = try FiniteDifferenceGradient(imageShape: shape, boundary: .periodic)
        let l21 = try GroupL1Norm(weight: lambda, channels: 2)
        let opts = ReconstructionOptions(maxIterations: 3000, tolerance: 1e-12, truth: truth, imageShape: shape)
        let fft = try ADMM(penalty: 0.2, options: opts).solve(model: blur, measurement: y, prior: l21, splitting: dPer)
        #expect(fft.report.notes.contains("x-update by FFT"))
        let wrapped = try Composition(IdentityModel(shape: shape), after: blur)
        let cg = try ADMM(penalty: 0.2, options: opts, cgTolerance: 1e-12).solve(model: wrapped, measurement: y, prior: l21, splitting: dPer)
        #expect(cg.report.notes.contains("x-update by CG"))
        let pd = try PDHG(options: ReconstructionOptions(maxIterations: 20000, tolerance: 1e-13, trackObjective: false, recordHistory: false))
            .solve(blocks: [(blur, SquaredDistance(center: y)), (dPer, l21)], initial: y)
        #expect(maxAbsDifference(fft.x, cg.x) < 1e-6)
        #expect(maxAbsDifference(fft.x, pd.x) < 1e-4)
        // The history has objectives and PSNRs; TV beats the blurred input.
        let last = try #require(fft.report.history.last)
        let blurredPSNR = try ImageMetrics.psnr(y.map { min(max($0, 0), 1) }, truth, dataRange: 1)
        #expect(last.objective != nil && last.psnr! > blurredPSNR)
        // The TV prox inside ADMM with K = I (a different splitting) reaches the same minimizer of
        // ½‖Ax − y‖² + λ TV_periodic(x).
        let tv = try TotalVariation(shape: shape, weight: lambda, boundary: .periodic, maxIterations: 2000, tolerance: 1e-12)
        let prox = try ADMM(penalty: 0.5, options: quiet(3000, tolerance: 1e-11)).solve(model: blur, measurement: y, prior: tv)
        #expect(maxAbsDifference(prox.x, fft.x) < 1e-4)
    }

    @Test func tikhonovByFFTEqualsTikhonovByCG() throws {
        let shape = [10, 9]
        let blur = try Blur(imageShape: shape, kernel: .motion(length: 4, angleDegrees: 20))
        let y = randomArray(90, seed: 8)
        for reg in [Tikhonov.Regularizer.identity, .gradient(.periodic)] {
            let a = try Tikhonov(weight: 0.05, regularizer: reg, method: .fft).solve(model: blur, measurement: y)
            let b = try Tikhonov(weight: 0.05, regularizer: reg, method: .cg).solve(model: blur, measurement: y)
            #expect(maxAbsDifference(a.x, b.x) < 1e-7)
            #expect(a.report.notes == ["solved by FFT"])
        }
        #expect(throws: PDEError.self) {
            try Tikhonov(weight: 0.05, regularizer: .gradient(.neumann), method: .fft).solve(model: blur, measurement: y)
        }
    }

    @Test func istaDecreasesTheObjectiveAndTheMonitorSeesEveryIteration() throws {
        let (model, y) = smallProblem()
        var seen: [Int] = []
        var options = ReconstructionOptions(maxIterations: 40, tolerance: 0)
        options.monitor = { seen.append($0.iteration) }
        let run = try ProximalGradient(accelerated: false, options: options).solve(model: model, measurement: y, prior: L1Norm(weight: 0.5))
        let objectives = run.report.history.compactMap(\.objective)
        #expect(objectives.count == 40 && seen == Array(1...40))
        #expect(zip(objectives, objectives.dropFirst()).allSatisfy { $1 <= $0 + 1e-12 })
        #expect(run.report.stop == .maxIterations && run.report.iterations == 40)
    }

    @Test func badSettingsGiveTypedErrors() throws {
        let (model, y) = smallProblem()
        let l1 = try L1Norm(weight: 1)
        #expect(throws: PDEError.self) { try ADMM(penalty: 0).solve(model: model, measurement: y, prior: l1) }
        #expect(throws: PDEError.self) { try ADMM(penalty: 1).solve(model: model, measurement: [1, 2], prior: l1) }
        #expect(throws: PDEError.self) {
            try ProximalGradient(options: ReconstructionOptions(tolerance: -1)).solve(model: model, measurement: y, prior: l1)
        }
        #expect(throws: PDEError.self) {
            try ProximalGradient(options: ReconstructionOptions(truth: [1])).solve(model: model, measurement: y, prior: l1)
        }
        #expect(throws: PDEError.self) {
            try ProximalGradient(step: .backtracking(initial: 1, shrink: 1)).solve(model: model, measurement: y, prior: l1)
        }
        #expect(throws: PDEError.self) { try PDHG().solve(blocks: [], initial: [0]) }
        #expect(throws: PDEError.self) { try L1Norm(weight: -1) }
        #expect(throws: PDEError.self) { try TotalVariation(shape: [4, 4], weight: 1, maxIterations: 0) }
        #expect(throws: PDEError.self) { try BoxConstraint(lower: 1, upper: 0) }
    }
}

/// Hides a prox's type, so ADMM takes its generic loop.
private struct Opaque: ProximalOperator {
    let base: ProximalOperator
    var name: String { base.name }
    func prox(_ v: [Double], step tau: Double) throws -> [Double] { try base.prox(v, step: tau) }
    func value(_ x: [Double]) -> Double? { base.value(x) }
}

@Suite struct FusedTVTests {
    @Test(arguments: [true, false])
    func fusedTVADMMFollowsTheGenericIterates(isotropic: Bool) throws {
        let shape = [10, 14]
        var rng = SeededGenerator(seed: 4)
        let truth = (0..<140).map { i in (i / 14 > 3 && i % 14 > 5 ? 1.0 : 0.2) + 0.01 * rng.normal() }
        let blur = try Blur(imageShape: shape, kernel: .gaussian(sigma: 1, radius: 3))
        let y = try NoiseModel.gaussian(sigma: 0.02).corrupt(try blur(truth), seed: 5)
        let d = try FiniteDifferenceGradient(imageShape: shape, boundary: .periodic)
        let g: ProximalOperator = isotropic ? try GroupL1Norm(weight: 0.03, channels: 2) : try L1Norm(weight: 0.03)
        let admm = ADMM(penalty: 0.3, options: ReconstructionOptions(maxIterations: 60, tolerance: 0))
        let fused = try admm.solve(model: blur, measurement: y, prior: g, splitting: d)
        let generic = try admm.solve(model: blur, measurement: y, prior: Opaque(base: g), splitting: d)
        #expect(fused.report.notes.contains("fused TV kernels") && !generic.report.notes.contains("fused TV kernels"))
        #expect(maxAbsDifference(fused.x, generic.x) < 1e-12)
        let (fo, go) = (fused.report.history.compactMap(\.objective), generic.report.history.compactMap(\.objective))
        #expect(fo.count == 60 && zip(fo, go).allSatisfy { abs($0 - $1) <= 1e-12 * abs($1) })
    }
}
