import Support

/// A linear operator on the local parts of a `DistributedGrid`'s vectors: `apply` exchanges the
/// halo it needs (so every rank must call it together) and may fuse the per-line partial sums
/// of xᵀ(Ax) that CG reduces next.
public protocol DistributedLinearOperator: AnyObject {
    /// The distribution of the unknowns.
    var grid: DistributedGrid { get }
    /// y ← A x on this rank's `grid.ownedCount` unknowns; when `linePartials` is given, entry l
    /// receives Σ over local x-line l of x·y (for `DistributedGrid.sum(linePartials:count:)`).
    func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, linePartials: UnsafeMutablePointer<Double>?) throws
    /// This rank's part of the diagonal, when known (Jacobi).
    func localDiagonal() -> [Double]?
}

extension DistributedLinearOperator {
    /// y ← A x for local vectors (array form). Throws `PDEError.shapeMismatch` for wrong lengths.
    public func apply(_ x: [Double], into y: inout [Double]) throws {
        try grid.checkLocal(x, "operator input")
        try grid.checkLocal(y, "operator output")
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try apply(xp.baseAddress!, into: yp.baseAddress!, linePartials: nil)
            }
        }
    }
}

/// The Dirichlet Laplacian −Δ on the interior nodes of a uniform grid, matrix-free and
/// distributed: (2D+1)-point stencil scaled by 1/h² per axis, the same operator as
/// `FiniteDifference.laplacian(grid:)` (unknowns = nodes minus the boundary layer, x fastest).
/// Periodic axes of the decomposition wrap instead (then the box's counts are the unknowns).
public final class DistributedLaplacian: DistributedLinearOperator {
    public let grid: DistributedGrid
    /// h per axis, as given.
    public let spacing: [Double]
    /// 1/h² per axis.
    public let coefficients: [Double]
    /// Σ 2/h².
    public let diagonalValue: Double
    private let zeroLine: [Double]

    /// −Δ on the interior unknowns of `nodes` (≥ 3 nodes per axis, 2-D or 3-D), distributed over
    /// `communicator`. Throws for a 1-D grid, too few nodes, or more ranks than layers.
    public convenience init(nodes: Grid, communicator: Communicator, layout: BlockDecomposition.Layout = .slab,
                            reductions: DistributedGrid.Reductions = .reproducible) throws {
        guard nodes.dimension == 2 || nodes.dimension == 3 else {
            throw PDEError.invalidValue(key: "grid dimension", value: "\(nodes.dimension)", expected: "2 or 3 for the distributed Laplacian")
        }
        guard nodes.counts.allSatisfy({ $0 >= 3 }) else {
            throw PDEError.invalidValue(key: "grid nodes", value: "\(nodes.counts)", expected: "≥ 3 nodes per axis (at least one interior unknown)")
        }
        let g = try DistributedGrid(globalCounts: nodes.counts.map { $0 - 2 }, communicator: communicator, layout: layout,
                                    reductions: reductions)
        try self.init(grid: g, spacing: nodes.spacing)
    }

    /// −Δ with spacings `spacing` on the unknowns of `grid`. Throws for non-positive spacings.
    public init(grid: DistributedGrid, spacing: [Double]) throws {
        guard spacing.count == grid.decomposition.dimension, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw PDEError.invalidValue(key: "spacing", value: "\(spacing)", expected: "one positive finite spacing per axis")
        }
        self.grid = grid
        self.spacing = spacing
        coefficients = spacing.map { 1 / ($0 * $0) }
        diagonalValue = coefficients.reduce(0) { $0 + 2 * $1 }
        zeroLine = [Double](repeating: 0, count: grid.decomposition.counts[0])
    }

    /// The constant diagonal Σ 2/h², once per owned unknown.
    public func localDiagonal() -> [Double]? { [Double](repeating: diagonalValue, count: grid.ownedCount) }

    /// y ← −Δx: exchanges the halo, then applies the stencil line by line (threaded), fusing
    /// the per-line xᵀy when `linePartials` is given.
    public func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, linePartials: UnsafeMutablePointer<Double>?) throws {
        try grid.exchangeHalo(x)
        let dec = grid.decomposition
        let dim = dec.dimension
        let nx = dec.counts[0], ny = dec.counts[1], nz = dim == 3 ? dec.counts[2] : 1
        let lines = dec.localLineCount
        let cx = coefficients[0], cy = coefficients[1], cz = dim == 3 ? coefficients[2] : 0
        let dv = diagonalValue
        let periodicX = dec.periodic[0]
        let g = grid.ghosts
        g[2].withUnsafeBufferPointer { gym in
        g[3].withUnsafeBufferPointer { gyp in
        (dim == 3 ? g[4] : zeroLine).withUnsafeBufferPointer { gzm in
        (dim == 3 ? g[5] : zeroLine).withUnsafeBufferPointer { gzp in
        zeroLine.withUnsafeBufferPointer { zl in
            Parallel.forChunks(lines, minimumPerChunk: max(1, 16384 / nx)) { l0, l1 in
                for l in l0..<l1 {
                    let j = l % ny, k = l / ny
                    let xl = x + l &* nx
                    let yl = y + l &* nx
                    let ym = j > 0 ? xl - nx : gym.baseAddress! + k &* nx
                    let yp = j < ny &- 1 ? xl + nx : gyp.baseAddress! + k &* nx
                    let zm: UnsafePointer<Double>, zp: UnsafePointer<Double>
                    if dim == 3 {
                        zm = k > 0 ? xl - nx &* ny : gzm.baseAddress! + j &* nx
                        zp = k < nz &- 1 ? xl + nx &* ny : gzp.baseAddress! + j &* nx
                    } else {
                        zm = zl.baseAddress!; zp = zl.baseAddress!
                    }
                    // Interior of the line; the ends see the Dirichlet zero (or the wrap).
                    var i = 1
                    while i < nx &- 1 {
                        yl[i] = dv * xl[i] - cx * (xl[i &- 1] + xl[i &+ 1]) - cy * (ym[i] + yp[i]) - cz * (zm[i] + zp[i])
                        i &+= 1
                    }
                    let left = periodicX ? xl[nx &- 1] : 0
                    let right = periodicX ? xl[0] : 0
                    if nx == 1 {
                        yl[0] = dv * xl[0] - cx * (left + right) - cy * (ym[0] + yp[0]) - cz * (zm[0] + zp[0])
                    } else {
                        yl[0] = dv * xl[0] - cx * (left + xl[1]) - cy * (ym[0] + yp[0]) - cz * (zm[0] + zp[0])
                        let e = nx &- 1
                        yl[e] = dv * xl[e] - cx * (xl[e &- 1] + right) - cy * (ym[e] + yp[e]) - cz * (zm[e] + zp[e])
                    }
                    if let lp = linePartials { lp[l] = DistributedGrid.lineDot(xl, yl, nx) }
                }
            }
        }}}}}
    }
}
