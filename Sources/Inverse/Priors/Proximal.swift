import Foundation
import PDE

/// A function g with a computable proximal operator
/// prox_{τg}(v) = argmin_x g(x) + ‖x − v‖² / (2τ).
/// Priors (ℓ1, TV, box, …), data terms and plug-and-play denoisers all take this shape; the
/// algorithms take any of them. Implementations may keep warm-start state (TV), so they are
/// classes or value types with reference state: use one per algorithm run and thread.
public protocol ProximalOperator {
    /// A short name for reports.
    var name: String { get }
    /// prox_{τg}(v), τ > 0.
    func prox(_ v: [Double], step tau: Double) throws -> [Double]
    /// g(x): +∞ outside the domain of an indicator; nil when g is not known in closed form
    /// (a plug-and-play denoiser).
    func value(_ x: [Double]) -> Double?
}

/// λ‖x‖₁; prox = soft thresholding at τλ.
public struct L1Norm: ProximalOperator {
    public var name: String { "l1" }
    /// λ ≥ 0.
    public let weight: Double
    /// Throws for λ < 0 or non-finite.
    public init(weight: Double) throws { try InverseCheck.nonNegative(weight, key: "weight"); self.weight = weight }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        let t = tau * weight
        return v.map { $0 > t ? $0 - t : ($0 < -t ? $0 + t : 0) }
    }
    public func value(_ x: [Double]) -> Double? { weight * x.reduce(0) { $0 + abs($1) } }
}

/// (λ/2)‖x‖₂²; prox = v / (1 + τλ).
public struct SquaredL2Norm: ProximalOperator {
    public var name: String { "squared-l2" }
    /// λ ≥ 0.
    public let weight: Double
    /// Throws for λ < 0 or non-finite.
    public init(weight: Double) throws { try InverseCheck.nonNegative(weight, key: "weight"); self.weight = weight }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        let s = 1 / (1 + tau * weight)
        return v.map { $0 * s }
    }
    public func value(_ x: [Double]) -> Double? { 0.5 * weight * InverseVectors.dot(x, x) }
}

/// λ₁‖x‖₁ + (λ₂/2)‖x‖₂²; prox = soft(v, τλ₁) / (1 + τλ₂).
public struct ElasticNet: ProximalOperator {
    public var name: String { "elastic-net" }
    /// λ₁ ≥ 0.
    public let l1Weight: Double
    /// λ₂ ≥ 0.
    public let l2Weight: Double
    /// Throws for negative or non-finite weights.
    public init(l1Weight: Double, l2Weight: Double) throws {
        try InverseCheck.nonNegative(l1Weight, key: "l1_weight")
        try InverseCheck.nonNegative(l2Weight, key: "l2_weight")
        self.l1Weight = l1Weight
        self.l2Weight = l2Weight
    }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        let t = tau * l1Weight, s = 1 / (1 + tau * l2Weight)
        return v.map { ($0 > t ? $0 - t : ($0 < -t ? $0 + t : 0)) * s }
    }
    public func value(_ x: [Double]) -> Double? {
        l1Weight * x.reduce(0) { $0 + abs($1) } + 0.5 * l2Weight * InverseVectors.dot(x, x)
    }
}

/// The indicator of the box [lower, upper]ⁿ (0 inside, +∞ outside); prox = clipping. Lower 0
/// and upper +∞ is non-negativity.
public struct BoxConstraint: ProximalOperator {
    public var name: String { upper == .infinity && lower == 0 ? "nonnegative" : "box" }
    /// Lower bound (may be −∞).
    public let lower: Double
    /// Upper bound (may be +∞).
    public let upper: Double
    /// Throws unless lower ≤ upper (NaN rejected).
    public init(lower: Double, upper: Double) throws {
        guard lower <= upper, !lower.isNaN, !upper.isNaN, lower < .infinity, upper > -.infinity else {
            throw PDEError.invalidValue(key: "box", value: "[\(lower), \(upper)]", expected: "lower ≤ upper")
        }
        self.lower = lower
        self.upper = upper
    }
    /// The non-negative orthant.
    public static var nonNegative: BoxConstraint { try! BoxConstraint(lower: 0, upper: .infinity) }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] { v.map { min(max($0, lower), upper) } }
    public func value(_ x: [Double]) -> Double? { x.allSatisfy { $0 >= lower && $0 <= upper } ? 0 : .infinity }
}

