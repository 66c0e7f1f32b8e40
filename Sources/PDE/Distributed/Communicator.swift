import Foundation
#if MPI
import CMPI
#endif

/// A group of processes that compute together (an MPI communicator), or a single process.
///
/// `Communicator.world` is the MPI world when the program runs under `mpirun` and the suite
/// was built with the package trait `MPI` (`swift build --traits MPI`, as the Makefile does);
/// otherwise it is `Communicator.serial`, one process, and every collective is the identity.
/// So the same executable and the same library code run serially and under `mpirun`.
///
/// Every MPI error comes back as `PDEError.libraryFailure(library: "MPI", …)` naming the call
/// and MPI's own message (the world communicator returns errors instead of aborting). The
/// collectives must be called by every rank of the communicator, in the same order, as MPI
/// requires, and from one thread at a time (MPI is initialized with `MPI_THREAD_SERIALIZED`:
/// a Swift task may hop threads between calls, but calls never overlap).
public final class Communicator: @unchecked Sendable {
    /// Reductions the collectives offer.
    public enum Reduction: Sendable {
        case sum, max, min
    }

    /// This process's rank in 0..<size.
    public let rank: Int
    /// Number of processes.
    public let size: Int
    /// True for an MPI communicator (even of size 1), false for `serial`.
    public var isMPI: Bool { handle != nil }

    #if MPI
    let handle: MPI_Comm?
    #else
    let handle: Never?
    #endif

    /// One process: rank 0 of 1, collectives are copies.
    public static let serial = Communicator()

    private init() {
        rank = 0
        size = 1
        handle = nil
    }

    #if MPI
    private init(mpi comm: MPI_Comm) throws {
        var r: Int32 = 0, s: Int32 = 0
        try Communicator.check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try Communicator.check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
        handle = comm
    }
    #endif

    /// The processes started together: MPI's world under `mpirun` (MPI is initialized on first
    /// use and finalized at exit), else `serial`. Throws when the launcher started several
    /// processes but this build has no MPI (each would solve the whole problem alone), or when
    /// MPI fails to initialize.
    public static func world() throws -> Communicator {
        try worldResult.get()
    }

