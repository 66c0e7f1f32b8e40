import Foundation
import PDE

/// The sliding window of `ImageMetrics.ssim`, as in `skimage.metrics.structural_similarity`.
public enum SSIMWindow: Sendable, Equatable {
    /// A `size × size` box window (skimage's default, `win_size = size`, odd, ≥ 3), with the
    /// sample covariance (`use_sample_covariance=True`: variances scaled by NP/(NP − 1),
    /// NP = size²).
    case uniform(Int)
    /// A Gaussian window of standard deviation `sigma` truncated at 3.5 σ (radius
    /// `Int(3.5 σ + 0.5)`, 11 taps for σ = 1.5) with the population covariance: skimage's
    /// `gaussian_weights=True, sigma=σ, use_sample_covariance=False`, the setting of Wang et al.
    /// (2004) when σ = 1.5.
    case gaussian(sigma: Double)

    /// The window of Wang et al. (2004): Gaussian, σ = 1.5, 11 × 11.
    public static let wang2004 = SSIMWindow.gaussian(sigma: 1.5)
}

/// Image-quality metrics of reconstructions against a ground truth, matching scikit-image
/// (`peak_signal_noise_ratio`, `structural_similarity`) so that results compare directly with
/// the Python inverse-problem libraries (deepinv, fastMRI, LoDoPaB benchmarks).
///
/// Arrays are flat, C order. All metrics are symmetric in their two arguments except
/// `relativeError` and `snr`, which normalize by the truth.
public enum ImageMetrics {
    /// Peak signal-to-noise ratio in dB, 10·log₁₀(dataRange² / MSE), as
    /// `skimage.metrics.peak_signal_noise_ratio(truth, estimate, data_range=dataRange)`;
    /// +infinity for identical arrays.
    ///
    /// Throws `PDEError.shapeMismatch` for different lengths, `.invalidValue` for empty arrays
    /// or a `dataRange` that is not a finite number > 0.
    public static func psnr(_ estimate: [Double], _ truth: [Double], dataRange: Double) throws -> Double {
        try checkPair(estimate, truth, "PSNR")
        try InverseCheck.positive(dataRange, key: "PSNR dataRange")
        let mse = InverseVectors.squaredDistance(estimate, truth) / Double(truth.count)
        if mse == 0 { return .infinity }
        return 10 * log10((dataRange * dataRange) / mse)
    }

    /// Mean squared error Σ (aᵢ − bᵢ)² / n.
    ///
    /// Throws `PDEError.shapeMismatch` for different lengths, `.invalidValue` for empty arrays.
    public static func mse(_ estimate: [Double], _ truth: [Double]) throws -> Double {
        try checkPair(estimate, truth, "MSE")
        return InverseVectors.squaredDistance(estimate, truth) / Double(truth.count)
    }

    /// Relative error ‖estimate − truth‖₂ / ‖truth‖₂ (0 when both are zero, +infinity when only
    /// the truth is).
    ///
    /// Throws `PDEError.shapeMismatch` for different lengths, `.invalidValue` for empty arrays.
    public static func relativeError(_ estimate: [Double], _ truth: [Double]) throws -> Double {
        try checkPair(estimate, truth, "relative error")
        let num = InverseVectors.squaredDistance(estimate, truth).squareRoot()
        let den = InverseVectors.norm(truth)
        if den == 0 { return num == 0 ? 0 : .infinity }
        return num / den
    }

    /// Signal-to-noise ratio in dB, 10·log₁₀(‖truth‖² / ‖estimate − truth‖²) (the "SNR" of
    /// deepinv / PyLops reports); +infinity for identical arrays.
    ///
    /// Throws `PDEError.shapeMismatch` for different lengths, `.invalidValue` for empty arrays.
    public static func snr(_ estimate: [Double], _ truth: [Double]) throws -> Double {
        try checkPair(estimate, truth, "SNR")
        let err = InverseVectors.squaredDistance(estimate, truth)
        if err == 0 { return .infinity }
        return 10 * log10(InverseVectors.dot(truth, truth) / err)
    }

