import Foundation
import CBLAS
import CLapacke
import Support

/// A dense real matrix in row-major order: the kernel (Gram) matrices of the Gaussian-process
/// solvers and every small dense factorization, on OpenBLAS and LAPACKE.
public struct DenseMatrix: Sendable, Equatable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    /// Entries row after row: entry (i, j) is `values[i * columns + j]`.
    public var values: [Double]

    /// A rows × columns matrix of `value`.
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        values = [Double](repeating: value, count: rows * columns)
    }

    /// A matrix from its row-major entries; throws when their count is not rows × columns.
    public init(rows: Int, columns: Int, values: [Double]) throws {
        guard rows >= 0, columns >= 0, values.count == rows * columns else {
            throw PDEError.shapeMismatch(what: "dense matrix entries", expected: "\(rows) × \(columns) = \(max(0, rows * columns)) values",
                                         got: "\(values.count)")
        }
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix with entry (i, j) = `entry(i, j)`.
    public init(rows: Int, columns: Int, entry: (Int, Int) -> Double) {
        self.init(rows: rows, columns: columns)
        for i in 0..<rows { for j in 0..<columns { values[i &* columns &+ j] = entry(i, j) } }
    }

    /// The n × n identity.
    public static func identity(_ n: Int) -> DenseMatrix {
        var m = DenseMatrix(rows: n, columns: n)
        for i in 0..<n { m.values[i * n + i] = 1 }
        return m
    }

    /// A diagonal matrix.
    public static func diagonal(_ d: [Double]) -> DenseMatrix {
        var m = DenseMatrix(rows: d.count, columns: d.count)
        for i in d.indices { m.values[i * d.count + i] = d[i] }
        return m
    }

    /// Entry (i, j).
    public subscript(i: Int, j: Int) -> Double {
        get { values[i * columns + j] }
        set { values[i * columns + j] = newValue }
    }

    public var isSquare: Bool { rows == columns }

    /// The diagonal entries (min(rows, columns) of them).
    public var diagonal: [Double] { (0..<min(rows, columns)).map { values[$0 * columns + $0] } }

    /// Sum of the diagonal.
    public var trace: Double { diagonal.reduce(0, +) }

    public var transposed: DenseMatrix {
        var t = DenseMatrix(rows: columns, columns: rows)
        values.withUnsafeBufferPointer { a in t.values.withUnsafeMutableBufferPointer { b in
            for i in 0..<rows { for j in 0..<columns { b[j &* rows &+ i] = a[i &* columns &+ j] } }
        } }
        return t
    }

    /// Largest |entry|.
    public var maxAbs: Double { values.reduce(0) { max($0, abs($1)) } }

    /// Largest |A − Aᵀ| entry relative to the largest |entry| (0 for a symmetric matrix).
    public var asymmetry: Double {
        guard isSquare, rows > 0 else { return 0 }
        var worst = 0.0
        for i in 0..<rows { for j in (i + 1)..<max(i + 1, rows) { worst = max(worst, abs(self[i, j] - self[j, i])) } }
        let scale = maxAbs
        return scale > 0 ? worst / scale : 0
    }

    /// The rows `rowRange` and columns `columnRange` as a new matrix.
    public func block(rows rowRange: Range<Int>, columns columnRange: Range<Int>) -> DenseMatrix {
        var b = DenseMatrix(rows: rowRange.count, columns: columnRange.count)
        for (bi, i) in rowRange.enumerated() {
            for (bj, j) in columnRange.enumerated() { b.values[bi * b.columns + bj] = values[i * columns + j] }
        }
        return b
    }

    /// Writes `b` into this matrix with its (0, 0) entry at (row, column).
    public mutating func setBlock(_ b: DenseMatrix, row: Int, column: Int) {
        precondition(row + b.rows <= rows && column + b.columns <= columns, "block does not fit")
        for i in 0..<b.rows {
            for j in 0..<b.columns { values[(row + i) * columns + column + j] = b.values[i * b.columns + j] }
        }
    }

    /// Adds `value` to every diagonal entry.
    public mutating func addToDiagonal(_ value: Double) {
        for i in 0..<min(rows, columns) { values[i * columns + i] += value }
    }

    /// Adds `d[i]` to diagonal entry i.
    public mutating func addToDiagonal(_ d: [Double]) {
        precondition(d.count == min(rows, columns), "diagonal length")
        for i in d.indices { values[i * columns + i] += d[i] }
    }

    /// op(self) · op(other) · alpha, with op the transpose where asked (one DGEMM). Throws
    /// when the inner dimensions differ.
    public func multiplied(by other: DenseMatrix, transposeSelf: Bool = false, transposeOther: Bool = false,
                           alpha: Double = 1) throws -> DenseMatrix {
        let m = transposeSelf ? columns : rows
        let k = transposeSelf ? rows : columns
        let k2 = transposeOther ? other.columns : other.rows
        let n = transposeOther ? other.rows : other.columns
        guard k == k2 else {
            throw PDEError.shapeMismatch(what: "matrix product", expected: "inner dimensions equal (\(k))", got: "\(k2)")
        }
        var c = DenseMatrix(rows: m, columns: n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        Threads.configure()
        values.withUnsafeBufferPointer { pa in other.values.withUnsafeBufferPointer { pb in c.values.withUnsafeMutableBufferPointer { pc in
            cblas_dgemm(CblasRowMajor, transposeSelf ? CblasTrans : CblasNoTrans, transposeOther ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress!, Int32(max(1, columns)),
                        pb.baseAddress!, Int32(max(1, other.columns)), 0, pc.baseAddress!, Int32(max(1, n)))
        } } }
        return c
    }

    /// op(self) · x (one DGEMV). Throws when x has the wrong length.
    public func apply(_ x: [Double], transpose: Bool = false) throws -> [Double] {
        let inner = transpose ? rows : columns, outer = transpose ? columns : rows
        guard x.count == inner else {
            throw PDEError.shapeMismatch(what: "matrix-vector product", expected: "\(inner) entries", got: "\(x.count)")
        }
        var y = [Double](repeating: 0, count: outer)
        if outer == 0 || inner == 0 { return y }
        Threads.configure()
        values.withUnsafeBufferPointer { pa in x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), 1,
                        pa.baseAddress!, Int32(max(1, columns)), px.baseAddress!, 1, 0, py.baseAddress!, 1)
        } } }
        return y
    }

    /// self · selfᵀ (or selfᵀ · self with `transpose`), symmetric, by one DSYRK with the
    /// other triangle mirrored.
    public func gram(transpose: Bool = false) -> DenseMatrix {
        let n = transpose ? columns : rows, k = transpose ? rows : columns
        var c = DenseMatrix(rows: n, columns: n)
        if n == 0 || k == 0 { return c }
        Threads.configure()
        values.withUnsafeBufferPointer { pa in c.values.withUnsafeMutableBufferPointer { pc in
            cblas_dsyrk(CblasRowMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans, Int32(n), Int32(k), 1,
                        pa.baseAddress!, Int32(max(1, columns)), 0, pc.baseAddress!, Int32(n))
        } }
        c.mirrorLowerTriangle()
        return c
    }

    /// Copies the strict lower triangle onto the upper one.
    public mutating func mirrorLowerTriangle() {
        let n = rows
        values.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in 0..<i { p[j &* n &+ i] = p[i &* n &+ j] } }
        }
    }

    /// Solves op(T) X = B for the lower (or upper) triangle T of this square matrix, in place
    /// on B's storage (one DTRSM); B is n × m. Throws on mismatched shapes.
    public func solveTriangular(_ b: DenseMatrix, lower: Bool = true, transpose: Bool = false,
                                unitDiagonal: Bool = false) throws -> DenseMatrix {
        guard isSquare, b.rows == rows else {
            throw PDEError.shapeMismatch(what: "triangular solve", expected: "a square matrix and \(rows) right-hand-side rows",
                                         got: "\(rows)×\(columns) and \(b.rows)")
        }
        var x = b
        if rows == 0 || b.columns == 0 { return x }
        Threads.configure()
        values.withUnsafeBufferPointer { pa in x.values.withUnsafeMutableBufferPointer { px in
            cblas_dtrsm(CblasRowMajor, CblasLeft, lower ? CblasLower : CblasUpper, transpose ? CblasTrans : CblasNoTrans,
                        unitDiagonal ? CblasUnit : CblasNonUnit, Int32(rows), Int32(b.columns), 1,
                        pa.baseAddress!, Int32(rows), px.baseAddress!, Int32(b.columns))
        } }
        return x
    }

    /// Solves op(T) x = b for one vector (one DTRSV).
    public func solveTriangular(_ b: [Double], lower: Bool = true, transpose: Bool = false) throws -> [Double] {
        guard isSquare, b.count == rows else {
            throw PDEError.shapeMismatch(what: "triangular solve", expected: "a square matrix and \(rows) right-hand-side entries",
                                         got: "\(rows)×\(columns) and \(b.count)")
        }
        var x = b
        if rows == 0 { return x }
        values.withUnsafeBufferPointer { pa in x.withUnsafeMutableBufferPointer { px in
            cblas_dtrsv(CblasRowMajor, lower ? CblasLower : CblasUpper, transpose ? CblasTrans : CblasNoTrans, CblasNonUnit,
                        Int32(rows), pa.baseAddress!, Int32(rows), px.baseAddress!, 1)
        } }
        return x
    }

    /// Throws unless the matrix is square with finite entries, naming the operation `what`.
    func checkSquareAndFinite(for what: String) throws {
        guard isSquare else {
            throw PDEError.shapeMismatch(what: what, expected: "a square matrix", got: "\(rows)×\(columns)")
        }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw PDEError.invalidValue(key: "matrix entry", value: "\(bad)", expected: "finite entries for \(what)")
        }
    }

    public var description: String {
        let shown = (0..<min(rows, 6)).map { i in
            (0..<min(columns, 6)).map { j in String(format: "% .4e", self[i, j]) }.joined(separator: " ")
        }
        return "DenseMatrix \(rows)×\(columns)\n" + shown.joined(separator: "\n")
    }
}

