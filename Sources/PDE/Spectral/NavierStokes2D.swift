import CFFTW
import Foundation

/// 2-D incompressible Navier–Stokes in vorticity–streamfunction form on the torus
/// [0, L)², N × N points, pseudo-spectral:
///
///     w_t + u·∇w = ν Δw + f,   u = (ψ_y, −ψ_x),   −Δψ = w.
///
/// Fields are `PeriodicGrid` values (x fastest, numpy shape `[N, N]` = `[y, x]`); the
/// FNO data (and `datagen_peer.py`) index their arrays `[x, y]`, i.e. the transpose.
///
/// The arithmetic is the FNO generator's (`ns_2d.py`, re-implemented by the `ns` case of
/// `datagen_peer.py`): ψ̂ = ŵ / |k|² with the (0, 0) entry of |k|² set to 1 (in the
/// Crank–Nicolson factors too), velocities and vorticity gradients by spectral
/// derivatives, F̂ = mask · FFT(u·w_x + v·w_y) with the 2/3 mask |k_x|, |k_y| ≤ (2/3)(N/2)
/// (integer wavenumbers), and Crank–Nicolson for ν Δw. Derivatives at the Nyquist
/// wavenumber follow what numpy/torch `irfft2` do on the generator's `[x, y]` arrays, so
/// that results agree to rounding: ∂_y drops the y-Nyquist modes, ∂_x multiplies the
/// x-Nyquist mode (N/2, k_y) by −(N/2)·sign(k_y) (zero for k_y = 0 and the y-Nyquist).
///
/// Vorticity on the torus has zero mean (w is a curl); the forcing should too. The mean
/// mode is carried along untouched by the nonlinear term and, as in the generator, decays by
/// (1 − ½dtν)/(1 + ½dtν) per step.
///
/// `NavierStokes2D` is the configuration (a value, `Sendable`, with precomputed tables);
/// `NavierStokes2D.Integrator` holds the state and scratch of a batch (one per thread);
/// `evolve` runs a batch to a list of snapshot times. Every step checks the advective CFL
/// number max(|u|, |v|)·dt/h against `cflLimit` and refuses the step with a
/// `NavierStokesCFLViolation` (state unchanged) when it is exceeded.
public struct NavierStokes2D: Sendable {
    /// Time-stepping schemes; both treat ν Δw by Crank–Nicolson.
    public enum Scheme: String, Sendable, CaseIterable, CustomStringConvertible {
        /// The FNO generator's scheme: Crank–Nicolson viscosity, forward Euler advection and
        /// forcing, ŵ ← (−dt F̂ + dt f̂ + (1 − ½dtν|k|²) ŵ) / (1 + ½dtν|k|²). First order.
        case crankNicolsonEuler = "cn-euler"
        /// Crank–Nicolson viscosity with Heun's predictor–corrector for advection: the
        /// Euler step above gives w*, then ŵ ← (−½dt (F̂(w) + F̂(w*)) + dt f̂ + (1 − ½dtν|k|²) ŵ)
        /// / (1 + ½dtν|k|²). Second order, two nonlinear evaluations per step.
        case crankNicolsonHeun = "cn-heun"

        /// Order of accuracy in time.
        public var order: Int { self == .crankNicolsonEuler ? 1 : 2 }

