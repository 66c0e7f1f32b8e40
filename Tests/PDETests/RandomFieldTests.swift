import Foundation
import Testing
@testable import PDE

/// Average |û_k|² (unnormalized DFT, half spectrum) over samples.
private func averagePowerSpectrum(_ samples: [[Double]], shape: [Int]) throws -> [Double] {
    let fft = try RealFFT(shape: shape)
    var spec = [Double](repeating: 0, count: 2 * fft.complexCount)
    var power = [Double](repeating: 0, count: fft.complexCount)
    for u in samples {
        try fft.forward(u, into: &spec)
        for k in 0..<power.count { power[k] += spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1] }
    }
    return power.map { $0 / Double(samples.count) }
}

/// True for half-spectrum entries that are their own conjugate (real: one degree of freedom).
private func selfConjugate(_ l: Int, counts: [Int]) -> Bool {
    let m = counts[0] / 2 + 1
    var r = l / m
    let ix = l % m
    guard ix == 0 || (counts[0] % 2 == 0 && ix == counts[0] / 2) else { return false }
    for d in 1..<counts.count {
        let i = r % counts[d]
        r /= counts[d]
        guard i == 0 || (counts[d] % 2 == 0 && i == counts[d] / 2) else { return false }
    }
    return true
}

@Suite struct RandomFieldTests {
    /// (a) Per mode, the average of |û_k|² over 200 samples against N²λ_k/V: relative error
    /// within 4 standard deviations of the estimator (4/√200 for complex modes, 4√2/√200 for
    /// real ones) on a 1-D, an anisotropic 2-D and a 3-D grid, odd and even counts.
    @Test(arguments: [([12], [2.0]), ([8, 6], [1.0, 2.0]), ([4, 5, 4], [1.0, 1.0, 3.0])])
    func sampleSpectraMatchTheCovariance(counts: [Int], lengths: [Double]) throws {
        let grid = try PeriodicGrid(counts: counts, lengths: lengths)
        let field = try PeriodicGaussianRandomField(grid: grid, alpha: 1.5, tau: 2, sigma: 3, zeroMean: false)
        var g = SeededGenerator(seed: 42)
        let count = 200
        let samples = try field.samples(count, using: &g)
        let power = try averagePowerSpectrum(samples, shape: grid.numpyShape)
        let n = Double(grid.pointCount), volume = lengths.reduce(1, *)
        let lambda = field.eigenvalues()
        let ks = grid.halfSpectrumWavenumbers()
        for l in 0..<power.count {
            let k2 = (0..<counts.count).reduce(0.0) { $0 + ks[$1][l] * ks[$1][l] }
            #expect(abs(lambda[l] - 9 * pow(k2 + 4, -1.5)) <= 1e-14 * lambda[l])
            let target = n * n * lambda[l] / volume
            let tolerance = 4 * (selfConjugate(l, counts: counts) ? 2.0.squareRoot() : 1) / Double(count).squareRoot()
            #expect(abs(power[l] / target - 1) < tolerance, "mode \(l) of \(counts): \(power[l]) vs \(target)")
        }
        // Pointwise variance over all values and samples vs Σ λ_k/V.
        let variance = samples.joined().reduce(0) { $0 + $1 * $1 } / Double(count * grid.pointCount)
        #expect(abs(variance / field.pointwiseVariance - 1) < 4 * 2.0.squareRoot() / Double(count).squareRoot())
    }

