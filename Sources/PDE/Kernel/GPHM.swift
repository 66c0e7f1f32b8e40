import Foundation
import Learning
import Support

/// The trainable parameters of a one-variable spectral mixture as GP-HM parameterizes them:
/// weights w_q = exp(ρ_q) (learned in the log domain, so unneeded components shrink away),
/// frequencies μ_q in cycles per unit length, and log inverse lengthscales λ_q (Gaussian
/// components: exp(−t² e^λ), i.e. ℓ = e^{−λ/2}/√2; Student-t components: Matérn 5/2 with
/// a = e^λ, i.e. ℓ = e^{−λ}).
public struct SpectralMixtureParameters: Sendable, Equatable {
    public var shape: SpectralMixtureAxis.Shape
    public var logWeights: [Double]
    public var frequencies: [Double]
    public var logInverseLengthscales: [Double]

    public var count: Int { logWeights.count }

    /// GP-HM's start: Q components, weights 1/Q, frequencies linspace(0, 1, Q)·scale, λ = 0.
    public static func initial(shape: SpectralMixtureAxis.Shape, components q: Int, frequencyScale: Double) throws -> SpectralMixtureParameters {
        guard q >= 1 else {
            throw PDEError.invalidValue(key: "components", value: "\(q)", expected: "at least one mixture component")
        }
        guard frequencyScale >= 0, frequencyScale.isFinite else {
            throw PDEError.invalidValue(key: "frequency_scale", value: "\(frequencyScale)", expected: "a non-negative finite frequency scale")
        }
        let mu = (0..<q).map { q == 1 ? 0 : Double($0) / Double(q - 1) * frequencyScale }
        return SpectralMixtureParameters(shape: shape, logWeights: Array(repeating: log(1 / Double(q)), count: q),
                                         frequencies: mu, logInverseLengthscales: Array(repeating: 0, count: q))
    }

    /// Appends the component the `smoothComponent` settings add: frequency 0 (kept there by
    /// the solvers), weight 1, λ = 0.
    mutating func appendSmoothComponent() {
        logWeights.append(0)
        frequencies.append(0)
        logInverseLengthscales.append(0)
    }

    /// The lengthscale ℓ_q of component q in exp(−t²/(2ℓ²)) / Matérn(t/ℓ) form.
    func lengthscale(_ q: Int) -> Double {
        switch shape {
        case .gaussian: return exp(-0.5 * logInverseLengthscales[q]) / 2.0.squareRoot()
        case .studentT: return exp(-logInverseLengthscales[q])
        }
    }

    /// dℓ/dλ divided by ℓ.
    var lengthscaleLogSlope: Double { shape == .gaussian ? -0.5 : -1 }

    /// The kernel as a `SpectralMixtureAxis` (for predictions and the generic machinery).
    public func axisKernel() throws -> SpectralMixtureAxis {
        try SpectralMixtureAxis(shape: shape, components: (0..<count).map {
            SpectralMixtureAxis.Component(weight: exp(logWeights[$0]), frequency: frequencies[$0], lengthscale: lengthscale($0))
        })
    }

