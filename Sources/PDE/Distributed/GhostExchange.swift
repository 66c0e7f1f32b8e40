/// Fetching the entries of a vector distributed by contiguous blocks (row `boundaries`, as a
/// `BlockDecomposition` of a [1, N] box gives them) that this rank needs but does not own: the
/// ranks agree once on who sends what (one allgather of the request lists), then every fetch is
/// P − 1 shifted pairwise exchanges (MPI_Sendrecv), skipping the pairs with nothing to trade.
/// `DistributedCSRMatrix` fetches its off-diagonal columns with it before every product;
/// `DistributedP1System` the free vertices of its triangles owned elsewhere.
public struct GhostExchange {
    /// The global indices fetched, ascending (none owned by this rank).
    public let indices: [Int]
    public let communicator: Communicator
    /// Per rank: the local indices of this rank's values that rank needs.
    let sendIndices: [[Int]]
    /// Per rank: where that rank's values go in `indices` order.
    let receiveRanges: [Range<Int>]

    /// The exchange of the entries `needed` (global indices, any order, repeats allowed; the
    /// owned ones are dropped) of a vector whose rank-r block is `boundaries[r]..<boundaries[r + 1]`.
    /// Collective. Throws for boundaries that are not one block per rank or an index outside them.
    public init(needing needed: [Int], boundaries: [Int], communicator: Communicator) throws {
        let p = communicator.size, me = communicator.rank
        guard boundaries.count == p + 1, boundaries.first == 0, zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw PDEError.invalidValue(key: "ghost exchange boundaries", value: "\(boundaries.count) entries",
                                        expected: "\(p + 1) non-decreasing block boundaries starting at 0 (one block per rank)")
        }
        let n = boundaries[p], r0 = boundaries[me], r1 = boundaries[me + 1]
        if let bad = needed.first(where: { $0 < 0 || $0 >= n }) {
            throw PDEError.invalidValue(key: "ghost index", value: "\(bad)", expected: "0..<\(n)")
        }
        func owner(_ c: Int) -> Int {
            var lo = 0, hi = p - 1
            while lo < hi { let mid = (lo + hi + 1) / 2; if boundaries[mid] <= c { lo = mid } else { hi = mid - 1 } }
            return lo
        }
        indices = Array(Set(needed.filter { $0 < r0 || $0 >= r1 })).sorted()
        self.communicator = communicator
        // Ascending indices are grouped by owner already.
        var ranges = [Range<Int>](repeating: 0..<0, count: p)
        var k = 0
        while k < indices.count {
            let o = owner(indices[k])
            var e = k
            while e < indices.count && owner(indices[e]) == o { e += 1 }
            ranges[o] = k..<e
            k = e
        }
        receiveRanges = ranges
        // Tell every owner which of its entries this rank needs: all lists gathered on all ranks.
        var request = ranges.map { Double($0.count) }
        request += indices.map(Double.init)
        let all = try communicator.allgather(request)
        var sends = [[Int]](repeating: [], count: p)
        var pos = 0
        for q in 0..<p {
            let counts = (0..<p).map { Int(all[pos + $0]) }
            let total = counts.reduce(0, +)
            if q != me {
                let start = pos + p + counts[..<me].reduce(0, +)
                sends[q] = all[start..<(start + counts[me])].map { Int($0) - r0 }
            }
            pos += p + total
        }
        sendIndices = sends
    }

    /// The needed entries of the distributed vector whose local block is `x`, in `indices`
    /// order, into `ghosts` (`indices.count` values). Collective.
    public func fetch(_ x: UnsafePointer<Double>, into ghosts: UnsafeMutableBufferPointer<Double>) throws {
        let p = communicator.size, me = communicator.rank
        for shift in 1..<max(1, p) {
            let to = (me + shift) % p, from = (me - shift + p) % p
            let send = sendIndices[to].map { x[$0] }
            let range = receiveRanges[from]
            try send.withUnsafeBufferPointer { s in
                try communicator.exchange(send: s, to: send.isEmpty ? nil : to,
                                          receive: UnsafeMutableBufferPointer(rebasing: ghosts[range]), from: range.isEmpty ? nil : from, tag: 40)
            }
        }
    }

    /// The needed entries of the distributed vector whose local block is `x`, in `indices`
    /// order. Collective.
    public func fetch(_ x: [Double]) throws -> [Double] {
        var ghosts = [Double](repeating: 0, count: indices.count)
        let source = x.isEmpty ? [0] : x  // a rank owning nothing sends nothing, but needs a pointer
        try source.withUnsafeBufferPointer { xp in
            try ghosts.withUnsafeMutableBufferPointer { try fetch(xp.baseAddress!, into: $0) }
        }
        return ghosts
    }
}
