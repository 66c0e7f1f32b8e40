import CLapacke
import Foundation
import Support

/// Collocation points in a box [lower, upper] (2-D): random interior points, random points on
/// the sides, or a uniform grid, as in the kernel-collocation papers.
public enum CollocationPoints {
    /// `count` points uniform in the open box.
    public static func randomInterior(lower: [Double], upper: [Double], count: Int, seed: UInt64) throws -> PointSet {
        try checkBox(lower, upper)
        var g = SeededGenerator(seed: seed)
        let pts = (0..<count).map { _ -> SIMD4<Double> in
            var p = SIMD4<Double>(repeating: 0)
            for i in lower.indices { p[i] = g.uniform(lower[i], upper[i]) }
            return p
        }
        return PointSet(dimension: lower.count, points: pts)
    }

    /// The first `count` points of the Halton sequence (bases 2, 3, 5; the first point, the
    /// corner, skipped) scaled into the open box: a low-discrepancy alternative to uniform
    /// random points that leaves no large holes.
    public static func halton(lower: [Double], upper: [Double], count: Int) throws -> PointSet {
        try checkBox(lower, upper)
        let bases = [2, 3, 5]
        func radicalInverse(_ i: Int, _ b: Int) -> Double {
            var f = 1.0, r = 0.0, n = i
            while n > 0 {
                f /= Double(b)
                r += f * Double(n % b)
                n /= b
            }
            return r
        }
        let pts = (1...max(1, count)).prefix(count).map { i -> SIMD4<Double> in
            var p = SIMD4<Double>(repeating: 0)
            for a in lower.indices { p[a] = lower[a] + (upper[a] - lower[a]) * radicalInverse(i, bases[a]) }
            return p
        }
        return PointSet(dimension: lower.count, points: pts)
    }

    /// `perSide` evenly spaced points on each listed side of a 2-D box (cell centres of the
    /// side split into `perSide` pieces, so no corner is taken twice). Sides as in `randomBoundary`.
    public static func evenBoundary(lower: [Double], upper: [Double], perSide: Int, sides: [Int] = [0, 1, 2, 3]) throws -> PointSet {
        try onSides(lower, upper, perSide: perSide, sides: sides) { k in (Double(k) + 0.5) / Double(perSide) }
    }

    /// `perSide` uniform random points on each listed side of a 2-D box. Sides: 0 = x low,
    /// 1 = x high, 2 = y low, 3 = y high.
    public static func randomBoundary(lower: [Double], upper: [Double], perSide: Int, sides: [Int] = [0, 1, 2, 3],
                                      seed: UInt64) throws -> PointSet {
        var g = SeededGenerator(seed: seed)
        return try onSides(lower, upper, perSide: perSide, sides: sides) { _ in g.uniform() }
    }

    /// `perSide` points on each listed side of a 2-D box at the fractions `position(k)` along it.
    private static func onSides(_ lower: [Double], _ upper: [Double], perSide: Int, sides: [Int],
                                position: (Int) -> Double) throws -> PointSet {
        try checkBox(lower, upper)
        guard lower.count == 2 else {
            throw PDEError.invalidValue(key: "dimension", value: "\(lower.count)", expected: "a 2-D box for boundary points")
        }
        var pts: [SIMD4<Double>] = []
        for side in sides {
            guard (0...3).contains(side) else {
                throw PDEError.invalidValue(key: "side", value: "\(side)", expected: "0 (x low), 1 (x high), 2 (y low) or 3 (y high)")
            }
            for k in 0..<perSide {
                let s = position(k)
                switch side {
                case 0: pts.append(SIMD4(lower[0], lower[1] + s * (upper[1] - lower[1]), 0, 0))
                case 1: pts.append(SIMD4(upper[0], lower[1] + s * (upper[1] - lower[1]), 0, 0))
                case 2: pts.append(SIMD4(lower[0] + s * (upper[0] - lower[0]), lower[1], 0, 0))
                default: pts.append(SIMD4(lower[0] + s * (upper[0] - lower[0]), upper[1], 0, 0))
                }
            }
        }
        return PointSet(dimension: 2, points: pts)
    }

