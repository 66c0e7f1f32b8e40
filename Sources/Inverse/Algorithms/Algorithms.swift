import Foundation
import PDE

/// An estimate and how it was found.
public struct Reconstruction: Sendable {
    /// The estimate x (flat, the model's domain shape).
    public var x: [Double]
    /// Stopping reason, iterations, history, time.
    public var report: ReconstructionReport
}

/// The first guess of the algorithms: y itself when A maps an image to an image of the same
/// shape (denoising, deblurring, inpainting), else Aᵀy.
func defaultInitial(_ model: ForwardModel, _ y: [Double]) throws -> [Double] {
    model.rangeShape == model.domainShape ? y : try model.adjoint(y)
}

// MARK: - Tikhonov

/// Tikhonov regularization: x = argmin ½‖Ax − y‖² + (λ/2)‖Lx‖², i.e. (AᵀA + λLᵀL) x = Aᵀy,
/// with L = I or the finite-difference gradient. Solved by one FFT pair when A and L are
/// circulant (periodic blur, periodic gradient), else by CG on the normal equations (the PDE
/// module's CG, matrix-free).
public struct Tikhonov {
    /// The regularization operator L.
    public enum Regularizer: Sendable, Equatable {
        /// L = I.
        case identity
        /// L = D, the forward-difference gradient with this boundary.
        case gradient(GradientBoundary)
    }

    /// How the normal equations are solved.
    public enum Method: String, Sendable, CaseIterable {
        /// FFT when possible, else CG.
        case automatic
        /// FFT (throws when A or L is not circulant).
        case fft
        /// CG on the normal equations.
        case cg
    }

    /// λ ≥ 0.
    public var weight: Double
    /// L.
    public var regularizer: Regularizer
    /// Solution method.
    public var method: Method
    /// CG options (relative tolerance 1e-8, 1000 iterations by default).
    public var cgOptions: IterativeOptions

    /// λ, L, method.
    public init(weight: Double, regularizer: Regularizer = .identity, method: Method = .automatic,
                cgOptions: IterativeOptions = IterativeOptions(relativeTolerance: 1e-8, maxIterations: 1000, nullSpace: .none)) {
        self.weight = weight
        self.regularizer = regularizer
        self.method = method
        self.cgOptions = cgOptions
    }

    /// Solves for x; the report holds one record (or the CG iterations in its notes).
    public func solve(model: ForwardModel, measurement y: [Double], options: ReconstructionOptions = ReconstructionOptions()) throws -> Reconstruction {
        try InverseCheck.nonNegative(weight, key: "lambda")
        try InverseCheck.length(y.count, model.rangeCount, "measurement of \(model.name)")
        var tracker = try IterationTracker(options, algorithm: "tikhonov", count: model.domainCount)
        let l: ForwardModel
        switch regularizer {
        case .identity: l = try IdentityModel(shape: model.domainShape)
        case let .gradient(b): l = try FiniteDifferenceGradient(imageShape: model.domainShape, boundary: b)
        }
        let aty = try model.adjoint(y)
        var x: [Double]
        if method != .cg, let pa = model.normalSymbol, let pl = l.normalSymbol {
            let m = try FourierMultiplier(shape: model.domainShape)
            let inv = (0..<pa.count).map { k -> Double in
                let d = pa[k] + weight * pl[k]
                return d > 0 ? 1 / d : 0
            }
            x = aty
            m.multiplyReal(aty, by: inv, into: &x)
            tracker.notes.append("solved by FFT")
        } else {
            if method == .fft {
                throw PDEError.invalidValue(key: "method", value: "fft", expected: "a circulant model and regularizer (periodic blur, periodic gradient); use cg")
            }
            let lam = weight
            let op = ClosureOperator(size: model.domainCount) { v, out in
                var ax = [Double](repeating: 0, count: model.rangeCount)
                var t = [Double](repeating: 0, count: v.count)
                if !model.applyNormal(v, into: &t) { model.apply(v, into: &ax); model.adjoint(ax, into: &t) }
                var lx = [Double](repeating: 0, count: l.rangeCount)
                var ltl = [Double](repeating: 0, count: v.count)
                l.apply(v, into: &lx)
                l.adjoint(lx, into: &ltl)
                for i in 0..<v.count { out[i] = t[i] + lam * ltl[i] }
            }
            x = [Double](repeating: 0, count: model.domainCount)
            let report = try ConjugateGradient(cgOptions).solve(op, aty, x: &x, preconditioner: nil)
            tracker.notes.append("CG: \(report.iterations) iterations, \(report.reason.rawValue), relative residual \(report.trueRelativeResidual)")
            if !report.reason.converged {
                let stop: ReconstructionStop = report.reason == .notANumber ? .notANumber : .maxIterations
                _ = tracker.record(1, x: x, previous: [Double](repeating: 0, count: x.count)) { objective(x) }
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: report.iterations))
            }
        }
        func objective(_ x: [Double]) -> Double? {
            guard let ax = try? model(x), let lx = try? l(x) else { return nil }
            let r = InverseVectors.distance(ax, y)
            return 0.5 * r * r + 0.5 * weight * InverseVectors.dot(lx, lx)
        }
        _ = tracker.record(1, x: x, previous: [Double](repeating: 0, count: x.count)) { objective(x) }
        return Reconstruction(x: x, report: tracker.report(stop: .converged, iterations: 1))
    }
}

