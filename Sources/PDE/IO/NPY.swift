import Foundation

/// An array read from a `.npy` file.
public struct NPYArray: Sendable, Equatable {
    /// The stored value type (named by its little-endian numpy descr; big-endian files are
    /// converted on reading and report the same case). int64 values beyond 2^53 round.
    public enum DType: String, Sendable {
        case float64 = "<f8", float32 = "<f4", int32 = "<i4", int64 = "<i8", uint8 = "|u1", bool = "|b1"
        /// Bytes per value.
        public var itemSize: Int {
            switch self {
            case .float64, .int64: return 8
            case .float32, .int32: return 4
            case .uint8, .bool: return 1
            }
        }
    }
    /// numpy's shape, C order (last axis fastest).
    public let shape: [Int]
    public let dtype: DType
    /// The values converted to Double, C order.
    public let doubles: [Double]
    public var count: Int { doubles.count }
}

/// numpy's `.npy` format (versions 1.0–3.0 read, 1.0 written): float64, float32 and int32
/// written little-endian in C order; also int64, uint8, bool, big-endian and Fortran-ordered
/// arrays read. What `NPY.write` writes, `numpy.load` reads, and back.
public enum NPY {
    /// Writes a little-endian float64 (`<f8`) NPY 1.0 file in C order, atomically. Throws
    /// `PDEError.shapeMismatch` unless Π shape = values.count (a grid field: [nz, ny, nx]);
    /// I/O failures surface as `FileWriteError`.
    public static func write(_ values: [Double], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<f8", shape: shape, path: path)
    }

