import Foundation
import Testing
@testable import PDE

@Suite struct CatalogueTests {
    /// A random point strictly inside the problem's domain (away from the L-shape corner).
    func randomPoint(_ p: AnalyticProblem, _ g: inout SeededGenerator) -> [Double] {
        switch p.domain {
        case let .box(lower, upper):
            return (0..<p.dimension).map { lower[$0] + (0.05 + 0.9 * g.uniform()) * (upper[$0] - lower[$0]) }
        case let .disk(center, radius):
            let r = 0.9 * radius * g.uniform().squareRoot(), t = 2 * Double.pi * g.uniform()
            return [center[0] + r * cos(t), center[1] + r * sin(t)]
        case .lShape:
            while true {
                let x = [-0.95 + 1.9 * g.uniform(), -0.95 + 1.9 * g.uniform()]
                if !(x[0] > -0.05 && x[1] < 0.05) && x[0] * x[0] + x[1] * x[1] > 0.01 { return x }
            }
        }
    }

    @Test(arguments: ProblemCatalogue.all.map(\.name))
    func sourceAndGradientMatchFiniteDifferences(name: String) throws {
        let p = try ProblemCatalogue.named(name)
        var g = SeededGenerator(seed: 99)
        let h = 1e-4
        for _ in 0..<20 {
            let x = randomPoint(p, &g)
            let grad = p.gradient(x)
            #expect(grad.count == p.dimension)
            var div = 0.0
            for d in 0..<p.dimension {
                var xp = x, xm = x
                xp[d] += h; xm[d] -= h
                let du = (p.solution(xp) - p.solution(xm)) / (2 * h)
                #expect(abs(du - grad[d]) <= 1e-6 * (1 + abs(grad[d])), "\(name): ∂u/∂x\(d) at \(x)")
                div += (p.coefficient(xp) * p.gradient(xp)[d] - p.coefficient(xm) * p.gradient(xm)[d]) / (2 * h)
            }
            let f = -div + p.reaction * p.solution(x)
            let scale = 1 + abs(f) + abs(div)
            #expect(abs(f - p.source(x)) <= 1e-5 * scale, "\(name): f at \(x): \(p.source(x)) vs \(f)")
        }
    }

    @Test func catalogueHasUniqueNamesAndCoversAllDomains() throws {
        let names = ProblemCatalogue.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.count >= 8)
        #expect(ProblemCatalogue.all.contains { $0.dimension == 1 })
        #expect(ProblemCatalogue.all.contains { $0.dimension == 3 })
        #expect(ProblemCatalogue.all.contains { if case .disk = $0.domain { return true } else { return false } })
        #expect(ProblemCatalogue.all.contains { $0.domain == .lShape })
        #expect { try ProblemCatalogue.named("nope") } throws: { e in
            guard case PDEError.invalidValue(let key, let value, let expected) = e else { return false }
            return key == "problem" && value.contains("nope") && expected.contains("poisson2d-sinexp")
        }
    }

    @Test func catalogueProblemsSolveAtSecondOrderOnGrids() throws {
        for name in ["poisson2d-sin", "diffusion2d-variable", "helmholtz2d-reaction", "diffusion2d-exp"] {
            let p = try ProblemCatalogue.named(name)
            var errs: [Double] = [], hs: [Double] = []
            for n in [17, 33, 65] {
                let grid = try Grid.unit(dimension: 2, nodesPerAxis: n)
                let sys = try DiffusionProblem(grid: grid, analytic: p).assemble()
                let u = try sys.fullSolution(try CholmodFactorization(matrix: sys.matrix).solve(sys.rhs))
                errs.append(u.errors(against: p.solution).max)
                hs.append(grid.spacing[0])
            }
            let order = observedOrder(h: hs, errors: errs)
            #expect(abs(order - 2) <= 0.15, "\(name): order \(order), errors \(errs)")
        }
    }
}