// MARK: - Proximal gradient (ISTA / FISTA / PnP-PGD)

/// A differentiable term f with its gradient (the smooth part of proximal-gradient methods).
public protocol SmoothFunction {
    /// f(x).
    func value(_ x: [Double]) -> Double?
    /// ∇f(x).
    func gradient(_ x: [Double]) throws -> [Double]
}

extension LeastSquaresData: SmoothFunction {}

/// Proximal gradient for min f(x) + g(x): xₖ₊₁ = prox_{tg}(zₖ − t∇f(zₖ)), with Nesterov/
/// Beck–Teboulle momentum (FISTA) or without (ISTA; with a denoiser as g, PnP-PGD). Step
/// t = 1/L from a power-iteration estimate of L (×1.01), a fixed t, or backtracking (t shrunk
/// by `shrink` until f(x⁺) ≤ f(z) + ⟨∇f(z), x⁺ − z⟩ + ‖x⁺ − z‖²/(2t)).
public struct ProximalGradient {
    /// How the step is chosen.
    public enum StepRule: Sendable, Equatable {
        /// t = 1/(1.01·L) with L = ‖A‖² estimated by power iteration (least-squares f only).
        case lipschitz
        /// A fixed t.
        case fixed(Double)
        /// Start at t and shrink by the factor until the majorization holds.
        case backtracking(initial: Double, shrink: Double)
    }

    /// FISTA momentum (false: ISTA / PnP-PGD).
    public var accelerated: Bool
    /// Step rule.
    public var step: StepRule
    /// Shared options.
    public var options: ReconstructionOptions

    /// FISTA with the Lipschitz step by default.
    public init(accelerated: Bool = true, step: StepRule = .lipschitz, options: ReconstructionOptions = ReconstructionOptions()) {
        self.accelerated = accelerated
        self.step = step
        self.options = options
    }

    /// Minimizes ½‖Ax − y‖² + g(x).
    public func solve(model: ForwardModel, measurement y: [Double], prior: ProximalOperator, initial: [Double]? = nil) throws -> Reconstruction {
        let data = try LeastSquaresData(model: model, measurement: y)
        return try solve(smooth: data, prior: prior, initial: initial ?? defaultInitial(model, y),
                         lipschitz: { model.lipschitzEstimate(iterations: 100) })
    }

