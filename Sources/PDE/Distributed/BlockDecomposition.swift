/// A block decomposition of a 2-D or 3-D box of grid unknowns over ranks: the x axis (the
/// fastest, contiguous one) is never split; y is split in 2-D (slabs), y and z in 3-D (pencils,
/// or slabs along z). Uneven splits give the first `n mod p` blocks one more layer.
///
/// Keeping x whole keeps every x-line on one rank, so halos are whole rows or planes, kernels
/// vectorize along x as in the serial code, and reductions can be summed per line in global
/// line order: the same bits for every decomposition (see `DistributedGrid.Reductions`).
public struct BlockDecomposition: Sendable, Equatable, CustomStringConvertible {
    /// How ranks are laid out over the split axes.
    public enum Layout: String, Sendable, CaseIterable {
        /// Split the slowest axis only (y in 2-D, z in 3-D).
        case slab
        /// Split y and z in 3-D with the most nearly square rank grid (slab in 2-D).
        case pencil
    }

    /// Unknowns per axis of the whole box (x first).
    public let globalCounts: [Int]
    /// Ranks per axis (`processes[0] == 1`), rank = c₁ + p₁·c₂.
    public let processes: [Int]
    /// Periodic axes wrap their neighbours around.
    public let periodic: [Bool]
    /// This rank.
    public let rank: Int
    /// This rank's block coordinates per axis.
    public let coordinates: [Int]
    /// First owned index per axis.
    public let lower: [Int]
    /// Owned unknowns per axis.
    public let counts: [Int]
    /// Per axis, where each block starts, and the axis length at the end (`processes[d] + 1`
    /// entries): the layout of every rank, so any rank's block can be derived.
    public let boundaries: [[Int]]

    /// The block of `rank` among `ranks` with the given layout. Throws for a dimension other
    /// than 2 or 3, empty axes, a rank outside 0..<ranks, or more ranks along an axis than it
    /// has layers (every rank must own at least one).
    public init(globalCounts: [Int], ranks: Int, rank: Int, layout: Layout = .slab, periodic: [Bool]? = nil) throws {
        let dim = globalCounts.count
        guard dim == 2 || dim == 3 else {
            throw PDEError.invalidValue(key: "decomposition dimension", value: "\(dim)", expected: "2 or 3 (x is never split, so a 1-D box has nothing to split)")
        }
        guard ranks >= 1 else { throw PDEError.invalidValue(key: "ranks", value: "\(ranks)", expected: "≥ 1") }
        var p = [Int](repeating: 1, count: dim)
        if dim == 2 || layout == .slab {
            p[dim - 1] = ranks
        } else {
            // Most nearly square py·pz = ranks, the larger factor on the longer axis.
            var best = (1, ranks)
            var f = 1
            while f * f <= ranks {
                if ranks % f == 0 { best = (f, ranks / f) }
                f += 1
            }
            if globalCounts[1] >= globalCounts[2] { p[1] = best.1; p[2] = best.0 } else { p[1] = best.0; p[2] = best.1 }
        }
        try self.init(globalCounts: globalCounts, processes: p, rank: rank, periodic: periodic)
    }

    /// The block of `rank` on an explicit rank grid `processes` (x entry 1). Throws as above.
    public init(globalCounts: [Int], processes: [Int], rank: Int, periodic: [Bool]? = nil) throws {
        try BlockDecomposition.validate(globalCounts: globalCounts, processes: processes)
        let b = globalCounts.indices.map { d in
            (0...processes[d]).map { c in c == processes[d] ? globalCounts[d] : BlockDecomposition.split(globalCounts[d], parts: processes[d], part: c).first }
        }
        try self.init(globalCounts: globalCounts, processes: processes, boundaries: b, rank: rank, periodic: periodic)
    }

    /// The block of `rank` when block c along axis d covers `boundaries[d][c]..<boundaries[d][c+1]`
    /// (non-decreasing from 0 to the axis length). Throws for an empty block or bad boundaries.
    public init(globalCounts: [Int], processes: [Int], boundaries: [[Int]], rank: Int, periodic: [Bool]? = nil) throws {
        try BlockDecomposition.validate(globalCounts: globalCounts, processes: processes)
        guard globalCounts.count == processes.count, boundaries.count == processes.count,
              boundaries.indices.allSatisfy({ boundaries[$0].count == processes[$0] + 1 && boundaries[$0].first == 0
                  && boundaries[$0].last == globalCounts[$0] }) else {
            throw PDEError.shapeMismatch(what: "block boundaries", expected: "per axis, one start per block from 0 and the axis length at the end",
                                         got: "\(boundaries) for counts \(globalCounts) and ranks \(processes)")
        }
        for d in boundaries.indices {
            for c in 0..<processes[d] where boundaries[d][c + 1] <= boundaries[d][c] {
                throw PDEError.invalidValue(key: "block \(c) along axis \(d)", value: "\(boundaries[d][c])..<\(boundaries[d][c + 1])",
                                            expected: "at least one layer (every rank must own one)")
            }
        }
        let dim = globalCounts.count
        let total = processes.reduce(1, *)
        guard rank >= 0, rank < total else {
            throw PDEError.invalidValue(key: "rank", value: "\(rank)", expected: "a rank in 0..<\(total)")
        }
        let per = periodic ?? [Bool](repeating: false, count: dim)
        guard per.count == dim else {
            throw PDEError.shapeMismatch(what: "periodic axes", expected: "\(dim) flags", got: "\(per.count)")
        }
        self.globalCounts = globalCounts
        self.processes = processes
        self.periodic = per
        self.boundaries = boundaries
        self.rank = rank
        var c = [Int](repeating: 0, count: dim)
        var r = rank
        for d in 1..<dim { c[d] = r % processes[d]; r /= processes[d] }
        coordinates = c
        lower = (0..<dim).map { boundaries[$0][c[$0]] }
        counts = (0..<dim).map { boundaries[$0][c[$0] + 1] - boundaries[$0][c[$0]] }
    }

