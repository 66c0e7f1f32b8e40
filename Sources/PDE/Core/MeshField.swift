/// Quadrature on the reference triangle: barycentric points and weights summing to 1.
enum TriangleQuadrature {
    /// Dunavant's 6-point rule, exact for polynomials of degree 4.
    static let degree4: [(SIMD3<Double>, Double)] = {
        let a = 0.445948490915965, b = 0.108103018168070, wa = 0.223381589678011
        let c = 0.091576213509771, d = 0.816847572980459, wc = 0.109951743655322
        return [(SIMD3(b, a, a), wa), (SIMD3(a, b, a), wa), (SIMD3(a, a, b), wa),
                (SIMD3(d, c, c), wc), (SIMD3(c, d, c), wc), (SIMD3(c, c, d), wc)]
    }()
    /// Edge midpoints, exact for degree 2.
    static let midpoints: [(SIMD3<Double>, Double)] = [
        (SIMD3(0.5, 0.5, 0), 1.0 / 3), (SIMD3(0, 0.5, 0.5), 1.0 / 3), (SIMD3(0.5, 0, 0.5), 1.0 / 3),
    ]
    /// 3-point Gauss–Legendre on [0, 1] (degree 5) for boundary edges: (t, weight).
    static let gauss3: [(Double, Double)] = {
        let s = (0.6).squareRoot() / 2
        return [(0.5 - s, 5.0 / 18), (0.5, 8.0 / 18), (0.5 + s, 5.0 / 18)]
    }()
}

/// A P1 (piecewise-linear) function on a triangle mesh, with exact norms and
/// high-order-quadrature errors against analytic functions.
public struct MeshField: Sendable {
    public let mesh: TriangleMesh
    /// One value per vertex, in `mesh.vertices` order.
    public var values: [Double]

    /// Wraps one value per vertex (in `mesh.vertices` order); throws `PDEError.shapeMismatch`
    /// for any other count.
    public init(mesh: TriangleMesh, values: [Double]) throws {
        guard values.count == mesh.vertexCount else {
            throw PDEError.shapeMismatch(what: "mesh field", expected: "\(mesh.vertexCount) values (one per vertex)", got: "\(values.count)")
        }
        self.mesh = mesh
        self.values = values
    }

    /// The P1 interpolant of `f`: `f` is called with [x, y] at every vertex.
    public init(mesh: TriangleMesh, sampling f: ([Double]) -> Double) {
        self.mesh = mesh
        values = mesh.vertices.map { f([$0.x, $0.y]) }
    }

    /// ∫ u.
    public func integral() -> Double {
        var s = 0.0
        for (t, a) in zip(mesh.triangles, mesh.areas) {
            s += a / 3 * (values[Int(t[0])] + values[Int(t[1])] + values[Int(t[2])])
        }
        return s
    }

    /// max |uᵢ| over the vertices, which is the exact sup norm of a P1 function; NaN entries are
    /// skipped (Swift's `max`), not propagated.
    public func maxNorm() -> Double { Vectors.maxAbs(values) }

    /// (∫ u²)^½, exact for P1.
    public func l2Norm() -> Double { errors(against: { _ in 0 }, gradient: { _ in [0, 0] }).l2 }

    /// (∫ |∇u|²)^½, exact for P1.
    public func h1Seminorm() -> Double { errors(against: { _ in 0 }, gradient: { _ in [0, 0] }).h1 }

    /// ‖u_h − u‖ in L² and the H¹ seminorm by Dunavant's degree-4 rule on every triangle
    /// (not by vertex sampling), and the max error at the vertices.
    public func errors(against exact: ([Double]) -> Double, gradient: ([Double]) -> [Double]) -> FieldErrors {
        var l2 = 0.0, h1 = 0.0, mx = 0.0
        for t in mesh.triangles {
            let ids = [Int(t[0]), Int(t[1]), Int(t[2])]
            let p0 = mesh.vertices[ids[0]], p1 = mesh.vertices[ids[1]], p2 = mesh.vertices[ids[2]]
            let area = TriangleMesh.signedArea(p0, p1, p2)
            let g = [SIMD2(p1.y - p2.y, p2.x - p1.x), SIMD2(p2.y - p0.y, p0.x - p2.x), SIMD2(p0.y - p1.y, p1.x - p0.x)].map { $0 / (2 * area) }
            let grad = values[ids[0]] * g[0] + values[ids[1]] * g[1] + values[ids[2]] * g[2]
            for (l, w) in TriangleQuadrature.degree4 {
                let q = l[0] * p0 + l[1] * p1 + l[2] * p2
                let x = [q.x, q.y]
                let uh = l[0] * values[ids[0]] + l[1] * values[ids[1]] + l[2] * values[ids[2]]
                let e = uh - exact(x)
                l2 += w * area * e * e
                let ge = gradient(x)
                let dx = grad.x - ge[0], dy = grad.y - ge[1]
                h1 += w * area * (dx * dx + dy * dy)
            }
        }
        for (v, p) in mesh.vertices.enumerated() { mx = max(mx, abs(values[v] - exact([p.x, p.y]))) }
        return FieldErrors(l2: l2.squareRoot(), max: mx, h1: h1.squareRoot())
    }

    /// Adds the constant that makes the mean (∫u/|Ω|) equal to `exact`'s: compares a
    /// solution of a pure-Neumann problem with the exact one, up to the null space.
    public mutating func alignMean(with exact: ([Double]) -> Double) {
        let shift = MeshField(mesh: mesh, sampling: exact).integral() / mesh.areas.reduce(0, +)
            - integral() / mesh.areas.reduce(0, +)
        for i in 0..<values.count { values[i] += shift }
    }
}
