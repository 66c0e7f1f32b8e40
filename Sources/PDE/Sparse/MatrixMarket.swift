import Foundation

/// Matrix Market exchange format (coordinate, real, general or symmetric; 1-based indices;
/// `%` comment lines), the format scipy, PETSc, Julia and the SuiteSparse collection read.
/// Dense vectors use the `array real general` form.
public enum MatrixMarket {
    /// Symmetry written in the header.
    public enum Symmetry: String, Sendable { case general, symmetric }

    /// Reads a sparse matrix. A `symmetric` file stores one triangle; the other is filled in.
    /// `array` files are read as dense column-major matrices and returned as CSR.
    public static func read(_ path: String) throws -> CSRMatrix {
        let text = try readText(path)
        var lines = LineReader(text: text, path: path)
        let header = try lines.header()
        switch header.layout {
        case "coordinate": return try readCoordinate(&lines, header: header)
        case "array":
            guard header.symmetry == "general" else {
                throw PDEError.malformedFile(path: path, line: 1, reason: "array files must be 'general' (symmetric arrays are not supported)")
            }
            let (rows, cols, vals) = try readArray(&lines, header: header)
            var b = COOBuilder(rows: rows, columns: cols, reserve: vals.count)
            if rows > 0 { for j in 0..<cols { for i in 0..<rows { b.add(i, j, vals[i + rows * j]) } } }
            return b.build()
        default:
            throw PDEError.malformedFile(path: path, line: 1, reason: "unsupported layout '\(header.layout)' (expected coordinate or array)")
        }
    }

