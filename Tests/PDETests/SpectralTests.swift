import Foundation
import Testing
@testable import PDE

/// Spectral transforms and the fast Poisson solver.
@Suite struct SpectralTransformTests {
    func random(_ n: Int, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.normal() }
    }

    @Test(arguments: RealTransformKind.allCases)
    func everyRealTransformKindInvertsExactly(kind: RealTransformKind) throws {
        for shape in [[9], [6, 5], [4, 3, 5]] {
            let t = try RealToRealTransform(shape: shape, kinds: Array(repeating: kind, count: shape.count), batch: 2)
            let x = random(2 * t.count, seed: UInt64(shape.count))
            var y = x, z = x
            try t.apply(x, into: &y)
            try t.applyInverse(y, into: &z)
            #expect(maxAbsDifference(x, z) < 1e-13 * Vectors.maxAbs(x), "\(kind) \(shape)")
        }
    }

    @Test func transformsMatchTheirDefinitions() throws {
        // DST-I of n points: y_k = 2 Σ x_j sin(π(j+1)(k+1)/(n+1)); DCT-I: x_0 + (−1)^k x_{n−1} + 2 Σ_{1..n−2} x_j cos(πjk/(n−1)).
        let n = 7
        let x = random(n, seed: 5)
        var y = x
        try RealToRealTransform(shape: [n], kinds: [.dst1]).apply(x, into: &y)
        for k in 0..<n {
            let direct = (0..<n).reduce(0.0) { $0 + 2 * x[$1] * sin(Double.pi * Double(($1 + 1) * (k + 1)) / Double(n + 1)) }
            #expect(abs(y[k] - direct) < 1e-12)
        }
        try RealToRealTransform(shape: [n], kinds: [.dct1]).apply(x, into: &y)
        for k in 0..<n {
            var direct = x[0] + (k % 2 == 0 ? 1 : -1) * x[n - 1]
            for j in 1..<(n - 1) { direct += 2 * x[j] * cos(Double.pi * Double(j * k) / Double(n - 1)) }
            #expect(abs(y[k] - direct) < 1e-12)
        }
    }

    @Test func realAndComplexFFTsMatchTheDFT() throws {
        let shape = [4, 6]
        let x = random(2 * 24, seed: 9)
        let fft = try RealFFT(shape: shape, batch: 2)
        var spec = [Double](repeating: 0, count: 2 * 2 * fft.complexCount)
        try fft.forward(x, into: &spec)
        // Direct DFT of the second array at (k0, k1).
        for (k0, k1) in [(0, 0), (1, 2), (3, 3)] {
            var re = 0.0, im = 0.0
            for j0 in 0..<4 { for j1 in 0..<6 {
                let phase = -2 * Double.pi * (Double(j0 * k0) / 4 + Double(j1 * k1) / 6)
                re += x[24 + j0 * 6 + j1] * cos(phase); im += x[24 + j0 * 6 + j1] * sin(phase)
            } }
            let idx = fft.complexCount + k0 * 4 + k1
            #expect(abs(spec[2 * idx] - re) < 1e-12 && abs(spec[2 * idx + 1] - im) < 1e-12)
        }
        var back = x
        try fft.inverse(spec, into: &back)
        #expect(maxAbsDifference(back.map { $0 / 24 }, x) < 1e-13)
        let c = try ComplexFFT(shape: shape)
        let z = random(48, seed: 2)
        var w = z, v = z
        try c.transform(z, into: &w, forward: true)
        try c.transform(w, into: &v, forward: false)
        #expect(maxAbsDifference(v.map { $0 / 24 }, z) < 1e-13)
    }

    @Test func badShapesAreTypedErrors() {
        #expect(throws: PDEError.self) { try RealFFT(shape: [], batch: 1) }
        #expect(throws: PDEError.self) { try RealFFT(shape: [4, 0]) }
        #expect(throws: PDEError.self) { try RealToRealTransform(shape: [1], kinds: [.dct1]) }
        #expect(throws: PDEError.self) { try RealToRealTransform(shape: [4, 4], kinds: [.dst1]) }
        #expect(throws: PDEError.self) {
            var y = [Double](repeating: 0, count: 3)
            try RealToRealTransform(shape: [4], kinds: [.dst1]).apply([1, 2, 3, 4], into: &y)
        }
    }
}

@Suite struct FastPoissonTests {
    typealias Kind = DiffusionProblem.BoundaryKind

