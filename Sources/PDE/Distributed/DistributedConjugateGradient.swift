import Dispatch
import Support

/// A preconditioner on a `DistributedGrid`'s local vectors: z ← M⁻¹ r on this rank's unknowns
/// (collective when it communicates).
public protocol DistributedPreconditioner: AnyObject {
    /// Short name for reports.
    var name: String { get }
    /// z ← M⁻¹ r on `count` local values.
    func apply(_ r: UnsafePointer<Double>, into z: UnsafeMutablePointer<Double>, count: Int) throws
}

/// Jacobi on a distributed operator: z = D⁻¹ r, purely local.
public final class DistributedJacobi: DistributedPreconditioner {
    public let name = "jacobi"
    private let inverse: [Double]

    /// Throws unless the operator knows its diagonal and every local entry is positive.
    public init(_ a: DistributedLinearOperator) throws {
        guard let d = a.localDiagonal() else {
            throw PDEError.invalidValue(key: "preconditioner", value: "jacobi", expected: "an operator that knows its diagonal")
        }
        for (i, v) in d.enumerated() where !(v > 0) || !v.isFinite {
            throw PDEError.invalidValue(key: "diagonal[\(a.grid.decomposition.globalIndex(i))]", value: "\(v)",
                                        expected: "positive finite diagonal entries (an SPD matrix) for Jacobi preconditioning")
        }
        inverse = d.map { 1 / $0 }
    }

    /// z ← D⁻¹ r on this rank's `count` unknowns (no communication).
    public func apply(_ r: UnsafePointer<Double>, into z: UnsafeMutablePointer<Double>, count: Int) throws {
        inverse.withUnsafeBufferPointer { d in
            for i in 0..<count { z[i] = d[i] * r[i] }
        }
    }
}

/// Conjugate gradients on distributed vectors, in two forms:
/// - `.classic`: Hestenes–Stiefel CG, two global reductions per iteration (pᵀAp fused into
///   the operator, then rᵀr and rᵀz together);
/// - `.pipelined`: Ghysels & Vanroose's pipelined CG (Parallel Computing 40, 2014, Alg. 4):
///   one non-blocking reduction per iteration (rᵀu, wᵀu and rᵀr together), overlapped with the
///   preconditioner and the operator (with its halo exchange).
///
/// The same `IterativeOptions`, monitor and `SolverReport` as the serial solvers, with the
/// reason decided on the true residual b − A x. With `Reductions.reproducible` the iterates
/// are bitwise the same for every rank count and slab/pencil decomposition, so a run under
/// `mpirun -np N` equals the one-process run exactly. Only the unpreconditioned norm is
/// offered.
public struct DistributedConjugateGradient {
    /// Which recurrence.
    public enum Variant: String, Sendable, CaseIterable {
        case classic, pipelined
    }

    public var options: IterativeOptions
    public var variant: Variant
    /// Restarts from the true residual allowed before reporting `.stagnated` (pipelined CG
    /// drifts more than classic CG; the restart recomputes every recurrence vector).
    public var maxResidualReplacements: Int

    /// A solver with `options` (the suite's defaults) and `variant`.
    public init(_ options: IterativeOptions = IterativeOptions(), variant: Variant = .classic, maxResidualReplacements: Int = 3) {
        self.options = options
        self.variant = variant
        self.maxResidualReplacements = maxResidualReplacements
    }

