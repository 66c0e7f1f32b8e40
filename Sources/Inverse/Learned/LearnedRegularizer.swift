import Foundation
import Learning
import PDE

/// The regularizer a learned proximal network is the proximal operator of (Fang, Buchanan &
/// Sulam, ICLR 2024): with f_θ = ∇ψ_θ,
///
///     R_θ(x) = ⟨x, y⟩ − ½‖x‖² − ψ_θ(y),   y = f_θ⁻¹(x),
///
/// i.e. R_θ = ψ_θ* − ½‖·‖² (ψ_θ* the convex conjugate), and f_θ(v) = argmin_x R_θ(x) + ½‖x − v‖²
/// for every v. The inverse y is found as the minimizer of the strongly convex
/// ψ_θ(y) − ⟨x, y⟩ (gradient f_θ(y) − x) by the suite's `LBFGS`, started from y₀ = x; the
/// gradient of R is then ∇R(x) = y − x.
///
/// L-BFGS's line search compares values of ψ(y) − ⟨x, y⟩, whose rounding (≈ 1e-16·|ψ|)
/// swamps the decrease ≈ ‖f(y) − x‖²/(2L) once the relative residual is near 1e-9 (1e-9 to
/// 3e-9 measured on small networks): it stalls there.
/// When it ends above `tolerance`, up to `polishSteps` Newton steps on f(y) = x follow, each
/// solving ∇f(y) δ = x − f(y) by conjugate gradients (∇f = ∇²ψ is symmetric positive
/// definite; its products by central differences of f) and accepted only when ‖f(y) − x‖
/// decreases, a test that is exact to rounding of the residual itself. The report's notes
/// say what the polish did; its stop is `.converged` exactly when ‖f(y) − x‖ ≤
/// `tolerance`·‖x‖ at the end (else L-BFGS's own stop, `.stalled` in place of its
/// objective-based `.converged`).
///
/// Precision: the network may hold `Float` or `Double` parameters (the generic `T`); the
/// interface is `[Double]` throughout, and every network evaluation converts to `T`, runs one
/// sample (batch 1) without recording a graph, and converts back. With a `Float` network,
/// ψ and f carry `Float` rounding, so the inversion cannot reach a residual much below 1e-7:
/// the default tolerances depend on `T` (see `init`). The reference (`lpn/utils/prior.py`,
/// `evaluate_prior`) evaluates the same formula in `Float`, inverting by SciPy's nonlinear
/// conjugate gradient on ψ(y) − ⟨x, y⟩ from y₀ = x (`invert_cvx_cg`), by Adam from y₀ = 0
/// (`invert_cvx_gd`) or by least squares on f(y) − x (`invert_ls`).
///
/// Images are flat `[Double]` arrays of one network sample in its layout: `d` values for a
/// fully connected network, C·H·W values (channel, row, column, row-major) for a
/// convolutional one, C·H·W for a fully convolutional one of the `imageSize` [H, W] given at
/// `init` (the network takes any size; the regularizer is of images of one size). A wrong length throws `PDEError.shapeMismatch`; an inversion whose
/// relative residual ‖f(y) − x‖/‖x‖ stays above `acceptableResidual` throws
/// `PDEError.invalidValue` naming the residual and the L-BFGS stop. Strong convexity (α > 0)
/// makes f a bijection of ℝⁿ, so every x has an inverse; with α = 0 an x outside f's range
/// fails.
public struct LearnedRegularizer<T: TensorScalar> {
    /// The network f_θ = ∇ψ_θ (a reference: training it changes the regularizer).
    public let network: LearnedProximalNetwork<T>
    /// L-BFGS stops once ‖f(y) − x‖ ≤ tolerance·‖x‖ (‖x‖ replaced by 1 when x = 0).
    public var tolerance: Double
    /// The inversion fails (throws) when the final relative residual exceeds this (≥ tolerance;
    /// covers an L-BFGS run that stalled at the floating-point floor just above `tolerance`).
    public var acceptableResidual: Double
    /// L-BFGS iteration limit of one inversion.
    public var maxIterations: Int
    /// L-BFGS memory (stored pairs).
    public var memory: Int
    /// Newton steps allowed after an L-BFGS run that ended above `tolerance` (0: none).
    public var polishSteps: Int
    /// [H, W] of the images of a fully convolutional network (nil for the other kinds, whose
    /// layout fixes the size).
    public let imageSize: [Int]?
    /// The symmetries ψ and f are averaged over (`LPNSymmetries`; `.none`: the network
    /// itself). Every evaluation, the inversion and R use the averaged ψ̄ and f̄ = ∇ψ̄.
    public let symmetries: LPNSymmetries
    /// The symmetries' elements on one sample (empty for `.none`).
    let elements: [LPNSymmetries.Element]
    /// Denoiser scaling (`LPNScaling`; `.identity`: the network itself): every network pass
    /// is of f_s and ψ_s, before the symmetry average.
    public let scaling: LPNScaling

