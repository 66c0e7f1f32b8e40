import Foundation
import Testing
@testable import Learning

/// Direct O(N²) DFT of a complex tensor [..., 2] over the complex axes `axes` (sign −1
/// forward, +1 inverse, unnormalized), one axis at a time.
private func directDFT(_ x: Tensor<Double>, axes: [Int], sign: Double) -> Tensor<Double> {
    var cur = x
    let shape = Array(x.shape.dropLast())
    let strides = Tensor<Double>.strides(shape)
    for a in axes {
        var out = Tensor<Double>(zeros: x.shape)
        let n = shape[a]
        for flat in 0..<(x.count / 2) {
            let k = (flat / strides[a]) % n
            let base = flat - k * strides[a]
            var re = 0.0, im = 0.0
            for j in 0..<n {
                let t = sign * 2 * Double.pi * Double(k * j) / Double(n)
                let (xr, xi) = (cur.scalars[2 * (base + j * strides[a])], cur.scalars[2 * (base + j * strides[a]) + 1])
                re += xr * Foundation.cos(t) - xi * Foundation.sin(t)
                im += xr * Foundation.sin(t) + xi * Foundation.cos(t)
            }
            out.scalars[2 * flat] = re
            out.scalars[2 * flat + 1] = im
        }
        cur = out
    }
    return cur
}

@Suite struct ComplexOpsTests {
    @Test func complexMultiplyMatchesDirectProductWithBroadcasting() throws {
        let a = variable([3, 1, 2], seed: 1), b = variable([1, 4, 2], seed: 2)
        let y = try Variable.complexMultiply(a, b)
        #expect(y.shape == [3, 4, 2])
        for i in 0..<3 {
            for j in 0..<4 {
                let (ar, ai) = (a.value.scalars[2 * i], a.value.scalars[2 * i + 1])
                let (br, bi) = (b.value.scalars[2 * j], b.value.scalars[2 * j + 1])
                #expect(Swift.abs(y.value.scalars[(i * 4 + j) * 2] - (ar * br - ai * bi)) < 1e-14)
                #expect(Swift.abs(y.value.scalars[(i * 4 + j) * 2 + 1] - (ar * bi + ai * br)) < 1e-14)
            }
        }
        try checkGradients([a, b]) { try Variable.complexMultiply(a, b) }
        let c = variable([2, 3, 2], seed: 3), d = variable([3, 2], seed: 4)
        try checkGradients([c, d]) { try Variable.complexMultiply(c, d) }
    }

    @Test func conjugateNegatesImaginaryParts() throws {
        let a = variable([2, 3, 2], seed: 5)
        let y = try a.conjugated()
        for i in 0..<6 {
            #expect(y.value.scalars[2 * i] == a.value.scalars[2 * i])
            #expect(y.value.scalars[2 * i + 1] == -a.value.scalars[2 * i + 1])
        }
        let b = variable([2, 3, 2], seed: 6)
        try checkGradients([a, b]) { try Variable.complexMultiply(try a.conjugated(), b) }
    }

    @Test func fftMatchesDirectDFTOverChosenAxes() throws {
        let x = randomTensor([3, 2, 5, 2], seed: 7)
        for axes in [[0], [2], [0, 2], [1, 2], [0, 1, 2], [-1]] {
            let y = try Variable(x).fft(axes: axes)
            let normalized = axes.map { $0 < 0 ? $0 + 3 : $0 }
            #expect(maxDifference(y.value, directDFT(x, axes: normalized, sign: -1)) < 1e-12, "axes \(axes)")
            let n = Double(normalized.reduce(1) { $0 * x.shape[$1] })
            let yi = try Variable(x).fft(axes: axes, inverse: true)
            #expect(maxDifference(yi.value, directDFT(x, axes: normalized, sign: 1).map { $0 / n }) < 1e-12, "inverse axes \(axes)")
            let back = try y.fft(axes: axes, inverse: true)
            #expect(maxDifference(back.value, x) < 1e-12, "inverse ∘ forward, axes \(axes)")
        }
    }

