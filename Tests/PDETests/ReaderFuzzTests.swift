import Foundation
import Testing
@testable import PDE

// Seeded mutation fuzzing of every reader of user files in PDE: each mutated file must give a
// valid result or a typed PDEError naming the file; any other error fails, a trap kills the run.

/// Offsets just after each newline (line starts), the section boundaries of text formats.
func lineBoundaries(_ b: [UInt8]) -> [Int] {
    [0] + b.indices.filter { b[$0] == 0x0A }.map { $0 + 1 }
}

/// Outcome counts of one fuzz run.
struct FuzzTally: CustomStringConvertible {
    var valid = 0, typedErrors = 0, otherErrors = 0
    var description: String { "\(valid) valid, \(typedErrors) typed errors, \(otherErrors) other errors" }
}

/// Writes each input to `path` and runs `read`; PDEError naming the path counts as typed,
/// anything else is recorded as an issue. `check` validates successful results.
func fuzz(_ inputs: Int, seeds: [[UInt8]], boundaries: [[Int]], binary: Bool, seed: UInt64, path: String,
          extra: (inout FuzzMutator, [UInt8]) -> [UInt8]? = { _, _ in nil },
          read: (String) throws -> Void) -> FuzzTally {
    var m = FuzzMutator(seed: seed)
    var tally = FuzzTally()
    let url = URL(fileURLWithPath: path)
    for i in 0..<inputs {
        let k = m.below(seeds.count)
        let bytes: [UInt8]
        if i % 97 == 0 { bytes = [] } else if let e = extra(&m, seeds[k]) { bytes = e } else {
            bytes = m.mutate(seeds[k], boundaries: boundaries[k], binary: binary)
        }
        do { try Data(bytes).write(to: url) } catch { Issue.record("cannot write \(path): \(error)"); return tally }
        do {
            try read(path)
            tally.valid += 1
        } catch let e as PDEError {
            tally.typedErrors += 1
            if !e.description.contains(path) { Issue.record("error does not name the file: \(e)") }
        } catch {
            tally.otherErrors += 1
            Issue.record("input \(i): untyped error \(type(of: error)): \(error)")
        }
    }
    return tally
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }


@Suite struct ReaderFuzzTests {
    // MARK: Matrix Market