    /// g^(n)(t) and its gradient with respect to (ρ, μ, λ) (three arrays of `count`), for
    /// n ≤ 3. The lengthscale derivative uses ∂e^(k)/∂ℓ = −(k e^(k) + t e^(k+1))/ℓ of a
    /// scaled envelope e(t) = E(t/ℓ).
    func valueAndGradient(_ t: Double, order n: Int, into gradient: UnsafeMutablePointer<Double>) -> Double {
        let q = count
        var total = 0.0
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 16) { buf in
            let e = buf.baseAddress!, c = e + 5, dc = e + 10
            for j in 0..<q {
                let w = exp(logWeights[j])
                let l = lengthscale(j)
                switch shape {
                case .gaussian: GaussianAxis(unchecked: l).derivatives(t, into: e, count: n + 2)
                case .studentT: MaternAxis(.matern52, unchecked: l).derivatives(t, into: e, count: n + 2)
                }
                let omega = 2 * Double.pi * frequencies[j]
                var wk = 1.0
                for k in 0...n {
                    let phase = omega * t + Double(k) * Double.pi / 2
                    c[k] = wk * cos(phase)
                    // ∂/∂ω of ωᵏ cos(ωt + kπ/2).
                    dc[k] = (k > 0 ? Double(k) * pow(omega, Double(k - 1)) : 0) * cos(phase) - wk * t * sin(phase)
                    wk *= omega
                }
                var value = 0.0, dMu = 0.0, dLambda = 0.0
                var binomial = 1.0
                for k in 0...n {
                    value += binomial * e[k] * c[n - k]
                    dMu += binomial * e[k] * dc[n - k] * 2 * Double.pi
                    // ∂e^(k)/∂λ = (dℓ/dλ)·∂e^(k)/∂ℓ = −slope·(k e^(k) + t e^(k+1)).
                    let dE = -lengthscaleLogSlope * (Double(k) * e[k] + t * e[k + 1])
                    dLambda += binomial * dE * c[n - k]
                    binomial = binomial * Double(n - k) / Double(k + 1)
                }
                total += w * value
                gradient[j] = w * value
                gradient[q + j] = w * dMu
                gradient[2 * q + j] = w * dLambda
            }
        }
        return total
    }
}

/// GP-HM in one variable (Fang et al., ICLR 2024): the solution values u on a uniform grid
/// with prior N(0, K), K = k(X, X) + jitter·I for a spectral-mixture k; u″ on the grid is
/// K₂K⁻¹u with K₂ = ∂²ₓk(X, X); the negative log joint
///   ½ log det K + ½ uᵀK⁻¹u − w_b(½ N_b log τ − ½ τ‖u_b − g‖²) − (½ N log v − ½ v‖R‖²),
/// R = K₂K⁻¹u (+ u(u² − 1)) − f at every grid point, is minimized with Adam over u, the kernel
/// parameters, log τ and log v (`.joint`, the paper's protocol), or over the kernel
/// parameters, log τ and log v only, with u solved exactly for each (`.exactInner`, beyond
/// the paper: the loss is quadratic in u for Poisson, one Cholesky solve; for Allen–Cahn u is
/// a stationary point found by Gauss–Newton, warm-started from the previous step's). Gradients are
/// analytic; on the uniform grid K and K₂ are Toeplitz, so their adjoints reduce to sums
/// along diagonals before the chain rule to the parameters.
public struct GPHM1D: Sendable {
    /// The equations GP-HM solves in one variable.
    public enum Equation: String, Sendable, CaseIterable {
        /// u″ = f.
        case poisson
        /// u″ + u(u² − 1) = f.
        case allenCahn = "allen-cahn"
        /// Two variables only (`GPHM2D`): β u_x + u_y = f, transport at speed β
        /// (`GPHM2D.Settings.advectionSpeed`) with y the time; linear, so the exact inner solve
        /// applies.
        case advection

        /// Whether the equation is linear in u (the exact inner solve needs it).
        public var isLinear: Bool { self != .allenCahn }
    }

    /// How u is found: with the kernel by Adam, or exactly for each kernel.
    public enum Mode: String, Sendable, CaseIterable {
        /// Adam on u and the kernel parameters together (the paper).
        case joint
        /// u solved for the current kernel parameters (a linear solve for linear equations,
        /// Gauss–Newton for 1-D Allen–Cahn), Adam on those.
        case exactInner = "exact-inner"
    }

