import Foundation
import Learning
@testable import Operators
import Testing
import TestSupport

@Suite struct LSMTests {
    @Test func shapesPaddingAndScales() throws {
        let c = LSMConfiguration(width: 8, basis: 4, tokens: 2, heads: 2, patch: 2, levels: 2, projectionWidth: 8)
        #expect(c.paddedSize(85) == 88 && c.paddedSize(8) == 8 && LSMConfiguration().paddedSize(85) == 96)
        var g = SeededGenerator(seed: 1)
        let model = try LSM<Float>(c, generator: &g)
        #expect(model.encoder.count == 3 && model.blocks.count == 3 && model.decoder.count == 2)
        for n in [13, 16] {
            let x = Tensor<Float>.randomNormal(shape: [2, 1, n, n], generator: &g)
            #expect(try model(Variable(x)).shape == [2, 1, n, n])
        }
        #expect(throws: LearningError.self) { try LSM<Float>(LSMConfiguration(width: 6, heads: 4), generator: &g) }
        #expect(throws: LearningError.self) { try model(Variable(Tensor<Float>(zeros: [1, 2, 8, 8]))) }
    }

    @Test func theSpectralBlockMatchesADirectComputation() throws {
        // One patch, one head: tokens = softmax(q kᵀ) v + q; z ↦ z + Σ_m a_m sin(mπz/M) + b_m cos(mπz/M);
        // pixels = softmax(q' zᵀ) z + x — written out with loops.
        var g = SeededGenerator(seed: 2)
        let block = try NeuralSpectralBlock<Double>(width: 2, basis: 3, tokens: 2, heads: 1, patch: 2, generator: &g)
        let x = Tensor<Double>.randomNormal(shape: [1, 2, 2, 2], generator: &g)
        let y = try block(Variable(x)).value
        let (c, l, t, m) = (2, 4, 2, 3)
        func px(_ ch: Int, _ p: Int) -> Double { x.scalars[ch * 4 + p] }
        let we = block.encoderAttention.weight.value.scalars, be = block.encoderAttention.bias!.value.scalars
        let wd = block.decoderAttention.weight.value.scalars, bd = block.decoderAttention.bias!.value.scalars
        // keys/values: channel 2j + {0, 1}.
        var key = [[Double]](repeating: [0, 0], count: l), value = key, query2 = key
        for p in 0..<l { for j in 0..<c {
            key[p][j] = be[2 * j] + (0..<c).reduce(0.0) { $0 + we[(2 * j) * c + $1] * px($1, p) }
            value[p][j] = be[2 * j + 1] + (0..<c).reduce(0.0) { $0 + we[(2 * j + 1) * c + $1] * px($1, p) }
            query2[p][j] = bd[j] + (0..<c).reduce(0.0) { $0 + wd[j * c + $1] * px($1, p) }
        } }
        let lat = block.latent.value.scalars
        func softmax(_ v: [Double]) -> [Double] { let mx = v.max()!; let e = v.map { exp($0 - mx) }; let s = e.reduce(0, +); return e.map { $0 / s } }
        var tokens = [[Double]](repeating: [0, 0], count: t)
        for i in 0..<t {
            let q = [lat[i * c], lat[i * c + 1]]
            let a = softmax((0..<l).map { p in q[0] * key[p][0] + q[1] * key[p][1] })
            for j in 0..<c { tokens[i][j] = (0..<l).reduce(0.0) { $0 + a[$1] * value[$1][j] } + q[j] }
        }
        let w = block.weights.value.scalars
        for i in 0..<t { for j in 0..<c {
            let z = tokens[i][j]
            var s = z
            for k in 0..<m { s += w[j * 2 * m + k] * sin(Double(k) / Double(m) * .pi * z) + w[j * 2 * m + m + k] * cos(Double(k) / Double(m) * .pi * z) }
            tokens[i][j] = s
        } }
        for p in 0..<l {
            let a = softmax((0..<t).map { i in query2[p][0] * tokens[i][0] + query2[p][1] * tokens[i][1] })
            for j in 0..<c {
                let expected = (0..<t).reduce(0.0) { $0 + a[$1] * tokens[$1][j] } + px(j, p)
                #expect(abs(y.scalars[j * 4 + p] - expected) < 1e-12, "channel \(j) pixel \(p)")
            }
        }
    }

    @Test func parameterGradientsMatchFiniteDifferences() throws {
        var g = SeededGenerator(seed: 3)
        let model = try LSM<Double>(LSMConfiguration(width: 4, basis: 3, tokens: 2, heads: 2, patch: 2, levels: 1, projectionWidth: 4), generator: &g)
        model.setTraining(false)        // running statistics: the loss is a smooth function of the weights
        let x = Variable(Tensor<Double>.randomNormal(shape: [2, 1, 4, 4], generator: &g))
        let target = Variable(Tensor<Double>.randomNormal(shape: [2, 1, 4, 4], generator: &g))
        try expectParameterGradients(model) { try OperatorLoss.relativeLp(try model(x), target) }
    }
}
