import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

/// A band-limited field on an n×n periodic grid (a few low Fourier modes), [B, C, n, n].
func bandLimited(batch: Int, channels: Int, n: Int, seed: UInt64) throws -> Tensor<Float> {
    var g = SeededGenerator(seed: seed)
    var values = [Float](repeating: 0, count: batch * channels * n * n)
    for bc in 0..<(batch * channels) {
        var terms: [(Double, Double, Double, Double)] = []
        for _ in 0..<4 {
            terms.append((Double(g.next() % 4), Double(g.next() % 4), Double.random(in: -1...1, using: &g), Double.random(in: 0...6.28, using: &g)))
        }
        for i in 0..<n {
            for j in 0..<n {
                let x = Double(i) / Double(n), y = Double(j) / Double(n)
                values[(bc * n + i) * n + j] = Float(terms.reduce(0.0) { $0 + $1.2 * cos(2 * .pi * ($1.0 * x + $1.1 * y) + $1.3) })
            }
        }
    }
    return try Tensor(shape: [batch, channels, n, n], scalars: values)
}

/// Every second point of both spatial axes of [B, C, 2n, 2n].
func everySecond(_ t: Tensor<Float>) throws -> Tensor<Float> {
    let (b, c, n2) = (t.shape[0], t.shape[1], t.shape[2])
    let n = n2 / 2
    var out = [Float](repeating: 0, count: b * c * n * n)
    for p in 0..<(b * c) { for i in 0..<n { for j in 0..<n { out[(p * n + i) * n + j] = t.scalars[(p * n2 + 2 * i) * n2 + 2 * j] } } }
    return try Tensor(shape: [b, c, n, n], scalars: out)
}

func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) { num += Double(x - y) * Double(x - y); den += Double(y) * Double(y) }
    return (num / den).squareRoot()
}

/// `count` Darcy samples at `size`² (harmonic-mean finite volumes, CHOLMOD): a and u as
/// [count, 1, size, size].
func darcySamples(_ count: Int, size: Int, seed: UInt64) throws -> OperatorSamples {
    let family = try DarcyFamily(size: size, resolutions: [size], direct: true)
    var g = SeededGenerator(seed: seed)
    var a: [Float] = [], u: [Float] = []
    for i in 0..<count {
        let f = try family.sample(i, generator: &g)
        a += f[0].map(Float.init)
        u += f[1].map(Float.init)
    }
    return try OperatorSamples(inputs: Tensor(shape: [count, 1, size, size], scalars: a), outputs: Tensor(shape: [count, 1, size, size], scalars: u))
}

@Suite struct FNOTests {
    @Test func aFourierLayerIsExactOnATwiceFinerGrid() throws {
        // Spectral convolution + pointwise map are linear and local / band-preserving: for a
        // band-limited input the output at 2n, sampled at every second point, is the output at n.
        var g = SeededGenerator(seed: 1)
        let block = try FourierBlock<Float>(width: 3, modes: [4, 4], generator: &g)
        let coarse = try bandLimited(batch: 2, channels: 3, n: 16, seed: 2)
        let fine = try bandLimited(batch: 2, channels: 3, n: 32, seed: 2)
        #expect(maxAbsDifference(try everySecond(fine).scalars.map(Double.init), coarse.scalars.map(Double.init)) < 1e-6)
        let yc = try block(Variable(coarse)).value, yf = try block(Variable(fine)).value
        #expect(relativeDifference(try everySecond(yf).scalars, yc.scalars) < 1e-5)
    }

    @Test func theFNOGivesTheSameOutputOnATwiceFinerGrid() throws {
        // With GELU between layers the fields are no longer band-limited, so the coarse grid
        // aliases what the fine one resolves: equal up to that aliasing, here ≲ 1e-3.
        var g = SeededGenerator(seed: 3)
        let config = FNOConfiguration(modes: [4, 4], width: 8, layers: 3, projectionWidth: 16, gridCoordinates: false)
        let fno = try FNO<Float>(config, generator: &g)
        let coarse = try bandLimited(batch: 2, channels: 1, n: 32, seed: 4)
        let fine = try bandLimited(batch: 2, channels: 1, n: 64, seed: 4)
        let yc = try fno(Variable(coarse)).value, yf = try fno(Variable(fine)).value
        #expect(yc.shape == [2, 1, 32, 32] && yf.shape == [2, 1, 64, 64])
        let d = relativeDifference(try everySecond(yf).scalars, yc.scalars)
        #expect(d < 5e-3, "relative difference \(d)")
    }

