import Dispatch
import Foundation

/// The 1-D viscous Burgers equation u_t + (u²/2)_x = ν u_xx on the periodic interval
/// [0, L) with N points, by Fourier pseudo-spectral collocation and the fourth-order
/// exponential time differencing Runge–Kutta scheme ETDRK4 of Cox–Matthews in the form of
/// Kassam & Trefethen (2005) — the scheme of the FNO Burgers data.
///
/// In Fourier space v̂_t = L v̂ + N(v̂) with L_k = −ν(2πk/L)² and
/// N(v̂) = −(i/2)(2πk/L)·FFT(u²), dealiased by the 2/3 rule (modes with integer wavenumber
/// k ≤ N/3 are kept). The φ-function coefficients Q, f₁, f₂, f₃ are the real parts of means
/// over M = 32 points on the circle of radius 1 around each dt·L_k (no cancellation near
/// dt·L_k = 0). One step:
///
///     a = E₂v + Q N(v),  b = E₂v + Q N(a),  c = E₂a + Q(2N(b) − N(v)),
///     v ← E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(c),   E = e^{dtL}, E₂ = e^{dtL/2}.
///
/// The arithmetic follows the reference generator (`datagen_peer.py burgers()`), so the two
/// agree to rounding. The solver value holds only the coefficients (it is `Sendable`); each
/// `evolve` call sets up its own FFT and spectra once and then steps without allocating.
///
/// ```swift
/// let solver = try BurgersSolver(viscosity: 0.1, points: 1024, timeStep: 1e-4)
/// let run = try solver.evolve(u0, to: 1, saving: [0.5, 1])
/// let u1 = run.final
/// ```
public struct BurgersSolver: Sendable {
    /// Viscosity ν.
    public let viscosity: Double
    /// Grid points N (end point excluded; x_j = j·L/N).
    public let points: Int
    /// Period L of the interval.
    public let length: Double
    /// Time step dt.
    public let timeStep: Double
    /// Points of the contour integrals for the φ-functions (Kassam–Trefethen's M).
    public static let contourPoints = 32

    /// e^{dt·L_k} per half-spectrum mode (N/2 + 1 of them).
    public let decay: [Double]
    /// e^{dt·L_k/2}.
    public let halfDecay: [Double]
    /// The ETDRK4 weight Q = dt·φ₁(dt·L/2)/2 per mode (contour mean).
    public let q: [Double]
    /// The ETDRK4 weights f₁, f₂, f₃ per mode (contour means).
    public let f1: [Double], f2: [Double], f3: [Double]
    /// −(1/2)(2πk/L)·[k ≤ N/3]/N² per mode: N(v̂)_k = i·this·FFT(w²) with w = c2r(v̂)
    /// (FFTs unnormalized, so the 1/N² of the inverse transform is folded in here).
    let nonlinearFactor: [Double]

    /// The solver for viscosity ν > 0 on N ≥ 4 points of a period L > 0 with step dt > 0;
    /// throws `PDEError.invalidValue` for other values (non-finite included).
    public init(viscosity: Double, points: Int, length: Double = 1, timeStep: Double) throws {
        guard viscosity > 0, viscosity.isFinite else {
            throw PDEError.invalidValue(key: "Burgers viscosity", value: "\(viscosity)", expected: "a positive finite ν")
        }
        guard points >= 4, points <= 1 << 30 else {
            throw PDEError.invalidValue(key: "Burgers points", value: "\(points)", expected: "4 to 2³⁰ grid points")
        }
        guard length > 0, length.isFinite else {
            throw PDEError.invalidValue(key: "Burgers length", value: "\(length)", expected: "a positive finite period")
        }
        guard timeStep > 0, timeStep.isFinite else {
            throw PDEError.invalidValue(key: "Burgers time step", value: "\(timeStep)", expected: "a positive finite dt")
        }
        self.viscosity = viscosity
        self.points = points
        self.length = length
        self.timeStep = timeStep
        let m = points / 2 + 1, dt = timeStep, n = Double(points)
        let contour = (0..<Self.contourPoints).map { j in
            ComplexNumber.exp(ComplexNumber(0, Double.pi * (Double(j) + 0.5) / Double(Self.contourPoints)))
        }
        var e = [Double](repeating: 0, count: m), e2 = e, q = e, f1 = e, f2 = e, f3 = e, g = e
        for k in 0..<m {
            let kk = 2 * Double.pi * Double(k) / length
            let lk = -viscosity * kk * kk
            e[k] = Foundation.exp(dt * lk)
            e2[k] = Foundation.exp(dt * lk / 2)
            var sq = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            for r in contour {
                let z = ComplexNumber(dt * lk, 0) + r
                let ez = ComplexNumber.exp(z), ez2 = ComplexNumber.exp(z * 0.5)
                let z2 = z * z, z3 = z2 * z
                sq += ((ez2 - 1) / z).re
                s1 += ((-4 - z + ez * (4 - 3 * z + z2)) / z3).re
                s2 += ((2 + z + ez * (z - 2)) / z3).re
                s3 += ((-4 - 3 * z - z2 + ez * (4 - z)) / z3).re
            }
            let mean = dt / Double(Self.contourPoints)
            q[k] = sq * mean; f1[k] = s1 * mean; f2[k] = s2 * mean; f3[k] = s3 * mean
            g[k] = Double(k) <= n / 3 ? -0.5 * kk / (n * n) : 0
        }
        decay = e; halfDecay = e2; self.q = q; self.f1 = f1; self.f2 = f2; self.f3 = f3
        nonlinearFactor = g
    }

