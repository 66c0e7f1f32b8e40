/// −∇·(a∇u) + c·u = f on a triangle mesh with continuous piecewise-linear elements.
public struct P1Problem: Sendable {
    public var mesh: TriangleMesh
    /// Diffusion coefficient a(x) > 0, called with [x, y] at the triangles' edge midpoints.
    public var coefficient: @Sendable ([Double]) -> Double
    /// Reaction coefficient c(x) ≥ 0, called at Dunavant's quadrature points.
    public var reaction: @Sendable ([Double]) -> Double
    /// Source f(x), called at Dunavant's quadrature points.
    public var source: @Sendable ([Double]) -> Double
    /// Boundary condition per boundary tag; tags not listed get `defaultBoundary`.
    public var boundary: [Int: BoundaryCondition]
    public var defaultBoundary: BoundaryCondition
    /// Optional per-vertex values replacing `coefficient` / `source` (e.g. from NPY); the
    /// P1 interpolant of the values is then integrated.
    public var coefficientValues: [Double]?
    public var sourceValues: [Double]?

    /// A problem from closures called with [x, y] (a defaults to 1, c to 0); tags missing from
    /// `boundary` get `defaultBoundary`. Values are checked by `assemble()`, not here.
    public init(mesh: TriangleMesh, coefficient: @escaping @Sendable ([Double]) -> Double = { _ in 1 },
                reaction: @escaping @Sendable ([Double]) -> Double = { _ in 0 },
                source: @escaping @Sendable ([Double]) -> Double,
                boundary: [Int: BoundaryCondition] = [:], defaultBoundary: BoundaryCondition = .dirichlet(value: 0)) {
        self.mesh = mesh
        self.coefficient = coefficient
        self.reaction = reaction
        self.source = source
        self.boundary = boundary
        self.defaultBoundary = defaultBoundary
    }

    /// The problem of an analytic solution on `mesh`: Dirichlet data u everywhere, except
    /// tags listed in `neumannTags`, which get the flux a∇u·n of the exact solution.
    public init(mesh: TriangleMesh, analytic p: AnalyticProblem, neumannTags: Set<Int> = []) throws {
        guard p.dimension == 2 else {
            throw PDEError.shapeMismatch(what: "problem '\(p.name)'", expected: "a 2-D problem for a triangle mesh", got: "\(p.dimension)-D")
        }
        let c = p.reaction
        self.init(mesh: mesh, coefficient: p.coefficient, reaction: { _ in c }, source: p.source,
                  boundary: [:], defaultBoundary: .dirichlet(p.solution))
        for tag in neumannTags { boundary[tag] = .neumann(P1Problem.normalFlux(p)) }
    }

    /// Marker closure for Neumann data computed from an analytic gradient: the assembler
    /// calls it with the point and appends the outward normal as x[2], x[3].
    static func normalFlux(_ p: AnalyticProblem) -> @Sendable ([Double]) -> Double {
        { x in x.count >= 4 ? p.flux([x[0], x[1]], normal: [x[2], x[3]]) : 0 }
    }

    /// Assembles the P1 system (see `P1System`). Throws `PDEError.invalidValue` for a ≤ 0 or c < 0
    /// at a quadrature point or a periodic tag, `.shapeMismatch` for per-vertex arrays of the
    /// wrong length, `.invalidMesh` when every vertex is a Dirichlet vertex.
    public func assemble() throws -> P1System { try P1System(self) }
}

