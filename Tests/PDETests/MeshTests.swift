import Foundation
import Testing
@testable import PDE

@Suite struct MeshTests {
    @Test func validationRejectsBadTriangles() {
        let v: [SIMD2<Double>] = [SIMD2(0, 0), SIMD2(1, 0), SIMD2(0, 1), SIMD2(2, 0)]
        func reason(_ tris: [SIMD3<Int32>]) -> String? {
            do { _ = try TriangleMesh(vertices: v, triangles: tris); return nil } catch let PDEError.invalidMesh(r) { return r } catch { return "\(error)" }
        }
        #expect(reason([SIMD3(0, 2, 1)])?.contains("inverted") == true)
        #expect(reason([SIMD3(0, 1, 3)])?.contains("degenerate") == true)
        #expect(reason([SIMD3(0, 1, 7)])?.contains("outside") == true)
        #expect(reason([SIMD3(0, 1, 1)])?.contains("repeats") == true)
        #expect(reason([])?.contains("no triangles") == true)
        #expect(reason([SIMD3(0, 1, 2)]) == nil)
        // Orienting flips clockwise triangles instead.
        let m = try? TriangleMesh(vertices: v, triangles: [SIMD3(0, 2, 1)], orienting: true)
        #expect(m?.areas == [0.5])
    }

    @Test func rectangleMesh() throws {
        let m = try MeshGenerator.rectangle(lower: [0, 0], upper: [2, 1], nx: 8, ny: 4)
        #expect(m.triangleCount == 64 && m.vertexCount == 45)
        #expect(abs(m.areas.reduce(0, +) - 2) < 1e-13)
        #expect(Set(m.boundaryEdges.map(\.tag)) == [1, 2, 3, 4])
        #expect(m.boundaryEdges.count == 24)
        #expect(abs(m.minimumAngle() - 45) < 1e-9)
        #expect(throws: PDEError.self) { try MeshGenerator.rectangle(nx: 0, ny: 3) }
    }