    /// The reference code's settings by default (Student-t mixture, Q = 30, frequency scale 20,
    /// boundary weight 200, jitter 1e-6, Adam lr 0.01) on 400 points of [0, 2π].
    public struct Settings: Sendable {
        public var points = 400
        public var lower = 0.0
        public var upper = 2 * Double.pi
        public var shape: SpectralMixtureAxis.Shape = .studentT
        public var components = 30
        public var frequencyScale = 20.0
        public var boundaryWeight = 200.0
        public var jitter = 1e-6
        public var learningRate = 0.01
        /// The learning rate at the last step as a fraction of `learningRate`, reached by a
        /// cosine decay (1: constant, the paper's protocol).
        public var finalLearningRateFraction = 1.0
        public var steps = 1000
        public var mode: Mode = .joint
        /// Test-error evaluations (when an exact solution is given): every this many steps, and at the end.
        public var evaluateEvery = 100
        public var evaluationPoints = 300
        /// Adds one component pinned at frequency 0 with weight 1 and λ = 0 (a Matérn 5/2, or
        /// Gaussian, GP for the smooth part of the solution, summed with the mixture: the
        /// reference code's "extra GP", trained jointly here). Its weight and lengthscale are
        /// learned; its frequency stays 0. Off by default (the paper's mixture alone).
        public var smoothComponent = false
        /// log τ and log v move at this multiple of the learning rate (Adam runs on log τ / c and
        /// log v / c). 1 is the paper's protocol; Adam's steps of about the learning rate otherwise
        /// limit how fast the boundary and residual precisions can grow.
        public var precisionRateFactor = 1.0

        /// The defaults above.
        public init() {}

        func validate() throws {
            guard points >= 4 else { throw PDEError.invalidValue(key: "points", value: "\(points)", expected: "at least 4 grid points") }
            guard lower < upper, lower.isFinite, upper.isFinite else {
                throw PDEError.invalidValue(key: "domain", value: "[\(lower), \(upper)]", expected: "finite lower < upper")
            }
            guard components >= 1 else { throw PDEError.invalidValue(key: "components", value: "\(components)", expected: "at least 1") }
            guard boundaryWeight > 0, boundaryWeight.isFinite else {
                throw PDEError.invalidValue(key: "boundary_weight", value: "\(boundaryWeight)", expected: "a positive weight")
            }
            guard jitter >= 0, jitter.isFinite else { throw PDEError.invalidValue(key: "jitter", value: "\(jitter)", expected: "a non-negative jitter") }
            guard learningRate > 0, learningRate.isFinite else {
                throw PDEError.invalidValue(key: "learning_rate", value: "\(learningRate)", expected: "a positive learning rate")
            }
            guard finalLearningRateFraction > 0, finalLearningRateFraction <= 1 else {
                throw PDEError.invalidValue(key: "final_learning_rate", value: "\(finalLearningRateFraction)",
                                            expected: "a fraction of the learning rate in (0, 1] (1: constant)")
            }
            guard precisionRateFactor > 0, precisionRateFactor.isFinite else {
                throw PDEError.invalidValue(key: "precision_rate", value: "\(precisionRateFactor)", expected: "a positive factor on the learning rate of log τ and log v")
            }
            guard steps >= 0 else { throw PDEError.invalidValue(key: "steps", value: "\(steps)", expected: "a non-negative step count") }
            guard evaluateEvery >= 1, evaluationPoints >= 2 else {
                throw PDEError.invalidValue(key: "evaluation", value: "every \(evaluateEvery), \(evaluationPoints) points",
                                            expected: "evaluate_every ≥ 1 and at least 2 evaluation points")
            }
        }
    }

    /// One monitored step.
    public struct Progress: Sendable {
        public let step: Int
        public let loss: Double
        /// Relative L2 error on the evaluation grid (when an exact solution was given and this step was evaluated).
        public let error: Double?
        public let seconds: Double
    }

    /// The final iterate: grid values, kernel, precisions, loss history and test errors.
    public struct Result: Sendable {
        public let grid: [Double]
        public let u: [Double]
        public let kernel: SpectralMixtureParameters
        public let logTau: Double
        public let logV: Double
        public let losses: [Double]
        /// (step, relative L2 error) at every evaluation, the final iterate last.
        public let errors: [(step: Int, error: Double)]
        public let seconds: Double
        public let jitter: Double

