import Foundation
import PDE

/// Limited-memory BFGS (Nocedal 1980; Liu & Nocedal 1989) for smooth unconstrained
/// minimization of any f: ℝⁿ → ℝ given with its gradient, as
/// `(x) throws -> (value: Double, gradient: [Double])`.
///
/// Direction: the two-loop recursion over the last `memory` pairs (sₖ, yₖ) with the initial
/// Hessian γI, γ = sᵀy / yᵀy (a pair with sᵀy ≤ 1e-10‖s‖‖y‖ is skipped, which keeps the
/// implicit Hessian positive definite). Step: a strong-Wolfe line search (Nocedal & Wright,
/// Algorithms 3.5 and 3.6: bracketing, then zoom by safeguarded cubic interpolation, falling
/// back to bisection), starting from α = 1 (α = min(1, 1/‖∇f‖) on the first iteration and
/// after a reset). Safeguards: a trial point where f throws or is not finite counts as "too
/// far" and the step is shortened; a zoom that runs out of evaluations accepts its best
/// point that satisfies sufficient decrease; a direction that is not a descent direction,
/// or a line search that fails outright, resets the memory and retries along −∇f.
///
/// Stopping (whichever comes first): ‖∇f(xₖ)‖ ≤ `gradientTolerance`·‖∇f(x₀)‖ or
/// ≤ `absoluteGradientTolerance`; (fₖ₋₁ − fₖ) ≤ `objectiveTolerance`·max(|fₖ₋₁|, |fₖ|, 1);
/// ‖xₖ − xₖ₋₁‖ ≤ `options.tolerance`·‖xₖ‖ (the shared criterion; 0 switches it off); or
/// `options.maxIterations`. A line search that cannot decrease f even along −∇f ends the run
/// as `.stalled` with a note saying so (not converged: the floor of f or an inexact gradient). The report's
/// notes give the criterion that stopped the run, the function evaluations, the line-search
/// failures and resets, and the skipped pairs.
public struct LBFGS {
    /// Number of (s, y) pairs kept (m ≥ 1; 10 by default).
    public var memory: Int
    /// Stop when ‖∇f‖ ≤ gradientTolerance·‖∇f(x₀)‖ (0: off).
    public var gradientTolerance: Double
    /// Stop when ‖∇f‖ ≤ this absolute value (0: off).
    public var absoluteGradientTolerance: Double
    /// Stop when the decrease of f over an iteration is ≤ this·max(|fₖ₋₁|, |fₖ|, 1) (0: off).
    public var objectiveTolerance: Double
    /// Sufficient-decrease constant c₁ of the Wolfe conditions (0 < c₁ < c₂).
    public var sufficientDecrease: Double
    /// Curvature constant c₂ of the strong Wolfe conditions (c₁ < c₂ < 1).
    public var curvature: Double
    /// Function evaluations allowed per line search (≥ 1).
    public var maxLineSearchEvaluations: Int
    /// Shared options: iteration limit, the x-change tolerance, truth, history, monitor.
    public var options: ReconstructionOptions

    /// m = 10, gradient tolerance 1e-6 (relative), objective tolerance 1e-10, c₁ = 1e-4,
    /// c₂ = 0.9, 20 evaluations per line search.
    public init(memory: Int = 10, gradientTolerance: Double = 1e-6, absoluteGradientTolerance: Double = 0,
                objectiveTolerance: Double = 1e-10, sufficientDecrease: Double = 1e-4, curvature: Double = 0.9,
                maxLineSearchEvaluations: Int = 20, options: ReconstructionOptions = ReconstructionOptions()) {
        self.memory = memory
        self.gradientTolerance = gradientTolerance
        self.absoluteGradientTolerance = absoluteGradientTolerance
        self.objectiveTolerance = objectiveTolerance
        self.sufficientDecrease = sufficientDecrease
        self.curvature = curvature
        self.maxLineSearchEvaluations = maxLineSearchEvaluations
        self.options = options
    }

