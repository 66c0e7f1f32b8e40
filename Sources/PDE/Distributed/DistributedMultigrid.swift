import Support

/// Geometric multigrid V-cycle on a distributed `DistributedLaplacian`, as a preconditioner for
/// `DistributedConjugateGradient` (MG-PCG). Vertex-centred coarsening by 2 (n = 2m + 1 interior
/// unknowns per axis → m), linear interpolation P and full weighting R = Pᵀ / 2^d applied axis
/// by axis, the Laplacian rediscretized on every level, damped Jacobi smoothing (ω = 4/5 in
/// 2-D, 6/7 in 3-D; ν sweeps before and after, so the cycle is symmetric), and a CHOLMOD
/// solve of the coarsest level, done redundantly on every rank after an allgather.
///
/// Each coarse level keeps the fine level's ranks: coarse point I lives on the rank owning fine
/// point 2I + 1, so transfers need only the one-layer halos. Coarsening stops where an axis is
/// even, the grid has at most `coarseSize` unknowns, or after `levels` levels. Where a rank
/// would own no coarse layer (many ranks, few layers) while coarsening should go on, the level
/// is agglomerated: gathered whole onto every rank (one allgather), where a one-process
/// multigrid (`agglomerated`) runs the remaining levels redundantly, and each rank keeps its
/// part of the result — no rank waits for another below that level. Slab decompositions only
/// (split along the slowest axis), Dirichlet boxes. For a fixed number of levels the cycle gives
/// the same bits on every rank count, agglomerated or not.
public final class DistributedMultigrid: DistributedPreconditioner {
    public let name = "mg"
    /// Operators from finest to coarsest.
    public let operators: [DistributedLaplacian]
    /// Jacobi sweeps before and after the coarse correction.
    public let smoothingSteps: Int
    /// Jacobi damping.
    public let weight: Double
    /// The levels below the last distributed one, gathered onto every rank: a one-process
    /// multigrid whose finest level is the last distributed level (nil when that level is the
    /// coarsest and solved directly).
    public let agglomerated: DistributedMultigrid?
    private let coarseFactor: CholmodFactorization?
    private let buffers: [LevelBuffers]

    final class LevelBuffers {
        let x: UnsafeMutablePointer<Double>, b: UnsafeMutablePointer<Double>, r: UnsafeMutablePointer<Double>
        let t: UnsafeMutablePointer<Double>, t2: UnsafeMutablePointer<Double>
        let n: Int
        init(_ n: Int, temporary: Int) {
            self.n = n
            x = .allocate(capacity: max(1, n)); x.initialize(repeating: 0, count: max(1, n))
            b = .allocate(capacity: max(1, n)); b.initialize(repeating: 0, count: max(1, n))
            r = .allocate(capacity: max(1, n)); r.initialize(repeating: 0, count: max(1, n))
            t = .allocate(capacity: max(1, temporary)); t.initialize(repeating: 0, count: max(1, temporary))
            t2 = .allocate(capacity: max(1, temporary)); t2.initialize(repeating: 0, count: max(1, temporary))
        }
        deinit { x.deallocate(); b.deallocate(); r.deallocate(); t.deallocate(); t2.deallocate() }
    }

