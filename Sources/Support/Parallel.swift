import Dispatch
import Foundation

/// Coarse-grained parallel loops. Work is split into at most `workerCount` contiguous
/// chunks, so each task is large (≥ ~1 ms for the kernels that use it).
public enum Parallel {
    /// Number of worker threads used by threaded kernels: the machine's core count capped
    /// at 8, or `SWIFTPDE_THREADS` when set. Under `mpirun` the cores are shared by the ranks
    /// on this node (`OMPI_COMM_WORLD_LOCAL_SIZE`), so each rank takes cores / local ranks
    /// (at least 1): ranks never oversubscribe the cores with threads.
    public static let workerCount: Int = {
        let env = ProcessInfo.processInfo.environment
        if let s = env["SWIFTPDE_THREADS"], let n = Int(s), n >= 1 {
            return n
        }
        let cores = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
        if let s = env["OMPI_COMM_WORLD_LOCAL_SIZE"], let ranks = Int(s), ranks >= 1 {
            return max(1, cores / ranks)
        }
        return cores
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
