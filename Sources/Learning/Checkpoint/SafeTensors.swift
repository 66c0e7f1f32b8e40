import Foundation

/// The safetensors format (Hugging Face; loadable by `safetensors.torch.load_file` and
/// numpy): an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range, `__metadata__` (string → string), then the raw little-endian data.
/// Files are written atomically.
public enum SafeTensors {
    /// One stored tensor, of either precision.
    public struct Entry: Sendable, Equatable {
        /// `F32` or `F64` (safetensors' names); `write` refuses others.
        public var dtype: String
        /// Dimensions, row-major.
        public var shape: [Int]
        /// The elements' bytes, row-major, little-endian.
        public var data: Data

        /// The bytes of `t` (host order, little-endian on supported platforms) with its dtype and
        /// shape.
        public init<T: TensorScalar>(_ t: Tensor<T>) {
            dtype = T.dtypeName
            shape = t.shape
            data = t.scalars.withUnsafeBufferPointer { Data(buffer: $0) }
        }

        init(dtype: String, shape: [Int], data: Data) {
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        /// The values as a tensor of `T` (converting between F32 and F64).
        public func tensor<T: TensorScalar>(_: T.Type = T.self) -> Tensor<T> {
            let n = shape.reduce(1, *)
            if dtype == "F32" {
                let v: [Float] = data.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
                return T.self == Float.self ? Tensor(unchecked: shape, v as! [T]) : Tensor(unchecked: shape, v.map { T($0) })
            }
            let v: [Double] = data.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
            return T.self == Double.self ? Tensor(unchecked: shape, v as! [T]) : Tensor(unchecked: shape, v.map { T($0) })
        }
    }

    /// Writes tensors (in the given order) and metadata to `path`.
    public static func write(_ tensors: [(name: String, entry: Entry)], metadata: [String: String] = [:], to path: String) throws {
        var names = Set<String>()
        for (name, e) in tensors {
            guard !name.isEmpty, name != "__metadata__", names.insert(name).inserted else {
                throw LearningError.invalidArgument(name: "safetensors tensor name", value: "'\(name)'", expected: "unique, non-empty names other than __metadata__")
            }
            guard e.dtype == "F32" || e.dtype == "F64" else {
                throw LearningError.invalidArgument(name: "safetensors dtype of \(name)", value: e.dtype, expected: "F32 or F64")
            }
        }
        var header: [String: Any] = [:]
        var offset = 0
        for (name, e) in tensors {
            header[name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [offset, offset + e.data.count]] as [String: Any]
            offset += e.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad with spaces to 8-byte alignment
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, e) in tensors { out.append(e.data) }
        try AtomicFile.write(out, to: path)
    }

    /// Reads a file: tensors by name and the metadata. Throws `LearningError` naming the
    /// file and the problem for anything that is not a well-formed safetensors file with
    /// F32/F64 tensors (complex C64/C128 tensors are read as F32/F64 with a trailing (re, im)
    /// axis of 2).
    public static func read(_ path: String) throws -> (tensors: [String: Entry], order: [String], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw LearningError.fileNotFound(path: path) }
        func bad(_ reason: String) -> LearningError { .malformedFile(path: path, reason: reason) }
        guard data.count >= 8 else { throw bad("shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8), n <= 100_000_000 else { throw bad("header length \(n) exceeds the file (\(data.count) bytes)") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw bad("the header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(n))..<data.count)
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: String] else { throw bad("__metadata__ must map strings to strings") }
            metadata = dict
        }
        var tensors: [String: Entry] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let storedType = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsetsAny = info["data_offsets"] as? [Any],
                  offsetsAny.count == 2 else {
                throw bad("tensor '\(name)' needs dtype, shape and two data_offsets")
            }
            guard var shape = integers(shapeAny), let offsets = integers(offsetsAny) else {
                throw bad("tensor '\(name)': shape \(shapeAny) and data_offsets \(offsetsAny) must be lists of integers (below 9e18)")
            }
            // Complex tensors (PyTorch's complex64/complex128 saved natively, safetensors ≥ 0.7)
            // are read as their interleaved (re, im) pairs: a trailing axis of 2.
            var dtype = storedType
            if dtype == "C64" || dtype == "C128" {
                dtype = dtype == "C64" ? "F32" : "F64"
                shape.append(2)
            }
            guard dtype == "F32" || dtype == "F64" else { throw bad("tensor '\(name)' has dtype \(dtype); expected F32, F64, C64 or C128") }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("tensor '\(name)' has a negative dimension in \(shape)") }
            var size = dtype == "F32" ? 4 : 8
            for d in shape {
                let (p, overflow) = size.multipliedReportingOverflow(by: d)
                guard !overflow, p <= body.count else {
                    throw bad("tensor '\(name)': shape \(shape) of \(dtype) needs more than the \(body.count)-byte data buffer")
                }
                size = p
            }
            guard offsets[0] >= 0, offsets[0] <= body.count, offsets[1] == offsets[0] + size, offsets[1] <= body.count else {
                throw bad("tensor '\(name)': data_offsets \(offsets) do not hold \(shape) of \(dtype) (\(size) bytes) inside the \(body.count)-byte buffer")
            }
            tensors[name] = Entry(dtype: dtype, shape: shape, data: body.subdata(in: offsets[0]..<offsets[1]))
            ranges.append((offsets[0], offsets[1], name))
        }
        ranges.sort { $0.0 < $1.0 }
        for i in 1..<max(1, ranges.count) where ranges[i].0 < ranges[i - 1].1 {
            throw bad("tensors '\(ranges[i - 1].2)' and '\(ranges[i].2)' overlap")
        }
        return (tensors, ranges.map(\.2), metadata)
    }

    /// JSON numbers that are integers well inside Int's range (nil for 1.5, 1e300, "3"; values
    /// beyond 2^53 may round, which only matters for sizes no file can hold anyway).
    private static func integers(_ list: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(list.count)
        for v in list {
            guard let n = v as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18, let i = Int(exactly: d) else { return nil }
            out.append(i)
        }
        return out
    }
}
