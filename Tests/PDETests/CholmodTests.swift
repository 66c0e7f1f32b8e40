import Testing
@testable import PDE

@Suite struct CholmodTests {

    @Test(arguments: CholmodFactorization.Ordering.allCases)
    func solvesPoissonToRoundoff(ordering: CholmodFactorization.Ordering) throws {
        let a = poisson2DMatrix(30)
        var rng = SeededGenerator(seed: 1)
        let xTrue = (0..<a.rows).map { _ in rng.normal() }
        let b = try a.multiply(xTrue)
        let chol = try CholmodFactorization(matrix: a, ordering: ordering)
        let x = try chol.solve(b)
        // Condition number ~ 4/(π/31)² ≈ 400: expect ~1e-13 relative error.
        let err = maxAbsDifference(x, xTrue) / xTrue.map(abs).max()!
        #expect(err < 1e-12)
        #expect(chol.factorNonzeros >= a.rows)
    }

    @Test func analyzeOnceFactorizeTwice() throws {
        let a = poisson2DMatrix(12)
        let chol = try CholmodFactorization.analyze(a)
        #expect(throws: PDEError.self) { _ = try chol.solve([Double](repeating: 1, count: a.rows)) }
        try chol.factorize(a)
        var shifted = a
        for i in 0..<a.rows { for k in a.rowPointers[i]..<a.rowPointers[i + 1] where Int(a.columnIndices[k]) == i { shifted.values[k] += 3 } }
        let b = [Double](repeating: 1, count: a.rows)
        var x1 = [Double](repeating: 0, count: a.rows)
        try chol.solve(b, into: &x1)
        try chol.factorize(shifted)
        let x2 = try chol.solve(b)
        #expect(maxAbsDifference(try a.multiply(x1), b) < 1e-12)
        #expect(maxAbsDifference(try shifted.multiply(x2), b) < 1e-12)
        // A different pattern is rejected.
        #expect(throws: PDEError.self) { try chol.factorize(poisson2DMatrix(11)) }
    }

    @Test func indefiniteMatrixNamesFailingColumn() throws {
        var a = laplacian1D(8)
        // Make the diagonal at column 5 strongly negative: no Cholesky factor exists.
        for k in a.rowPointers[5]..<a.rowPointers[6] where a.columnIndices[k] == 5 { a.values[k] = -10 }
        do {
            _ = try CholmodFactorization(matrix: a, ordering: .natural)
            Issue.record("expected notPositiveDefinite")
        } catch let PDEError.notPositiveDefinite(column, reason) {
            #expect(column == 5)
            #expect(reason.contains("pivot"))
        }
    }

    @Test func rejectsNonSymmetricAndNonSquare() throws {
        var b = COOBuilder(rows: 2, columns: 2)
        b.add(0, 0, 2); b.add(1, 1, 2); b.add(0, 1, 1)
        #expect(throws: PDEError.self) { _ = try CholmodFactorization(matrix: b.build()) }
        let rect = COOBuilder(rows: 2, columns: 3).build()
        #expect(throws: PDEError.self) { _ = try CholmodFactorization(matrix: rect) }
        let chol = try CholmodFactorization(matrix: laplacian1D(4))
        #expect(throws: PDEError.self) { _ = try chol.solve([1, 2]) }
    }
}