    /// The periodic grid of the solution values.
    public var grid: PeriodicGrid {
        // Valid by construction: N ≥ 4 points, L > 0 finite.
        try! PeriodicGrid(counts: [points], lengths: [length])
    }

    /// Number of steps to reach `time`, which must be a whole multiple of dt (to 1e-9
    /// relative); throws `PDEError.invalidValue` otherwise.
    public func steps(to time: Double, key: String = "Burgers time") throws -> Int {
        guard time >= 0, time.isFinite else {
            throw PDEError.invalidValue(key: key, value: "\(time)", expected: "a finite time ≥ 0")
        }
        let s = (time / timeStep).rounded()
        guard abs(time / timeStep - s) <= 1e-9 * max(1, s), s < Double(Int.max / 4) else {
            throw PDEError.invalidValue(key: key, value: "\(time)", expected: "a whole multiple of the time step \(timeStep)")
        }
        return Int(s)
    }

    /// u at `time` (and at each of `times`, if given) from u0 (N values, x_j = j·L/N).
    /// `time` and every saved time must be whole multiples of dt in [0, time], saved times
    /// non-decreasing; without `times` the trajectory holds the final state only.
    /// `monitor` is called after every step. Throws `PDEError.shapeMismatch` for a wrong
    /// length of u0, `PDEError.invalidValue` for non-finite initial values, bad times, or a
    /// solution that stops being finite (dt too large for the data).
    public func evolve(_ u0: [Double], to time: Double, saving times: [Double]? = nil,
                       monitor: ((BurgersProgress) -> Void)? = nil) throws -> BurgersTrajectory {
        let plan = try schedule(to: time, saving: times)
        let work = try BurgersWorkspace(self)
        return try work.run(u0, plan, monitor: monitor)
    }

    /// `evolve` for many initial conditions at once, each to the same times. Samples are
    /// split over `workers` threads (default `Parallel.workerCount`), each with its own FFT
    /// and spectra; results do not depend on the thread count. `completed` (called from
    /// worker threads) receives the index of each sample as it finishes.
    public func evolve(batch initial: [[Double]], to time: Double, saving times: [Double]? = nil,
                       workers: Int = Parallel.workerCount,
                       completed: (@Sendable (Int) -> Void)? = nil) throws -> [BurgersTrajectory] {
        let plan = try schedule(to: time, saving: times)
        for (i, u) in initial.enumerated() { try checkInitial(u, sample: i) }
        let count = initial.count
        let w = max(1, min(workers, count))
        var results = [BurgersTrajectory?](repeating: nil, count: count)
        var errors = [Error?](repeating: nil, count: count)
        let solver = self
        results.withUnsafeMutableBufferPointer { res in
            errors.withUnsafeMutableBufferPointer { err in
                let (resp, errp) = (res, err)
                let body = { (worker: Int) in
                    do {
                        let work = try BurgersWorkspace(solver)
                        for i in stride(from: worker, to: count, by: w) {
                            do { resp[i] = try work.run(initial[i], plan, monitor: nil) } catch { errp[i] = error }
                            completed?(i)
                        }
                    } catch {
                        for i in stride(from: worker, to: count, by: w) { errp[i] = error }
                    }
                }
                if w == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: w, execute: body) }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        return results.map { $0! }
    }

    fileprivate func checkInitial(_ u0: [Double], sample: Int? = nil) throws {
        let what = sample.map { "Burgers initial condition \($0)" } ?? "Burgers initial condition"
        guard u0.count == points else {
            throw PDEError.shapeMismatch(what: what, expected: "\(points) values", got: "\(u0.count)")
        }
        if let i = u0.firstIndex(where: { !$0.isFinite }) {
            throw PDEError.invalidValue(key: "\(what)[\(i)]", value: "\(u0[i])", expected: "finite values")
        }
    }

