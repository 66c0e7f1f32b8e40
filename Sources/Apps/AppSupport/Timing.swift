import Foundation

/// Wall-clock seconds of `body`.
public func measureSeconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
}

/// Median of a non-empty list.
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
}

/// Formats seconds compactly for tables: 12.3 ms, 1.25 s.
public func formatSeconds(_ s: Double) -> String {
    if s < 1e-3 { return String(format: "%.1f µs", s * 1e6) }
    if s < 1 { return String(format: "%.2f ms", s * 1e3) }
    return String(format: "%.3f s", s)
}

/// Prints a table with a header row, columns padded to their widest cell.
public func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { c in ([header] + rows).map { $0.indices.contains(c) ? $0[c].count : 0 }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, s in s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for r in rows { print(line(r)) }
}