    /// Solves A x = b for this rank's parts `b` and `x` (x holds the initial guess). Every rank
    /// of the operator's communicator calls it; all get the same report. Throws for wrong
    /// lengths, bad options, a norm other than the unpreconditioned one, and communication
    /// failures; numerical failures are reasons in the report.
    public func solve(_ a: DistributedLinearOperator, _ b: [Double], x: inout [Double],
                      preconditioner m: DistributedPreconditioner? = nil) throws -> SolverReport {
        try options.validate()
        guard options.norm == .unpreconditioned else {
            throw PDEError.invalidValue(key: "norm", value: options.norm.rawValue,
                                        expected: "unpreconditioned (the only norm the distributed CG offers)")
        }
        let grid = a.grid
        try grid.checkLocal(b, "right-hand side")
        try grid.checkLocal(x, "initial guess")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let n = grid.ownedCount
        let lines = grid.decomposition.localLineCount
        let nx = grid.decomposition.counts[0]
        let ws = Workspace(vectors: variant == .classic ? 4 : 10, length: n, partials: 3 * lines)
        var state = State(options: options)
        state.bNorm = try grid.norm(b)
        let reason: ConvergenceReason
        if !state.bNorm.isFinite {
            reason = .notANumber
        } else {
            reason = try b.withUnsafeBufferPointer { bp in
                try x.withUnsafeMutableBufferPointer { xp in
                    switch variant {
                    case .classic:
                        return try classic(a, bp.baseAddress!, xp.baseAddress!, m, ws, &state, n: n, nx: nx, lines: lines)
                    case .pipelined:
                        return try pipelined(a, bp.baseAddress!, xp.baseAddress!, m, ws, &state, n: n, nx: nx, lines: lines)
                    }
                }
            }
        }
        // The true residual of the returned x decides.
        let trueNorm = try b.withUnsafeBufferPointer { bp in
            try x.withUnsafeBufferPointer { xp in
                try trueResidual(a, bp.baseAddress!, xp.baseAddress!, into: ws.v[0], ws, n: n, nx: nx, lines: lines)
            }
        }
        var final = reason
        let target = options.target(bNorm: state.bNorm)
        if final.converged && !(trueNorm <= target * (1 + 1e-7)) {
            final = .stagnated
            state.notes.append(String(format: "the recursive residual met the tolerance but the true residual ‖b − Ax‖ = %.3e misses %.3e", trueNorm, target))
        }
        if final.converged && !trueNorm.isFinite { final = .notANumber }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        return SolverReport(reason: final, iterations: state.iterations, residualHistory: state.history,
                            trueRelativeResidual: state.bNorm > 0 ? trueNorm / state.bNorm : trueNorm,
                            solveSeconds: seconds, notes: state.notes)
    }

    /// Scratch vectors owned by one solve.
    final class Workspace {
        let v: [UnsafeMutablePointer<Double>]
        let partials: UnsafeMutablePointer<Double>
        init(vectors: Int, length: Int, partials: Int) {
            v = (0..<vectors).map { _ in
                let p = UnsafeMutablePointer<Double>.allocate(capacity: max(1, length))
                p.initialize(repeating: 0, count: max(1, length))
                return p
            }
            self.partials = .allocate(capacity: max(1, partials))
            self.partials.initialize(repeating: 0, count: max(1, partials))
        }
        deinit {
            for p in v { p.deallocate() }
            partials.deallocate()
        }
        /// The first `count` blocks of `lines` partial sums.
        func partialArray(_ count: Int, lines: Int) -> UnsafeBufferPointer<Double> {
            UnsafeBufferPointer(start: partials, count: count * lines)
        }
    }

    struct State {
        let options: IterativeOptions
        var iterations = 0
        var history: [Double] = []
        var notes: [String] = []
        var bNorm = 0.0
        var replacements = 0
        init(options: IterativeOptions) { self.options = options }
        mutating func record(_ r: Double) {
            if options.recordHistory { history.append(r) }
            options.monitor?(iterations, r)
        }
    }

    /// ‖b − A x‖ into `r` (also leaves r = b − A x).
    private func trueResidual(_ a: DistributedLinearOperator, _ b: UnsafePointer<Double>, _ x: UnsafePointer<Double>,
                              into r: UnsafeMutablePointer<Double>, _ ws: Workspace, n: Int, nx: Int, lines: Int) throws -> Double {
        try a.apply(x, into: r, linePartials: nil)
        let part = ws.partials
        Parallel.forChunks(lines, minimumPerChunk: max(1, 16384 / nx)) { l0, l1 in
            for l in l0..<l1 {
                let o = l &* nx
                for i in o..<(o &+ nx) { r[i] = b[i] - r[i] }
                part[l] = DistributedGrid.lineDot(r + o, r + o, nx)
            }
        }
        return try a.grid.sum(linePartials: ws.partialArray(1, lines: lines), count: 1)[0].squareRoot()
    }

    // MARK: classic CG

