import Foundation
import Learning
import Support

/// One axis of a Kronecker-structured GP-HM prior on a uniform grid: K = k(X, X) + jitter·I
/// and the derivative block K_d = ∂ᵈₓk(X, X) of the order d the equation needs along this axis
/// (d = 2: K″, symmetric Toeplitz; d = 1: K′, antisymmetric Toeplitz), K⁻¹, the
/// log-determinant, and the lag tables that carry matrix adjoints back to the kernel parameters.
struct KroneckerAxis {
    let n: Int
    let k: DenseMatrix
    /// K_d, entries g⁽ᵈ⁾((i − j)h).
    let kd: DenseMatrix
    /// The derivative order d of `kd` (1 or 2).
    let order: Int
    let inverse: DenseMatrix
    let logDeterminant: Double
    /// g(|i − j|h), g⁽ᵈ⁾(|i − j|h) and their parameter gradients (lag-major, 3Q per lag).
    let lags: (g0: [Double], gd: [Double], d0: [Double], dd: [Double])
    let parameterCount: Int

    init(_ params: SpectralMixtureParameters, points n: Int, spacing h: Double, jitter: Double, order: Int = 2) throws {
        precondition(order == 1 || order == 2, "GP-HM axes carry first or second derivatives")
        self.n = n
        self.order = order
        let p = 3 * params.count
        let (g0, gd, d0, dd) = GPHM1D.lags(params, n: n, spacing: h, order: order)
        lags = (g0, gd, d0, dd)
        // g⁽ᵈ⁾ is even for even d and odd for odd d: g⁽ᵈ⁾(−t) = (−1)ᵈ g⁽ᵈ⁾(t).
        let odd = order % 2 == 1
        var k = DenseMatrix(rows: n, columns: n), kd = DenseMatrix(rows: n, columns: n)
        for i in 0..<n { for j in 0..<n {
            k.values[i * n + j] = g0[abs(i - j)]
            // (an odd g⁽ᵈ⁾ vanishes at 0: the diagonal is exactly zero, not rounding noise).
            kd.values[i * n + j] = odd ? (i == j ? 0 : (i < j ? -gd[j - i] : gd[i - j])) : gd[abs(i - j)]
        } }
        k.addToDiagonal(jitter)
        let chol = try CholeskyFactorization(k)
        self.k = k
        self.kd = kd
        inverse = try chol.inverse()
        logDeterminant = chol.logDeterminant
        parameterCount = p
    }

    /// ∂L/∂θ from the adjoints Ḡ of K and Ḡ_d of K_d (dL = Σᵢⱼ Ḡᵢⱼ dKᵢⱼ + Ḡ_dᵢⱼ dK_dᵢⱼ): sums
    /// along the diagonals |i − j| = lag (for odd d with the sign of i − j), then the lag gradients.
    func parameterGradient(_ adjoint: DenseMatrix, _ adjointD: DenseMatrix) -> [Double] {
        var s0 = [Double](repeating: 0, count: n), sd = s0
        let odd = order % 2 == 1
        adjoint.values.withUnsafeBufferPointer { a in adjointD.values.withUnsafeBufferPointer { b in
            for i in 0..<n {
                for j in 0..<n {
                    let lag = i > j ? i &- j : j &- i
                    s0[lag] += a[i &* n &+ j]
                    if !odd { sd[lag] += b[i &* n &+ j] } else if i > j { sd[lag] += b[i &* n &+ j] } else if i < j { sd[lag] -= b[i &* n &+ j] }
                }
            }
        } }
        let p = parameterCount
        var g = [Double](repeating: 0, count: p)
        for lag in 0..<n {
            for c in 0..<p { g[c] += s0[lag] * lags.d0[lag * p + c] + sd[lag] * lags.dd[lag * p + c] }
        }
        return g
    }
}

/// The linear differential part of a two-variable GP-HM equation, c₁∂ₓᵈ¹u + c₂∂ᵧᵈ²u: the
/// Laplacian (1, 1; orders 2, 2) for Poisson and Allen–Cahn, β u_x + u_y (β, 1; orders 1, 1)
/// for advection.
struct KroneckerOperator {
    let coefficients: (Double, Double)
    let orders: (Int, Int)

    init(_ equation: GPHM1D.Equation, advectionSpeed: Double) {
        if equation == .advection {
            coefficients = (advectionSpeed, 1)
            orders = (1, 1)
        } else {
            coefficients = (1, 1)
            orders = (2, 2)
        }
    }
}