    @Test func fftInFloatMatchesDouble() throws {
        let x = randomTensor([4, 6, 3, 2], seed: 8)
        let yd = try Variable(x).fft(axes: [0, 1])
        let yf = try Variable(x.converted(to: Float.self)).fft(axes: [0, 1])
        #expect(maxDifference(yf.value.converted(to: Double.self), yd.value) < 1e-4)
        let back = try yf.fft(axes: [0, 1], inverse: true)
        #expect(maxDifference(back.value.converted(to: Double.self), x) < 1e-5)
    }

    @Test func fftGradients() throws {
        let x = variable([3, 4, 2, 2], seed: 9)
        try checkGradients([x]) { try x.fft(axes: [0, 1]) }
        try checkGradients([x]) { try x.fft(axes: [1, 2], inverse: true) }
        try checkGradients([x]) { try x.fft(axes: [2]).fft(axes: [0], inverse: true) }
    }

    @Test func badComplexInputsThrow() throws {
        let real = variable([3, 3], seed: 10), c = variable([3, 2], seed: 11)
        #expect(throws: LearningError.self) { try Variable.complexMultiply(real, c) }
        #expect(throws: LearningError.self) { try Variable.complexMultiply(variable([3, 2], seed: 1), variable([4, 2], seed: 2)) }
        #expect(throws: LearningError.self) { try real.conjugated() }
        #expect(throws: LearningError.self) { try real.fft(axes: [0]) }
        #expect(throws: LearningError.self) { try c.fft(axes: [1]) }  // the (re, im) axis
        #expect(throws: LearningError.self) { try c.fft(axes: []) }
        #expect(throws: LearningError.self) { try variable([2, 3, 2], seed: 12).fft(axes: [0, -2]) }
        #expect(throws: LearningError.self) { try Variable(Tensor<Double>(zeros: [2])).fft(axes: [0]) }
    }
}

@Suite struct NormalizationTests {
    @Test func layerNormalizedOverChosenAxes() throws {
        let x = variable([2, 3, 4, 5], seed: 20)
        let y = try x.layerNormalized(axes: [1, 3], epsilon: 0)
        let mean = try y.value.sum(alongAxes: [1, 3]).map(.scale(1.0 / 15))
        let second = try y.value.map(.square).sum(alongAxes: [1, 3]).map(.scale(1.0 / 15))
        #expect(mean.maxAbs() < 1e-12)
        #expect(maxDifference(second, Tensor(repeating: 1, shape: [2, 4])) < 1e-12)
        // The last axis alone agrees with the composed LayerNorm layer (γ = 1, β = 0).
        let layer = try LayerNorm<Double>(features: 5)
        #expect(maxDifference(try x.layerNormalized(axes: [-1]).value, try layer(x).value) < 1e-12)
        try checkGradients([x]) { try x.layerNormalized(axes: [1, 3]) }
        try checkGradients([x]) { try x.layerNormalized(axes: [0, 1, 2, 3], epsilon: 1e-3) }
        #expect(throws: LearningError.self) { try x.layerNormalized(axes: []) }
        #expect(throws: LearningError.self) { try x.layerNormalized(axes: [1, 1]) }
        #expect(throws: LearningError.self) { try x.layerNormalized(axes: [4]) }
        #expect(throws: LearningError.self) { try x.layerNormalized(axes: [1], epsilon: -1) }
    }

