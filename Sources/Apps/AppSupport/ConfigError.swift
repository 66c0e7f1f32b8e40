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

/// Dotted key path of a Codable coding path: `grid.nodes[1]`. Sequence positions are
/// coding keys with an integer value whose string is not the number itself ("Index 1").
func keyPathString(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue, key.stringValue != "\(i)" {
            out += "[\(i)]"
        } else {
            out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return out
}

/// A coding key for arbitrary mapping keys.
struct AnyKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = Int(stringValue) }
    init(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
    init(_ s: String) { self.init(stringValue: s) }
}

extension Decoder {
    /// Rejects keys of this mapping that are not in `allowed`, naming the key path and the
    /// allowed keys. Call first in `init(from:)` of every config section.
    func rejectUnknownKeys(_ allowed: [String]) throws {
        let c = try container(keyedBy: AnyKey.self)
        for key in c.allKeys where !allowed.contains(key.stringValue) {
            throw ConfigError(keyPath: keyPathString(codingPath + [key]), value: "unknown key",
                              expected: "one of: " + allowed.joined(separator: ", "))
        }
    }

    /// The current key path as a dotted string.
    var keyPath: String { keyPathString(codingPath) }
}

extension KeyedDecodingContainer where K == AnyKey {
    func value<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        try decodeIfPresent(T.self, forKey: AnyKey(key))
    }
    func required<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let v = try decodeIfPresent(T.self, forKey: AnyKey(key)) else {
            throw ConfigError(keyPath: keyPathString(codingPath + [AnyKey(key)]), value: "missing",
                              expected: "a value for this required key")
        }
        return v
    }
    /// Key path of a child key, for validation errors.
    func path(_ key: String) -> String { keyPathString(codingPath + [AnyKey(key)]) }
}

/// Loads and decodes a YAML config file into `T`, turning every failure (missing file,
/// malformed YAML, unknown key, wrong type, bad value) into a `ConfigError` naming the
/// file and key.
public func loadConfig<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard FileManager.default.fileExists(atPath: path) else {
        throw ConfigError(file: path, keyPath: "", value: "file not found", expected: "an existing YAML config file")
    }
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        throw ConfigError(file: path, keyPath: "", value: "unreadable file", expected: "a UTF-8 YAML text file")
    }
    return try decodeConfig(type, yaml: text, file: path)
}

/// Decodes YAML text (see `loadConfig`).
public func decodeConfig<T: Decodable>(_ type: T.Type, yaml text: String, file: String = "<config>") throws -> T {
    do {
        return try YAMLDecoder().decode(T.self, from: text)
    } catch var e as ConfigError {
        e.file = file
        throw e
    } catch let e as PDEError {
        throw ConfigError(file: file, keyPath: "", value: e.description, expected: "valid input")
    } catch let e as DecodingError {
        throw ConfigError(file: file, decoding: e)
    } catch let e as YamlError {
        throw ConfigError(file: file, keyPath: "", value: "malformed YAML: \(e)", expected: "valid YAML")
    }
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