    /// As the `[Double]` form, stored as float32 (`<f4`).
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<f4", shape: shape, path: path)
    }

    /// As the `[Double]` form, stored as int32 (`<i4`), e.g. triangle index columns.
    public static func write(_ values: [Int32], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<i4", shape: shape, path: path)
    }

    /// As the `[Double]` form, stored as uint8 (`|u1`), e.g. cell-type masks.
    public static func write(_ values: [UInt8], shape: [Int], to path: String) throws {
        try writeRaw(Data(values), count: values.count, descr: "|u1", shape: shape, path: path)
    }

    private static func writeRaw(_ payload: Data, count: Int, descr: String, shape: [Int], path: String) throws {
        let product = shape.reduce(Int?.some(1)) { p, d in
            guard let p, d >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: d)
            return o ? nil : r
        }
        guard let product, product == count else {
            throw PDEError.shapeMismatch(what: "NPY array \(path)", expected: "shape \(shape) with \(product.map(String.init) ?? "an invalid number of") values", got: "\(count) values")
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])  // \x93NUMPY v1.0
        let len = UInt16(header.utf8.count)
        data.append(UInt8(len & 0xFF))
        data.append(UInt8(len >> 8))
        data.append(contentsOf: header.utf8)
        data.append(payload)
        try AtomicFile.write(data, to: path)
    }

    /// Reads a `.npy` file: float64, float32, int64, int32, uint8 or bool, either byte order
    /// (big-endian values are converted), C or Fortran order (Fortran-ordered arrays are
    /// transposed into C order). Declared sizes are checked against the file before anything
    /// is allocated; every problem is a `PDEError.malformedFile` naming the file.
    public static func read(_ path: String) throws -> NPYArray {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        func bad(_ reason: String) -> PDEError { .malformedFile(path: path, line: nil, reason: reason) }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw bad("not an NPY file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header (\(bytes.count) bytes, expected at least 12)") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw bad("unsupported NPY format version \(major) (expected 1, 2 or 3)")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw bad("truncated header: header length \(headerLength) exceeds the \(bytes.count - headerStart) bytes after the preamble")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw bad("header is not \(major == 3 ? "UTF-8" : "Latin-1") text")
        }
        guard let descr = dictValue(header, "descr") else { throw bad("header has no 'descr'") }
        let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard let parsed = parseDescr(d) else {
            throw bad("unsupported dtype '\(d)' (expected one of <f8, <f4, <i8, <i4, |u1, |b1, or their big-endian forms)")
        }
        let (dtype, bigEndian) = parsed
        guard let fortranText = dictValue(header, "fortran_order") else { throw bad("header has no 'fortran_order'") }
        let fortran: Bool
        switch fortranText.trimmingCharacters(in: .whitespaces) {
        case "True": fortran = true
        case "False": fortran = false
        case let other: throw bad("'fortran_order' is '\(other.prefix(40))' (expected True or False)")
        }
        guard let shapeText = dictValue(header, "shape") else { throw bad("header has no 'shape'") }
        let trimmedShape = shapeText.trimmingCharacters(in: .whitespaces)
        guard trimmedShape.hasPrefix("("), trimmedShape.hasSuffix(")") else {
            throw bad("'shape' is '\(trimmedShape.prefix(40))' (expected a tuple such as (3, 4))")
        }
        let inner = trimmedShape.dropFirst().dropLast()
        var shape: [Int] = []
        var count = 1
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw bad("shape entry '\(t.prefix(40))' (expected an integer ≥ 0)") }
            shape.append(v)
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw bad("shape \(shape) has more values than fit in a 64-bit count") }
            count = p
        }
        let width = dtype.itemSize
        let start = headerStart + headerLength
        let available = bytes.count - start
        let (needed, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, needed <= available else {
            throw bad("data ends after \(available / width) of \(count) values for shape \(shape) (\(available) bytes of \(dtype.rawValue) data)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let src = UnsafeRawBufferPointer(rebasing: raw[start..<(start + needed)])
            values.withUnsafeMutableBufferPointer { out in
                decode(src, dtype: dtype, bigEndian: bigEndian, into: out)
            }
        }
        if fortran && shape.count > 1 && count > 0 { values = fortranToC(values, shape: shape) }
        return NPYArray(shape: shape, dtype: dtype, doubles: values)
    }

    /// The dtype and byte order of a descr string such as `<f8`, `>i4`, `|u1`.
    static func parseDescr(_ d: String) -> (NPYArray.DType, bigEndian: Bool)? {
        var code = Substring(d)
        var big = false
        if let first = code.first, "<>=|".contains(first) {
            big = first == ">"
            code = code.dropFirst()
        }
        switch code {
        case "f8": return (.float64, big)
        case "f4": return (.float32, big)
        case "i8": return (.int64, big)
        case "i4": return (.int32, big)
        case "u1": return (.uint8, false)
        case "b1": return (.bool, false)
        default: return nil
        }
    }

    /// Converts `out.count` raw values (`src` holds exactly count × itemSize bytes).
    private static func decode(_ src: UnsafeRawBufferPointer, dtype: NPYArray.DType, bigEndian: Bool,
                               into out: UnsafeMutableBufferPointer<Double>) {
        let n = out.count
        switch dtype {
        case .float64:
            for i in 0..<n {
                let u = src.loadUnaligned(fromByteOffset: 8 &* i, as: UInt64.self)
                out[i] = Double(bitPattern: bigEndian ? UInt64(bigEndian: u) : UInt64(littleEndian: u))
            }
        case .float32:
            for i in 0..<n {
                let u = src.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)
                out[i] = Double(Float(bitPattern: bigEndian ? UInt32(bigEndian: u) : UInt32(littleEndian: u)))
            }
        case .int64:
            for i in 0..<n {
                let u = src.loadUnaligned(fromByteOffset: 8 &* i, as: Int64.self)
                out[i] = Double(bigEndian ? Int64(bigEndian: u) : Int64(littleEndian: u))
            }
        case .int32:
            for i in 0..<n {
                let u = src.loadUnaligned(fromByteOffset: 4 &* i, as: Int32.self)
                out[i] = Double(bigEndian ? Int32(bigEndian: u) : Int32(littleEndian: u))
            }
        case .uint8:
            for i in 0..<n { out[i] = Double(src[i]) }
        case .bool:
            for i in 0..<n { out[i] = src[i] == 0 ? 0 : 1 }
        }
    }

    /// Reorders column-major (Fortran) values into row-major (C) order.
    static func fortranToC(_ values: [Double], shape: [Int]) -> [Double] {
        let k = shape.count
        // Fortran strides: stride[0] = 1, stride[d] = stride[d-1] * shape[d-1].
        var stride = [Int](repeating: 1, count: k)
        for d in 1..<k { stride[d] = stride[d - 1] &* shape[d - 1] }
        var out = [Double](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: k)
        var src = 0
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<o.count {
                    o[i] = v[src]
                    // Advance the C-order multi-index (last axis fastest), tracking the Fortran offset.
                    var d = k - 1
                    while d >= 0 {
                        index[d] &+= 1
                        src &+= stride[d]
                        if index[d] < shape[d] { break }
                        src &-= stride[d] &* shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return out
    }

    /// The text of a value in numpy's header dict (`'key': value,`), tuples kept whole.
    private static func dictValue(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else { return nil }
        var rest = header[r.upperBound...].drop(while: { $0 == " " })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[rest.startIndex...close])
        }
        let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
        return String(rest[rest.startIndex..<end])
    }
}
