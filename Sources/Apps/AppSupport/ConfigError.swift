import Foundation
import PDE
import Yams

/// A problem with a config file: which file, which key (as a dotted path such as
/// `grid.nodes[1]`), the offending value and what was expected.
public struct ConfigError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public var file: String
    public var keyPath: String
    public var value: String
    public var expected: String

    public init(file: String = "", keyPath: String, value: String, expected: String) {
        self.file = file
        self.keyPath = keyPath
        self.value = value
        self.expected = expected
    }

    public var description: String {
        let place = file.isEmpty ? "" : "\(file): "
        let key = keyPath.isEmpty ? "(top level)" : "'\(keyPath)'"
        return "\(place)\(key): \(value) — expected \(expected)"
    }

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
