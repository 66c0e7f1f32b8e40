/// Collects (row, column, value) triplets in any order; `build()` sums duplicates and
/// returns a CSR matrix with sorted, unique columns per row. This is how assemblers
/// (finite differences, finite elements, Matrix Market) produce matrices.
public struct COOBuilder: Sendable {
    public let rows: Int
    public let columns: Int
    public private(set) var rowIndices: [Int32] = []
    public private(set) var columnIndices: [Int32] = []
    public private(set) var values: [Double] = []

    /// An empty rows × columns builder; `reserve` pre-sizes the three triplet arrays (e.g.
    /// (2d + 1)·n for a stencil) so `add` does not reallocate.
    public init(rows: Int, columns: Int, reserve: Int = 0) {
        self.rows = rows
        self.columns = columns
        rowIndices.reserveCapacity(reserve)
        columnIndices.reserveCapacity(reserve)
        values.reserveCapacity(reserve)
    }

    /// Triplets added so far, duplicates counted separately.
    public var entryCount: Int { values.count }

    /// Adds `value` at (i, j); duplicates are summed by `build()`. Indices must be in range
    /// (assemblers guarantee it; user-facing readers validate before calling).
    @inline(__always)
    public mutating func add(_ i: Int, _ j: Int, _ value: Double) {
        precondition(i >= 0 && i < rows && j >= 0 && j < columns, "COOBuilder.add: index out of range")
        rowIndices.append(Int32(truncatingIfNeeded: i))
        columnIndices.append(Int32(truncatingIfNeeded: j))
        values.append(value)
    }

    /// Sums duplicates and compresses to CSR (two counting-sort passes, O(nnz + n)).
    /// Explicit zeros that result from summation are kept (the sparsity pattern is
    /// structural, which keeps CHOLMOD's symbolic analysis reusable).
    public func build() -> CSRMatrix {
        let nnz = values.count
        // Pass 1: bucket by column, so that pass 2 (bucket by row, stable) leaves columns sorted.
        var colStart = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { colStart[Int(c) + 1] += 1 }
        for j in 0..<columns { colStart[j + 1] += colStart[j] }
        var byCol = [Int](repeating: 0, count: nnz)
        var next = colStart
        for k in 0..<nnz {
            let c = Int(columnIndices[k])
            byCol[next[c]] = k
            next[c] += 1
        }
        var rowStart = [Int](repeating: 0, count: rows + 1)
        for r in rowIndices { rowStart[Int(r) + 1] += 1 }
        for i in 0..<rows { rowStart[i + 1] += rowStart[i] }
        var order = [Int](repeating: 0, count: nnz)
        var nextRow = rowStart
        for k in byCol {
            let r = Int(rowIndices[k])
            order[nextRow[r]] = k
            nextRow[r] += 1
        }
        // Pass 3: merge duplicates within each row.
        var rp = [Int](repeating: 0, count: rows + 1)
        var ci = [Int32]()
        var va = [Double]()
        ci.reserveCapacity(nnz)
        va.reserveCapacity(nnz)
        for i in 0..<rows {
            var last: Int32 = -1
            for p in rowStart[i]..<rowStart[i + 1] {
                let k = order[p]
                let c = columnIndices[k]
                if c == last {
                    va[va.count - 1] += values[k]
                } else {
                    ci.append(c)
                    va.append(values[k])
                    last = c
                }
            }
            rp[i + 1] = ci.count
        }
        return CSRMatrix(unchecked: rows, columns: columns, rowPointers: rp, columnIndices: ci, values: va)
    }
}
