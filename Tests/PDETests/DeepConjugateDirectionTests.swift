import Foundation
import Testing
import CLapacke
@testable import PDE

/// Direction models for the tests.
private final class ClosureModel: DirectionModel {
    let name: String
    let body: ([Double], inout [Double]) throws -> Void
    init(_ name: String, _ body: @escaping ([Double], inout [Double]) throws -> Void) {
        self.name = name
        self.body = body
    }
    func direction(for residual: [Double], into q: inout [Double]) throws { try body(residual, &q) }
}

private struct ModelFailure: Error, CustomStringConvertible {
    var description: String { "the network could not be evaluated" }
}

@Suite struct DeepConjugateDirectionTests {
    /// A 2-D obstacle scene, open at the top.
    func obstacleSystem(_ n: Int, seed: UInt64 = 7) throws -> PressurePoissonSystem {
        try PressurePoissonSystem(CellDomain.randomObstacles(counts: [n, n], boxes: 3, balls: 2, seed: seed))
    }

    func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.normal() }
    }

    @Test func exactInverseConvergesInOneIteration() throws {
        let sys = try obstacleSystem(24)
        let b = randomVector(sys.unknownCount, seed: 1)
        let exact = try CholmodPreconditioner(sys.matrix)
        let dcdm = DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-10))
        let (x, report) = try dcdm.solve(sys.matrix, b, preconditioner: exact)
        #expect(report.reason == .convergedRelative)
        #expect(report.iterations == 1)
        #expect(try sys.matrix.relativeResidual(x, b) < 1e-10)
    }

    /// With a fixed SPD preconditioner DCDM is PCG in exact arithmetic (the kept directions'
    /// extra coefficients vanish): the iteration counts agree closely, for k = 1 and 2.
    @Test(arguments: [1, 2])
    func jacobiModelBehavesLikeJacobiPCG(directions: Int) throws {
        let sys = try obstacleSystem(32)
        let b = randomVector(sys.unknownCount, seed: 2)
        let options = IterativeOptions(relativeTolerance: 1e-8, maxIterations: 2000)
        let jacobi = try JacobiPreconditioner(sys.matrix)
        let pcg = try ConjugateGradient(options).solve(sys.matrix, b, preconditioner: jacobi).report
        let dcdm = try DeepConjugateDirection(options, directions: directions).solve(sys.matrix, b, preconditioner: jacobi).report
        #expect(pcg.reason == .convergedRelative && dcdm.reason == .convergedRelative)
        #expect(abs(dcdm.iterations - pcg.iterations) <= max(3, pcg.iterations / 10), "DCDM \(dcdm.iterations) vs PCG \(pcg.iterations)")
        #expect(dcdm.trueRelativeResidual <= 1.0000001e-8)
    }

    /// With a model that changes from call to call (Jacobi plus seeded noise: not a fixed
    /// linear operator, like a network), each direction is A-orthogonal to the k before it.
    @Test(arguments: [1, 2, 3])
    func keptDirectionsAreAOrthogonal(directions: Int) throws {
        let sys = try obstacleSystem(20)
        let a = sys.matrix
        let diagonal = a.diagonal()
        var g = SeededGenerator(seed: 5)
        let noisy = ClosureModel("noisy-jacobi") { r, q in
            for i in r.indices { q[i] = r[i] / diagonal[i] * (1 + 0.3 * g.normal()) }
        }
        var used: [(q: [Double], aq: [Double])] = []
        var dcdm = DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-10, maxIterations: 60), directions: directions)
        dcdm.directionMonitor = { _, q, aq in used.append((q, aq)) }
        var x = [Double](repeating: 0, count: sys.unknownCount)
        _ = try dcdm.solve(a, randomVector(sys.unknownCount, seed: 3), x: &x, model: noisy)
        #expect(used.count >= 10)
        var worst = 0.0
        for i in used.indices {
            for j in max(0, i - directions)..<i {
                let pij = VectorKernels.dot(used[i].q, used[j].aq)
                let scale = (VectorKernels.dot(used[i].q, used[i].aq) * VectorKernels.dot(used[j].q, used[j].aq)).squareRoot()
                worst = max(worst, abs(pij) / scale)
            }
        }
        #expect(worst < 1e-10, "largest |p_iᵀA p_j| / (‖p_i‖_A ‖p_j‖_A) = \(worst)")
    }

    @Test func multigridDirectionsConvergeFast() throws {
        // A V-cycle on a box (all-fluid, open top): DCDM with an MG model needs few iterations.
        let sys = try PressurePoissonSystem(CellDomain(counts: [32, 32], open: [3]))
        let b = randomVector(sys.unknownCount, seed: 4)
        let amg = try SmoothedAggregationAMG(sys.matrix)
        let report = try DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-8)).solve(sys.matrix, b, preconditioner: amg).report
        #expect(report.reason == .convergedRelative)
        #expect(report.iterations <= 20)
    }

    @Test func failingModelsStopWithAReason() throws {
        let sys = try obstacleSystem(12)
        let b = randomVector(sys.unknownCount, seed: 6)
        let dcdm = DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-8, maxIterations: 50))
        func run(_ model: DirectionModel) throws -> SolverReport {
            var x = [Double](repeating: 0, count: sys.unknownCount)
            return try dcdm.solve(sys.matrix, b, x: &x, model: model)
        }
        let nan = try run(ClosureModel("nan") { r, q in for i in r.indices { q[i] = i == 3 ? .nan : r[i] } })
        #expect(nan.reason == .notANumber)
        #expect(nan.notes.contains { $0.contains("NaN") })
        let throwing = try run(ClosureModel("broken") { _, _ in throw ModelFailure() })
        #expect(throwing.reason == .preconditionerFailure)
        #expect(throwing.notes.contains { $0.contains("could not be evaluated") })
        let zero = try run(ClosureModel("zero") { r, q in for i in r.indices { q[i] = 0 } })
        #expect(zero.reason == .breakdown)
        // q ⟂ r exactly: pairs (r₂, −r₁, r₄, −r₃, …).
        let orthogonal = try run(ClosureModel("orthogonal") { r, q in
            for i in r.indices { q[i] = i % 2 == 0 ? (i + 1 < r.count ? r[i + 1] : 0) : -r[i - 1] }
        })
        #expect(orthogonal.reason == .nonDescentDirection)
        let wrongSize = try run(ClosureModel("short") { _, q in q = [1, 2, 3] })
        #expect(wrongSize.reason == .preconditionerFailure)
    }

    /// A model that ignores the residual (a fixed pattern, as a network dominated by a bias
    /// would give) stalls: DCDM says so within a few iterations instead of running to the
    /// limit, and with the Jacobi fallback it converges.
    @Test func stallsAreCaughtAndTheFallbackConverges() throws {
        let sys = try obstacleSystem(16)
        let b = randomVector(sys.unknownCount, seed: 9)
        let pattern = randomVector(sys.unknownCount, seed: 10)
        let fixed = ClosureModel("fixed") { _, q in q = pattern }
        var dcdm = DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-8, maxIterations: 3000))
        var x = [Double](repeating: 0, count: sys.unknownCount)
        let stalled = try dcdm.solve(sys.matrix, b, x: &x, model: fixed)
        #expect(stalled.reason == .nonDescentDirection && stalled.iterations < 10, "\(stalled.reason) after \(stalled.iterations)")
        dcdm.jacobiFallback = true
        x = [Double](repeating: 0, count: sys.unknownCount)
        let rescued = try dcdm.solve(sys.matrix, b, x: &x, model: fixed)
        #expect(rescued.reason == .convergedRelative)
        #expect(rescued.notes.contains { $0.contains("fallback") })
        let solver = try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "jacobi",
                                      parameters: ["fallback": "jacobi", "descent_tolerance": "1e-6"])
        #expect(try solver.solve(b).report.reason == .convergedRelative)
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "jacobi", parameters: ["fallback": "cg"]) }
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "jacobi", parameters: ["descent_tolerance": "2"]) }
    }

    @Test func registeredAsDCDMWithParameters() throws {
        let sys = try obstacleSystem(16)
        let b = randomVector(sys.unknownCount, seed: 8)
        let solver = try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "icc",
                                      options: IterativeOptions(relativeTolerance: 1e-8), parameters: ["directions": "1", "replace_every": "5"])
        let (x, report) = try solver.solve(b)
        #expect(solver.methodName == "dcdm")
        #expect(report.reason == .convergedRelative)
        #expect(try sys.matrix.relativeResidual(x, b) <= 1.0000001e-8)
        // directions: all keeps every direction: the same iterations as k = the iteration limit.
        let options = IterativeOptions(relativeTolerance: 1e-8, maxIterations: 200)
        let all = try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "jacobi", options: options,
                                   parameters: ["directions": "all"]).solve(b).report
        let full = try DeepConjugateDirection(options, directions: 200).solve(sys.matrix, b, preconditioner: try JacobiPreconditioner(sys.matrix)).report
        #expect(all.reason == .convergedRelative && all.iterations == full.iterations && all.residualHistory == full.residualHistory)
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "icc", parameters: ["directions": "-1"]) }
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "icc", parameters: ["replace_every": "0"]) }
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "icc", parameters: ["depth": "2"]) }
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "none").solve(b) }
        do {
            _ = try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "icc", parameters: ["directions": "x"])
            Issue.record("expected an error")
        } catch let e as PDEError {
            #expect("\(e)".contains("options.directions"))
        }
    }
}

