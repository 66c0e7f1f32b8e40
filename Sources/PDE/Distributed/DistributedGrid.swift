import Support

/// A box of grid unknowns distributed over the ranks of a communicator by a
/// `BlockDecomposition`: each rank holds its owned unknowns as a plain `[Double]` (x fastest,
/// no ghost cells), and this object supplies what distributed kernels need around them —
/// halo exchange into ghost faces, global reductions, scatter from and gather to one rank.
///
/// With `Communicator.serial` (or one MPI rank) it is the whole box, so the same solver code
/// is the serial solver.
public final class DistributedGrid {
    /// How global sums are formed.
    public enum Reductions: String, Sendable, CaseIterable {
        /// Each x-line is summed alone (8 fixed accumulators), the line sums are placed by global
        /// line index, summed across ranks (each entry comes from one rank, so exactly) and
        /// added in global line order: identical bits for every slab/pencil decomposition and
        /// rank count. Costs an allreduce of one value per x-line of the box.
        case reproducible
        /// Each rank adds its line sums and one value per sum is allreduced: rank-count-dependent
        /// rounding, constant message size (what scales to many ranks).
        case fast
    }

    public let communicator: Communicator
    public let decomposition: BlockDecomposition
    public let reductions: Reductions
    /// Ghost faces, index 2·axis + (0 lower, 1 upper), filled by `exchangeHalo` (zeros at a
    /// non-periodic boundary of the box). Empty for axis 0 (x is never split).
    public private(set) var ghosts: [[Double]]
    private var sendBuffer: [Double] = []

    /// The block of this rank of `communicator` for a box of `globalCounts` unknowns. Throws the
    /// decomposition's errors (too many ranks for the box, …).
    public convenience init(globalCounts: [Int], communicator: Communicator, layout: BlockDecomposition.Layout = .slab,
                            periodic: [Bool]? = nil, reductions: Reductions = .reproducible) throws {
        try self.init(decomposition: BlockDecomposition(globalCounts: globalCounts, ranks: communicator.size, rank: communicator.rank,
                                                        layout: layout, periodic: periodic),
                      communicator: communicator, reductions: reductions)
    }

    /// The grid of a given decomposition (its rank and rank count must be the communicator's).
    public init(decomposition: BlockDecomposition, communicator: Communicator, reductions: Reductions = .reproducible) throws {
        guard decomposition.rankCount == communicator.size, decomposition.rank == communicator.rank else {
            throw PDEError.invalidValue(key: "decomposition", value: "rank \(decomposition.rank) of \(decomposition.rankCount)",
                                        expected: "rank \(communicator.rank) of \(communicator.size), the communicator's")
        }
        self.communicator = communicator
        self.decomposition = decomposition
        self.reductions = reductions
        ghosts = []
        let dim = decomposition.dimension
        for d in 0..<dim {
            let size = d == 0 ? 0 : decomposition.ownedCount / decomposition.counts[d]
            ghosts.append([Double](repeating: 0, count: size))
            ghosts.append([Double](repeating: 0, count: size))
        }
    }

    /// Unknowns this rank owns (the length of its local vectors).
    public var ownedCount: Int { decomposition.ownedCount }

    /// Throws `PDEError.shapeMismatch` unless `v` has `ownedCount` entries.
    public func checkLocal(_ v: [Double], _ what: String) throws {
        guard v.count == ownedCount else {
            throw PDEError.shapeMismatch(what: what, expected: "\(ownedCount) owned values on rank \(communicator.rank)", got: "\(v.count)")
        }
    }

    // MARK: - Halo exchange

    /// Fills `ghosts` with the neighbours' boundary layers of `x` (a local vector): for each split
    /// axis, the upper face goes up while the lower ghost arrives from below, then the reverse.
    public func exchangeHalo(_ x: [Double]) throws {
        try checkLocal(x, "halo exchange")
        try x.withUnsafeBufferPointer { try exchangeHalo($0.baseAddress!) }
    }