/// The assembled P1 system: SPD `matrix` over the free (non-Dirichlet) vertices.
///
/// Stiffness ∫ a∇φᵢ·∇φⱼ uses a at the three edge midpoints of each triangle (exact for
/// quadratic a); mass ∫ c φᵢφⱼ and load ∫ f φᵢ use Dunavant's degree-4 rule; Neumann data
/// ∫_Γ g φᵢ ds the 3-point Gauss rule on each edge (g receives the point and the outward
/// unit normal as [x, y, nx, ny]). Dirichlet vertices are eliminated into the right-hand
/// side, which keeps the matrix symmetric.
///
/// Null space: with no Dirichlet edge and c ≡ 0 the load is projected (its sum removed in
/// proportion to the lumped mass), vertex 0 is pinned (identity row and column), and
/// `fullSolution` shifts to zero mean ∫u = 0.
public struct P1System: Sendable {
    public let mesh: TriangleMesh
    /// The SPD matrix over the free vertices (stiffness plus mass), pinned when singular.
    public let matrix: CSRMatrix
    /// Load per unknown (source and Neumann data) with Dirichlet data eliminated into it
    /// (projected, entry 0 zeroed, when pinned).
    public let rhs: [Double]
    /// Free vertex of each unknown, and unknown of each vertex (−1 for Dirichlet vertices).
    public let vertexOfUnknown: [Int32]
    public let unknownOfVertex: [Int32]
    /// True when there was no Dirichlet vertex and c ≡ 0, so unknown 0 was pinned.
    public let isPinned: Bool
    private let dirichletValues: [Double]

    init(_ p: P1Problem) throws {
        let asm = try P1Assembler(p)
        let mesh = p.mesh
        let n = asm.vertexOfUnknown.count
        var builder = COOBuilder(rows: n, columns: n, reserve: 9 * mesh.triangleCount)
        var rhs = [Double](repeating: 0, count: n)
        var lumped = [Double](repeating: 0, count: mesh.vertexCount)
        var anyReaction = false
        for t in 0..<mesh.triangleCount {
            let e = try asm.element(t)
            if e.hasReaction { anyReaction = true }
            for i in 0..<3 {
                lumped[e.vertices[i]] += e.area / 3
                let ui = asm.unknownOfVertex[e.vertices[i]]
                guard ui >= 0 else { continue }
                rhs[Int(ui)] += e.load[i]
                for j in 0..<3 {
                    let uj = asm.unknownOfVertex[e.vertices[j]]
                    if uj >= 0 { builder.add(Int(ui), Int(uj), e.matrix[i][j]) } else { rhs[Int(ui)] -= e.matrix[i][j] * asm.dirichletValues[e.vertices[j]] }
                }
            }
        }
        asm.addNeumannData { u, v in rhs[u] += v }
        var matrix = builder.build()
        let singular = !anyReaction && asm.hasNoDirichletVertex
        if singular { CSRMatrix.pinFirstUnknown(&matrix, &rhs, weights: asm.vertexOfUnknown.map { lumped[Int($0)] }) }
        self.mesh = mesh
        self.matrix = matrix
        self.rhs = rhs
        self.vertexOfUnknown = asm.vertexOfUnknown
        self.unknownOfVertex = asm.unknownOfVertex
        self.isPinned = singular
        self.dirichletValues = asm.dirichletValues
    }

    /// Vertex values of the solution: unknowns, then Dirichlet values; shifted to zero mean
    /// when the operator was singular.
    public func fullSolution(_ x: [Double]) throws -> MeshField {
        guard x.count == vertexOfUnknown.count else {
            throw PDEError.shapeMismatch(what: "solution vector", expected: "\(vertexOfUnknown.count) unknowns", got: "\(x.count)")
        }
        return try Self.field(mesh: mesh, unknowns: x, vertexOfUnknown: vertexOfUnknown, dirichletValues: dirichletValues,
                              pinned: isPinned)
    }

    /// Vertex values from the unknowns (in `vertexOfUnknown` order) and the Dirichlet values,
    /// shifted to zero mean when `pinned`.
    static func field(mesh: TriangleMesh, unknowns x: [Double], vertexOfUnknown: [Int32], dirichletValues: [Double],
                      pinned: Bool) throws -> MeshField {
        var values = dirichletValues
        for (u, v) in vertexOfUnknown.enumerated() { values[Int(v)] = x[u] }
        var field = try MeshField(mesh: mesh, values: values)
        if pinned {
            let mean = field.integral() / field.mesh.areas.reduce(0, +)
            for i in 0..<values.count { field.values[i] -= mean }
        }
        return field
    }
}