@Suite struct PressurePoissonTests {
    func dense(_ a: CSRMatrix) -> [[Double]] {
        var m = [[Double]](repeating: [Double](repeating: 0, count: a.columns), count: a.rows)
        for i in 0..<a.rows {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] { m[i][Int(a.columnIndices[k])] = a.values[k] }
        }
        return m
    }

    @Test func smallSystemHasTheMACEntries() throws {
        // 2 × 2 cells, open top (y+): bottom cells see 2 fluid faces, top ones also the open face.
        let sys = try PressurePoissonSystem(CellDomain(counts: [2, 2], open: [3]))
        #expect(dense(sys.matrix) == [[2, -1, -1, 0], [-1, 2, 0, -1], [-1, 0, 3, -1], [0, -1, -1, 3]])
        // An air cell and a solid cell.
        var d = try CellDomain(counts: [3, 2])
        d.cells[2] = .air      // (2, 0)
        d.cells[4] = .solid    // (1, 1)
        let s2 = try PressurePoissonSystem(d)
        #expect(s2.unknownCount == 4)
        #expect(s2.cellOfUnknown == [0, 1, 3, 5])
        #expect(s2.unknownOfCell == [0, 1, -1, 2, -1, 3])
        // Cell 1 = (1,0): x− fluid, x+ air, y+ solid → diagonal 2, one off-diagonal; cell 5 = (2,1): x− solid, y− air → 1.
        #expect(dense(s2.matrix) == [[2, -1, -1, 0], [-1, 2, 0, 0], [-1, 0, 1, 0], [0, 0, 0, 1]])
    }

    @Test func enclosedPocketsBecomeSolidAndTheMatrixIsSPD() throws {
        var d = try CellDomain(counts: [10, 10], open: [3])
        // A solid ring enclosing 2 × 2 fluid cells.
        d.fillBox(.solid, lower: [2, 2], upper: [6, 6])
        d.fillBox(.fluid, lower: [3, 3], upper: [5, 5])
        #expect(d.enclosedFluidCells().count == 4)
        let sys = try PressurePoissonSystem(d)
        #expect(sys.enclosedCells == 4)
        #expect(sys.unknownCount == 100 - 16)
        #expect(sys.matrix.isSymmetric(tolerance: 0))
        _ = try CholmodFactorization(matrix: sys.matrix)   // throws unless positive definite
        // A closed box has no Dirichlet condition at all.
        #expect(throws: PDEError.self) { try PressurePoissonSystem(CellDomain(counts: [4, 4])) }
    }

    @Test func scenesAreSeededAndSolvable() throws {
        for d in [try CellDomain.randomObstacles(counts: [24, 24], boxes: 3, balls: 2, seed: 11),
                  try CellDomain.randomObstacles(counts: [12, 12, 12], boxes: 2, balls: 2, seed: 12),
                  try CellDomain.smokePlume(counts: [32, 48], offset: 0.1),
                  try CellDomain.smokePlume(counts: [16, 16, 24]),
                  try CellDomain.pool(counts: [24, 24], level: 0.6, boxes: 2, seed: 13)] {
            let sys = try PressurePoissonSystem(d)
            #expect(sys.domain.cells.contains(.solid))
            #expect(sys.unknownCount > d.cellCount / 3)
            _ = try CholmodFactorization(matrix: sys.matrix)
        }
        #expect(try CellDomain.randomObstacles(counts: [24, 24], boxes: 3, balls: 2, seed: 11)
                == CellDomain.randomObstacles(counts: [24, 24], boxes: 3, balls: 2, seed: 11))
        #expect(try CellDomain.pool(counts: [24, 24], level: 0.6, boxes: 2, seed: 13).cells.contains(.air))
    }

    /// With closed x faces (Neumann at the faces) and open y faces (p = 0 at the air-cell
    /// centres beyond them), p = cos(πx/W) sin(πy′/L) solves −Δp = ((π/W)² + (π/L)²) p, W = n h,
    /// y′ = y + h/2, L = (n + 1) h; the system (in units of h²) converges at second order.
    @Test func manufacturedSolutionConvergesAtSecondOrder() throws {
        var errors: [Double] = []
        let sizes = [16, 32, 64]
        for n in sizes {
            let h = 1.0 / Double(n)
            let sys = try PressurePoissonSystem(CellDomain(counts: [n, n], open: [2, 3]))
            let w = Double(n) * h, l = Double(n + 1) * h
            let k2 = (Double.pi / w) * (Double.pi / w) + (Double.pi / l) * (Double.pi / l)
            var exact = [Double](), b = [Double]()
            for c in sys.cellOfUnknown {
                let x = (Double(c % n) + 0.5) * h, y = (Double(c / n) + 0.5) * h + h / 2
                let p = cos(Double.pi * x / w) * sin(Double.pi * y / l)
                exact.append(p)
                b.append(h * h * k2 * p)
            }
            let (x, report) = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-12)).solve(sys.matrix, b)
            #expect(report.reason == .convergedRelative)
            errors.append(zip(x, exact).map { abs($0 - $1) }.max()!)
        }
        let orders = (1..<errors.count).map { log(errors[$0 - 1] / errors[$0]) / log(2) }
        #expect(orders.allSatisfy { $0 > 1.9 }, "observed orders \(orders), errors \(errors)")
    }

    @Test func masksRoundTripThroughNPYAndBadMasksAreTypedErrors() throws {
        let d = try CellDomain.pool(counts: [12, 8], level: 0.5, boxes: 1, seed: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpde-mask-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pool.npy").path
        let (values, shape) = d.mask
        try NPY.write(values, shape: shape, to: path)
        let read = try NPY.read(path)
        #expect(read.dtype == .uint8 && read.shape == [8, 12])
        #expect(try CellDomain(mask: read.doubles, shape: read.shape, faces: d.faces) == d)
        var bad = read.doubles
        bad[5] = 3
        do {
            _ = try CellDomain(mask: bad, shape: read.shape, faces: d.faces, source: "pool.npy")
            Issue.record("expected an error")
        } catch let e as PDEError {
            #expect("\(e)".contains("pool.npy[5]"))
        }
        #expect(throws: PDEError.self) { try CellDomain(mask: read.doubles, shape: [96], faces: d.faces) }
        #expect(throws: PDEError.self) { try CellDomain(mask: read.doubles, shape: read.shape, faces: [.open]) }
        #expect(throws: PDEError.self) { try CellDomain(counts: [1, 5]) }
        #expect(throws: PDEError.self) { try CellDomain(counts: [4, 4], open: [7]) }
    }
}

