import Foundation
import PDE

/// Denoiser scaling of a learned proximal network (Xu, Chen, Ren, Kamilov & Ji, "Boosting
/// the performance of plug-and-play priors via denoiser scaling", 2020), kept exact.
///
/// With scale s > 0 and centre c, the network sees the image magnified about c,
/// v′ = c + s(v − c), and its output is mapped back:
///
///     f_s(v) = c + (f(v′) − c)/s,   ψ_s(v) = ψ(v′)/s² + c(1 − 1/s)·Σᵢ vᵢ,
///
/// so f_s = ∇ψ_s with ψ_s convex (a convex function of an affine map plus a linear term):
/// f_s is again the exact proximal operator of a regularizer, namely
/// R_s(x) = R(c + s(x − c))/s² up to a constant. Noise of level σ in v is noise sσ in v′, so
/// a network trained at σ_train acts as a denoiser for σ_train/s: s > 1 weakens the prior
/// (and magnifies contrasts by s), s < 1 strengthens it. `identity` (s = 1, c = 0) is the
/// network itself, evaluated without any arithmetic on its input.
public struct LPNScaling: Sendable, Equatable {
    /// s (> 0).
    public let scale: Double
    /// c.
    public let center: Double

    /// s = 1, c = 0.
    public static let identity = LPNScaling(uncheckedScale: 1, center: 0)

    /// Throws `PDEError.invalidValue` (key `scale` or `center`) for a scale that is not
    /// positive and finite, or a centre that is not finite.
    public init(scale: Double, center: Double = 0) throws {
        guard scale > 0, scale.isFinite, scale <= 1e6 else {
            throw PDEError.invalidValue(key: "scale", value: "\(scale)", expected: "a finite scale s with 0 < s ≤ 1e6")
        }
        guard center.isFinite else {
            throw PDEError.invalidValue(key: "center", value: "\(center)", expected: "a finite centre")
        }
        self.init(uncheckedScale: scale, center: center)
    }

    private init(uncheckedScale scale: Double, center: Double) {
        self.scale = scale
        self.center = center
    }

    /// Whether this is the identity (s = 1 and c = 0).
    public var isIdentity: Bool { scale == 1 && center == 0 }

    /// v′ = c + s(v − c).
    public func networkInput(_ v: [Double]) -> [Double] {
        isIdentity ? v : v.map { center + scale * ($0 - center) }
    }

    /// ψ_s(v) and f_s(v) from the network's ψ(v′) and f(v′).
    public func mapBack(potential psi: Double, prox f: [Double], input v: [Double]) -> (potential: Double, prox: [Double]) {
        guard !isIdentity else { return (psi, f) }
        let s = scale, c = center
        let linear = c == 0 ? 0 : c * (1 - 1 / s) * v.reduce(0, +)
        return (psi / (s * s) + linear, f.map { c + ($0 - c) / s })
    }
}