    /// The result of inverting f at x.
    public struct Inversion: Sendable {
        /// y with f(y) ≈ x, flat in the network's sample layout.
        public var y: [Double]
        /// ‖f(y) − x‖/‖x‖ (absolute when x = 0).
        public var residual: Double
        /// ψ(y).
        public var potential: Double
        /// The L-BFGS report (stop, iterations, notes with the evaluation counts).
        public var report: ReconstructionReport
    }

    /// R(x) with how it was computed.
    public struct Evaluation: Sendable {
        /// R(x) = ⟨x, y⟩ − ½‖x‖² − ψ(y).
        public var value: Double
        /// ∇R(x) = y − x (ψ* is differentiable with ∇ψ* = f⁻¹).
        public var gradient: [Double]
        /// The inversion y = f⁻¹(x).
        public var inversion: Inversion
    }

    /// R along a straight path between two images.
    public struct Profile: Sendable {
        /// The path parameters t_k = k/steps, k = 0…steps (x = (1 − t)a + t b).
        public var t: [Double]
        /// R at each point.
        public var values: [Double]
        /// The inversion residual at each point.
        public var residuals: [Double]
        /// The L-BFGS iterations spent at each point.
        public var iterations: [Int]
    }

    /// Wraps a network (a fully convolutional one with the `imageSize` [H, W] of its images).
    /// Defaults by precision: for `Double` parameters tolerance 1e-10 and
    /// acceptable residual 1e-6; for `Float`, 1e-5 and 1e-3. Throws `PDEError.invalidValue`
    /// for a tolerance that is not positive and finite, an acceptable residual below the
    /// tolerance, an iteration limit or memory below 1, or negative polish steps, and
    /// `PDEError.shapeMismatch` for an image size missing (fully convolutional), given (other
    /// kinds) or not two sizes ≥ 1, and for `symmetries` that move pixels (flips, dihedral) on a
    /// fully connected network (no image layout) or `.dihedral` on a non-square image.
    /// `scaling` (`LPNScaling`) maps every network pass to f_s and ψ_s.
    public init(network: LearnedProximalNetwork<T>, imageSize: [Int]? = nil, tolerance: Double? = nil, acceptableResidual: Double? = nil,
                maxIterations: Int = 1000, memory: Int = 20, polishSteps: Int = 5, symmetries: LPNSymmetries = .none,
                scaling: LPNScaling = .identity) throws {
        if case .fullyConvolutional = network.kind {
            guard let s = imageSize, s.count == 2, s.allSatisfy({ $0 >= 1 }) else {
                throw PDEError.shapeMismatch(what: "image size of a fully convolutional learned regularizer", expected: "[H ≥ 1, W ≥ 1]",
                                             got: imageSize.map { "\($0)" } ?? "none")
            }
        } else if let s = imageSize {
            throw PDEError.shapeMismatch(what: "image size of a learned regularizer", expected: "none (the network's layout fixes it)",
                                         got: "\(s)")
        }
        self.imageSize = imageSize
        let double = T.significandBitCount >= Double.significandBitCount
        let tol = tolerance ?? (double ? 1e-10 : 1e-5)
        self.network = network
        self.tolerance = tol
        self.acceptableResidual = acceptableResidual ?? max(tol, double ? 1e-6 : 1e-3)
        self.maxIterations = maxIterations
        self.memory = memory
        self.polishSteps = polishSteps
        self.symmetries = symmetries
        self.scaling = scaling
        switch (symmetries, network.kind) {
        case (.none, _):
            elements = []
        case let (_, .fullyConnected(d)):
            guard !symmetries.needsImageLayout else {
                throw PDEError.shapeMismatch(what: "learned proximal network symmetrized over \(symmetries.rawValue)",
                                             expected: "a convolutional or fully convolutional network (an image layout)", got: "\(network.kind)")
            }
            elements = try symmetries.elements(count: d)
        case let (_, .convolutional(c, h, w, _)):
            elements = try symmetries.elements(channels: c, height: h, width: w)
        case let (_, .fullyConvolutional(c)):
            let size = imageSize ?? [1, 1]
            elements = try symmetries.elements(channels: c, height: size[0], width: size[1])
        }
        try validate()
    }

