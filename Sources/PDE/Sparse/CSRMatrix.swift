import Foundation

/// A sparse matrix in compressed sparse row form: `Double` values, `Int32` column indices
/// (half the index bandwidth of `Int`), `Int` row pointers. Columns within a row are
/// sorted and unique (checked by the validating initializer; guaranteed by `COOBuilder`,
/// `MatrixMarket` and the assemblers).
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// `rows + 1` offsets: row i's entries are `rowPointers[i] ..< rowPointers[i + 1]`.
    public var rowPointers: [Int]
    /// Column of each stored entry (Int32), sorted and unique within a row.
    public var columnIndices: [Int32]
    public var values: [Double]

    /// Stored entries, explicit zeros included.
    public var nonzeroCount: Int { values.count }

    /// Builds a matrix from raw CSR arrays, checking that they are consistent.
    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Double]) throws {
        guard rows >= 0, columns >= 0 else {
            throw PDEError.invalidValue(key: "matrix size", value: "\(rows)×\(columns)", expected: "non-negative dimensions")
        }
        guard columns <= Int(Int32.max) else {
            throw PDEError.invalidValue(key: "columns", value: "\(columns)", expected: "at most \(Int32.max) (Int32 column indices)")
        }
        guard rowPointers.count == rows + 1 else {
            throw PDEError.shapeMismatch(what: "CSR row pointers", expected: "\(rows + 1) entries", got: "\(rowPointers.count)")
        }
        guard columnIndices.count == values.count else {
            throw PDEError.shapeMismatch(what: "CSR arrays", expected: "as many column indices as values (\(values.count))", got: "\(columnIndices.count)")
        }
        guard rowPointers.first == 0, rowPointers.last == values.count else {
            throw PDEError.invalidValue(key: "row pointers", value: "\(rowPointers.first ?? -1)…\(rowPointers.last ?? -1)", expected: "0…\(values.count)")
        }
        for r in 0..<rows where rowPointers[r] > rowPointers[r + 1] {
            throw PDEError.invalidValue(key: "row pointers[\(r + 1)]", value: "\(rowPointers[r + 1])", expected: "non-decreasing row pointers")
        }
        for c in columnIndices where c < 0 || Int(c) >= columns {
            throw PDEError.invalidValue(key: "column index", value: "\(c)", expected: "0..<\(columns)")
        }
        for r in 0..<rows where rowPointers[r] + 1 < rowPointers[r + 1] {
            for k in (rowPointers[r] + 1)..<rowPointers[r + 1] where columnIndices[k] <= columnIndices[k - 1] {
                throw PDEError.invalidValue(key: "column indices of row \(r)", value: "\(columnIndices[k - 1]), \(columnIndices[k])",
                                            expected: "strictly increasing columns within a row (use COOBuilder for unsorted or duplicate entries)")
            }
        }
        self.init(unchecked: rows, columns: columns, rowPointers: rowPointers, columnIndices: columnIndices, values: values)
    }

    /// Builds a matrix from arrays already known to be consistent (used by the assemblers).
    public init(unchecked rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
    }

    /// The n×n identity.
    public static func identity(_ n: Int) -> CSRMatrix {
        CSRMatrix(unchecked: n, columns: n, rowPointers: Array(0...n),
                  columnIndices: (0..<n).map { Int32($0) }, values: [Double](repeating: 1, count: n))
    }

    /// Entry (i, j), zero when not stored. O(log row length).
    public subscript(i: Int, j: Int) -> Double {
        var lo = rowPointers[i], hi = rowPointers[i + 1]
        let target = Int32(j)
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = columnIndices[mid]
            if c == target { return values[mid] }
            if c < target { lo = mid + 1 } else { hi = mid }
        }
        return 0
    }

    /// The main diagonal (zeros where not stored).
    public func diagonal() -> [Double] {
        let n = min(rows, columns)
        var d = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for k in rowPointers[i]..<rowPointers[i + 1] where Int(columnIndices[k]) == i {
                d[i] += values[k]
            }
        }
        return d
    }

    /// The transpose, with sorted columns.
    public func transposed() -> CSRMatrix {
        var counts = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { counts[Int(c) + 1] += 1 }
        for j in 0..<columns { counts[j + 1] += counts[j] }
        var next = counts
        var cols = [Int32](repeating: 0, count: nonzeroCount)
        var vals = [Double](repeating: 0, count: nonzeroCount)
        for i in 0..<rows {
            for k in rowPointers[i]..<rowPointers[i + 1] {
                let j = Int(columnIndices[k])
                let dst = next[j]
                cols[dst] = Int32(i)
                vals[dst] = values[k]
                next[j] += 1
            }
        }
        return CSRMatrix(unchecked: columns, columns: rows, rowPointers: counts, columnIndices: cols, values: vals)
    }

    /// True when the matrix is square and |a_ij − a_ji| ≤ tolerance · max|a| for all entries
    /// (an entry stored on one side only must be within the tolerance of zero).
    /// O(nnz · log(row length)), no allocation: every entry looks up its mirror by binary
    /// search in the (sorted) mirror row.
    public func isSymmetric(tolerance: Double = 1e-12) -> Bool {
        guard rows == columns else { return false }
        let tol = tolerance * Vectors.maxAbs(values)
        return forEachMirrorPair { _, _, a, b in abs(a - b) <= tol }
    }

    /// The largest |a_ij − a_ji| and where it is, relative to max|a| too: what `linsolve`
    /// reports before CG or CHOLMOD on a matrix that is not symmetric. Nil for a
    /// non-square matrix.
    public func largestAsymmetry() -> (difference: Double, relative: Double, row: Int, column: Int)? {
        guard rows == columns else { return nil }
        var worst = (difference: 0.0, row: 0, column: 0)
        _ = forEachMirrorPair { i, j, a, b in
            let d = abs(a - b)
            if d > worst.difference || d.isNaN { worst = (d, i, j) }
            return true
        }
        let scale = Vectors.maxAbs(values)
        return (worst.difference, scale > 0 ? worst.difference / scale : 0, worst.row, worst.column)
    }

    /// Calls `body(i, j, a_ij, a_ji)` for every stored off-diagonal entry (a_ji = 0 when not
    /// stored) until it returns false; returns whether every call returned true.
    private func forEachMirrorPair(_ body: (Int, Int, Double, Double) -> Bool) -> Bool {
        rowPointers.withUnsafeBufferPointer { rp in
            columnIndices.withUnsafeBufferPointer { ci in
                values.withUnsafeBufferPointer { va in
                    for i in 0..<rows {
                        var k = rp[i]
                        while k < rp[i &+ 1] {
                            let j = Int(truncatingIfNeeded: ci[k])
                            if j != i {
                                var lo = rp[j], hi = rp[j &+ 1]
                                let target = Int32(truncatingIfNeeded: i)
                                var mirror = 0.0
                                while lo < hi {
                                    let mid = (lo &+ hi) >> 1
                                    let c = ci[mid]
                                    if c == target { mirror = va[mid]; break }
                                    if c < target { lo = mid &+ 1 } else { hi = mid }
                                }
                                if !body(i, j, va[k], mirror) { return false }
                            }
                            k &+= 1
                        }
                    }
                    return true
                }
            }
        }
    }

    /// ‖b − A x‖₂ / ‖b‖₂ (‖b − A x‖₂ when b = 0), by the overflow-safe norm.
    public func relativeResidual(_ x: [Double], _ b: [Double]) throws -> Double {
        guard b.count == rows else {
            throw PDEError.shapeMismatch(what: "relative residual", expected: "b of length \(rows)", got: "\(b.count)")
        }
        let r = try multiply(x)
        let nb = Vectors.norm2(b)
        let d = Vectors.distance(r, b)
        return nb > 0 ? d / nb : d
    }

    /// y = A x (allocating form).
    public func multiply(_ x: [Double]) throws -> [Double] {
        guard x.count == columns else {
            throw PDEError.shapeMismatch(what: "matrix-vector product", expected: "vector of length \(columns)", got: "\(x.count)")
        }
        var y = [Double](repeating: 0, count: rows)
        apply(x, into: &y)
        return y
    }

    /// y = A x into a preallocated `y` (sizes are the caller's responsibility: `x.count ==
    /// columns`, `y.count == rows`). Threaded over row blocks for large matrices.
    public func apply(_ x: [Double], into y: inout [Double]) {
        precondition(x.count == columns && y.count == rows, "CSRMatrix.apply: size mismatch")
        let n = rows
        rowPointers.withUnsafeBufferPointer { rp in
            columnIndices.withUnsafeBufferPointer { ci in
                values.withUnsafeBufferPointer { va in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            let yBase = yp.baseAddress!
                            // ~1 ms chunks: tens of thousands of nonzeros each.
                            Parallel.forChunks(n, minimumPerChunk: 16384) { start, end in
                                CSRMatrix.spmvKernel(rp, ci, va, xp, yBase, start, end)
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func spmvKernel(_ rp: UnsafeBufferPointer<Int>, _ ci: UnsafeBufferPointer<Int32>,
                           _ va: UnsafeBufferPointer<Double>, _ x: UnsafeBufferPointer<Double>,
                           _ y: UnsafeMutablePointer<Double>, _ start: Int, _ end: Int) {
        let rpp = rp.baseAddress!, cip = ci.baseAddress!, vap = va.baseAddress!, xp = x.baseAddress!
        var i = start
        while i < end {
            var k = rpp[i]
            let ke = rpp[i &+ 1]
            var s = 0.0
            while k < ke {
                s += vap[k] * xp[Int(truncatingIfNeeded: cip[k])]
                k &+= 1
            }
            y[i] = s
            i &+= 1
        }
    }

    /// For a consistent singular system A x = b whose null space is the constants: projects
    /// b onto the range (removes Σb in proportion to `weights`, the discrete volumes) and
    /// pins unknown 0 (its row and column become the identity, b₀ = 0), which keeps the
    /// matrix symmetric positive definite. Used by the grid and mesh assemblers.
    public static func pinFirstUnknown(_ a: inout CSRMatrix, _ b: inout [Double], weights: [Double]) {
        let total = b.reduce(0, +), wtotal = weights.reduce(0, +)
        for u in 0..<b.count { b[u] -= total * weights[u] / wtotal }
        b[0] = 0
        pinFirstUnknown(&a)
    }

    /// Makes row and column 0 of `a` the identity's (values only; the pattern is kept), so
    /// a symmetric positive semidefinite matrix whose null vector has a nonzero first entry
    /// becomes positive definite.
    public static func pinFirstUnknown(_ a: inout CSRMatrix) {
        for i in 0..<a.rows {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] {
                let j = Int(a.columnIndices[k])
                if i == 0 || j == 0 { a.values[k] = (i == j) ? 1 : 0 }
            }
        }
    }

    /// A dense copy, row-major (for small matrices in tests and diagnostics).
    public func dense() -> [[Double]] {
        var d = [[Double]](repeating: [Double](repeating: 0, count: columns), count: rows)
        for i in 0..<rows {
            for k in rowPointers[i]..<rowPointers[i + 1] { d[i][Int(columnIndices[k])] += values[k] }
        }
        return d
    }
}
