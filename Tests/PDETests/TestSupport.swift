import Foundation
@testable import PDE

/// A fresh folder under the system temporary directory for one test's files.
func makeTemporaryFolder(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "swiftpde-tests/\(safe)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Least-squares slope of log(errors) against log(h): the observed convergence order.
func observedOrder(h: [Double], errors: [Double]) -> Double {
    let xs = h.map { Foundation.log($0) }, ys = errors.map { Foundation.log($0) }
    let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
    var num = 0.0, den = 0.0
    for (x, y) in zip(xs, ys) { num += (x - mx) * (y - my); den += (x - mx) * (x - mx) }
    return num / den
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// The 1-D Dirichlet Laplacian tridiag(−1, 2, −1) of size n.
func laplacian1D(_ n: Int) -> CSRMatrix {
    var b = COOBuilder(rows: n, columns: n)
    for i in 0..<n {
        b.add(i, i, 2)
        if i > 0 { b.add(i, i - 1, -1) }
        if i + 1 < n { b.add(i, i + 1, -1) }
    }
    return b.build()
}

/// Runs python3 with a script; nil when python3 (or the module it imports) is missing.
func runPython(_ script: String) -> (status: Int32, output: String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// 2-D 5-point Laplacian on n×n interior nodes (unscaled), with an optional varying
/// diagonal shift (SPD, not a pure stencil), built inline so solver tests do not depend on
/// the discretization module.
func poisson2DMatrix(_ n: Int, shift: Double = 0) -> CSRMatrix {
    var b = COOBuilder(rows: n * n, columns: n * n)
    for j in 0..<n { for i in 0..<n {
        let r = i + n * j
        b.add(r, r, 4 + shift * Double((i * 7 + j * 3) % 5))
        if i > 0 { b.add(r, r - 1, -1) }
        if i + 1 < n { b.add(r, r + 1, -1) }
        if j > 0 { b.add(r, r - n, -1) }
        if j + 1 < n { b.add(r, r + n, -1) }
    } }
    return b.build()
}
