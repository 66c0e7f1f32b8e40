import Foundation

/// Gmsh `.msh` version 4.1 ASCII meshes in 2-D: 3-node triangles (element type 2) make the
/// mesh, 2-node lines (type 1) its tagged boundary (tag = the physical tag of the line's
/// curve entity, or the entity tag when it has none); points (type 15) are skipped.
public enum Gmsh {
    /// Reads a mesh. Clockwise triangles are flipped; node tags may be sparse.
    public static func read(_ path: String) throws -> TriangleMesh {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "not a text file (binary .msh files are not supported; save as ASCII 4.1)")
        }
        var r = Reader(lines: text.split(separator: "\n", omittingEmptySubsequences: false), path: path)
        var curvePhysical: [Int: Int] = [:]
        var nodeIndex: [Int: Int32] = [:]
        var vertices: [SIMD2<Double>] = []
        var triangles: [SIMD3<Int32>] = []
        var lines: [(Int, Int, Int)] = []  // node tags + tag
        var sawFormat = false, sawNodes = false, sawElements = false
        while let line = r.next() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            switch t {
            case "$MeshFormat":
                let f = try r.tokens()
                guard f.count >= 3 else { throw r.fail("expected 'version file-type data-size'") }
                guard f[0] == "4.1" else { throw r.fail("unsupported Gmsh format version \(f[0]) (expected 4.1; export with Mesh.MshFileVersion = 4.1)") }
                guard f[1] == "0" else { throw r.fail("binary .msh files are not supported (expected ASCII 4.1)") }
                try r.expect("$EndMeshFormat")
                sawFormat = true
            case "$Entities":
                let c = try r.ints(4, "entity counts")
                for _ in 0..<c[0] { _ = try r.tokens() }
                for _ in 0..<c[1] {
                    let e = try r.tokens()
                    guard e.count >= 8, let tag = Int(e[0]), let np = Int(e[7]), e.count >= 8 + np else {
                        throw r.fail("malformed curve entity")
                    }
                    if np > 0, let phys = Int(e[8]) { curvePhysical[tag] = abs(phys) }
                }
                for _ in 0..<(c[2] + c[3]) { _ = try r.tokens() }
                try r.expect("$EndEntities")
            case "$Nodes":
                guard sawFormat else { throw r.fail("$Nodes before $MeshFormat") }
                let h = try r.ints(4, "node header 'numEntityBlocks numNodes minNodeTag maxNodeTag'")
                vertices.reserveCapacity(h[1])
                for _ in 0..<h[0] {
                    let b = try r.ints(4, "node block header 'entityDim entityTag parametric numNodes'")
                    let count = b[3]
                    var tags: [Int] = []
                    tags.reserveCapacity(count)
                    for _ in 0..<count { tags.append(try r.ints(1, "node tag")[0]) }
                    for tag in tags {
                        let xyz = try r.doubles(3, "node coordinates 'x y z'")
                        if nodeIndex[tag] != nil { throw r.fail("node tag \(tag) appears twice") }
                        nodeIndex[tag] = Int32(vertices.count)
                        vertices.append(SIMD2(xyz[0], xyz[1]))
                    }
                }
                guard vertices.count == h[1] else { throw r.fail("$Nodes announced \(h[1]) nodes, found \(vertices.count)") }
                try r.expect("$EndNodes")
                sawNodes = true
            case "$Elements":
                guard sawNodes else { throw r.fail("$Elements before $Nodes") }
                let h = try r.ints(4, "element header 'numEntityBlocks numElements minElementTag maxElementTag'")
                var total = 0
                for _ in 0..<h[0] {
                    let b = try r.ints(4, "element block header 'entityDim entityTag elementType numElements'")
                    let (entity, type, count) = (b[1], b[2], b[3])
                    let nodes: Int
                    switch type {
                    case 1: nodes = 2
                    case 2: nodes = 3
                    case 15: nodes = 1
                    default: throw r.fail("unsupported element type \(type) (expected 1 = line, 2 = 3-node triangle, 15 = point)")
                    }
                    for _ in 0..<count {
                        let e = try r.ints(nodes + 1, "element '\(nodes + 1) integers'")
                        let ids = try e.dropFirst().map { tag -> Int32 in
                            guard let i = nodeIndex[tag] else { throw r.fail("element \(e[0]) uses unknown node tag \(tag)") }
                            return i
                        }
                        if type == 2 { triangles.append(SIMD3(ids[0], ids[1], ids[2])) }
                        if type == 1 { lines.append((Int(ids[0]), Int(ids[1]), curvePhysical[entity] ?? entity)) }
                    }
                    total += count
                }
                guard total == h[1] else { throw r.fail("$Elements announced \(h[1]) elements, found \(total)") }
                try r.expect("$EndElements")
                sawElements = true
            default:
                if t.hasPrefix("$") && !t.hasPrefix("$End") {
                    // Skip sections we do not use ($PhysicalNames, $Periodic, …).
                    let end = "$End" + t.dropFirst()
                    while let l = r.next(), l.trimmingCharacters(in: .whitespaces) != end {}
                } else {
                    throw r.fail("unexpected line '\(t.prefix(40))'")
                }
            }
        }
        guard sawFormat else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $MeshFormat section (not a Gmsh file?)") }
        guard sawNodes, sawElements else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $Nodes or $Elements section") }
        guard !triangles.isEmpty else { throw PDEError.malformedFile(path: path, line: nil, reason: "no 3-node triangles (element type 2)") }
        let edges: [TriangleMesh.BoundaryEdge]? = lines.isEmpty ? nil : lines.map { .init($0.0, $0.1, tag: $0.2) }
        do {
            return try TriangleMesh(vertices: vertices, triangles: triangles, boundaryEdges: edges, orienting: true)
        } catch let PDEError.invalidMesh(reason) {
            throw PDEError.malformedFile(path: path, line: nil, reason: reason)
        }
    }

    /// Writes a mesh as Gmsh 4.1 ASCII: one surface entity (physical tag 1) holding all nodes
    /// and triangles, one curve entity per boundary tag (physical tag = the tag).
    public static func write(_ mesh: TriangleMesh, to path: String) throws {
        let tags = Array(Set(mesh.boundaryEdges.map(\.tag))).sorted()
        var s = "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Entities\n0 \(tags.count) 1 0\n"
        let xs = mesh.vertices.map(\.x), ys = mesh.vertices.map(\.y)
        let box = "\(xs.min()!) \(ys.min()!) 0 \(xs.max()!) \(ys.max()!) 0"
        for t in tags { s += "\(t) \(box) 1 \(t) 0\n" }
        s += "1 \(box) 1 1 \(tags.count) " + tags.map(String.init).joined(separator: " ") + "\n$EndEntities\n"
        let n = mesh.vertexCount
        s += "$Nodes\n1 \(n) 1 \(n)\n2 1 0 \(n)\n"
        for i in 1...n { s += "\(i)\n" }
        for v in mesh.vertices { s += "\(v.x) \(v.y) 0\n" }
        s += "$EndNodes\n"
        let total = mesh.boundaryEdges.count + mesh.triangleCount
        s += "$Elements\n\(tags.count + 1) \(total) 1 \(total)\n"
        var id = 1
        for t in tags {
            let e = mesh.boundaryEdges.filter { $0.tag == t }
            s += "1 \(t) 1 \(e.count)\n"
            for edge in e { s += "\(id) \(edge.v0 + 1) \(edge.v1 + 1)\n"; id += 1 }
        }
        s += "2 1 2 \(mesh.triangleCount)\n"
        for t in mesh.triangles { s += "\(id) \(t[0] + 1) \(t[1] + 1) \(t[2] + 1)\n"; id += 1 }
        s += "$EndElements\n"
        try AtomicFile.write(Data(s.utf8), to: path)
    }

    struct Reader {
        let lines: [Substring]
        let path: String
        var index = 0
        mutating func next() -> String? {
            guard index < lines.count else { return nil }
            index += 1
            return String(lines[index - 1]).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        }
        func fail(_ reason: String) -> PDEError { .malformedFile(path: path, line: max(1, index), reason: reason) }
        mutating func tokens() throws -> [Substring] {
            guard let l = next(), !(l.isEmpty && index == lines.count) else {
                throw PDEError.malformedFile(path: path, line: index, reason: "file ends inside a section")
            }
            return Substring(l).split(whereSeparator: { $0 == " " || $0 == "\t" })
        }
        mutating func ints(_ n: Int, _ what: String) throws -> [Int] {
            let t = try tokens()
            guard t.count >= n else { throw fail("expected \(what), found \(t.count) values") }
            return try t.prefix(n).map { s in
                guard let v = Int(s) else { throw fail("'\(s)' is not an integer in \(what)") }
                return v
            }
        }
        mutating func doubles(_ n: Int, _ what: String) throws -> [Double] {
            let t = try tokens()
            guard t.count >= n else { throw fail("expected \(what), found \(t.count) values") }
            return try t.prefix(n).map { s in
                guard let v = Double(s), v.isFinite else { throw fail("'\(s)' is not a number in \(what)") }
                return v
            }
        }
        mutating func expect(_ marker: String) throws {
            guard let l = next(), l.trimmingCharacters(in: .whitespaces) == marker else {
                throw fail("expected \(marker) (section longer or shorter than announced)")
            }
        }
    }
}
