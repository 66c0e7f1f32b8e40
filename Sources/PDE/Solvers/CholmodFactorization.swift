import CCholmod

/// Sparse Cholesky factorization A = L Lᵀ (or LDLᵀ) by CHOLMOD, with the symbolic and
/// numeric phases separate:
///
/// ```swift
/// let chol = try CholmodFactorization.analyze(A)   // ordering + symbolic factorization
/// try chol.factorize(A)                            // numeric; repeat for new values, same pattern
/// let x = try chol.solve(b)
/// ```
/// or in one step `try CholmodFactorization(matrix: A)`.
///
/// `A` is a symmetric `CSRMatrix` holding both triangles (as the assemblers produce).
/// Because A is symmetric its CSR arrays are also its CSC arrays, so CHOLMOD reads our
/// column indices and values in place; only the row pointers are narrowed to `Int32`.
/// CHOLMOD uses the lower triangle (`stype = −1`); the upper one is checked for symmetry
/// in `analyze` unless `checkSymmetry` is false.
public final class CholmodFactorization {
    /// Fill-reducing orderings.
    public enum Ordering: String, Sendable, CaseIterable {
        /// Approximate minimum degree (fast to compute; the default).
        case amd
        /// METIS nested dissection (less fill on large 2-D/3-D grids, slower to compute).
        case metis
        /// CHOLMOD's own nested dissection.
        case nesdis
        /// No reordering.
        case natural
        /// CHOLMOD's default strategy: AMD, then METIS when AMD's fill is poor.
        case automatic
    }

    /// Rows (= columns) of the analyzed matrix.
    public let size: Int
    /// The fill-reducing ordering requested from `analyze`.
    public let ordering: Ordering
    private var common: UnsafeMutablePointer<cholmod_common>
    private var factor: UnsafeMutablePointer<cholmod_factor>?
    private let rowPointers32: [Int32]
    private let patternColumns: [Int32]
    private var isFactorized = false
    /// Whether `factorize` refuses values that are not symmetric (as `analyze` did).
    private let checksSymmetry: Bool
    // Reusable solve workspace (cholmod_solve2), so repeated solves allocate nothing.
    private var xHandle: UnsafeMutablePointer<cholmod_dense>?
    private var yHandle: UnsafeMutablePointer<cholmod_dense>?
    private var eHandle: UnsafeMutablePointer<cholmod_dense>?

    /// Symbolic analysis: chooses the ordering and the factor's structure. The result can
    /// factorize any matrix with the same sparsity pattern.
    public static func analyze(_ matrix: CSRMatrix, ordering: Ordering = .amd,
                               checkSymmetry: Bool = true) throws -> CholmodFactorization {
        try CholmodFactorization(analyzing: matrix, ordering: ordering, checkSymmetry: checkSymmetry)
    }

    /// Analyze and factorize in one step.
    public convenience init(matrix: CSRMatrix, ordering: Ordering = .amd, checkSymmetry: Bool = true) throws {
        try self.init(analyzing: matrix, ordering: ordering, checkSymmetry: checkSymmetry)
        try factorize(matrix)
    }

