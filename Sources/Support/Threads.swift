import CBLAS
import CFFTW
import CVectorMath
import Foundation

/// Thread configuration of the numerical libraries. Learning parallelizes at coarse grain
/// itself (over images, modes, chunks of a batch) and calls BLAS single-threaded inside
/// those loops; a single large product outside them may use OpenBLAS's own threads.
public enum Threads {
    /// Worker threads (`Parallel.workerCount`: the core count, or `SWIFTPDE_THREADS`).
    public static var count: Int { Parallel.workerCount }

    nonisolated(unsafe) private static var configured = false
    private static let lock = NSLock()

    /// Sets OpenBLAS to `count` threads and initializes FFTW's thread support once.
    public static func configure() {
        lock.lock()
        defer { lock.unlock() }
        if configured { return }
        configured = true
        // Keep large freed blocks in the heap instead of returning them to the kernel:
        // tensors of many MB are allocated and freed on every training step, and fresh
        // pages from mmap cost a fault and a clear per 4 KB.
        svm_keep_freed_memory()
        openblas_set_num_threads(Int32(count))
        _ = fftw_init_threads()
        _ = fftwf_init_threads()
    }

    /// OpenBLAS's kernel family in use (e.g. `SkylakeX`), for benchmark reports.
    public static var blasCore: String {
        configure()
        return String(cString: svm_openblas_core())
    }

    /// Runs `body` with OpenBLAS restricted to one thread (for BLAS calls made from inside
    /// our own parallel loops), restoring the configured count afterwards.
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        configure()
        if count <= 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(count)) }
        return try body()
    }

    /// Splits `items` work items over the workers (in contiguous blocks) with BLAS
    /// single-threaded inside; `body(worker, start, end)`. With one item or one worker the
    /// body runs on the caller's thread and BLAS keeps its threads.
    public static func parallelItems(_ items: Int, _ body: (Int, Int, Int) -> Void) {
        let workers = min(count, items)
        if workers <= 1 {
            configure()
            if items > 0 { body(0, 0, items) }
            return
        }
        withSingleThreadedBLAS {
            let chunk = (items + workers - 1) / workers
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let s = w * chunk, e = min(items, s + chunk)
                if s < e { body(w, s, e) }
            }
        }
    }

    /// Like `parallelItems`, but the workers take `grain` items at a time from a shared
    /// counter until none are left, so a worker whose core is busy elsewhere (a shared
    /// machine) does not hold up the others. Which worker runs which items varies from call
    /// to call: use it for work whose result does not depend on that (no per-worker sums).
    /// `body(start, end)`.
    public static func parallelDynamic(_ items: Int, grain: Int = 1, _ body: (Int, Int) -> Void) {
        let workers = min(count, (items + max(grain, 1) - 1) / max(grain, 1))
        if workers <= 1 {
            configure()
            if items > 0 { body(0, items) }
            return
        }
        let step = max(grain, 1)
        let next = NSLock()
        nonisolated(unsafe) var taken = 0
        withSingleThreadedBLAS {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    next.lock()
                    let s = taken
                    taken = min(items, taken + step)
                    next.unlock()
                    if s >= items { return }
                    body(s, min(items, s + step))
                }
            }
        }
    }
}