    /// Throws unless there are 2 or 3 axes, x is not split, and every axis has between 1 and its
    /// layer count of ranks.
    static func validate(globalCounts: [Int], processes: [Int]) throws {
        let dim = globalCounts.count
        guard dim == 2 || dim == 3, processes.count == dim else {
            throw PDEError.shapeMismatch(what: "block decomposition", expected: "2 or 3 axes and one rank count per axis",
                                         got: "counts \(globalCounts), ranks per axis \(processes)")
        }
        guard processes[0] == 1 else {
            throw PDEError.invalidValue(key: "ranks along x", value: "\(processes[0])", expected: "1 (the x axis is never split)")
        }
        for d in 0..<dim {
            guard globalCounts[d] >= 1 else {
                throw PDEError.invalidValue(key: "unknowns along axis \(d)", value: "\(globalCounts[d])", expected: "≥ 1")
            }
            guard processes[d] >= 1, processes[d] <= globalCounts[d] else {
                throw PDEError.invalidValue(key: "ranks along axis \(d)", value: "\(processes[d])",
                                            expected: "between 1 and the \(globalCounts[d]) layers of that axis (every rank must own one)")
            }
        }
    }

    /// The block of another rank of the same layout.
    public func block(ofRank r: Int) throws -> BlockDecomposition {
        try BlockDecomposition(globalCounts: globalCounts, processes: processes, boundaries: boundaries, rank: r, periodic: periodic)
    }

    /// First index and length of part `part` of `n` layers split into `parts` (the first n mod
    /// parts parts one longer).
    public static func split(_ n: Int, parts: Int, part: Int) -> (first: Int, count: Int) {
        let base = n / parts, extra = n % parts
        return (part * base + min(part, extra), base + (part < extra ? 1 : 0))
    }

    /// Number of ranks.
    public var rankCount: Int { processes.reduce(1, *) }
    /// 2 or 3.
    public var dimension: Int { globalCounts.count }
    /// Unknowns owned by this rank.
    public var ownedCount: Int { counts.reduce(1, *) }
    /// Unknowns in the whole box.
    public var globalCount: Int { globalCounts.reduce(1, *) }
    /// Number of x-lines in the whole box.
    public var globalLineCount: Int { globalCount / globalCounts[0] }
    /// Number of x-lines this rank owns.
    public var localLineCount: Int { ownedCount / counts[0] }

    /// The rank owning block coordinates `c`.
    public func rank(at c: [Int]) -> Int {
        var r = 0, m = 1
        for d in 1..<dimension { r += c[d] * m; m *= processes[d] }
        return r
    }

    /// The neighbour across the lower (`upper == false`) or upper face of `axis`, nil at a
    /// non-periodic boundary of the box and along x.
    public func neighbor(axis d: Int, upper: Bool) -> Int? {
        guard d >= 1 else { return nil }
        var c = coordinates
        c[d] += upper ? 1 : -1
        if c[d] < 0 || c[d] >= processes[d] {
            guard periodic[d] else { return nil }
            c[d] = (c[d] + processes[d]) % processes[d]
        }
        return rank(at: c)
    }

    /// Global index of the x-line with local line index `line` (local lines ordered y, then z).
    @inline(__always)
    public func globalLine(_ line: Int) -> Int {
        if dimension == 2 { return lower[1] &+ line }
        let j = line % counts[1], k = line / counts[1]
        return (lower[1] &+ j) &+ globalCounts[1] &* (lower[2] &+ k)
    }

    /// Global linear index (x fastest) of local unknown `u`.
    public func globalIndex(_ u: Int) -> Int {
        let nx = counts[0]
        return globalLine(u / nx) &* nx &+ u % nx
    }

    public var description: String {
        "rank \(rank) of \(rankCount) (grid \(processes.dropFirst().map(String.init).joined(separator: "×"))): owns \(counts.map(String.init).joined(separator: "×")) from \(lower) of \(globalCounts.map(String.init).joined(separator: "×"))"
    }
}