    /// Every wall combination per axis in 1-, 2- and 3-D, with and without reaction: the fast
    /// solve equals CHOLMOD's on the same FD matrix to 1e-10.
    @Test(arguments: [1, 2, 3])
    func agreesWithCholmodForEveryWallCombination(dimension: Int) throws {
        let pairs: [(Kind, Kind)] = [(.dirichlet, .dirichlet), (.neumann, .neumann), (.dirichlet, .neumann), (.neumann, .dirichlet), (.periodic, .periodic)]
        let n = [1: 17, 2: 9, 3: 6][dimension]!
        var g = SeededGenerator(seed: 3)
        for combo in 0..<(dimension == 3 ? 6 : pairs.count * (dimension == 2 ? 2 : 1)) {
            var bc = BoundaryConditions(dimension: dimension, all: .dirichlet(value: 0))
            for d in 0..<dimension {
                let (lo, hi) = pairs[(combo + 2 * d) % pairs.count]
                func cond(_ k: Kind) -> BoundaryCondition { k == .dirichlet ? .dirichlet(value: 0) : k == .neumann ? .neumann(flux: 0) : .periodic }
                bc[Face(rawValue: 2 * d)!] = cond(lo)
                bc[Face(rawValue: 2 * d + 1)!] = cond(hi)
            }
            let counts = (0..<dimension).map { n + $0 }
            let grid = try Grid(counts: counts, lower: Array(repeating: 0, count: dimension), upper: (0..<dimension).map { 1 + 0.5 * Double($0) })
            for c in [0.0, 2.5] {
                let a = 1.7
                let sys = try DiffusionProblem(grid: grid, coefficient: { _ in a }, reaction: { _ in c }, source: { _ in 0 }, boundary: bc).assemble()
                let layout = sys.layout
                let fast = try FastPoissonSolver(layout: layout, coefficient: a, reaction: c)
                var f = (0..<layout.unknownCount).map { _ in g.normal() }
                if fast.isSingular { ConstantNullSpace.project(&f) }
                let u = try fast.solve(f)
                // The operator (unpinned) applied to u gives f back.
                let r = try sys.operatorMatrix.multiply(u)
                #expect(maxAbsDifference(r, f) <= 1e-10 * Vectors.maxAbs(f), "dim \(dimension) combo \(combo) c \(c)")
                if !fast.isSingular {
                    let chol = try CholmodFactorization(matrix: sys.matrix).solve(f)
                    #expect(maxAbsDifference(u, chol) <= 1e-10 * Vectors.maxAbs(chol), "dim \(dimension) combo \(combo) c \(c)")
                }
                // Fitted from the matrix: the same coefficients, exact.
                let fitted = try FastPoissonSolver.matching(sys.operatorMatrix, layout: layout)
                #expect(abs(fitted.coefficient - a) < 1e-12 * a && abs(fitted.reaction - c) < 1e-10 * max(1, c))
                #expect(fitted.matchError < 1e-13)
            }
        }
    }

    @Test func registryEntryIsADirectSolverForConstantCoefficients() throws {
        let grid = try Grid.unit(dimension: 2, nodesPerAxis: 33)
        let p = try ProblemCatalogue.named("poisson2d-sinexp")
        let sys = try DiffusionProblem(grid: grid, analytic: p).assemble()
        let solver = try LinearSolver(matrix: sys.matrix, method: "cg", preconditioner: "fft",
                                      options: IterativeOptions(relativeTolerance: 1e-12), layout: sys.layout)
        #expect(solver.preconditionerName == "fastpoisson")
        let (_, rep) = try solver.solve(sys.rhs)
        #expect(rep.reason == .convergedRelative && rep.iterations <= 2, "\(rep.iterations)")
        let direct = try LinearSolver(matrix: sys.matrix, method: "preonly", preconditioner: "fastpoisson", options: IterativeOptions(relativeTolerance: 1e-12), layout: sys.layout)
        #expect(try direct.solve(sys.rhs).report.reason == .convergedRelative)
        // Variable coefficient: a preconditioner, not exact; CG converges in a handful of iterations.
        let varSys = try DiffusionProblem(grid: grid, analytic: try ProblemCatalogue.named("diffusion2d-variable")).assemble()
        let pre = try LinearSolver(matrix: varSys.matrix, method: "cg", preconditioner: "fastpoisson",
                                   options: IterativeOptions(relativeTolerance: 1e-10), layout: varSys.layout)
        let (_, r2) = try pre.solve(varSys.rhs)
        #expect(r2.reason == .convergedRelative && r2.iterations < 40, "\(r2.iterations)")
        #expect(r2.notes.contains { $0.contains("not exact") })
        // No layout: a typed error.
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, preconditioner: "fastpoisson") }
    }
}

