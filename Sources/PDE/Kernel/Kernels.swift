import Foundation
import Support

/// Orders of a partial derivative ∂^α = ∂₀^α₀ ∂₁^α₁ ∂₂^α₂ in up to three variables.
public struct MultiIndex: Hashable, Sendable, CustomStringConvertible {
    public var orders: SIMD4<Int32>

    /// A multi-index from per-axis orders (at most three axes, each order ≥ 0).
    public init(_ orders: [Int]) {
        precondition(orders.count <= 3 && orders.allSatisfy { $0 >= 0 }, "multi-indices have at most 3 non-negative orders")
        var o = SIMD4<Int32>(repeating: 0)
        for (i, v) in orders.enumerated() { o[i] = Int32(v) }
        self.orders = o
    }

    init(raw: SIMD4<Int32>) { orders = raw }

    public static let zero = MultiIndex(raw: .zero)

    /// ∂ along `axis`, `order` times.
    public static func axis(_ axis: Int, order: Int = 1) -> MultiIndex {
        var o = SIMD4<Int32>(repeating: 0)
        o[axis] = Int32(order)
        return MultiIndex(raw: o)
    }

    /// Total order |α|.
    public var total: Int { Int(orders[0] + orders[1] + orders[2]) }

    /// The multi-index of the composed derivative ∂^a ∂^b.
    public static func + (a: MultiIndex, b: MultiIndex) -> MultiIndex { MultiIndex(raw: a.orders &+ b.orders) }

    public var description: String { "(\(orders[0]), \(orders[1]), \(orders[2]))" }
}

/// A linear differential functional evaluated at a point: u ↦ Σ_a c_a ∂^{α_a} u(x). The
/// measurements a kernel method conditions on (values, derivatives, Laplacians, …) are these
/// at collocation points.
public struct DifferentialFunctional: Hashable, Sendable, CustomStringConvertible {
    /// One term c ∂^α of the functional.
    public struct Term: Hashable, Sendable {
        public var coefficient: Double
        public var index: MultiIndex
        /// c ∂^α.
        public init(_ coefficient: Double, _ index: MultiIndex) {
            self.coefficient = coefficient
            self.index = index
        }
    }

    public var terms: [Term]
    /// A short name for messages ("u", "u_x", "Δu").
    public var name: String

    /// The functional Σ terms, called `name` in messages.
    public init(_ terms: [Term], name: String) {
        self.terms = terms
        self.name = name
    }

    /// Highest total derivative order among the terms.
    public var order: Int { terms.map(\.index.total).max() ?? 0 }

    /// Point evaluation u(x).
    public static let value = DifferentialFunctional([Term(1, .zero)], name: "u")

    /// ∂u/∂x_axis.
    public static func partial(_ axis: Int) -> DifferentialFunctional {
        DifferentialFunctional([Term(1, .axis(axis))], name: "∂\(axis)u")
    }

    /// ∂²u/∂x_axis².
    public static func second(_ axis: Int) -> DifferentialFunctional {
        DifferentialFunctional([Term(1, .axis(axis, order: 2))], name: "∂\(axis)\(axis)u")
    }

    /// ∂²u/∂x_a∂x_b.
    public static func mixed(_ a: Int, _ b: Int) -> DifferentialFunctional {
        DifferentialFunctional([Term(1, .axis(a) + .axis(b))], name: "∂\(a)\(b)u")
    }

    /// Δu in `dimension` variables.
    public static func laplacian(dimension: Int) -> DifferentialFunctional {
        DifferentialFunctional((0..<dimension).map { Term(1, .axis($0, order: 2)) }, name: "Δu")
    }

    /// Δu over the listed axes only (for example the spatial axes of a space-time problem).
    public static func laplacian(axes: [Int]) -> DifferentialFunctional {
        DifferentialFunctional(axes.map { Term(1, .axis($0, order: 2)) }, name: "Δu")
    }