    /// `exchangeHalo` on `ownedCount` values at `x` (the kernels' form).
    public func exchangeHalo(_ x: UnsafePointer<Double>) throws {
        let dec = decomposition
        let dim = dec.dimension
        let nx = dec.counts[0]
        for d in 1..<dim {
            let faceSize = ghosts[2 * d].count
            let lowerNeighbor = dec.neighbor(axis: d, upper: false)
            let upperNeighbor = dec.neighbor(axis: d, upper: true)
            for upperFace in [true, false] {
                // Send this face to the neighbour on its side; receive the opposite ghost.
                let dest = upperFace ? upperNeighbor : lowerNeighbor
                let src = upperFace ? lowerNeighbor : upperNeighbor
                let ghostIndex = 2 * d + (upperFace ? 0 : 1)
                let layer = upperFace ? dec.counts[d] - 1 : 0
                if src == nil {
                    ghosts[ghostIndex].withUnsafeMutableBufferPointer { g in g.update(repeating: 0) }
                }
                if dest == nil && src == nil { continue }
                if sendBuffer.count < faceSize { sendBuffer = [Double](repeating: 0, count: faceSize) }
                // Pack: in 2-D and for z in 3-D the face is contiguous; y faces in 3-D are rows.
                sendBuffer.withUnsafeMutableBufferPointer { sb in
                    if dim == 2 || d == 2 {
                        sb.baseAddress!.update(from: x + layer * faceSize, count: faceSize)
                    } else {
                        let ny = dec.counts[1], nz = dec.counts[2]
                        for k in 0..<nz {
                            (sb.baseAddress! + k * nx).update(from: x + (k * ny + layer) * nx, count: nx)
                        }
                    }
                }
                try sendBuffer.withUnsafeBufferPointer { sb in
                    try ghosts[ghostIndex].withUnsafeMutableBufferPointer { g in
                        try communicator.exchange(send: UnsafeBufferPointer(rebasing: sb[0..<faceSize]), to: dest,
                                                  receive: g, from: src, tag: ghostIndex)
                    }
                }
            }
        }
    }

    // MARK: - Reductions

    /// Sums of `count` quantities given per local x-line: `partials[q · localLineCount + line]`.
    /// Returns the global sums (the same on every rank), formed as `reductions` says.
    public func sum(linePartials partials: [Double], count: Int) throws -> [Double] {
        try partials.withUnsafeBufferPointer { try startSum(linePartials: $0, count: count).wait() }
    }

    /// `sum(linePartials:count:)` on a buffer (the solvers' scratch, not copied).
    public func sum(linePartials partials: UnsafeBufferPointer<Double>, count: Int) throws -> [Double] {
        try startSum(linePartials: partials, count: count).wait()
    }

    /// The non-blocking form of `sum(linePartials:count:)`: the communication runs while the
    /// caller computes; `wait()` gives the sums.
    public func startSum(linePartials partials: [Double], count: Int) throws -> PendingSum {
        try partials.withUnsafeBufferPointer { try startSum(linePartials: $0, count: count) }
    }

    /// `startSum(linePartials:count:)` on a buffer (the solvers' scratch, not copied).
    public func startSum(linePartials partials: UnsafeBufferPointer<Double>, count: Int) throws -> PendingSum {
        let dec = decomposition
        let local = dec.localLineCount
        guard partials.count == count * local else {
            throw PDEError.shapeMismatch(what: "line partial sums", expected: "\(count) × \(local)", got: "\(partials.count)")
        }
        switch reductions {
        case .fast:
            var sums = [Double](repeating: 0, count: count)
            for q in 0..<count {
                var s = 0.0
                for l in 0..<local { s += partials[q * local + l] }
                sums[q] = s
            }
            return PendingSum(pending: try communicator.startAllreduce(sums), lines: 1, count: count)
        case .reproducible:
            let lines = dec.globalLineCount
            var placed = [Double](repeating: 0, count: count * lines)
            for q in 0..<count {
                for l in 0..<local { placed[q * lines + dec.globalLine(l)] = partials[q * local + l] }
            }
            return PendingSum(pending: try communicator.startAllreduce(placed), lines: lines, count: count)
        }
    }

    /// A global sum in flight.
    public final class PendingSum {
        let pending: PendingReduction
        let lines: Int
        let count: Int
        init(pending: PendingReduction, lines: Int, count: Int) {
            self.pending = pending
            self.lines = lines
            self.count = count
        }