/// GP-HM in two variables (Fang et al., ICLR 2024): the solution values U (N₁ × N₂) on a
/// tensor grid with prior vec(U) ~ N(0, K₁ ⊗ K₂), one spectral mixture per axis; derivatives
/// U_xx = K₁″K₁⁻¹U and U_yy = U K₂⁻¹K₂″ through per-axis matrices only (the N₁N₂ × N₁N₂
/// covariance is never formed: its inverse and log-determinant factor per axis,
/// (K₁ ⊗ K₂)⁻¹ vec U = vec(K₁⁻¹ U K₂⁻¹), log det = N₂ log det K₁ + N₁ log det K₂). The paper's
/// negative log joint (prior, boundary likelihood with weight w_b and precision τ, residual
/// likelihood with precision v at every grid node) is minimized by Adam on U, both kernels,
/// log τ and log v, with analytic gradients.
public struct GPHM2D: Sendable {
    /// Grid, kernel and optimizer settings (the reference code's by default).
    public struct Settings: Sendable {
        /// Grid points per axis.
        public var points = [200, 200]
        public var lower = [0.0, 0.0]
        public var upper = [2 * Double.pi, 2 * Double.pi]
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
        /// Relative L2 error evaluations (with an exact solution) every this many steps and at the end.
        public var evaluateEvery = 100
        /// Evaluation grid points per axis.
        public var evaluationPoints = 300
        /// `.joint` (the paper) or `.exactInner` (the linear equations, Poisson and advection:
        /// U by Kronecker-structured PCG for each kernel, warm-started; Adam on the kernels,
        /// log τ and log v only).
        public var mode: GPHM1D.Mode = .joint
        /// Relative residual of the inner PCG solves.
        public var innerTolerance = 1e-10
        /// log τ and log v move at this multiple of the learning rate (Adam runs on log τ / c and
        /// log v / c). 1 is the paper's protocol; Adam's steps of about the learning rate otherwise
        /// limit how fast the boundary and residual precisions can grow.
        public var precisionRateFactor = 1.0
        /// Adds to each axis's mixture one component pinned at frequency 0 (weight 1, λ = 0), as
        /// `GPHM1D.Settings.smoothComponent` does.
        public var smoothComponent = false
        /// PCG iterations per inner solve at most (warm-started from the previous step's U, so a
        /// small cap makes the outer loop block-coordinate descent: a few CG steps on U, one Adam
        /// step on the kernels).
        public var innerMaxIterations = 5000
        /// β of the advection equation β u_x + u_y = f.
        public var advectionSpeed = 1.0

        /// The reference code's defaults on a 200² grid of [0, 2π]².
        public init() {}
    }

    /// The final iterate: grid, values, per-axis kernels, losses and test errors.
    public struct Result: Sendable {
        public let x: [Double]
        public let y: [Double]
        /// U, row-major (x index major, y fastest).
        public let u: [Double]
        public let kernels: [SpectralMixtureParameters]
        public let losses: [Double]
        public let errors: [(step: Int, error: Double)]
        public let seconds: Double
        /// PCG iterations of each inner solve (exact-inner mode).
        public let innerIterations: [Int]
    }

    public let settings: Settings

    /// Throws for settings out of range, naming the setting.
    public init(settings: Settings) throws {
        guard settings.points.count == 2, settings.points.allSatisfy({ $0 >= 4 }) else {
            throw PDEError.invalidValue(key: "points", value: "\(settings.points)", expected: "two axes of at least 4 grid points")
        }
        guard settings.lower.count == 2, settings.upper.count == 2, zip(settings.lower, settings.upper).allSatisfy({ $0 < $1 }) else {
            throw PDEError.invalidValue(key: "domain", value: "\(settings.lower) to \(settings.upper)", expected: "two axes with lower < upper")
        }
        var one = GPHM1D.Settings()
        one.points = settings.points[0]
        one.components = settings.components
        one.frequencyScale = settings.frequencyScale
        one.boundaryWeight = settings.boundaryWeight
        one.jitter = settings.jitter
        one.learningRate = settings.learningRate
        one.finalLearningRateFraction = settings.finalLearningRateFraction
        one.steps = settings.steps
        one.evaluateEvery = settings.evaluateEvery
        one.evaluationPoints = settings.evaluationPoints
        one.precisionRateFactor = settings.precisionRateFactor
        try one.validate()
        guard settings.advectionSpeed.isFinite else {
            throw PDEError.invalidValue(key: "advection_speed", value: "\(settings.advectionSpeed)", expected: "a finite speed β")
        }
        self.settings = settings
    }