    private init(analyzing matrix: CSRMatrix, ordering: Ordering, checkSymmetry: Bool) throws {
        guard matrix.rows == matrix.columns else {
            throw PDEError.shapeMismatch(what: "Cholesky factorization", expected: "a square matrix",
                                         got: "\(matrix.rows)×\(matrix.columns)")
        }
        guard matrix.nonzeroCount <= Int(Int32.max) else {
            throw PDEError.invalidValue(key: "matrix nonzeros", value: "\(matrix.nonzeroCount)",
                                        expected: "at most \(Int32.max) for CHOLMOD's Int32 interface")
        }
        if checkSymmetry && !matrix.isSymmetric(tolerance: 1e-12) {
            throw PDEError.invalidValue(key: "matrix", value: "a non-symmetric \(matrix.rows)×\(matrix.columns) matrix",
                                        expected: "a symmetric matrix with both triangles stored")
        }
        size = matrix.rows
        self.ordering = ordering
        self.checksSymmetry = checkSymmetry
        rowPointers32 = matrix.rowPointers.map { Int32(truncatingIfNeeded: $0) }
        patternColumns = matrix.columnIndices
        common = .allocate(capacity: 1)
        cholmod_start(common)
        common.pointee.print = 0
        common.pointee.error_handler = nil
        switch ordering {
        case .automatic:
            common.pointee.nmethods = 0
        case .amd, .metis, .nesdis, .natural:
            common.pointee.nmethods = 1
            let code: Int32
            switch ordering {
            case .amd: code = Int32(CHOLMOD_AMD)
            case .metis: code = Int32(CHOLMOD_METIS)
            case .nesdis: code = Int32(CHOLMOD_NESDIS)
            default: code = Int32(CHOLMOD_NATURAL)
            }
            common.pointee.method.0.ordering = code
            common.pointee.postorder = 1
        }
        let f = withSparseView(of: matrix) { a in cholmod_analyze(a, common) }
        guard let f, common.pointee.status >= Int32(CHOLMOD_OK) else {
            let status = common.pointee.status
            cholmod_finish(common)
            common.deallocate()
            throw PDEError.libraryFailure(library: "CHOLMOD", reason: "symbolic analysis failed (status \(status))"
                                          + (status == Int32(CHOLMOD_TOO_LARGE) ? ": problem too large" : "")
                                          + (status == Int32(CHOLMOD_OUT_OF_MEMORY) ? ": out of memory" : ""))
        }
        factor = f
    }

    deinit {
        if factor != nil { cholmod_free_factor(&factor, common) }
        if xHandle != nil { cholmod_free_dense(&xHandle, common) }
        if yHandle != nil { cholmod_free_dense(&yHandle, common) }
        if eHandle != nil { cholmod_free_dense(&eHandle, common) }
        cholmod_finish(common)
        common.deallocate()
    }

    /// Numeric factorization of `matrix`, which must have the analyzed sparsity pattern.
    /// Throws `PDEError.notPositiveDefinite` naming the (original, unpermuted) column where
    /// a non-positive pivot appeared.
    public func factorize(_ matrix: CSRMatrix) throws {
        guard matrix.rows == size, matrix.columns == size,
              matrix.nonzeroCount == patternColumns.count,
              matrix.columnIndices == patternColumns,
              zip(matrix.rowPointers, rowPointers32).allSatisfy({ $0 == Int($1) }) else {
            throw PDEError.shapeMismatch(what: "CHOLMOD numeric factorization",
                                         expected: "the sparsity pattern given to analyze (\(size)×\(size), \(patternColumns.count) nonzeros)",
                                         got: "\(matrix.rows)×\(matrix.columns), \(matrix.nonzeroCount) nonzeros")
        }
        for v in matrix.values where !v.isFinite {
            throw PDEError.invalidValue(key: "matrix entry", value: "\(v)", expected: "finite values")
        }
        // CHOLMOD reads one triangle: new values that are not symmetric would be factorized
        // silently as the symmetric matrix of their lower triangle.
        if checksSymmetry && !matrix.isSymmetric(tolerance: 1e-12) {
            throw PDEError.invalidValue(key: "matrix", value: "a non-symmetric \(matrix.rows)×\(matrix.columns) matrix",
                                        expected: "a symmetric matrix with both triangles stored")
        }
        isFactorized = false
        let ok = withSparseView(of: matrix) { a in cholmod_factorize(a, factor, common) }
        let status = common.pointee.status
        if status == Int32(CHOLMOD_NOT_POSDEF) {
            let minor = Int(factor!.pointee.minor)
            var column = minor
            if minor < size, let perm = factor!.pointee.Perm {
                column = Int(perm.assumingMemoryBound(to: Int32.self)[minor])
            }
            throw PDEError.notPositiveDefinite(column: column,
                reason: "CHOLMOD found a non-positive pivot at step \(minor) of \(size)")
        }
        guard ok != 0, status >= Int32(CHOLMOD_OK) else {
            throw PDEError.libraryFailure(library: "CHOLMOD", reason: "numeric factorization failed (status \(status))")
        }
        // A simplicial LDLᵀ factorization succeeds on indefinite matrices with nonzero
        // pivots; positive definiteness means every pivot d_j > 0.
        if let f = factor, f.pointee.is_super == 0, f.pointee.is_ll == 0,
           let p = f.pointee.p, let xv = f.pointee.x {
            let colStart = p.assumingMemoryBound(to: Int32.self)
            let values = xv.assumingMemoryBound(to: Double.self)
            for j in 0..<size {
                let d = values[Int(colStart[j])]
                if !(d > 0) {
                    var column = j
                    if let perm = f.pointee.Perm { column = Int(perm.assumingMemoryBound(to: Int32.self)[j]) }
                    throw PDEError.notPositiveDefinite(column: column,
                        reason: "CHOLMOD's LDLᵀ factorization has pivot \(d) ≤ 0 at step \(j) of \(size)")
                }
            }
        }
        isFactorized = true
    }

