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

/// The P1 system of a `P1Problem` assembled by rows, with the mesh partitioned: the free
/// vertices are split by recursive coordinate bisection into the ranks' blocks and renumbered
/// so each rank's are consecutive; rank r integrates only the triangles touching its vertices
/// and keeps their rows — equal bit for bit to the same rows of `assemble()`, permuted.
///
/// Of the mesh, each rank keeps only its part (`localMesh`): every triangle belongs to one rank
/// (the owner of its free vertex of lowest distributed index; a triangle of Dirichlet vertices
/// only to rank t mod P), every boundary edge to the owner of its triangle, and a rank keeps its
/// triangles and edges with the vertices they use. The whole mesh the problem was built from
/// is not kept. A solution is available per rank (`localSolution`, `errors(of:against:)`: what
/// VTK pieces need, no gathering) or gathered (`gatheredSolution`, `fullSolution`), on which the
/// mesh is rebuilt from the parts exactly as it was (vertices, triangles and boundary edges in
/// their original order).
public struct DistributedP1System: DistributedDiscreteSystem {
    public let matrix: DistributedCSRMatrix
    public let rhs: [Double]
    public let unknownCount: Int
    public let nonzeroCount: Int
    public let isPinned: Bool
    /// The serial (`P1System`) unknown of each of this rank's unknowns.
    public let serialUnknown: [Int]
    /// How many triangles this rank integrated (its own and those its rows share with others).
    public let localTriangles: Int
    /// This rank's part of the mesh: its triangles and boundary edges, with the vertices they use
    /// numbered in order of first use (boundary tags kept); nil when it owns no triangle.
    public let localMesh: TriangleMesh?
    /// The vertex of the whole mesh of each vertex of this rank's part.
    public let localVertices: [Int]
    /// The triangle and boundary edge of the whole mesh of each of `localMesh`'s.
    public let localTriangleIds: [Int], localEdgeIds: [Int]
    /// Vertices, triangles and boundary edges of the whole mesh.
    public let globalVertexCount: Int, globalTriangleCount: Int, globalEdgeCount: Int
    /// Per local vertex: true where this rank is the one that reports it when gathering (each
    /// vertex of the whole mesh is reported by exactly one rank).
    let reportsVertex: [Bool]
    /// Per local vertex: its distributed unknown, or −1 for a Dirichlet vertex.
    let localUnknown: [Int]
    /// Per local vertex: its Dirichlet value (0 at free vertices).
    let localDirichlet: [Double]
    /// The coordinates of each of `localVertices` (also where this rank owns no triangle).
    public let localPoints: [SIMD2<Double>]
    /// This rank's boundary edges in local vertex numbers (also where it owns no triangle).
    let localEdges: [TriangleMesh.BoundaryEdge]
    /// Fetches the free local vertices owned by other ranks.
    let ghosts: GhostExchange

