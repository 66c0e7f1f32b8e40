/// The FNO Navier–Stokes family: vorticity on the unit torus, ν = 1e-3 (1e-4, 1e-5
/// selectable), forcing 0.1(sin 2π(x+y) + cos 2π(x+y)), w₀ ~ N(0, 7^{3/2}(−Δ + 49I)^{−2.5}),
/// computed on N×N points (FNO: 256) with the generator's scheme (Crank–Nicolson viscous
/// term, explicit advection, 2/3 dealiasing, dt = 1e-4, CFL-checked) and stored subsampled
/// to r×r (FNO: 64) at t = 0 (`w0`) and every `interval` time units up to T (`w`, shape
/// [T/interval, r, r]; FNO: T = 50) — or, after a warm-up to `recordFrom` (Spectral-Refiner:
/// 30, interval 0.2), at recordFrom + interval, …, T.
public struct NavierStokesFamily: DatasetFamily {
    /// The solver (grid, ν, dt, scheme, forcing).
    public let solver: NavierStokes2D
    /// The initial-vorticity random field.
    public let initial: PeriodicGaussianRandomField
    /// Stored points per axis (N divisible by it).
    public let storedPoints: Int
    /// Final time T and the recording interval.
    public let finalTime: Double, interval: Double
    /// The end of the warm-up: the first snapshot is at recordFrom + interval (0: none).
    public let recordFrom: Double

    /// Throws `PDEError.invalidValue` for a stored resolution that does not divide N, a
    /// recording interval that is not a whole number of steps or does not divide T, and the
    /// solver's and field's own checks.
    public init(points n: Int = 256, storedPoints r: Int = 64, viscosity: Double = 1e-3, timeStep: Double = 1e-4,
                finalTime: Double = 50, interval: Double = 1, recordFrom: Double = 0,
                scheme: NavierStokes2D.Scheme = .crankNicolsonEuler) throws {
        guard r >= 2, r <= n, n % r == 0 else {
            throw PDEError.invalidValue(key: "navier_stokes.stored_points", value: "\(r)", expected: "a divisor of points = \(n)")
        }
        guard recordFrom >= 0, recordFrom < finalTime else {
            throw PDEError.invalidValue(key: "navier_stokes.record_from", value: "\(recordFrom) with final time \(finalTime)",
                                        expected: "a warm-up time in [0, final time)")
        }
        let span = finalTime - recordFrom
        guard interval > 0, span >= interval, abs(span / interval - (span / interval).rounded()) < 1e-9 else {
            throw PDEError.invalidValue(key: "navier_stokes.interval", value: "\(interval) with final time \(finalTime)" + (recordFrom > 0 ? " and record_from \(recordFrom)" : ""),
                                        expected: "a positive interval dividing the recorded span")
        }
        solver = try NavierStokes2D.fno(pointsPerAxis: n, viscosity: viscosity, timeStep: timeStep, scheme: scheme)
        _ = try solver.stepCounts([interval, finalTime])
        initial = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: n)
        storedPoints = r
        self.finalTime = finalTime
        self.interval = interval
        self.recordFrom = recordFrom
    }

    /// Recorded times recordFrom + interval, recordFrom + 2·interval, …, T.
    public var times: [Double] { (1...Int(((finalTime - recordFrom) / interval).rounded())).map { recordFrom + Double($0) * interval } }

    public var name: String { "navier-stokes" }

    public var fields: [(name: String, shape: [Int])] {
        [("w0", [storedPoints, storedPoints]), ("w", [times.count, storedPoints, storedPoints])]
    }

    public var parameters: [String: HDF5Attribute] {
        ["points": .int(Int64(solver.pointsPerAxis)), "stored_points": .int(Int64(storedPoints)), "viscosity": .double(solver.viscosity),
         "time_step": .double(solver.timeStep), "final_time": .double(finalTime), "interval": .double(interval),
         "record_from": .double(recordFrom),
         "scheme": .string(solver.scheme.rawValue), "forcing": .string("0.1*(sin(2*pi*(x+y)) + cos(2*pi*(x+y)))"),
         "initial_field": .string("N(0, 7^1.5 (-Lap + 49 I)^-2.5)"), "dealiasing": .string(solver.dealiasing.rawValue),
         "equation": .string("w_t + u.grad(w) = nu Lap(w) + f on the unit torus, vorticity form")]
    }

    public var fixedDatasets: [(name: String, shape: [Int], values: [Double])] {
        [("t", [times.count], times), ("x", [storedPoints], (0..<storedPoints).map { Double($0) / Double(storedPoints) })]
    }

    /// Sample `index`: w₀ from the random field, evolved to every recorded time; both subsampled to r×r.
    public func sample(_ index: Int, generator: inout SeededGenerator) throws -> [[Double]] {
        let w0 = try initial.sample(using: &generator)
        let snapshots = try solver.evolve(w0, to: times)
        let n = solver.pointsPerAxis
        return [NavierStokesFamily.subsample(w0, n: n, to: storedPoints), snapshots.flatMap { NavierStokesFamily.subsample($0, n: n, to: storedPoints) }]
    }

    /// Every (n/r)-th point of an n×n periodic field in both axes.
    public static func subsample(_ v: [Double], n: Int, to r: Int) -> [Double] {
        let k = n / r
        var out = [Double](repeating: 0, count: r * r)
        for i in 0..<r { for j in 0..<r { out[i * r + j] = v[(i * k) * n + j * k] } }
        return out
    }
}
