import Support

/// Byte-level mutations of valid seed files, for the seeded fuzz tests of every reader.
public struct FuzzMutator {
    public var rng: SeededGenerator

    public init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// Numbers that break parsers: huge, negative, overflowing, non-finite, not numbers.
    public static let nastyTokens = ["999999999999", "-1", "9223372036854775807", "9223372036854775808",
                              "-9223372036854775808", "18446744073709551615", "2147483647", "2147483648",
                              "4294967296", "0", "1e308", "1e999", "nan", "inf", "-inf", "NaN", "1.5", "abc", ""]
    /// 8-byte little-endian words for binary counts and offsets.
    public static let nastyWords: [UInt64] = [.max, UInt64(Int64.max), 1 << 63, 1 << 31, 0xFFFF_FFFF, 999_999_999_999,
                                       0, 1, Double.nan.bitPattern, Double.infinity.bitPattern, 0x0100_0000]
    public static let nastyInts32: [UInt32] = [.max, 0x7FFF_FFFF, 0x8000_0000, 0x0100_0000, 0, 999_999_999]

    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
    public mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }

    /// One mutated copy of `seed`; `boundaries` are section offsets worth truncating at.
    /// `binary` adds mutations that overwrite fixed-width integers.
    public mutating func mutate(_ seed: [UInt8], boundaries: [Int], binary: Bool) -> [UInt8] {
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
    public mutating func replaceNumber(_ s: [UInt8], with token: [UInt8]) -> [UInt8] {
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

    public func lineStarts(_ b: [UInt8]) -> [Int] {
        var out = [0]
        for (i, c) in b.enumerated() where c == 0x0A { out.append(i + 1) }
        if out.last != b.count { out.append(b.count) }
        return out
    }
}
