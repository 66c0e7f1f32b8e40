/// The per-unknown terms of an `FDSystem`, computed on demand, so that the whole system
/// (`FDSystem`) and a block of its rows (`DiffusionProblem.assembleRows`, one per rank under
/// mpirun) come from the same arithmetic and agree bit for bit.
struct FDAssembler {
    let problem: DiffusionProblem
    let layout: GridUnknownLayout
    let grid: Grid
    /// Control-volume width per axis by node index (halved at non-periodic boundary nodes).
    let widths: [[Double]]
    let coordinates: [[Double]]
    let nodeStrides: [Int]
    let neumannLower: [(([Double]) -> Double)?]
    let neumannUpper: [(([Double]) -> Double)?]
    /// a at the nodes `coefficientStart ..< coefficientStart + coefficientCache.count`
    /// (validated); other nodes are evaluated when needed.
    let coefficientCache: [Double]
    let coefficientStart: Int

    /// The assembler of the rows `unknowns`: a is sampled and validated on the nodes those rows
    /// touch (every node when the range is all unknowns, as `FDSystem` needs). Throws for a ≤ 0
    /// or non-finite a there, and for per-node arrays of the wrong length.
    init(_ problem: DiffusionProblem, layout: GridUnknownLayout, unknowns: Range<Int>) throws {
        let grid = problem.grid
        self.problem = problem
        self.layout = layout
        self.grid = grid
        let dim = grid.dimension
        if let v = problem.coefficientValues, v.count != grid.nodeCount {
            throw PDEError.shapeMismatch(what: "coefficient values", expected: "\(grid.nodeCount) (one per node)", got: "\(v.count)")
        }
        if let v = problem.sourceValues, v.count != grid.nodeCount {
            throw PDEError.shapeMismatch(what: "source values", expected: "\(grid.nodeCount) (one per node)", got: "\(v.count)")
        }
        var widths: [[Double]] = []
        for d in 0..<dim {
            var w = [Double](repeating: grid.spacing[d], count: grid.counts[d])
            if !layout.periodic[d] {
                w[0] *= 0.5
                w[w.count - 1] *= 0.5
            }
            widths.append(w)
        }
        self.widths = widths
        coordinates = (0..<dim).map { d in (0..<grid.counts[d]).map { grid.coordinate(axis: d, $0) } }
        nodeStrides = grid.strides
        neumannLower = (0..<dim).map { d in
            if case .neumann(let g) = problem.boundary[Face(rawValue: 2 * d)!], !layout.periodic[d] { return g } else { return nil }
        }
        neumannUpper = (0..<dim).map { d in
            if case .neumann(let g) = problem.boundary[Face(rawValue: 2 * d + 1)!], !layout.periodic[d] { return g } else { return nil }
        }
        // The nodes the rows touch: theirs and one slowest-axis layer of nodes on either side.
        let nodes: Range<Int>
        if unknowns.count == layout.unknownCount {
            nodes = 0..<grid.nodeCount
        } else if unknowns.isEmpty {
            nodes = 0..<0
        } else {
            let reach = nodeStrides[dim - 1]
            nodes = max(0, layout.node(ofUnknown: unknowns.lowerBound) - reach)
                ..< min(grid.nodeCount, layout.node(ofUnknown: unknowns.upperBound - 1) + reach + 1)
        }
        coefficientStart = nodes.lowerBound
        var cache = [Double](repeating: 0, count: nodes.count)
        if let v = problem.coefficientValues {
            for (k, i) in nodes.enumerated() { cache[k] = v[i] }
        } else if nodes.count == grid.nodeCount {
            cache = grid.sample(problem.coefficient)
        } else {
            for (k, i) in nodes.enumerated() { cache[k] = problem.coefficient(grid.position(linear: i)) }
        }
        for (k, a) in cache.enumerated() where !(a > 0) || !a.isFinite {
            throw Self.badCoefficient(a, at: grid.position(linear: nodes.lowerBound + k))
        }
        coefficientCache = cache
    }

    static func badCoefficient(_ a: Double, at x: [Double]) -> PDEError {
        .invalidValue(key: "coefficient at node \(x)", value: "\(a)", expected: "a positive finite diffusion coefficient")
    }

    /// a at `node`, from the cache or evaluated (and validated).
    func coefficient(_ node: Int) throws -> Double {
        let k = node - coefficientStart
        if k >= 0 && k < coefficientCache.count { return coefficientCache[k] }
        let a = problem.coefficientValues?[node] ?? problem.coefficient(grid.position(linear: node))
        guard a > 0, a.isFinite else { throw Self.badCoefficient(a, at: grid.position(linear: node)) }
        return a
    }

