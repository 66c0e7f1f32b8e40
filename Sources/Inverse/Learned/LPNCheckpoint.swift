import Foundation
import Learning

// Saving a learned proximal network with its architecture in the safetensors metadata, and
// rebuilding it from such a file (a model file or a training checkpoint).

extension LearnedProximalNetwork {
    /// The metadata keys of the architecture (`lpn.kind`, `lpn.hidden`, …) describing this
    /// network, enough for `load(from:)` to rebuild it.
    public var architectureMetadata: [String: String] {
        var m: [String: String] = [
            "lpn.hidden": String(hidden), "lpn.layers": String(layers),
            "lpn.beta": String(beta), "lpn.alpha": String(alpha),
        ]
        switch kind {
        case let .fullyConnected(d):
            m["lpn.kind"] = "fully-connected"
            m["lpn.dimension"] = String(d)
        case let .convolutional(c, h, w, dense):
            m["lpn.kind"] = "convolutional"
            m["lpn.channels"] = String(c)
            m["lpn.height"] = String(h)
            m["lpn.width"] = String(w)
            m["lpn.dense_features"] = String(dense)
        case let .fullyConvolutional(c):
            m["lpn.kind"] = "fully-convolutional"
            m["lpn.channels"] = String(c)
        }
        if !scales.isEmpty { m["lpn.scales"] = scales.map(String.init).joined(separator: ",") }
        return m
    }

    /// Writes the parameters and `architectureMetadata` (plus `metadata`, which cannot
    /// override the architecture keys) to a safetensors file, atomically.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try Checkpoint.save(model: self, scalar: T.self, metadata: metadata.merging(architectureMetadata) { _, a in a }, to: path)
    }

    /// The network described by a file's architecture metadata, with the file's parameters
    /// (a file of `save(to:metadata:)` or a training checkpoint carrying the same metadata;
    /// optimizer entries are ignored). Throws `LearningError.malformedFile` when the
    /// architecture keys are missing or invalid, and `checkpointMismatch` when a parameter is
    /// missing or of another shape.
    public static func load(from path: String) throws -> LearnedProximalNetwork<T> {
        let meta = try SafeTensors.read(path).metadata
        func int(_ key: String) throws -> Int {
            guard let v = meta["lpn." + key].flatMap({ Int($0) }) else {
                throw LearningError.malformedFile(path: path, reason: "metadata 'lpn.\(key)' missing or not an integer")
            }
            return v
        }
        func double(_ key: String) throws -> Double {
            guard let v = meta["lpn." + key].flatMap({ Double($0) }) else {
                throw LearningError.malformedFile(path: path, reason: "metadata 'lpn.\(key)' missing or not a number")
            }
            return v
        }
        let kind: Kind
        switch meta["lpn.kind"] {
        case "fully-connected": kind = .fullyConnected(dimension: try int("dimension"))
        case "convolutional":
            kind = .convolutional(channels: try int("channels"), height: try int("height"), width: try int("width"),
                                  denseFeatures: try int("dense_features"))
        case "fully-convolutional": kind = .fullyConvolutional(channels: try int("channels"))
        default:
            throw LearningError.malformedFile(path: path,
                                              reason: "metadata 'lpn.kind' missing or not fully-connected / convolutional / fully-convolutional")
        }
        var scales: [Int] = []
        if let text = meta["lpn.scales"] {
            let parsed = text.split(separator: ",").map { Int($0) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
                throw LearningError.malformedFile(path: path, reason: "metadata 'lpn.scales' '\(text)' is not a comma-separated list of integers")
            }
            scales = parsed.compactMap { $0 }
        }
        var g = SeededGenerator(seed: 0)
        let net: LearnedProximalNetwork<T>
        do {
            net = try LearnedProximalNetwork(kind: kind, hidden: try int("hidden"), layers: try int("layers"), beta: try double("beta"),
                                             alpha: try double("alpha"), scales: scales, generator: &g)
        } catch let LearningError.invalidArgument(name, value, expected) {
            throw LearningError.malformedFile(path: path, reason: "architecture metadata: \(name) \(value), expected \(expected)")
        }
        try Checkpoint.load(into: net, scalar: T.self, from: path)
        return net
    }
}
