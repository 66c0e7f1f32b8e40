/// A uniform, vertex-centred rectangular grid in 1, 2 or 3 dimensions.
///
/// `counts[d]` nodes along axis d, including both boundary nodes, from `lower[d]` to
/// `upper[d]`; spacing `(upper − lower) / (counts − 1)`. Linear indices run with x fastest
/// (`i + nx·(j + ny·k)`), the ordering of numpy's C order for arrays shaped `[nz, ny, nx]`
/// and of the peer scripts' matrices.
public struct Grid: Sendable, Equatable, CustomStringConvertible {
    /// Nodes per axis, both boundary nodes included (≥ 2 each).
    public let counts: [Int]
    public let lower: [Double]
    public let upper: [Double]
    /// Node distance per axis, (upper − lower) / (counts − 1).
    public let spacing: [Double]

    public var dimension: Int { counts.count }
    /// Π counts, boundary nodes included (at most Int32.max).
    public var nodeCount: Int { counts.reduce(1, *) }

    /// `counts[d]` nodes spanning [lower[d], upper[d]] per axis. Throws `PDEError.invalidValue`
    /// for other than 1–3 axes, fewer than 2 nodes on an axis, bounds not finite with lower < upper,
    /// or more than Int32.max nodes; `.shapeMismatch` when the bounds' lengths differ from `counts`.
    public init(counts: [Int], lower: [Double], upper: [Double]) throws {
        guard (1...3).contains(counts.count) else {
            throw PDEError.invalidValue(key: "grid.counts", value: "\(counts)", expected: "1, 2 or 3 axes")
        }
        guard lower.count == counts.count, upper.count == counts.count else {
            throw PDEError.shapeMismatch(what: "grid bounds", expected: "\(counts.count) lower and upper values",
                                         got: "\(lower.count) lower, \(upper.count) upper")
        }
        for (d, n) in counts.enumerated() where n < 2 {
            throw PDEError.invalidValue(key: "grid.counts[\(d)]", value: "\(n)", expected: "at least 2 nodes per axis")
        }
        for d in 0..<counts.count where !(upper[d] > lower[d]) || !lower[d].isFinite || !upper[d].isFinite {
            throw PDEError.invalidValue(key: "grid.bounds[\(d)]", value: "[\(lower[d]), \(upper[d])]",
                                        expected: "finite lower < upper")
        }
        // Saturating product: a wrapped product must not pass the limit.
        let total = counts.reduce(1) { p, c in
            let (v, overflow) = p.multipliedReportingOverflow(by: c)
            return overflow ? Int.max : v
        }
        guard total <= Int(Int32.max) else {
            throw PDEError.invalidValue(key: "grid.counts", value: "\(counts)", expected: "at most \(Int32.max) nodes")
        }
        self.counts = counts
        self.lower = lower
        self.upper = upper
        self.spacing = (0..<counts.count).map { (upper[$0] - lower[$0]) / Double(counts[$0] - 1) }
    }

    /// The unit square/cube [0,1]^d with `n` nodes per axis.
    public static func unit(dimension: Int, nodesPerAxis n: Int) throws -> Grid {
        try Grid(counts: Array(repeating: n, count: dimension),
                 lower: Array(repeating: 0, count: dimension), upper: Array(repeating: 1, count: dimension))
    }

    /// Strides of the linear index per axis: `[1, nx, nx·ny]`.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: dimension)
        for d in 1..<max(1, dimension) { s[d] = s[d - 1] * counts[d - 1] }
        return s
    }

    /// Linear index of a multi-index (x fastest).
    @inline(__always)
    public func linearIndex(_ index: [Int]) -> Int {
        var l = 0
        var stride = 1
        for d in 0..<dimension {
            l += index[d] * stride
            stride *= counts[d]
        }
        return l
    }

    /// Multi-index of a linear index.
    @inline(__always)
    public func multiIndex(_ linear: Int) -> [Int] {
        var r = linear
        var out = [Int](repeating: 0, count: dimension)
        for d in 0..<dimension {
            out[d] = r % counts[d]
            r /= counts[d]
        }
        return out
    }

    /// Coordinate of node `i` along axis `d`.
    @inline(__always)
    public func coordinate(axis d: Int, _ i: Int) -> Double {
        i == counts[d] - 1 ? upper[d] : lower[d] + Double(i) * spacing[d]
    }

    /// Position of the node with this multi-index.
    public func position(_ index: [Int]) -> [Double] {
        (0..<dimension).map { coordinate(axis: $0, index[$0]) }
    }

    /// Position of the node with this linear index.
    public func position(linear: Int) -> [Double] { position(multiIndex(linear)) }

    /// All node positions in linear order (useful to sample analytic functions).
    public func positions() -> [[Double]] { (0..<nodeCount).map { position(linear: $0) } }

    /// Samples `f` at every node, in linear order.
    public func sample(_ f: ([Double]) -> Double) -> [Double] {
        var out = [Double](repeating: 0, count: nodeCount)
        var idx = [Int](repeating: 0, count: dimension)
        var x = lower
        for l in 0..<nodeCount {
            for d in 0..<dimension { x[d] = coordinate(axis: d, idx[d]) }
            out[l] = f(x)
            // increment the multi-index, x fastest
            var d = 0
            while d < dimension {
                idx[d] += 1
                if idx[d] < counts[d] { break }
                idx[d] = 0
                d += 1
            }
        }
        return out
    }

    /// True when node `index` lies on the boundary face `face`.
    public func isOn(_ face: Face, _ index: [Int]) -> Bool {
        face.isLower ? index[face.axis] == 0 : index[face.axis] == counts[face.axis] - 1
    }

    /// Volume of a full cell, the product of the spacings.
    public var cellVolume: Double { spacing.reduce(1, *) }

    public var description: String {
        let dims = counts.map(String.init).joined(separator: "×")
        let box = (0..<dimension).map { "[\(lower[$0]), \(upper[$0])]" }.joined(separator: "×")
        return "Grid \(dims) on \(box)"
    }
}

/// A face of a rectangular domain.
public enum Face: Int, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    case xLow = 0, xHigh, yLow, yHigh, zLow, zHigh

    /// 0, 1 or 2 for the x, y or z faces.
    public var axis: Int { rawValue / 2 }
    /// True for `xLow`, `yLow`, `zLow` (the faces at `lower[axis]`).
    public var isLower: Bool { rawValue % 2 == 0 }
    /// Outward normal sign along `axis`.
    public var normalSign: Double { isLower ? -1 : 1 }

    /// The 2·dimension faces of a 1-, 2- or 3-D box, lower before upper per axis (xLow, xHigh, yLow, …).
    public static func faces(dimension: Int) -> [Face] { Array(allCases.prefix(2 * dimension)) }

    /// Config names: `xmin, xmax, ymin, ymax, zmin, zmax`.
    public var name: String { ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"][rawValue] }
    /// The face of a config name (`xmin` … `zmax`, case-sensitive); nil for any other text.
    public init?(name: String) {
        guard let i = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"].firstIndex(of: name) else { return nil }
        self.init(rawValue: i)
    }
    public var description: String { name }
}
