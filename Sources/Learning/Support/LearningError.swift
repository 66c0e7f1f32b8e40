import Foundation

/// Every error a caller can cause in the Learning module: shapes that do not fit, values
/// out of range, checkpoint files that are missing or malformed. Messages name the
/// operation, key or file and what was expected.
public enum LearningError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Tensor shapes that do not fit the operation.
    case shapeMismatch(operation: String, expected: String, got: String)
    /// An argument or option out of range.
    case invalidArgument(name: String, value: String, expected: String)
    /// A file that does not exist or cannot be read.
    case fileNotFound(path: String)
    /// A file whose contents do not follow its format.
    case malformedFile(path: String, reason: String)
    /// A checkpoint that lacks a tensor the model has, or has it with another shape or dtype.
    case checkpointMismatch(path: String, tensor: String, reason: String)
    /// backward() on something that does not lead to a gradient.
    case noGradient(reason: String)

    /// One line naming the operation, argument or file and what was expected.
    public var description: String {
        switch self {
        case let .shapeMismatch(operation, expected, got):
            return "shape mismatch in \(operation): expected \(expected), got \(got)"
        case let .invalidArgument(name, value, expected):
            return "invalid value for '\(name)': \(value) (expected \(expected))"
        case let .fileNotFound(path):
            return "file not found: \(path)"
        case let .malformedFile(path, reason):
            return "\(path): \(reason)"
        case let .checkpointMismatch(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .noGradient(reason):
            return "cannot differentiate: \(reason)"
        }
    }

    /// `description`, so `localizedDescription` gives the same message.
    public var errorDescription: String? { description }
}

@inline(__always)
/// A shape as `[2, 3, 4]` (for error messages).
public func shapeString(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
