import Foundation
import Learning

/// The residual of 2-D incompressible Navier–Stokes in vorticity form on the unit torus,
///
///     R = ∂ₜw + u·∇w − νΔw − f,   u = (ψ_y, −ψ_x),   −Δψ = w,
///
/// for a trajectory of vorticity frames `w` [B, T, n, n] (spacing `timeStep`), and its
/// negative-Sobolev norm — the label-free loss of Spectral-Refiner's fine-tuning. The
/// spatial part is evaluated exactly in Fourier space, as the data's pseudo-spectral
/// solver does (`NavierStokes2D`: spectral derivatives, ψ̂ = ŵ/(4π²|k|²) with the mean
/// mode left out, the nonlinear term de-aliased by the 2/3 rule on integer wavenumbers),
/// except at the Nyquist wavenumbers, where first derivatives are zero here while the solver
/// follows numpy's irfft2 convention (for resolved data the two differ by far less than the
/// time-difference error; see the tests); ∂ₜw is the fourth-order finite
/// difference along the frames (central inside, one-sided at both ends), or given.
///
/// Norm (stated, since implementations differ — torch-cfd's `SobolevLoss` weights by
/// (α + 4π²|k|²)^{s/4}): with r̂_k the Fourier coefficients of a frame (r = Σ r̂_k e^{2πik·x}),
///
///     ‖r‖²_{H⁻¹} = Σ_k |r̂_k|² / (α + 4π²|k|²),
///
/// the H⁻¹ norm of ⟨(α − Δ)⁻¹ r, r⟩ (α = 1 by default). The loss is the batch mean of
/// √(mean over frames of ‖R‖²_{H⁻¹}). Every step is a differentiable `Variable` op, so the
/// loss trains a network whose output is `w`.
///
/// Axis layout: the data of `pde-datagen` store frames as `[y, x]` (x fastest, the
/// `PeriodicGrid` layout) — `.yx`, the default; FNO's `.mat` files index `[x, y]` — `.xy`.
/// The two differ in the sign of the advection term.
public struct NavierStokesResidual: Sendable {
    /// Which spatial axis of a frame is x.
    public enum Layout: String, Sendable, CaseIterable { case yx, xy }

    /// ν.
    public let viscosity: Double
    /// The forcing on the n×n frame grid in the trajectory's layout, or nil for none.
    public let forcing: [Double]?
    /// Time between frames.
    public let timeStep: Double
    /// α of the H⁻¹ weight 1/(α + 4π²|k|²).
    public let alpha: Double
    /// Apply the 2/3 rule to the nonlinear term (as the data solver does).
    public let dealias: Bool
    /// Points per axis.
    public let points: Int
    public let layout: Layout

    /// A residual on n×n frames. `forcing` has n² values (nil: none). Throws
    /// `LearningError.invalidArgument` for n < 4, ν < 0, a non-positive time step or α, or a
    /// forcing of another size.
    public init(points n: Int, viscosity: Double, timeStep: Double, forcing: [Double]? = nil, alpha: Double = 1,
                dealias: Bool = true, layout: Layout = .yx) throws {
        guard n >= 4 else { throw LearningError.invalidArgument(name: "residual points", value: "\(n)", expected: "at least 4 points per axis") }
        guard viscosity >= 0, viscosity.isFinite else {
            throw LearningError.invalidArgument(name: "viscosity", value: "\(viscosity)", expected: "a finite ν ≥ 0")
        }
        guard timeStep > 0, timeStep.isFinite else {
            throw LearningError.invalidArgument(name: "time step", value: "\(timeStep)", expected: "a positive frame spacing")
        }
        guard alpha > 0, alpha.isFinite else { throw LearningError.invalidArgument(name: "alpha", value: "\(alpha)", expected: "a positive α") }
        if let f = forcing, f.count != n * n {
            throw LearningError.invalidArgument(name: "forcing", value: "\(f.count) values", expected: "\(n * n) values (n × n)")
        }
        points = n
        self.viscosity = viscosity
        self.timeStep = timeStep
        self.forcing = forcing
        self.alpha = alpha
        self.dealias = dealias
        self.layout = layout
    }

