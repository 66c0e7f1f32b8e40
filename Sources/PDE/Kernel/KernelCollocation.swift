import Foundation
import Support

/// A PDE for kernel collocation in the elimination form of Chen, Hosseini, Owhadi & Stuart
/// (2021): at every interior point the solution is measured by the functionals
/// L₀u, …, L_Qu (L₀ = u usually), and the PDE is solved for one of them,
/// w_e = G(x, w_kept) (for −Δu + u³ = f: Δu = u³ − f). Dirichlet data fix u on the boundary.
public struct CollocationPDE: Sendable {
    /// Signature of G: the point, its index among the interior points, the kept measurements
    /// (in the order of `functionals` without the eliminated one); returns G and writes ∂G/∂w_kept.
    public typealias Elimination = @Sendable (_ x: SIMD4<Double>, _ point: Int, _ kept: UnsafeBufferPointer<Double>,
                                              _ gradient: UnsafeMutableBufferPointer<Double>) -> Double

    public var name: String
    public var dimension: Int
    /// The measurements at every interior point.
    public var functionals: [DifferentialFunctional]
    /// The index in `functionals` of the one the PDE is solved for.
    public var eliminated: Int
    /// True when G is affine in the kept measurements (one Gauss–Newton step is exact).
    public var isLinear: Bool
    public var eliminate: Elimination

    /// A PDE in `dimension` variables measured by `functionals`, solved for `functionals[eliminated]` by `eliminate`.
    public init(name: String, dimension: Int, functionals: [DifferentialFunctional], eliminated: Int, isLinear: Bool,
                eliminate: @escaping Elimination) {
        self.name = name
        self.dimension = dimension
        self.functionals = functionals
        self.eliminated = eliminated
        self.isLinear = isLinear
        self.eliminate = eliminate
    }

    /// The kept functionals, in order.
    public var kept: [DifferentialFunctional] {
        functionals.enumerated().filter { $0.offset != eliminated }.map(\.element)
    }
}

/// Settings of the kernel collocation solver.
public struct CollocationOptions: Sendable {
    /// Relative nugget η: block q of Θ gets η × (its mean diagonal) added to its diagonal (the
    /// paper's adaptive nugget: blocks of derivatives are orders of magnitude larger).
    public var nugget: Double = 1e-10
    /// Cholesky retries with growing jitter if Θ + nugget is still not numerically SPD.
    public var jitter: JitterRule = JitterRule(initial: 1e-12, growth: 10, attempts: 6)
    /// Gauss–Newton iterations at most (linear PDEs stop after one).
    public var maxIterations: Int = 20
    /// Stop when ‖δ‖ ≤ stepTolerance (1 + ‖v‖) for the update δ of the kept measurements v.
    public var stepTolerance: Double = 1e-12
    /// Backtracking halvings of the Gauss–Newton step while the objective increases.
    public var lineSearchHalvings: Int = 20
    /// How each Gauss–Newton step's linear least-squares problem is solved.
    public var stepSolver: GaussNewtonStepSolver = .qr
    /// Also compute the log marginal likelihood of the PDE data
    /// (`CollocationSolution.logMarginalLikelihood`): one more triangular solve with the
    /// Jacobian (n²m flops) and an m × m Cholesky.
    public var evidence = false

    /// The defaults above.
    public init() {}

    /// Throws for values out of range, naming the option.
    public func validate() throws {
        guard nugget >= 0, nugget.isFinite else {
            throw PDEError.invalidValue(key: "nugget", value: "\(nugget)", expected: "a non-negative finite relative nugget")
        }
        guard maxIterations >= 1 else {
            throw PDEError.invalidValue(key: "max_iterations", value: "\(maxIterations)", expected: "at least 1 Gauss–Newton iteration")
        }
        guard stepTolerance >= 0, stepTolerance.isFinite else {
            throw PDEError.invalidValue(key: "step_tolerance", value: "\(stepTolerance)", expected: "a non-negative tolerance")
        }
        guard lineSearchHalvings >= 0 else {
            throw PDEError.invalidValue(key: "line_search", value: "\(lineSearchHalvings)", expected: "a non-negative number of halvings")
        }
    }
}