    public var description: String { name }
}

/// A stationary covariance kernel k(x, y) = κ(x − y) with analytic partial derivatives of κ
/// up to `maximumOrder` (the sum over both arguments: a second-order PDE needs 4).
public protocol CovarianceKernel: Sendable {
    /// The number of variables, or nil when the kernel takes any number (≤ 3).
    var dimension: Int? { get }
    /// The highest total derivative order of κ available.
    var maximumOrder: Int { get }
    /// ∂^γ κ(d) for every γ in `indices`, into `out` (same count). `d` holds the offset
    /// x − y in its first `dimension` lanes, zeros after.
    func derivatives(offset d: SIMD4<Double>, indices: UnsafeBufferPointer<MultiIndex>, into out: UnsafeMutableBufferPointer<Double>)
}

extension CovarianceKernel {
    /// κ(x − y).
    public func value(_ x: [Double], _ y: [Double]) -> Double {
        derivative(.zero, x, y)
    }

    /// ∂^γ κ at x − y.
    public func derivative(_ index: MultiIndex, _ x: [Double], _ y: [Double]) -> Double {
        var d = SIMD4<Double>(repeating: 0)
        for i in x.indices { d[i] = x[i] - y[i] }
        var out = [0.0]
        [index].withUnsafeBufferPointer { pi in out.withUnsafeMutableBufferPointer { po in derivatives(offset: d, indices: pi, into: po) } }
        return out[0]
    }
}

// MARK: - Radial kernels

/// The radial profile f(r) of an isotropic kernel with unit lengthscale, through the functions
/// f_k = ((1/r) d/dr)^k f, in terms of which every partial derivative of f(|d|) is a
/// polynomial in d (∂_i f_k(|d|) = d_i f_{k+1}).
public enum RadialProfile: Sendable, Equatable {
    /// exp(−r²/2).
    case gaussian
    /// Matérn ν = 5/2: (1 + √5 r + 5r²/3) exp(−√5 r).
    case matern52
    /// Matérn ν = 7/2: (1 + √7 r + 14r²/5 + 7√7 r³/15) exp(−√7 r).
    case matern72

    /// Highest total derivative order implemented (and finite at r = 0).
    public var maximumOrder: Int {
        switch self {
        case .gaussian: return 8
        case .matern52: return 4
        case .matern72: return 4
        }
    }

    /// f_0 … f_{count−1} at r > 0 (at r = 0 only the entries finite there are meaningful:
    /// k ≤ maximumOrder / 2 for the Matérn profiles).
    @inline(__always)
    func evaluate(_ r: Double, into f: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .gaussian:
            let e = exp(-0.5 * r * r)
            var v = e
            for k in 0..<count {
                f[k] = v
                v = -v
            }
        case .matern52:
            let a = 5.0.squareRoot(), ar = a * r, e = exp(-ar)
            let a2 = a * a
            if count > 0 { f[0] = (1 + ar + ar * ar / 3) * e }
            if count > 1 { f[1] = -(a2 / 3) * (1 + ar) * e }
            if count > 2 { f[2] = (a2 * a2 / 3) * e }
            if count > 3 { f[3] = r > 0 ? -(a2 * a2 * a / 3) * e / r : 0 }
            if count > 4 { f[4] = r > 0 ? (a2 * a2 * a / 3) * e * (1 + ar) / (r * r * r) : 0 }
        case .matern72:
            let a = 7.0.squareRoot(), ar = a * r, e = exp(-ar)
            let a2 = a * a, a4 = a2 * a2
            if count > 0 { f[0] = (1 + ar + 2 * ar * ar / 5 + ar * ar * ar / 15) * e }
            if count > 1 { f[1] = -(a2 / 15) * (3 + 3 * ar + ar * ar) * e }
            if count > 2 { f[2] = (a4 / 15) * (1 + ar) * e }
            if count > 3 { f[3] = -(a4 * a2 / 15) * e }
            if count > 4 { f[4] = r > 0 ? (a4 * a2 * a / 15) * e / r : 0 }
        }
    }
}