    /// The node of unknown `u`, with its multi-index and position written to `idx` and `x`.
    func locate(_ u: Int, idx: inout [Int], x: inout [Double]) -> Int {
        var r = u
        var node = 0
        for d in 0..<grid.dimension {
            idx[d] = r % layout.counts[d] + layout.first[d]
            r /= layout.counts[d]
            node += idx[d] * nodeStrides[d]
            x[d] = coordinates[d][idx[d]]
        }
        return node
    }

    /// The coupling between `node` and `neighbour` across a face of area `area` normal to axis
    /// `d`: the harmonic mean of a at the two nodes times area over h (before the division by
    /// the cell volume).
    func conductance(_ node: Int, _ neighbour: Int, area: Double, axis d: Int) throws -> Double {
        let aN = try coefficient(node), aJ = try coefficient(neighbour)
        return 2 * aN * aJ / (aN + aJ) * area / grid.spacing[d]
    }

    /// The terms of the unknown at `node` (multi-index `idx`, position `x`) before the edges to
    /// unknown neighbours and before the division by the cell volume: the diagonal's reaction
    /// and Dirichlet-edge part, the right-hand side (source, Dirichlet data, Neumann fluxes), the
    /// control volume over the cell volume, and c. `idx` is restored on return.
    func nodeTerms(node: Int, idx: inout [Int], x: [Double]) throws -> (diagonal: Double, rhs: Double, volume: Double, reaction: Double) {
        let dim = grid.dimension
        var vol = 1.0
        for d in 0..<dim { vol *= widths[d][idx[d]] }
        let c = problem.reaction(x)
        guard c >= 0, c.isFinite else {
            throw PDEError.invalidValue(key: "reaction at node \(x)", value: "\(c)", expected: "a finite c ≥ 0")
        }
        var diag = c * vol
        var rhs = (problem.sourceValues?[node] ?? problem.source(x)) * vol
        for d in 0..<dim {
            var area = 1.0
            for e in 0..<dim where e != d { area *= widths[e][idx[e]] }
            let i = idx[d]
            // Edge to a Dirichlet +d neighbour.
            if layout.dirichletUpper[d] && i + 1 == grid.counts[d] - 1 {
                let k = try conductance(node, node + nodeStrides[d], area: area, axis: d)
                diag += k
                idx[d] = i + 1
                rhs += k * layout.dirichletValue(at: idx, boundary: problem.boundary)
                idx[d] = i
            }
            // Edge to a Dirichlet −d neighbour.
            if i - 1 == 0 && layout.dirichletLower[d] {
                let k = try conductance(node, node - nodeStrides[d], area: area, axis: d)
                diag += k
                idx[d] = 0
                rhs += k * layout.dirichletValue(at: idx, boundary: problem.boundary)
                idx[d] = i
            }
            // Neumann fluxes on boundary faces (outward flux g = a ∂u/∂n).
            if i == 0, let g = neumannLower[d] { rhs += g(x) * area }
            if i == grid.counts[d] - 1, let g = neumannUpper[d] { rhs += g(x) * area }
        }
        return (diag, rhs, vol / grid.cellVolume, c)
    }

    /// The coupling k between the unknown at `node` and its +d neighbour (before the division by
    /// the cell volume): the harmonic mean of a over the edge times face area over h; 0 when the
    /// neighbour is a Dirichlet node or there is none.
    func edge(node: Int, idx: [Int], axis d: Int) throws -> Double {
        let i = idx[d]
        guard i + 1 <= grid.counts[d] - 1, !(layout.dirichletUpper[d] && i + 1 == grid.counts[d] - 1) else { return 0 }
        var area = 1.0
        for e in 0..<grid.dimension where e != d { area *= widths[e][idx[e]] }
        return try conductance(node, node + nodeStrides[d], area: area, axis: d)
    }
}

/// A block of consecutive rows of a `DiffusionProblem`'s `FDSystem`, assembled on its own (what
/// one rank keeps under mpirun): the same values as the whole system's rows, columns global.
public struct FDRowBlock: Sendable {
    /// The rows (unknowns, x-fastest).
    public let rows: Range<Int>
    /// Global size of the system.
    public let size: Int
    /// CSR of the rows: `rowPointers` (rows.count + 1), global `columns` ascending per row.
    public let rowPointers: [Int]
    public let columns: [Int]
    public let values: [Double]
    /// Right-hand side of the rows (not projected: see `FDSystem` for singular operators).
    public let rhs: [Double]
    /// Control volume over the cell volume per row (the pinning weights).
    public let volumes: [Double]
    /// True when some row has c ≠ 0.
    public let hasReaction: Bool
}

