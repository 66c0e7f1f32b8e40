/// The variable-coefficient diffusion–reaction problem −∇·(a∇u) + c·u = f on a grid,
/// with a boundary condition per face.
public struct DiffusionProblem: Sendable {
    public var grid: Grid
    /// Diffusion coefficient a(x) > 0, sampled at the nodes.
    public var coefficient: @Sendable ([Double]) -> Double
    /// Reaction coefficient c(x) ≥ 0, sampled at the nodes.
    public var reaction: @Sendable ([Double]) -> Double
    /// Source f(x), sampled at the nodes.
    public var source: @Sendable ([Double]) -> Double
    public var boundary: BoundaryConditions
    /// Optional per-node values that replace `coefficient` / `source` (e.g. read from NPY),
    /// in grid linear order.
    public var coefficientValues: [Double]?
    public var sourceValues: [Double]?

    /// A problem from closures called with node positions (a defaults to 1, c to 0); nothing is
    /// checked here: `assemble()` rejects a ≤ 0, c < 0, or a non-finite a or c, at the nodes.
    public init(grid: Grid, coefficient: @escaping @Sendable ([Double]) -> Double = { _ in 1 },
                reaction: @escaping @Sendable ([Double]) -> Double = { _ in 0 },
                source: @escaping @Sendable ([Double]) -> Double, boundary: BoundaryConditions) {
        self.grid = grid
        self.coefficient = coefficient
        self.reaction = reaction
        self.source = source
        self.boundary = boundary
    }

    /// The problem of an analytic solution on `grid`: a, c, f from the problem, Dirichlet
    /// data u and Neumann data a∇u·n from the exact solution. `kinds` chooses the
    /// condition per face (default: Dirichlet everywhere).
    public init(grid: Grid, analytic p: AnalyticProblem, kinds: [Face: BoundaryKind] = [:]) throws {
        guard p.dimension == grid.dimension else {
            throw PDEError.shapeMismatch(what: "problem '\(p.name)'", expected: "a \(p.dimension)-D grid", got: "\(grid.dimension)-D")
        }
        var bc = BoundaryConditions(dimension: grid.dimension, all: .dirichlet(p.solution))
        for face in Face.faces(dimension: grid.dimension) {
            switch kinds[face] ?? .dirichlet {
            case .dirichlet: bc[face] = .dirichlet(p.solution)
            case .periodic: bc[face] = .periodic
            case .neumann:
                var normal = [Double](repeating: 0, count: grid.dimension)
                normal[face.axis] = face.normalSign
                let n = normal
                bc[face] = .neumann { x in p.flux(x, normal: n) }
            }
        }
        let c = p.reaction
        self.init(grid: grid, coefficient: p.coefficient, reaction: { _ in c }, source: p.source, boundary: bc)
    }

    /// Boundary-condition kinds (data supplied elsewhere).
    public enum BoundaryKind: String, Sendable, CaseIterable { case dirichlet, neumann, periodic }

    /// Assembles the symmetric finite-volume system (see `FDSystem`).
    public func assemble() throws -> FDSystem { try FDSystem(self) }
}

/// The assembled vertex-centred finite-volume system of a `DiffusionProblem`.
///
/// Every node carries the control volume of the dual grid (halved across each
/// non-periodic boundary face). Faces between neighbouring nodes carry the harmonic mean
/// of a at the two nodes. Dirichlet nodes are eliminated into the right-hand side; Neumann
/// fluxes enter it times the boundary face area; periodic upper-face nodes are images of
/// the lower ones. The whole system is divided by the full cell volume Π h_d, so interior
/// rows of the constant-coefficient Dirichlet Laplacian are exactly the classical stencils
/// (2/h², 4/h², 6/h² on the diagonal, −1/h² off it) and the matrix is symmetric for every
/// boundary condition. The scheme is second order in the max and L² norms.
///
/// Null space: with no Dirichlet face and c ≡ 0 the operator annihilates constants. The
/// right-hand side is then projected onto the range (its volume-weighted mean removed, as
/// if f had zero mean), `matrix` pins unknown 0 to zero (its row and column replaced by
/// the identity, which keeps it SPD), and `fullSolution` shifts the result to zero
/// volume-weighted mean. `operatorMatrix` and `stencil` keep the singular operator.
public struct FDSystem: Sendable {
    /// Which grid nodes are unknowns, numbered x-fastest over the unknown box.
    public let layout: GridUnknownLayout
    /// The SPD matrix to solve with (pinned when the operator is singular).
    public let matrix: CSRMatrix
    /// The discrete operator itself (equal to `matrix` unless pinned).
    public let operatorMatrix: CSRMatrix
    /// Right-hand side per unknown, divided by Π h_d like the matrix, with Dirichlet data and
    /// Neumann fluxes folded in (projected onto the range, entry 0 zeroed, when pinned).
    public let rhs: [Double]
    /// The same operator, matrix-free.
    public let stencil: StencilOperator
    /// True when constants were in the null space and unknown 0 was pinned.
    public let isPinned: Bool
    /// Control volume of each unknown divided by Π h_d (the mass-lumping weights).
    public let volumes: [Double]
    private let boundary: BoundaryConditions