    /// Mean structural similarity of two 2-D images of `shape` [rows, cols], reproducing
    /// `skimage.metrics.structural_similarity(truth, estimate, data_range=dataRange, …)`:
    /// K1 = 0.01, K2 = 0.03, local (weighted) means, variances and covariance from separable
    /// filters, SSIM = (2μₓμᵧ + C1)(2σₓᵧ + C2) / ((μₓ² + μᵧ² + C1)(σₓ² + σᵧ² + C2)) with
    /// C1 = (K1·R)², C2 = (K2·R)², averaged over the map with a border of the window radius
    /// cropped on every side. The cropped map only reads pixels inside the image, so scipy's
    /// 'reflect' boundary of skimage never enters the result and no padding is done here.
    ///
    /// `window`: `.uniform(7)` is skimage's default; `.gaussian(sigma: 1.5)` the setting of
    /// Wang et al. (see `SSIMWindow`). Cost O(rows · cols · taps).
    ///
    /// Throws `PDEError.shapeMismatch` for different lengths or a shape whose product is not
    /// the count; `.invalidValue` for a shape of other than 2 positive axes, images smaller
    /// than the window, an even or < 3 uniform window, σ ≤ 0, or `dataRange` not finite > 0.
    public static func ssim(_ estimate: [Double], _ truth: [Double], shape: [Int], dataRange: Double,
                            window: SSIMWindow = .uniform(7)) throws -> Double {
        try checkPair(estimate, truth, "SSIM")
        guard shape.count == 2, shape.allSatisfy({ $0 >= 1 }) else {
            throw PDEError.invalidValue(key: "SSIM shape", value: "\(shape)", expected: "[rows, cols], both ≥ 1")
        }
        let (n0, n1) = (shape[0], shape[1])
        let (product, overflow) = n0.multipliedReportingOverflow(by: n1)
        guard !overflow, product == truth.count else {
            throw PDEError.shapeMismatch(what: "SSIM image of shape \(shape)", expected: "\(overflow ? "(overflow)" : String(product)) values",
                                         got: "\(truth.count)")
        }
        try InverseCheck.positive(dataRange, key: "SSIM dataRange")
        let kernel = try ssimKernel(window)
        let taps = kernel.weights.count
        guard n0 >= taps, n1 >= taps else {
            throw PDEError.invalidValue(key: "SSIM shape", value: "\(shape)",
                                        expected: "both sides ≥ the window size \(taps)")
        }
        return ssimMean(estimate, truth, n0: n0, n1: n1, weights: kernel.weights, postScale: kernel.postScale,
                        covNorm: kernel.covNorm, dataRange: dataRange)
    }

    // MARK: - Internals

    static func checkPair(_ a: [Double], _ b: [Double], _ what: String) throws {
        try InverseCheck.length(a.count, b.count, "\(what) estimate (truth has \(b.count) values)")
        guard !b.isEmpty else {
            throw PDEError.invalidValue(key: "\(what) input", value: "empty arrays", expected: "at least one value")
        }
    }


    /// 1-D taps (applied along each axis), a factor applied to the filtered values after both
    /// passes, and skimage's covariance normalization.
    struct SSIMKernel {
        let weights: [Double]
        let postScale: Double
        let covNorm: Double
    }

    static func ssimKernel(_ window: SSIMWindow) throws -> SSIMKernel {
        switch window {
        case .uniform(let size):
            guard size >= 3, size % 2 == 1 else {
                throw PDEError.invalidValue(key: "SSIM window size", value: "\(size)", expected: "an odd size ≥ 3")
            }
            let np = Double(size) * Double(size)
            // Sums of the box (weights 1), divided by NP once: the filtered mean.
            return SSIMKernel(weights: [Double](repeating: 1, count: size), postScale: 1 / np, covNorm: np / (np - 1))
        case .gaussian(let sigma):
            guard sigma > 0, sigma.isFinite, sigma < 1e6 else {
                throw PDEError.invalidValue(key: "SSIM Gaussian sigma", value: "\(sigma)", expected: "a finite number in (0, 1e6)")
            }
            // scipy.ndimage.gaussian_filter with truncate = 3.5 (skimage's choice).
            let radius = Int(3.5 * sigma + 0.5)
            let factor = -0.5 / (sigma * sigma)
            var w = (-radius...radius).map { x in Foundation.exp(factor * Double(x * x)) }
            let total = w.reduce(0, +)
            for i in w.indices { w[i] /= total }
            return SSIMKernel(weights: w, postScale: 1, covNorm: 1)
        }
    }