        /// û(x) = K(x, X) K⁻¹ u (the kernel interpolant of the grid values).
        public func predict(_ x: [Double]) throws -> [Double] {
            try GPHM1D.interpolate(kernel: kernel, grid: grid, u: u, jitter: jitter, at: x)
        }
    }

    public let settings: Settings

    /// Throws for settings out of range, naming the setting.
    public init(settings: Settings) throws {
        try settings.validate()
        self.settings = settings
    }

    /// Solves `equation` with source f and the Dirichlet values g at both ends. `exact` (if
    /// given) is evaluated on `evaluationPoints` uniform points for the relative L2 error.
    public func solve(_ equation: Equation, source f: @Sendable (Double) -> Double, boundary g: (Double, Double),
                      exact: (@Sendable (Double) -> Double)? = nil, initial: SpectralMixtureParameters? = nil,
                      monitor: ((Progress) -> Void)? = nil) throws -> Result {
        let s = settings
        let c = s.precisionRateFactor        // log τ = c·θ_τ, log v = c·θ_v; Adam moves θ
        guard equation != .advection else {
            throw PDEError.invalidValue(key: "equation", value: "advection in one variable",
                                        expected: "poisson or allen-cahn (advection needs two variables: GPHM2D)")
        }
        let n = s.points
        let h = (s.upper - s.lower) / Double(n - 1)
        let x = (0..<n).map { s.lower + h * Double($0) }
        let fx = x.map(f)
        var params = try initial ?? SpectralMixtureParameters.initial(shape: s.shape, components: s.components,
                                                                     frequencyScale: s.frequencyScale)
        if s.smoothComponent { params.appendSmoothComponent() }
        let q = params.count
        let evaluationX = (0..<s.evaluationPoints).map { s.lower + (s.upper - s.lower) * Double($0) / Double(s.evaluationPoints - 1) }
        let reference = exact.map { e in evaluationX.map(e) }
        // Adam over the groups, through the Learning engine's optimizer.
        let uVar = Variable(Tensor<Double>([Double](repeating: 0, count: n)), requiresGradient: true, name: "u")
        let rhoVar = Variable(Tensor<Double>(params.logWeights), requiresGradient: true, name: "log_weights")
        let muVar = Variable(Tensor<Double>(params.frequencies), requiresGradient: true, name: "frequencies")
        let lambdaVar = Variable(Tensor<Double>(params.logInverseLengthscales), requiresGradient: true, name: "log_inverse_lengthscales")
        let tauVar = Variable(Tensor<Double>([0.0]), requiresGradient: true, name: "log_tau")
        let vVar = Variable(Tensor<Double>([0.0]), requiresGradient: true, name: "log_v")
        var groups: [(name: String, variable: Variable<Double>)] = [("log_weights", rhoVar), ("frequencies", muVar),
                                                                     ("log_inverse_lengthscales", lambdaVar), ("log_tau", tauVar), ("log_v", vVar)]
        if s.mode == .joint { groups.insert(("u", uVar), at: 0) }
        let adam = try Adam(groups, learningRate: s.learningRate)
        var losses: [Double] = [], errors: [(step: Int, error: Double)] = []
        let start = Date()
        var u = [Double](repeating: 0, count: n)
        for step in 0...s.steps {
            let t0 = Date()
            params.logWeights = rhoVar.value.scalars
            params.frequencies = muVar.value.scalars
            params.logInverseLengthscales = lambdaVar.value.scalars
            if s.mode == .joint { u = uVar.value.scalars }
            let current = try GPHM1D.lossAndGradient(params: params, grid: x, spacing: h, source: fx, boundary: g,
                                                     equation: equation, u: s.mode == .joint ? u : nil, start: u,
                                                     logTau: c * tauVar.value.scalars[0], logV: c * vVar.value.scalars[0],
                                                     boundaryWeight: s.boundaryWeight, jitter: s.jitter)
            u = current.u
            losses.append(current.loss)
            guard current.loss.isFinite else {
                throw PDEError.invalidValue(key: "loss", value: "\(current.loss) at step \(step)",
                                            expected: "a finite loss (lower the learning rate or raise the jitter)")
            }
            var error: Double?
            if let reference, step % s.evaluateEvery == 0 || step == s.steps {
                let prediction = try GPHM1D.interpolate(kernel: params, grid: x, u: u, jitter: s.jitter, at: evaluationX)
                let e = relativeL2(prediction, reference)
                errors.append((step, e))
                error = e
            }
            monitor?(Progress(step: step, loss: current.loss, error: error, seconds: Date().timeIntervalSince(t0)))
            if step == s.steps { break }
            if s.mode == .joint { uVar.grad = Tensor(current.gradientU) }
            rhoVar.grad = Tensor(Array(current.gradientKernel[0..<q]))
            var muGradient = Array(current.gradientKernel[q..<(2 * q)])
            if s.smoothComponent { muGradient[q - 1] = 0 }     // the smooth component stays at frequency 0
            muVar.grad = Tensor(muGradient)
            lambdaVar.grad = Tensor(Array(current.gradientKernel[(2 * q)..<(3 * q)]))
            tauVar.grad = Tensor([c * current.gradientLogTau])
            vVar.grad = Tensor([c * current.gradientLogV])
            adam.learningRate = GPHM1D.cosineRate(s.learningRate, fraction: s.finalLearningRateFraction, step: step, of: s.steps)
            try adam.step()
        }
        return Result(grid: x, u: u, kernel: params, logTau: c * tauVar.value.scalars[0], logV: c * vVar.value.scalars[0], losses: losses,
                      errors: errors, seconds: Date().timeIntervalSince(start), jitter: s.jitter)
    }
}

