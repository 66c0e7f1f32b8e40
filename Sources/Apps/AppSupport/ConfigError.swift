import Foundation
import Learning
import PDE
import Yams

/// A problem with a config file: which file, which key (as a dotted path such as
/// `grid.nodes[1]`), the offending value and what was expected.
public struct ConfigError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The config file's path; empty until `loadConfig` / `decodeConfig` fill it in.
    public var file: String
    /// Dotted path of the offending key (`solver.rtol`, `grid.nodes[1]`); empty for the
    /// file as a whole.
    public var keyPath: String
    /// What was found (`missing`, `unknown key`, the value as written, …).
    public var value: String
    /// What would have been accepted, as a phrase for the message.
    public var expected: String

    /// An error at `keyPath`. Section decoders leave `file` empty: `loadConfig` and
    /// `decodeConfig` set it on every `ConfigError` thrown while decoding.
    public init(file: String = "", keyPath: String, value: String, expected: String) {
        self.file = file
        self.keyPath = keyPath
        self.value = value
        self.expected = expected
    }

    /// `file: 'key': value — expected …` (`(top level)` for an empty key path), the line the
    /// apps print.
    public var description: String {
        let place = file.isEmpty ? "" : "\(file): "
        let key = keyPath.isEmpty ? "(top level)" : "'\(keyPath)'"
        return "\(place)\(key): \(value) — expected \(expected)"
    }

    /// `description`, so `localizedDescription` gives the same message.
    public var errorDescription: String? { description }
}

extension ConfigError {
    init(file: String, decoding error: DecodingError) {
        switch error {
        case let .typeMismatch(type, ctx):
            self.init(file: file, keyPath: keyPathString(ctx.codingPath),
                      value: "wrong type (\(ctx.debugDescription))", expected: describe(type))
        case let .valueNotFound(type, ctx):
            self.init(file: file, keyPath: keyPathString(ctx.codingPath), value: "missing value", expected: describe(type))
        case let .keyNotFound(key, ctx):
            self.init(file: file, keyPath: keyPathString(ctx.codingPath + [key]), value: "missing",
                      expected: "a value for this required key")
        case let .dataCorrupted(ctx):
            if var inner = ctx.underlyingError as? ConfigError {
                inner.file = file
                self = inner
            } else if let underlying = ctx.underlyingError as? YamlError {
                self.init(file: file, keyPath: keyPathString(ctx.codingPath), value: "malformed YAML: \(underlying)", expected: "valid YAML")
            } else {
                self.init(file: file, keyPath: keyPathString(ctx.codingPath), value: ctx.debugDescription, expected: "a valid value")
            }
        @unknown default:
            self.init(file: file, keyPath: "", value: "\(error)", expected: "a valid config")
        }
    }
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type: return "an integer"
    case is Double.Type: return "a number"
    case is String.Type: return "a string"
    case is Bool.Type: return "true or false"
    default:
        let name = "\(type)"
        if name.hasPrefix("Array") || name == "Sequence" { return "a list" }
        if name == "Mapping" { return "a mapping" }
        if name.hasPrefix("Dictionary") { return "a mapping" }
        return name
    }
}

/// The message and exit code the suite's apps give for an error they report rather than
/// crash on: 2 for bad input (config, file contents, values), 1 for failures of the system
/// (a library, a write). Nil for other errors (the app rethrows them).
public func appFailure(_ error: Error, context: String) -> (message: String, code: Int32)? {
    switch error {
    case let e as ConfigError:
        return (e.description, 2)
    case let e as PDEError:
        switch e {
        case .libraryFailure, .writeFailed: return ("\(context): \(e.description)", 1)
        default: return ("\(context): \(e.description)", 2)
        }
    case let e as FileWriteError:
        return (e.description, 1)
    case let e as LearningError:
        return ("\(context): \(e.description)", 2)
    default:
        return nil
    }
}
