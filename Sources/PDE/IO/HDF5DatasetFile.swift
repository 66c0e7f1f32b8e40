import CHDF5
import Foundation

/// The element type of an HDF5 dataset as numpy names it. Datasets are written as
/// `float32`, `float64`, `int32` or `int64` (the `HDF5Scalar` types); the others are
/// reported when reading files written elsewhere.
public enum HDF5ElementType: Equatable, Hashable, Sendable, CustomStringConvertible {
    case float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64
    /// Anything else (half floats, strings, compounds, …), with a short description.
    case other(String)

    /// numpy's name of the type (`float32`, `int64`, …).
    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .other(let s): return s
        }
    }

    var isFloat: Bool { self == .float32 || self == .float64 }
    var isInteger: Bool { [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64].contains(self) }

    /// Whether values of this stored type can be read as `target` without losing their
    /// integer meaning: anything numeric as a float; integers as a signed integer type wide
    /// enough for every value of theirs.
    func readable(as target: HDF5ElementType) -> Bool {
        switch target {
        case .float32, .float64: return isFloat || isInteger
        case .int64: return [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32].contains(self)
        case .int32: return [.int8, .int16, .int32, .uint8, .uint16].contains(self)
        default: return false
        }
    }
}

/// The Swift element types datasets are written and read as: `Float` (float32), `Double`
/// (float64), `Int32` and `Int64`. Other conformances are refused with a typed error.
public protocol HDF5Scalar {
    /// The stored type matching this Swift type.
    static var hdf5ElementType: HDF5ElementType { get }
}
extension Float: HDF5Scalar {
    /// float32.
    public static var hdf5ElementType: HDF5ElementType { .float32 }
}
extension Double: HDF5Scalar {
    /// float64.
    public static var hdf5ElementType: HDF5ElementType { .float64 }
}
extension Int32: HDF5Scalar {
    /// int32.
    public static var hdf5ElementType: HDF5ElementType { .int32 }
}
extension Int64: HDF5Scalar {
    /// int64.
    public static var hdf5ElementType: HDF5ElementType { .int64 }
}

/// The HDF5 native memory type of one of the four supported Swift types; nil for any other
/// type that claims `HDF5Scalar` (its memory layout is unknown to HDF5).
private func nativeType<T: HDF5Scalar>(_: T.Type) -> hid_t? {
    if T.self == Double.self { return swiftpde_h5t_native_double() }
    if T.self == Float.self { return swiftpde_h5t_native_float() }
    if T.self == Int32.self { return swiftpde_h5t_native_int32() }
    if T.self == Int64.self { return swiftpde_h5t_native_int64() }
    return nil
}

/// A typed attribute value (h5py reads them back as `numpy.float64`, `numpy.int64`, `str`
/// and 1-D `numpy.ndarray`s of float64 / int64).
public enum HDF5Attribute: Equatable, Sendable, CustomStringConvertible {
    /// A scalar float64.
    case double(Double)
    /// A scalar int64.
    case int(Int64)
    /// A variable-length UTF-8 string (fixed-length strings written by other tools are read as this too).
    case string(String)
    /// A 1-D float64 array (even with one element; `.double` is the scalar).
    case doubles([Double])
    /// A 1-D int64 array.
    case ints([Int64])

    /// The value as Swift prints it, with its kind.
    public var description: String {
        switch self {
        case .double(let v): return "double \(v)"
        case .int(let v): return "int \(v)"
        case .string(let s): return "string \"\(s)\""
        case .doubles(let a): return "doubles \(a)"
        case .ints(let a): return "ints \(a)"
        }
    }
}

/// Filters of a chunked dataset: deflate (gzip in h5py's words) at a level, with or without
/// the byte-shuffle filter before it (which groups the bytes of equal significance and makes
/// floating-point fields compress much better).
public struct HDF5Compression: Equatable, Sendable {
    /// gzip level 0…9, or nil for no deflate filter.
    public var deflateLevel: Int?
    /// Whether the shuffle filter runs before deflate.
    public var shuffle: Bool
    /// Deflate at `deflateLevel` (default 4) after shuffling (default on).
    public init(deflateLevel: Int? = 4, shuffle: Bool = true) {
        self.deflateLevel = deflateLevel
        self.shuffle = shuffle
    }
    /// No filters.
    public static let none = HDF5Compression(deflateLevel: nil, shuffle: false)
    /// Shuffle + deflate level 4.
    public static let standard = HDF5Compression()
}

/// What a dataset is, read from its header without its data.
public struct HDF5DatasetInfo: Equatable, Sendable {
    /// The dataset's path in the file.
    public var name: String
    /// Current extents in C order; for an appendable dataset the first is the sample count.
    public var shape: [Int]
    /// Maximum extents, nil where unlimited (the sample axis of an appendable dataset).
    public var maxShape: [Int?]
    /// The stored element type.
    public var elementType: HDF5ElementType
    /// Chunk extents, nil for contiguous or compact storage.
    public var chunkShape: [Int]?
    /// The deflate level and shuffle flag found in the filter pipeline.
    public var compression: HDF5Compression
    /// Number of filters in the pipeline (shuffle and deflate count one each).
    public var filterCount: Int

    /// True when the first axis is unlimited (samples can be appended).
    public var isAppendable: Bool { maxShape.first.map { $0 == nil } ?? false }
    /// The number of samples: the first extent (1 for a scalar dataset).
    public var sampleCount: Int { shape.first ?? 1 }
    /// The extents of one sample (the shape without its first axis).
    public var sampleShape: [Int] { Array(shape.dropFirst()) }
}