    /// Throws `PDEError.invalidValue` for settings `init` rejects (they are mutable; every
    /// inversion checks them again).
    public func validate() throws {
        try InverseCheck.positive(tolerance, key: "learned regularizer tolerance")
        guard acceptableResidual >= tolerance, acceptableResidual.isFinite else {
            throw PDEError.invalidValue(key: "learned regularizer acceptable residual", value: "\(acceptableResidual)",
                                        expected: "a finite value ≥ the tolerance \(tolerance)")
        }
        guard maxIterations >= 1, memory >= 1, polishSteps >= 0 else {
            throw PDEError.invalidValue(key: "learned regularizer inversion settings",
                                        value: "maxIterations \(maxIterations), memory \(memory), polishSteps \(polishSteps)",
                                        expected: "maxIterations and memory ≥ 1, polishSteps ≥ 0")
        }
    }

    /// The shape of one sample, without the batch axis: [d] or [C, H, W].
    public var sampleShape: [Int] {
        switch network.kind {
        case let .fullyConnected(d): return [d]
        case let .convolutional(c, h, w, _): return [c, h, w]
        case let .fullyConvolutional(c): return [c] + (imageSize ?? [1, 1])
        }
    }

    /// The number of values of one image (d or C·H·W).
    public var count: Int { sampleShape.reduce(1, *) }

    // MARK: Network evaluations

    /// ψ(y) and f(y) = ∇ψ(y) for one flat sample (batch 1, nothing recorded); with
    /// `symmetries`, ψ̄(y) and f̄(y) (one network pass per symmetry). Throws
    /// `PDEError.shapeMismatch` for a wrong length.
    public func potentialAndProx(_ y: [Double]) throws -> (potential: Double, prox: [Double]) {
        try InverseCheck.length(y.count, count, "input of the learned proximal network")
        guard !elements.isEmpty else { return try networkPotentialAndProx(y) }
        var psi = 0.0, f = [Double](repeating: 0, count: y.count)
        for g in elements {
            let (pg, fg) = try networkPotentialAndProx(g.permutation.map { g.sign * y[$0] })
            psi += pg
            for (k, p) in g.permutation.enumerated() { f[p] += g.sign * fg[k] }
        }
        let w = 1 / Double(elements.count)
        return (psi * w, f.map { $0 * w })
    }

    /// ψ(y) for one flat sample (ψ̄ with `symmetries`). Throws as `potentialAndProx(_:)`.
    public func potential(_ y: [Double]) throws -> Double {
        try InverseCheck.length(y.count, count, "input of the learned proximal network")
        guard !elements.isEmpty else { return try networkPotential(y) }
        var psi = 0.0
        for g in elements { psi += try networkPotential(g.permutation.map { g.sign * y[$0] }) }
        return psi / Double(elements.count)
    }

    /// f(v) = ∇ψ(v), the learned proximal operator, for one flat sample (f̄ with
    /// `symmetries`). Throws as `potentialAndProx(_:)`.
    public func prox(_ v: [Double]) throws -> [Double] {
        try InverseCheck.length(v.count, count, "input of the learned proximal network")
        guard !elements.isEmpty else { return try networkProx(v) }
        return try potentialAndProx(v).prox   // ψ comes free with the forward pass f needs
    }

