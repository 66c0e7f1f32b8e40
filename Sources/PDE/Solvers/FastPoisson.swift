import Foundation

/// Direct solver for the suite's finite-volume operator −∇·(a∇u) + c·u with constant a > 0
/// and c ≥ 0 on a grid layout with Dirichlet, Neumann, mixed or periodic walls, by fast
/// real-to-real transforms: exact (to rounding) for the 5-/7-point matrices `FDSystem`
/// assembles, in O(N log N).
///
/// The FV matrix is A = V·(a·Σ_d L_d + c), V the control-volume weights (`FDSystem.volumes`)
/// and L_d the 1-D second-difference operator of axis d, whose eigenvectors are the
/// transform of the axis's boundary kinds: DST-I (Dirichlet–Dirichlet), DCT-I
/// (Neumann–Neumann, half cells at the walls), DST-III/II (Dirichlet then Neumann),
/// DCT-III/II (Neumann then Dirichlet), Hartley (periodic). So u = T⁻¹ (T(V⁻¹f) / (aΣλ + c)).
/// With c = 0 and no Dirichlet wall the operator is singular: the constant mode is set to
/// zero (the solution with zero volume-weighted mean of a consistent right-hand side).
///
/// As a `Preconditioner` (registry name `fastpoisson`) it is exact for constant-coefficient
/// matrices and a spectrally equivalent preconditioner for variable ones (built from the
/// least-squares fit of a and c to the matrix; `matchError` says how far the matrix is).
public final class FastPoissonSolver: Preconditioner {
    public let name = "fastpoisson"
    /// The unknowns' layout (grid, walls).
    public let layout: GridUnknownLayout
    /// The diffusion coefficient a and reaction c the solver inverts.
    public private(set) var coefficient: Double, reaction: Double
    /// max|A − A_fast| / max|A| of the matrix the solver was fitted to (0 when built from
    /// coefficients).
    public private(set) var matchError = 0.0
    /// True when the operator has a null space (c = 0, no Dirichlet wall).
    public var isSingular: Bool { reaction == 0 && !layout.dirichletLower.contains(true) && !layout.dirichletUpper.contains(true) }
    public var notes: [String] {
        [String(format: "fast Poisson (%@ transforms): a = %.6g, c = %.6g%@", kinds.map(\.rawValue).joined(separator: "×"),
                coefficient, reaction, matchError > 1e-10 ? String(format: ", matrix mismatch %.2e (preconditioner, not exact)", matchError) : "")]
    }

    private let transform: RealToRealTransform
    /// Kinds in C order (last axis = x).
    private let kinds: [RealTransformKind]
    /// Σ_d λ_d per transformed coefficient (C order).
    private let eigenvalues: [Double]
    private let inverseVolumes: [Double]
    private let unitVolumes: Bool
    private var work: [Double], coefficients: [Double]

    /// The solver for `layout` with coefficient a > 0 and reaction c ≥ 0; throws
    /// `PDEError.invalidValue` otherwise.
    public init(layout: GridUnknownLayout, coefficient a: Double = 1, reaction c: Double = 0) throws {
        guard a > 0, a.isFinite, c >= 0, c.isFinite else {
            throw PDEError.invalidValue(key: "fast Poisson coefficients", value: "a = \(a), c = \(c)", expected: "a > 0 and c ≥ 0, finite")
        }
        self.layout = layout
        coefficient = a
        reaction = c
        var axisKinds: [RealTransformKind] = [], axisEigen: [[Double]] = []
        for d in 0..<layout.dimension {
            let n = layout.counts[d], h = layout.grid.spacing[d]
            let s = 4 / (h * h)
            func sin2(_ x: Double) -> Double { let v = Foundation.sin(x); return v * v }
            let kind: RealTransformKind
            let lambda: [Double]
            switch (layout.periodic[d], layout.dirichletLower[d], layout.dirichletUpper[d]) {
            case (true, _, _):
                kind = .dht
                lambda = (0..<n).map { s * sin2(Double.pi * Double($0) / Double(n)) }
            case (false, true, true):
                kind = .dst1
                lambda = (0..<n).map { s * sin2(Double.pi * Double($0 + 1) / Double(2 * (n + 1))) }
            case (false, false, false):
                guard n >= 2 else { throw PDEError.invalidValue(key: "fast Poisson grid", value: "\(n) nodes on axis \(d)", expected: "at least 2") }
                kind = .dct1
                lambda = (0..<n).map { s * sin2(Double.pi * Double($0) / Double(2 * (n - 1))) }
            case (false, true, false):
                kind = .dst3
                lambda = (0..<n).map { s * sin2(Double.pi * Double(2 * $0 + 1) / Double(4 * n)) }
            case (false, false, true):
                kind = .dct3
                lambda = (0..<n).map { s * sin2(Double.pi * Double(2 * $0 + 1) / Double(4 * n)) }
            }
            axisKinds.append(kind)
            axisEigen.append(lambda)
        }
        kinds = axisKinds.reversed()
        transform = try RealToRealTransform(shape: layout.counts.reversed(), kinds: kinds)
        // Σ_d λ_d over the C-order index (x fastest = our unknown order).
        let total = layout.unknownCount
        var eig = [Double](repeating: 0, count: total)
        var idx = [Int](repeating: 0, count: layout.dimension)
        for u in 0..<total {
            var r = u
            for d in 0..<layout.dimension { idx[d] = r % layout.counts[d]; r /= layout.counts[d] }
            var sum = 0.0
            for d in 0..<layout.dimension { sum += axisEigen[d][idx[d]] }
            eig[u] = sum
        }
        eigenvalues = eig
        inverseVolumes = try FastPoissonSolver.volumes(layout).map { 1 / $0 }
        unitVolumes = inverseVolumes.allSatisfy { $0 == 1 }
        work = [Double](repeating: 0, count: total)
        coefficients = work
    }

