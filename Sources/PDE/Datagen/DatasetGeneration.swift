import Dispatch
import Foundation

/// A family of PDE datasets (Darcy, Burgers, Navier–Stokes, …): what one sample holds and
/// how to compute sample i. Samples must be a pure function of (index, seed) — each draws
/// from its own `SeededGenerator` — so that a generation split over workers, interrupted and
/// resumed writes exactly the values of an uninterrupted serial run.
public protocol DatasetFamily {
    /// Short name stored in the file (`darcy`, `burgers`, `navier-stokes`).
    var name: String { get }
    /// The per-sample arrays: dataset name and the shape of one sample (C order).
    var fields: [(name: String, shape: [Int])] { get }
    /// Every generating parameter, stored as file attributes (and compared on resume).
    var parameters: [String: HDF5Attribute] { get }
    /// Datasets written once (coordinates, times), with their shapes.
    var fixedDatasets: [(name: String, shape: [Int], values: [Double])] { get }
    /// Sample `index`: one array per field (in `fields` order), values in C order.
    func sample(_ index: Int, generator: inout SeededGenerator) throws -> [[Double]]
}

/// Options of a dataset generation.
public struct DatasetGenerationOptions {
    /// Samples the file holds when done.
    public var samples: Int
    /// The base seed; sample i draws from `DatasetGeneration.generator(seed:index:)`.
    public var seed: UInt64
    /// Samples computed at once (default: the worker count).
    public var workers: Int
    /// Stored element type: float32 (the training precision, half the bytes) or float64.
    public var doublePrecision: Bool
    /// Filters of the sample datasets.
    public var compression: HDF5Compression
    /// Called after every written sample.
    public var progress: ((DatasetGenerationProgress) -> Void)?
    /// Polled between samples: true stops the run after the samples in flight (Ctrl-C).
    public var shouldStop: () -> Bool
    /// The ranks that generate together (under `mpirun`, `Communicator.world()`): samples are
    /// dealt out in rounds of `workers` per rank, rank 0 alone writes the file, in index order,
    /// so the file equals a one-process run's. Default: one process.
    public var communicator: Communicator = .serial

    /// Options with the defaults: all workers, float32, shuffle + deflate 4, no progress, never stop.
    public init(samples: Int, seed: UInt64 = 0, workers: Int = Parallel.workerCount, doublePrecision: Bool = false,
                compression: HDF5Compression = .standard, progress: ((DatasetGenerationProgress) -> Void)? = nil,
                shouldStop: @escaping () -> Bool = { false }) {
        self.samples = samples
        self.seed = seed
        self.workers = workers
        self.doublePrecision = doublePrecision
        self.compression = compression
        self.progress = progress
        self.shouldStop = shouldStop
    }
}

/// Where a generation is: samples in the file, the target, the rate since this run started.
public struct DatasetGenerationProgress: Sendable {
    /// Samples in the file.
    public var written: Int
    /// Samples wanted.
    public var total: Int
    /// Samples this run found already written (resumed from).
    public var resumedFrom: Int
    /// Seconds since this run started.
    public var seconds: Double
    /// Samples per second of this run.
    public var samplesPerSecond: Double { seconds > 0 ? Double(written - resumedFrom) / seconds : 0 }
    /// Estimated seconds to the end at the current rate (nil before the first sample).
    public var secondsRemaining: Double? { samplesPerSecond > 0 ? Double(total - written) / samplesPerSecond : nil }
}

/// What a generation did.
public struct DatasetGenerationReport: Sendable {
    /// Samples in the file at the end.
    public var samples: Int
    /// Samples found in the file at the start (0 for a new file).
    public var resumedFrom: Int
    /// Wall-clock seconds of this run.
    public var seconds: Double
    /// True when `shouldStop` ended the run early (the file is valid; run again to resume).
    public var interrupted: Bool
}

