/// Values at the nodes of a grid (or, through `MeshField`, the vertices of a mesh), with
/// the discrete norms used to measure errors.
///
/// Norms on grids use the trapezoidal rule, i.e. every node carries the volume of its
/// cell of the dual grid (half a cell on faces, a quarter at 2-D corners, …):
/// - `l2Norm`:  (Σ wᵢ uᵢ²)^½, the discrete L²(Ω) norm;
/// - `maxNorm`: max |uᵢ|;
/// - `h1Seminorm`: (Σ over grid edges of (Δu/h)² · h · w⊥)^½, the L² norm of the gradient of
///   the piecewise-linear interpolant along each axis.
public struct GridField: Sendable, Equatable {
    public let grid: Grid
    /// One value per grid node, in linear order (x fastest).
    public var values: [Double]

    /// Wraps nodal values given in grid linear order (x fastest); throws
    /// `PDEError.shapeMismatch` unless there is exactly one value per node.
    public init(grid: Grid, values: [Double]) throws {
        guard values.count == grid.nodeCount else {
            throw PDEError.shapeMismatch(what: "grid field", expected: "\(grid.nodeCount) values (\(grid.counts.map(String.init).joined(separator: "×")))",
                                         got: "\(values.count)")
        }
        self.grid = grid
        self.values = values
    }

    /// Samples `f` at every node.
    public init(grid: Grid, sampling f: ([Double]) -> Double) {
        self.grid = grid
        values = grid.sample(f)
    }

    /// Trapezoidal weight of each node (the node's share of the domain volume).
    public static func trapezoidWeights(_ grid: Grid) -> [Double] {
        var perAxis: [[Double]] = []
        for d in 0..<grid.dimension {
            var w = [Double](repeating: grid.spacing[d], count: grid.counts[d])
            w[0] *= 0.5
            w[w.count - 1] *= 0.5
            perAxis.append(w)
        }
        var w = [Double](repeating: 1, count: grid.nodeCount)
        for l in 0..<grid.nodeCount {
            let idx = grid.multiIndex(l)
            var v = 1.0
            for d in 0..<grid.dimension { v *= perAxis[d][idx[d]] }
            w[l] = v
        }
        return w
    }

    /// (Σ wᵢ uᵢ²)^½ with the trapezoidal weights of `trapezoidWeights` (the discrete L²(Ω)
    /// norm); recomputes the weights, allocating, on every call.
    public func l2Norm() -> Double {
        let w = GridField.trapezoidWeights(grid)
        var s = 0.0
        for i in 0..<values.count { s += w[i] * values[i] * values[i] }
        return s.squareRoot()
    }

    /// max |uᵢ| over all nodes, boundary nodes included. NaN entries are skipped (Swift's `max`),
    /// not propagated: check `isFinite` separately.
    public func maxNorm() -> Double { Vectors.maxAbs(values) }

    /// (Σ over grid edges of ((u_j − u_i)/h_d)² · h_d · w⊥)^½: forward differences along each
    /// axis d, w⊥ the trapezoid weight of the edge across the other axes (halved on faces).
    public func h1Seminorm() -> Double {
        let strides = grid.strides
        var total = 0.0
        for d in 0..<grid.dimension {
            // Weight of an edge along axis d: h_d times the trapezoid weights of the other axes.
            for l in 0..<grid.nodeCount {
                let idx = grid.multiIndex(l)
                if idx[d] == grid.counts[d] - 1 { continue }
                var w = grid.spacing[d]
                for e in 0..<grid.dimension where e != d {
                    let onFace = idx[e] == 0 || idx[e] == grid.counts[e] - 1
                    w *= onFace ? 0.5 * grid.spacing[e] : grid.spacing[e]
                }
                let g = (values[l + strides[d]] - values[l]) / grid.spacing[d]
                total += w * g * g
            }
        }
        return total.squareRoot()
    }

    /// The field minus `other` (same grid).
    public func subtracting(_ other: GridField) throws -> GridField {
        guard other.grid == grid else {
            throw PDEError.shapeMismatch(what: "field difference", expected: "fields on the same grid", got: "\(grid) and \(other.grid)")
        }
        return try GridField(grid: grid, values: zip(values, other.values).map { $0 - $1 })
    }

    /// Errors against an exact solution sampled at the nodes (trapezoidal L², max, and the
    /// H¹ seminorm of the nodal difference by forward differences).
    public func errors(against exact: ([Double]) -> Double) -> FieldErrors {
        let e = GridField(grid: grid, values: zip(values, grid.sample(exact)).map { $0 - $1 }, unchecked: ())
        return FieldErrors(l2: e.l2Norm(), max: e.maxNorm(), h1: e.h1Seminorm())
    }

    /// Adds the constant that makes the trapezoidal mean equal to `exact`'s: compares a
    /// solution of a singular (pure Neumann / periodic) problem with the exact one, up to
    /// the null space.
    public mutating func alignMean(with exact: ([Double]) -> Double) {
        let w = GridField.trapezoidWeights(grid), e = grid.sample(exact)
        var s = 0.0, v = 0.0
        for i in 0..<w.count { s += w[i] * (e[i] - values[i]); v += w[i] }
        for i in 0..<w.count { values[i] += s / v }
    }

    init(grid: Grid, values: [Double], unchecked: Void) {
        self.grid = grid
        self.values = values
    }

    /// numpy shape of the values in C order: `[nz, ny, nx]` (x fastest).
    public var numpyShape: [Int] { grid.counts.reversed() }
}

/// Discretization errors against an exact solution, in one order for grids and meshes.
public struct FieldErrors: Sendable, Equatable {
    /// ‖u_h − u‖ in L².
    public var l2: Double
    /// Largest nodal error.
    public var max: Double
    /// |u_h − u| in the H¹ seminorm.
    public var h1: Double

    /// Error values as computed by `GridField.errors` / `MeshField.errors` (norms of u_h − u);
    /// not checked.
    public init(l2: Double, max: Double, h1: Double) {
        self.l2 = l2
        self.max = max
        self.h1 = h1
    }
}
