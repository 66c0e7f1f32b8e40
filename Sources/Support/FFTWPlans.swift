import CFFTW
import Foundation

/// The suite's one FFTW plan cache and threading policy, shared by `Learning`'s tensor FFTs
/// and `PDE`'s spectral transforms (FFTW's planner is not thread-safe and its thread count
/// is global planner state, so both go through here).
///
/// Plans are created once per key (precision, kind, sizes, batch, alignment), with
/// FFTW_MEASURE by default, on scratch arrays (MEASURE planning overwrites its arrays), and
/// executed through FFTW's new-array interface, which is thread-safe.
/// Threading: a single transform of at least `threadedTransformPoints` points is planned
/// with FFTW's own threads (`fftw_plan_with_nthreads(Threads.count)`); smaller transforms
/// and batches are single-threaded plans that callers run on chunks in parallel.
public enum FFTWPlans {
    /// A cached plan (FFTW owns it for the life of the process).
    public final class Plan: @unchecked Sendable {
        /// The `fftw_plan` / `fftwf_plan` handle.
        public let pointer: OpaquePointer
        /// The number of threads FFTW was told to use for this plan.
        public let threads: Int
        init(_ p: OpaquePointer, threads: Int) { pointer = p; self.threads = threads }
    }

    /// FFTW planning rigor for new plans: MEASURE (slower planning, faster transforms) when
    /// true, ESTIMATE otherwise.
    nonisolated(unsafe) public static var measure = true
    /// Transforms with at least this many points use FFTW's threads (when more than one
    /// worker is configured); below it, threads cost more than they give.
    nonisolated(unsafe) public static var threadedTransformPoints = 1 << 15

    nonisolated(unsafe) private static var plans: [String: Plan] = [:]
    private static let lock = NSLock()

    /// The planning flags for a new plan: MEASURE or ESTIMATE, plus `extra`.
    public static func flags(_ extra: UInt32 = 0) -> UInt32 {
        (measure ? swiftpde_fftw_measure() : swiftpde_fftw_estimate()) | extra
    }

    /// The threads a transform of `points` points (batch included) should be planned with.
    public static func threads(forPoints points: Int) -> Int {
        points >= threadedTransformPoints ? Threads.count : 1
    }

    /// The cached plan for `key`, or the one `make(threads)` creates (under the planner
    /// lock, with FFTW's thread count set to `threads`); throws `FFTWPlanError` when FFTW
    /// cannot plan (nil from `make`).
    public static func plan(_ key: String, threads: Int = 1, _ make: () -> OpaquePointer?) throws -> Plan {
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[key] { return p }
        Threads.configure()
        let t = max(1, threads)
        fftw_plan_with_nthreads(Int32(t))
        fftwf_plan_with_nthreads(Int32(t))
        defer { fftw_plan_with_nthreads(1); fftwf_plan_with_nthreads(1) }
        guard let p = make() else { throw FFTWPlanError(key: key) }
        let plan = Plan(p, threads: t)
        plans[key] = plan
        return plan
    }

    /// Number of cached plans (diagnostics and tests).
    public static var count: Int {
        lock.lock(); defer { lock.unlock() }
        return plans.count
    }

    /// Writes FFTW's accumulated wisdom (double and single precision) to `path` and
    /// `path + ".f"` atomically, so later runs plan MEASURE-quality transforms instantly.
    public static func saveWisdom(to path: String) throws {
        lock.lock(); defer { lock.unlock() }
        for (file, text) in [(path, fftw_export_wisdom_to_string()), (path + ".f", fftwf_export_wisdom_to_string())] {
            guard let text else { throw FileWriteError(path: file, reason: "FFTW could not export its wisdom") }
            defer { free(text) }
            try AtomicFile.write(Data(String(cString: text).utf8), to: file)
        }
    }

    /// Loads wisdom saved by `saveWisdom`; returns false when a file is missing or FFTW
    /// refuses its contents (then planning simply measures again).
    @discardableResult
    public static func loadWisdom(from path: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let d = FileManager.default.contents(atPath: path), let f = FileManager.default.contents(atPath: path + ".f") else { return false }
        let ok1 = String(decoding: d, as: UTF8.self).withCString { fftw_import_wisdom_from_string($0) }
        let ok2 = String(decoding: f, as: UTF8.self).withCString { fftwf_import_wisdom_from_string($0) }
        return ok1 != 0 && ok2 != 0
    }
}

/// FFTW returned no plan (unsupported size or out of memory).
public struct FFTWPlanError: Error, CustomStringConvertible, LocalizedError {
    /// The plan's cache key (precision, kind, sizes, batch).
    public let key: String
    public var description: String { "FFTW could not plan the transform \(key) (out of memory?)" }
    public var errorDescription: String? { description }
}
