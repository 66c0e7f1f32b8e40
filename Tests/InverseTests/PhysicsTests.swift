import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

@Suite struct PhysicsTests {
    @Test func blurAdjointsAreExactForEveryBoundaryAndKernel() throws {
        let kernels = [try BlurKernel.gaussian(sigma: 1.3, radius: 4), try BlurKernel.uniform(size: 4),
                       try BlurKernel.motion(length: 5, angleDegrees: 30)]
        for shape in [[12, 17], [9, 11]] {
            for k in kernels {
                for b in BlurBoundary.allCases {
                    let model = try Blur(imageShape: shape, kernel: k, boundary: b)
                    #expect(adjointMismatch(model) < 1e-13, "\(shape) \(k.shape) \(b)")
                }
            }
        }
    }

    @Test func periodicBlurByFFTEqualsTheDirectCircularConvolution() throws {
        let shape = [10, 13]
        let k = try BlurKernel.motion(length: 4, angleDegrees: 60)
        let model = try Blur(imageShape: shape, kernel: k, boundary: .periodic)
        let x = randomArray(130, seed: 3)
        let y = try model(x)
        let (k0, k1) = (k.shape[0], k.shape[1])
        var direct = [Double](repeating: 0, count: 130)
        for i in 0..<10 {
            for j in 0..<13 {
                var s = 0.0
                for a in 0..<k0 {
                    for b in 0..<k1 {
                        let si = ((i - a + k0 / 2) % 10 + 10) % 10, sj = ((j - b + k1 / 2) % 13 + 13) % 13
                        s += k.values[a * k1 + b] * x[si * 13 + sj]
                    }
                }
                direct[i * 13 + j] = s
            }
        }
        #expect(maxAbsDifference(y, direct) < 1e-13)
        // Fast normal operator = AᵀA, and the power iteration finds max |H|² = 1 (sum-one kernel).
        let viaAdjoint = try model.adjoint(y)
        #expect(maxAbsDifference(try model.normal(x), viaAdjoint) < 1e-13)
        #expect(abs(model.lipschitzEstimate(iterations: 200) - 1) < 1e-3)
    }

    @Test func zeroAndReflectBoundariesMatchTheirDefinitions() throws {
        // A constant image stays constant under a reflective blur (weights sum to 1), and loses
        // mass at the edges with zero padding.
        let k = try BlurKernel.gaussian(sigma: 1, radius: 3)
        let ones = [Double](repeating: 1, count: 64)
        let reflect = try Blur(imageShape: [8, 8], kernel: k, boundary: .reflect)(ones)
        #expect(maxAbsDifference(reflect, ones) < 1e-14)
        let zero = try Blur(imageShape: [8, 8], kernel: k, boundary: .zero)(ones)
        // y[1,1] = Σ k[a,b] x[4 − a, 4 − b] over in-range pixels: a, b ≤ 4 of the 7×7 kernel.
        var inside = 0.0
        for a in 0...4 { for b in 0...4 { inside += k.values[a * 7 + b] } }
        #expect(abs(zero[1 * 8 + 1] - inside) < 1e-14)
        #expect(zero[0] < 0.5)
        // Mirror rule: a 3-tap kernel [0, 0, 1] (shift) on the reflect boundary reads x[-1] = x[0].
        let shift = try BlurKernel(values: [0, 0, 1], shape: [1, 3])
        let row = [1.0, 2, 3, 4]
        let y = try Blur(imageShape: [1, 4], kernel: shift, boundary: .reflect)(row)
        #expect(y == [1, 1, 2, 3])
        let yz = try Blur(imageShape: [1, 4], kernel: shift, boundary: .zero)(row)
        #expect(yz == [0, 1, 2, 3])
    }

    @Test func everyOtherModelAndCompositionPassesTheDotTest() throws {
        let shape = [12, 8]
        let mask = try MaskModel.random(shape: shape, missingFraction: 0.5, seed: 4)
        let sr = try superResolution(imageShape: shape, kernel: .gaussian(sigma: 1, radius: 3), factor: 4, boundary: .reflect)
        let models: [ForwardModel] = [
            try IdentityModel(shape: shape), mask, try Downsample(imageShape: shape, factor: 2), sr,
            try FiniteDifferenceGradient(imageShape: shape, boundary: .neumann),
            try FiniteDifferenceGradient(imageShape: shape, boundary: .periodic),
            try StackedModel([try Blur(imageShape: shape, kernel: .uniform(size: 3), boundary: .zero),
                              try FiniteDifferenceGradient(imageShape: shape)]),
            try ScaledModel(try Blur(imageShape: shape, kernel: .gaussian(sigma: 0.8, radius: 3)), scale: -2.5),
            try Composition(mask, after: try Blur(imageShape: shape, kernel: .motion(length: 3, angleDegrees: 0))),
            MatrixModel(DenseMatrix(rows: 5, columns: 7) { i, j in sin(Double(3 * i + j)) }),
        ]
        for m in models {
            #expect(adjointMismatch(m) < 1e-13, "\(m.name)")
            #expect(adjointMismatch(m, seed: 99) < 1e-13, "\(m.name)")
        }
        #expect(sr.rangeShape == [3, 2])
    }

