import Foundation
import Learning

/// The training losses of learned proximal networks (Fang, Buchanan & Sulam, ICLR 2024), as
/// recorded functions of the network output f(y) and the clean target x, both [batch, …]
/// of one shape.
///
/// Proximal matching, 1 − exp(−‖f(y) − x‖²/γ²) per sample (the distance a sum over all of a
/// sample's entries, not a mean) averaged over the batch, drives f towards the MAP
/// estimator (the prox of −log p) as γ → 0, where ℓ² training gives the MMSE estimator and ℓ¹
/// the posterior median. The reference trains with an ℓ¹ warm start, then proximal matching
/// with γ decreasing in stages (`ProximalMatchingSchedule`).
public enum ProximalMatchingLoss {
    /// mean over the batch of 1 − exp(−‖output_b − target_b‖²/γ²), the squared distance summed
    /// over every entry of a sample (written without the square root, so the gradient is
    /// smooth at zero distance). Throws `LearningError.shapeMismatch` for different shapes or a
    /// rank below 1, `invalidArgument` for γ not positive and finite.
    public static func matching<T: TensorScalar>(_ output: Variable<T>, _ target: Variable<T>, gamma: Double) throws -> Variable<T> {
        guard gamma > 0, gamma.isFinite else {
            throw LearningError.invalidArgument(name: "proximal matching gamma", value: "\(gamma)", expected: "a positive finite number")
        }
        let distance = try squaredDistances(output, target)
        return 1 - (distance * T(-1 / (gamma * gamma))).exp().mean()
    }

    /// Proximal matching over a batch of B pairs of which only those with
    /// ‖f(y_b) − x_b‖ < margin·γ enter the recorded graph: one pass of `prox` without gradients
    /// over the whole batch screens the pairs, a recorded pass over the K kept ones carries the
    /// gradient. The returned loss is (K/B)·(matching loss of the kept pairs) + (the dropped pairs'
    /// exact loss terms)/B: the full batch's loss, and its gradient up to the dropped pairs'
    /// terms, each at most 2·margin·e^{−margin²}/γ per unit of ∂f (below 1e-6/γ at margin 4).
    /// At small γ almost every pair is dropped (they carry no gradient), so a batch many times
    /// larger costs one recorded pass over its kept pairs plus the screening pass, which is
    /// cheaper per pair than a recorded step (about two thirds of one on the Laplace toy's
    /// network, where element-wise passes dominate). `loss` is nil when no pair is kept (the
    /// gradient is then 0 up to the same bound); `value` is the full batch's loss either way. Throws `LearningError.shapeMismatch`
    /// for different shapes, `invalidArgument` for γ or margin not positive and finite.
    public static func screenedMatching<T: TensorScalar>(prox: (Variable<T>) throws -> Variable<T>, noisy y: Tensor<T>, clean x: Tensor<T>,
                                                          gamma: Double, margin: Double) throws -> (loss: Variable<T>?, value: Double, kept: Int) {
        guard gamma > 0, gamma.isFinite else {
            throw LearningError.invalidArgument(name: "proximal matching gamma", value: "\(gamma)", expected: "a positive finite number")
        }
        guard margin > 0, margin.isFinite else {
            throw LearningError.invalidArgument(name: "proximal matching screening margin", value: "\(margin)", expected: "a positive finite number")
        }
        guard y.shape == x.shape, y.shape.count >= 1, y.shape[0] >= 1 else {
            throw LearningError.shapeMismatch(operation: "screened proximal matching", expected: "noisy and clean batches of one shape [batch ≥ 1, …]",
                                              got: shapeString(y.shape) + " and " + shapeString(x.shape))
        }
        let b = x.shape[0], d = x.count / b, limit = (margin * gamma) * (margin * gamma), invGamma2 = 1 / (gamma * gamma)
        func rows(_ a: Tensor<T>, _ indices: some Collection<Int>) throws -> Tensor<T> {
            var out = [T](); out.reserveCapacity(indices.count * d)
            a.scalars.withUnsafeBufferPointer { p in for s in indices { out.append(contentsOf: p[(s * d)..<(s * d + d)]) } }
            return try Tensor(shape: [indices.count] + Array(a.shape.dropFirst()), scalars: out)
        }
        var kept: [Int] = []
        var dropped = 0.0
        // The screening pass in chunks of about 2^16 entries, whose intermediate tensors stay in
        // cache (one pass over a batch of 10⁵ samples would stream every layer through memory).
        let chunk = max(1, (1 << 16) / max(1, d))
        for start in stride(from: 0, to: b, by: chunk) {
            let range = start..<min(b, start + chunk)
            let yc = range.count == b ? y : try rows(y, range)
            let fy = try Autodiff.withoutGradient { try prox(Variable(yc)).value }
            guard fy.count == range.count * d else {
                throw LearningError.shapeMismatch(operation: "screened proximal matching", expected: "a prox output of shape \(shapeString(yc.shape))",
                                                  got: shapeString(fy.shape))
            }
            fy.scalars.withUnsafeBufferPointer { f in
                x.scalars.withUnsafeBufferPointer { t in
                    for s in range {
                        var d2 = 0.0
                        let o = (s &- start) &* d
                        for k in 0..<d { let e = Double(f[o &+ k]) - Double(t[s &* d &+ k]); d2 += e * e }
                        if d2 < limit { kept.append(s) } else { dropped += 1 - Foundation.exp(-d2 * invGamma2) }
                    }
                }
            }
        }
        guard !kept.isEmpty else { return (nil, dropped / Double(b), 0) }
        let part = try matching(try prox(Variable(try rows(y, kept))), Variable(try rows(x, kept)), gamma: gamma)
        let loss = part * T(Double(kept.count) / Double(b)) + T(dropped / Double(b))
        return (loss, Double(loss.value.scalar ?? .nan), kept.count)
    }