    @Test("Matrix Market reader: 4000 mutated files, typed error or valid matrix")
    func matrixMarketFuzz() throws {
        let dir = makeTemporaryFolder()
        var b = COOBuilder(rows: 6, columns: 5)
        for (i, j, v) in [(0, 0, 1.5), (1, 2, -2.0), (2, 4, 3e-7), (3, 1, 4.0), (5, 3, 1e10), (4, 4, -0.25)] { b.add(i, j, v) }
        try MatrixMarket.write(b.build(), to: dir + "/g.mtx")
        try MatrixMarket.write(laplacian1D(5), to: dir + "/s.mtx", symmetry: .symmetric, comment: "laplacian")
        try MatrixMarket.writeVector([1, -2, 3.5, 4e-3], to: dir + "/v.mtx")
        try Data("%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n6\n".utf8).write(to: URL(fileURLWithPath: dir + "/a.mtx"))
        let seeds = try ["g", "s", "v", "a"].map { try readBytes(dir + "/\($0).mtx") }
        let start = ContinuousClock.now
        var vectors = 0
        let tally = fuzz(4000, seeds: seeds, boundaries: seeds.map(lineBoundaries), binary: false, seed: 11, path: dir + "/fuzz.mtx") { p in
            let m = try MatrixMarket.read(p)
            #expect(m.rowPointers.count == m.rows + 1 && m.rowPointers.last == m.values.count)
            #expect(m.columnIndices.allSatisfy { $0 >= 0 && Int($0) < m.columns })
            #expect(m.values.allSatisfy { $0.isFinite })
            if m.columns == 1 { vectors += 1; #expect(try MatrixMarket.readVector(p).count == m.rows) }
        }
        print("Matrix Market fuzz: \(tally), \(vectors) vectors, \(ContinuousClock.now - start)")
        #expect(tally.otherErrors == 0 && tally.valid > 100 && tally.typedErrors > 1000, "\(tally)")
    }

    @Test("Matrix Market: the 999999999999² size line is a typed error, not an allocation crash")
    func matrixMarketHugeSize() throws {
        let dir = makeTemporaryFolder()
        let cases: [(String, String)] = [
            ("%%MatrixMarket matrix coordinate real general\n999999999999 999999999999 1\n1 1 1\n", "exceeds 2147483647"),
            ("%%MatrixMarket matrix coordinate real general\n1000000000 1000000000 1\n1 1 1\n", "implausible"),
            ("%%MatrixMarket matrix coordinate real general\n3 3 999999999999\n1 1 1\n", "announces 999999999999 entries but only"),
            ("%%MatrixMarket matrix coordinate real general\n3 3 -1\n", "negative entry count"),
            ("%%MatrixMarket matrix array real general\n3037000500 3037000500\n1\n", "exceeds 2147483647"),
            ("%%MatrixMarket matrix coordinate real general\n1 2147483647 1\n1 1 1\n", "implausible"),
            ("%%MatrixMarket matrix array real general\n100000 100000\n1\n", "more values than"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 nan\n", "'nan' is not finite"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 -inf\n", "'-inf' is not finite"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n", "row index 3 outside"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n", "file ends after 1 of 2"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 2\n", "more entries than the 1"),
        ]
        for (text, reason) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/m.mtx"))
            #expect { try MatrixMarket.read(dir + "/m.mtx") } throws: { e in
                guard case let PDEError.malformedFile(path, line, why) = e else { return false }
                return path == dir + "/m.mtx" && line != nil && why.contains(reason)
            }
        }
        // The NaN is named with its line.
        try Data("%%MatrixMarket matrix coordinate real general\n% c\n2 2 2\n1 1 1\n2 2 NaN\n".utf8).write(to: URL(fileURLWithPath: dir + "/n.mtx"))
        #expect(throws: PDEError.malformedFile(path: dir + "/n.mtx", line: 5, reason: "value 'NaN' is not finite (expected a finite number)")) {
            try MatrixMarket.read(dir + "/n.mtx")
        }
    }

    // MARK: Gmsh

    @Test("Gmsh reader: 4500 mutated 4.1 ASCII, 4.1 binary and 2.2 files, typed error or valid mesh")
    func gmshFuzz() throws {
        let dir = makeTemporaryFolder()
        let mesh = try MeshGenerator.disk(resolution: 2)
        var seeds: [[UInt8]] = [], bounds: [[Int]] = []
        for (k, f) in Gmsh.Format.allCases.enumerated() {
            try Gmsh.write(mesh, to: dir + "/seed\(k).msh", format: f)
            let b = try readBytes(dir + "/seed\(k).msh")
            seeds.append(b)
            // Section markers (every '$' at a line start) and, for text, every line start.
            let markers = b.indices.filter { b[$0] == 0x24 && ($0 == 0 || b[$0 - 1] == 0x0A) }
            bounds.append(f == .binary41 ? markers + markers.map { $0 + 1 } : lineBoundaries(b))
        }
        let start = ContinuousClock.now
        let tally = fuzz(4500, seeds: seeds, boundaries: bounds, binary: true, seed: 12, path: dir + "/fuzz.msh") { p in
            let m = try Gmsh.read(p)
            #expect(m.triangles.allSatisfy { t in (0..<3).allSatisfy { t[$0] >= 0 && Int(t[$0]) < m.vertexCount } })
            #expect(m.areas.allSatisfy { $0 > 0 })
        }
        print("Gmsh fuzz: \(tally), \(ContinuousClock.now - start)")
        #expect(tally.otherErrors == 0 && tally.valid > 50 && tally.typedErrors > 1000, "\(tally)")
    }

    // MARK: NPY

    /// A .npy file with an arbitrary header (for dtypes and orders `NPY.write` does not produce).
    static func npyFile(descr: String, fortran: Bool, shape: String, payload: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let n = header.utf8.count
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8) + payload
    }

    @Test("NPY reader: 4000 mutated files, typed error or valid array")
    func npyFuzz() throws {
        let dir = makeTemporaryFolder()
        try NPY.write((0..<12).map { Double($0) / 3 }, shape: [3, 4], to: dir + "/d.npy")
        try NPY.write([Float](repeating: 1.5, count: 5), shape: [5], to: dir + "/f.npy")
        try NPY.write((0..<8).map { Int32($0) - 4 }, shape: [2, 2, 2], to: dir + "/i.npy")
        var seeds = try ["d", "f", "i"].map { try readBytes(dir + "/\($0).npy") }
        let i8 = (0..<6).flatMap { i -> [UInt8] in withUnsafeBytes(of: Int64(i - 3).littleEndian) { Array($0) } }
        let be = (0..<6).flatMap { i -> [UInt8] in withUnsafeBytes(of: Double(i).bitPattern.bigEndian) { Array($0) } }
        seeds.append(Self.npyFile(descr: "<i8", fortran: true, shape: "(2, 3)", payload: i8))
        seeds.append(Self.npyFile(descr: ">f8", fortran: false, shape: "(6,)", payload: be))
        seeds.append(Self.npyFile(descr: "|u1", fortran: false, shape: "(2, 2)", payload: [0, 1, 200, 255]))
        seeds.append(Self.npyFile(descr: "|b1", fortran: true, shape: "(3, 1)", payload: [1, 0, 1]))
        let bounds = seeds.map { s -> [Int] in
            let end = 10 + (Int(s[8]) | Int(s[9]) << 8)
            return [0, 6, 8, 9, 10, end - 1, end, end + 1, (end + s.count) / 2, s.count - 1]
        }
        let descrs = ["<c16", ">f8", "<f8", "|b1", "<U3", "|O", "<i2", ">i8", "f4", "<f16", "'", ""]
        let start = ContinuousClock.now
        let tally = fuzz(4000, seeds: seeds, boundaries: bounds, binary: true, seed: 13, path: dir + "/fuzz.npy", extra: { m, s in
            // A third of the cases rewrite the header: the dtype, a shape entry, the header length.
            switch m.below(9) {
            case 0:
                let text = String(decoding: s, as: UTF8.self)
                guard let r = text.range(of: "'descr': '") , let q = text[r.upperBound...].firstIndex(of: "'") else { return nil }
                return Array((text[..<r.upperBound] + m.pick(descrs) + text[q...]).utf8)
            case 1:
                guard let open = s.firstIndex(of: 0x28) else { return nil }  // '(' of the shape
                let head = m.replaceNumber(Array(s[open...]), with: Array(m.pick(FuzzMutator.nastyTokens).utf8))
                return Array(s[..<open]) + head
            case 2:
                var b = s
                let n = m.pick([0xFFFF, 0, 1, 9, 118, 119, 200])
                b[8] = UInt8(n & 0xFF); b[9] = UInt8(n >> 8)
                return b
            default: return nil
            }
        }) { p in
            let a = try NPY.read(p)
            #expect(a.doubles.count == a.shape.reduce(1, *))
        }
        print("NPY fuzz: \(tally), \(ContinuousClock.now - start)")
        #expect(tally.otherErrors == 0 && tally.valid > 100 && tally.typedErrors > 1000, "\(tally)")
    }

    @Test("NPY: overflowing shapes and oversized headers are typed errors")
    func npyHugeShapes() throws {
        let dir = makeTemporaryFolder()
        let path = dir + "/h.npy"
        for (shape, reason) in [("(9223372036854775807, 2)", "64-bit count"), ("(4294967296, 4294967296)", "64-bit count"),
                                ("(999999999999,)", "data ends after 0 of 999999999999"), ("(-1,)", "shape entry '-1'"),
                                ("(9223372036854775808,)", "shape entry"), ("3", "expected a tuple")] {
            try Data(Self.npyFile(descr: "<f8", fortran: false, shape: shape, payload: [])).write(to: URL(fileURLWithPath: path))
            #expect { try NPY.read(path) } throws: { e in
                guard case let PDEError.malformedFile(p, _, why) = e else { return false }
                return p == path && why.contains(reason)
            }
        }
        var b = Self.npyFile(descr: "<f8", fortran: false, shape: "(1,)", payload: [0, 0, 0, 0, 0, 0, 0, 0])
        b[6] = 2
        b.insert(contentsOf: [0xFF, 0xFF], at: 10)  // v2: 4-byte header length 0xFFFF????
        try Data(b).write(to: URL(fileURLWithPath: path))
        #expect { try NPY.read(path) } throws: { e in "\(e)".contains("exceeds the") }
    }

    @Test("NPY: numpy's int64, uint8, bool, big-endian and Fortran-ordered arrays read in C order",
          .enabled(if: Python.has("numpy"), "needs python3 with numpy (scripts/install-python-deps)"))
    func npyReadsNumpyDtypesAndOrders() throws {
        let dir = makeTemporaryFolder()
        let script = """
        import numpy as np
        d = '\(dir)'
        a = np.arange(24).reshape(2, 3, 4)
        np.save(d + '/i8.npy', a - 7)
        np.save(d + '/u1.npy', (a * 11 % 256).astype(np.uint8))
        np.save(d + '/b1.npy', a % 3 == 0)
        np.save(d + '/f4F.npy', np.asfortranarray((a / 7).astype(np.float32)))
        np.save(d + '/f8be.npy', (a / 3).astype('>f8'))
        np.save(d + '/i4beF.npy', np.asfortranarray((a - 5).astype('>i4')))
        np.save(d + '/i8F2.npy', np.asfortranarray(np.arange(15).reshape(5, 3)))
        for name in ['i8', 'u1', 'b1', 'f4F', 'f8be', 'i4beF', 'i8F2']:
            x = np.load(d + '/' + name + '.npy')
            np.savetxt(d + '/' + name + '.txt', np.ascontiguousarray(x).astype(np.float64).ravel(), fmt='%.17g')
        print('ok')
        """
        let r = Python.run(script)
        #expect(r.status == 0 && r.output.contains("ok"), "\(r.output)")
        let expected: [(String, NPYArray.DType, [Int])] = [
            ("i8", .int64, [2, 3, 4]), ("u1", .uint8, [2, 3, 4]), ("b1", .bool, [2, 3, 4]), ("f4F", .float32, [2, 3, 4]),
            ("f8be", .float64, [2, 3, 4]), ("i4beF", .int32, [2, 3, 4]), ("i8F2", .int64, [5, 3]),
        ]
        for (name, dtype, shape) in expected {
            let a = try NPY.read(dir + "/\(name).npy")
            let ref = try String(contentsOfFile: dir + "/\(name).txt", encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
            #expect(a.dtype == dtype && a.shape == shape, "\(name): \(a.dtype) \(a.shape)")
            #expect(a.doubles == ref, "\(name): \(a.doubles.prefix(8)) vs \(ref.prefix(8))")
        }
    }

    // MARK: HDF5

    @Test("HDF5 reader: 3000 mutated files, typed error or valid dataset")
    func hdf5Fuzz() throws {
        let dir = makeTemporaryFolder()
        try HDF5File.write([.init(name: "u", shape: [3, 4], values: (0..<12).map { Double($0) }),
                            .init(name: "fields/a", shape: [5], values: [Float](repeating: 2, count: 5))], to: dir + "/seed.h5")
        let seed = try readBytes(dir + "/seed.h5")
        // Superblock, root group, object headers: every 8 bytes of the metadata, and the data.
        let bounds = Array(stride(from: 0, to: seed.count, by: 8))
        let start = ContinuousClock.now
        let tally = fuzz(3000, seeds: [seed], boundaries: [bounds], binary: true, seed: 14, path: dir + "/fuzz.h5") { p in
            for name in try HDF5File.datasets(in: p) {
                let d = try HDF5File.read(name, from: p)
                #expect(d.values.count == d.shape.reduce(1, *))
            }
            _ = try HDF5File.read("u", from: p)
        }
        print("HDF5 fuzz: \(tally), \(ContinuousClock.now - start)")
        #expect(tally.otherErrors == 0 && tally.valid > 50 && tally.typedErrors > 500, "\(tally)")
    }

    // MARK: PNG

    /// CRC-32 (PNG chunks), to forge chunks libpng accepts.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    /// The PNG with its IHDR width and height replaced (and the CRC fixed).
    static func withSize(_ png: [UInt8], width: UInt32, height: UInt32) -> [UInt8] {
        var b = png
        for (k, v) in [(16, width), (20, height)] { for i in 0..<4 { b[k + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * i)) } }
        let crc = crc32(b[12..<29])
        for i in 0..<4 { b[29 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
        return b
    }

    @Test("PNG reader: 3000 mutated images, typed error or valid image")
    func pngFuzz() throws {
        let dir = makeTemporaryFolder()
        var img = RGBImage(width: 9, height: 7, fill: (10, 200, 30))
        img.fillRect(x: 2, y: 1, width: 4, height: 3, (250, 0, 100))
        try img.writePNG(to: dir + "/a.png")
        try RGBImage(width: 1, height: 1).writePNG(to: dir + "/b.png")
        let seeds = try [readBytes(dir + "/a.png"), readBytes(dir + "/b.png")]
        let bounds = seeds.map { s -> [Int] in  // chunk boundaries
            var out = [8], p = 8
            while p + 8 <= s.count {
                let n = s[p..<(p + 4)].reduce(0) { $0 << 8 | Int($1) }
                p += 12 + n
                out += [p - 4, p]
            }
            return out
        }
        let start = ContinuousClock.now
        let tally = fuzz(3000, seeds: seeds, boundaries: bounds, binary: true, seed: 15, path: dir + "/fuzz.png", extra: { m, s in
            guard m.below(8) == 0 else { return nil }
            let sizes: [UInt32] = [0, 1, 3, 1 << 16, 1 << 20, 0x7FFF_FFFF, 0x8000_0000, .max]
            return Self.withSize(s, width: m.pick(sizes), height: m.pick(sizes))
        }) { p in
            let g = try PNGImage.readGray(p)
            #expect(g.values.count == g.width * g.height && g.values.allSatisfy { (0...1).contains($0) })
        }
        print("PNG fuzz: \(tally), \(ContinuousClock.now - start)")
        #expect(tally.otherErrors == 0 && tally.valid > 50 && tally.typedErrors > 1000, "\(tally)")
        // An image declaring 100000 × 100000 pixels (valid header, no data) is refused before allocating.
        try Data(Self.withSize(seeds[0], width: 100_000, height: 100_000)).write(to: URL(fileURLWithPath: dir + "/big.png"))
        #expect { try PNGImage.readGray(dir + "/big.png") } throws: { e in
            guard case let PDEError.malformedFile(_, _, why) = e else { return false }
            return why.contains("100000×100000") && why.contains("at most 268435456")
        }
        // Unchanged seeds still read exactly.
        let a = try PNGImage.readGray(dir + "/a.png")
        #expect(a.width == 9 && a.height == 7)
    }
}