    /// The cropped SSIM-map mean: a horizontal pass over every row on the columns whose window
    /// stays inside the image, then a vertical pass on the rows whose window does, and the map
    /// evaluated row by row (nothing of size rows·cols besides the five row-filtered planes).
    static func ssimMean(_ x: [Double], _ y: [Double], n0: Int, n1: Int, weights: [Double], postScale: Double,
                         covNorm: Double, dataRange: Double) -> Double {
        let taps = weights.count
        let r = (taps - 1) / 2
        let cols = n1 - 2 * r, rows = n0 - 2 * r
        let plane = n0 * cols
        var filtered = [Double](repeating: 0, count: 5 * plane)
        var acc = [Double](repeating: 0, count: 5 * cols)
        let c1 = (0.01 * dataRange) * (0.01 * dataRange)
        let c2 = (0.03 * dataRange) * (0.03 * dataRange)
        var total = 0.0
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                weights.withUnsafeBufferPointer { wb in
                    filtered.withUnsafeMutableBufferPointer { fb in
                        acc.withUnsafeMutableBufferPointer { ab in
                            let xp = xb.baseAddress!, yp = yb.baseAddress!, wp = wb.baseAddress!
                            let hx = fb.baseAddress!, hy = hx + plane, hxx = hy + plane, hyy = hxx + plane, hxy = hyy + plane
                            // Horizontal pass: column j of the output is centred on input column j + r.
                            for i in 0..<n0 {
                                let xr = xp + i &* n1, yr = yp + i &* n1
                                let o = i &* cols
                                for j in 0..<cols {
                                    var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
                                    for k in 0..<taps {
                                        let w = wp[k]
                                        let a = xr[j &+ k], b = yr[j &+ k]
                                        let wa = w * a, wb = w * b
                                        sx += wa; sy += wb
                                        sxx += wa * a; syy += wb * b; sxy += wa * b
                                    }
                                    hx[o &+ j] = sx; hy[o &+ j] = sy
                                    hxx[o &+ j] = sxx; hyy[o &+ j] = syy; hxy[o &+ j] = sxy
                                }
                            }
                            // Vertical pass and the map, one output row at a time.
                            let ax = ab.baseAddress!, ay = ax + cols, axx = ay + cols, ayy = axx + cols, axy = ayy + cols
                            for i in 0..<rows {
                                for j in 0..<(5 &* cols) { ax[j] = 0 }
                                for k in 0..<taps {
                                    let w = wp[k]
                                    let o = (i &+ k) &* cols
                                    for j in 0..<cols {
                                        ax[j] += w * hx[o &+ j]
                                        ay[j] += w * hy[o &+ j]
                                        axx[j] += w * hxx[o &+ j]
                                        ayy[j] += w * hyy[o &+ j]
                                        axy[j] += w * hxy[o &+ j]
                                    }
                                }
                                var rowSum = 0.0
                                for j in 0..<cols {
                                    let ux = ax[j] * postScale, uy = ay[j] * postScale
                                    let uxx = axx[j] * postScale, uyy = ayy[j] * postScale, uxy = axy[j] * postScale
                                    let vx = covNorm * (uxx - ux * ux)
                                    let vy = covNorm * (uyy - uy * uy)
                                    let vxy = covNorm * (uxy - ux * uy)
                                    let a1 = 2 * ux * uy + c1, a2 = 2 * vxy + c2
                                    let b1 = ux * ux + uy * uy + c1, b2 = vx + vy + c2
                                    rowSum += (a1 * a2) / (b1 * b2)
                                }
                                total += rowSum
                            }
                        }
                    }
                }
            }
        }
        return total / (Double(rows) * Double(cols))
    }
}