    /// Solves Δu (+ u(u² − 1)) = f, or β u_x + u_y = f for `.advection`, with Dirichlet data g
    /// on the whole boundary of the box; `exact` gives the relative L2 error on the evaluation
    /// grid.
    public func solve(_ equation: GPHM1D.Equation, source f: @Sendable (Double, Double) -> Double,
                      boundary g: @Sendable (Double, Double) -> Double, exact: (@Sendable (Double, Double) -> Double)? = nil,
                      monitor: ((GPHM1D.Progress) -> Void)? = nil) throws -> Result {
        let s = settings
        let c = s.precisionRateFactor        // log τ = c·θ_τ, log v = c·θ_v; Adam moves θ
        if s.mode == .exactInner && !equation.isLinear {
            throw PDEError.invalidValue(key: "mode", value: "exact-inner for \(equation.rawValue)",
                                        expected: "joint (the exact inner solve needs a linear equation: poisson or advection)")
        }
        let op = KroneckerOperator(equation, advectionSpeed: s.advectionSpeed)
        let (n1, n2) = (s.points[0], s.points[1])
        let h1 = (s.upper[0] - s.lower[0]) / Double(n1 - 1), h2 = (s.upper[1] - s.lower[1]) / Double(n2 - 1)
        let x = (0..<n1).map { s.lower[0] + h1 * Double($0) }, y = (0..<n2).map { s.lower[1] + h2 * Double($0) }
        var fValues = [Double](repeating: 0, count: n1 * n2), gValues = fValues, isBoundary = [Bool](repeating: false, count: n1 * n2)
        for i in 0..<n1 { for j in 0..<n2 {
            fValues[i * n2 + j] = f(x[i], y[j])
            if i == 0 || j == 0 || i == n1 - 1 || j == n2 - 1 {
                isBoundary[i * n2 + j] = true
                gValues[i * n2 + j] = g(x[i], y[j])
            }
        } }
        var initial = try SpectralMixtureParameters.initial(shape: s.shape, components: s.components, frequencyScale: s.frequencyScale)
        if s.smoothComponent { initial.appendSmoothComponent() }
        let q = initial.count
        let uVar = Variable(Tensor<Double>([Double](repeating: 0, count: n1 * n2)), requiresGradient: true, name: "u")
        let kernelVars = (0..<2).map { axis in
            [Variable(Tensor<Double>(initial.logWeights), requiresGradient: true, name: "axis\(axis).log_weights"),
             Variable(Tensor<Double>(initial.frequencies), requiresGradient: true, name: "axis\(axis).frequencies"),
             Variable(Tensor<Double>(initial.logInverseLengthscales), requiresGradient: true, name: "axis\(axis).log_inverse_lengthscales")]
        }
        let tauVar = Variable(Tensor<Double>([0.0]), requiresGradient: true, name: "log_tau")
        let vVar = Variable(Tensor<Double>([0.0]), requiresGradient: true, name: "log_v")
        let groups = (s.mode == .joint ? [("u", uVar)] : []) + kernelVars.flatMap { $0 }.map { ($0.name, $0) }
            + [("log_tau", tauVar), ("log_v", vVar)]
        var innerIterations: [Int] = []
        let adam = try Adam(groups, learningRate: s.learningRate)
        let ex = (0..<s.evaluationPoints).map { s.lower[0] + (s.upper[0] - s.lower[0]) * Double($0) / Double(s.evaluationPoints - 1) }
        let ey = (0..<s.evaluationPoints).map { s.lower[1] + (s.upper[1] - s.lower[1]) * Double($0) / Double(s.evaluationPoints - 1) }
        let reference: [Double]? = exact.map { e in ex.flatMap { a in ey.map { b in e(a, b) } } }
        var losses: [Double] = [], errors: [(step: Int, error: Double)] = []
        let start = Date()
        var params = [initial, initial]
        for step in 0...s.steps {
            let t0 = Date()
            let (logTau, logV) = (c * tauVar.value.scalars[0], c * vVar.value.scalars[0])
            for axis in 0..<2 {
                params[axis].logWeights = kernelVars[axis][0].value.scalars
                params[axis].frequencies = kernelVars[axis][1].value.scalars
                params[axis].logInverseLengthscales = kernelVars[axis][2].value.scalars
            }
            var u = try DenseMatrix(rows: n1, columns: n2, values: uVar.value.scalars)
            let axes = (try KroneckerAxis(params[0], points: n1, spacing: h1, jitter: s.jitter, order: op.orders.0),
                        try KroneckerAxis(params[1], points: n2, spacing: h2, jitter: s.jitter, order: op.orders.1))
            if s.mode == .exactInner {
                let inner = try KroneckerInnerSolver(axes.0, axes.1, coefficients: op.coefficients, boundary: isBoundary,
                                                     boundaryWeight: s.boundaryWeight, tau: exp(logTau), v: exp(logV))
                let rhs = try inner.rightHandSide(source: fValues, boundaryValues: gValues)
                let (solution, iterations) = try inner.solve(rhs, start: u, tolerance: s.innerTolerance, maxIterations: s.innerMaxIterations)
                u = solution
                uVar.value = Tensor(u.values)
                innerIterations.append(iterations)
            }
            let ev = try GPHM2D.lossAndGradient(axes: axes, u: u, source: fValues, boundaryValues: gValues, isBoundary: isBoundary,
                                                equation: equation, coefficients: op.coefficients, logTau: logTau,
                                                logV: logV, boundaryWeight: s.boundaryWeight)
            losses.append(ev.loss)
            guard ev.loss.isFinite else {
                throw PDEError.invalidValue(key: "loss", value: "\(ev.loss) at step \(step)",
                                            expected: "a finite loss (lower the learning rate or raise the jitter)")
            }
            var error: Double?
            if let reference, step % s.evaluateEvery == 0 || step == s.steps {
                let prediction = try GPHM2D.interpolate(kernels: params, x: x, y: y, u: u, jitter: s.jitter, at: (ex, ey))
                let e = relativeL2(prediction, reference)
                errors.append((step, e))
                error = e
            }
            monitor?(GPHM1D.Progress(step: step, loss: ev.loss, error: error, seconds: Date().timeIntervalSince(t0)))
            if step == s.steps { break }
            if s.mode == .joint { uVar.grad = Tensor(ev.gradientU) }
            for axis in 0..<2 {
                let gk = ev.gradientKernels[axis]
                kernelVars[axis][0].grad = Tensor(Array(gk[0..<q]))
                var muGradient = Array(gk[q..<(2 * q)])
                if s.smoothComponent { muGradient[q - 1] = 0 }     // the smooth component stays at frequency 0
                kernelVars[axis][1].grad = Tensor(muGradient)
                kernelVars[axis][2].grad = Tensor(Array(gk[(2 * q)..<(3 * q)]))
            }
            tauVar.grad = Tensor([c * ev.gradientLogTau])
            vVar.grad = Tensor([c * ev.gradientLogV])
            adam.learningRate = GPHM1D.cosineRate(s.learningRate, fraction: s.finalLearningRateFraction, step: step, of: s.steps)
            try adam.step()
        }
        return Result(x: x, y: y, u: uVar.value.scalars, kernels: params, losses: losses, errors: errors,
                      seconds: Date().timeIntervalSince(start), innerIterations: innerIterations)
    }

