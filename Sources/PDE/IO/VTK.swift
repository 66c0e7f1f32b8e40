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
