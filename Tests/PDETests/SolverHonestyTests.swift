import Foundation
import Testing
@testable import PDE

/// Solvers never claim a convergence that did not happen; singular systems are recognised;
/// numeric re-setups equal fresh setups; preconditioner failures are reasons, not NaN.
@Suite struct SolverHonestyTests {
    /// The pure-Neumann anisotropic 3-D operator (7-point, weights 1, 0.1, 0.01 per axis):
    /// SPD on the complement of the constants, constant null space (zero row sums).
    func neumannAnisotropic3D(_ n: Int) -> CSRMatrix {
        let w = [1.0, 0.1, 0.01]
        var b = COOBuilder(rows: n * n * n, columns: n * n * n)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let r = i + n * (j + n * k)
            let idx = [i, j, k], strides = [1, n, n * n]
            var diag = 0.0
            for d in 0..<3 {
                if idx[d] > 0 { b.add(r, r - strides[d], -w[d]); diag += w[d] }
                if idx[d] + 1 < n { b.add(r, r + strides[d], -w[d]); diag += w[d] }
            }
            b.add(r, r, diag)
        } } }
        return b.build()
    }

    func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.normal() }
    }

    @Test func singularSystemWithInconsistentRightHandSideNeverConverges() throws {
        let a = neumannAnisotropic3D(12)
        #expect(ConstantNullSpace.isNullVector(of: a))
        let b = randomVector(a.rows, seed: 7)          // has a component along the constants
        #expect(ConstantNullSpace.component(of: b) > 1e-3 * Vectors.norm2(b))
        let gamg = ["coarse_size": "50"]
        for (method, pc, params) in [("cg", "none", [:]), ("cg", "jacobi", [:]), ("cg", "gamg", gamg), ("richardson", "gamg", gamg)] as [(String, String, [String: String])] {
            let options = IterativeOptions(relativeTolerance: 1e-10, maxIterations: 500)
            let solver = try LinearSolver(matrix: a, method: method, preconditioner: pc, options: options, parameters: params)
            let (_, rep) = try solver.solve(b)
            #expect(rep.reason == .inconsistentRightHandSide, "\(method)+\(pc): \(rep.reason)")
            #expect(!rep.reason.converged)
            #expect(rep.notes.contains { $0.contains("constant null space") })
            // Without the check, the solvers iterate — and still do not claim convergence.
            var unchecked = options
            unchecked.nullSpace = .none
            solver.options = unchecked
            let (_, rep2) = try solver.solve(b)
            #expect(!rep2.reason.converged, "\(method)+\(pc) without the null-space check: \(rep2.reason), true residual \(rep2.trueRelativeResidual)")
            #expect(rep2.trueRelativeResidual > 1e-10)
        }
    }

    @Test func projectedRightHandSideConvergesWithCGAndAMG() throws {
        let a = neumannAnisotropic3D(12)
        let b = randomVector(a.rows, seed: 7)
        var projected = b
        ConstantNullSpace.project(&projected)
        for pc in ["none", "jacobi", "gamg"] {
            let options = IterativeOptions(relativeTolerance: 1e-10, maxIterations: 2000, nullSpace: .project)
            let solver = try LinearSolver(matrix: a, method: "cg", preconditioner: pc, options: options, parameters: pc == "gamg" ? ["coarse_size": "50"] : [:])
            let (x, rep) = try solver.solve(b)
            #expect(rep.reason == .convergedRelative, "\(pc): \(rep.reason) \(rep.notes)")
            #expect(rep.notes.contains { $0.contains("projected onto the range") })
            #expect(try a.relativeResidual(x, projected) <= 1.0000001e-10)
            #expect(abs(x.reduce(0, +)) / Double(x.count) < 1e-12 * Vectors.maxAbs(x), "solution returned with zero mean")
        }
        // A consistent right-hand side is recognised as such and solved under the default policy.
        let (_, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-10, maxIterations: 2000)).solve(a, projected)
        #expect(rep.reason == .convergedRelative)
        #expect(rep.notes.contains { $0.contains("consistent") })
    }

    @Test func nonsingularMatricesAreNotMistakenForSingularOnes() {
        #expect(!ConstantNullSpace.isNullVector(of: poisson2DMatrix(8)))
        #expect(!ConstantNullSpace.isNullVector(of: laplacian1D(5)))
    }

    /// A recursive residual that claims convergence while the true one does not is reported
    /// as stagnation: an operator whose product drifts (a perturbation added after the first
    /// products) makes the two residuals disagree.
    @Test func recursiveConvergenceWithoutTrueConvergenceIsStagnation() throws {
        let a = laplacian1D(30)
        var calls = 0
        let drifting = ClosureOperator(size: 30) { x, y in
            a.apply(x, into: &y)
            calls += 1
            if calls > 40 { y[0] += 1e-3 * x[0] }   // the matrix changes under the solver
        }
        let b = [Double](repeating: 1, count: 30)
        let (_, rep) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-12, maxIterations: 500), maxResidualReplacements: 0)
            .solve(drifting, b)
        #expect(!rep.reason.converged || rep.trueRelativeResidual <= 1.0000001e-12, "\(rep.reason) with true residual \(rep.trueRelativeResidual)")
    }

    final class FailingPreconditioner: Preconditioner {
        let name = "failing"
        var calls = 0
        func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
            calls += 1
            if calls > 3 { throw PDEError.libraryFailure(library: "CHOLMOD", reason: "simulated solve failure") }
            for i in r.indices { z[i] = r[i] }
            return VectorKernels.dot(r, z)
        }
        func update(_ matrix: CSRMatrix) throws {}
    }

    @Test func preconditionerFailureIsAReasonNotNaN() throws {
        let a = poisson2DMatrix(10)
        let (x, rep) = try ConjugateGradient().solve(a, [Double](repeating: 1, count: a.rows), preconditioner: FailingPreconditioner())
        #expect(rep.reason == .preconditionerFailure)
        #expect(rep.notes.contains { $0.contains("simulated solve failure") })
        #expect(x.allSatisfy { $0.isFinite })
    }

    /// The numeric re-setup for new values on the same pattern gives the same hierarchy as a
    /// fresh setup: same iterations, same solution to rounding.
    @Test(arguments: ["gamg", "mg", "icc", "sor", "jacobi", "cholesky"])
    func numericResetupEqualsFreshSetup(pc: String) throws {
        let grid = try Grid.unit(dimension: 2, nodesPerAxis: 34)
        let layout = try GridUnknownLayout(grid: grid, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        let a = poisson2DMatrix(32, shift: 0.1)
        var shifted = a
        for i in 0..<shifted.rows {
            for k in shifted.rowPointers[i]..<shifted.rowPointers[i + 1] where Int(shifted.columnIndices[k]) == i {
                shifted.values[k] *= 1 + 0.3 * Double(i % 7) / 7
            }
        }
        let b = randomVector(a.rows, seed: 11)
        let params = ["gamg": ["coarse_size": "40"], "mg": ["coarse_size": "40"]][pc] ?? [:]
        let options = IterativeOptions(relativeTolerance: 1e-10, maxIterations: 1000)
        let reused = try LinearSolver(matrix: a, method: "cg", preconditioner: pc, options: options, layout: layout, parameters: params)
        _ = try reused.solve(b)
        try reused.update(shifted)
        let fresh = try LinearSolver(matrix: shifted, method: "cg", preconditioner: pc, options: options, layout: layout, parameters: params)
        let (x1, r1) = try reused.solve(b)
        let (x2, r2) = try fresh.solve(b)
        #expect(r1.reason == .convergedRelative && r2.reason == .convergedRelative)
        #expect(r1.iterations == r2.iterations, "\(pc): \(r1.iterations) vs \(r2.iterations)")
        #expect(maxAbsDifference(x1, x2) <= 1e-10 * Vectors.maxAbs(x2), "\(pc)")
        // Another pattern is refused with a typed error.
        #expect(throws: PDEError.self) { try reused.update(poisson2DMatrix(31)) }
    }

    @Test func registryRefusesUnknownNamesAndParameters() throws {
        let a = poisson2DMatrix(6)
        #expect { try LinearSolver(matrix: a, method: "gmres") } throws: { "\($0)".contains("gmres") && "\($0)".contains("cg") }
        #expect { try LinearSolver(matrix: a, preconditioner: "ilu") } throws: { "\($0)".contains("ilu") && "\($0)".contains("gamg") }
        #expect { try LinearSolver(matrix: a, preconditioner: "sor", parameters: ["omega": "2.5"]) } throws: { "\($0)".contains("omega") }
        #expect { try LinearSolver(matrix: a, preconditioner: "jacobi", parameters: ["omega": "1"]) } throws: { "\($0)".contains("no parameters") }
        #expect { try LinearSolver(matrix: a, preconditioner: "mg") } throws: { "\($0)".contains("grid") }
        #expect { try LinearSolver(matrix: a, method: "preonly") } throws: { "\($0)".contains("preonly") }
        // Aliases resolve to the canonical names.
        #expect(try LinearSolver(matrix: a, preconditioner: "amg").preconditionerName == "gamg")
        #expect(try LinearSolver(matrix: a, method: "cholmod").methodName == "preonly")
        let direct = try LinearSolver(matrix: a, method: "cholmod")
        let (_, rep) = try direct.solve([Double](repeating: 1, count: a.rows))
        #expect(rep.reason == .convergedRelative && rep.iterations == 1)
    }
}
