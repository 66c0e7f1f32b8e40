import Foundation

/// VTK XML files for ParaView/VisIt: ImageData (`.vti`) for grid fields, UnstructuredGrid
/// (`.vtu`) for triangle-mesh fields. ASCII data with 17 significant digits (exact round
/// trip of Double).
public enum VTK {
    /// Writes point data on a uniform grid (1-/2-/3-D; lower dimensions padded to 3-D extents).
    public static func writeImageData(path: String, counts: [Int], origin: [Double], spacing: [Double],
                                      pointData: [(name: String, values: [Double])]) throws {
        guard (1...3).contains(counts.count), origin.count == counts.count, spacing.count == counts.count else {
            throw PDEError.shapeMismatch(what: "VTK image data", expected: "1 to 3 counts with as many origins and spacings",
                                         got: "\(counts.count) counts, \(origin.count) origins, \(spacing.count) spacings")
        }
        let n = counts.reduce(1, *)
        for (name, v) in pointData where v.count != n {
            throw PDEError.shapeMismatch(what: "VTK point data '\(name)'", expected: "\(n) values (one per grid node)", got: "\(v.count)")
        }
        let c = counts + Array(repeating: 1, count: 3 - counts.count)
        let o = origin + Array(repeating: 0, count: 3 - origin.count)
        let s = spacing + Array(repeating: 1, count: 3 - spacing.count)
        let extent = "0 \(c[0] - 1) 0 \(c[1] - 1) 0 \(c[2] - 1)"
        var out = """
        <?xml version="1.0"?>
        <VTKFile type="ImageData" version="1.0" byte_order="LittleEndian">
          <ImageData WholeExtent="\(extent)" Origin="\(o.map(fmt).joined(separator: " "))" Spacing="\(s.map(fmt).joined(separator: " "))">
            <Piece Extent="\(extent)">
              <PointData\(pointData.first.map { " Scalars=\"\(escape($0.name))\"" } ?? "")>

        """
        for (name, v) in pointData { out += dataArray(name, v) }
        out += """
              </PointData>
            </Piece>
          </ImageData>
        </VTKFile>

        """
        try AtomicFile.write(Data(out.utf8), to: path)
    }

