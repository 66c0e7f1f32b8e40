/// The FNO Darcy-flow family: −∇·(a∇u) = 1 on the unit square, u = 0 on the boundary, with
/// the piecewise-constant coefficient a = 12 where a cosine-expansion Gaussian random field
/// (α = 2, τ = 3, FNO's GRF.m) is ≥ 0 and 3 elsewhere. Solved on the s×s vertex grid (the
/// paper's s = 421) with the suite's finite-volume discretization (harmonic face means of
/// the node coefficients) and CG preconditioned by geometric multigrid, or CHOLMOD; stored
/// at the stated resolutions r, subsampled with stride (s − 1)/(r − 1) as FNO's `[::k]`.
///
/// Note the face coefficient: FNO's MATLAB solver and the numpy peer average the two node
/// values arithmetically; this family uses the suite's harmonic mean (the flux-consistent
/// choice for jumping coefficients), so the u fields differ from theirs near the jumps.
public struct DarcyFamily: DatasetFamily {
    /// Nodes per axis of the computation, boundary included (FNO: 421).
    public let size: Int
    /// Stored resolutions, each r with (size − 1) divisible by (r − 1).
    public let resolutions: [Int]
    /// The random field behind the coefficient.
    public let field: CosineGaussianRandomField
    /// The coefficient's two values: `high` where the field is ≥ 0, `low` elsewhere.
    public let high: Double, low: Double
    /// Relative residual of the solve (CG + multigrid).
    public let tolerance: Double
    /// Solve with CHOLMOD instead of CG + multigrid.
    public let direct: Bool

    /// Throws `PDEError.invalidValue` for a resolution that does not subsample `size`,
    /// non-positive coefficient values, a tolerance outside (0, 1), or bad field parameters.
    public init(size: Int = 421, resolutions: [Int] = [85, 421], alpha: Double = 2, tau: Double = 3,
                high: Double = 12, low: Double = 3, tolerance: Double = 1e-10, direct: Bool = false) throws {
        guard size >= 3 else { throw PDEError.invalidValue(key: "darcy.size", value: "\(size)", expected: "at least 3 nodes per axis") }
        guard !resolutions.isEmpty else { throw PDEError.invalidValue(key: "darcy.resolutions", value: "[]", expected: "at least one resolution") }
        for r in resolutions where r < 2 || r > size || (size - 1) % (r - 1) != 0 {
            throw PDEError.invalidValue(key: "darcy.resolutions", value: "\(r)",
                                        expected: "a resolution r ≥ 2 with (size − 1) = \(size - 1) divisible by (r − 1), e.g. \(DarcyFamily.validResolutions(size).prefix(6).map(String.init).joined(separator: ", "))")
        }
        guard high > 0, low > 0, high.isFinite, low.isFinite else {
            throw PDEError.invalidValue(key: "darcy coefficient values", value: "\(high), \(low)", expected: "positive finite values")
        }
        guard tolerance > 0, tolerance < 1 else {
            throw PDEError.invalidValue(key: "darcy.tolerance", value: "\(tolerance)", expected: "a relative tolerance in (0, 1)")
        }
        self.size = size
        self.resolutions = resolutions
        field = try CosineGaussianRandomField(size: size, alpha: alpha, tau: tau)
        self.high = high
        self.low = low
        self.tolerance = tolerance
        self.direct = direct
    }

    /// The resolutions r that subsample an s-node axis exactly.
    public static func validResolutions(_ s: Int) -> [Int] { (2...max(2, s)).filter { (s - 1) % ($0 - 1) == 0 } }

    public var name: String { "darcy" }

    public var fields: [(name: String, shape: [Int])] {
        resolutions.flatMap { r in [("a_\(r)", [r, r]), ("u_\(r)", [r, r])] }
    }

    public var parameters: [String: HDF5Attribute] {
        ["size": .int(Int64(size)), "resolutions": .ints(resolutions.map { Int64($0) }), "alpha": .double(field.alpha),
         "tau": .double(field.tau), "high": .double(high), "low": .double(low), "tolerance": .double(tolerance),
         "solver": .string(direct ? "cholmod" : "cg+mg"), "equation": .string("-div(a grad u) = 1 on (0,1)^2, u = 0 on the boundary"),
         "face_mean": .string("harmonic")]
    }

    public var fixedDatasets: [(name: String, shape: [Int], values: [Double])] {
        resolutions.map { r in ("x_\(r)", [r], (0..<r).map { Double($0) / Double(r - 1) }) }
    }

    /// The problem of one coefficient field (node values, x fastest) on the s×s grid.
    public func problem(coefficient a: [Double]) throws -> DiffusionProblem {
        let grid = try Grid.unit(dimension: 2, nodesPerAxis: size)
        var p = DiffusionProblem(grid: grid, source: { _ in 1 }, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        p.coefficientValues = a
        return p
    }

    /// Sample `index`: field → coefficient → FV solve (throws when the solver does not converge) → every stated resolution of a and u.
    public func sample(_ index: Int, generator: inout SeededGenerator) throws -> [[Double]] {
        let a = CosineGaussianRandomField.darcyCoefficient(try field.sample(using: &generator), high: high, low: low)
        let system = try problem(coefficient: a).assemble()
        let solver = try LinearSolver(matrix: system.matrix, method: direct ? "cholmod" : "cg", preconditioner: direct ? "none" : "mg",
                                      options: IterativeOptions(relativeTolerance: tolerance, maxIterations: 500, recordHistory: false),
                                      layout: system.gridLayout)
        let (x, report) = try solver.solve(system.rhs)
        guard report.reason.converged else {
            throw PDEError.invalidValue(key: "darcy sample \(index)", value: "the solver stopped with \(report.reason.petscName) at relative residual \(report.trueRelativeResidual)",
                                        expected: "a converged solve (raise darcy.tolerance or use solver: cholmod)")
        }
        let u = try system.fullSolution(x).values
        return resolutions.flatMap { r in [DarcyFamily.subsample(a, size: size, to: r), DarcyFamily.subsample(u, size: size, to: r)] }
    }

    /// Every ((s − 1)/(r − 1))-th node of an s×s field in both axes.
    public static func subsample(_ v: [Double], size s: Int, to r: Int) -> [Double] {
        let k = (s - 1) / (r - 1)
        var out = [Double](repeating: 0, count: r * r)
        for i in 0..<r { for j in 0..<r { out[i * r + j] = v[(i * k) * s + j * k] } }
        return out
    }
}