    fileprivate func schedule(to time: Double, saving times: [Double]?) throws -> BurgersSchedule {
        let total = try steps(to: time)
        let saved = times ?? [time]
        var stepsSaved: [Int] = []
        for (i, t) in saved.enumerated() {
            let s = try steps(to: t, key: "Burgers saving times[\(i)]")
            guard s <= total, s >= (stepsSaved.last ?? 0) else {
                throw PDEError.invalidValue(key: "Burgers saving times[\(i)]", value: "\(t)",
                                            expected: "non-decreasing times in [0, \(time)]")
            }
            stepsSaved.append(s)
        }
        return BurgersSchedule(total: total, saved: stepsSaved, times: saved)
    }
}

/// Saved states of a Burgers run: `states[i]` is u (N values) at `times[i]`.
public struct BurgersTrajectory: Sendable {
    /// The saved times, as requested.
    public let times: [Double]
    /// u at each saved time.
    public let states: [[Double]]
    /// The last saved state (u at the final time when no times were given).
    public var final: [Double] { states.last ?? [] }
}

/// What a Burgers monitor sees after each step.
public struct BurgersProgress: Sendable {
    /// Steps done.
    public let step: Int
    /// Steps of the whole run.
    public let steps: Int
    /// Time reached.
    public let time: Double
}

struct BurgersSchedule: Sendable {
    let total: Int
    let saved: [Int]
    let times: [Double]
}

/// The spectra and FFT of one running Burgers solve: set up once, then every step works in
/// place (no allocation). Not thread-safe: one per worker.
final class BurgersWorkspace {
    let solver: BurgersSolver
    let fft: RealFFT
    let n: Int, m: Int
    /// Spectra (interleaved re, im; 2m values each): state v, stages a, b, c and their
    /// nonlinear terms; `w` the real work array (n values).
    let v, a, b, c, nv, na, nb, nc, w: UnsafeMutablePointer<Double>
    let coefficients: UnsafeMutablePointer<Double>

    init(_ solver: BurgersSolver) throws {
        self.solver = solver
        n = solver.points
        m = n / 2 + 1
        fft = try RealFFT(shape: [n])
        func buffer(_ count: Int) -> UnsafeMutablePointer<Double> {
            // 64-byte aligned: FFTW's SIMD plans need ≥ 16.
            let p = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Double>.stride, alignment: 64)
            return p.initializeMemory(as: Double.self, repeating: 0, count: count)
        }
        v = buffer(2 * m); a = buffer(2 * m); b = buffer(2 * m); c = buffer(2 * m)
        nv = buffer(2 * m); na = buffer(2 * m); nb = buffer(2 * m); nc = buffer(2 * m)
        w = buffer(n)
        // Coefficients per mode, contiguous: E, E₂, Q, f₁, f₂, f₃, nonlinear factor.
        coefficients = buffer(7 * m)
        for (i, arr) in [solver.decay, solver.halfDecay, solver.q, solver.f1, solver.f2, solver.f3, solver.nonlinearFactor].enumerated() {
            for k in 0..<m { coefficients[i * m + k] = arr[k] }
        }
    }

    deinit {
        for p in [v, a, b, c, nv, na, nb, nc, w, coefficients] { UnsafeMutableRawPointer(p).deallocate() }
    }

    /// out ← FFT(c2r(x)²), unscaled: N(x) = i·g·out (applied by `step`, fused with the stage update).
    @inline(__always)
    private func squaredSpectrum(_ x: UnsafeMutablePointer<Double>, _ out: UnsafeMutablePointer<Double>) throws {
        try fft.inverse(UnsafePointer(x), into: w)
        for j in 0..<n { w[j] = w[j] * w[j] }
        try fft.forward(UnsafePointer(w), into: out)
    }

    /// One ETDRK4 step of the state v. Every nonlinear term is finished (×i·g) in the pass
    /// that uses it: four passes over the spectra per step besides the FFTs. Plain scalar
    /// pointer loops (re and im of a mode share the real coefficients), fast in debug builds
    /// too.
    func step() throws {
        let e = coefficients, e2 = coefficients + m, q = coefficients + 2 * m
        let f1 = coefficients + 3 * m, f2 = coefficients + 4 * m, f3 = coefficients + 5 * m, g = coefficients + 6 * m
        let (v, a, b, c, nv, na, nb, nc) = (self.v, self.a, self.b, self.c, self.nv, self.na, self.nb, self.nc)
        /// N ← nonlinear term of `input`; `output` ← E₂·v + Q·N (the first two stages).
        func halfStage(_ input: UnsafeMutablePointer<Double>, _ n: UnsafeMutablePointer<Double>,
                       _ output: UnsafeMutablePointer<Double>) throws {
            try squaredSpectrum(input, n)
            for k in 0..<m {
                let r = 2 &* k, i = r &+ 1
                let nr = -g[k] * n[i], ni = g[k] * n[r]
                n[r] = nr; n[i] = ni
                output[r] = e2[k] * v[r] + q[k] * nr
                output[i] = e2[k] * v[i] + q[k] * ni
            }
        }
        try halfStage(v, nv, a)
        try halfStage(a, na, b)
        try squaredSpectrum(b, nb)
        for k in 0..<m {
            let r = 2 &* k, i = r &+ 1
            let nr = -g[k] * nb[i], ni = g[k] * nb[r]
            nb[r] = nr; nb[i] = ni
            c[r] = e2[k] * a[r] + q[k] * (2 * nr - nv[r])
            c[i] = e2[k] * a[i] + q[k] * (2 * ni - nv[i])
        }
        try squaredSpectrum(c, nc)
        for k in 0..<m {
            let r = 2 &* k, i = r &+ 1
            let nr = -g[k] * nc[i], ni = g[k] * nc[r]
            v[r] = e[k] * v[r] + nv[r] * f1[k] + 2 * (na[r] + nb[r]) * f2[k] + nr * f3[k]
            v[i] = e[k] * v[i] + nv[i] * f1[k] + 2 * (na[i] + nb[i]) * f2[k] + ni * f3[k]
        }
    }

    /// u ← irfft(v) (normalized).
    func state() throws -> [Double] {
        var u = [Double](repeating: 0, count: n)
        try u.withUnsafeMutableBufferPointer { p in
            try fft.inverse(UnsafePointer(v), into: p.baseAddress!)
            let s = 1 / Double(n)
            for j in 0..<n { p[j] *= s }
        }
        return u
    }

    func run(_ u0: [Double], _ plan: BurgersSchedule, monitor: ((BurgersProgress) -> Void)?) throws -> BurgersTrajectory {
        try solver.checkInitial(u0)
        try u0.withUnsafeBufferPointer { try fft.forward($0.baseAddress!, into: v) }
        var states: [[Double]] = []
        states.reserveCapacity(plan.saved.count)
        var next = 0
        func save(_ step: Int) throws {
            while next < plan.saved.count && plan.saved[next] == step {
                let u = try state()
                if let i = u.firstIndex(where: { !$0.isFinite }) {
                    throw PDEError.invalidValue(key: "Burgers time step", value: "\(solver.timeStep)",
                                                expected: "a step for which the solution stays finite (u[\(i)] = \(u[i]) at t = \(Double(step) * solver.timeStep))")
                }
                states.append(u)
                next += 1
            }
        }
        try save(0)
        var s = 0
        while s < plan.total {
            try step()
            s += 1
            monitor?(BurgersProgress(step: s, steps: plan.total, time: Double(s) * solver.timeStep))
            try save(s)
        }
        return BurgersTrajectory(times: plan.times, states: states)
    }
}