        /// One step on the spectrum `w` in place, through a solver's `nonlinear(w, into: F̂)` and
        /// `update(src, F̂₀, F̂₁?, into: dst)` kernels (the serial and the distributed integrators'):
        /// Euler, or Heun's predictor into `predictor` and corrector.
        func step(_ w: UnsafeMutablePointer<Double>, predictor: UnsafeMutablePointer<Double>,
                  stage0: UnsafeMutablePointer<Double>, stage1: UnsafeMutablePointer<Double>,
                  nonlinear: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) throws -> Void,
                  update: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>?,
                           UnsafeMutablePointer<Double>) -> Void) throws {
            switch self {
            case .crankNicolsonEuler:
                try nonlinear(w, stage0)
                update(w, stage0, nil, w)
            case .crankNicolsonHeun:
                try nonlinear(w, stage0)
                update(w, stage0, nil, predictor)
                try nonlinear(predictor, stage1)
                update(w, stage0, stage1, w)
            }
        }
        /// Nonlinear-term evaluations (5 FFTs each) per step.
        public var stages: Int { self == .crankNicolsonEuler ? 1 : 2 }
        public var description: String { rawValue }
    }

    /// Dealiasing of the nonlinear term.
    public enum Dealiasing: String, Sendable, CaseIterable {
        /// Keep the modes with |k_x| ≤ (2/3)(N/2) and |k_y| ≤ (2/3)(N/2), integer wavenumbers
        /// (Orszag's 2/3 rule, as in the FNO generator).
        case twoThirds = "2/3"
        /// Keep every mode (aliasing errors included).
        case none
    }

    /// Diagnostics of one vorticity field (integrals over the torus, exact for band-limited fields).
    public struct Diagnostics: Sendable, Equatable, CustomStringConvertible {
        /// Kinetic energy ½∫|u|².
        public var kineticEnergy: Double
        /// Enstrophy ½∫w².
        public var enstrophy: Double
        /// max |w| over the grid points.
        public var maxVorticity: Double
        /// max(|u|, |v|) over the grid points (what the CFL number uses).
        public var maxVelocity: Double

        public var description: String {
            String(format: "energy %.6g, enstrophy %.6g, max|w| %.6g, max|u| %.6g", kineticEnergy, enstrophy, maxVorticity, maxVelocity)
        }
    }

    /// What a monitor of `evolve` receives at each snapshot.
    public struct Snapshot: Sendable {
        /// Index into the requested times.
        public var index: Int
        /// Time of the snapshot (a whole number of steps).
        public var time: Double
        /// Steps taken since the initial condition.
        public var step: Int
        /// Per sample.
        public var diagnostics: [Diagnostics]
    }

    /// The periodic grid (2-D, square: N × N points, equal periods).
    public let grid: PeriodicGrid
    /// Kinematic viscosity ν ≥ 0.
    public let viscosity: Double
    /// Time step dt > 0.
    public let timeStep: Double
    /// The time-stepping scheme.
    public let scheme: Scheme
    /// Vorticity forcing f on the grid (x fastest), constant in time; nil for none.
    public let forcing: [Double]?
    /// Dealiasing of the nonlinear term.
    public let dealiasing: Dealiasing
    /// Largest advective CFL number max(|u|, |v|)·dt/h a step accepts.
    public let cflLimit: Double
    let tables: Tables

    /// N, points per axis.
    public var pointsPerAxis: Int { grid.counts[0] }
    /// Period L of both axes.
    public var period: Double { grid.lengths[0] }
    /// Point distance h = L / N.
    public var spacing: Double { grid.spacing[0] }

    /// Configures the solver. Throws `PDEError.invalidValue` unless the grid is 2-D and
    /// square with at least 4 points per axis, ν ≥ 0, dt > 0 and the CFL limit > 0 are
    /// finite, and `PDEError.shapeMismatch`/`invalidValue` for a forcing that is not N²
    /// finite values.
    public init(grid: PeriodicGrid, viscosity: Double, timeStep: Double, scheme: Scheme = .crankNicolsonEuler,
                forcing: [Double]? = nil, dealiasing: Dealiasing = .twoThirds, cflLimit: Double = 1) throws {
        try Self.validate(grid: grid, viscosity: viscosity, timeStep: timeStep, cflLimit: cflLimit)
        if let f = forcing {
            guard f.count == grid.pointCount else {
                throw PDEError.shapeMismatch(what: "Navier–Stokes forcing", expected: "\(grid.pointCount) values (N × N, x fastest)", got: "\(f.count)")
            }
            if let i = f.firstIndex(where: { !$0.isFinite }) {
                throw PDEError.invalidValue(key: "Navier–Stokes forcing[\(i)]", value: "\(f[i])", expected: "finite values")
            }
        }
        self.grid = grid
        self.viscosity = viscosity
        self.timeStep = timeStep
        self.scheme = scheme
        self.forcing = forcing
        self.dealiasing = dealiasing
        self.cflLimit = cflLimit
        tables = try Tables(n: grid.counts[0], period: grid.lengths[0], viscosity: viscosity, dt: timeStep,
                            dealias: dealiasing, forcing: forcing)
    }

    /// The configuration checks of `init` apart from the forcing (shared with
    /// `DistributedNavierStokes2D`).
    static func validate(grid: PeriodicGrid, viscosity: Double, timeStep: Double, cflLimit: Double) throws {
        guard grid.dimension == 2, grid.counts[0] == grid.counts[1], grid.lengths[0] == grid.lengths[1], grid.counts[0] >= 4 else {
            throw PDEError.invalidValue(key: "Navier–Stokes grid", value: grid.description,
                                        expected: "a 2-D square torus (N × N points, N ≥ 4, equal periods)")
        }
        guard viscosity >= 0, viscosity.isFinite else {
            throw PDEError.invalidValue(key: "Navier–Stokes viscosity", value: "\(viscosity)", expected: "a finite value ≥ 0")
        }
        guard timeStep > 0, timeStep.isFinite else {
            throw PDEError.invalidValue(key: "Navier–Stokes time step", value: "\(timeStep)", expected: "a finite value > 0")
        }
        guard cflLimit > 0, cflLimit.isFinite else {
            throw PDEError.invalidValue(key: "Navier–Stokes CFL limit", value: "\(cflLimit)", expected: "a finite value > 0")
        }
    }

    /// The FNO forcing 0.1·(sin 2π(x + y)/L + cos 2π(x + y)/L) on `grid` (x fastest).
    public static func fnoForcing(on grid: PeriodicGrid) -> [Double] {
        let s = 2 * Double.pi / grid.lengths[0]
        return grid.sample { p in
            let a = s * (p[0] + p[1])
            return 0.1 * (sin(a) + cos(a))
        }
    }

    /// The FNO data set's configuration on the unit torus with N × N points: ν = 1e-3
    /// (or `viscosity`), dt = 1e-4, the FNO forcing, 2/3 dealiasing, `scheme`.
    public static func fno(pointsPerAxis n: Int, viscosity: Double = 1e-3, timeStep: Double = 1e-4,
                           scheme: Scheme = .crankNicolsonEuler) throws -> NavierStokes2D {
        let g = try PeriodicGrid.unit(dimension: 2, pointsPerAxis: n)
        return try NavierStokes2D(grid: g, viscosity: viscosity, timeStep: timeStep, scheme: scheme, forcing: fnoForcing(on: g))
    }

    /// The field after `count` steps from `w` (CFL-checked; throws `NavierStokesCFLViolation`).
    public func step(_ w: [Double], count: Int = 1) throws -> [Double] {
        let it = try Integrator(self, initial: [w])
        try it.step(count)
        return it.vorticity()[0]
    }

    /// Snapshots of one sample at `times` (each a whole number of steps, non-decreasing,
    /// ≥ 0; time 0 is the initial field): `[snapshot][point]`. `monitor` is called after
    /// each snapshot with its diagnostics. Throws `PDEError` for bad inputs and
    /// `NavierStokesCFLViolation` when a step would exceed the CFL limit.
    public func evolve(_ w0: [Double], to times: [Double], monitor: ((Snapshot) -> Void)? = nil) throws -> [[Double]] {
        try evolve(batch: [w0], to: times, monitor: monitor)[0]
    }

    /// Snapshots of a batch evolved together (batched FFTs): `[sample][snapshot][point]`.
    /// Same rules as `evolve(_:to:monitor:)`; a CFL violation of any sample stops the batch.
    public func evolve(batch w0: [[Double]], to times: [Double], monitor: ((Snapshot) -> Void)? = nil) throws -> [[[Double]]] {
        let steps = try stepCounts(times)
        let it = try Integrator(self, initial: w0)
        var out = [[[Double]]](repeating: [], count: w0.count)
        for s in out.indices { out[s].reserveCapacity(times.count) }
        for (i, target) in steps.enumerated() {
            try it.step(target - it.stepCount)
            for (s, w) in it.vorticity().enumerated() { out[s].append(w) }
            if let monitor {
                monitor(Snapshot(index: i, time: it.time, step: it.stepCount, diagnostics: it.diagnostics()))
            }
        }
        return out
    }

    /// The step numbers of `times`; throws `PDEError.invalidValue` for negative, decreasing,
    /// non-finite times or times that are not whole numbers of steps.
    public func stepCounts(_ times: [Double]) throws -> [Int] {
        var previous = 0
        return try times.enumerated().map { i, t in
            let k = (t / timeStep).rounded()
            guard t.isFinite, t >= 0, k < Double(Int.max / 2), abs(t / timeStep - k) <= 1e-8 * max(1, k) else {
                throw PDEError.invalidValue(key: "Navier–Stokes times[\(i)]", value: "\(t)",
                                            expected: "a finite time ≥ 0 that is a whole number of steps dt = \(timeStep)")
            }
            guard Int(k) >= previous else {
                throw PDEError.invalidValue(key: "Navier–Stokes times[\(i)]", value: "\(t)", expected: "non-decreasing times")
            }
            previous = Int(k)
            return previous
        }
    }

    /// Diagnostics of the vorticity field `w` (N² values, x fastest).
    public func diagnostics(of w: [Double]) throws -> Diagnostics {
        try Integrator(self, initial: [w]).diagnostics()[0]
    }

    /// The velocity (u, v) = (ψ_y, −ψ_x) of the vorticity field `w`.
    public func velocity(of w: [Double]) throws -> (u: [Double], v: [Double]) {
        let vel = try Integrator(self, initial: [w]).velocity()
        return (vel[0].u, vel[0].v)
    }

    /// The CFL number max(|u|, |v|)·dt/h of `w` with this configuration's dt.
    public func courantNumber(of w: [Double]) throws -> Double {
        try diagnostics(of: w).maxVelocity * timeStep / spacing
    }

    /// Throws `NavierStokesCFLViolation` (with the largest stable dt) when a step from any
    /// of the fields `w0` would exceed the CFL limit: how a data generator validates its dt.
    public func validateTimeStep(for w0: [[Double]]) throws {
        let it = try Integrator(self, initial: w0)
        for (s, d) in it.diagnostics().enumerated() { try it.checkCFL(sample: s, maxVelocity: d.maxVelocity) }
    }
}