/// One Gauss–Newton iteration as reported to the monitor.
public struct CollocationIterate: Sendable {
    public let iteration: Int
    /// zᵀΘ⁻¹z at the new iterate (the squared RKHS norm of the interpolant).
    public let objective: Double
    /// ‖δ‖ of the accepted update (after the line search).
    public let stepNorm: Double
    /// The line-search factor taken (1: the full Gauss–Newton step).
    public let stepLength: Double
    public let seconds: Double
}

/// A solved collocation problem: the measurement vector z, its weights c = Θ⁻¹z, and
/// predictions of u (or any functional of it) anywhere.
public struct CollocationSolution: Sendable {
    public let kernel: CovarianceKernel
    /// Measurement groups (functional, points), in the order of z.
    public let groups: [(DifferentialFunctional, PointSet)]
    public let measurements: [Double]
    public let weights: [Double]
    public let history: [CollocationIterate]
    public let converged: Bool
    /// The diagonal jitter the Cholesky factorization needed beyond the nugget (0: none).
    public let jitter: Double
    public let setupSeconds: Double
    public let seconds: Double
    /// log p(data | kernel) when `CollocationOptions.evidence` was set, else nil. The data are
    /// what the constraints fix: with z = z₀ + J v over the kept measurements v, the component of
    /// z ~ N(0, Θ) orthogonal to range(J), whose log density is
    /// −½ z*ᵀΘ⁻¹z* − ½ log|Θ| − ½ log|JᵀΘ⁻¹J| + ½ log|JᵀJ| − (n − m)/2 log 2π at the MAP z*.
    /// Exact for linear PDEs; for nonlinear ones J is the Jacobian at the MAP (Laplace's
    /// approximation).
    public let logMarginalLikelihood: Double?
    /// The same with the kernel's amplitude at its maximum-likelihood value: z ~ N(0, σ²Θ) with
    /// σ̂² = z*ᵀΘ⁻¹z* / (n − m) (the MAP z* does not depend on σ²), i.e. the above plus
    /// ½ z*ᵀΘ⁻¹z* − ½ (n − m)(1 + log σ̂²). The criterion `maximizingEvidence` selects
    /// lengthscales by: a fixed unit amplitude would make the data's scale decide ℓ.
    public let profiledLogMarginalLikelihood: Double?

    /// Lu at `points` (u itself by default): K(points, measurements) c.
    public func predict(_ points: PointSet, _ functional: DifferentialFunctional = .value) throws -> [Double] {
        try KernelMatrices.cross(kernel, points, functional, groups: groups).apply(weights)
    }
}

/// Kernel collocation (the MAP estimate of a Gaussian process conditioned on the PDE at
/// collocation points): minimize zᵀΘ⁻¹z over the measurements z = (g on the boundary,
/// L₀u … L_Qu inside) subject to the PDE, with the eliminated measurement written through the
/// kept ones, by Gauss–Newton with a backtracking line search. Θ is factored once; every
/// iteration solves the linearized least-squares problem min ‖L⁻¹(z_k + J δ)‖ by Householder
/// QR (no normal equations).
public struct KernelCollocation: Sendable {
    public let kernel: CovarianceKernel
    public let options: CollocationOptions

    /// A solver with `kernel`; throws for options out of range.
    public init(kernel: CovarianceKernel, options: CollocationOptions = CollocationOptions()) throws {
        try options.validate()
        self.kernel = kernel
        self.options = options
    }