    /// ‖output_b − target_b‖² per sample, [batch] (the sum over every entry of a sample).
    /// Throws `LearningError.shapeMismatch` for different shapes or a rank below 1.
    public static func squaredDistances<T: TensorScalar>(_ output: Variable<T>, _ target: Variable<T>) throws -> Variable<T> {
        try checkShapes(output, target, "proximal matching")
        let squares = try (output - target).square()
        return output.shape.count == 1 ? squares : try squares.sum(alongAxes: Array(1..<output.shape.count))
    }

    /// The ℓ¹ warm-start loss: the mean of |output − target| over all entries (PyTorch's
    /// `L1Loss`, what the reference pre-trains with). Throws `LearningError.shapeMismatch` for
    /// different shapes.
    public static func l1<T: TensorScalar>(_ output: Variable<T>, _ target: Variable<T>) throws -> Variable<T> {
        try checkShapes(output, target, "L1 loss")
        return try (output - target).abs().mean()
    }

    /// The ℓ² loss: the mean of (output − target)² over all entries (PyTorch's `MSELoss`; an
    /// MMSE denoiser minimizes it). Throws `LearningError.shapeMismatch` for different shapes.
    public static func l2<T: TensorScalar>(_ output: Variable<T>, _ target: Variable<T>) throws -> Variable<T> {
        try checkShapes(output, target, "L2 loss")
        return try (output - target).square().mean()
    }

    static func checkShapes<T: TensorScalar>(_ a: Variable<T>, _ b: Variable<T>, _ operation: String) throws {
        guard a.shape == b.shape, a.shape.count >= 1, a.shape[0] >= 1 else {
            throw LearningError.shapeMismatch(operation: operation, expected: "output and target of one shape [batch ≥ 1, …]",
                                              got: shapeString(a.shape) + " and " + shapeString(b.shape))
        }
    }
}

/// The reference's training schedule of a learned proximal network: `pretrainSteps` of the ℓ¹
/// loss at `pretrainLearningRate`, then `matchingSteps` of proximal matching in equal stages,
/// one per γ of `gammas`. By default the stages are the reference's image schedule, γ =
/// σ_min·2^{stages − 1 − stage} (4 stages: 8σ_min, 4σ_min, 2σ_min, σ_min) at `learningRate`,
/// σ_min = 0.08·√d (d = entries per sample; MNIST: γ from 17.9 to 2.24; the √d goes with the
/// summed distance of `ProximalMatchingLoss.matching`). An explicit decreasing γ list, with
/// optional per-stage learning rates, gives schedules such as the reference's Laplace toy
/// (γ = 0.5, 0.4, 0.3, 0.2, 0.1).
public struct ProximalMatchingSchedule: Sendable, Equatable {
    /// What to train with at a step.
    public enum Phase: Sendable, Equatable {
        /// The ℓ¹ warm start.
        case l1
        /// Proximal matching with this γ in stage `stage` (0-based).
        case matching(gamma: Double, stage: Int)
    }