    /// The tensor grid of `counts[i]` points per axis including the ends; point (i, j) at
    /// index i·counts[1] + j (the last axis fastest).
    public static func grid(lower: [Double], upper: [Double], counts: [Int]) throws -> PointSet {
        try checkBox(lower, upper)
        guard counts.count == lower.count, counts.allSatisfy({ $0 >= 2 }) else {
            throw PDEError.invalidValue(key: "counts", value: "\(counts)", expected: "at least 2 points on each of \(lower.count) axes")
        }
        func axis(_ i: Int) -> [Double] {
            (0..<counts[i]).map { lower[i] + (upper[i] - lower[i]) * Double($0) / Double(counts[i] - 1) }
        }
        var pts: [SIMD4<Double>] = []
        switch lower.count {
        case 1: pts = axis(0).map { SIMD4($0, 0, 0, 0) }
        case 2: for x in axis(0) { for y in axis(1) { pts.append(SIMD4(x, y, 0, 0)) } }
        default: for x in axis(0) { for y in axis(1) { for z in axis(2) { pts.append(SIMD4(x, y, z, 0)) } } }
        }
        return PointSet(dimension: lower.count, points: pts)
    }

    static func checkBox(_ lower: [Double], _ upper: [Double]) throws {
        guard (1...3).contains(lower.count), lower.count == upper.count else {
            throw PDEError.shapeMismatch(what: "box corners", expected: "1 to 3 coordinates each, equal counts",
                                         got: "\(lower.count) and \(upper.count)")
        }
        for i in lower.indices where !(lower[i] < upper[i]) || !lower[i].isFinite || !upper[i].isFinite {
            throw PDEError.invalidValue(key: "box", value: "[\(lower[i]), \(upper[i])] on axis \(i)", expected: "finite lower < upper")
        }
    }
}

/// The kernel-collocation examples of Chen, Hosseini, Owhadi & Stuart (2021), each with its
/// exact or reference solution.
public enum CollocationExamples {
    /// −Δu + α u³ = f on [0, 1]² with u = sin πx sin πy + 2 sin 4πx sin 4πy (α = 0: Poisson);
    /// Δu is eliminated: Δu = α u³ − f.
    public static func nonlinearElliptic(alpha: Double = 1) -> (pde: CollocationPDE, exact: @Sendable (SIMD4<Double>) -> Double) {
        let exact: @Sendable (SIMD4<Double>) -> Double = { p in
            sin(.pi * p[0]) * sin(.pi * p[1]) + 2 * sin(4 * .pi * p[0]) * sin(4 * .pi * p[1])
        }
        let source: @Sendable (SIMD4<Double>) -> Double = { p in
            let u = exact(p)
            let lap = -2 * .pi * .pi * sin(.pi * p[0]) * sin(.pi * p[1]) - 64 * .pi * .pi * sin(4 * .pi * p[0]) * sin(4 * .pi * p[1])
            return -lap + alpha * u * u * u
        }
        let pde = CollocationPDE(name: alpha == 0 ? "poisson" : "nonlinear-elliptic", dimension: 2,
                                 functionals: [.value, .laplacian(dimension: 2)], eliminated: 1, isLinear: alpha == 0) { x, _, kept, gradient in
            let u = kept[0]
            gradient[0] = 3 * alpha * u * u
            return alpha * u * u * u - source(x)
        }
        return (pde, exact)
    }

    /// Viscous Burgers u_t + u u_x − ν u_xx = 0 on x ∈ [−1, 1], t ∈ [0, 1] as one space-time
    /// problem in (x, t) = (axis 0, axis 1); u_t is eliminated: u_t = ν u_xx − u u_x.
    /// Measurements (u, u_x, u_xx, u_t).
    public static func burgers(viscosity nu: Double = 0.02) -> CollocationPDE {
        CollocationPDE(name: "burgers", dimension: 2,
                       functionals: [.value, .partial(0), .second(0), .partial(1)], eliminated: 3, isLinear: false) { _, _, kept, gradient in
            let u = kept[0], ux = kept[1], uxx = kept[2]
            gradient[0] = -ux
            gradient[1] = -u
            gradient[2] = nu
            return nu * uxx - u * ux
        }
    }