    /// One piece of a grid field split into `pieces` slabs along the slowest axis (neighbouring
    /// pieces share their boundary layer of nodes, as ParaView expects): writes
    /// `<base>_<piece>.vti` (whole extent global, piece extent local) and, for piece 0, the
    /// `.pvti` index `path` naming every piece. Under `mpirun` rank r writes piece r. Returns the
    /// piece file's path. Throws for a piece outside 0..<pieces or more pieces than intervals.
    @discardableResult
    public static func writeImageDataPiece(path: String, counts: [Int], origin: [Double], spacing: [Double],
                                           pointData: [(name: String, values: [Double])], pieces: Int, piece: Int) throws -> String {
        let dim = counts.count
        guard (1...3).contains(dim), origin.count == dim, spacing.count == dim else {
            throw PDEError.shapeMismatch(what: "VTK image data", expected: "1 to 3 counts with as many origins and spacings",
                                         got: "\(counts.count) counts, \(origin.count) origins, \(spacing.count) spacings")
        }
        let intervals = counts[dim - 1] - 1
        guard pieces >= 1, piece >= 0, piece < pieces, pieces <= max(1, intervals) else {
            throw PDEError.invalidValue(key: "VTK piece", value: "\(piece) of \(pieces)", expected: "a piece in 0..<pieces, at most \(max(1, intervals)) pieces (one interval each)")
        }
        let n = counts.reduce(1, *)
        for (name, v) in pointData where v.count != n {
            throw PDEError.shapeMismatch(what: "VTK point data '\(name)'", expected: "\(n) values (one per grid node)", got: "\(v.count)")
        }
        func range(_ k: Int) -> ClosedRange<Int> {
            if intervals == 0 { return 0...0 }
            let base = intervals / pieces, extra = intervals % pieces
            let lo = k * base + min(k, extra)
            return lo...(lo + base + (k < extra ? 1 : 0))
        }
        let c = counts + Array(repeating: 1, count: 3 - dim)
        let o = origin + Array(repeating: 0, count: 3 - dim)
        let sp = spacing + Array(repeating: 1, count: 3 - dim)
        func extent(_ k: Int) -> String {
            (0..<3).map { d in d == dim - 1 ? "\(range(k).lowerBound) \(range(k).upperBound)" : "0 \(c[d] - 1)" }.joined(separator: " ")
        }
        let whole = "0 \(c[0] - 1) 0 \(c[1] - 1) 0 \(c[2] - 1)"
        let base = path.hasSuffix(".pvti") ? String(path.dropLast(5)) : path
        let stem = (base as NSString).lastPathComponent
        let layer = n / counts[dim - 1]
        let r = range(piece)
        var out = """
        <?xml version="1.0"?>
        <VTKFile type="ImageData" version="1.0" byte_order="LittleEndian">
          <ImageData WholeExtent="\(whole)" Origin="\(o.map(fmt).joined(separator: " "))" Spacing="\(sp.map(fmt).joined(separator: " "))">
            <Piece Extent="\(extent(piece))">
              <PointData\(pointData.first.map { " Scalars=\"\(escape($0.name))\"" } ?? "")>

        """
        for (name, v) in pointData { out += dataArray(name, Array(v[(r.lowerBound * layer)..<((r.upperBound + 1) * layer)])) }
        out += """
              </PointData>
            </Piece>
          </ImageData>
        </VTKFile>

        """
        let piecePath = base + "_\(piece).vti"
        try AtomicFile.write(Data(out.utf8), to: piecePath)
        if piece == 0 {
            var index = """
            <?xml version="1.0"?>
            <VTKFile type="PImageData" version="1.0" byte_order="LittleEndian">
              <PImageData WholeExtent="\(whole)" GhostLevel="0" Origin="\(o.map(fmt).joined(separator: " "))" Spacing="\(sp.map(fmt).joined(separator: " "))">

            """
            index += indexArrays("PPointData", pointData.map(\.name), scalars: true)
            for k in 0..<pieces { index += "    <Piece Extent=\"\(extent(k))\" Source=\"\(escape(stem))_\(k).vti\"/>\n" }
            index += "  </PImageData>\n</VTKFile>\n"
            try AtomicFile.write(Data(index.utf8), to: base + ".pvti")
        }
        return piecePath
    }

    /// Writes a `GridField` (and optional extra fields on the same grid).
    public static func write(_ field: GridField, name: String, to path: String, extra: [(name: String, values: [Double])] = []) throws {
        try writeImageData(path: path, counts: field.grid.counts, origin: field.grid.lower, spacing: field.grid.spacing,
                           pointData: [(name, field.values)] + extra)
    }

