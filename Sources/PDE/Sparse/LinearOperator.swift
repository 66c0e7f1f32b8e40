/// A square linear operator y = A x, applied into a preallocated output. Implemented by
/// `CSRMatrix`, the matrix-free stencils and `ClosureOperator`; consumed by the Krylov
/// solvers.
public protocol LinearOperator {
    /// Number of rows (= columns).
    var size: Int { get }
    /// y ← A x. `x.count == y.count == size`.
    func apply(_ x: [Double], into y: inout [Double])
    /// The diagonal of A, when the operator knows it (Jacobi needs it).
    func diagonalEntries() -> [Double]?
}

extension LinearOperator {
    /// Default: nil (diagonal unknown), so Jacobi refuses the operator.
    public func diagonalEntries() -> [Double]? { nil }
}

extension CSRMatrix: LinearOperator {
    /// Rows of a square matrix (the Krylov solvers check squareness).
    public var size: Int { rows }
    /// A fresh array of the stored diagonal (0 where a row has none), computed in O(nnz).
    public func diagonalEntries() -> [Double]? { diagonal() }
}

/// A linear operator given by a closure.
public struct ClosureOperator: LinearOperator {
    public let size: Int
    private let body: (_ x: [Double], _ y: inout [Double]) -> Void
    private let diag: [Double]?

    /// An operator of dimension `size` whose `apply` runs the closure, which must fill all of y;
    /// `diagonal` makes Jacobi available. Nothing is checked.
    public init(size: Int, diagonal: [Double]? = nil, _ apply: @escaping (_ x: [Double], _ y: inout [Double]) -> Void) {
        self.size = size
        self.body = apply
        self.diag = diagonal
    }

    /// Runs the closure; sizes are checked only as far as the closure does.
    public func apply(_ x: [Double], into y: inout [Double]) { body(x, &y) }
    /// The `diagonal` given at creation, or nil.
    public func diagonalEntries() -> [Double]? { diag }
}
