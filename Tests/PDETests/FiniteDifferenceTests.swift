import Foundation
import Testing
@testable import PDE

/// Manufactured solutions of product form u = Π φ(x_d) for the finite-difference tests,
/// with f derived from φ, φ', φ'' and an analytic coefficient: f = −∇a·∇u − aΔu + c u.
struct ProductSolution {
    var phi: @Sendable (Double) -> Double
    var dphi: @Sendable (Double) -> Double
    var ddphi: @Sendable (Double) -> Double

    static let sinexp = ProductSolution(
        phi: { t in sin(.pi * t) * exp(t) },
        dphi: { t in exp(t) * (sin(.pi * t) + .pi * cos(.pi * t)) },
        ddphi: { t in exp(t) * ((1 - .pi * .pi) * sin(.pi * t) + 2 * .pi * cos(.pi * t)) })
    /// cos(πt): zero derivative at 0 and 1 (pure Neumann).
    static let cosine = ProductSolution(phi: { t in cos(.pi * t) }, dphi: { t in -.pi * sin(.pi * t) },
                                        ddphi: { t in -.pi * .pi * cos(.pi * t) })
    /// sin(2πt + 0.3): periodic on [0, 1].
    static let periodic = ProductSolution(phi: { t in sin(2 * .pi * t + 0.3) }, dphi: { t in 2 * .pi * cos(2 * .pi * t + 0.3) },
                                          ddphi: { t in -4 * .pi * .pi * sin(2 * .pi * t + 0.3) })

    func problem(dimension: Int, lower: Double = 0, upper: Double = 1,
                 a: @escaping @Sendable ([Double]) -> Double = { _ in 1 },
                 gradA: @escaping @Sendable ([Double]) -> [Double] = { x in [Double](repeating: 0, count: x.count) },
                 c: Double = 0) -> AnalyticProblem {
        let s = self
        let u: @Sendable ([Double]) -> Double = { x in x.reduce(1) { $0 * s.phi($1) } }
        let grad: @Sendable ([Double]) -> [Double] = { x in
            (0..<x.count).map { d in (0..<x.count).reduce(1.0) { $0 * ($1 == d ? s.dphi(x[$1]) : s.phi(x[$1])) } }
        }
        let lap: @Sendable ([Double]) -> Double = { x in
            (0..<x.count).reduce(0.0) { acc, d in acc + (0..<x.count).reduce(1.0) { $0 * ($1 == d ? s.ddphi(x[$1]) : s.phi(x[$1])) } }
        }
        let f: @Sendable ([Double]) -> Double = { x in
            let g = grad(x), ga = gradA(x)
            var dot = 0.0
            for d in 0..<x.count { dot += ga[d] * g[d] }
            return -dot - a(x) * lap(x) + c * u(x)
        }
        return AnalyticProblem(name: "test", summary: "", dimension: dimension,
                               domain: .box(lower: Array(repeating: lower, count: dimension), upper: Array(repeating: upper, count: dimension)),
                               solution: u, gradient: grad, coefficient: a, reaction: c, source: f)
    }
}

@Suite struct FiniteDifferenceTests {
    /// Solves on grids with `nodes` per axis and returns (h, L2 error, max error) per level,
    /// errors measured after removing the mean difference when the system was pinned.
    func errors(_ p: AnalyticProblem, nodes: [Int], kinds: [Face: DiffusionProblem.BoundaryKind] = [:]) throws -> [(Double, Double, Double)] {
        try nodes.map { n in
            let grid = try Grid.unit(dimension: p.dimension, nodesPerAxis: n)
            let sys = try DiffusionProblem(grid: grid, analytic: p, kinds: kinds).assemble()
            let x = try CholmodFactorization(matrix: sys.matrix).solve(sys.rhs)
            var field = try sys.fullSolution(x)
            if sys.isPinned {
                let exact = GridField(grid: grid, sampling: p.solution)
                let w = GridField.trapezoidWeights(grid)
                var shift = 0.0, vol = 0.0
                for i in 0..<w.count { shift += w[i] * (field.values[i] - exact.values[i]); vol += w[i] }
                for i in 0..<w.count { field.values[i] -= shift / vol }
            }
            let e = field.errors(against: p.solution)
            return (grid.spacing[0], e.l2, e.max)
        }
    }

    func expectOrder2(_ errs: [(Double, Double, Double)], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let h = errs.map(\.0)
        let l2 = observedOrder(h: h, errors: errs.map(\.1)), mx = observedOrder(h: h, errors: errs.map(\.2))
        #expect(abs(l2 - 2) <= 0.1, "\(label): L2 order \(l2), errors \(errs)", sourceLocation: sourceLocation)
        #expect(abs(mx - 2) <= 0.1, "\(label): max order \(mx), errors \(errs)", sourceLocation: sourceLocation)
    }

