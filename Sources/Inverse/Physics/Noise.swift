import Foundation
import PDE

/// Measurement noise models, seeded (one `SeededGenerator` per call, so a seed reproduces the
/// measurement bit for bit).
public enum NoiseModel: Sendable, Equatable {
    /// y + σ·N(0, 1).
    case gaussian(sigma: Double)
    /// Poisson counts: y ← Poisson(gain · y) / gain (photon-limited imaging; negative means
    /// are clipped to 0 first).
    case poisson(gain: Double)
    /// No noise.
    case none

    /// Throws for σ < 0 or gain ≤ 0 (or non-finite values).
    public func validate() throws {
        switch self {
        case let .gaussian(sigma): try InverseCheck.nonNegative(sigma, key: "noise sigma")
        case let .poisson(gain): try InverseCheck.positive(gain, key: "poisson gain")
        case .none: break
        }
    }

    /// A noisy copy of `clean`.
    public func corrupt(_ clean: [Double], seed: UInt64) throws -> [Double] {
        try validate()
        var rng = SeededGenerator(seed: seed)
        switch self {
        case .none:
            return clean
        case let .gaussian(sigma):
            return clean.map { $0 + sigma * rng.normal() }
        case let .poisson(gain):
            return clean.map { Double(NoiseModel.poissonSample(mean: max(0, $0) * gain, &rng)) / gain }
        }
    }

    /// A Poisson sample: Knuth's product method for small means, the transformed-rejection
    /// method of Hörmann (PTRS) above 10.
    static func poissonSample(mean: Double, _ rng: inout SeededGenerator) -> Int {
        if mean <= 0 { return 0 }
        if mean < 10 {
            let limit = exp(-mean)
            var k = 0
            var p = rng.uniform()
            while p > limit { k += 1; p *= rng.uniform() }
            return k
        }
        let slam = mean.squareRoot(), loglam = log(mean)
        let b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b
        let invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = rng.uniform() - 0.5, v = rng.uniform()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + mean + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invalpha) - log(a / (us * us) + b) <= -mean + k * loglam - lgamma(k + 1) { return Int(k) }
        }
    }
}
