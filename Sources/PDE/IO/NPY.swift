import Foundation

/// An array read from a `.npy` file.
public struct NPYArray: Sendable, Equatable {
    public enum DType: String, Sendable { case float64 = "<f8", float32 = "<f4", int32 = "<i4" }
    public let shape: [Int]
    public let dtype: DType
    /// The values converted to Double, C order.
    public let doubles: [Double]
    public var count: Int { doubles.count }
}

/// numpy's `.npy` format (versions 1.0–3.0 read, 1.0 written): little-endian float64,
/// float32 and int32, C order. What `NPY.write` writes, `numpy.load` reads, and back.
public enum NPY {
    public static func write(_ values: [Double], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<f8", shape: shape, path: path)
    }

    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<f4", shape: shape, path: path)
    }

    public static func write(_ values: [Int32], shape: [Int], to path: String) throws {
        try writeRaw(values.withUnsafeBytes { Data($0) }, count: values.count, descr: "<i4", shape: shape, path: path)
    }

    private static func writeRaw(_ payload: Data, count: Int, descr: String, shape: [Int], path: String) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw PDEError.shapeMismatch(what: "NPY array \(path)", expected: "shape \(shape) with \(shape.reduce(1, *)) values", got: "\(count) values")
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

    /// Reads a `.npy` file of dtype float64, float32 or int32 (little-endian, C order).
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
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw bad("unsupported NPY format version \(major) (expected 1, 2 or 3)")
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw bad("truncated header")
        }
        guard let descr = dictValue(header, "descr") else { throw bad("header has no 'descr'") }
        let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let dtype: NPYArray.DType
        switch d {
        case "<f8", "f8", "=f8": dtype = .float64
        case "<f4", "f4", "=f4": dtype = .float32
        case "<i4", "i4", "=i4": dtype = .int32
        case ">f8", ">f4", ">i4": throw bad("big-endian dtype '\(d)' (expected little-endian <f8, <f4 or <i4)")
        default: throw bad("unsupported dtype '\(d)' (expected <f8, <f4 or <i4)")
        }
        guard let fortran = dictValue(header, "fortran_order") else { throw bad("header has no 'fortran_order'") }
        if fortran.trimmingCharacters(in: .whitespaces) == "True" {
            throw bad("Fortran-ordered array (expected C order; save with numpy.ascontiguousarray)")
        }
        guard let shapeText = dictValue(header, "shape") else { throw bad("header has no 'shape'") }
        let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw bad("bad shape entry '\(t)'") }
            shape.append(v)
        }
        let count = shape.reduce(1, *)
        let width = dtype == .float64 ? 8 : 4
        let start = headerStart + headerLength
        guard bytes.count - start >= count * width else {
            throw bad("data ends after \((bytes.count - start) / width) of \(count) values for shape \(shape)")
        }
        var values = [Double](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + start
            switch dtype {
            case .float64:
                for i in 0..<count { values[i] = Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            case .float32:
                for i in 0..<count { values[i] = Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
            case .int32:
                for i in 0..<count { values[i] = Double(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            }
        }
        return NPYArray(shape: shape, dtype: dtype, doubles: values)
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
