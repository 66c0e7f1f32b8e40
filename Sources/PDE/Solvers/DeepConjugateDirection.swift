/// A search-direction model for the deep conjugate direction method: given a residual r
/// (normalized to ‖r‖₂ = 1), a direction q ≈ A⁻¹r up to scale. The model need not be
/// linear, symmetric or exact (a trained network is none of these); only the scale-free
/// direction matters, since the step length comes from an exact line search.
public protocol DirectionModel: AnyObject {
    /// Short name for reports.
    var name: String { get }
    /// q ← model(r). Throws when the model fails; the solve then stops with
    /// `.preconditionerFailure` and the error in its notes.
    func direction(for residual: [Double], into q: inout [Double]) throws
}

/// Any preconditioner as a direction model (q = M⁻¹r): CHOLMOD's exact inverse, a multigrid
/// V-cycle, Jacobi, … With a fixed SPD preconditioner and one kept direction, DCDM is PCG.
public final class PreconditionerDirection: DirectionModel {
    public let preconditioner: Preconditioner
    public var name: String { preconditioner.name }

    /// The direction model q = M⁻¹r of `preconditioner`.
    public init(_ preconditioner: Preconditioner) { self.preconditioner = preconditioner }

    /// q ← M⁻¹r (the preconditioner's errors are thrown).
    public func direction(for residual: [Double], into q: inout [Double]) throws {
        _ = try preconditioner.apply(residual, into: &q)
    }
}

/// The deep conjugate direction method (Kaneda, Akar, Chen, Kala, Teran, ICML 2023): a
/// conjugate-direction iteration whose search directions come from a model (a network
/// trained to approximate A⁻¹ up to scale, or any `DirectionModel`) instead of the residual
/// recurrence of CG.
///
/// Per iteration: q = model(r/‖r‖); q is A-orthogonalized (modified Gram–Schmidt in the A
/// inner product) against the last `directions` search directions, which are stored with
/// their A-products so that A q is updated instead of recomputed (one SpMV per iteration);
/// α = qᵀr / qᵀAq (the exact line search: the A-norm of the error is minimized along q);
/// x ← x + αq, r ← r − αAq. The true residual b − Ax replaces the recursive one every
/// `replacementInterval` iterations and before convergence is declared.
///
/// In the solver registry as the method `dcdm`; the preconditioner slot supplies the model
/// (`--ksp dcdm --pc mg`, or the trained network registered by `Operators`).
///
/// Stops: converged (true residual), iteration limit, `.preconditionerFailure` when the model
/// throws, `.notANumber` when it returns NaN/Inf, `.breakdown` when qᵀAq ≤ 0 (A not SPD on
/// q, or q = 0), `.nonDescentDirection` when qᵀr = 0 to rounding (the direction cannot
/// reduce the error).
public struct DeepConjugateDirection: IterativeMethod, @unchecked Sendable {
    public let name = "dcdm"
    public var options: IterativeOptions
    /// Previous directions each new one is A-orthogonalized against (k; the paper's 2).
    public var directions: Int
    /// Iterations between recomputations of the true residual (m ≥ 1).
    public var replacementInterval: Int
    /// Called after every iteration with (iteration, q, Aq) of the direction just used
    /// (after orthogonalization): for diagnostics and tests.
    public var directionMonitor: ((Int, [Double], [Double]) -> Void)?
    /// A direction is non-descent when |qᵀr| ≤ this · ‖q‖‖r‖ after orthogonalization. A
    /// deterministic model stalls for good once a step barely changes r (it proposes the
    /// same direction again, which the orthogonalization reduces to one already used):
    /// this catches it. Default 1e-8.
    public var descentTolerance: Double = 1e-8
    /// Used for an iteration whose model direction is non-descent (e.g. Jacobi); nil: the
    /// solve stops with `.nonDescentDirection` (the paper's method has no fallback).
    public var fallback: DirectionModel?
    /// With `fallback` nil: use Jacobi on the solved operator as the fallback (registry
    /// parameter `fallback: jacobi`).
    public var jacobiFallback = false

    /// DCDM with `options` (shared tolerances, limits, monitor), k = `directions` and the
    /// true residual every `replacementInterval` iterations.
    public init(_ options: IterativeOptions = IterativeOptions(), directions: Int = 2, replacementInterval: Int = 10) {
        self.options = options
        self.directions = directions
        self.replacementInterval = replacementInterval
    }