    /// Number of processes the launcher started, read from the environment (Open MPI's
    /// `OMPI_COMM_WORLD_SIZE`, PMIx's `PMIX_SIZE` is not standard; nil when not under mpirun).
    public static func launcherSize(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        environment["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) }
    }

    /// True when this build can run distributed (built with the trait `MPI`).
    public static var mpiAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The decision `world()` makes, as a pure function of the launcher's process count and
    /// whether MPI is built in: nil for serial, true for MPI; throws the error a build without
    /// MPI gives under a multi-process launch.
    static func worldKind(launcherSize: Int?, mpiAvailable: Bool) throws -> Bool {
        guard let n = launcherSize else { return false }
        if mpiAvailable { return true }
        if n > 1 {
            throw PDEError.invalidValue(
                key: "OMPI_COMM_WORLD_SIZE", value: "\(n)",
                expected: "1: this build has no MPI, so each of the \(n) processes would solve the whole problem alone (build with `swift build --traits MPI`, or `make build`)")
        }
        return false
    }

    private static let worldResult: Result<Communicator, Error> = {
        do {
            let useMPI = try worldKind(launcherSize: launcherSize(), mpiAvailable: mpiAvailable)
            #if MPI
            if useMPI {
                var provided: Int32 = 0
                try check(MPI_Init_thread(nil, nil, swiftpde_mpi_thread_serialized(), &provided), "MPI_Init_thread")
                atexit { MPI_Finalize() }
                let w = swiftpde_mpi_comm_world()!
                try check(MPI_Comm_set_errhandler(w, swiftpde_mpi_errors_return()), "MPI_Comm_set_errhandler")
                return .success(try Communicator(mpi: w))
            }
            #else
            _ = useMPI
            #endif
            return .success(serial)
        } catch {
            return .failure(error)
        }
    }()

    // MARK: - Collectives

    /// Waits until every rank has arrived.
    public func barrier() throws {
        #if MPI
        if let c = handle { try Communicator.check(MPI_Barrier(c), "MPI_Barrier") }
        #endif
    }

    /// The reduction of one value over all ranks, on every rank.
    public func allreduce(_ value: Double, _ op: Reduction = .sum) throws -> Double {
        var v = [value]
        try allreduce(&v, op)
        return v[0]
    }

    /// Element-wise reduction of `values` over all ranks, in place on every rank (all ranks
    /// pass arrays of the same length).
    public func allreduce(_ values: inout [Double], _ op: Reduction = .sum) throws {
        #if MPI
        guard let c = handle, size > 1 else { return }
        let n = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { p in
            try Communicator.check(MPI_Allreduce(swiftpde_mpi_in_place(), p.baseAddress, n, swiftpde_mpi_double(),
                                                 Communicator.mpiOp(op), c), "MPI_Allreduce")
        }
        #endif
    }

    /// Starts a non-blocking element-wise sum of `values` over all ranks (MPI_Iallreduce), so
    /// computation can overlap it; `PendingReduction.wait()` returns the sums.
    public func startAllreduce(_ values: [Double]) throws -> PendingReduction {
        let pending = PendingReduction(values)
        #if MPI
        if let c = handle, size > 1 {
            var request: MPI_Request? = swiftpde_mpi_request_null()
            try Communicator.check(MPI_Iallreduce(swiftpde_mpi_in_place(), pending.buffer, Int32(values.count), swiftpde_mpi_double(),
                                                  swiftpde_mpi_sum(), c, &request), "MPI_Iallreduce")
            pending.request = request
        }
        #endif
        return pending
    }

    /// Sends `send` to rank `destination` and receives `receive.count` values from rank `source`
    /// (MPI_Sendrecv); nil skips that side. Sending to and receiving from this rank copies.
    public func exchange(send: UnsafeBufferPointer<Double>, to destination: Int?,
                         receive: UnsafeMutableBufferPointer<Double>, from source: Int?, tag: Int = 0) throws {
        if destination == rank && source == rank {
            guard send.count == receive.count else {
                throw PDEError.shapeMismatch(what: "self exchange", expected: "\(send.count) values", got: "\(receive.count)")
            }
            if send.count > 0 { receive.baseAddress!.update(from: send.baseAddress!, count: send.count) }
            return
        }
        #if MPI
        guard let c = handle else {
            throw PDEError.invalidValue(key: "exchange partner", value: "\(destination ?? -1)/\(source ?? -1)",
                                        expected: "rank 0 (the only one) or none on a serial communicator")
        }
        let dst = destination.map { Int32($0) } ?? swiftpde_mpi_proc_null()
        let src = source.map { Int32($0) } ?? swiftpde_mpi_proc_null()
        try Communicator.check(MPI_Sendrecv(send.baseAddress, Int32(send.count), swiftpde_mpi_double(), dst, Int32(tag),
                                            receive.baseAddress, Int32(receive.count), swiftpde_mpi_double(), src, Int32(tag),
                                            c, swiftpde_mpi_status_ignore()), "MPI_Sendrecv")
        #else
        if destination != nil || source != nil {
            throw PDEError.invalidValue(key: "exchange partner", value: "\(destination ?? -1)/\(source ?? -1)",
                                        expected: "rank 0 (the only one) or none on a serial communicator")
        }
        #endif
    }

    /// Every rank's `values` (lengths may differ), concatenated in rank order, on every rank
    /// (MPI_Allgatherv).
    public func allgather(_ values: [Double]) throws -> [Double] {
        #if MPI
        guard let c = handle, size > 1 else { return values }
        let (icounts, displs, total) = try layout(of: values.count)
        var out = [Double](repeating: 0, count: total)
        try values.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { o in
                try Communicator.check(MPI_Allgatherv(s.baseAddress, Int32(values.count), swiftpde_mpi_double(),
                                                      o.baseAddress, icounts, displs, swiftpde_mpi_double(), c), "MPI_Allgatherv")
            }
        }
        return out
        #else
        return values
        #endif
    }

