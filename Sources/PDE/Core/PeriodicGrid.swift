/// A uniform periodic grid (the torus) in 1, 2 or 3 dimensions: `counts[d]` points per
/// axis with the end point excluded (it is the first point's periodic image), spacing
/// `length / count`, points `lower + i·h`. Values are stored x fastest, numpy shape
/// `[nz, ny, nx]` — the layout of spectral solvers and of the FNO data.
///
/// `closedGrid` and `closing(_:)` give the vertex-centred `Grid`/`GridField` with the end
/// points appended, for VTK/PNG output and for comparisons with the finite-volume solvers.
public struct PeriodicGrid: Sendable, Equatable, CustomStringConvertible {
    /// Points per axis, end point excluded (x first).
    public let counts: [Int]
    /// Coordinate of the first point per axis.
    public let lower: [Double]
    /// Period per axis.
    public let lengths: [Double]

    /// Throws `PDEError.invalidValue` for other than 1–3 axes, fewer than 2 points on an axis,
    /// non-positive or non-finite lengths, or more than 2³¹ points.
    public init(counts: [Int], lengths: [Double], lower: [Double]? = nil) throws {
        guard (1...3).contains(counts.count), lengths.count == counts.count, (lower?.count ?? counts.count) == counts.count else {
            throw PDEError.invalidValue(key: "periodic grid", value: "counts \(counts), lengths \(lengths)",
                                        expected: "1 to 3 axes with one length (and lower bound) each")
        }
        for (d, n) in counts.enumerated() where n < 2 {
            throw PDEError.invalidValue(key: "periodic grid counts[\(d)]", value: "\(n)", expected: "at least 2 points")
        }
        for (d, l) in lengths.enumerated() where !(l > 0) || !l.isFinite {
            throw PDEError.invalidValue(key: "periodic grid lengths[\(d)]", value: "\(l)", expected: "a positive finite period")
        }
        let total = counts.reduce(1) { p, c in p.multipliedReportingOverflow(by: c).overflow ? Int.max : p * c }
        guard total <= Int(Int32.max) else {
            throw PDEError.invalidValue(key: "periodic grid counts", value: "\(counts)", expected: "at most \(Int32.max) points")
        }
        self.counts = counts
        self.lengths = lengths
        self.lower = lower ?? Array(repeating: 0, count: counts.count)
    }

    /// The unit torus [0, 1)^d with n points per axis.
    public static func unit(dimension: Int, pointsPerAxis n: Int) throws -> PeriodicGrid {
        try PeriodicGrid(counts: Array(repeating: n, count: dimension), lengths: Array(repeating: 1, count: dimension))
    }

    /// Number of axes.
    public var dimension: Int { counts.count }
    /// Π counts.
    public var pointCount: Int { counts.reduce(1, *) }
    /// Point distance per axis, length / count.
    public var spacing: [Double] { zip(lengths, counts).map { $0 / Double($1) } }
    /// numpy shape of the values (C order, x last).
    public var numpyShape: [Int] { counts.reversed() }

    /// Coordinate of point i on axis d.
    public func coordinate(axis d: Int, _ i: Int) -> Double { lower[d] + Double(i) * lengths[d] / Double(counts[d]) }

    /// f at every point, x fastest.
    public func sample(_ f: ([Double]) -> Double) -> [Double] {
        var out = [Double](repeating: 0, count: pointCount)
        var x = [Double](repeating: 0, count: dimension)
        for l in 0..<pointCount {
            var r = l
            for d in 0..<dimension { x[d] = coordinate(axis: d, r % counts[d]); r /= counts[d] }
            out[l] = f(x)
        }
        return out
    }

    /// Angular wavenumbers 2π·k/L of axis d in FFT order (0, 1, …, n/2, −(n−1)/2, …, −1;
    /// the Nyquist mode of an even n is +n/2).
    public func wavenumbers(axis d: Int) -> [Double] {
        let n = counts[d], s = 2 * Double.pi / lengths[d]
        return (0..<n).map { k in s * Double(k <= n / 2 ? k : k - n) }
    }

    /// The half-spectrum (r2c) layout of the values: C-order shape `[…, n_y, n_x/2 + 1]`.
    public var halfSpectrumShape: [Int] { Array(counts.dropFirst().reversed()) + [counts[0] / 2 + 1] }

    /// Per half-spectrum entry (C order, x fastest) the angular wavenumber vector's
    /// components (x first): what spectral derivatives and solvers multiply by.
    public func halfSpectrumWavenumbers() -> [[Double]] {
        let kx = Array(wavenumbers(axis: 0).prefix(counts[0] / 2 + 1))
        let others = (1..<dimension).map { wavenumbers(axis: $0) }
        let m = kx.count
        let total = halfSpectrumShape.reduce(1, *)
        var out = [[Double]](repeating: [Double](repeating: 0, count: total), count: dimension)
        for l in 0..<total {
            var r = l
            out[0][l] = kx[r % m]; r /= m
            for d in 1..<dimension { out[d][l] = others[d - 1][r % counts[d]]; r /= counts[d] }
        }
        return out
    }

    /// The vertex-centred grid with the end points included (counts + 1 nodes per axis).
    public var closedGrid: Grid {
        // Valid by construction: ≥ 3 nodes per axis, finite bounds.
        try! Grid(counts: counts.map { $0 + 1 }, lower: lower, upper: zip(lower, lengths).map { $0 + $1 })
    }

    /// The field on `closedGrid` whose end-point values are the periodic images of the first
    /// points. Throws `PDEError.shapeMismatch` unless `values` has `pointCount` entries.
    public func closing(_ values: [Double]) throws -> GridField {
        guard values.count == pointCount else {
            throw PDEError.shapeMismatch(what: "periodic field", expected: "\(pointCount) values", got: "\(values.count)")
        }
        let g = closedGrid
        var out = [Double](repeating: 0, count: g.nodeCount)
        var idx = [Int](repeating: 0, count: dimension)
        for l in 0..<g.nodeCount {
            var r = l, src = 0, stride = 1
            for d in 0..<dimension {
                idx[d] = r % g.counts[d]; r /= g.counts[d]
                src += (idx[d] % counts[d]) * stride
                stride *= counts[d]
            }
            out[l] = values[src]
        }
        return try GridField(grid: g, values: out)
    }

    public var description: String {
        "periodic grid " + counts.map(String.init).joined(separator: "×") + " points on a torus of periods " + lengths.map { "\($0)" }.joined(separator: "×")
    }
}