/// ∂^γ of f(|d|) as Σ c · d^β · f_k(|d|), derived once per multi-index by the product rule.
struct RadialDerivativeTable: Sendable {
    struct Term: Sendable {
        var coefficient: Double
        var beta: SIMD4<Int32>
        var k: Int
    }

    static func terms(for gamma: MultiIndex) -> [Term] {
        var terms = [Term(coefficient: 1, beta: .zero, k: 0)]
        for axis in 0..<3 {
            for _ in 0..<Int(gamma.orders[axis]) {
                var next: [SIMD4<Int32>: [Int: Double]] = [:]
                for t in terms {
                    if t.beta[axis] > 0 {
                        var b = t.beta
                        b[axis] -= 1
                        next[b, default: [:]][t.k, default: 0] += t.coefficient * Double(t.beta[axis])
                    }
                    var b = t.beta
                    b[axis] += 1
                    next[b, default: [:]][t.k + 1, default: 0] += t.coefficient
                }
                terms = next.flatMap { beta, byK in byK.map { Term(coefficient: $0.value, beta: beta, k: $0.key) } }
                    .filter { $0.coefficient != 0 }
                    .sorted { ($0.k, $0.beta[0], $0.beta[1], $0.beta[2]) < ($1.k, $1.beta[0], $1.beta[1], $1.beta[2]) }
            }
        }
        return terms
    }
}

/// An isotropic kernel after a per-axis scaling: k(x, y) = σ² f(|D⁻¹(x − y)|) with
/// D = diag(ℓ) (one lengthscale: isotropic in any dimension ≤ 3; one per axis: automatic
/// relevance determination). Gaussian (squared exponential), Matérn 5/2 and 7/2.
public struct RadialKernel: CovarianceKernel, CustomStringConvertible {
    public let profile: RadialProfile
    public let lengthscales: [Double]
    public let variance: Double
    /// Term lists by multi-index code o₀ + 9o₁ + 81o₂ (orders ≤ 8; empty above the implemented order).
    private let tables: [[RadialDerivativeTable.Term]]

    /// Throws for non-positive or non-finite lengthscales or variance, or more than 3 axes.
    public init(_ profile: RadialProfile, lengthscales: [Double], variance: Double = 1) throws {
        guard (1...3).contains(lengthscales.count) else {
            throw PDEError.invalidValue(key: "lengthscales", value: "\(lengthscales.count) values", expected: "1 (isotropic) to 3 (one per axis)")
        }
        for l in lengthscales where !(l > 0 && l.isFinite) {
            throw PDEError.invalidValue(key: "lengthscale", value: "\(l)", expected: "a positive finite lengthscale")
        }
        guard variance > 0, variance.isFinite else {
            throw PDEError.invalidValue(key: "variance", value: "\(variance)", expected: "a positive finite kernel variance")
        }
        self.profile = profile
        self.lengthscales = lengthscales
        self.variance = variance
        // Tables for every multi-index up to the implemented order in three variables.
        var tables = [[RadialDerivativeTable.Term]](repeating: [], count: 729)
        let top = profile.maximumOrder
        for a in 0...top { for b in 0...(top - a) { for c in 0...(top - a - b) {
            tables[a + 9 * b + 81 * c] = RadialDerivativeTable.terms(for: MultiIndex([a, b, c]))
        } } }
        self.tables = tables
    }

    /// One lengthscale for all axes.
    public init(_ profile: RadialProfile, lengthscale: Double, variance: Double = 1) throws {
        try self.init(profile, lengthscales: [lengthscale], variance: variance)
    }

    public var dimension: Int? { lengthscales.count == 1 ? nil : lengthscales.count }
    public var maximumOrder: Int { profile.maximumOrder }