    struct Evaluation {
        var loss: Double
        var gradientU: [Double]
        var gradientKernels: [[Double]]
        var gradientLogTau: Double
        var gradientLogV: Double
    }

    /// The negative log joint and its gradient (see the type's documentation).
    static func lossAndGradient(params: [SpectralMixtureParameters], spacing: (Double, Double), u: DenseMatrix, source f: [Double],
                                boundaryValues g: [Double], isBoundary: [Bool], equation: GPHM1D.Equation, advectionSpeed: Double = 1,
                                logTau: Double, logV: Double, boundaryWeight wb: Double, jitter: Double) throws -> Evaluation {
        let op = KroneckerOperator(equation, advectionSpeed: advectionSpeed)
        let a1 = try KroneckerAxis(params[0], points: u.rows, spacing: spacing.0, jitter: jitter, order: op.orders.0)
        let a2 = try KroneckerAxis(params[1], points: u.columns, spacing: spacing.1, jitter: jitter, order: op.orders.1)
        return try lossAndGradient(axes: (a1, a2), u: u, source: f, boundaryValues: g, isBoundary: isBoundary, equation: equation,
                                   coefficients: op.coefficients, logTau: logTau, logV: logV, boundaryWeight: wb)
    }

    /// The same with the per-axis matrices already built.
    static func lossAndGradient(axes: (KroneckerAxis, KroneckerAxis), u: DenseMatrix, source f: [Double], boundaryValues g: [Double],
                                isBoundary: [Bool], equation: GPHM1D.Equation, coefficients: (Double, Double), logTau: Double,
                                logV: Double, boundaryWeight wb: Double) throws -> Evaluation {
        let n1 = u.rows, n2 = u.columns
        let (a1, a2) = axes
        let (c1, c2) = coefficients
        let tau = exp(logTau), v = exp(logV)
        // P1 = K₁⁻¹U, P2 = U K₂⁻¹, α = K₁⁻¹ U K₂⁻¹.
        let p1 = try a1.inverse.multiplied(by: u)
        let p2 = try u.multiplied(by: a2.inverse)
        let alpha = try p1.multiplied(by: a2.inverse)
        // R = c₁K_d₁P1 + c₂P2 K_d₂ᵀ (+ U(U² − 1)) − F (K_d = K″ symmetric, or K′ antisymmetric).
        var r = try a1.kd.multiplied(by: p1, alpha: c1)
        let uyy = try p2.multiplied(by: a2.kd, transposeOther: true, alpha: c2)
        var misfit = 0.0, boundaryCount = 0
        for i in 0..<(n1 * n2) {
            r.values[i] += uyy.values[i] - f[i]
            if equation == .allenCahn { let w = u.values[i]; r.values[i] += w * (w * w - 1) }
            if isBoundary[i] {
                let d = u.values[i] - g[i]
                misfit += d * d
                boundaryCount += 1
            }
        }
        let rr = r.values.reduce(0) { $0 + $1 * $1 }
        let quad = zip(u.values, alpha.values).reduce(0) { $0 + $1.0 * $1.1 }
        let nb = Double(boundaryCount), nTotal = Double(n1 * n2)
        let loss = 0.5 * (Double(n2) * a1.logDeterminant + Double(n1) * a2.logDeterminant) + 0.5 * quad
            - wb * (0.5 * nb * logTau - 0.5 * tau * misfit) - (0.5 * nTotal * logV - 0.5 * v * rr)
        // ∂/∂U = α + w_b τ B∘(U − G) + v (c₁K₁⁻¹K_d₁ᵀR + c₂R K_d₂K₂⁻¹) [+ v (3U² − 1)∘R].
        let b1 = try a1.inverse.multiplied(by: try a1.kd.multiplied(by: r, transposeSelf: true))   // K₁⁻¹K_d₁ᵀR
        let rk2 = try r.multiplied(by: a2.kd)                                                      // R K_d₂
        let b2 = try rk2.multiplied(by: a2.inverse)                                                // R K_d₂K₂⁻¹
        var gu = [Double](repeating: 0, count: n1 * n2)
        for i in 0..<(n1 * n2) {
            gu[i] = alpha.values[i] + v * (c1 * b1.values[i] + c2 * b2.values[i])
            if equation == .allenCahn { let w = u.values[i]; gu[i] += v * (3 * w * w - 1) * r.values[i] }
            if isBoundary[i] { gu[i] += wb * tau * (u.values[i] - g[i]) }
        }
        // Axis 1: Ḡ_K₁ = ½N₂K₁⁻¹ − ½ α (K₁⁻¹U)ᵀ·… (prior) − v c₁(K₁⁻¹K_d₁ᵀR)(K₁⁻¹U)ᵀ; Ḡ_K_d₁ = v c₁R (K₁⁻¹U)ᵀ.
        // With P1 = K₁⁻¹U: the prior term −½ K₁⁻¹ U K₂⁻¹ Uᵀ K₁⁻¹ = −½ α P1ᵀ.
        var gk1 = try alpha.multiplied(by: p1, transposeOther: true, alpha: -0.5)
        let res1 = try b1.multiplied(by: p1, transposeOther: true, alpha: -v * c1)
        for i in 0..<(n1 * n1) { gk1.values[i] += 0.5 * Double(n2) * a1.inverse.values[i] + res1.values[i] }
        let gk1b = try r.multiplied(by: p1, transposeOther: true, alpha: v * c1)
        // Axis 2: prior −½ K₂⁻¹UᵀK₁⁻¹UK₂⁻¹ = −½ αᵀ P2; residual −v c₂(U K₂⁻¹)ᵀ(R K_d₂ K₂⁻¹) = −v c₂P2ᵀ b2;
        // Ḡ_K_d₂ = v c₂Rᵀ P2 (R ∋ c₂P2 K_d₂ᵀ).
        var gk2 = try alpha.multiplied(by: p2, transposeSelf: true, alpha: -0.5)
        let res2 = try p2.multiplied(by: b2, transposeSelf: true, alpha: -v * c2)
        for i in 0..<(n2 * n2) { gk2.values[i] += 0.5 * Double(n1) * a2.inverse.values[i] + res2.values[i] }
        let gk2b = try r.multiplied(by: p2, transposeSelf: true, alpha: v * c2)
        return Evaluation(loss: loss, gradientU: gu,
                          gradientKernels: [a1.parameterGradient(gk1, gk1b), a2.parameterGradient(gk2, gk2b)],
                          gradientLogTau: -wb * (0.5 * nb - 0.5 * tau * misfit),
                          gradientLogV: -(0.5 * nTotal - 0.5 * v * rr))
    }

