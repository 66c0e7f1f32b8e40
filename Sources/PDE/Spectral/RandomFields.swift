import Dispatch
import Foundation

/// A Gaussian random field on a `PeriodicGrid` (1–3-D) with covariance operator
/// C = σ²(−Δ + τ²I)^(−α), sampled spectrally: with the orthonormal Fourier modes
/// e^{ik·x}/√V (k the angular wavenumbers 2πm/L, V the torus volume), the eigenvalues are
/// λ_k = σ²(|k|² + τ²)^(−α) and
///
///     u(x) = Σ_k √(λ_k/V) ζ_k e^{ik·x},   ζ complex standard normal with ζ_{−k} = conj(ζ_k),
///
/// truncated to the grid's modes; so E|û_k|² = N²λ_k/V for the unnormalized DFT û of the N
/// values, and the pointwise variance is Σ_k λ_k/V (`pointwiseVariance`).
/// With `zeroMean` the k = 0 mode is dropped.
///
/// Normals are drawn in one fixed order per sample (`normalCount` = N of them: the real
/// degrees of freedom of the half spectrum, C order, a conjugate pair drawn at its first
/// entry), so a seed gives the same fields whatever the thread count (`samples(_:using:
/// workers:)` draws every normal on the caller's thread first, then transforms in parallel).
///
/// The presets reproduce the statistics of the FNO data generators (`navierStokesVorticity`,
/// `burgersInitialCondition`).
public struct PeriodicGaussianRandomField: Sendable {
    /// The grid the field lives on (values x fastest).
    public let grid: PeriodicGrid
    /// Smoothness exponent α.
    public let alpha: Double
    /// Inverse length scale τ.
    public let tau: Double
    /// Amplitude σ (the covariance is σ²(−Δ + τ²I)^(−α)).
    public let sigma: Double
    /// True when the mean (k = 0) mode is zero.
    public let zeroMean: Bool

    /// √(λ_k/V) per half-spectrum entry (C order of `grid.halfSpectrumShape`).
    let amplitude: [Double]
    /// Per half-spectrum entry: the entry whose conjugate it is (kx = 0 and Nyquist planes),
    /// itself for a self-conjugate entry, −1 for an entry without a partner in the half spectrum.
    let partner: [Int]

    /// The field of covariance σ²(−Δ + τ²I)^(−α) on `grid`. Throws `PDEError.invalidValue`
    /// unless α > 0, σ > 0 and τ ≥ 0 are finite (τ = 0 only with `zeroMean`).
    public init(grid: PeriodicGrid, alpha: Double, tau: Double, sigma: Double, zeroMean: Bool = true) throws {
        guard alpha > 0, alpha.isFinite else {
            throw PDEError.invalidValue(key: "random field alpha", value: "\(alpha)", expected: "a positive finite exponent")
        }
        guard tau >= 0, tau.isFinite, tau > 0 || zeroMean else {
            throw PDEError.invalidValue(key: "random field tau", value: "\(tau)",
                                        expected: zeroMean ? "a finite τ ≥ 0" : "a finite τ > 0 (τ = 0 needs a zero mean mode)")
        }
        guard sigma > 0, sigma.isFinite else {
            throw PDEError.invalidValue(key: "random field sigma", value: "\(sigma)", expected: "a positive finite amplitude")
        }
        self.grid = grid
        self.alpha = alpha
        self.tau = tau
        self.sigma = sigma
        self.zeroMean = zeroMean
        let ks = grid.halfSpectrumWavenumbers()
        let total = ks[0].count
        let volume = grid.lengths.reduce(1, *)
        var amp = [Double](repeating: 0, count: total)
        for l in 0..<total {
            var k2 = 0.0
            for d in 0..<grid.dimension { k2 += ks[d][l] * ks[d][l] }
            amp[l] = l == 0 && zeroMean ? 0 : sigma * Foundation.pow(k2 + tau * tau, -alpha / 2) / volume.squareRoot()
        }
        amplitude = amp
        // Partners: entries with kx = 0 (or kx = Nyquist, even nx) pair with the entry of the
        // negated other indices.
        let nx = grid.counts[0], m = nx / 2 + 1
        var part = [Int](repeating: -1, count: total)
        for l in 0..<total {
            let ix = l % m
            guard ix == 0 || (nx % 2 == 0 && ix == nx / 2) else { continue }
            var r = l / m, p = 0, stride = m
            for d in 1..<grid.dimension {
                let n = grid.counts[d], i = r % n
                r /= n
                p += ((n - i) % n) * stride
                stride *= n
            }
            part[l] = p + ix
        }
        partner = part
    }