/// A time step refused because its advective CFL number max(|u|, |v|)·dt/h exceeds the
/// configured limit (or the velocity is not finite). The solver state is left unchanged.
public struct NavierStokesCFLViolation: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The sample of the batch that violates the limit (the first one).
    public let sample: Int
    /// Time at the start of the refused step.
    public let time: Double
    /// max(|u|, |v|) of the sample at the stage that was checked.
    public let maxVelocity: Double
    /// The configured time step dt.
    public let timeStep: Double
    /// The grid spacing h.
    public let spacing: Double
    /// The CFL number max(|u|, |v|)·dt/h.
    public let cfl: Double
    /// The configured limit.
    public let limit: Double

    /// limit·h / max(|u|, |v|): the largest dt this velocity accepts.
    public var largestStableTimeStep: Double { maxVelocity > 0 ? limit * spacing / maxVelocity : .infinity }

    public var description: String {
        String(format: "Navier–Stokes step refused at t = %.6g (sample %d): CFL number max(|u|,|v|)·dt/h = %.6g · %.6g / %.6g = %.6g exceeds the limit %.6g; the largest stable dt is %.6g",
               time, sample, maxVelocity, timeStep, spacing, cfl, limit, largestStableTimeStep)
    }

    public var errorDescription: String? { description }
}