    /// Solves `pde` with Dirichlet values `boundaryValues` at `boundary`, starting from
    /// `initial` kept measurements (N_int × kept, point-major per functional: all points of the
    /// first kept functional, then the next; zeros when nil). `monitor` sees every iteration.
    public func solve(_ pde: CollocationPDE, interior: PointSet, boundary: PointSet, boundaryValues: [Double],
                      initial: [Double]? = nil,
                      monitor: ((CollocationIterate) -> Void)? = nil) throws -> CollocationSolution {
        let start = Date()
        guard interior.dimension == pde.dimension, boundary.dimension == pde.dimension else {
            throw PDEError.shapeMismatch(what: "collocation points", expected: "\(pde.dimension)-D points",
                                         got: "\(interior.dimension)-D interior, \(boundary.dimension)-D boundary")
        }
        guard boundaryValues.count == boundary.count else {
            throw PDEError.shapeMismatch(what: "boundary values", expected: "\(boundary.count) values", got: "\(boundaryValues.count)")
        }
        guard interior.count > 0 else {
            throw PDEError.invalidValue(key: "interior points", value: "0", expected: "at least one interior collocation point")
        }
        guard pde.functionals.indices.contains(pde.eliminated), pde.functionals.count >= 2 else {
            throw PDEError.invalidValue(key: "eliminated", value: "\(pde.eliminated)",
                                        expected: "the index of one of \(pde.functionals.count) functionals (at least two)")
        }
        if let bad = boundaryValues.first(where: { !$0.isFinite }) {
            throw PDEError.invalidValue(key: "boundary values", value: "\(bad)", expected: "finite Dirichlet data")
        }
        try KernelMatrices.validate(kernel, dimension: pde.dimension, functionals: pde.functionals)

        let nInt = interior.count, nB = boundary.count
        let q = pde.functionals.count
        let keptCount = q - 1
        let m = keptCount * nInt
        if let initial, initial.count != m {
            throw PDEError.shapeMismatch(what: "initial measurements", expected: "\(m) values (\(keptCount) per interior point)",
                                         got: "\(initial.count)")
        }
        // Θ over (u at the boundary, L_0 … L_Q inside), with the per-block nugget.
        var groups: [(DifferentialFunctional, PointSet)] = nB > 0 ? [(.value, boundary)] : []
        for f in pde.functionals { groups.append((f, interior)) }
        var theta = KernelMatrices.gram(kernel, groups: groups)
        let n = theta.rows
        var offset = 0
        var nuggetDiagonal = [Double](repeating: 0, count: n)
        for (_, pts) in groups {
            let block = (offset..<(offset + pts.count))
            let mean = block.reduce(0.0) { $0 + theta[$1, $1] } / Double(max(1, pts.count))
            for i in block { nuggetDiagonal[i] = options.nugget * mean }
            offset += pts.count
        }
        theta.addToDiagonal(nuggetDiagonal)
        let cholesky = try CholeskyFactorization(theta, jitter: options.jitter)
        let groupStart = nB
        let keptIndices = (0..<q).filter { $0 != pde.eliminated }
        let stepper = try GaussNewtonStepper(method: options.stepSolver, cholesky: cholesky, groupStart: groupStart,
                                             pointCount: nInt, kept: keptIndices, eliminated: pde.eliminated)
        let setupSeconds = Date().timeIntervalSince(start)

        // z(v) and ∂G/∂v.
        var v = initial ?? [Double](repeating: 0, count: m)
        func measurements(_ v: [Double], gradient: inout [Double]) -> [Double] {
            var z = [Double](repeating: 0, count: n)
            for i in 0..<nB { z[i] = boundaryValues[i] }
            var kept = [Double](repeating: 0, count: keptCount)
            var grad = [Double](repeating: 0, count: keptCount)
            for p in 0..<nInt {
                for k in 0..<keptCount { kept[k] = v[k * nInt + p] }
                let g = kept.withUnsafeBufferPointer { pk in grad.withUnsafeMutableBufferPointer { pg in
                    pde.eliminate(interior.points[p], p, pk, pg)
                } }
                for (k, f) in keptIndices.enumerated() { z[groupStart + f * nInt + p] = kept[k] }
                z[groupStart + pde.eliminated * nInt + p] = g
                for k in 0..<keptCount { gradient[k * nInt + p] = grad[k] }
            }
            return z
        }
        func objective(_ z: [Double]) throws -> Double { try cholesky.quadraticForm(z) }

        var gradient = [Double](repeating: 0, count: m)
        var z = measurements(v, gradient: &gradient)
        var current = try objective(z)
        guard current.isFinite else {
            throw PDEError.invalidValue(key: "initial guess", value: "objective \(current)", expected: "finite measurements at the start")
        }
        var history: [CollocationIterate] = []
        var converged = false
        let iterations = pde.isLinear ? 1 : options.maxIterations
        for iteration in 1...iterations {
            let t0 = Date()
            var delta = try stepper.step(measurements: z, gradient: gradient)
            var length = 1.0
            var trial = v
            var trialGradient = gradient
            var trialZ = z
            var trialObjective = current
            var accepted = false
            for _ in 0...options.lineSearchHalvings {
                for i in 0..<m { trial[i] = v[i] + length * delta[i] }
                trialZ = measurements(trial, gradient: &trialGradient)
                trialObjective = try objective(trialZ)
                if trialObjective.isFinite && (pde.isLinear || trialObjective <= current * (1 + 1e-12) + 1e-300) {
                    accepted = true
                    break
                }
                length *= 0.5
            }
            if !accepted {
                // No decrease along the Gauss–Newton direction: stationary to rounding when the
                // proposed step is negligible, otherwise a failed iteration (reported as not converged).
                converged = VectorKernels.norm(delta) <= 1e-6 * (1 + VectorKernels.norm(v))
                break
            }
            for i in 0..<m { delta[i] *= length }
            let stepNorm = VectorKernels.norm(delta)
            v = trial
            gradient = trialGradient
            z = trialZ
            current = trialObjective
            let record = CollocationIterate(iteration: iteration, objective: current, stepNorm: stepNorm, stepLength: length,
                                            seconds: Date().timeIntervalSince(t0))
            history.append(record)
            monitor?(record)
            if pde.isLinear || stepNorm <= options.stepTolerance * (1 + VectorKernels.norm(v)) {
                converged = true
                break
            }
        }
        let weights = try cholesky.solve(z)
        let evidence = options.evidence
            ? try Self.logEvidence(cholesky: cholesky, objective: current, gradient: gradient, groupStart: groupStart,
                                   pointCount: nInt, kept: keptIndices, eliminated: pde.eliminated)
            : nil
        return CollocationSolution(kernel: kernel, groups: groups, measurements: z, weights: weights, history: history,
                                   converged: converged, jitter: cholesky.jitter, setupSeconds: setupSeconds,
                                   seconds: Date().timeIntervalSince(start), logMarginalLikelihood: evidence?.unit,
                                   profiledLogMarginalLikelihood: evidence?.profiled)
    }

