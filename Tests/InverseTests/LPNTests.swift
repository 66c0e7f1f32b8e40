import Foundation
import Testing
@testable import Inverse
import Learning
import PDE
import TestSupport

// Learned proximal networks: the explicit gradient pass against the tape, convexity and
// monotonicity, parameter gradients through the pass, the constraint, the losses, a short
// training run and the errors.

/// A small fully connected LPN (d = 5, hidden 12, 2 hidden-to-hidden layers).
private func smallDense<T: TensorScalar>(_: T.Type, beta: Double = 10, alpha: Double = 0.1, seed: UInt64 = 1) throws -> LearnedProximalNetwork<T> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<T>(kind: .fullyConnected(dimension: 5), hidden: 12, layers: 2, beta: beta, alpha: alpha, generator: &g)
    scramble(net, seed: seed + 100)
    return net
}

/// A small convolutional LPN on 2 × 8 × 8 images (hidden 4, 3 convolutions as lpn_mnist,
/// dense width 6).
private func smallConv<T: TensorScalar>(_: T.Type, beta: Double = 10, alpha: Double = 0.05, seed: UInt64 = 2) throws -> LearnedProximalNetwork<T> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<T>(kind: .convolutional(channels: 2, height: 8, width: 8, denseFeatures: 6), hidden: 4, layers: 3,
                                            beta: beta, alpha: alpha, generator: &g)
    scramble(net, seed: seed + 100)
    return net
}

/// A small fully convolutional LPN on 2-channel images of any size (hidden 3, 2 layers).
private func smallFullyConv<T: TensorScalar>(_: T.Type, beta: Double = 10, alpha: Double = 0.05, seed: UInt64 = 3) throws -> LearnedProximalNetwork<T> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<T>(kind: .fullyConvolutional(channels: 2), hidden: 3, layers: 2, beta: beta, alpha: alpha, generator: &g)
    scramble(net, seed: seed + 100)
    return net
}

private func randomInput<T: TensorScalar>(_ shape: [Int], seed: UInt64, scale: Double = 1) -> Tensor<T> {
    var g = SeededGenerator(seed: seed)
    return .randomUniform(shape: shape, low: -scale, high: scale, generator: &g)
}

/// Replaces entry i of a variable's value (the tensor's storage is not writable from here).
private func setEntry(_ v: Variable<Double>, _ i: Int, _ x: Double) throws {
    var s = v.value.scalars
    s[i] = x
    v.value = try Tensor(shape: v.shape, scalars: s)
}

private func doubles<T: TensorScalar>(_ t: Tensor<T>) -> [Double] { t.scalars.map { Double($0) } }

/// max|a − b| / max|b|.
private func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    maxAbsDifference(a, b) / max(1e-300, b.reduce(0) { max($0, abs($1)) })
}

/// The explicit pass against the tape's gradient of Σ_b ψ(y_b) with respect to y.
private func proxVersusAutodiff<T: TensorScalar>(_ net: LearnedProximalNetwork<T>, _ shape: [Int], seed: UInt64) throws -> Double {
    let y = Variable<T>(randomInput(shape, seed: seed), requiresGradient: true)
    try net.potential(y).sum().backward()
    let auto = try #require(y.grad)
    let explicit = try net.prox(y)
    #expect(explicit.shape == shape)
    return relativeDifference(doubles(explicit.value), doubles(auto))
}

private func learningErrorKind(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch let e as LearningError {
        switch e {
        case .shapeMismatch: return "shapeMismatch"
        case .invalidArgument: return "invalidArgument"
        default: return "other"
        }
    } catch { return "foreign" }
}

@Suite struct LPNTests {
    // (a) The explicit gradient pass is ∇ψ.
    @Test func explicitProxPassEqualsAutodiffGradientOfPotential() throws {
        let denseD = try proxVersusAutodiff(try smallDense(Double.self), [4, 5], seed: 11)
        let convD = try proxVersusAutodiff(try smallConv(Double.self), [3, 2, 8, 8], seed: 12)
        let denseF = try proxVersusAutodiff(try smallDense(Float.self), [4, 5], seed: 11)
        let convF = try proxVersusAutodiff(try smallConv(Float.self), [3, 2, 8, 8], seed: 12)
        // β = 1 and a wider layout (3 layers: strides 2, 1, 2; 5 layers need 8 | H, W).
        var g = SeededGenerator(seed: 7)
        let deep = try LearnedProximalNetwork<Double>(kind: .convolutional(channels: 1, height: 8, width: 16, denseFeatures: 5), hidden: 3,
                                                      layers: 5, beta: 1, alpha: 0, generator: &g)
        scramble(deep, seed: 8)
        let deepD = try proxVersusAutodiff(deep, [2, 1, 8, 16], seed: 13)
        // Fully convolutional, on two image sizes (the same network).
        let fully = try smallFullyConv(Double.self)
        let fullyD = max(try proxVersusAutodiff(fully, [2, 2, 6, 9], seed: 14), try proxVersusAutodiff(fully, [1, 2, 11, 4], seed: 15))
        print("LPN prox vs autodiff (relative): dense Double \(denseD), conv Double \(convD), conv L=5 Double \(deepD), fully conv Double \(fullyD), dense Float \(denseF), conv Float \(convF)")
        #expect(denseD < 1e-12 && convD < 1e-12 && deepD < 1e-12 && fullyD < 1e-12)
        #expect(denseF < 1e-5 && convF < 1e-5)
    }

    @Test func resizeIsPyTorchBilinearAndTransposeIsItsAdjoint() throws {
        let net = try smallConv(Double.self)
        let y = Variable<Double>(randomInput([2, 2, 8, 8], seed: 3))
        for f in [2, 4] {
            let ours = try net.resize(y, factor: f)
            let bilinear = try y.upsampled(to: [8 / f, 8 / f], mode: .linear)  // align_corners=False resampling
            #expect(maxAbsDifference(doubles(ours.value), doubles(bilinear.value)) < 1e-14)
            let c = Variable<Double>(randomInput([2, 2, 8 / f, 8 / f], seed: 4))
            let lhs = try ours.value.dot(c.value), rhs = try y.value.dot(try net.resizeAdjoint(c, factor: f).value)
            #expect(abs(lhs - rhs) < 1e-12 * max(1, abs(lhs)))
        }
    }

