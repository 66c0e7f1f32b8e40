import Foundation
import Learning

/// The 1-D Laplace toy's training losses in expectation: instead of a batch of sampled pairs
/// (x ~ Laplace(0, b), y = x + N(0, σ²)), each step averages the per-sample loss over noisy
/// values y on a quadrature grid, weighted by their exact marginal p(y), with the expectation
/// over the clean x given y taken in closed form (the posterior is two truncated Gaussians).
/// This is the loss that sampled training estimates, with no sampling error: at small γ the
/// proximal matching loss of a batch is mostly noise (only pairs within ~γ of f(y) carry
/// gradient, and they mostly cancel), while its expectation keeps a curvature of order one
/// around its minimizer.
///
/// The grid is uniform on [−span, span] (trapezoid rule); the weights are normalized to sum 1,
/// so `loss` is the expectation conditional on y in the window (whose probability is
/// `windowMass`). The recorded loss carries the exact gradient with respect to the network's
/// outputs, dL/df(y_i) = w_i·∂ℓ/∂c(f(y_i), y_i), as `Σ_i g_i·f(y_i)` plus a constant that makes
/// its value the loss's.
public struct LaplaceToyExpectation: Sendable {
    /// Scale b of the clean prior, p(x) ∝ exp(−|x|/b).
    public let scale: Double
    /// Standard deviation σ of the noise.
    public let noise: Double
    /// The noisy values y_i, increasing.
    public let grid: [Double]
    /// Trapezoid weight × p(y_i), normalized to sum 1.
    public let weights: [Double]
    /// ∫ p(y) dy over the window (trapezoid rule): the probability of a noisy value there.
    public let windowMass: Double