func relativeL2(_ a: [Double], _ b: [Double]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) {
        num += (x - y) * (x - y)
        den += y * y
    }
    return (num / max(den, Double.leastNormalMagnitude)).squareRoot()
}

extension GPHM1D {
    /// lr·(f + (1 − f)·½(1 + cos(π t/T))): the rate of step t of T under a cosine decay to the fraction f.
    static func cosineRate(_ rate: Double, fraction f: Double, step t: Int, of total: Int) -> Double {
        guard f != 1, total > 0 else { return rate }
        return rate * (f + (1 - f) * 0.5 * (1 + cos(Double.pi * Double(t) / Double(total))))
    }

    /// The loss of the current state and its gradient.
    struct Evaluation {
        var loss: Double
        var u: [Double]
        var gradientU: [Double]
        /// With respect to (ρ, μ, λ), 3Q entries.
        var gradientKernel: [Double]
        var gradientLogTau: Double
        var gradientLogV: Double
    }

    /// Toeplitz generators of K and of the derivative block on the uniform grid: g(d·h) and
    /// g⁽ᵒʳᵈᵉʳ⁾(d·h) (g″ by default), d = 0 … n−1, with their parameter gradients (3Q per lag,
    /// row-major).
    static func lags(_ params: SpectralMixtureParameters, n: Int, spacing h: Double, order: Int = 2)
        -> (g0: [Double], g2: [Double], d0: [Double], d2: [Double]) {
        let p = 3 * params.count
        var g0 = [Double](repeating: 0, count: n), g2 = g0
        var d0 = [Double](repeating: 0, count: n * p), d2 = d0
        d0.withUnsafeMutableBufferPointer { b0 in d2.withUnsafeMutableBufferPointer { b2 in
            for d in 0..<n {
                let t = Double(d) * h
                g0[d] = params.valueAndGradient(t, order: 0, into: b0.baseAddress! + d * p)
                g2[d] = params.valueAndGradient(t, order: order, into: b2.baseAddress! + d * p)
            }
        } }
        return (g0, g2, d0, d2)
    }