/// How a Cholesky factorization reacts to a matrix that is not numerically positive definite:
/// retry with `initial` × (mean diagonal) added to the diagonal, multiplied by `growth` on
/// every further failure, at most `attempts` retries. `.none` refuses at once.
public struct JitterRule: Sendable, Equatable {
    public var initial: Double
    public var growth: Double
    public var attempts: Int

    /// Retries from `initial` × mean diagonal, growing by `growth`, at most `attempts` times.
    public init(initial: Double, growth: Double = 10, attempts: Int = 6) {
        self.initial = initial
        self.growth = growth
        self.attempts = attempts
    }

    /// No retries: a matrix that is not positive definite throws.
    public static let none = JitterRule(initial: 0, growth: 10, attempts: 0)
}

/// A = L Lᵀ for a symmetric positive definite matrix (LAPACK `dpotrf`, lower triangle).
public struct CholeskyFactorization: Sendable {
    /// The lower-triangular factor (the strict upper triangle is zero).
    public let lower: DenseMatrix
    /// What was added to the diagonal before the factorization succeeded (0: nothing).
    public let jitter: Double
    /// Factorizations tried (1 when the matrix was positive definite as given).
    public let attempts: Int

    public var size: Int { lower.rows }

    /// Factors the symmetric matrix `a` (its lower triangle is read). On failure with
    /// `jitter` retries left, adds a growing multiple of the mean diagonal and tries again;
    /// the jitter used is reported. Throws `PDEError.notPositiveDefinite` naming the first
    /// column whose pivot is not positive (and that pivot's value), or a shape error.
    public init(_ a: DenseMatrix, jitter rule: JitterRule = .none) throws {
        try a.checkSquareAndFinite(for: "Cholesky factorization")
        let n = a.rows
        let meanDiagonal = n > 0 ? abs(a.trace) / Double(n) : 0
        var added = 0.0
        var attempt = 0
        while true {
            attempt += 1
            var f = a
            if added > 0 { f.addToDiagonal(added) }
            let info = n == 0 ? 0 : f.values.withUnsafeMutableBufferPointer { p in
                LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), p.baseAddress!, Int32(n))
            }
            if info == 0 {
                for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { f.values[i * n + j] = 0 } }
                lower = f
                jitter = added
                attempts = attempt
                return
            }
            guard info > 0 else {
                throw PDEError.libraryFailure(library: "LAPACK", reason: "dpotrf on a \(n)×\(n) matrix returned info = \(info)")
            }
            if attempt > rule.attempts || rule.initial <= 0 {
                let column = Int(info) - 1
                let pivot = CholeskyFactorization.pivot(of: a, column: column, shift: added)
                let after = added > 0 ? " after adding \(added) to the diagonal (\(attempt) attempts)" : ""
                throw PDEError.notPositiveDefinite(
                    column: column,
                    reason: "the leading minor of order \(column + 1) of the \(n)×\(n) matrix is not positive (pivot \(pivot))\(after)")
            }
            added = added == 0 ? rule.initial * max(meanDiagonal, Double.leastNormalMagnitude) : added * rule.growth
        }
    }

    /// The Schur-complement pivot at `column` of a + shift·I: a_kk − ‖L⁻¹ a_{0:k, k}‖² with L
    /// the factor of the leading k × k block (which is positive definite).
    private static func pivot(of a: DenseMatrix, column k: Int, shift: Double) -> Double {
        var lead = a.block(rows: 0..<k, columns: 0..<k)
        lead.addToDiagonal(shift)
        let akk = a[k, k] + shift
        guard k > 0 else { return akk }
        let info = lead.values.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(k), p.baseAddress!, Int32(k))
        }
        guard info == 0 else { return .nan }
        let column = (0..<k).map { a[$0, k] }
        guard let w = try? lead.solveTriangular(column, lower: true) else { return .nan }
        return akk - w.reduce(0) { $0 + $1 * $1 }
    }

    /// x with A x = b.
    public func solve(_ b: [Double]) throws -> [Double] {
        let w = try lower.solveTriangular(b, lower: true)
        return try lower.solveTriangular(w, lower: true, transpose: true)
    }

    /// X with A X = B.
    public func solve(_ b: DenseMatrix) throws -> DenseMatrix {
        let w = try lower.solveTriangular(b, lower: true)
        return try lower.solveTriangular(w, lower: true, transpose: true)
    }

    /// L⁻¹ b (the whitening transform: ‖L⁻¹b‖² = bᵀA⁻¹b).
    public func solveLower(_ b: [Double]) throws -> [Double] { try lower.solveTriangular(b, lower: true) }

    /// L⁻¹ B.
    public func solveLower(_ b: DenseMatrix) throws -> DenseMatrix { try lower.solveTriangular(b, lower: true) }

    /// log det A = 2 Σ log L_ii (of the jittered matrix when jitter was added).
    public var logDeterminant: Double { 2 * lower.diagonal.reduce(0) { $0 + log($1) } }

    /// bᵀ A⁻¹ b.
    public func quadraticForm(_ b: [Double]) throws -> Double {
        try solveLower(b).reduce(0) { $0 + $1 * $1 }
    }

    /// A⁻¹ (LAPACK `dpotri`), symmetric.
    public func inverse() throws -> DenseMatrix {
        var f = lower
        let n = size
        if n == 0 { return f }
        let info = f.values.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotri(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), p.baseAddress!, Int32(n))
        }
        guard info == 0 else {
            throw PDEError.libraryFailure(library: "LAPACK", reason: "dpotri on a \(n)×\(n) factor returned info = \(info)")
        }
        f.mirrorLowerTriangle()
        return f
    }
}