/// The indicator of the data-fidelity ball {x : ‖x − center‖₂ ≤ radius} (the constraint form
/// of denoising, ε = σ√n); prox = projection onto the ball.
public struct L2BallIndicator: ProximalOperator {
    public var name: String { "l2-ball" }
    /// The centre (the measurement).
    public let center: [Double]
    /// The radius ε ≥ 0.
    public let radius: Double
    /// Throws for a negative or non-finite radius.
    public init(center: [Double], radius: Double) throws {
        try InverseCheck.nonNegative(radius, key: "radius")
        self.center = center
        self.radius = radius
    }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.length(v.count, center.count, "point projected onto the l2 ball")
        let d = InverseVectors.distance(v, center)
        if d <= radius { return v }
        let s = radius / d
        return (0..<v.count).map { center[$0] + s * (v[$0] - center[$0]) }
    }
    public func value(_ x: [Double]) -> Double? {
        InverseVectors.distance(x, center) <= radius * (1 + 1e-12) ? 0 : .infinity
    }
}

/// λ Σᵢ ‖(z_{c,i})_c‖₂, the mixed ℓ2,1 norm over `channels` blocks of equal length (the
/// isotropic TV of a gradient stacked as [channels, pixels]); prox = group soft
/// thresholding. With one channel it is λ‖z‖₁.
public struct GroupL1Norm: ProximalOperator {
    public var name: String { "l21" }
    /// λ ≥ 0.
    public let weight: Double
    /// Number of channel blocks.
    public let channels: Int
    /// Throws for λ < 0 or channels < 1.
    public init(weight: Double, channels: Int) throws {
        try InverseCheck.nonNegative(weight, key: "weight")
        guard channels >= 1 else { throw PDEError.invalidValue(key: "channels", value: "\(channels)", expected: "≥ 1") }
        self.weight = weight
        self.channels = channels
    }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        guard v.count % channels == 0 else {
            throw PDEError.shapeMismatch(what: "l2,1 prox input", expected: "a multiple of \(channels) values", got: "\(v.count)")
        }
        var out = v
        GroupL1Norm.shrink(&out, channels: channels, threshold: tau * weight)
        return out
    }
    /// In-place group soft thresholding (the ADMM hot loop).
    static func shrink(_ v: inout [Double], channels: Int, threshold t: Double) {
        let m = v.count / channels
        v.withUnsafeMutableBufferPointer { p in
            for i in 0..<m {
                var s = 0.0
                for c in 0..<channels { let z = p[c &* m &+ i]; s += z * z }
                let norm = s.squareRoot()
                let f = norm > t ? 1 - t / norm : 0
                for c in 0..<channels { p[c &* m &+ i] *= f }
            }
        }
    }
    public func value(_ x: [Double]) -> Double? {
        let m = x.count / channels
        var total = 0.0
        for i in 0..<m {
            var s = 0.0
            for c in 0..<channels { s += x[c * m + i] * x[c * m + i] }
            total += s.squareRoot()
        }
        return weight * total
    }
}

/// ½‖A x − y‖² as a proximal function: prox_{τf}(v) solves (I + τAᵀA) x = v + τAᵀy, by one
/// FFT pair when A is circulant, in closed form for masks, else by CG (warm-started from the
/// previous solution, relative tolerance `cgTolerance`).
public final class LeastSquaresData: ProximalOperator {
    public var name: String { "least-squares(\(model.name))" }
    /// A.
    public let model: ForwardModel
    /// y.
    public let measurement: [Double]
    /// CG tolerance of the prox solve.
    public var cgTolerance: Double
    /// CG iteration limit of the prox solve.
    public var cgMaxIterations: Int
    /// CG iterations spent in prox solves so far.
    public private(set) var cgIterations = 0
    private let aty: [Double]
    private var warm: [Double]?
    private let multiplier: FourierMultiplier?
    private let normalSymbol: [Double]?

    /// Throws when y's length differs from A's range size.
    public init(model: ForwardModel, measurement: [Double], cgTolerance: Double = 1e-8, cgMaxIterations: Int = 500) throws {
        try InverseCheck.length(measurement.count, model.rangeCount, "measurement of \(model.name)")
        self.model = model
        self.measurement = measurement
        self.cgTolerance = cgTolerance
        self.cgMaxIterations = cgMaxIterations
        aty = try model.adjoint(measurement)
        if let s = model.normalSymbol {
            multiplier = try FourierMultiplier(shape: model.domainShape)
            normalSymbol = s
        } else {
            multiplier = nil
            normalSymbol = nil
        }
    }