    /// The network's own ψ and f at one sample of the right length (ψ_s and f_s with `scaling`).
    private func networkPotentialAndProx(_ y: [Double]) throws -> (potential: Double, prox: [Double]) {
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: scaling.networkInput(y).map { T($0) })
        let (psi, f) = try Autodiff.withoutGradient {
            let (psi, f) = try network.potentialAndProx(Variable(input))
            return (Double(psi.value.scalars[0]), f.value.scalars.map { Double($0) })
        }
        return scaling.mapBack(potential: psi, prox: f, input: y)
    }

    private func networkPotential(_ y: [Double]) throws -> Double {
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: scaling.networkInput(y).map { T($0) })
        let psi = try Autodiff.withoutGradient { Double(try network.potential(Variable(input)).value.scalars[0]) }
        return scaling.mapBack(potential: psi, prox: [], input: y).potential
    }

    private func networkProx(_ v: [Double]) throws -> [Double] {
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: scaling.networkInput(v).map { T($0) })
        let f = try Autodiff.withoutGradient { try network.prox(Variable(input)).value.scalars.map { Double($0) } }
        return scaling.mapBack(potential: 0, prox: f, input: []).prox
    }

    // MARK: Inversion and the regularizer

    /// y = f⁻¹(x): L-BFGS on ψ(y) − ⟨x, y⟩ from `initial` (default y₀ = x), stopping at
    /// ‖f(y) − x‖ ≤ `tolerance`·‖x‖ or after `maxIterations`. Throws `PDEError.shapeMismatch`
    /// for wrong lengths, `PDEError.invalidValue` for invalid settings, non-finite input and
    /// when the final residual ‖f(y) − x‖/‖x‖ exceeds `acceptableResidual` (the message gives
    /// it and the stop).
    public func inverse(_ x: [Double], initial: [Double]? = nil) throws -> Inversion {
        try validate()
        try InverseCheck.length(x.count, count, "image inverted by the learned regularizer")
        if let y0 = initial { try InverseCheck.length(y0.count, count, "initial inverse of the learned regularizer") }
        guard x.allSatisfy({ $0.isFinite }) else {
            throw PDEError.invalidValue(key: "image inverted by the learned regularizer", value: "non-finite entries", expected: "finite values")
        }
        let norm = InverseVectors.norm(x)
        let scale = norm > 0 ? norm : 1
        let solver = LBFGS(memory: memory, gradientTolerance: 0, absoluteGradientTolerance: tolerance * scale, objectiveTolerance: 0,
                           options: ReconstructionOptions(maxIterations: maxIterations, tolerance: 0, trackObjective: false,
                                                          recordHistory: false))
        let run = try solver.minimize(initial: initial ?? x) { y in
            let (psi, f) = try potentialAndProx(y)
            var g = f
            for i in g.indices { g[i] -= x[i] }
            return (psi - InverseVectors.dot(x, y), g)
        }
        var y = run.x
        var (psi, f) = try potentialAndProx(y)
        var g = f
        for i in g.indices { g[i] -= x[i] }
        var report = run.report
        report.algorithm = "lpn-inverse (lbfgs)"
        let target = tolerance * scale
        if InverseVectors.norm(g) > target && polishSteps > 0 {
            let before = InverseVectors.norm(g) / scale
            let p = try newtonPolish(x, y: &y, potential: &psi, gradient: &g, target: target)
            let after = InverseVectors.norm(g) / scale
            report.notes.append("Newton polish after L-BFGS (\(report.stop.rawValue)): \(p.steps) steps, \(p.cgIterations) CG iterations, relative residual \(before) → \(after)")
        }
        let residual = InverseVectors.norm(g) / scale
        // The stop describes the inversion: converged exactly when the residual tolerance is met.
        report.stop = residual <= tolerance ? .converged : (run.report.stop == .converged ? .stalled : run.report.stop)
        guard residual <= acceptableResidual, psi.isFinite else {
            throw PDEError.invalidValue(key: "learned regularizer inversion",
                                        value: "relative residual ‖f(y) − x‖/‖x‖ = \(residual) after \(run.report.iterations) L-BFGS iterations (\(run.report.stop.rawValue); \(run.report.notes.first ?? ""))\(report.notes.count > run.report.notes.count ? " and " + (report.notes.last ?? "") : "")",
                                        expected: "≤ \(acceptableResidual) (raise maxIterations or acceptableResidual; with α = 0, x may lie outside f's range)")
        }
        report.notes.append("relative residual ‖f(y) − x‖/‖x‖ = \(residual)")
        return Inversion(y: y, residual: residual, potential: psi, report: report)
    }

    /// ∇f(y)p = ∇²ψ(y)p by a central difference of f along p, step ε^{1/3}·max(1, rms y)
    /// in norm (ε the network's machine epsilon).
    private func hessianProduct(at y: [Double], _ p: [Double]) throws -> [Double] {
        let n = y.count
        let h = Foundation.cbrt(Double(T.ulpOfOne)) * max(1, InverseVectors.norm(y) / Double(n).squareRoot())
        let s = h / InverseVectors.norm(p)
        let plus = try prox((0..<n).map { y[$0] + s * p[$0] })
        let minus = try prox((0..<n).map { y[$0] - s * p[$0] })
        return (0..<n).map { (plus[$0] - minus[$0]) / (2 * s) }
    }

    /// The local Lipschitz constant of the learned prox at y, and what it says about R.
    public struct LocalLipschitz: Sendable {
        /// L = λ_max(∇f(y)) = λ_max(∇²ψ(y)) = ‖∇f(y)‖₂ (∇²ψ is symmetric positive semidefinite).
        public var value: Double
        /// The unit eigenvector estimate of L (flat, in the sample layout).
        public var vector: [Double]
        /// Power iterations spent.
        public var iterations: Int
        /// Whether the Rayleigh quotient settled to the tolerance (else the iteration limit).
        public var converged: Bool
        /// max(0, 1 − 1/L): at x = f(y), ∇²R(x) = ∇²ψ(y)⁻¹ − I ⪰ (1/L − 1)I, so
        /// R + (μ/2)‖·‖² is convex near x for μ = 1 − 1/L. 0 means f is non-expansive at y
        /// (R convex there); μ near 1 means f amplifies some direction (R strongly concave in it).
        public var weakConvexity: Double { max(0, 1 - 1 / value) }
    }

    /// L = λ_max(∇f(y)) by power iteration on ∇²ψ(y) (products by central differences of f,
    /// two network evaluations each; with `symmetries`, of f̄), from a seeded random start,
    /// until the Rayleigh quotient changes by ≤ `tolerance` relative or after `iterations`.
    /// For a prox, L ≤ 1 everywhere is convexity of R; where L > 1, f is expansive and R
    /// only weakly convex (`LocalLipschitz.weakConvexity`), which is what plug-and-play
    /// convergence theory for nonconvex R has to pay for. Throws `PDEError.shapeMismatch` for
    /// a wrong length and `PDEError.invalidValue` for non-finite y, `iterations` < 1 or a
    /// tolerance not positive.
    public func localLipschitz(at y: [Double], iterations: Int = 50, tolerance: Double = 1e-3, seed: UInt64 = 0) throws -> LocalLipschitz {
        try InverseCheck.length(y.count, count, "point of the learned prox's Lipschitz estimate")
        guard y.allSatisfy({ $0.isFinite }) else {
            throw PDEError.invalidValue(key: "point of the learned prox's Lipschitz estimate", value: "non-finite entries", expected: "finite values")
        }
        guard iterations >= 1 else {
            throw PDEError.invalidValue(key: "power iterations", value: "\(iterations)", expected: "≥ 1")
        }
        try InverseCheck.positive(tolerance, key: "power iteration tolerance")
        var generator = SeededGenerator(seed: seed)
        var v = (0..<y.count).map { _ in Double.random(in: -1...1, using: &generator) }
        var norm = InverseVectors.norm(v)
        v = v.map { $0 / norm }
        var lambda = 0.0
        for k in 1...iterations {
            let w = try hessianProduct(at: y, v)
            let next = InverseVectors.dot(v, w)
            norm = InverseVectors.norm(w)
            guard norm > 0, norm.isFinite else {
                return LocalLipschitz(value: max(0, next), vector: v, iterations: k, converged: true)
            }
            v = w.map { $0 / norm }
            if k > 1 && abs(next - lambda) <= tolerance * abs(next) {
                return LocalLipschitz(value: next, vector: v, iterations: k, converged: true)
            }
            lambda = next
        }
        return LocalLipschitz(value: lambda, vector: v, iterations: iterations, converged: false)
    }

    /// Newton steps on f(y) = x from y (g = f(y) − x on entry and exit): ∇f(y) δ = −g by CG to
    /// 1e-2 relative (products ∇f(y)p by central differences of f with step ε^{1/3}·max(1, rms y)),
    /// then y + δ, y + δ/2, … (4 tries) accepted at the first decrease of ‖g‖; stops at ‖g‖ ≤
    /// target, after `polishSteps`, or when no try decreases ‖g‖.
    private func newtonPolish(_ x: [Double], y: inout [Double], potential psi: inout Double, gradient g: inout [Double],
                              target: Double) throws -> (steps: Int, cgIterations: Int) {
        let n = y.count
        var r = InverseVectors.norm(g)
        var steps = 0, cgIterations = 0
        while steps < polishSteps && r > target {
            steps += 1
            let base = y
            func hessianTimes(_ p: [Double]) throws -> [Double] { try hessianProduct(at: base, p) }
            // CG on ∇f δ = −g.
            var delta = [Double](repeating: 0, count: n)
            var res = g.map { -$0 }
            var p = res
            var rr = InverseVectors.dot(res, res)
            let stopAt = 1e-4 * rr
            for _ in 0..<min(n, 200) {
                let hp = try hessianTimes(p)
                cgIterations += 1
                let curvature = InverseVectors.dot(p, hp)
                guard curvature > 0, curvature.isFinite else { break }
                let a = rr / curvature
                for i in 0..<n { delta[i] += a * p[i]; res[i] -= a * hp[i] }
                let rrNew = InverseVectors.dot(res, res)
                if rrNew <= stopAt { break }
                let b = rrNew / rr
                for i in 0..<n { p[i] = res[i] + b * p[i] }
                rr = rrNew
            }
            guard InverseVectors.norm(delta) > 0 else { break }
            var t = 1.0, accepted = false
            for _ in 0..<4 {
                let trial = (0..<n).map { base[$0] + t * delta[$0] }
                let (pt, ft) = try potentialAndProx(trial)
                var gt = ft
                for i in gt.indices { gt[i] -= x[i] }
                let rt = InverseVectors.norm(gt)
                if rt < r && pt.isFinite {
                    y = trial; psi = pt; g = gt; r = rt
                    accepted = true
                    break
                }
                t *= 0.5
            }
            if !accepted { break }
        }
        return (steps, cgIterations)
    }

    /// R(x), ∇R(x) and the inversion behind them. Throws as `inverse(_:initial:)`.
    public func evaluate(_ x: [Double], initial: [Double]? = nil) throws -> Evaluation {
        let inv = try inverse(x, initial: initial)
        let value = InverseVectors.dot(x, inv.y) - 0.5 * InverseVectors.dot(x, x) - inv.potential
        var gradient = inv.y
        for i in gradient.indices { gradient[i] -= x[i] }
        return Evaluation(value: value, gradient: gradient, inversion: inv)
    }

    /// R(x) = ⟨x, y⟩ − ½‖x‖² − ψ(y), y = f⁻¹(x). Throws as `inverse(_:initial:)`.
    public func value(_ x: [Double]) throws -> Double { try evaluate(x).value }

    /// `value(_:)`.
    public func callAsFunction(_ x: [Double]) throws -> Double { try value(x) }

    /// R at x(t) = (1 − t)a + t b for t = k/steps, k = 0…steps (steps + 1 values, both ends
    /// included), each inversion warm-started from the previous point's y (the first from a).
    /// Throws `PDEError.shapeMismatch` for images of the wrong length, `PDEError.invalidValue`
    /// for steps < 1 and as `inverse(_:initial:)`.
    public func profile(from a: [Double], to b: [Double], steps: Int) throws -> Profile {
        try InverseCheck.length(a.count, count, "start of the learned regularizer profile")
        try InverseCheck.length(b.count, count, "end of the learned regularizer profile")
        guard steps >= 1 else {
            throw PDEError.invalidValue(key: "learned regularizer profile steps", value: "\(steps)", expected: "≥ 1")
        }
        var profile = Profile(t: [], values: [], residuals: [], iterations: [])
        var warm: [Double]? = nil
        for k in 0...steps {
            let t = Double(k) / Double(steps)
            let x = k == steps ? b : (0..<a.count).map { (1 - t) * a[$0] + t * b[$0] }
            let e = try evaluate(x, initial: warm)
            warm = e.inversion.y
            profile.t.append(t)
            profile.values.append(e.value)
            profile.residuals.append(e.inversion.residual)
            profile.iterations.append(e.inversion.report.iterations)
        }
        return profile
    }
}
