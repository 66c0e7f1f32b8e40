import Foundation
import Testing
@testable import PDE
import TestSupport

@Suite struct GridBaselinesTests {
    @Test func finiteDifferencesAreExactForQuadraticsAndSecondOrder() throws {
        // u = x² + 3x − 1 on [0, 2]: −u″ = −2, the 3-point stencil is exact.
        let u = try PoissonGridBaselines1D.finiteDifference(source: { _ in -2 }, lower: 0, upper: 2, boundary: (-1, 9), points: 9)
        let x = PoissonGridBaselines1D.nodes(lower: 0, upper: 2, points: 9)
        #expect(maxAbsDifference(u, x.map { $0 * $0 + 3 * $0 - 1 }) < 1e-12)
        // u = sin 3x + x on [0, 1]: order 2.
        var h: [Double] = [], errors: [Double] = []
        for n in [17, 33, 65, 129] {
            let v = try PoissonGridBaselines1D.finiteDifference(source: { 9 * sin(3 * $0) }, lower: 0, upper: 1, boundary: (0, sin(3) + 1), points: n)
            let nodes = PoissonGridBaselines1D.nodes(lower: 0, upper: 1, points: n)
            h.append(1 / Double(n - 1))
            errors.append(maxAbsDifference(v, nodes.map { sin(3 * $0) + $0 }))
        }
        #expect(abs(observedOrder(h: h, errors: errors) - 2) < 0.1)
    }

    @Test func sineSeriesIsExactForASineModeAndConvergesOtherwise() throws {
        // u = sin 3πx + 2 + x: f = 9π² sin 3πx is one sine mode; the lift carries 2 + x.
        let pi = Double.pi
        let series = try PoissonGridBaselines1D.sineSpectral(source: { 9 * pi * pi * sin(3 * pi * $0) }, lower: 0, upper: 1,
                                                            boundary: (2, 3), points: 17)
        let test = (0..<101).map { Double($0) / 100 }
        #expect(maxAbsDifference(test.map { series($0) }, test.map { sin(3 * pi * $0) + 2 + $0 }) < 1e-12)
        // u = sin 10x on [0, 1]: f(1) ≠ 0, so only algebraic convergence, but it converges.
        var last = Double.infinity
        for n in [33, 129, 513] {
            let s = try PoissonGridBaselines1D.sineSpectral(source: { 100 * sin(10 * $0) }, lower: 0, upper: 1, boundary: (0, sin(10)), points: n)
            let e = test.map { abs(s($0) - sin(10 * $0)) }.max()!
            #expect(e < last / 4)
            last = e
        }
        #expect(throws: PDEError.self) { try PoissonGridBaselines1D.sineSpectral(source: { $0 }, lower: 0, upper: 1, boundary: (0, 0), points: 2) }
        #expect(throws: PDEError.self) { try PoissonGridBaselines1D.finiteDifference(source: { $0 }, lower: 1, upper: 1, boundary: (0, 0), points: 9) }
    }

    /// 2-D: the sine series is exact on a sine product, the 5-point differences converge at
    /// second order (observed order asserted), and bad grids are typed errors.
    @Test func twoDimensionalBaselines() throws {
        // u = sin 2x sin 3y on [0, π]²: Δu = −13u.
        let exact: (Double, Double) -> Double = { sin(2 * $0) * sin(3 * $1) }
        func error(_ method: PoissonGridBaselines2D.Method, _ n: Int, _ m: Int) throws -> Double {
            let u = try PoissonGridBaselines2D.solve(method, source: { -13 * exact($0, $1) }, lower: [0, 0], upper: [Double.pi, Double.pi], points: [n, m])
            var worst = 0.0
            for i in 0..<n { for j in 0..<m {
                worst = max(worst, abs(u[i * m + j] - exact(Double.pi * Double(i) / Double(n - 1), Double.pi * Double(j) / Double(m - 1))))
            } }
            return worst
        }
        #expect(try error(.sineSpectral, 17, 12) < 1e-13)
        let (coarse, fine) = (try error(.finiteDifference, 17, 21), try error(.finiteDifference, 33, 41))
        let order = log2(coarse / fine)
        #expect(order > 1.9 && order < 2.1, "observed order \(order) (\(coarse) → \(fine))")
        #expect(throws: PDEError.self) { try PoissonGridBaselines2D.solve(.finiteDifference, source: { _, _ in 0 }, lower: [0, 0], upper: [1, 1], points: [2, 9]) }
        #expect(throws: PDEError.self) { try PoissonGridBaselines2D.solve(.sineSpectral, source: { _, _ in 0 }, lower: [0, 1], upper: [1, 1], points: [9, 9]) }
        #expect(throws: PDEError.self) { try PoissonGridBaselines2D.solve(.sineSpectral, source: { _, _ in 0 }, lower: [0], upper: [1], points: [9]) }
    }
}