    @Test func paddingIsAFractionRoundedToAnFFTFriendlySize() throws {
        let c = FNOConfiguration(modes: [12, 12], padding: [0.1, 0])
        #expect(c.paddingPoints(85, axis: 0) == 11)     // 85 + 9 = 94 = 2·47 → 96
        #expect(c.paddingPoints(141, axis: 0) == 19)    // 141 + 15 = 156 → 160
        #expect(c.paddingPoints(85, axis: 1) == 0)
        #expect(isSmooth(96) && isSmooth(160) && !isSmooth(94) && !isSmooth(156))
        // The padding is removed: the output has the input's shape, in 1, 2 and 3 dimensions.
        var g = SeededGenerator(seed: 5)
        for modes in [[3], [3, 3], [2, 2, 2]] {
            let fno = try FNO<Float>(FNOConfiguration(inChannels: 2, outChannels: 3, modes: modes, width: 4, layers: 2, projectionWidth: 8,
                                                      padding: Array(repeating: 0.2, count: modes.count)), generator: &g)
            let n = modes.count == 3 ? 7 : 11
            let x = Tensor<Float>.randomNormal(shape: [2, 2] + Array(repeating: n, count: modes.count), generator: &g)
            #expect(try fno(Variable(x)).shape == [2, 3] + Array(repeating: n, count: modes.count))
        }
    }

    @Test func badConfigurationsAndShapesAreTypedErrors() throws {
        var g = SeededGenerator(seed: 6)
        for bad in [FNOConfiguration(modes: []), FNOConfiguration(modes: [1, 2, 3, 4]), FNOConfiguration(modes: [4], width: 0),
                    FNOConfiguration(modes: [4, 4], padding: [0.1]), FNOConfiguration(modes: [4], padding: [-1])] {
            #expect(throws: LearningError.self) { try FNO<Float>(bad, generator: &g) }
        }
        let fno = try FNO<Float>(FNOConfiguration(modes: [4, 4], width: 4, layers: 1), generator: &g)
        #expect(throws: LearningError.self) { try fno(Variable(Tensor<Float>(zeros: [1, 2, 16, 16]))) }   // 2 channels
        #expect(throws: LearningError.self) { try fno(Variable(Tensor<Float>(zeros: [1, 1, 16]))) }       // 1-D input
        #expect(throws: LearningError.self) { try fno(Variable(Tensor<Float>(zeros: [1, 1, 6, 6]))) }     // too coarse for 4 modes
    }

    @Test func parameterGradientsMatchFiniteDifferences() throws {
        var g = SeededGenerator(seed: 7)
        let fno = try FNO<Double>(FNOConfiguration(modes: [3, 3], width: 4, layers: 2, projectionWidth: 6, padding: [0.25, 0.25]), generator: &g)
        let x = Variable(Tensor<Double>.randomNormal(shape: [2, 1, 8, 8], generator: &g))
        let target = Tensor<Double>.randomNormal(shape: [2, 1, 8, 8], generator: &g)
        try expectParameterGradients(fno, absolute: 1e-6) { try OperatorLoss.relativeLp(try fno(x), Variable(target)) }
    }

    @Test func aSmallFNOOverfitsEightDarcySamples() throws {
        // 8 samples at 17², full batch, 300 Adam steps: the training error (data units, after
        // decoding) falls from ≈ 26% (the mean field) to ≈ 0.2%; asserted below 1%.
        let data = try darcySamples(8, size: 17, seed: 11)
        var g = SeededGenerator(seed: 12)
        let op = try NeuralOperator<Float>(architecture: .fno(FNOConfiguration(modes: [5, 5], width: 16, layers: 3, projectionWidth: 32, padding: [0.1, 0.1])),
                                           inputNormalizer: GaussianNormalizer(fitting: data.inputs), outputNormalizer: GaussianNormalizer(fitting: data.outputs),
                                           generator: &g)
        let adam = try Adam(op.namedParameters(Float.self), learningRate: 1e-2)
        var options = TrainingOptions(epochs: 300, batchSize: 8)
        options.progress = false
        options.schedule = .step(base: 1e-2, stepSize: 100, gamma: 0.5)
        let (history, _) = try OperatorTraining.fit(op, train: data, validation: nil, loss: .relativeL2, optimizer: adam, options: options)
        let first = history.records[0].trainingLoss, error = try OperatorTraining.meanRelativeError(op, data)
        #expect(first > 0.1 && error < 0.01, "first epoch \(first), final \(error)")
    }