    public var description: String {
        let ls = lengthscales.map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "\(profile) (ℓ = \(ls)\(variance == 1 ? "" : String(format: ", σ² = %.4g", variance)))"
    }

    /// ∂^γ κ at d for each γ (see `CovarianceKernel`).
    public func derivatives(offset d: SIMD4<Double>, indices: UnsafeBufferPointer<MultiIndex>, into out: UnsafeMutableBufferPointer<Double>) {
        var inverse = SIMD4<Double>(repeating: 1 / lengthscales[0])
        if lengthscales.count > 1 { for i in lengthscales.indices { inverse[i] = 1 / lengthscales[i] } }
        var s = d * inverse
        s[3] = 0
        let r2 = (s * s).sum()
        let r = r2.squareRoot()
        var maxOrder = 0
        for g in indices { maxOrder = max(maxOrder, g.total) }
        let atZero = r < 1e-100
        withUnsafeTemporaryAllocation(of: Double.self, capacity: maxOrder + 1) { f in
            profile.evaluate(r, into: f.baseAddress!, count: maxOrder + 1)
            for (n, g) in indices.enumerated() {
                let o = g.orders
                guard g.total <= profile.maximumOrder, o[0] >= 0, o[1] >= 0, o[2] >= 0 else {
                    out[n] = .nan
                    continue
                }
                let terms = tables[Int(o[0]) &+ 9 &* Int(o[1]) &+ 81 &* Int(o[2])]
                var total = 0.0
                for t in terms {
                    if atZero {
                        if t.beta == .zero { total += t.coefficient * f[t.k] }
                        continue
                    }
                    var monomial = t.coefficient
                    for axis in 0..<3 {
                        var p = t.beta[axis]
                        while p > 0 {
                            monomial *= s[axis]
                            p -= 1
                        }
                    }
                    total += monomial * f[t.k]
                }
                // Chain rule of the scaling: ∂^γ_d = Π ℓ_i^{−γ_i} ∂^γ_s.
                var scale = variance
                for axis in 0..<3 {
                    var p = g.orders[axis]
                    while p > 0 {
                        scale *= inverse[axis]
                        p -= 1
                    }
                }
                out[n] = total * scale
            }
        }
    }
}

// MARK: - Product kernels of one-variable factors

/// A stationary kernel of one variable g(t), t = x − y, with derivatives g, g′, …, g^(n).
public protocol AxisKernel: Sendable {
    var maximumOrder: Int { get }
    /// g(t), g′(t), …, g^(count−1)(t) into `out`.
    func derivatives(_ t: Double, into out: UnsafeMutablePointer<Double>, count: Int)
}

/// exp(−t²/(2ℓ²)): derivatives through the probabilists' Hermite polynomials,
/// g^(n)(t) = (−1/ℓ)ⁿ Heₙ(t/ℓ) g(t).
public struct GaussianAxis: AxisKernel {
    public let lengthscale: Double
    /// Throws for a lengthscale that is not positive and finite.
    public init(lengthscale: Double) throws {
        guard lengthscale > 0, lengthscale.isFinite else {
            throw PDEError.invalidValue(key: "lengthscale", value: "\(lengthscale)", expected: "a positive finite lengthscale")
        }
        self.lengthscale = lengthscale
    }
    /// Without the check (values from an optimizer: a degenerate ℓ gives NaN values, which
    /// the caller's finite-loss check reports).
    init(unchecked lengthscale: Double) { self.lengthscale = lengthscale }
    public var maximumOrder: Int { 8 }
    /// g, g′, … at t (see `AxisKernel`).
    public func derivatives(_ t: Double, into out: UnsafeMutablePointer<Double>, count: Int) {
        let x = t / lengthscale
        let g = exp(-0.5 * x * x)
        var hPrev = 0.0, h = 1.0     // He₋₁ (unused), He₀
        var factor = 1.0
        for n in 0..<count {
            out[n] = factor * h * g
            let next = x * h - Double(n) * hPrev
            hPrev = h
            h = next
            factor *= -1 / lengthscale
        }
    }
}

