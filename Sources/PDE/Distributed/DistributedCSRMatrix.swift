/// An assembled sparse matrix distributed by contiguous blocks of rows (PETSc's MPIAIJ):
/// each rank keeps its rows split into the diagonal block (its own columns) and the
/// off-diagonal part, whose columns are fetched from their owners before every product.
///
/// The row blocks are the `grid`'s: a [1, N] box split along its second axis (every row is an
/// x-line of one value), so `DistributedConjugateGradient` and the preconditioners run on it
/// unchanged; reductions are `.fast` (one value per sum).
public final class DistributedCSRMatrix: DistributedLinearOperator {
    public let grid: DistributedGrid
    /// Global size N.
    public let size: Int
    /// This rank's rows, columns restricted to its own rows (local indices).
    public let diagonalBlock: CSRMatrix
    /// This rank's rows, columns compressed to `ghostColumns` (indices into them).
    public let offDiagonal: CSRMatrix
    /// The global columns of other ranks this rank's rows reference, ascending.
    public var ghostColumns: [Int] { ghosts.indices }
    /// Fetches the `ghostColumns` entries of x from their owners before every product.
    private let ghosts: GhostExchange
    private var ghostValues: [Double]

    /// Rows `rows` of the global `matrix` (every rank passes the whole matrix, e.g. read from a
    /// Matrix Market file, and keeps its block: rows split as evenly as possible). Collective.
    /// Throws for a non-square matrix or more ranks than rows.
    public convenience init(rowsOf matrix: CSRMatrix, communicator: Communicator) throws {
        guard matrix.rows == matrix.columns, matrix.rows >= 1 else {
            throw PDEError.shapeMismatch(what: "distributed matrix", expected: "a square matrix", got: "\(matrix.rows)×\(matrix.columns)")
        }
        let n = matrix.rows
        let dec = try BlockDecomposition(globalCounts: [1, n], ranks: communicator.size, rank: communicator.rank)
        let r0 = dec.lower[1], r1 = r0 + dec.counts[1]
        // This rank's rows with global columns.
        var rp = [0], ci = [Int](), vals = [Double]()
        for i in r0..<r1 {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] {
                ci.append(Int(matrix.columnIndices[k]))
                vals.append(matrix.values[k])
            }
            rp.append(ci.count)
        }
        try self.init(localRows: rp, globalColumns: ci, values: vals, size: n, decomposition: dec, communicator: communicator)
    }

    /// This rank's rows given by the caller (assembled per rank): row pointers, global column
    /// indices and values of the rows `decomposition` assigns (a [1, N] box split along axis 1).
    /// Collective (the ranks agree on who sends what).
    public init(localRows rp: [Int], globalColumns ci: [Int], values: [Double], size n: Int,
                decomposition dec: BlockDecomposition, communicator: Communicator) throws {
        guard dec.globalCounts == [1, n], rp.count == dec.counts[1] + 1, rp.last == ci.count, ci.count == values.count else {
            throw PDEError.shapeMismatch(what: "distributed matrix rows", expected: "\(dec.counts[1]) rows of a \(n)×\(n) matrix",
                                         got: "\(rp.count - 1) row pointers, \(ci.count) columns, \(values.count) values")
        }
        if let bad = ci.first(where: { $0 < 0 || $0 >= n }) {
            throw PDEError.invalidValue(key: "column index", value: "\(bad)", expected: "0..<\(n)")
        }
        grid = try DistributedGrid(decomposition: dec, communicator: communicator, reductions: .fast)
        size = n
        let r0 = dec.lower[1], local = dec.counts[1]
        ghosts = try GhostExchange(needing: ci, boundaries: dec.boundaries[1], communicator: communicator)
        let ghostColumns = ghosts.indices
        var ghostIndex = [Int: Int]()
        for (k, c) in ghostColumns.enumerated() { ghostIndex[c] = k }
        var drp = [0], dci = [Int32](), dv = [Double](), orp = [0], oci = [Int32](), ov = [Double]()
        for i in 0..<local {
            for k in rp[i]..<rp[i + 1] {
                let c = ci[k]
                if c >= r0 && c < r0 + local { dci.append(Int32(c - r0)); dv.append(values[k]) } else { oci.append(Int32(ghostIndex[c]!)); ov.append(values[k]) }
            }
            drp.append(dci.count); orp.append(oci.count)
        }
        diagonalBlock = try CSRMatrix(rows: local, columns: local, rowPointers: drp, columnIndices: dci, values: dv)
        offDiagonal = try CSRMatrix(rows: local, columns: max(1, ghostColumns.count), rowPointers: orp, columnIndices: oci, values: ov)
        ghostValues = [Double](repeating: 0, count: ghostColumns.count)
    }

    /// The local diagonal (Jacobi).
    public func localDiagonal() -> [Double]? { diagonalBlock.diagonal() }

    /// Fetches the ghost values of x from their owners (`GhostExchange`), then
    /// y = A_diag x + A_off x_ghost; the per-row x·y when asked.
    public func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, linePartials: UnsafeMutablePointer<Double>?) throws {
        try ghostValues.withUnsafeMutableBufferPointer { try ghosts.fetch(x, into: $0) }
        let n = grid.ownedCount
        diagonalBlock.rowPointers.withUnsafeBufferPointer { rp in
        diagonalBlock.columnIndices.withUnsafeBufferPointer { ci in
        diagonalBlock.values.withUnsafeBufferPointer { v in
        offDiagonal.rowPointers.withUnsafeBufferPointer { orp in
        offDiagonal.columnIndices.withUnsafeBufferPointer { oci in
        offDiagonal.values.withUnsafeBufferPointer { ov in
        ghostValues.withUnsafeBufferPointer { gv in
            for i in 0..<n {
                var s = 0.0
                var k = rp[i]
                while k < rp[i &+ 1] { s += v[k] * x[Int(ci[k])]; k &+= 1 }
                k = orp[i]
                while k < orp[i &+ 1] { s += ov[k] * gv[Int(oci[k])]; k &+= 1 }
                y[i] = s
                linePartials?[i] = x[i] * s
            }
        }}}}}}}
    }
}