    /// Navier–Stokes initial vorticity of the FNO data (`ns_2d.py`, `datagen_peer.py ns()`) on
    /// the n×n unit torus: α = 2.5, τ = 7, zero mean. The reference takes
    /// Re(ifft2(n²·√2·7^{3/2}(4π²|k|² + 49)^(−5/4)·(ξ₁ + iξ₂))), whose covariance is
    /// 2·7³(−Δ + 49I)^(−5/2) (the paper's "N(0, 7^{3/2}(−Δ + 49I)^{−2.5})"): σ = √2·7^{3/2} here.
    public static func navierStokesVorticity(pointsPerAxis n: Int) throws -> PeriodicGaussianRandomField {
        try PeriodicGaussianRandomField(grid: .unit(dimension: 2, pointsPerAxis: n), alpha: 2.5, tau: 7,
                                        sigma: 2.0.squareRoot() * Foundation.pow(7, 1.5), zeroMean: true)
    }

    /// Burgers initial condition of the FNO data (`datagen_peer.py burgers()`) on n points of
    /// the unit interval: u0 ~ N(0, 625(−Δ + 25I)^(−2)) (α = 2, τ = 5, σ = 25), zero mean. The
    /// reference takes irfft(n·25(4π²k² + 25)^(−1)(ξ₁ + iξ₂)/√2), the same statistics except
    /// at the Nyquist mode, whose imaginary part irfft drops (half its variance there;
    /// eigenvalue < 10⁻⁹ of the largest for n ≥ 64).
    public static func burgersInitialCondition(points n: Int) throws -> PeriodicGaussianRandomField {
        try PeriodicGaussianRandomField(grid: .unit(dimension: 1, pointsPerAxis: n), alpha: 2, tau: 5, sigma: 25, zeroMean: true)
    }

    /// Normals per sample: the grid's point count.
    public var normalCount: Int { grid.pointCount }

    /// λ_k = σ²(|k|² + τ²)^(−α) per half-spectrum entry (C order, x fastest; 0 for the mean
    /// with `zeroMean`): E|û_k|² = N²λ_k/V for the unnormalized DFT û of a sample.
    public func eigenvalues() -> [Double] {
        let volume = grid.lengths.reduce(1, *)
        return amplitude.map { $0 * $0 * volume }
    }

    /// Σ_k λ_k/V over the grid's modes: the variance of every value of a sample.
    public var pointwiseVariance: Double {
        var s = 0.0
        for l in 0..<amplitude.count { s += amplitude[l] * amplitude[l] * (partner[l] < 0 ? 2 : 1) }
        return s
    }

    /// The field (N values, x fastest) of the `normalCount` standard normals `normals`, in
    /// the documented order. Throws `PDEError.shapeMismatch` for another count.
    public func field(fromNormals normals: [Double]) throws -> [Double] {
        try TransformCheck.length(normals.count, normalCount, "random field normals")
        let fft = try RealFFT(shape: grid.numpyShape)
        return try normals.withUnsafeBufferPointer { try field(fft, $0) }
    }

    func field(_ fft: RealFFT, _ normals: UnsafeBufferPointer<Double>) throws -> [Double] {
        let total = amplitude.count
        var spectrum = [Double](repeating: 0, count: 2 * total)
        let h = 0.5.squareRoot()
        var i = 0
        for l in 0..<total {
            let p = partner[l], a = amplitude[l]
            if p == l {
                spectrum[2 * l] = a * normals[i]
                i += 1
            } else if p < 0 || p > l {
                spectrum[2 * l] = a * h * normals[i]
                spectrum[2 * l + 1] = a * h * normals[i + 1]
                i += 2
            } else {
                spectrum[2 * l] = spectrum[2 * p]
                spectrum[2 * l + 1] = -spectrum[2 * p + 1]
            }
        }
        assert(i == normals.count, "the half spectrum's degrees of freedom are the point count")
        var u = [Double](repeating: 0, count: normalCount)
        try fft.inverse(spectrum, into: &u)
        return u
    }

