/// Sparse matrix–matrix products (Gustavson's row-by-row algorithm with a dense
/// accumulator), used by algebraic multigrid for prolongator smoothing and Galerkin
/// coarse operators.
extension CSRMatrix {
    /// C = A · B.
    public func multiplied(by b: CSRMatrix) throws -> CSRMatrix {
        guard columns == b.rows else {
            throw PDEError.shapeMismatch(what: "sparse product", expected: "inner dimensions equal (\(columns))", got: "\(b.rows)")
        }
        return CSRMatrix.product(self, b)
    }

    static func product(_ a: CSRMatrix, _ b: CSRMatrix) -> CSRMatrix {
        let m = a.rows, n = b.columns
        var rp = [Int](repeating: 0, count: m + 1)
        var cols: [Int32] = []
        var vals: [Double] = []
        cols.reserveCapacity(a.nonzeroCount * 2)
        vals.reserveCapacity(a.nonzeroCount * 2)
        var marker = [Int](repeating: -1, count: n)
        var acc = [Double](repeating: 0, count: n)
        var rowCols: [Int32] = []
        a.rowPointers.withUnsafeBufferPointer { arp in
        a.columnIndices.withUnsafeBufferPointer { aci in
        a.values.withUnsafeBufferPointer { ava in
        b.rowPointers.withUnsafeBufferPointer { brp in
        b.columnIndices.withUnsafeBufferPointer { bci in
        b.values.withUnsafeBufferPointer { bva in
            for i in 0..<m {
                rowCols.removeAll(keepingCapacity: true)
                var ka = arp[i]
                while ka < arp[i &+ 1] {
                    let k = Int(aci[ka])
                    let av = ava[ka]
                    var kb = brp[k]
                    while kb < brp[k &+ 1] {
                        let j = Int(bci[kb])
                        if marker[j] != i {
                            marker[j] = i
                            acc[j] = av * bva[kb]
                            rowCols.append(Int32(j))
                        } else {
                            acc[j] += av * bva[kb]
                        }
                        kb &+= 1
                    }
                    ka &+= 1
                }
                rowCols.sort()
                for c in rowCols {
                    cols.append(c)
                    vals.append(acc[Int(c)])
                }
                rp[i + 1] = cols.count
            }
        }}}}}}
        return CSRMatrix(unchecked: m, columns: n, rowPointers: rp, columnIndices: cols, values: vals)
    }

    /// The Galerkin triple product Pᵀ A P (A square, P tall).
    public func galerkinProduct(prolongator p: CSRMatrix) throws -> CSRMatrix {
        guard rows == columns, p.rows == rows else {
            throw PDEError.shapeMismatch(what: "Galerkin product PᵀAP", expected: "P with \(rows) rows", got: "\(p.rows)")
        }
        let ap = CSRMatrix.product(self, p)
        return CSRMatrix.product(p.transposed(), ap)
    }
}