extension NavierStokes2D {
    /// Precomputed per-mode factors of the half spectrum (C order [N, N/2 + 1], k_x fastest).
    final class Tables: Sendable {
        let n: Int, m: Int
        /// Real multipliers c of i·c·ŵ for q = ψ_y, v = −ψ_x, w_x, w_y, each including 1/N²
        /// (the normalization of the inverse FFT); then the CN numerator, the reciprocal CN
        /// denominator and dt·mask, all `n·m` long; `dtForcing` is dt·f̂ (2·n·m, interleaved).
        let factors: [Double]
        let dtForcing: [Double]

        init(n: Int, period: Double, viscosity: Double, dt: Double, dealias: Dealiasing, forcing: [Double]?) throws {
            self.n = n
            m = n / 2 + 1
            let c = n * m
            factors = Tables.factorPlanes(n: n, period: period, viscosity: viscosity, dt: dt, dealias: dealias, rows: 0..<n)
            var fh = [Double](repeating: 0, count: 2 * c)
            if let forcing {
                try RealFFT(shape: [n, n]).forward(forcing, into: &fh)
                for i in fh.indices { fh[i] *= dt }
            }
            dtForcing = fh
        }

        /// The seven factor planes (q, v, w_x, w_y multipliers, CN numerator, reciprocal CN
        /// denominator, dt·mask) of the spectrum rows `rows` (k_y index, C order [rows, N/2 + 1]):
        /// the whole table for the serial solver.
        static func factorPlanes(n: Int, period: Double, viscosity: Double, dt: Double, dealias: Dealiasing,
                                 rows: Range<Int>) -> [Double] {
            let m = n / 2 + 1
            return factorPlanes(n: n, period: period, viscosity: viscosity, dt: dt, dealias: dealias,
                                modes: rows.flatMap { r in (0..<m).map { (r, $0) } })
        }

