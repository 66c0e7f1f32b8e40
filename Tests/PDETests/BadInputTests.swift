import Foundation
import Testing
@testable import PDE

/// Inputs that used to trap or pass silently: each is now a typed error (or an honest value).
@Suite struct BadInputTests {
    @Test func gridCountsWhoseProductOverflowsAreRefused() {
        #expect(throws: PDEError.self) { try Grid(counts: [1 << 32, 1 << 32], lower: [0, 0], upper: [1, 1]) }
        #expect(throws: PDEError.self) { try Grid(counts: [1 << 31, 1 << 31, 4], lower: [0, 0, 0], upper: [1, 1, 1]) }
    }

    @Test func heatMapScaleAndSizesAreChecked() {
        let dir = makeTemporaryFolder()
        #expect(throws: PDEError.self) { try HeatMap.write(values: [1, 2, 3, 4], width: 2, height: 2, to: dir + "/a.png", scale: 0) }
        #expect(throws: PDEError.self) { try HeatMap.write(values: [1, 2, 3, 4], width: 2, height: 2, to: dir + "/a.png", scale: -3) }
        #expect(throws: PDEError.self) { try HeatMap.write(values: [], width: -1, height: 0, to: dir + "/a.png") }
        var img = RGBImage(width: -5, height: 3)
        img.fillRect(x: 0, y: 0, width: -2, height: 4, (0, 0, 0))
        #expect(img.width == 0)
    }

    @Test func nanEntriesAreNeverSmallInNorms() {
        #expect(Vectors.maxAbs([1, .nan, 2]).isNaN)
        #expect(Vectors.norm2([.nan, .nan]).isNaN)
        #expect(Vectors.norm2([3, 4]) == 5)
        let g = try! Grid.unit(dimension: 1, nodesPerAxis: 3)
        let f = try! GridField(grid: g, values: [0, .nan, 0])
        #expect(f.errors(against: { _ in 0 }).max.isNaN)
    }

    @Test func preconditionerOptionsAndSizesAreChecked() throws {
        let a = poisson2DMatrix(6)
        #expect(throws: PDEError.self) { try IncompleteCholeskyPreconditioner(a, maxShiftAttempts: -1) }
        var o = SmoothedAggregationAMG.Options()
        o.presmoothingSweeps = -1
        #expect(throws: PDEError.self) { try SmoothedAggregationAMG(a, options: o) }
        o = SmoothedAggregationAMG.Options()
        o.jacobiWeight = 0
        #expect(throws: PDEError.self) { try SmoothedAggregationAMG(a, options: o) }
        let pcs: [Preconditioner] = [try JacobiPreconditioner(a), try IncompleteCholeskyPreconditioner(a), try SSORPreconditioner(a),
                                     try SmoothedAggregationAMG(a), try CholmodPreconditioner(a)]
        for pc in pcs {
            var z = [Double](repeating: 0, count: 5)
            #expect(throws: PDEError.self, "\(pc.name)") { _ = try pc.apply([Double](repeating: 1, count: a.rows), into: &z) }
        }
    }

    @Test func icZeroFailureNamesTheFailingRowAndTheShiftsTried() {
        // Indefinite with positive diagonal: every shift up to 10⁻² fails.
        var b = COOBuilder(rows: 2, columns: 2)
        b.add(0, 0, 1); b.add(1, 1, 1); b.add(0, 1, 3); b.add(1, 0, 3)
        #expect { try IncompleteCholeskyPreconditioner(b.build(), maxShiftAttempts: 2) } throws: { e in
            guard case let PDEError.notPositiveDefinite(column, reason) = e else { return false }
            return column == 1 && reason.contains("0.01") && !reason.contains("0.1 ") && reason.contains("2 retries")
        }
    }

    @Test func choleskyUpdateRefusesNonSymmetricValues() throws {
        let a = poisson2DMatrix(4)
        let pc = try CholmodPreconditioner(a)
        var skewed = a
        skewed.values[1] += 0.5
        #expect(throws: PDEError.self) { try pc.update(skewed) }
    }
}