    /// The solver fitted to `matrix`, the FV matrix of a diffusion problem on `layout`: a and
    /// c by least squares against the unit operator's entries, `matchError` the remaining
    /// relative difference (≤ 1e-12: the solver is exact for the matrix). Throws
    /// `PDEError.shapeMismatch` when the matrix is not a stencil matrix of the layout and
    /// `.invalidValue` when the fit is not a > 0, c ≥ 0 or leaves a singular operator for a
    /// non-singular (pinned) matrix.
    public static func matching(_ matrix: CSRMatrix, layout: GridUnknownLayout) throws -> FastPoissonSolver {
        let unit = try DiffusionProblem(grid: layout.grid, coefficient: { _ in 1 }, reaction: { _ in 0 }, source: { _ in 0 },
                                        boundary: layout.homogeneousBoundary).assemble()
        let reference = unit.operatorMatrix
        guard matrix.hasSamePattern(as: reference) else {
            throw PDEError.shapeMismatch(what: "fast Poisson", expected: "the \(reference.rows)×\(reference.rows) stencil matrix of the grid layout (\(reference.nonzeroCount) entries)",
                                         got: "\(matrix.rows)×\(matrix.columns) with \(matrix.nonzeroCount) entries")
        }
        var num = 0.0, den = 0.0
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] where Int(matrix.columnIndices[k]) != i {
                num += matrix.values[k] * reference.values[k]
                den += reference.values[k] * reference.values[k]
            }
        }
        let a = den > 0 ? num / den : 1
        let vol = unit.volumes
        var c = 0.0
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] where Int(matrix.columnIndices[k]) == i {
                c += (matrix.values[k] - a * reference.values[k]) / vol[i]
            }
        }
        c = max(0, c / Double(matrix.rows))
        if abs(c) < 1e-13 * a * layout.grid.spacing.map({ 1 / ($0 * $0) }).reduce(0, +) { c = 0 }
        let solver = try FastPoissonSolver(layout: layout, coefficient: a, reaction: c)
        var worst = 0.0, scale = 0.0
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] {
                let fast = a * reference.values[k] + (Int(matrix.columnIndices[k]) == i ? c * vol[i] : 0)
                worst = max(worst, abs(matrix.values[k] - fast))
                scale = max(scale, abs(matrix.values[k]))
            }
        }
        solver.matchError = scale > 0 ? worst / scale : 0
        if solver.isSingular && !ConstantNullSpace.isNullVector(of: matrix) {
            throw PDEError.invalidValue(key: "preconditioner", value: "fastpoisson for a non-singular matrix whose fitted operator is singular (a pinned pure-Neumann or periodic system?)",
                                        expected: "a Dirichlet wall or a reaction term, or the unpinned operator (FDSystem.operatorMatrix)")
        }
        return solver
    }

    /// Control-volume weights of the layout's unknowns (`FDSystem.volumes`).
    static func volumes(_ layout: GridUnknownLayout) throws -> [Double] {
        var idx = [Int](repeating: 0, count: layout.dimension)
        return (0..<layout.unknownCount).map { u in
            var r = u, v = 1.0
            for d in 0..<layout.dimension {
                idx[d] = r % layout.counts[d] + layout.first[d]
                r /= layout.counts[d]
                let boundary = !layout.periodic[d] && (idx[d] == 0 || idx[d] == layout.grid.counts[d] - 1)
                v *= boundary ? 0.5 : 1
            }
            return v
        }
    }

    /// u = A⁻¹ f (f and u indexed by the layout's unknowns).
    public func solve(_ f: [Double]) throws -> [Double] {
        var u = [Double](repeating: 0, count: f.count)
        try solve(f, into: &u)
        return u
    }

    /// u ← A⁻¹ f without allocation; throws `PDEError.shapeMismatch` for wrong lengths. Two
    /// transforms and one pass over the coefficients (the volume weights — none for
    /// Dirichlet and periodic walls — and the transform normalization folded in).
    public func solve(_ f: [Double], into u: inout [Double]) throws {
        try checkApplySizes(f, u, size: layout.unknownCount, name)
        let n = f.count
        if unitVolumes {
            try transform.apply(f, into: &coefficients)
        } else {
            for i in 0..<n { work[i] = f[i] * inverseVolumes[i] }
            try transform.apply(work, into: &coefficients)
        }
        let a = coefficient * transform.normalization, c = reaction * transform.normalization
        eigenvalues.withUnsafeBufferPointer { ev in
            coefficients.withUnsafeMutableBufferPointer { co in
                for i in 0..<n {
                    let d = a * ev[i] + c
                    co[i] = d > 0 ? co[i] / d : 0
                }
            }
        }
        try transform.applyInverse(coefficients, into: &u, normalized: false)
    }

    /// z = A⁻¹ r (exact for a matched matrix); returns r · z.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try solve(r, into: &z)
        return VectorKernels.dot(r, z)
    }

    /// Refits a and c to new values on the same pattern.
    public func update(_ matrix: CSRMatrix) throws {
        let fitted = try FastPoissonSolver.matching(matrix, layout: layout)
        coefficient = fitted.coefficient
        reaction = fitted.reaction
        matchError = fitted.matchError
    }
}