    /// Collective; errors as `DistributedFDSystem.init`'s.
    public init(_ problem: P1Problem, communicator: Communicator) throws {
        let asm = try P1Assembler(problem)  // the same on every rank: fails on all or none
        let mesh = problem.mesh
        let n = asm.vertexOfUnknown.count
        let p = communicator.size, me = communicator.rank
        let dec = try BlockDecomposition(globalCounts: [1, n], ranks: p, rank: me)
        let bounds = dec.boundaries[1]
        let sizes = (0..<p).map { bounds[$0 + 1] - bounds[$0] }
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
        self.rhs = rhs
        unknownCount = n
        nonzeroCount = Int(try communicator.allreduce(Double(columns.count)))
        isPinned = singular
        serialUnknown = Array(order[r0..<(r0 + local)])
        localTriangles = triangles

        // This rank's part of the mesh.
        let nv = mesh.vertexCount
        func distributed(_ v: Int) -> Int { let u = Int(asm.unknownOfVertex[v]); return u < 0 ? -1 : newOf[u] }
        func rankOfUnknown(_ k: Int) -> Int {
            var lo = 0, hi = p - 1
            while lo < hi { let mid = (lo + hi + 1) / 2; if bounds[mid] <= k { lo = mid } else { hi = mid - 1 } }
            return lo
        }
        var triangleOwner = [Int](repeating: 0, count: mesh.triangleCount)
        var vertexOwner = [Int](repeating: -1, count: nv)
        for (t, tri) in mesh.triangles.enumerated() {
            var lowest = Int.max
            for k in 0..<3 { let u = distributed(Int(tri[k])); if u >= 0 && u < lowest { lowest = u } }
            triangleOwner[t] = lowest == Int.max ? t % p : rankOfUnknown(lowest)
            for k in 0..<3 where vertexOwner[Int(tri[k])] < 0 { vertexOwner[Int(tri[k])] = triangleOwner[t] }
        }
        for v in 0..<nv where vertexOwner[v] < 0 { vertexOwner[v] = v % p }  // vertices of no triangle
        var triangleOfEdge: [UInt64: Int] = [:]
        func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(min(a, b)) << 32 | UInt64(max(a, b)) }
        for e in mesh.boundaryEdges { triangleOfEdge[key(e.v0, e.v1)] = -1 }
        for (t, tri) in mesh.triangles.enumerated() {
            for k in 0..<3 {
                let c = key(Int(tri[k]), Int(tri[(k + 1) % 3]))
                if triangleOfEdge[c] == -1 { triangleOfEdge[c] = t }
            }
        }
        var localOf = [Int32](repeating: -1, count: nv)
        var verts: [Int] = []
        func localVertex(_ v: Int) -> Int32 {
            if localOf[v] < 0 { localOf[v] = Int32(verts.count); verts.append(v) }
            return localOf[v]
        }
        var tris: [SIMD3<Int32>] = [], triIds: [Int] = []
        for (t, tri) in mesh.triangles.enumerated() where triangleOwner[t] == me {
            tris.append(SIMD3(localVertex(Int(tri[0])), localVertex(Int(tri[1])), localVertex(Int(tri[2]))))
            triIds.append(t)
        }
        var edges: [TriangleMesh.BoundaryEdge] = [], edgeIds: [Int] = []
        for (k, e) in mesh.boundaryEdges.enumerated() {
            let t = triangleOfEdge[key(e.v0, e.v1)] ?? -1
            guard (t >= 0 ? triangleOwner[t] : vertexOwner[e.v0]) == me else { continue }
            edges.append(.init(Int(localVertex(e.v0)), Int(localVertex(e.v1)), tag: e.tag))
            edgeIds.append(k)
        }
        for v in 0..<nv where vertexOwner[v] == me { _ = localVertex(v) }
        localPoints = verts.map { mesh.vertices[$0] }
        localEdges = edges
        localMesh = tris.isEmpty ? nil : try TriangleMesh(vertices: localPoints, triangles: tris, boundaryEdges: edges)
        localVertices = verts
        localTriangleIds = triIds
        localEdgeIds = edgeIds
        globalVertexCount = nv
        globalTriangleCount = mesh.triangleCount
        globalEdgeCount = mesh.boundaryEdges.count
        reportsVertex = verts.map { vertexOwner[$0] == me }
        localUnknown = verts.map(distributed)
        localDirichlet = verts.map { asm.dirichletValues[$0] }
        ghosts = try GhostExchange(needing: localUnknown.filter { $0 >= 0 }, boundaries: bounds, communicator: communicator)
    }

    /// The values at `localVertices` of this rank's part of a solution: its own unknowns, the
    /// free vertices owned by other ranks fetched from them, the Dirichlet values; shifted to
    /// zero mean over the whole mesh when pinned. Collective.
    public func localValues(local x: [Double]) throws -> [Double] {
        try checkLocal(x)
        let ghostValues = try ghosts.fetch(x)
        var ghostIndex: [Int: Int] = [:]
        for (k, u) in ghosts.indices.enumerated() { ghostIndex[u] = k }
        let r0 = matrix.grid.decomposition.lower[1]
        var values = localDirichlet
        for (i, u) in localUnknown.enumerated() where u >= 0 {
            values[i] = (u >= r0 && u < r0 + x.count) ? x[u - r0] : ghostValues[ghostIndex[u]!]
        }
        if isPinned {
            let (integrals, area) = try integralsAndArea(of: [values])
            for i in values.indices { values[i] -= integrals[0] / area }
        }
        return values
    }

    /// This rank's part of a solution as a field on `localMesh` (nil when it owns no triangle).
    /// Collective.
    public func localSolution(local x: [Double]) throws -> MeshField? {
        let values = try localValues(local: x)
        return try localMesh.map { try MeshField(mesh: $0, values: values) }
    }

    /// ∫ u of each field (values at `localVertices`) and the area, over the whole mesh from
    /// this rank's part, in one allreduce. Collective.
    func integralsAndArea(of fields: [[Double]]) throws -> (integrals: [Double], area: Double) {
        var sums = [Double](repeating: 0, count: fields.count + 1)
        if let m = localMesh {
            for (k, values) in fields.enumerated() { sums[k] = try MeshField(mesh: m, values: values).integral() }
            sums[fields.count] = m.areas.reduce(0, +)
        }
        try matrix.grid.communicator.allreduce(&sums)
        return (Array(sums.dropLast()), sums[fields.count])
    }

    /// Throws unless `values` has one entry per local vertex.
    func checkLocalValues(_ values: [Double]) throws {
        guard values.count == localVertices.count else {
            throw PDEError.shapeMismatch(what: "local solution values", expected: "\(localVertices.count) (one per local vertex)", got: "\(values.count)")
        }
    }

    /// The errors of a solution over the whole mesh from each rank's part (`localValues`): L² and
    /// H¹ by the serial rule on every rank's triangles, summed; the max over every rank's
    /// triangles' vertices. When pinned, `values` are first shifted to the exact solution's mean
    /// over the whole mesh. Collective. Throws for a count other than `localVertices.count`.
    public func errors(of values: inout [Double], against exact: AnalyticProblem) throws -> FieldErrors {
        try checkLocalValues(values)
        let comm = matrix.grid.communicator
        if isPinned {
            let exactValues = localPoints.map { exact.solution([$0.x, $0.y]) }
            let (integrals, area) = try integralsAndArea(of: [exactValues, values])
            for i in values.indices { values[i] += (integrals[0] - integrals[1]) / area }
        }
        var squares = [0.0, 0.0], largest = 0.0
        if let m = localMesh {
            let e = try MeshField(mesh: m, values: values).errors(against: exact)
            squares = [e.l2 * e.l2, e.h1 * e.h1]
            largest = e.max
        }
        try comm.allreduce(&squares)
        return FieldErrors(l2: squares[0].squareRoot(), max: try comm.allreduce(largest, .max), h1: squares[1].squareRoot())
    }

    /// The whole solution on `root` (nil elsewhere), its mesh rebuilt from every rank's part:
    /// the same vertices, triangles and boundary edges in the same order as the problem's mesh.
    /// Collective.
    public func gatheredSolution(local x: [Double], root: Int = 0) throws -> MeshField? {
        try gatheredSolution(values: try localValues(local: x), root: root)
    }

    /// The whole field on `root` (nil elsewhere) from every rank's values at its `localVertices`
    /// (e.g. `localValues` after `errors(of:against:)` aligned them). Collective. Throws for a
    /// count other than `localVertices.count`.
    public func gatheredSolution(values: [Double], root: Int = 0) throws -> MeshField? {
        try checkLocalValues(values)
        return try gather(values: values, root: root)
    }

    /// The whole field, on every rank (zero mean when pinned). Collective.
    public func fullSolution(local x: [Double]) throws -> MeshField {
        try gather(values: try localValues(local: x), root: nil)!
    }

    /// Every rank's part (reported vertices with their values, triangles, boundary edges with
    /// their ids) packed as doubles, gathered on `root` or on every rank (nil), and put back in
    /// the whole mesh's order.
    func gather(values: [Double], root: Int?) throws -> MeshField? {
        let comm = matrix.grid.communicator
        var pack: [Double] = [Double(reportsVertex.filter { $0 }.count), Double(localTriangleIds.count), Double(localEdgeIds.count)]
        for (i, v) in localVertices.enumerated() where reportsVertex[i] {
            let q = localPoints[i]
            pack += [Double(v), q.x, q.y, values[i]]
        }
        for (k, t) in localTriangleIds.enumerated() {
            let tri = localMesh!.triangles[k]
            pack += [Double(t), Double(localVertices[Int(tri[0])]), Double(localVertices[Int(tri[1])]), Double(localVertices[Int(tri[2])])]
        }
        for (k, id) in localEdgeIds.enumerated() {
            let e = localEdges[k]
            pack += [Double(id), Double(localVertices[e.v0]), Double(localVertices[e.v1]), Double(e.tag)]
        }
        let all: [Double]
        if let root {
            guard let gathered = try comm.gather(pack, root: root) else { return nil }
            all = gathered
        } else {
            all = try comm.allgather(pack)
        }
        var vertices = [SIMD2<Double>](repeating: .zero, count: globalVertexCount)
        var whole = [Double](repeating: 0, count: globalVertexCount)
        var triangles = [SIMD3<Int32>](repeating: .zero, count: globalTriangleCount)
        var edges = [TriangleMesh.BoundaryEdge](repeating: .init(0, 0, tag: 0), count: globalEdgeCount)
        var at = 0
        for _ in 0..<comm.size {
            let (nv, nt, ne) = (Int(all[at]), Int(all[at + 1]), Int(all[at + 2]))
            at += 3
            for _ in 0..<nv {
                let v = Int(all[at])
                vertices[v] = SIMD2(all[at + 1], all[at + 2])
                whole[v] = all[at + 3]
                at += 4
            }
            for _ in 0..<nt {
                triangles[Int(all[at])] = SIMD3(Int32(all[at + 1]), Int32(all[at + 2]), Int32(all[at + 3]))
                at += 4
            }
            for _ in 0..<ne {
                edges[Int(all[at])] = .init(Int(all[at + 1]), Int(all[at + 2]), tag: Int(all[at + 3]))
                at += 4
            }
        }
        return try MeshField(mesh: try TriangleMesh(vertices: vertices, triangles: triangles, boundaryEdges: edges), values: whole)
    }
}