    /// The regularized eikonal equation |∇u|² = f² + εΔu on [0, 1]² (f = 1, u = 0 on the
    /// boundary); Δu is eliminated: Δu = (u_x² + u_y² − f²)/ε. Measurements (u, u_x, u_y, Δu).
    public static func eikonal(epsilon: Double = 0.1, f: Double = 1) -> CollocationPDE {
        CollocationPDE(name: "eikonal", dimension: 2,
                       functionals: [.value, .partial(0), .partial(1), .laplacian(dimension: 2)], eliminated: 3,
                       isLinear: false) { _, _, kept, gradient in
            let ux = kept[1], uy = kept[2]
            gradient[0] = 0
            gradient[1] = 2 * ux / epsilon
            gradient[2] = 2 * uy / epsilon
            return (ux * ux + uy * uy - f * f) / epsilon
        }
    }

    /// −∇·(a∇u) = f on [0, 1]² with a = exp(sin 2πx + sin 2πy) + exp(−sin 2πx − sin 2πy) (the
    /// paper's Darcy coefficient) and the manufactured u = sin πx sin πy (u = 0 on the
    /// boundary); Δu is eliminated: Δu = −(f + ∇a·∇u)/a. Linear.
    public static func darcy() -> (pde: CollocationPDE, exact: @Sendable (SIMD4<Double>) -> Double) {
        let exact: @Sendable (SIMD4<Double>) -> Double = { p in sin(.pi * p[0]) * sin(.pi * p[1]) }
        @Sendable func coefficient(_ p: SIMD4<Double>) -> (a: Double, ax: Double, ay: Double) {
            let s = sin(2 * .pi * p[0]) + sin(2 * .pi * p[1])
            let e1 = exp(s), e2 = exp(-s)
            let a = e1 + e2, da = e1 - e2
            return (a, da * 2 * .pi * cos(2 * .pi * p[0]), da * 2 * .pi * cos(2 * .pi * p[1]))
        }
        let pde = CollocationPDE(name: "darcy", dimension: 2,
                                 functionals: [.value, .partial(0), .partial(1), .laplacian(dimension: 2)], eliminated: 3,
                                 isLinear: true) { x, _, kept, gradient in
            let (a, ax, ay) = coefficient(x)
            let px = Double.pi * x[0], py = Double.pi * x[1]
            let ux = Double.pi * cos(px) * sin(py), uy = Double.pi * sin(px) * cos(py)
            let lap = -2 * Double.pi * Double.pi * sin(px) * sin(py)
            let f = -(a * lap + ax * ux + ay * uy)
            gradient[0] = 0
            gradient[1] = -ax / a
            gradient[2] = -ay / a
            return -(f + ax * kept[1] + ay * kept[2]) / a
        }
        return (pde, exact)
    }
}

/// Gauss–Hermite quadrature: nodes and weights for ∫ g(s) e^{−s²} ds, by the Golub–Welsch
/// eigenvalue method (LAPACK `dstevd` on the Jacobi matrix).
public enum GaussHermite {
    /// n nodes and weights (1 ≤ n ≤ 400); exact for polynomials of degree < 2n times e^{−s²}.
    public static func rule(_ n: Int) throws -> (nodes: [Double], weights: [Double]) {
        guard (1...400).contains(n) else {
            throw PDEError.invalidValue(key: "quadrature nodes", value: "\(n)", expected: "1 to 400 Gauss–Hermite nodes")
        }
        var d = [Double](repeating: 0, count: n)
        var e = (1..<max(n, 2)).map { (Double($0) / 2).squareRoot() }
        e = Array(e.prefix(max(0, n - 1))) + [0]
        var z = [Double](repeating: 0, count: n * n)
        let info = LAPACKE_dstevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int32(n), &d, &e, &z, Int32(n))
        guard info == 0 else {
            throw PDEError.libraryFailure(library: "LAPACK", reason: "dstevd on the \(n)-node Hermite Jacobi matrix returned info = \(info)")
        }
        let weights = (0..<n).map { k in Double.pi.squareRoot() * z[k] * z[k] }
        return (d, weights)
    }
}