    /// Reads a vector: an `array` file with one column, or a `coordinate` n×1 file.
    public static func readVector(_ path: String) throws -> [Double] {
        let text = try readText(path)
        var lines = LineReader(text: text, path: path)
        let header = try lines.header()
        if header.layout == "array" {
            let (rows, cols, vals) = try readArray(&lines, header: header)
            guard cols == 1 else {
                throw PDEError.malformedFile(path: path, line: nil, reason: "expected a vector (one column), found \(rows)×\(cols)")
            }
            return vals
        }
        let m = try readCoordinate(&lines, header: header)
        guard m.columns == 1 else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "expected a vector (one column), found \(m.rows)×\(m.columns)")
        }
        var v = [Double](repeating: 0, count: m.rows)
        for i in 0..<m.rows { for k in m.rowPointers[i]..<m.rowPointers[i + 1] { v[i] += m.values[k] } }
        return v
    }

    /// Writes a sparse matrix in coordinate form. With `.symmetric` only the lower triangle
    /// is written (the matrix must be symmetric; it is checked).
    public static func write(_ matrix: CSRMatrix, to path: String, symmetry: Symmetry = .general,
                             comment: String? = nil) throws {
        if symmetry == .symmetric && !matrix.isSymmetric(tolerance: 0) {
            throw PDEError.invalidValue(key: "symmetry", value: "symmetric",
                                        expected: "a symmetric matrix (this one is not); write it as general")
        }
        var out = "%%MatrixMarket matrix coordinate real \(symmetry.rawValue)\n"
        if let comment { for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { out += "% \(line)\n" } }
        var count = 0
        if symmetry == .symmetric {
            for i in 0..<matrix.rows { for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] where Int(matrix.columnIndices[k]) <= i { count += 1 } }
        } else {
            count = matrix.nonzeroCount
        }
        out += "\(matrix.rows) \(matrix.columns) \(count)\n"
        var bytes = Data(out.utf8)
        bytes.reserveCapacity(bytes.count + count * 32)
        var line = ""
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] {
                let j = Int(matrix.columnIndices[k])
                if symmetry == .symmetric && j > i { continue }
                line = "\(i + 1) \(j + 1) \(formatDouble(matrix.values[k]))\n"
                bytes.append(contentsOf: line.utf8)
            }
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Writes a dense vector as an `array real general` n×1 file.
    public static func writeVector(_ v: [Double], to path: String, comment: String? = nil) throws {
        var out = "%%MatrixMarket matrix array real general\n"
        if let comment { out += "% \(comment)\n" }
        out += "\(v.count) 1\n"
        var bytes = Data(out.utf8)
        for x in v { bytes.append(contentsOf: (formatDouble(x) + "\n").utf8) }
        try AtomicFile.write(bytes, to: path)
    }

    /// Shortest representation that round-trips exactly (Swift's description does).
    static func formatDouble(_ x: Double) -> String { "\(x)" }

    // MARK: - Parsing

    struct Header { var layout: String; var field: String; var symmetry: String }

    static func readText(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PDEError.fileNotFound(path: path)
        }
        guard let s = String(data: data, encoding: .utf8) else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "not a text file")
        }
        return s
    }

    /// Limits on declared sizes, checked before anything is allocated. CSR column indices
    /// are `Int32`, so neither dimension may exceed `Int32.max`; building the CSR takes
    /// 8 bytes per row and per column whether or not they have entries, so a file may
    /// declare at most max(2^24, 4 × its byte count) rows and columns (an entry takes at
    /// least 6 bytes, so every matrix without empty rows passes; a 40-byte file claiming
    /// 10^12 rows does not).
    static func checkDimensions(rows: Int, cols: Int, lines: LineReader) throws {
        guard rows >= 0, cols >= 0 else { throw lines.fail("negative size \(rows)×\(cols) (expected counts ≥ 0)") }
        guard rows <= Int(Int32.max), cols <= Int(Int32.max) else {
            throw lines.fail("size \(rows)×\(cols) exceeds \(Int32.max) rows or columns (CSR indices are 32-bit)")
        }
        let limit = max(1 << 24, 4 * lines.byteCount)
        guard rows <= limit, cols <= limit else {
            throw lines.fail("size \(rows)×\(cols) is implausible for a \(lines.byteCount)-byte file (at most \(limit) rows and columns: the CSR row pointers and column buckets take 8 bytes per row and per column)")
        }
    }

    struct LineReader {
        let lines: [Substring]
        let path: String
        /// Size of the file in bytes (UTF-8), the bound for declared sizes.
        let byteCount: Int
        var index = 0
        init(text: String, path: String) {
            lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            byteCount = text.utf8.count
            self.path = path
        }
        /// Lines not yet read (an upper bound on the entries still to come).
        var remainingLines: Int { lines.count - index }
        /// 1-based line number of the line last returned.
        var lineNumber: Int { index }

        mutating func header() throws -> Header {
            guard let first = lines.first, lines.contains(where: { !$0.allSatisfy(\.isWhitespace) }) else {
                throw PDEError.malformedFile(path: path, line: 1, reason: "empty file")
            }
            index = 1
            let t = first.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard t.count == 5, t[0] == "%%matrixmarket", t[1] == "matrix" else {
                throw PDEError.malformedFile(path: path, line: 1,
                    reason: "expected a header '%%MatrixMarket matrix coordinate real general|symmetric'")
            }
            let h = Header(layout: String(t[2]), field: String(t[3]), symmetry: String(t[4]))
            guard ["real", "integer", "double"].contains(h.field) else {
                throw PDEError.malformedFile(path: path, line: 1, reason: "unsupported field '\(h.field)' (expected real or integer)")
            }
            guard ["general", "symmetric"].contains(h.symmetry) else {
                throw PDEError.malformedFile(path: path, line: 1, reason: "unsupported symmetry '\(h.symmetry)' (expected general or symmetric)")
            }
            return h
        }

        /// Next non-comment, non-blank line split into tokens.
        mutating func nextTokens() -> [Substring]? {
            while index < lines.count {
                let line = lines[index]
                index += 1
                let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
                if trimmed.isEmpty || trimmed.first == "%" || trimmed == "\r" { continue }
                return trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            }
            return nil
        }

        func fail(_ reason: String) -> PDEError { .malformedFile(path: path, line: lineNumber, reason: reason) }

        func int(_ s: Substring, _ what: String) throws -> Int {
            guard let v = Int(s) else { throw fail("\(what) '\(s)' is not an integer") }
            return v
        }
        func double(_ s: Substring, _ what: String) throws -> Double {
            guard let v = Double(s) else { throw fail("\(what) '\(s)' is not a number") }
            guard v.isFinite else { throw fail("\(what) '\(s)' is not finite (expected a finite number)") }
            return v
        }
    }

    static func readCoordinate(_ lines: inout LineReader, header: Header) throws -> CSRMatrix {
        guard let size = lines.nextTokens() else { throw lines.fail("missing size line 'rows columns entries'") }
        guard size.count == 3 else { throw lines.fail("size line must be 'rows columns entries', found \(size.count) values") }
        let rows = try lines.int(size[0], "row count"), cols = try lines.int(size[1], "column count")
        let entries = try lines.int(size[2], "entry count")
        guard entries >= 0 else { throw lines.fail("negative entry count \(entries) (expected a count ≥ 0)") }
        try checkDimensions(rows: rows, cols: cols, lines: lines)
        // One entry per line: a count larger than the lines left cannot be right (and must not
        // size an allocation).
        guard entries <= lines.remainingLines else {
            throw lines.fail("size line announces \(entries) entries but only \(lines.remainingLines) lines follow")
        }
        let symmetric = header.symmetry == "symmetric"
        if symmetric && rows != cols { throw lines.fail("a symmetric matrix must be square, found \(rows)×\(cols)") }
        var b = COOBuilder(rows: rows, columns: cols, reserve: symmetric ? 2 * entries : entries)
        for e in 0..<entries {
            guard let t = lines.nextTokens() else {
                throw lines.fail("file ends after \(e) of \(entries) entries")
            }
            guard t.count == 3 else { throw lines.fail("entry must be 'row column value', found \(t.count) values") }
            let i = try lines.int(t[0], "row index"), j = try lines.int(t[1], "column index")
            let v = try lines.double(t[2], "value")
            guard (1...max(1, rows)).contains(i), rows > 0 else { throw lines.fail("row index \(i) outside 1…\(rows)") }
            guard (1...max(1, cols)).contains(j), cols > 0 else { throw lines.fail("column index \(j) outside 1…\(cols)") }
            if symmetric && j > i { throw lines.fail("symmetric file has an entry (\(i), \(j)) above the diagonal") }
            b.add(i - 1, j - 1, v)
            if symmetric && i != j { b.add(j - 1, i - 1, v) }
        }
        if lines.nextTokens() != nil { throw lines.fail("more entries than the \(entries) announced") }
        return b.build()
    }

    static func readArray(_ lines: inout LineReader, header: Header) throws -> (Int, Int, [Double]) {
        guard let size = lines.nextTokens(), size.count == 2 else { throw lines.fail("size line must be 'rows columns'") }
        let rows = try lines.int(size[0], "row count"), cols = try lines.int(size[1], "column count")
        try checkDimensions(rows: rows, cols: cols, lines: lines)
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        // Each value takes at least two bytes ("0\n"): more than half the file's bytes cannot be there.
        guard !overflow, count <= lines.byteCount / 2 else {
            throw lines.fail("size \(rows)×\(cols) announces more values than the \(lines.byteCount)-byte file can hold")
        }
        var vals = [Double]()
        vals.reserveCapacity(count)
        while vals.count < count {
            guard let t = lines.nextTokens() else { throw lines.fail("file ends after \(vals.count) of \(count) values") }
            for s in t { vals.append(try lines.double(s, "value")) }
        }
        if vals.count != count || lines.nextTokens() != nil {
            throw lines.fail("more values than the \(rows)×\(cols) announced")
        }
        return (rows, cols, vals)
    }
}