    /// Loss and gradients at the given state; with `u == nil` (exact inner solve) u is first
    /// set to the minimizer of the loss over u: one Cholesky solve for Poisson, Gauss–Newton
    /// from `start` for Allen–Cahn (a stationary point, where the kernel gradient below is the
    /// total derivative).
    static func lossAndGradient(params: SpectralMixtureParameters, grid x: [Double], spacing h: Double, source f: [Double],
                                boundary g: (Double, Double), equation: Equation, u given: [Double]?, start: [Double]? = nil,
                                logTau: Double, logV: Double, boundaryWeight wb: Double, jitter: Double) throws -> Evaluation {
        let n = x.count, q = params.count, p = 3 * q
        let (g0, g2, d0, d2) = lags(params, n: n, spacing: h)
        var k = DenseMatrix(rows: n, columns: n), k2 = DenseMatrix(rows: n, columns: n)
        for i in 0..<n { for j in 0..<n {
            k.values[i * n + j] = g0[abs(i - j)]
            k2.values[i * n + j] = g2[abs(i - j)]
        } }
        k.addToDiagonal(jitter)
        let chol = try CholeskyFactorization(k)
        let kInverse = try chol.inverse()
        let tau = exp(logTau), v = exp(logV)
        var u: [Double]
        if let given {
            u = given
        } else if equation == .allenCahn {
            u = try allenCahnInnerSolve(d: try k2.multiplied(by: kInverse), kInverse: kInverse, source: f, boundary: g,
                                        start: start ?? [Double](repeating: 0, count: n), wbTau: wb * tau, v: v)
        } else {
            // H = K⁻¹ + w_b τ E_bᵀE_b + v DᵀD, D = K₂K⁻¹; rhs = w_b τ E_bᵀ g + v Dᵀ f.
            let d = try k2.multiplied(by: kInverse)
            var hessian = d.gram(transpose: true)
            for i in 0..<(n * n) { hessian.values[i] = v * hessian.values[i] + kInverse.values[i] }
            hessian.values[0] += wb * tau
            hessian.values[n * n - 1] += wb * tau
            var rhs = try d.apply(f, transpose: true).map { v * $0 }
            rhs[0] += wb * tau * g.0
            rhs[n - 1] += wb * tau * g.1
            u = try CholeskyFactorization(hessian, jitter: JitterRule(initial: 1e-14)).solve(rhs)
        }
        let alpha = try chol.solve(u)
        var r = try k2.apply(alpha)
        for i in 0..<n {
            if equation == .allenCahn { r[i] += u[i] * (u[i] * u[i] - 1) }
            r[i] -= f[i]
        }
        let b0 = u[0] - g.0, b1 = u[n - 1] - g.1
        let boundaryMisfit = b0 * b0 + b1 * b1
        let rr = r.reduce(0) { $0 + $1 * $1 }
        let quad = zip(u, alpha).reduce(0) { $0 + $1.0 * $1.1 }
        let loss = 0.5 * chol.logDeterminant + 0.5 * quad - wb * (0.5 * 2 * logTau - 0.5 * tau * boundaryMisfit)
            - (0.5 * Double(n) * logV - 0.5 * v * rr)
        // ∂/∂u = α + w_b τ E_bᵀ(u_b − g) + v (K⁻¹K₂ R + [(3u² − 1) ∘ R]).
        let beta = try chol.solve(try k2.apply(r))
        var gu = [Double](repeating: 0, count: n)
        for i in 0..<n {
            gu[i] = alpha[i] + v * beta[i]
            if equation == .allenCahn { gu[i] += v * (3 * u[i] * u[i] - 1) * r[i] }
        }
        gu[0] += wb * tau * b0
        gu[n - 1] += wb * tau * b1
        // Adjoints Ḡ_K = ½K⁻¹ − ½ααᵀ − vβαᵀ, Ḡ_K₂ = vRαᵀ, summed along the diagonals |i − j| = d.
        var s0 = [Double](repeating: 0, count: n), s2 = s0
        for i in 0..<n {
            for j in 0..<n {
                let d = abs(i - j)
                s0[d] += 0.5 * kInverse.values[i * n + j] - 0.5 * alpha[i] * alpha[j] - v * beta[i] * alpha[j]
                s2[d] += v * r[i] * alpha[j]
            }
        }
        var gk = [Double](repeating: 0, count: p)
        for d in 0..<n {
            for c in 0..<p { gk[c] += s0[d] * d0[d * p + c] + s2[d] * d2[d * p + c] }
        }
        return Evaluation(loss: loss, u: u, gradientU: gu, gradientKernel: gk,
                          gradientLogTau: -wb * (1 - 0.5 * tau * boundaryMisfit),
                          gradientLogV: -(0.5 * Double(n) - 0.5 * v * rr))
    }

