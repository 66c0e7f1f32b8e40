/// (Preconditioned) conjugate gradients for symmetric positive definite systems, in the
/// Krylov.jl / PETSc KSP shape: a configured solver value, `solve` returning the solution
/// and a `SolverReport`, the shared `IterativeOptions` (monitor included), a reusable
/// workspace.
///
/// Stopping: ‖r_k‖₂ ≤ max(rtol · ‖b‖₂, atol) for the default unpreconditioned norm; with the
/// preconditioned or natural norm the relative tolerance refers to the initial residual's
/// norm in that norm (as PETSc does). When the recursively updated residual claims
/// convergence, the true residual b − A x is recomputed; when it misses the tolerance
/// (rounding drift), the iteration restarts from it, at most `maxResidualReplacements`
/// times, after which the solve stops with `.stagnated` — never with a converged reason the
/// true residual does not back.
public struct ConjugateGradient: IterativeMethod, @unchecked Sendable {
    public let name = "cg"
    public var options: IterativeOptions
    /// Restarts from the true residual allowed before reporting `.stagnated`.
    public var maxResidualReplacements: Int

    /// CG with `options` (default rtol 10⁻⁸, 10 000 iterations, ‖r‖₂) and at most
    /// `maxResidualReplacements` restarts from the true residual.
    public init(_ options: IterativeOptions = IterativeOptions(), maxResidualReplacements: Int = 3) {
        self.options = options
        self.maxResidualReplacements = maxResidualReplacements
    }

    /// Scratch vectors, reusable across solves of the same size (no allocation then).
    public final class Workspace {
        var r: [Double], z: [Double], p: [Double], q: [Double]
        /// Four zeroed vectors (r, z, p, q) of length `n`; `solve` ignores a workspace of another
        /// size and allocates a fresh one.
        public init(size n: Int) {
            r = [Double](repeating: 0, count: n)
            z = r; p = r; q = r
        }
        var size: Int { r.count }
    }