    /// The presets' per-mode variances are the reference generators' formulas (FNO ns_2d.py /
    /// datagen_peer.py): NS E|ŵ_k|² = (n²·√2·7^{3/2}(4π²|k|² + 49)^{−5/4})², Burgers
    /// E|û_k|² = (n·25(4π²k² + 25)^{−1})², both zero mean; and 200 NS samples on 16² have that
    /// spectrum (per-mode tolerance as above).
    @Test func presetsHaveTheReferenceStatistics() throws {
        let n = 16
        let ns = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: n)
        let ks = ns.grid.halfSpectrumWavenumbers()
        let lambda = ns.eigenvalues()
        var reference = [Double](repeating: 0, count: lambda.count)
        for l in 0..<lambda.count where l != 0 {
            let k2 = ks[0][l] * ks[0][l] + ks[1][l] * ks[1][l]
            let s = Double(n * n) * 2.0.squareRoot() * pow(7, 1.5) * pow(k2 + 49, -1.25)
            reference[l] = s * s
            #expect(abs(Double(n * n * n * n) * lambda[l] / reference[l] - 1) < 1e-13)
        }
        #expect(lambda[0] == 0)
        var g = SeededGenerator(seed: 7)
        let power = try averagePowerSpectrum(try ns.samples(200, using: &g), shape: [n, n])
        for l in 1..<power.count {
            let tolerance = 4 * (selfConjugate(l, counts: [n, n]) ? 2.0.squareRoot() : 1) / 200.0.squareRoot()
            #expect(abs(power[l] / reference[l] - 1) < tolerance, "NS mode \(l)")
        }
        let m = 64
        let burgers = try PeriodicGaussianRandomField.burgersInitialCondition(points: m)
        let bl = burgers.eigenvalues()
        #expect(bl[0] == 0)
        for k in 1..<(m / 2) {
            let s = Double(m) * 25 / (4 * Double.pi * Double.pi * Double(k * k) + 25)
            #expect(abs(Double(m * m) * bl[k] / (s * s) - 1) < 1e-13)
        }
    }

    /// The pointwise variance of the presets against samples of the reference generators'
    /// own numpy code (400 samples each): within 4√2/√400 ≈ 0.28 relative (values within a
    /// sample are correlated, so this is loose; observed differences are a few percent).
    @Test(.enabled(if: Python.has("numpy"), "needs numpy"))
    func presetsMatchTheReferenceGeneratorsVariance() throws {
        let script = """
        import numpy as np, math
        rng = np.random.default_rng(0)
        n, alpha, tau, b = 16, 2.5, 7.0, 400
        kk = np.fft.fftfreq(n, d=1.0 / n); kx, ky = np.meshgrid(kk, kk, indexing='ij')
        sigma = tau ** (0.5 * (2 * alpha - 2))
        se = n * n * math.sqrt(2.0) * sigma * (4 * math.pi**2 * (kx**2 + ky**2) + tau**2) ** (-alpha / 2); se[0, 0] = 0
        w0 = np.fft.ifft2(se * (rng.standard_normal((b, n, n)) + 1j * rng.standard_normal((b, n, n)))).real
        m = 64; k = np.fft.rfftfreq(m, d=1.0 / m); coef = 25.0 * (4 * np.pi**2 * k**2 + 25.0) ** -1.0
        xi = (rng.standard_normal((b, k.size)) + 1j * rng.standard_normal((b, k.size))) / math.sqrt(2)
        vh = m * coef * xi; vh[:, 0] = 0
        u0 = np.fft.irfft(vh, n=m, axis=1)
        print(np.mean(w0**2), np.mean(u0**2))
        """
        let r = Python.run(script)
        #expect(r.status == 0, "\(r.output)")
        let values = r.output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        try #require(values.count == 2, "\(r.output)")
        let ns = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: 16)
        let burgers = try PeriodicGaussianRandomField.burgersInitialCondition(points: 64)
        let tolerance = 4 * 2.0.squareRoot() / 20
        #expect(abs(values[0] / ns.pointwiseVariance - 1) < tolerance, "NS: reference \(values[0]), ours \(ns.pointwiseVariance)")
        #expect(abs(values[1] / burgers.pointwiseVariance - 1) < tolerance, "Burgers: reference \(values[1]), ours \(burgers.pointwiseVariance)")
        var g = SeededGenerator(seed: 5)
        let ours = try ns.samples(400, using: &g).joined().reduce(0) { $0 + $1 * $1 } / Double(400 * 256)
        #expect(abs(ours / values[0] - 1) < 2 * tolerance)
    }

    /// (b) A seed gives the same fields whatever the batch and worker count.
    @Test func seededAndIndependentOfChunking() throws {
        let field = try PeriodicGaussianRandomField(grid: .unit(dimension: 2, pointsPerAxis: 10), alpha: 2, tau: 3, sigma: 1)
        let cosine = try CosineGaussianRandomField(size: 9)
        typealias Draw = (inout SeededGenerator, Int, Int) throws -> [[Double]]
        let draws: [(Draw, String)] = [({ g, c, w in try field.samples(c, using: &g, workers: w) }, "periodic"),
                                       ({ g, c, w in try cosine.samples(c, using: &g, workers: w) }, "cosine")]
        for (draw, name) in draws {
            var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9), g3 = SeededGenerator(seed: 9)
            let one = try (0..<4).flatMap { _ in try draw(&g1, 1, 1) }
            let four = try draw(&g2, 4, 1)
            let threaded = try draw(&g3, 4, 3)
            #expect(one == four, "\(name)")
            #expect(four == threaded, "\(name)")
            #expect(g1.state == g3.state, "\(name): the same normals were drawn")
            var g4 = SeededGenerator(seed: 10)
            #expect(try draw(&g4, 1, 1)[0] != one[0])
        }
        var g5 = SeededGenerator(seed: 9), g7 = SeededGenerator(seed: 9)
        let single = try field.sample(using: &g5)
        #expect(single == (try field.samples(1, using: &g7)[0]))
        // Zero mean: every sample sums to zero.
        var g6 = SeededGenerator(seed: 1)
        #expect(abs(try field.sample(using: &g6).reduce(0, +)) < 1e-12)
    }

    /// (c) The cosine field equals scipy's idctn(s·coef·ξ, type=2, norm='ortho') on the same
    /// normals (the FNO Darcy generator), to 1e-12 relative, for even and odd s.
    @Test(.enabled(if: Python.has("numpy", "scipy"), "needs numpy and scipy"))
    func cosineFieldMatchesScipy() throws {
        let dir = makeTemporaryFolder()
        for s in [12, 7] {
            let field = try CosineGaussianRandomField(size: s, alpha: 2, tau: 3)
            var g = SeededGenerator(seed: UInt64(s))
            let xi = (0..<field.normalCount).map { _ in g.normal() }
            try NPY.write(xi, shape: [s, s], to: "\(dir)/xi\(s).npy")
            let script = """
            import numpy as np, scipy.fft as sfft
            s, alpha, tau = \(s), 2.0, 3.0
            k = np.arange(s); k1, k2 = np.meshgrid(k, k, indexing='ij')
            coef = tau ** (alpha - 1) * (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2); coef[0, 0] = 0.0
            psi = sfft.idctn(s * coef * np.load('\(dir)/xi\(s).npy'), type=2, norm='ortho')
            np.save('\(dir)/psi\(s).npy', psi)
            np.save('\(dir)/coef\(s).npy', coef)
            """
            let r = Python.run(script)
            #expect(r.status == 0, "\(r.output)")
            let psi = try NPY.read("\(dir)/psi\(s).npy").doubles
            let ours = try field.field(fromNormals: xi)
            #expect(maxAbsDifference(ours, psi) < 1e-12 * Vectors.maxAbs(psi), "s = \(s): \(maxAbsDifference(ours, psi))")
            #expect(maxAbsDifference(field.coefficients(), try NPY.read("\(dir)/coef\(s).npy").doubles) < 1e-15)
            let a = CosineGaussianRandomField.darcyCoefficient(ours)
            #expect(zip(a, psi).allSatisfy { $0.0 == ($0.1 >= 0 ? 12 : 3) })
        }
    }

    /// (d) Bad parameters are typed errors.
    @Test func badParametersAreTypedErrors() throws {
        let grid = try PeriodicGrid.unit(dimension: 2, pointsPerAxis: 8)
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: 0, tau: 1, sigma: 1) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: .infinity, tau: 1, sigma: 1) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: 2, tau: -1, sigma: 1) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: 2, tau: 0, sigma: 1, zeroMean: false) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: 2, tau: 1, sigma: 0) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField(grid: grid, alpha: 2, tau: 1, sigma: .nan) }
        #expect(throws: PDEError.self) { try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: 1) }
        let f = try PeriodicGaussianRandomField(grid: grid, alpha: 2, tau: 0, sigma: 1)
        #expect(throws: PDEError.self) { try f.field(fromNormals: [1, 2, 3]) }
        var g = SeededGenerator(seed: 0)
        #expect(throws: PDEError.self) { try f.samples(-1, using: &g) }
        #expect(throws: PDEError.self) { try f.samples(2, using: &g, workers: 0) }
        #expect(throws: PDEError.self) { try CosineGaussianRandomField(size: 1) }
        #expect(throws: PDEError.self) { try CosineGaussianRandomField(size: 8, alpha: -2) }
        #expect(throws: PDEError.self) { try CosineGaussianRandomField(size: 8, tau: 0) }
        #expect(throws: PDEError.self) { try CosineGaussianRandomField(size: 8).field(fromNormals: [0]) }
    }
}