    /// Û = K₁(x*, X) K₁⁻¹ U K₂⁻¹ K₂(Y, y*) on the evaluation grid (row-major, y fastest).
    public static func interpolate(kernels: [SpectralMixtureParameters], x: [Double], y: [Double], u: DenseMatrix, jitter: Double,
                            at points: ([Double], [Double])) throws -> [Double] {
        func factors(_ p: SpectralMixtureParameters, _ grid: [Double], _ eval: [Double]) throws -> (DenseMatrix, DenseMatrix) {
            let kernel = try p.axisKernel()
            var value = 0.0
            var k = DenseMatrix(rows: grid.count, columns: grid.count)
            for i in grid.indices { for j in grid.indices {
                kernel.derivatives(grid[i] - grid[j], into: &value, count: 1)
                k.values[i * grid.count + j] = value
            } }
            k.addToDiagonal(jitter)
            var cross = DenseMatrix(rows: eval.count, columns: grid.count)
            for i in eval.indices { for j in grid.indices {
                kernel.derivatives(eval[i] - grid[j], into: &value, count: 1)
                cross.values[i * grid.count + j] = value
            } }
            return (k, cross)
        }
        let (k1, c1) = try factors(kernels[0], x, points.0)
        let (k2, c2) = try factors(kernels[1], y, points.1)
        let w = try CholeskyFactorization(k1).solve(u)                         // K₁⁻¹U
        let wt = try CholeskyFactorization(k2).solve(w.transposed)             // K₂⁻¹(K₁⁻¹U)ᵀ
        let left = try c1.multiplied(by: wt, transposeOther: true)            // K₁(x*,X) K₁⁻¹ U K₂⁻¹
        return try left.multiplied(by: c2, transposeOther: true).values
    }
}

