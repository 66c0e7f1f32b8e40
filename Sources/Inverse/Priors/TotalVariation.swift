import Foundation
import PDE

/// λ·TV(x) of a 2-D image, isotropic Σ‖(Dₓx, D_yx)ᵢ‖₂ or anisotropic Σ|Dₓx| + |D_yx|, with
/// forward differences (`FiniteDifferenceGradient`: Neumann or periodic), optionally plus the
/// indicator of a box (TV denoising under bounds).
///
/// The prox is computed by the fast gradient projection (FGP) of Beck & Teboulle (2009) on the
/// dual: x = P_box(v − τλ Dᵀp), p ← P_{‖·‖∞≤1}(r + D x / (8τλ)) with Nesterov momentum on r,
/// stopped when the relative change of x falls below `tolerance`. The dual variable is kept
/// between calls (warm start: inside ADMM/PnP the prox inputs change slowly).
public final class TotalVariation: ProximalOperator {
    public var name: String { isotropic ? "tv" : "tv-anisotropic" }
    /// Image shape [rows, cols].
    public let shape: [Int]
    /// λ ≥ 0.
    public var weight: Double
    /// Isotropic (ℓ2,1) or anisotropic (ℓ1) coupling of the two differences.
    public let isotropic: Bool
    /// Boundary of the differences.
    public let boundary: GradientBoundary
    /// Optional bounds on x (nil: none).
    public var bounds: ClosedRange<Double>?
    /// FGP iteration limit per prox.
    public var maxIterations: Int
    /// FGP stops when ‖xₖ − xₖ₋₁‖ ≤ tolerance·‖xₖ‖.
    public var tolerance: Double
    /// Keep the dual variable between calls.
    public var warmStart: Bool
    /// FGP iterations of the last prox call.
    public private(set) var lastIterations = 0
    private var dual: [Double]?

    /// Throws for a non-2-D shape, λ < 0, or bad iteration settings.
    public init(shape: [Int], weight: Double, isotropic: Bool = true, boundary: GradientBoundary = .neumann,
                bounds: ClosedRange<Double>? = nil, maxIterations: Int = 100, tolerance: Double = 1e-5,
                warmStart: Bool = true) throws {
        try InverseCheck.shape(shape, key: "image shape", axes: 2...2)
        try InverseCheck.nonNegative(weight, key: "weight")
        guard maxIterations >= 1 else {
            throw PDEError.invalidValue(key: "max_iterations", value: "\(maxIterations)", expected: "≥ 1")
        }
        try InverseCheck.nonNegative(tolerance, key: "tolerance")
        self.shape = shape
        self.weight = weight
        self.isotropic = isotropic
        self.boundary = boundary
        self.bounds = bounds
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.warmStart = warmStart
    }

    /// Forgets the warm-start dual.
    public func reset() { dual = nil }

    /// TV(x) (without λ).
    public func variation(_ x: [Double]) -> Double {
        guard let d = try? FiniteDifferenceGradient(imageShape: shape, boundary: boundary), x.count == d.domainCount else { return .nan }
        var g = [Double](repeating: 0, count: 2 * x.count)
        d.apply(x, into: &g)
        let n = x.count
        var s = 0.0
        for i in 0..<n {
            s += isotropic ? (g[i] * g[i] + g[n + i] * g[n + i]).squareRoot() : abs(g[i]) + abs(g[n + i])
        }
        return s
    }

    public func value(_ x: [Double]) -> Double? {
        if let b = bounds, !x.allSatisfy({ b.contains($0) }) { return .infinity }
        return weight * variation(x)
    }

    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        try InverseCheck.length(v.count, shape[0] * shape[1], "TV prox input of shape \(shape)")
        let theta = tau * weight
        let clip: (Double) -> Double = bounds.map { b in { min(max($0, b.lowerBound), b.upperBound) } } ?? { $0 }
        if theta == 0 { lastIterations = 0; return v.map(clip) }
        let d = try FiniteDifferenceGradient(imageShape: shape, boundary: boundary)
        let n = v.count
        var p = (warmStart ? dual : nil) ?? [Double](repeating: 0, count: 2 * n)
        var r = p, pOld = p
        var x = [Double](repeating: 0, count: n), xOld = x
        var divr = x, g = p
        var t = 1.0
        let step = 1 / (8 * theta)
        var iterations = 0
        for k in 0..<maxIterations {
            iterations = k + 1
            d.adjoint(r, into: &divr)
            for i in 0..<n { x[i] = clip(v[i] - theta * divr[i]) }
            d.apply(x, into: &g)
            swap(&pOld, &p)
            p.withUnsafeMutableBufferPointer { pp in
                r.withUnsafeBufferPointer { rp in
                    g.withUnsafeBufferPointer { gp in
                        if isotropic {
                            for i in 0..<n {
                                let a = rp[i] + step * gp[i], b = rp[n &+ i] + step * gp[n &+ i]
                                let m = max(1, (a * a + b * b).squareRoot())
                                pp[i] = a / m
                                pp[n &+ i] = b / m
                            }
                        } else {
                            for i in 0..<(2 &* n) { pp[i] = min(1, max(-1, rp[i] + step * gp[i])) }
                        }
                    }
                }
            }
            let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
            let beta = (t - 1) / tNext
            for i in 0..<(2 * n) { r[i] = p[i] + beta * (p[i] - pOld[i]) }
            t = tNext
            if k > 0 {
                let change = InverseVectors.distance(x, xOld), size = InverseVectors.norm(x)
                if change <= tolerance * max(size, .leastNormalMagnitude) { break }
            }
            swap(&x, &xOld)
        }
        // The primal point of the last dual iterate.
        d.adjoint(p, into: &divr)
        for i in 0..<n { x[i] = clip(v[i] - theta * divr[i]) }
        lastIterations = iterations
        if warmStart { dual = p }
        return x
    }
}