        /// The sums, added in global line order.
        public func wait() throws -> [Double] {
            let v = try pending.wait()
            var out = [Double](repeating: 0, count: count)
            for q in 0..<count {
                var s = 0.0
                for l in 0..<lines { s += v[q * lines + l] }
                out[q] = s
            }
            return out
        }
    }

    /// Global dot products ⟨aᵢ, bᵢ⟩ of local vectors, one reduction for all pairs.
    public func dots(_ pairs: [([Double], [Double])]) throws -> [Double] {
        let dec = decomposition
        let nx = dec.counts[0], lines = dec.localLineCount
        var partials = [Double](repeating: 0, count: pairs.count * lines)
        for (q, (a, b)) in pairs.enumerated() {
            try checkLocal(a, "dot product")
            try checkLocal(b, "dot product")
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    partials.withUnsafeMutableBufferPointer { pp in
                        let base = q &* lines
                        let out = pp.baseAddress!
                        Parallel.forChunks(lines, minimumPerChunk: max(1, 16384 / nx)) { l0, l1 in
                            for l in l0..<l1 {
                                out[base &+ l] = DistributedGrid.lineDot(ap.baseAddress! + l &* nx, bp.baseAddress! + l &* nx, nx)
                            }
                        }
                    }
                }
            }
        }
        return try sum(linePartials: partials, count: pairs.count)
    }

    /// ‖v‖₂ of a distributed vector.
    public func norm(_ v: [Double]) throws -> Double { try dots([(v, v)])[0].squareRoot() }

    /// Σ a[i]·b[i] over one line with eight fixed accumulators (a fixed order, so every rank
    /// count gives the same bits).
    @inline(__always)
    static func lineDot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
        var i = 0
        while i &+ 8 <= n {
            s0 += a[i] * b[i]; s1 += a[i &+ 1] * b[i &+ 1]; s2 += a[i &+ 2] * b[i &+ 2]; s3 += a[i &+ 3] * b[i &+ 3]
            s4 += a[i &+ 4] * b[i &+ 4]; s5 += a[i &+ 5] * b[i &+ 5]; s6 += a[i &+ 6] * b[i &+ 6]; s7 += a[i &+ 7] * b[i &+ 7]
            i &+= 8
        }
        while i < n { s0 += a[i] * b[i]; i &+= 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    // MARK: - Scatter and gather

    /// This rank's part of a global vector (x fastest) that every rank holds.
    public func localPart(of global: [Double]) throws -> [Double] {
        let dec = decomposition
        guard global.count == dec.globalCount else {
            throw PDEError.shapeMismatch(what: "global vector", expected: "\(dec.globalCount) values", got: "\(global.count)")
        }
        let nx = dec.counts[0]
        var out = [Double](repeating: 0, count: dec.ownedCount)
        for l in 0..<dec.localLineCount {
            let g = dec.globalLine(l) * nx
            for i in 0..<nx { out[l * nx + i] = global[g + i] }
        }
        return out
    }

    /// The local part of the vector `f(global index)` (for right-hand sides and exact solutions).
    public func localVector(_ f: (Int) -> Double) -> [Double] {
        (0..<ownedCount).map { f(decomposition.globalIndex($0)) }
    }

    /// The whole vector on every rank (an allgather, then each rank's lines put in place).
    public func allgatherWhole(_ local: [Double]) throws -> [Double] {
        try checkLocal(local, "allgather")
        let all = try communicator.allgather(local)
        return try place(all)
    }

    /// Rank-ordered concatenated blocks → global x-fastest order.
    private func place(_ all: [Double]) throws -> [Double] {
        var out = [Double](repeating: 0, count: decomposition.globalCount)
        var offset = 0
        for r in 0..<communicator.size {
            let dec = try decomposition.block(ofRank: r)
            let nx = dec.counts[0]
            for l in 0..<dec.localLineCount {
                let g = dec.globalLine(l) * nx
                for i in 0..<nx { out[g + i] = all[offset + l * nx + i] }
            }
            offset += dec.ownedCount
        }
        return out
    }

    /// The whole vector assembled on `root` from every rank's local part (nil on other ranks).
    public func gather(_ local: [Double], root: Int = 0) throws -> [Double]? {
        try checkLocal(local, "gather")
        guard let all = try communicator.gather(local, root: root) else { return nil }
        return try place(all)
    }
}