    /// Steps of ℓ¹ warm start (reference: 20 000).
    public var pretrainSteps: Int
    /// Steps of proximal matching after the warm start (reference: 20 000).
    public var matchingSteps: Int
    /// γ of each proximal-matching stage, in order (non-increasing).
    public var gammas: [Double]
    /// Learning rates of the warm start, one per equal part of it (the reference's Laplace toy:
    /// 1e-3 then 1e-4; its image networks: 1e-3 throughout).
    public var pretrainLearningRates: [Double]
    /// Learning rate of each proximal-matching stage (as many as `gammas`).
    public var stageLearningRates: [Double]

    /// Number of γ stages (reference: 4).
    public var stages: Int { gammas.count }
    /// The last (smallest) γ.
    public var sigmaMin: Double { gammas[gammas.count - 1] }
    /// Learning rate of the first proximal-matching stage (reference: 1e-4 for all).
    public var learningRate: Double { stageLearningRates[0] }
    /// Learning rate at the start of the warm start (reference: 1e-3).
    public var pretrainLearningRate: Double { pretrainLearningRates[0] }

    /// 0.08·√dimension, the reference's σ_min for samples of `dimension` entries.
    public static func defaultSigmaMin(dimension: Int) -> Double { 0.08 * Double(max(0, dimension)).squareRoot() }

    /// The reference schedule for samples of `dimension` entries (σ_min = 0.08·√d unless given).
    /// Throws `LearningError.invalidArgument` for a dimension or stage count below 1, negative
    /// step counts, or a σ_min or learning rate that is not positive and finite.
    public init(dimension: Int, pretrainSteps: Int = 20_000, matchingSteps: Int = 20_000, stages: Int = 4,
                sigmaMin: Double? = nil, pretrainLearningRate: Double = 1e-3, learningRate: Double = 1e-4) throws {
        guard dimension >= 1, stages >= 1 else {
            throw LearningError.invalidArgument(name: "proximal matching schedule", value: "dimension \(dimension), stages \(stages)",
                                                expected: "dimension and stages ≥ 1")
        }
        let s = sigmaMin ?? Self.defaultSigmaMin(dimension: dimension)
        try self.init(pretrainSteps: pretrainSteps, matchingSteps: matchingSteps,
                      gammas: (0..<stages).map { s * Foundation.pow(2, Double(stages - 1 - $0)) },
                      pretrainLearningRate: pretrainLearningRate, stageLearningRates: Array(repeating: learningRate, count: stages))
    }

    /// A schedule with explicit stages: γ per stage (positive, finite, non-increasing) and a
    /// learning rate per stage (as many). Throws `LearningError.invalidArgument` for an empty or
    /// increasing γ list, lists of different lengths, negative step counts, or a γ or learning
    /// rate that is not positive and finite.
    public init(pretrainSteps: Int, matchingSteps: Int, gammas: [Double], pretrainLearningRate: Double,
                stageLearningRates: [Double]) throws {
        try self.init(pretrainSteps: pretrainSteps, matchingSteps: matchingSteps, gammas: gammas,
                      pretrainLearningRates: [pretrainLearningRate], stageLearningRates: stageLearningRates)
    }