/// The two-variable test problems of the GP-HM paper with exact solutions, and the reference
/// code's settings.
public struct GPHMProblem2D: Sendable {
    public let name: String
    public let equation: GPHM1D.Equation
    public let lower: [Double]
    public let upper: [Double]
    public let points: Int
    public let frequencyScale: Double
    public let exact: @Sendable (Double, Double) -> Double
    /// The linear differential part of the equation applied to the exact solution: Δu, or
    /// β u_x + u_y for advection.
    public let linearPart: @Sendable (Double, Double) -> Double
    /// β of the advection equation (1 for the others, unused).
    public var advectionSpeed = 1.0
    /// The boundary likelihood weight w_b of the reference code's configuration.
    public var boundaryWeight = 200.0

    /// f = Δu (+ u(u² − 1) for Allen–Cahn), or β u_x + u_y for advection.
    public var source: @Sendable (Double, Double) -> Double {
        let (u, linear, eq) = (exact, linearPart, equation)
        return { x, y in
            let v = u(x, y)
            return linear(x, y) + (eq == .allenCahn ? v * (v * v - 1) : 0)
        }
    }

    public static let names = ["poisson2d-sin100x-sin100y", "poisson2d-sin6xcos20x", "allen-cahn2d-mixed", "advection2d-sin200"]