    // (b) Convexity along lines (strong, with modulus α) and monotonicity of f.
    @Test func potentialIsConvexAndProxIsMonotone() throws {
        for (net, shape) in [(try smallDense(Double.self), [5]), (try smallConv(Double.self), [2, 8, 8]), (try smallFullyConv(Double.self), [2, 7, 5])] {
            let m = 24
            let y = (randomInput([m] + shape, seed: 21) as Tensor<Double>)
            let d = (randomInput([m] + shape, seed: 22) as Tensor<Double>)
            var worst = Double.infinity
            for t in [0.05, 0.3, 1.0] {
                let plus = try Variable(y + d.map(.scale(t))), minus = try Variable(y - d.map(.scale(t)))
                let p0 = try net.potential(Variable(y)).value, pp = try net.potential(plus).value, pm = try net.potential(minus).value
                let perSample = d.count / m
                for b in 0..<m {
                    let dd = d.scalars[(b * perSample)..<((b + 1) * perSample)].reduce(0) { $0 + $1 * $1 }
                    let second = pp.scalars[b] - 2 * p0.scalars[b] + pm.scalars[b]
                    // ψ − (α/2)‖·‖² is convex: the second difference is at least α t²‖d‖².
                    worst = min(worst, (second - net.alpha * t * t * dd) / (t * t * dd))
                }
            }
            #expect(worst > -1e-9, "worst normalized second difference \(worst)")
            // ⟨f(a) − f(b), a − b⟩ ≥ α‖a − b‖².
            let a = (randomInput([m] + shape, seed: 23) as Tensor<Double>), b = (randomInput([m] + shape, seed: 24, scale: 2) as Tensor<Double>)
            let fa = try net.prox(Variable(a)).value, fb = try net.prox(Variable(b)).value
            let df = try fa - fb, dx = try a - b
            let n = dx.count / m
            var ratio = Double.infinity
            for s in 0..<m {
                var ip = 0.0, nn = 0.0
                for i in (s * n)..<((s + 1) * n) { ip += df.scalars[i] * dx.scalars[i]; nn += dx.scalars[i] * dx.scalars[i] }
                ratio = min(ratio, ip / nn)
            }
            print("LPN convexity: worst (Δ²ψ − αt²‖d‖²)/(t²‖d‖²) = \(worst); min ⟨Δf, Δy⟩/‖Δy‖² = \(ratio) (α = \(net.alpha))")
            #expect(ratio >= net.alpha - 1e-12)
        }
        // Control: with negative output weights the potential is not convex, and the test sees it.
        let bad = try smallDense(Double.self, alpha: 0)
        bad.lin[bad.lin.count - 1].weight.value = bad.lin[bad.lin.count - 1].weight.value.map(.abs).map(.negate)
        let y = (randomInput([24, 5], seed: 25) as Tensor<Double>), d = (randomInput([24, 5], seed: 26) as Tensor<Double>)
        let second = try (try bad.potential(Variable(y + d)).value + bad.potential(Variable(y - d)).value) - bad.potential(Variable(y)).value.map(.scale(2))
        #expect(second.scalars.min()! < -1e-3)
    }

    // (c) The tape differentiates through the explicit pass.
    @Test func parameterGradientsOfAProxLossMatchFiniteDifferences() throws {
        for (net, shape) in [(try smallDense(Double.self, beta: 3), [3, 5]), (try smallConv(Double.self, beta: 3), [2, 2, 8, 8]),
                             (try smallFullyConv(Double.self, beta: 3), [2, 2, 5, 6])] {
            let y = Variable<Double>(randomInput(shape, seed: 31), requiresGradient: true)
            let r = (randomInput(shape, seed: 32) as Tensor<Double>)
            func loss() throws -> Double { try net.prox(y).value.dot(r) }
            net.zeroGradients(Double.self)
            try net.prox(y).backward(seed: r)
            var worst = 0.0, checked = 0
            var g = SeededGenerator(seed: 33)
            let params = net.namedParameters(Double.self)
            let chosen = params.filter { ["lin.0.weight", "lin.1.weight", "lin.3.weight", "res.0.weight", "res.0.bias", "res.2.weight"].contains($0.name) }
            #expect(chosen.count == 6)
            for (name, v) in chosen + [(name: "y", variable: y)] {
                let grad = try #require(v.grad, "no gradient for \(name)")
                for _ in 0..<5 {
                    let i = Int(g.next() % UInt64(v.value.count))
                    let saved = v.value.scalars[i], h = 1e-6
                    try setEntry(v, i, saved + h)
                    let lp = try loss()
                    try setEntry(v, i, saved - h)
                    let lm = try loss()
                    try setEntry(v, i, saved)
                    let fd = (lp - lm) / (2 * h)
                    worst = max(worst, abs(grad.scalars[i] - fd) / max(1, abs(fd)))
                    checked += 1
                }
            }
            print("LPN parameter gradients through prox (\(net.kind)): worst relative error \(worst) over \(checked) entries")
            #expect(worst < 1e-6)
        }
    }

