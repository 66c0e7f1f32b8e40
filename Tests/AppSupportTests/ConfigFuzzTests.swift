import Foundation
import Testing
@testable import AppSupport
import PDE

// Seeded mutation fuzzing of config decoding: every mutated YAML text must decode to a
// SolveConfig or throw ConfigError naming the file; any other error fails, a trap kills the run.

/// Byte-level mutations of valid seed files (the same generator is copied into the Learning
/// and AppSupport fuzz tests, which cannot share test code).
private struct FuzzMutator {
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// Numbers that break parsers: huge, negative, overflowing, non-finite, not numbers.
    static let nastyTokens = ["999999999999", "-1", "9223372036854775807", "9223372036854775808",
                              "-9223372036854775808", "18446744073709551615", "2147483647", "2147483648",
                              "4294967296", "0", "1e308", "1e999", "nan", "inf", "-inf", "NaN", "1.5", "abc", ""]
    /// 8-byte little-endian words for binary counts and offsets.
    static let nastyWords: [UInt64] = [.max, UInt64(Int64.max), 1 << 63, 1 << 31, 0xFFFF_FFFF, 999_999_999_999,
                                       0, 1, Double.nan.bitPattern, Double.infinity.bitPattern, 0x0100_0000]
    static let nastyInts32: [UInt32] = [.max, 0x7FFF_FFFF, 0x8000_0000, 0x0100_0000, 0, 999_999_999]

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }

    /// One mutated copy of `seed`; `boundaries` are section offsets worth truncating at.
    /// `binary` adds mutations that overwrite fixed-width integers.
    mutating func mutate(_ seed: [UInt8], boundaries: [Int], binary: Bool) -> [UInt8] {
        var b = seed
        let rounds = below(4) == 0 ? 2 : 1
        for _ in 0..<rounds { b = mutateOnce(b, boundaries: boundaries, binary: binary) }
        return b
    }

    private mutating func mutateOnce(_ s: [UInt8], boundaries: [Int], binary: Bool) -> [UInt8] {
        var b = s
        if b.isEmpty { return b }
        switch below(binary ? 10 : 8) {
        case 0:  // truncate at a section boundary
            let cut = boundaries.isEmpty ? below(b.count) : min(b.count, pick(boundaries))
            return Array(b.prefix(cut))
        case 1:  // truncate anywhere
            return Array(b.prefix(below(b.count)))
        case 2:  // flip a few bytes
            for _ in 0...below(4) { b[below(b.count)] ^= UInt8(truncatingIfNeeded: 1 + below(255)) }
            return b
        case 3, 4:  // replace a number with a nasty one
            return replaceNumber(b, with: Array(pick(Self.nastyTokens).utf8))
        case 5:  // insert a nasty token
            let p = below(b.count + 1)
            b.insert(contentsOf: Array((pick(Self.nastyTokens) + " ").utf8), at: p)
            return b
        case 6:  // delete a line or a range
            let lines = lineStarts(b)
            if lines.count > 1, below(2) == 0 {
                let k = below(lines.count - 1)
                b.removeSubrange(lines[k]..<lines[k + 1])
            } else {
                let p = below(b.count), n = min(b.count - p, 1 + below(16))
                b.removeSubrange(p..<(p + n))
            }
            return b
        case 7:  // duplicate a line
            let lines = lineStarts(b)
            guard lines.count > 1 else { return b }
            let k = below(lines.count - 1)
            b.insert(contentsOf: b[lines[k]..<lines[k + 1]], at: lines[k + 1])
            return b
        case 8:  // overwrite a 64-bit word (binary formats: counts, offsets, doubles)
            guard b.count >= 8 else { return b }
            let p = below(b.count - 7)
            var w = pick(Self.nastyWords).littleEndian
            withUnsafeBytes(of: &w) { for k in 0..<8 { b[p + k] = $0[k] } }
            return b
        default:  // overwrite a 32-bit word
            guard b.count >= 4 else { return b }
            let p = below(b.count - 3)
            var w = pick(Self.nastyInts32).littleEndian
            withUnsafeBytes(of: &w) { for k in 0..<4 { b[p + k] = $0[k] } }
            return b
        }
    }

    /// Replaces the first run of digits at or after a random offset (with its sign, point and
    /// exponent) by `token`.
    mutating func replaceNumber(_ s: [UInt8], with token: [UInt8]) -> [UInt8] {
        var b = s
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isNumberByte(_ c: UInt8) -> Bool { isDigit(c) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45 }
        let start = below(b.count)
        var p = start
        while p < b.count && !isDigit(b[p]) { p += 1 }
        if p == b.count { p = 0; while p < start && !isDigit(b[p]) { p += 1 } }
        guard p < b.count, isDigit(b[p]) else { return b }
        var lo = p, hi = p
        while lo > 0 && isNumberByte(b[lo - 1]) { lo -= 1 }
        while hi < b.count && isNumberByte(b[hi]) { hi += 1 }
        b.replaceSubrange(lo..<hi, with: token)
        return b
    }

    func lineStarts(_ b: [UInt8]) -> [Int] {
        var out = [0]
        for (i, c) in b.enumerated() where c == 0x0A { out.append(i + 1) }
        if out.last != b.count { out.append(b.count) }
        return out
    }
}