        /// The same planes in the transposed layout [k_x index in `columns`, k_y index 0..<N] that
        /// FFTW's MPI r2c leaves with `FFTW_MPI_TRANSPOSED_OUT` (`DistributedNavierStokes2D`).
        static func factorPlanes(n: Int, period: Double, viscosity: Double, dt: Double, dealias: Dealiasing,
                                 transposedColumns columns: Range<Int>) -> [Double] {
            factorPlanes(n: n, period: period, viscosity: viscosity, dt: dt, dealias: dealias,
                         modes: columns.flatMap { j in (0..<n).map { ($0, j) } })
        }

        /// The planes for the listed modes (k_y index r, k_x index j), in that order.
        private static func factorPlanes(n: Int, period: Double, viscosity: Double, dt: Double, dealias: Dealiasing,
                                         modes: [(Int, Int)]) -> [Double] {
            let c = modes.count
            let s = 2 * Double.pi / period, scale = 1 / Double(n * n)
            let even = n % 2 == 0, half = n / 2
            let cut = 2.0 / 3.0 * Double(half)
            var f = [Double](repeating: 0, count: 7 * c)
            for (t, (r, j)) in modes.enumerated() {
                let ky = r <= half ? r : r - n
                var lap = s * s * Double(j * j + ky * ky)
                if r == 0 && j == 0 { lap = 1 }
                // Derivative wavenumbers with the generator's Nyquist conventions (type doc).
                let dky = (even && r == half) ? 0 : ky
                var dkx = j
                if even && j == half { dkx = (r == 0 || r == half) ? 0 : (ky > 0 ? -half : half) }
                let ax = s * Double(dkx), ay = s * Double(dky)
                f[t] = ay / lap * scale
                f[c + t] = -ax / lap * scale
                f[2 * c + t] = ax * scale
                f[3 * c + t] = ay * scale
                f[4 * c + t] = 1 - 0.5 * dt * viscosity * lap
                f[5 * c + t] = 1 / (1 + 0.5 * dt * viscosity * lap)
                let keep = dealias == .none || (Double(abs(j)) <= cut && Double(abs(ky)) <= cut)
                f[6 * c + t] = keep ? dt : 0
            }
            return f
        }
    }

    /// The state of a batch of B vorticity fields and the scratch of their steps: spectra,
    /// physical-space products and FFTW plans, all allocated once. Not thread-safe (use one
    /// per thread); `step` allocates nothing.
    public final class Integrator {
        /// The configuration.
        public let model: NavierStokes2D
        /// Samples evolved together.
        public let batch: Int
        /// Steps taken since the last `load`.
        public private(set) var stepCount = 0
        /// stepCount · dt.
        public var time: Double { Double(stepCount) * model.timeStep }

        private let n: Int, m: Int, cc: Int, rr: Int
        // Complex buffers hold 2·count doubles (re, im); all from fftw_malloc (SIMD-aligned).
        private let what: UnsafeMutablePointer<Double>     // ŵ, B spectra
        private let wstar: UnsafeMutablePointer<Double>    // Heun predictor, B spectra
        private let deriv: UnsafeMutablePointer<Double>    // q̂, v̂, ŵ_x, ŵ_y per sample: 4B spectra
        private let phys: UnsafeMutablePointer<Double>     // q, v, w_x, w_y per sample: 4B fields
        private let prod: UnsafeMutablePointer<Double>     // u·∇w: B fields
        private let hat0: UnsafeMutablePointer<Double>     // FFT(u·∇w), stage 1: B spectra
        private let hat1: UnsafeMutablePointer<Double>     // stage 2: B spectra
        private let tab: UnsafeMutablePointer<Double>      // Tables.factors then dtForcing
        private let rowMax: UnsafeMutablePointer<Double>   // max(|u|,|v|) per physical row
        private let r2c: OpaquePointer, c2r: OpaquePointer, c2r4: OpaquePointer
        private let minimumRows: Int