    /// The hierarchy below `a` (collective: every rank builds it). Throws for a decomposition
    /// split along an axis other than the slowest, a periodic axis, bad options, or a coarse
    /// factorization failure.
    public init(_ a: DistributedLaplacian, levels: Int? = nil, smoothingSteps: Int = 2, weight: Double? = nil,
                coarseSize: Int = 4096) throws {
        let dec = a.grid.decomposition
        let dim = dec.dimension
        let split = dim - 1
        guard (0..<split).allSatisfy({ dec.processes[$0] == 1 }) else {
            throw PDEError.invalidValue(key: "decomposition", value: "ranks per axis \(dec.processes)",
                                        expected: "slabs (ranks along the slowest axis only) for the distributed multigrid")
        }
        guard !dec.periodic.contains(true) else {
            throw PDEError.invalidValue(key: "periodic", value: "\(dec.periodic)", expected: "a Dirichlet box for the distributed multigrid")
        }
        if let levels, levels < 1 {
            throw PDEError.invalidValue(key: "levels", value: "\(levels)", expected: "≥ 1 (1 = the coarse solve alone)")
        }
        guard smoothingSteps >= 1 else {
            throw PDEError.invalidValue(key: "smoothing steps", value: "\(smoothingSteps)", expected: "≥ 1")
        }
        let w = weight ?? (dim == 2 ? 0.8 : 6.0 / 7.0)
        guard w > 0, w < 2, w.isFinite else {
            throw PDEError.invalidValue(key: "jacobi weight", value: "\(w)", expected: "a damping in (0, 2)")
        }
        self.smoothingSteps = smoothingSteps
        self.weight = w
        var ops = [a]
        var ranksRanOut = false
        while true {
            if let levels, ops.count >= levels { break }
            let f = ops.last!.grid.decomposition
            if levels == nil && f.globalCount <= coarseSize { break }
            guard f.globalCounts.allSatisfy({ $0 >= 3 && $0 % 2 == 1 }) else { break }
            let m = f.globalCounts.map { ($0 - 1) / 2 }
            var bounds = f.boundaries
            bounds = bounds.indices.map { d in d == split ? f.boundaries[d].enumerated().map { $0.offset == f.processes[d] ? m[d] : $0.element / 2 } : [0, m[d]] }
            guard (0..<f.processes[split]).allSatisfy({ bounds[split][$0 + 1] > bounds[split][$0] }) else {
                ranksRanOut = true
                break
            }
            let cd = try BlockDecomposition(globalCounts: m, processes: f.processes, boundaries: bounds, rank: f.rank)
            let cg = try DistributedGrid(decomposition: cd, communicator: a.grid.communicator)
            ops.append(try DistributedLaplacian(grid: cg, spacing: ops.last!.spacing.map { 2 * $0 }))
        }
        operators = ops
        let c = ops.last!
        let cdec = c.grid.decomposition
        if ranksRanOut {
            // The rest of the hierarchy on the whole last level, in one process on every rank.
            let whole = try DistributedGrid(decomposition: BlockDecomposition(globalCounts: cdec.globalCounts, ranks: 1, rank: 0),
                                            communicator: .serial)
            agglomerated = try DistributedMultigrid(DistributedLaplacian(grid: whole, spacing: c.spacing),
                                                    levels: levels.map { $0 - ops.count + 1 }, smoothingSteps: smoothingSteps,
                                                    weight: w, coarseSize: coarseSize)
            coarseFactor = nil
        } else {
            // The coarsest level's matrix, factored on every rank.
            let h = c.spacing
            let nodes = try Grid(counts: cdec.globalCounts.map { $0 + 2 }, lower: h.map { _ in 0 },
                                 upper: cdec.globalCounts.indices.map { Double(cdec.globalCounts[$0] + 1) * h[$0] })
            coarseFactor = try CholmodFactorization(matrix: FiniteDifference.laplacian(grid: nodes))
            agglomerated = nil
        }
        // Transfers go through two temporaries of the finer level's size.
        buffers = ops.map { LevelBuffers($0.grid.ownedCount, temporary: $0.grid.ownedCount) }
    }

    /// Levels in the hierarchy, agglomerated ones included (1 = the coarse solve alone).
    public var levelCount: Int { operators.count - 1 + (agglomerated?.levelCount ?? 1) }

    /// Levels split over the ranks (the rest are agglomerated).
    public var distributedLevelCount: Int { operators.count }