    init(_ problem: DiffusionProblem) throws {
        let layout = try GridUnknownLayout(grid: problem.grid, boundary: problem.boundary)
        let asm = try FDAssembler(problem, layout: layout, unknowns: 0..<layout.unknownCount)
        let dim = layout.dimension
        let n = layout.unknownCount
        var kPlus = [[Double]](repeating: [Double](repeating: 0, count: n), count: dim)
        var diag = [Double](repeating: 0, count: n)
        var rhs = [Double](repeating: 0, count: n)
        var volumes = [Double](repeating: 0, count: n)
        var anyReaction = false
        var idx = [Int](repeating: 0, count: dim)
        var x = [Double](repeating: 0, count: dim)
        for u in 0..<n {
            let node = asm.locate(u, idx: &idx, x: &x)
            let t = try asm.nodeTerms(node: node, idx: &idx, x: x)
            diag[u] = t.diagonal
            rhs[u] = t.rhs
            volumes[u] = t.volume
            if t.reaction != 0 { anyReaction = true }
            for d in 0..<dim { kPlus[d][u] = try asm.edge(node: node, idx: idx, axis: d) }
        }
        // Diagonal: edges on both sides.
        let ustrides = layout.strides
        for u in 0..<n {
            var r = u
            for d in 0..<dim {
                let k = r % layout.counts[d]
                r /= layout.counts[d]
                diag[u] += kPlus[d][u]
                if k > 0 {
                    diag[u] += kPlus[d][u - ustrides[d]]
                } else if layout.periodic[d] {
                    diag[u] += kPlus[d][u + (layout.counts[d] - 1) * ustrides[d]]
                }
            }
        }
        // Scale by the full cell volume.
        let s = 1 / layout.grid.cellVolume
        for u in 0..<n { diag[u] *= s; rhs[u] *= s }
        for d in 0..<dim { for u in 0..<n { kPlus[d][u] *= s } }

        let stencil = StencilOperator(layout: layout, diagonal: diag, edges: kPlus)
        let op = stencil.assembled()
        let singular = !anyReaction && layout.isSingularWithoutReaction
        var matrix = op
        if singular { CSRMatrix.pinFirstUnknown(&matrix, &rhs, weights: volumes) }
        self.layout = layout
        self.operatorMatrix = op
        self.matrix = matrix
        self.rhs = rhs
        self.stencil = stencil
        self.isPinned = singular
        self.volumes = volumes
        self.boundary = problem.boundary
    }

    /// The grid field of a solution of `matrix · x = rhs`: unknowns at their nodes,
    /// Dirichlet values on Dirichlet nodes, periodic images copied; shifted to zero
    /// volume-weighted mean when the operator was singular.
    public func fullSolution(_ x: [Double]) throws -> GridField {
        guard x.count == layout.unknownCount else {
            throw PDEError.shapeMismatch(what: "solution vector", expected: "\(layout.unknownCount) unknowns", got: "\(x.count)")
        }
        var shift = 0.0
        if isPinned {
            var s = 0.0, v = 0.0
            for u in 0..<x.count { s += volumes[u] * x[u]; v += volumes[u] }
            shift = s / v
        }
        return try layout.field(unknowns: x, shift: shift, boundary: boundary)
    }
}

/// The finite-volume operator of an `FDSystem` without a stored matrix: a diagonal and,
/// per axis, the coupling to the +d neighbour (−k on both sides, so the operator is
/// symmetric). Neighbours are found by stride arithmetic on the unknown box of the
/// `GridUnknownLayout`, with wrap-around on periodic axes. Threaded over z-planes/rows.
public struct StencilOperator: LinearOperator, Sendable {
    public let layout: GridUnknownLayout
    /// Diagonal entry per unknown, in the layout's x-fastest order.
    public let diagonal: [Double]
    /// `edges[d][u]`: coupling between unknown u and its +d neighbour (0 at a boundary).
    public let edges: [[Double]]

    public var size: Int { layout.unknownCount }
    /// The stored `diagonal` (no computation), so Jacobi works matrix-free; for an `FDSystem`
    /// that of the unpinned operator.
    public func diagonalEntries() -> [Double]? { diagonal }

    /// Takes the arrays unchecked: `diagonal` and each `edges[d]` (one array per axis) must have
    /// `layout.unknownCount` entries, or `apply` reads out of bounds.
    public init(layout: GridUnknownLayout, diagonal: [Double], edges: [[Double]]) {
        self.layout = layout
        self.diagonal = diagonal
        self.edges = edges
    }

