import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

/// A smooth test image on [rows, cols] with values in about [−1, 1].
private func metricsSmooth(rows: Int, cols: Int, phase: Double = 0) -> [Double] {
    var out = [Double](repeating: 0, count: rows * cols)
    for i in 0..<rows {
        for j in 0..<cols {
            let u = Double(i) / Double(rows), v = Double(j) / Double(cols)
            out[i * cols + j] = 0.6 * sin(2 * .pi * (u + 0.5 * v) + phase) + 0.4 * cos(3 * .pi * v * u)
        }
    }
    return out
}

/// SSIM of two images of exactly the window size (one map pixel) from the global statistics,
/// written out from the definition: the hand check of the filters and the normalization.
private func singleWindowSSIM(_ x: [Double], _ y: [Double], weights: [Double], sample: Bool, range: Double) -> Double {
    let n = Double(x.count)
    let w = weights
    let mx = zip(x, w).reduce(0) { $0 + $1.0 * $1.1 }, my = zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
    var vx = 0.0, vy = 0.0, vxy = 0.0
    for k in x.indices {
        vx += w[k] * (x[k] - mx) * (x[k] - mx)
        vy += w[k] * (y[k] - my) * (y[k] - my)
        vxy += w[k] * (x[k] - mx) * (y[k] - my)
    }
    if sample { vx *= n / (n - 1); vy *= n / (n - 1); vxy *= n / (n - 1) }
    let c1 = pow(0.01 * range, 2), c2 = pow(0.03 * range, 2)
    return (2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
}

@Suite struct MetricsTests {
    @Test func psnrOfKnownMSE() throws {
        let truth = randomArray(100, seed: 3)
        let estimate = truth.enumerated().map { $0.element + ($0.offset % 2 == 0 ? 0.1 : -0.1) }
        // MSE = 0.01 → 10 log10(1 / 0.01) = 20 dB; range 2 adds 20 log10 2.
        #expect(abs(try ImageMetrics.psnr(estimate, truth, dataRange: 1) - 20) < 1e-12)
        #expect(abs(try ImageMetrics.psnr(estimate, truth, dataRange: 2) - (20 + 20 * log10(2.0))) < 1e-12)
        #expect(abs(try ImageMetrics.mse(estimate, truth) - 0.01) < 1e-15)
        #expect(try ImageMetrics.psnr(truth, truth, dataRange: 1) == .infinity)
    }

    @Test func relativeErrorAndSNR() throws {
        let truth = [3.0, 4.0], estimate = [3.0, 4.5]
        #expect(abs(try ImageMetrics.relativeError(estimate, truth) - 0.1) < 1e-15)
        // ‖truth‖² / ‖error‖² = 25 / 0.25 = 100 → 20 dB.
        #expect(abs(try ImageMetrics.snr(estimate, truth) - 20) < 1e-12)
        #expect(try ImageMetrics.snr(truth, truth) == .infinity)
        #expect(try ImageMetrics.relativeError(truth, truth) == 0)
        #expect(try ImageMetrics.relativeError([0, 0], [0, 0]) == 0)
        #expect(try ImageMetrics.relativeError([1, 0], [0, 0]) == .infinity)
    }

    @Test func ssimOfIdenticalImagesIsOne() throws {
        let x = randomArray(20 * 24, seed: 5)
        #expect(abs(try ImageMetrics.ssim(x, x, shape: [20, 24], dataRange: 1) - 1) < 1e-14)
        #expect(abs(try ImageMetrics.ssim(x, x, shape: [20, 24], dataRange: 1, window: .gaussian(sigma: 1.5)) - 1) < 1e-14)
        #expect(abs(try ImageMetrics.ssim(x, x, shape: [20, 24], dataRange: 1, window: .uniform(3)) - 1) < 1e-14)
        let y = x.map { 1 - $0 }
        #expect(try ImageMetrics.ssim(y, x, shape: [20, 24], dataRange: 1) < 0)
    }

    @Test func ssimHandCheckedSingleWindow() throws {
        // Constant images: variances vanish, SSIM = (2ab + C1) / (a² + b² + C1).
        let a = [Double](repeating: 0.2, count: 49), b = [Double](repeating: 0.6, count: 49)
        let expected = (2 * 0.2 * 0.6 + 1e-4) / (0.04 + 0.36 + 1e-4)
        // (uxx − ux² cancels to rounding, ~1e-17, against C2 = 9e-4.)
        #expect(abs(try ImageMetrics.ssim(a, b, shape: [7, 7], dataRange: 1) - expected) < 1e-12)
        // A 7×7 image: one map pixel, the global statistics with sample covariance.
        let x = randomArray(49, seed: 11), noise = randomArray(49, seed: 12)
        let y = zip(x, noise).map { 0.7 * $0 + 0.3 * $1 + 0.05 }
        let uniform = [Double](repeating: 1.0 / 49, count: 49)
        let s = try ImageMetrics.ssim(y, x, shape: [7, 7], dataRange: 1)
        #expect(abs(s - singleWindowSSIM(y, x, weights: uniform, sample: true, range: 1)) < 1e-13)
        // An 11×11 image with the Gaussian window: population covariance, Gaussian weights.
        let x11 = randomArray(121, seed: 13), y11 = randomArray(121, seed: 14)
        let g = (-5...5).map { exp(-0.5 / 2.25 * Double($0 * $0)) }
        let gs = g.reduce(0, +)
        var w2 = [Double]()
        for i in 0..<11 { for j in 0..<11 { w2.append(g[i] * g[j] / (gs * gs)) } }
        let sg = try ImageMetrics.ssim(y11, x11, shape: [11, 11], dataRange: 2, window: .wang2004)
        #expect(abs(sg - singleWindowSSIM(y11, x11, weights: w2, sample: false, range: 2)) < 1e-13)
        // A wider image = the mean of the single-window values of its windows.
        let wide = randomArray(7 * 9, seed: 15), wide2 = randomArray(7 * 9, seed: 16)
        var mean = 0.0
        for c in 0..<3 {
            var p = [Double](), q = [Double]()
            for i in 0..<7 { for j in c..<(c + 7) { p.append(wide[i * 9 + j]); q.append(wide2[i * 9 + j]) } }
            mean += singleWindowSSIM(p, q, weights: uniform, sample: true, range: 1) / 3
        }
        #expect(abs(try ImageMetrics.ssim(wide, wide2, shape: [7, 9], dataRange: 1) - mean) < 1e-13)
    }

    @Test func typedErrors() {
        let x = randomArray(64, seed: 1)
        #expect(pdeErrorKind { try ImageMetrics.psnr(x, Array(x.dropLast()), dataRange: 1) } == "shapeMismatch")
        #expect(pdeErrorKind { try ImageMetrics.psnr(x, x, dataRange: 0) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.psnr(x, x, dataRange: -1) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.psnr([], [], dataRange: 1) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.snr(x, [1, 2]) } == "shapeMismatch")
        #expect(pdeErrorKind { try ImageMetrics.relativeError([1], [1, 2]) } == "shapeMismatch")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 7], dataRange: 1) } == "shapeMismatch")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, Array(x.dropLast()), shape: [8, 8], dataRange: 1) } == "shapeMismatch")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [64], dataRange: 1) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 0) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: .nan) } == "invalidValue")
        // Smaller than the window: 11 taps for σ = 1.5, 9 for a uniform(9).
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1, window: .gaussian(sigma: 1.5)) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1, window: .uniform(9)) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [4, 16], dataRange: 1) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1, window: .uniform(4)) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1, window: .uniform(1)) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1, window: .gaussian(sigma: 0)) } == "invalidValue")
        #expect(pdeErrorKind { try ImageMetrics.ssim(x, x, shape: [8, 8], dataRange: 1) } == nil)
    }

    @Test(.enabled(if: Python.has("numpy", "skimage"), "needs python3 with scikit-image (SWIFTPDE_PYTHON may name a virtual environment's python)"))
    func agreesWithScikitImage() throws {
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // (truth, estimate, shape, data range): seeded random arrays of odd and even sizes,
        // and a smooth image with a perturbed copy.
        let smooth = metricsSmooth(rows: 48, cols: 40)
        let noise = randomArray(48 * 40, seed: 22).map { 0.2 * ($0 - 0.5) }
        let cases: [([Double], [Double], [Int], Double)] = [
            (randomArray(32 * 40, seed: 1), randomArray(32 * 40, seed: 2), [32, 40], 1),
            (randomArray(33 * 21, seed: 3), randomArray(33 * 21, seed: 4).map { 0.5 * $0 + 0.2 }, [33, 21], 1),
            (smooth, zip(metricsSmooth(rows: 48, cols: 40, phase: 0.1), noise).map { $0 + $1 }, [48, 40], 2),
            (smooth, smooth.map { 0.9 * $0 + 0.05 }, [48, 40], 2),
        ]
        for (k, c) in cases.enumerated() {
            try NPY.write(c.0, shape: c.2, to: "\(folder)/t\(k).npy")
            try NPY.write(c.1, shape: c.2, to: "\(folder)/e\(k).npy")
        }
        let script = """
        import numpy as np
        from skimage.metrics import structural_similarity as ssim, peak_signal_noise_ratio as psnr
        for k, r in enumerate([\(cases.map { "\($0.3)" }.joined(separator: ", "))]):
            t = np.load('\(folder)/t%d.npy' % k); e = np.load('\(folder)/e%d.npy' % k)
            vals = [ssim(t, e, data_range=r), ssim(t, e, data_range=r, win_size=5),
                    ssim(t, e, data_range=r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
                    psnr(t, e, data_range=r)]
            print(' '.join(repr(float(v)) for v in vals))
        """
        let run = Python.run(script)
        try #require(run.status == 0, "python failed: \(run.output)")
        let lines = run.output.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }.filter { $0.count == 4 }
        try #require(lines.count == cases.count, "unexpected output: \(run.output)")
        var worst = 0.0
        for (k, c) in cases.enumerated() {
            let mine = [
                try ImageMetrics.ssim(c.1, c.0, shape: c.2, dataRange: c.3),
                try ImageMetrics.ssim(c.1, c.0, shape: c.2, dataRange: c.3, window: .uniform(5)),
                try ImageMetrics.ssim(c.1, c.0, shape: c.2, dataRange: c.3, window: .gaussian(sigma: 1.5)),
                try ImageMetrics.psnr(c.1, c.0, dataRange: c.3),
            ]
            for (a, b) in zip(mine, lines[k]) {
                #expect(abs(a - b) <= 1e-10, "case \(k): \(mine) vs skimage \(lines[k])")
                worst = max(worst, abs(a - b))
            }
        }
        print("MetricsTests: largest difference from scikit-image \(worst)")
    }
}