@Suite struct ConfigFuzzTests {
    @Test("Config decoding: 3000 mutated YAML files, typed ConfigError or valid config")
    func configFuzz() throws {
        let folder = "data/configs"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        try #require(names.count >= 5)
        let seeds = try names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0))) }
        // Every seed decodes as it is.
        for (name, s) in zip(names, seeds) { _ = try decodeConfig(SolveConfig.self, yaml: String(decoding: s, as: UTF8.self), file: name) }
        let yamlTokens = ["[", "]", "{", "}", ":", "- ", ", ", "&a ", "*a", "*b", "!!binary ", "!!int ", "!!float ", "!!str ", "!!map ", "!!seq ",
                          "~", "null", ".nan", ".inf", "-.inf", "0x7fffffffffffffff", "0o777", "1e999", "'", "\"", "\t", "? ", "|", ">",
                          "---\n", "...\n", "%YAML 1.1\n", "#", "<<: *a\n", "\u{FEFF}", "\0", "yes", "no", "on", "2001-12-14t21:59:43.10-05:00"]
        var m = FuzzMutator(seed: 31)
        var valid = 0, typed = 0
        let start = ContinuousClock.now
        for i in 0..<3000 {
            let k = m.below(seeds.count)
            var bytes = seeds[k]
            switch i % 97 == 0 ? -1 : m.below(6) {
            case -1: bytes = []
            case 0:  // a YAML-structural token somewhere
                bytes.insert(contentsOf: Array(m.pick(yamlTokens).utf8), at: m.below(bytes.count + 1))
            case 1:  // a number replaced by a YAML-ish or nasty scalar
                bytes = m.replaceNumber(bytes, with: Array(m.pick(FuzzMutator.nastyTokens + [".nan", "-.inf", "~", "[]", "{}", "0x10", "1_000"]).utf8))
            case 2:  // indentation changed on a random line
                let lines = m.lineStarts(bytes)
                let at = lines[m.below(lines.count)]
                if m.below(2) == 0 { bytes.insert(contentsOf: Array("  ".utf8), at: min(at, bytes.count)) }
                else if at < bytes.count && bytes[at] == 0x20 { bytes.remove(at: at) }
            default:
                bytes = m.mutate(bytes, boundaries: lineBoundaries(bytes), binary: false)
            }
            let file = "fuzz-\(names[k])"
            do {
                let c = try decodeConfig(SolveConfig.self, yaml: String(decoding: bytes, as: UTF8.self), file: file)
                valid += 1
                #expect((c.grid == nil) != (c.mesh == nil))
                if let g = c.grid { #expect((1...3).contains(g.nodes.count) && g.nodes.allSatisfy { $0 >= 3 }) }
            } catch let e as ConfigError {
                typed += 1
                #expect(e.file == file, "\(e)")
            } catch {
                Issue.record("input \(i): untyped error \(type(of: error)): \(error)")
            }
        }
        print("config fuzz: \(valid) valid, \(typed) typed errors, \(ContinuousClock.now - start)")
        #expect(valid > 100 && typed > 500, "\(valid) valid, \(typed) typed")
    }

    @Test("Config decoding: hostile YAML (deep nesting, aliases, tags, overflowing integers) gives ConfigError")
    func hostileYAML() {
        let deep = 100_000
        let inputs = [
            "grid: {nodes: " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}\n",
            "grid:\n  nodes: " + String(repeating: "- ", count: deep) + "1\n",
            "a: &a [*a]\n", "grid: &g {nodes: *g}\n", "<<: *x\n", "grid: !!binary AAAA\n",
            "grid: {nodes: [!!float 3, 3]}\n", "grid: {nodes: [9223372036854775808, 3]}\n",
            "grid: {nodes: [3, 3]}\nsolver: {method: cg, max_iterations: 99999999999999999999}\n",
            "grid: {nodes: [3, 3]}\nequation: {source: .nan}\nsolver: {method: cg, rtol: .inf}\n",
            "grid: {nodes: [3, 3]}\nboundary: {tags: {99999999999999999999: dirichlet}}\n",
            "\u{FEFF}\u{0}", "%YAML 9.9\n---\ngrid: {nodes: [3]}\n", "grid: {nodes: [3, 3]}\n...\n---\ngrid: 1\n",
        ]
        for y in inputs {
            do {
                _ = try decodeConfig(SolveConfig.self, yaml: y, file: "hostile.yaml")
                Issue.record("accepted: \(y.prefix(60))")
            } catch let e as ConfigError {
                #expect(e.file == "hostile.yaml")
            } catch {
                Issue.record("untyped error \(type(of: error)) for \(y.prefix(60))")
            }
        }
    }

    /// Offsets just after each newline.
    func lineBoundaries(_ b: [UInt8]) -> [Int] { [0] + b.indices.filter { b[$0] == 0x0A }.map { $0 + 1 } }
}
