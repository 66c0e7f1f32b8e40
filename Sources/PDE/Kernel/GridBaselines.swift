import CFFTW
import Foundation

/// The grid solvers GP-HM is compared with on the same uniform nodes: −u″ = f on [a, b] with
/// Dirichlet values, by second-order finite differences and by a sine-series (DST-I)
/// spectral method. Both see f only at the nodes, as GP-HM does.
public enum PoissonGridBaselines1D {
    /// The N uniform nodes of [a, b] (ends included).
    public static func nodes(lower a: Double, upper b: Double, points n: Int) -> [Double] {
        (0..<n).map { a + (b - a) * Double($0) / Double(n - 1) }
    }

    static func check(_ a: Double, _ b: Double, _ n: Int) throws {
        guard n >= 3, n <= 1 << 24 else {
            throw PDEError.invalidValue(key: "points", value: "\(n)", expected: "3 … 2²⁴ grid points (ends included)")
        }
        guard a.isFinite, b.isFinite, a < b else {
            throw PDEError.invalidValue(key: "interval", value: "[\(a), \(b)]", expected: "finite bounds with lower < upper")
        }
    }

    /// Second-order central differences (Thomas algorithm): u at the N nodes, boundary
    /// values included. Throws for fewer than 3 points or a bad interval.
    public static func finiteDifference(source f: (Double) -> Double, lower a: Double, upper b: Double,
                                        boundary: (Double, Double), points n: Int) throws -> [Double] {
        try check(a, b, n)
        let h = (b - a) / Double(n - 1)
        let m = n - 2
        var rhs = (1...m).map { h * h * f(a + h * Double($0)) }
        rhs[0] += boundary.0
        rhs[m - 1] += boundary.1
        // Tridiagonal (−1, 2, −1): forward sweep, back substitution.
        var c = [Double](repeating: 0, count: m)
        var d = [Double](repeating: 0, count: m)
        c[0] = -0.5
        d[0] = rhs[0] / 2
        for i in 1..<m {
            let denominator = 2 + c[i - 1]
            c[i] = -1 / denominator
            d[i] = (rhs[i] + d[i - 1]) / denominator
        }
        var u = [Double](repeating: 0, count: n)
        u[0] = boundary.0
        u[n - 1] = boundary.1
        u[m] = d[m - 1]
        if m >= 2 { for i in stride(from: m - 2, through: 0, by: -1) { u[i + 1] = d[i] - c[i] * u[i + 2] } }
        return u
    }

    /// u = ℓ + w with ℓ the linear interpolant of the boundary values and w = Σ ŵₖ sin(kπ(x−a)/L),
    /// the sine series whose −w″ interpolates f at the interior nodes (DST-I of f, divided by
    /// (kπ/L)²). Spectrally accurate when f's odd extension is smooth (f = 0 at both ends); only
    /// algebraically otherwise (the Gibbs effect of f's jump at the ends).
    public struct SineSeries: Sendable {
        /// ŵₖ, k = 1…N−2.
        public let coefficients: [Double]
        /// The interval.
        public let lower: Double, upper: Double
        /// Boundary values.
        public let boundary: (Double, Double)

        /// u(x) (any x in the interval).
        public func callAsFunction(_ x: Double) -> Double {
            let length = upper - lower
            let s = (x - lower) / length
            var w = 0.0
            // sin(kθ) by the Chebyshev recurrence sin((k+1)θ) = 2cosθ sin(kθ) − sin((k−1)θ).
            let theta = Double.pi * s
            let twoCos = 2 * Foundation.cos(theta)
            var previous = 0.0, current = Foundation.sin(theta)
            for k in 0..<coefficients.count {
                w += coefficients[k] * current
                let next = twoCos * current - previous
                previous = current
                current = next
            }
            return boundary.0 + (boundary.1 - boundary.0) * s + w
        }
    }