    // Coarse input paths (scales): still an exact convex prox, trained through, saved with the
    // architecture, and with zeroed paths the network without them.
    @Test func coarseScalesKeepTheNetworkAnExactConvexProx() throws {
        func grown(_ scales: [Int]) throws -> LearnedProximalNetwork<Double> {
            var g = SeededGenerator(seed: 41)
            let net = try LearnedProximalNetwork<Double>(kind: .fullyConvolutional(channels: 2), hidden: 3, layers: 2, beta: 3, alpha: 0.05,
                                                         scales: scales, generator: &g)
            scramble(net, seed: 42)
            return net
        }
        let net = try grown([2, 4])
        #expect(net.scales == [2, 4] && net.coarse.count == 4)
        #expect(net.namedParameters(Double.self).map(\.name).filter { $0.hasPrefix("coarse.") } == ["coarse.0.weight", "coarse.1.weight", "coarse.2.weight", "coarse.3.weight"])
        let explicit = try proxVersusAutodiff(net, [2, 2, 8, 12], seed: 43)
        #expect(explicit < 1e-12, "explicit pass vs autodiff: \(explicit)")
        // Convexity along lines and strong monotonicity with modulus α.
        let m = 12, shape = [m, 2, 8, 4]
        let y = (randomInput(shape, seed: 44) as Tensor<Double>), d = (randomInput(shape, seed: 45) as Tensor<Double>)
        let second = try (try net.potential(Variable(y + d)).value + net.potential(Variable(y - d)).value) - net.potential(Variable(y)).value.map(.scale(2))
        let per = d.count / m
        for b in 0..<m {
            let dd = d.scalars[(b * per)..<((b + 1) * per)].reduce(0) { $0 + $1 * $1 }
            #expect(second.scalars[b] >= net.alpha * dd - 1e-9, "sample \(b): \(second.scalars[b]) < α‖d‖² = \(net.alpha * dd)")
        }
        let df = try net.prox(Variable(y + d)).value - net.prox(Variable(y)).value
        let (inner, squared) = (try df.dot(d), try d.dot(d))
        #expect(inner >= net.alpha * squared - 1e-9)
        // The coarse weights get the tape's gradients through the explicit pass.
        let yv = Variable<Double>(randomInput([2, 2, 8, 4], seed: 46), requiresGradient: true)
        let r = (randomInput([2, 2, 8, 4], seed: 47) as Tensor<Double>)
        net.zeroGradients(Double.self)
        try net.prox(yv).backward(seed: r)
        var worst = 0.0
        for (name, v) in net.namedParameters(Double.self) where name.hasPrefix("coarse.") {
            let grad = try #require(v.grad, "no gradient for \(name)")
            for i in [0, v.value.count / 2, v.value.count - 1] {
                let saved = v.value.scalars[i], h = 1e-6
                try setEntry(v, i, saved + h)
                let lp = try net.prox(yv).value.dot(r)
                try setEntry(v, i, saved - h)
                let lm = try net.prox(yv).value.dot(r)
                try setEntry(v, i, saved)
                worst = max(worst, abs(grad.scalars[i] - (lp - lm) / (2 * h)) / max(1, abs((lp - lm) / (2 * h))))
            }
        }
        #expect(worst < 1e-6, "coarse weight gradients: worst relative error \(worst)")
        // Saved and reloaded with its scales.
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try net.save(to: folder + "/m.safetensors")
        #expect(net.architectureMetadata["lpn.scales"] == "2,4")
        let back = try LearnedProximalNetwork<Double>.load(from: folder + "/m.safetensors")
        let (reloaded, original) = (try back.prox(Variable(y)).value.scalars, try net.prox(Variable(y)).value.scalars)
        #expect(back.scales == [2, 4] && reloaded == original)
        // Zeroed coarse paths: the network without scales (the coarse weights are drawn last).
        let plain = try grown([])
        #expect(plain.architectureMetadata["lpn.scales"] == nil)
        net.zeroCoarsePaths()
        #expect(maxAbsDifference(doubles(try net.prox(Variable(y)).value), doubles(try plain.prox(Variable(y)).value)) <= 1e-14)
        // Bad scales and inputs.
        var g = SeededGenerator(seed: 1)
        #expect(learningErrorKind { try LearnedProximalNetwork<Double>(kind: .fullyConnected(dimension: 4), hidden: 2, layers: 1, beta: 1, alpha: 0,
                                                                      scales: [2], generator: &g) } == "invalidArgument")
        for bad in [[1], [4, 2], [2, 2], [512]] {
            #expect(learningErrorKind { try LearnedProximalNetwork<Double>(kind: .fullyConvolutional(channels: 1), hidden: 2, layers: 1, beta: 1,
                                                                          alpha: 0, scales: bad, generator: &g) } == "invalidArgument", "\(bad)")
        }
        #expect(learningErrorKind { try net.prox(Variable(randomInput([1, 2, 6, 8], seed: 48) as Tensor<Double>)) } == "shapeMismatch")
    }

    // The fully convolutional network: f commutes with shifts away from the borders, ψ is
    // additive over far-apart supports, and its parameters are named and shaped as documented.
    @Test func fullyConvolutionalProxIsShiftEquivariantInTheInterior() throws {
        let net = try smallFullyConv(Double.self)
        let (h, w, dy, dx) = (20, 18, 3, 2)
        let y: Tensor<Double> = randomInput([1, 2, h, w], seed: 61)
        // y shifted by (dy, dx) (wrapped; only interior pixels are compared).
        var shifted = [Double](repeating: 0, count: y.count)
        for c in 0..<2 { for r in 0..<h { for q in 0..<w {
            shifted[(c * h + (r + dy) % h) * w + (q + dx) % w] = y.scalars[(c * h + r) * w + q]
        } } }
        let f = try net.prox(Variable(y)).value.scalars
        let fs = try net.prox(Variable(try Tensor(shape: [1, 2, h, w], scalars: shifted))).value.scalars
        // The receptive field of f reaches 2L + 2 = 6 pixels; pixels at least 6 + shift from
        // every border (and from the wrap seam) see the same neighbourhood.
        var worst = 0.0, compared = 0
        for c in 0..<2 { for r in 6..<(h - 6 - dy) { for q in 6..<(w - 6 - dx) {
            worst = max(worst, abs(fs[(c * h + r + dy) * w + q + dx] - f[(c * h + r) * w + q]))
            compared += 1
        } } }
        #expect(compared > 0 && worst < 1e-13, "worst interior difference \(worst) over \(compared) pixels")
        // Near the border, zero padding makes a difference (the test can fail).
        #expect(abs(fs[0] - f[0]) > 1e-6 || abs(fs[(h - 1) * w] - f[(h - 1) * w]) > 1e-6)
        let shapes = Dictionary(uniqueKeysWithValues: net.namedParameters(Double.self).map { ($0.name, $0.variable.shape) })
        #expect(shapes == [
            "lin.0.weight": [3, 2, 3, 3], "lin.1.weight": [3, 3, 3, 3], "lin.2.weight": [3, 3, 3, 3], "lin.3.weight": [1, 3, 1, 1],
            "res.0.weight": [3, 2, 3, 3], "res.0.bias": [3], "res.1.weight": [3, 2, 3, 3], "res.1.bias": [3],
            "res.2.weight": [1, 2, 1, 1], "res.2.bias": [1],
        ])
        #expect(net.hiddenWeightNames == ["lin.1.weight", "lin.2.weight", "lin.3.weight"])
        #expect(learningErrorKind { try net.prox(Variable(Tensor<Double>(zeros: [1, 3, 4, 4]))) } == "shapeMismatch")
    }

    // (d) The constraint clamps the hidden-to-hidden weights and nothing else.
    @Test func constraintClampsExactlyTheHiddenWeights() throws {
        var g = SeededGenerator(seed: 41)
        let dense = try LearnedProximalNetwork<Float>(kind: .fullyConnected(dimension: 3), hidden: 4, layers: 2, beta: 10, alpha: 0.01, generator: &g)
        #expect(dense.namedParameters(Float.self).map(\.name) == [
            "lin.0.weight", "lin.1.weight", "lin.2.weight", "lin.3.weight",
            "res.0.weight", "res.0.bias", "res.1.weight", "res.1.bias", "res.2.weight", "res.2.bias",
        ])
        #expect(dense.hiddenWeightNames == ["lin.1.weight", "lin.2.weight", "lin.3.weight"])
        // The MNIST model of the reference: names and shapes of its state dict.
        let mnist = try LearnedProximalNetwork<Float>(kind: .convolutional(channels: 1, height: 28, width: 28), hidden: 64, layers: 3,
                                                      beta: 10, alpha: 0.02, generator: &g)
        let shapes = Dictionary(uniqueKeysWithValues: mnist.namedParameters(Float.self).map { ($0.name, $0.variable.shape) })
        #expect(shapes == [
            "lin.0.weight": [64, 1, 3, 3], "lin.1.weight": [64, 64, 3, 3], "lin.2.weight": [64, 64, 3, 3], "lin.3.weight": [64, 64, 3, 3],
            "lin.4.weight": [64, 64 * 49], "lin.5.weight": [1, 64],
            "res.0.weight": [64, 1, 3, 3], "res.0.bias": [64], "res.1.weight": [64, 1, 3, 3], "res.1.bias": [64],
            "res.2.weight": [64, 1, 3, 3], "res.2.bias": [64], "res.3.weight": [64, 49], "res.3.bias": [64],
        ])
        #expect(mnist.hiddenWeightNames == (1...5).map { "lin.\($0).weight" })
        // The reference's initialization: hidden weights exp(N(−10, 0.1)).
        for name in mnist.hiddenWeightNames {
            let w = try #require(mnist.namedParameters(Float.self).first { $0.name == name }).variable.value
            #expect(w.scalars.allSatisfy { $0 > Float(Foundation.exp(-10.7)) && $0 < Float(Foundation.exp(-9.3)) })
        }

        // The Laplace toy's initialization: PyTorch's U(−1/√fanIn, 1/√fanIn) clipped at 0, so the
        // hidden path starts with weight (about half of the entries positive, none negative).
        var g2 = SeededGenerator(seed: 41)
        let toy = try LearnedProximalNetwork<Float>(kind: .fullyConnected(dimension: 1), hidden: 50, layers: 4, beta: 10, alpha: 0,
                                                    hiddenInitialization: .uniformClipped, generator: &g2)
        for name in toy.hiddenWeightNames {
            let w = try #require(toy.namedParameters(Float.self).first { $0.name == name }).variable.value.scalars
            let bound = Float(1 / Foundation.sqrt(50.0))  // every hidden map here has fan-in 50
            let positive = w.filter { $0 > 0 }.count
            #expect(w.allSatisfy { $0 >= 0 && $0 <= bound }, "\(name)")
            #expect(positive > w.count / 3 && positive < 2 * w.count / 3, "\(name): \(positive) of \(w.count) positive")
        }
        #expect(learningErrorKind {
            try LearnedProximalNetwork<Float>(kind: .fullyConnected(dimension: 1), hidden: 4, layers: 1, beta: 10, alpha: 0,
                                              hiddenInitialization: .expNormal(mean: .nan, standardDeviation: 0.1), generator: &g2)
        } == "invalidArgument")

        for net in [dense, mnist] {
            let params = net.namedParameters(Float.self)
            for (_, v) in params { v.value = Tensor(repeating: -0.5, shape: v.shape) }
            let optimizer = try Adam(params, learningRate: 1e-3)
            optimizer.constraint = LearnedProximalNetwork<Float>.nonnegativeConstraint()
            try optimizer.step()  // no gradients: only the constraint acts
            var clamped: [String] = []
            for (name, v) in params {
                if v.value.scalars.allSatisfy({ $0 == 0 }) { clamped.append(name) } else {
                    #expect(v.value.scalars.allSatisfy { $0 == -0.5 }, "\(name) changed")
                }
            }
            #expect(clamped == net.hiddenWeightNames)
        }
        #expect(LearnedProximalNetwork<Float>.isHiddenWeight("prior.lin.2.weight", prefix: "prior."))
        for name in ["lin.0.weight", "lin.1.bias", "res.1.weight", "lin.01.weight", "xlin.1.weight", "lin.1.weight.x", "prior.lin.2.weight"] {
            #expect(!LearnedProximalNetwork<Float>.isHiddenWeight(name), "\(name)")
        }
    }

    // (e) The losses.
    @Test func matchingLossAgainstHandComputationAndFiniteDifferences() throws {
        let out = Variable<Double>(try Tensor(shape: [2, 2], scalars: [1, 2, 0, 0]), requiresGradient: true)
        let target = Variable<Double>(try Tensor(shape: [2, 2], scalars: [0, 0, 0, 1]))
        let gamma = 2.0
        let loss = try ProximalMatchingLoss.matching(out, target, gamma: gamma)
        let want = ((1 - exp(-5.0 / 4)) + (1 - exp(-1.0 / 4))) / 2
        #expect(abs(loss.value.scalars[0] - want) < 1e-15)
        try loss.backward()
        // ∂/∂o = e^{−‖o−x‖²/γ²}·2(o − x)/(γ²·B).
        let w0 = exp(-5.0 / 4), w1 = exp(-1.0 / 4)
        let analytic = [w0 * 2 * 1 / 8, w0 * 2 * 2 / 8, 0, w1 * 2 * -1 / 8]
        let grad = try #require(out.grad)
        #expect(maxAbsDifference(grad.scalars, analytic) < 1e-15)
        // Finite differences at a random point of a [3, 2, 4, 4] batch.
        let o = Variable<Double>(randomInput([3, 2, 4, 4], seed: 51), requiresGradient: true)
        let x = Variable<Double>(randomInput([3, 2, 4, 4], seed: 52))
        try ProximalMatchingLoss.matching(o, x, gamma: 3).backward()
        let go = try #require(o.grad)
        var worst = 0.0
        for i in stride(from: 0, to: o.value.count, by: 7) {
            let saved = o.value.scalars[i], h = 1e-6
            try setEntry(o, i, saved + h)
            let lp = try ProximalMatchingLoss.matching(o, x, gamma: 3).value.scalars[0]
            try setEntry(o, i, saved - h)
            let lm = try ProximalMatchingLoss.matching(o, x, gamma: 3).value.scalars[0]
            try setEntry(o, i, saved)
            worst = max(worst, abs(go.scalars[i] - (lp - lm) / (2 * h)))
        }
        print("LPN matching loss: FD gradient max abs error \(worst)")
        #expect(worst < 1e-9)
        // Warm-start losses: means over all entries.
        #expect(abs(try ProximalMatchingLoss.l1(out, target).value.scalars[0] - 4.0 / 4) < 1e-15)
        #expect(abs(try ProximalMatchingLoss.l2(out, target).value.scalars[0] - 6.0 / 4) < 1e-15)
        #expect(try ProximalMatchingLoss.squaredDistances(out, target).value.scalars == [5, 1])

        // The reference's schedule on MNIST (d = 784): σ_min = 2.24, γ = 17.92 … 2.24.
        let s = try ProximalMatchingSchedule(dimension: 784)
        #expect(abs(s.sigmaMin - 2.24) < 1e-12)
        #expect(s.phase(atStep: 0) == .l1 && s.phase(atStep: 19_999) == .l1)
        #expect(s.phase(atStep: 20_000) == .matching(gamma: 8 * s.sigmaMin, stage: 0))
        #expect(s.phase(atStep: 25_000) == .matching(gamma: 4 * s.sigmaMin, stage: 1))
        #expect(s.phase(atStep: 34_999) == .matching(gamma: 2 * s.sigmaMin, stage: 2))
        #expect(s.phase(atStep: 39_999) == .matching(gamma: s.sigmaMin, stage: 3))
        #expect(s.phase(atStep: 90_000) == .matching(gamma: s.sigmaMin, stage: 3))
        #expect(s.learningRate(atStep: 19_999) == 1e-3 && s.learningRate(atStep: 20_000) == 1e-4 && s.learningRate(atStep: 90_000) == 1e-4)
        // Explicit stages (the Laplace toy's): γ and learning rate per stage.
        let toy = try ProximalMatchingSchedule(pretrainSteps: 10, matchingSteps: 50, gammas: [0.5, 0.4, 0.3, 0.2, 0.1],
                                               pretrainLearningRate: 1e-3, stageLearningRates: [1e-3, 1e-4, 1e-4, 1e-5, 1e-5])
        #expect(toy.stages == 5 && toy.sigmaMin == 0.1 && toy.phase(atStep: 9) == .l1)
        #expect(toy.phase(atStep: 10) == .matching(gamma: 0.5, stage: 0) && toy.phase(atStep: 29) == .matching(gamma: 0.4, stage: 1))
        #expect(toy.phase(atStep: 59) == .matching(gamma: 0.1, stage: 4) && toy.phase(atStep: 500) == .matching(gamma: 0.1, stage: 4))
        #expect(toy.learningRate(atStep: 9) == 1e-3 && toy.learningRate(atStep: 20) == 1e-4 && toy.learningRate(atStep: 45) == 1e-5)
        #expect(s.learningRate(atStep: 10) == 1e-3 && s.learningRate(atStep: 20_000) == 1e-4)
        // A warm start in parts (the Laplace toy's 10 000 steps at 1e-3, then 10 000 at 1e-4); the
        // last part takes the remainder of an uneven split.
        let parts = try ProximalMatchingSchedule(pretrainSteps: 7, matchingSteps: 4, gammas: [0.5], pretrainLearningRates: [1e-3, 1e-4, 1e-5],
                                                 stageLearningRates: [2e-4])
        #expect((0..<12).map { parts.learningRate(atStep: $0) } == [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5, 1e-5, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4])
        #expect(parts.pretrainLearningRate == 1e-3 && parts.phase(atStep: 6) == .l1)
        #expect(abs(s.gamma(stage: 0) - 17.92) < 1e-12)
    }

    /// Screened proximal matching: the full batch's loss, and its gradient up to the dropped
    /// pairs' terms (below 1e-14 at margin 6); the kept pairs are those within margin·γ.
    @Test func screenedMatchingIsTheFullBatchLossAndGradient() throws {
        let net = try smallDense(Double.self)
        let b = 40, gamma = 0.5
        let y: Tensor<Double> = randomInput([b, 5], seed: 71)
        let fy = try net.prox(Variable(y)).value
        // Targets at distances from 0 to 4γ of f(y): some pairs kept, some dropped.
        var g = SeededGenerator(seed: 72)
        var xs = fy.scalars
        var distances: [Double] = []
        for s in 0..<b {
            let dir = (0..<5).map { _ in g.normal() }, norm = dir.map { $0 * $0 }.reduce(0, +).squareRoot()
            let r = 4 * gamma * Double(s) / Double(b - 1)
            for k in 0..<5 { xs[s * 5 + k] += r * dir[k] / norm }
            distances.append(r)
        }
        let x = try Tensor(shape: [b, 5], scalars: xs)
        func gradients(_ body: () throws -> Variable<Double>?) throws -> (value: Double?, grads: [[Double]]) {
            for p in net.namedParameters(Double.self) { p.variable.zeroGradient() }
            let loss = try body()
            try loss?.backward()
            return (loss?.value.scalars[0], net.namedParameters(Double.self).map { $0.variable.grad?.scalars ?? [] })
        }
        let full = try gradients { try ProximalMatchingLoss.matching(try net.prox(Variable(y)), Variable(x), gamma: gamma) }
        var screened: (loss: Variable<Double>?, value: Double, kept: Int)!
        let part = try gradients {
            screened = try ProximalMatchingLoss.screenedMatching(prox: net.prox, noisy: y, clean: x, gamma: gamma, margin: 3)
            return screened.loss
        }
        // Margin 3: pairs at r < 1.5 kept (30 of 40); the value is the full loss to rounding.
        #expect(screened.kept == distances.filter { $0 < 3 * gamma - 1e-9 }.count && screened.kept == 30, "\(screened.kept)")
        #expect(abs(screened.value - full.value!) < 1e-14 && abs(part.value! - full.value!) < 1e-14)
        // Margin 6 keeps every pair here; the gradients agree to rounding. At margin 3 they differ
        // by the dropped pairs' terms, each below 2·3·e^{−9}/γ per unit of ∂f.
        let all = try gradients { try ProximalMatchingLoss.screenedMatching(prox: net.prox, noisy: y, clean: x, gamma: gamma, margin: 6).loss }
        let scale = full.grads.flatMap { $0 }.map(abs).max()!
        #expect(zip(all.grads, full.grads).allSatisfy { maxAbsDifference($0, $1) <= 1e-13 * scale })
        let gap = zip(part.grads, full.grads).map { maxAbsDifference($0, $1) }.max()!
        #expect(gap > 0 && gap < 1e-2 * scale, "\(gap) of \(scale)")
        // Nothing within the margin: no graph, and still the full batch's loss.
        let far = try Tensor(shape: [b, 5], scalars: fy.scalars.map { $0 + 10 })
        let none = try ProximalMatchingLoss.screenedMatching(prox: net.prox, noisy: y, clean: far, gamma: gamma, margin: 4)
        let farLoss = try ProximalMatchingLoss.matching(Variable(fy), Variable(far), gamma: gamma).value.scalars[0]
        #expect(none.loss == nil && none.kept == 0 && abs(none.value - farLoss) < 1e-15)
        // Bad inputs.
        for (gm, margin) in [(0.0, 4.0), (gamma, 0), (gamma, .nan), (.infinity, 4)] {
            #expect(throws: LearningError.self) { _ = try ProximalMatchingLoss.screenedMatching(prox: net.prox, noisy: y, clean: x, gamma: gm, margin: margin) }
        }
        let short = try Tensor(shape: [b - 1, 5], scalars: Array(xs.prefix((b - 1) * 5)))
        #expect(throws: LearningError.self) { _ = try ProximalMatchingLoss.screenedMatching(prox: net.prox, noisy: y, clean: short, gamma: gamma, margin: 4) }
    }

    // (f) A short training run: a 2-D prior on {−1, 1}², noise 0.3.
    /// The loss's own minimizer on the Laplace toy: odd in y, y − 1 far out, soft-thresholding
    /// as γ → 0, and its largest bias at y = 1 as computed independently (scipy's adaptive
    /// quadrature split at the kink, maximized by Brent's method to 1e-12): 0.1110037 at
    /// γ = 0.1, 0.0648870 at 0.05, 0.0305377 at 0.02.
    @Test func laplaceMinimizerOfTheMatchingLossTendsToSoftThresholding() throws {
        let m = ProximalMatchingLoss.laplaceMinimizer
        #expect(abs(try m(0, 0.1, 1, 1)) < 1e-6)
        for y in [0.4, 1.3, 2.2] {
            #expect(abs(try m(y, 0.05, 1, 1) + (try m(-y, 0.05, 1, 1))) < 1e-6)
        }
        #expect(abs(try m(4, 0.1, 1, 1) - 3) < 2e-3)
        for (gamma, bias) in [(0.1, 0.1110037), (0.05, 0.0648870), (0.02, 0.0305377)] {
            let e = try m(1, gamma, 1, 1)
            #expect(abs(e - bias) < 2e-7, "γ \(gamma): f(1) = \(e)")
        }
        #expect(abs(try m(0.5, 0.02, 1, 1) - 0.0092920) < 2e-7)
        // Inside the dead zone the cusp of the posterior at 0 is asymmetric, so smoothing moves
        // the minimizer off 0 towards the flatter side by a fraction of γ; scale and noise enter as σ²/b.
        let inside = try m(0.5, 0.02, 1, 1)
        #expect(inside > 0 && inside < 0.02, "f(0.5) = \(inside)")
        #expect(abs(try m(5, 0.01, 2, 1) - 4.5) < 5e-3)
        #expect(throws: LearningError.self) { _ = try m(1, 0, 1, 1) }
        #expect(throws: LearningError.self) { _ = try m(.nan, 0.1, 1, 1) }
        #expect(throws: LearningError.self) { _ = try m(1, 0.1, -1, 1) }
    }

    /// The expected matching loss of the Laplace toy on a window: the marginal against its
    /// closed form, a Monte Carlo estimate, and the minimizer's values as its least point.
    @Test func laplaceExpectedLossAgreesWithClosedFormAndSampling() throws {
        let grid = (0...120).map { -3 + Double($0) / 20 }
        let L = ProximalMatchingLoss.laplaceExpectedLoss
        // Outputs far from every x: the loss is 1 for each y, so the value is P(y in [−3, 3]) by
        // the same trapezoid rule, with p(y) = e^{1/2}/4·[e^{−y} erfc((1 − y)/√2) + e^{y} erfc((1 + y)/√2)].
        func marginal(_ y: Double) -> Double { exp(0.5) / 4 * (exp(-y) * erfc((1 - y) / 2.0.squareRoot()) + exp(y) * erfc((1 + y) / 2.0.squareRoot())) }
        let h = 1.0 / 20
        let mass = grid.indices.map { (($0 == 0 || $0 == grid.count - 1) ? h / 2 : h) * marginal(grid[$0]) }.reduce(0, +)
        let far = try L(grid.map { $0 + 100 }, grid, 0.3, 1, 1)
        #expect(abs(far - mass) < 1e-7, "\(far) vs \(mass)")
        // Soft-thresholding at γ = 0.5 against 400 000 sampled pairs (4 standard errors).
        let soft = grid.map { $0 > 1 ? $0 - 1 : ($0 < -1 ? $0 + 1 : 0) }
        let exact = try L(soft, grid, 0.5, 1, 1)
        var g = SeededGenerator(seed: 81)
        var (sum, sumSquares) = (0.0, 0.0)
        let n = 400_000
        for _ in 0..<n {
            let x = -log(1 - g.uniform()) + log(1 - g.uniform()), y = x + g.normal()
            guard abs(y) <= 3 else { continue }
            let c = y > 1 ? y - 1 : (y < -1 ? y + 1 : 0), l = 1 - exp(-(c - x) * (c - x) / 0.25)
            sum += l
            sumSquares += l * l
        }
        let mean = sum / Double(n), se = ((sumSquares / Double(n) - mean * mean) / Double(n)).squareRoot()
        #expect(abs(exact - mean) < 4 * se + 2e-4, "quadrature \(exact), sampled \(mean) ± \(se)")
        // The minimizer's values are the least loss: moving them either way costs.
        let gamma = 0.1
        let best = try grid.map { try ProximalMatchingLoss.laplaceMinimizer(y: $0, gamma: gamma) }
        let least = try L(best, grid, gamma, 1, 1)
        for shift in [-0.02, 0.02] {
            #expect(try L(best.map { $0 + shift }, grid, gamma, 1, 1) > least)
            #expect(try L(zip(best, grid).map { abs($1 - 1.2) < 0.3 ? $0 + shift : $0 }, grid, gamma, 1, 1) > least)
        }
        #expect(try L(soft, grid, gamma, 1, 1) > least)
        // Bad inputs.
        #expect(throws: LearningError.self) { _ = try L(soft, grid, 0, 1, 1) }
        #expect(throws: LearningError.self) { _ = try L(soft, grid, 0.1, .nan, 1) }
        #expect(throws: LearningError.self) { _ = try L(Array(soft.dropLast()), grid, 0.1, 1, 1) }
        #expect(throws: LearningError.self) { _ = try L([0], [0], 0.1, 1, 1) }
        #expect(throws: LearningError.self) { _ = try L([0, 0], [1, 0], 0.1, 1, 1) }
    }

    /// The Laplace toy's closed-form expectations (`LaplaceToyExpectation`): the marginal,
    /// E[exp(−(c − x)²/γ²) | y] and E|c − x| against direct integration over x (Simpson's rule
    /// split at the kink), every derivative against central differences, and the normalized
    /// weights against `laplaceExpectedLoss`'s trapezoid sum.
    @Test func laplaceToyExpectationIsExactInClosedForm() throws {
        for (b, sigma) in [(1.0, 1.0), (2.0, 0.7)] {
            let e = try LaplaceToyExpectation(points: 121, span: 3, scale: b, noise: sigma)
            #expect(abs(e.weights.reduce(0, +) - 1) < 1e-12 && e.grid.first == -3 && e.grid.last == 3)
            // Σ w_i·ℓ_i times the window's mass is laplaceExpectedLoss's trapezoid sum.
            for gamma in [0.3, 0.05] {
                let values = e.grid.map { 0.8 * $0 + 0.1 * sin(3 * $0) }
                let closed = try e.expectedLoss(values: values, phase: .matching(gamma: gamma, stage: 0)).value * e.windowMass
                let quadrature = try ProximalMatchingLoss.laplaceExpectedLoss(values: values, on: e.grid, gamma: gamma, scale: b, noise: sigma)
                #expect(abs(closed - quadrature) < 1e-12 * quadrature, "b \(b) σ \(sigma) γ \(gamma): \(closed) vs \(quadrature)")
            }
            // Direct integration over x on a fine grid (steps of 1e-4 σ, split at the kink).
            for y in [-4.0, -0.6, 0.0, 0.3, 1.2, 5.0] {
                let post = LaplacePosterior(y: y, scale: b, noise: sigma)
                func integrate(_ f: (Double) -> Double) -> Double {
                    var s = 0.0
                    for (lo, hi) in [(min(0, y) - 14 * sigma, 0.0), (0.0, max(0, y) + 14 * sigma)] {
                        let n = 2 * Int((hi - lo) / (2e-4 * sigma)), h = (hi - lo) / Double(n)
                        for i in 0...n { s += (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2)) * f(lo + Double(i) * h) * h / 3 }
                    }
                    return s
                }
                let joint = { (x: Double) in exp(-abs(x) / b - (x - y) * (x - y) / (2 * sigma * sigma)) / (2 * b * (2 * Double.pi).squareRoot() * sigma) }
                let p = integrate(joint)
                #expect(abs(post.marginal - p) < 1e-10 * p, "p(\(y)) = \(post.marginal) vs \(p)")
                for c in [-1.5, 0.0, 0.2, y - 0.3] {
                    let direct = integrate { abs(c - $0) * joint($0) } / p
                    let (value, slope) = e.absoluteDeviation(at: c, y: y)
                    #expect(abs(value - direct) < 1e-9, "E|\(c) − x| at y \(y): \(value) vs \(direct)")
                    let below = integrate { $0 < c ? joint($0) : 0 } / p
                    #expect(abs(slope - (2 * below - 1)) < 1e-4, "slope at y \(y), c \(c)")
                    let h = 1e-5
                    let fd = (e.absoluteDeviation(at: c + h, y: y).value - e.absoluteDeviation(at: c - h, y: y).value) / (2 * h)
                    #expect(abs(slope - fd) < 1e-6, "ℓ¹ slope \(slope) vs \(fd)")
                    for gamma in [0.5, 0.02] {
                        let direct = integrate { exp(-(c - $0) * (c - $0) / (gamma * gamma)) * joint($0) } / p
                        let (loss, dloss) = e.matching(at: c, y: y, gamma: gamma)
                        #expect(abs(1 - loss - direct) < 1e-8, "γ \(gamma), y \(y), c \(c): \(1 - loss) vs \(direct)")
                        let k = gamma * 1e-4
                        let fdm = (e.matching(at: c + k, y: y, gamma: gamma).value - e.matching(at: c - k, y: y, gamma: gamma).value) / (2 * k)
                        #expect(abs(dloss - fdm) < 1e-6 * max(1, abs(dloss)), "matching slope \(dloss) vs \(fdm)")
                    }
                }
            }
        }
    }

    /// The recorded expected loss: its value is the loss, its gradient with respect to the
    /// outputs is the weighted per-point derivative, and through a network it matches central
    /// differences of the loss in a weight; bad inputs are typed errors.
    @Test func laplaceToyExpectedLossRecordsTheExactGradient() throws {
        let e = try LaplaceToyExpectation(points: 41, span: 4)
        var g = SeededGenerator(seed: 5)
        let net = try LearnedProximalNetwork<Double>(kind: .fullyConnected(dimension: 1), hidden: 8, layers: 2, beta: 10, alpha: 0.01, generator: &g)
        let inputs = Variable(e.inputs(Double.self))
        for phase: ProximalMatchingSchedule.Phase in [.l1, .matching(gamma: 0.3, stage: 0)] {
            let out = try net.prox(inputs)
            let (loss, value) = try e.loss(out, phase: phase)
            let reference = try e.expectedLoss(values: out.value.scalars, phase: phase)
            #expect(abs(Double(loss.value.scalar ?? .nan) - value) < 1e-12 && abs(value - reference.value) < 1e-15)
            for p in net.namedParameters(Double.self) { p.variable.zeroGradient() }
            try loss.backward()
            let weight = net.namedParameters(Double.self)[0].variable
            let analytic = weight.grad?.scalars[0] ?? .nan
            let h = 1e-6, original = weight.value
            func lossAt(_ w: Double) throws -> Double {
                var changed = original.scalars
                changed[0] = w
                weight.value = try Tensor(shape: original.shape, scalars: changed)
                defer { weight.value = original }
                return try Autodiff.withoutGradient { try e.expectedLoss(values: try net.prox(inputs).value.scalars, phase: phase).value }
            }
            let fd = (try lossAt(original.scalars[0] + h) - lossAt(original.scalars[0] - h)) / (2 * h)
            #expect(abs(analytic - fd) < 1e-6 * max(1, abs(fd)), "\(phase): ∂L/∂w \(analytic) vs \(fd)")
        }
        #expect(throws: LearningError.self) { _ = try LaplaceToyExpectation(points: 2, span: 3) }
        #expect(throws: LearningError.self) { _ = try LaplaceToyExpectation(points: 11, span: 0) }
        #expect(throws: LearningError.self) { _ = try LaplaceToyExpectation(points: 11, span: 50) }
        #expect(throws: LearningError.self) { _ = try LaplaceToyExpectation(points: 11, span: 3, scale: 0) }
        // A prior 100 times sharper than the noise: the posterior mass at |y| = 6 underflows.
        #expect(throws: LearningError.self) { _ = try LaplaceToyExpectation(points: 101, span: 6, scale: 0.01) }
        // 20 times sharper still works out to |y| = 6.3 (masses near e^{−350}), every value finite.
        let sharp = try LaplaceToyExpectation(points: 101, span: 6.3, scale: 0.05)
        #expect(sharp.weights.allSatisfy { $0 >= 0 && $0.isFinite } && abs(sharp.weights.reduce(0, +) - 1) < 1e-12)
        for phase: ProximalMatchingSchedule.Phase in [.l1, .matching(gamma: 0.05, stage: 0)] {
            let r = try sharp.expectedLoss(values: sharp.grid.map { $0 * 0.9 }, phase: phase)
            #expect(r.value.isFinite && r.gradient.allSatisfy(\.isFinite), "\(phase)")
        }
        #expect(throws: LearningError.self) { _ = try e.expectedLoss(values: [0, 1], phase: .l1) }
        #expect(throws: LearningError.self) { _ = try e.expectedLoss(values: Array(repeating: .nan, count: 41), phase: .l1) }
        #expect(throws: LearningError.self) { _ = try e.loss(Variable(try Tensor<Double>(shape: [3, 1], scalars: [0, 0, 0])), phase: .l1) }
        #expect(throws: LearningError.self) { _ = try e.loss(try net.prox(inputs), phase: .matching(gamma: 0, stage: 0)) }
        #expect(throws: LearningError.self) { _ = try e.expectedLoss(values: e.grid, phase: .matching(gamma: .infinity, stage: 0)) }
    }

    @Test func shortTrainingRunReducesTheLosses() throws {
        var g = SeededGenerator(seed: 61)
        let net = try LearnedProximalNetwork<Float>(kind: .fullyConnected(dimension: 2), hidden: 32, layers: 2, beta: 10, alpha: 0.01,
                                                    generator: &g)
        func batch(_ n: Int) -> (y: Variable<Float>, x: Variable<Float>) {
            var x = [Float](), y = [Float]()
            for _ in 0..<(2 * n) {
                let v: Float = g.uniform() < 0.5 ? -1 : 1
                x.append(v)
                y.append(v + Float(0.3 * g.normal()))
            }
            return (Variable(try! Tensor(shape: [n, 2], scalars: y)), Variable(try! Tensor(shape: [n, 2], scalars: x)))
        }
        let test = batch(256)
        func evaluate() throws -> (l2: Double, matching: Double) {
            try Autodiff.withoutGradient {
                let f = try net.prox(test.y)
                return (Double(try ProximalMatchingLoss.l2(f, test.x).value.scalars[0]),
                        Double(try ProximalMatchingLoss.matching(f, test.x, gamma: 0.5).value.scalars[0]))
            }
        }
        let before = try evaluate()
        let optimizer = try Adam(net.namedParameters(Float.self), learningRate: 1e-2)
        optimizer.constraint = LearnedProximalNetwork<Float>.nonnegativeConstraint()
        let schedule = try ProximalMatchingSchedule(dimension: 2, pretrainSteps: 200, matchingSteps: 100, stages: 2, sigmaMin: 0.5,
                                                    pretrainLearningRate: 1e-2, learningRate: 3e-3)
        let start = Date()
        for step in 0..<300 {
            let (y, x) = batch(64)
            optimizer.learningRate = schedule.learningRate(atStep: step)
            optimizer.zeroGradients()
            try schedule.loss(atStep: step, try net.prox(y), x).backward()
            try optimizer.step()
        }
        let after = try evaluate()
        print("LPN training (300 Adam steps, \(String(format: "%.1f", Date().timeIntervalSince(start))) s): L2 \(before.l2) → \(after.l2), matching(γ = 0.5) \(before.matching) → \(after.matching)")
        #expect(after.l2 < before.l2 / 100)
        #expect(after.matching < before.matching / 30)
        for name in net.hiddenWeightNames {
            let w = try #require(net.namedParameters(Float.self).first { $0.name == name }).variable.value
            #expect(w.scalars.allSatisfy { $0 >= 0 })
        }
    }

    // (g) Typed errors.
    @Test func badInputsThrowTypedErrors() throws {
        var g = SeededGenerator(seed: 71)
        let dense: LearnedProximalNetwork<Float>.Kind = .fullyConnected(dimension: 3)
        #expect(learningErrorKind { try LearnedProximalNetwork<Float>(kind: dense, hidden: 0, layers: 1, beta: 1, alpha: 0, generator: &g) } == "invalidArgument")
        #expect(learningErrorKind { try LearnedProximalNetwork<Float>(kind: dense, hidden: 4, layers: 0, beta: 1, alpha: 0, generator: &g) } == "invalidArgument")
        #expect(learningErrorKind { try LearnedProximalNetwork<Float>(kind: dense, hidden: 4, layers: 1, beta: 0, alpha: 0, generator: &g) } == "invalidArgument")
        #expect(learningErrorKind { try LearnedProximalNetwork<Float>(kind: dense, hidden: 4, layers: 1, beta: 1, alpha: -1, generator: &g) } == "invalidArgument")
        #expect(learningErrorKind { try LearnedProximalNetwork<Float>(kind: .fullyConnected(dimension: 0), hidden: 4, layers: 1, beta: 1, alpha: 0, generator: &g) } == "invalidArgument")
        #expect(learningErrorKind {
            try LearnedProximalNetwork<Float>(kind: .convolutional(channels: 1, height: 10, width: 12), hidden: 4, layers: 3, beta: 1, alpha: 0, generator: &g)
        } == "invalidArgument")
        let net = try LearnedProximalNetwork<Float>(kind: dense, hidden: 4, layers: 1, beta: 1, alpha: 0, generator: &g)
        #expect(learningErrorKind { try net.prox(Variable(Tensor(zeros: [2, 4]))) } == "shapeMismatch")
        #expect(learningErrorKind { try net.potential(Variable(Tensor(zeros: [3]))) } == "shapeMismatch")
        let conv = try LearnedProximalNetwork<Float>(kind: .convolutional(channels: 1, height: 4, width: 4, denseFeatures: 2), hidden: 2, layers: 1,
                                                     beta: 1, alpha: 0, generator: &g)
        #expect(learningErrorKind { try conv.prox(Variable(Tensor(zeros: [1, 2, 4, 4]))) } == "shapeMismatch")
        #expect(learningErrorKind { try conv.prox(Variable(Tensor(zeros: [1, 1, 4, 8]))) } == "shapeMismatch")
        #expect(learningErrorKind { try conv.prox(Variable(Tensor(zeros: [1, 4, 4]))) } == "shapeMismatch")
        #expect(try conv.prox(Variable(Tensor(zeros: [2, 1, 4, 4]))).shape == [2, 1, 4, 4])
        let a = Variable<Float>(Tensor(zeros: [2, 3])), b = Variable<Float>(Tensor(zeros: [2, 4]))
        #expect(learningErrorKind { try ProximalMatchingLoss.matching(a, b, gamma: 1) } == "shapeMismatch")
        #expect(learningErrorKind { try ProximalMatchingLoss.l1(a, b) } == "shapeMismatch")
        #expect(learningErrorKind { try ProximalMatchingLoss.matching(a, a, gamma: 0) } == "invalidArgument")
        #expect(learningErrorKind { try ProximalMatchingLoss.matching(a, a, gamma: .nan) } == "invalidArgument")
        #expect(learningErrorKind { try ProximalMatchingSchedule(dimension: 4, stages: 0) } == "invalidArgument")
        #expect(learningErrorKind { try ProximalMatchingSchedule(dimension: 0) } == "invalidArgument")
        #expect(learningErrorKind { try ProximalMatchingSchedule(dimension: 4, sigmaMin: -1) } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 1, matchingSteps: 4, gammas: [0.1, 0.2], pretrainLearningRate: 1e-3, stageLearningRates: [1, 1])
        } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 1, matchingSteps: 4, gammas: [0.2, 0.1], pretrainLearningRate: 1e-3, stageLearningRates: [1])
        } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 1, matchingSteps: 4, gammas: [], pretrainLearningRate: 1e-3, stageLearningRates: [])
        } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 1, matchingSteps: 4, gammas: [0.1], pretrainLearningRates: [1e-3, 1e-4], stageLearningRates: [1])
        } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 4, matchingSteps: 4, gammas: [0.1], pretrainLearningRates: [], stageLearningRates: [1])
        } == "invalidArgument")
        #expect(learningErrorKind {
            try ProximalMatchingSchedule(pretrainSteps: 4, matchingSteps: 4, gammas: [0.1], pretrainLearningRates: [1e-3, -1], stageLearningRates: [1])
        } == "invalidArgument")
    }
}