    /// Minimizes f(x) + g(x) for any smooth f (the `.lipschitz` rule needs `lipschitz`).
    public func solve(smooth f: SmoothFunction, prior g: ProximalOperator, initial: [Double],
                      lipschitz: (() -> Double)? = nil) throws -> Reconstruction {
        let name = accelerated ? "fista" : "ista"
        var tracker = try IterationTracker(options, algorithm: name, count: initial.count)
        var t: Double
        var backtrack: Double? = nil
        switch step {
        case .lipschitz:
            guard let l = lipschitz?(), l > 0, l.isFinite else {
                throw PDEError.invalidValue(key: "step", value: "lipschitz", expected: "an operator with a positive norm (or a fixed / backtracking step)")
            }
            t = 1 / (1.01 * l)
            tracker.notes.append("step 1/(1.01 L), L ≈ \(l)")
        case let .fixed(s):
            try InverseCheck.positive(s, key: "step")
            t = s
        case let .backtracking(initial: s, shrink: eta):
            try InverseCheck.positive(s, key: "step")
            guard eta > 0, eta < 1 else { throw PDEError.invalidValue(key: "shrink", value: "\(eta)", expected: "a factor in (0, 1)") }
            t = s
            backtrack = eta
        }
        var x = initial, z = initial
        var momentum = 1.0
        var backtracks = 0
        for k in 1...max(1, options.maxIterations) where options.maxIterations > 0 {
            let grad = try f.gradient(z)
            var xNew: [Double]
            if let eta = backtrack {
                let fz = f.value(z) ?? .infinity
                while true {
                    xNew = try g.prox((0..<z.count).map { z[$0] - t * grad[$0] }, step: t)
                    var diff = xNew
                    for i in diff.indices { diff[i] -= z[i] }
                    let bound = fz + InverseVectors.dot(grad, diff) + InverseVectors.dot(diff, diff) / (2 * t)
                    if (f.value(xNew) ?? .infinity) <= bound * (1 + 1e-12) + 1e-300 || t < 1e-20 { break }
                    t *= eta
                    backtracks += 1
                }
            } else {
                xNew = try g.prox((0..<z.count).map { z[$0] - t * grad[$0] }, step: t)
            }
            if accelerated {
                let mNext = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
                let beta = (momentum - 1) / mNext
                for i in z.indices { z[i] = xNew[i] + beta * (xNew[i] - x[i]) }
                momentum = mNext
            } else {
                z = xNew
            }
            let previous = x
            x = xNew
            if let stop = tracker.record(k, x: x, previous: previous, objective: { objectiveValue(f, g, x) }) {
                if backtrack != nil { tracker.notes.append("\(backtracks) backtracking steps, final step \(t)") }
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: k))
            }
        }
        if backtrack != nil { tracker.notes.append("\(backtracks) backtracking steps, final step \(t)") }
        return Reconstruction(x: x, report: tracker.report(stop: .maxIterations, iterations: options.maxIterations, x: x))
    }
}

func objectiveValue(_ f: SmoothFunction, _ g: ProximalOperator, _ x: [Double]) -> Double? {
    guard let a = f.value(x), let b = g.value(x) else { return nil }
    return a + b
}

// MARK: - ADMM (and PnP-ADMM)

/// ADMM for min ½‖Ax − y‖² + g(Kx) with the splitting z = Kx (scaled form):
///   x ← argmin ½‖Ax − y‖² + (ρ/2)‖Kx − z + u‖²   ((AᵀA + ρKᵀK)x = Aᵀy + ρKᵀ(z − u)),
///   z ← prox_{g/ρ}(Kx + u),   u ← u + Kx − z.
/// The x-update is one FFT pair when A and K are circulant (deblurring with periodic TV, as the
/// numpy peer), a closed form for masks with K = I, else warm-started CG. K = I with a denoiser
/// as g is PnP-ADMM. TV is g = λ‖·‖₂,₁ (`GroupL1Norm`, 2 channels) with K = D.
public struct ADMM {
    /// The penalty ρ > 0.
    public var penalty: Double
    /// Shared options.
    public var options: ReconstructionOptions
    /// CG tolerance of the x-update when it is not diagonal.
    public var cgTolerance: Double
    /// The relaxation α ∈ (0, 2) (Eckstein & Bertsekas; Boyd et al. §3.4.3): the z- and
    /// u-updates see αKx + (1 − α)z in place of Kx. 1 is plain ADMM; α < 1 damps the
    /// iteration (its fixed points are the same), α > 1 over-relaxes.
    public var relaxation: Double