    /// `IterativeMethod`'s form: the workspace form below with a fresh workspace (four n-vectors
    /// allocated per call).
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner: Preconditioner?) throws -> SolverReport {
        try solve(a, b, x: &x, preconditioner: preconditioner, workspace: nil)
    }

    /// In-place form with a reusable workspace: `x` holds the initial guess on entry and the
    /// solution on return. Throws only for bad arguments (sizes, options); numerical
    /// failures are reasons in the report.
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner m: Preconditioner? = nil,
                      workspace: Workspace?) throws -> SolverReport {
        var s = try IterationSession(method: "conjugate gradient", options: options, a: a, b: b, x: x, preconditioner: m)
        let n = a.size
        let ws = (workspace?.size == n) ? workspace! : Workspace(size: n)
        let b = s.b
        if s.inconsistency != nil { return s.finish(.inconsistentRightHandSide, x: &x, scratch: &ws.q) }
        if !s.bNorm.isFinite { return s.finish(.notANumber, x: &x, scratch: &ws.q) }
        let norm = options.norm
        var target = options.target(bNorm: s.bNorm)
        let trueTarget = target
        var replacements = 0

        restart: while true {
            // r = b − A x
            a.apply(x, into: &ws.r)
            VectorKernels.residualFrom(b, &ws.r)
            var rr = VectorKernels.dot(ws.r, ws.r)
            var rz: Double
            if let m {
                guard let v = s.precondition(m, ws.r, into: &ws.z) else { return s.finish(.preconditionerFailure, x: &x, scratch: &ws.q) }
                rz = v
            } else { rz = rr }
            if !rr.isFinite || !rz.isFinite { return s.finish(.notANumber, x: &x, scratch: &ws.q) }
            if rz < 0 { return s.finish(.indefinitePreconditioner, x: &x, scratch: &ws.q) }
            var resNorm = residualNorm(norm, rr: rr, rz: rz, z: m == nil ? nil : ws.z)
            if s.iterations == 0 && replacements == 0 {
                if norm != .unpreconditioned && m != nil {
                    // In the preconditioned and natural norms the relative tolerance refers to
                    // the initial residual's norm (PETSc's rule), since ‖b‖ is measured in ℓ².
                    target = max(options.relativeTolerance * resNorm, options.absoluteTolerance)
                }
                s.record(resNorm)
            }
            if resNorm <= target { return s.finish(options.convergedReason(bNorm: s.bNorm), x: &x, scratch: &ws.q) }
            // p = z
            copy(m != nil ? ws.z : ws.r, into: &ws.p)

            while s.iterations < options.maxIterations {
                let pq: Double
                if let csr = a as? CSRMatrix {
                    pq = csr.applyAndDot(ws.p, into: &ws.q)
                } else {
                    a.apply(ws.p, into: &ws.q)
                    pq = VectorKernels.dot(ws.p, ws.q)
                }
                if !pq.isFinite { s.iterations += 1; return s.finish(.notANumber, x: &x, scratch: &ws.q) }
                if pq <= 0 { return s.finish(.breakdown, x: &x, scratch: &ws.q) }
                let alpha = rz / pq
                rr = VectorKernels.cgUpdate(x: &x, r: &ws.r, p: ws.p, q: ws.q, alpha: alpha)
                s.iterations += 1
                let rzNew: Double
                if let m {
                    guard let v = s.precondition(m, ws.r, into: &ws.z) else { return s.finish(.preconditionerFailure, x: &x, scratch: &ws.q) }
                    rzNew = v
                } else { rzNew = rr }
                if !rr.isFinite || !rzNew.isFinite { return s.finish(.notANumber, x: &x, scratch: &ws.q) }
                if rzNew < 0 { return s.finish(.indefinitePreconditioner, x: &x, scratch: &ws.q) }
                resNorm = residualNorm(norm, rr: rr, rz: rzNew, z: m == nil ? nil : ws.z)
                s.record(resNorm)
                if resNorm <= target {
                    if norm != .unpreconditioned {
                        return s.finish(options.convergedReason(bNorm: s.bNorm), x: &x, scratch: &ws.q)
                    }
                    // Check the true residual before declaring convergence.
                    a.apply(x, into: &ws.q)
                    VectorKernels.residualFrom(b, &ws.q)
                    let trueNorm = VectorKernels.norm(ws.q)
                    if trueNorm <= trueTarget * 1.0000001 {
                        return s.finish(options.convergedReason(bNorm: s.bNorm), x: &x, scratch: &ws.q)
                    }
                    if replacements >= maxResidualReplacements {
                        s.notes.append("true residual \(trueNorm) still above \(trueTarget) after \(replacements) residual replacements")
                        return s.finish(.stagnated, x: &x, scratch: &ws.q)
                    }
                    replacements += 1
                    s.notes.append("residual replacement at iteration \(s.iterations): recursive ‖r‖ \(resNorm), true \(trueNorm)")
                    continue restart
                }
                let beta = rzNew / rz
                rz = rzNew
                VectorKernels.xpay(m == nil ? ws.r : ws.z, beta: beta, &ws.p)
            }
            return s.finish(.divergedIterations, x: &x, scratch: &ws.q)
        }
    }

    @inline(__always)
    private func residualNorm(_ norm: IterativeOptions.Norm, rr: Double, rz: Double, z: [Double]?) -> Double {
        switch norm {
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

/// Preconditioned Richardson iteration x ← x + M⁻¹(b − A x): with a multigrid or AMG cycle
/// as M it is the stand-alone multigrid solver (PETSc's `-ksp_type richardson -pc_type mg`).
/// The residual is recomputed from x every iteration, so it is always the true one.
public struct Richardson: IterativeMethod, @unchecked Sendable {
    public let name = "richardson"
    public var options: IterativeOptions
    /// Damping: x ← x + scale · M⁻¹ r (1 for a multigrid cycle).
    public var scale: Double

    /// Richardson with `options` (100 iterations by default, as for multigrid cycles) and damping
    /// `scale`, which `solve` validates.
    public init(_ options: IterativeOptions = IterativeOptions(maxIterations: 100), scale: Double = 1) {
        self.options = options
        self.scale = scale
    }

    /// x ← x + scale · M⁻¹(b − A x) from the guess in `x` (M = I without a preconditioner);
    /// allocates r and z per solve. Throws `PDEError.invalidValue` for a non-positive or
    /// non-finite `scale` or bad options, `.shapeMismatch` for wrong lengths.
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner m: Preconditioner?) throws -> SolverReport {
        guard scale > 0, scale.isFinite else {
            throw PDEError.invalidValue(key: "richardson scale", value: "\(scale)", expected: "a positive finite damping factor")
        }
        var s = try IterationSession(method: "Richardson", options: options, a: a, b: b, x: x, preconditioner: m)
        let n = a.size
        var r = [Double](repeating: 0, count: n), z = r
        if s.inconsistency != nil { return s.finish(.inconsistentRightHandSide, x: &x, scratch: &r) }
        let b = s.b
        let target = options.target(bNorm: s.bNorm)
        a.apply(x, into: &r)
        VectorKernels.residualFrom(b, &r)
        var res = VectorKernels.norm(r)
        s.record(res)
        while true {
            if !res.isFinite { return s.finish(.notANumber, x: &x, scratch: &r) }
            if res <= target { return s.finish(options.convergedReason(bNorm: s.bNorm), x: &x, scratch: &r) }
            if s.iterations >= options.maxIterations { return s.finish(.divergedIterations, x: &x, scratch: &r) }
            if let m {
                guard s.precondition(m, r, into: &z) != nil else { return s.finish(.preconditionerFailure, x: &x, scratch: &r) }
            } else {
                z = r
            }
            let w = scale
            for i in 0..<n { x[i] += w * z[i] }
            a.apply(x, into: &r)
            VectorKernels.residualFrom(b, &r)
            s.iterations += 1
            res = VectorKernels.norm(r)
            s.record(res)
        }
    }
}