    /// z ← V-cycle(r) (collective).
    public func apply(_ r: UnsafePointer<Double>, into z: UnsafeMutablePointer<Double>, count: Int) throws {
        guard count == buffers[0].n else {
            throw PDEError.shapeMismatch(what: "multigrid input", expected: "\(buffers[0].n) values", got: "\(count)")
        }
        buffers[0].b.update(from: r, count: count)
        try cycle(0)
        z.update(from: buffers[0].x, count: count)
    }

    private func cycle(_ l: Int) throws {
        let op = operators[l]
        let buf = buffers[l]
        let n = buf.n
        if l == operators.count - 1 {
            try coarseSolve(op, buf)
            return
        }
        let wd = weight / op.diagonalValue
        // Pre-smoothing from x = 0: the first sweep is x = ω D⁻¹ b.
        for i in 0..<n { buf.x[i] = wd * buf.b[i] }
        for _ in 1..<smoothingSteps { try jacobi(op, buf, wd) }
        // r = b − A x, restricted to the next level's b.
        try op.apply(buf.x, into: buf.r, linePartials: nil)
        for i in 0..<n { buf.r[i] = buf.b[i] - buf.r[i] }
        let coarse = operators[l + 1]
        try restrict(buf.r, fine: op.grid, into: buffers[l + 1].b, coarse: coarse.grid, buf)
        try cycle(l + 1)
        try interpolateAdd(buffers[l + 1].x, coarse: coarse.grid, into: buf.x, fine: op.grid, buf)
        for _ in 0..<smoothingSteps { try jacobi(op, buf, wd) }
    }

    /// x ← x + ω D⁻¹ (b − A x).
    private func jacobi(_ op: DistributedLaplacian, _ buf: LevelBuffers, _ wd: Double) throws {
        try op.apply(buf.x, into: buf.r, linePartials: nil)
        for i in 0..<buf.n { buf.x[i] += wd * (buf.b[i] - buf.r[i]) }
    }

    private func coarseSolve(_ op: DistributedLaplacian, _ buf: LevelBuffers) throws {
        let g = op.grid
        let local = Array(UnsafeBufferPointer(start: buf.b, count: buf.n))
        let whole = try g.allgatherWhole(local)
        var x: [Double]
        if let agglomerated {
            x = [Double](repeating: 0, count: whole.count)
            try whole.withUnsafeBufferPointer { b in
                try x.withUnsafeMutableBufferPointer { try agglomerated.apply(b.baseAddress!, into: $0.baseAddress!, count: whole.count) }
            }
        } else {
            x = try coarseFactor!.solve(whole)
        }
        let mine = try g.localPart(of: x)
        mine.withUnsafeBufferPointer { buf.x.update(from: $0.baseAddress!, count: buf.n) }
    }

    // MARK: transfers (axis by axis)

    /// One axis of a transfer on an array of local dims `dims`: output layer t along `axis`
    /// (global index t + outOffset) = Σ weight · input layer (global index − inOffset), where a
    /// local index −1 / count reads the ghost layer and a global index outside 0..<inGlobal reads 0.
    private static func axisPass(_ src: UnsafePointer<Double>, dims: [Int], axis: Int, outCount: Int,
                                 inOffset: Int, inGlobal: Int, outOffset: Int, restrict: Bool,
                                 lowerGhost: UnsafePointer<Double>?, upperGhost: UnsafePointer<Double>?,
                                 zero: UnsafePointer<Double>, into dst: UnsafeMutablePointer<Double>) {
        var inner = 1
        for d in 0..<axis { inner &*= dims[d] }
        var outer = 1
        for d in (axis + 1)..<dims.count { outer &*= dims[d] }
        let nIn = dims[axis]
        @inline(__always) func layer(_ global: Int, _ o: Int) -> UnsafePointer<Double> {
            if global < 0 || global >= inGlobal { return zero }
            let local = global &- inOffset
            if local < 0 { return lowerGhost ?? zero }
            if local >= nIn { return upperGhost ?? zero }
            return src + inner &* (local &+ nIn &* o)
        }
        for o in 0..<outer {
            for t in 0..<outCount {
                let g = t &+ outOffset
                let out = dst + inner &* (t &+ outCount &* o)
                if restrict {
                    let a = layer(2 &* g, o), b = layer(2 &* g &+ 1, o), c = layer(2 &* g &+ 2, o)
                    for s in 0..<inner { out[s] = 0.25 * a[s] + 0.5 * b[s] + 0.25 * c[s] }
                } else if g % 2 == 1 {
                    let a = layer((g &- 1) / 2, o)
                    for s in 0..<inner { out[s] = a[s] }
                } else {
                    let a = layer(g / 2 &- 1, o), b = layer(g / 2, o)
                    for s in 0..<inner { out[s] = 0.5 * (a[s] + b[s]) }
                }
            }
        }
    }

