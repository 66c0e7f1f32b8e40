import Foundation
import Testing
@testable import PDE

/// The generation loop: order, parallelism, resume and refusal of foreign files, on a cheap
/// family (the periodic heat equation from random initial data).
@Suite struct DatasetGenerationTests {
    struct HeatFamily: DatasetFamily {
        let grid: PeriodicGrid
        let time: Double
        var name: String { "test-heat" }
        var fields: [(name: String, shape: [Int])] { [("u0", grid.numpyShape), ("u1", grid.numpyShape)] }
        var parameters: [String: HDF5Attribute] { ["time": .double(time), "points": .ints(grid.counts.map { Int64($0) })] }
        var fixedDatasets: [(name: String, shape: [Int], values: [Double])] {
            [("x", [grid.counts[0]], (0..<grid.counts[0]).map { grid.coordinate(axis: 0, $0) })]
        }
        func sample(_ index: Int, generator g: inout SeededGenerator) throws -> [[Double]] {
            let u0 = (0..<grid.pointCount).map { _ in g.normal() }
            return [u0, try PeriodicHeat(grid: grid, diffusivity: 0.01).evolve(u0, time: time)]
        }
    }

    func read(_ path: String) throws -> [[Double]] {
        let f = try HDF5DatasetFile(path: path)
        defer { try? f.close() }
        return try ["u0", "u1", "x"].map { try f.read($0, as: Double.self).values }
    }

    @Test func parallelResumedAndSerialRunsWriteTheSameDatasets() throws {
        let dir = makeTemporaryFolder()
        let family = HeatFamily(grid: try PeriodicGrid(counts: [16, 8], lengths: [1, 1]), time: 0.3)
        var options = DatasetGenerationOptions(samples: 9, seed: 42, workers: 1, doublePrecision: true)
        let serial = try DatasetGeneration.run(family, to: dir + "/serial.h5", options: options)
        #expect(serial.samples == 9 && serial.resumedFrom == 0 && !serial.interrupted)
        options.workers = 3
        var seen: [Int] = []
        options.progress = { seen.append($0.written) }
        _ = try DatasetGeneration.run(family, to: dir + "/parallel.h5", options: options)
        #expect(seen == Array(1...9), "samples are appended in index order")
        // Interrupted after 4 samples (one worker, so the stop is deterministic), then resumed
        // with three workers.
        var stopAfter = 4
        var count = 0
        options.workers = 1
        options.progress = { _ in count += 1 }
        options.shouldStop = { count >= stopAfter }
        let first = try DatasetGeneration.run(family, to: dir + "/resumed.h5", options: options)
        #expect(first.interrupted && first.samples == 4, "\(first)")
        stopAfter = .max
        options.workers = 3
        let second = try DatasetGeneration.run(family, to: dir + "/resumed.h5", options: options)
        #expect(second.resumedFrom == first.samples && second.samples == 9 && !second.interrupted)
        let a = try read(dir + "/serial.h5"), b = try read(dir + "/parallel.h5"), c = try read(dir + "/resumed.h5")
        #expect(a == b && a == c, "bit-identical datasets")
        // Attributes: every parameter, the seed and the family.
        let f = try HDF5DatasetFile(path: dir + "/resumed.h5")
        let attrs = try f.attributes()
        try f.close()
        #expect(attrs["family"] == .string("test-heat") && attrs["seed"] == .int(42) && attrs["time"] == .double(0.3))
        // A run with other parameters refuses the file.
        let other = HeatFamily(grid: family.grid, time: 0.5)
        #expect { try DatasetGeneration.run(other, to: dir + "/resumed.h5", options: options) } throws: { "\($0)".contains("time") }
        // Asking for more samples continues the file.
        options.samples = 11
        let more = try DatasetGeneration.run(family, to: dir + "/resumed.h5", options: options)
        #expect(more.resumedFrom == 9 && more.samples == 11)
    }
}