    /// ρ, options and the relaxation α (1: plain ADMM).
    public init(penalty: Double, options: ReconstructionOptions = ReconstructionOptions(), cgTolerance: Double = 1e-6,
                relaxation: Double = 1) {
        self.penalty = penalty
        self.options = options
        self.cgTolerance = cgTolerance
        self.relaxation = relaxation
    }

    /// Runs ADMM; `splitting` nil is K = I.
    public func solve(model a: ForwardModel, measurement y: [Double], prior g: ProximalOperator,
                      splitting: ForwardModel? = nil, initial: [Double]? = nil) throws -> Reconstruction {
        try InverseCheck.positive(penalty, key: "rho")
        guard relaxation > 0, relaxation < 2 else {
            throw PDEError.invalidValue(key: "relaxation", value: "\(relaxation)", expected: "a number in (0, 2) (1: plain ADMM)")
        }
        try InverseCheck.length(y.count, a.rangeCount, "measurement of \(a.name)")
        let k = try splitting ?? IdentityModel(shape: a.domainShape)
        guard k.domainCount == a.domainCount else {
            throw PDEError.shapeMismatch(what: "ADMM splitting operator \(k.name)", expected: "domain \(a.domainShape)", got: "\(k.domainShape)")
        }
        let isPnP = g.value([Double](repeating: 0, count: k.rangeCount)) == nil
        var tracker = try IterationTracker(options, algorithm: isPnP ? "pnp-admm" : "admm", count: a.domainCount)
        let rho = penalty
        let n = a.domainCount, m = k.rangeCount
        var x = try initial ?? defaultInitial(a, y)
        try InverseCheck.length(x.count, n, "initial estimate")
        var kx = [Double](repeating: 0, count: m)
        k.apply(x, into: &kx)
        var z = kx, u = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m), ktw = [Double](repeating: 0, count: n)
        let aty = try a.adjoint(y)

        // x-update solver.
        enum XSolver { case fft(FourierMultiplier, [Double], [Double]), leastSquares(LeastSquaresData), cg }
        let solver: XSolver
        if let pa = a.normalSymbol, let pk = k.normalSymbol {
            let mult = try FourierMultiplier(shape: a.domainShape)
            let inv = (0..<pa.count).map { i -> Double in let d = pa[i] + rho * pk[i]; return d > 0 ? 1 / d : 0 }
            var atyHat = [Double](repeating: 0, count: 2 * mult.complexCount)
            mult.forward(aty, into: &atyHat)
            for i in 0..<mult.complexCount { atyHat[2 * i] *= inv[i]; atyHat[2 * i + 1] *= inv[i] }
            solver = .fft(mult, inv, atyHat)
            tracker.notes.append("x-update by FFT")
        } else if k is IdentityModel {
            let data = try LeastSquaresData(model: a, measurement: y, cgTolerance: cgTolerance)
            solver = .leastSquares(data)
            tracker.notes.append(a.normalSymbol != nil || a is MaskModel ? "x-update in closed form" : "x-update by CG")
        } else {
            solver = .cg
            tracker.notes.append("x-update by CG")
        }
        if case let .fft(mult, inv, atyHat) = solver, let d = k as? FiniteDifferenceGradient, d.boundary == .periodic,
           let shrink = TVShrink(g), relaxation == 1 {
            tracker.notes.append("fused TV kernels")
            return try fusedTV(a: a, y: y, g: g, shrink: shrink, shape: d.domainShape, mult: mult, inv: inv, atyHat: atyHat,
                               x: x, z: z, tracker: tracker)
        }
        if relaxation != 1 { tracker.notes.append("relaxation α = \(relaxation)") }
        var spectrum = [Double](repeating: 0, count: 2 * ((try? RealFFT(shape: a.domainShape).complexCount) ?? 1))
        var cgIterations = 0
        let normalOp = ClosureOperator(size: n) { v, out in
            var t = [Double](repeating: 0, count: n)
            if !a.applyNormal(v, into: &t) {
                var av = [Double](repeating: 0, count: a.rangeCount)
                a.apply(v, into: &av)
                a.adjoint(av, into: &t)
            }
            var kv = [Double](repeating: 0, count: m), ktk = [Double](repeating: 0, count: n)
            k.apply(v, into: &kv)
            k.adjoint(kv, into: &ktk)
            for i in 0..<n { out[i] = t[i] + rho * ktk[i] }
        }
        let cg = ConjugateGradient(IterativeOptions(relativeTolerance: cgTolerance, maxIterations: 1000, recordHistory: false, nullSpace: .none))

