import Foundation
import Testing
@testable import PDE

@Suite struct AMGTests {

    @Test func sparseProductsMatchDense() throws {
        var g = SeededGenerator(seed: 11)
        func random(_ m: Int, _ n: Int) -> CSRMatrix {
            var b = COOBuilder(rows: m, columns: n)
            for _ in 0..<(m * n / 3) { b.add(Int(g.next() % UInt64(m)), Int(g.next() % UInt64(n)), g.normal()) }
            return b.build()
        }
        let a = random(7, 9), c = random(9, 5)
        let p = try a.multiplied(by: c).dense()
        let da = a.dense(), dc = c.dense()
        for i in 0..<7 { for j in 0..<5 {
            let ref = (0..<9).reduce(0.0) { $0 + da[i][$1] * dc[$1][j] }
            #expect(abs(p[i][j] - ref) < 1e-12)
        } }
        #expect(throws: PDEError.self) { _ = try a.multiplied(by: a) }
        let s = poisson2DMatrix(4)
        let galerkin = try s.galerkinProduct(prolongator: random(16, 3))
        #expect(galerkin.isSymmetric(tolerance: 1e-12))
    }

    @Test func amgPCGIterationsAreBoundedUnderRefinement() throws {
        var counts: [Int] = []
        for n in [32, 64, 128] {
            let a = poisson2DMatrix(n)
            var g = SeededGenerator(seed: UInt64(n))
            let b = (0..<a.rows).map { _ in g.normal() }
            let amg = try SmoothedAggregationAMG(a, options: { var o = SmoothedAggregationAMG.Options(); o.coarseSize = 50; return o }())
            #expect(amg.levelSizes.count >= 3)
            #expect(amg.operatorComplexity < 2)
            let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-8)).solve(a, b, preconditioner: amg)
            #expect(rep.reason == .convergedRelative)
            #expect(try a.relativeResidual(x, b) <= 1.0000001e-8)
            counts.append(rep.iterations)
        }
        // h-independence: iteration counts stay small and do not grow like 1/h.
        #expect(counts.max()! <= 16, "\(counts)")
        #expect(counts.last! <= counts.first! + 4, "\(counts)")
    }

    @Test func amgPCGIterationsAreBoundedOnRefinedFEMMeshes() throws {
        var counts: [Int] = []
        let p = try ProblemCatalogue.named("disk-variable")
        var mesh = try MeshGenerator.disk(resolution: 8)
        for _ in 0..<3 {
            mesh = try mesh.refined(project: MeshGenerator.circleProjection())
            let sys = try P1Problem(mesh: mesh, analytic: p).assemble()
            let amg = try SmoothedAggregationAMG(sys.matrix, options: { var o = SmoothedAggregationAMG.Options(); o.coarseSize = 100; return o }())
            let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-8)).solve(sys.matrix, sys.rhs, preconditioner: amg)
            #expect(rep.reason == .convergedRelative)
            #expect(try sys.matrix.relativeResidual(x, sys.rhs) <= 1.0000001e-8)
            counts.append(rep.iterations)
        }
        #expect(counts.max()! <= 20, "\(counts)")
        #expect(counts.last! <= counts.first! + 5, "\(counts)")
    }

    @Test func amgAsStandaloneSolver() throws {
        let a = poisson2DMatrix(40)
        let b = [Double](repeating: 1, count: a.rows)
        let amg = try SmoothedAggregationAMG(a)
        let (x, rep) = try amg.solve(b, options: IterativeOptions(relativeTolerance: 1e-10, maxIterations: 200))
        #expect(rep.reason == .convergedRelative)
        #expect(rep.iterations < 60)
        let direct = try CholmodFactorization(matrix: a).solve(b)
        #expect(Vectors.distance(x, direct) / Vectors.norm2(direct) < 1e-8)
    }

    @Test func amgRejectsBadInput() {
        var b = COOBuilder(rows: 600, columns: 600)
        for i in 0..<600 { b.add(i, i, i == 300 ? -1 : 2) }
        #expect(throws: PDEError.self) { _ = try SmoothedAggregationAMG(b.build()) }
        #expect(throws: PDEError.self) { _ = try SmoothedAggregationAMG(COOBuilder(rows: 2, columns: 3).build()) }
    }
}