    @Test func batchNormalizedMatchesDirectFormulaAndGradients() throws {
        let x = variable([4, 3, 5], seed: 21), w = variable([3], seed: 22), b = variable([3], seed: 23)
        let eps = 1e-5
        let y = try x.batchNormalized(weight: w, bias: b, epsilon: eps)
        for c in 0..<3 {
            var values: [Double] = []
            for n in 0..<4 { for s in 0..<5 { values.append(x.value.scalars[(n * 3 + c) * 5 + s]) } }
            let mu = values.reduce(0, +) / 20
            let v = values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 20
            for n in 0..<4 {
                for s in 0..<5 {
                    let i = (n * 3 + c) * 5 + s
                    let expected = (x.value.scalars[i] - mu) / (v + eps).squareRoot() * w.value.scalars[c] + b.value.scalars[c]
                    #expect(Swift.abs(y.value.scalars[i] - expected) < 1e-12)
                }
            }
        }
        try checkGradients([x, w, b]) { try x.batchNormalized(weight: w, bias: b) }
        let x2 = variable([5, 2], seed: 24)
        try checkGradients([x2]) { try x2.batchNormalized() }
        let x4 = variable([2, 2, 3, 2], seed: 25)
        let w4 = variable([2], seed: 26)
        try checkGradients([x4, w4]) { try x4.batchNormalized(weight: w4, bias: nil) }
        // Given statistics (evaluation mode).
        let mean = randomTensor([3], seed: 27), variance = randomTensor([3], seed: 28, low: 0.5, high: 2)
        try checkGradients([x, w, b]) { try x.batchNormalized(mean: mean, variance: variance, weight: w, bias: b) }
    }

    @Test func batchNormalizedRejectsBadInputs() throws {
        let x = variable([4, 3, 5], seed: 29)
        #expect(throws: LearningError.self) { try variable([4], seed: 1).batchNormalized() }
        #expect(throws: LearningError.self) { try x.batchNormalized(weight: variable([4], seed: 2)) }
        #expect(throws: LearningError.self) { try x.batchNormalized(bias: variable([3, 1], seed: 3)) }
        #expect(throws: LearningError.self) { try x.batchNormalized(epsilon: -1) }
        #expect(throws: LearningError.self) { try variable([1, 3], seed: 4).batchNormalized() }
        #expect(throws: LearningError.self) { try x.batchNormalized(mean: Tensor(zeros: [2]), variance: Tensor(zeros: [3])) }
        #expect(throws: LearningError.self) { try x.batchNormalized(mean: Tensor(zeros: [3]), variance: Tensor(repeating: -1, shape: [3])) }
        #expect(throws: LearningError.self) { try BatchNorm<Double>(channels: 0) }
        #expect(throws: LearningError.self) { try BatchNorm<Double>(channels: 2, momentum: 1.5) }
        #expect(throws: LearningError.self) { try BatchNorm<Double>(channels: 3)(variable([2, 4, 3], seed: 5)) }
    }

    @Test func batchNormTrainingUpdatesRunningStatisticsAsPyTorch() throws {
        let bn = try BatchNorm<Double>(channels: 2)
        let names = bn.namedVariables(Double.self).map(\.name)
        #expect(names == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        #expect(bn.parameters(Double.self).count == 2)
        let x = variable([3, 2, 4], seed: 30)
        var expectedMean = [0.0, 0.0], expectedVar = [1.0, 1.0]
        for step in 1...2 {
            let input = step == 1 ? x : Variable(x.value.map { 2 * $0 + 1 }, requiresGradient: true)
            let y = try bn(input)
            for c in 0..<2 {
                var values: [Double] = []
                for n in 0..<3 { for s in 0..<4 { values.append(input.value.scalars[(n * 2 + c) * 4 + s]) } }
                let mu = values.reduce(0, +) / 12
                let unbiased = values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 11
                expectedMean[c] = 0.9 * expectedMean[c] + 0.1 * mu
                expectedVar[c] = 0.9 * expectedVar[c] + 0.1 * unbiased
            }
            #expect(maxDifference(bn.runningMean, Tensor(expectedMean)) < 1e-12)
            #expect(maxDifference(bn.runningVariance, Tensor(expectedVar)) < 1e-12)
            #expect(bn.batchesTracked == step)
            // Training output: batch statistics.
            #expect(maxDifference(y.value, try input.batchNormalized(weight: bn.weight, bias: bn.bias).value) < 1e-12)
        }
        // Evaluation: running statistics, no update.
        bn.isTraining = false
        let y = try bn(x)
        for i in 0..<x.value.count {
            let c = (i / 4) % 2
            let expected = (x.value.scalars[i] - expectedMean[c]) / (expectedVar[c] + 1e-5).squareRoot()
            #expect(Swift.abs(y.value.scalars[i] - expected) < 1e-12)
        }
        #expect(bn.batchesTracked == 2)
        #expect(maxDifference(bn.runningMean, Tensor(expectedMean)) < 1e-12)
        // Gradients reach the affine parameters in both modes; buffers get none.
        try y.sum().backward()
        #expect(bn.weight?.grad != nil && bn.bias?.grad != nil)
        #expect(bn.running_mean.grad == nil)
    }

