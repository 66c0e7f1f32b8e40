import Foundation
import PDE
import Yams

// Loading YAML configs: key paths, strict decoding helpers (unknown keys refused), and the
// entry points that turn every failure into a ConfigError.

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

    /// Rejects keys of this nested mapping that are not in `allowed` (`path` names it in the message).
    func rejectUnknownKeys(_ allowed: [String], path: String) throws {
        for key in allKeys where !allowed.contains(key.stringValue) {
            throw ConfigError(keyPath: keyPathString(codingPath + [key]), value: "unknown key",
                              expected: "one of: " + allowed.joined(separator: ", ") + " in '\(path)'")
        }
    }
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