/// A Matérn kernel of one variable, f(|t|/ℓ) with the Matérn 5/2 or 7/2 profile (derivatives
/// up to order 4; the ones of odd order vanish at t = 0).
public struct MaternAxis: AxisKernel {
    public let profile: RadialProfile
    public let lengthscale: Double
    /// Throws for a lengthscale that is not positive and finite.
    public init(_ profile: RadialProfile, lengthscale: Double) throws {
        guard lengthscale > 0, lengthscale.isFinite else {
            throw PDEError.invalidValue(key: "lengthscale", value: "\(lengthscale)", expected: "a positive finite lengthscale")
        }
        self.profile = profile
        self.lengthscale = lengthscale
    }
    /// Without the check (see `GaussianAxis.init(unchecked:)`).
    init(_ profile: RadialProfile, unchecked lengthscale: Double) {
        self.profile = profile
        self.lengthscale = lengthscale
    }
    public var maximumOrder: Int { profile.maximumOrder }
    /// g, g′, … at t (see `AxisKernel`).
    public func derivatives(_ t: Double, into out: UnsafeMutablePointer<Double>, count: Int) {
        // In one variable: g = f₀, g′ = s f₁, g″ = f₁ + s² f₂, g‴ = 3s f₂ + s³ f₃,
        // g⁗ = 3 f₂ + 6 s² f₃ + s⁴ f₄ (s = t/ℓ), each times ℓ^{−n}.
        let s = t / lengthscale, r = abs(s)
        var f: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
        withUnsafeMutablePointer(to: &f) { p in
            p.withMemoryRebound(to: Double.self, capacity: 5) { profile.evaluate(r, into: $0, count: min(5, max(count, 1))) }
        }
        let zero = r < 1e-100
        let inv = 1 / lengthscale
        var scale = 1.0
        for n in 0..<count {
            let v: Double
            switch n {
            case 0: v = f.0
            case 1: v = zero ? 0 : s * f.1
            case 2: v = zero ? f.1 : f.1 + s * s * f.2
            case 3: v = zero ? 0 : 3 * s * f.2 + s * s * s * f.3
            case 4: v = zero ? 3 * f.2 : 3 * f.2 + 6 * s * s * f.3 + s * s * s * s * f.4
            default: v = .nan
            }
            out[n] = v * scale
            scale *= inv
        }
    }
}

/// exp(−2 sin²(π t / p) / ℓ²) (MacKay's periodic kernel), derivatives by Faà di Bruno's
/// formula on exp(h) with h = (cos ωt − 1)/ℓ², ω = 2π/p.
public struct PeriodicAxis: AxisKernel {
    public let period: Double
    public let lengthscale: Double
    /// Throws for a period or lengthscale that is not positive and finite.
    public init(period: Double, lengthscale: Double) throws {
        guard period > 0, period.isFinite else {
            throw PDEError.invalidValue(key: "period", value: "\(period)", expected: "a positive finite period")
        }
        guard lengthscale > 0, lengthscale.isFinite else {
            throw PDEError.invalidValue(key: "lengthscale", value: "\(lengthscale)", expected: "a positive finite lengthscale")
        }
        self.period = period
        self.lengthscale = lengthscale
    }
    public var maximumOrder: Int { 4 }
    /// g, g′, … at t (see `AxisKernel`).
    public func derivatives(_ t: Double, into out: UnsafeMutablePointer<Double>, count: Int) {
        let w = 2 * Double.pi / period, c = 1 / (lengthscale * lengthscale)
        let sn = sin(w * t), cs = cos(w * t)
        let g = exp((cs - 1) * c)
        let h1 = -w * sn * c, h2 = -w * w * cs * c, h3 = w * w * w * sn * c, h4 = w * w * w * w * cs * c
        for n in 0..<count {
            switch n {
            case 0: out[n] = g
            case 1: out[n] = h1 * g
            case 2: out[n] = (h2 + h1 * h1) * g
            case 3: out[n] = (h3 + 3 * h1 * h2 + h1 * h1 * h1) * g
            case 4: out[n] = (h4 + 4 * h1 * h3 + 3 * h2 * h2 + 6 * h1 * h1 * h2 + h1 * h1 * h1 * h1) * g
            default: out[n] = .nan
            }
        }
    }
}