    /// Writes a triangle mesh with point and cell data.
    public static func writeUnstructuredGrid(path: String, points: [[Double]], triangles: [[Int]],
                                             pointData: [(name: String, values: [Double])],
                                             cellData: [(name: String, values: [Double])] = []) throws {
        for (name, v) in pointData where v.count != points.count {
            throw PDEError.shapeMismatch(what: "VTK point data '\(name)'", expected: "\(points.count) values (one per vertex)", got: "\(v.count)")
        }
        for (name, v) in cellData where v.count != triangles.count {
            throw PDEError.shapeMismatch(what: "VTK cell data '\(name)'", expected: "\(triangles.count) values (one per triangle)", got: "\(v.count)")
        }
        for (t, tri) in triangles.enumerated() where tri.count != 3 || tri.contains(where: { $0 < 0 || $0 >= points.count }) {
            throw PDEError.invalidValue(key: "triangle \(t)", value: "\(tri)", expected: "3 vertex indices in 0..<\(points.count)")
        }
        var out = """
        <?xml version="1.0"?>
        <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian">
          <UnstructuredGrid>
            <Piece NumberOfPoints="\(points.count)" NumberOfCells="\(triangles.count)">
              <Points>
                <DataArray type="Float64" NumberOfComponents="3" format="ascii">

        """
        for p in points {
            out += "          " + (0..<3).map { fmt($0 < p.count ? p[$0] : 0) }.joined(separator: " ") + "\n"
        }
        out += """
                </DataArray>
              </Points>
              <Cells>
                <DataArray type="Int32" Name="connectivity" format="ascii">

        """
        for t in triangles { out += "          \(t[0]) \(t[1]) \(t[2])\n" }
        out += "        </DataArray>\n        <DataArray type=\"Int32\" Name=\"offsets\" format=\"ascii\">\n"
        out += lines(triangles.indices.map { String(3 * ($0 + 1)) })
        out += "        </DataArray>\n        <DataArray type=\"UInt8\" Name=\"types\" format=\"ascii\">\n"
        out += lines(Array(repeating: "5", count: triangles.count))
        out += "        </DataArray>\n      </Cells>\n"
        out += "      <PointData\(pointData.first.map { " Scalars=\"\(escape($0.name))\"" } ?? "")>\n"
        for (name, v) in pointData { out += dataArray(name, v) }
        out += "      </PointData>\n      <CellData>\n"
        for (name, v) in cellData { out += dataArray(name, v) }
        out += "      </CellData>\n    </Piece>\n  </UnstructuredGrid>\n</VTKFile>\n"
        try AtomicFile.write(Data(out.utf8), to: path)
    }

    /// One piece of a triangle-mesh field split into `pieces` contiguous blocks of triangles
    /// (as equal as possible): writes `<base>_<piece>.vtu` with the piece's triangles, the
    /// vertices they use (renumbered in order of first use; vertices on a cut belong to every
    /// piece that uses them, as ParaView expects) and the point and cell data restricted to
    /// them, and, for piece 0, the `.pvtu` index `path` naming every piece. Under `mpirun`
    /// rank r writes piece r. Returns the piece file's path. Throws for a piece outside
    /// 0..<pieces, more pieces than triangles, and the whole-mesh writer's errors.
    @discardableResult
    public static func writeUnstructuredGridPiece(path: String, points: [[Double]], triangles: [[Int]],
                                                  pointData: [(name: String, values: [Double])],
                                                  cellData: [(name: String, values: [Double])] = [],
                                                  pieces: Int, piece: Int) throws -> String {
        guard pieces >= 1, piece >= 0, piece < pieces, pieces <= max(1, triangles.count) else {
            throw PDEError.invalidValue(key: "VTK piece", value: "\(piece) of \(pieces)",
                                        expected: "a piece in 0..<pieces, at most \(max(1, triangles.count)) pieces (one triangle each)")
        }
        for (name, v) in pointData where v.count != points.count {
            throw PDEError.shapeMismatch(what: "VTK point data '\(name)'", expected: "\(points.count) values (one per vertex)", got: "\(v.count)")
        }
        for (name, v) in cellData where v.count != triangles.count {
            throw PDEError.shapeMismatch(what: "VTK cell data '\(name)'", expected: "\(triangles.count) values (one per triangle)", got: "\(v.count)")
        }
        let base = triangles.count / pieces, extra = triangles.count % pieces
        let lo = piece * base + min(piece, extra), hi = lo + base + (piece < extra ? 1 : 0)
        var local: [Int: Int] = [:], used: [Int] = []
        var pieceTriangles: [[Int]] = []
        pieceTriangles.reserveCapacity(hi - lo)
        for t in lo..<hi {
            guard triangles[t].count == 3, triangles[t].allSatisfy({ $0 >= 0 && $0 < points.count }) else {
                throw PDEError.invalidValue(key: "triangle \(t)", value: "\(triangles[t])", expected: "3 vertex indices in 0..<\(points.count)")
            }
            pieceTriangles.append(triangles[t].map { v in
                if let l = local[v] { return l }
                local[v] = used.count
                used.append(v)
                return used.count - 1
            })
        }
        return try writeUnstructuredGridPiece(path: path, piece: piece, of: pieces, points: used.map { points[$0] }, triangles: pieceTriangles,
                                              pointData: pointData.map { data in (data.name, used.map { data.values[$0] }) },
                                              cellData: cellData.map { ($0.name, Array($0.values[lo..<hi])) })
    }

    /// Piece `piece` of `pieces` given whole: its own points, triangles (indices into those
    /// points) and data, e.g. a rank's part of a distributed mesh (`DistributedP1System.localMesh`).
    /// Writes `<base>_<piece>.vtu` and, for piece 0, the `.pvtu` index `path` naming every piece.
    /// Returns the piece file's path. Throws for a piece outside 0..<pieces and the whole-mesh
    /// writer's errors.
    @discardableResult
    public static func writeUnstructuredGridPiece(path: String, piece: Int, of pieces: Int, points: [[Double]], triangles: [[Int]],
                                                  pointData: [(name: String, values: [Double])],
                                                  cellData: [(name: String, values: [Double])] = []) throws -> String {
        guard pieces >= 1, piece >= 0, piece < pieces else {
            throw PDEError.invalidValue(key: "VTK piece", value: "\(piece) of \(pieces)", expected: "a piece in 0..<pieces")
        }
        let stem = path.hasSuffix(".pvtu") ? String(path.dropLast(5)) : path
        let piecePath = stem + "_\(piece).vtu"
        try writeUnstructuredGrid(path: piecePath, points: points, triangles: triangles, pointData: pointData, cellData: cellData)
        if piece == 0 {
            let name = (stem as NSString).lastPathComponent
            var index = """
            <?xml version="1.0"?>
            <VTKFile type="PUnstructuredGrid" version="1.0" byte_order="LittleEndian">
              <PUnstructuredGrid GhostLevel="0">

            """
            index += indexArrays("PPointData", pointData.map(\.name), scalars: true) + indexArrays("PCellData", cellData.map(\.name), scalars: false)
            index += "    <PPoints>\n      <PDataArray type=\"Float64\" NumberOfComponents=\"3\"/>\n    </PPoints>\n"
            for k in 0..<pieces { index += "    <Piece Source=\"\(escape(name))_\(k).vtu\"/>\n" }
            index += "  </PUnstructuredGrid>\n</VTKFile>\n"
            try AtomicFile.write(Data(index.utf8), to: stem + ".pvtu")
        }
        return piecePath
    }

    /// The `<PPointData>` or `<PCellData>` block of a parallel index (the first array as the
    /// scalars when `scalars`).
    private static func indexArrays(_ tag: String, _ names: [String], scalars: Bool) -> String {
        var out = "    <\(tag)\(scalars ? names.first.map { " Scalars=\"\(escape($0))\"" } ?? "" : "")>\n"
        for name in names { out += "      <PDataArray type=\"Float64\" Name=\"\(escape(name))\"/>\n" }
        return out + "    </\(tag)>\n"
    }

    private static func dataArray(_ name: String, _ v: [Double]) -> String {
        "        <DataArray type=\"Float64\" Name=\"\(escape(name))\" format=\"ascii\">\n" + lines(v.map(fmt)) + "        </DataArray>\n"
    }

    private static func lines(_ items: [String]) -> String {
        var s = ""
        s.reserveCapacity(items.count * 24)
        var i = 0
        while i < items.count {
            s += "          " + items[i..<min(items.count, i + 6)].joined(separator: " ") + "\n"
            i += 6
        }
        return s
    }

    static func fmt(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