    /// The log marginal likelihood of the PDE data at the MAP (see
    /// `CollocationSolution.logMarginalLikelihood`). J has, for kept measurement (k, i), a 1 in
    /// its own row and ∂G/∂v in the eliminated row of point i, so JᵀJ is block diagonal by point
    /// with blocks I + g gᵀ: log|JᵀJ| = Σᵢ log(1 + ‖gᵢ‖²).
    static func logEvidence(cholesky: CholeskyFactorization, objective: Double, gradient: [Double], groupStart: Int,
                            pointCount p: Int, kept: [Int], eliminated: Int) throws -> (unit: Double, profiled: Double) {
        let n = cholesky.size, kc = kept.count, m = kc * p
        var j = DenseMatrix(rows: n, columns: m)
        for k in 0..<kc {
            for i in 0..<p {
                j[groupStart + kept[k] * p + i, k * p + i] = 1
                j[groupStart + eliminated * p + i, k * p + i] = gradient[k * p + i]
            }
        }
        let whitened = try cholesky.solveLower(j)
        let projected = try CholeskyFactorization(whitened.gram(transpose: true))
        var logJtJ = 0.0
        for i in 0..<p {
            var s = 1.0
            for k in 0..<kc { s += gradient[k * p + i] * gradient[k * p + i] }
            logJtJ += log(s)
        }
        let unit = -0.5 * objective - 0.5 * cholesky.logDeterminant - 0.5 * projected.logDeterminant + 0.5 * logJtJ
            - 0.5 * Double(n - m) * log(2 * Double.pi)
        let dof = Double(n - m)
        return (unit, unit + 0.5 * objective - 0.5 * dof * (1 + log(objective / dof)))
    }