    @Test func savedOperatorsReloadWithTheirNormalizersAndPredictTheSame() throws {
        let data = try darcySamples(4, size: 9, seed: 13)
        var g = SeededGenerator(seed: 14)
        let arch = OperatorArchitecture.fno(FNOConfiguration(modes: [3, 3], width: 6, layers: 2, projectionWidth: 8, padding: [0.1, 0.1]))
        let op = try NeuralOperator<Float>(architecture: arch, inputNormalizer: GaussianNormalizer(fitting: data.inputs),
                                           outputNormalizer: GaussianNormalizer(fitting: data.outputs, mode: .global), generator: &g)
        let path = makeTemporaryFolder() + "/op.safetensors"
        try op.save(to: path, metadata: ["note": "test"])
        let back = try NeuralOperator<Float>.load(from: path)
        #expect(back.architecture == arch)
        #expect(back.inputNormalizer?.mean.value == op.inputNormalizer?.mean.value && back.outputNormalizer?.std.value == op.outputNormalizer?.std.value)
        #expect(back.outputNormalizer?.isGlobal == true && back.inputNormalizer?.isGlobal == false)
        let a = try OperatorTraining.predict(op, inputs: data.inputs), b = try OperatorTraining.predict(back, inputs: data.inputs)
        #expect(a.scalars == b.scalars)
        // A plain checkpoint without the operator metadata is refused with a reason.
        let plain = makeTemporaryFolder() + "/plain.safetensors"
        try Checkpoint.save(model: op, scalar: Float.self, to: plain)
        #expect(throws: LearningError.self) { try NeuralOperator<Float>.load(from: plain) }
    }

    @Test func resumingFromACheckpointReproducesTheLossCurve() throws {
        let data = try darcySamples(6, size: 9, seed: 15)
        let dir = makeTemporaryFolder()
        func run(epochs: Int, path: String, stopAfter: Int? = nil) throws -> (TrainingHistory, Bool) {
            var g = SeededGenerator(seed: 16)
            let op = try NeuralOperator<Float>(architecture: .fno(FNOConfiguration(modes: [3, 3], width: 6, layers: 2, projectionWidth: 8)),
                                               inputNormalizer: GaussianNormalizer(fitting: data.inputs),
                                               outputNormalizer: GaussianNormalizer(fitting: data.outputs), generator: &g)
            let adam = try Adam(op.namedParameters(Float.self), learningRate: 3e-3)
            var options = TrainingOptions(epochs: epochs, batchSize: 4, seed: 9)
            options.progress = false
            options.checkpointPath = path
            options.schedule = .step(base: 3e-3, stepSize: 2, gamma: 0.5)
            if let stopAfter {
                let count = Counter()
                options.shouldStop = { count.increment() >= stopAfter }
            }
            return try OperatorTraining.fit(op, train: data, validation: data, loss: .relativeL2, optimizer: adam, options: options)
        }
        let (full, _) = try run(epochs: 5, path: dir + "/full.safetensors")
        let (part, stopped) = try run(epochs: 5, path: dir + "/part.safetensors", stopAfter: 2)
        #expect(stopped && part.records.count == 2)
        let (resumed, again) = try run(epochs: 5, path: dir + "/part.safetensors")
        #expect(!again && resumed.resumedAfterEpoch == 2)
        #expect(resumed.records.map(\.trainingLoss) == full.records.map(\.trainingLoss))
        #expect(resumed.records.map(\.validationLoss) == full.records.map(\.validationLoss))
    }

    @Test func normalizersResampleBetweenNodeGrids() throws {
        // Statistics linear in the coordinates interpolate exactly from 5 to 9 nodes.
        let n = 5, m = 9
        var values: [Double] = []
        for s in 0..<2 { for i in 0..<n { for j in 0..<n { values.append(Double(s) * 4 + 3 * Double(i) / 4 - 2 * Double(j) / 4) } } }
        let fitted = try GaussianNormalizer(fitting: try Tensor<Double>(shape: [2, 1, n, n], scalars: values))
        let r = try fitted.resampled(to: [m, m])
        #expect(r.mean.value.shape == [1, m, m])
        for i in 0..<m { for j in 0..<m {
            let x = Double(i) / 8, y = Double(j) / 8
            #expect(abs(r.mean.value[0, i, j] - (2 + 3 * x - 2 * y)) < 1e-12)
            #expect(abs(r.std.value[0, i, j] - 2) < 1e-12)
        } }
        #expect(try fitted.resampled(to: [n, n]) === fitted)
        let global = try GaussianNormalizer(fitting: try Tensor<Double>(shape: [2, 1, n, n], scalars: values), mode: .global)
        #expect(try global.resampled(to: [m, m]) === global)
        #expect(throws: LearningError.self) { try fitted.resampled(to: [m, m, m, m]) }
    }
}

/// A thread-safe counter for `shouldStop` closures.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