/// An HDF5 file kept open to write datasets sample by sample, set attributes, and read
/// slices of samples without loading whole datasets — the format of `pde-datagen`'s
/// datasets and of neural-operator training data (h5py reads and writes the same files).
///
/// ```swift
/// let f = try HDF5DatasetFile(path: "data.h5", mode: .append)
/// var done = try f.createAppendable("u", of: Float.self, sampleShape: [64, 64])
/// while done < 1000 { try f.append("u", solve(done)); done += 1 }   // flushed after each append
/// try f.close()
/// let g = try HDF5DatasetFile(path: "data.h5")                       // read-only
/// let (shape, batch) = try g.read("u", samples: 0..<32, as: Float.self)  // shape [32, 64, 64]
/// ```
///
/// **Crash-safety model.** Appendable files are written in place (not through a temporary
/// file, unlike `HDF5File.write`), so that a resumed run finds them: every `append` is
/// followed by `H5Fflush` (unless `flushesAfterEachAppend` is off), after which the file on
/// disk is a valid HDF5 file holding every appended sample. A process killed *between*
/// appends therefore leaves a readable file; one killed *during* an append (HDF5 1.10 has no
/// journal) may leave a damaged one. `flush(durable: true)` also fsyncs, for power cuts. To
/// resume, reopen with `.append`: `createAppendable` returns the samples already stored and
/// the run continues at the first missing one; when several datasets are appended per
/// sample, take the smallest `sampleCount` and `truncate` the others to it.
///
/// Every call into the HDF5 library (which is built without thread safety here) is
/// serialized by one process-wide lock, so instances may be used from several threads.
public final class HDF5DatasetFile: @unchecked Sendable {
    /// How a file is opened.
    public enum Mode: Sendable {
        /// Read only (the file must exist).
        case readOnly
        /// Read and write an existing file, or create it when missing (resume-friendly).
        case append
        /// Create a new file; an error when the path exists.
        case create
        /// Create a new file, replacing any file at the path.
        case overwrite
    }

    /// The file's path.
    public let path: String
    /// How the file was opened.
    public let mode: Mode
    /// When true (the default) every `append` ends with `flush()`.
    public var flushesAfterEachAppend = true
    /// The path named in error messages (the destination when writing through a temporary file).
    let displayPath: String
    private var file: hid_t = -1

    /// Opens or creates the file at `path`. `fileLocking: false` skips HDF5's file lock
    /// (flock), e.g. to read a file another process is still appending to (the reader then
    /// sees the state of that writer's last flush).
    public convenience init(path: String, mode: Mode = .readOnly, fileLocking: Bool = true) throws {
        try self.init(path: path, mode: mode, fileLocking: fileLocking, displayPath: path)
    }

    init(path: String, mode: Mode, fileLocking: Bool = true, displayPath: String) throws {
        self.path = path
        self.mode = mode
        self.displayPath = displayPath
        HDF5File.libraryLock.lock()
        defer { HDF5File.libraryLock.unlock() }
        swiftpde_h5_silence_errors()
        let fapl = H5Pcreate(swiftpde_h5p_file_access())
        guard fapl >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a file access property list") }
        defer { H5Pclose(fapl) }
        if !fileLocking { H5Pset_file_locking(fapl, false, true) }
        let exists = FileManager.default.fileExists(atPath: path)
        func openExisting(_ flags: UInt32) throws -> hid_t {
            guard H5Fis_hdf5(path) > 0 else {
                throw PDEError.malformedFile(path: displayPath, line: nil, reason: "not an HDF5 file")
            }
            let f = H5Fopen(path, flags, fapl)
            guard f >= 0 else {
                throw PDEError.malformedFile(path: displayPath, line: nil, reason: flags == swiftpde_h5f_acc_rdonly()
                    ? "HDF5 cannot open the file"
                    : "HDF5 cannot open the file for writing (read-only, damaged, or locked by another process?)")
            }
            return f
        }
        func create(_ flags: UInt32) throws -> hid_t {
            let f = H5Fcreate(path, flags, swiftpde_h5p_default(), fapl)
            guard f >= 0 else {
                throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot create the file (missing folder, no permission, or locked?)")
            }
            return f
        }
        switch mode {
        case .readOnly:
            guard exists else { throw PDEError.fileNotFound(path: displayPath) }
            file = try openExisting(swiftpde_h5f_acc_rdonly())
        case .append:
            file = exists ? try openExisting(swiftpde_h5f_acc_rdwr()) : try create(swiftpde_h5f_acc_excl())
        case .create:
            guard !exists else {
                throw PDEError.writeFailed(path: displayPath, reason: "the file exists (open it with mode .append to add to it, or .overwrite to replace it)")
            }
            file = try create(swiftpde_h5f_acc_excl())
        case .overwrite:
            file = try create(swiftpde_h5f_acc_trunc())
        }
    }

    deinit {
        if file >= 0 {
            HDF5File.libraryLock.lock()
            H5Fclose(file)
            HDF5File.libraryLock.unlock()
        }
    }

    /// Flushes and closes the file; later calls throw. Closing twice is harmless.
    public func close() throws {
        try locked {
            guard file >= 0 else { return }
            let status = H5Fclose(file)
            file = -1
            guard status >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot close the file") }
        }
    }