/// The viscous Burgers solution on the real line with u(x, 0) = −sin πx from the Cole–Hopf
/// transform, by Gauss–Hermite quadrature:
/// u = −∫ sin π(x − η) F(x − η) e^{−η²/4νt} dη / ∫ F(x − η) e^{−η²/4νt} dη,
/// F(y) = exp(−cos πy / (2πν)) (the reference of the kernel-collocation paper, which used 80 nodes).
public struct ColeHopfBurgers: Sendable {
    public let viscosity: Double
    private let nodes: [Double]
    private let weights: [Double]

    /// The reference for viscosity ν with `count` Gauss–Hermite nodes; throws for ν ≤ 0.
    public init(viscosity: Double, nodes count: Int = 200) throws {
        guard viscosity > 0, viscosity.isFinite else {
            throw PDEError.invalidValue(key: "viscosity", value: "\(viscosity)", expected: "a positive viscosity")
        }
        self.viscosity = viscosity
        (nodes, weights) = try GaussHermite.rule(count)
    }

    /// u(x, t).
    public func value(x: Double, t: Double) -> Double {
        if t <= 0 { return -sin(.pi * x) }
        let scale = (4 * viscosity * t).squareRoot()
        let c = 1 / (2 * .pi * viscosity)
        // Exponents shifted by their maximum (c) so nothing overflows.
        var num = 0.0, den = 0.0
        for k in nodes.indices {
            let y = x - scale * nodes[k]
            let w = weights[k] * exp(-cos(.pi * y) * c - c)
            num += w * sin(.pi * y)
            den += w
        }
        return -num / den
    }
}

/// The regularized eikonal reference: with u = −ε log v, |∇u|² = f² + εΔu (f = 1, u = 0 on the
/// boundary of [0, 1]²) becomes v − ε²Δv = 0, v = 1 on the boundary, solved by the 5-point
/// scheme with CHOLMOD on two grids and Richardson-extrapolated (fourth order) at the nodes of
/// the coarser one.
public struct EikonalReference: Sendable {
    public let epsilon: Double
    /// Intervals per side of the coarse grid the values live on.
    public let intervals: Int
    /// v at the (intervals + 1)² nodes, row-major in (x, y).
    public let v: [Double]

    /// Solves on `intervals` and 2·`intervals` grid intervals per side (CHOLMOD) and extrapolates.
    public init(epsilon: Double, intervals: Int) throws {
        guard epsilon > 0, epsilon.isFinite else {
            throw PDEError.invalidValue(key: "epsilon", value: "\(epsilon)", expected: "a positive regularization")
        }
        guard intervals >= 4 else {
            throw PDEError.invalidValue(key: "intervals", value: "\(intervals)", expected: "at least 4 grid intervals")
        }
        self.epsilon = epsilon
        self.intervals = intervals
        let coarse = try EikonalReference.solve(epsilon: epsilon, intervals: intervals)
        let fine = try EikonalReference.solve(epsilon: epsilon, intervals: 2 * intervals)
        let n = intervals + 1
        var v = [Double](repeating: 1, count: n * n)
        for i in 0..<n { for j in 0..<n {
            v[i * n + j] = (4 * fine[(2 * i) * (2 * intervals + 1) + 2 * j] - coarse[i * n + j]) / 3
        } }
        self.v = v
    }

    /// u = −ε log v at node (i, j) of the coarse grid (x = i/intervals, y = j/intervals).
    public func u(i: Int, j: Int) -> Double { -epsilon * log(v[i * (intervals + 1) + j]) }