/// A spectral mixture in one variable, Σ_q w_q s_q(t) cos(2π μ_q t): Gaussian components
/// (s_q Gaussian with lengthscale ℓ_q: a Gaussian mixture in frequency) or Student-t
/// components (s_q Matérn 5/2: a Student-t mixture in frequency), as in GP-HM.
public struct SpectralMixtureAxis: AxisKernel {
    /// The spectral density of each component: Gaussian or Student-t.
    public enum Shape: String, Sendable, CaseIterable {
        case gaussian
        case studentT = "student-t"
    }

    /// w · s(t; ℓ) · cos(2π μ t).
    public struct Component: Sendable, Equatable {
        public var weight: Double
        public var frequency: Double
        public var lengthscale: Double
        /// A component with weight w, frequency μ (cycles per unit length) and envelope lengthscale ℓ.
        public init(weight: Double, frequency: Double, lengthscale: Double) {
            self.weight = weight
            self.frequency = frequency
            self.lengthscale = lengthscale
        }
    }

    public let shape: Shape
    public let components: [Component]
    private let envelopes: [AxisKernel]

    /// Throws for an empty mixture, negative or non-finite weights, non-finite frequencies,
    /// or non-positive lengthscales.
    public init(shape: Shape, components: [Component]) throws {
        guard !components.isEmpty else {
            throw PDEError.invalidValue(key: "components", value: "none", expected: "at least one mixture component")
        }
        for c in components {
            guard c.weight >= 0, c.weight.isFinite else {
                throw PDEError.invalidValue(key: "weight", value: "\(c.weight)", expected: "a non-negative finite mixture weight")
            }
            guard c.frequency.isFinite else {
                throw PDEError.invalidValue(key: "frequency", value: "\(c.frequency)", expected: "a finite frequency")
            }
        }
        self.shape = shape
        self.components = components
        envelopes = try components.map { c -> AxisKernel in
            switch shape {
            case .gaussian: return try GaussianAxis(lengthscale: c.lengthscale)
            case .studentT: return try MaternAxis(.matern52, lengthscale: c.lengthscale)
            }
        }
    }

    public var maximumOrder: Int { 4 }

    /// g, g′, … at t (see `AxisKernel`).
    public func derivatives(_ t: Double, into out: UnsafeMutablePointer<Double>, count: Int) {
        for n in 0..<count { out[n] = 0 }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * count) { buffer in
            let e = buffer.baseAddress!, c = e + count
            for (q, component) in components.enumerated() where component.weight != 0 {
                envelopes[q].derivatives(t, into: e, count: count)
                // cos(ωt) and its derivatives: ωⁿ cos(ωt + nπ/2).
                let w = 2 * Double.pi * component.frequency
                let cs = cos(w * t), sn = sin(w * t)
                var wn = 1.0
                for n in 0..<count {
                    switch n % 4 {
                    case 0: c[n] = wn * cs
                    case 1: c[n] = -wn * sn
                    case 2: c[n] = -wn * cs
                    default: c[n] = wn * sn
                    }
                    wn *= w
                }
                // Leibniz: (e c)^(n) = Σ_k C(n, k) e^(k) c^(n−k).
                for n in 0..<count {
                    var binomial = 1.0, sum = 0.0
                    for k in 0...n {
                        sum += binomial * e[k] * c[n - k]
                        binomial = binomial * Double(n - k) / Double(k + 1)
                    }
                    out[n] += component.weight * sum
                }
            }
        }
    }
}

