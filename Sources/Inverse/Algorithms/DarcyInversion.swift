import Foundation
import PDE

// PDE-constrained inversion for the Darcy (steady diffusion) equation
//
//     −∇·(a∇u) = f  on (0, 1)²,   u = 0 on the boundary,   a = exp(m),
//
// on a uniform grid with n×n interior nodes (spacing h = 1/(n + 1)). Conventions:
//
// * The state u lives on the interior nodes, numbered x fastest: unknown p = j·n + i is the
//   node (x, y) = ((i + 1)h, (j + 1)h). The boundary nodes carry u = 0.
// * The log-conductivity m is one value per grid CELL: cell c = J·(n + 1) + I is the square
//   [Ih, (I + 1)h] × [Jh, (J + 1)h], I, J = 0…n, so m has (n + 1)² values, shape [n + 1, n + 1]
//   (rows = y). Every grid edge carries the arithmetic mean of a over the two cells it
//   separates (the vertex-centred finite-volume scheme: the dual face across an edge lies
//   half in each cell), so the matrix is the 5-point stencil
//       (A u)_p = Σ_edges a_e (u_p − u_q) / h²,   diagonal (a_SW + a_SE + a_NW + a_NE)/h²,
//   symmetric positive definite, second order for smooth a. Cells make every entry of A
//   linear in a, with ∂a_e/∂m_c = a_c/2 for the two cells c of edge e.
// * The source f is one value per interior node (the source-recovery variant's unknown).
//
// Gradient of J(m) = ½Σ(Bu − d)²/σ² + R(m) by the adjoint-state method: one solve A(m)u = f,
// one solve A(m)λ = Bᵀ(Bu − d)/σ² with the same CHOLMOD factor (A is symmetric), then
//     ∂J/∂m_c = −λᵀ (∂A/∂m_c) u + ∂R/∂m_c = −(a_c / 2h²) Σ_{edges e of c} Δ_eλ Δ_eu + ∂R/∂m_c,
// a face-by-face contraction that is exact for the discrete objective.

/// Point observations of a grid function by bilinear interpolation: the interior-node values
/// of the Darcy state (zero on the boundary of the unit square) at given points. A sparse
/// matrix B (≤ 4 entries per row) with its exact transpose as the adjoint.
///
/// Domain [n, n] (interior nodes, x fastest), range [number of points].
public struct PointObservationModel: ForwardModel, Sendable {
    /// "point observations".
    public var name: String { "point observations" }
    /// Interior nodes per axis.
    public let nodesPerAxis: Int
    /// The observation points (x, y) in [0, 1]².
    public let points: [SIMD2<Double>]
    /// B as a CSR matrix: rows = points, columns = interior nodes.
    public let matrix: CSRMatrix
    /// [n, n].
    public var domainShape: [Int] { [nodesPerAxis, nodesPerAxis] }
    /// [number of points].
    public var rangeShape: [Int] { [points.count] }

    /// Bilinear interpolation on the (n + 2)×(n + 2) node grid of the unit square with zero
    /// boundary values. Throws for n < 1, no points, or a point outside [0, 1]² (or not finite).
    public init(nodesPerAxis n: Int, points: [SIMD2<Double>]) throws {
        guard n >= 1 else {
            throw PDEError.invalidValue(key: "nodes_per_axis", value: "\(n)", expected: "at least 1 interior node per axis")
        }
        guard !points.isEmpty else {
            throw PDEError.invalidValue(key: "observation points", value: "none", expected: "at least one point in [0, 1]²")
        }
        let h = 1 / Double(n + 1)
        var builder = COOBuilder(rows: points.count, columns: n * n, reserve: 4 * points.count)
        for (k, p) in points.enumerated() {
            guard p.x.isFinite, p.y.isFinite, p.x >= 0, p.x <= 1, p.y >= 0, p.y <= 1 else {
                throw PDEError.invalidValue(key: "observation point \(k)", value: "(\(p.x), \(p.y))", expected: "a point of the unit square [0, 1]²")
            }
            // Cell of the full node grid (nodes I·h, I = 0…n + 1) and local coordinates.
            let ix = min(Int(p.x / h), n), iy = min(Int(p.y / h), n)
            let tx = min(max(p.x / h - Double(ix), 0), 1), ty = min(max(p.y / h - Double(iy), 0), 1)
            let corners: [(Int, Int, Double)] = [(ix, iy, (1 - tx) * (1 - ty)), (ix + 1, iy, tx * (1 - ty)),
                                                 (ix, iy + 1, (1 - tx) * ty), (ix + 1, iy + 1, tx * ty)]
            var any = false
            for (fi, fj, w) in corners where fi >= 1 && fi <= n && fj >= 1 && fj <= n && w != 0 {
                builder.add(k, (fj - 1) * n + (fi - 1), w)
                any = true
            }
            if !any { builder.add(k, 0, 0) }  // a point on the boundary: a structural zero row entry
        }
        nodesPerAxis = n
        self.points = points
        matrix = builder.build()
    }