    private static func solve(epsilon: Double, intervals m: Int) throws -> [Double] {
        let n = m + 1, inner = m - 1
        let h = 1 / Double(m), c = epsilon * epsilon / (h * h)
        var coo = COOBuilder(rows: inner * inner, columns: inner * inner, reserve: 5 * inner * inner)
        var b = [Double](repeating: 0, count: inner * inner)
        for i in 0..<inner { for j in 0..<inner {
            let row = i * inner + j
            coo.add(row, row, 1 + 4 * c)
            for (di, dj) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                let ii = i + di, jj = j + dj
                if ii < 0 || jj < 0 || ii >= inner || jj >= inner { b[row] += c } else { coo.add(row, ii * inner + jj, -c) }
            }
        } }
        let factor = try CholmodFactorization(matrix: coo.build())
        let x = try factor.solve(b)
        var v = [Double](repeating: 1, count: n * n)
        for i in 0..<inner { for j in 0..<inner { v[(i + 1) * n + j + 1] = x[i * inner + j] } }
        return v
    }
}

/// A ready collocation problem: the PDE, its points and Dirichlet data, and test points with
/// reference values (exact, Cole–Hopf, or the eikonal finite-difference reference).
public struct CollocationCase: Sendable {
    public let name: String
    public let pde: CollocationPDE
    public let interior: PointSet
    public let boundary: PointSet
    public let boundaryValues: [Double]
    public let test: PointSet
    public let reference: [Double]
    /// A suggested kernel (the papers' choice for this problem).
    public let kernel: CovarianceKernel

    /// How `make` places the collocation points.
    public enum Sampling: String, Sendable, CaseIterable {
        /// Uniform random interior and boundary points (the paper's choice), seeded.
        case random
        /// Halton interior points and evenly spaced boundary points (deterministic).
        case halton
    }

    /// The case names `make` knows.
    public static let names = ["poisson", "nonlinear-elliptic", "burgers", "eikonal", "darcy"]

