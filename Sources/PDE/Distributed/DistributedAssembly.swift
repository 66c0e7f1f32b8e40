/// A discretized problem assembled by rows across the ranks of a communicator: each rank
/// computes only the rows it owns (a contiguous block, `DistributedCSRMatrix`'s), and the
/// solution is put together on every rank. What `pde-solve` runs under mpirun.
public protocol DistributedDiscreteSystem {
    associatedtype Solution: DiscreteSolution
    /// This rank's rows.
    var matrix: DistributedCSRMatrix { get }
    /// This rank's part of the right-hand side.
    var rhs: [Double] { get }
    /// Global number of unknowns and of stored nonzeros.
    var unknownCount: Int { get }
    var nonzeroCount: Int { get }
    /// True when the operator was singular and one unknown pinned (see the serial systems).
    var isPinned: Bool { get }
    /// The whole field from this rank's part of a solution. Collective.
    func fullSolution(local x: [Double]) throws -> Solution
}

extension DistributedDiscreteSystem {
    /// The whole field and, when `exact` is given, its errors (as `DiscreteSystem.solution`).
    /// Collective.
    public func solution(local x: [Double], comparedWith exact: AnalyticProblem?) throws -> (field: Solution, errors: FieldErrors?) {
        var field = try fullSolution(local: x)
        guard let exact else { return (field, nil) }
        if isPinned { field.alignMean(with: exact.solution) }
        return (field, field.errors(against: exact))
    }
}

extension DistributedDiscreteSystem {
    /// Throws unless `x` has one value per local row.
    func checkLocal(_ x: [Double]) throws {
        guard x.count == rhs.count else {
            throw PDEError.shapeMismatch(what: "solution vector", expected: "\(rhs.count) local unknowns", got: "\(x.count)")
        }
    }
}

/// `CSRMatrix.pinFirstUnknown` on rows distributed by blocks: the right-hand side projected onto
/// the range (its sum removed in proportion to `weights`, with allreduced sums), then row and
/// column `pinned` (global) made the identity's and its right-hand side zeroed. Collective.
func pinUnknown(_ pinned: Int, firstRow r0: Int, rowPointers: [Int], columns: [Int], values: inout [Double], rhs: inout [Double],
                weights: [Double], communicator: Communicator) throws {
    var sums = [rhs.reduce(0, +), weights.reduce(0, +)]
    try communicator.allreduce(&sums)
    for u in 0..<rhs.count { rhs[u] -= sums[0] * weights[u] / sums[1] }
    for i in 0..<rhs.count {
        for k in rowPointers[i]..<rowPointers[i + 1] where r0 + i == pinned || columns[k] == pinned {
            values[k] = (r0 + i == columns[k]) ? 1 : 0
        }
    }
    if pinned >= r0 && pinned < r0 + rhs.count { rhs[pinned - r0] = 0 }
}

extension Communicator {
    /// Runs `body` on every rank and throws on every rank when it threw on any: the rank's own
    /// error where it failed, elsewhere `.libraryFailure` naming the first failing rank. Keeps
    /// the ranks from parting ways before a collective call (one rank throwing while the others
    /// wait for it). Collective.
    public func collectively<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        var failed = 0.0
        if case .failure = result { failed = 1 }
        let firstFailing = try allreduce(failed == 1 ? Double(rank) : Double(size), .min)
        if case .failure(let error) = result { throw error }
        if firstFailing < Double(size) {
            throw PDEError.libraryFailure(library: "MPI", reason: "\(what) failed on rank \(Int(firstFailing)) (its error is reported there)")
        }
        return try result.get()
    }
}

/// The finite-difference system of a `DiffusionProblem` assembled by rows: rank r computes the
/// rows of its block (`DiffusionProblem.assembleRows`, the coefficient sampled on the nodes
/// those rows touch), equal bit for bit to the same rows of `assemble()`; the singular case is
/// projected and pinned with allreduced sums, as serially.
public struct DistributedFDSystem: DistributedDiscreteSystem {
    public let layout: GridUnknownLayout
    public let matrix: DistributedCSRMatrix
    public let rhs: [Double]
    public let unknownCount: Int
    public let nonzeroCount: Int
    public let isPinned: Bool
    /// Control volume over the cell volume of this rank's unknowns.
    public let volumes: [Double]
    private let boundary: BoundaryConditions