    private func classic(_ a: DistributedLinearOperator, _ b: UnsafePointer<Double>, _ x: UnsafeMutablePointer<Double>,
                         _ m: DistributedPreconditioner?, _ ws: Workspace, _ s: inout State,
                         n: Int, nx: Int, lines: Int) throws -> ConvergenceReason {
        let grid = a.grid
        let r = ws.v[0], z = ws.v[1], p = ws.v[2], q = ws.v[3]
        let part = ws.partials
        let target = options.target(bNorm: s.bNorm)
        let chunk = max(1, 16384 / nx)
        restart: while true {
            // r = b − A x, z = M⁻¹ r, (rᵀr, rᵀz) in one reduction.
            _ = try trueResidual(a, b, x, into: r, ws, n: n, nx: nx, lines: lines)
            if let m { try m.apply(r, into: z, count: n) }
            let zz = m == nil ? r : z
            Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                for l in l0..<l1 {
                    part[l] = DistributedGrid.lineDot(r + l &* nx, r + l &* nx, nx)
                    part[lines &+ l] = DistributedGrid.lineDot(r + l &* nx, zz + l &* nx, nx)
                }
            }
            var sums = try grid.sum(linePartials: ws.partialArray(2, lines: lines), count: 2)
            var rr = sums[0], rz = sums[1]
            if !rr.isFinite || !rz.isFinite { return .notANumber }
            if rz < 0 { return .indefinitePreconditioner }
            if s.iterations == 0 && s.replacements == 0 { s.record(rr.squareRoot()) }
            if rr.squareRoot() <= target { return options.convergedReason(bNorm: s.bNorm) }
            p.update(from: zz, count: n)
            while s.iterations < options.maxIterations {
                try a.apply(p, into: q, linePartials: part)
                let pq = try grid.sum(linePartials: ws.partialArray(1, lines: lines), count: 1)[0]
                if !pq.isFinite { s.iterations += 1; return .notANumber }
                if pq <= 0 { return .breakdown }
                let alpha = rz / pq
                Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                    for l in l0..<l1 {
                        let o = l &* nx
                        for i in o..<(o &+ nx) {
                            x[i] += alpha * p[i]
                            r[i] -= alpha * q[i]
                        }
                        part[l] = DistributedGrid.lineDot(r + o, r + o, nx)
                    }
                }
                if let m {
                    try m.apply(r, into: z, count: n)
                    Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                        for l in l0..<l1 { part[lines &+ l] = DistributedGrid.lineDot(r + l &* nx, z + l &* nx, nx) }
                    }
                    sums = try grid.sum(linePartials: ws.partialArray(2, lines: lines), count: 2)
                } else {
                    sums = try grid.sum(linePartials: ws.partialArray(1, lines: lines), count: 1)
                    sums.append(sums[0])
                }
                s.iterations += 1
                rr = sums[0]
                let rzNew = sums[1]
                if !rr.isFinite || !rzNew.isFinite { return .notANumber }
                if rzNew < 0 { return .indefinitePreconditioner }
                s.record(rr.squareRoot())
                if rr.squareRoot() <= target {
                    if try replaceResidual(a, b, x, ws, &s, n: n, nx: nx, lines: lines) { continue restart }
                    return s.replacements > maxResidualReplacements ? .stagnated : options.convergedReason(bNorm: s.bNorm)
                }
                let beta = rzNew / rz
                rz = rzNew
                Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                    for i in (l0 &* nx)..<(l1 &* nx) { p[i] = zz[i] + beta * p[i] }
                }
            }
            return .divergedIterations
        }
    }

    /// After the recursive residual met the tolerance: true when the true residual misses it and
    /// a restart from it is allowed (the caller restarts); false to stop (converged, or
    /// `replacements` now exceeds the limit, which the caller reports as stagnation).
    private func replaceResidual(_ a: DistributedLinearOperator, _ b: UnsafePointer<Double>, _ x: UnsafeMutablePointer<Double>,
                                 _ ws: Workspace, _ s: inout State, n: Int, nx: Int, lines: Int) throws -> Bool {
        let scratch = ws.v[ws.v.count - 1]
        let trueNorm = try trueResidual(a, b, x, into: scratch, ws, n: n, nx: nx, lines: lines)
        let target = options.target(bNorm: s.bNorm)
        if trueNorm <= target * 1.0000001 { return false }
        if s.replacements >= maxResidualReplacements {
            s.notes.append("true residual \(trueNorm) still above \(target) after \(s.replacements) residual replacements")
            s.replacements += 1
            return false
        }
        s.replacements += 1
        s.notes.append("residual replacement at iteration \(s.iterations): true ‖r‖ \(trueNorm)")
        return true
    }

    // MARK: pipelined CG

    /// y ← x + βy on n values.
    @inline(__always)
    static func xpby(_ x: UnsafePointer<Double>, _ beta: Double, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        var i = 0
        while i < n { y[i] = x[i] + beta * y[i]; i &+= 1 }
    }

    /// y ← y + a·x on n values.
    @inline(__always)
    static func axpy(_ a: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        var i = 0
        while i < n { y[i] += a * x[i]; i &+= 1 }
    }

    private func pipelined(_ a: DistributedLinearOperator, _ b: UnsafePointer<Double>, _ x: UnsafeMutablePointer<Double>,
                           _ mp: DistributedPreconditioner?, _ ws: Workspace, _ s: inout State,
                           n: Int, nx: Int, lines: Int) throws -> ConvergenceReason {
        let grid = a.grid
        let r = ws.v[0], w = ws.v[1], nv = ws.v[2], z = ws.v[3], sv = ws.v[4], p = ws.v[5]
        // Without a preconditioner u ≡ r, m ≡ w and q ≡ s: the same recurrences, fewer vectors.
        let u = mp == nil ? r : ws.v[6], m = mp == nil ? w : ws.v[7], q = mp == nil ? sv : ws.v[8]
        let part = ws.partials
        let target = options.target(bNorm: s.bNorm)
        let chunk = max(1, 16384 / nx)
        restart: while true {
            // r₀ = b − A x₀, u₀ = M⁻¹ r₀, w₀ = A u₀; z, s, p (and q) start at 0.
            _ = try trueResidual(a, b, x, into: r, ws, n: n, nx: nx, lines: lines)
            if let mp { try mp.apply(r, into: u, count: n) }
            try a.apply(u, into: w, linePartials: nil)
            for v in [z, sv, p] { v.update(repeating: 0, count: n) }
            if mp != nil { q.update(repeating: 0, count: n) }
            @inline(__always) func partialsOfLine(_ l: Int) {
                let o = l &* nx
                part[l] = DistributedGrid.lineDot(r + o, u + o, nx)
                part[lines &+ l] = DistributedGrid.lineDot(w + o, u + o, nx)
                part[2 &* lines &+ l] = DistributedGrid.lineDot(r + o, r + o, nx)
            }
            Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                for l in l0..<l1 { partialsOfLine(l) }
            }
            var pending = try grid.startSum(linePartials: ws.partialArray(3, lines: lines), count: 3)
            var gammaOld = 0.0, alphaOld = 0.0
            var first = true
            while true {
                // Overlapped with the reduction: m = M⁻¹ w, n = A m.
                if let mp { try mp.apply(w, into: m, count: n) }
                try a.apply(m, into: nv, linePartials: nil)
                let sums = try pending.wait()
                let gamma = sums[0], delta = sums[1], rr = sums[2]
                if !gamma.isFinite || !delta.isFinite || !rr.isFinite { return .notANumber }
                if gamma < 0 { return .indefinitePreconditioner }
                if first && s.replacements == 0 { s.record(rr.squareRoot()) } else if !first { s.record(rr.squareRoot()) }
                if rr.squareRoot() <= target {
                    if try replaceResidual(a, b, x, ws, &s, n: n, nx: nx, lines: lines) { continue restart }
                    return s.replacements > maxResidualReplacements ? .stagnated : options.convergedReason(bNorm: s.bNorm)
                }
                if s.iterations >= options.maxIterations { return .divergedIterations }
                let beta: Double, alpha: Double
                if first {
                    beta = 0
                    guard delta > 0 else { return .breakdown }
                    alpha = gamma / delta
                } else {
                    beta = gamma / gammaOld
                    let denom = delta - beta * gamma / alphaOld
                    guard denom > 0 else { return .breakdown }
                    alpha = gamma / denom
                }
                let precond = mp != nil
                // Per line, one short loop per recurrence (each line's vectors stay in cache, and
                // two or three pointers per loop keep the loops vectorized).
                Parallel.forChunks(lines, minimumPerChunk: chunk) { l0, l1 in
                    for l in l0..<l1 {
                        let o = l &* nx
                        Self.xpby(nv + o, beta, z + o, nx)          // z = n + βz
                        if precond { Self.xpby(m + o, beta, q + o, nx) }   // q = m + βq
                        Self.xpby(w + o, beta, sv + o, nx)          // s = w + βs
                        Self.xpby(u + o, beta, p + o, nx)           // p = u + βp
                        Self.axpy(alpha, p + o, x + o, nx)          // x += αp
                        Self.axpy(-alpha, sv + o, r + o, nx)        // r −= αs
                        if precond { Self.axpy(-alpha, q + o, u + o, nx) }  // u −= αq
                        Self.axpy(-alpha, z + o, w + o, nx)         // w −= αz
                        partialsOfLine(l)
                    }
                }
                s.iterations += 1
                gammaOld = gamma
                alphaOld = alpha
                first = false
                pending = try grid.startSum(linePartials: ws.partialArray(3, lines: lines), count: 3)
            }
        }
    }
}