    /// Solves A x = b.
    public func solve(_ b: [Double]) throws -> [Double] {
        var x = [Double](repeating: 0, count: size)
        try solve(b, into: &x)
        return x
    }

    /// Solves A x = b into a preallocated `x`; after the first call no memory is allocated.
    public func solve(_ b: [Double], into x: inout [Double]) throws {
        guard isFactorized else {
            throw PDEError.invalidValue(key: "CholmodFactorization", value: "analyzed only",
                                        expected: "a call to factorize before solve")
        }
        guard b.count == size, x.count == size else {
            throw PDEError.shapeMismatch(what: "CHOLMOD solve", expected: "vectors of length \(size)",
                                         got: "b \(b.count), x \(x.count)")
        }
        // cholmod_dense wants a mutable pointer; CHOLMOD does not write to B.
        let ok: Int32 = b.withUnsafeBufferPointer { bp in
            var dense = cholmod_dense()
            dense.nrow = size
            dense.ncol = 1
            dense.nzmax = size
            dense.d = size
            dense.x = UnsafeMutableRawPointer(mutating: bp.baseAddress)
            dense.z = nil
            dense.xtype = Int32(CHOLMOD_REAL)
            dense.dtype = Int32(CHOLMOD_DOUBLE)
            return cholmod_solve2(Int32(CHOLMOD_A), factor, &dense, nil, &xHandle, nil, &yHandle, &eHandle, common)
        }
        guard ok != 0, let xh = xHandle, let xp = xh.pointee.x else {
            throw PDEError.libraryFailure(library: "CHOLMOD", reason: "solve failed (status \(common.pointee.status))")
        }
        let src = xp.assumingMemoryBound(to: Double.self)
        x.withUnsafeMutableBufferPointer { dst in
            dst.baseAddress!.update(from: src, count: size)
        }
    }

    /// Nonzeros in the factor L (after supernodal amalgamation where applicable).
    public var factorNonzeros: Int {
        guard let f = factor else { return 0 }
        if f.pointee.is_super != 0 {
            // Supernodal: the number of stored entries.
            return Int(f.pointee.xsize)
        }
        return Int(f.pointee.nzmax)
    }

    /// True when CHOLMOD chose a supernodal factorization (BLAS-3 dense blocks).
    public var isSupernodal: Bool { factor?.pointee.is_super != 0 }

    /// A `cholmod_sparse` header that points into `matrix`'s arrays for the duration of `body`.
    private func withSparseView<R>(of matrix: CSRMatrix, _ body: (UnsafeMutablePointer<cholmod_sparse>) -> R) -> R {
        // CHOLMOD only reads A; the arrays are borrowed, not copied.
        return rowPointers32.withUnsafeBufferPointer { rpp in
            matrix.columnIndices.withUnsafeBufferPointer { cip in
                matrix.values.withUnsafeBufferPointer { vap in
                    var a = cholmod_sparse()
                    a.nrow = matrix.rows
                    a.ncol = matrix.columns
                    a.nzmax = matrix.nonzeroCount
                    a.p = UnsafeMutableRawPointer(mutating: rpp.baseAddress)
                    a.i = UnsafeMutableRawPointer(mutating: cip.baseAddress)
                    a.nz = nil
                    a.x = UnsafeMutableRawPointer(mutating: vap.baseAddress)
                    a.z = nil
                    a.stype = -1
                    a.itype = Int32(CHOLMOD_INT)
                    a.xtype = Int32(CHOLMOD_REAL)
                    a.dtype = Int32(CHOLMOD_DOUBLE)
                    a.sorted = 1
                    a.packed = 1
                    return withUnsafeMutablePointer(to: &a) { body($0) }
                }
            }
        }
    }
}