    /// f(x) = ½‖Ax − y‖².
    public func value(_ x: [Double]) -> Double? {
        guard let ax = try? model(x) else { return nil }
        let d = InverseVectors.distance(ax, measurement)
        return 0.5 * d * d
    }

    /// ∇f(x) = Aᵀ(Ax − y).
    public func gradient(_ x: [Double]) throws -> [Double] {
        var r = try model(x)
        for i in r.indices { r[i] -= measurement[i] }
        return try model.adjoint(r)
    }

    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        try InverseCheck.length(v.count, model.domainCount, "prox input of \(name)")
        let rhs = (0..<v.count).map { v[$0] + tau * aty[$0] }
        if let m = multiplier, let p = normalSymbol {
            var x = rhs
            m.multiplyReal(rhs, by: p.map { 1 / (1 + tau * $0) }, into: &x)
            return x
        }
        if let mask = model as? MaskModel {
            return (0..<v.count).map { rhs[$0] / (1 + tau * mask.weights[$0]) }
        }
        let op = ClosureOperator(size: v.count) { [model] x, y in
            var t = [Double](repeating: 0, count: x.count)
            if !model.applyNormal(x, into: &t) {
                var ax = [Double](repeating: 0, count: model.rangeCount)
                model.apply(x, into: &ax)
                model.adjoint(ax, into: &t)
            }
            for i in 0..<x.count { y[i] = x[i] + tau * t[i] }
        }
        var x = warm ?? v
        let cg = ConjugateGradient(IterativeOptions(relativeTolerance: cgTolerance, maxIterations: cgMaxIterations,
                                                    recordHistory: false, nullSpace: .none))
        let report = try cg.solve(op, rhs, x: &x, preconditioner: nil)
        cgIterations += report.iterations
        if report.reason == .notANumber {
            throw PDEError.invalidValue(key: "prox of \(name)", value: "NaN", expected: "finite values")
        }
        warm = x
        return x
    }
}

/// Plug-and-play: any denoiser D(v, σ) used as a proximal operator, with the noise level
/// σ = √(τ·strength) that the step τ implies (prox_{τg} is the MAP denoiser at variance τ
/// for g = −log p), or a fixed σ when `fixedSigma` is set.
public struct DenoiserProx: ProximalOperator {
    public let name: String
    /// The denoiser: (noisy image, noise standard deviation) → estimate.
    public let denoise: ([Double], Double) throws -> [Double]
    /// g's scale: σ² = τ·strength.
    public var strength: Double
    /// If set, the denoiser always gets this σ.
    public var fixedSigma: Double?

    /// A denoiser as a prox.
    public init(name: String, strength: Double = 1, fixedSigma: Double? = nil,
                denoise: @escaping ([Double], Double) throws -> [Double]) {
        self.name = name
        self.denoise = denoise
        self.strength = strength
        self.fixedSigma = fixedSigma
    }

    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        let x = try denoise(v, fixedSigma ?? (tau * strength).squareRoot())
        try InverseCheck.length(x.count, v.count, "output of denoiser \(name)")
        return x
    }
    /// Unknown for a denoiser.
    public func value(_ x: [Double]) -> Double? { nil }
}

/// ½‖z − c‖² (the data term on the measurement side, used by PDHG's dual block); prox =
/// (v + τc)/(1 + τ).
public struct SquaredDistance: ProximalOperator {
    public var name: String { "squared-distance" }
    /// c.
    public let center: [Double]
    /// ½‖· − c‖².
    public init(center: [Double]) { self.center = center }
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        try InverseCheck.length(v.count, center.count, "prox input of the squared distance")
        let s = 1 / (1 + tau)
        return (0..<v.count).map { (v[$0] + tau * center[$0]) * s }
    }
    public func value(_ x: [Double]) -> Double? { let d = InverseVectors.distance(x, center); return 0.5 * d * d }
}

/// g = 0; prox = identity.
public struct ZeroFunction: ProximalOperator {
    public var name: String { "zero" }
    /// The zero function.
    public init() {}
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] { v }
    public func value(_ x: [Double]) -> Double? { 0 }
}