    /// A schedule with explicit stages whose warm start is split into equal parts, one per
    /// entry of `pretrainLearningRates` (the last part takes the remainder). Throws as the
    /// other explicit initializer, and for an empty `pretrainLearningRates` or more parts
    /// than warm-start steps.
    public init(pretrainSteps: Int, matchingSteps: Int, gammas: [Double], pretrainLearningRates: [Double],
                stageLearningRates: [Double]) throws {
        guard !pretrainLearningRates.isEmpty, pretrainLearningRates.count == 1 || pretrainLearningRates.count <= pretrainSteps else {
            throw LearningError.invalidArgument(name: "proximal matching schedule pretrainLearningRates",
                                                value: "\(pretrainLearningRates.count) rates for \(pretrainSteps) warm-start steps",
                                                expected: "at least one rate, and no more rates than warm-start steps")
        }
        guard pretrainSteps >= 0, matchingSteps >= 0, !gammas.isEmpty, stageLearningRates.count == gammas.count else {
            throw LearningError.invalidArgument(name: "proximal matching schedule",
                                                value: "steps \(pretrainSteps) + \(matchingSteps), \(gammas.count) γ, \(stageLearningRates.count) learning rates",
                                                expected: "step counts ≥ 0 and one learning rate per γ (at least one)")
        }
        let values: [(String, Double)] = pretrainLearningRates.map({ ("pretrainLearningRate", $0) }) + gammas.map({ ("gamma", $0) })
            + stageLearningRates.map({ ("learningRate", $0) })
        for (name, v) in values {
            guard v > 0, v.isFinite else {
                throw LearningError.invalidArgument(name: "proximal matching schedule \(name)", value: "\(v)", expected: "a positive finite number")
            }
        }
        guard zip(gammas, gammas.dropFirst()).allSatisfy({ $0 >= $1 }) else {
            throw LearningError.invalidArgument(name: "proximal matching schedule gammas", value: "\(gammas)", expected: "a non-increasing list")
        }
        self.pretrainSteps = pretrainSteps
        self.matchingSteps = matchingSteps
        self.gammas = gammas
        self.pretrainLearningRates = pretrainLearningRates
        self.stageLearningRates = stageLearningRates
    }

    /// γ of a stage (stage clamped to 0…stages − 1).
    public func gamma(stage: Int) -> Double { gammas[min(max(0, stage), stages - 1)] }

    /// The 0-based stage of a matching step (clamped to the last stage).
    func stage(atStep step: Int) -> Int { min(stages - 1, (step - pretrainSteps) / max(1, matchingSteps / stages)) }

    /// The phase at 0-based `step`: ℓ¹ before `pretrainSteps`, then stage
    /// ⌊(step − pretrainSteps)/⌊matchingSteps/stages⌋⌋, clamped to the last stage (steps past
    /// the end stay there), as the reference's `get_loss_hparams_and_lr`.
    public func phase(atStep step: Int) -> Phase {
        if step < pretrainSteps { return .l1 }
        let s = stage(atStep: step)
        return .matching(gamma: gammas[s], stage: s)
    }

    /// The learning rate at `step`: the warm-start part's rate (part ⌊step/⌊pretrainSteps/parts⌋⌋,
    /// clamped to the last) during the warm start, then the stage's rate.
    public func learningRate(atStep step: Int) -> Double {
        guard step >= pretrainSteps else {
            let parts = pretrainLearningRates.count
            return pretrainLearningRates[min(parts - 1, max(0, step) / max(1, pretrainSteps / parts))]
        }
        return stageLearningRates[stage(atStep: step)]
    }

    /// The loss of `step`'s phase for a network output and its clean target. Throws as the
    /// `ProximalMatchingLoss` functions.
    public func loss<T: TensorScalar>(atStep step: Int, _ output: Variable<T>, _ target: Variable<T>) throws -> Variable<T> {
        switch phase(atStep: step) {
        case .l1: return try ProximalMatchingLoss.l1(output, target)
        case let .matching(gamma, _): return try ProximalMatchingLoss.matching(output, target, gamma: gamma)
        }
    }
}

extension ProximalMatchingLoss {
    /// The expected proximal-matching loss of a denoiser of the 1-D Laplace toy over noisy
    /// values in a window: ∫ p(y)·(1 − E[exp(−(f(y) − x)²/γ²) | y]) dy over the span of `grid`
    /// (trapezoid rule on the grid, f given by `values` there), with the exact marginal p(y)
    /// and the posterior p(x | y) ∝ exp(−|x|/b − (x − y)²/(2σ²)), whose expectation is in closed
    /// form (`LaplaceToyExpectation`).
    ///
    /// What training at γ minimizes, in the mean over its batches: with `laplaceMinimizer`'s
    /// values it gives the least loss any denoiser reaches on the window, so the difference
    /// measures how much the objective prefers one denoiser over another. Throws
    /// `LearningError.invalidArgument` for γ, b or σ not positive and finite, a grid of fewer
    /// than 2 points, not increasing, or of another length than `values`, or a non-finite value.
    public static func laplaceExpectedLoss(values: [Double], on grid: [Double], gamma: Double, scale b: Double = 1,
                                           noise sigma: Double = 1) throws -> Double {
        for (name, v) in [("gamma", gamma), ("scale", b), ("noise", sigma)] where !(v > 0 && v.isFinite) {
            throw LearningError.invalidArgument(name: "Laplace expected loss \(name)", value: "\(v)", expected: "a positive finite number")
        }
        guard grid.count >= 2, grid.count == values.count, zip(grid, grid.dropFirst()).allSatisfy({ $0 < $1 }),
              grid.allSatisfy(\.isFinite), values.allSatisfy(\.isFinite) else {
            throw LearningError.invalidArgument(name: "Laplace expected loss grid", value: "\(grid.count) points, \(values.count) values",
                                                expected: "at least 2 increasing finite points and one finite value per point")
        }
        var total = 0.0
        for (k, (y, c)) in zip(grid, values).enumerated() {
            let posterior = LaplacePosterior(y: y, scale: b, noise: sigma)
            let weight = k == 0 ? (grid[1] - grid[0]) / 2 : (k == grid.count - 1 ? (grid[k] - grid[k - 1]) / 2 : (grid[k + 1] - grid[k - 1]) / 2)
            total += weight * posterior.marginal * (1 - posterior.kernelExpectation(at: c, gamma: gamma).value)
        }
        return total
    }