/// A = V diag(λ) Vᵀ for a symmetric matrix (LAPACK `dsyevd`): eigenvalues ascending,
/// orthonormal eigenvectors as the columns of `vectors`.
public struct SymmetricEigendecomposition: Sendable {
    public let values: [Double]
    /// Column k is the eigenvector of `values[k]`.
    public let vectors: DenseMatrix

    /// Decomposes the symmetric matrix `a` (its lower triangle is read). Throws for a
    /// non-square or non-finite matrix, or when LAPACK does not converge.
    public init(_ a: DenseMatrix) throws {
        try a.checkSquareAndFinite(for: "symmetric eigendecomposition")
        let n = a.rows
        var v = a
        var w = [Double](repeating: 0, count: n)
        if n > 0 {
            let info = v.values.withUnsafeMutableBufferPointer { p in w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), Int32(n),
                               p.baseAddress!, Int32(n), pw.baseAddress!)
            } }
            guard info == 0 else {
                throw PDEError.libraryFailure(library: "LAPACK", reason: "dsyevd on a \(n)×\(n) matrix returned info = \(info)")
            }
        }
        values = w
        vectors = v
    }
}

/// P A = L U with partial pivoting for a general square matrix (LAPACK `dgetrf`).
public struct LUFactorization: Sendable {
    /// L (unit lower, below the diagonal) and U (on and above it), packed as LAPACK leaves them.
    public let factors: DenseMatrix
    /// LAPACK's 1-based row interchanges.
    public let pivots: [Int32]