    /// Builds a case: `interior` random interior points, `boundaryPerSide` random points per
    /// side (Burgers: on x = ±1 and t = 0, none on t = 1), seeded; the reference on a
    /// `testPoints`² grid including the boundary (eikonal: its interior nodes).
    public static func make(_ name: String, interior: Int, boundaryPerSide: Int, testPoints: Int = 60,
                            sampling: Sampling = .random, seed: UInt64 = 0) throws -> CollocationCase {
        guard interior >= 1 else {
            throw PDEError.invalidValue(key: "interior", value: "\(interior)", expected: "at least 1 interior point")
        }
        guard boundaryPerSide >= 0 else {
            throw PDEError.invalidValue(key: "boundary_per_side", value: "\(boundaryPerSide)", expected: "a non-negative count")
        }
        guard testPoints >= 3 else {
            throw PDEError.invalidValue(key: "test_points", value: "\(testPoints)", expected: "at least 3 test points per side")
        }
        let unit = ([0.0, 0.0], [1.0, 1.0])
        switch name {
        case "poisson", "nonlinear-elliptic":
            let (pde, exact) = CollocationExamples.nonlinearElliptic(alpha: name == "poisson" ? 0 : 1)
            let x = try points(unit.0, unit.1, interior, sampling, seed)
            let b = try sides(unit.0, unit.1, boundaryPerSide, [0, 1, 2, 3], sampling, seed)
            let test = try CollocationPoints.grid(lower: unit.0, upper: unit.1, counts: [testPoints, testPoints])
            return CollocationCase(name: name, pde: pde, interior: x, boundary: b, boundaryValues: b.points.map(exact),
                                   test: test, reference: test.points.map(exact),
                                   kernel: try RadialKernel(.gaussian, lengthscale: 0.2))
        case "burgers":
            let nu = 0.02
            let lower = [-1.0, 0.0], upper = [1.0, 1.0]
            let x = try points(lower, upper, interior, sampling, seed)
            let b = try sides(lower, upper, boundaryPerSide, [0, 1, 2], sampling, seed)
            let values = b.points.map { $0[1] == 0 ? -sin(.pi * $0[0]) : 0 }
            let test = try CollocationPoints.grid(lower: lower, upper: upper, counts: [testPoints, testPoints])
            let reference = try ColeHopfBurgers(viscosity: nu)
            // The paper's kernel exp(−(Δt/0.3)² − (Δx/0.05)²) in the exp(−d²/2ℓ²) convention.
            let kernel = try RadialKernel(.gaussian, lengthscales: [0.05 / 2.0.squareRoot(), 0.3 / 2.0.squareRoot()])
            return CollocationCase(name: name, pde: CollocationExamples.burgers(viscosity: nu), interior: x, boundary: b,
                                   boundaryValues: values, test: test,
                                   reference: test.points.map { reference.value(x: $0[0], t: $0[1]) }, kernel: kernel)
        case "eikonal":
            let epsilon = 0.1
            let x = try points(unit.0, unit.1, interior, sampling, seed)
            let b = try sides(unit.0, unit.1, boundaryPerSide, [0, 1, 2, 3], sampling, seed)
            // Reference on a grid 4× finer than the test grid (then Richardson on 8×).
            let m = testPoints - 1
            let ref = try EikonalReference(epsilon: epsilon, intervals: 4 * m)
            var pts: [SIMD4<Double>] = [], values: [Double] = []
            for i in 1..<m { for j in 1..<m {
                pts.append(SIMD4(Double(i) / Double(m), Double(j) / Double(m), 0, 0))
                values.append(ref.u(i: 4 * i, j: 4 * j))
            } }
            return CollocationCase(name: name, pde: CollocationExamples.eikonal(epsilon: epsilon), interior: x, boundary: b,
                                   boundaryValues: [Double](repeating: 0, count: b.count),
                                   test: PointSet(dimension: 2, points: pts), reference: values,
                                   kernel: try RadialKernel(.gaussian, lengthscale: 0.2))
        case "darcy":
            let (pde, exact) = CollocationExamples.darcy()
            let x = try points(unit.0, unit.1, interior, sampling, seed)
            let b = try sides(unit.0, unit.1, boundaryPerSide, [0, 1, 2, 3], sampling, seed)
            let test = try CollocationPoints.grid(lower: unit.0, upper: unit.1, counts: [testPoints, testPoints])
            return CollocationCase(name: name, pde: pde, interior: x, boundary: b, boundaryValues: b.points.map(exact),
                                   test: test, reference: test.points.map(exact),
                                   kernel: try RadialKernel(.gaussian, lengthscale: 0.2))
        default:
            throw PDEError.invalidValue(key: "problem", value: name, expected: "one of \(names.joined(separator: ", "))")
        }
    }

    private static func points(_ lower: [Double], _ upper: [Double], _ count: Int, _ sampling: Sampling,
                               _ seed: UInt64) throws -> PointSet {
        switch sampling {
        case .random: return try CollocationPoints.randomInterior(lower: lower, upper: upper, count: count, seed: seed)
        case .halton: return try CollocationPoints.halton(lower: lower, upper: upper, count: count)
        }
    }

    private static func sides(_ lower: [Double], _ upper: [Double], _ perSide: Int, _ which: [Int], _ sampling: Sampling,
                              _ seed: UInt64) throws -> PointSet {
        switch sampling {
        case .random: return try CollocationPoints.randomBoundary(lower: lower, upper: upper, perSide: perSide, sides: which, seed: seed &+ 1)
        case .halton: return try CollocationPoints.evenBoundary(lower: lower, upper: upper, perSide: perSide, sides: which)
        }
    }

    /// RMS and maximum error of a solution against the reference at the test points.
    public func errors(_ solution: CollocationSolution) throws -> (rms: Double, max: Double) {
        let u = try solution.predict(test)
        var sum = 0.0, worst = 0.0
        for (a, b) in zip(u, reference) {
            sum += (a - b) * (a - b)
            worst = max(worst, abs(a - b))
        }
        return ((sum / Double(max(1, u.count))).squareRoot(), worst)
    }
}