/// Block Jacobi: each rank applies a serial preconditioner (IC(0), CHOLMOD, …) to its diagonal
/// block, ignoring the coupling to other ranks — PETSc's `-pc_type bjacobi`. No communication.
public final class DistributedBlockJacobi: DistributedPreconditioner {
    public let name: String
    /// The preconditioner of this rank's diagonal block.
    public let local: Preconditioner
    private var rBuffer: [Double], zBuffer: [Double]

    /// Block Jacobi on `matrix`'s diagonal blocks with `makeLocal` (e.g. `{ try
    /// IncompleteCholeskyPreconditioner($0) }`); its errors (non-positive pivots) are thrown.
    public init(_ matrix: DistributedCSRMatrix, name: String = "bjacobi", makeLocal: (CSRMatrix) throws -> Preconditioner) throws {
        self.name = name
        local = try makeLocal(matrix.diagonalBlock)
        rBuffer = [Double](repeating: 0, count: matrix.grid.ownedCount)
        zBuffer = rBuffer
    }

    /// z ← M_local⁻¹ r on this rank's rows.
    public func apply(_ r: UnsafePointer<Double>, into z: UnsafeMutablePointer<Double>, count: Int) throws {
        guard count == rBuffer.count else {
            throw PDEError.shapeMismatch(what: "block Jacobi input", expected: "\(rBuffer.count) values", got: "\(count)")
        }
        rBuffer.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: r, count: count) }
        _ = try local.apply(rBuffer, into: &zBuffer)
        zBuffer.withUnsafeBufferPointer { z.update(from: $0.baseAddress!, count: count) }
    }
}