/// k(x, y) = σ² Π_i g_i(x_i − y_i): one-variable kernels multiplied over the axes (the
/// Kronecker-structured kernels of GP-HM, per-axis Gaussian, periodic).
public struct ProductKernel: CovarianceKernel {
    public let axes: [AxisKernel]
    public let variance: Double

    /// Throws for no axes, more than three, or a non-positive variance.
    public init(axes: [AxisKernel], variance: Double = 1) throws {
        guard (1...3).contains(axes.count) else {
            throw PDEError.invalidValue(key: "axes", value: "\(axes.count)", expected: "1 to 3 one-variable kernels")
        }
        guard variance > 0, variance.isFinite else {
            throw PDEError.invalidValue(key: "variance", value: "\(variance)", expected: "a positive finite kernel variance")
        }
        self.axes = axes
        self.variance = variance
    }

    public var dimension: Int? { axes.count }
    public var maximumOrder: Int { axes.map(\.maximumOrder).min() ?? 0 }

    /// ∂^γ κ at d for each γ (see `CovarianceKernel`).
    public func derivatives(offset d: SIMD4<Double>, indices: UnsafeBufferPointer<MultiIndex>, into out: UnsafeMutableBufferPointer<Double>) {
        var top = SIMD4<Int32>(repeating: 0)
        for g in indices { top = pointwiseMax(top, g.orders) }
        let stride = Int(top.max()) + 1
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * stride) { table in
            for (i, axis) in axes.enumerated() {
                axis.derivatives(d[i], into: table.baseAddress! + i * stride, count: Int(top[i]) + 1)
            }
            for (n, g) in indices.enumerated() {
                var v = variance
                for i in axes.indices { v *= table[i * stride + Int(g.orders[i])] }
                for i in axes.count..<3 where g.orders[i] != 0 { v = 0 }
                out[n] = v
            }
        }
    }
}

// MARK: - Kernel matrices between functionals at point sets

/// Points in 1 to 3 dimensions, stored as SIMD lanes.
public struct PointSet: Sendable, Equatable {
    public let dimension: Int
    public var points: [SIMD4<Double>]

    /// Points from coordinate tuples (each of `dimension` entries). Throws on ragged input.
    public init(dimension: Int, coordinates: [[Double]]) throws {
        guard (1...3).contains(dimension) else {
            throw PDEError.invalidValue(key: "dimension", value: "\(dimension)", expected: "1, 2 or 3")
        }
        var pts: [SIMD4<Double>] = []
        pts.reserveCapacity(coordinates.count)
        for (n, c) in coordinates.enumerated() {
            guard c.count == dimension else {
                throw PDEError.shapeMismatch(what: "point \(n)", expected: "\(dimension) coordinates", got: "\(c.count)")
            }
            var p = SIMD4<Double>(repeating: 0)
            for i in 0..<dimension { p[i] = c[i] }
            pts.append(p)
        }
        self.dimension = dimension
        self.points = pts
    }

    /// Points given as SIMD lanes (the lanes after `dimension` must be zero).
    public init(dimension: Int, points: [SIMD4<Double>]) {
        precondition((1...3).contains(dimension), "point dimension 1 to 3")
        self.dimension = dimension
        self.points = points
    }

    public var count: Int { points.count }

    /// Coordinates of point n.
    public func coordinates(_ n: Int) -> [Double] { (0..<dimension).map { points[n][$0] } }

    /// The union of two sets (this one first).
    public func appending(_ other: PointSet) -> PointSet {
        PointSet(dimension: dimension, points: points + other.points)
    }
}