    @Test func diskMeshQualityAndArea() throws {
        var previousError = Double.infinity
        for n in [4, 8, 16] {
            let m = try MeshGenerator.disk(resolution: n)
            #expect(m.vertexCount == 1 + 3 * n * (n + 1))
            #expect(m.minimumAngle() > 20, "resolution \(n): \(m.quality)")
            let error = abs(m.areas.reduce(0, +) - Double.pi)
            #expect(error < previousError)
            previousError = error
            for v in m.boundaryVertices { #expect(abs((m.vertices[v] * m.vertices[v]).sum().squareRoot() - 1) < 1e-14) }
            #expect(m.boundaryEdges.count == 6 * n)
        }
        #expect(previousError < 0.01)
        #expect(throws: PDEError.self) { try MeshGenerator.disk(resolution: 0) }
        #expect(throws: PDEError.self) { try MeshGenerator.disk(radius: -1, resolution: 3) }
    }

    @Test func refinementQuadruplesAndFollowsTheCircle() throws {
        let m = try MeshGenerator.disk(resolution: 3)
        let r = try m.refined(project: MeshGenerator.circleProjection())
        #expect(r.triangleCount == 4 * m.triangleCount)
        #expect(r.boundaryEdges.count == 2 * m.boundaryEdges.count)
        for v in r.boundaryVertices { #expect(abs((r.vertices[v] * r.vertices[v]).sum().squareRoot() - 1) < 1e-14) }
        #expect(abs(r.areas.reduce(0, +) - Double.pi) < abs(m.areas.reduce(0, +) - Double.pi))
        #expect(r.minimumAngle() > 15)
    }

    @Test func lShapeMesh() throws {
        let m = try MeshGenerator.lShape(resolution: 4)
        #expect(abs(m.areas.reduce(0, +) - 3) < 1e-13)
        #expect(m.triangleCount == 2 * 3 * 16)
        #expect(m.boundaryEdges.count == 8 * 4)
    }

    @Test func gmshRoundTripAndShippedMesh() throws {
        let dir = makeTemporaryFolder()
        let m = try MeshGenerator.rectangle(nx: 3, ny: 2)
        try Gmsh.write(m, to: dir + "/r.msh")
        let back = try Gmsh.read(dir + "/r.msh")
        #expect(back.vertices == m.vertices && back.triangles == m.triangles)
        #expect(Set(back.boundaryEdges) == Set(m.boundaryEdges))
        let shipped = try Gmsh.read("data/meshes/disk.msh")
        #expect(shipped.triangleCount > 100)
        #expect(abs(shipped.areas.reduce(0, +) - Double.pi) < 0.05)
        #expect(shipped.minimumAngle() > 20)
    }

    @Test func gmshReadsSparseTagsAndFlipsClockwiseTriangles() throws {
        let dir = makeTemporaryFolder()
        let text = """
        $MeshFormat
        4.1 0 8
        $EndMeshFormat
        $PhysicalNames
        1
        1 7 "wall"
        $EndPhysicalNames
        $Entities
        0 1 1 0
        3 0 0 0 1 1 0 1 7 0
        1 0 0 0 1 1 0 0 0
        $EndEntities
        $Nodes
        1 4 10 40
        2 1 0 4
        10
        20
        30
        40
        0 0 0
        1 0 0
        1 1 0
        0 1 0
        $EndNodes
        $Elements
        2 4 1 4
        1 3 1 2
        1 10 20
        2 20 30
        2 1 2 2
        3 10 30 20
        4 10 30 40
        $EndElements

        """
        try text.write(toFile: dir + "/s.msh", atomically: true, encoding: .utf8)
        let m = try Gmsh.read(dir + "/s.msh")
        #expect(m.vertexCount == 4 && m.triangleCount == 2)
        #expect(m.areas.allSatisfy { $0 > 0 })
        #expect(m.boundaryEdges.map(\.tag) == [7, 7])
    }

    @Test(arguments: [
        ("$MeshFormat\n3.0 0 8\n$EndMeshFormat\n", 2, "expected 4.1 or 2.2"),
        ("$MeshFormat\n2.2 1 8\n$EndMeshFormat\n", 2, "binary Gmsh 2.2 files are not supported"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 2 1 2\n2 1 0 2\n1\n2\n0 0 0\n", 10, "file ends"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 1 1 1\n2 1 0 1\n1\n0 abc 0\n$EndNodes\n", 8, "'abc' is not a number"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 1 1 1\n2 1 0 1\n1\n0 0 0\n$EndNodes\n$Elements\n1 1 1 1\n2 1 2 1\n1 1 2 5\n$EndElements\n", 13, "unknown node tag 2"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 1 1 1\n2 1 0 1\n1\n0 0 0\n$EndNodes\n$Elements\n1 1 1 1\n2 1 9 1\n1 1 1 1 1 1 1\n$EndElements\n", 12, "unsupported element type 9"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 0 0\n$EndNodes\n$Elements\n1\n1 3 2 1 1 1 1 1 1\n$EndElements\n", 10, "unsupported element type 3"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 0 0\n$EndNodes\n$Elements\n1\n1 4 2 1 1 1 1 1 1\n$EndElements\n", 10, "unsupported element type 4"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n999999999999\n1 0 0 0\n$EndNodes\n", 5, "999999999999 node count announced, but only"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n-1\n$EndNodes\n", 5, "negative count -1"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 nan 0\n$EndNodes\n", 6, "'nan' is not a finite number"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 0 0\n$EndNodes\n$Elements\n1\n1 2 9223372036854775807 1 1 1 1\n$EndElements\n", 10, "needs"),
        ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 0 0\n$EndNodes\n$Elements\n1\n1 2 0 1 1 2\n$EndElements\n", 10, "unknown node tag 2"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 999999999999 1 1\n", 5, "999999999999 node header"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n-5 1 1 1\n", 5, "negative count -5"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Entities\n0 1 0 0\n1 0 0 0 1 1 0 9223372036854775807 1\n$EndEntities\n", 6, "malformed curve entity"),
        ("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Entities\n0 1 0 0\n1 0 0 0 1 1 0 1 -9223372036854775808 0\n$EndEntities\n", 6, "physical tag"),
    ])
    func gmshRejectsMalformedFiles(content: String, line: Int, message: String) throws {
        let dir = makeTemporaryFolder("gmsh-bad")
        try content.write(toFile: dir + "/bad.msh", atomically: true, encoding: .utf8)
        do {
            _ = try Gmsh.read(dir + "/bad.msh")
            Issue.record("expected an error: \(message)")
        } catch let PDEError.malformedFile(path, l, reason) {
            #expect(path == dir + "/bad.msh")
            #expect(l == line, "\(reason)")
            #expect(reason.contains(message), "\(reason)")
        }
    }

    @Test func gmshMissingFileAndNoFormat() throws {
        #expect(throws: PDEError.fileNotFound(path: "/nonexistent.msh")) { try Gmsh.read("/nonexistent.msh") }
        let dir = makeTemporaryFolder()
        try "hello\n".write(toFile: dir + "/x.msh", atomically: true, encoding: .utf8)
        #expect(throws: PDEError.self) { try Gmsh.read(dir + "/x.msh") }
    }
}
