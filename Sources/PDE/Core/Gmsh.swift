import Foundation

/// Gmsh `.msh` meshes in 2-D, version 4.1 (ASCII and binary) and 2.2 (ASCII): 3-node
/// triangles (element type 2) make the mesh, 2-node lines (type 1) its tagged boundary
/// (tag = the physical tag of the line's curve entity, or the entity tag when it has none;
/// in 2.2 files the line's first tag, or its second, elementary, tag when the first is 0);
/// points (type 15) are skipped; other element types (quads, tetrahedra, …) are refused.
/// Every declared count is checked against what is left of the file before anything is
/// allocated; every problem is a `PDEError.malformedFile` naming the file (and the line for
/// ASCII files, the byte offset for binary ones).
public enum Gmsh {
    /// The on-disk variants `write` can produce (`read` detects the variant itself).
    public enum Format: Sendable, CaseIterable {
        /// `$MeshFormat 4.1 0 8`, the default.
        case ascii41
        /// `$MeshFormat 4.1 1 8`, little-endian binary blocks.
        case binary41
        /// `$MeshFormat 2.2 0 8`, the legacy format many tools still write.
        case ascii22
    }

    /// Reads a mesh. Clockwise triangles are flipped; node tags may be sparse.
    public static func read(_ path: String) throws -> TriangleMesh {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        if isBinary(data) {
            var b = BinaryReader(bytes: [UInt8](data), path: path)
            return try b.read()
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "not a text file and not a binary Gmsh 4.1 file")
        }
        var r = Reader(lines: text.split(separator: "\n", omittingEmptySubsequences: false), path: path)
        return try readASCII(&r)
    }

    /// True when the file starts (after blank space) with `$MeshFormat` and a version line
    /// `4.1 1 …` (other binary versions are refused by the ASCII reader, with a line number).
    static func isBinary(_ data: Data) -> Bool {
        let head = data.prefix(256)
        guard let text = String(data: head, encoding: .isoLatin1) else { return false }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard lines.count >= 2, lines[0] == "$MeshFormat" else { return false }
        let f = lines[1].split(separator: " ")
        return f.count >= 2 && f[0] == "4.1" && f[1] == "1"
    }

    /// What the section parsers collect; `mesh` turns it into a `TriangleMesh`.
    struct Collected {
        var nodeIndex: [Int: Int32] = [:]
        var vertices: [SIMD2<Double>] = []
        var triangles: [SIMD3<Int32>] = []
        var lines: [(Int, Int, Int)] = []  // vertex indices + tag

        /// Adds a node, refusing duplicate tags.
        mutating func addNode(tag: Int, x: Double, y: Double, fail: (String) -> PDEError) throws {
            guard vertices.count < Int(Int32.max) else { throw fail("more than \(Int32.max) nodes") }
            if nodeIndex[tag] != nil { throw fail("node tag \(tag) appears twice") }
            nodeIndex[tag] = Int32(vertices.count)
            vertices.append(SIMD2(x, y))
        }

        /// Adds an element of type 1 (line), 2 (triangle) or 15 (point) by node tags.
        mutating func addElement(id: Int, type: Int, nodeTags: ArraySlice<Int>, tag: Int, fail: (String) -> PDEError) throws {
            var ids: (Int32, Int32, Int32) = (0, 0, 0)
            for (k, t) in nodeTags.enumerated() {
                guard let i = nodeIndex[t] else { throw fail("element \(id) uses unknown node tag \(t)") }
                switch k { case 0: ids.0 = i; case 1: ids.1 = i; default: ids.2 = i }
            }
            if type == 2 { triangles.append(SIMD3(ids.0, ids.1, ids.2)) }
            if type == 1 { lines.append((Int(ids.0), Int(ids.1), tag)) }
        }

        func mesh(path: String) throws -> TriangleMesh {
            guard !triangles.isEmpty else { throw PDEError.malformedFile(path: path, line: nil, reason: "no 3-node triangles (element type 2)") }
            let edges: [TriangleMesh.BoundaryEdge]? = lines.isEmpty ? nil : lines.map { .init($0.0, $0.1, tag: $0.2) }
            do {
                return try TriangleMesh(vertices: vertices, triangles: triangles, boundaryEdges: edges, orienting: true)
            } catch let PDEError.invalidMesh(reason) {
                throw PDEError.malformedFile(path: path, line: nil, reason: reason)
            }
        }
    }

    /// Nodes per element of the supported types, nil for the others.
    static func nodesPerElement(_ type: Int) -> Int? {
        switch type {
        case 1: return 2
        case 2: return 3
        case 15: return 1
        default: return nil
        }
    }

    static func unsupportedType(_ type: Int) -> String {
        "unsupported element type \(type) (expected 1 = line, 2 = 3-node triangle, 15 = point; quads, tetrahedra and higher-order elements are not supported)"
    }

    /// A physical tag's magnitude (Gmsh writes negative tags for reversed orientation).
    static func magnitude(_ tag: Int, fail: (String) -> PDEError) throws -> Int {
        guard tag != Int.min else { throw fail("physical tag \(tag) out of range") }
        return abs(tag)
    }

    // MARK: - ASCII 4.1 and 2.2

    static func readASCII(_ r: inout Reader) throws -> TriangleMesh {
        let path = r.path
        var curvePhysical: [Int: Int] = [:]
        var c = Collected()
        var version: String?
        var sawNodes = false, sawElements = false
        while let line = r.next() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            switch t {
            case "$MeshFormat":
                let f = try r.tokens()
                guard f.count >= 3 else { throw r.fail("expected 'version file-type data-size'") }
                switch f[0] {
                case "4.1", "2.2", "2.1", "2", "2.0": version = f[0].hasPrefix("4") ? "4.1" : "2.2"
                default: throw r.fail("unsupported Gmsh format version \(f[0]) (expected 4.1 or 2.2; export with Mesh.MshFileVersion = 4.1)")
                }
                guard f[1] == "0" else {
                    throw r.fail("binary Gmsh \(f[0]) files are not supported (expected ASCII 2.2, ASCII 4.1 or binary 4.1)")
                }
                try r.expect("$EndMeshFormat")
            case "$Entities":
                guard version == "4.1" else { throw r.fail("$Entities in a file that is not version 4.1") }
                let n = try r.counts(4, "entity counts 'numPoints numCurves numSurfaces numVolumes'", perLine: 1)
                for _ in 0..<n[0] { _ = try r.tokens() }
                for _ in 0..<n[1] {
                    let e = try r.tokens()
                    guard e.count >= 8, let tag = Int(e[0]), let np = Int(e[7]), np >= 0, np <= e.count - 8 else {
                        throw r.fail("malformed curve entity (expected 'tag minX minY minZ maxX maxY maxZ numPhysicalTags physicalTags…')")
                    }
                    if np > 0 {
                        guard let phys = Int(e[8]) else { throw r.fail("physical tag '\(e[8])' is not an integer") }
                        curvePhysical[tag] = try magnitude(phys, fail: r.fail)
                    }
                }
                for _ in 0..<n[2] { _ = try r.tokens() }
                for _ in 0..<n[3] { _ = try r.tokens() }
                try r.expect("$EndEntities")
            case "$Nodes":
                guard let version else { throw r.fail("$Nodes before $MeshFormat") }
                if version == "4.1" {
                    let h = try r.counts(2, "node header 'numEntityBlocks numNodes minNodeTag maxNodeTag'", perLine: 1, minimumTokens: 4)
                    c.vertices.reserveCapacity(h[1])
                    for _ in 0..<h[0] {
                        let b = try r.ints(4, "node block header 'entityDim entityTag parametric numNodes'")
                        let count = try r.checkCount(b[3], "nodes in a block", perLine: 2)
                        var tags: [Int] = []
                        tags.reserveCapacity(count)
                        for _ in 0..<count { tags.append(try r.ints(1, "node tag")[0]) }
                        for tag in tags {
                            let xyz = try r.doubles(3, "node coordinates 'x y z'")
                            try c.addNode(tag: tag, x: xyz[0], y: xyz[1], fail: r.fail)
                        }
                    }
                    guard c.vertices.count == h[1] else { throw r.fail("$Nodes announced \(h[1]) nodes, found \(c.vertices.count)") }
                } else {
                    let n = try r.counts(1, "node count", perLine: 1)[0]
                    c.vertices.reserveCapacity(n)
                    for _ in 0..<n {
                        let tokens = try r.tokens()
                        guard tokens.count >= 4 else { throw r.fail("expected node 'id x y z', found \(tokens.count) values") }
                        guard let id = Int(tokens[0]) else { throw r.fail("'\(tokens[0])' is not an integer node id") }
                        let xy = try tokens[1...2].map { s -> Double in
                            guard let v = Double(s), v.isFinite else { throw r.fail("'\(s)' is not a finite number in node \(id)") }
                            return v
                        }
                        try c.addNode(tag: id, x: xy[0], y: xy[1], fail: r.fail)
                    }
                }
                try r.expect("$EndNodes")
                sawNodes = true
            case "$Elements":
                guard sawNodes, let version else { throw r.fail("$Elements before $Nodes") }
                if version == "4.1" {
                    let h = try r.counts(2, "element header 'numEntityBlocks numElements minElementTag maxElementTag'", perLine: 1, minimumTokens: 4)
                    var total = 0
                    for _ in 0..<h[0] {
                        let b = try r.ints(4, "element block header 'entityDim entityTag elementType numElements'")
                        let (entity, type) = (b[1], b[2])
                        guard let nodes = nodesPerElement(type) else { throw r.fail(unsupportedType(type)) }
                        let count = try r.checkCount(b[3], "elements in a block", perLine: 1)
                        let tag = curvePhysical[entity] ?? entity
                        for _ in 0..<count {
                            let e = try r.ints(nodes + 1, "element '\(nodes + 1) integers'")
                            try c.addElement(id: e[0], type: type, nodeTags: e[1...], tag: tag, fail: r.fail)
                        }
                        total += count
                    }
                    guard total == h[1] else { throw r.fail("$Elements announced \(h[1]) elements, found \(total)") }
                } else {
                    let n = try r.counts(1, "element count", perLine: 1)[0]
                    for _ in 0..<n {
                        let tokens = try r.tokens()
                        let e = try tokens.map { s -> Int in
                            guard let v = Int(s) else { throw r.fail("'\(s)' is not an integer in element 'id type numTags tags… nodes…'") }
                            return v
                        }
                        guard e.count >= 3 else { throw r.fail("expected element 'id type numTags tags… nodes…', found \(e.count) values") }
                        let (id, type, ntags) = (e[0], e[1], e[2])
                        guard let nodes = nodesPerElement(type) else { throw r.fail(unsupportedType(type)) }
                        guard ntags >= 0, ntags <= e.count - 3, e.count - 3 - ntags == nodes else {
                            throw r.fail("element \(id) of type \(type) with \(ntags) tags needs 3 + \(ntags) + \(nodes) values, found \(e.count)")
                        }
                        let physical = ntags >= 1 ? e[3] : 0, elementary = ntags >= 2 ? e[4] : 0
                        let tag = try magnitude(physical != 0 ? physical : elementary, fail: r.fail)
                        try c.addElement(id: id, type: type, nodeTags: e[(3 + ntags)...], tag: tag, fail: r.fail)
                    }
                }
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
        guard version != nil else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $MeshFormat section (not a Gmsh file?)") }
        guard sawNodes, sawElements else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $Nodes or $Elements section") }
        return try c.mesh(path: path)
    }

    // MARK: - Binary 4.1

    /// Gmsh 4.1 binary: ASCII section markers around little-endian blocks of `int` (4 bytes),
    /// `size_t` (8 bytes, the file's data-size) and `double` values.
    struct BinaryReader {
        let bytes: [UInt8]
        let path: String
        var pos = 0

        func fail(_ reason: String) -> PDEError { .malformedFile(path: path, line: nil, reason: "\(reason) (at byte \(pos))") }
        var remaining: Int { bytes.count - pos }

        /// The next line (without "\r\n"), or nil at the end.
        mutating func line() -> String? {
            guard pos < bytes.count else { return nil }
            let start = pos
            while pos < bytes.count && bytes[pos] != 0x0A { pos += 1 }
            let end = pos
            if pos < bytes.count { pos += 1 }
            var slice = bytes[start..<end]
            if slice.last == 0x0D { slice = slice.dropLast() }
            return String(decoding: slice, as: UTF8.self)
        }

        mutating func need(_ n: Int, _ what: String) throws {
            guard n <= remaining else { throw fail("file ends inside \(what) (\(n) bytes needed, \(remaining) left)") }
        }
        mutating func int32(_ what: String) throws -> Int {
            try need(4, what)
            let v = bytes.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: pos, as: Int32.self)) }
            pos += 4
            return Int(v)
        }
        mutating func uint64(_ what: String) throws -> UInt64 {
            try need(8, what)
            let v = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: pos, as: UInt64.self)) }
            pos += 8
            return v
        }
        mutating func double(_ what: String) throws -> Double {
            try need(8, what)
            let v = bytes.withUnsafeBytes { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: pos, as: UInt64.self))) }
            pos += 8
            guard v.isFinite else { throw fail("\(v) in \(what) (expected a finite number)") }
            return v
        }
        /// A size_t tag as Int.
        mutating func tag(_ what: String) throws -> Int {
            let v = try uint64(what)
            guard let i = Int(exactly: v) else { throw fail("\(what) \(v) exceeds \(Int.max)") }
            return i
        }
        /// A size_t count of items of at least `itemBytes` bytes each, checked against the bytes left.
        mutating func count(_ what: String, itemBytes: Int) throws -> Int {
            let v = try uint64(what)
            guard v <= UInt64(remaining / max(1, itemBytes)) else {
                throw fail("\(what) \(v) needs at least \(itemBytes) bytes each, more than the \(remaining) bytes left")
            }
            return Int(v)
        }

        /// Skips the newline Gmsh writes after a binary block, then expects the end marker.
        mutating func expectEnd(_ marker: String) throws {
            while pos < bytes.count, bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x20 { pos += 1 }
            let at = pos
            guard let l = line(), l.trimmingCharacters(in: .whitespaces) == marker else {
                pos = at
                throw fail("expected \(marker) (section longer or shorter than announced)")
            }
        }

        mutating func read() throws -> TriangleMesh {
            var curvePhysical: [Int: Int] = [:]
            var c = Collected()
            var sawFormat = false, sawNodes = false, sawElements = false
            while let l = line() {
                let t = l.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                switch t {
                case "$MeshFormat":
                    guard let v = line() else { throw fail("file ends inside $MeshFormat") }
                    let f = v.split(separator: " ")
                    guard f.count >= 3 else { throw fail("expected 'version file-type data-size' in $MeshFormat") }
                    guard f[0] == "4.1" else {
                        throw fail("binary Gmsh \(f[0]) files are not supported (expected binary 4.1, ASCII 4.1 or ASCII 2.2)")
                    }
                    guard f[2] == "8" else { throw fail("data-size \(f[2]) (expected 8: 64-bit size_t)") }
                    let one = try int32("the endianness check")
                    guard one == 1 else {
                        throw fail(one == 0x0100_0000 ? "big-endian binary file (expected little-endian)" : "endianness check reads \(one) (expected 1)")
                    }
                    try expectEnd("$EndMeshFormat")
                    sawFormat = true
                case "$Entities":
                    guard sawFormat else { throw fail("$Entities before $MeshFormat") }
                    // Smallest entities: point 4+24+8 bytes, curve/surface/volume 4+48+8+8 bytes.
                    let nPoints = try count("number of point entities", itemBytes: 36)
                    let nCurves = try count("number of curve entities", itemBytes: 68)
                    let nSurfaces = try count("number of surface entities", itemBytes: 68)
                    let nVolumes = try count("number of volume entities", itemBytes: 68)
                    for _ in 0..<nPoints {
                        _ = try int32("point tag")
                        for _ in 0..<3 { _ = try double("point coordinates") }
                        let np = try count("number of physical tags", itemBytes: 4)
                        for _ in 0..<np { _ = try int32("physical tag") }
                    }
                    for kind in 0..<3 {
                        for _ in 0..<[nCurves, nSurfaces, nVolumes][kind] {
                            let tag = try int32("entity tag")
                            for _ in 0..<6 { _ = try double("entity bounding box") }
                            let np = try count("number of physical tags", itemBytes: 4)
                            for k in 0..<np {
                                let phys = try int32("physical tag")
                                if kind == 0 && k == 0 { curvePhysical[tag] = abs(phys) }
                            }
                            let nb = try count("number of bounding entities", itemBytes: 4)
                            for _ in 0..<nb { _ = try int32("bounding entity tag") }
                        }
                    }
                    try expectEnd("$EndEntities")
                case "$Nodes":
                    guard sawFormat else { throw fail("$Nodes before $MeshFormat") }
                    let blocks = try count("numEntityBlocks of $Nodes", itemBytes: 20)
                    let total = try count("numNodes of $Nodes", itemBytes: 32)
                    _ = try uint64("minNodeTag"); _ = try uint64("maxNodeTag")
                    c.vertices.reserveCapacity(total)
                    for _ in 0..<blocks {
                        let dim = try int32("node block entityDim"); _ = try int32("node block entityTag")
                        let parametric = try int32("node block parametric flag")
                        guard (0...3).contains(dim), parametric == 0 || parametric == 1 else {
                            throw fail("node block with entityDim \(dim) and parametric \(parametric) (expected 0…3 and 0 or 1)")
                        }
                        let extra = parametric == 1 ? dim : 0
                        let n = try count("numNodesInBlock", itemBytes: 8 + 8 * (3 + extra))
                        var tags = [Int]()
                        tags.reserveCapacity(n)
                        for _ in 0..<n { tags.append(try self.tag("node tag")) }
                        for tag in tags {
                            let x = try double("node coordinates"), y = try double("node coordinates")
                            for _ in 0..<(1 + extra) { _ = try double("node coordinates") }
                            try c.addNode(tag: tag, x: x, y: y, fail: fail)
                        }
                    }
                    guard c.vertices.count == total else { throw fail("$Nodes announced \(total) nodes, found \(c.vertices.count)") }
                    try expectEnd("$EndNodes")
                    sawNodes = true
                case "$Elements":
                    guard sawNodes else { throw fail("$Elements before $Nodes") }
                    let blocks = try count("numEntityBlocks of $Elements", itemBytes: 20)
                    let total = try count("numElements of $Elements", itemBytes: 16)
                    _ = try uint64("minElementTag"); _ = try uint64("maxElementTag")
                    var found = 0
                    var element = [Int](repeating: 0, count: 4)
                    for _ in 0..<blocks {
                        _ = try int32("element block entityDim")
                        let entity = try int32("element block entityTag")
                        let type = try int32("element block elementType")
                        guard let nodes = nodesPerElement(type) else { throw fail(unsupportedType(type)) }
                        let n = try count("numElementsInBlock", itemBytes: 8 * (1 + nodes))
                        let tag = curvePhysical[entity] ?? entity
                        for _ in 0..<n {
                            for k in 0...nodes { element[k] = try self.tag(k == 0 ? "element tag" : "element node tag") }
                            try c.addElement(id: element[0], type: type, nodeTags: element[1...nodes], tag: tag, fail: fail)
                        }
                        found += n
                    }
                    guard found == total else { throw fail("$Elements announced \(total) elements, found \(found)") }
                    try expectEnd("$EndElements")
                    sawElements = true
                default:
                    guard t.hasPrefix("$") && !t.hasPrefix("$End") else { throw fail("unexpected line '\(t.prefix(40))'") }
                    // Skip sections we do not use ($PhysicalNames, $Periodic, …): find "\n$End<Name>".
                    let end = Array(("\n$End" + t.dropFirst()).utf8)
                    var found = false
                    var i = pos > 0 ? pos - 1 : 0
                    while i + end.count <= bytes.count {
                        if bytes[i] == 0x0A && bytes[i..<(i + end.count)].elementsEqual(end) { found = true; break }
                        i += 1
                    }
                    guard found else { throw fail("section \(t.prefix(40)) has no \(String(decoding: end.dropFirst(), as: UTF8.self))") }
                    pos = i + 1
                    _ = line()
                }
            }
            guard sawFormat else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $MeshFormat section (not a Gmsh file?)") }
            guard sawNodes, sawElements else { throw PDEError.malformedFile(path: path, line: nil, reason: "missing $Nodes or $Elements section") }
            return try c.mesh(path: path)
        }
    }

    /// Writes a mesh (atomically) as Gmsh 4.1 ASCII (the default), 4.1 binary or 2.2 ASCII.
    /// In 4.1: one surface entity (physical tag 1) holding all nodes and triangles, one curve
    /// entity per boundary tag (physical tag = the tag). In 2.2: each boundary line carries
    /// its tag as physical and elementary tag, triangles carry 1.
    public static func write(_ mesh: TriangleMesh, to path: String, format: Format = .ascii41) throws {
        switch format {
        case .ascii41: try writeASCII41(mesh, to: path)
        case .ascii22: try writeASCII22(mesh, to: path)
        case .binary41: try writeBinary41(mesh, to: path)
        }
    }

    static func writeASCII22(_ mesh: TriangleMesh, to path: String) throws {
        var s = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n\(mesh.vertexCount)\n"
        for (i, v) in mesh.vertices.enumerated() { s += "\(i + 1) \(v.x) \(v.y) 0\n" }
        s += "$EndNodes\n$Elements\n\(mesh.boundaryEdges.count + mesh.triangleCount)\n"
        var id = 1
        for e in mesh.boundaryEdges { s += "\(id) 1 2 \(e.tag) \(e.tag) \(e.v0 + 1) \(e.v1 + 1)\n"; id += 1 }
        for t in mesh.triangles { s += "\(id) 2 2 1 1 \(t[0] + 1) \(t[1] + 1) \(t[2] + 1)\n"; id += 1 }
        s += "$EndElements\n"
        try AtomicFile.write(Data(s.utf8), to: path)
    }

    static func writeBinary41(_ mesh: TriangleMesh, to path: String) throws {
        let tags = Array(Set(mesh.boundaryEdges.map(\.tag))).sorted()
        for t in tags where Int32(exactly: t) == nil {
            throw PDEError.invalidValue(key: "boundary tag", value: "\(t)", expected: "a 32-bit integer (Gmsh binary entity tags are int)")
        }
        var out = Data("$MeshFormat\n4.1 1 8\n".utf8)
        func i32(_ v: Int) { var x = Int32(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func u64(_ v: Int) { var x = UInt64(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func f64(_ v: Double) { var x = v.bitPattern.littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func text(_ s: String) { out.append(contentsOf: s.utf8) }
        i32(1)
        text("\n$EndMeshFormat\n$Entities\n")
        let xs = mesh.vertices.map(\.x), ys = mesh.vertices.map(\.y)
        let box = [xs.min() ?? 0, ys.min() ?? 0, 0, xs.max() ?? 0, ys.max() ?? 0, 0]
        u64(0); u64(tags.count); u64(1); u64(0)
        for t in tags { i32(t); box.forEach(f64); u64(1); i32(t); u64(0) }
        i32(1); box.forEach(f64); u64(1); i32(1); u64(tags.count); tags.forEach(i32)
        text("\n$EndEntities\n$Nodes\n")
        let n = mesh.vertexCount
        u64(1); u64(n); u64(1); u64(n)
        i32(2); i32(1); i32(0); u64(n)
        for i in stride(from: 1, through: n, by: 1) { u64(i) }
        for v in mesh.vertices { f64(v.x); f64(v.y); f64(0) }
        text("\n$EndNodes\n$Elements\n")
        let total = mesh.boundaryEdges.count + mesh.triangleCount
        u64(tags.count + 1); u64(total); u64(1); u64(total)
        var id = 1
        for t in tags {
            let e = mesh.boundaryEdges.filter { $0.tag == t }
            i32(1); i32(t); i32(1); u64(e.count)
            for edge in e { u64(id); u64(edge.v0 + 1); u64(edge.v1 + 1); id += 1 }
        }
        i32(2); i32(1); i32(2); u64(mesh.triangleCount)
        for t in mesh.triangles { u64(id); u64(Int(t[0]) + 1); u64(Int(t[1]) + 1); u64(Int(t[2]) + 1); id += 1 }
        text("\n$EndElements\n")
        try AtomicFile.write(out, to: path)
    }

    static func writeASCII41(_ mesh: TriangleMesh, to path: String) throws {
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
        /// Lines not yet read.
        var remaining: Int { lines.count - index }
        /// A declared count: ≥ 0 and at most the lines left divided by the lines each item takes.
        func checkCount(_ v: Int, _ what: String, perLine: Int) throws -> Int {
            guard v >= 0 else { throw fail("negative count \(v) of \(what)") }
            guard v <= remaining / max(1, perLine) else {
                throw fail("\(v) \(what) announced, but only \(remaining) lines follow")
            }
            return v
        }
        /// A header line of counts (the first `n` of at least `minimumTokens` integers), each checked.
        mutating func counts(_ n: Int, _ what: String, perLine: Int, minimumTokens: Int? = nil) throws -> [Int] {
            let v = try ints(minimumTokens ?? n, what)
            return try v.prefix(n).map { try checkCount($0, what, perLine: perLine) }
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