/// Writes a `DatasetFamily` to an HDF5 file: every parameter and the seed as attributes,
/// one appendable, chunked, compressed dataset per field with a leading sample axis, samples
/// computed in parallel and appended in index order (flushed after each), so the file is the
/// same whatever the worker count. A file that already holds samples of the same family and
/// parameters is resumed at its first missing sample; one with other parameters is refused.
public enum DatasetGeneration {
    /// The generator of sample `index` for a run seeded with `seed` (SplitMix-decorrelated).
    public static func generator(seed: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: index &+ 1))
    }

    /// Generates (or completes) `path`. Throws `PDEError` for bad options, a file made with
    /// other parameters, HDF5 failures, and the family's own errors (the file then holds the
    /// samples written before the failing one).
    public static func run<F: DatasetFamily>(_ family: F, to path: String, options: DatasetGenerationOptions) throws -> DatasetGenerationReport {
        guard options.samples >= 1, options.workers >= 1 else {
            throw PDEError.invalidValue(key: "samples/workers", value: "\(options.samples)/\(options.workers)", expected: "at least 1 each")
        }
        if options.communicator.size > 1 { return try runDistributed(family, to: path, options: options) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (file, start) = try prepare(family, path: path, options: options)
        defer { try? file.close() }
        let resumedFrom = min(start, options.samples)
        if resumedFrom >= options.samples {
            return DatasetGenerationReport(samples: start, resumedFrom: resumedFrom, seconds: 0, interrupted: false)
        }

        // Workers take indices in order; finished samples wait in `pending` until every
        // earlier one is written, so appends happen in index order.
        let lock = NSLock()
        var next = resumedFrom, written = resumedFrom
        var pending: [Int: [[Double]]] = [:]
        var failure: Error?
        var stopped = false
        let workers = min(options.workers, options.samples - resumedFrom)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                if failure != nil || stopped || next >= options.samples { lock.unlock(); return }
                if options.shouldStop() { stopped = true; lock.unlock(); return }
                let index = next
                next += 1
                lock.unlock()
                var g = generator(seed: options.seed, index: index)
                let result: [[Double]]
                do {
                    result = try family.sample(index, generator: &g)
                    for (field, values) in zip(family.fields, result) where values.count != field.shape.reduce(1, *) {
                        throw PDEError.shapeMismatch(what: "sample \(index) field '\(field.name)'", expected: "\(field.shape.reduce(1, *)) values", got: "\(values.count)")
                    }
                } catch {
                    lock.lock(); if failure == nil { failure = error }; lock.unlock()
                    return
                }
                lock.lock()
                pending[index] = result
                while let ready = pending.removeValue(forKey: written), failure == nil {
                    do {
                        for (field, values) in zip(family.fields, ready) {
                            if options.doublePrecision { try file.append(field.name, values) } else { try file.append(field.name, values.map { Float($0) }) }
                        }
                        written += 1
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                        options.progress?(DatasetGenerationProgress(written: written, total: options.samples, resumedFrom: resumedFrom, seconds: seconds))
                    } catch {
                        failure = error
                    }
                }
                lock.unlock()
            }
        }
        try file.flush(durable: true)
        if let failure { throw failure }
        return DatasetGenerationReport(samples: written, resumedFrom: resumedFrom,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9,
                                       interrupted: written < options.samples)
    }

    /// Opens (or creates) the file, checks or writes the attributes and fixed datasets, creates
    /// the sample datasets, truncates them to a common length; returns the file and the number
    /// of samples it holds.
    static func prepare<F: DatasetFamily>(_ family: F, path: String, options: DatasetGenerationOptions) throws -> (HDF5DatasetFile, Int) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw PDEError.writeFailed(path: path, reason: "cannot create the folder \(folder)")
            }
        }
        let file = try HDF5DatasetFile(path: path, mode: .append)
        var attributes = family.parameters
        attributes["family"] = .string(family.name)
        attributes["seed"] = .int(Int64(bitPattern: options.seed))
        attributes["precision"] = .string(options.doublePrecision ? "float64" : "float32")
        attributes["generator"] = .string("SwiftPDE pde-datagen")
        let existing = try file.attributes()
        if existing["family"] != nil {
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) where existing[key] != value {
                throw PDEError.invalidValue(key: "\(path): attribute '\(key)'", value: "\(existing[key].map { "\($0)" } ?? "missing") in the file, \(value) in this run",
                                            expected: "the parameters the file was generated with (another output path, or delete the file to start over)")
            }
        } else {
            try file.setAttributes(attributes)
            for fixed in family.fixedDatasets where !(try file.contains(fixed.name)) {
                try file.write(fixed.name, shape: fixed.shape, values: fixed.values)
            }
        }
        var start = Int.max
        for field in family.fields {
            let count = options.doublePrecision
                ? try file.createAppendable(field.name, of: Double.self, sampleShape: field.shape, compression: options.compression)
                : try file.createAppendable(field.name, of: Float.self, sampleShape: field.shape, compression: options.compression)
            start = min(start, count)
        }
        for field in family.fields where try file.sampleCount(field.name) > start { try file.truncate(field.name, toSamples: start) }
        return (file, start)
    }

    /// `run` over several ranks: rank 0 prepares and writes, every rank computes its share.
    static func runDistributed<F: DatasetFamily>(_ family: F, to path: String, options: DatasetGenerationOptions) throws -> DatasetGenerationReport {
        let comm = options.communicator
        let ranks = comm.size, rank = comm.rank
        let t0 = DispatchTime.now().uptimeNanoseconds
        var file: HDF5DatasetFile?
        var rootError: Error?
        var status = [0.0, 0.0]
        if rank == 0 {
            do {
                let (f, held) = try prepare(family, path: path, options: options)
                file = f
                status = [1, Double(min(held, options.samples))]
            } catch { rootError = error }
        }
        defer { try? file?.close() }
        try comm.broadcast(&status, root: 0)
        guard status[0] == 1 else {
            throw rootError ?? PDEError.writeFailed(path: path, reason: "rank 0 could not prepare the file (its error is on its output)")
        }
        let resumedFrom = Int(status[1])
        let sampleSize = family.fields.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let perRank = max(1, options.workers)
        var start = resumedFrom, written = resumedFrom
        var stopped = false
        while start < options.samples {
            var stop = [rank == 0 && options.shouldStop() ? 1.0 : 0.0]
            try comm.broadcast(&stop, root: 0)
            if stop[0] == 1 { stopped = true; break }
            // This rank's indices of the round, computed on its threads.
            let mine = Array(min(options.samples, start + rank * perRank)..<min(options.samples, start + (rank + 1) * perRank))
            var results = [[Double]](repeating: [], count: mine.count)
            var failure: Error?
            let lock = NSLock()
            results.withUnsafeMutableBufferPointer { out in
                let base = out.baseAddress!
                DispatchQueue.concurrentPerform(iterations: mine.count) { k in
                    var g = generator(seed: options.seed, index: mine[k])
                    do {
                        let fields = try family.sample(mine[k], generator: &g)
                        for (field, values) in zip(family.fields, fields) where values.count != field.shape.reduce(1, *) {
                            throw PDEError.shapeMismatch(what: "sample \(mine[k]) field '\(field.name)'", expected: "\(field.shape.reduce(1, *)) values", got: "\(values.count)")
                        }
                        base[k] = fields.flatMap { $0 }
                    } catch {
                        lock.lock(); if failure == nil { failure = error }; lock.unlock()
                    }
                }
            }
            // Fixed layout per rank: a status, then its samples (zeros after a failure).
            var payload = [failure == nil ? 1.0 : 0.0]
            payload.reserveCapacity(1 + mine.count * sampleSize)
            for k in 0..<mine.count { payload += failure == nil ? results[k] : [Double](repeating: 0, count: sampleSize) }
            if let failure, rank != 0 {
                FileHandle.standardError.write(Data("rank \(rank): \(failure)\n".utf8))
            }
            let gathered = try comm.gather(payload, root: 0)
            var failedRank = -1.0
            if let all = gathered, let file {
                var offset = 0
                outer: for r in 0..<ranks {
                    let count = max(0, min(options.samples, start + (r + 1) * perRank) - min(options.samples, start + r * perRank))
                    if all[offset] != 1 { failedRank = Double(r); break outer }
                    for k in 0..<count {
                        var o = offset + 1 + k * sampleSize
                        for field in family.fields {
                            let n = field.shape.reduce(1, *)
                            let values = Array(all[o..<(o + n)])
                            if options.doublePrecision { try file.append(field.name, values) } else { try file.append(field.name, values.map { Float($0) }) }
                            o += n
                        }
                        written += 1
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                        options.progress?(DatasetGenerationProgress(written: written, total: options.samples, resumedFrom: resumedFrom, seconds: seconds))
                    }
                    offset += 1 + count * sampleSize
                }
            }
            var verdict = [failedRank]
            try comm.broadcast(&verdict, root: 0)
            if verdict[0] >= 0 {
                try file?.flush(durable: true)
                if Int(verdict[0]) == rank, let failure { throw failure }
                throw PDEError.invalidValue(key: "sample", value: "computed on rank \(Int(verdict[0]))",
                                            expected: "a sample that can be generated (that rank printed its error); the file holds the samples before it")
            }
            start += ranks * perRank
        }
        try file?.flush(durable: true)
        var count = [Double(written)]
        try comm.broadcast(&count, root: 0)
        return DatasetGenerationReport(samples: Int(count[0]), resumedFrom: resumedFrom,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9,
                                       interrupted: stopped || Int(count[0]) < options.samples)
    }
}