        /// An integrator for `batch` samples, all zero until `load`.
        public init(_ model: NavierStokes2D, batch: Int) throws {
            guard batch >= 1 else {
                throw PDEError.invalidValue(key: "Navier–Stokes batch", value: "\(batch)", expected: "at least 1 sample")
            }
            self.model = model
            self.batch = batch
            n = model.pointsPerAxis
            m = n / 2 + 1
            cc = n * m
            rr = n * n
            let one = try RealFFT(shape: [n, n], batch: batch), four = try RealFFT(shape: [n, n], batch: 4 * batch)
            r2c = try one.plan(inverse: false, aligned: true)
            c2r = try one.plan(inverse: true, aligned: true)
            c2r4 = try four.plan(inverse: true, aligned: true)
            func alloc(_ count: Int) -> UnsafeMutablePointer<Double> {
                let p = fftw_alloc_real(count)!
                p.initialize(repeating: 0, count: count)
                return p
            }
            what = alloc(2 * batch * cc)
            wstar = alloc(2 * batch * cc)
            deriv = alloc(8 * batch * cc)
            phys = alloc(4 * batch * rr)
            prod = alloc(batch * rr)
            hat0 = alloc(2 * batch * cc)
            hat1 = alloc(2 * batch * cc)
            rowMax = alloc(batch * n)
            let t = alloc(9 * cc), c = cc
            model.tables.factors.withUnsafeBufferPointer { t.update(from: $0.baseAddress!, count: 7 * c) }
            model.tables.dtForcing.withUnsafeBufferPointer { (t + 7 * c).update(from: $0.baseAddress!, count: 2 * c) }
            tab = t
            // Chunks of ≥ ~16k values, so a parallel loop is worth its dispatch.
            minimumRows = max(1, 16384 / n)
        }

        /// An integrator loaded with the fields `initial` (B arrays of N² values, x fastest).
        public convenience init(_ model: NavierStokes2D, initial: [[Double]]) throws {
            try self.init(model, batch: initial.count)
            try load(initial)
        }

        deinit {
            for p in [what, wstar, deriv, phys, prod, hat0, hat1, rowMax, tab] { fftw_free(p) }
        }

        /// Sets the state to the fields `w0` (B arrays of N² finite values) and time 0.
        /// Throws `PDEError.shapeMismatch`/`invalidValue` otherwise.
        public func load(_ w0: [[Double]]) throws {
            guard w0.count == batch else {
                throw PDEError.shapeMismatch(what: "Navier–Stokes initial fields", expected: "\(batch) samples", got: "\(w0.count)")
            }
            for (s, w) in w0.enumerated() {
                guard w.count == rr else {
                    throw PDEError.shapeMismatch(what: "Navier–Stokes initial field \(s)", expected: "\(rr) values (N × N, x fastest)", got: "\(w.count)")
                }
                if let i = w.firstIndex(where: { !$0.isFinite }) {
                    throw PDEError.invalidValue(key: "Navier–Stokes initial field \(s)[\(i)]", value: "\(w[i])", expected: "finite values")
                }
                w.withUnsafeBufferPointer { (prod + s * rr).update(from: $0.baseAddress!, count: rr) }
            }
            execR2C(prod, what)
            stepCount = 0
        }

        // MARK: transforms (plans planned for these aligned buffers; new-array execution)

        private func execR2C(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
            y.withMemoryRebound(to: fftw_complex.self, capacity: batch * cc) { fftw_execute_dft_r2c(r2c, x, $0) }
        }

        /// c2r of `count` (B or 4B) spectra; destroys `y`.
        private func execC2R(_ y: UnsafeMutablePointer<Double>, _ x: UnsafeMutablePointer<Double>, four: Bool) {
            y.withMemoryRebound(to: fftw_complex.self, capacity: (four ? 4 : 1) * batch * cc) {
                fftw_execute_dft_c2r(four ? c2r4 : c2r, $0, x)
            }
        }

