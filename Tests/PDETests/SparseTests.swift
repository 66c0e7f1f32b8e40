import Foundation
import Testing
@testable import PDE

@Suite struct SparseTests {
    @Test func cooBuilderSumsDuplicatesAndSortsColumns() throws {
        var b = COOBuilder(rows: 3, columns: 4)
        b.add(2, 3, 1); b.add(0, 2, 5); b.add(0, 0, 1); b.add(2, 3, 2); b.add(0, 2, -1); b.add(1, 1, 7)
        let a = b.build()
        #expect(a.rowPointers == [0, 2, 3, 4])
        #expect(a.columnIndices == [0, 2, 1, 3])
        #expect(a.values == [1, 4, 7, 3])
        #expect(a[0, 2] == 4 && a[1, 0] == 0 && a[2, 3] == 3)
    }

    @Test func spmvTransposeDiagonalMatchDense() throws {
        var rng = SeededGenerator(seed: 7)
        let rows = 40, cols = 30
        var b = COOBuilder(rows: rows, columns: cols)
        var dense = [[Double]](repeating: [Double](repeating: 0, count: cols), count: rows)
        for _ in 0..<300 {
            let i = Int(rng.next() % UInt64(rows)), j = Int(rng.next() % UInt64(cols)), v = rng.normal()
            b.add(i, j, v); dense[i][j] += v
        }
        let a = b.build()
        #expect(a.dense() == dense)
        let x = (0..<cols).map { _ in rng.normal() }
        let y = try a.multiply(x)
        for i in 0..<rows {
            let ref = (0..<cols).reduce(0.0) { $0 + dense[i][$1] * x[$1] }
            #expect(abs(y[i] - ref) <= 1e-13 * (1 + abs(ref)))
        }
        let t = a.transposed()
        #expect(t.rows == cols && t.columns == rows)
        for i in 0..<rows { for j in 0..<cols { #expect(t[j, i] == a[i, j]) } }
        #expect(a.diagonal() == (0..<cols).map { dense[$0][$0] })
        #expect(throws: PDEError.self) { try a.multiply([1, 2]) }
    }

    @Test func threadedSpmvEqualsSerialOnLargeMatrix() throws {
        let n = 200_000
        let a = laplacian1D(n)
        let x = (0..<n).map { Double($0 % 17) - 8 }
        var y = [Double](repeating: 0, count: n)
        a.apply(x, into: &y)
        for i in stride(from: 0, to: n, by: 997) {
            var ref = 2 * x[i]
            if i > 0 { ref -= x[i - 1] }
            if i + 1 < n { ref -= x[i + 1] }
            #expect(y[i] == ref)
        }
    }

    @Test func symmetryCheck() throws {
        #expect(laplacian1D(10).isSymmetric())
        var b = COOBuilder(rows: 2, columns: 2)
        b.add(0, 1, 1); b.add(1, 0, 1.0001); b.add(0, 0, 1)
        #expect(!b.build().isSymmetric())
        var c = COOBuilder(rows: 2, columns: 2)
        c.add(0, 1, 1)  // missing (1,0) entry
        #expect(!c.build().isSymmetric())
    }

    @Test func csrInitRejectsInconsistentArrays() {
        #expect(throws: PDEError.self) { try CSRMatrix(rows: 2, columns: 2, rowPointers: [0, 1], columnIndices: [0], values: [1]) }
        #expect(throws: PDEError.self) { try CSRMatrix(rows: 1, columns: 2, rowPointers: [0, 1], columnIndices: [5], values: [1]) }
        #expect(throws: PDEError.self) { try CSRMatrix(rows: 2, columns: 2, rowPointers: [0, 2, 1], columnIndices: [0], values: [1]) }
        #expect(throws: PDEError.self) { try CSRMatrix(rows: 1, columns: 3, rowPointers: [0, 2], columnIndices: [2, 1], values: [1, 1]) }
    }

    @Test func matrixMarketRoundTripGeneralAndSymmetric() throws {
        let dir = makeTemporaryFolder()
        var b = COOBuilder(rows: 3, columns: 2)
        b.add(0, 0, 1.0 / 3.0); b.add(2, 1, -2.5e-300); b.add(1, 0, 1e300)
        let a = b.build()
        try MatrixMarket.write(a, to: dir + "/g.mtx", comment: "test matrix")
        #expect(try MatrixMarket.read(dir + "/g.mtx") == a)
        let l = laplacian1D(6)
        try MatrixMarket.write(l, to: dir + "/s.mtx", symmetry: .symmetric)
        let text = try String(contentsOfFile: dir + "/s.mtx", encoding: .utf8)
        #expect(text.hasPrefix("%%MatrixMarket matrix coordinate real symmetric\n6 6 11\n"))
        #expect(try MatrixMarket.read(dir + "/s.mtx") == l)
        let v = [1.5, -2, 3e-17]
        try MatrixMarket.writeVector(v, to: dir + "/v.mtx")
        #expect(try MatrixMarket.readVector(dir + "/v.mtx") == v)
        #expect(throws: PDEError.self) { try MatrixMarket.write(a, to: dir + "/x.mtx", symmetry: .symmetric) }
    }

    @Test(.enabled(if: Python.has("scipy"), "needs python3 with scipy (scripts/install-python-deps)"))
    func matrixMarketReadsScipyOutput() throws {
        let dir = makeTemporaryFolder()
        let script = """
        import scipy.sparse as sp, scipy.io as io
        a = sp.diags([[-1.0]*4, [2.0]*5, [-1.0]*4], [-1, 0, 1]).tocsr()
        io.mmwrite('\(dir)/scipy.mtx', a, symmetry='symmetric')
        """
        let r = Python.run(script)
        #expect(r.status == 0, "\(r.output)")
        #expect(try MatrixMarket.read(dir + "/scipy.mtx") == laplacian1D(5))
    }

    @Test(arguments: [
        ("", "empty file"),
        ("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1\n", "unsupported field"),
        ("%%MatrixMarket matrix coordinate real hermitian\n1 1 1\n1 1 1\n", "unsupported symmetry"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n2 2 1\n", "file ends after 2 of 3"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n", "row index 3 outside"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 abc\n", "is not a number"),
        ("%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1\n", "above the diagonal"),
        ("hello\n", "expected a header"),
        ("%%MatrixMarket matrix coordinate real general\n2 2\n", "size line"),
    ])
    func matrixMarketRejectsMalformedFiles(content: String, message: String) throws {
        let dir = makeTemporaryFolder("mm-bad")
        let path = dir + "/bad.mtx"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try MatrixMarket.read(path)
            Issue.record("expected an error for: \(message)")
        } catch let e as PDEError {
            guard case .malformedFile(let p, _, let reason) = e else { Issue.record("wrong error \(e)"); return }
            #expect(p == path)
            #expect(reason.contains(message), "\(reason)")
        }
    }

    @Test func matrixMarketMissingFile() {
        #expect(throws: PDEError.fileNotFound(path: "/nonexistent/a.mtx")) { try MatrixMarket.read("/nonexistent/a.mtx") }
    }
}