@Suite struct PeriodicSpectralSolverTests {
    /// A band-limited source (modes up to 8 on a 32-point grid) is solved to machine precision.
    @Test(arguments: [1, 2, 3])
    func periodicPoissonIsSpectrallyExact(dimension: Int) throws {
        let n = dimension == 3 ? 16 : 32
        let grid = try PeriodicGrid(counts: Array(repeating: n, count: dimension), lengths: (0..<dimension).map { 1 + Double($0) })
        // u = Π sin(2π m_d x_d / L_d + φ_d) summed over a few modes; f = −Δu.
        let modes: [[Int]] = [[1, 2, 3], [4, 1, 2], [7, 5, 6]]
        func term(_ x: [Double], _ m: [Int]) -> Double {
            var p = 1.0
            for d in 0..<dimension { p *= sin(2 * .pi * Double(m[d]) * x[d] / grid.lengths[d] + 0.3 * Double(d)) }
            return p
        }
        func k2(_ m: [Int]) -> Double {
            var s = 0.0
            for d in 0..<dimension { let k = 2 * .pi * Double(m[d]) / grid.lengths[d]; s += k * k }
            return s
        }
        func u(_ x: [Double]) -> Double {
            var s = 0.0
            for (i, m) in modes.enumerated() { s += Double(i + 1) * term(x, m) }
            return s
        }
        func f(_ x: [Double], shift: Double) -> Double {
            var s = 0.0
            for (i, m) in modes.enumerated() { s += Double(i + 1) * (k2(m) + shift) * term(x, m) }
            return s
        }
        let exact = grid.sample(u)
        for shift in [0.0, 5.0, -3.0] {
            let solver = try PeriodicHelmholtz(grid: grid, shift: shift)
            var rhs = grid.sample { f($0, shift: shift) }
            if shift == 0 { let m = rhs.reduce(0, +) / Double(rhs.count); rhs = rhs.map { $0 - m } }
            let got = try solver.solve(rhs)
            let mean = exact.reduce(0, +) / Double(exact.count)
            let reference = shift == 0 ? exact.map { $0 - mean } : exact
            #expect(maxAbsDifference(got, reference) < 1e-12 * Vectors.maxAbs(reference), "dim \(dimension) shift \(shift)")
        }
        #expect(throws: PDEError.self) { try PeriodicHelmholtz(grid: grid, shift: 0).solve(grid.sample { _ in 1 }) }
        // A resonant shift: −|k|² for k = 2π/L₀.
        #expect(throws: PDEError.self) { try PeriodicHelmholtz(grid: grid, shift: -pow(2 * .pi / grid.lengths[0], 2)) }
    }

    @Test func heatEquationIsExactInTime() throws {
        let grid = try PeriodicGrid(counts: [32, 24], lengths: [1, 2])
        let kappa = 0.05, t = 0.7
        let u0 = grid.sample { x in sin(2 * .pi * 3 * x[0]) * cos(2 * .pi * x[1] / 2) + 0.25 }
        let f = grid.sample { x in cos(2 * .pi * 2 * x[0]) }
        let heat = try PeriodicHeat(grid: grid, diffusivity: kappa)
        let got = try heat.evolve(u0, time: t, source: f)
        let r1 = kappa * (pow(2 * .pi * 3, 2) + pow(2 * .pi / 2, 2)), r2 = kappa * pow(2 * .pi * 2, 2)
        let exact = grid.sample { x in
            exp(-r1 * t) * sin(2 * .pi * 3 * x[0]) * cos(2 * .pi * x[1] / 2) + 0.25 + (1 - exp(-r2 * t)) / r2 * cos(2 * .pi * 2 * x[0])
        }
        #expect(maxAbsDifference(got, exact) < 1e-13)
        #expect(throws: PDEError.self) { try heat.evolve(u0, time: -1) }
        #expect(throws: PDEError.self) { try PeriodicHeat(grid: grid, diffusivity: 0) }
    }

    @Test func periodicGridClosesForOutput() throws {
        let grid = try PeriodicGrid(counts: [4, 3], lengths: [2, 1])
        let v = grid.sample { $0[0] + 10 * $0[1] }
        let closed = try grid.closing(v)
        #expect(closed.grid.counts == [5, 4])
        #expect(closed.values[4] == v[0] && closed.values[19] == v[0])   // end points are the first point's images
        let expectedK: [Double] = [0, Double.pi, 2 * Double.pi, -Double.pi]
        #expect(grid.wavenumbers(axis: 0) == expectedK)
        #expect(grid.halfSpectrumShape == [3, 3])
        #expect(throws: PDEError.self) { try PeriodicGrid(counts: [1], lengths: [1]) }
        #expect(throws: PDEError.self) { try grid.closing([1, 2]) }
    }
}

@Suite struct FFTWWisdomTests {
    @Test func wisdomRoundTripsThroughFiles() throws {
        let dir = makeTemporaryFolder()
        // A plan measured here puts wisdom into FFTW; saving and loading it back succeeds.
        let t = try RealToRealTransform(shape: [24], kinds: [.dct2])
        var y = [Double](repeating: 0, count: 24)
        try t.apply((0..<24).map(Double.init), into: &y)
        try FFTWPlans.saveWisdom(to: dir + "/wisdom")
        #expect(FileManager.default.fileExists(atPath: dir + "/wisdom") && FileManager.default.fileExists(atPath: dir + "/wisdom.f"))
        #expect(FFTWPlans.loadWisdom(from: dir + "/wisdom"))
        #expect(!FFTWPlans.loadWisdom(from: dir + "/missing"))
        try Data("not wisdom".utf8).write(to: URL(fileURLWithPath: dir + "/bad"))
        try Data("not wisdom".utf8).write(to: URL(fileURLWithPath: dir + "/bad.f"))
        #expect(!FFTWPlans.loadWisdom(from: dir + "/bad"))
    }
}
