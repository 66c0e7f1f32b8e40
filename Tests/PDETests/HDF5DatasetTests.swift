import CHDF5
import Foundation
import Testing
@testable import PDE

/// Attributes, appendable chunked datasets, slices, resume and crash safety of
/// `HDF5DatasetFile`, and interoperability with h5py.
@Suite struct HDF5DatasetTests {
    static let allKinds: [String: HDF5Attribute] = [
        "dt": .double(0.125), "steps": .int(-42), "name": .string("Burgers ν=0.01 ✓"),
        "domain": .doubles([0, 1, -2.5e-300]), "grid": .ints([64, 64, Int64.max]),
        "empty": .doubles([]), "one": .ints([7]), "blank": .string(""),
    ]

    @Test func attributesOfEveryKindRoundTripOnFileGroupAndDataset() throws {
        let path = makeTemporaryFolder() + "/attrs.h5"
        do {
            let f = try HDF5DatasetFile(path: path, mode: .create)
            try f.createGroup("meta/run")
            try f.write("coords/x", shape: [3], values: [0.0, 0.5, 1.0], attributes: ["units": .string("m")])
            for object in ["/", "meta/run", "coords/x"] { try f.setAttributes(Self.allKinds, on: object) }
            try f.setAttribute("dt", .double(0.25))  // replaces
            try f.close()
        }
        let f = try HDF5DatasetFile(path: path)
        var root = Self.allKinds
        root["dt"] = .double(0.25)
        #expect(try f.attributes() == root)
        #expect(try f.attributes(of: "meta/run") == Self.allKinds)
        var x = Self.allKinds
        x["units"] = .string("m")
        #expect(try f.attributes(of: "coords/x") == x)
        #expect(try f.attribute("steps", of: "meta/run") == .int(-42))
        #expect(try f.attributes(of: "meta") == [:])
        #expect { try f.attribute("nope") } throws: { "\($0)".contains("'nope'") && "\($0)".contains("dt") }
        #expect { try f.attributes(of: "missing/group") } throws: { "\($0)".contains("missing/group") }
        #expect { try f.setAttribute("a", .int(1)) } throws: { "\($0)".contains("read-only") }
    }