    /// `IterativeMethod`'s form: the preconditioner is the direction model (required).
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], preconditioner: Preconditioner?) throws -> SolverReport {
        guard let preconditioner else {
            throw PDEError.invalidValue(key: "preconditioner", value: "none with method dcdm",
                                        expected: "a direction model: a trained network (dcdm-net) or any preconditioner (mg, gamg, icc, jacobi, cholesky)")
        }
        return try solve(a, b, x: &x, model: PreconditionerDirection(preconditioner))
    }

    /// In-place form with any direction model: `x` holds the initial guess on entry and the
    /// solution on return. Throws only for bad arguments.
    public func solve(_ a: LinearOperator, _ b: [Double], x: inout [Double], model: DirectionModel) throws -> SolverReport {
        if fallback == nil && jacobiFallback {
            var m = self
            m.fallback = PreconditionerDirection(try JacobiPreconditioner(a))
            return try m.solve(a, b, x: &x, model: model)
        }
        guard descentTolerance >= 0, descentTolerance < 1 else {
            throw PDEError.invalidValue(key: "descent_tolerance", value: "\(descentTolerance)", expected: "a cosine in [0, 1)")
        }
        guard directions >= 0 else {
            throw PDEError.invalidValue(key: "directions", value: "\(directions)", expected: "an integer ≥ 0 (previous directions to A-orthogonalize against)")
        }
        guard replacementInterval >= 1 else {
            throw PDEError.invalidValue(key: "replace_every", value: "\(replacementInterval)", expected: "an integer ≥ 1 (iterations between true residuals)")
        }
        guard options.norm == .unpreconditioned else {
            throw PDEError.invalidValue(key: "norm", value: options.norm.rawValue, expected: "unpreconditioned (DCDM's model has no norm of its own)")
        }
        var s = try IterationSession(method: "deep conjugate direction", options: options, a: a, b: b, x: x, preconditioner: nil)
        let n = a.size
        let b = s.b
        var r = [Double](repeating: 0, count: n), scaled = r, q = r, aq = r
        if s.inconsistency != nil { return s.finish(.inconsistentRightHandSide, x: &x, scratch: &aq) }
        if !s.bNorm.isFinite { return s.finish(.notANumber, x: &x, scratch: &aq) }
        let target = options.target(bNorm: s.bNorm)
        // The last k directions with A p and pᵀAp, oldest first.
        var kept: [(p: [Double], ap: [Double], pap: Double)] = []
        var fallbackSteps = 0
        func done(_ reason: ConvergenceReason) -> SolverReport {
            if fallbackSteps > 0 { s.notes.append("\(fallbackSteps) of \(s.iterations) directions came from the fallback \(fallback?.name ?? "")") }
            return s.finish(reason, x: &x, scratch: &aq)
        }

        a.apply(x, into: &r)
        VectorKernels.residualFrom(b, &r)
        var rNorm = VectorKernels.norm(r)
        s.record(rNorm)
        if !rNorm.isFinite { return s.finish(.notANumber, x: &x, scratch: &aq) }
        var sinceReplacement = 0
        while true {
            if rNorm <= target {
                // Declare convergence on the true residual only.
                a.apply(x, into: &aq)
                VectorKernels.residualFrom(b, &aq)
                let trueNorm = VectorKernels.norm(aq)
                if trueNorm <= target * 1.0000001 { return done(options.convergedReason(bNorm: s.bNorm)) }
                swap(&r, &aq)
                rNorm = trueNorm
                sinceReplacement = 0
                continue
            }
            if s.iterations >= options.maxIterations { return done(.divergedIterations) }
            // q = model(r / ‖r‖), A-orthogonalized; the fallback model when it cannot descend.
            let inv = 1 / rNorm
            for i in 0..<n { scaled[i] = r[i] * inv }
            var outcome = propose(model, a, scaled, r, rNorm, kept, &q, &aq, &s)
            if case .nonDescent(let cosine) = outcome, let fallback {
                fallbackSteps += 1
                if fallbackSteps == 1 {
                    s.notes.append(String(format: "iteration %d: the model's direction is (nearly) orthogonal to the residual (cos %.1e); ", s.iterations, cosine)
                                   + "\(fallback.name) directions are used whenever that happens")
                }
                outcome = propose(fallback, a, scaled, r, rNorm, kept, &q, &aq, &s)
            }
            let qaq: Double, qr: Double
            switch outcome {
            case .step(let v1, let v2): qaq = v1; qr = v2
            case .stop(let reason): return done(reason)
            case .nonDescent(let cosine):
                s.notes.append(String(format: "iteration %d: the direction is (nearly) orthogonal to the residual (|qᵀr| / ‖q‖‖r‖ = %.1e ≤ %.1e): it cannot reduce the error; the model stalls here",
                                      s.iterations, cosine, descentTolerance))
                return done(.nonDescentDirection)
            }
            // x += αq, r −= αAq, fused with ‖r‖² (CG's update kernel).
            var rr = VectorKernels.cgUpdate(x: &x, r: &r, p: q, q: aq, alpha: qr / qaq)
            s.iterations += 1
            directionMonitor?(s.iterations, q, aq)
            if directions > 0 {
                // Oldest first, so the Gram–Schmidt sweep runs in age order.
                if kept.count == directions { kept.removeFirst() }
                kept.append((q, aq, qaq))
            }
            sinceReplacement += 1
            if sinceReplacement >= replacementInterval {
                a.apply(x, into: &r)
                VectorKernels.residualFrom(b, &r)
                rr = VectorKernels.dot(r, r)
                sinceReplacement = 0
            }
            rNorm = rr.squareRoot()
            s.record(rNorm)
            if !rNorm.isFinite { return done(.notANumber) }
        }
    }

    private enum Proposal {
        case step(qaq: Double, qr: Double)
        case nonDescent(cosine: Double)
        case stop(ConvergenceReason)
    }

    /// q ← model(scaled), A q, A-orthogonalized against `kept` (modified Gram–Schmidt with
    /// the stored A-products), checked.
    private func propose(_ model: DirectionModel, _ a: LinearOperator, _ scaled: [Double], _ r: [Double], _ rNorm: Double,
                         _ kept: [(p: [Double], ap: [Double], pap: Double)], _ q: inout [Double], _ aq: inout [Double],
                         _ s: inout IterationSession) -> Proposal {
        let n = r.count
        do { try model.direction(for: scaled, into: &q) } catch {
            s.notes.append("direction model \(model.name) failed at iteration \(s.iterations): \(error)")
            return .stop(.preconditionerFailure)
        }
        guard q.count == n else {
            s.notes.append("direction model \(model.name) returned \(q.count) values for \(n) unknowns")
            return .stop(.preconditionerFailure)
        }
        a.apply(q, into: &aq)
        let rawEnergy = VectorKernels.dot(q, aq)
        for j in 0..<kept.count {
            let c = VectorKernels.dot(q, kept[j].ap) / kept[j].pap
            if c != 0 && c.isFinite {
                axpy(-c, kept[j].p, &q)
                axpy(-c, kept[j].ap, &aq)
            }
        }
        let qaq = VectorKernels.dot(q, aq), qr = VectorKernels.dot(q, r)
        if !qaq.isFinite || !qr.isFinite {
            s.notes.append("direction model \(model.name) returned NaN or Inf at iteration \(s.iterations)")
            return .stop(.notANumber)
        }
        // Nothing left after the orthogonalization: the model repeated kept directions.
        if rawEnergy > 0 && qaq <= 1e-24 * rawEnergy { return .nonDescent(cosine: 0) }
        if qaq <= 0 {
            s.notes.append(String(format: "qᵀAq = %.3e ≤ 0 at iteration %d: the direction is zero or A is not positive definite on it", qaq, s.iterations))
            return .stop(.breakdown)
        }
        // The error's A-norm decreases by (qᵀr)²/qᵀAq: next to nothing when q ⟂ r.
        let cosine = abs(qr) / (VectorKernels.norm(q) * rNorm)
        if !(cosine > descentTolerance) { return .nonDescent(cosine: cosine) }
        return .step(qaq: qaq, qr: qr)
    }

    @inline(__always)
    private func axpy(_ alpha: Double, _ v: [Double], _ y: inout [Double]) {
        v.withUnsafeBufferPointer { pv in
            y.withUnsafeMutableBufferPointer { py in
                let a = pv.baseAddress!, b = py.baseAddress!
                for i in 0..<pv.count { b[i] += alpha * a[i] }
            }
        }
    }
}
