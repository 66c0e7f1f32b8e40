/// The FNO Burgers family: u_t + (u²/2)_x = ν u_xx on a periodic interval of length L
/// (default 1; the FNO data set `burgers_data_R10.mat` matches L = 2π, see below), ν = 0.1,
/// u₀ ~ N(0, 625(−Δ + 25I)^{−2}), computed on N points (FNO: 8192) by ETDRK4 with 2/3
/// dealiasing and dt = 1e-4 to t = T (1), stored at the stated resolutions (each dividing N;
/// subsampled as FNO's `[::k]`): `u0_<r>` and `u1_<r>` (u at T).
///
/// The initial field's values at the N grid points are the same for any L (the field is
/// drawn on the unit interval, as FNO's GRF1.m does); L only scales the PDE. The paper says
/// "x ∈ (0, 1), ν = 0.1, t = 1", but there u(1) is ~60× smaller than u₀ (the k = 1 mode
/// decays by e^{−4π²ν}); FNO's stored data have u(1) of u₀'s size with fronts of slope ≈ 3,
/// which ν = 0.1 on a period of 2π reproduces (equivalently ν = 0.1/2π on the unit
/// interval to t = 1/2π). `data/configs/datagen-burgers.yaml` sets L = 2π.
public struct BurgersFamily: DatasetFamily {
    /// The solver (ν, N, dt).
    public let solver: BurgersSolver
    /// The initial-condition random field.
    public let initial: PeriodicGaussianRandomField
    /// Stored resolutions.
    public let resolutions: [Int]
    /// The final time.
    public let finalTime: Double
    /// The period L.
    public let length: Double

    /// Throws `PDEError.invalidValue` for a resolution that does not divide N, a final time
    /// that is not a whole number of steps, and the solver's and field's own checks.
    public init(points n: Int = 8192, resolutions: [Int] = [1024, 8192], viscosity: Double = 0.1, length: Double = 1,
                timeStep: Double = 1e-4, finalTime: Double = 1) throws {
        guard !resolutions.isEmpty else { throw PDEError.invalidValue(key: "burgers.resolutions", value: "[]", expected: "at least one resolution") }
        for r in resolutions where r < 2 || r > n || n % r != 0 {
            throw PDEError.invalidValue(key: "burgers.resolutions", value: "\(r)", expected: "a divisor of points = \(n)")
        }
        solver = try BurgersSolver(viscosity: viscosity, points: n, length: length, timeStep: timeStep)
        self.length = length
        _ = try solver.steps(to: finalTime, key: "burgers.time")
        initial = try PeriodicGaussianRandomField.burgersInitialCondition(points: n)
        self.resolutions = resolutions
        self.finalTime = finalTime
    }

    public var name: String { "burgers" }

    public var fields: [(name: String, shape: [Int])] { resolutions.flatMap { [("u0_\($0)", [$0]), ("u1_\($0)", [$0])] } }

    public var parameters: [String: HDF5Attribute] {
        ["points": .int(Int64(solver.points)), "resolutions": .ints(resolutions.map { Int64($0) }), "viscosity": .double(solver.viscosity),
         "time_step": .double(solver.timeStep), "final_time": .double(finalTime), "scheme": .string("ETDRK4 (Kassam-Trefethen, 32 contour points), 2/3 dealiasing"),
         "initial_field": .string("N(0, 625 (-Lap + 25 I)^-2)"), "equation": .string("u_t + (u^2/2)_x = nu u_xx on a periodic interval of length L"), "length": .double(length)]
    }

    public var fixedDatasets: [(name: String, shape: [Int], values: [Double])] {
        resolutions.map { r in ("x_\(r)", [r], (0..<r).map { length * Double($0) / Double(r) }) }
    }

    /// Sample `index`: u₀ from the random field, u(T) by ETDRK4; both at every stated resolution.
    public func sample(_ index: Int, generator: inout SeededGenerator) throws -> [[Double]] {
        let u0 = try initial.sample(using: &generator)
        let u1 = try solver.evolve(u0, to: finalTime).final
        let n = solver.points
        return resolutions.flatMap { r in [stride(from: 0, to: n, by: n / r).map { u0[$0] }, stride(from: 0, to: n, by: n / r).map { u1[$0] }] }
    }
}