/// A complex number for the solvers' setup arithmetic (the stdlib has none).
struct ComplexNumber {
    var re: Double, im: Double
    init(_ re: Double, _ im: Double) { self.re = re; self.im = im }

    static func exp(_ z: ComplexNumber) -> ComplexNumber {
        let r = Foundation.exp(z.re)
        return ComplexNumber(r * Foundation.cos(z.im), r * Foundation.sin(z.im))
    }
    static func + (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber { ComplexNumber(a.re + b.re, a.im + b.im) }
    static func - (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber { ComplexNumber(a.re - b.re, a.im - b.im) }
    static func * (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber {
        ComplexNumber(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    }
    static func * (a: ComplexNumber, s: Double) -> ComplexNumber { ComplexNumber(a.re * s, a.im * s) }
    static func * (s: Double, a: ComplexNumber) -> ComplexNumber { ComplexNumber(a.re * s, a.im * s) }
    static func + (a: ComplexNumber, s: Double) -> ComplexNumber { ComplexNumber(a.re + s, a.im) }
    static func + (s: Double, a: ComplexNumber) -> ComplexNumber { ComplexNumber(a.re + s, a.im) }
    static func - (a: ComplexNumber, s: Double) -> ComplexNumber { ComplexNumber(a.re - s, a.im) }
    static func - (s: Double, a: ComplexNumber) -> ComplexNumber { ComplexNumber(s - a.re, -a.im) }
    static prefix func - (a: ComplexNumber) -> ComplexNumber { ComplexNumber(-a.re, -a.im) }
    /// Smith's division (no overflow of |b|² for large b).
    static func / (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber {
        if abs(b.re) >= abs(b.im) {
            let r = b.im / b.re, d = b.re + b.im * r
            return ComplexNumber((a.re + a.im * r) / d, (a.im - a.re * r) / d)
        } else {
            let r = b.re / b.im, d = b.re * r + b.im
            return ComplexNumber((a.re * r + a.im) / d, (a.im * r - a.re) / d)
        }
    }
}