    /// One sample, drawing `normalCount` normals from `generator`.
    public func sample(using generator: inout SeededGenerator) throws -> [Double] {
        let xi = (0..<normalCount).map { _ in generator.normal() }
        return try field(fromNormals: xi)
    }

    /// `count` samples: every normal is drawn first (sample after sample, as `sample` would),
    /// then the fields are computed on `workers` threads; the result is the same for any
    /// worker count and equals `count` successive `sample` calls.
    public func samples(_ count: Int, using generator: inout SeededGenerator,
                        workers: Int = Parallel.workerCount) throws -> [[Double]] {
        let shape = grid.numpyShape
        return try RandomFieldSampling.run(count: count, normals: normalCount, generator: &generator, workers: workers) {
            let fft = try RealFFT(shape: shape)
            return { try self.field(fft, $0) }
        }
    }
}

/// The cosine (Karhunen–Loève, Neumann) Gaussian random field of the FNO Darcy data
/// (`GRF.m`, `datagen_peer.py darcy()`) on an s×s grid of the unit square:
///
///     ψ = idctn(s · coef · ξ, type 2, orthonormal),   coef_k = τ^(α−1)(π²|k|² + τ²)^(−α/2),
///
/// k = (k₁, k₂) ∈ [0, s)², coef₀₀ = 0, ξ an s×s array of standard normals (C order, k₂
/// fastest). The orthonormal inverse DCT-II is a DCT-III with weights 1/√s for k = 0 and
/// √(2/s) otherwise per axis; computed as FFTW's unnormalized DCT-III (X₀ + 2Σ X_k cos…)
/// of the coefficients times 1/√s (k = 0) or 1/√(2s) (k ≥ 1) per axis. Values come out in
/// the same C order (FNO treats them as the s×s nodes; the cosines are those of the cell
/// centres (j + ½)/s). Defaults α = 2, τ = 3; `darcyCoefficient` thresholds a sample.
public struct CosineGaussianRandomField: Sendable {
    /// Points per axis s.
    public let size: Int
    /// Smoothness exponent α.
    public let alpha: Double
    /// Inverse length scale τ.
    public let tau: Double
    /// s·coef_k times the two axes' DCT-III weights, per mode (C order).
    let scaledCoefficients: [Double]

    /// The field on s ≥ 2 points per axis; throws `PDEError.invalidValue` unless s ≥ 2 (and
    /// s² ≤ 2³¹) and α, τ are positive and finite.
    public init(size s: Int, alpha: Double = 2, tau: Double = 3) throws {
        guard s >= 2, s <= 46340 else {
            throw PDEError.invalidValue(key: "cosine random field size", value: "\(s)", expected: "2 to 46340 points per axis")
        }
        guard alpha > 0, alpha.isFinite else {
            throw PDEError.invalidValue(key: "cosine random field alpha", value: "\(alpha)", expected: "a positive finite exponent")
        }
        guard tau > 0, tau.isFinite else {
            throw PDEError.invalidValue(key: "cosine random field tau", value: "\(tau)", expected: "a positive finite τ")
        }
        size = s
        self.alpha = alpha
        self.tau = tau
        let n = Double(s)
        let weight = (0..<s).map { $0 == 0 ? 1 / n.squareRoot() : 1 / (2 * n).squareRoot() }
        var c = [Double](repeating: 0, count: s * s)
        let scale = Foundation.pow(tau, alpha - 1)
        for k1 in 0..<s {
            for k2 in 0..<s where k1 != 0 || k2 != 0 {
                let k2sum = Double(k1 * k1 + k2 * k2)
                let coef = scale * Foundation.pow(Double.pi * Double.pi * k2sum + tau * tau, -alpha / 2)
                c[k1 * s + k2] = n * coef * weight[k1] * weight[k2]
            }
        }
        scaledCoefficients = c
    }

    /// The coefficients τ^(α−1)(π²|k|² + τ²)^(−α/2) (coef₀₀ = 0), C order: the standard
    /// deviation of each orthonormal cosine mode is s times these.
    public func coefficients() -> [Double] {
        let n = Double(size)
        var out = [Double](repeating: 0, count: size * size)
        for k1 in 0..<size {
            for k2 in 0..<size {
                let w1 = k1 == 0 ? 1 / n.squareRoot() : 1 / (2 * n).squareRoot()
                let w2 = k2 == 0 ? 1 / n.squareRoot() : 1 / (2 * n).squareRoot()
                out[k1 * size + k2] = scaledCoefficients[k1 * size + k2] / (n * w1 * w2)
            }
        }
        return out
    }

