import CFFTW
#if MPI
import CMPI
#endif

/// Complex FFTs of a 2-D or 3-D array distributed in slabs along its slowest axis, through
/// FFTW's MPI interface (`fftw_mpi_plan_dft`) under `mpirun`, and through the serial
/// `ComplexFFT` on one process. FFTW chooses the slabs (blocks of ⌈n/P⌉ layers), so the
/// `decomposition` is FFTW's; local arrays hold this rank's layers, x fastest, as interleaved
/// (re, im) pairs. Forward uses e^{−2πi jk/n}, backward e^{+2πi jk/n}, unnormalized.
public final class DistributedFFT {
    /// The slabs FFTW assigned (x never split; the slowest axis split).
    public let decomposition: BlockDecomposition
    /// The ranks that transform together.
    public let communicator: Communicator
    /// Points per axis, x first.
    public let counts: [Int]
    private let serial: ComplexFFT?
    #if MPI
    private var buffer: UnsafeMutablePointer<fftw_complex>?
    private var forwardPlan: fftw_plan?
    private var backwardPlan: fftw_plan?
    private static let mpiInit: Void = { fftw_mpi_init() }()
    #endif

    /// Plans the transforms of an array of `counts` points (x first, 2 or 3 axes) over
    /// `communicator` (collective). Throws for other dimensions, empty axes, or when FFTW would
    /// leave a rank without a layer (more ranks than ⌈n/⌈n/P⌉⌉ slabs).
    public init(counts: [Int], communicator: Communicator) throws {
        guard counts.count == 2 || counts.count == 3, counts.allSatisfy({ $0 >= 1 }) else {
            throw PDEError.invalidValue(key: "distributed FFT shape", value: "\(counts)", expected: "2 or 3 axes of ≥ 1 point")
        }
        self.counts = counts
        self.communicator = communicator
        let dim = counts.count
        let slow = counts[dim - 1]
        #if MPI
        if let comm = communicator.handle, communicator.size > 1 {
            _ = DistributedFFT.mpiInit
            var n = counts.reversed().map { Int($0) }
            var localN0 = 0, start0 = 0
            let alloc = fftw_mpi_local_size(Int32(dim), &n, comm, &localN0, &start0)
            // Every rank's start, to describe FFTW's slabs as a decomposition.
            let starts = try communicator.allgather([Double(start0), Double(localN0)])
            var bounds = (0..<communicator.size).map { Int(starts[2 * $0]) }
            bounds.append(slow)
            for r in 0..<communicator.size where Int(starts[2 * r + 1]) == 0 {
                throw PDEError.invalidValue(key: "ranks", value: "\(communicator.size)",
                                            expected: "fewer ranks for \(slow) layers: FFTW deals out blocks of ⌈\(slow)/\(communicator.size)⌉ layers and leaves rank \(r) without one")
            }
            var processes = [Int](repeating: 1, count: dim)
            processes[dim - 1] = communicator.size
            let b = (0..<dim).map { d in d == dim - 1 ? bounds : [0, counts[d]] }
            decomposition = try BlockDecomposition(globalCounts: counts, processes: processes, boundaries: b, rank: communicator.rank)
            serial = nil
            buffer = fftw_alloc_complex(max(1, alloc))
            forwardPlan = fftw_mpi_plan_dft(Int32(dim), &n, buffer, buffer, comm, FFTW_FORWARD, UInt32(FFTW_ESTIMATE))
            backwardPlan = fftw_mpi_plan_dft(Int32(dim), &n, buffer, buffer, comm, FFTW_BACKWARD, UInt32(FFTW_ESTIMATE))
            guard forwardPlan != nil, backwardPlan != nil else {
                throw PDEError.libraryFailure(library: "FFTW MPI", reason: "no plan for \(counts) over \(communicator.size) ranks")
            }
            return
        }
        #endif
        decomposition = try BlockDecomposition(globalCounts: counts, processes: [Int](repeating: 1, count: dim), rank: 0)
        serial = try ComplexFFT(shape: counts.reversed())
    }

    deinit {
        #if MPI
        if let p = forwardPlan { fftw_destroy_plan(p) }
        if let p = backwardPlan { fftw_destroy_plan(p) }
        if let b = buffer { fftw_free(b) }
        #endif
    }