    /// y ← B x.
    public func apply(_ x: [Double], into y: inout [Double]) {
        matrix.rowPointers.withUnsafeBufferPointer { rp in
            matrix.columnIndices.withUnsafeBufferPointer { ci in
                matrix.values.withUnsafeBufferPointer { va in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for r in 0..<matrix.rows {
                                var s = 0.0
                                var k = rp[r]
                                while k < rp[r &+ 1] { s += va[k] * xp[Int(ci[k])]; k = k &+ 1 }
                                yp[r] = s
                            }
                        }
                    }
                }
            }
        }
    }

    /// x ← Bᵀ y.
    public func adjoint(_ y: [Double], into x: inout [Double]) {
        matrix.rowPointers.withUnsafeBufferPointer { rp in
            matrix.columnIndices.withUnsafeBufferPointer { ci in
                matrix.values.withUnsafeBufferPointer { va in
                    y.withUnsafeBufferPointer { yp in
                        x.withUnsafeMutableBufferPointer { xp in
                            for i in 0..<xp.count { xp[i] = 0 }
                            for r in 0..<matrix.rows {
                                let v = yp[r]
                                var k = rp[r]
                                while k < rp[r &+ 1] { xp[Int(ci[k])] += va[k] * v; k = k &+ 1 }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A solved Darcy state: u, the conductivity it was solved with, and the CHOLMOD factor of
/// A(m), kept for adjoint solves (A is symmetric, so Aᵀλ = g reuses it).
public struct DarcyState {
    /// The log-conductivity m (per cell).
    public let logConductivity: [Double]
    /// u at the interior nodes (x fastest).
    public let u: [Double]
    /// The Cholesky factor of A(m).
    public let factorization: CholmodFactorization

    /// Solves A(m)ᵀ λ = g (= A(m) λ = g) with the stored factor.
    public func adjointSolve(_ g: [Double]) throws -> [Double] { try factorization.solve(g) }
}

/// The discrete forward problem −∇·(e^m ∇u) = f on the unit square with u = 0 on the
/// boundary (see the conventions at the top of this file: m per cell, arithmetic face means,
/// 5-point stencil, f per interior node), with a bilinear point-observation operator.
public struct DarcyForwardProblem: Sendable {
    /// Interior nodes per axis (n); unknowns n², cells (n + 1)².
    public let nodesPerAxis: Int
    /// The source f at the interior nodes (x fastest).
    public let source: [Double]
    /// The observation operator B.
    public let observation: PointObservationModel
    /// CSR pattern of the 5-point matrix (fixed; values depend on m).
    private let rowPointers: [Int]
    private let columnIndices: [Int32]

    /// n interior nodes per axis, the source per interior node, the observation points.
    /// Throws for n < 1, a source of the wrong length or with non-finite values, and bad points.
    public init(nodesPerAxis n: Int, source: [Double], points: [SIMD2<Double>]) throws {
        observation = try PointObservationModel(nodesPerAxis: n, points: points)
        try InverseCheck.length(source.count, n * n, "Darcy source (one value per interior node, \(n)×\(n))")
        for v in source where !v.isFinite {
            throw PDEError.invalidValue(key: "darcy source", value: "\(v)", expected: "finite values")
        }
        nodesPerAxis = n
        self.source = source
        var rp = [Int](repeating: 0, count: n * n + 1)
        var ci: [Int32] = []
        ci.reserveCapacity(5 * n * n)
        for j in 0..<n {
            for i in 0..<n {
                let p = j * n + i
                if j > 0 { ci.append(Int32(p - n)) }
                if i > 0 { ci.append(Int32(p - 1)) }
                ci.append(Int32(p))
                if i < n - 1 { ci.append(Int32(p + 1)) }
                if j < n - 1 { ci.append(Int32(p + n)) }
                rp[p + 1] = ci.count
            }
        }
        rowPointers = rp
        columnIndices = ci
    }

    /// The same with the source given as a function f(x, y) sampled at the interior nodes.
    public init(nodesPerAxis n: Int, source: (Double, Double) -> Double, points: [SIMD2<Double>]) throws {
        guard n >= 1 else {
            throw PDEError.invalidValue(key: "nodes_per_axis", value: "\(n)", expected: "at least 1 interior node per axis")
        }
        let h = 1 / Double(n + 1)
        var f = [Double](repeating: 0, count: n * n)
        for j in 0..<n { for i in 0..<n { f[j * n + i] = source(Double(i + 1) * h, Double(j + 1) * h) } }
        try self.init(nodesPerAxis: n, source: f, points: points)
    }

    /// Grid spacing h = 1/(n + 1).
    public var spacing: Double { 1 / Double(nodesPerAxis + 1) }
    /// Number of state unknowns n².
    public var unknownCount: Int { nodesPerAxis * nodesPerAxis }
    /// Number of log-conductivity values (n + 1)² (one per cell).
    public var parameterCount: Int { (nodesPerAxis + 1) * (nodesPerAxis + 1) }
    /// Number of observations.
    public var observationCount: Int { observation.points.count }

    /// A function sampled at the cell centres ((I + ½)h, (J + ½)h), I fastest: a log-conductivity.
    public func cellValues(_ f: (Double, Double) -> Double) -> [Double] {
        let c = nodesPerAxis + 1, h = spacing
        var v = [Double](repeating: 0, count: c * c)
        for jj in 0..<c { for ii in 0..<c { v[jj * c + ii] = f((Double(ii) + 0.5) * h, (Double(jj) + 0.5) * h) } }
        return v
    }

    /// A function sampled at the interior nodes ((i + 1)h, (j + 1)h), i fastest: a state or source.
    public func nodeValues(_ f: (Double, Double) -> Double) -> [Double] {
        let n = nodesPerAxis, h = spacing
        var v = [Double](repeating: 0, count: n * n)
        for j in 0..<n { for i in 0..<n { v[j * n + i] = f(Double(i + 1) * h, Double(j + 1) * h) } }
        return v
    }

    /// The conductivity a = exp(m); throws for a wrong length or a non-finite or non-positive
    /// result (|m| too large).
    func conductivity(_ m: [Double]) throws -> [Double] {
        try InverseCheck.length(m.count, parameterCount, "log-conductivity (one value per cell, \(nodesPerAxis + 1)×\(nodesPerAxis + 1))")
        var a = [Double](repeating: 0, count: m.count)
        for c in 0..<m.count {
            let v = Foundation.exp(m[c])
            guard v.isFinite, v > 0 else {
                throw PDEError.invalidValue(key: "log-conductivity in cell \(c)", value: "\(m[c])",
                                            expected: "a finite value whose exponential is a positive finite number")
            }
            a[c] = v
        }
        return a
    }

    /// The SPD matrix A(m) of the 5-point scheme (interior unknowns, rows/columns x fastest).
    public func operatorMatrix(logConductivity m: [Double]) throws -> CSRMatrix {
        try matrix(conductivity: conductivity(m))
    }

    func matrix(conductivity a: [Double]) -> CSRMatrix {
        let n = nodesPerAxis, c = n + 1
        let invH2 = 1 / (spacing * spacing)
        var values = [Double](repeating: 0, count: columnIndices.count)
        a.withUnsafeBufferPointer { ap in
            values.withUnsafeMutableBufferPointer { vp in
                var k = 0
                for j in 0..<n {
                    for i in 0..<n {
                        let sw = ap[j &* c &+ i], se = ap[j &* c &+ i &+ 1]
                        let nw = ap[(j &+ 1) &* c &+ i], ne = ap[(j &+ 1) &* c &+ i &+ 1]
                        if j > 0 { vp[k] = -0.5 * (sw + se) * invH2; k = k &+ 1 }
                        if i > 0 { vp[k] = -0.5 * (sw + nw) * invH2; k = k &+ 1 }
                        vp[k] = (sw + se + nw + ne) * invH2; k = k &+ 1
                        if i < n &- 1 { vp[k] = -0.5 * (se + ne) * invH2; k = k &+ 1 }
                        if j < n &- 1 { vp[k] = -0.5 * (nw + ne) * invH2; k = k &+ 1 }
                    }
                }
            }
        }
        return CSRMatrix(unchecked: n * n, columns: n * n, rowPointers: rowPointers, columnIndices: columnIndices, values: values)
    }

    /// Assembles A(m), factorizes it with CHOLMOD and solves A(m) u = f (the problem's source).
    public func solve(_ m: [Double]) throws -> DarcyState { try solve(m, source: source) }

    /// The same with another source f (one value per interior node).
    public func solve(_ m: [Double], source f: [Double]) throws -> DarcyState {
        try InverseCheck.length(f.count, unknownCount, "Darcy source (one value per interior node)")
        let a = try conductivity(m)
        let factor = try CholmodFactorization(matrix: matrix(conductivity: a), checkSymmetry: false)
        return DarcyState(logConductivity: m, u: try factor.solve(f), factorization: factor)
    }

    /// B u: the state at the observation points.
    public func observe(_ u: [Double]) throws -> [Double] { try observation(u) }

    /// g_c = −(a_c / 2h²) Σ_{edges e of cell c} Δ_eλ Δ_eu = −λᵀ(∂A/∂m_c)u for every cell c.
    func conductivityGradient(conductivity a: [Double], state u: [Double], adjoint lambda: [Double]) -> [Double] {
        let n = nodesPerAxis, c = n + 1, full = n + 2
        // Zero-padded copies on the full (n + 2)² node grid.
        var uf = [Double](repeating: 0, count: full * full), lf = uf
        for j in 0..<n {
            for i in 0..<n {
                uf[(j + 1) * full + i + 1] = u[j * n + i]
                lf[(j + 1) * full + i + 1] = lambda[j * n + i]
            }
        }
        let scale = -0.5 / (spacing * spacing)
        var g = [Double](repeating: 0, count: c * c)
        uf.withUnsafeBufferPointer { up in
            lf.withUnsafeBufferPointer { lp in
                a.withUnsafeBufferPointer { ap in
                    g.withUnsafeMutableBufferPointer { gp in
                        for jj in 0..<c {
                            for ii in 0..<c {
                                let p00 = jj &* full &+ ii, p10 = p00 &+ 1, p01 = p00 &+ full, p11 = p01 &+ 1
                                let u00 = up[p00], u10 = up[p10], u01 = up[p01], u11 = up[p11]
                                let l00 = lp[p00], l10 = lp[p10], l01 = lp[p01], l11 = lp[p11]
                                var s = (l10 - l00) * (u10 - u00)
                                s += (l11 - l01) * (u11 - u01)
                                s += (l01 - l00) * (u01 - u00)
                                s += (l11 - l10) * (u11 - u10)
                                let cell = jj &* c &+ ii
                                gp[cell] = scale * ap[cell] * s
                            }
                        }
                    }
                }
            }
        }
        return g
    }
}

/// The regularizers of the Darcy inversions, on a rows×columns grid of spacing h (cells for
/// the log-conductivity, interior nodes for the source), with forward differences
/// D_x x = (x_{r,c+1} − x_{r,c})/h inside the grid (no difference across its outer edge):
///
/// * Tikhonov (H¹): R = (β/2) Σ_edges h² |D x|² + (α/2) Σ h² (x − x₀)²
///   = (β/2) Σ_edges (x_p − x_q)² + (α/2) h² ‖x − x₀‖², the discrete (β/2)‖∇x‖² + (α/2)‖x − x₀‖²
///   of L²(0, 1)² (mesh-independent weights).
/// * Smoothed total variation: R = β Σ_nodes h² √(|D_x x|² + |D_y x|² + ε²), the discrete
///   β∫√(|∇x|² + ε²) (ε in units of the gradient), smooth for ε > 0.
public enum DarcyRegularization: Sendable, Equatable {
    /// R = 0.
    case none
    /// (β/2)‖∇x‖² + (α/2)‖x − x₀‖².
    case tikhonov(beta: Double, alpha: Double)
    /// β Σ h² √(|∇x|² + ε²).
    case totalVariation(beta: Double, epsilon: Double)

    /// Throws for negative or non-finite weights, or ε ≤ 0.
    public func validate() throws {
        switch self {
        case .none: break
        case let .tikhonov(beta, alpha):
            try InverseCheck.nonNegative(beta, key: "regularization.beta")
            try InverseCheck.nonNegative(alpha, key: "regularization.alpha")
        case let .totalVariation(beta, epsilon):
            try InverseCheck.nonNegative(beta, key: "regularization.beta")
            try InverseCheck.positive(epsilon, key: "regularization.epsilon")
        }
    }

    /// R(x) and ∇R(x) on a rows×columns grid (x fastest along columns) of spacing h;
    /// `reference` x₀ (nil: 0) enters the α term only.
    public func evaluate(_ x: [Double], rows: Int, columns: Int, spacing h: Double,
                         reference: [Double]? = nil) throws -> (value: Double, gradient: [Double]) {
        try validate()
        guard rows >= 1, columns >= 1 else {
            throw PDEError.invalidValue(key: "regularization grid", value: "\(rows)×\(columns)", expected: "positive sizes")
        }
        try InverseCheck.positive(h, key: "regularization.spacing")
        try InverseCheck.length(x.count, rows * columns, "regularized array (\(rows)×\(columns))")
        if let r = reference { try InverseCheck.length(r.count, x.count, "regularization reference") }
        var g = [Double](repeating: 0, count: x.count)
        var value = 0.0
        switch self {
        case .none:
            break
        case let .tikhonov(beta, alpha):
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { gp in
                    for r in 0..<rows {
                        for c in 0..<columns {
                            let p = r &* columns &+ c
                            if c &+ 1 < columns {
                                let d = xp[p &+ 1] - xp[p]
                                value += 0.5 * beta * d * d
                                gp[p &+ 1] += beta * d; gp[p] -= beta * d
                            }
                            if r &+ 1 < rows {
                                let d = xp[p &+ columns] - xp[p]
                                value += 0.5 * beta * d * d
                                gp[p &+ columns] += beta * d; gp[p] -= beta * d
                            }
                        }
                    }
                    if alpha > 0 {
                        let w = alpha * h * h
                        for p in 0..<xp.count {
                            let d = xp[p] - (reference?[p] ?? 0)
                            value += 0.5 * w * d * d
                            gp[p] += w * d
                        }
                    }
                }
            }
        case let .totalVariation(beta, epsilon):
            let e2 = epsilon * epsilon, w = beta * h * h, invH = 1 / h
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { gp in
                    for r in 0..<rows {
                        for c in 0..<columns {
                            let p = r &* columns &+ c
                            let dx = c &+ 1 < columns ? (xp[p &+ 1] - xp[p]) * invH : 0
                            let dy = r &+ 1 < rows ? (xp[p &+ columns] - xp[p]) * invH : 0
                            let s = (dx * dx + dy * dy + e2).squareRoot()
                            value += w * s
                            // ∂/∂x of w s: w (dx ∂dx + dy ∂dy)/s, ∂dx/∂x_{p+1} = 1/h, ∂dx/∂x_p = −1/h.
                            let qx = w * dx / s * invH, qy = w * dy / s * invH
                            if c &+ 1 < columns { gp[p &+ 1] += qx; gp[p] -= qx }
                            if r &+ 1 < rows { gp[p &+ columns] += qy; gp[p] -= qy }
                        }
                    }
                }
            }
        }
        return (value, g)
    }
}

/// One evaluation of a Darcy inversion objective.
public struct DarcyEvaluation {
    /// J = misfit + regularization.
    public var value: Double
    /// ½Σ(Bu − d)²/σ².
    public var misfit: Double
    /// R(x).
    public var regularization: Double
    /// ∇J (adjoint-state).
    public var gradient: [Double]
    /// The state u of this evaluation.
    public var u: [Double]
}

/// Shared checks of the two inversions.
private func checkData(_ problem: DarcyForwardProblem, _ observations: [Double], _ sigma: Double) throws {
    try InverseCheck.length(observations.count, problem.observationCount, "Darcy observations (one per point)")
    for v in observations where !v.isFinite {
        throw PDEError.invalidValue(key: "darcy observations", value: "\(v)", expected: "finite values")
    }
    try InverseCheck.positive(sigma, key: "noise_standard_deviation")
}

/// Misfit ½Σ(Bu − d)²/σ² and the adjoint right-hand side Bᵀ(Bu − d)/σ².
private func misfitAndAdjointSource(_ problem: DarcyForwardProblem, _ u: [Double], _ d: [Double], _ sigma: Double) -> (Double, [Double]) {
    var bu = [Double](repeating: 0, count: d.count)
    problem.observation.apply(u, into: &bu)
    let w = 1 / (sigma * sigma)
    var misfit = 0.0
    for k in 0..<d.count {
        let r = bu[k] - d[k]
        misfit += 0.5 * w * r * r
        bu[k] = w * r
    }
    var g = [Double](repeating: 0, count: u.count)
    problem.observation.adjoint(bu, into: &g)
    return (misfit, g)
}

/// Recovery of the log-conductivity m (per cell) of −∇·(e^m∇u) = f from noisy point
/// observations d of u: minimizes
///     J(m) = ½ Σ_k (d_k − (B u(m))_k)² / σ² + R(m)
/// with R a `DarcyRegularization` on the (n + 1)² cell grid (reference m₀ for the α term),
/// by L-BFGS. Each evaluation: one assembly, one CHOLMOD factorization, one forward and one
/// adjoint solve with that factor, and the face-by-face contraction (see the file header).
public struct DarcyInversion {
    /// The forward problem (grid, source, observation points).
    public let problem: DarcyForwardProblem
    /// The observed values d (one per point).
    public let observations: [Double]
    /// The noise standard deviation σ > 0.
    public let noiseStandardDeviation: Double
    /// R.
    public let regularization: DarcyRegularization
    /// m₀ of the α term (one value per cell).
    public let reference: [Double]

    /// Throws for observations of the wrong length or not finite, σ ≤ 0, bad regularization
    /// weights, or a reference of the wrong length (nil: m₀ = 0).
    public init(problem: DarcyForwardProblem, observations: [Double], noiseStandardDeviation: Double,
                regularization: DarcyRegularization, reference: [Double]? = nil) throws {
        try checkData(problem, observations, noiseStandardDeviation)
        try regularization.validate()
        if let r = reference { try InverseCheck.length(r.count, problem.parameterCount, "reference log-conductivity") }
        self.problem = problem
        self.observations = observations
        self.noiseStandardDeviation = noiseStandardDeviation
        self.regularization = regularization
        self.reference = reference ?? [Double](repeating: 0, count: problem.parameterCount)
    }

    /// J(m), its parts, the adjoint-state gradient and the state.
    public func evaluate(_ m: [Double]) throws -> DarcyEvaluation {
        let state = try problem.solve(m)
        let (misfit, rhs) = misfitAndAdjointSource(problem, state.u, observations, noiseStandardDeviation)
        let lambda = try state.adjointSolve(rhs)
        let a = try problem.conductivity(m)
        var g = problem.conductivityGradient(conductivity: a, state: state.u, adjoint: lambda)
        let c = problem.nodesPerAxis + 1
        let (r, gr) = try regularization.evaluate(m, rows: c, columns: c, spacing: problem.spacing, reference: reference)
        for i in g.indices { g[i] += gr[i] }
        return DarcyEvaluation(value: misfit + r, misfit: misfit, regularization: r, gradient: g, u: state.u)
    }

    /// (J(m), ∇J(m)), the form `LBFGS.minimize` takes.
    public func objective(_ m: [Double]) throws -> (value: Double, gradient: [Double]) {
        let e = try evaluate(m)
        return (e.value, e.gradient)
    }

    /// Minimizes J by `optimizer` from `initial` (nil: the reference m₀).
    public func reconstruct(initial: [Double]? = nil, optimizer: LBFGS = LBFGS()) throws -> Reconstruction {
        let m0 = initial ?? reference
        try InverseCheck.length(m0.count, problem.parameterCount, "initial log-conductivity")
        var result = try optimizer.minimize(initial: m0) { try objective($0) }
        result.report.algorithm = "darcy-inversion (lbfgs)"
        return result
    }
}

/// Recovery of the source f (per interior node) of −∇·(a∇u) = f with a known conductivity
/// a = e^m from noisy point observations: J(f) = ½Σ(d − B A⁻¹f)²/σ² + R(f), R on the n×n node
/// grid. The problem is linear in f: A is factorized once, and every evaluation is one forward
/// and one adjoint solve with that factor; ∇J = A⁻¹Bᵀ(BA⁻¹f − d)/σ² + ∇R.
public struct DarcySourceInversion {
    /// The forward problem (its own source is ignored).
    public let problem: DarcyForwardProblem
    /// The known log-conductivity (per cell).
    public let logConductivity: [Double]
    /// The observed values d.
    public let observations: [Double]
    /// σ > 0.
    public let noiseStandardDeviation: Double
    /// R (on the node grid).
    public let regularization: DarcyRegularization
    /// f₀ of the α term (one value per interior node).
    public let reference: [Double]
    private let factorization: CholmodFactorization

    /// Factorizes A(m) once. Throws like `DarcyInversion.init`, and for a log-conductivity
    /// of the wrong length.
    public init(problem: DarcyForwardProblem, logConductivity: [Double], observations: [Double], noiseStandardDeviation: Double,
                regularization: DarcyRegularization, reference: [Double]? = nil) throws {
        try checkData(problem, observations, noiseStandardDeviation)
        try regularization.validate()
        if let r = reference { try InverseCheck.length(r.count, problem.unknownCount, "reference source") }
        self.problem = problem
        self.logConductivity = logConductivity
        self.observations = observations
        self.noiseStandardDeviation = noiseStandardDeviation
        self.regularization = regularization
        self.reference = reference ?? [Double](repeating: 0, count: problem.unknownCount)
        factorization = try CholmodFactorization(matrix: problem.operatorMatrix(logConductivity: logConductivity), checkSymmetry: false)
    }

    /// J(f), its parts, the gradient and the state.
    public func evaluate(_ f: [Double]) throws -> DarcyEvaluation {
        try InverseCheck.length(f.count, problem.unknownCount, "source (one value per interior node)")
        let u = try factorization.solve(f)
        let (misfit, rhs) = misfitAndAdjointSource(problem, u, observations, noiseStandardDeviation)
        var g = try factorization.solve(rhs)
        let n = problem.nodesPerAxis
        let (r, gr) = try regularization.evaluate(f, rows: n, columns: n, spacing: problem.spacing, reference: reference)
        for i in g.indices { g[i] += gr[i] }
        return DarcyEvaluation(value: misfit + r, misfit: misfit, regularization: r, gradient: g, u: u)
    }

    /// (J(f), ∇J(f)).
    public func objective(_ f: [Double]) throws -> (value: Double, gradient: [Double]) {
        let e = try evaluate(f)
        return (e.value, e.gradient)
    }

    /// Minimizes J by `optimizer` from `initial` (nil: the reference f₀).
    public func reconstruct(initial: [Double]? = nil, optimizer: LBFGS = LBFGS()) throws -> Reconstruction {
        let f0 = initial ?? reference
        try InverseCheck.length(f0.count, problem.unknownCount, "initial source")
        var result = try optimizer.minimize(initial: f0) { try objective($0) }
        result.report.algorithm = "darcy-source-inversion (lbfgs)"
        return result
    }
}

/// Synthetic truths and data for the Darcy inversions (seeded).
public enum DarcySynthetic {
    /// A smooth log-conductivity with two Gaussian inclusions on a zero background:
    /// m(x, y) = 1.0·exp(−|p − (0.3, 0.35)|²/(2·0.1²)) − 0.8·exp(−|p − (0.7, 0.65)|²/(2·0.12²))
    /// (a ≈ 2.7 in a conductive inclusion, a ≈ 0.45 in a resistive one).
    public static func logConductivity(_ x: Double, _ y: Double) -> Double {
        let d1 = (x - 0.3) * (x - 0.3) + (y - 0.35) * (y - 0.35)
        let d2 = (x - 0.7) * (x - 0.7) + (y - 0.65) * (y - 0.65)
        return 1.0 * Foundation.exp(-d1 / (2 * 0.01)) - 0.8 * Foundation.exp(-d2 / (2 * 0.0144))
    }

    /// A regular k×k lattice of points ((i + ½)/k, (j + ½)/k), x fastest (k = 10: 100 points).
    public static func latticePoints(perAxis k: Int = 10) throws -> [SIMD2<Double>] {
        guard k >= 1 else { throw PDEError.invalidValue(key: "points_per_axis", value: "\(k)", expected: "at least 1") }
        var p: [SIMD2<Double>] = []
        for j in 0..<k { for i in 0..<k { p.append(SIMD2((Double(i) + 0.5) / Double(k), (Double(j) + 0.5) / Double(k))) } }
        return p
    }

    /// `count` uniform random points in [margin, 1 − margin]² (seeded).
    public static func randomPoints(count: Int, seed: UInt64, margin: Double = 0.05) throws -> [SIMD2<Double>] {
        guard count >= 1 else { throw PDEError.invalidValue(key: "point count", value: "\(count)", expected: "at least 1") }
        guard margin >= 0, margin < 0.5 else {
            throw PDEError.invalidValue(key: "margin", value: "\(margin)", expected: "a margin in [0, 0.5)")
        }
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in SIMD2(rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin)) }
    }

    /// Solves the forward problem for `logConductivity` (and `source`, nil: the problem's),
    /// observes u, and adds seeded Gaussian noise of standard deviation σ = noiseLevel·max|u|
    /// (max over the grid). Throws for a negative or non-finite noise level.
    public static func observations(_ problem: DarcyForwardProblem, logConductivity m: [Double], source: [Double]? = nil,
                                    noiseLevel: Double = 0.01, seed: UInt64 = 0) throws
        -> (noisy: [Double], clean: [Double], sigma: Double) {
        try InverseCheck.nonNegative(noiseLevel, key: "noise_level")
        let state = try problem.solve(m, source: source ?? problem.source)
        let clean = try problem.observe(state.u)
        let sigma = noiseLevel * state.u.reduce(0) { max($0, abs($1)) }
        var rng = SeededGenerator(seed: seed)
        let noisy = clean.map { $0 + sigma * rng.normal() }
        return (noisy, clean, sigma)
    }
}