    /// The s×s vertex grid of the unit square the FNO Darcy data puts the values on
    /// (value (i, j) in C order at x = j/(s−1), y = i/(s−1)).
    public var grid: Grid {
        // Valid by construction: s ≥ 2.
        try! Grid(counts: [size, size], lower: [0, 0], upper: [1, 1])
    }

    /// Normals per sample: s².
    public var normalCount: Int { size * size }

    /// The field of the s² standard normals `normals` (C order). Throws
    /// `PDEError.shapeMismatch` for another count.
    public func field(fromNormals normals: [Double]) throws -> [Double] {
        try TransformCheck.length(normals.count, normalCount, "cosine random field normals")
        let t = try RealToRealTransform(shape: [size, size], kinds: [.dct3, .dct3])
        return try normals.withUnsafeBufferPointer { try field(t, $0) }
    }

    func field(_ t: RealToRealTransform, _ normals: UnsafeBufferPointer<Double>) throws -> [Double] {
        var x = [Double](repeating: 0, count: normalCount)
        for i in 0..<normalCount { x[i] = scaledCoefficients[i] * normals[i] }
        var y = x
        try t.apply(x, into: &y)
        return y
    }

    /// One sample, drawing s² normals from `generator`.
    public func sample(using generator: inout SeededGenerator) throws -> [Double] {
        let xi = (0..<normalCount).map { _ in generator.normal() }
        return try field(fromNormals: xi)
    }

    /// `count` samples: normals drawn first in order, fields computed on `workers` threads;
    /// equal to `count` successive `sample` calls for any worker count.
    public func samples(_ count: Int, using generator: inout SeededGenerator,
                        workers: Int = Parallel.workerCount) throws -> [[Double]] {
        let s = size
        return try RandomFieldSampling.run(count: count, normals: normalCount, generator: &generator, workers: workers) {
            let t = try RealToRealTransform(shape: [s, s], kinds: [.dct3, .dct3])
            return { try self.field(t, $0) }
        }
    }

    /// The Darcy coefficient of the FNO data: `high` (12) where the field is ≥ 0, else `low` (3).
    public static func darcyCoefficient(_ field: [Double], high: Double = 12, low: Double = 3) -> [Double] {
        field.map { $0 >= 0 ? high : low }
    }
}

/// Shared batch sampling: all normals drawn in order on the caller's thread, then one
/// transform object per worker.
enum RandomFieldSampling {
    static func run(count: Int, normals perSample: Int, generator: inout SeededGenerator, workers: Int,
                    makeWorker: () throws -> (UnsafeBufferPointer<Double>) throws -> [Double]) throws -> [[Double]] {
        guard count >= 0 else {
            throw PDEError.invalidValue(key: "random field sample count", value: "\(count)", expected: "a count ≥ 0")
        }
        guard workers >= 1 else {
            throw PDEError.invalidValue(key: "random field workers", value: "\(workers)", expected: "at least 1 worker")
        }
        var xi = [Double](repeating: 0, count: count * perSample)
        for i in 0..<xi.count { xi[i] = generator.normal() }
        let w = max(1, min(workers, count))
        var transforms: [(UnsafeBufferPointer<Double>) throws -> [Double]] = []
        for _ in 0..<w { transforms.append(try makeWorker()) }
        var out = [[Double]](repeating: [], count: count)
        var failure: [Error?] = Array(repeating: nil, count: w)
        xi.withUnsafeBufferPointer { all in
            out.withUnsafeMutableBufferPointer { res in
                failure.withUnsafeMutableBufferPointer { fail in
                    let (allp, resp, failp) = (all, res, fail)
                    let body = { (worker: Int) in
                        for i in stride(from: worker, to: count, by: w) {
                            do {
                                resp[i] = try transforms[worker](UnsafeBufferPointer(rebasing: allp[(i * perSample)..<((i + 1) * perSample)]))
                            } catch { failp[worker] = error; return }
                        }
                    }
                    if w == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: w, execute: body) }
                }
            }
        }
        if let e = failure.compactMap({ $0 }).first { throw e }
        return out
    }
}
