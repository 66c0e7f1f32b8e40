import Foundation
import Testing
@testable import AppSupport
import PDE
import TestSupport

/// `pde-solve` under `mpirun` (run by `scripts/mpi-tests` with the distributed suite; in one
/// process under `swift test`): the solve through the row-distributed matrix and block Jacobi,
/// VTK pieces per rank with a `.pvti` (grids) or `.pvtu` (meshes) index, the whole NPY from
/// rank 0.
@Suite(.serialized) struct DistributedSolveTests {
    /// The u values of a VTK piece file (ASCII Float64, our writer's layout).
    func pieceValues(_ path: String, name: String) throws -> [Double] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let start = text.range(of: "Name=\"\(name)\" format=\"ascii\">"),
              let end = text.range(of: "</DataArray>", range: start.upperBound..<text.endIndex) else { return [] }
        return text[start.upperBound..<end.lowerBound].split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    }

    @Test func solveUnderTheWorldWritesPiecesAndMatchesOneProcess() throws {
        let world = try Communicator.world()
        // One output folder for all ranks: rank 0 draws its name.
        var tag = [Double(UInt32.random(in: 0...UInt32.max))]
        try world.broadcast(&tag, root: 0)
        let dir = NSTemporaryDirectory() + "swiftpde-mpi-solve-\(Int(tag[0]))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let yaml = """
        problem: diffusion2d-variable
        grid: {nodes: [17, 21]}
        solver: {method: cg, preconditioner: ic0, rtol: 1.0e-12}
        output: {directory: \(dir), name: u, formats: [vti, npy]}
        """
        let cfg = try decodeConfig(SolveConfig.self, yaml: yaml, file: "t.yaml")
        let summary = try SolveRunner(config: cfg, configPath: "t.yaml", log: { _ in }).run()
        #expect(summary.reason == .convergedRelative)
        try world.barrier()
        if world.rank == 0 {
            let u = try NPY.read(dir + "/u.npy").doubles
            // The direct solve of the same system, in this process.
            let serialDir = dir + "/serial"
            let direct = try decodeConfig(SolveConfig.self, yaml: yaml.replacingOccurrences(of: "{method: cg, preconditioner: ic0, rtol: 1.0e-12}", with: "{method: cholmod}")
                .replacingOccurrences(of: "directory: \(dir)", with: "directory: \(serialDir)"), file: "t.yaml")
            let reference = try SolveRunner(config: direct, configPath: "t.yaml", log: { _ in }, communicator: .serial).run()
            let ref = try NPY.read(serialDir + "/u.npy").doubles
            #expect(maxAbsDifference(u, ref) <= 1e-9 * ref.map(abs).max()!)
            #expect(abs(summary.l2Error! - reference.l2Error!) <= 1e-8 * reference.l2Error!)
            if world.size > 1 {
                let index = try String(contentsOfFile: dir + "/u.pvti", encoding: .utf8)
                #expect(index.components(separatedBy: "<Piece ").count - 1 == world.size)
                // The pieces, minus the layer each shares with the previous one, are the field.
                var joined: [Double] = []
                for r in 0..<world.size {
                    let v = try pieceValues(dir + "/u_\(r).vti", name: "u")
                    joined += r == 0 ? v : Array(v.dropFirst(17))
                }
                #expect(joined == u)
            } else {
                #expect(FileManager.default.fileExists(atPath: dir + "/u.vti"))
            }
        }
        try world.barrier()
    }

    @Test func piecesCoverTheGridAndBadPiecesThrow() throws {
        let dir = NSTemporaryDirectory() + "swiftpde-pieces-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let values = (0..<(5 * 4 * 7)).map { Double($0) * 0.5 }
        var joined: [Double] = []
        for p in 0..<3 {
            let path = try VTK.writeImageDataPiece(path: dir + "/f.pvti", counts: [5, 4, 7], origin: [0, 0, 0], spacing: [1, 1, 1],
                                                   pointData: [("f", values)], pieces: 3, piece: p)
            let v = try pieceValues(path, name: "f")
            joined += p == 0 ? v : Array(v.dropFirst(20))
        }
        #expect(joined == values)
        #expect(throws: PDEError.self) {
            try VTK.writeImageDataPiece(path: dir + "/f.pvti", counts: [5, 4, 7], origin: [0, 0, 0], spacing: [1, 1, 1],
                                        pointData: [("f", values)], pieces: 7, piece: 0)
        }
        #expect(throws: PDEError.self) {
            try VTK.writeImageDataPiece(path: dir + "/f.pvti", counts: [5, 4, 7], origin: [0, 0, 0], spacing: [1, 1, 1],
                                        pointData: [("f", [1])], pieces: 2, piece: 0)
        }
    }

    /// A mesh solve under the world: each rank writes its `.vtu` piece (rank 0 the `.pvtu`
    /// index and the whole NPY); the pieces' values agree with the NPY at their vertices.
    @Test func meshSolveUnderTheWorldWritesVTUPieces() throws {
        let world = try Communicator.world()
        var tag = [Double(UInt32.random(in: 0...UInt32.max))]
        try world.broadcast(&tag, root: 0)
        let dir = NSTemporaryDirectory() + "swiftpde-mpi-mesh-\(Int(tag[0]))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let yaml = """
        problem: disk-variable
        mesh: {generate: disk, resolution: 6}
        solver: {method: cg, preconditioner: ic0, rtol: 1.0e-12}
        output: {directory: \(dir), name: d, formats: [vtu, npy]}
        """
        let summary = try SolveRunner(config: try decodeConfig(SolveConfig.self, yaml: yaml, file: "t.yaml"), configPath: "t.yaml", log: { _ in }).run()
        #expect(try #require(summary.l2Error) < 1e-2)
        // The same solve in one process (each rank on its own): the same error.
        let serialYAML = yaml.replacingOccurrences(of: "directory: \(dir)", with: "directory: \(dir)/serial\(world.rank)")
        let serial = try SolveRunner(config: try decodeConfig(SolveConfig.self, yaml: serialYAML, file: "t.yaml"), configPath: "t.yaml",
                                     log: { _ in }, communicator: .serial).run()
        #expect(abs(summary.l2Error! - serial.l2Error!) <= 1e-8 * serial.l2Error! && summary.unknowns == serial.unknowns)
        try world.barrier()
        if world.rank == 0 {
            let u = try NPY.read(dir + "/d.npy").doubles
            if world.size > 1 {
                let index = try String(contentsOfFile: dir + "/d.pvtu", encoding: .utf8)
                #expect(index.components(separatedBy: "<Piece ").count - 1 == world.size)
                let values = try (0..<world.size).flatMap { try pieceValues(dir + "/d_\($0).vtu", name: "u") }
                #expect(values.count >= u.count && Set(values).isSubset(of: Set(u)))
                // The pieces are the ranks' parts of the mesh: every triangle in exactly one.
                let cells = try (0..<world.size).map { r -> Int in
                    let text = try String(contentsOfFile: dir + "/d_\(r).vtu", encoding: .utf8)
                    let field = try #require(text.components(separatedBy: "NumberOfCells=\"").dropFirst().first)
                    return try #require(Int(field.prefix { $0.isNumber }))
                }
                #expect(cells.reduce(0, +) == (try MeshGenerator.disk(resolution: 6)).triangleCount && cells.allSatisfy { $0 > 0 })
            } else {
                #expect(FileManager.default.fileExists(atPath: dir + "/d.vtu"))
            }
        }
        try world.barrier()
    }

    /// Mesh pieces: every triangle in exactly one piece, with its vertices' coordinates and
    /// values and its cell value; the index names every piece; bad pieces throw.
    @Test func meshPiecesCoverTheMeshAndBadPiecesThrow() throws {
        let dir = NSTemporaryDirectory() + "swiftpde-mesh-pieces-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A 4 × 3 grid of vertices, two triangles per square: 12 triangles.
        let points = (0..<12).map { [Double($0 % 4), Double($0 / 4)] }
        var triangles: [[Int]] = []
        for j in 0..<2 { for i in 0..<3 { let v = 4 * j + i; triangles += [[v, v + 1, v + 4], [v + 1, v + 5, v + 4]] } }
        let u = points.map { 10 * $0[0] + $0[1] }, area = triangles.indices.map { Double($0) }
        var seen: [[Double]] = []
        for p in 0..<5 {
            let path = try VTK.writeUnstructuredGridPiece(path: dir + "/m.pvtu", points: points, triangles: triangles,
                                                          pointData: [("u", u)], cellData: [("area", area)], pieces: 5, piece: p)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            func numbers(after marker: String) -> [Double] {
                guard let s = text.range(of: marker), let e = text.range(of: "</DataArray>", range: s.upperBound..<text.endIndex) else { return [] }
                return text[s.upperBound..<e.lowerBound].split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
            }
            let xyz = numbers(after: "NumberOfComponents=\"3\" format=\"ascii\">")
            let connectivity = numbers(after: "Name=\"connectivity\" format=\"ascii\">").map { Int($0) }
            let pu = try pieceValues(path, name: "u"), cells = try pieceValues(path, name: "area")
            #expect(pu.count * 3 == xyz.count && connectivity.count == 3 * cells.count)
            #expect(cells.count == (p < 2 ? 3 : 2))  // 12 triangles in 5 pieces: 3, 3, 2, 2, 2
            for (k, cell) in cells.enumerated() {
                let corners = connectivity[(3 * k)..<(3 * k + 3)].map { [xyz[3 * $0], xyz[3 * $0 + 1]] }
                #expect(corners == triangles[Int(cell)].map { points[$0] }, "piece \(p) triangle \(Int(cell))")
                for c in connectivity[(3 * k)..<(3 * k + 3)] { #expect(pu[c] == 10 * xyz[3 * c] + xyz[3 * c + 1]) }
                seen.append(corners.flatMap { $0 })
            }
        }
        #expect(seen.count == triangles.count && Set(seen).count == triangles.count)
        let index = try String(contentsOfFile: dir + "/m.pvtu", encoding: .utf8)
        #expect((0..<5).allSatisfy { index.contains("Source=\"m_\($0).vtu\"") } && index.contains("PUnstructuredGrid"))
        #expect(throws: PDEError.self) {
            try VTK.writeUnstructuredGridPiece(path: dir + "/m.pvtu", points: points, triangles: triangles, pointData: [("u", u)], pieces: 13, piece: 0)
        }
        #expect(throws: PDEError.self) {
            try VTK.writeUnstructuredGridPiece(path: dir + "/m.pvtu", points: points, triangles: triangles, pointData: [("u", [1])], pieces: 2, piece: 1)
        }
    }
}
