import CHDF5
import Foundation

/// HDF5 files of named Double/Float datasets written and read whole (h5py reads what this
/// writes). Nested paths such as `fields/u` create their groups. For attributes, appendable
/// chunked datasets and reading slices of samples, see `HDF5DatasetFile`.
public enum HDF5File {
    /// One dataset to write.
    public struct Dataset {
        /// Path in the file, e.g. `u` or `fields/u` (missing groups are created).
        public var name: String
        /// Extents in C order (numpy's shape, [nz, ny, nx] for a grid field); their product must be
        /// the number of values.
        public var shape: [Int]
        public var values: Values
        /// The values and their stored type: native double (float64) or native float (float32).
        public enum Values { case double([Double]), float([Float]) }

        /// A float64 dataset; `shape` is checked against the value count by `HDF5File.write`, not here.
        public init(name: String, shape: [Int], values: [Double]) { self.name = name; self.shape = shape; self.values = .double(values) }
        /// A float32 dataset (half the bytes of float64); `shape` is checked by `HDF5File.write`.
        public init(name: String, shape: [Int], values: [Float]) { self.name = name; self.shape = shape; self.values = .float(values) }
        var count: Int { switch values { case .double(let v): return v.count; case .float(let v): return v.count } }
    }

    /// The HDF5 library here is built without thread safety: every call into it (here and
    /// in `HDF5DatasetFile`) is serialized by this lock.
    static let libraryLock = NSRecursiveLock()

    /// Writes the datasets into a new file (atomically: a temporary file renamed into place).
    public static func write(_ datasets: [Dataset], to path: String) throws {
        for d in datasets {
            guard !d.name.isEmpty, !d.name.hasSuffix("/"), !d.name.contains("\0") else {
                throw PDEError.invalidValue(key: "dataset name", value: "'\(d.name)'", expected: "a non-empty path like 'u' or 'fields/u'")
            }
            let product = d.shape.reduce(Int?.some(1)) { p, n in
                guard let p, n >= 0 else { return nil }
                let (r, o) = p.multipliedReportingOverflow(by: n)
                return o ? nil : r
            }
            guard let product, product == d.count else {
                throw PDEError.shapeMismatch(what: "HDF5 dataset '\(d.name)'", expected: "shape \(d.shape) (\(product.map(String.init) ?? "an invalid number of") values)", got: "\(d.count) values")
            }
        }
        try AtomicFile.write(to: path) { tmp in
            let file = try HDF5DatasetFile(path: tmp, mode: .overwrite, displayPath: path)
            for d in datasets {
                switch d.values {
                case .double(let v): try file.write(d.name, shape: d.shape, values: v)
                case .float(let v): try file.write(d.name, shape: d.shape, values: v)
                }
            }
            try file.close()
        }
    }

    /// Reads one dataset as Double (float and integer datasets are converted) with its shape.
    public static func read(_ name: String, from path: String) throws -> (shape: [Int], values: [Double]) {
        let file = try HDF5DatasetFile(path: path, mode: .readOnly)
        defer { try? file.close() }
        return try file.read(name, as: Double.self)
    }

    /// Paths of every dataset in the file, in name order.
    public static func datasets(in path: String) throws -> [String] {
        let file = try HDF5DatasetFile(path: path, mode: .readOnly)
        defer { try? file.close() }
        return try file.datasets()
    }

    /// H5Lexists on every prefix of a path ("a/b/c" needs "a" and "a/b" to exist first).
    static func linkExists(_ file: hid_t, _ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(file, prefix, swiftpde_h5p_default()) <= 0 { return false }
        }
        return !prefix.isEmpty
    }

    static func listDatasets(_ file: hid_t, path: String) throws -> [String] {
        let needed = swiftpde_h5_list_datasets(file, nil, 0)
        guard needed >= 0 else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "HDF5 cannot list the datasets (damaged group structure)")
        }
        var buf = [CChar](repeating: 0, count: Int(needed) + 1)
        _ = swiftpde_h5_list_datasets(file, &buf, buf.count)
        return String(cString: buf).split(separator: "\n").map(String.init)
    }
}
