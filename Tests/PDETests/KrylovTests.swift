import Foundation
import Testing
@testable import PDE

@Suite struct KrylovTests {

    func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.normal() }
    }

    @Test func cgOnOneDimensionalLaplacianStopsWithinNPlusOneIterations() throws {
        for n in [10, 33, 64] {
            let a = laplacian1D(n)
            let b = randomVector(n, seed: UInt64(n))
            let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-10, maxIterations: 10 * n)).solve(a, b)
            #expect(rep.reason == .convergedRelative)
            #expect(rep.iterations <= n + 1)
            #expect(rep.trueRelativeResidual <= 1.0000001e-10)
            #expect(try a.relativeResidual(x, b) <= 1.0000001e-10)
        }
    }

    /// Every registered preconditioner, built by name through the registry, with CG.
    @Test(arguments: SolverRegistry.preconditioners.map(\.name))
    func preconditionedCGMatchesCholmod(pc: String) throws {
        let a = poisson2DMatrix(24, shift: 0.5)
        let b = randomVector(a.rows, seed: 3)
        // The 24² interior unknowns of a 26² Dirichlet grid, for geometric multigrid.
        let layout = try GridUnknownLayout(grid: try Grid.unit(dimension: 2, nodesPerAxis: 26),
                                           boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        let parameters = ["sor": ["omega": "1.2"], "gamg": ["coarse_size": "20"], "mg": ["coarse_size": "20"]][pc] ?? [:]
        var history: [Int] = []
        let options = IterativeOptions(relativeTolerance: 1e-10, maxIterations: 2000, monitor: { it, _ in history.append(it) })
        let solver = try LinearSolver(matrix: a, method: "cg", preconditioner: pc, options: options, layout: layout, parameters: parameters)
        #expect(solver.preconditionerName == pc)
        let (x, rep) = try solver.solve(b)
        #expect(rep.reason == .convergedRelative)
        #expect(rep.trueRelativeResidual <= 1.0000001e-10)
        #expect(history == Array(0...rep.iterations))
        #expect(rep.residualHistory.count == rep.iterations + 1)
        let direct = try CholmodFactorization(matrix: a).solve(b)
        // κ(A) ≈ 300 here: the iterate is within ~κ·rtol of the direct solution.
        #expect(Vectors.distance(x, direct) / Vectors.norm2(direct) < 1e-7)
        if pc != "none" {
            let (_, plain) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-10, maxIterations: 2000)).solve(a, b)
            #expect(rep.iterations < plain.iterations)
        }
    }

    @Test func icZeroIsExactOnTridiagonalMatrices() throws {
        // No fill-in for tridiagonal A: IC(0) is the exact Cholesky factor, CG converges in one step.
        let a = laplacian1D(50)
        let b = randomVector(50, seed: 9)
        let (_, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-12)).solve(a, b, preconditioner: try IncompleteCholeskyPreconditioner(a))
        #expect(rep.iterations == 1)
        #expect(rep.reason == .convergedRelative)
    }

    @Test func icZeroShiftsAndRetriesOnNonMMatrix() throws {
        // SPD but with large positive off-diagonals: plain IC(0) meets a negative pivot.
        // Found by a search: SPD (smallest eigenvalue > 0.1) with a zero at (1,2)/(0,3), where
        // the exact factor has fill; IC(0) meets a non-positive pivot in row 3.
        let dense: [[Double]] = [[3, -2, -2, 0], [-2, 4, 0, 2], [-2, 0, 4, -3], [0, 2, -3, 4]]
        var bld = COOBuilder(rows: 4, columns: 4)
        for i in 0..<4 { for j in 0..<4 where dense[i][j] != 0 { bld.add(i, j, dense[i][j]) } }
        let a = bld.build()
        // Make sure it is SPD (CHOLMOD succeeds) and IC(0) still needs a shift.
        _ = try CholmodFactorization(matrix: a)
        let ic = try IncompleteCholeskyPreconditioner(a)
        #expect(ic.shift > 0)
        #expect(ic.notes.contains { $0.contains("shift") })
        let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-12)).solve(a, [1, 2, 3, 4], preconditioner: ic)
        #expect(rep.reason == .convergedRelative)
        #expect(rep.notes.contains { $0.contains("shift") })
        #expect(try a.relativeResidual(x, [1, 2, 3, 4]) < 1e-11)
    }

    @Test func breakdownOnIndefiniteMatrix() throws {
        var bld = COOBuilder(rows: 4, columns: 4)
        for (i, d) in [2.0, 1.0, -3.0, 1.0].enumerated() { bld.add(i, i, d) }
        let (_, rep) = try ConjugateGradient().solve(bld.build(), [1, 1, 1, 1])
        #expect(rep.reason == .breakdown)
        #expect(!rep.reason.converged)
    }

    /// A preconditioner that is not positive definite (negates every other entry).
    final class IndefinitePreconditioner: Preconditioner {
        let name = "bad"
        func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
            for i in 0..<r.count { z[i] = i % 2 == 0 ? r[i] : -3 * r[i] }
            return VectorKernels.dot(r, z)
        }
        func update(_ matrix: CSRMatrix) throws {}
    }

    @Test func indefinitePreconditionerIsReported() throws {
        let a = poisson2DMatrix(6)
        let (_, rep) = try ConjugateGradient().solve(a, randomVector(36, seed: 1), preconditioner: IndefinitePreconditioner())
        #expect(rep.reason == .indefinitePreconditioner || rep.reason == .breakdown)
        #expect(!rep.reason.converged)
        // With r = e_1 only odd entries: rᵀ M⁻¹ r < 0 at once.
        var b = [Double](repeating: 0, count: 36); b[1] = 1
        let (_, rep2) = try ConjugateGradient().solve(a, b, preconditioner: IndefinitePreconditioner())
        #expect(rep2.reason == .indefinitePreconditioner)
    }

    @Test func nanInRightHandSide() throws {
        var b = randomVector(10, seed: 2)
        b[4] = .nan
        let (_, rep) = try ConjugateGradient().solve(laplacian1D(10), b)
        #expect(rep.reason == .notANumber)
    }

    @Test func maxIterationsAndAbsoluteTolerance() throws {
        let a = poisson2DMatrix(16)
        let b = randomVector(a.rows, seed: 5)
        let (_, capped) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-12, maxIterations: 5)).solve(a, b)
        #expect(capped.reason == .divergedIterations)
        #expect(capped.iterations == 5)
        let (_, abs) = try ConjugateGradient(IterativeOptions(relativeTolerance: 0, absoluteTolerance: 1e-3)).solve(a, b)
        #expect(abs.reason == .convergedAbsolute)
        #expect(abs.residualHistory.last! <= 1e-3)
    }

    @Test func initialGuessAndWorkspaceReuse() throws {
        let a = poisson2DMatrix(10)
        let b = randomVector(a.rows, seed: 8)
        let exact = try CholmodFactorization(matrix: a).solve(b)
        let ws = ConjugateGradient.Workspace(size: a.rows)
        var x = exact
        let rep = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-8)).solve(a, b, x: &x, workspace: ws)
        #expect(rep.iterations == 0)
        var y = [Double](repeating: 0, count: a.rows)
        let rep2 = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-10)).solve(a, b, x: &y, workspace: ws)
        #expect(rep2.reason == .convergedRelative)
        #expect(throws: PDEError.self) { _ = try ConjugateGradient().solve(a, [1, 2, 3]) }
    }

    @Test func normTypes() throws {
        let a = poisson2DMatrix(12, shift: 1)
        let b = randomVector(a.rows, seed: 4)
        let m = try JacobiPreconditioner(a)
        for norm in IterativeOptions.Norm.allCases {
            let (x, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-9, norm: norm)).solve(a, b, preconditioner: m)
            #expect(rep.reason == .convergedRelative, "\(norm)")
            #expect(rep.residualHistory.last! <= 1e-9 * rep.residualHistory.first! * 1.0000001 || norm == .unpreconditioned)
            #expect(try a.relativeResidual(x, b) < 1e-7)
        }
    }

    @Test func badPreconditionerInputs() {
        var bld = COOBuilder(rows: 2, columns: 2)
        bld.add(0, 0, 1); bld.add(1, 1, -1)
        let a = bld.build()
        #expect(throws: PDEError.self) { _ = try JacobiPreconditioner(a) }
        #expect(throws: PDEError.self) { _ = try IncompleteCholeskyPreconditioner(a) }
        #expect(throws: PDEError.self) { _ = try SSORPreconditioner(laplacian1D(3), omega: 2.5) }
    }
}
