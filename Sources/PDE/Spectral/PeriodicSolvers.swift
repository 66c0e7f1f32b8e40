import Foundation

/// Spectral solver for (−Δ + σ)u = f on a periodic grid (1–3-D): Poisson (σ = 0), the
/// positive ("modified") Helmholtz equation (σ > 0) and the indefinite Helmholtz equation
/// (σ < 0, away from resonances). Exact for trigonometric polynomials the grid resolves:
/// û_k = f̂_k / (|k|² + σ) with k the angular wavenumbers.
///
/// With σ = 0 the mean of u is free: the solution with zero mean is returned, and f must have
/// zero mean (`solve` throws otherwise, since no periodic u exists). Not thread-safe (it keeps
/// FFT scratch): use one solver per thread.
public final class PeriodicHelmholtz {
    /// The torus.
    public let grid: PeriodicGrid
    /// The shift σ in (−Δ + σ)u = f.
    public let shift: Double
    private let fft: RealFFT
    private let symbol: [Double]
    private var spectrum: [Double]

    /// Throws `PDEError.invalidValue` for a non-finite σ, or one that makes a resolved mode
    /// resonant (|k|² + σ = 0 for some k ≠ 0).
    public init(grid: PeriodicGrid, shift: Double = 0) throws {
        guard shift.isFinite else {
            throw PDEError.invalidValue(key: "Helmholtz shift", value: "\(shift)", expected: "a finite number")
        }
        self.grid = grid
        self.shift = shift
        fft = try RealFFT(shape: grid.numpyShape)
        let k = grid.halfSpectrumWavenumbers()
        symbol = (0..<k[0].count).map { l in (0..<grid.dimension).reduce(shift) { $0 + k[$1][l] * k[$1][l] } }
        let scale = symbol.reduce(0) { max($0, abs($1)) }
        for (l, s) in symbol.enumerated() where l > 0 && abs(s) <= 1e-12 * scale {
            throw PDEError.invalidValue(key: "Helmholtz shift", value: "\(shift)",
                                        expected: "no resonance: |k|² + σ = 0 for the mode at half-spectrum index \(l)")
        }
        spectrum = [Double](repeating: 0, count: 2 * fft.complexCount)
    }

    /// u with (−Δ + σ)u = f (values x fastest). Throws `PDEError.shapeMismatch` for a wrong
    /// length and `.invalidValue` for f with a nonzero mean when σ = 0.
    public func solve(_ f: [Double]) throws -> [Double] {
        try TransformCheck.length(f.count, grid.pointCount, "periodic Helmholtz right-hand side")
        try fft.forward(f, into: &spectrum)
        let n = Double(grid.pointCount)
        if symbol[0] == 0 {
            let mean = spectrum[0] / n
            let size = Vectors.maxAbs(f)
            guard abs(mean) <= 1e-12 * max(size, 1e-300) else {
                throw PDEError.invalidValue(key: "right-hand side mean", value: "\(mean)",
                                            expected: "zero for periodic Poisson (∫f = 0 is needed for a periodic solution)")
            }
        }
        for l in 0..<symbol.count {
            let s = symbol[l] == 0 ? 0 : 1 / (symbol[l] * n)
            spectrum[2 * l] *= s
            spectrum[2 * l + 1] *= s
        }
        var u = [Double](repeating: 0, count: grid.pointCount)
        try fft.inverse(spectrum, into: &u)
        return u
    }
}

/// The heat equation u_t = κΔu + f (f constant in time) on a periodic grid, integrated
/// exactly in time mode by mode: û_k(t) = e^{−κ|k|²t} û_k(0) + (1 − e^{−κ|k|²t})/(κ|k|²) f̂_k
/// (t·f̂_0 for the mean). No time-step restriction and no time-discretization error.
public final class PeriodicHeat {
    /// The torus.
    public let grid: PeriodicGrid
    /// The diffusivity κ > 0.
    public let diffusivity: Double
    private let fft: RealFFT
    private let k2: [Double]
    private var spectrum: [Double], source: [Double]

    /// Throws `PDEError.invalidValue` unless κ > 0 and finite.
    public init(grid: PeriodicGrid, diffusivity: Double) throws {
        guard diffusivity > 0, diffusivity.isFinite else {
            throw PDEError.invalidValue(key: "diffusivity", value: "\(diffusivity)", expected: "a positive finite number")
        }
        self.grid = grid
        self.diffusivity = diffusivity
        fft = try RealFFT(shape: grid.numpyShape)
        let k = grid.halfSpectrumWavenumbers()
        k2 = (0..<k[0].count).map { l in (0..<grid.dimension).reduce(0.0) { $0 + k[$1][l] * k[$1][l] } }
        spectrum = [Double](repeating: 0, count: 2 * fft.complexCount)
        source = spectrum
    }

    /// u(t) from u(0) = `initial` with source `f` (zero when nil). Throws
    /// `PDEError.shapeMismatch` for wrong lengths and `.invalidValue` for t < 0.
    public func evolve(_ initial: [Double], time t: Double, source f: [Double]? = nil) throws -> [Double] {
        guard t >= 0, t.isFinite else { throw PDEError.invalidValue(key: "time", value: "\(t)", expected: "a finite t ≥ 0") }
        try TransformCheck.length(initial.count, grid.pointCount, "heat equation initial value")
        try fft.forward(initial, into: &spectrum)
        if let f {
            try TransformCheck.length(f.count, grid.pointCount, "heat equation source")
            try fft.forward(f, into: &source)
        }
        let n = Double(grid.pointCount)
        for l in 0..<k2.count {
            let rate = diffusivity * k2[l]
            let decay = Foundation.exp(-rate * t)
            let gain = rate > 0 ? -Foundation.expm1(-rate * t) / rate : t
            for c in 0..<2 {
                var v = decay * spectrum[2 * l + c]
                if f != nil { v += gain * source[2 * l + c] }
                spectrum[2 * l + c] = v / n
            }
        }
        var u = [Double](repeating: 0, count: grid.pointCount)
        try fft.inverse(spectrum, into: &u)
        return u
    }
}