    /// Appends N samples one by one for one element type, reads slices, reopens and appends more.
    func appendRoundTrip<T: HDF5Scalar & Numeric & Equatable>(_ type: T.Type, make: (Int) -> T) throws {
        let path = makeTemporaryFolder("append\(T.self)") + "/a.h5"
        let sampleShape = [3, 4]
        func sample(_ i: Int) -> [T] { (0..<12).map { make(i * 100 + $0) } }
        do {
            let f = try HDF5DatasetFile(path: path, mode: .append)
            #expect(try f.createAppendable("data/u", of: T.self, sampleShape: sampleShape, attributes: ["kind": .string("\(T.self)")]) == 0)
            for i in 0..<5 { #expect(try f.append("data/u", sample(i)) == i + 1) }
            let info = try f.info("data/u")
            #expect(info.shape == [5, 3, 4] && info.maxShape == [nil, 3, 4] && info.isAppendable)
            #expect(info.elementType == T.hdf5ElementType && info.sampleShape == sampleShape)
            #expect(info.compression == .standard && info.filterCount == 2)
            // Bad input: typed errors, nothing written.
            #expect { try f.append("data/u", [T](repeating: 0, count: 11)) } throws: { e in
                guard case PDEError.shapeMismatch(let what, _, _) = e else { return false }
                return what.contains("data/u") && "\(e)".contains("12 values") && "\(e)".contains("a.h5")
            }
            #expect(throws: PDEError.self) { try f.append("data/u", [T](repeating: 0, count: 24), samples: 3) }
            #expect(throws: PDEError.self) { try f.append("data/nope", sample(0)) }
            #expect(throws: PDEError.self) { try f.append("data", sample(0)) }
            #expect(throws: PDEError.self) { try f.createAppendable("data/u", of: T.self, sampleShape: [4, 3]) }
            #expect(try f.sampleCount("data/u") == 5)
            try f.close()
        }
        // Reopen (resume): the existing dataset is found, more samples appended as a block.
        do {
            let f = try HDF5DatasetFile(path: path, mode: .append)
            let done = try f.createAppendable("data/u", of: T.self, sampleShape: sampleShape)
            #expect(done == 5)
            #expect(try f.append("data/u", sample(5) + sample(6), samples: 2) == 7)
            try f.close()
        }
        let f = try HDF5DatasetFile(path: path)
        #expect(try f.attribute("kind", of: "data/u") == .string("\(T.self)"))
        let all = (0..<7).flatMap(sample)
        let whole = try f.read("data/u", as: T.self)
        #expect(whole.shape == [7, 3, 4] && whole.values == all)
        for range in [0..<1, 3..<5, 6..<7, 0..<7, 4..<4] {
            let r = try f.read("data/u", samples: range, as: T.self)
            #expect(r.shape == [range.count, 3, 4])
            #expect(r.values == Array(all[(range.lowerBound * 12)..<(range.upperBound * 12)]))
        }
        for bad in [5..<8, 7..<8, -1..<2] {
            #expect { try f.read("data/u", samples: bad, as: T.self) } throws: { e in
                guard case PDEError.invalidValue(let key, let value, let expected) = e else { return false }
                return key == "samples" && value.contains("data/u") && expected.contains("0..<7")
            }
        }
        // Converted reads: everything as Double.
        #expect(try f.read("data/u", samples: 2..<3, as: Double.self).values == sample(2).map { Double("\($0)")! })
    }

    @Test func appendableDatasetsOfEachElementType() throws {
        try appendRoundTrip(Float.self) { Float($0) * 0.5 }
        try appendRoundTrip(Double.self) { Double($0) / 3 }
        try appendRoundTrip(Int32.self) { Int32($0) - 300 }
        try appendRoundTrip(Int64.self) { Int64($0) * 1_000_000_007 }
    }

    @Test func typesAndConversionsAreChecked() throws {
        let path = makeTemporaryFolder() + "/t.h5"
        let f = try HDF5DatasetFile(path: path, mode: .create)
        try f.createAppendable("f", of: Float.self, sampleShape: [2])
        try f.write("i", shape: [2, 2], values: [Int32(1), 2, 3, -4])
        try f.write("scalar", shape: [], values: [2.5])
        #expect { try f.append("f", [1.0, 2.0]) } throws: { "\($0)".contains("float32") && "\($0)".contains("Double") }
        #expect { try f.append("i", [Int32(1), 2]) } throws: { "\($0)".contains("fixed shape [2, 2]") }
        #expect { try f.read("f", as: Int32.self) } throws: { "\($0)".contains("Float or Double") }
        #expect(try f.read("i", as: Int64.self).values == [1, 2, 3, -4])
        #expect(try f.read("i", as: Float.self).values == [1, 2, 3, -4])
        #expect(try f.read("scalar", as: Double.self) == ([], [2.5]))
        #expect { try f.read("scalar", samples: 0..<1, as: Double.self) } throws: { "\($0)".contains("rank 0") }
        #expect(throws: PDEError.self) { try f.write("i", shape: [1], values: [1.0]) }          // exists
        #expect(throws: PDEError.self) { try f.write("j", shape: [3], values: [1.0]) }          // count
        #expect(throws: PDEError.self) { try f.write("", shape: [1], values: [1.0]) }           // name
        #expect(throws: PDEError.self) { try f.write("i/x", shape: [1], values: [1.0]) }        // parent is a dataset
        #expect(throws: PDEError.self) { try f.createAppendable("g", of: Double.self, sampleShape: [0]) }
        #expect(throws: PDEError.self) { try f.createAppendable("g", of: Double.self, sampleShape: [4], chunkShape: [1, 5]) }
        #expect(throws: PDEError.self) { try f.createAppendable("g", of: Double.self, sampleShape: [4], compression: .init(deflateLevel: 10)) }
        #expect(throws: PDEError.self) { try f.createGroup("i") }
        #expect(throws: PDEError.self) { try f.truncate("f", toSamples: 1) }
        #expect(try f.contains("f") && !f.contains("nope") && !f.contains(""))
        try f.close()
        try f.close()
        #expect { try f.read("i", as: Double.self) } throws: { "\($0)".contains("closed") }
        #expect(throws: PDEError.self) { try HDF5DatasetFile(path: path, mode: .create) }
        #expect(throws: PDEError.fileNotFound(path: path + "x")) { try HDF5DatasetFile(path: path + "x") }
    }

    @Test func chunkingAndCompressionAreVisibleThroughTheCAPI() throws {
        let path = makeTemporaryFolder() + "/c.h5"
        let n = 16, side = 32
        // Smooth samples rounded to 1/64 (compressible: short mantissas, repeated values).
        func sample(_ k: Int) -> [Double] {
            (0..<(side * side)).map { (64 * sin(Double($0 % side) * 0.1 + Double(k)) * cos(Double($0 / side) * 0.05)).rounded() / 64 }
        }
        do {
            let f = try HDF5DatasetFile(path: path, mode: .create)
            f.flushesAfterEachAppend = false
            try f.createAppendable("u", of: Double.self, sampleShape: [side, side], compression: .init(deflateLevel: 6))
            try f.createAppendable("v", of: Float.self, sampleShape: [side, side], chunkShape: [2, 8, side], compression: .none)
            try f.createAppendable("t", of: Double.self, sampleShape: [])  // one number per sample: chunks of 512
            for k in 0..<n {
                try f.append("u", sample(k))
                try f.append("v", sample(k).map { Float($0) })
                try f.append("t", [Double(k) * 0.1])
            }
            try f.flush(durable: true)
            #expect(try f.info("v").chunkShape == [2, 8, side] && f.info("v").filterCount == 0)
            #expect(try f.info("t").chunkShape == [512] && f.info("t").shape == [n])
            try f.close()
        }
        // Direct C-API calls: HDF5 is built without thread safety here, and the other tests of
        // this suite run concurrently, so hold the library's lock as HDF5DatasetFile does.
        HDF5File.libraryLock.lock()
        defer { HDF5File.libraryLock.unlock() }
        let file = H5Fopen(path, swiftpde_h5f_acc_rdonly(), swiftpde_h5p_default())
        #expect(file >= 0)
        defer { H5Fclose(file) }
        let dset = H5Dopen2(file, "u", swiftpde_h5p_default())
        defer { H5Dclose(dset) }
        let dcpl = H5Dget_create_plist(dset)
        defer { H5Pclose(dcpl) }
        var chunk = [hsize_t](repeating: 0, count: 3)
        #expect(H5Pget_chunk(dcpl, 3, &chunk) == 3 && chunk == [1, hsize_t(side), hsize_t(side)])
        #expect(H5Pget_nfilters(dcpl) == 2)
        var level: UInt32 = 0
        #expect(swiftpde_h5p_filter(dcpl, 0, &level) == swiftpde_h5z_filter_shuffle())
        #expect(swiftpde_h5p_filter(dcpl, 1, &level) == swiftpde_h5z_filter_deflate() && level == 6)
        let stored = H5Dget_storage_size(dset)
        let raw = UInt64(n * side * side * 8)
        #expect(stored > 0 && stored < raw / 2, "stored \(stored) of \(raw) bytes")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        #expect(size < n * side * side * (8 + 4), "file \(size) bytes")
    }

    @Test func resumeAfterInterruptionLinesDatasetsUp() throws {
        let path = makeTemporaryFolder() + "/r.h5"
        do {
            let f = try HDF5DatasetFile(path: path, mode: .append)
            try f.createAppendable("a", of: Float.self, sampleShape: [2])
            try f.createAppendable("u", of: Float.self, sampleShape: [2])
            for k in 0..<3 { try f.append("a", [Float(k), 0]); try f.append("u", [0, Float(k)]) }
            try f.append("a", [Float(3), 0])  // "killed" before u's sample 3
        }  // deinit closes
        let f = try HDF5DatasetFile(path: path, mode: .append)
        let done = try ["a", "u"].map { try f.createAppendable($0, of: Float.self, sampleShape: [2]) }
        #expect(done == [4, 3])
        let start = done.min()!
        for name in ["a", "u"] { try f.truncate(name, toSamples: start) }
        for k in start..<5 { try f.append("a", [Float(k), 0]); try f.append("u", [0, Float(k)]) }
        #expect(try f.read("a", as: Float.self).values == (0..<5).flatMap { [Float($0), 0] })
        #expect(try f.read("u", samples: 2..<5, as: Float.self).values == (2..<5).flatMap { [0, Float($0)] })
    }

    @Test func aCopyTakenAfterFlushBeforeCloseHoldsEveryFlushedSample() throws {
        let dir = makeTemporaryFolder()
        let path = dir + "/live.h5"
        let f = try HDF5DatasetFile(path: path, mode: .create)
        try f.setAttribute("pde", .string("heat"))
        try f.createAppendable("u", of: Double.self, sampleShape: [4, 4])
        for k in 0..<3 { try f.append("u", (0..<16).map { Double(k * 16 + $0) }) }
        try f.flush()
        try FileManager.default.copyItem(atPath: path, toPath: dir + "/copy.h5")
        let copy = try HDF5DatasetFile(path: dir + "/copy.h5")
        #expect(try copy.sampleCount("u") == 3)
        #expect(try copy.read("u", as: Double.self).values == (0..<48).map(Double.init))
        #expect(try copy.attribute("pde") == .string("heat"))
        try copy.close()
        if Python.has("h5py", "numpy") {
            // Another process reads the copy, and the live file without locking.
            for (p, locking) in [(dir + "/copy.h5", "True"), (path, "False")] {
                let py = Python.run("""
                import h5py, numpy as np
                with h5py.File('\(p)', 'r', locking=\(locking)) as f:
                    u = f['u']
                    assert u.shape == (3, 4, 4) and u.maxshape == (None, 4, 4), (u.shape, u.maxshape)
                    assert (u[:].ravel() == np.arange(48)).all()
                    assert f.attrs['pde'] == 'heat'
                print('ok')
                """)
                #expect(py.status == 0 && py.output.contains("ok"), "\(p): \(py.output)")
            }
        }
        try f.append("u", [Double](repeating: -1, count: 16))
        try f.close()
        #expect(try HDF5File.read("u", from: path).shape == [4, 4, 4])
    }

    @Test(.enabled(if: Python.has("h5py", "numpy"), "needs python3 with h5py"))
    func h5pyReadsWhatWeWrite() throws {
        let path = makeTemporaryFolder() + "/ours.h5"
        let f = try HDF5DatasetFile(path: path, mode: .create)
        try f.setAttributes(Self.allKinds)
        try f.write("coords/x", shape: [4], values: [0.0, 0.25, 0.5, 0.75], attributes: ["units": .string("m")])
        try f.createAppendable("f32", of: Float.self, sampleShape: [16, 64], attributes: ["scale": .double(2)])
        try f.createAppendable("f64", of: Double.self, sampleShape: [3])
        try f.createAppendable("i32", of: Int32.self, sampleShape: [2])
        try f.createAppendable("i64", of: Int64.self, sampleShape: [])
        for k in 0..<4 {
            try f.append("f32", (0..<1024).map { Float(k * 1024 + $0) * 0.5 })
            try f.append("f64", (0..<3).map { Double(k * 3 + $0) / 3 })
            try f.append("i32", [Int32(k), -Int32(k)])
            try f.append("i64", [Int64(k) << 40])
        }
        try f.close()
        let py = Python.run("""
        import h5py, numpy as np
        with h5py.File('\(path)', 'r') as f:
            a = f.attrs
            assert set(a.keys()) == {'dt', 'steps', 'name', 'domain', 'grid', 'empty', 'one', 'blank'}, list(a.keys())
            assert type(a['name']) is str and a['name'] == 'Burgers ν=0.01 ✓', repr(a['name'])
            assert type(a['blank']) is str and a['blank'] == ''
            assert isinstance(a['dt'], float) and a['dt'] == 0.125 and a['dt'].dtype == np.float64
            assert a['steps'].dtype == np.int64 and int(a['steps']) == -42
            assert a['domain'].dtype == np.float64 and list(a['domain']) == [0, 1, -2.5e-300]
            assert a['grid'].dtype == np.int64 and list(a['grid']) == [64, 64, 2**63 - 1]
            assert a['empty'].shape == (0,) and a['one'].shape == (1,)
            assert f['coords/x'].attrs['units'] == 'm' and (f['coords/x'][:] == [0, .25, .5, .75]).all()
            d = f['f32']
            assert d.dtype == np.float32 and d.shape == (4, 16, 64) and d.maxshape == (None, 16, 64)
            assert d.chunks == (1, 16, 64) and d.compression == 'gzip' and d.compression_opts == 4 and d.shuffle
            assert (d[:].ravel() == np.arange(4096) * 0.5).all() and d.attrs['scale'] == 2.0
            assert f['f64'].dtype == np.float64 and np.allclose(f['f64'][:].ravel(), np.arange(12) / 3)
            assert (f['f64'][1:3].ravel() == np.arange(3, 9) / 3).all()
            assert f['i32'].dtype == np.int32 and (f['i32'][:] == [[0, 0], [1, -1], [2, -2], [3, -3]]).all()
            assert f['i64'].dtype == np.int64 and f['i64'].shape == (4,) and (f['i64'][:] == np.arange(4) << 40).all()
        print('ok')
        """)
        #expect(py.status == 0 && py.output.contains("ok"), "\(py.output)")
    }

    @Test(.enabled(if: Python.has("h5py", "numpy"), "needs python3 with h5py"))
    func weReadChunkedFilesH5pyWrites() throws {
        let path = makeTemporaryFolder() + "/theirs.h5"
        let py = Python.run("""
        import h5py, numpy as np
        with h5py.File('\(path)', 'w') as f:
            f.attrs['title'] = 'from h5py'
            f.attrs['fixed'] = np.bytes_(b'fixed bytes')
            f.attrs['n'] = 12
            f.attrs['i16'] = np.int16(-3)
            f.attrs['f32'] = np.float32(0.5)
            f.attrs['lengths'] = np.array([1.5, 2.5])
            f.attrs['dims'] = np.array([3, 4], dtype=np.int32)
            f.attrs['words'] = ['a', 'b']
            g = f.create_group('train')
            g.attrs['seed'] = 7
            d = g.create_dataset('u', shape=(0, 3, 4), maxshape=(None, 3, 4), chunks=(2, 3, 4), dtype='f4',
                                 compression='gzip', compression_opts=7, shuffle=True)
            for k in range(5):
                d.resize(k + 1, axis=0)
                d[k] = np.arange(12, dtype='f4').reshape(3, 4) + 100 * k
            g.create_dataset('labels', data=np.arange(10, dtype='i8') * 3, chunks=(4,), compression='lzf')
            g.create_dataset('small', data=np.arange(6, dtype='u2').reshape(3, 2), chunks=(1, 2), compression='gzip')
            g.create_dataset('c', data=np.arange(4, dtype='f8'), chunks=True, fletcher32=True)
        print('ok')
        """)
        try #require(py.status == 0, "\(py.output)")
        let f = try HDF5DatasetFile(path: path)
        #expect(try f.datasets() == ["train/c", "train/labels", "train/small", "train/u"])
        let attrs = try f.attributes()
        #expect(attrs["title"] == .string("from h5py") && attrs["fixed"] == .string("fixed bytes"))
        #expect(attrs["n"] == .int(12) && attrs["i16"] == .int(-3) && attrs["f32"] == .double(0.5))
        #expect(attrs["lengths"] == .doubles([1.5, 2.5]) && attrs["dims"] == .ints([3, 4]))
        #expect(attrs["words"] == nil)  // an array of strings: not an HDF5Attribute kind
        #expect { try f.attribute("words") } throws: { "\($0)".contains("words") && "\($0)".contains("2 strings") }
        #expect(try f.attribute("seed", of: "train") == .int(7))
        let info = try f.info("train/u")
        #expect(info.shape == [5, 3, 4] && info.isAppendable && info.elementType == .float32)
        #expect(info.chunkShape == [2, 3, 4] && info.compression == HDF5Compression(deflateLevel: 7, shuffle: true))
        let mid = try f.read("train/u", samples: 1..<4, as: Float.self)
        #expect(mid.shape == [3, 3, 4] && mid.values == (1..<4).flatMap { k in (0..<12).map { Float($0 + 100 * k) } })
        #expect(try f.read("train/u", samples: 4..<5, as: Double.self).values.first == 400)
        // lzf is h5py's own filter, not in libhdf5: a typed error, not a crash.
        #expect(throws: PDEError.self) { try f.read("train/labels", as: Int64.self) }
        #expect(try f.info("train/labels").elementType == .int64)
        #expect(try f.read("train/small", as: Int32.self) == ([3, 2], [0, 1, 2, 3, 4, 5]))
        #expect(try f.info("train/small").elementType == .uint16)
        #expect(try f.read("train/c", samples: 1..<3, as: Double.self).values == [1, 2])
        #expect(try HDF5File.read("train/u", from: path).values.count == 60)
    }
}