    /// A grid of `points` values on [−span, span]. Throws `LearningError.invalidArgument` for
    /// fewer than 3 or more than 10⁶ points, b or σ not positive and finite, a span not in
    /// (0, 40·max(b, σ)] (beyond it the marginal is below 10⁻¹⁷), or a window reaching values
    /// y whose posterior mass underflows in double precision (only for σ/b ≳ 20, a prior far
    /// sharper than the noise).
    public init(points: Int, span: Double, scale b: Double = 1, noise sigma: Double = 1) throws {
        for (name, v) in [("scale", b), ("noise", sigma)] where !(v > 0 && v.isFinite) {
            throw LearningError.invalidArgument(name: "Laplace expectation \(name)", value: "\(v)", expected: "a positive finite number")
        }
        guard points >= 3, points <= 1_000_000 else {
            throw LearningError.invalidArgument(name: "Laplace expectation points", value: "\(points)", expected: "an integer from 3 to 10⁶")
        }
        guard span > 0, span <= 40 * max(b, sigma) else {
            throw LearningError.invalidArgument(name: "Laplace expectation span", value: "\(span)",
                                                expected: "a positive number ≤ 40·max(b, σ) = \(40 * max(b, sigma))")
        }
        scale = b
        noise = sigma
        let h = 2 * span / Double(points - 1)
        grid = (0..<points).map { -span + Double($0) * h }
        let raw = grid.enumerated().map { k, y in
            (k == 0 || k == points - 1 ? h / 2 : h) * LaplacePosterior(y: y, scale: b, noise: sigma).marginal
        }
        let total = raw.reduce(0, +)
        if let k = raw.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw LearningError.invalidArgument(name: "Laplace expectation span", value: "\(span) (the posterior at y = \(grid[k]) underflows for b = \(b), σ = \(sigma))",
                                                expected: "a narrower window")
        }
        windowMass = total
        weights = raw.map { $0 / total }
    }

    /// The grid as the network's input, [points, 1].
    public func inputs<T: TensorScalar>(_: T.Type = T.self) -> Tensor<T> {
        // Shape and count agree by construction.
        try! Tensor(shape: [grid.count, 1], scalars: grid.map { T($0) })
    }

    /// E[1 − exp(−(c − x)²/γ²) | y] and its derivative in c, in closed form.
    public func matching(at c: Double, y: Double, gamma: Double) -> (value: Double, derivative: Double) {
        let (g, dg) = LaplacePosterior(y: y, scale: scale, noise: noise).kernelExpectation(at: c, gamma: gamma)
        return (1 - g, -dg)
    }

    /// E[|c − x| | y] and its derivative in c (2·P(x < c | y) − 1), in closed form.
    public func absoluteDeviation(at c: Double, y: Double) -> (value: Double, derivative: Double) {
        LaplacePosterior(y: y, scale: scale, noise: noise).absoluteDeviation(at: c)
    }

    /// Σ_i w_i·ℓ(c_i, y_i) and its gradient w_i·∂ℓ/∂c at the values `c` on the grid, for ℓ the
    /// ℓ¹ loss (`.l1`) or proximal matching at γ. Throws `LearningError.invalidArgument` for
    /// a count other than the grid's, a non-finite value, or γ not positive and finite.
    public func expectedLoss(values c: [Double], phase: ProximalMatchingSchedule.Phase) throws -> (value: Double, gradient: [Double]) {
        if case let .matching(gamma, _) = phase, !(gamma > 0 && gamma.isFinite) {
            throw LearningError.invalidArgument(name: "proximal matching gamma", value: "\(gamma)", expected: "a positive finite number")
        }
        guard c.count == grid.count, c.allSatisfy(\.isFinite) else {
            throw LearningError.invalidArgument(name: "Laplace expectation values", value: "\(c.count) values",
                                                expected: "\(grid.count) finite values, one per grid point")
        }
        var total = 0.0
        var gradient = [Double](repeating: 0, count: c.count)
        for i in 0..<c.count {
            let (l, dl): (Double, Double)
            switch phase {
            case .l1: (l, dl) = absoluteDeviation(at: c[i], y: grid[i])
            case let .matching(gamma, _): (l, dl) = matching(at: c[i], y: grid[i], gamma: gamma)
            }
            total += weights[i] * l
            gradient[i] = weights[i] * dl
        }
        return (total, gradient)
    }

    /// The expected loss of the network outputs f(y_i), [points, 1] (or [points]), as a
    /// recorded scalar whose value is the loss and whose gradient with respect to `output` is
    /// exact. Throws `LearningError.shapeMismatch` for another number of outputs and
    /// `invalidArgument` for a non-finite output or γ not positive and finite.
    public func loss<T: TensorScalar>(_ output: Variable<T>, phase: ProximalMatchingSchedule.Phase) throws -> (loss: Variable<T>, value: Double) {
        guard output.value.count == grid.count, output.shape.first == grid.count else {
            throw LearningError.shapeMismatch(operation: "Laplace expected loss", expected: "[\(grid.count), 1] network outputs",
                                              got: shapeString(output.shape))
        }
        let c = output.value.scalars.map { Double($0) }
        let (value, gradient) = try expectedLoss(values: c, phase: phase)
        let g = try Tensor(shape: output.shape, scalars: gradient.map { T($0) })
        // Σ g_i·f_i has the exact gradient; the constant makes the recorded value the loss.
        let offset = value - zip(gradient, c).reduce(0) { $0 + $1.0 * $1.1 }
        return (try (output * Variable(g)).sum() + T(offset), value)
    }
}

extension LaplacePosterior {
    /// Standard normal CDF Φ(z), accurate in both tails.
    static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Standard normal density φ(z) (0 at ±∞).
    static func pdf(_ z: Double) -> Double { z.isInfinite ? 0 : Foundation.exp(-z * z / 2) / (2 * Double.pi).squareRoot() }

    /// Φ(b) − Φ(a) for a ≤ b, from the upper tail when both lie above 0 (no cancellation).
    static func cdfDifference(_ a: Double, _ b: Double) -> Double {
        a > 0 ? cdf(-a) - cdf(-b) : cdf(b) - cdf(a)
    }

    /// The posterior as two weighted pieces N(m, σ²) truncated to x > 0 and x < 0: p(x | y) ∝
    /// e^{a₊}·exp(−(x − m₊)²/(2σ²)) on x > 0 and e^{a₋}·exp(−(x − m₋)²/(2σ²)) on x < 0, with
    /// m± = y ∓ σ²/b and a± = ∓y/b (a common factor e^{σ²/(2b²)} dropped). Each piece's
    /// weight is relative to e^{|y|/b}, so none overflows.
    var pieces: (plus: (mean: Double, logWeight: Double), minus: (mean: Double, logWeight: Double)) {
        let shift = noise * noise / scale, top = abs(y) / scale
        return ((y - shift, -y / scale - top), (y + shift, y / scale - top))
    }

