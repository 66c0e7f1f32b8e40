import AppSupport
import Foundation
import PDE

/// Appends JSON lines to the results file and prints aligned tables.
final class BenchRecorder {
    let path: String
    private var lines: [String] = []

    init(path: String) { self.path = path }

    func record(_ object: [String: Any]) {
        var o = object
        o["date"] = ISO8601DateFormatter().string(from: Date())
        o["threads"] = o["threads"] ?? Parallel.workerCount
        if let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]),
           let s = String(data: data, encoding: .utf8) {
            lines.append(s)
        }
    }

    /// Appends the recorded lines to the results file (read, append, atomic rename).
    func flush() throws {
        guard !lines.isEmpty else { return }
        var existing = FileManager.default.contents(atPath: path) ?? Data()
        existing.append(Data((lines.joined(separator: "\n") + "\n").utf8))
        try AtomicFile.write(existing, to: path)
        print("appended \(lines.count) measurements to \(path)")
        lines.removeAll()
    }
}

/// Runs a peer script with the options' Python (python3 by default) and returns its JSON objects (one per stdout line).
func runPeer(_ script: String, _ arguments: [String], options: BenchOptions) -> [[String: Any]] {
    guard !options.noPeers else { return [] }
    let path = options.peerDir + "/" + script
    guard FileManager.default.fileExists(atPath: path) else {
        print("  (peer \(path) not found: skipped)")
        return []
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [options.python, path] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.standardError
    do { try p.run() } catch {
        print("  (cannot run \(options.python): \(error))")
        return []
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
}