    /// The minimizer over c of the expected proximal-matching loss of the 1-D Laplace toy at
    /// one noisy value y: argmax_c E[exp(−(c − x)²/γ²) | y] under the posterior
    /// p(x | y) ∝ exp(−|x|/b − (x − y)²/(2σ²)) of clean x ~ Laplace(0, b) and y = x + N(0, σ²).
    /// It is what a network trained to convergence at this γ on unlimited pairs would output;
    /// as γ → 0 it tends to the MAP denoiser, soft-thresholding at σ²/b, and the distance
    /// between the two is the bias of stopping the schedule at γ.
    ///
    /// The expectation is in closed form (`LaplaceToyExpectation`). The maximizer is found on a
    /// grid of steps min(γ/4, σ/100) over the MAP ± 2σ, then by golden-section search to 1e-10.
    /// Throws `LearningError.invalidArgument` for γ, b or σ not positive and finite, or y not
    /// finite.
    public static func laplaceMinimizer(y: Double, gamma: Double, scale b: Double = 1, noise sigma: Double = 1) throws -> Double {
        for (name, v) in [("gamma", gamma), ("scale", b), ("noise", sigma)] where !(v > 0 && v.isFinite) {
            throw LearningError.invalidArgument(name: "Laplace minimizer \(name)", value: "\(v)", expected: "a positive finite number")
        }
        guard y.isFinite else {
            throw LearningError.invalidArgument(name: "Laplace minimizer y", value: "\(y)", expected: "a finite number")
        }
        let posterior = LaplacePosterior(y: y, scale: b, noise: sigma)
        let map = posterior.map
        func objective(_ c: Double) -> Double { posterior.kernelExpectation(at: c, gamma: gamma).value }
        let step = min(gamma / 4, sigma / 100)
        let count = Int((4 * sigma / step).rounded(.up))
        var best = (c: map, value: objective(map))
        for k in 0...count {
            let c = map - 2 * sigma + Double(k) * step
            let v = objective(c)
            if v > best.value { best = (c, v) }
        }
        var lo = best.c - step, hi = best.c + step
        let ratio = (5.0.squareRoot() - 1) / 2
        var a = hi - ratio * (hi - lo), bb = lo + ratio * (hi - lo)
        var fa = objective(a), fb = objective(bb)
        while hi - lo > 1e-10 {
            if fa < fb {
                lo = a; a = bb; fa = fb
                bb = lo + ratio * (hi - lo); fb = objective(bb)
            } else {
                hi = bb; bb = a; fb = fa
                a = hi - ratio * (hi - lo); fa = objective(a)
            }
        }
        return (lo + hi) / 2
    }
}

/// The 1-D Laplace toy's posterior of clean x ~ Laplace(0, b) given noisy y = x + N(0, σ²):
/// its mode, marginal and the closed-form expectations of `LaplaceToyExpectation`,
/// `laplaceMinimizer` and `laplaceExpectedLoss`.
struct LaplacePosterior {
    let y: Double, scale: Double, noise: Double

    /// The posterior's mode, soft-thresholding of y at σ²/b.
    var map: Double {
        let threshold = noise * noise / scale
        return y > threshold ? y - threshold : (y < -threshold ? y + threshold : 0)
    }
}