    /// The problem called `name`; throws for an unknown name.
    public static func named(_ name: String) throws -> GPHMProblem2D {
        let twoPi = 2 * Double.pi
        switch name {
        case "poisson2d-sin100x-sin100y":
            return GPHMProblem2D(name: name, equation: .poisson, lower: [0, 0], upper: [twoPi, twoPi], points: 300, frequencyScale: 20,
                                 exact: { sin(100 * $0) * sin(100 * $1) }, linearPart: { -20_000 * sin(100 * $0) * sin(100 * $1) })
        case "poisson2d-sin6xcos20x":
            // u = sin 6x cos 20x + sin 6y cos 20y; (sin 6t cos 20t)″ = −436 sin 6t cos 20t − 240 cos 6t sin 20t.
            let part: @Sendable (Double) -> Double = { sin(6 * $0) * cos(20 * $0) }
            let second: @Sendable (Double) -> Double = { -436 * sin(6 * $0) * cos(20 * $0) - 240 * cos(6 * $0) * sin(20 * $0) }
            // The reference code's configuration: 200 points per axis, frequency scale 20.
            return GPHMProblem2D(name: name, equation: .poisson, lower: [0, 0], upper: [twoPi, twoPi], points: 200, frequencyScale: 20,
                                 exact: { part($0) + part($1) }, linearPart: { second($0) + second($1) })
        case "allen-cahn2d-mixed":
            // u = v(x) v(y), v = sin t + 0.1 sin 20t + cos 100t on [0, 1]².
            let v: @Sendable (Double) -> Double = { sin($0) + 0.1 * sin(20 * $0) + cos(100 * $0) }
            let v2: @Sendable (Double) -> Double = { -sin($0) - 40 * sin(20 * $0) - 10_000 * cos(100 * $0) }
            return GPHMProblem2D(name: name, equation: .allenCahn, lower: [0, 0], upper: [1, 1], points: 400, frequencyScale: 30,
                                 exact: { v($0) * v($1) }, linearPart: { v2($0) * v($1) + v($0) * v2($1) })
        case "advection2d-sin200":
            // u = sin(x − 200t) on [0, 2π] × [0, 1] (x, then the time t): 200 u_x + u_t = 0, the
            // reference code's advection-sin (β = 200, 200² points, frequency scale 40, w_b 500).
            var problem = GPHMProblem2D(name: name, equation: .advection, lower: [0, 0], upper: [twoPi, 1], points: 200, frequencyScale: 40,
                                        exact: { sin($0 - 200 * $1) }, linearPart: { _, _ in 0 })
            problem.advectionSpeed = 200
            problem.boundaryWeight = 500
            return problem
        default:
            throw PDEError.invalidValue(key: "problem", value: name, expected: "one of \(names.joined(separator: ", "))")
        }
    }
}

/// The exact inner solve of 2-D GP-HM for a linear equation c₁∂ₓᵈu + c₂∂ᵧᵈu = f (Poisson:
/// c = (1, 1), d = 2; advection: c = (β, 1), d = 1): for fixed kernels, τ and v the loss is
/// quadratic in U, minimized where H(U) = w_b τ B∘G + v Lᵀ(F) with
///   H(X) = K₁⁻¹ X K₂⁻¹ + w_b τ B∘X + v Lᵀ(L(X)),  L(X) = c₁D₁X + c₂X D₂ᵀ,  Lᵀ(R) = c₁D₁ᵀR + c₂R D₂,
/// D₁ = K_d₁K₁⁻¹, D₂ = K_d₂K₂⁻¹ (B the boundary mask). Solved by preconditioned CG with
/// matrix-valued iterates: every product is a handful of N × N GEMMs (the N₁N₂ × N₁N₂ system is
/// never formed). The preconditioner is exact for the prior and approximate for the residual
/// term: in the eigenbases K₁ = Q₁Λ₁Q₁ᵀ, K₂ = Q₂Λ₂Q₂ᵀ it divides by
/// 1/(λ₁ᵢλ₂ⱼ) + v·sᵢⱼ + w_b τ·(boundary fraction). For second derivatives sᵢⱼ = (c₁d₁ᵢ + c₂d₂ⱼ)²,
/// dₖ the diagonal of QₖᵀDₖQₖ (exact when Kₖ″ commutes with Kₖ, as on a periodic grid); for
/// first derivatives, whose QᵀDQ has a zero diagonal there (K′ is antisymmetric),
/// sᵢⱼ = c₁²m₁ᵢ² + c₂²m₂ⱼ² with mₖᵢ = ‖Dₖqₖᵢ‖ (the cross term, odd in the frequency, dropped).
struct KroneckerInnerSolver {
    let a1: KroneckerAxis
    let a2: KroneckerAxis
    let c1: Double
    let c2: Double
    let d1: DenseMatrix
    let d2: DenseMatrix
    let q1: DenseMatrix
    let q2: DenseMatrix
    let preconditioner: [Double]
    let boundary: [Bool]
    let wbTau: Double
    let v: Double