        func objective(_ x: [Double], _ kx: [Double]) -> Double? {
            guard let ax = try? a(x), let gv = g.value(kx) else { return nil }
            let r = InverseVectors.distance(ax, y)
            return 0.5 * r * r + gv
        }

        var previous = x
        for it in 1...max(1, options.maxIterations) where options.maxIterations > 0 {
            for i in 0..<m { w[i] = z[i] - u[i] }
            swap(&previous, &x)
            switch solver {
            case let .fft(mult, inv, atyHat):
                k.adjoint(w, into: &ktw)
                mult.forward(ktw, into: &spectrum)
                spectrum.withUnsafeMutableBufferPointer { sp in
                    inv.withUnsafeBufferPointer { ip in
                        atyHat.withUnsafeBufferPointer { ap in
                            for j in 0..<ip.count {
                                sp[2 &* j] = ap[2 &* j] + rho * ip[j] * sp[2 &* j]
                                sp[2 &* j &+ 1] = ap[2 &* j &+ 1] + rho * ip[j] * sp[2 &* j &+ 1]
                            }
                        }
                    }
                }
                mult.inverse(spectrum, into: &x)
            case let .leastSquares(data):
                x = try data.prox(w, step: 1 / rho)
            case .cg:
                k.adjoint(w, into: &ktw)
                var rhs = aty
                for i in 0..<n { rhs[i] += rho * ktw[i] }
                x = previous
                let r = try cg.solve(normalOp, rhs, x: &x, preconditioner: nil)
                cgIterations += r.iterations
            }
            k.apply(x, into: &kx)
            if relaxation == 1 {
                for i in 0..<m { w[i] = kx[i] + u[i] }
            } else {
                let alpha = relaxation
                for i in 0..<m { w[i] = alpha * kx[i] + (1 - alpha) * z[i] + u[i] }
            }
            if let l21 = g as? GroupL1Norm {
                z = w
                GroupL1Norm.shrink(&z, channels: l21.channels, threshold: l21.weight / rho)
            } else {
                z = try g.prox(w, step: 1 / rho)
            }
            for i in 0..<m { u[i] = w[i] - z[i] }
            let xs = x, kxs = kx
            let primal = InverseVectors.distance(kx, z) / max(InverseVectors.norm(z), InverseVectors.norm(kx), .leastNormalMagnitude)
            if let stop = tracker.record(it, x: x, previous: previous, auxiliary: primal, objective: { objective(xs, kxs) }) {
                if cgIterations > 0 { tracker.notes.append("\(cgIterations) CG iterations in x-updates") }
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: it))
            }
        }
        if cgIterations > 0 { tracker.notes.append("\(cgIterations) CG iterations in x-updates") }
        return Reconstruction(x: x, report: tracker.report(stop: .maxIterations, iterations: options.maxIterations, x: x))
    }
}

