import Foundation
import Learning
import Operators
import Testing
import TestSupport

/// Largest relative error max|g − g_fd| / max(1, |g_fd|) between the reverse-mode gradient
/// of L = Σ r ⊙ f() (r fixed, random) and central differences, over up to `samples`
/// entries of each input (all entries of small ones).
func worstGradientError(_ inputs: [Variable<Double>], samples: Int = 24, step: Double = 1e-6,
                                _ f: () throws -> Variable<Double>) throws -> Double {
    var g = SeededGenerator(seed: 11)
    let r = Tensor<Double>.randomUniform(shape: try f().shape, low: -1, high: 1, generator: &g)
    for v in inputs { v.zeroGradient() }
    try f().backward(seed: r)
    var worst = 0.0
    for v in inputs {
        guard let grad = v.grad, grad.shape == v.shape else { return .infinity }
        let n = v.value.count
        let picks = n <= samples ? Array(0..<n) : (0..<samples).map { _ in Int(g.next() % UInt64(n)) }
        let saved = v.value
        func loss(at i: Int, _ delta: Double) throws -> Double {
            var s = saved.scalars
            s[i] += delta
            v.value = try Tensor(shape: saved.shape, scalars: s)
            defer { v.value = saved }
            return try f().value.dot(r)
        }
        for i in picks {
            let fd = (try loss(at: i, step) - loss(at: i, -step)) / (2 * step)
            worst = max(worst, Swift.abs(grad.scalars[i] - fd) / max(1, Swift.abs(fd)))
        }
    }
    return worst
}

/// u_c(x, y) on the periodic n×n grid x_j = j/n: a few low Fourier modes per channel
/// (frequencies ≤ 2, kept by 4 modes at 16² and 32²), shape [1, channels, n, n].
private func bandLimited(channels: Int, n: Int) throws -> Tensor<Double> {
    var s: [Double] = []
    for c in 0..<channels {
        let a = Double(c + 1)
        for iy in 0..<n {
            for ix in 0..<n {
                let x = 2 * Double.pi * Double(ix) / Double(n), y = 2 * Double.pi * Double(iy) / Double(n)
                s.append(0.3 * a + Foundation.cos(x + a) + 0.5 * Foundation.sin(2 * y - a) + 0.25 * a * Foundation.cos(x - 2 * y))
            }
        }
    }
    return try Tensor(shape: [1, channels, n, n], scalars: s)
}

@Suite struct FourierBlocksTests {
    @Test func parameterNamesFollowPyTorch() throws {
        var g = SeededGenerator(seed: 1)
        let stack = try FourierBlocks<Float>(width: 3, modes: [2, 2], layers: 2, generator: &g)
        #expect(stack.namedParameters(Float.self).map(\.name) == [
            "blocks.0.spectral.weight", "blocks.0.pointwise.weight", "blocks.0.pointwise.bias",
            "blocks.1.spectral.weight", "blocks.1.pointwise.weight", "blocks.1.pointwise.bias",
        ])
        #expect(stack.blocks[0].spectral.weight.shape == [3, 3, 4, 2, 2] && stack.blocks[1].pointwise.weight.shape == [3, 3, 1, 1])
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        var g = SeededGenerator(seed: 2)
        let stack = try FourierBlocks<Double>(width: 3, modes: [2, 3], layers: 2, generator: &g)
        let x = Variable(Tensor<Double>.randomUniform(shape: [2, 3, 8, 6], low: -1, high: 1, generator: &g), requiresGradient: true)
        let worst = try worstGradientError([x] + stack.parameters(Double.self)) { try stack(x) }
        #expect(worst < 1e-6, "worst relative gradient error \(worst)")
        // Every parameter received a gradient (none is cut off from the output).
        #expect(stack.parameters(Double.self).allSatisfy { $0.grad != nil })
    }

    @Test func sameWeightsWorkAtEveryResolution() throws {
        var g = SeededGenerator(seed: 3)
        let stack = try FourierBlocks<Float>(width: 4, modes: [4, 4], layers: 3, generator: &g)
        let coarse = try stack(Variable(Tensor<Float>.randomNormal(shape: [2, 4, 16, 16], generator: &g)))
        let fine = try stack(Variable(Tensor<Float>.randomNormal(shape: [1, 4, 32, 32], generator: &g)))
        #expect(coarse.shape == [2, 4, 16, 16] && fine.shape == [1, 4, 32, 32])
        #expect(coarse.value.scalars.allSatisfy(\.isFinite) && fine.value.scalars.allSatisfy(\.isFinite))

        // One block on a band-limited input is the same function at both resolutions: the
        // 32² output, sampled at every other point, is the 16² output.
        var g2 = SeededGenerator(seed: 4)
        let block = try FourierBlocks<Double>(width: 2, modes: [4, 4], layers: 1, generator: &g2)
        let y16 = try block(Variable(try bandLimited(channels: 2, n: 16))).value
        let y32 = try block(Variable(try bandLimited(channels: 2, n: 32))).value
        var sampled: [Double] = []
        for c in 0..<2 { for iy in stride(from: 0, to: 32, by: 2) { for ix in stride(from: 0, to: 32, by: 2) {
            sampled.append(y32.scalars[(c * 32 + iy) * 32 + ix])
        } } }
        let scale = y16.scalars.map { Swift.abs($0) }.max()!
        #expect(scale > 0.1)
        #expect(maxAbsDifference(sampled, y16.scalars) < 1e-10 * scale, "\(maxAbsDifference(sampled, y16.scalars))")
    }

    @Test func badSizesAndInputsAreTypedErrors() throws {
        var g = SeededGenerator(seed: 5)
        #expect(throws: LearningError.self) { _ = try FourierBlocks<Float>(width: 4, modes: [4, 4], layers: 0, generator: &g) }
        #expect(throws: LearningError.self) { _ = try FourierBlocks<Float>(width: 0, modes: [4, 4], layers: 1, generator: &g) }
        #expect(throws: LearningError.self) { _ = try FourierBlocks<Float>(width: 4, modes: [1, 1, 1, 1], layers: 1, generator: &g) }
        let stack = try FourierBlocks<Float>(width: 4, modes: [4, 4], layers: 1, generator: &g)
        #expect(throws: LearningError.self) { _ = try stack(Variable(Tensor<Float>(zeros: [1, 3, 16, 16]))) }
        #expect(throws: LearningError.self) { _ = try stack(Variable(Tensor<Float>(zeros: [1, 4, 16]))) }
    }
}
