import Foundation

/// Every error a user can cause (bad configs, files, shapes, matrices) is one of these.
/// Messages name the file, key or value and what was expected.
public enum PDEError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A value (argument, config entry, array entry) is out of range or of the wrong kind.
    case invalidValue(key: String, value: String, expected: String)
    /// A file does not exist or cannot be opened.
    case fileNotFound(path: String)
    /// A file exists but its contents do not follow the format.
    case malformedFile(path: String, line: Int?, reason: String)
    /// Writing a file failed.
    case writeFailed(path: String, reason: String)
    /// Array, matrix or vector sizes that do not fit together.
    case shapeMismatch(what: String, expected: String, got: String)
    /// A mesh that cannot be used (inverted or degenerate triangles, bad indices).
    case invalidMesh(reason: String)
    /// A matrix handed to a Cholesky factorization that is not positive definite.
    case notPositiveDefinite(column: Int, reason: String)
    /// A square matrix that is exactly singular (a zero pivot), or a least-squares matrix
    /// without full column rank.
    case singularMatrix(column: Int, reason: String)
    /// A failure inside a system library (CHOLMOD, HDF5, FFTW) not caused by the input's values.
    case libraryFailure(library: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(key, value, expected):
            return "invalid value for '\(key)': \(value) (expected \(expected))"
        case let .fileNotFound(path):
            return "file not found: \(path)"
        case let .malformedFile(path, line, reason):
            if let line { return "\(path):\(line): \(reason)" }
            return "\(path): \(reason)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        case let .shapeMismatch(what, expected, got):
            return "shape mismatch in \(what): expected \(expected), got \(got)"
        case let .invalidMesh(reason):
            return "invalid mesh: \(reason)"
        case let .notPositiveDefinite(column, reason):
            return "matrix is not positive definite: \(reason) (failing column \(column))"
        case let .singularMatrix(column, reason):
            return "matrix is singular: \(reason) (column \(column))"
        case let .libraryFailure(library, reason):
            return "\(library) failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
