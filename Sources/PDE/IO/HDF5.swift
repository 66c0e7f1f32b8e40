import CHDF5
import Foundation

/// HDF5 files of named Double/Float datasets (h5py reads what this writes). Nested
/// paths such as `fields/u` create their groups.
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

    /// The HDF5 library here is built without thread safety: every call into it is serialized.
    private static let libraryLock = NSRecursiveLock()

    /// Writes the datasets into a new file (atomically: a temporary file renamed into place).
    public static func write(_ datasets: [Dataset], to path: String) throws {
        libraryLock.lock()
        defer { libraryLock.unlock() }
        for d in datasets {
            guard !d.name.isEmpty, !d.name.hasSuffix("/") else {
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
        swiftpde_h5_silence_errors()
        try AtomicFile.write(to: path) { tmp in
            let file = H5Fcreate(tmp, swiftpde_h5f_acc_trunc(), swiftpde_h5p_default(), swiftpde_h5p_default())
            guard file >= 0 else { throw PDEError.writeFailed(path: path, reason: "HDF5 cannot create the file") }
            defer { H5Fclose(file) }
            let lcpl = H5Pcreate(swiftpde_h5p_link_create())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            for d in datasets {
                var dims = d.shape.map { hsize_t($0) }
                let space = H5Screate_simple(Int32(dims.count), &dims, nil)
                guard space >= 0 else { throw PDEError.writeFailed(path: path, reason: "HDF5 cannot create the dataspace of '\(d.name)'") }
                defer { H5Sclose(space) }
                let type: hid_t
                switch d.values { case .double: type = swiftpde_h5t_native_double(); case .float: type = swiftpde_h5t_native_float() }
                let dset = H5Dcreate2(file, d.name, type, space, lcpl, swiftpde_h5p_default(), swiftpde_h5p_default())
                guard dset >= 0 else { throw PDEError.writeFailed(path: path, reason: "HDF5 cannot create dataset '\(d.name)' (duplicate name?)") }
                defer { H5Dclose(dset) }
                let status: herr_t
                switch d.values {
                case .double(let v): status = v.withUnsafeBytes { H5Dwrite(dset, type, swiftpde_h5s_all(), swiftpde_h5s_all(), swiftpde_h5p_default(), $0.baseAddress) }
                case .float(let v): status = v.withUnsafeBytes { H5Dwrite(dset, type, swiftpde_h5s_all(), swiftpde_h5s_all(), swiftpde_h5p_default(), $0.baseAddress) }
                }
                guard status >= 0 else { throw PDEError.writeFailed(path: path, reason: "HDF5 cannot write dataset '\(d.name)'") }
            }
        }
    }

    /// Reads one dataset as Double (float and integer datasets are converted) with its shape.
    public static func read(_ name: String, from path: String) throws -> (shape: [Int], values: [Double]) {
        libraryLock.lock()
        defer { libraryLock.unlock() }
        let file = try open(path)
        defer { H5Fclose(file) }
        guard linkExists(file, name) else {
            throw PDEError.invalidValue(key: "dataset", value: "'\(name)' in \(path)",
                                        expected: "one of: " + ((try? listDatasets(file, path: path)) ?? []).joined(separator: ", "))
        }
        let dset = H5Dopen2(file, name, swiftpde_h5p_default())
        guard dset >= 0 else {
            throw PDEError.invalidValue(key: "dataset", value: "'\(name)' in \(path)", expected: "the name of a dataset (this is a group)")
        }
        defer { H5Dclose(dset) }
        let type = H5Dget_type(dset)
        defer { H5Tclose(type) }
        let cls = H5Tget_class(type)
        guard cls == swiftpde_h5t_float_class() || cls == swiftpde_h5t_integer_class() else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "dataset '\(name)' is not numeric (expected float or integer values)")
        }
        let space = H5Dget_space(dset)
        guard space >= 0 else { throw PDEError.malformedFile(path: path, line: nil, reason: "dataset '\(name)' has an unreadable dataspace") }
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard (0...32).contains(rank) else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "dataset '\(name)' has rank \(rank) (expected 0 to 32, HDF5's limit)")
        }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "dataset '\(name)' has unreadable dimensions")
        }
        let shape = try checkedShape(Array(dims.prefix(rank)), dataset: name, type: type, dset: dset, path: path)
        let count = shape.reduce(1, *)  // checked not to overflow
        var values = [Double](repeating: 0, count: count)
        let status = values.withUnsafeMutableBytes {
            H5Dread(dset, swiftpde_h5t_native_double(), swiftpde_h5s_all(), swiftpde_h5s_all(), swiftpde_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw PDEError.malformedFile(path: path, line: nil, reason: "cannot read dataset '\(name)'") }
        return (shape, values)
    }

    /// The dataset's extents as Ints, refused when their product overflows, when contiguous
    /// data would take more bytes than the file has, or when the Double values would take
    /// more than a quarter of this machine's memory — checked before anything is allocated.
    private static func checkedShape(_ dims: [hsize_t], dataset name: String, type: hid_t, dset: hid_t, path: String) throws -> [Int] {
        func bad(_ reason: String) -> PDEError { .malformedFile(path: path, line: nil, reason: "dataset '\(name)': \(reason)") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let v = Int(exactly: d) else { throw bad("dimension \(d) exceeds \(Int.max)") }
            shape.append(v)
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw bad("shape \(dims) has more values than fit in a 64-bit count") }
            count = p
        }
        let memoryLimit = Int(clamping: ProcessInfo.processInfo.physicalMemory / 4)
        guard count <= memoryLimit / 8 else {
            throw bad("shape \(shape) = \(count) values would take \(count) × 8 bytes, more than a quarter of this machine's memory")
        }
        let itemSize = H5Tget_size(type)
        let fileSize = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? Int.max
        if count > 0, swiftpde_h5d_stored_inline(dset) == 1 {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: max(1, itemSize))
            guard !overflow, bytes <= fileSize else {
                throw bad("shape \(shape) of \(itemSize)-byte values needs more bytes than the \(fileSize)-byte file holds")
            }
        }
        return shape
    }

    /// Paths of every dataset in the file, in name order.
    public static func datasets(in path: String) throws -> [String] {
        libraryLock.lock()
        defer { libraryLock.unlock() }
        let file = try open(path)
        defer { H5Fclose(file) }
        return try listDatasets(file, path: path)
    }

    /// H5Lexists on every prefix of a path ("a/b/c" needs "a" and "a/b" to exist first).
    private static func linkExists(_ file: hid_t, _ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(file, prefix, swiftpde_h5p_default()) <= 0 { return false }
        }
        return !prefix.isEmpty
    }

    private static func open(_ path: String) throws -> hid_t {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        swiftpde_h5_silence_errors()
        guard H5Fis_hdf5(path) > 0 else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "not an HDF5 file")
        }
        let file = H5Fopen(path, swiftpde_h5f_acc_rdonly(), swiftpde_h5p_default())
        guard file >= 0 else { throw PDEError.malformedFile(path: path, line: nil, reason: "HDF5 cannot open the file") }
        return file
    }

    private static func listDatasets(_ file: hid_t, path: String) throws -> [String] {
        let needed = swiftpde_h5_list_datasets(file, nil, 0)
        guard needed >= 0 else {
            throw PDEError.malformedFile(path: path, line: nil, reason: "HDF5 cannot list the datasets (damaged group structure)")
        }
        var buf = [CChar](repeating: 0, count: Int(needed) + 1)
        _ = swiftpde_h5_list_datasets(file, &buf, buf.count)
        return String(cString: buf).split(separator: "\n").map(String.init)
    }
}