        private func forRows(_ rows: Int, _ body: (Int, Int) -> Void) {
            Parallel.forChunks(rows, minimumPerChunk: minimumRows, body)
        }

        // MARK: kernels

        /// deriv ← i·c·ŵ for q, v, w_x, w_y of every sample (normalized for c2r).
        private func spectralDerivatives(_ w: UnsafeMutablePointer<Double>) {
            let (n, m, cc, d, t) = (n, m, cc, deriv, tab)
            forRows(batch * n) { start, end in
                for row in start..<end {
                    let s = row / n, r = row &- s &* n
                    let tb = r &* m
                    let wp = w + 2 &* (s &* cc &+ tb)
                    let dq = d + 2 &* (4 &* s &* cc &+ tb)
                    let dv = dq + 2 &* cc, dx = dv + 2 &* cc, dy = dx + 2 &* cc
                    let fq = t + tb, fv = fq + cc, fx = fv + cc, fy = fx + cc
                    for j in 0..<m {
                        let a = wp[2 &* j], b = wp[2 &* j &+ 1]
                        let cq = fq[j], cv = fv[j], cx = fx[j], cy = fy[j]
                        dq[2 &* j] = -cq * b; dq[2 &* j &+ 1] = cq * a
                        dv[2 &* j] = -cv * b; dv[2 &* j &+ 1] = cv * a
                        dx[2 &* j] = -cx * b; dx[2 &* j &+ 1] = cx * a
                        dy[2 &* j] = -cy * b; dy[2 &* j &+ 1] = cy * a
                    }
                }
            }
        }

        /// prod ← q·w_x + v·w_y per sample; rowMax ← max(|q|, |v|) per row (∞ if not finite).
        private func advectionProduct() {
            let (n, rr, p, o, mx) = (n, rr, phys, prod, rowMax)
            forRows(batch * n) { start, end in
                for row in start..<end {
                    let s = row / n, r = row &- s &* n
                    let q = p + (4 &* s &* rr &+ r &* n), v = q + rr, wx = v + rr, wy = wx + rr
                    let out = o + (s &* rr &+ r &* n)
                    var big = 0.0, probe = 0.0
                    for x in 0..<n {
                        let a = q[x], b = v[x]
                        out[x] = a * wx[x] + b * wy[x]
                        let c = Swift.max(Swift.abs(a), Swift.abs(b))
                        big = c > big ? c : big
                        probe += (a - a) + (b - b)
                    }
                    mx[row] = probe == 0 ? big : .infinity
                }
            }
        }

        /// The nonlinear term of ŵ: hat ← FFT(u·∇w), after checking the CFL number of the
        /// velocity it used (throws before `hat` is written).
        private func nonlinear(_ w: UnsafeMutablePointer<Double>, into hat: UnsafeMutablePointer<Double>) throws {
            spectralDerivatives(w)
            execC2R(deriv, phys, four: true)
            advectionProduct()
            for s in 0..<batch {
                var big = 0.0
                for r in 0..<n { let v = rowMax[s &* n &+ r]; big = v > big || v.isNaN ? v : big }
                try checkCFL(sample: s, maxVelocity: big)
            }
            execR2C(prod, hat)
        }

        /// dst ← ((−dt·mask·(α·P0 + β·P1) + dt f̂) + num·src)·(1/den), with P1 absent when β = 0.
        private func update(_ src: UnsafeMutablePointer<Double>, _ p0: UnsafeMutablePointer<Double>,
                            _ p1: UnsafeMutablePointer<Double>?, into dst: UnsafeMutablePointer<Double>) {
            let (n, m, cc, t) = (n, m, cc, tab)
            forRows(batch * n) { start, end in
                for row in start..<end {
                    let s = row / n, r = row &- s &* n
                    let tb = r &* m
                    let off = 2 &* (s &* cc &+ tb)
                    let w = src + off, o = dst + off, a0 = p0 + off
                    let num = t + (4 &* cc &+ tb), inv = num + cc, dm = inv + cc
                    let ff = t + (7 &* cc &+ 2 &* tb)
                    if let p1 {
                        let a1 = p1 + off
                        for j in 0..<m {
                            let h = 0.5 * dm[j]
                            let re = (-h * (a0[2 &* j] + a1[2 &* j]) + ff[2 &* j]) + num[j] * w[2 &* j]
                            let im = (-h * (a0[2 &* j &+ 1] + a1[2 &* j &+ 1]) + ff[2 &* j &+ 1]) + num[j] * w[2 &* j &+ 1]
                            o[2 &* j] = re * inv[j]; o[2 &* j &+ 1] = im * inv[j]
                        }
                    } else {
                        for j in 0..<m {
                            let re = (-dm[j] * a0[2 &* j] + ff[2 &* j]) + num[j] * w[2 &* j]
                            let im = (-dm[j] * a0[2 &* j &+ 1] + ff[2 &* j &+ 1]) + num[j] * w[2 &* j &+ 1]
                            o[2 &* j] = re * inv[j]; o[2 &* j &+ 1] = im * inv[j]
                        }
                    }
                }
            }
        }

