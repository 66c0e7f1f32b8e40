import Foundation

/// A conforming 2-D triangle mesh: vertices, counter-clockwise triangles and tagged
/// boundary edges (Gmsh physical tags, or the generators' side numbers).
public struct TriangleMesh: Sendable, Equatable {
    /// A boundary edge from `v0` to `v1` with a tag.
    public struct BoundaryEdge: Sendable, Equatable, Hashable {
        public var v0: Int, v1: Int, tag: Int
        /// An edge between vertex indices `v0` and `v1` with boundary `tag`; not validated here
        /// (`TriangleMesh.init` checks the indices).
        public init(_ v0: Int, _ v1: Int, tag: Int) { self.v0 = v0; self.v1 = v1; self.tag = tag }
    }

    public let vertices: [SIMD2<Double>]
    /// Vertex indices per triangle (Int32), counter-clockwise.
    public let triangles: [SIMD3<Int32>]
    /// Tagged boundary edges: as given, or every edge of a single triangle with `defaultTag`.
    public let boundaryEdges: [BoundaryEdge]

    /// Validates indices and orientation. Triangles given clockwise are an error (use
    /// `orienting: true` to flip them instead); zero-area triangles are always an error.
    /// Without `boundaryEdges`, the edges used by a single triangle get tag `defaultTag`.
    public init(vertices: [SIMD2<Double>], triangles: [SIMD3<Int32>], boundaryEdges: [BoundaryEdge]? = nil,
                defaultTag: Int = 1, orienting: Bool = false) throws {
        guard !triangles.isEmpty else { throw PDEError.invalidMesh(reason: "no triangles") }
        var tris = triangles
        let scale = vertices.reduce(0.0) { max($0, abs($1.x), abs($1.y)) }
        for (t, tri) in triangles.enumerated() {
            for k in 0..<3 where tri[k] < 0 || Int(tri[k]) >= vertices.count {
                throw PDEError.invalidMesh(reason: "triangle \(t) has vertex index \(tri[k]) outside 0..<\(vertices.count)")
            }
            if tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] {
                throw PDEError.invalidMesh(reason: "triangle \(t) repeats a vertex: \(tri[0]), \(tri[1]), \(tri[2])")
            }
            let area = TriangleMesh.signedArea(vertices[Int(tri[0])], vertices[Int(tri[1])], vertices[Int(tri[2])])
            if !(abs(area) > 1e-14 * max(scale * scale, 1e-300)) {
                throw PDEError.invalidMesh(reason: "triangle \(t) (vertices \(tri[0]), \(tri[1]), \(tri[2])) is degenerate: zero area")
            }
            if area < 0 {
                if orienting { tris[t] = SIMD3(tri[0], tri[2], tri[1]) } else {
                    throw PDEError.invalidMesh(reason: "triangle \(t) (vertices \(tri[0]), \(tri[1]), \(tri[2])) is inverted: clockwise, signed area \(area)")
                }
            }
        }
        self.vertices = vertices
        self.triangles = tris
        if let edges = boundaryEdges {
            for e in edges where e.v0 < 0 || e.v1 < 0 || e.v0 >= vertices.count || e.v1 >= vertices.count || e.v0 == e.v1 {
                throw PDEError.invalidMesh(reason: "boundary edge (\(e.v0), \(e.v1)) has a bad vertex index")
            }
            self.boundaryEdges = edges
        } else {
            self.boundaryEdges = TriangleMesh.extractBoundary(tris).map { BoundaryEdge($0.0, $0.1, tag: defaultTag) }
        }
    }

    public var vertexCount: Int { vertices.count }
    public var triangleCount: Int { triangles.count }

    @inline(__always)
    static func signedArea(_ a: SIMD2<Double>, _ b: SIMD2<Double>, _ c: SIMD2<Double>) -> Double {
        0.5 * ((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y))
    }

    /// Edges used by exactly one triangle, oriented as in that (counter-clockwise) triangle.
    static func extractBoundary(_ tris: [SIMD3<Int32>]) -> [(Int, Int)] {
        var count: [UInt64: Int] = [:]
        var directed: [UInt64: (Int, Int)] = [:]
        count.reserveCapacity(3 * tris.count)
        for t in tris {
            for k in 0..<3 {
                let a = Int(t[k]), b = Int(t[(k + 1) % 3])
                let key = UInt64(min(a, b)) << 32 | UInt64(max(a, b))
                count[key, default: 0] += 1
                directed[key] = (a, b)
            }
        }
        return count.filter { $0.value == 1 }.keys.sorted().map { directed[$0]! }
    }

    /// Area of each triangle.
    public var areas: [Double] {
        triangles.map { TriangleMesh.signedArea(vertices[Int($0[0])], vertices[Int($0[1])], vertices[Int($0[2])]) }
    }

    /// Vertices on tagged boundary edges, sorted.
    public var boundaryVertices: [Int] {
        Array(Set(boundaryEdges.flatMap { [$0.v0, $0.v1] })).sorted()
    }

    /// Mesh quality: smallest and largest interior angle (degrees), smallest area, longest edge.
    public struct Quality: Sendable, CustomStringConvertible {
        public var minimumAngle: Double, maximumAngle: Double, minimumArea: Double, maximumEdge: Double
        public var description: String {
            String(format: "angles %.1f°–%.1f°, min area %.3e, h_max %.4g", minimumAngle, maximumAngle, minimumArea, maximumEdge)
        }
    }

    /// Angles, smallest area and longest edge over all triangles (recomputed on every read, O(triangles)).
    public var quality: Quality {
        var q = Quality(minimumAngle: 180, maximumAngle: 0, minimumArea: .infinity, maximumEdge: 0)
        for t in triangles {
            let p = [vertices[Int(t[0])], vertices[Int(t[1])], vertices[Int(t[2])]]
            for k in 0..<3 {
                let u = p[(k + 1) % 3] - p[k], v = p[(k + 2) % 3] - p[k]
                let cosine = (u * v).sum() / ((u * u).sum().squareRoot() * (v * v).sum().squareRoot())
                let angle = acos(min(1, max(-1, cosine))) * 180 / .pi
                q.minimumAngle = min(q.minimumAngle, angle)
                q.maximumAngle = max(q.maximumAngle, angle)
                q.maximumEdge = max(q.maximumEdge, (u * u).sum().squareRoot())
            }
            q.minimumArea = min(q.minimumArea, TriangleMesh.signedArea(p[0], p[1], p[2]))
        }
        return q
    }

    /// Smallest interior angle in degrees.
    public func minimumAngle() -> Double { quality.minimumAngle }

    /// Uniform red refinement: every triangle becomes four by its edge midpoints; boundary
    /// edges split in two keeping their tags. `project` moves new boundary midpoints (e.g.
    /// onto a circle) so curved boundaries are followed.
    public func refined(project: ((SIMD2<Double>) -> SIMD2<Double>)? = nil) throws -> TriangleMesh {
        var verts = vertices
        var midpoint: [UInt64: Int32] = [:]
        midpoint.reserveCapacity(3 * triangles.count / 2 + boundaryEdges.count)
        let boundaryKeys = Set(boundaryEdges.map { UInt64(min($0.v0, $0.v1)) << 32 | UInt64(max($0.v0, $0.v1)) })
        func mid(_ a: Int32, _ b: Int32) -> Int32 {
            let key = UInt64(min(a, b)) << 32 | UInt64(max(a, b))
            if let m = midpoint[key] { return m }
            var p = 0.5 * (vertices[Int(a)] + vertices[Int(b)])
            if let project, boundaryKeys.contains(key) { p = project(p) }
            verts.append(p)
            let m = Int32(verts.count - 1)
            midpoint[key] = m
            return m
        }
        var tris: [SIMD3<Int32>] = []
        tris.reserveCapacity(4 * triangles.count)
        for t in triangles {
            let (a, b, c) = (t[0], t[1], t[2])
            let ab = mid(a, b), bc = mid(b, c), ca = mid(c, a)
            tris.append(SIMD3(a, ab, ca)); tris.append(SIMD3(ab, b, bc)); tris.append(SIMD3(ca, bc, c)); tris.append(SIMD3(ab, bc, ca))
        }
        var edges: [BoundaryEdge] = []
        for e in boundaryEdges {
            let m = Int(mid(Int32(e.v0), Int32(e.v1)))
            edges.append(BoundaryEdge(e.v0, m, tag: e.tag))
            edges.append(BoundaryEdge(m, e.v1, tag: e.tag))
        }
        return try TriangleMesh(vertices: verts, triangles: tris, boundaryEdges: edges)
    }

    /// Vertex positions as [x, y] arrays (for writers).
    public var vertexArrays: [[Double]] { vertices.map { [$0.x, $0.y] } }
    /// Triangles as index arrays (for writers).
    public var triangleArrays: [[Int]] { triangles.map { [Int($0[0]), Int($0[1]), Int($0[2])] } }
}
