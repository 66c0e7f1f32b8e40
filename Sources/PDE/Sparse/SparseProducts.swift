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

extension CSRMatrix {
    /// c.values ← (A·B) on c's pattern, which must contain the pattern of A·B (c built by
    /// `product(a, b)` from matrices with the same patterns). `position` is scratch of at
    /// least `b.columns` entries. No allocation, no symbolic work.
    static func productValues(_ a: CSRMatrix, _ b: CSRMatrix, into c: inout CSRMatrix, position: inout [Int]) {
        let m = a.rows
        a.rowPointers.withUnsafeBufferPointer { arp in
        a.columnIndices.withUnsafeBufferPointer { aci in
        a.values.withUnsafeBufferPointer { ava in
        b.rowPointers.withUnsafeBufferPointer { brp in
        b.columnIndices.withUnsafeBufferPointer { bci in
        b.values.withUnsafeBufferPointer { bva in
        c.rowPointers.withUnsafeBufferPointer { crp in
        c.columnIndices.withUnsafeBufferPointer { cci in
        c.values.withUnsafeMutableBufferPointer { cva in
        position.withUnsafeMutableBufferPointer { pos in
            for i in 0..<m {
                var k = crp[i]
                while k < crp[i &+ 1] { pos[Int(truncatingIfNeeded: cci[k])] = k; cva[k] = 0; k &+= 1 }
                var ka = arp[i]
                while ka < arp[i &+ 1] {
                    let row = Int(truncatingIfNeeded: aci[ka])
                    let av = ava[ka]
                    var kb = brp[row]
                    while kb < brp[row &+ 1] {
                        cva[pos[Int(truncatingIfNeeded: bci[kb])]] += av * bva[kb]
                        kb &+= 1
                    }
                    ka &+= 1
                }
            }
        }}}}}}}}}}
    }

    /// True when `other` has the same size and sparsity pattern (row pointers and columns).
    public func hasSamePattern(as other: CSRMatrix) -> Bool {
        rows == other.rows && columns == other.columns && rowPointers == other.rowPointers && columnIndices == other.columnIndices
    }

    /// Throws a typed error unless `other` has this matrix's pattern (numeric re-setups).
    func requireSamePattern(_ other: CSRMatrix, _ what: String) throws {
        guard hasSamePattern(as: other) else {
            throw PDEError.shapeMismatch(what: what, expected: "a \(rows)×\(columns) matrix with the \(nonzeroCount)-entry sparsity pattern of the setup matrix",
                                         got: "\(other.rows)×\(other.columns) with \(other.nonzeroCount) entries\(other.rows == rows && other.nonzeroCount == nonzeroCount ? " in another pattern" : "")")
        }
    }
}

/// The Galerkin coarse operator Pᵀ A P with the patterns of A·P and Pᵀ(A P) kept, so a
/// matrix with new values on the same pattern (or a new P on the same pattern) is
/// multiplied without symbolic work: the numeric phase of multigrid re-setups.
struct GalerkinProduct {
    private(set) var ap: CSRMatrix
    private(set) var coarse: CSRMatrix
    private var position: [Int]

    /// Symbolic + numeric product; `r` is Pᵀ.
    init(a: CSRMatrix, p: CSRMatrix, r: CSRMatrix) {
        ap = CSRMatrix.product(a, p)
        coarse = CSRMatrix.product(r, ap)
        position = [Int](repeating: 0, count: max(p.columns, ap.columns))
    }

    /// Numeric phase for new values of A (and P, Pᵀ) on the patterns of the first product.
    mutating func recompute(a: CSRMatrix, p: CSRMatrix, r: CSRMatrix) -> CSRMatrix {
        CSRMatrix.productValues(a, p, into: &ap, position: &position)
        CSRMatrix.productValues(r, ap, into: &coarse, position: &position)
        return coarse
    }
}