    /// Collective; every rank's errors (a ≤ 0, c < 0 at its nodes, …) are thrown on it, the
    /// others throw `.libraryFailure` naming that rank.
    public init(_ problem: DiffusionProblem, communicator: Communicator) throws {
        let layout = try GridUnknownLayout(grid: problem.grid, boundary: problem.boundary)
        let n = layout.unknownCount
        let dec = try BlockDecomposition(globalCounts: [1, n], ranks: communicator.size, rank: communicator.rank)
        let r0 = dec.lower[1]
        let block = try communicator.collectively("assembly") { try problem.assembleRows(r0..<(r0 + dec.counts[1])) }
        let anyReaction = try communicator.allreduce(block.hasReaction ? 1 : 0, .max) > 0
        let singular = !anyReaction && layout.isSingularWithoutReaction
        var values = block.values, rhs = block.rhs
        if singular {
            try pinUnknown(0, firstRow: r0, rowPointers: block.rowPointers, columns: block.columns, values: &values, rhs: &rhs,
                           weights: block.volumes, communicator: communicator)
        }
        matrix = try DistributedCSRMatrix(localRows: block.rowPointers, globalColumns: block.columns, values: values, size: n,
                                          decomposition: dec, communicator: communicator)
        self.layout = layout
        self.rhs = rhs
        unknownCount = n
        nonzeroCount = Int(try communicator.allreduce(Double(block.columns.count)))
        isPinned = singular
        volumes = block.volumes
        boundary = problem.boundary
    }

    /// The grid field of the gathered solution (shifted to zero volume-weighted mean when
    /// pinned). Collective.
    public func fullSolution(local x: [Double]) throws -> GridField {
        try checkLocal(x)
        var shift = 0.0
        if isPinned {
            var sums = [0.0, 0.0]
            for u in 0..<x.count { sums[0] += volumes[u] * x[u]; sums[1] += volumes[u] }
            try matrix.grid.communicator.allreduce(&sums)
            shift = sums[0] / sums[1]
        }
        return try layout.field(unknowns: matrix.grid.allgatherWhole(x), shift: shift, boundary: boundary)
    }
}

/// Partitions of point sets into parts of given sizes.
public enum PointPartition {
    /// Recursive coordinate bisection: an order of `points` (indices) whose consecutive blocks of
    /// `sizes` are the parts. Each step splits the parts in two halves and the points at the
    /// matching count along the longer side of their bounding box (ties by index), so parts
    /// are compact and their boundaries short. Deterministic.
    public static func coordinateBisection(_ points: [SIMD2<Double>], sizes: [Int]) throws -> [Int] {
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == points.count else {
            throw PDEError.shapeMismatch(what: "partition sizes", expected: "non-negative sizes summing to \(points.count) points",
                                         got: "\(sizes)")
        }
        var order = Array(points.indices)
        var work: [(range: Range<Int>, parts: Range<Int>)] = [(0..<points.count, 0..<sizes.count)]
        var offsets = [0]
        for s in sizes { offsets.append(offsets.last! + s) }
        while let (range, parts) = work.popLast() {
            guard parts.count > 1, range.count > 1 else { continue }
            let midPart = (parts.lowerBound + parts.upperBound) / 2
            let split = offsets[midPart]
            var lo = SIMD2<Double>(repeating: .infinity), hi = SIMD2<Double>(repeating: -.infinity)
            for k in range { lo = pointwiseMin(lo, points[order[k]]); hi = pointwiseMax(hi, points[order[k]]) }
            let axis = (hi.x - lo.x) >= (hi.y - lo.y) ? 0 : 1
            order[range].sort { a, b in
                let pa = points[a][axis], pb = points[b][axis]
                return pa != pb ? pa < pb : a < b
            }
            work.append((range.lowerBound..<split, parts.lowerBound..<midPart))
            work.append((split..<range.upperBound, midPart..<parts.upperBound))
        }
        return order
    }
}

/// The P1 system of a `P1Problem` assembled by rows: the free vertices are partitioned by
/// recursive coordinate bisection into the ranks' blocks and renumbered so each rank's are
/// consecutive; rank r integrates only the triangles touching its vertices and keeps their
/// rows — equal bit for bit to the same rows of `assemble()`, permuted. The mesh itself (not
/// the matrix) is held whole on every rank.
public struct DistributedP1System: DistributedDiscreteSystem {
    public let mesh: TriangleMesh
    public let matrix: DistributedCSRMatrix
    public let rhs: [Double]
    public let unknownCount: Int
    public let nonzeroCount: Int
    public let isPinned: Bool
    /// The serial (`P1System`) unknown of each distributed unknown.
    public let serialUnknown: [Int]
    /// How many triangles this rank integrated.
    public let localTriangles: Int
    private let vertexOfUnknown: [Int32]
    private let dirichletValues: [Double]

