import Foundation
import Testing
import TestSupport
@testable import Learning

// Seeded mutation fuzzing of the safetensors reader: every mutated file must read as valid
// tensors or throw LearningError naming the file; any other error fails, a trap kills the run.

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
