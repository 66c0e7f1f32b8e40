import Foundation

// Helpers shared by every test target (one copy, not one per target).

/// A fresh folder under the system temporary directory for one test's files.
public func makeTemporaryFolder(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "swiftpde-tests/\(safe)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Largest |aᵢ − bᵢ|; infinity when the lengths differ (so a shape bug cannot pass).
public func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Least-squares slope of log(errors) against log(h): the observed convergence order.
public func observedOrder(h: [Double], errors: [Double]) -> Double {
    let xs = h.map { Foundation.log($0) }, ys = errors.map { Foundation.log($0) }
    let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
    var num = 0.0, den = 0.0
    for (x, y) in zip(xs, ys) { num += (x - mx) * (y - my); den += (x - mx) * (x - mx) }
    return num / den
}

/// The Python interpreter the tests compare against (numpy, scipy, h5py, safetensors, torch).
/// Tests that need a module are declared with `.enabled(if: Python.has("numpy"), …)`, so a
/// missing module shows as a skipped test with its reason, never as a silent pass; once
/// enabled, a failing script fails the test.
public enum Python {
    /// The interpreter: `SWIFTPDE_PYTHON` when set (e.g. a virtual environment with torch),
    /// else `python3` from the path.
    public static var interpreter: String { ProcessInfo.processInfo.environment["SWIFTPDE_PYTHON"] ?? "python3" }

    /// Runs `python3 -c script` (working directory: the package root) and returns its exit
    /// status and combined output; status 127 when python3 cannot be started.
    public static func run(_ script: String) -> (status: Int32, output: String) {
        run(arguments: ["-c", script])
    }

    /// Runs the interpreter with `arguments` (working directory: the package root).
    public static func run(arguments: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [interpreter] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "python3 could not be started: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    nonisolated(unsafe) private static var cache: [String: Bool] = [:]
    private static let lock = NSLock()

    /// True when `python3 -c "import <modules>"` succeeds (cached per module list).
    public static func has(_ modules: String...) -> Bool {
        let key = modules.joined(separator: ", ")
        lock.lock(); defer { lock.unlock() }
        if let v = cache[key] { return v }
        let ok = run("import " + key).status == 0
        cache[key] = ok
        return ok
    }

    /// The package's own peer scripts (`benchmarks/peers`, the ones `pde-bench` runs), if
    /// present.
    public static var peersFolder: String? {
        let path = packageRoot + "/benchmarks/peers"
        return FileManager.default.fileExists(atPath: path + "/poisson_matrix.py") ? path : nil
    }
}

/// The package's root folder (where Package.swift is).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs an executable with `arguments` in `directory` (default: the package root) and
/// returns its exit status, standard output and standard error. A process killed by a
/// signal reports 128 + the signal number, as a shell does.
public func runProcess(_ executable: String, _ arguments: [String], in directory: String = packageRoot)
    throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes concurrently so a chatty process cannot block on a full pipe.
    var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    return (status, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The debug build of one of the package's executables (built by `swift build --build-tests`).
public func builtExecutable(_ name: String) -> String { packageRoot + "/.build/debug/" + name }
