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
