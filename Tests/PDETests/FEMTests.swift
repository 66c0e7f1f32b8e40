import Foundation
import Testing
@testable import PDE

@Suite struct FEMTests {
    func solve(_ p: P1Problem) throws -> MeshField {
        let sys = try p.assemble()
        #expect(sys.matrix.isSymmetric(tolerance: 1e-13))
        return try sys.fullSolution(try CholmodFactorization(matrix: sys.matrix).solve(sys.rhs))
    }

    @Test func diskConvergesAtOrdersTwoAndOne() throws {
        // a = 1 + x² + y², c = 1, u = eˣ cos y: exercises variable a, reaction and curved Dirichlet data.
        let p = try ProblemCatalogue.named("disk-variable")
        var h: [Double] = [], l2: [Double] = [], h1: [Double] = []
        for n in [6, 12, 24] {
            let mesh = try MeshGenerator.disk(resolution: n)
            let u = try solve(try P1Problem(mesh: mesh, analytic: p))
            let e = u.errors(against: p.solution, gradient: p.gradient)
            h.append(mesh.quality.maximumEdge); l2.append(e.l2); h1.append(e.h1)
        }
        let o2 = observedOrder(h: h, errors: l2), o1 = observedOrder(h: h, errors: h1)
        #expect(abs(o2 - 2) <= 0.15, "L2 order \(o2): \(l2)")
        #expect(abs(o1 - 1) <= 0.1, "H1 order \(o1): \(h1)")
    }

    @Test func diskPoissonByRefinementWithProjection() throws {
        let p = try ProblemCatalogue.named("disk-poisson")
        var mesh = try MeshGenerator.disk(resolution: 4)
        var h: [Double] = [], l2: [Double] = []
        for _ in 0..<3 {
            mesh = try mesh.refined(project: MeshGenerator.circleProjection())
            let e = try solve(try P1Problem(mesh: mesh, analytic: p)).errors(against: p.solution, gradient: p.gradient)
            h.append(mesh.quality.maximumEdge); l2.append(e.l2)
        }
        #expect(abs(observedOrder(h: h, errors: l2) - 2) <= 0.15, "\(l2)")
    }

    @Test func mixedNeumannOnRectangleConvergesAtOrderTwo() throws {
        let p = try ProblemCatalogue.named("diffusion2d-exp")
        var h: [Double] = [], l2: [Double] = []
        for n in [8, 16, 32] {
            let mesh = try MeshGenerator.rectangle(nx: n, ny: n)
            let problem = try P1Problem(mesh: mesh, analytic: p, neumannTags: [MeshGenerator.rectangleTags.xmin, MeshGenerator.rectangleTags.ymax])
            let e = try solve(problem).errors(against: p.solution, gradient: p.gradient)
            h.append(1.0 / Double(n)); l2.append(e.l2)
        }
        #expect(abs(observedOrder(h: h, errors: l2) - 2) <= 0.15, "\(l2)")
    }

    @Test func pureNeumannHandlesTheNullSpace() throws {
        let p = try ProblemCatalogue.named("neumann2d-cos")
        var h: [Double] = [], l2: [Double] = []
        for n in [8, 16, 32] {
            let mesh = try MeshGenerator.rectangle(nx: n, ny: n)
            let problem = try P1Problem(mesh: mesh, analytic: p, neumannTags: [1, 2, 3, 4])
            let sys = try problem.assemble()
            #expect(sys.isPinned)
            let u = try sys.fullSolution(try CholmodFactorization(matrix: sys.matrix).solve(sys.rhs))
            #expect(abs(u.integral()) < 1e-12)
            h.append(1.0 / Double(n)); l2.append(u.errors(against: p.solution, gradient: p.gradient).l2)
        }
        #expect(abs(observedOrder(h: h, errors: l2) - 2) <= 0.15, "\(l2)")
    }

    @Test func matricesAreSymmetricPositiveDefinite() throws {
        let mesh = try MeshGenerator.lShape(resolution: 3)
        let sys = try P1Problem(mesh: mesh, analytic: try ProblemCatalogue.named("lshape-smooth")).assemble()
        #expect(sys.matrix.isSymmetric(tolerance: 1e-14))
        _ = try CholmodFactorization(matrix: sys.matrix)  // throws if not SPD
        // Linear functions are reproduced exactly (patch test).
        let lin = P1Problem(mesh: mesh, source: { _ in 0 }, defaultBoundary: .dirichlet { x in 2 * x[0] - 3 * x[1] + 1 })
        let u = try solve(lin)
        for (v, x) in mesh.vertices.enumerated() { #expect(abs(u.values[v] - (2 * x.x - 3 * x.y + 1)) < 1e-12) }
    }

    @Test func normsOfP1Functions() throws {
        let mesh = try MeshGenerator.rectangle(nx: 4, ny: 4)
        let f = MeshField(mesh: mesh, sampling: { x in x[0] })  // u = x: ∫u² = 1/3, ∫|∇u|² = 1
        #expect(abs(f.l2Norm() - (1.0 / 3).squareRoot()) < 1e-12)
        #expect(abs(f.h1Seminorm() - 1) < 1e-12)
        #expect(abs(f.integral() - 0.5) < 1e-14)
        #expect(throws: PDEError.self) { try MeshField(mesh: mesh, values: [1, 2]) }
    }

    @Test func badInputs() throws {
        let mesh = try MeshGenerator.rectangle(nx: 2, ny: 2)
        let negative = P1Problem(mesh: mesh, coefficient: { _ in -1 }, source: { _ in 1 })
        #expect { try negative.assemble() } throws: { e in "\(e)".contains("positive") }
        var periodic = P1Problem(mesh: mesh, source: { _ in 1 })
        periodic.boundary[1] = .periodic
        #expect(throws: PDEError.self) { try periodic.assemble() }
        var wrong = P1Problem(mesh: mesh, source: { _ in 1 })
        wrong.sourceValues = [1, 2]
        #expect(throws: PDEError.self) { try wrong.assemble() }
        #expect(throws: PDEError.self) { try P1Problem(mesh: mesh, analytic: try ProblemCatalogue.named("poisson3d-sinexp")) }
    }
}