/// What every P1 assembly shares, whole (`P1System`) or by rows (`DistributedP1System`): the
/// Dirichlet vertices and values, the numbering of the free vertices, and the element and
/// Neumann-edge integrals, so that both agree bit for bit.
struct P1Assembler {
    let problem: P1Problem
    let mesh: TriangleMesh
    /// Dirichlet value per vertex (0 at free vertices).
    let dirichletValues: [Double]
    let hasNoDirichletVertex: Bool
    /// Free vertex of each unknown, and unknown of each vertex (−1 for Dirichlet vertices).
    let vertexOfUnknown: [Int32]
    let unknownOfVertex: [Int32]
    let neumannEdges: [(TriangleMesh.BoundaryEdge, @Sendable ([Double]) -> Double)]

    /// Throws for per-vertex arrays of the wrong length, a periodic tag, or no free vertex.
    init(_ p: P1Problem) throws {
        let mesh = p.mesh
        let nv = mesh.vertexCount
        if let v = p.coefficientValues, v.count != nv {
            throw PDEError.shapeMismatch(what: "coefficient values", expected: "\(nv) (one per vertex)", got: "\(v.count)")
        }
        if let v = p.sourceValues, v.count != nv {
            throw PDEError.shapeMismatch(what: "source values", expected: "\(nv) (one per vertex)", got: "\(v.count)")
        }
        var isDirichlet = [Bool](repeating: false, count: nv)
        var dirichlet = [Double](repeating: 0, count: nv)
        var neumannEdges: [(TriangleMesh.BoundaryEdge, @Sendable ([Double]) -> Double)] = []
        for e in mesh.boundaryEdges {
            switch p.boundary[e.tag] ?? p.defaultBoundary {
            case .dirichlet(let g):
                for v in [e.v0, e.v1] where !isDirichlet[v] {
                    isDirichlet[v] = true
                    dirichlet[v] = g([mesh.vertices[v].x, mesh.vertices[v].y])
                }
            case .neumann(let g): neumannEdges.append((e, g))
            case .periodic:
                throw PDEError.invalidValue(key: "boundary tag \(e.tag)", value: "periodic", expected: "dirichlet or neumann on a triangle mesh")
            }
        }
        var unknownOf = [Int32](repeating: -1, count: nv)
        var vertexOf: [Int32] = []
        for v in 0..<nv where !isDirichlet[v] {
            unknownOf[v] = Int32(vertexOf.count)
            vertexOf.append(Int32(v))
        }
        guard !vertexOf.isEmpty else { throw PDEError.invalidMesh(reason: "every vertex is a Dirichlet vertex: nothing to solve for") }
        problem = p
        self.mesh = mesh
        dirichletValues = dirichlet
        hasNoDirichletVertex = !isDirichlet.contains(true)
        vertexOfUnknown = vertexOf
        unknownOfVertex = unknownOf
        self.neumannEdges = neumannEdges
    }