    /// Writes everything HDF5 holds in memory for this file to it (metadata and data), so
    /// that a copy of the file, or the file after this process dies, holds all data written
    /// so far. `durable` also fsyncs (survives a power cut, slower).
    public func flush(durable: Bool = false) throws {
        try locked {
            let f = try openFile()
            guard mode != .readOnly else { return }
            guard H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 else {
                throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot flush the file")
            }
            if durable {
                let fd = Foundation.open(path, O_RDONLY)
                guard fd >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "cannot open the file to fsync it") }
                defer { Foundation.close(fd) }
                guard fsync(fd) == 0 else {
                    throw PDEError.writeFailed(path: displayPath, reason: "fsync failed: " + String(cString: strerror(errno)))
                }
            }
        }
    }

    // MARK: Writing

    /// Creates an appendable dataset of shape [0] + `sampleShape` whose first (sample) axis
    /// grows without limit, chunked and filtered; or, when a dataset of that name exists
    /// (a resumed run), checks that it is appendable with the same element type and sample
    /// shape. Returns the number of samples it holds (0 when new). `attributes` are set
    /// (replaced) either way.
    ///
    /// The default chunk is one sample, or for samples under 4 KiB as many samples as make
    /// about 4 KiB (one-number-per-sample datasets would otherwise need one chunk per number).
    /// `chunkShape` (rank of `sampleShape` + 1, each extent ≥ 1 and within the sample's)
    /// replaces it.
    @discardableResult
    public func createAppendable<T: HDF5Scalar>(_ name: String, of type: T.Type, sampleShape: [Int],
                                                chunkShape: [Int]? = nil, compression: HDF5Compression = .standard,
                                                attributes: [String: HDF5Attribute] = [:]) throws -> Int {
        try locked {
            let f = try writableFile()
            let memType = try checkedNativeType(T.self, dataset: name)
            try checkName(name, what: "dataset")
            let label = "'\(name)' in \(displayPath)"
            guard sampleShape.count <= 31, sampleShape.allSatisfy({ $0 >= 1 }) else {
                throw PDEError.invalidValue(key: "sampleShape", value: "\(sampleShape) of \(label)",
                                            expected: "0 to 31 extents, each at least 1")
            }
            if HDF5File.linkExists(f, name) {
                let info = try datasetInfo(name)
                guard info.isAppendable, info.elementType == T.hdf5ElementType, info.sampleShape == sampleShape else {
                    throw PDEError.shapeMismatch(what: "existing HDF5 dataset \(label)",
                        expected: "an appendable \(T.hdf5ElementType) dataset of samples \(sampleShape)",
                        got: (info.isAppendable ? "an appendable " : "a fixed ") + "\(info.elementType) dataset of shape \(info.shape)")
                }
                try setAttributes(attributes, on: name)
                return info.sampleCount
            }
            let itemSize = MemoryLayout<T>.size
            let chunk = try chunkShape ?? defaultChunk(sampleShape: sampleShape, itemSize: itemSize, label: label)
            guard chunk.count == sampleShape.count + 1, chunk.allSatisfy({ $0 >= 1 }),
                  zip(chunk.dropFirst(), sampleShape).allSatisfy({ $0 <= $1 }) else {
                throw PDEError.invalidValue(key: "chunkShape", value: "\(chunk) of \(label)",
                    expected: "\(sampleShape.count + 1) extents ≥ 1, the last \(sampleShape.count) within the sample shape \(sampleShape)")
            }
            try checkChunkBytes(chunk, itemSize: itemSize, label: label)
            var dims = ([0] + sampleShape).map { hsize_t($0) }
            var maxDims = [swiftpde_h5s_unlimited()] + sampleShape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
            guard space >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create the dataspace of \(label)") }
            defer { H5Sclose(space) }
            try createDataset(name, file: f, type: memType, space: space, chunk: chunk, compression: compression)
            try setAttributes(attributes, on: name)
            return 0
        }
    }

    /// Appends `samples` samples (default 1) to an appendable dataset: `values` holds them
    /// one after the other in C order, `samples` × the sample's value count. The element
    /// type must be the dataset's. Returns the new sample count. Flushes afterwards unless
    /// `flushesAfterEachAppend` is off.
    @discardableResult
    public func append<T: HDF5Scalar>(_ name: String, _ values: [T], samples: Int = 1) throws -> Int {
        try locked {
            let f = try writableFile()
            let memType = try checkedNativeType(T.self, dataset: name)
            let info = try datasetInfo(name)
            let label = "'\(name)' in \(displayPath)"
            guard info.isAppendable else {
                throw PDEError.invalidValue(key: "dataset", value: label,
                                            expected: "an appendable dataset (made by createAppendable); this one has the fixed shape \(info.shape)")
            }
            guard info.elementType == T.hdf5ElementType else {
                throw PDEError.invalidValue(key: "element type", value: "[\(T.self)] appended to \(label)",
                                            expected: "values of the dataset's type \(info.elementType)")
            }
            // Overflow-checked: the extents come from the file.
            let perSample = info.sampleShape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? -1 : $0 * $1 }
            guard samples >= 0, perSample >= 0, samples.multipliedReportingOverflow(by: perSample) == (values.count, false) else {
                throw PDEError.shapeMismatch(what: "append to HDF5 dataset \(label)",
                                             expected: "\(max(samples, 0)) sample(s) of shape \(info.sampleShape) = \(max(samples, 0) &* perSample) values",
                                             got: "\(values.count) values")
            }
            guard samples > 0 else { return info.sampleCount }
            let dset = H5Dopen2(f, name, swiftpde_h5p_default())
            guard dset >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot open \(label)") }
            defer { H5Dclose(dset) }
            let old = info.sampleCount
            var newDims = ([old + samples] + info.sampleShape).map { hsize_t($0) }
            guard H5Dset_extent(dset, &newDims) >= 0 else {
                throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot extend dataset '\(name)' to \(old + samples) samples")
            }
            let fileSpace = H5Dget_space(dset)
            guard fileSpace >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot get the dataspace of \(label)") }
            defer { H5Sclose(fileSpace) }
            var start = [hsize_t](repeating: 0, count: newDims.count)
            start[0] = hsize_t(old)
            var count = newDims
            count[0] = hsize_t(samples)
            guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil) >= 0 else {
                throw PDEError.libraryFailure(library: "HDF5", reason: "cannot select samples \(old)..<\(old + samples) of \(label)")
            }
            let memSpace = H5Screate_simple(Int32(count.count), &count, nil)
            guard memSpace >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a memory dataspace for \(label)") }
            defer { H5Sclose(memSpace) }
            let status = values.withUnsafeBytes {
                H5Dwrite(dset, memType, memSpace, fileSpace, swiftpde_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else {
                throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot write samples \(old)..<\(old + samples) of '\(name)'")
            }
            if flushesAfterEachAppend { try flush() }
            return old + samples
        }
    }

    /// Shrinks an appendable dataset to its first `samples` samples (to line datasets up
    /// after an interrupted run; the freed chunks are not returned to the file system).
    public func truncate(_ name: String, toSamples samples: Int) throws {
        try locked {
            let f = try writableFile()
            let info = try datasetInfo(name)
            guard info.isAppendable, (0...info.sampleCount).contains(samples) else {
                throw PDEError.invalidValue(key: "samples", value: "\(samples) for '\(name)' in \(displayPath)",
                    expected: info.isAppendable ? "0…\(info.sampleCount) (the samples it holds)" : "an appendable dataset")
            }
            let dset = H5Dopen2(f, name, swiftpde_h5p_default())
            guard dset >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot open '\(name)' in \(displayPath)") }
            defer { H5Dclose(dset) }
            var dims = ([samples] + info.sampleShape).map { hsize_t($0) }
            guard H5Dset_extent(dset, &dims) >= 0 else {
                throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot shrink '\(name)' to \(samples) samples")
            }
            if flushesAfterEachAppend { try flush() }
        }
    }

    /// Writes a fixed-shape dataset (coordinates, parameters, …), creating missing groups
    /// along `name`; an error when the name exists. `compression` other than `.none` stores
    /// it chunked (`chunkShape`, or chunks of the whole dataset up to about 1 MiB).
    public func write<T: HDF5Scalar>(_ name: String, shape: [Int], values: [T], chunkShape: [Int]? = nil,
                                     compression: HDF5Compression = .none,
                                     attributes: [String: HDF5Attribute] = [:]) throws {
        try locked {
            let f = try writableFile()
            let memType = try checkedNativeType(T.self, dataset: name)
            try checkName(name, what: "dataset")
            let label = "'\(name)' in \(displayPath)"
            let product = shape.reduce(Int?.some(1)) { p, n in
                guard let p, n >= 0 else { return nil }
                let (r, o) = p.multipliedReportingOverflow(by: n)
                return o ? nil : r
            }
            guard shape.count <= 32, let product, product == values.count else {
                throw PDEError.shapeMismatch(what: "HDF5 dataset '\(name)'", expected: "shape \(shape) (\(product.map(String.init) ?? "an invalid number of") values)",
                                             got: "\(values.count) values")
            }
            guard !HDF5File.linkExists(f, name) else {
                throw PDEError.invalidValue(key: "dataset", value: label, expected: "a new name (it exists already)")
            }
            var chunk: [Int]? = nil
            if let chunkShape {
                guard chunkShape.count == shape.count, !shape.isEmpty, chunkShape.allSatisfy({ $0 >= 1 }),
                      zip(chunkShape, shape).allSatisfy({ $0 <= max($1, 1) }) else {
                    throw PDEError.invalidValue(key: "chunkShape", value: "\(chunkShape) of \(label)",
                                                expected: "\(shape.count) extents ≥ 1 within the shape \(shape)")
                }
                chunk = chunkShape
            } else if compression != .none, !shape.isEmpty {
                chunk = wholeChunk(shape: shape, itemSize: MemoryLayout<T>.size)
            }
            if let chunk { try checkChunkBytes(chunk, itemSize: MemoryLayout<T>.size, label: label) }
            var dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), &dims, nil)
            guard space >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot create the dataspace of '\(name)'") }
            defer { H5Sclose(space) }
            let dset = try createDataset(name, file: f, type: memType, space: space, chunk: chunk, compression: compression, keepOpen: true)
            defer { H5Dclose(dset) }
            if !values.isEmpty {
                let status = values.withUnsafeBytes {
                    H5Dwrite(dset, memType, swiftpde_h5s_all(), swiftpde_h5s_all(), swiftpde_h5p_default(), $0.baseAddress)
                }
                guard status >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot write dataset '\(name)'") }
            }
            try setAttributes(attributes, on: name)
        }
    }

    /// Creates a group (and missing parent groups); nothing when it exists as a group.
    public func createGroup(_ name: String) throws {
        try locked {
            let f = try writableFile()
            try checkName(name, what: "group")
            if HDF5File.linkExists(f, name) {
                var info = H5O_info_t()
                guard H5Oget_info_by_name1(f, name, &info, swiftpde_h5p_default()) >= 0, info.type == H5O_TYPE_GROUP else {
                    throw PDEError.invalidValue(key: "group", value: "'\(name)' in \(displayPath)", expected: "a new name or a group (this is a dataset)")
                }
                return
            }
            let lcpl = H5Pcreate(swiftpde_h5p_link_create())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let g = H5Gcreate2(f, name, lcpl, swiftpde_h5p_default(), swiftpde_h5p_default())
            guard g >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot create group '\(name)'") }
            H5Gclose(g)
        }
    }

    /// Sets (creates or replaces) attribute `key` of `object`: "/" (the default) for the
    /// file's root group, or the path of a group or dataset. Attributes live in the object's
    /// header, which holds at most 64 KiB: keep arrays to a few thousand numbers.
    public func setAttribute(_ key: String, _ value: HDF5Attribute, on object: String = "/") throws {
        try setAttributes([key: value], on: object)
    }

    /// Sets several attributes of `object` (see `setAttribute`), in key order.
    public func setAttributes(_ attributes: [String: HDF5Attribute], on object: String = "/") throws {
        guard !attributes.isEmpty else { return }
        try locked {
            _ = try writableFile()
            let obj = try openObject(object)
            defer { H5Oclose(obj) }
            for key in attributes.keys.sorted() {
                try writeAttribute(key, attributes[key]!, on: obj, object: object)
            }
        }
    }

    // MARK: Reading

    /// Paths of every dataset in the file, in name order.
    public func datasets() throws -> [String] {
        try locked { try HDF5File.listDatasets(try openFile(), path: displayPath) }
    }

    /// True when `name` is a dataset of the file.
    public func contains(_ name: String) throws -> Bool {
        try locked {
            let f = try openFile()
            guard !name.isEmpty, !name.contains("\0"), HDF5File.linkExists(f, name) else { return false }
            var info = H5O_info_t()
            return H5Oget_info_by_name1(f, name, &info, swiftpde_h5p_default()) >= 0 && info.type == H5O_TYPE_DATASET
        }
    }

    /// Shape, maximum shape, element type, chunking and filters of a dataset, without its data.
    public func info(_ name: String) throws -> HDF5DatasetInfo {
        try locked { try datasetInfo(name) }
    }

    /// The number of samples (first extent) of a dataset: how far a resumed run got.
    public func sampleCount(_ name: String) throws -> Int {
        try info(name).sampleCount
    }

    /// Reads samples `samples` (a range of the first axis; nil for the whole dataset) as
    /// `T`, with the shape of what was read ([j − i] + the sample shape). Only those
    /// samples are read from the file (a hyperslab). Stored values are converted: any
    /// numeric type reads as `Float` or `Double`; integers read as `Int32` / `Int64` when
    /// every stored value fits; floats never read as integers. A range outside
    /// 0..<sampleCount is an error; an empty one returns no values.
    public func read<T: HDF5Scalar>(_ name: String, samples: Range<Int>? = nil, as type: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try locked {
            let memType = try checkedNativeType(T.self, dataset: name)
            let dset = try openDataset(name)
            defer { H5Dclose(dset) }
            let label = "'\(name)' in \(displayPath)"
            let ftype = H5Dget_type(dset)
            guard ftype >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has an unreadable type") }
            defer { H5Tclose(ftype) }
            let stored = elementType(of: ftype)
            guard stored.isFloat || stored.isInteger else {
                throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' is not numeric (expected float or integer values, found \(stored))")
            }
            guard stored.readable(as: T.hdf5ElementType) else {
                throw PDEError.invalidValue(key: "element type", value: "\(label) (stored as \(stored)) read as \(T.self)",
                    expected: stored.isFloat ? "Float or Double for floating-point data" : "Double, Float or Int64 (a type that holds every \(stored) value)")
            }
            let space = H5Dget_space(dset)
            guard space >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has an unreadable dataspace") }
            defer { H5Sclose(space) }
            let (dims, _) = try extents(space, dataset: name)
            let shape = try checkedShape(dims, dataset: name, itemSize: H5Tget_size(ftype), dset: dset)
            guard let samples else {
                let count = shape.reduce(1, *)
                try checkMemory(count, valueSize: MemoryLayout<T>.size, dataset: name, shape: shape)
                guard count > 0 else { return (shape, []) }
                let values = [T](unsafeUninitializedCapacity: count) { buf, initialized in
                    let status = H5Dread(dset, memType, swiftpde_h5s_all(), swiftpde_h5s_all(), swiftpde_h5p_default(), UnsafeMutableRawPointer(buf.baseAddress))
                    initialized = status >= 0 ? count : 0
                }
                guard values.count == count else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "cannot read dataset '\(name)'") }
                return (shape, values)
            }
            guard !shape.isEmpty else {
                throw PDEError.invalidValue(key: "samples", value: "\(samples) of \(label)", expected: "no range: the dataset is a scalar (rank 0) with no sample axis")
            }
            guard samples.lowerBound >= 0, samples.upperBound <= shape[0] else {
                throw PDEError.invalidValue(key: "samples", value: "\(samples.lowerBound)..<\(samples.upperBound) of \(label)",
                                            expected: "a range within 0..<\(shape[0]) (the samples it holds)")
            }
            let outShape = [samples.count] + shape.dropFirst()
            let count = outShape.reduce(1, *)
            try checkMemory(count, valueSize: MemoryLayout<T>.size, dataset: name, shape: outShape)
            guard count > 0 else { return (outShape, []) }
            var start = [hsize_t](repeating: 0, count: shape.count)
            start[0] = hsize_t(samples.lowerBound)
            var counts = outShape.map { hsize_t($0) }
            guard H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &counts, nil) >= 0 else {
                throw PDEError.libraryFailure(library: "HDF5", reason: "cannot select samples \(samples) of \(label)")
            }
            let memSpace = H5Screate_simple(Int32(counts.count), &counts, nil)
            guard memSpace >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a memory dataspace for \(label)") }
            defer { H5Sclose(memSpace) }
            let values = [T](unsafeUninitializedCapacity: count) { buf, initialized in
                let status = H5Dread(dset, memType, memSpace, space, swiftpde_h5p_default(), UnsafeMutableRawPointer(buf.baseAddress))
                initialized = status >= 0 ? count : 0
            }
            guard values.count == count else {
                throw PDEError.malformedFile(path: displayPath, line: nil, reason: "cannot read samples \(samples) of dataset '\(name)'")
            }
            return (outShape, values)
        }
    }

    /// Attribute `key` of `object` ("/" for the root group, or a group or dataset path).
    /// Scalar numbers read as `.double` / `.int` (any float / integer width), 1-D or larger
    /// numeric arrays as `.doubles` / `.ints` (flattened), strings (variable or fixed
    /// length) as `.string`; anything else is an error naming the attribute.
    public func attribute(_ key: String, of object: String = "/") throws -> HDF5Attribute {
        try locked {
            _ = try openFile()
            let obj = try openObject(object)
            defer { H5Oclose(obj) }
            guard !key.isEmpty, !key.contains("\0"), H5Aexists(obj, key) > 0 else {
                let names = (try? attributeNames(obj)) ?? []
                throw PDEError.invalidValue(key: "attribute", value: "'\(key)' of '\(object)' in \(displayPath)",
                                            expected: names.isEmpty ? "an attribute name (the object has none)" : "one of: " + names.joined(separator: ", "))
            }
            return try readAttribute(key, of: obj, object: object)
        }
    }

    /// Every attribute of `object` whose kind `HDF5Attribute` represents (others, such as
    /// compound or string-array attributes written by other tools, are left out; `attribute`
    /// names their kind).
    public func attributes(of object: String = "/") throws -> [String: HDF5Attribute] {
        try locked {
            _ = try openFile()
            let obj = try openObject(object)
            defer { H5Oclose(obj) }
            var result: [String: HDF5Attribute] = [:]
            for key in try attributeNames(obj) {
                if let v = try? readAttribute(key, of: obj, object: object) { result[key] = v }
            }
            return result
        }
    }

    // MARK: Internals (all called with the library lock held)

    private func locked<R>(_ body: () throws -> R) throws -> R {
        HDF5File.libraryLock.lock()
        defer { HDF5File.libraryLock.unlock() }
        swiftpde_h5_silence_errors()
        return try body()
    }

    private func openFile() throws -> hid_t {
        guard file >= 0 else {
            throw PDEError.invalidValue(key: "file", value: "\(displayPath) (closed)", expected: "an open HDF5DatasetFile")
        }
        return file
    }

    private func writableFile() throws -> hid_t {
        let f = try openFile()
        guard mode != .readOnly else {
            throw PDEError.invalidValue(key: "mode", value: "read-only \(displayPath)", expected: "a file opened with mode .append, .create or .overwrite to write to it")
        }
        return f
    }

    private func checkedNativeType<T: HDF5Scalar>(_: T.Type, dataset: String) throws -> hid_t {
        guard let t = nativeType(T.self) else {
            throw PDEError.invalidValue(key: "element type", value: "\(T.self) for '\(dataset)' in \(displayPath)", expected: "Float, Double, Int32 or Int64")
        }
        return t
    }

    private func checkName(_ name: String, what: String) throws {
        guard !name.isEmpty, !name.hasSuffix("/"), !name.contains("\0") else {
            throw PDEError.invalidValue(key: "\(what) name", value: "'\(name)'", expected: "a non-empty path like 'u' or 'fields/u'")
        }
    }

    /// Opens "/" (root group), a group or a dataset as an object (the caller closes it).
    private func openObject(_ object: String) throws -> hid_t {
        let f = try openFile()
        let name = object.isEmpty ? "/" : object
        guard !name.contains("\0"), name.split(separator: "/").isEmpty || HDF5File.linkExists(f, name) else {
            throw PDEError.invalidValue(key: "object", value: "'\(object)' in \(displayPath)", expected: "\"/\" or the path of an existing group or dataset")
        }
        let obj = H5Oopen(f, name, swiftpde_h5p_default())
        guard obj >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "HDF5 cannot open object '\(object)'") }
        return obj
    }

    private func openDataset(_ name: String) throws -> hid_t {
        let f = try openFile()
        guard !name.isEmpty, !name.contains("\0"), HDF5File.linkExists(f, name) else {
            let names = (try? HDF5File.listDatasets(f, path: displayPath)) ?? []
            throw PDEError.invalidValue(key: "dataset", value: "'\(name)' in \(displayPath)",
                                        expected: names.isEmpty ? "a dataset name (the file has none)" : "one of: " + names.joined(separator: ", "))
        }
        let dset = H5Dopen2(f, name, swiftpde_h5p_default())
        guard dset >= 0 else {
            throw PDEError.invalidValue(key: "dataset", value: "'\(name)' in \(displayPath)", expected: "the name of a dataset (this is a group)")
        }
        return dset
    }

    private func datasetInfo(_ name: String) throws -> HDF5DatasetInfo {
        let dset = try openDataset(name)
        defer { H5Dclose(dset) }
        let type = H5Dget_type(dset)
        guard type >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has an unreadable type") }
        defer { H5Tclose(type) }
        let space = H5Dget_space(dset)
        guard space >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has an unreadable dataspace") }
        defer { H5Sclose(space) }
        let (dims, maxDims) = try extents(space, dataset: name)
        func int(_ d: hsize_t) throws -> Int {
            guard let v = Int(exactly: d) else {
                throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)': dimension \(d) exceeds \(Int.max)")
            }
            return v
        }
        let shape = try dims.map(int)
        let maxShape = try maxDims.map { $0 == swiftpde_h5s_unlimited() ? nil : try int($0) }
        let dcpl = H5Dget_create_plist(dset)
        guard dcpl >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has an unreadable creation property list") }
        defer { H5Pclose(dcpl) }
        var chunkDims = [hsize_t](repeating: 0, count: max(dims.count, 1))
        let chunkRank = swiftpde_h5p_chunk(dcpl, Int32(chunkDims.count), &chunkDims)
        let chunk = chunkRank > 0 ? try chunkDims.prefix(Int(chunkRank)).map(int) : nil
        let nFilters = max(0, Int(H5Pget_nfilters(dcpl)))
        var compression = HDF5Compression.none
        for i in 0..<nFilters {
            var first: UInt32 = 0
            let id = swiftpde_h5p_filter(dcpl, UInt32(i), &first)
            if id == swiftpde_h5z_filter_deflate() { compression.deflateLevel = Int(first) }
            if id == swiftpde_h5z_filter_shuffle() { compression.shuffle = true }
        }
        return HDF5DatasetInfo(name: name, shape: shape, maxShape: maxShape, elementType: elementType(of: type),
                               chunkShape: chunk, compression: compression, filterCount: nFilters)
    }

    /// Current and maximum extents of a simple (or scalar) dataspace.
    private func extents(_ space: hid_t, dataset name: String) throws -> (dims: [hsize_t], maxDims: [hsize_t]) {
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard (0...32).contains(rank) else {
            throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has rank \(rank) (expected 0 to 32, HDF5's limit)")
        }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        var maxDims = dims
        guard H5Sget_simple_extent_dims(space, &dims, &maxDims) >= 0 else {
            throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)' has unreadable dimensions")
        }
        return (Array(dims.prefix(rank)), Array(maxDims.prefix(rank)))
    }

    /// The dataset's extents as Ints, refused when their product overflows or when
    /// contiguous data would take more bytes than the file has (a damaged header).
    private func checkedShape(_ dims: [hsize_t], dataset name: String, itemSize: Int, dset: hid_t) throws -> [Int] {
        func bad(_ reason: String) -> PDEError { .malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)': \(reason)") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let v = Int(exactly: d) else { throw bad("dimension \(d) exceeds \(Int.max)") }
            shape.append(v)
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw bad("shape \(dims) has more values than fit in a 64-bit count") }
            count = p
        }
        if count > 0, swiftpde_h5d_stored_inline(dset) == 1 {
            let fileSize = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? Int.max
            let (bytes, overflow) = count.multipliedReportingOverflow(by: max(1, itemSize))
            guard !overflow, bytes <= fileSize else {
                throw bad("shape \(shape) of \(itemSize)-byte values needs more bytes than the \(fileSize)-byte file holds")
            }
        }
        return shape
    }

    /// Refuses to allocate more than a quarter of this machine's memory for one read.
    private func checkMemory(_ count: Int, valueSize: Int, dataset name: String, shape: [Int]) throws {
        let memoryLimit = Int(clamping: ProcessInfo.processInfo.physicalMemory / 4)
        guard count <= memoryLimit / max(valueSize, 1) else {
            throw PDEError.malformedFile(path: displayPath, line: nil, reason: "dataset '\(name)': shape \(shape) = \(count) values would take \(count) × \(valueSize) bytes, more than a quarter of this machine's memory (read it in slices of samples)")
        }
    }

    private func elementType(of type: hid_t) -> HDF5ElementType {
        let cls = H5Tget_class(type)
        let size = H5Tget_size(type)
        if cls == swiftpde_h5t_float_class() {
            switch size { case 4: return .float32; case 8: return .float64; default: return .other("float\(size * 8)") }
        }
        if cls == swiftpde_h5t_integer_class() {
            let unsigned = H5Tget_sign(type) == H5T_SGN_NONE
            switch (size, unsigned) {
            case (1, false): return .int8
            case (2, false): return .int16
            case (4, false): return .int32
            case (8, false): return .int64
            case (1, true): return .uint8
            case (2, true): return .uint16
            case (4, true): return .uint32
            case (8, true): return .uint64
            default: return .other((unsigned ? "uint" : "int") + "\(size * 8)")
            }
        }
        if cls == swiftpde_h5t_string_class() { return .other("string") }
        return .other("class \(cls.rawValue)")
    }

    private func defaultChunk(sampleShape: [Int], itemSize: Int, label: String) throws -> [Int] {
        let sampleBytes = sampleShape.reduce(itemSize) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let perChunk = sampleBytes >= 4096 ? 1 : (4096 + sampleBytes - 1) / sampleBytes
        return [perChunk] + sampleShape
    }

    /// Chunks of a fixed dataset: its whole shape, the leading extents halved until a chunk
    /// holds at most 1 MiB.
    private func wholeChunk(shape: [Int], itemSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        func bytes() -> Int { chunk.reduce(itemSize) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 } }
        var axis = 0
        while bytes() > 1 << 20, axis < chunk.count {
            if chunk[axis] > 1 { chunk[axis] = (chunk[axis] + 1) / 2 } else { axis += 1 }
        }
        return chunk
    }

    private func checkChunkBytes(_ chunk: [Int], itemSize: Int, label: String) throws {
        let bytes = chunk.reduce(Int?.some(itemSize)) { p, n in
            guard let p else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: n)
            return o ? nil : r
        }
        guard let bytes, bytes < 1 << 32 else {
            throw PDEError.invalidValue(key: "chunkShape", value: "\(chunk) of \(label)", expected: "chunks under 4 GiB (HDF5's limit)")
        }
    }

    @discardableResult
    private func createDataset(_ name: String, file f: hid_t, type: hid_t, space: hid_t, chunk: [Int]?,
                               compression: HDF5Compression, keepOpen: Bool = false) throws -> hid_t {
        let label = "'\(name)' in \(displayPath)"
        if let level = compression.deflateLevel {
            guard (0...9).contains(level) else {
                throw PDEError.invalidValue(key: "deflateLevel", value: "\(level) for \(label)", expected: "0 to 9")
            }
            guard H5Zfilter_avail(swiftpde_h5z_filter_deflate()) > 0 else {
                throw PDEError.libraryFailure(library: "HDF5", reason: "the deflate filter is not available in this HDF5 build")
            }
        }
        if chunk == nil, compression != .none {
            throw PDEError.invalidValue(key: "compression", value: "\(compression) for \(label)", expected: "no compression for an unchunked (empty or scalar) dataset")
        }
        let dcpl = H5Pcreate(swiftpde_h5p_dataset_create())
        guard dcpl >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a dataset creation property list") }
        defer { H5Pclose(dcpl) }
        if let chunk {
            var c = chunk.map { hsize_t($0) }
            guard H5Pset_chunk(dcpl, Int32(c.count), &c) >= 0 else {
                throw PDEError.invalidValue(key: "chunkShape", value: "\(chunk) of \(label)", expected: "a chunk shape HDF5 accepts")
            }
            if compression.shuffle { H5Pset_shuffle(dcpl) }
            if let level = compression.deflateLevel { H5Pset_deflate(dcpl, UInt32(level)) }
        }
        let lcpl = H5Pcreate(swiftpde_h5p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let dset = H5Dcreate2(f, name, type, space, lcpl, dcpl, swiftpde_h5p_default())
        guard dset >= 0 else {
            throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot create dataset '\(name)' (a parent is a dataset, or the name exists?)")
        }
        if !keepOpen { H5Dclose(dset) }
        return dset
    }

    private func attributeNames(_ obj: hid_t) throws -> [String] {
        var names: [String] = []
        let status = withUnsafeMutablePointer(to: &names) { ptr in
            H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, op in
                guard let name, let op else { return -1 }
                op.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, ptr)
        }
        guard status >= 0 else { throw PDEError.malformedFile(path: displayPath, line: nil, reason: "HDF5 cannot list attributes") }
        return names
    }

    private func writeAttribute(_ key: String, _ value: HDF5Attribute, on obj: hid_t, object: String) throws {
        let label = "attribute '\(key)' of '\(object)' in \(displayPath)"
        guard !key.isEmpty, !key.contains("\0") else {
            throw PDEError.invalidValue(key: "attribute name", value: "'\(key)' of '\(object)' in \(displayPath)", expected: "a non-empty name")
        }
        if H5Aexists(obj, key) > 0 { H5Adelete(obj, key) }
        var count: hsize_t = 0
        let space: hid_t
        switch value {
        case .double, .int, .string: space = H5Screate(H5S_SCALAR)
        case .doubles(let a): count = hsize_t(a.count); space = H5Screate_simple(1, &count, nil)
        case .ints(let a): count = hsize_t(a.count); space = H5Screate_simple(1, &count, nil)
        }
        guard space >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create the dataspace of \(label)") }
        defer { H5Sclose(space) }
        var ownedType: hid_t = -1
        defer { if ownedType >= 0 { H5Tclose(ownedType) } }
        let type: hid_t
        switch value {
        case .double, .doubles: type = swiftpde_h5t_native_double()
        case .int, .ints: type = swiftpde_h5t_native_int64()
        case .string:
            ownedType = swiftpde_h5t_vlen_utf8()
            guard ownedType >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a string type") }
            type = ownedType
        }
        let attr = H5Acreate2(obj, key, type, space, swiftpde_h5p_default(), swiftpde_h5p_default())
        guard attr >= 0 else {
            throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot create \(label) (object headers hold at most 64 KiB of attributes)")
        }
        defer { H5Aclose(attr) }
        var dummy: Int64 = 0
        let status: herr_t
        switch value {
        case .double(var v): status = H5Awrite(attr, type, &v)
        case .int(var v): status = H5Awrite(attr, type, &v)
        case .string(let s):
            status = s.withCString { p in
                var ptr: UnsafePointer<CChar>? = p
                return H5Awrite(attr, type, &ptr)
            }
        case .doubles(let a): status = a.isEmpty ? H5Awrite(attr, type, &dummy) : a.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        case .ints(let a): status = a.isEmpty ? H5Awrite(attr, type, &dummy) : a.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        }
        guard status >= 0 else { throw PDEError.writeFailed(path: displayPath, reason: "HDF5 cannot write \(label)") }
    }

    private func readAttribute(_ key: String, of obj: hid_t, object: String) throws -> HDF5Attribute {
        func bad(_ reason: String) -> PDEError {
            .malformedFile(path: displayPath, line: nil, reason: "attribute '\(key)' of '\(object)': \(reason)")
        }
        let attr = H5Aopen(obj, key, swiftpde_h5p_default())
        guard attr >= 0 else { throw bad("HDF5 cannot open it") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        guard type >= 0 else { throw bad("unreadable type") }
        defer { H5Tclose(type) }
        let space = H5Aget_space(attr)
        guard space >= 0 else { throw bad("unreadable dataspace") }
        defer { H5Sclose(space) }
        let spaceClass = H5Sget_simple_extent_type(space)
        let npoints = H5Sget_simple_extent_npoints(space)
        guard npoints >= 0, npoints <= 1 << 24 else { throw bad("\(npoints) values (expected at most 2^24)") }
        let count = Int(npoints)
        let cls = H5Tget_class(type)
        if cls == swiftpde_h5t_string_class() {
            guard spaceClass == H5S_SCALAR || count == 1 else {
                throw PDEError.invalidValue(key: "attribute", value: "'\(key)' of '\(object)' in \(displayPath)",
                                            expected: "a single string (this is an array of \(count) strings)")
            }
            if H5Tis_variable_str(type) > 0 {
                let mem = swiftpde_h5t_vlen_utf8()
                guard mem >= 0 else { throw PDEError.libraryFailure(library: "HDF5", reason: "cannot create a string type") }
                defer { H5Tclose(mem) }
                var ptr: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(attr, mem, &ptr) >= 0 else { throw bad("cannot read the string") }
                defer { if let ptr { H5free_memory(ptr) } }
                return .string(ptr.map { String(cString: $0) } ?? "")
            }
            let size = H5Tget_size(type)
            guard size > 0, size <= 1 << 24 else { throw bad("fixed string of \(size) bytes") }
            let mem = H5Tcopy(type)
            guard mem >= 0 else { throw bad("cannot copy the string type") }
            defer { H5Tclose(mem) }
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attr, mem, &bytes) >= 0 else { throw bad("cannot read the string") }
            let end = bytes.firstIndex(of: 0) ?? size
            return .string(String(decoding: bytes[..<end], as: UTF8.self))
        }
        let isFloat = cls == swiftpde_h5t_float_class()
        guard isFloat || cls == swiftpde_h5t_integer_class() else {
            throw PDEError.invalidValue(key: "attribute", value: "'\(key)' of '\(object)' in \(displayPath) (\(elementType(of: type)))",
                                        expected: "a number, a string or an array of numbers")
        }
        let scalar = spaceClass == H5S_SCALAR
        if isFloat {
            var values = [Double](repeating: 0, count: max(count, 1))
            guard count == 0 || H5Aread(attr, swiftpde_h5t_native_double(), &values) >= 0 else { throw bad("cannot read the values") }
            return scalar ? .double(values[0]) : .doubles(Array(values.prefix(count)))
        }
        var values = [Int64](repeating: 0, count: max(count, 1))
        guard count == 0 || H5Aread(attr, swiftpde_h5t_native_int64(), &values) >= 0 else { throw bad("cannot read the values") }
        return scalar ? .int(values[0]) : .ints(Array(values.prefix(count)))
    }
}