    public var size: Int { factors.rows }

    /// Factors `a`. Throws `PDEError.singularMatrix` naming the first zero pivot's column.
    public init(_ a: DenseMatrix) throws {
        try a.checkSquareAndFinite(for: "LU factorization")
        let n = a.rows
        var f = a
        var ipiv = [Int32](repeating: 0, count: n)
        if n > 0 {
            let info = f.values.withUnsafeMutableBufferPointer { p in ipiv.withUnsafeMutableBufferPointer { pi in
                LAPACKE_dgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), p.baseAddress!, Int32(n), pi.baseAddress!)
            } }
            if info > 0 {
                throw PDEError.singularMatrix(column: Int(info) - 1,
                                              reason: "U(\(info - 1), \(info - 1)) is exactly zero in the LU factorization of the \(n)×\(n) matrix")
            }
            guard info == 0 else {
                throw PDEError.libraryFailure(library: "LAPACK", reason: "dgetrf on a \(n)×\(n) matrix returned info = \(info)")
            }
        }
        factors = f
        pivots = ipiv
    }

    /// X with A X = B (or Aᵀ X = B).
    public func solve(_ b: DenseMatrix, transpose: Bool = false) throws -> DenseMatrix {
        let n = size
        guard b.rows == n else {
            throw PDEError.shapeMismatch(what: "LU solve", expected: "\(n) right-hand-side rows", got: "\(b.rows)")
        }
        var x = b
        if n == 0 || b.columns == 0 { return x }
        let info = factors.values.withUnsafeBufferPointer { pa in x.values.withUnsafeMutableBufferPointer { px in pivots.withUnsafeBufferPointer { pi in
            LAPACKE_dgetrs(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: transpose ? "T" : "N")), Int32(n), Int32(b.columns),
                           pa.baseAddress!, Int32(n), pi.baseAddress!, px.baseAddress!, Int32(b.columns))
        } } }
        guard info == 0 else {
            throw PDEError.libraryFailure(library: "LAPACK", reason: "dgetrs returned info = \(info)")
        }
        return x
    }

    /// x with A x = b (or Aᵀ x = b).
    public func solve(_ b: [Double], transpose: Bool = false) throws -> [Double] {
        let m = try DenseMatrix(rows: b.count, columns: 1, values: b)
        return try solve(m, transpose: transpose).values
    }

    /// log |det A| and the sign of det A.
    public var logAbsDeterminant: (value: Double, sign: Double) {
        var logSum = 0.0, sign = 1.0
        for i in 0..<size {
            let u = factors[i, i]
            logSum += log(abs(u))
            if u < 0 { sign = -sign }
            if pivots[i] != Int32(i + 1) { sign = -sign }
        }
        return (logSum, sign)
    }
}