    /// The minimizer over u of ½uᵀK⁻¹u + ½w_bτ‖u_b − g‖² + ½v‖Du + u(u² − 1) − f‖² (D = K₂K⁻¹) by
    /// Gauss–Newton from `start` with a backtracking line search: H = K⁻¹ + w_bτE_bᵀE_b + vJᵀJ,
    /// J = D + diag(3u² − 1); until the step is below 1e-12 relative (at most 50 steps).
    static func allenCahnInnerSolve(d: DenseMatrix, kInverse: DenseMatrix, source f: [Double], boundary g: (Double, Double),
                                    start: [Double], wbTau: Double, v: Double) throws -> [Double] {
        let n = start.count
        func residual(_ u: [Double]) throws -> [Double] {
            var r = try d.apply(u)
            for i in 0..<n { r[i] += u[i] * (u[i] * u[i] - 1) - f[i] }
            return r
        }
        func objective(_ u: [Double], _ r: [Double]) throws -> Double {
            let ku = try kInverse.apply(u)
            let b0 = u[0] - g.0, b1 = u[n - 1] - g.1
            return 0.5 * zip(u, ku).reduce(0) { $0 + $1.0 * $1.1 } + 0.5 * wbTau * (b0 * b0 + b1 * b1)
                + 0.5 * v * r.reduce(0) { $0 + $1 * $1 }
        }
        var u = start
        var r = try residual(u)
        var value = try objective(u, r)
        for _ in 0..<50 {
            var jacobian = d
            for i in 0..<n { jacobian.values[i * n + i] += 3 * u[i] * u[i] - 1 }
            var hessian = jacobian.gram(transpose: true)
            for i in 0..<(n * n) { hessian.values[i] = v * hessian.values[i] + kInverse.values[i] }
            hessian.values[0] += wbTau
            hessian.values[n * n - 1] += wbTau
            var gradient = try kInverse.apply(u)
            let jr = try jacobian.apply(r, transpose: true)
            for i in 0..<n { gradient[i] += v * jr[i] }
            gradient[0] += wbTau * (u[0] - g.0)
            gradient[n - 1] += wbTau * (u[n - 1] - g.1)
            let step = try CholeskyFactorization(hessian, jitter: JitterRule(initial: 1e-14)).solve(gradient)
            var t = 1.0
            var accepted = false
            while t >= 1.0 / 1024 {
                let trial = (0..<n).map { u[$0] - t * step[$0] }
                let rt = try residual(trial)
                let vt = try objective(trial, rt)
                if vt <= value {
                    (u, r, value, accepted) = (trial, rt, vt, true)
                    break
                }
                t /= 2
            }
            let stepNorm = t * step.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let uNorm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if !accepted || stepNorm <= 1e-12 * max(1, uNorm) { break }
        }
        return u
    }

