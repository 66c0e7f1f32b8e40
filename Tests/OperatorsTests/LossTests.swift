import Foundation
import Learning
@testable import Operators
import Testing
import TestSupport

/// The operator losses: values against direct formulas and Parseval, gradients against
/// finite differences, bad inputs.
@Suite struct OperatorLossTests {
    func random(_ shape: [Int], seed: UInt64) -> Tensor<Double> {
        var g = SeededGenerator(seed: seed)
        return Tensor<Double>.randomUniform(shape: shape, low: -1, high: 1, generator: &g)
    }

    @Test func relativeLpIsThePerSampleMeanOfRelativeNorms() throws {
        let y = random([3, 2, 5], seed: 1), e = random([3, 2, 5], seed: 2)
        let yhat = try y + e * 0.1
        for p in [1.0, 2.0, 3.0] {
            let loss = try OperatorLoss.relativeLp(Variable(yhat), Variable(y), p: p).value.scalars[0]
            var direct = 0.0
            for b in 0..<3 {
                let num = (0..<10).reduce(0.0) { $0 + pow(abs(yhat.scalars[b * 10 + $1] - y.scalars[b * 10 + $1]), p) }
                let den = (0..<10).reduce(0.0) { $0 + pow(abs(y.scalars[b * 10 + $1]), p) }
                direct += pow(num, 1 / p) / pow(den, 1 / p) / 3
            }
            #expect(abs(loss - direct) < 1e-13, "p = \(p)")
        }
    }

    /// u = sin(2π m x) has ‖u‖²_{H¹} ∝ 1 + (2πm)²: a perturbation δ·sin(2π m' x) of it has the
    /// relative H¹ error δ·√((1 + (2πm')²)/(1 + (2πm)²)) — exact for resolved modes.
    @Test func relativeH1MatchesParsevalOnResolvedModes() throws {
        let n = 32, m = 2.0, m2 = 5.0, delta = 0.01
        let x = (0..<n).map { Double($0) / Double(n) }
        let u = x.map { sin(2 * .pi * m * $0) }, v = zip(u, x).map { $0 + delta * sin(2 * .pi * m2 * $1) }
        let loss = try OperatorLoss.relativeH1(Variable(try Tensor(shape: [1, n], scalars: v)), Variable(try Tensor(shape: [1, n], scalars: u)),
                                               dimensions: 1).value.scalars[0]
        let expected = delta * sqrt((1 + pow(2 * .pi * m2, 2)) / (1 + pow(2 * .pi * m, 2)))
        #expect(abs(loss - expected) < 1e-12 * expected, "\(loss) vs \(expected)")
        // 2-D with a period of 2 on the second axis and a channel axis summed into the norm.
        let grid = (0..<(16 * 8)).map { l -> (Double, Double) in (Double(l / 8) / 16, 2 * Double(l % 8) / 8) }
        let a = grid.map { sin(2 * .pi * 3 * $0.0) * cos(2 * .pi * $0.1 / 2) }
        let b = zip(a, grid).map { $0 + delta * cos(2 * .pi * 2 * $1.1 / 2) }
        let l2 = try OperatorLoss.relativeH1(Variable(try Tensor(shape: [1, 1, 16, 8], scalars: b)), Variable(try Tensor(shape: [1, 1, 16, 8], scalars: a)),
                                             dimensions: 2, lengths: [1, 2]).value.scalars[0]
        // ‖a‖² ∝ ¼(1 + (6π)² + π²)·… and ‖δ cos(2π y)‖² ∝ ½δ²(1 + (2π)²) in the same mean-square units.
        let e2 = sqrt(0.5 * delta * delta * (1 + pow(2 * .pi, 2)) / (0.25 * (1 + pow(6 * .pi, 2) + pow(.pi, 2))))
        #expect(abs(l2 - e2) < 1e-12 * e2, "\(l2) vs \(e2)")
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        let y = Variable(random([2, 3, 8], seed: 3)), yhat = Variable(random([2, 3, 8], seed: 4), requiresGradient: true)
        for p in [1.5, 2.0] {
            let err = try worstGradientError([yhat]) { try OperatorLoss.relativeLp(yhat, y, p: p) }
            #expect(err < 1e-6, "relative Lp, p = \(p): \(err)")
        }
        let y2 = Variable(random([2, 6, 8], seed: 5)), yhat2 = Variable(random([2, 6, 8], seed: 6), requiresGradient: true)
        let err = try worstGradientError([yhat2]) { try OperatorLoss.relativeH1(yhat2, y2, dimensions: 2) }
        #expect(err < 1e-6, "relative H1: \(err)")
    }

    @Test func badInputsAreTypedErrors() {
        let a = Variable(random([2, 4], seed: 1)), b = Variable(random([2, 5], seed: 2))
        #expect(throws: LearningError.self) { try OperatorLoss.relativeLp(a, b) }
        #expect(throws: LearningError.self) { try OperatorLoss.relativeLp(a, a, p: 0.5) }
        #expect(throws: LearningError.self) { try OperatorLoss.relativeH1(a, a, dimensions: 2) }
        #expect(throws: LearningError.self) { try OperatorLoss.relativeH1(a, a, dimensions: 1, lengths: [0]) }
    }
}