    @Test func periodicGradientSymbolsReproduceTheDifferences() throws {
        let shape = [6, 7]
        let d = try FiniteDifferenceGradient(imageShape: shape, boundary: .periodic)
        let symbols = try #require(d.fourierSymbols)
        let x = randomArray(42, seed: 5)
        let g = try d(x)
        let m = try FourierMultiplier(shape: shape)
        for c in 0..<2 {
            var out = [Double](repeating: 0, count: 42)
            m.multiply(x, by: symbols.channels[c], conjugate: false, into: &out)
            #expect(maxAbsDifference(out, Array(g[(c * 42)..<((c + 1) * 42)])) < 1e-13)
        }
        // ‖D‖² = 8 for even periodic sizes (the checkerboard), < 8 otherwise.
        let even = try FiniteDifferenceGradient(imageShape: [8, 8], boundary: .periodic)
        #expect(abs(even.lipschitzEstimate(iterations: 500) - 8) < 1e-3)
        #expect(try StackedModel([even]).fourierSymbols?.channels.count == 2)
        #expect(try FiniteDifferenceGradient(imageShape: shape).fourierSymbols == nil)
    }

    @Test func noiseIsSeededAndHasTheRightMoments() throws {
        let clean = [Double](repeating: 0.5, count: 20000)
        let a = try NoiseModel.gaussian(sigma: 0.1).corrupt(clean, seed: 7)
        let b = try NoiseModel.gaussian(sigma: 0.1).corrupt(clean, seed: 7)
        #expect(a == b)
        let mean = a.reduce(0, +) / 20000
        let sd = (a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 19999).squareRoot()
        #expect(abs(mean - 0.5) < 0.005 && abs(sd - 0.1) < 0.003)
        for gain in [4.0, 100.0] {
            let p = try NoiseModel.poisson(gain: gain).corrupt(clean, seed: 8)
            let pm = p.reduce(0, +) / 20000
            let pv = p.map { ($0 - pm) * ($0 - pm) }.reduce(0, +) / 19999
            // Poisson(0.5·gain)/gain: mean 0.5, variance 0.5/gain.
            #expect(abs(pm - 0.5) < 4 * (0.5 / gain / 20000).squareRoot())
            #expect(abs(pv / (0.5 / gain) - 1) < 0.05)
            #expect(p.allSatisfy { abs($0 * gain - ($0 * gain).rounded()) < 1e-9 })
        }
        #expect(throws: PDEError.self) { try NoiseModel.gaussian(sigma: -1).corrupt(clean, seed: 1) }
        #expect(throws: PDEError.self) { try NoiseModel.poisson(gain: 0).corrupt(clean, seed: 1) }
    }

    @Test func badShapesKernelsAndMasksGiveTypedErrors() throws {
        #expect(throws: PDEError.self) { try BlurKernel.gaussian(sigma: 0) }
        #expect(throws: PDEError.self) { try BlurKernel(values: [1, 2], shape: [3, 1]) }
        #expect(throws: PDEError.self) { try BlurKernel(values: [1, -1], shape: [1, 2]) }
        #expect(throws: PDEError.self) { try BlurKernel.motion(length: 3, angleDegrees: .nan) }
        #expect(throws: PDEError.self) { try Blur(imageShape: [4, 4], kernel: .gaussian(sigma: 2), boundary: .zero) }
        #expect(throws: PDEError.self) { try Blur(imageShape: [4], kernel: .uniform(size: 1)) }
        #expect(throws: PDEError.self) { try MaskModel(mask: [false, false], shape: [2]) }
        #expect(throws: PDEError.self) { try MaskModel(mask: [true], shape: [2]) }
        #expect(throws: PDEError.self) { try MaskModel.random(shape: [4, 4], missingFraction: 1, seed: 0) }
        #expect(throws: PDEError.self) { try Downsample(imageShape: [6, 6], factor: 4) }
        #expect(throws: PDEError.self) { try Composition(Downsample(imageShape: [4, 4], factor: 2), after: IdentityModel(shape: [4, 2])) }
        #expect(throws: PDEError.self) { try StackedModel([]) }
        #expect(throws: PDEError.self) { try StackedModel([IdentityModel(shape: [3]), IdentityModel(shape: [4])]) }
        let blur = try Blur(imageShape: [4, 4], kernel: .uniform(size: 3))
        #expect(throws: PDEError.self) { try blur([1, 2, 3]) }
        #expect(throws: PDEError.self) { try blur.adjoint([1, 2, 3]) }
        do {
            _ = try blur([1, 2, 3])
        } catch {
            #expect("\(error)".contains("blur") && "\(error)".contains("16"))
        }
    }
}
