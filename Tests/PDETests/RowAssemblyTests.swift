import Foundation
import Testing
@testable import PDE
import TestSupport

/// Assembly by rows (what each rank does under mpirun), checked in one process: blocks of
/// rows equal the whole system's rows bit for bit, touch only their nodes, and the point
/// partition behind the mesh split.
struct RowAssemblyTests {
    /// Counts calls of a coefficient closure (assembly is single-threaded; the lock keeps the
    /// counter `Sendable`).
    final class CallCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func tick() { lock.lock(); n += 1; lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return n }
    }

    /// Problems over every boundary kind and dimension, variable a and c.
    static func problems() throws -> [(String, DiffusionProblem)] {
        var out: [(String, DiffusionProblem)] = []
        let g2 = try Grid(counts: [9, 12], lower: [0, 0], upper: [1, 1.5])
        out.append(("2-D Dirichlet, variable a", try DiffusionProblem(grid: g2, analytic: ProblemCatalogue.diffusion2dVariable)))
        out.append(("2-D mixed Dirichlet/Neumann", try DiffusionProblem(grid: g2, analytic: ProblemCatalogue.diffusion2dVariable,
                                                                        kinds: [.xLow: .neumann, .yHigh: .neumann])))
        var periodic = try DiffusionProblem(grid: try Grid(counts: [8, 7], lower: [0, 0], upper: [1, 1]), analytic: ProblemCatalogue.periodic2d,
                                            kinds: [.xLow: .periodic, .xHigh: .periodic])
        periodic.reaction = { (x: [Double]) -> Double in 1 + x[0] * x[1] }
        out.append(("2-D periodic in x, reaction", periodic))
        out.append(("2-D all Neumann (pinned)", try DiffusionProblem(grid: try Grid.unit(dimension: 2, nodesPerAxis: 10), analytic: ProblemCatalogue.neumann2dCos,
                                                                     kinds: Dictionary(uniqueKeysWithValues: Face.faces(dimension: 2).map { ($0, .neumann) }))))
        out.append(("3-D Dirichlet, variable a", try DiffusionProblem(grid: try Grid(counts: [6, 7, 8], lower: [0, 0, 0], upper: [1, 1, 1]),
                                                                      analytic: ProblemCatalogue.diffusion3dVariable)))
        out.append(("3-D periodic in z, Neumann on y", try DiffusionProblem(grid: try Grid(counts: [5, 6, 7], lower: [0, 0, 0], upper: [1, 1, 1]),
                                                                            analytic: ProblemCatalogue.diffusion3dVariable,
                                                                            kinds: [.zLow: .periodic, .zHigh: .periodic, .yLow: .neumann])))
        return out
    }

    @Test func rowBlocksEqualTheWholeSystemBitForBit() throws {
        for (name, problem) in try Self.problems() {
            let whole = try problem.assemble()
            let op = whole.operatorMatrix
            let n = op.rows
            // Three uneven blocks, an empty one among them.
            let cuts = [0, n / 5, n / 5, n - 3, n]
            var rp = [0], cols = [Int](), vals = [Double](), rhs = [Double](), volumes = [Double]()
            for k in 0..<(cuts.count - 1) {
                let block = try problem.assembleRows(cuts[k]..<cuts[k + 1])
                #expect(block.size == n && block.rowPointers.count == cuts[k + 1] - cuts[k] + 1)
                let offset = cols.count
                for r in 1..<block.rowPointers.count { rp.append(offset + block.rowPointers[r]) }
                cols += block.columns
                vals += block.values
                rhs += block.rhs
                volumes += block.volumes
            }
            #expect(rp == op.rowPointers, "\(name): row pointers")
            #expect(cols == op.columnIndices.map { Int($0) }, "\(name): columns")
            #expect(vals == op.values, "\(name): values")
            #expect(volumes == whole.volumes, "\(name): volumes")
            if !whole.isPinned {
                #expect(rhs == whole.rhs, "\(name): right-hand side")
            }
        }
    }

    /// The row pointers above are rebuilt from counts; check the helper on its own rows too: a
    /// block's pointers start at 0 and end at its column count.
    @Test func blockPointersAreLocal() throws {
        let problem = try Self.problems()[0].1
        let block = try problem.assembleRows(7..<19)
        #expect(block.rowPointers.first == 0 && block.rowPointers.last == block.columns.count)
        #expect(block.columns.count == block.values.count && block.rhs.count == 12)
    }

    /// A block samples a only near its rows: its nodes and one layer either side along the
    /// slowest axis, not the whole grid.
    @Test func aBlockSamplesTheCoefficientOnlyNearItsRows() throws {
        let counter = CallCounter()
        let grid = try Grid.unit(dimension: 2, nodesPerAxis: 41)
        let problem = DiffusionProblem(grid: grid, coefficient: { x in counter.tick(); return 1 + x[0] },
                                       source: { _ in 1 }, boundary: BoundaryConditions(dimension: 2, all: .dirichlet(value: 0)))
        let rows = 390..<780  // ten x-lines of 39 unknowns
        _ = try problem.assembleRows(rows)
        #expect(counter.count > 0 && counter.count <= (10 + 2) * 41 + 2, "\(counter.count) coefficient calls")
        let before = counter.count
        _ = try problem.assemble()
        #expect(counter.count - before == grid.nodeCount)
    }

    @Test func badRowsAndBadCoefficientsAreTypedErrors() throws {
        let problem = try Self.problems()[0].1
        let n = try problem.assemble().matrix.rows
        #expect(throws: PDEError.self) { try problem.assembleRows(0..<(n + 1)) }
        var bad = problem
        bad.coefficient = { x in x[1] > 1.2 ? -1 : 1 }
        #expect(throws: PDEError.self) { try bad.assembleRows((n - 5)..<n) }
        // Rows far from the bad nodes do not see them.
        _ = try bad.assembleRows(0..<5)
    }

    @Test func coordinateBisectionGivesCompactPartsOfTheGivenSizes() throws {
        // A 40 × 10 strip of points: 4 parts should be four 10 × 10 squares.
        var points: [SIMD2<Double>] = []
        for j in 0..<10 { for i in 0..<40 { points.append(SIMD2(Double(i), Double(j))) } }
        let order = try PointPartition.coordinateBisection(points, sizes: [100, 100, 100, 100])
        #expect(order.sorted() == Array(0..<400))
        for p in 0..<4 {
            let part = order[(p * 100)..<((p + 1) * 100)].map { points[$0] }
            let xs = part.map(\.x)
            #expect(xs.max()! - xs.min()! == 9, "part \(p) spans x \(xs.min()!)…\(xs.max()!)")
        }
        // Uneven sizes, an empty part, and a single part.
        let uneven = try PointPartition.coordinateBisection(points, sizes: [7, 0, 200, 193])
        #expect(uneven.sorted() == Array(0..<400))
        #expect(try PointPartition.coordinateBisection(points, sizes: [400]) == Array(0..<400))
        #expect(throws: PDEError.self) { try PointPartition.coordinateBisection(points, sizes: [100, 100]) }
        #expect(throws: PDEError.self) { try PointPartition.coordinateBisection(points, sizes: [500, -100]) }
    }

    /// In one process the row-assembled systems are the whole ones: same matrix, right-hand side
    /// and solution.
    @Test func oneRankDistributedSystemsAreTheSerialOnes() throws {
        for (name, problem) in try Self.problems() {
            let whole = try problem.assemble()
            let dist = try DistributedFDSystem(problem, communicator: .serial)
            #expect(dist.rhs == whole.rhs, "\(name)")
            #expect(dist.nonzeroCount == whole.matrix.nonzeroCount && dist.isPinned == whole.isPinned)
            #expect(dist.matrix.diagonalBlock.values == whole.matrix.values, "\(name)")
        }
        let mesh = try MeshGenerator.disk(resolution: 5)
        let p1 = try P1Problem(mesh: mesh, analytic: ProblemCatalogue.diskVariable)
        let whole = try p1.assemble()
        let dist = try DistributedP1System(p1, communicator: .serial)
        #expect(dist.serialUnknown == Array(0..<whole.matrix.rows))
        #expect(dist.rhs == whole.rhs && dist.matrix.diagonalBlock.values == whole.matrix.values)
        let x = try CholmodFactorization(matrix: whole.matrix).solve(whole.rhs)
        let a = try whole.solution(x, comparedWith: ProblemCatalogue.diskVariable)
        let b = try dist.solution(local: x, comparedWith: ProblemCatalogue.diskVariable)
        #expect(a.field.values == b.field.values && a.errors?.l2 == b.errors?.l2)
    }
}
