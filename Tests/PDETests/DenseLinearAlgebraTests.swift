import Foundation
import Testing
@testable import PDE

/// A random SPD matrix B Bᵀ + shift·I of size n.
private func randomSPD(_ n: Int, seed: UInt64, shift: Double = 0.1) -> DenseMatrix {
    var g = SeededGenerator(seed: seed)
    let b = DenseMatrix(rows: n, columns: n) { _, _ in g.normal() }
    var a = b.gram()
    a.addToDiagonal(shift)
    return a
}

private func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite("Dense linear algebra (LAPACKE/CBLAS)")
struct DenseLinearAlgebraTests {
    @Test("Cholesky: L Lᵀ = A, solves, log-determinant equals the eigenvalues' and LU's")
    func cholesky() throws {
        for (n, seed) in [(1, 1 as UInt64), (7, 2), (60, 3)] {
            let a = randomSPD(n, seed: seed)
            let c = try CholeskyFactorization(a)
            #expect(c.jitter == 0 && c.attempts == 1)
            let llt = try c.lower.multiplied(by: c.lower, transposeOther: true)
            #expect(maxDifference(llt.values, a.values) <= 1e-12 * a.maxAbs)
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { #expect(c.lower[i, j] == 0) } }
            var g = SeededGenerator(seed: 99)
            let x = (0..<n).map { _ in g.normal() }
            let b = try a.apply(x)
            let solved = try c.solve(b)
            let eigen = try SymmetricEigendecomposition(a)
            let cond = eigen.values.last! / eigen.values.first!
            #expect(maxDifference(solved, x) <= 1e-14 * cond * (x.map(abs).max()! + 1))
            let logdetEigen = eigen.values.reduce(0) { $0 + log($1) }
            #expect(abs(c.logDeterminant - logdetEigen) <= 1e-10 * max(1, abs(logdetEigen)))
            let lu = try LUFactorization(a)
            #expect(abs(lu.logAbsDeterminant.value - logdetEigen) <= 1e-10 * max(1, abs(logdetEigen)))
            #expect(lu.logAbsDeterminant.sign == 1)
            // bᵀA⁻¹b and the explicit inverse.
            let q = try c.quadraticForm(b)
            #expect(abs(q - zip(b, x).reduce(0) { $0 + $1.0 * $1.1 }) <= 1e-10 * abs(q))
            let inv = try c.inverse()
            let identity = try a.multiplied(by: inv)
            #expect(maxDifference(identity.values, DenseMatrix.identity(n).values) <= 1e-12 * cond)
            // Matrix right-hand sides.
            let bb = DenseMatrix(rows: n, columns: 3) { i, j in Double(i + 1) * Double(j - 1) }
            let xx = try c.solve(bb)
            let back = try a.multiplied(by: xx)
            #expect(maxDifference(back.values, bb.values) <= 1e-11 * cond * bb.maxAbs)
        }
    }

    @Test("A non-SPD matrix is refused with the failing column and pivot; jitter rescues a semidefinite one")
    func notPositiveDefinite() throws {
        // Leading 2×2 minor positive, the 3×3 one negative: failing column 2.
        let a = try DenseMatrix(rows: 3, columns: 3, values: [4, 2, 0, 2, 5, 3, 0, 3, 1])
        do {
            _ = try CholeskyFactorization(a)
            Issue.record("an indefinite matrix was factored")
        } catch let PDEError.notPositiveDefinite(column, reason) {
            #expect(column == 2)
            // Schur complement: 1 − [0 3] [[4 2][2 5]]⁻¹ [0 3]ᵀ = 1 − 9·4/16 = −1.25.
            #expect(reason.contains("-1.25"))
            #expect(reason.contains("order 3"))
        }
        // A rank-one matrix v vᵀ: singular; the jitter rule makes it factorable and says so.
        let v: [Double] = [1, 2, 3, 4]
        let r1 = DenseMatrix(rows: 4, columns: 4) { v[$0] * v[$1] }
        #expect(throws: PDEError.self) { try CholeskyFactorization(r1) }
        let c = try CholeskyFactorization(r1, jitter: JitterRule(initial: 1e-10))
        #expect(c.jitter > 0 && c.attempts >= 2)
        #expect(throws: PDEError.self) { try CholeskyFactorization(DenseMatrix(rows: 2, columns: 3)) }
        #expect(throws: PDEError.self) { try CholeskyFactorization(DenseMatrix(rows: 2, columns: 2, values: [1, .nan, .nan, 1])) }
        #expect(throws: PDEError.self) { try DenseMatrix(rows: 2, columns: 2, values: [1, 2, 3]) }
    }

    @Test("Symmetric eigendecomposition: A V = V Λ with V orthonormal, ascending values")
    func eigen() throws {
        let a = randomSPD(40, seed: 5, shift: -3)   // indefinite is fine here
        let e = try SymmetricEigendecomposition(a)
        #expect(zip(e.values, e.values.dropFirst()).allSatisfy { $0 <= $1 })
        let av = try a.multiplied(by: e.vectors)
        let vl = try e.vectors.multiplied(by: DenseMatrix.diagonal(e.values))
        #expect(maxDifference(av.values, vl.values) <= 1e-11 * a.maxAbs)
        let vtv = e.vectors.gram(transpose: true)
        #expect(maxDifference(vtv.values, DenseMatrix.identity(40).values) <= 1e-12)
        #expect(throws: PDEError.self) { try SymmetricEigendecomposition(DenseMatrix(rows: 3, columns: 2)) }
    }

    @Test("LU solves a general matrix and its transpose; a singular one is refused with its column")
    func lu() throws {
        var g = SeededGenerator(seed: 7)
        let a = DenseMatrix(rows: 30, columns: 30) { _, _ in g.normal() }
        let x = (0..<30).map { Double($0) - 12.5 }
        let lu = try LUFactorization(a)
        #expect(maxDifference(try lu.solve(try a.apply(x)), x) <= 1e-10)
        #expect(maxDifference(try lu.solve(try a.apply(x, transpose: true), transpose: true), x) <= 1e-10)
        let singular = try DenseMatrix(rows: 3, columns: 3, values: [1, 2, 3, 2, 4, 6, 1, 0, 1])
        do {
            _ = try LUFactorization(singular)
            Issue.record("a singular matrix was factored")
        } catch let PDEError.singularMatrix(column, _) {
            #expect((0..<3).contains(column))
        }
    }

    @Test("Triangular solves, products and least squares agree with direct formulas")
    func triangularAndLeastSquares() throws {
        let a = randomSPD(12, seed: 11)
        let l = try CholeskyFactorization(a).lower
        let b = (0..<12).map { sin(Double($0)) }
        let y = try l.solveTriangular(b, lower: true)
        #expect(maxDifference(try l.apply(y), b) <= 1e-12)
        let z = try l.solveTriangular(b, lower: true, transpose: true)
        #expect(maxDifference(try l.apply(z, transpose: true), b) <= 1e-12)
        // Least squares against the normal equations on a well-conditioned tall matrix.
        var g = SeededGenerator(seed: 13)
        let m = DenseMatrix(rows: 40, columns: 6) { _, _ in g.normal() }
        let rhs = (0..<40).map { cos(Double($0)) }
        let ls = try LeastSquares.solve(m, rhs)
        let normal = try CholeskyFactorization(m.gram(transpose: true)).solve(try m.apply(rhs, transpose: true))
        #expect(maxDifference(ls, normal) <= 1e-12)
        #expect(throws: PDEError.self) { try LeastSquares.solve(m, [1, 2]) }
        #expect(throws: PDEError.self) { try m.multiplied(by: m) }
        #expect(throws: PDEError.self) { try LeastSquares.solve(DenseMatrix(rows: 3, columns: 2), [0, 0, 0]) }
        let dependent = try DenseMatrix(rows: 3, columns: 2, values: [1, 2, 2, 4, 3, 6])
        #expect(throws: PDEError.self) { try LeastSquares.solve(dependent, [1, 0, 0]) }
    }
}