    /// Throws `PDEError.invalidValue` for a memory < 1, negative or non-finite tolerances,
    /// Wolfe constants outside 0 < c₁ < c₂ < 1, or fewer than one line-search evaluation.
    public func validate() throws {
        guard memory >= 1 else {
            throw PDEError.invalidValue(key: "lbfgs.memory", value: "\(memory)", expected: "at least 1 stored pair")
        }
        try InverseCheck.nonNegative(gradientTolerance, key: "lbfgs.gradient_tolerance")
        try InverseCheck.nonNegative(absoluteGradientTolerance, key: "lbfgs.absolute_gradient_tolerance")
        try InverseCheck.nonNegative(objectiveTolerance, key: "lbfgs.objective_tolerance")
        guard sufficientDecrease > 0, curvature < 1, sufficientDecrease < curvature else {
            throw PDEError.invalidValue(key: "lbfgs Wolfe constants", value: "c1 = \(sufficientDecrease), c2 = \(curvature)",
                                        expected: "0 < c1 < c2 < 1 (e.g. 1e-4 and 0.9)")
        }
        guard maxLineSearchEvaluations >= 1 else {
            throw PDEError.invalidValue(key: "lbfgs.max_line_search_evaluations", value: "\(maxLineSearchEvaluations)",
                                        expected: "at least 1")
        }
    }