    /// Complex values this rank holds.
    public var localCount: Int { decomposition.ownedCount }

    /// y ← DFT(x) of this rank's slab (collective); x and y hold 2·`localCount` values.
    public func transform(_ x: [Double], into y: inout [Double], forward: Bool = true) throws {
        guard x.count == 2 * localCount, y.count == 2 * localCount else {
            throw PDEError.shapeMismatch(what: "distributed FFT", expected: "\(2 * localCount) values (re, im) on rank \(communicator.rank)",
                                         got: "input \(x.count), output \(y.count)")
        }
        if let serial {
            try serial.transform(x, into: &y, forward: forward)
            return
        }
        #if MPI
        let n = localCount
        let buf = buffer!
        x.withUnsafeBufferPointer { xp in
            buf.withMemoryRebound(to: Double.self, capacity: 2 * n) { $0.update(from: xp.baseAddress!, count: 2 * n) }
        }
        fftw_execute(forward ? forwardPlan : backwardPlan)
        y.withUnsafeMutableBufferPointer { yp in
            buf.withMemoryRebound(to: Double.self, capacity: 2 * n) { yp.baseAddress!.update(from: $0, count: 2 * n) }
        }
        #endif
    }
}

/// −Δu = f on a periodic box, distributed in FFTW's slabs: û_k = f̂_k / |k|² (zero mean), by
/// `DistributedFFT`; the distributed counterpart of `PeriodicHelmholtz` with σ = 0.
public final class DistributedPeriodicPoisson {
    /// The torus.
    public let grid: PeriodicGrid
    /// The transforms (and through them, which slab this rank owns).
    public let fft: DistributedFFT
    private let inverseSymbol: [Double]

    /// Plans the transforms (collective). Throws for a 1-D grid or too many ranks.
    public init(grid: PeriodicGrid, communicator: Communicator) throws {
        guard grid.dimension == 2 || grid.dimension == 3 else {
            throw PDEError.invalidValue(key: "grid dimension", value: "\(grid.dimension)", expected: "2 or 3 for the distributed periodic Poisson solver")
        }
        self.grid = grid
        fft = try DistributedFFT(counts: grid.counts, communicator: communicator)
        let dec = fft.decomposition
        let k = (0..<grid.dimension).map { grid.wavenumbers(axis: $0) }
        let total = Double(grid.pointCount)
        inverseSymbol = (0..<dec.ownedCount).map { u in
            var r = dec.globalIndex(u), s = 0.0
            for d in 0..<grid.dimension {
                let kd = k[d][r % grid.counts[d]]
                s += kd * kd
                r /= grid.counts[d]
            }
            return s == 0 ? 0 : 1 / (s * total)
        }
    }

    /// The values this rank owns (`fft.decomposition`).
    public var localCount: Int { fft.localCount }

    /// u (zero mean) for this rank's part of f (collective). Throws for a wrong length or f
    /// with a nonzero mean (no periodic solution).
    public func solve(_ f: [Double]) throws -> [Double] {
        let n = localCount
        guard f.count == n else {
            throw PDEError.shapeMismatch(what: "distributed periodic Poisson right-hand side", expected: "\(n) values", got: "\(f.count)")
        }
        let sums = [f.reduce(0, +), f.reduce(0) { max($0, abs($1)) }]
        let mean = try fft.communicator.allreduce(sums[0]) / Double(grid.pointCount)
        let size = try fft.communicator.allreduce(sums[1], .max)
        guard abs(mean) <= 1e-12 * max(size, 1e-300) else {
            throw PDEError.invalidValue(key: "right-hand side mean", value: "\(mean)",
                                        expected: "zero for periodic Poisson (∫f = 0 is needed for a periodic solution)")
        }
        var c = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n { c[2 * i] = f[i] }
        var spectrum = c
        try fft.transform(c, into: &spectrum, forward: true)
        for i in 0..<n {
            spectrum[2 * i] *= inverseSymbol[i]
            spectrum[2 * i + 1] *= inverseSymbol[i]
        }
        try fft.transform(spectrum, into: &c, forward: false)
        return (0..<n).map { c[2 * $0] }
    }
}