    /// The lengthscale in `range` that maximizes the log marginal likelihood of the PDE data, the
    /// amplitude profiled out (type-II maximum likelihood,
    /// `CollocationSolution.profiledLogMarginalLikelihood`): golden-section search on log ℓ with `evaluations` solves
    /// (each `solve(ℓ)` must set `CollocationOptions.evidence`), after a coarse scan of 5 points
    /// that picks the bracket (the evidence need not be unimodal over a wide range). Returns the
    /// best lengthscale, its solution and every (ℓ, log evidence) evaluated. Throws for a bad
    /// range, fewer than 7 evaluations, or a solve without evidence.
    public static func maximizingEvidence(over range: ClosedRange<Double>, evaluations: Int = 20,
                                          solve: (Double) throws -> CollocationSolution)
        throws -> (lengthscale: Double, solution: CollocationSolution, trace: [(lengthscale: Double, logEvidence: Double)]) {
        guard range.lowerBound > 0, range.upperBound > range.lowerBound, range.upperBound.isFinite else {
            throw PDEError.invalidValue(key: "lengthscale range", value: "\(range)", expected: "0 < lower < upper, finite")
        }
        guard evaluations >= 7 else {
            throw PDEError.invalidValue(key: "evaluations", value: "\(evaluations)", expected: "at least 7 (5 to scan, 2 to refine)")
        }
        var trace: [(lengthscale: Double, logEvidence: Double)] = []
        var best: (Double, CollocationSolution, Double)?
        func evaluate(_ logL: Double) throws -> Double {
            let l = exp(logL)
            let solution = try solve(l)
            guard let e = solution.profiledLogMarginalLikelihood else {
                throw PDEError.invalidValue(key: "evidence", value: "not computed", expected: "solves with CollocationOptions.evidence set")
            }
            // A failed factorization or a NaN counts as the worst value.
            let value = e.isFinite ? e : -.infinity
            trace.append((l, value))
            if best == nil || value > best!.2 { best = (l, solution, value) }
            return value
        }
        let a = log(range.lowerBound), b = log(range.upperBound)
        let scan = (0..<5).map { a + (b - a) * Double($0) / 4 }
        let values = try scan.map(evaluate)
        let top = values.indices.max { values[$0] < values[$1] }!
        var lo = scan[max(0, top - 1)], hi = scan[min(4, top + 1)]
        let phi = (5.0.squareRoot() - 1) / 2
        var x1 = hi - phi * (hi - lo), x2 = lo + phi * (hi - lo)
        var f1 = try evaluate(x1), f2 = try evaluate(x2)
        for _ in 0..<(evaluations - 7) {
            if f1 >= f2 {
                hi = x2; x2 = x1; f2 = f1
                x1 = hi - phi * (hi - lo); f1 = try evaluate(x1)
            } else {
                lo = x1; x1 = x2; f1 = f2
                x2 = lo + phi * (hi - lo); f2 = try evaluate(x2)
            }
        }
        return (best!.0, best!.1, trace)
    }
}

/// How a Gauss–Newton step min ‖L⁻¹(z + J δ)‖ is computed.
public enum GaussNewtonStepSolver: String, Sendable, CaseIterable {
    /// Householder QR of M = L⁻¹J (n × m): backward stable, 2nm² flops per step.
    case qr
    /// The normal equations JᵀΘ⁻¹J δ = −JᵀΘ⁻¹z, assembled from blocks of Θ⁻¹ (computed once)
    /// in O(m²) and solved by Cholesky: m³/3 flops per step, the squared condition number in
    /// the step (the gradient JᵀΘ⁻¹z, which fixes the solution, is computed through the
    /// triangular factors either way).
    case normalEquations = "normal-equations"
}

/// The Gauss–Newton step of the elimination form, z = E_kept v + E_e G(v): J = E_kept + E_e D
/// with D the per-point derivatives of G stacked as diagonal blocks.
struct GaussNewtonStepper {
    let method: GaussNewtonStepSolver
    let cholesky: CholeskyFactorization
    let groupStart: Int
    let pointCount: Int
    let kept: [Int]
    let eliminated: Int
    /// QR: columns of L⁻¹ at each kept group and at the eliminated group (n × N each).
    private var keptColumns: [DenseMatrix] = []
    private var eliminatedColumns = DenseMatrix(rows: 0, columns: 0)
    /// Normal equations: Θ⁻¹ (n × n).
    private var inverse = DenseMatrix(rows: 0, columns: 0)