@Suite struct LanczosTests {
    /// Full Lanczos (m = n) on a small SPD matrix reproduces LAPACK's eigenvalues, with an
    /// orthonormal basis and Ritz vectors that are eigenvectors.
    @Test func ritzValuesMatchLAPACKEigenvalues() throws {
        let sys = try PressurePoissonSystem(CellDomain.randomObstacles(counts: [9, 9], boxes: 1, balls: 1, seed: 21))
        let a = sys.matrix, n = sys.unknownCount
        var g = SeededGenerator(seed: 22)
        let start = (0..<n).map { _ in g.normal() }
        let dec = try Lanczos.run(a, start: start, steps: n)
        #expect(dec.steps == n)
        let (values, vectors) = try Lanczos.ritzPairs(dec)
        // LAPACK on the dense matrix.
        var dense = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in a.rowPointers[i]..<a.rowPointers[i + 1] { dense[i * n + Int(a.columnIndices[k])] = a.values[k] } }
        var w = [Double](repeating: 0, count: n)
        #expect(LAPACKE_dsyev(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "U")), Int32(n), &dense, Int32(n), &w) == 0)
        let largest = w.max()!
        #expect(zip(values, w).map { abs($0 - $1) }.max()! < 1e-10 * largest)
        // Orthonormal basis.
        var worst = 0.0
        for i in 0..<n { for j in 0...i {
            let d = VectorKernels.dot(Array(dec.basis[(i * n)..<((i + 1) * n)]), Array(dec.basis[(j * n)..<((j + 1) * n)]))
            worst = max(worst, abs(d - (i == j ? 1 : 0)))
        } }
        #expect(worst < 1e-12)
        // Ritz vectors are eigenvectors: ‖A y − θ y‖ small.
        var ay = [Double](repeating: 0, count: n)
        for k in [0, n / 2, n - 1] {
            let y = Array(vectors[(k * n)..<((k + 1) * n)])
            a.apply(y, into: &ay)
            let r = zip(ay, y).map { $0 - values[k] * $1 }
            #expect(VectorKernels.norm(r) < 1e-9 * largest)
            #expect(abs(VectorKernels.norm(y) - 1) < 1e-12)
        }
    }

    @Test func partialLanczosGivesExtremeRitzValuesAndMixedRightHandSides() throws {
        let sys = try PressurePoissonSystem(CellDomain(counts: [20, 20], open: [3]))
        let a = sys.matrix, n = sys.unknownCount
        var g = SeededGenerator(seed: 23)
        var start = [Double](repeating: 0, count: n)
        a.apply((0..<n).map { _ in g.normal() }, into: &start)   // A·randn, as the paper
        var reported: [Int] = []
        let dec = try Lanczos.run(a, start: start, steps: 120, progressInterval: 50) { reported.append($0) }
        #expect(reported == [50, 100])
        let (values, vectors) = try Lanczos.ritzPairs(dec)
        #expect(values == values.sorted())
        // The extreme Ritz values converge first: the largest eigenvalue of this Laplacian is below 8.
        #expect(values.last! < 8 && values.last! > 7.5)
        let rhs = try Lanczos.mixedRightHandSides(values: values, vectors: vectors, size: n, count: 5, seed: 24)
        #expect(rhs.count == 5)
        for b in rhs { #expect(abs(VectorKernels.norm(b) - 1) < 1e-12) }
        #expect(rhs[0] != rhs[1])
        #expect(throws: PDEError.self) { try Lanczos.run(a, start: [Double](repeating: 0, count: n), steps: 5) }
        #expect(throws: PDEError.self) { try Lanczos.run(a, start: start, steps: n + 1) }
        #expect(throws: PDEError.self) { try Lanczos.run(a, start: [1, 2], steps: 1) }
    }
}

