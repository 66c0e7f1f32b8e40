import Foundation
import Testing
@testable import PDE

@Suite struct GmshFormatTests {
    /// Boundary edges as a sorted list (writers group them by tag, so order may change).
    static func sortedEdges(_ m: TriangleMesh) -> [TriangleMesh.BoundaryEdge] {
        m.boundaryEdges.sorted { ($0.tag, $0.v0, $0.v1) < ($1.tag, $1.v0, $1.v1) }
    }

    @Test("A generated disk mesh round-trips through 4.1 ASCII, 4.1 binary and 2.2 ASCII",
          arguments: Gmsh.Format.allCases)
    func diskRoundTrip(format: Gmsh.Format) throws {
        let dir = makeTemporaryFolder()
        let disk = try MeshGenerator.disk(resolution: 6)
        // Two boundary tags, so the writers' per-tag blocks and entities are exercised.
        let tagged = try TriangleMesh(vertices: disk.vertices, triangles: disk.triangles,
                                      boundaryEdges: disk.boundaryEdges.map { .init($0.v0, $0.v1, tag: $0.v0 % 2 == 0 ? 3 : 7) })
        for mesh in [disk, tagged] {
            try Gmsh.write(mesh, to: dir + "/m.msh", format: format)
            let back = try Gmsh.read(dir + "/m.msh")
            #expect(back.vertices == mesh.vertices)
            #expect(back.triangles == mesh.triangles)
            #expect(Self.sortedEdges(back) == Self.sortedEdges(mesh))
        }
        let head = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.msh")).prefix(20)
        let expectedHeader = ["4.1 0 8", "4.1 1 8", "2.2 0 8"][Gmsh.Format.allCases.firstIndex(of: format)!]
        #expect(String(decoding: head, as: UTF8.self).contains(expectedHeader))
    }

    @Test func gmsh22ReadsPhysicalTagsAndSkipsPoints() throws {
        let dir = makeTemporaryFolder()
        let text = """
        $MeshFormat
        2.2 0 8
        $EndMeshFormat
        $PhysicalNames
        2
        1 5 "wall"
        2 9 "domain"
        $EndPhysicalNames
        $Nodes
        4
        10 0 0 0
        20 1 0 0
        30 1 1 0
        40 0 1 0
        $EndNodes
        $Elements
        6
        1 15 2 0 1 10
        2 1 2 5 1 10 20
        3 1 2 0 4 20 30
        4 1 0 30 40
        5 2 2 9 1 10 30 20
        6 2 2 9 1 10 30 40
        $EndElements

        """
        try text.write(toFile: dir + "/a.msh", atomically: true, encoding: .utf8)
        let m = try Gmsh.read(dir + "/a.msh")
        #expect(m.vertexCount == 4 && m.triangleCount == 2 && m.areas.allSatisfy { $0 > 0 })
        // Physical tag 5; physical 0 → elementary 4; no tags → 0.
        #expect(m.boundaryEdges.map(\.tag) == [5, 4, 0])
    }

    /// Binary files with one field replaced: each is a typed error naming the problem.
    @Test func malformedBinary() throws {
        let dir = makeTemporaryFolder()
        let mesh = try MeshGenerator.rectangle(nx: 2, ny: 2)
        try Gmsh.write(mesh, to: dir + "/b.msh", format: .binary41)
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/b.msh")))
        func offset(after marker: String) -> Int {
            let m = Array((marker + "\n").utf8)
            let i = good.indices.first { good[$0...].starts(with: m) }!
            return i + m.count
        }
        func put(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for k in 0..<8 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        let nodes = offset(after: "$Nodes"), elements = offset(after: "$Elements"), format = offset(after: "4.1 1 8")
        var cases: [([UInt8], String)] = []
        var b = good; put(&b, nodes + 8, 999_999_999_999); cases.append((b, "numNodes of $Nodes 999999999999"))
        b = good; put(&b, nodes, UInt64.max); cases.append((b, "numEntityBlocks of $Nodes 18446744073709551615"))
        b = good; put(&b, nodes + 32 + 12, 1 << 62); cases.append((b, "numNodesInBlock"))
        b = good; put(&b, elements + 8, 1 << 63); cases.append((b, "numElements"))
        b = good; put(&b, elements + 32 + 12, 999_999_999_999); cases.append((b, "numElementsInBlock 999999999999"))
        b = good; b[format] = 0; b[format + 3] = 1; cases.append((b, "big-endian"))
        b = good; put(&b, nodes + 32 + 20 + 8 * mesh.vertexCount, Double.nan.bitPattern); cases.append((b, "nan in node coordinates"))
        b = good; put(&b, nodes + 32 + 20, UInt64(Int64.max)); put(&b, nodes + 32 + 20 + 8, UInt64(Int64.max))
        cases.append((b, "node tag 9223372036854775807 appears twice"))
        b = Array(good.prefix(elements + 40)); cases.append((b, "bytes left"))
        // An element referring to a node tag that does not exist.
        b = good; put(&b, elements + 32 + 20 + 8, 77); cases.append((b, "unknown node tag 77"))
        for (bytes, reason) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/x.msh"))
            #expect { try Gmsh.read(dir + "/x.msh") } throws: { e in
                guard case let PDEError.malformedFile(p, _, why) = e else { return false }
                return p == dir + "/x.msh" && why.contains(reason)
            }
        }
    }
}