    /// The forcing of the FNO / Spectral-Refiner data, 0.1(sin 2π(x+y) + cos 2π(x+y)), on
    /// the n×n grid of points i/n (symmetric in x and y, so either layout).
    public static func fnoForcing(points n: Int) -> [Double] {
        var f = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            let s = 2 * Double.pi * Double(i + j) / Double(n)
            f[i * n + j] = 0.1 * (Foundation.sin(s) + Foundation.cos(s))
        } }
        return f
    }

    /// R for `w` [B, T, n, n] (T ≥ 5 frames when ∂ₜw is computed), same shape. With
    /// `timeDerivative`, that is used for ∂ₜw instead of finite differences. Throws
    /// `LearningError.shapeMismatch` for other shapes.
    public func residual<T: TensorScalar>(_ w: Variable<T>, timeDerivative: Variable<T>? = nil) throws -> Variable<T> {
        let s = w.shape
        guard s.count == 4, s[2] == points, s[3] == points, timeDerivative.map({ $0.shape == s }) ?? (s[1] >= 5) else {
            throw LearningError.shapeMismatch(operation: "Navier–Stokes residual",
                                              expected: "w [B, T, \(points), \(points)] with T ≥ 5 frames (or a time derivative of the same shape)",
                                              got: shapeString(s) + (timeDerivative.map { " and ∂ₜw " + shapeString($0.shape) } ?? ""))
        }
        let n = points
        let t = try tables(T.self)
        let wh = try w.rfft(dimensions: 2)                                   // [B, T, n, h, 2]
        func real(_ z: Variable<T>) throws -> Variable<T> { try z.irfft(dimensions: 2, lastSize: n) }
        let psi = try Variable.complexMultiply(wh, t.inverseLaplacian)       // ψ̂ = ŵ / (4π²|k|²)
        let u = try real(try Variable.complexMultiply(psi, t.dy))            // ψ_y
        let v = try real(try Variable.complexMultiply(psi, t.dx)) * T(-1)    // −ψ_x
        let wx = try real(try Variable.complexMultiply(wh, t.dx))
        let wy = try real(try Variable.complexMultiply(wh, t.dy))
        var advection = try u * wx + v * wy
        if dealias { advection = try real(try Variable.complexMultiply(try advection.rfft(dimensions: 2), t.mask)) }
        let diffusion = try real(try Variable.complexMultiply(wh, t.laplacian)) * T(viscosity)
        let wt = try timeDerivative ?? finiteDifference(w)
        var r = try wt + advection - diffusion
        if let f = forcing { r = try r - Variable(try Tensor<T>(shape: [n, n], scalars: f.map { T($0) })) }
        return r
    }

    /// The H⁻¹ norm of every frame of `r` [B, T, n, n]: [B, T].
    public func negativeSobolevNorms<T: TensorScalar>(_ r: Variable<T>) throws -> Variable<T> {
        let s = r.shape
        guard s.count == 4, s[2] == points, s[3] == points else {
            throw LearningError.shapeMismatch(operation: "H⁻¹ norm", expected: "[B, T, \(points), \(points)]", got: shapeString(s))
        }
        return try squaredNorms(r).sqrt()
    }

    /// ‖r‖²_{H⁻¹} of every frame of `r` [B, T, n, n]: [B, T].
    private func squaredNorms<T: TensorScalar>(_ r: Variable<T>) throws -> Variable<T> {
        try (try r.rfft(dimensions: 2).square() * tables(T.self).weights).sum(alongAxes: [2, 3, 4])
    }

    /// The loss: batch mean of √(mean over frames of ‖R‖²_{H⁻¹}).
    public func loss<T: TensorScalar>(_ w: Variable<T>, timeDerivative: Variable<T>? = nil) throws -> Variable<T> {
        return try squaredNorms(try residual(w, timeDerivative: timeDerivative)).mean(alongAxes: [1]).sqrt().mean()
    }

    /// Fourth-order ∂ₜ along axis 1: central (w₋₂ − 8w₋₁ + 8w₊₁ − w₊₂)/12Δt inside, the
    /// one-sided five-point stencils at the two first and two last frames.
    func finiteDifference<T: TensorScalar>(_ w: Variable<T>) throws -> Variable<T> {
        let frames = w.shape[1]
        var d = [T](repeating: 0, count: frames * frames)
        let c = 1 / (12 * timeStep)
        func row(_ j: Int, _ start: Int, _ coefficients: [Double]) {
            for (k, a) in coefficients.enumerated() { d[j * frames + start + k] = T(a * c) }
        }
        row(0, 0, [-25, 48, -36, 16, -3])
        row(1, 0, [-3, -10, 18, -6, 1])
        for j in 2..<(frames - 2) { row(j, j - 2, [1, -8, 0, 8, -1]) }
        row(frames - 2, frames - 5, [-1, 6, -18, 10, 3])
        row(frames - 1, frames - 5, [3, -16, 36, -48, 25])
        let matrix = Variable(try Tensor<T>(shape: [frames, frames], scalars: d))
        // [B, T, n, n] → [B, n, n, T] · Dᵀ → back.
        return try Variable.linear(try w.permuted([0, 2, 3, 1]), weight: matrix, bias: nil).permuted([0, 3, 1, 2])
    }

    /// Complex multipliers on the half spectrum [n, n/2 + 1, 2] and the H⁻¹ weights.
    struct Tables<T: TensorScalar> {
        let dx: Variable<T>, dy: Variable<T>, laplacian: Variable<T>, inverseLaplacian: Variable<T>, mask: Variable<T>, weights: Variable<T>
    }

    func tables<T: TensorScalar>(_: T.Type) throws -> Tables<T> {
        let n = points, h = n / 2 + 1
        var dRow = [Double](repeating: 0, count: n * h * 2), dCol = dRow, lap = dRow, inv = dRow, mask = dRow, weights = dRow
        let cut = 2.0 / 3.0 * Double(n / 2)
        for a in 0..<n {
            let ka = Double(a <= n / 2 ? a : a - n)             // first axis (rows), full
            for b in 0..<h {
                let kb = Double(b)                              // second axis (columns), half
                let e = 2 * (a * h + b)
                let k2 = 4 * Double.pi * Double.pi * (ka * ka + kb * kb)
                // i·2πk for first derivatives, zero at the Nyquist wavenumbers.
                dRow[e + 1] = (n % 2 == 0 && a == n / 2) ? 0 : 2 * Double.pi * ka
                dCol[e + 1] = (n % 2 == 0 && b == n / 2) ? 0 : 2 * Double.pi * kb
                lap[e] = -k2
                inv[e] = k2 > 0 ? 1 / k2 : 0
                mask[e] = Swift.abs(ka) <= cut && kb <= cut ? 1 : 0
                // |r̂_k|² / (α + 4π²|k|²) with r̂ = FFT / n², each half-spectrum column other
                // than 0 and the Nyquist standing for a conjugate pair.
                let pair: Double = b == 0 || (n % 2 == 0 && b == n / 2) ? 1 : 2
                let w = pair / ((alpha + k2) * Double(n) * Double(n) * Double(n) * Double(n))
                weights[e] = w
                weights[e + 1] = w
            }
        }
        func v(_ x: [Double]) throws -> Variable<T> { Variable(try Tensor<T>(shape: [n, h, 2], scalars: x.map { T($0) })) }
        // Rows are y in the .yx layout (x is the column axis), x in .xy.
        let (dx, dy) = layout == .yx ? (dCol, dRow) : (dRow, dCol)
        return Tables(dx: try v(dx), dy: try v(dy), laplacian: try v(lap), inverseLaplacian: try v(inv), mask: try v(mask), weights: try v(weights))
    }
}