    /// Minimizes f from `initial`. Throws for bad settings, an empty or non-finite start, a
    /// gradient of the wrong length, and whatever f throws at the start (errors at line-search
    /// trial points only shorten the step).
    public func minimize(initial: [Double], _ f: ([Double]) throws -> (value: Double, gradient: [Double])) throws -> Reconstruction {
        try validate()
        let n = initial.count
        guard n > 0 else {
            throw PDEError.invalidValue(key: "initial estimate", value: "an empty array", expected: "at least one unknown")
        }
        for v in initial where !v.isFinite {
            throw PDEError.invalidValue(key: "initial estimate", value: "\(v)", expected: "finite values")
        }
        var tracker = try IterationTracker(options, algorithm: "lbfgs", count: n)
        var evaluations = 0
        func evaluate(_ x: [Double]) throws -> (value: Double, gradient: [Double]) {
            evaluations += 1
            let r = try f(x)
            try InverseCheck.length(r.gradient.count, n, "gradient returned to L-BFGS")
            return r
        }
        var x = initial
        var (fx, g) = try evaluate(x)
        guard fx.isFinite, g.allSatisfy({ $0.isFinite }) else {
            throw PDEError.invalidValue(key: "objective at the initial estimate", value: "\(fx)", expected: "a finite value and gradient")
        }
        let g0 = InverseVectors.norm(g)
        var sPairs: [[Double]] = [], yPairs: [[Double]] = [], rhos: [Double] = []
        var lineSearchFailures = 0, resets = 0, skippedPairs = 0, weakSteps = 0
        var stopNote = ""

        func finish(_ stop: ReconstructionStop, _ k: Int) -> Reconstruction {
            tracker.notes.append(stopNote)
            tracker.notes.append("\(evaluations) function evaluations, \(lineSearchFailures) line-search failures, \(resets) memory resets, \(weakSteps) steps without the curvature condition, \(skippedPairs) skipped pairs")
            tracker.notes.append("final objective \(fx), gradient norm \(InverseVectors.norm(g)) (initial \(g0))")
            if let t = options.truth {
                let e = InverseVectors.distance(x, t) / max(InverseVectors.norm(t), .leastNormalMagnitude)
                tracker.notes.append("relative error to the truth \(e)")
            }
            return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: k))
        }

        if g0 == 0 || g0 <= absoluteGradientTolerance {
            stopNote = "stopped: gradient norm \(g0) at the initial estimate"
            return finish(.converged, 0)
        }
        guard options.maxIterations > 0 else {
            stopNote = "stopped: no iterations allowed"
            return finish(.maxIterations, 0)
        }
        var k = 0
        while k < options.maxIterations {
            k += 1
            // Two-loop recursion: d = −H g.
            var d = twoLoop(g, sPairs, yPairs, rhos)
            var slope = InverseVectors.dot(d, g)
            var fresh = sPairs.isEmpty
            if !(slope < 0) || !slope.isFinite {
                resets += 1
                sPairs.removeAll(); yPairs.removeAll(); rhos.removeAll()
                d = g.map { -$0 }
                slope = -InverseVectors.dot(g, g)
                fresh = true
            }
            var step = fresh ? min(1, 1 / InverseVectors.norm(d)) : 1
            var search = try lineSearch(x, fx, g, d, slope, step, evaluate)
            if search == nil && !fresh {
                // Retry along steepest descent with an empty memory.
                lineSearchFailures += 1
                resets += 1
                sPairs.removeAll(); yPairs.removeAll(); rhos.removeAll()
                d = g.map { -$0 }
                slope = -InverseVectors.dot(g, g)
                step = min(1, 1 / InverseVectors.norm(d))
                search = try lineSearch(x, fx, g, d, slope, step, evaluate)
            }
            guard let accepted = search else {
                lineSearchFailures += 1
                stopNote = "stopped: the line search found no decrease along −∇f (objective at its floating-point floor)"
                return finish(.stalled, k - 1)
            }
            if !accepted.wolfe { weakSteps += 1 }
            let previous = x
            let fPrevious = fx
            var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
            for i in 0..<n {
                s[i] = accepted.x[i] - x[i]
                y[i] = accepted.gradient[i] - g[i]
            }
            x = accepted.x
            fx = accepted.value
            g = accepted.gradient
            let sy = InverseVectors.dot(s, y)
            if sy > 1e-10 * InverseVectors.norm(s) * InverseVectors.norm(y), sy.isFinite {
                if sPairs.count == memory { sPairs.removeFirst(); yPairs.removeFirst(); rhos.removeFirst() }
                sPairs.append(s); yPairs.append(y); rhos.append(1 / sy)
            } else {
                skippedPairs += 1
            }
            let fNow = fx
            if let stop = tracker.record(k, x: x, previous: previous, objective: { fNow }) {
                stopNote = stop == .converged ? "stopped: relative change of x ≤ \(options.tolerance)" : "stopped: \(stop.rawValue)"
                return finish(stop, k)
            }
            let gn = InverseVectors.norm(g)
            if gn <= gradientTolerance * g0 || gn <= absoluteGradientTolerance {
                stopNote = "stopped: gradient norm \(gn) ≤ tolerance (initial \(g0))"
                return finish(.converged, k)
            }
            if fPrevious - fx <= objectiveTolerance * max(abs(fPrevious), abs(fx), 1) {
                stopNote = "stopped: relative objective decrease \((fPrevious - fx) / max(abs(fPrevious), abs(fx), 1)) ≤ \(objectiveTolerance)"
                return finish(.converged, k)
            }
        }
        stopNote = "stopped: \(options.maxIterations) iterations"
        return finish(.maxIterations, options.maxIterations)
    }

    /// d = −H g by the two-loop recursion (H₀ = γI from the newest pair, or I).
    private func twoLoop(_ g: [Double], _ s: [[Double]], _ y: [[Double]], _ rho: [Double]) -> [Double] {
        var q = g
        let m = s.count
        var alpha = [Double](repeating: 0, count: m)
        for j in stride(from: m - 1, through: 0, by: -1) {
            let a = rho[j] * InverseVectors.dot(s[j], q)
            alpha[j] = a
            axpy(-a, y[j], &q)
        }
        if m > 0 {
            let yy = InverseVectors.dot(y[m - 1], y[m - 1])
            let gamma = yy > 0 ? 1 / (rho[m - 1] * yy) : 1
            for i in q.indices { q[i] *= gamma }
        }
        for j in 0..<m {
            let b = rho[j] * InverseVectors.dot(y[j], q)
            axpy(alpha[j] - b, s[j], &q)
        }
        for i in q.indices { q[i] = -q[i] }
        return q
    }

    /// An accepted step.
    private struct Accepted {
        var x: [Double]
        var value: Double
        var gradient: [Double]
        /// Both strong Wolfe conditions hold (false: sufficient decrease only).
        var wolfe: Bool
    }

    /// One trial point of the line search.
    private struct Trial {
        var alpha: Double
        var value: Double
        var slope: Double
        var x: [Double]
        var gradient: [Double]
        var finite: Bool { value.isFinite && slope.isFinite }
    }

    /// Strong-Wolfe line search along d from x (Nocedal & Wright 3.5/3.6); nil when no point
    /// with sufficient decrease was found within the evaluation budget.
    private func lineSearch(_ x: [Double], _ f0: Double, _ g0: [Double], _ d: [Double], _ slope0: Double, _ initialStep: Double,
                            _ evaluate: ([Double]) throws -> (value: Double, gradient: [Double])) throws -> Accepted? {
        let c1 = sufficientDecrease, c2 = curvature
        var budget = maxLineSearchEvaluations
        func trial(_ alpha: Double) -> Trial {
            budget -= 1
            var xt = x
            axpy(alpha, d, &xt)
            guard let r = try? evaluate(xt), r.gradient.count == x.count else {
                return Trial(alpha: alpha, value: .infinity, slope: .nan, x: xt, gradient: [])
            }
            return Trial(alpha: alpha, value: r.value, slope: InverseVectors.dot(r.gradient, d), x: xt, gradient: r.gradient)
        }
        func armijo(_ t: Trial) -> Bool { t.finite && t.value <= f0 + c1 * t.alpha * slope0 }
        func strongCurvature(_ t: Trial) -> Bool { abs(t.slope) <= -c2 * slope0 }
        func accept(_ t: Trial, wolfe: Bool) -> Accepted { Accepted(x: t.x, value: t.value, gradient: t.gradient, wolfe: wolfe) }

        let origin = Trial(alpha: 0, value: f0, slope: slope0, x: x, gradient: g0)
        // Zoom between lo (sufficient decrease, lowest value so far) and hi.
        func zoom(_ loIn: Trial, _ hiIn: Trial) -> Accepted? {
            var lo = loIn, hi = hiIn
            while budget > 0 {
                let a = lo.alpha, b = hi.alpha
                let width = abs(b - a)
                if width <= 1e-14 * max(abs(a), abs(b), 1e-300) { break }
                var alpha = hi.finite ? cubicMinimizer(a, lo.value, lo.slope, b, hi.value, hi.slope) : .nan
                let low = min(a, b) + 0.1 * width, high = max(a, b) - 0.1 * width
                if !alpha.isFinite || alpha < low || alpha > high { alpha = 0.5 * (a + b) }
                let t = trial(alpha)
                if !armijo(t) || t.value >= lo.value {
                    hi = t
                } else {
                    if strongCurvature(t) { return accept(t, wolfe: true) }
                    if t.slope * (hi.alpha - lo.alpha) >= 0 { hi = lo }
                    lo = t
                }
            }
            return lo.alpha > 0 ? accept(lo, wolfe: false) : nil
        }

        var previous = origin
        var alpha = initialStep
        var first = true
        while budget > 0 {
            let t = trial(alpha)
            if !t.finite {
                // Too far (f threw, overflowed or is NaN): shorten towards the last good point.
                if previous.alpha > 0 { return zoom(previous, t) }
                alpha *= 0.1
                if alpha < 1e-20 { return nil }
                continue
            }
            if !armijo(t) || (!first && t.value >= previous.value) { return zoom(previous, t) }
            if strongCurvature(t) { return accept(t, wolfe: true) }
            if t.slope >= 0 { return zoom(t, previous) }
            // Still descending with sufficient decrease: extrapolate (between 2× and 8×).
            previous = t
            first = false
            let guess = cubicMinimizer(0, f0, slope0, t.alpha, t.value, t.slope)
            alpha = guess.isFinite ? min(max(guess, 2 * t.alpha), 8 * t.alpha) : 4 * t.alpha
        }
        return previous.alpha > 0 ? accept(previous, wolfe: false) : nil
    }
}

/// x ← x + a·v.
@inline(__always)
private func axpy(_ a: Double, _ v: [Double], _ x: inout [Double]) {
    v.withUnsafeBufferPointer { vp in
        x.withUnsafeMutableBufferPointer { xp in
            var i = 0
            let n = min(vp.count, xp.count)
            while i < n { xp[i] += a * vp[i]; i = i &+ 1 }
        }
    }
}

/// The minimizer of the cubic through (a, fa, ga) and (b, fb, gb) (NaN when it has none).
private func cubicMinimizer(_ a: Double, _ fa: Double, _ ga: Double, _ b: Double, _ fb: Double, _ gb: Double) -> Double {
    guard a != b else { return .nan }
    let d1 = ga + gb - 3 * (fa - fb) / (a - b)
    let disc = d1 * d1 - ga * gb
    guard disc >= 0 else { return .nan }
    let d2 = (b > a ? 1.0 : -1.0) * disc.squareRoot()
    let denominator = gb - ga + 2 * d2
    guard denominator != 0 else { return .nan }
    return b - (b - a) * (gb + d2 - d1) / denominator
}