    /// Triangle t's stiffness-plus-mass matrix and load vector (its vertices' order), its
    /// vertices and area, and whether c ≠ 0 somewhere in it. Throws for a ≤ 0 or c < 0 at a
    /// quadrature point.
    func element(_ t: Int) throws -> (matrix: [[Double]], load: [Double], vertices: [Int], area: Double, hasReaction: Bool) {
        let p = problem
        let tri = mesh.triangles[t]
        let ids = [Int(tri[0]), Int(tri[1]), Int(tri[2])]
        let p0 = mesh.vertices[ids[0]], p1 = mesh.vertices[ids[1]], p2 = mesh.vertices[ids[2]]
        let area = TriangleMesh.signedArea(p0, p1, p2)
        // ∇φ_k = perp(opposite edge) / (2 area).
        let grads = [SIMD2(p1.y - p2.y, p2.x - p1.x), SIMD2(p2.y - p0.y, p0.x - p2.x), SIMD2(p0.y - p1.y, p1.x - p0.x)]
            .map { $0 / (2 * area) }
        func point(_ l: SIMD3<Double>) -> [Double] {
            let q = l[0] * p0 + l[1] * p1 + l[2] * p2
            return [q.x, q.y]
        }
        // ∫_T a  (midpoint rule, degree 2), or the P1 interpolant of the given values.
        var aInt = 0.0
        for (l, w) in TriangleQuadrature.midpoints {
            let a: Double
            if let av = p.coefficientValues { a = l[0] * av[ids[0]] + l[1] * av[ids[1]] + l[2] * av[ids[2]] }
            else { a = p.coefficient(point(l)) }
            guard a > 0, a.isFinite else {
                throw PDEError.invalidValue(key: "coefficient in triangle \(t) at \(point(l))", value: "\(a)", expected: "a positive finite diffusion coefficient")
            }
            aInt += w * a
        }
        aInt *= area
        var local = [[Double]](repeating: [0, 0, 0], count: 3)
        var load = [0.0, 0.0, 0.0]
        var anyReaction = false
        for i in 0..<3 { for j in 0..<3 { local[i][j] = aInt * (grads[i] * grads[j]).sum() } }
        for (l, w) in TriangleQuadrature.degree4 {
            let x = point(l)
            let c = p.reaction(x)
            guard c >= 0, c.isFinite else {
                throw PDEError.invalidValue(key: "reaction in triangle \(t) at \(x)", value: "\(c)", expected: "a finite c ≥ 0")
            }
            if c != 0 { anyReaction = true }
            let f: Double
            if let sv = p.sourceValues { f = l[0] * sv[ids[0]] + l[1] * sv[ids[1]] + l[2] * sv[ids[2]] } else { f = p.source(x) }
            for i in 0..<3 {
                load[i] += w * area * f * l[i]
                if c != 0 { for j in 0..<3 { local[i][j] += w * area * c * l[i] * l[j] } }
            }
        }
        return (local, load, ids, area, anyReaction)
    }

    /// The Neumann data ∫ g φ ds (3-point Gauss per edge; g gets [x, y, nx, ny] with the outward
    /// normal), handed to `add(unknown, value)` edge by edge for the free vertices `wanted`
    /// accepts (all by default).
    func addNeumannData(wanted: (Int) -> Bool = { _ in true }, _ add: (Int, Double) -> Void) {
        guard !neumannEdges.isEmpty else { return }
        let centroidOfMesh = mesh.vertices.reduce(SIMD2<Double>(0, 0), +) / Double(mesh.vertexCount)
        var edgeOwner: [UInt64: Int] = [:]
        for (t, tri) in mesh.triangles.enumerated() {
            for k in 0..<3 {
                let a = Int(tri[k]), b = Int(tri[(k + 1) % 3])
                edgeOwner[UInt64(min(a, b)) << 32 | UInt64(max(a, b))] = t
            }
        }
        for (e, g) in neumannEdges {
            let u0 = Int(unknownOfVertex[e.v0]), u1 = Int(unknownOfVertex[e.v1])
            let take0 = u0 >= 0 && wanted(u0), take1 = u1 >= 0 && wanted(u1)
            guard take0 || take1 else { continue }
            let a = mesh.vertices[e.v0], b = mesh.vertices[e.v1]
            let d = b - a
            let length = (d * d).sum().squareRoot()
            var normal = SIMD2(d.y, -d.x) / length
            // Outward: away from the owning triangle's centroid.
            let key = UInt64(min(e.v0, e.v1)) << 32 | UInt64(max(e.v0, e.v1))
            let inside: SIMD2<Double>
            if let t = edgeOwner[key] {
                let tri = mesh.triangles[t]
                inside = (mesh.vertices[Int(tri[0])] + mesh.vertices[Int(tri[1])] + mesh.vertices[Int(tri[2])]) / 3
            } else { inside = centroidOfMesh }
            if ((0.5 * (a + b) - inside) * normal).sum() < 0 { normal = -normal }
            for (s, w) in TriangleQuadrature.gauss3 {
                let x = a + s * d
                let gv = g([x.x, x.y, normal.x, normal.y])
                if take0 { add(u0, w * length * gv * (1 - s)) }
                if take1 { add(u1, w * length * gv * s) }
            }
        }
    }
}
