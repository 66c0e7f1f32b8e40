import Foundation
import Testing
@testable import Learning

// Seeded mutation fuzzing of the safetensors reader: every mutated file must read as valid
// tensors or throw LearningError naming the file; any other error fails, a trap kills the run.

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

@Suite struct SafeTensorsFuzzTests {
    static func header(_ b: [UInt8]) -> Int { b.prefix(8).enumerated().reduce(0) { $0 | Int($1.1) << (8 * $1.0) } }

    @Test("safetensors reader: 4000 mutated files, typed error or valid tensors")
    func safetensorsFuzz() throws {
        let dir = NSTemporaryDirectory() + "swiftpde-tests/safetensors-fuzz-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let w = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor<Double>(shape: [4], scalars: [0.5, -1, 1e300, 7])
        try SafeTensors.write([("layer.weight", .init(w)), ("layer.bias", .init(b))], metadata: ["format": "pt", "step": "12"], to: dir + "/a.safetensors")
        try SafeTensors.write([("scalar", .init(Tensor<Float>(3.25))), ("empty", .init(Tensor<Double>(zeros: [0, 5])))], to: dir + "/b.safetensors")
        let seeds = try ["a", "b"].map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/\($0).safetensors"))) }
        let bounds = seeds.map { s -> [Int] in
            let n = Self.header(s)
            return [0, 4, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n, 8 + n + 4, s.count - 1]
        }
        let dtypes = ["F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "X", "", "F32", "F64"]
        let path = dir + "/fuzz.safetensors"
        var m = FuzzMutator(seed: 21)
        var valid = 0, typed = 0
        let start = ContinuousClock.now
        for i in 0..<4000 {
            let k = m.below(seeds.count)
            var bytes = seeds[k]
            switch i % 97 == 0 ? -1 : m.below(10) {
            case -1: bytes = []
            case 0:  // another dtype
                var text = String(decoding: bytes, as: UTF8.self)
                if let r = text.range(of: ["\"F32\"", "\"F64\""][m.below(2)]) { text.replaceSubrange(r, with: "\"\(m.pick(dtypes))\"") }
                bytes = Array(bytes.prefix(8)) + Array(text.utf8.dropFirst(8))
            case 1:  // header length
                var v = m.pick(FuzzMutator.nastyWords + [UInt64(Self.header(bytes) + 1), UInt64(Self.header(bytes) - 1), 100_000_001]).littleEndian
                withUnsafeBytes(of: &v) { for j in 0..<8 { bytes[j] = $0[j] } }
            case 2, 3:  // a number inside the JSON header (shape or data_offsets)
                let n = min(bytes.count, 8 + Self.header(bytes))
                let json = m.replaceNumber(Array(bytes[8..<n]), with: Array(m.pick(FuzzMutator.nastyTokens + ["-5", "1e3", "[]", "null", "\"3\"", "true"]).utf8))
                var len = UInt64(json.count).littleEndian
                bytes = withUnsafeBytes(of: &len) { Array($0) } + json + Array(bytes[n...])
            default:
                bytes = m.mutate(bytes, boundaries: bounds[k], binary: true)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let r = try SafeTensors.read(path)
                valid += 1
                for (_, e) in r.tensors {
                    let size = e.shape.reduce(1, *) * (e.dtype == "F32" ? 4 : 8)
                    #expect(e.data.count == size)
                    #expect(e.tensor(Float.self).shape == e.shape)
                }
            } catch let e as LearningError {
                typed += 1
                #expect(e.description.contains(path), "\(e)")
            } catch {
                Issue.record("input \(i): untyped error \(type(of: error)): \(error)")
            }
        }
        print("safetensors fuzz: \(valid) valid, \(typed) typed errors, \(ContinuousClock.now - start)")
        #expect(valid > 100 && typed > 1000, "\(valid) valid, \(typed) typed")
    }

    @Test func safetensorsOverflowingShapesAndOffsets() throws {
        let dir = NSTemporaryDirectory() + "swiftpde-tests/safetensors-huge-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/h.safetensors"
        for (json, reason) in [
            (#"{"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, "needs more than"),
            (#"{"t":{"dtype":"F64","shape":[9223372036854775807,2],"data_offsets":[0,8]}}"#, "integers (below 9e18)"),
            (#"{"t":{"dtype":"F64","shape":[3037000500,3037000500],"data_offsets":[0,8]}}"#, "needs more than"),
            (#"{"t":{"dtype":"F64","shape":[1],"data_offsets":[9223372036854775000,9223372036854775807]}}"#, "data_offsets"),
            (#"{"t":{"dtype":"F64","shape":[1.5],"data_offsets":[0,8]}}"#, "lists of integers"),
            (#"{"t":{"dtype":"F64","shape":[1e300],"data_offsets":[0,8]}}"#, "lists of integers"),
            (#"{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, "dtype I64"),
            (#"[1,2]"#, "not a JSON object"),
        ] {
            var len = UInt64(json.utf8.count).littleEndian
            let bytes = withUnsafeBytes(of: &len) { Array($0) } + Array(json.utf8) + [UInt8](repeating: 0, count: 8)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect { try SafeTensors.read(path) } throws: { e in
                guard case let LearningError.malformedFile(p, why) = e else { return false }
                return p == path && why.contains(reason)
            }
        }
        var huge = UInt64.max.littleEndian
        try Data(withUnsafeBytes(of: &huge) { Array($0) } + Array("{}".utf8)).write(to: URL(fileURLWithPath: path))
        #expect { try SafeTensors.read(path) } throws: { e in "\(e)".contains("exceeds the file") }
    }
}