extension ADMM {
    /// The periodic-TV deblurring loop with fused passes (same iterates as the generic loop,
    /// to rounding): Dᵀ(z − u) in one pass, one FFT pair for the x-update, then the gradient,
    /// the shrinkage and the multiplier update in one pass.
    fileprivate func fusedTV(a: ForwardModel, y: [Double], g: ProximalOperator, shrink: TVShrink, shape: [Int],
                             mult: FourierMultiplier, inv: [Double], atyHat: [Double], x initial: [Double], z initialZ: [Double],
                             tracker initialTracker: IterationTracker) throws -> Reconstruction {
        var tracker = initialTracker
        let rho = penalty
        let (n0, n1) = (shape[0], shape[1])
        let n = n0 * n1
        let scale = 1 / Double(n)
        let invScaled = inv.map { $0 * rho * scale }
        let atyScaled = atyHat.map { $0 * scale }
        var x = initial, previous = initial
        var z = initialZ, u = [Double](repeating: 0, count: 2 * n)
        var ktw = [Double](repeating: 0, count: n)
        var spectrum = [Double](repeating: 0, count: 2 * mult.complexCount)
        let threshold = shrink.weight / rho
        func objective(_ x: [Double]) -> Double? {
            guard let ax = try? a(x), let d = try? FiniteDifferenceGradient(imageShape: shape, boundary: .periodic),
                  let gx = try? d(x), let gv = g.value(gx) else { return nil }
            let r = InverseVectors.distance(ax, y)
            return 0.5 * r * r + gv
        }
        for it in 1...max(1, options.maxIterations) where options.maxIterations > 0 {
            swap(&previous, &x)
            z.withUnsafeBufferPointer { zp in
                u.withUnsafeBufferPointer { up in
                    ktw.withUnsafeMutableBufferPointer { kp in
                        TVKernels.adjointOfDifference(zp.baseAddress!, up.baseAddress!, into: kp.baseAddress!, rows: n0, cols: n1)
                    }
                }
            }
            mult.forward(ktw, into: &spectrum)
            spectrum.withUnsafeMutableBufferPointer { sp in
                invScaled.withUnsafeBufferPointer { ip in
                    atyScaled.withUnsafeBufferPointer { ap in
                        for j in 0..<ip.count {
                            sp[2 &* j] = ap[2 &* j] + ip[j] * sp[2 &* j]
                            sp[2 &* j &+ 1] = ap[2 &* j &+ 1] + ip[j] * sp[2 &* j &+ 1]
                        }
                    }
                }
            }
            mult.inverseUnscaled(spectrum, into: &x)
            let sums = x.withUnsafeBufferPointer { xp in
                z.withUnsafeMutableBufferPointer { zp in
                    u.withUnsafeMutableBufferPointer { up in
                        TVKernels.shrinkStep(xp.baseAddress!, zp.baseAddress!, up.baseAddress!, rows: n0, cols: n1,
                                             threshold: threshold, isotropic: shrink.isotropic, sums: options.tolerance > 0)
                    }
                }
            }
            let primal = sums.0.squareRoot() / max(sums.1.squareRoot(), sums.2.squareRoot(), .leastNormalMagnitude)
            let xs = x
            if let stop = tracker.record(it, x: x, previous: previous, auxiliary: primal, objective: { objective(xs) }) {
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: it))
            }
        }
        return Reconstruction(x: x, report: tracker.report(stop: .maxIterations, iterations: options.maxIterations, x: x))
    }
}

/// The shrinkage of a TV-ADMM prior on the stacked gradient: λ‖·‖₂,₁ over 2 channels
/// (isotropic) or λ‖·‖₁ (anisotropic); nil for other priors.
struct TVShrink {
    let weight: Double
    let isotropic: Bool
    init?(_ g: ProximalOperator) {
        if let l21 = g as? GroupL1Norm, l21.channels == 2 { weight = l21.weight; isotropic = true; return }
        if let l1 = g as? L1Norm { weight = l1.weight; isotropic = false; return }
        return nil
    }
}

// MARK: - Linearized ADMM

/// Linearized ADMM (scico's `LinearizedADMM`) for min f(x) + g(Cx):
///   x ← prox_{μf}(x − (μ/ν) Cᵀ(Cx − z + u)),  z ← prox_{νg}(Cx + u),  u ← u + Cx − z,
/// with 0 < μ ≤ ν/‖C‖² (μ = 0.99·ν/‖C‖² by default). Needs only the proxes of f and g and
/// products with C and Cᵀ, never a solve with CᵀC.
public struct LinearizedADMM {
    /// ν > 0 (the step of g's prox).
    public var nu: Double
    /// μ > 0 (nil: 0.99·ν/‖C‖² by power iteration).
    public var mu: Double?
    /// Shared options.
    public var options: ReconstructionOptions

