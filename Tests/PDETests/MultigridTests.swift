import Foundation
import Testing
@testable import PDE

@Suite struct MultigridTests {
    func system(_ name: String, nodes: [Int], kinds: [Face: DiffusionProblem.BoundaryKind] = [:]) throws -> (FDSystem, DiffusionProblem) {
        let p = try ProblemCatalogue.named(name)
        let grid = try Grid(counts: nodes, lower: Array(repeating: 0, count: nodes.count), upper: Array(repeating: 1, count: nodes.count))
        let problem = try DiffusionProblem(grid: grid, analytic: p, kinds: kinds)
        return (try problem.assemble(), problem)
    }

    func pcgIterations(_ sys: FDSystem, _ mg: GeometricMultigrid, rtol: Double = 1e-8) throws -> Int {
        let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: rtol, maxIterations: 200)).solve(sys.matrix, sys.rhs, preconditioner: mg)
        #expect(rep.reason == .convergedRelative)
        #expect(try sys.matrix.relativeResidual(x, sys.rhs) <= rtol * 1.0000001)
        return rep.iterations
    }

    @Test func interpolationIsExactForLinearFunctions() throws {
        for (fine, dims) in [([17, 13], 2), ([9, 10, 11], 3)] {
            let bc = BoundaryConditions(dimension: dims, all: .neumann(flux: 0))
            let fg = try Grid(counts: fine, lower: Array(repeating: 0, count: dims), upper: Array(repeating: 1, count: dims))
            let cg = try #require(GeometricMultigrid.coarsen(fg))
            let fl = try GridUnknownLayout(grid: fg, boundary: bc), cl = try GridUnknownLayout(grid: cg, boundary: bc)
            let p = GeometricMultigrid.interpolation(from: cl, to: fl)
            let lin: ([Double]) -> Double = { x in 1 + 2 * x[0] - x[1] + (x.count > 2 ? 0.5 * x[2] : 0) }
            let coarseValues = (0..<cl.unknownCount).map { lin(cg.position(linear: cl.node(ofUnknown: $0))) }
            let fineValues = try p.multiply(coarseValues)
            for u in 0..<fl.unknownCount {
                #expect(abs(fineValues[u] - lin(fg.position(linear: fl.node(ofUnknown: u)))) < 1e-12)
            }
        }
    }

    @Test func pcgIterationsAreBoundedIn2D() throws {
        var counts: [Int] = []
        for n in [33, 65, 129, 200] {  // 200: not a power of two plus one
            let (sys, _) = try system("poisson2d-sinexp", nodes: [n, n])
            let mg = try GeometricMultigrid(system: sys)
            counts.append(try pcgIterations(sys, mg))
        }
        #expect(counts.max()! <= 12, "\(counts)")
    }

    @Test func pcgIterationsAreBoundedIn3D() throws {
        var counts: [Int] = []
        for n in [9, 17, 33] {
            let (sys, _) = try system("poisson3d-sinexp", nodes: [n, n, n])
            let mg = try GeometricMultigrid(system: sys, options: { var o = GeometricMultigrid.Options(); o.coarseSize = 100; return o }())
            #expect(mg.levelSizes.count >= 2)
            counts.append(try pcgIterations(sys, mg))
        }
        #expect(counts.max()! <= 12, "\(counts)")
    }

    @Test func variableCoefficientsNeumannAndPeriodic() throws {
        for (name, kinds) in [("diffusion2d-variable", [:]), ("diffusion2d-exp", [Face.xLow: DiffusionProblem.BoundaryKind.neumann, .yHigh: .neumann]),
                              ("neumann2d-cos", [.xLow: .neumann, .xHigh: .neumann, .yLow: .neumann, .yHigh: .neumann]),
                              ("periodic2d", [.xLow: .periodic, .xHigh: .periodic, .yLow: .periodic, .yHigh: .periodic])] as [(String, [Face: DiffusionProblem.BoundaryKind])] {
            var counts: [Int] = []
            for n in [33, 65, 129] {
                let (sys, _) = try system(name, nodes: [n, n], kinds: kinds)
                counts.append(try pcgIterations(sys, try GeometricMultigrid(system: sys, options: { var o = GeometricMultigrid.Options(); o.coarseSize = 50; return o }())))
            }
            #expect(counts.max()! <= 14, "\(name): \(counts)")
        }
    }

    @Test func optionsChebyshevWCycleRediscretized() throws {
        let (sys, problem) = try system("diffusion2d-variable", nodes: [97, 97])
        var o = GeometricMultigrid.Options()
        o.coarseSize = 50
        o.smoother = .chebyshev(degree: 2)
        #expect(try pcgIterations(sys, try GeometricMultigrid(system: sys, options: o)) <= 14)
        o.smoother = .gaussSeidel
        o.cycle = .w
        #expect(try pcgIterations(sys, try GeometricMultigrid(system: sys, options: o)) <= 12)
        o.cycle = .v
        o.coarseOperator = .rediscretized
        #expect(try pcgIterations(sys, try GeometricMultigrid(system: sys, problem: problem, options: o)) <= 14)
        #expect(throws: PDEError.self) { _ = try GeometricMultigrid(system: sys, options: o) }
        o.smoother = .chebyshev(degree: 0)
        #expect(throws: PDEError.self) { _ = try GeometricMultigrid(system: sys, problem: problem, options: o) }
    }

    @Test func multigridAsSolverAndFullMultigrid() throws {
        let (sys, _) = try system("poisson2d-sinexp", nodes: [129, 129])
        let mg = try GeometricMultigrid(system: sys, options: { var o = GeometricMultigrid.Options(); o.coarseSize = 50; o.presmoothingSweeps = 2; o.postsmoothingSweeps = 2; return o }())
        let (x, rep) = try mg.solve(sys.rhs, options: IterativeOptions(relativeTolerance: 1e-10))
        #expect(rep.reason == .convergedRelative)
        #expect(rep.iterations <= 15, "\(rep.iterations)")
        let direct = try CholmodFactorization(matrix: sys.matrix).solve(sys.rhs)
        #expect(Vectors.distance(x, direct) / Vectors.norm2(direct) < 1e-8)
        // FMG alone reaches the discretization error: compare with the exact solution.
        let (xf, _) = try mg.solve(sys.rhs, options: IterativeOptions(relativeTolerance: 1e-10, maxIterations: 0), fullMultigrid: true)
        let p = try ProblemCatalogue.named("poisson2d-sinexp")
        let eFMG = try sys.fullSolution(xf).errors(against: p.solution).max
        let eExact = try sys.fullSolution(direct).errors(against: p.solution).max
        #expect(eFMG < 2 * eExact, "FMG error \(eFMG) vs discretization error \(eExact)")
    }
}