    init(method: GaussNewtonStepSolver, cholesky: CholeskyFactorization, groupStart: Int, pointCount: Int, kept: [Int],
         eliminated: Int) throws {
        self.method = method
        self.cholesky = cholesky
        self.groupStart = groupStart
        self.pointCount = pointCount
        self.kept = kept
        self.eliminated = eliminated
        let n = cholesky.size
        func range(_ f: Int) -> Range<Int> { (groupStart + f * pointCount)..<(groupStart + (f + 1) * pointCount) }
        switch method {
        case .qr:
            let lInverse = try cholesky.lower.solveTriangular(DenseMatrix.identity(n), lower: true)
            keptColumns = kept.map { lInverse.block(rows: 0..<n, columns: range($0)) }
            eliminatedColumns = lInverse.block(rows: 0..<n, columns: range(eliminated))
        case .normalEquations:
            inverse = try cholesky.inverse()
        }
    }

    /// δ minimizing ‖L⁻¹(z + J δ)‖ with J from `gradient` (∂G/∂v, kept-major).
    func step(measurements z: [Double], gradient: [Double]) throws -> [Double] {
        let n = cholesky.size, p = pointCount, kc = kept.count, m = kc * p
        switch method {
        case .qr:
            var jacobian = DenseMatrix(rows: n, columns: m)
            jacobian.values.withUnsafeMutableBufferPointer { pj in
                for k in 0..<kc {
                    keptColumns[k].values.withUnsafeBufferPointer { pk in eliminatedColumns.values.withUnsafeBufferPointer { pe in
                        gradient.withUnsafeBufferPointer { pg in
                            for r in 0..<n {
                                let row = r &* m &+ k &* p, src = r &* p
                                for i in 0..<p { pj[row &+ i] = pk[src &+ i] + pe[src &+ i] * pg[k &* p &+ i] }
                            }
                        }
                    } }
                }
            }
            let whitened = try cholesky.solveLower(z)
            return try LeastSquares.solve(jacobian, whitened.map { -$0 })
        case .normalEquations:
            // w = Θ⁻¹z through the factors; g = Jᵀw.
            let w = try cholesky.solve(z)
            let e0 = groupStart + eliminated * p
            var rhs = [Double](repeating: 0, count: m)
            for k in 0..<kc {
                let k0 = groupStart + kept[k] * p
                for i in 0..<p { rhs[k * p + i] = -(w[k0 + i] + gradient[k * p + i] * w[e0 + i]) }
            }
            // H_(k,l) = T_kl + D_k T_el + T_ke D_l + D_k T_ee D_l (T = Θ⁻¹ blocks, D diagonal).
            var h = DenseMatrix(rows: m, columns: m)
            inverse.values.withUnsafeBufferPointer { t in gradient.withUnsafeBufferPointer { g in h.values.withUnsafeMutableBufferPointer { ph in
                for k in 0..<kc {
                    let k0 = groupStart + kept[k] * p
                    for l in 0...k {
                        let l0 = groupStart + kept[l] * p
                        for i in 0..<p {
                            let dk = g[k &* p &+ i]
                            let rowK = (k0 &+ i) &* n, rowE = (e0 &+ i) &* n
                            let out = (k &* p &+ i) &* m &+ l &* p
                            for j in 0..<p {
                                let dl = g[l &* p &+ j]
                                ph[out &+ j] = t[rowK &+ l0 &+ j] + dk * t[rowE &+ l0 &+ j]
                                    + (t[rowK &+ e0 &+ j] + dk * t[rowE &+ e0 &+ j]) * dl
                            }
                        }
                    }
                }
            } } }
            h.mirrorLowerTriangle()
            let factor = try CholeskyFactorization(h, jitter: JitterRule(initial: 1e-14, growth: 100, attempts: 8))
            return try factor.solve(rhs)
        }
    }
}
