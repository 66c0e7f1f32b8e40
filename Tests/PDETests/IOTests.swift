import Foundation
import Testing
@testable import PDE

@Suite struct IOTests {
    @Test func npyRoundTripsAllDtypesAndShapes() throws {
        let dir = makeTemporaryFolder()
        let d = (0..<24).map { Double($0) * 0.1 - 1 / 3 }
        for shape in [[24], [4, 6], [2, 3, 4]] {
            try NPY.write(d, shape: shape, to: dir + "/d.npy")
            let a = try NPY.read(dir + "/d.npy")
            #expect(a.shape == shape && a.dtype == .float64 && a.doubles == d)
        }
        try NPY.write(d.map { Float($0) }, shape: [6, 4], to: dir + "/f.npy")
        let f = try NPY.read(dir + "/f.npy")
        #expect(f.dtype == .float32 && f.doubles == d.map { Double(Float($0)) })
        try NPY.write((0..<5).map { Int32($0 - 2) }, shape: [5], to: dir + "/i.npy")
        #expect(try NPY.read(dir + "/i.npy").doubles == [-2, -1, 0, 1, 2])
        // Header alignment: data starts at a multiple of 64 bytes.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/d.npy"))
        let hl = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + hl) % 64 == 0)
        #expect(throws: PDEError.self) { try NPY.write(d, shape: [5, 5], to: dir + "/bad.npy") }
    }

    @Test(.enabled(if: Python.has("numpy"), "needs python3 with numpy (scripts/install-python-deps)"))
    func numpyReadsWhatWeWriteAndWeReadNumpy() throws {
        let dir = makeTemporaryFolder()
        let d = (0..<12).map { sin(Double($0)) * 1e-7 + Double($0) }
        try NPY.write(d, shape: [3, 4], to: dir + "/ours.npy")
        let script = """
        import numpy as np
        a = np.load('\(dir)/ours.npy')
        assert a.shape == (3, 4) and a.dtype == np.float64, (a.shape, a.dtype)
        ref = np.sin(np.arange(12)) * 1e-7 + np.arange(12)
        assert (a.ravel() == ref).all(), abs(a.ravel() - ref).max()
        np.save('\(dir)/theirs.npy', (np.arange(30, dtype=np.float32) / 7).reshape(2, 3, 5))
        np.save('\(dir)/big.npy', np.zeros(3, dtype='>f8'))
        np.save('\(dir)/fort.npy', np.asfortranarray(np.ones((3, 2))))
        np.save('\(dir)/complex.npy', np.ones(3, dtype=np.complex128))
        print('ok')
        """
        let r = Python.run(script)
        #expect(r.status == 0 && r.output.contains("ok"), "\(r.output)")
        let t = try NPY.read(dir + "/theirs.npy")
        #expect(t.shape == [2, 3, 5] && t.dtype == .float32)
        #expect(t.doubles == (0..<30).map { Double(Float($0) / 7) })
        // Big-endian and Fortran-ordered arrays are converted (ReaderFuzzTests compares values with numpy).
        #expect(try NPY.read(dir + "/big.npy").doubles == [0, 0, 0])
        #expect(try NPY.read(dir + "/fort.npy").shape == [3, 2])
        for (file, reason) in [("complex", "unsupported dtype")] {
            #expect { try NPY.read(dir + "/\(file).npy") } throws: { e in
                guard case PDEError.malformedFile(_, _, let why) = e else { return false }
                return why.contains(reason)
            }
        }
    }

    @Test func malformedNpyFiles() throws {
        let dir = makeTemporaryFolder()
        try Data("hello world, not numpy".utf8).write(to: URL(fileURLWithPath: dir + "/magic.npy"))
        #expect { try NPY.read(dir + "/magic.npy") } throws: { e in "\(e)".contains("magic") }
        try NPY.write([1.0, 2, 3, 4] as [Double], shape: [4], to: dir + "/ok.npy")
        let full = try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.npy"))
        try full.prefix(full.count - 8).write(to: URL(fileURLWithPath: dir + "/short.npy"))
        #expect { try NPY.read(dir + "/short.npy") } throws: { e in "\(e)".contains("data ends after 3 of 4") }
        try full.prefix(20).write(to: URL(fileURLWithPath: dir + "/header.npy"))
        #expect { try NPY.read(dir + "/header.npy") } throws: { e in "\(e)".contains("truncated header") }
        #expect(throws: PDEError.fileNotFound(path: dir + "/none.npy")) { try NPY.read(dir + "/none.npy") }
    }

    @Test func vtkFilesHaveTheRightStructure() throws {
        let dir = makeTemporaryFolder()
        let grid = try Grid(counts: [3, 2], lower: [0, -1], upper: [1, 1])
        let field = try GridField(grid: grid, values: [0.1, 0.2, 0.3, 1e-20, -5, 6])
        try VTK.write(field, name: "u", to: dir + "/a.vti", extra: [("err", [Double](repeating: 0, count: 6))])
        let vti = try String(contentsOfFile: dir + "/a.vti", encoding: .utf8)
        #expect(vti.contains("WholeExtent=\"0 2 0 1 0 0\""))
        #expect(vti.contains("Spacing=\"0.5 2.0 1.0\""))
        #expect(vti.contains("Origin=\"0.0 -1.0 0.0\""))
        #expect(vti.contains("0.1 0.2 0.3 1e-20 -5.0 6.0"))
        #expect(vti.contains("Name=\"err\""))
        try VTK.writeUnstructuredGrid(path: dir + "/m.vtu", points: [[0, 0], [1, 0], [0, 1], [1, 1]], triangles: [[0, 1, 2], [1, 3, 2]],
                                      pointData: [("u", [1, 2, 3, 4])], cellData: [("area", [0.5, 0.5])])
        let vtu = try String(contentsOfFile: dir + "/m.vtu", encoding: .utf8)
        #expect(vtu.contains("NumberOfPoints=\"4\" NumberOfCells=\"2\""))
        #expect(vtu.contains("0 1 2\n") && vtu.contains("1 3 2\n"))
        #expect(vtu.contains("          3 6\n") && vtu.contains("          5 5\n"))
        #expect(throws: PDEError.self) {
            try VTK.writeUnstructuredGrid(path: dir + "/bad.vtu", points: [[0, 0]], triangles: [[0, 1, 2]], pointData: [])
        }
        #expect(throws: PDEError.self) { try VTK.writeImageData(path: dir + "/bad.vti", counts: [2, 2], origin: [0, 0], spacing: [1, 1], pointData: [("u", [1])]) }
    }

    @Test func heatMapRendersOrientationAndColorbar() throws {
        let dir = makeTemporaryFolder()
        // A ramp increasing with y: the top of the map must be bright (viridis yellow), the bottom dark.
        let w = 40, h = 30
        let values = (0..<(w * h)).map { Double($0 / w) / Double(h - 1) }
        try HeatMap.write(values: values, width: w, height: h, to: dir + "/ramp.png", title: "ramp u(y)")
        let img = try PNGImage.readGray(dir + "/ramp.png")
        #expect(img.width > 400 && img.height > 300)
        // Sample the map column 30 px inside the left margin, near the top and the bottom of the map.
        let x = 40
        var topRow = -1, bottomRow = -1
        for y in 0..<img.height where img.values[y * img.width + x] < 0.99 && topRow < 0 { topRow = y }
        for y in stride(from: img.height - 1, through: 0, by: -1) where img.values[y * img.width + x] < 0.99 && bottomRow < 0 { bottomRow = y }
        let bright = img.values[(topRow + 5) * img.width + x], dark = img.values[(bottomRow - 5) * img.width + x]
        #expect(bright > 0.7 && dark < 0.2, "top \(bright), bottom \(dark)")
        #expect(throws: PDEError.self) { try HeatMap.write(values: [1, 2], width: 3, height: 1, to: dir + "/bad.png") }
        // Constant fields and NaN do not fail.
        try HeatMap.write(values: [Double](repeating: 2, count: 4), width: 2, height: 2, to: dir + "/const.png")
        try HeatMap.write(values: [1, .nan, 3, 4], width: 2, height: 2, to: dir + "/nan.png")
        #expect(throws: PDEError.self) { try PNGImage.readGray(dir + "/none.png") }
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: dir + "/fake.png"))
        #expect { try PNGImage.readGray(dir + "/fake.png") } throws: { e in "\(e)".contains("not a valid PNG") }
    }

    @Test func tickLabels() {
        #expect(maxAbsDifference(HeatMap.tickValues(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]) < 1e-15)
        #expect(HeatMap.format(0.123456) == "0.1235")
        #expect(HeatMap.format(-2.5e-5) == "-2.50e-05")
        let t = HeatMap.tickValues(-0.37, 2.91)
        #expect(t.first == -0.37 && t.last == 2.91 && t.count >= 4)
    }

    @Test func hdf5RoundTripWithGroupsAndErrors() throws {
        let dir = makeTemporaryFolder()
        let path = dir + "/a.h5"
        let u = (0..<12).map { Double($0) / 3 }
        try HDF5File.write([
            .init(name: "u", shape: [3, 4], values: u),
            .init(name: "fields/a/coef", shape: [2, 3], values: (0..<6).map { Float($0) * 0.5 }),
        ], to: path)
        let r = try HDF5File.read("u", from: path)
        #expect(r.shape == [3, 4] && r.values == u)
        let c = try HDF5File.read("fields/a/coef", from: path)
        #expect(c.shape == [2, 3] && c.values == [0, 0.5, 1, 1.5, 2, 2.5])
        #expect(try HDF5File.datasets(in: path) == ["fields/a/coef", "u"])
        #expect { try HDF5File.read("v", from: path) } throws: { e in "\(e)".contains("'v'") && "\(e)".contains("u") }
        #expect { try HDF5File.read("fields/a", from: path) } throws: { e in "\(e)".contains("group") }
        #expect(throws: PDEError.fileNotFound(path: dir + "/none.h5")) { try HDF5File.read("u", from: dir + "/none.h5") }
        try Data("plain text".utf8).write(to: URL(fileURLWithPath: dir + "/text.h5"))
        #expect { try HDF5File.read("u", from: dir + "/text.h5") } throws: { e in "\(e)".contains("not an HDF5 file") }
        #expect(throws: PDEError.self) { try HDF5File.write([.init(name: "x", shape: [5], values: [1.0])], to: dir + "/b.h5") }
    }

    @Test(.enabled(if: Python.has("h5py", "numpy"), "needs python3 with h5py and numpy (scripts/install-python-deps)"))
    func h5pyReadsWhatWeWrite() throws {
        let path = makeTemporaryFolder() + "/a.h5"
        try HDF5File.write([.init(name: "u", shape: [3, 4], values: (0..<12).map { Double($0) / 3 }),
                            .init(name: "g/c", shape: [2], values: [Float(1.5), 2.5])], to: path)
        let py = Python.run("import h5py, numpy as np; f = h5py.File('\(path)'); assert (f['u'][:].ravel() == np.arange(12) / 3).all(); assert f['u'].shape == (3, 4); assert (f['g/c'][:] == [1.5, 2.5]).all() and f['g/c'].dtype == np.float32; print('ok')")
        #expect(py.status == 0 && py.output.contains("ok"), "\(py.output)")
    }
}
