import Foundation

/// Triangle meshes of common domains.
public enum MeshGenerator {
    /// Boundary tags of `rectangle`: xmin, xmax, ymin, ymax.
    public static let rectangleTags = (xmin: 1, xmax: 2, ymin: 3, ymax: 4)

    /// A structured mesh of [lower, upper] with nx × ny cells, each split into two triangles
    /// along a diagonal whose direction alternates like a checkerboard (so the mesh has no
    /// preferred direction). Boundary tags: 1 xmin, 2 xmax, 3 ymin, 4 ymax.
    public static func rectangle(lower: [Double] = [0, 0], upper: [Double] = [1, 1], nx: Int, ny: Int) throws -> TriangleMesh {
        guard nx >= 1, ny >= 1 else {
            throw PDEError.invalidValue(key: "rectangle cells", value: "\(nx)×\(ny)", expected: "at least 1×1 cells")
        }
        guard lower.count == 2, upper.count == 2, upper[0] > lower[0], upper[1] > lower[1] else {
            throw PDEError.invalidValue(key: "rectangle bounds", value: "\(lower)–\(upper)", expected: "2-D bounds with lower < upper")
        }
        var verts: [SIMD2<Double>] = []
        verts.reserveCapacity((nx + 1) * (ny + 1))
        for j in 0...ny {
            for i in 0...nx {
                verts.append(SIMD2(i == nx ? upper[0] : lower[0] + (upper[0] - lower[0]) * Double(i) / Double(nx),
                                   j == ny ? upper[1] : lower[1] + (upper[1] - lower[1]) * Double(j) / Double(ny)))
            }
        }
        func v(_ i: Int, _ j: Int) -> Int32 { Int32(i + (nx + 1) * j) }
        var tris: [SIMD3<Int32>] = []
        tris.reserveCapacity(2 * nx * ny)
        for j in 0..<ny {
            for i in 0..<nx {
                let (a, b, c, d) = (v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1))
                if (i + j) % 2 == 0 {
                    tris.append(SIMD3(a, b, c)); tris.append(SIMD3(a, c, d))
                } else {
                    tris.append(SIMD3(a, b, d)); tris.append(SIMD3(b, c, d))
                }
            }
        }
        var edges: [TriangleMesh.BoundaryEdge] = []
        for i in 0..<nx {
            edges.append(.init(Int(v(i, 0)), Int(v(i + 1, 0)), tag: rectangleTags.ymin))
            edges.append(.init(Int(v(i + 1, ny)), Int(v(i, ny)), tag: rectangleTags.ymax))
        }
        for j in 0..<ny {
            edges.append(.init(Int(v(nx, j)), Int(v(nx, j + 1)), tag: rectangleTags.xmax))
            edges.append(.init(Int(v(0, j + 1)), Int(v(0, j)), tag: rectangleTags.xmin))
        }
        return try TriangleMesh(vertices: verts, triangles: tris, boundaryEdges: edges)
    }

    /// An unstructured mesh of a disk: `resolution` concentric rings of vertices (ring k
    /// has 6k vertices, each ring rotated by a different irrational fraction of its
    /// spacing), consecutive rings stitched by merging their angular orders. Boundary
    /// vertices lie exactly on the circle; boundary tag 1. Minimum angle ≈ 30°.
    public static func disk(center: [Double] = [0, 0], radius: Double = 1, resolution: Int) throws -> TriangleMesh {
        guard resolution >= 1 else {
            throw PDEError.invalidValue(key: "disk resolution", value: "\(resolution)", expected: "an integer ≥ 1 (rings of vertices)")
        }
        guard radius > 0, radius.isFinite, center.count == 2 else {
            throw PDEError.invalidValue(key: "disk", value: "center \(center), radius \(radius)", expected: "a 2-D center and a positive radius")
        }
        let c = SIMD2(center[0], center[1])
        var verts: [SIMD2<Double>] = [c]
        var ringStart = [0]
        var ringAngles: [[Double]] = [[0]]
        let golden = (5.0.squareRoot() - 1) / 2
        for k in 1...resolution {
            let m = 6 * k
            let r = radius * Double(k) / Double(resolution)
            let offset = (Double(k) * golden).truncatingRemainder(dividingBy: 1) * 2 * .pi / Double(m)
            ringStart.append(verts.count)
            var angles: [Double] = []
            for j in 0..<m {
                let t = offset + 2 * .pi * Double(j) / Double(m)
                angles.append(t)
                verts.append(k == resolution ? c + SIMD2(radius * cos(t), radius * sin(t)) : c + SIMD2(r * cos(t), r * sin(t)))
            }
            ringAngles.append(angles)
        }
        var tris: [SIMD3<Int32>] = []
        // Fan around the centre.
        for j in 0..<6 { tris.append(SIMD3(0, Int32(1 + j), Int32(1 + (j + 1) % 6))) }
        // Strips between rings k and k+1.
        for k in 1..<max(1, resolution) where k < resolution {
            let inner = ringAngles[k], outer = ringAngles[k + 1]
            let mi = inner.count, mo = outer.count
            // Angles relative to the first inner vertex, in [0, 2π); the outer ring starts at
            // the first vertex at or after it.
            let twoPi = 2 * Double.pi
            func rel(_ t: Double) -> Double {
                let r = (t - inner[0]).truncatingRemainder(dividingBy: twoPi)
                return r < 0 ? r + twoPi : r
            }
            var j0 = 0
            for j in 0..<mo where rel(outer[j]) < rel(outer[j0]) { j0 = j }
            func aAngle(_ i: Int) -> Double { i >= mi ? twoPi : rel(inner[i]) }
            func bAngle(_ j: Int) -> Double { j >= mo ? rel(outer[j0]) + twoPi : rel(outer[(j0 + j) % mo]) }
            func A(_ i: Int) -> Int32 { Int32(ringStart[k] + i % mi) }
            func B(_ j: Int) -> Int32 { Int32(ringStart[k + 1] + (j0 + j) % mo) }
            var i = 0, j = 0
            while i < mi || j < mo {
                if j == mo || (i < mi && aAngle(i + 1) < bAngle(j + 1)) {
                    tris.append(SIMD3(A(i), B(j), A(i + 1)))
                    i += 1
                } else {
                    tris.append(SIMD3(A(i), B(j), B(j + 1)))
                    j += 1
                }
            }
        }
        let outerStart = ringStart[resolution], m = 6 * resolution
        let edges = (0..<m).map { TriangleMesh.BoundaryEdge(outerStart + $0, outerStart + ($0 + 1) % m, tag: 1) }
        return try TriangleMesh(vertices: verts, triangles: tris, boundaryEdges: edges)
    }

    /// Projection onto the circle, for `TriangleMesh.refined(project:)` of a disk mesh.
    public static func circleProjection(center: [Double] = [0, 0], radius: Double = 1) -> (SIMD2<Double>) -> SIMD2<Double> {
        let c = SIMD2(center[0], center[1])
        return { p in
            let d = p - c
            let r = (d * d).sum().squareRoot()
            return r > 0 ? c + d * (radius / r) : p
        }
    }

    /// The L-shaped domain [−1,1]² minus (0,1]×[−1,0): 2·resolution cells per side of the
    /// square, checkerboard diagonals, every boundary edge tagged 1.
    public static func lShape(resolution: Int) throws -> TriangleMesh {
        guard resolution >= 1 else {
            throw PDEError.invalidValue(key: "lshape resolution", value: "\(resolution)", expected: "an integer ≥ 1")
        }
        let n = 2 * resolution
        var index = [Int32](repeating: -1, count: (n + 1) * (n + 1))
        var verts: [SIMD2<Double>] = []
        func inside(_ i: Int, _ j: Int) -> Bool { !(i >= resolution && j < resolution) }  // cell (i, j)
        func v(_ i: Int, _ j: Int) -> Int32 {
            let k = i + (n + 1) * j
            if index[k] < 0 {
                index[k] = Int32(verts.count)
                verts.append(SIMD2(-1 + 2 * Double(i) / Double(n), -1 + 2 * Double(j) / Double(n)))
            }
            return index[k]
        }
        var tris: [SIMD3<Int32>] = []
        for j in 0..<n {
            for i in 0..<n where inside(i, j) {
                let (a, b, c, d) = (v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1))
                if (i + j) % 2 == 0 {
                    tris.append(SIMD3(a, b, c)); tris.append(SIMD3(a, c, d))
                } else {
                    tris.append(SIMD3(a, b, d)); tris.append(SIMD3(b, c, d))
                }
            }
        }
        return try TriangleMesh(vertices: verts, triangles: tris)
    }
}