    /// The sine-series spectral solution on N nodes (see `SineSeries`).
    public static func sineSpectral(source f: (Double) -> Double, lower a: Double, upper b: Double,
                                    boundary: (Double, Double), points n: Int) throws -> SineSeries {
        try check(a, b, n)
        let m = n - 2
        let h = (b - a) / Double(n - 1), length = b - a
        let values = (1...m).map { f(a + h * Double($0)) }
        let dst = try RealToRealTransform(shape: [m], kinds: [.dst1])
        var y = [Double](repeating: 0, count: m)
        try dst.apply(values, into: &y)
        // FFTW's RODFT00: Y_{k−1} = 2 Σ_j f_j sin(πjk/(m+1)); the interpolating series has
        // c_k = Y_{k−1}/(m+1).
        let coefficients = (0..<m).map { i -> Double in
            let k = Double(i + 1) * Double.pi / length
            return y[i] / Double(m + 1) / (k * k)
        }
        return SineSeries(coefficients: coefficients, lower: a, upper: b, boundary: boundary)
    }
}

/// Grid baselines for GP-HM's 2-D Poisson problems: Δu = f on a rectangle's N₁ × N₂ uniform
/// nodes (ends included) with u = 0 on the boundary, solved exactly on the grid by a 2-D DST-I
/// (FFTW's RODFT00), which diagonalizes both the 5-point Laplacian and the sine series.
public enum PoissonGridBaselines2D {
    /// Second-order 5-point differences, or the sine series whose Laplacian interpolates f at
    /// the interior nodes (spectrally accurate when f's odd extension is smooth).
    public enum Method: String, Sendable, CaseIterable { case finiteDifference = "finite-differences", sineSpectral = "sine-spectral" }

    /// u at the N₁·N₂ nodes, x index first (`u[i·N₂ + j] = u(xᵢ, yⱼ)`), zeros on the boundary.
    /// Throws for fewer than 3 points per axis or a bad rectangle.
    public static func solve(_ method: Method, source f: (Double, Double) -> Double, lower: [Double], upper: [Double],
                             points: [Int]) throws -> [Double] {
        guard lower.count == 2, upper.count == 2, points.count == 2 else {
            throw PDEError.invalidValue(key: "points", value: "\(points) on \(lower)…\(upper)", expected: "two axes")
        }
        for a in 0..<2 { try PoissonGridBaselines1D.check(lower[a], upper[a], points[a]) }
        let (n1, n2) = (points[0], points[1]), (m1, m2) = (points[0] - 2, points[1] - 2)
        let h = (0..<2).map { (upper[$0] - lower[$0]) / Double(points[$0] - 1) }
        var values = [Double](repeating: 0, count: m1 * m2)
        for i in 0..<m1 { for j in 0..<m2 { values[i * m2 + j] = f(lower[0] + h[0] * Double(i + 1), lower[1] + h[1] * Double(j + 1)) } }
        let dst = try RealToRealTransform(shape: [m1, m2], kinds: [.dst1, .dst1])
        var spectrum = [Double](repeating: 0, count: m1 * m2)
        try dst.apply(values, into: &spectrum)
        // The Laplacian's eigenvalue of sin(kπ(x − a)/L) on the grid (negative).
        func eigenvalues(_ m: Int, _ axis: Int) -> [Double] {
            (1...m).map { k in
                switch method {
                case .finiteDifference: return -(2 - 2 * Foundation.cos(Double.pi * Double(k) / Double(m + 1))) / (h[axis] * h[axis])
                case .sineSpectral:
                    let w = Double(k) * Double.pi / (upper[axis] - lower[axis])
                    return -w * w
                }
            }
        }
        let (e1, e2) = (eigenvalues(m1, 0), eigenvalues(m2, 1))
        let scale = 1 / dst.normalization
        for i in 0..<m1 { for j in 0..<m2 { spectrum[i * m2 + j] *= scale / (e1[i] + e2[j]) } }
        try dst.apply(spectrum, into: &values)
        var u = [Double](repeating: 0, count: n1 * n2)
        for i in 0..<m1 { for j in 0..<m2 { u[(i + 1) * n2 + j + 1] = values[i * m2 + j] } }
        return u
    }
}