    /// Every rank's `values` concatenated in rank order on `root` (nil elsewhere; MPI_Gatherv).
    public func gather(_ values: [Double], root: Int = 0) throws -> [Double]? {
        try checkRank(root, "gather root")
        #if MPI
        guard let c = handle, size > 1 else { return values }
        let (icounts, displs, total) = try layout(of: values.count)
        var out = [Double](repeating: 0, count: rank == root ? total : 0)
        try values.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { o in
                try Communicator.check(MPI_Gatherv(s.baseAddress, Int32(values.count), swiftpde_mpi_double(),
                                                   o.baseAddress, icounts, displs, swiftpde_mpi_double(), Int32(root), c), "MPI_Gatherv")
            }
        }
        return rank == root ? out : nil
        #else
        return values
        #endif
    }

    /// Rank r receives `chunks[r]` from `root` (MPI_Scatterv); `chunks` (one array per rank) is
    /// read on the root only.
    public func scatter(_ chunks: [[Double]]?, root: Int = 0) throws -> [Double] {
        try checkRank(root, "scatter root")
        if rank == root {
            guard let chunks, chunks.count == size else {
                throw PDEError.shapeMismatch(what: "scatter chunks", expected: "\(size) arrays (one per rank)", got: "\(chunks?.count ?? 0)")
            }
            if size == 1 { return chunks[0] }
        }
        #if MPI
        guard let c = handle else { return chunks![0] }
        var counts = [Double](repeating: 0, count: size)
        if rank == root { for r in 0..<size { counts[r] = Double(chunks![r].count) } }
        try broadcast(&counts, root: root)
        let icounts = counts.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for r in 1..<size { displs[r] = displs[r - 1] + icounts[r - 1] }
        let flat = rank == root ? chunks!.flatMap { $0 } : []
        var out = [Double](repeating: 0, count: Int(icounts[rank]))
        try flat.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { o in
                try Communicator.check(MPI_Scatterv(s.baseAddress, icounts, displs, swiftpde_mpi_double(),
                                                    o.baseAddress, icounts[rank], swiftpde_mpi_double(), Int32(root), c), "MPI_Scatterv")
            }
        }
        return out
        #else
        return chunks![0]
        #endif
    }

    /// `values` of `root` on every rank (all ranks pass arrays of the same length).
    public func broadcast(_ values: inout [Double], root: Int = 0) throws {
        try checkRank(root, "broadcast root")
        #if MPI
        guard let c = handle, size > 1 else { return }
        let n = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { p in
            try Communicator.check(MPI_Bcast(p.baseAddress, n, swiftpde_mpi_double(), Int32(root), c), "MPI_Bcast")
        }
        #endif
    }

    /// Splits into disjoint communicators, one per `color` (ranks ordered by `key`, then by
    /// rank); a nil color leaves this rank out (nil returned). On `serial`, returns `serial`
    /// for any color.
    public func split(color: Int?, key: Int = 0) throws -> Communicator? {
        if let color, color < 0 {
            throw PDEError.invalidValue(key: "split color", value: "\(color)", expected: "a color ≥ 0, or nil to leave the rank out")
        }
        #if MPI
        guard let c = handle else { return color == nil ? nil : self }
        var out = swiftpde_mpi_comm_null()
        try Communicator.check(MPI_Comm_split(c, color.map { Int32($0) } ?? swiftpde_mpi_undefined(), Int32(key), &out), "MPI_Comm_split")
        guard color != nil, let made = out else { return nil }
        try Communicator.check(MPI_Comm_set_errhandler(made, swiftpde_mpi_errors_return()), "MPI_Comm_set_errhandler")
        return try Communicator(mpi: made)
        #else
        return color == nil ? nil : self
        #endif
    }

    private func checkRank(_ r: Int, _ what: String) throws {
        guard r >= 0, r < size else {
            throw PDEError.invalidValue(key: what, value: "\(r)", expected: "a rank in 0..<\(size)")
        }
    }

    #if MPI
    /// Every rank's count (one allreduce), the displacements and the total of a v-collective.
    private func layout(of count: Int) throws -> (counts: [Int32], displacements: [Int32], total: Int) {
        var counts = [Double](repeating: 0, count: size)
        counts[rank] = Double(count)
        try allreduce(&counts, .sum)
        let icounts = counts.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for r in 1..<size { displs[r] = displs[r - 1] + icounts[r - 1] }
        return (icounts, displs, Int(displs[size - 1] + icounts[size - 1]))
    }

    static func mpiOp(_ op: Reduction) -> MPI_Op {
        switch op {
        case .sum: return swiftpde_mpi_sum()
        case .max: return swiftpde_mpi_max()
        case .min: return swiftpde_mpi_min()
        }
    }

    /// Throws `PDEError.libraryFailure` with MPI's message unless `code` is MPI_SUCCESS.
    static func check(_ code: Int32, _ call: String) throws {
        if code == swiftpde_mpi_success() { return }
        var text = [CChar](repeating: 0, count: Int(swiftpde_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw PDEError.libraryFailure(library: "MPI", reason: "\(call) failed: \(message) (error code \(code))")
    }
    #endif
}

/// A non-blocking sum started by `Communicator.startAllreduce`: its buffer stays alive until
/// `wait()` returns the sums (once).
public final class PendingReduction {
    let buffer: UnsafeMutablePointer<Double>
    let count: Int
    #if MPI
    var request: MPI_Request??
    #endif

    init(_ values: [Double]) {
        count = values.count
        buffer = .allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { if $0.count > 0 { buffer.update(from: $0.baseAddress!, count: $0.count) } }
    }

    deinit {
        #if MPI
        if var r = request { _ = MPI_Wait(&r, swiftpde_mpi_status_ignore()) }
        #endif
        buffer.deallocate()
    }

    /// Blocks until the reduction is complete and returns the element-wise sums.
    public func wait() throws -> [Double] {
        #if MPI
        if var r = request {
            try Communicator.check(MPI_Wait(&r, swiftpde_mpi_status_ignore()), "MPI_Wait")
            request = nil
        }
        #endif
        return Array(UnsafeBufferPointer(start: buffer, count: count))
    }
}