    /// The posterior's unnormalized mass in the weights of `pieces`: e^{a₊}Φ(m₊/σ) + e^{a₋}Φ(−m₋/σ).
    var mass: Double {
        let (p, m) = pieces
        return Foundation.exp(p.logWeight) * Self.cdf(p.mean / noise) + Foundation.exp(m.logWeight) * Self.cdf(-m.mean / noise)
    }

    /// The marginal density p(y) of the noisy value: (1/(2b))·e^{σ²/(2b²)}·`mass`·e^{|y|/b},
    /// formed in logarithms (e^{|y|/b} alone may overflow); 0 or NaN where the mass underflows.
    var marginal: Double {
        return Foundation.exp(Foundation.log(mass) + abs(y) / scale + noise * noise / (2 * scale * scale) - Foundation.log(2 * scale))
    }

    /// E[exp(−(c − x)²/γ²) | y] and its derivative in c, in closed form: each piece times the
    /// Gaussian kernel (variance s² = γ²/2) is exp(−(c − m)²/(2v))·N(μ, τ²) with v = σ² + s²,
    /// τ² = σ²s²/v and μ = (m·s² + c·σ²)/v, integrated over its half-line by Φ(±μ/τ).
    func kernelExpectation(at c: Double, gamma: Double) -> (value: Double, derivative: Double) {
        let (p, m) = pieces
        let s2 = gamma * gamma / 2, sigma2 = noise * noise, v = sigma2 + s2
        let tau = (sigma2 * s2 / v).squareRoot(), mass = self.mass
        var value = 0.0, derivative = 0.0
        for (piece, sign) in [(p, 1.0), (m, -1.0)] {
            let mu = (piece.mean * s2 + c * sigma2) / v, z = sign * mu / tau
            let gauss = Foundation.exp(piece.logWeight - (c - piece.mean) * (c - piece.mean) / (2 * v)) * (tau / noise)
            let term = gauss * Self.cdf(z)
            value += term
            // d/dc of Φ(±μ/τ) is ±φ(μ/τ)·σ²/(v·τ).
            derivative += -term * (c - piece.mean) / v
                + sign * gauss * Self.pdf(z) * sigma2 / (v * tau)
        }
        return (value / mass, derivative / mass)
    }

    /// E[|c − x| | y] and its derivative 2·P(x < c | y) − 1, in closed form: on each piece
    /// ∫ (x − c)·φ_σ(x − m) dx over (lo, hi) is (m − c)·(Φ((hi − m)/σ) − Φ((lo − m)/σ)) +
    /// σ·(φ((lo − m)/σ) − φ((hi − m)/σ)).
    func absoluteDeviation(at c: Double) -> (value: Double, derivative: Double) {
        let (p, m) = pieces
        let sigma = noise
        // ∫_lo^hi (x − c)·(1/σ)φ((x − m)/σ) dx and ∫_lo^hi (1/σ)φ((x − m)/σ) dx.
        func moments(_ mean: Double, _ lo: Double, _ hi: Double) -> (first: Double, mass: Double) {
            guard lo < hi else { return (0, 0) }
            let a = (lo - mean) / sigma, b = (hi - mean) / sigma
            let mass = Self.cdfDifference(a, b)
            return ((mean - c) * mass + sigma * (Self.pdf(a) - Self.pdf(b)), mass)
        }
        var total = 0.0, value = 0.0, below = 0.0
        for (piece, lo, hi) in [(p, 0.0, Double.infinity), (m, -Double.infinity, 0.0)] {
            let w = Foundation.exp(piece.logWeight)
            let under = moments(piece.mean, lo, min(hi, c)), over = moments(piece.mean, max(lo, c), hi)
            total += w * (under.mass + over.mass)
            value += w * (over.first - under.first)
            below += w * under.mass
        }
        return (value / total, 2 * below / total - 1)
    }
}