    /// y ← A x by the stencil, threaded over x-lines (`Parallel.forChunks`), without allocating;
    /// traps (precondition) unless `x` and `y` have `size` entries.
    public func apply(_ x: [Double], into y: inout [Double]) {
        precondition(x.count == size && y.count == size, "StencilOperator.apply: size mismatch")
        let dim = layout.dimension
        let c = layout.counts
        let per = layout.periodic
        let n = size
        let nx = c[0]
        let rows = n / nx  // lines along x
        let strides = layout.strides
        let e0 = edges[0]
        let e1 = dim > 1 ? edges[1] : []
        let e2 = dim > 2 ? edges[2] : []
        diagonal.withUnsafeBufferPointer { dp in
        e0.withUnsafeBufferPointer { k0 in
        e1.withUnsafeBufferPointer { k1 in
        e2.withUnsafeBufferPointer { k2 in
        x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            let py = yp.baseAddress!
            Parallel.forChunks(rows, minimumPerChunk: max(1, 16384 / nx)) { r0, r1 in
                for line in r0..<r1 {
                    let base = line &* nx
                    // Indices of this line along y and z.
                    let jy = dim > 1 ? line % c[1] : 0
                    let kz = dim > 2 ? line / c[1] : 0
                    var i = 0
                    while i < nx {
                        let u = base &+ i
                        var s = dp[u] * xp[u]
                        // x neighbours
                        if i + 1 < nx { s -= k0[u] * xp[u &+ 1] }
                        else if per[0] { s -= k0[u] * xp[base] }
                        if i > 0 { s -= k0[u &- 1] * xp[u &- 1] }
                        else if per[0] { s -= k0[base &+ nx &- 1] * xp[base &+ nx &- 1] }
                        if dim > 1 {
                            let sy = strides[1]
                            if jy + 1 < c[1] { s -= k1[u] * xp[u &+ sy] }
                            else if per[1] { let w = u &- (c[1] &- 1) &* sy; s -= k1[u] * xp[w] }
                            if jy > 0 { s -= k1[u &- sy] * xp[u &- sy] }
                            else if per[1] { let w = u &+ (c[1] &- 1) &* sy; s -= k1[w] * xp[w] }
                        }
                        if dim > 2 {
                            let sz = strides[2]
                            if kz + 1 < c[2] { s -= k2[u] * xp[u &+ sz] }
                            else if per[2] { let w = u &- (c[2] &- 1) &* sz; s -= k2[u] * xp[w] }
                            if kz > 0 { s -= k2[u &- sz] * xp[u &- sz] }
                            else if per[2] { let w = u &+ (c[2] &- 1) &* sz; s -= k2[w] * xp[w] }
                        }
                        py[u] = s
                        i &+= 1
                    }
                }
            }
        }}}}}}
    }

    /// The same operator as a CSR matrix (sorted columns, duplicates summed).
    public func assembled() -> CSRMatrix {
        let n = size
        let dim = layout.dimension
        let strides = layout.strides
        var b = COOBuilder(rows: n, columns: n, reserve: n * (2 * dim + 1))
        for u in 0..<n {
            b.add(u, u, diagonal[u])
            var r = u
            for d in 0..<dim {
                let k = r % layout.counts[d]
                r /= layout.counts[d]
                // +d neighbour
                if k + 1 < layout.counts[d] {
                    b.add(u, u + strides[d], -edges[d][u])
                } else if layout.periodic[d] {
                    b.add(u, u - (layout.counts[d] - 1) * strides[d], -edges[d][u])
                }
                // −d neighbour
                if k > 0 {
                    b.add(u, u - strides[d], -edges[d][u - strides[d]])
                } else if layout.periodic[d] {
                    let w = u + (layout.counts[d] - 1) * strides[d]
                    b.add(u, w, -edges[d][w])
                }
            }
        }
        return b.build()
    }
}

/// Classical constant-coefficient operators.
public enum FiniteDifference {
    /// The Dirichlet Laplacian −Δ on the interior nodes of `grid` (3-, 5- or 7-point,
    /// scaled by 1/h²): with n+2 nodes per axis on the unit box, exactly the peers'
    /// `poisson_matrix.py` matrices (natural ordering, x fastest).
    public static func laplacian(grid: Grid) throws -> CSRMatrix {
        let bc = BoundaryConditions(dimension: grid.dimension, all: .dirichlet(value: 0))
        let layout = try GridUnknownLayout(grid: grid, boundary: bc)
        let n = layout.unknownCount
        let dim = grid.dimension
        var diag = [Double](repeating: 0, count: n)
        var edges = [[Double]]()
        let strides = layout.strides
        for d in 0..<dim {
            let k = 1 / (grid.spacing[d] * grid.spacing[d])
            var e = [Double](repeating: k, count: n)
            for u in 0..<n where (u / strides[d]) % layout.counts[d] == layout.counts[d] - 1 { e[u] = 0 }
            edges.append(e)
            for u in 0..<n { diag[u] += 2 * k }
        }
        return StencilOperator(layout: layout, diagonal: diag, edges: edges).assembled()
    }
}
