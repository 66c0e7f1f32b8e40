import Dispatch

/// An iterative method for A x = b (PETSc's KSP type): CG, Richardson, and every later one.
/// It is chosen by name through `SolverRegistry`, configured by `IterativeOptions`, and
/// reports through a `SolverReport` whose reason is decided on the true residual.
public protocol IterativeMethod {
    /// The registry name (`cg`, `richardson`, …).
    var name: String { get }
    /// Tolerances, limits, norm, history, monitor, null-space policy.
    var options: IterativeOptions { get set }
    /// In-place form: `x` holds the initial guess on entry and the solution on return.
    func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner: Preconditioner?) throws -> SolverReport
}

extension IterativeMethod {
    /// Allocating form: solves from x = 0 (or `initialGuess`).
    public func solve(_ a: LinearOperator, _ b: [Double], initialGuess: [Double]? = nil,
                      preconditioner: Preconditioner? = nil) throws -> (x: [Double], report: SolverReport) {
        var x = initialGuess ?? [Double](repeating: 0, count: a.size)
        let report = try solve(a, b, x: &x, preconditioner: preconditioner)
        return (x, report)
    }
}

/// The bookkeeping every iterative method shares: argument checks, the null-space check of
/// the right-hand side, history and monitor, timing, and the final reason decided on the
/// true residual of the returned x.
struct IterationSession {
    let options: IterativeOptions
    let a: LinearOperator
    /// The right-hand side solved for (projected when the null-space policy says so).
    let b: [Double]
    let bNorm: Double
    var history: [Double] = []
    var notes: [String]
    var iterations = 0
    /// Set when b is inconsistent with a constant null space (the solve must not start).
    let inconsistency: Double?
    let projected: Bool
    private let t0 = DispatchTime.now().uptimeNanoseconds

    init(method: String, options: IterativeOptions, a: LinearOperator, b: [Double], x: [Double],
         preconditioner: Preconditioner?) throws {
        let n = a.size
        guard b.count == n, x.count == n else {
            throw PDEError.shapeMismatch(what: method, expected: "b and x of length \(n)", got: "b \(b.count), x \(x.count)")
        }
        try options.validate()
        self.options = options
        self.a = a
        notes = preconditioner?.notes ?? []
        var rhs = b
        var inconsistent: Double?
        var projected = false
        if options.nullSpace != .none, ConstantNullSpace.isNullVector(of: a) {
            let component = ConstantNullSpace.component(of: b)
            let bn = VectorKernels.norm(b)
            switch options.nullSpace {
            case .project:
                ConstantNullSpace.project(&rhs)
                projected = true
                notes.append(String(format: "constant null space (A·1 = 0): right-hand side projected onto the range, removed component %.3e (%.3e of ‖b‖)",
                                    component, bn > 0 ? component / bn : 0))
            case .detect:
                if component > options.target(bNorm: bn) {
                    inconsistent = component
                    notes.append(String(format: "constant null space (A·1 = 0) and b has a component %.3e along it (%.3e of ‖b‖), above the tolerance %.3e: no x can meet it; project b (null space policy 'project') or fix the model",
                                        component, bn > 0 ? component / bn : 0, options.target(bNorm: bn)))
                } else {
                    notes.append("constant null space (A·1 = 0) recognised; b is consistent with it")
                }
            case .none: break
            }
        }
        self.b = rhs
        bNorm = VectorKernels.norm(rhs)
        inconsistency = inconsistent
        self.projected = projected
    }

    /// Records a residual norm for `iterations` (history and monitor).
    mutating func record(_ residual: Double) {
        if options.recordHistory { history.append(residual) }
        options.monitor?(iterations, residual)
    }

    /// The report for the returned x: the true residual is recomputed into `scratch`, and a
    /// converged claim the true residual does not back becomes `.stagnated`.
    mutating func finish(_ proposed: ConvergenceReason, x: inout [Double], scratch: inout [Double]) -> SolverReport {
        if projected { ConstantNullSpace.project(&x) }
        a.apply(x, into: &scratch)
        VectorKernels.residualFrom(b, &scratch)
        let trueNorm = VectorKernels.norm(scratch)
        var reason = proposed
        let target = options.target(bNorm: bNorm)
        if reason.converged && options.norm == .unpreconditioned && !(trueNorm <= target * (1 + 1e-7)) {
            reason = .stagnated
            notes.append(String(format: "the recursive residual met the tolerance but the true residual ‖b − Ax‖ = %.3e misses %.3e", trueNorm, target))
        }
        if reason.converged && !trueNorm.isFinite { reason = .notANumber }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        return SolverReport(reason: reason, iterations: iterations, residualHistory: history,
                            trueRelativeResidual: bNorm > 0 ? trueNorm / bNorm : trueNorm, solveSeconds: seconds, notes: notes)
    }

    /// Applies the preconditioner, turning its failure into a note (the caller then stops
    /// with `.preconditionerFailure`). Returns nil on failure.
    mutating func precondition(_ m: Preconditioner, _ r: [Double], into z: inout [Double]) -> Double? {
        do { return try m.apply(r, into: &z) } catch {
            notes.append("preconditioner \(m.name) failed at iteration \(iterations): \(error)")
            return nil
        }
    }
}

/// The constant vector as a null vector: pure-Neumann and periodic operators, any matrix
/// with zero row sums. Recognised from one product A·1 (and, for a matrix, the row scales).
public enum ConstantNullSpace {
    /// True when A·1 = 0 to rounding: every |Σⱼ aᵢⱼ| ≤ 10⁻¹²·Σⱼ|aᵢⱼ| for a matrix; for other
    /// operators ‖A·1‖∞ ≤ 10⁻¹²·maxᵢ|aᵢᵢ| when the diagonal is known (else false).
    public static func isNullVector(of a: LinearOperator) -> Bool {
        let n = a.size
        guard n > 1 else { return false }
        if let m = a as? CSRMatrix {
            return m.rowPointers.withUnsafeBufferPointer { rp in
                m.values.withUnsafeBufferPointer { v in
                    for i in 0..<n {
                        var s = 0.0, t = 0.0
                        var k = rp[i]
                        while k < rp[i &+ 1] { s += v[k]; t += abs(v[k]); k &+= 1 }
                        if !(abs(s) <= 1e-12 * t) || t == 0 { return false }
                    }
                    return true
                }
            }
        }
        guard let d = a.diagonalEntries() else { return false }
        let scale = d.reduce(0) { max($0, abs($1)) }
        guard scale > 0, scale.isFinite else { return false }
        let ones = [Double](repeating: 1, count: n)
        var y = ones
        a.apply(ones, into: &y)
        return y.allSatisfy { abs($0) <= 1e-12 * scale }
    }

    /// ‖projection of b onto span(1)‖₂ = |Σ bᵢ| / √n.
    public static func component(of b: [Double]) -> Double {
        guard !b.isEmpty else { return 0 }
        return abs(b.reduce(0, +)) / Double(b.count).squareRoot()
    }

    /// b ← b − mean(b).
    public static func project(_ b: inout [Double]) {
        guard !b.isEmpty else { return }
        let mean = b.reduce(0, +) / Double(b.count)
        for i in b.indices { b[i] -= mean }
    }
}
