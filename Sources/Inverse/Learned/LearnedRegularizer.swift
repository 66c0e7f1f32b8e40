import Foundation
import Learning
import PDE

/// The regularizer a learned proximal network is the proximal operator of (Fang, Buchanan &
/// Sulam, ICLR 2024, Theorem 3.1 and §3.2): with f_θ = ∇ψ_θ,
///
///     R_θ(x) = ⟨x, y⟩ − ½‖x‖² − ψ_θ(y),   y = f_θ⁻¹(x),
///
/// i.e. R_θ = ψ_θ* − ½‖·‖² (ψ_θ* the convex conjugate), and f_θ(v) = argmin_x R_θ(x) + ½‖x − v‖²
/// for every v. The inverse y is found as the minimizer of the strongly convex
/// ψ_θ(y) − ⟨x, y⟩ (gradient f_θ(y) − x) by the suite's `LBFGS`, started from y₀ = x; the
/// gradient of R is then ∇R(x) = y − x.
///
/// Precision: the network may hold `Float` or `Double` parameters (the generic `T`); the
/// interface is `[Double]` throughout, and every network evaluation converts to `T`, runs one
/// sample (batch 1) without recording a graph, and converts back. With a `Float` network,
/// ψ and f carry `Float` rounding, so the inversion cannot reach a residual much below 1e-6:
/// the default tolerances depend on `T` (see `init`). The reference (`lpn/utils/prior.py`,
/// `evaluate_prior`) evaluates the same formula in `Float`, inverting by SciPy's nonlinear
/// conjugate gradient on ψ(y) − ⟨x, y⟩ from y₀ = x (`invert_cvx_cg`), by Adam from y₀ = 0
/// (`invert_cvx_gd`) or by least squares on f(y) − x (`invert_ls`).
///
/// Images are flat `[Double]` arrays of one network sample in its layout: `d` values for a
/// fully connected network, C·H·W values (channel, row, column, row-major) for a
/// convolutional one. A wrong length throws `PDEError.shapeMismatch`; an inversion whose
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

    /// Wraps a network. Defaults by precision: for `Double` parameters tolerance 1e-10 and
    /// acceptable residual 1e-6; for `Float`, 1e-5 and 1e-3. Throws `PDEError.invalidValue`
    /// for a tolerance that is not positive and finite, an acceptable residual below the
    /// tolerance, an iteration limit below 1 or a memory below 1.
    public init(network: LearnedProximalNetwork<T>, tolerance: Double? = nil, acceptableResidual: Double? = nil,
                maxIterations: Int = 1000, memory: Int = 20) throws {
        let double = T.significandBitCount >= Double.significandBitCount
        let tol = tolerance ?? (double ? 1e-10 : 1e-5)
        let acceptable = acceptableResidual ?? max(tol, double ? 1e-6 : 1e-3)
        try InverseCheck.positive(tol, key: "learned regularizer tolerance")
        guard acceptable >= tol, acceptable.isFinite else {
            throw PDEError.invalidValue(key: "learned regularizer acceptable residual", value: "\(acceptable)",
                                        expected: "a finite value ≥ the tolerance \(tol)")
        }
        guard maxIterations >= 1, memory >= 1 else {
            throw PDEError.invalidValue(key: "learned regularizer L-BFGS settings", value: "maxIterations \(maxIterations), memory \(memory)",
                                        expected: "both ≥ 1")
        }
        self.network = network
        self.tolerance = tol
        self.acceptableResidual = acceptable
        self.maxIterations = maxIterations
        self.memory = memory
    }

    /// The shape of one sample, without the batch axis: [d] or [C, H, W].
    public var sampleShape: [Int] {
        switch network.kind {
        case let .fullyConnected(d): return [d]
        case let .convolutional(c, h, w, _): return [c, h, w]
        }
    }

    /// The number of values of one image (d or C·H·W).
    public var count: Int { sampleShape.reduce(1, *) }

    // MARK: Network evaluations

    /// ψ(y) and f(y) = ∇ψ(y) for one flat sample (batch 1, nothing recorded). Throws
    /// `PDEError.shapeMismatch` for a wrong length.
    public func potentialAndProx(_ y: [Double]) throws -> (potential: Double, prox: [Double]) {
        try InverseCheck.length(y.count, count, "input of the learned proximal network")
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: y.map { T($0) })
        return try Autodiff.withoutGradient {
            let (psi, f) = try network.potentialAndProx(Variable(input))
            return (Double(psi.value.scalars[0]), f.value.scalars.map { Double($0) })
        }
    }

    /// ψ(y) for one flat sample. Throws as `potentialAndProx(_:)`.
    public func potential(_ y: [Double]) throws -> Double {
        try InverseCheck.length(y.count, count, "input of the learned proximal network")
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: y.map { T($0) })
        return try Autodiff.withoutGradient { Double(try network.potential(Variable(input)).value.scalars[0]) }
    }

    /// f(v) = ∇ψ(v), the learned proximal operator, for one flat sample. Throws as
    /// `potentialAndProx(_:)`.
    public func prox(_ v: [Double]) throws -> [Double] {
        try InverseCheck.length(v.count, count, "input of the learned proximal network")
        let input = try Tensor<T>(shape: [1] + sampleShape, scalars: v.map { T($0) })
        return try Autodiff.withoutGradient { try network.prox(Variable(input)).value.scalars.map { Double($0) } }
    }

    // MARK: Inversion and the regularizer

    /// y = f⁻¹(x): L-BFGS on ψ(y) − ⟨x, y⟩ from `initial` (default y₀ = x), stopping at
    /// ‖f(y) − x‖ ≤ `tolerance`·‖x‖ or after `maxIterations`. Throws `PDEError.shapeMismatch`
    /// for wrong lengths, `PDEError.invalidValue` for non-finite input and when the final
    /// residual ‖f(y) − x‖/‖x‖ exceeds `acceptableResidual` (the message gives it and the stop).
    public func inverse(_ x: [Double], initial: [Double]? = nil) throws -> Inversion {
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
        let (psi, f) = try potentialAndProx(run.x)
        let residual = InverseVectors.distance(f, x) / scale
        guard residual <= acceptableResidual, psi.isFinite else {
            throw PDEError.invalidValue(key: "learned regularizer inversion",
                                        value: "relative residual ‖f(y) − x‖/‖x‖ = \(residual) after \(run.report.iterations) L-BFGS iterations (\(run.report.stop.rawValue); \(run.report.notes.first ?? ""))",
                                        expected: "≤ \(acceptableResidual) (raise maxIterations or acceptableResidual; with α = 0, x may lie outside f's range)")
        }
        var report = run.report
        report.algorithm = "lpn-inverse (lbfgs)"
        report.notes.append("relative residual ‖f(y) − x‖/‖x‖ = \(residual)")
        return Inversion(y: run.x, residual: residual, potential: psi, report: report)
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