        /// Throws when the CFL number of `maxVelocity` exceeds the limit (or is not finite).
        func checkCFL(sample s: Int, maxVelocity u: Double) throws {
            let dt = model.timeStep, h = model.spacing
            let cfl = u * dt / h
            if !(cfl <= model.cflLimit) {
                throw NavierStokesCFLViolation(sample: s, time: time, maxVelocity: u, timeStep: dt, spacing: h,
                                               cfl: cfl, limit: model.cflLimit)
            }
        }

        // MARK: public operations

        /// Takes `count` steps of the configured scheme. Each step checks the CFL number of
        /// every sample (at both stages of Heun's scheme) before changing the state and
        /// throws `NavierStokesCFLViolation` with the state of the last accepted step.
        public func step(_ count: Int = 1) throws {
            guard count >= 0 else {
                throw PDEError.invalidValue(key: "Navier–Stokes step count", value: "\(count)", expected: "≥ 0")
            }
            for _ in 0..<count {
                try model.scheme.step(what, predictor: wstar, stage0: hat0, stage1: hat1, nonlinear: nonlinear, update: update)
                stepCount += 1
            }
        }

        /// The current vorticity fields (B arrays of N² values, x fastest).
        public func vorticity() -> [[Double]] {
            physicalVorticity(into: prod)
            return (0..<batch).map { s in Array(UnsafeBufferPointer(start: prod + s * rr, count: rr)) }
        }

        /// out ← the physical vorticity (B fields), through hat1 as scratch.
        private func physicalVorticity(into out: UnsafeMutablePointer<Double>) {
            let scale = 1 / Double(rr), total = 2 * batch * cc
            for i in 0..<total { hat1[i] = what[i] * scale }
            execC2R(hat1, out, four: false)
        }

        /// phys ← q, v, w_x, w_y of the current state.
        private func physicalDerivatives() {
            spectralDerivatives(what)
            execC2R(deriv, phys, four: true)
        }

        /// The current velocities (u, v) = (ψ_y, −ψ_x) per sample.
        public func velocity() -> [(u: [Double], v: [Double])] {
            physicalDerivatives()
            return (0..<batch).map { s in
                (Array(UnsafeBufferPointer(start: phys + 4 * s * rr, count: rr)),
                 Array(UnsafeBufferPointer(start: phys + (4 * s + 1) * rr, count: rr)))
            }
        }

        /// Kinetic energy, enstrophy, max |w| and max(|u|, |v|) per sample of the current state.
        public func diagnostics() -> [Diagnostics] {
            physicalDerivatives()
            physicalVorticity(into: prod)
            let area = model.spacing * model.spacing
            return (0..<batch).map { s in
                let u = phys + 4 * s * rr, v = u + rr, w = prod + s * rr
                var e = 0.0, z = 0.0, wm = 0.0, um = 0.0
                for i in 0..<rr {
                    e += u[i] * u[i] + v[i] * v[i]
                    z += w[i] * w[i]
                    wm = Swift.max(wm, Swift.abs(w[i]))
                    um = Swift.max(um, Swift.max(Swift.abs(u[i]), Swift.abs(v[i])))
                }
                if !(e + z).isFinite { wm = .nan; um = .nan }
                return Diagnostics(kineticEnergy: 0.5 * area * e, enstrophy: 0.5 * area * z, maxVorticity: wm, maxVelocity: um)
            }
        }
    }
}