    @Test func laplacianIsTheClassicalStencil() throws {
        // 3×3 interior nodes on the unit square: h = 1/4, 1/h² = 16.
        let a = try FiniteDifference.laplacian(grid: try Grid.unit(dimension: 2, nodesPerAxis: 5))
        #expect(a.rows == 9 && a.nonzeroCount == 9 + 2 * 12)
        for i in 0..<9 { #expect(a[i, i] == 64) }
        #expect(a[0, 1] == -16 && a[0, 3] == -16 && a[4, 1] == -16 && a[4, 7] == -16 && a[2, 3] == 0)
        #expect(a.isSymmetric(tolerance: 0))
        let a3 = try FiniteDifference.laplacian(grid: try Grid.unit(dimension: 3, nodesPerAxis: 4))
        #expect(a3.rows == 8 && a3[0, 0] == 6 * 9 && a3[0, 4] == -9)
        let a1 = try FiniteDifference.laplacian(grid: try Grid.unit(dimension: 1, nodesPerAxis: 6))
        #expect(maxAbsDifference(a1.dense()[1], [-25, 50, -25, 0]) < 1e-12)
    }

    @Test(.enabled(if: Python.peersFolder != nil && Python.has("scipy"), "needs benchmarks/peers and python3 with scipy"))
    func laplacianMatchesPeerMatrixFile() throws {
        let dir = makeTemporaryFolder()
        let peers = try #require(Python.peersFolder)
        let script = "import sys; sys.path.insert(0, '\(peers)'); import poisson_matrix, scipy.io; scipy.io.mmwrite('\(dir)/p.mtx', poisson_matrix.build_matrix('poisson2d', 6))"
        let r = Python.run(script)
        #expect(r.status == 0, "\(r.output)")
        let peer = try MatrixMarket.read(dir + "/p.mtx")
        let ours = try FiniteDifference.laplacian(grid: try Grid.unit(dimension: 2, nodesPerAxis: 8))
        #expect(peer.rowPointers == ours.rowPointers && peer.columnIndices == ours.columnIndices)
        #expect(maxAbsDifference(peer.values, ours.values) <= 1e-12 * 49)
    }

    @Test func stencilOperatorEqualsMatrixForEveryBoundaryKind() throws {
        let a: @Sendable ([Double]) -> Double = { x in 1 + x.reduce(0) { $0 + $1 * $1 } }
        let cases: [(Int, [Face: DiffusionProblem.BoundaryKind])] = [
            (2, [:]), (2, [.xLow: .neumann, .yHigh: .neumann]), (2, [.xLow: .periodic, .xHigh: .periodic]),
            (2, [.xLow: .neumann, .xHigh: .neumann, .yLow: .neumann, .yHigh: .neumann]),
            (2, [.xLow: .periodic, .xHigh: .periodic, .yLow: .periodic, .yHigh: .periodic]),
            (3, [:]), (3, [.zLow: .neumann, .xHigh: .neumann]), (3, [.yLow: .periodic, .yHigh: .periodic, .zHigh: .neumann]),
            (1, [.xHigh: .neumann]),
        ]
        var g = SeededGenerator(seed: 42)
        for (dim, kinds) in cases {
            let p = ProductSolution.sinexp.problem(dimension: dim, a: a, c: 0.5)
            let grid = try Grid(counts: Array([7, 6, 5].prefix(dim)), lower: Array(repeating: 0, count: dim), upper: Array([1, 2, 1.5].prefix(dim)))
            let sys = try DiffusionProblem(grid: grid, analytic: p, kinds: kinds).assemble()
            #expect(sys.operatorMatrix.isSymmetric(tolerance: 1e-14), "\(dim)-D \(kinds)")
            #expect(sys.matrix.isSymmetric(tolerance: 1e-14))
            let x = (0..<sys.stencil.size).map { _ in g.normal() }
            var y1 = [Double](repeating: 0, count: x.count), y2 = y1
            sys.stencil.apply(x, into: &y1)
            sys.operatorMatrix.apply(x, into: &y2)
            #expect(maxAbsDifference(y1, y2) <= 1e-12 * Vectors.maxAbs(y2), "\(dim)-D \(kinds)")
            #expect(sys.stencil.diagonalEntries()! == sys.operatorMatrix.diagonal())
        }
    }

    @Test func dirichlet2DConvergesAtOrderTwo() throws {
        expectOrder2(try errors(ProductSolution.sinexp.problem(dimension: 2), nodes: [17, 33, 65]), "2-D Dirichlet")
    }

    @Test func dirichlet3DConvergesAtOrderTwo() throws {
        expectOrder2(try errors(ProductSolution.sinexp.problem(dimension: 3), nodes: [9, 17, 33]), "3-D Dirichlet")
    }

    @Test func oneDimensionalConvergesAtOrderTwo() throws {
        expectOrder2(try errors(ProductSolution.sinexp.problem(dimension: 1), nodes: [33, 65, 129, 257]), "1-D")
    }

    @Test func variableCoefficientConvergesAtOrderTwo() throws {
        // a = 1 + 0.5 sin(2πx) sin(2πy) with reaction c = 1; harmonic face means.
        let a: @Sendable ([Double]) -> Double = { x in 1 + 0.5 * sin(2 * .pi * x[0]) * sin(2 * .pi * x[1]) }
        let ga: @Sendable ([Double]) -> [Double] = { x in
            [.pi * cos(2 * .pi * x[0]) * sin(2 * .pi * x[1]), .pi * sin(2 * .pi * x[0]) * cos(2 * .pi * x[1])]
        }
        expectOrder2(try errors(ProductSolution.sinexp.problem(dimension: 2, a: a, gradA: ga, c: 1), nodes: [17, 33, 65, 129]), "variable a")
    }

    @Test func mixedNeumannDirichletConvergesAtOrderTwo() throws {
        let a: @Sendable ([Double]) -> Double = { x in exp(x[0] - x[1]) }
        let ga: @Sendable ([Double]) -> [Double] = { x in [exp(x[0] - x[1]), -exp(x[0] - x[1])] }
        let p = ProductSolution.sinexp.problem(dimension: 2, a: a, gradA: ga)
        expectOrder2(try errors(p, nodes: [17, 33, 65, 129], kinds: [.xLow: .neumann, .yHigh: .neumann]), "mixed Neumann")
    }

    @Test func pureNeumannWithNullSpaceConvergesAtOrderTwo() throws {
        let p = ProductSolution.cosine.problem(dimension: 2)
        let all: [Face: DiffusionProblem.BoundaryKind] = [.xLow: .neumann, .xHigh: .neumann, .yLow: .neumann, .yHigh: .neumann]
        let sys = try DiffusionProblem(grid: try Grid.unit(dimension: 2, nodesPerAxis: 9), analytic: p, kinds: all).assemble()
        #expect(sys.isPinned)
        // The operator annihilates constants; the pinned matrix is SPD (CHOLMOD succeeds).
        let ones = [Double](repeating: 1, count: sys.operatorMatrix.rows)
        #expect(Vectors.maxAbs(try sys.operatorMatrix.multiply(ones)) < 1e-10)
        _ = try CholmodFactorization(matrix: sys.matrix)
        expectOrder2(try errors(p, nodes: [17, 33, 65, 129], kinds: all), "pure Neumann")
    }

    @Test func periodicConvergesAtOrderTwo() throws {
        let p = ProductSolution.periodic.problem(dimension: 2)
        let all: [Face: DiffusionProblem.BoundaryKind] = [.xLow: .periodic, .xHigh: .periodic, .yLow: .periodic, .yHigh: .periodic]
        expectOrder2(try errors(p, nodes: [17, 33, 65, 129], kinds: all), "periodic")
        // Periodic in x, Dirichlet in y (not singular): φ(x)·sin(πy)exp(y) mixes both families.
        let mixed = ProductSolution.periodic.problem(dimension: 2, c: 2)
        expectOrder2(try errors(mixed, nodes: [17, 33, 65, 129], kinds: [.xLow: .periodic, .xHigh: .periodic]), "periodic x")
    }

    @Test func badInputsAreTypedErrors() throws {
        let grid = try Grid.unit(dimension: 2, nodesPerAxis: 9)
        let negative = DiffusionProblem(grid: grid, coefficient: { x in x[0] - 0.5 }, source: { _ in 1 },
                                        boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        #expect { try negative.assemble() } throws: { e in
            guard case PDEError.invalidValue(let key, _, let expected) = e else { return false }
            return key.contains("coefficient") && expected.contains("positive")
        }
        var oneSided = BoundaryConditions(dimension: 2, all: .dirichlet(value: 0))
        oneSided[.xLow] = .periodic
        #expect(throws: PDEError.self) { try DiffusionProblem(grid: grid, source: { _ in 1 }, boundary: oneSided).assemble() }
        let wrongDim = BoundaryConditions(dimension: 3, all: .dirichlet(value: 0))
        #expect(throws: PDEError.self) { try DiffusionProblem(grid: grid, source: { _ in 1 }, boundary: wrongDim).assemble() }
        let p3 = ProductSolution.sinexp.problem(dimension: 3)
        #expect(throws: PDEError.self) { try DiffusionProblem(grid: grid, analytic: p3) }
        var withValues = DiffusionProblem(grid: grid, source: { _ in 1 }, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        withValues.coefficientValues = [1, 2, 3]
        #expect(throws: PDEError.self) { try withValues.assemble() }
        #expect(throws: PDEError.self) { try Grid(counts: [9, -4], lower: [0, 0], upper: [1, 1]) }
        #expect(throws: PDEError.self) { try Grid(counts: [9, 9], lower: [0, 1], upper: [1, 1]) }
    }
}
