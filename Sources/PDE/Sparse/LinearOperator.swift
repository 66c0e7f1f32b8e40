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
    public func diagonalEntries() -> [Double]? { nil }
}

extension CSRMatrix: LinearOperator {
    /// Rows of a square matrix (the Krylov solvers check squareness).
    public var size: Int { rows }
    public func diagonalEntries() -> [Double]? { diagonal() }
}

/// A linear operator given by a closure.
public struct ClosureOperator: LinearOperator {
    public let size: Int
    private let body: (_ x: [Double], _ y: inout [Double]) -> Void
    private let diag: [Double]?

    public init(size: Int, diagonal: [Double]? = nil, _ apply: @escaping (_ x: [Double], _ y: inout [Double]) -> Void) {
        self.size = size
        self.body = apply
        self.diag = diagonal
    }

    public func apply(_ x: [Double], into y: inout [Double]) { body(x, &y) }
    public func diagonalEntries() -> [Double]? { diag }
}