    @Test func setTrainingSwitchesEveryBatchNormInAModel() throws {
        var g = SeededGenerator(seed: 50)
        let first = try BatchNorm<Double>(channels: 4), second = try BatchNorm<Double>(channels: 4, affine: false)
        let model = Sequential<Double>([try Convolution(inChannels: 2, outChannels: 4, kernel: [3], generator: &g), first,
                                        Activation(.relu), Residual(second)])
        #expect(model.namedVariables(Double.self).map(\.name).contains("layers.3.body.running_var"))
        #expect(!model.namedParameters(Double.self).map(\.name).contains { $0.contains("running") })
        model.setTraining(false)
        #expect(!first.isTraining && !second.isTraining)
        _ = try model(variable([2, 2, 6], seed: 51))
        #expect(first.batchesTracked == 0 && second.batchesTracked == 0)
        model.setTraining(true)
        #expect(first.isTraining && second.isTraining)
        _ = try model(variable([2, 2, 6], seed: 51))
        #expect(first.batchesTracked == 1 && second.batchesTracked == 1)
    }

    @Test func batchNormRunningStatisticsSurviveACheckpoint() throws {
        let folder = makeTemporaryFolder()
        let path = folder + "/bn.safetensors"
        let bn = try BatchNorm<Float>(channels: 3)
        let x = Variable(randomTensor([4, 3, 2, 2], seed: 31, low: -1, high: 2).converted(to: Float.self))
        for _ in 0..<3 { _ = try bn(x) }
        bn.weight!.value = Tensor([0.5, 1.5, 2])
        try Checkpoint.save(model: bn, scalar: Float.self, to: path)
        let file = try SafeTensors.read(path)
        #expect(Set(file.tensors.keys) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        let restored = try BatchNorm<Float>(channels: 3)
        try Checkpoint.load(into: restored, scalar: Float.self, from: path)
        #expect(restored.runningMean.scalars == bn.runningMean.scalars)
        #expect(restored.runningVariance.scalars == bn.runningVariance.scalars)
        #expect(restored.batchesTracked == 3)
        #expect(restored.weight!.value.scalars == [0.5, 1.5, 2])
        bn.isTraining = false
        restored.isTraining = false
        #expect(try restored(x).value.scalars == bn(x).value.scalars)
    }
}

