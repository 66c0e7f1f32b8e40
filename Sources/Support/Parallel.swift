import Dispatch
import Foundation

/// Coarse-grained parallel loops. Work is split into at most `workerCount` contiguous
/// chunks, so each task is large (≥ ~1 ms for the kernels that use it).
public enum Parallel {
    /// Number of worker threads used by threaded kernels: the machine's core count capped
    /// at 8, or `SWIFTPDE_THREADS` when set.
    public static let workerCount: Int = {
        if let s = ProcessInfo.processInfo.environment["SWIFTPDE_THREADS"], let n = Int(s), n >= 1 {
            return n
        }
        return max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
    }()

    /// Calls `body(start, end)` on disjoint chunks covering `0..<count`, in parallel when
    /// there are at least `2 * minimumPerChunk` items and more than one worker.
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 4096,
                                 _ body: (Int, Int) -> Void) {
        let workers = min(workerCount, count / max(1, minimumPerChunk))
        if workers <= 1 {
            if count > 0 { body(0, count) }
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk
            let end = min(count, start + chunk)
            if start < end { body(start, end) }
        }
    }
}
