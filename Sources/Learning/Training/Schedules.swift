import Foundation

/// A learning rate as a function of the epoch (or step) count, starting at 0.
public enum LearningRateSchedule: Sendable, Equatable {
    case constant(Double)
    /// base · γ^⌊t/stepSize⌋ (PyTorch's StepLR).
    case step(base: Double, stepSize: Int, gamma: Double)
    /// minimum + (base − minimum)(1 + cos(π t/total))/2 for t ≤ total (CosineAnnealingLR).
    case cosine(base: Double, total: Int, minimum: Double)
    /// Linear warm-up from base/warmup·1 to the wrapped schedule's value over `warmup`
    /// units, then the wrapped schedule shifted by `warmup`.
    indirect case warmup(Int, LearningRateSchedule)

    /// The rate the schedule scales (PyTorch's `base_lr`): the constant, the `base` of a
    /// step or cosine schedule, the wrapped schedule's base for a warm-up. A `Trainer`
    /// requires the optimizer to be created with this rate.
    public var baseRate: Double {
        switch self {
        case .constant(let r): return r
        case let .step(base, _, _): return base
        case let .cosine(base, _, _): return base
        case let .warmup(_, inner): return inner.baseRate
        }
    }

    /// The rate of epoch (or step) `t`, counting from 0.
    public func rate(at t: Int) -> Double {
        switch self {
        case .constant(let r): return r
        case let .step(base, size, gamma): return base * Foundation.pow(gamma, Double(t / max(1, size)))
        case let .cosine(base, total, minimum):
            let u = Double(min(t, total)) / Double(max(1, total))
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * u)) / 2
        case let .warmup(w, inner):
            if t < w { return inner.rate(at: 0) * Double(t + 1) / Double(w) }
            return inner.rate(at: t - w)
        }
    }

    /// Throws on non-positive rates, sizes or totals.
    public func validate() throws {
        switch self {
        case .constant(let r):
            if !(r > 0) { throw LearningError.invalidArgument(name: "learning rate", value: "\(r)", expected: "> 0") }
        case let .step(base, size, gamma):
            if !(base > 0) || size < 1 || !(gamma > 0) {
                throw LearningError.invalidArgument(name: "step schedule", value: "base \(base), stepSize \(size), gamma \(gamma)",
                                                    expected: "base > 0, stepSize ≥ 1, gamma > 0")
            }
        case let .cosine(base, total, minimum):
            if !(base > 0) || total < 1 || minimum < 0 || minimum > base {
                throw LearningError.invalidArgument(name: "cosine schedule", value: "base \(base), total \(total), minimum \(minimum)",
                                                    expected: "base > 0, total ≥ 1, 0 ≤ minimum ≤ base")
            }
        case let .warmup(w, inner):
            if w < 0 { throw LearningError.invalidArgument(name: "warmup", value: "\(w)", expected: "≥ 0") }
            try inner.validate()
        }
    }
}