/// The c2c FFT against numpy, and batch / layer normalization against PyTorch, on the same
/// inputs (skipped when the Python modules are missing).
@Suite struct NormalizationComplexParityTests {
    @Test(.enabled(if: Python.has("numpy", "safetensors.numpy"), "needs numpy and safetensors in python3"))
    func fftMatchesNumPy() throws {
        let dir = makeTemporaryFolder()
        let x = randomTensor([3, 4, 5, 2], seed: 40)
        var outputs: [(name: String, entry: SafeTensors.Entry)] = []
        for (name, axes) in [("a0", [0]), ("a12", [1, 2]), ("a02", [0, 2]), ("all", [0, 1, 2])] {
            outputs.append((name: "f" + name, entry: .init(try Variable(x).fft(axes: axes).value)))
            outputs.append((name: "i" + name, entry: .init(try Variable(x).fft(axes: axes, inverse: true).value)))
        }
        let inputs = dir + "/x.safetensors", ours = dir + "/ours.safetensors"
        try SafeTensors.write([("x", .init(x))], to: inputs)
        try SafeTensors.write(outputs, to: ours)
        let r = Python.run("""
        import numpy as np
        from safetensors.numpy import load_file
        x = load_file('\(inputs)')['x']; z = x[..., 0] + 1j * x[..., 1]
        o = load_file('\(ours)')
        axes = {'a0': (0,), 'a12': (1, 2), 'a02': (0, 2), 'all': (0, 1, 2)}
        worst = 0.0
        for k, a in axes.items():
            for p, f in (('f', np.fft.fftn), ('i', np.fft.ifftn)):
                ref = f(z, axes=a)
                got = o[p + k][..., 0] + 1j * o[p + k][..., 1]
                worst = max(worst, float(np.abs(ref - got).max()))
        print('worst', worst, 'ok' if worst < 1e-12 else 'BAD')
        """)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains(" ok"), "\(r.output)")
    }

    @Test(.enabled(if: Python.has("torch", "safetensors.numpy"), "needs PyTorch and safetensors in python3 (torch is not installed by make test)"))
    func batchNormAndLayerNormMatchPyTorch() throws {
        let dir = makeTemporaryFolder()
        let x1 = randomTensor([4, 3, 5, 2], seed: 41), x2 = randomTensor([4, 3, 5, 2], seed: 42, low: -2, high: 3)
        let r = randomTensor([4, 3, 5, 2], seed: 43)
        let bn = try BatchNorm<Double>(channels: 3)
        bn.weight!.value = randomTensor([3], seed: 44)
        bn.bias!.value = randomTensor([3], seed: 45)
        _ = try bn(Variable(x1))
        let xv = Variable(x2, requiresGradient: true)
        let train = try bn(xv)
        try train.backward(seed: r)
        bn.isTraining = false
        let eval = try bn(Variable(x2))
        let ln = try Variable(x2).layerNormalized(axes: [2, 3])
        let outputs: [(name: String, entry: SafeTensors.Entry)] = [
            ("train", .init(train.value)), ("eval", .init(eval.value)), ("layernorm", .init(ln.value)),
            ("gx", .init(xv.grad!)), ("gw", .init(bn.weight!.grad!)), ("gb", .init(bn.bias!.grad!)),
            ("running_mean", .init(bn.runningMean)), ("running_var", .init(bn.runningVariance)),
        ]
        let inputs = dir + "/in.safetensors", ours = dir + "/ours.safetensors"
        try SafeTensors.write([("x1", .init(x1)), ("x2", .init(x2)), ("r", .init(r)),
                               ("w", .init(randomTensor([3], seed: 44))), ("b", .init(randomTensor([3], seed: 45)))], to: inputs)
        try SafeTensors.write(outputs, to: ours)
        let out = Python.run("""
        import torch, torch.nn.functional as F
        from safetensors.numpy import load_file
        i = {k: torch.from_numpy(v) for k, v in load_file('\(inputs)').items()}
        o = {k: torch.from_numpy(v) for k, v in load_file('\(ours)').items()}
        bn = torch.nn.BatchNorm2d(3, dtype=torch.float64)
        with torch.no_grad():
            bn.weight.copy_(i['w']); bn.bias.copy_(i['b'])
        bn(i['x1'])
        x = i['x2'].clone().requires_grad_(True)
        y = bn(x)
        y.backward(i['r'])
        ref = {'train': y.detach(), 'gx': x.grad, 'gw': bn.weight.grad, 'gb': bn.bias.grad,
               'running_mean': bn.running_mean, 'running_var': bn.running_var}
        bn.eval()
        ref['eval'] = bn(i['x2']).detach()
        ref['layernorm'] = F.layer_norm(i['x2'], (5, 2))
        assert sorted(bn.state_dict().keys()) == ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
        bad = [k for k in ref if ref[k].shape != o[k].shape or (ref[k] - o[k]).abs().max().item() > 1e-10]
        print('bad', bad)
        """)
        #expect(out.status == 0, "\(out.output)")
        #expect(out.output.contains("bad []"), "\(out.output)")
    }
}