    init(_ a1: KroneckerAxis, _ a2: KroneckerAxis, coefficients: (Double, Double) = (1, 1), boundary: [Bool],
         boundaryWeight wb: Double, tau: Double, v: Double) throws {
        self.a1 = a1
        self.a2 = a2
        (c1, c2) = coefficients
        self.boundary = boundary
        wbTau = wb * tau
        self.v = v
        d1 = try a1.kd.multiplied(by: a1.inverse)
        d2 = try a2.kd.multiplied(by: a2.inverse)
        let e1 = try SymmetricEigendecomposition(a1.k), e2 = try SymmetricEigendecomposition(a2.k)
        q1 = e1.vectors
        q2 = e2.vectors
        let secondOrder = a1.order == 2 && a2.order == 2
        func diagonal(_ q: DenseMatrix, _ d: DenseMatrix) throws -> [Double] {
            let dq = try d.multiplied(by: q)
            if secondOrder { return try q.multiplied(by: dq, transposeSelf: true).diagonal }
            return try dq.multiplied(by: dq, transposeSelf: true).diagonal       // ‖D qᵢ‖²
        }
        let dd1 = try diagonal(q1, d1), dd2 = try diagonal(q2, d2)
        let n1 = a1.n, n2 = a2.n
        let fraction = Double(boundary.filter { $0 }.count) / Double(n1 * n2)
        var p = [Double](repeating: 0, count: n1 * n2)
        for i in 0..<n1 { for j in 0..<n2 {
            let residual: Double
            if secondOrder {
                let s = c1 * dd1[i] + c2 * dd2[j]
                residual = s * s
            } else {
                residual = c1 * c1 * dd1[i] + c2 * c2 * dd2[j]
            }
            p[i * n2 + j] = 1 / max(e1.values[i] * e2.values[j], Double.leastNormalMagnitude) + v * residual + wbTau * fraction
        } }
        preconditioner = p
    }

    /// H(X).
    func apply(_ x: DenseMatrix) throws -> DenseMatrix {
        var out = try (try a1.inverse.multiplied(by: x)).multiplied(by: a2.inverse)
        var lx = try d1.multiplied(by: x, alpha: c1)
        let xd = try x.multiplied(by: d2, transposeOther: true, alpha: c2)
        for i in 0..<lx.values.count { lx.values[i] += xd.values[i] }
        let t1 = try d1.multiplied(by: lx, transposeSelf: true, alpha: c1)
        let t2 = try lx.multiplied(by: d2, alpha: c2)
        for i in 0..<out.values.count {
            out.values[i] += v * (t1.values[i] + t2.values[i]) + (boundary[i] ? wbTau * x.values[i] : 0)
        }
        return out
    }

    /// M⁻¹R through the eigenbases.
    func precondition(_ r: DenseMatrix) throws -> DenseMatrix {
        var t = try (try q1.multiplied(by: r, transposeSelf: true)).multiplied(by: q2)
        for i in 0..<t.values.count { t.values[i] /= preconditioner[i] }
        return try (try q1.multiplied(by: t)).multiplied(by: q2, transposeOther: true)
    }

    /// The right-hand side w_b τ B∘G + v (c₁D₁ᵀF + c₂F D₂).
    func rightHandSide(source f: [Double], boundaryValues g: [Double]) throws -> DenseMatrix {
        let fm = try DenseMatrix(rows: a1.n, columns: a2.n, values: f)
        var b = try d1.multiplied(by: fm, transposeSelf: true, alpha: c1)
        let fd = try fm.multiplied(by: d2, alpha: c2)
        for i in 0..<b.values.count { b.values[i] = v * (b.values[i] + fd.values[i]) + (boundary[i] ? wbTau * g[i] : 0) }
        return b
    }

    /// PCG from `start` until ‖r‖ ≤ tolerance·‖b‖; returns the solution and the iterations.
    func solve(_ b: DenseMatrix, start: DenseMatrix, tolerance: Double, maxIterations: Int) throws -> (DenseMatrix, Int) {
        func dot(_ a: DenseMatrix, _ c: DenseMatrix) -> Double { VectorKernels.dot(a.values, c.values) }
        var x = start
        var r = b
        let hx = try apply(x)
        for i in 0..<r.values.count { r.values[i] -= hx.values[i] }
        let bNorm = max(VectorKernels.norm(b.values), Double.leastNormalMagnitude)
        var z = try precondition(r)
        var p = z
        var rz = dot(r, z)
        for iteration in 0..<maxIterations {
            if VectorKernels.norm(r.values) <= tolerance * bNorm { return (x, iteration) }
            let hp = try apply(p)
            let alpha = rz / dot(p, hp)
            for i in 0..<x.values.count {
                x.values[i] += alpha * p.values[i]
                r.values[i] -= alpha * hp.values[i]
            }
            z = try precondition(r)
            let rzNew = dot(r, z)
            let beta = rzNew / rz
            rz = rzNew
            for i in 0..<p.values.count { p.values[i] = z.values[i] + beta * p.values[i] }
        }
        return (x, maxIterations)
    }
}