    /// ν, μ, options.
    public init(nu: Double, mu: Double? = nil, options: ReconstructionOptions = ReconstructionOptions()) {
        self.nu = nu
        self.mu = mu
        self.options = options
    }

    /// Minimizes f(x) + g(Cx) from `initial`.
    public func solve(f: ProximalOperator, g: ProximalOperator, c: ForwardModel, initial: [Double]) throws -> Reconstruction {
        try InverseCheck.positive(nu, key: "nu")
        try InverseCheck.length(initial.count, c.domainCount, "initial estimate")
        var tracker = try IterationTracker(options, algorithm: "linearized-admm", count: c.domainCount)
        let normC = c.lipschitzEstimate(iterations: 100)
        let step = mu ?? 0.99 * nu / max(normC * 1.01, .leastNormalMagnitude)
        try InverseCheck.positive(step, key: "mu")
        tracker.notes.append("mu = \(step), nu = \(nu), ‖C‖² ≈ \(normC)")
        var x = initial
        var cx = try c(x)
        var z = cx, u = [Double](repeating: 0, count: cx.count)
        let ratio = step / nu
        for it in 1...max(1, options.maxIterations) where options.maxIterations > 0 {
            var r = cx
            for i in r.indices { r[i] += u[i] - z[i] }
            let ctr = try c.adjoint(r)
            let previous = x
            x = try f.prox((0..<x.count).map { x[$0] - ratio * ctr[$0] }, step: step)
            cx = try c(x)
            var w = cx
            for i in w.indices { w[i] += u[i] }
            z = try g.prox(w, step: nu)
            for i in u.indices { u[i] = w[i] - z[i] }
            let xs = x, cxs = cx
            let primal = InverseVectors.distance(cx, z) / max(InverseVectors.norm(z), InverseVectors.norm(cx), .leastNormalMagnitude)
            if let stop = tracker.record(it, x: x, previous: previous, auxiliary: primal, objective: {
                guard let a = f.value(xs), let b = g.value(cxs) else { return nil }
                return a + b
            }) {
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: it))
            }
        }
        return Reconstruction(x: x, report: tracker.report(stop: .maxIterations, iterations: options.maxIterations, x: x))
    }
}

// MARK: - PDHG (Chambolle–Pock)

/// Primal–dual hybrid gradient (Chambolle & Pock 2011) for min_x Σᵢ Fᵢ(Kᵢx) + G(x):
///   yᵢ ← prox_{σFᵢ*}(yᵢ + σKᵢx̄)  (by Moreau: v − σ prox_{Fᵢ/σ}(v/σ)),
///   x⁺ ← prox_{τG}(x − τ Σ Kᵢᵀyᵢ),  x̄ ← x⁺ + θ(x⁺ − x),
/// with τσ‖K‖² < 1: τ = σ = 0.99/‖K‖ from a power-iteration estimate of ‖K‖² = ‖[K₁; K₂; …]‖²
/// unless given. TV deblurring is K = [A; D], F = (½‖· − y‖², λ‖·‖₂,₁), G = 0 or a box.
public struct PDHG {
    /// Primal step τ (nil: from ‖K‖).
    public var tau: Double?
    /// Dual step σ (nil: from ‖K‖).
    public var sigma: Double?
    /// Extrapolation θ ∈ [0, 1].
    public var theta: Double
    /// Shared options.
    public var options: ReconstructionOptions

    /// Steps, θ = 1, options.
    public init(tau: Double? = nil, sigma: Double? = nil, theta: Double = 1, options: ReconstructionOptions = ReconstructionOptions()) {
        self.tau = tau
        self.sigma = sigma
        self.theta = theta
        self.options = options
    }

