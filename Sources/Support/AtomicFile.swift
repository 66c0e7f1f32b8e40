import Foundation

/// Writes files atomically: the bytes go to a temporary file in the same folder, which is
/// then renamed over the destination, so a crash never leaves a half-written result.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { tmp in
            do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                throw FileWriteError(path: path, reason: error.localizedDescription)
            }
        }
    }

    /// Calls `body` with a temporary path next to `path`; when it returns, renames the
    /// temporary file to `path`. When `body` throws, the temporary file is removed.
    /// Use this for writers implemented by C libraries (HDF5, libpng) that take a path.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw FileWriteError(path: path, reason: "cannot create folder \(dir)")
            }
        } else if !isDir.boolValue {
            throw FileWriteError(path: path, reason: "\(dir) is not a folder")
        }
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try body(tmp)
        } catch {
            unlink(tmp)
            throw error
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FileWriteError(path: path, reason: reason)
        }
    }
}

/// A file could not be written (folder missing and not creatable, disk full, rename failed).
public struct FileWriteError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The destination path (not the temporary file).
    public var path: String
    public var reason: String
    /// `path` is the destination, not the temporary file; `reason` the OS or library message.
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "cannot write \(path): \(reason)" }
    public var errorDescription: String? { description }
}