    /// Runs the axis passes of a transfer: `first` (the split axis, with ghosts) from `src`, then
    /// the other axes from the slowest down, ping-ponging between t and t2; returns the result.
    private func passes(_ src: UnsafePointer<Double>, dims start: [Int], outCounts: [Int], restrict: Bool,
                        inGrid: BlockDecomposition, outGrid: BlockDecomposition, ghosts: DistributedGrid,
                        _ t: UnsafeMutablePointer<Double>, _ t2: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<Double> {
        let s = start.count - 1
        var dims = start
        let lg = ghosts.ghosts[2 * s], ug = ghosts.ghosts[2 * s + 1]
        let zero = [Double](repeating: 0, count: max(1, max(inGrid.ownedCount, outGrid.ownedCount)))
        var current = t, target = t2
        lg.withUnsafeBufferPointer { l in
            ug.withUnsafeBufferPointer { u in
                zero.withUnsafeBufferPointer { z in
                    DistributedMultigrid.axisPass(src, dims: dims, axis: s, outCount: outCounts[s], inOffset: inGrid.lower[s],
                                                  inGlobal: inGrid.globalCounts[s], outOffset: outGrid.lower[s], restrict: restrict,
                                                  lowerGhost: l.baseAddress!, upperGhost: u.baseAddress!, zero: z.baseAddress!, into: current)
                    dims[s] = outCounts[s]
                    for d in (0..<s).reversed() {
                        DistributedMultigrid.axisPass(current, dims: dims, axis: d, outCount: outCounts[d], inOffset: 0,
                                                      inGlobal: inGrid.globalCounts[d], outOffset: 0, restrict: restrict,
                                                      lowerGhost: nil, upperGhost: nil, zero: z.baseAddress!, into: target)
                        dims[d] = outCounts[d]
                        swap(&current, &target)
                    }
                }
            }
        }
        return current
    }

    /// b_coarse ← R r (full weighting), split axis first (with the fine halo).
    private func restrict(_ r: UnsafePointer<Double>, fine: DistributedGrid, into b: UnsafeMutablePointer<Double>,
                          coarse: DistributedGrid, _ buf: LevelBuffers) throws {
        try fine.exchangeHalo(r)
        let out = passes(r, dims: fine.decomposition.counts, outCounts: coarse.decomposition.counts, restrict: true,
                         inGrid: fine.decomposition, outGrid: coarse.decomposition, ghosts: fine, buf.t, buf.t2)
        b.update(from: out, count: coarse.ownedCount)
    }

    /// x_fine ← x_fine + P x_coarse (linear interpolation), split axis first (with the coarse halo).
    private func interpolateAdd(_ xc: UnsafePointer<Double>, coarse: DistributedGrid, into x: UnsafeMutablePointer<Double>,
                                fine: DistributedGrid, _ buf: LevelBuffers) throws {
        try coarse.exchangeHalo(xc)
        let out = passes(xc, dims: coarse.decomposition.counts, outCounts: fine.decomposition.counts, restrict: false,
                         inGrid: coarse.decomposition, outGrid: fine.decomposition, ghosts: coarse, buf.t, buf.t2)
        for i in 0..<fine.ownedCount { x[i] += out[i] }
    }
}
