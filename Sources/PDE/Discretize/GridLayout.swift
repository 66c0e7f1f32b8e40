/// Which grid nodes are unknowns of a finite-difference system, and how they are numbered.
///
/// A node is eliminated when it lies on a Dirichlet face, or on the upper face of a
/// periodic axis (it is the image of the lower-face node). Either way the unknowns form a
/// box: along axis d they are the node indices `first[d] ..< first[d] + counts[d]`, so
/// unknowns are numbered x-fastest over that box and neighbours are found by stride
/// arithmetic (with wrap-around on periodic axes). This is what makes the stencil
/// operator and the geometric multigrid hierarchy index-free.
public struct GridUnknownLayout: Sendable, Equatable {
    public let grid: Grid
    /// First unknown node index per axis (1 after a Dirichlet lower face, else 0).
    public let first: [Int]
    /// Unknowns per axis.
    public let counts: [Int]
    /// Periodic axes.
    public let periodic: [Bool]
    /// Whether the lower / upper face of each axis is Dirichlet.
    public let dirichletLower: [Bool]
    /// Whether the upper face of each axis is Dirichlet.
    public let dirichletUpper: [Bool]

    /// The unknown box of `grid` under the kinds of `boundary` (its values are not used). Throws
    /// `PDEError.shapeMismatch` for another dimension, `boundary.validate()`'s errors, and
    /// `.invalidValue` when an axis keeps no unknowns or a periodic axis has fewer than 3 nodes.
    public init(grid: Grid, boundary: BoundaryConditions) throws {
        guard boundary.dimension == grid.dimension else {
            throw PDEError.shapeMismatch(what: "boundary conditions", expected: "\(grid.dimension)-D (as the grid)",
                                         got: "\(boundary.dimension)-D")
        }
        try boundary.validate()
        var first = [Int](), counts = [Int](), periodic = [Bool](), dl = [Bool](), du = [Bool]()
        for d in 0..<grid.dimension {
            let lo = Face(rawValue: 2 * d)!, hi = Face(rawValue: 2 * d + 1)!
            let p = boundary.isPeriodic(axis: d)
            let dLo: Bool = { if case .dirichlet = boundary[lo] { return true } else { return false } }()
            let dHi: Bool = { if case .dirichlet = boundary[hi] { return true } else { return false } }()
            let f = dLo ? 1 : 0
            let n = grid.counts[d] - f - ((dHi || p) ? 1 : 0)
            guard n >= 1 else {
                throw PDEError.invalidValue(key: "grid.counts[\(d)]", value: "\(grid.counts[d])",
                                            expected: "enough nodes to leave unknowns between the boundary faces (≥ 3)")
            }
            if p && grid.counts[d] < 3 {
                throw PDEError.invalidValue(key: "grid.counts[\(d)]", value: "\(grid.counts[d])", expected: "≥ 3 nodes on a periodic axis")
            }
            first.append(f); counts.append(n); periodic.append(p); dl.append(dLo); du.append(dHi)
        }
        self.grid = grid
        self.first = first
        self.counts = counts
        self.periodic = periodic
        self.dirichletLower = dl
        self.dirichletUpper = du
    }

    public var dimension: Int { grid.dimension }
    public var unknownCount: Int { counts.reduce(1, *) }

    /// Strides of the unknown numbering per axis.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: dimension)
        for d in 1..<max(1, dimension) { s[d] = s[d - 1] * counts[d - 1] }
        return s
    }

    /// Grid node (linear index) of unknown `u`.
    public func node(ofUnknown u: Int) -> Int {
        var r = u
        var node = 0
        var stride = 1
        for d in 0..<dimension {
            let i = r % counts[d]
            r /= counts[d]
            node += (i + first[d]) * stride
            stride *= grid.counts[d]
        }
        return node
    }

    /// Unknown of a grid node, or nil for an eliminated (Dirichlet) node. Upper-face nodes
    /// of a periodic axis map to their lower-face image.
    public func unknown(ofNode node: Int) -> Int? {
        var r = node
        var u = 0
        var stride = 1
        for d in 0..<dimension {
            var i = r % grid.counts[d]
            r /= grid.counts[d]
            if periodic[d] && i == grid.counts[d] - 1 { i = 0 }
            let k = i - first[d]
            if k < 0 || k >= counts[d] { return nil }
            u += k * stride
            stride *= counts[d]
        }
        return u
    }

    /// Homogeneous boundary conditions of the same kinds as the layout's (Dirichlet 0,
    /// Neumann 0 or periodic per face): what coarse grids and fast solvers assemble with.
    public var homogeneousBoundary: BoundaryConditions {
        var bc = BoundaryConditions(dimension: dimension, all: .neumann(flux: 0))
        for d in 0..<dimension {
            if periodic[d] {
                bc[Face(rawValue: 2 * d)!] = .periodic
                bc[Face(rawValue: 2 * d + 1)!] = .periodic
            } else {
                if dirichletLower[d] { bc[Face(rawValue: 2 * d)!] = .dirichlet(value: 0) }
                if dirichletUpper[d] { bc[Face(rawValue: 2 * d + 1)!] = .dirichlet(value: 0) }
            }
        }
        return bc
    }
}