@Suite struct DCDMDataTests {
    @Test func familySamplesAreUnitNormMixturesOnTheScene() throws {
        let family = try DCDMFamily(counts: [16, 16], geometries: 2, lanczosSteps: 60)
        #expect(family.fields.map(\.name) == ["rhs", "cells"] && family.fields[0].shape == [16, 16])
        for i in 0..<4 {
            var g = DatasetGeneration.generator(seed: 3, index: i)
            let s = try family.sample(i, generator: &g)
            let scene = try PressurePoissonSystem(family.scene(i % 2))
            #expect(s[1] == scene.domain.cells.map { Double($0.rawValue) })
            #expect(abs(VectorKernels.norm(scene.gather(s[0])) - 1) < 1e-12)
            for c in 0..<s[0].count where scene.unknownOfCell[c] < 0 { #expect(s[0][c] == 0) }
            var g2 = DatasetGeneration.generator(seed: 3, index: i)
            #expect(try family.sample(i, generator: &g2) == s)
        }
        #expect(throws: PDEError.self) { try DCDMFamily(counts: [15, 16]) }
        #expect(throws: PDEError.self) { try DCDMFamily(counts: [16, 16], geometries: 0) }
        #expect(throws: PDEError.self) { try DCDMFamily(counts: [16, 16], emphasized: 1.5) }
        #expect(throws: PDEError.self) { try DCDMFamily(counts: [16, 16], lanczosSteps: 1) }
    }

    /// The shipped evaluation masks are what the generators make today, and round-trip.
    @Test func evaluationScenesAreReproducibleAndReadable() throws {
        let shipped = try DCDMScenes.load(from: packageRoot + "/data/dcdm")
        #expect(shipped.count == 15)
        for counts in [[64, 64], [32, 32, 32]] {
            for (name, domain) in try DCDMScenes.evaluation(counts: counts) {
                #expect(shipped.first { $0.name == name }?.domain == domain, "\(name)")
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpde-scenes-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try DCDMScenes.write(sizes: [[16, 16]], to: dir)
        #expect(try DCDMScenes.load(from: dir).map(\.domain) == DCDMScenes.evaluation(counts: [16, 16]).map(\.domain))
        try Data("{".utf8).write(to: URL(fileURLWithPath: dir + "/scenes.json"))
        #expect(throws: PDEError.self) { try DCDMScenes.load(from: dir) }
        try Data(#"[{"name": "a", "file": "plume-16x16.npy", "faces": ["closed", "shut", "closed", "open"]}]"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/scenes.json"))
        #expect(throws: PDEError.self) { try DCDMScenes.load(from: dir) }
        #expect(throws: PDEError.self) { try DCDMScenes.load(from: dir + "/missing") }
    }
}