    /// Collective; errors as `DistributedFDSystem.init`'s.
    public init(_ problem: P1Problem, communicator: Communicator) throws {
        let asm = try P1Assembler(problem)  // the same on every rank: fails on all or none
        let mesh = problem.mesh
        let n = asm.vertexOfUnknown.count
        let dec = try BlockDecomposition(globalCounts: [1, n], ranks: communicator.size, rank: communicator.rank)
        let bounds = dec.boundaries[1]
        let sizes = (0..<communicator.size).map { bounds[$0 + 1] - bounds[$0] }
        let order = try PointPartition.coordinateBisection(asm.vertexOfUnknown.map { mesh.vertices[Int($0)] }, sizes: sizes)
        var newOf = [Int](repeating: 0, count: n)
        for (k, u) in order.enumerated() { newOf[u] = k }
        let r0 = dec.lower[1], local = dec.counts[1]
        func owned(_ serial: Int) -> Bool { newOf[serial] >= r0 && newOf[serial] < r0 + local }
        var builder = COOBuilder(rows: local, columns: n)
        var rhs = [Double](repeating: 0, count: local)
        var lumped = [Double](repeating: 0, count: local)
        var anyReaction = false
        var triangles = 0
        try communicator.collectively("assembly") {
            for t in 0..<mesh.triangleCount {
                let tri = mesh.triangles[t]
                let touches = (0..<3).contains { i in
                    let u = asm.unknownOfVertex[Int(tri[i])]
                    return u >= 0 && owned(Int(u))
                }
                guard touches else { continue }
                triangles += 1
                let e = try asm.element(t)
                if e.hasReaction { anyReaction = true }
                for i in 0..<3 {
                    let ui = Int(asm.unknownOfVertex[e.vertices[i]])
                    guard ui >= 0, owned(ui) else { continue }
                    let row = newOf[ui] - r0
                    lumped[row] += e.area / 3
                    rhs[row] += e.load[i]
                    for j in 0..<3 {
                        let uj = Int(asm.unknownOfVertex[e.vertices[j]])
                        if uj >= 0 { builder.add(row, newOf[uj], e.matrix[i][j]) } else { rhs[row] -= e.matrix[i][j] * asm.dirichletValues[e.vertices[j]] }
                    }
                }
            }
        }
        asm.addNeumannData(wanted: owned) { u, v in rhs[newOf[u] - r0] += v }
        let rows = builder.build()
        var values = rows.values
        let columns = rows.columnIndices.map { Int($0) }
        let singular = try communicator.allreduce(anyReaction ? 1 : 0, .max) == 0 && asm.hasNoDirichletVertex
        if singular {
            // As P1System: the load projected with the lumped mass, the serial unknown 0 pinned.
            try pinUnknown(newOf[0], firstRow: r0, rowPointers: rows.rowPointers, columns: columns, values: &values, rhs: &rhs,
                           weights: lumped, communicator: communicator)
        }
        matrix = try DistributedCSRMatrix(localRows: rows.rowPointers, globalColumns: columns, values: values, size: n,
                                          decomposition: dec, communicator: communicator)
        self.mesh = mesh
        self.rhs = rhs
        unknownCount = n
        nonzeroCount = Int(try communicator.allreduce(Double(columns.count)))
        isPinned = singular
        serialUnknown = order
        localTriangles = triangles
        vertexOfUnknown = asm.vertexOfUnknown
        dirichletValues = asm.dirichletValues
    }

    /// The mesh field of the gathered solution (zero mean when pinned). Collective.
    public func fullSolution(local x: [Double]) throws -> MeshField {
        try checkLocal(x)
        let gathered = try matrix.grid.allgatherWhole(x)
        var serial = [Double](repeating: 0, count: unknownCount)
        for (k, u) in serialUnknown.enumerated() { serial[u] = gathered[k] }
        return try P1System.field(mesh: mesh, unknowns: serial, vertexOfUnknown: vertexOfUnknown, dirichletValues: dirichletValues,
                                  pinned: isPinned)
    }
}