    /// Minimizes Σ Fᵢ(Kᵢx) + G(x) from `initial`.
    public func solve(blocks: [(operator: ForwardModel, function: ProximalOperator)], g: ProximalOperator = ZeroFunction(),
                      initial: [Double]) throws -> Reconstruction {
        guard !blocks.isEmpty else { throw PDEError.invalidValue(key: "blocks", value: "[]", expected: "at least one (K, F) block") }
        guard theta >= 0, theta <= 1 else { throw PDEError.invalidValue(key: "theta", value: "\(theta)", expected: "a value in [0, 1]") }
        let stack = try StackedModel(blocks.map(\.operator))
        try InverseCheck.length(initial.count, stack.domainCount, "initial estimate")
        var tracker = try IterationTracker(options, algorithm: "pdhg", count: stack.domainCount)
        // Steps. Given τ and/or σ: one dual step for all blocks with τσ‖K‖² < 1. Neither given:
        // block-diagonal preconditioning (Pock & Chambolle 2011 at block level): with
        // m blocks, τ = 0.99/√m and σᵢ = 0.99/(√m‖Kᵢ‖²), so τ Σᵢ σᵢ‖Kᵢ‖² < 1; this is uniform
        // steps on the blocks rescaled to norm 1, which keeps a CT projector (‖A‖² ~ 10⁴) and
        // a gradient (‖D‖² ≤ 8) balanced.
        let t: Double
        var sigmas: [Double]
        if tau == nil && sigma == nil {
            let m = Double(blocks.count)
            let norms = blocks.map { $0.operator.lipschitzEstimate(iterations: 100) * 1.02 }
            t = 0.99 / m.squareRoot()
            sigmas = norms.map { 0.99 / (m.squareRoot() * max($0, .leastNormalMagnitude)) }
            tracker.notes.append("tau = \(t), block sigmas = \(sigmas), ‖Kᵢ‖² ≈ \(norms.map { $0 / 1.02 })")
        } else {
            let normK = stack.lipschitzEstimate(iterations: 100) * 1.02
            let s: Double
            switch (tau, sigma) {
            case let (t0?, s0?): t = t0; s = s0
            case let (t0?, nil): t = t0; s = 0.99 / (t0 * normK)
            case let (nil, s0?): s = s0; t = 0.99 / (s0 * normK)
            case (nil, nil): t = 0; s = 0
            }
            try InverseCheck.positive(s, key: "sigma")
            sigmas = [Double](repeating: s, count: blocks.count)
            tracker.notes.append("tau = \(t), sigma = \(s), ‖K‖² ≈ \(normK / 1.02)")
        }
        try InverseCheck.positive(t, key: "tau")
        var x = initial, xBar = initial
        var duals = blocks.map { [Double](repeating: 0, count: $0.operator.rangeCount) }
        let n = x.count
        for it in 1...max(1, options.maxIterations) where options.maxIterations > 0 {
            var ktySum = [Double](repeating: 0, count: n)
            var dualChange = 0.0, dualSize = 0.0
            for (b, block) in blocks.enumerated() {
                let s = sigmas[b]
                var v = try block.operator(xBar)
                for i in v.indices { v[i] = duals[b][i] + s * v[i] }
                // Moreau: prox_{σF*}(v) = v − σ prox_{F/σ}(v/σ).
                let p = try block.function.prox(v.map { $0 / s }, step: 1 / s)
                for i in v.indices {
                    let new = v[i] - s * p[i]
                    dualChange += (new - duals[b][i]) * (new - duals[b][i])
                    dualSize += new * new
                    duals[b][i] = new
                }
                let kty = try block.operator.adjoint(duals[b])
                for i in 0..<n { ktySum[i] += kty[i] }
            }
            let previous = x
            x = try g.prox((0..<n).map { x[$0] - t * ktySum[$0] }, step: t)
            for i in 0..<n { xBar[i] = x[i] + theta * (x[i] - previous[i]) }
            let xs = x
            let dualRelative = (dualChange / max(dualSize, .leastNormalMagnitude)).squareRoot()
            if let stop = tracker.record(it, x: x, previous: previous, auxiliary: dualRelative, objective: {
                var total = g.value(xs) ?? .nan
                for block in blocks {
                    guard let kx = try? block.operator(xs), let v = block.function.value(kx) else { return nil }
                    total += v
                }
                return total.isNaN ? nil : total
            }) {
                return Reconstruction(x: x, report: tracker.report(stop: stop, iterations: it))
            }
        }
        return Reconstruction(x: x, report: tracker.report(stop: .maxIterations, iterations: options.maxIterations, x: x))
    }
}