/// Linear least squares min ‖A x − b‖₂ for a full-column-rank A (m ≥ n) by Householder QR
/// (LAPACK `dgels`), avoiding the squared condition number of the normal equations.
public enum LeastSquares {
    /// The minimizer x (n entries). Throws on mismatched shapes, m < n, or a rank-deficient A.
    public static func solve(_ a: DenseMatrix, _ b: [Double]) throws -> [Double] {
        let m = a.rows, n = a.columns
        guard b.count == m else {
            throw PDEError.shapeMismatch(what: "least-squares right-hand side", expected: "\(m) entries", got: "\(b.count)")
        }
        guard m >= n else {
            throw PDEError.shapeMismatch(what: "least-squares matrix", expected: "at least as many rows as columns (\(n))", got: "\(m) rows")
        }
        if n == 0 { return [] }
        var f = a
        var x = b
        let info = f.values.withUnsafeMutableBufferPointer { p in x.withUnsafeMutableBufferPointer { px in
            LAPACKE_dgels(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(m), Int32(n), 1, p.baseAddress!, Int32(n),
                          px.baseAddress!, 1)
        } }
        if info > 0 {
            throw PDEError.singularMatrix(column: Int(info) - 1, reason: "the \(m)×\(n) least-squares matrix does not have full column rank")
        }
        guard info == 0 else {
            throw PDEError.libraryFailure(library: "LAPACK", reason: "dgels returned info = \(info)")
        }
        // R is left in the upper triangle: numerical rank from its diagonal (dgels itself only
        // refuses exact zeros, and returns x = 0 for a zero matrix).
        let r = (0..<n).map { abs(f.values[$0 * n + $0]) }
        let largest = r.max() ?? 0
        if let k = r.firstIndex(where: { !($0 > Double(max(m, n)) * Double.ulpOfOne * largest) }) {
            throw PDEError.singularMatrix(column: k, reason: "the \(m)×\(n) least-squares matrix does not have full column rank (|R[\(k), \(k)]| = \(r[k]), largest \(largest))")
        }
        return Array(x.prefix(n))
    }
}