    /// K(x*, X) K⁻¹ u with K = k(X, X) + jitter·I.
    static func interpolate(kernel params: SpectralMixtureParameters, grid: [Double], u: [Double], jitter: Double,
                            at points: [Double]) throws -> [Double] {
        let kernel = try params.axisKernel()
        let n = grid.count
        var k = DenseMatrix(rows: n, columns: n)
        var value = 0.0
        for i in 0..<n { for j in 0..<n {
            kernel.derivatives(grid[i] - grid[j], into: &value, count: 1)
            k.values[i * n + j] = value
        } }
        k.addToDiagonal(jitter)
        let weights = try CholeskyFactorization(k).solve(u)
        return points.map { xs in
            var sum = 0.0
            for j in 0..<n {
                kernel.derivatives(xs - grid[j], into: &value, count: 1)
                sum += value * weights[j]
            }
            return sum
        }
    }
}

/// The one-variable test problems of the GP-HM paper with their exact solutions (u, u″) and
/// the reference code's settings (domain, grid points, initial frequency scale).
public struct GPHMProblem1D: Sendable {
    public let name: String
    public let equation: GPHM1D.Equation
    public let lower: Double
    public let upper: Double
    public let points: Int
    public let frequencyScale: Double
    public let exact: @Sendable (Double) -> Double
    public let second: @Sendable (Double) -> Double

    /// f = u″ (+ u(u² − 1) for Allen–Cahn).
    public var source: @Sendable (Double) -> Double {
        let (u, uxx, eq) = (exact, second, equation)
        return { x in
            let v = u(x)
            return uxx(x) + (eq == .allenCahn ? v * (v * v - 1) : 0)
        }
    }

    public static let names = ["poisson1d-sin100x", "poisson1d-xsin200x", "poisson1d-sin6xcos100x", "poisson1d-mixed",
                               "poisson1d-sin500x", "allen-cahn1d-sin100x", "allen-cahn1d-sin6xcos100x"]

    /// The problem called `name` (one of `names`); throws for an unknown name.
    public static func named(_ name: String) throws -> GPHMProblem1D {
        let twoPi = 2 * Double.pi
        switch name {
        case "poisson1d-sin100x", "allen-cahn1d-sin100x":
            return GPHMProblem1D(name: name, equation: name.hasPrefix("allen") ? .allenCahn : .poisson, lower: 0, upper: twoPi,
                                 points: 400, frequencyScale: 20, exact: { sin(100 * $0) }, second: { -10_000 * sin(100 * $0) })
        case "poisson1d-xsin200x":
            return GPHMProblem1D(name: name, equation: .poisson, lower: 0, upper: twoPi, points: 900, frequencyScale: 50,
                                 exact: { $0 * sin(200 * $0) }, second: { 400 * cos(200 * $0) - 40_000 * $0 * sin(200 * $0) })
        case "poisson1d-sin6xcos100x", "allen-cahn1d-sin6xcos100x":
            return GPHMProblem1D(name: name, equation: name.hasPrefix("allen") ? .allenCahn : .poisson, lower: 0, upper: twoPi,
                                 points: 400, frequencyScale: 20, exact: { sin(6 * $0) * cos(100 * $0) },
                                 second: { -10_036 * sin(6 * $0) * cos(100 * $0) - 1200 * cos(6 * $0) * sin(100 * $0) })
        case "poisson1d-mixed":
            return GPHMProblem1D(name: name, equation: .poisson, lower: 0, upper: 1, points: 900, frequencyScale: 30,
                                 exact: { sin($0) + 0.1 * sin(20 * $0) + 0.05 * cos(100 * $0) },
                                 second: { -sin($0) - 40 * sin(20 * $0) - 500 * cos(100 * $0) })
        case "poisson1d-sin500x":
            return GPHMProblem1D(name: name, equation: .poisson, lower: 0, upper: 1, points: 400, frequencyScale: 100,
                                 exact: { sin(500 * $0) - 2 * ($0 - 0.5) * ($0 - 0.5) }, second: { -250_000 * sin(500 * $0) - 4 })
        default:
            throw PDEError.invalidValue(key: "problem", value: name, expected: "one of \(names.joined(separator: ", "))")
        }
    }
}
