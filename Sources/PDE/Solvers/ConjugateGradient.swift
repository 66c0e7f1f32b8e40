import Dispatch

/// (Preconditioned) conjugate gradients for symmetric positive definite systems, in the
/// Krylov.jl / PETSc KSP shape: a configured solver value, `solve` returning the solution
/// and a `SolverReport`, an optional monitor closure, a reusable workspace.
///
/// Stopping: ‖r_k‖₂ ≤ max(relativeTolerance · ‖b‖₂, absoluteTolerance) for the default
/// unpreconditioned norm; with the preconditioned or natural norm, the relative tolerance
/// refers to the initial residual's norm in that norm (as PETSc does).
/// At exit the true residual b − A x is recomputed; when the recursively updated residual
/// claims convergence but the true one does not meet the tolerance (rounding drift), the
/// iteration restarts from the true residual (at most `maxResidualReplacements` times).
public struct ConjugateGradient: Sendable {
    /// Which residual norm the stopping test and the monitor use.
    public enum NormType: String, Sendable, CaseIterable {
        /// ‖r‖₂ (scipy's and this suite's default; the peers' stopping rule).
        case unpreconditioned
        /// ‖M⁻¹r‖₂ (PETSc's CG default).
        case preconditioned
        /// (rᵀM⁻¹r)^½, the energy norm of the error in M's metric.
        case natural
    }

    public var relativeTolerance: Double
    public var absoluteTolerance: Double
    public var maxIterations: Int
    public var normType: NormType
    /// Keep the residual norm of every iteration in the report.
    public var recordHistory: Bool
    public var maxResidualReplacements: Int

    public init(relativeTolerance: Double = 1e-8, absoluteTolerance: Double = 0, maxIterations: Int = 10_000,
                normType: NormType = .unpreconditioned, recordHistory: Bool = true, maxResidualReplacements: Int = 3) {
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxIterations = maxIterations
        self.normType = normType
        self.recordHistory = recordHistory
        self.maxResidualReplacements = maxResidualReplacements
    }

    /// Scratch vectors, reusable across solves of the same size (no allocation then).
    public final class Workspace {
        var r: [Double], z: [Double], p: [Double], q: [Double]
        public init(size n: Int) {
            r = [Double](repeating: 0, count: n)
            z = r; p = r; q = r
        }
        var size: Int { r.count }
    }

    /// Monitor: called with (iteration, residual norm) after every iteration, and once with
    /// iteration 0 before the first.
    public typealias Monitor = (Int, Double) -> Void

    /// Solves A x = b from x = 0 (or `initialGuess`); allocating form.
    public func solve(_ a: LinearOperator, _ b: [Double], initialGuess: [Double]? = nil,
                      preconditioner: Preconditioner? = nil, monitor: Monitor? = nil) throws -> (x: [Double], report: SolverReport) {
        var x = initialGuess ?? [Double](repeating: 0, count: a.size)
        let ws = Workspace(size: a.size)
        let report = try solve(a, b, x: &x, preconditioner: preconditioner, workspace: ws, monitor: monitor)
        return (x, report)
    }

