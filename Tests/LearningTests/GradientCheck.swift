@_exported import TestSupport
import Foundation
import Testing
@testable import Learning

/// Random Double tensor with entries in [−1, 1) (away from kinks unless asked).
func randomTensor(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Tensor<Double> {
    var g = SeededGenerator(seed: seed)
    return .randomUniform(shape: shape, low: low, high: high, generator: &g)
}

func variable(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Variable<Double> {
    Variable(randomTensor(shape, seed: seed, low: low, high: high), requiresGradient: true)
}

/// Checks the reverse-mode gradient of L = Σ r ⊙ f(inputs) (r fixed random) against central
/// differences, entry by entry (all entries, or `samples` pseudo-random ones per input).
/// Returns the largest relative error max|g − g_fd| / max(1, |g_fd|).
@discardableResult
func checkGradients(_ inputs: [Variable<Double>], step: Double = 1e-6, tolerance: Double = 1e-6, samples: Int = 40,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: () throws -> Variable<Double>) throws -> Double {
    let y0 = try f()
    let r = randomTensor(y0.shape, seed: 99)
    func loss() throws -> Double { try f().value.dot(r) }
    for v in inputs { v.zeroGradient() }
    try f().backward(seed: r)
    var worst = 0.0
    var g = SeededGenerator(seed: 5)
    for v in inputs {
        guard let grad = v.grad else {
            Issue.record("no gradient reached an input of shape \(v.shape)", sourceLocation: sourceLocation)
            continue
        }
        #expect(grad.shape == v.shape, sourceLocation: sourceLocation)
        let n = v.value.count
        let picks = n <= samples ? Array(0..<n) : (0..<samples).map { _ in Int(g.next() % UInt64(n)) }
        for i in picks {
            let saved = v.value.scalars[i]
            v.value.scalars[i] = saved + step
            let lp = try loss()
            v.value.scalars[i] = saved - step
            let lm = try loss()
            v.value.scalars[i] = saved
            let fd = (lp - lm) / (2 * step)
            let err = Swift.abs(grad.scalars[i] - fd) / max(1, Swift.abs(fd))
            worst = max(worst, err)
        }
    }
    #expect(worst < tolerance, "worst relative gradient error \(worst)", sourceLocation: sourceLocation)
    return worst
}

func maxDifference<T: TensorScalar>(_ a: Tensor<T>, _ b: Tensor<T>) -> Double {
    precondition(a.count == b.count)
    return zip(a.scalars, b.scalars).reduce(0.0) { max($0, Swift.abs(Double($1.0) - Double($1.1))) }
}