extension DiffusionProblem {
    /// Rows `rows` of the system `assemble()` builds, without touching the others: the operator's
    /// rows (not pinned) and their right-hand side. a is sampled only on the nodes these rows
    /// touch. Throws what `assemble()` throws for those nodes, and `.invalidValue` for rows outside
    /// the unknowns.
    public func assembleRows(_ rows: Range<Int>) throws -> FDRowBlock {
        let layout = try GridUnknownLayout(grid: grid, boundary: boundary)
        let n = layout.unknownCount
        guard rows.lowerBound >= 0, rows.upperBound <= n else {
            throw PDEError.invalidValue(key: "rows", value: "\(rows)", expected: "a range inside 0..<\(n)")
        }
        let asm = try FDAssembler(self, layout: layout, unknowns: rows)
        let dim = grid.dimension
        let ustrides = layout.strides
        let s = 1 / grid.cellVolume
        var rp = [0], cols = [Int](), vals = [Double](), rhs = [Double](), volumes = [Double]()
        cols.reserveCapacity(rows.count * (2 * dim + 1))
        vals.reserveCapacity(rows.count * (2 * dim + 1))
        var anyReaction = false
        var idx = [Int](repeating: 0, count: dim), x = [Double](repeating: 0, count: dim)
        var jdx = [Int](repeating: 0, count: dim), y = [Double](repeating: 0, count: dim)
        var entries: [(column: Int, value: Double)] = []
        for u in rows {
            let node = asm.locate(u, idx: &idx, x: &x)
            let t = try asm.nodeTerms(node: node, idx: &idx, x: x)
            if t.reaction != 0 { anyReaction = true }
            var diag = t.diagonal
            entries.removeAll(keepingCapacity: true)
            var r = u
            for d in 0..<dim {
                let k = r % layout.counts[d]
                r /= layout.counts[d]
                let up = try asm.edge(node: node, idx: idx, axis: d)
                diag += up
                // +d neighbour
                if k + 1 < layout.counts[d] {
                    entries.append((u + ustrides[d], -(up * s)))
                } else if layout.periodic[d] {
                    entries.append((u - (layout.counts[d] - 1) * ustrides[d], -(up * s)))
                }
                // −d neighbour: its +d edge.
                let w = k > 0 ? u - ustrides[d] : (layout.periodic[d] ? u + (layout.counts[d] - 1) * ustrides[d] : -1)
                if w >= 0 {
                    let wNode = asm.locate(w, idx: &jdx, x: &y)
                    let down = try asm.edge(node: wNode, idx: jdx, axis: d)
                    diag += down
                    entries.append((w, -(down * s)))
                }
            }
            entries.append((u, diag * s))
            // Ascending columns, duplicates (two-unknown periodic axes) summed in insertion order.
            entries.sort { $0.column < $1.column }
            var e = 0
            while e < entries.count {
                var v = entries[e].value
                var f = e + 1
                while f < entries.count && entries[f].column == entries[e].column { v += entries[f].value; f += 1 }
                cols.append(entries[e].column)
                vals.append(v)
                e = f
            }
            rp.append(cols.count)
            rhs.append(t.rhs * s)
            volumes.append(t.volume)
        }
        return FDRowBlock(rows: rows, size: n, rowPointers: rp, columns: cols, values: vals, rhs: rhs, volumes: volumes,
                          hasReaction: anyReaction)
    }
}

extension GridUnknownLayout {
    /// True when, without a reaction term, constants are in the operator's null space (no
    /// Dirichlet face).
    public var isSingularWithoutReaction: Bool { !dirichletLower.contains(true) && !dirichletUpper.contains(true) }

    /// The value at a node that is not an unknown: Dirichlet data from the first Dirichlet face
    /// the node lies on (0 when none).
    public func dirichletValue(atNode node: Int, boundary: BoundaryConditions) -> Double {
        dirichletValue(at: grid.multiIndex(node), boundary: boundary)
    }

    /// The same at the node with multi-index `idx`.
    public func dirichletValue(at idx: [Int], boundary: BoundaryConditions) -> Double {
        for d in 0..<grid.dimension {
            for face in [Face(rawValue: 2 * d)!, Face(rawValue: 2 * d + 1)!] where grid.isOn(face, idx) {
                if case .dirichlet(let g) = boundary[face] { return g(grid.position(idx)) }
            }
        }
        return 0
    }

    /// The grid field of the unknowns `x` (minus `shift`), Dirichlet data on the other nodes and
    /// periodic images copied.
    public func field(unknowns x: [Double], shift: Double, boundary: BoundaryConditions) throws -> GridField {
        var values = [Double](repeating: 0, count: grid.nodeCount)
        for node in 0..<grid.nodeCount {
            if let u = unknown(ofNode: node) {
                values[node] = x[u] - shift
            } else {
                values[node] = dirichletValue(atNode: node, boundary: boundary)
            }
        }
        return try GridField(grid: grid, values: values)
    }
}