    /// In-place form: `x` holds the initial guess on entry and the solution on return.
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner m: Preconditioner? = nil,
                      workspace: Workspace? = nil, monitor: Monitor? = nil) throws -> SolverReport {
        let n = a.size
        guard b.count == n, x.count == n else {
            throw PDEError.shapeMismatch(what: "conjugate gradient", expected: "b and x of length \(n)",
                                         got: "b \(b.count), x \(x.count)")
        }
        guard relativeTolerance >= 0, absoluteTolerance >= 0, maxIterations >= 0 else {
            throw PDEError.invalidValue(key: "cg options", value: "rtol \(relativeTolerance), atol \(absoluteTolerance), maxIterations \(maxIterations)",
                                        expected: "non-negative tolerances and iteration limit")
        }
        let ws = (workspace?.size == n) ? workspace! : Workspace(size: n)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var history: [Double] = []
        var notes = m?.notes ?? []
        let bNorm = VectorKernels.norm(b)
        var iterations = 0
        var replacements = 0

        func finish(_ reason: ConvergenceReason) -> SolverReport {
            // True residual of the returned x.
            a.apply(x, into: &ws.q)
            VectorKernels.residualFrom(b, &ws.q)
            let tr = VectorKernels.norm(ws.q)
            let rel = bNorm > 0 ? tr / bNorm : tr
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            return SolverReport(reason: reason, iterations: iterations, residualHistory: history,
                                trueRelativeResidual: rel, solveSeconds: seconds, notes: notes)
        }

        if !bNorm.isFinite { return finish(.notANumber) }
        var target = max(relativeTolerance * bNorm, absoluteTolerance)

        restart: while true {
            // r = b − A x
            a.apply(x, into: &ws.r)
            VectorKernels.residualFrom(b, &ws.r)
            var rr = VectorKernels.dot(ws.r, ws.r)
            var rz: Double
            if let m { rz = m.apply(ws.r, into: &ws.z) } else { rz = rr }
            if !rr.isFinite || !rz.isFinite { return finish(.notANumber) }
            if rz < 0 { return finish(.indefinitePreconditioner) }
            var resNorm = residualNorm(rr: rr, rz: rz, z: m == nil ? nil : ws.z)
            if normType != .unpreconditioned && m != nil && iterations == 0 && replacements == 0 {
                // In the preconditioned and natural norms the relative tolerance refers to
                // the initial residual's norm (PETSc's rule), since ‖b‖ is measured in ℓ².
                target = max(relativeTolerance * resNorm, absoluteTolerance)
            }
            if iterations == 0 && replacements == 0 {
                if recordHistory { history.append(resNorm) }
                monitor?(0, resNorm)
            }
            if resNorm <= target {
                return finish(resNorm <= absoluteTolerance && absoluteTolerance >= relativeTolerance * bNorm
                              ? .convergedAbsolute : .convergedRelative)
            }
            // p = z
            if m != nil { copy(ws.z, into: &ws.p) } else { copy(ws.r, into: &ws.p) }

            while iterations < maxIterations {
                let pq: Double
                if let csr = a as? CSRMatrix {
                    pq = csr.applyAndDot(ws.p, into: &ws.q)
                } else {
                    a.apply(ws.p, into: &ws.q)
                    pq = VectorKernels.dot(ws.p, ws.q)
                }
                if !pq.isFinite { iterations += 1; return finish(.notANumber) }
                if pq <= 0 { return finish(.breakdown) }
                let alpha = rz / pq
                rr = VectorKernels.cgUpdate(x: &x, r: &ws.r, p: ws.p, q: ws.q, alpha: alpha)
                iterations += 1
                let rzNew: Double
                if let m { rzNew = m.apply(ws.r, into: &ws.z) } else { rzNew = rr }
                if !rr.isFinite || !rzNew.isFinite { return finish(.notANumber) }
                if rzNew < 0 { return finish(.indefinitePreconditioner) }
                resNorm = residualNorm(rr: rr, rz: rzNew, z: m == nil ? nil : ws.z)
                if recordHistory { history.append(resNorm) }
                monitor?(iterations, resNorm)
                if resNorm <= target {
                    // Check the true residual before declaring convergence.
                    a.apply(x, into: &ws.q)
                    VectorKernels.residualFrom(b, &ws.q)
                    let trueNorm = VectorKernels.norm(ws.q)
                    let trueTarget = max(relativeTolerance * bNorm, absoluteTolerance)
                    if normType != .unpreconditioned || trueNorm <= trueTarget * 1.0000001
                        || replacements >= maxResidualReplacements {
                        return finish(resNorm <= absoluteTolerance && absoluteTolerance >= relativeTolerance * bNorm
                                      ? .convergedAbsolute : .convergedRelative)
                    }
                    replacements += 1
                    notes.append("residual replacement at iteration \(iterations): recursive ‖r‖ \(resNorm), true \(trueNorm)")
                    continue restart
                }
                let beta = rzNew / rz
                rz = rzNew
                VectorKernels.xpay(m == nil ? ws.r : ws.z, beta: beta, &ws.p)
            }
            return finish(.divergedIterations)
        }
    }

    @inline(__always)
    private func residualNorm(rr: Double, rz: Double, z: [Double]?) -> Double {
        switch normType {
        case .unpreconditioned: return rr.squareRoot()
        case .natural: return rz.squareRoot()
        case .preconditioned: return z.map { VectorKernels.norm($0) } ?? rr.squareRoot()
        }
    }

    @inline(__always)
    private func copy(_ src: [Double], into dst: inout [Double]) {
        dst.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { s in d.baseAddress!.update(from: s.baseAddress!, count: s.count) }
        }
    }
}
