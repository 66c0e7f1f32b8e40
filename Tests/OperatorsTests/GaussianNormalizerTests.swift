import Foundation
import Learning
@testable import Operators
import Testing
import TestSupport

@Suite struct GaussianNormalizerTests {
    @Test func encodeDecodeRoundTripsAndStatisticsAreRight() throws {
        var g = SeededGenerator(seed: 4)
        let data = Tensor<Double>.randomUniform(shape: [50, 3, 4], low: 2, high: 6, generator: &g)
        for mode in GaussianNormalizer<Double>.Mode.allCases {
            let norm = try GaussianNormalizer(fitting: data, mode: mode, epsilon: 0)
            let z = try norm.encode(Variable(data)).value
            // Encoded training data: mean 0, standard deviation 1 per point (or overall).
            if mode == .perPoint {
                for p in 0..<12 {
                    let col = (0..<50).map { z.scalars[$0 * 12 + p] }
                    let m = col.reduce(0, +) / 50, v = col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 50
                    #expect(abs(m) < 1e-12 && abs(v - 1) < 1e-12)
                }
            } else {
                let m = z.scalars.reduce(0, +) / 600, v = z.scalars.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 600
                #expect(abs(m) < 1e-12 && abs(v - 1) < 1e-12)
            }
            let back = try norm.decode(Variable(z)).value
            #expect(maxAbsDifference(back.scalars, data.scalars) < 1e-12)
        }
        // A constant field: σ = 0 exactly (no NaN by cancellation), ε keeps the map finite.
        let constant = try Tensor<Double>(shape: [3, 2], scalars: [1e8, 5, 1e8, 5, 1e8, 5])
        let c = try GaussianNormalizer(fitting: constant, mode: .perPoint)
        #expect(c.std.value.scalars == [0, 0])
        #expect(try c.encode(Variable(constant)).value.scalars.allSatisfy { $0.isFinite })
    }

    @Test func statisticsSurviveTheCheckpoint() throws {
        var g = SeededGenerator(seed: 5)
        let data = Tensor<Float>.randomUniform(shape: [10, 8], low: -1, high: 3, generator: &g)
        let fitted = try GaussianNormalizer(fitting: data)
        let path = makeTemporaryFolder() + "/normalizer.safetensors"
        try Checkpoint.save(model: fitted, scalar: Float.self, to: path)
        let other = try GaussianNormalizer(fitting: Tensor<Float>.randomUniform(shape: [10, 8], low: 0, high: 1, generator: &g))
        _ = try Checkpoint.load(into: other, scalar: Float.self, from: path)
        #expect(other.mean.value.scalars == fitted.mean.value.scalars && other.std.value.scalars == fitted.std.value.scalars)
        #expect(fitted.namedVariables(Float.self).map(\.name).sorted() == ["mean", "std"])
        #expect(fitted.namedParameters(Float.self).isEmpty)   // statistics are not trained
    }

    @Test func badInputsAreTypedErrors() throws {
        #expect(throws: LearningError.self) { try GaussianNormalizer(fitting: Tensor<Double>([1, 2, 3])) }
        #expect(throws: LearningError.self) { try GaussianNormalizer(fitting: try Tensor<Double>(shape: [2, 1], scalars: [1, .nan])) }
        #expect(throws: LearningError.self) { try GaussianNormalizer(fitting: try Tensor<Double>(shape: [2, 1], scalars: [1, 2]), epsilon: -1) }
    }
}