/// Kernel matrices between differential functionals at point sets.
public enum KernelMatrices {
    /// Checks that `kernel` can supply the derivatives the functionals need, in `dimension` variables.
    public static func validate(_ kernel: CovarianceKernel, dimension: Int, functionals: [DifferentialFunctional]) throws {
        if let d = kernel.dimension, d != dimension {
            throw PDEError.shapeMismatch(what: "kernel dimension", expected: "\(dimension) variables", got: "\(d)")
        }
        let needed = 2 * (functionals.map(\.order).max() ?? 0)
        guard needed <= kernel.maximumOrder else {
            throw PDEError.invalidValue(key: "kernel", value: "derivatives up to order \(kernel.maximumOrder)",
                                        expected: "order \(needed) for the functionals \(functionals.map(\.name)) (a smoother kernel)")
        }
    }

    /// The block B_ij = L_x M_y k(x_i, y_j) for the functional L at the points `x` and M at `y`:
    /// Σ_a Σ_b c_a c_b (−1)^{|β_b|} ∂^{α_a + β_b} κ(x_i − y_j). Rows in parallel.
    public static func block(_ kernel: CovarianceKernel, _ x: PointSet, _ l: DifferentialFunctional,
                             _ y: PointSet, _ m: DifferentialFunctional) -> DenseMatrix {
        // Combined multi-indices with their coefficients.
        var combined: [MultiIndex: Double] = [:]
        for a in l.terms {
            for b in m.terms {
                let sign: Double = b.index.total % 2 == 0 ? 1 : -1
                combined[a.index + b.index, default: 0] += a.coefficient * b.coefficient * sign
            }
        }
        let indices = Array(combined.keys).sorted { $0.description < $1.description }
        let coefficients = indices.map { combined[$0]! }
        var out = DenseMatrix(rows: x.count, columns: y.count)
        let columns = y.count
        guard x.count > 0, columns > 0 else { return out }
        let rowsPerChunk = max(1, 20_000 / max(1, columns * indices.count))
        out.values.withUnsafeMutableBufferPointer { po in
            let base = po.baseAddress!
            indices.withUnsafeBufferPointer { pi in
                Parallel.forChunks(x.count, minimumPerChunk: rowsPerChunk) { start, end in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: indices.count) { values in
                        for i in start..<end {
                            let xi = x.points[i]
                            for j in 0..<columns {
                                kernel.derivatives(offset: xi - y.points[j], indices: pi, into: values)
                                var s = 0.0
                                for t in 0..<indices.count { s += coefficients[t] * values[t] }
                                base[i &* columns &+ j] = s
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The symmetric Gram matrix of measurement groups (functional, points), group after group:
    /// Θ with blocks L_a L_b′ k(X_a, X_b). Only blocks on and below the diagonal are computed.
    public static func gram(_ kernel: CovarianceKernel, groups: [(DifferentialFunctional, PointSet)]) -> DenseMatrix {
        let sizes = groups.map(\.1.count)
        let offsets = sizes.reduce(into: [0]) { $0.append($0.last! + $1) }
        let n = offsets.last!
        var theta = DenseMatrix(rows: n, columns: n)
        for a in groups.indices {
            for b in 0...a {
                let blockAB = block(kernel, groups[a].1, groups[a].0, groups[b].1, groups[b].0)
                theta.setBlock(blockAB, row: offsets[a], column: offsets[b])
            }
        }
        theta.mirrorLowerTriangle()
        return theta
    }

    /// The rows L_x M′_y k(x_i, ·) for one functional L at `x` against all measurement
    /// groups: the cross-covariance used for predictions.
    public static func cross(_ kernel: CovarianceKernel, _ x: PointSet, _ l: DifferentialFunctional,
                             groups: [(DifferentialFunctional, PointSet)]) -> DenseMatrix {
        let n = groups.reduce(0) { $0 + $1.1.count }
        var out = DenseMatrix(rows: x.count, columns: n)
        var column = 0
        for (m, y) in groups {
            out.setBlock(block(kernel, x, l, y, m), row: 0, column: column)
            column += y.count
        }
        return out
    }
}
