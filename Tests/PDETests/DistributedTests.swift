import Foundation
import Testing
import TestSupport
import Learning
@testable import PDE

/// Distributed grids and solvers. `swift test` runs them in one process (the world is serial);
/// `make test` also runs this suite under `mpirun -np 2`, where `Communicator.world()` has two
/// ranks and every check below compares the distributed result with the one-process result
/// computed on each rank by itself. The collective checks live in one test so both ranks call
/// the collectives in the same order (the suite is serialized as well).
@Suite(.serialized) struct DistributedTests {
    // MARK: pure (no communication)

    @Test func blocksCoverTheBoxOnceForUnevenSplits() throws {
        for counts in [[7, 13], [5, 7, 9], [4, 3, 11]] {
            for ranks in 1...5 {
                for layout in BlockDecomposition.Layout.allCases {
                    guard let first = try? BlockDecomposition(globalCounts: counts, ranks: ranks, rank: 0, layout: layout) else {
                        // Only too many ranks for an axis may fail.
                        #expect(ranks > counts.dropFirst().max()!)
                        continue
                    }
                    var seen = [Int](repeating: 0, count: counts.reduce(1, *))
                    var owned = 0
                    for r in 0..<first.rankCount {
                        let d = try BlockDecomposition(globalCounts: counts, ranks: ranks, rank: r, layout: layout)
                        #expect(d.processes == first.processes)
                        for u in 0..<d.ownedCount { seen[d.globalIndex(u)] += 1 }
                        owned += d.ownedCount
                        // Neighbours are mutual.
                        for axis in 1..<counts.count {
                            if let up = d.neighbor(axis: axis, upper: true) {
                                let other = try BlockDecomposition(globalCounts: counts, ranks: ranks, rank: up, layout: layout)
                                #expect(other.neighbor(axis: axis, upper: false) == r)
                                #expect(other.lower[axis] == d.lower[axis] + d.counts[axis])
                            } else {
                                #expect(d.lower[axis] + d.counts[axis] == counts[axis])
                            }
                        }
                        // Block sizes differ by at most one layer along each split axis.
                        for axis in 1..<counts.count {
                            let base = counts[axis] / d.processes[axis]
                            #expect(d.counts[axis] == base || d.counts[axis] == base + 1)
                        }
                    }
                    #expect(owned == seen.count)
                    #expect(seen.allSatisfy { $0 == 1 })
                }
            }
        }
        // Pencils in 3-D use both axes when the rank count factors.
        let p = try BlockDecomposition(globalCounts: [8, 8, 8], ranks: 4, rank: 3, layout: .pencil)
        #expect(p.processes == [1, 2, 2])
        #expect(p.coordinates == [0, 1, 1])
    }

    @Test func badDecompositionsAndSolvesThrowTypedErrors() throws {
        #expect(throws: PDEError.self) { try BlockDecomposition(globalCounts: [8], ranks: 1, rank: 0) }
        #expect(throws: PDEError.self) { try BlockDecomposition(globalCounts: [8, 3], ranks: 4, rank: 0) }
        #expect(throws: PDEError.self) { try BlockDecomposition(globalCounts: [8, 8], ranks: 2, rank: 2) }
        #expect(throws: PDEError.self) { try BlockDecomposition(globalCounts: [8, 8], processes: [2, 1], rank: 0) }
        #expect(throws: PDEError.self) { try BlockDecomposition(globalCounts: [8, 0], ranks: 1, rank: 0) }
        #expect(throws: PDEError.self) { try DistributedLaplacian(nodes: Grid.unit(dimension: 1, nodesPerAxis: 9), communicator: .serial) }
        let a = try DistributedLaplacian(nodes: Grid.unit(dimension: 2, nodesPerAxis: 9), communicator: .serial)
        var x = [Double](repeating: 0, count: 49)
        // Wrong lengths, a norm the distributed CG does not offer, a bad tolerance.
        #expect(throws: PDEError.shapeMismatch(what: "right-hand side", expected: "49 owned values on rank 0", got: "48")) {
            try DistributedConjugateGradient().solve(a, [Double](repeating: 1, count: 48), x: &x)
        }
        #expect(throws: PDEError.self) {
            try DistributedConjugateGradient(IterativeOptions(norm: .preconditioned)).solve(a, [Double](repeating: 1, count: 49), x: &x)
        }
        #expect(throws: PDEError.self) {
            try DistributedConjugateGradient(IterativeOptions(relativeTolerance: -1)).solve(a, [Double](repeating: 1, count: 49), x: &x)
        }
        // A multi-process launch of a build without MPI is refused, saying how to build.
        do {
            _ = try Communicator.worldKind(launcherSize: 2, mpiAvailable: false)
            Issue.record("expected a refusal")
        } catch let e as PDEError {
            #expect("\(e)".contains("--traits MPI"))
        }
        #expect(try Communicator.worldKind(launcherSize: 1, mpiAvailable: false) == false)
        #expect(try Communicator.worldKind(launcherSize: nil, mpiAvailable: true) == false)
        #expect(try Communicator.worldKind(launcherSize: 2, mpiAvailable: true) == true)
        // The serial communicator has no partner 1.
        let one = [1.0]
        var out = [0.0]
        #expect(throws: PDEError.self) {
            try one.withUnsafeBufferPointer { s in
                try out.withUnsafeMutableBufferPointer { r in try Communicator.serial.exchange(send: s, to: 1, receive: r, from: nil) }
            }
        }
        #expect(throws: PDEError.self) { try Communicator.serial.gather([1], root: 1) }
        #expect(throws: PDEError.self) { try Communicator.serial.split(color: -1) }
        #expect(throws: PDEError.self) { try DistributedPeriodicPoisson(grid: PeriodicGrid.unit(dimension: 1, pointsPerAxis: 8), communicator: .serial) }
        #expect(throws: PDEError.self) { try DistributedFFT(counts: [4, 0], communicator: .serial) }
    }

    /// Second-order convergence of the distributed solve (pipelined CG) on the manufactured
    /// u = sin πx sin πy (−Δu = 2π² u), on whatever world this runs in.
    func checkSecondOrder(_ world: Communicator) throws {
        var hs = [Double](), errors = [Double]()
        for n in [17, 33, 65] {
            let nodes = try Grid.unit(dimension: 2, nodesPerAxis: n)
            let a = try DistributedLaplacian(nodes: nodes, communicator: world)
            let g = a.grid
            let m = n - 2
            func xy(_ gi: Int) -> (Double, Double) { (Double(gi % m + 1) * nodes.spacing[0], Double(gi / m + 1) * nodes.spacing[1]) }
            let b = g.localVector { let (x, y) = xy($0); return 2 * .pi * .pi * sin(.pi * x) * sin(.pi * y) }
            let exact = g.localVector { let (x, y) = xy($0); return sin(.pi * x) * sin(.pi * y) }
            var u = [Double](repeating: 0, count: g.ownedCount)
            let report = try DistributedConjugateGradient(IterativeOptions(relativeTolerance: 1e-12), variant: .pipelined).solve(a, b, x: &u)
            #expect(report.reason == .convergedRelative)
            var e = 0.0
            for i in u.indices { e = max(e, abs(u[i] - exact[i])) }
            errors.append(try world.allreduce(e, .max))
            hs.append(nodes.spacing[0])
        }
        let order = observedOrder(h: hs, errors: errors)
        #expect(abs(order - 2) < 0.1, "observed order \(order), errors \(errors)")
    }

    // MARK: collective checks (one test: both ranks call the collectives in the same order)

    @Test func distributedResultsEqualTheOneProcessResults() throws {
        let world = try Communicator.world()
        // Under mpirun the world is the launcher's processes (a build with the MPI trait).
        if let launched = Communicator.launcherSize(), Communicator.mpiAvailable {
            #expect(world.size == launched && world.isMPI)
        }
        try checkCollectives(world)
        try checkHalo(world, counts: [6, 13], layout: .slab, periodic: nil)
        try checkHalo(world, counts: [5, 7, 9], layout: .pencil, periodic: nil)
        try checkHalo(world, counts: [5, 9, 4], layout: .pencil, periodic: [false, true, true])
        try checkOperator(world, nodes: [12, 17])
        try checkOperator(world, nodes: [7, 9, 11])
        for variant in DistributedConjugateGradient.Variant.allCases {
            try checkSolve(world, nodes: [20, 23], variant: variant, jacobi: false)
            try checkSolve(world, nodes: [9, 10, 13], variant: variant, jacobi: variant == .pipelined)
        }
        try checkFastReductions(world)
        try checkSecondOrder(world)
        try checkMultigrid(world, nodes: [33, 33], levels: 3)
        try checkMultigrid(world, nodes: [17, 9, 17], levels: 3)
        // Two ranks cannot split the last level's one layer: it is agglomerated.
        try checkMultigrid(world, nodes: [65, 9], levels: 3, agglomerates: true)
        try checkMultigrid(world, nodes: [33, 17, 9], levels: 3, agglomerates: true)
        try checkFFT(world, counts: [12, 10])
        try checkFFT(world, counts: [6, 5, 9])
        try checkPeriodicPoisson(world, counts: [16, 12])
        try checkPeriodicPoisson(world, counts: [8, 6, 10])
        try checkDatagen(world)
        try checkDataParallelTraining(world)
        try checkDistributedCSR(world)
        try checkGhostExchange(world)
        try checkRowAssembly(world)
        for scheme in NavierStokes2D.Scheme.allCases { try checkNavierStokes(world, n: 24, scheme: scheme) }
    }

    func checkCollectives(_ c: Communicator) throws {
        let n = c.size
        #expect(try c.allreduce(Double(c.rank + 1)) == Double(n * (n + 1) / 2))
        #expect(try c.allreduce(Double(c.rank), .max) == Double(n - 1))
        #expect(try c.allreduce(Double(c.rank), .min) == 0)
        // Ranks contribute rank+1 values each.
        let mine = [Double](repeating: Double(c.rank), count: c.rank + 1)
        let all = try c.allgather(mine)
        #expect(all == (0..<n).flatMap { [Double](repeating: Double($0), count: $0 + 1) })
        let gathered = try c.gather(mine, root: n - 1)
        #expect((gathered != nil) == (c.rank == n - 1))
        if let gathered { #expect(gathered == all) }
        let back = try c.scatter(c.rank == 0 ? (0..<n).map { [Double](repeating: Double($0), count: $0 + 1) } : nil, root: 0)
        #expect(back == mine)
        var v = [Double(c.rank), 7]
        try c.broadcast(&v, root: n - 1)
        #expect(v == [Double(n - 1), 7])
        let pending = try c.startAllreduce([1, Double(c.rank)])
        #expect(try pending.wait() == [Double(n), Double(n * (n - 1) / 2)])
        if let half = try c.split(color: c.rank % 2, key: -c.rank) {
            // Ranks of one color, in reverse rank order.
            #expect(half.size == (n - c.rank % 2 + 1) / 2)
            #expect(try half.allreduce(1) == Double(half.size))
        } else {
            Issue.record("a rank with a color must get a communicator")
        }
        #expect(try c.split(color: nil) == nil)
        try c.barrier()
    }

    /// Ghost faces hold the neighbours' boundary layers (zero at a non-periodic boundary).
    func checkHalo(_ c: Communicator, counts: [Int], layout: BlockDecomposition.Layout, periodic: [Bool]?) throws {
        let g = try DistributedGrid(globalCounts: counts, communicator: c, layout: layout, periodic: periodic)
        let dec = g.decomposition
        let value: (Int) -> Double = { Double($0 + 1) }
        try g.exchangeHalo(g.localVector(value))
        let dim = counts.count
        let strides = dim == 2 ? [1, counts[0]] : [1, counts[0], counts[0] * counts[1]]
        for d in 1..<dim {
            for upper in [false, true] {
                let ghost = g.ghosts[2 * d + (upper ? 1 : 0)]
                // The layer just outside the block along d.
                var layer = upper ? dec.lower[d] + dec.counts[d] : dec.lower[d] - 1
                let wraps = layer < 0 || layer >= counts[d]
                if wraps { layer = (layer + counts[d]) % counts[d] }
                let outside = wraps && !(periodic?[d] ?? false)
                // Face points in the order the ghost stores them (x fastest, then the other axis).
                let other = dim == 2 ? nil : (d == 1 ? 2 : 1)
                let otherCount = other.map { dec.counts[$0] } ?? 1
                var expected = [Double]()
                for t in 0..<otherCount {
                    for i in 0..<dec.counts[0] {
                        var gi = i + layer * strides[d]
                        if let o = other { gi += (dec.lower[o] + t) * strides[o] }
                        expected.append(outside ? 0 : value(gi))
                    }
                }
                #expect(ghost == expected, "axis \(d) \(upper ? "upper" : "lower") ghost on \(dec)")
            }
        }
    }

    func randomGlobal(_ n: Int, seed: UInt64) -> [Double] {
        var gen = SeededGenerator(seed: seed)
        return (0..<n).map { _ in gen.normal() }
    }

    /// The distributed stencil equals the assembled serial Laplacian.
    func checkOperator(_ c: Communicator, nodes: [Int]) throws {
        let grid = try Grid(counts: nodes, lower: nodes.map { _ in 0 }, upper: nodes.indices.map { 1 + 0.5 * Double($0) })
        let a = try DistributedLaplacian(nodes: grid, communicator: c, layout: .pencil)
        let csr = try FiniteDifference.laplacian(grid: grid)
        let v = randomGlobal(csr.rows, seed: 11)
        var y = [Double](repeating: 0, count: a.grid.ownedCount)
        try a.apply(a.grid.localPart(of: v), into: &y)
        let all = try a.grid.allgatherWhole(y)
        var ref = [Double](repeating: 0, count: csr.rows)
        csr.apply(v, into: &ref)
        let scale = ref.map(abs).max()!
        #expect(maxAbsDifference(all, ref) <= 1e-13 * scale)
    }

    /// CG under this world equals CG on the whole box in this process, bit for bit (reproducible
    /// reductions), and the suite's serial CG to the tolerance.
    func checkSolve(_ c: Communicator, nodes: [Int], variant: DistributedConjugateGradient.Variant, jacobi: Bool) throws {
        let g = try Grid(counts: nodes, lower: nodes.map { _ in 0 }, upper: nodes.map { _ in 1 })
        let options = IterativeOptions(relativeTolerance: 1e-10)
        let solver = DistributedConjugateGradient(options, variant: variant)
        func run(_ comm: Communicator) throws -> (x: [Double], report: SolverReport) {
            let a = try DistributedLaplacian(nodes: g, communicator: comm, layout: .pencil)
            let bGlobal = randomGlobal(a.grid.decomposition.globalCount, seed: 5)
            var x = [Double](repeating: 0, count: a.grid.ownedCount)
            let m = jacobi ? try DistributedJacobi(a) : nil
            let report = try solver.solve(a, a.grid.localPart(of: bGlobal), x: &x, preconditioner: m)
            return (try a.grid.allgatherWhole(x), report)
        }
        let distributed = try run(c)
        let single = try run(.serial)
        #expect(distributed.report.reason == .convergedRelative)
        #expect(distributed.report.iterations == single.report.iterations)
        #expect(distributed.report.residualHistory == single.report.residualHistory)
        let scale = single.x.map(abs).max()!
        #expect(maxAbsDifference(distributed.x, single.x) <= 1e-12 * scale, "\(variant) on \(nodes)")
        // The suite's serial CG on the assembled matrix reaches the same solution.
        let csr = try FiniteDifference.laplacian(grid: g)
        let b = randomGlobal(csr.rows, seed: 5)
        let (xs, rs) = try ConjugateGradient(options).solve(csr, b)
        #expect(rs.reason == .convergedRelative)
        #expect(maxAbsDifference(distributed.x, xs) <= 1e-7 * scale)
        #expect(abs(distributed.report.iterations - rs.iterations) <= 2 + rs.iterations / 20)
    }

    /// Rank-local sums (the scalable mode) agree with the reproducible ones to rounding.
    func checkFastReductions(_ c: Communicator) throws {
        let g = try Grid.unit(dimension: 2, nodesPerAxis: 40)
        let a = try DistributedLaplacian(nodes: g, communicator: c, reductions: .fast)
        let r = try DistributedLaplacian(nodes: g, communicator: c, reductions: .reproducible)
        let v = randomGlobal(a.grid.decomposition.globalCount, seed: 3)
        let local = try a.grid.localPart(of: v)
        let fast = try a.grid.dots([(local, local)])[0]
        let exact = try r.grid.dots([(local, local)])[0]
        #expect(abs(fast - exact) <= 1e-13 * exact)
        var x = [Double](repeating: 0, count: a.grid.ownedCount)
        let report = try DistributedConjugateGradient(IterativeOptions(relativeTolerance: 1e-10), variant: .pipelined).solve(a, local, x: &x)
        #expect(report.reason == .convergedRelative)
        #expect(report.trueRelativeResidual <= 1e-10)
    }

    /// MG-PCG under this world equals the one-process MG-PCG with the same levels bit for bit,
    /// with the coarse levels agglomerated onto every rank where the ranks run out of layers.
    func checkMultigrid(_ c: Communicator, nodes: [Int], levels: Int, agglomerates: Bool = false) throws {
        // Equal spacing on every axis (point smoothing with full coarsening wants it).
        let g = try Grid(counts: nodes, lower: nodes.map { _ in 0 }, upper: nodes.map { Double($0 - 1) / Double(nodes.max()! - 1) })
        func run(_ comm: Communicator) throws -> (x: [Double], report: SolverReport, levels: Int) {
            let a = try DistributedLaplacian(nodes: g, communicator: comm)
            let mg = try DistributedMultigrid(a, levels: levels)
            #expect((mg.agglomerated != nil) == (agglomerates && comm.size > 1), "agglomeration on \(nodes), \(comm.size) ranks")
            if mg.agglomerated != nil { #expect(mg.distributedLevelCount < levels) }
            let b = try a.grid.localPart(of: randomGlobal(a.grid.decomposition.globalCount, seed: 9))
            var x = [Double](repeating: 0, count: a.grid.ownedCount)
            let report = try DistributedConjugateGradient(IterativeOptions(relativeTolerance: 1e-10)).solve(a, b, x: &x, preconditioner: mg)
            return (try a.grid.allgatherWhole(x), report, mg.levelCount)
        }
        let distributed = try run(c)
        let single = try run(.serial)
        #expect(distributed.levels == levels && single.levels == levels)
        #expect(distributed.report.reason == .convergedRelative)
        #expect(distributed.report.iterations == single.report.iterations)
        #expect(distributed.report.residualHistory == single.report.residualHistory)
        #expect(maxAbsDifference(distributed.x, single.x) <= 1e-12 * single.x.map(abs).max()!, "MG-PCG on \(nodes)")
        #expect(distributed.report.iterations <= 15, "MG-PCG took \(distributed.report.iterations) iterations on \(nodes)")
    }

    /// The V-cycle is a symmetric positive definite preconditioner and MG-PCG's iteration count
    /// does not grow with the grid (one process).
    @Test func multigridIsSymmetricAndGridIndependent() throws {
        for dims in [2, 3] {
            let a = try DistributedLaplacian(nodes: Grid.unit(dimension: dims, nodesPerAxis: dims == 2 ? 33 : 17), communicator: .serial)
            let mg = try DistributedMultigrid(a, coarseSize: 50)
            #expect(mg.levelCount >= 3)
            let n = a.grid.ownedCount
            let u = randomGlobal(n, seed: 1), v = randomGlobal(n, seed: 2)
            var mu = [Double](repeating: 0, count: n), mv = mu
            try u.withUnsafeBufferPointer { p in try mu.withUnsafeMutableBufferPointer { try mg.apply(p.baseAddress!, into: $0.baseAddress!, count: n) } }
            try v.withUnsafeBufferPointer { p in try mv.withUnsafeMutableBufferPointer { try mg.apply(p.baseAddress!, into: $0.baseAddress!, count: n) } }
            let muv = zip(mu, v).map(*).reduce(0, +), umv = zip(u, mv).map(*).reduce(0, +)
            #expect(abs(muv - umv) <= 1e-12 * abs(muv), "⟨Mu, v⟩ = \(muv), ⟨u, Mv⟩ = \(umv)")
            #expect(zip(mu, u).map(*).reduce(0, +) > 0)
        }
        var iterations: [Int] = []
        for nodes in [33, 65, 129] {
            let a = try DistributedLaplacian(nodes: Grid.unit(dimension: 2, nodesPerAxis: nodes), communicator: .serial)
            let mg = try DistributedMultigrid(a, coarseSize: 50)
            var x = [Double](repeating: 0, count: a.grid.ownedCount)
            let b = randomGlobal(a.grid.ownedCount, seed: 4)
            let report = try DistributedConjugateGradient(IterativeOptions(relativeTolerance: 1e-10)).solve(a, b, x: &x, preconditioner: mg)
            #expect(report.reason == .convergedRelative)
            iterations.append(report.iterations)
        }
        #expect(iterations.max()! - iterations.min()! <= 2 && iterations.max()! <= 15, "MG-PCG iterations \(iterations)")
        // Bad options and decompositions.
        let a = try DistributedLaplacian(nodes: Grid.unit(dimension: 2, nodesPerAxis: 17), communicator: .serial)
        #expect(throws: PDEError.self) { try DistributedMultigrid(a, levels: 0) }
        #expect(throws: PDEError.self) { try DistributedMultigrid(a, smoothingSteps: 0) }
        #expect(throws: PDEError.self) { try DistributedMultigrid(a, weight: 2.5) }
        let pencils = try DistributedGrid(decomposition: BlockDecomposition(globalCounts: [7, 7, 7], processes: [1, 1, 1], rank: 0),
                                          communicator: .serial)
        _ = pencils
        #expect(throws: PDEError.self) {
            try DistributedGrid(decomposition: BlockDecomposition(globalCounts: [7, 7], ranks: 2, rank: 1), communicator: .serial)
        }
    }

    /// The distributed FFT equals the serial FFT of the whole array, and inverts to N·x.
    func checkFFT(_ c: Communicator, counts: [Int]) throws {
        let fft = try DistributedFFT(counts: counts, communicator: c)
        let dec = fft.decomposition
        let total = counts.reduce(1, *)
        let global = randomGlobal(2 * total, seed: 21)
        var local = [Double](repeating: 0, count: 2 * dec.ownedCount)
        for u in 0..<dec.ownedCount {
            let g = dec.globalIndex(u)
            local[2 * u] = global[2 * g]; local[2 * u + 1] = global[2 * g + 1]
        }
        var spectrum = local
        try fft.transform(local, into: &spectrum, forward: true)
        var reference = global
        try ComplexFFT(shape: counts.reversed()).transform(global, into: &reference, forward: true)
        let scale = reference.map(abs).max()!
        var worst = 0.0
        for u in 0..<dec.ownedCount {
            let g = dec.globalIndex(u)
            worst = max(worst, abs(spectrum[2 * u] - reference[2 * g]), abs(spectrum[2 * u + 1] - reference[2 * g + 1]))
        }
        #expect(try c.allreduce(worst, .max) <= 1e-12 * scale, "FFT of \(counts)")
        var back = local
        try fft.transform(spectrum, into: &back, forward: false)
        #expect(maxAbsDifference(back.map { $0 / Double(total) }, local) <= 1e-13)
        #expect(throws: PDEError.self) { try fft.transform([1], into: &back) }
    }

    /// −Δu = f on the periodic box: the distributed spectral solve reproduces the trigonometric
    /// solution to rounding and equals the serial `PeriodicHelmholtz`.
    func checkPeriodicPoisson(_ c: Communicator, counts: [Int]) throws {
        let grid = try PeriodicGrid(counts: counts, lengths: counts.map { _ in 1 })
        let solver = try DistributedPeriodicPoisson(grid: grid, communicator: c)
        let dec = solver.fft.decomposition
        let dim = counts.count
        func point(_ g: Int) -> [Double] {
            var r = g
            return (0..<dim).map { d in let v = Double(r % counts[d]) / Double(counts[d]); r /= counts[d]; return v }
        }
        func exact(_ p: [Double]) -> Double {
            sin(2 * .pi * p[0]) * cos(4 * .pi * p[1]) * (dim == 3 ? sin(2 * .pi * p[2]) : 1)
        }
        let k2 = 4 * Double.pi * Double.pi * (1 + 4 + (dim == 3 ? 1 : 0))
        let f = (0..<dec.ownedCount).map { k2 * exact(point(dec.globalIndex($0))) }
        let u = try solver.solve(f)
        var worst = 0.0
        for i in 0..<dec.ownedCount { worst = max(worst, abs(u[i] - exact(point(dec.globalIndex(i))))) }
        #expect(try c.allreduce(worst, .max) <= 1e-12, "periodic Poisson on \(counts)")
        // Equal to the serial solver on a random zero-mean right-hand side.
        var g = randomGlobal(grid.pointCount, seed: 13)
        let mean = g.reduce(0, +) / Double(g.count)
        g = g.map { $0 - mean }
        let serial = try PeriodicHelmholtz(grid: grid).solve(g)
        let mine = try solver.solve((0..<dec.ownedCount).map { g[dec.globalIndex($0)] })
        var diff = 0.0
        for i in 0..<dec.ownedCount { diff = max(diff, abs(mine[i] - serial[dec.globalIndex(i)])) }
        #expect(try c.allreduce(diff, .max) <= 1e-12 * serial.map(abs).max()!)
        // A right-hand side with a mean has no periodic solution.
        #expect(throws: PDEError.self) { try solver.solve([Double](repeating: 1, count: dec.ownedCount)) }
        #expect(throws: PDEError.self) { try solver.solve([1]) }
    }

    /// Generation split over the ranks (rank 0 writing) writes the file a one-process run
    /// writes, also when resumed.
    func checkDatagen(_ c: Communicator) throws {
        let dir = makeTemporaryFolder()
        let family = DatasetGenerationTests.HeatFamily(grid: try PeriodicGrid(counts: [16, 8], lengths: [1, 1]), time: 0.3)
        var options = DatasetGenerationOptions(samples: 5, seed: 42, workers: 2, doublePrecision: true)
        options.communicator = c
        var seen: [Int] = []
        options.progress = { seen.append($0.written) }
        let first = try DatasetGeneration.run(family, to: dir + "/split.h5", options: options)
        #expect(first.samples == 5 && first.resumedFrom == 0 && !first.interrupted)
        options.samples = 9
        let second = try DatasetGeneration.run(family, to: dir + "/split.h5", options: options)
        #expect(second.samples == 9 && second.resumedFrom == 5)
        if c.rank == 0 {
            #expect(seen == Array(1...9), "rank 0 appends in index order")
            var serialOptions = DatasetGenerationOptions(samples: 9, seed: 42, workers: 1, doublePrecision: true)
            serialOptions.communicator = .serial
            _ = try DatasetGeneration.run(family, to: dir + "/serial.h5", options: serialOptions)
            let read = DatasetGenerationTests().read
            #expect(try read(dir + "/split.h5") == read(dir + "/serial.h5"))
        } else {
            #expect(seen.isEmpty && !FileManager.default.fileExists(atPath: dir + "/split.h5"))
        }
    }

    /// Data-parallel training (each rank on a slice of every batch, gradients summed) follows
    /// the one-process loss curve to Float rounding, with uneven slices (batch 5 of 23 samples).
    func checkDataParallelTraining(_ c: Communicator) throws {
        func run(_ comm: Communicator?) throws -> (losses: [Double], weights: [Float]) {
            var g = SeededGenerator(seed: 7)
            let net = try MLP<Float>(sizes: [2, 8, 1], generator: &g)
            let data = Tensor<Float>.randomNormal(shape: [23, 2], generator: &g)
            let target = try data.sum(alongAxes: [1], keepingDimensions: true).map(.sin)
            let opt = try Adam(net.namedParameters(Float.self), learningRate: 0.01)
            var o = TrainingOptions(epochs: 4, batchSize: 5, seed: 8)
            o.progress = false
            o.gradientClipNorm = 1
            if let comm {
                o.dataParallel = DataParallel(rank: comm.rank, size: comm.size) { v in
                    var a = v
                    try comm.allreduce(&a, .sum)
                    return a
                }
            }
            let trainer = try Trainer(model: net, optimizer: opt, options: o)
            let h = try trainer.fit(sampleCount: 23, loss: { idx in
                (try net(Variable(try data.gathered(idx, axis: 0))) - Variable(try target.gathered(idx, axis: 0))).square().mean()
            })
            return (h.records.map(\.trainingLoss), net.namedParameters(Float.self).flatMap { $0.variable.value.scalars })
        }
        let parallel = try run(c)
        let single = try run(nil)
        #expect(parallel.losses.count == 4)
        for (a, b) in zip(parallel.losses, single.losses) { #expect(abs(a - b) <= 1e-5 * abs(b), "losses \(parallel.losses) vs \(single.losses)") }
        let scale = single.weights.map { abs($0) }.max()!
        #expect(zip(parallel.weights, single.weights).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
        // The slices of a batch cover it once, in order.
        let slices = (0..<3).map { DataParallel(rank: $0, size: 3, allreduce: { $0 }).slice(7) }
        #expect(slices == [0..<3, 3..<5, 5..<7])
    }

    /// An assembled matrix split by rows: the product equals the serial one, CG equals the
    /// serial CG to the tolerance, block Jacobi with local IC(0) converges (and is IC(0) on one
    /// rank).
    func checkDistributedCSR(_ c: Communicator) throws {
        let g = try Grid(counts: [14, 15], lower: [0, 0], upper: [1, 1.3])
        var a = try FiniteDifference.laplacian(grid: g)
        // A varying diagonal shift, so the matrix is not a constant stencil.
        var gen = SeededGenerator(seed: 31)
        for i in 0..<a.rows {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] where Int(a.columnIndices[k]) == i { a.values[k] += 50 * gen.uniform() }
        }
        let d = try DistributedCSRMatrix(rowsOf: a, communicator: c)
        let v = randomGlobal(a.rows, seed: 2)
        var y = [Double](repeating: 0, count: d.grid.ownedCount)
        try d.apply(d.grid.localPart(of: v), into: &y)
        var ref = [Double](repeating: 0, count: a.rows)
        a.apply(v, into: &ref)
        #expect(maxAbsDifference(try d.grid.allgatherWhole(y), ref) <= 1e-13 * ref.map(abs).max()!)
        let b = randomGlobal(a.rows, seed: 3)
        let options = IterativeOptions(relativeTolerance: 1e-11)
        var x = [Double](repeating: 0, count: d.grid.ownedCount)
        let report = try DistributedConjugateGradient(options).solve(d, d.grid.localPart(of: b), x: &x)
        let (xs, rs) = try ConjugateGradient(options).solve(a, b)
        #expect(report.reason == .convergedRelative)
        #expect(abs(report.iterations - rs.iterations) <= 1)
        #expect(maxAbsDifference(try d.grid.allgatherWhole(x), xs) <= 1e-8 * xs.map(abs).max()!)
        // Block Jacobi with IC(0) per rank.
        let bj = try DistributedBlockJacobi(d) { try IncompleteCholeskyPreconditioner($0) }
        var xb = [Double](repeating: 0, count: d.grid.ownedCount)
        let rb = try DistributedConjugateGradient(options).solve(d, d.grid.localPart(of: b), x: &xb, preconditioner: bj)
        #expect(rb.reason == .convergedRelative && rb.trueRelativeResidual <= 1e-11)
        #expect(rb.iterations < report.iterations)
        if c.size == 1 {
            let ic = try ConjugateGradient(options).solve(a, b, preconditioner: try IncompleteCholeskyPreconditioner(a)).report
            #expect(abs(rb.iterations - ic.iterations) <= 1)
        }
        #expect(throws: PDEError.self) { try DistributedCSRMatrix(rowsOf: CSRMatrix(unchecked: 1, columns: 2, rowPointers: [0, 0], columnIndices: [], values: []), communicator: c) }
    }

    /// Systems assembled by rows on each rank (finite differences, and P1 on a mesh split by
    /// coordinate bisection): each rank's rows are the serial rows (permuted for meshes), and
    /// the solves give the serial solutions. A failure on one rank throws on every rank.
    /// Ghost exchange on uneven blocks: each rank asks for a scattered set of entries (its own,
    /// repeats and out-of-order ones included) and receives the owners' values, in ascending
    /// order of the entries it does not own; bad requests throw on every rank before any traffic.
    func checkGhostExchange(_ c: Communicator) throws {
        let n = 3 * c.size + 2
        let dec = try BlockDecomposition(globalCounts: [1, n], ranks: c.size, rank: c.rank)
        let r0 = dec.lower[1], local = dec.counts[1]
        let value = { (i: Int) in 1.5 * Double(i) - 7 }
        let wanted = (0..<n).filter { ($0 * 7 + c.rank) % 3 != 0 }.reversed() + [n - 1, 0, n - 1]
        let exchange = try GhostExchange(needing: Array(wanted), boundaries: dec.boundaries[1], communicator: c)
        let expected = Array(Set(wanted.filter { $0 < r0 || $0 >= r0 + local })).sorted()
        #expect(exchange.indices == expected)
        let got = try exchange.fetch((r0..<(r0 + local)).map(value))
        #expect(got == expected.map(value))
        #expect(throws: PDEError.self) { try GhostExchange(needing: [n], boundaries: dec.boundaries[1], communicator: c) }
        #expect(throws: PDEError.self) { try GhostExchange(needing: [0], boundaries: dec.boundaries[1] + [n], communicator: c) }
        #expect(throws: PDEError.self) { try GhostExchange(needing: [0], boundaries: [1] + dec.boundaries[1].dropFirst(), communicator: c) }
    }

    func checkRowAssembly(_ c: Communicator) throws {
        let options = IterativeOptions(relativeTolerance: 1e-12)
        for (name, problem) in try RowAssemblyTests.problems() {
            let whole = try problem.assemble()
            let dist = try DistributedFDSystem(problem, communicator: c)
            let r0 = dist.matrix.grid.decomposition.lower[1], rows = r0..<(r0 + dist.rhs.count)
            let v = randomGlobal(whole.matrix.rows, seed: 8)
            var ref = [Double](repeating: 0, count: v.count)
            whole.matrix.apply(v, into: &ref)
            var y = [Double](repeating: 0, count: rows.count)
            try dist.matrix.apply(Array(v[rows]), into: &y)
            #expect(maxAbsDifference(y, Array(ref[rows])) <= 1e-13 * ref.map(abs).max()!, "\(name): rows")
            #expect(maxAbsDifference(dist.rhs, Array(whole.rhs[rows])) <= 1e-13 * whole.rhs.map(abs).max()!, "\(name): rhs")
            #expect(dist.nonzeroCount == whole.matrix.nonzeroCount && dist.isPinned == whole.isPinned)
            let solver = try DistributedLinearSolver(distributed: dist.matrix, method: "cg", preconditioner: "ic0", options: options)
            let (x, report) = try solver.solve(local: dist.rhs)
            #expect(report.reason == .convergedRelative, "\(name)")
            let field = try dist.fullSolution(local: x).values
            let serial = try whole.fullSolution(try CholmodFactorization(matrix: whole.matrix).solve(whole.rhs)).values
            #expect(maxAbsDifference(field, serial) <= 1e-9 * serial.map(abs).max()!, "\(name): solution")
        }
        let disk = try MeshGenerator.disk(resolution: 7)
        let square = try MeshGenerator.rectangle(nx: 9, ny: 7)
        let tags = MeshGenerator.rectangleTags
        let meshProblems: [(String, P1Problem)] = [
            ("disk, Dirichlet", try P1Problem(mesh: disk, analytic: ProblemCatalogue.diskVariable)),
            ("square, Neumann on two sides", try P1Problem(mesh: square, analytic: ProblemCatalogue.diffusion2dVariable, neumannTags: [tags.xmin, tags.ymax])),
            ("square, all Neumann (pinned)", try P1Problem(mesh: square, analytic: ProblemCatalogue.neumann2dCos,
                                                           neumannTags: [tags.xmin, tags.xmax, tags.ymin, tags.ymax])),
        ]
        for (name, problem) in meshProblems {
            let whole = try problem.assemble()
            let dist = try DistributedP1System(problem, communicator: c)
            let n = whole.matrix.rows
            let everySerialUnknown = try c.allgather(dist.serialUnknown.map(Double.init)).map { Int($0) }
            #expect(everySerialUnknown.sorted() == Array(0..<n) && dist.isPinned == whole.isPinned)
            let local = dist.rhs.count
            #expect(dist.serialUnknown.count == local)
            let v = randomGlobal(n, seed: 9)
            var ref = [Double](repeating: 0, count: n)
            whole.matrix.apply(v, into: &ref)
            var y = [Double](repeating: 0, count: local)
            try dist.matrix.apply(dist.serialUnknown.map { v[$0] }, into: &y)
            let want = dist.serialUnknown.map { ref[$0] }
            #expect(maxAbsDifference(y, want) <= 1e-13 * ref.map(abs).max()!, "\(name): rows")
            let rhsWant = dist.serialUnknown.map { whole.rhs[$0] }
            #expect(maxAbsDifference(dist.rhs, rhsWant) <= 1e-13 * whole.rhs.map(abs).max()!, "\(name): rhs")
            let triangles = try c.allreduce(Double(dist.localTriangles))
            let touchingFree = problem.mesh.triangles.filter { t in (0..<3).contains { whole.unknownOfVertex[Int(t[$0])] >= 0 } }.count
            #expect(Int(triangles) >= touchingFree, "\(name): every triangle with a free vertex integrated somewhere")
            if c.size > 1 { #expect(dist.localTriangles < problem.mesh.triangleCount, "\(name): a rank integrated every triangle") }
            let solver = try DistributedLinearSolver(distributed: dist.matrix, method: "pipecg", preconditioner: "jacobi", options: options)
            let (x, report) = try solver.solve(local: dist.rhs)
            #expect(report.reason == .convergedRelative, "\(name)")
            let exact: AnalyticProblem = name.hasPrefix("disk") ? ProblemCatalogue.diskVariable
                : (name.contains("pinned") ? ProblemCatalogue.neumann2dCos : ProblemCatalogue.diffusion2dVariable)
            let (field, errors) = try dist.solution(local: x, comparedWith: exact)
            let (serial, serialErrors) = try whole.solution(try CholmodFactorization(matrix: whole.matrix).solve(whole.rhs), comparedWith: exact)
            #expect(maxAbsDifference(field.values, serial.values) <= 1e-9 * serial.values.map(abs).max()!, "\(name): solution")
            #expect(abs(errors!.l2 - serialErrors!.l2) <= 1e-7 * serialErrors!.l2, "\(name): L2 error")
            // The mesh is partitioned: each rank keeps its triangles, every triangle and boundary
            // edge is kept by exactly one rank, and the gathered mesh is the problem's, in order.
            #expect(field.mesh == problem.mesh, "\(name): gathered mesh")
            let kept = try c.allgather(dist.localTriangleIds.map(Double.init)).map { Int($0) }
            #expect(kept.sorted() == Array(0..<problem.mesh.triangleCount), "\(name): triangles kept once")
            let keptEdges = try c.allgather(dist.localEdgeIds.map(Double.init)).map { Int($0) }
            #expect(keptEdges.sorted() == Array(0..<problem.mesh.boundaryEdges.count), "\(name): edges kept once")
            if c.size > 1 { #expect(dist.localVertices.count < problem.mesh.vertexCount, "\(name): a rank kept every vertex") }
            if let m = dist.localMesh {
                #expect(m.vertices == dist.localVertices.map { problem.mesh.vertices[$0] })
                for (k, t) in dist.localTriangleIds.enumerated() {
                    #expect((0..<3).allSatisfy { dist.localVertices[Int(m.triangles[k][$0])] == Int(problem.mesh.triangles[t][$0]) })
                }
            }
            // Per rank: the local part of the solution is the gathered one at the local vertices,
            // and the errors summed over the parts are the whole field's.
            let gathered = try dist.fullSolution(local: x)
            var part = try dist.localValues(local: x)
            #expect(part == dist.localVertices.map { gathered.values[$0] }, "\(name): local values")
            #expect(try dist.localSolution(local: x)?.values == dist.localMesh.map { _ in part })
            let partErrors = try dist.errors(of: &part, against: exact)
            #expect(abs(partErrors.l2 - errors!.l2) <= 1e-10 * errors!.l2 && abs(partErrors.h1 - errors!.h1) <= 1e-10 * errors!.h1, "\(name): errors by parts")
            #expect(abs(partErrors.max - errors!.max) <= 1e-12, "\(name): max error by parts")
            let onRoot = try dist.gatheredSolution(local: x, root: c.size - 1)
            #expect((onRoot != nil) == (c.rank == c.size - 1))
            if let onRoot { #expect(onRoot.values == gathered.values && onRoot.mesh == problem.mesh) }
            // The values aligned by parts, gathered, are the whole field's aligned values.
            let aligned = try dist.gatheredSolution(values: part, root: 0)
            if let aligned { #expect(maxAbsDifference(aligned.values, field.values) <= 1e-12 * field.values.map(abs).max()!, "\(name): aligned") }
            #expect(throws: PDEError.self) { try dist.gatheredSolution(values: part + [0], root: 0) }
            #expect(throws: PDEError.self) { var short = [Double](); _ = try dist.errors(of: &short, against: exact) }
        }
        // One rank failing throws on all of them (not a hang in the next collective call).
        do {
            try c.collectively("test") { if c.rank == c.size - 1 { throw PDEError.invalidValue(key: "k", value: "v", expected: "e") } }
            Issue.record("no rank threw")
        } catch PDEError.invalidValue {
            #expect(c.rank == c.size - 1)
        } catch PDEError.libraryFailure(_, let reason) {
            #expect(c.rank != c.size - 1 && reason.contains("rank \(c.size - 1)"))
        }
        var bad = try RowAssemblyTests.problems()[0].1
        bad.coefficient = { x in x[1] > 1.2 ? -1 : 1 }  // only the last rows see it
        #expect(throws: PDEError.self) { try DistributedFDSystem(bad, communicator: c) }
        try c.barrier()
    }

    /// The distributed Navier–Stokes solver (fftw3-mpi real transforms on slabs of rows) follows
    /// the serial solver to rounding over 30 steps with the FNO forcing; a CFL violation throws
    /// on every rank.
    func checkNavierStokes(_ c: Communicator, n: Int, scheme: NavierStokes2D.Scheme) throws {
        let grid = try PeriodicGrid.unit(dimension: 2, pointsPerAxis: n)
        let forcing = NavierStokes2D.fnoForcing(on: grid)
        let w0 = grid.sample { p in sin(2 * .pi * p[0]) + cos(4 * .pi * p[1]) + 0.5 * sin(2 * .pi * (p[0] + p[1])) }
        let model = try NavierStokes2D(grid: grid, viscosity: 1e-3, timeStep: 1e-3, scheme: scheme, forcing: forcing)
        let serial = try model.step(w0, count: 30)
        let rows = try DistributedNavierStokes2D.rows(pointsPerAxis: n, communicator: c)
        func mine(_ field: [Double]) -> [Double] { Array(field[(rows.lowerBound * n)..<(rows.upperBound * n)]) }
        let ns = try DistributedNavierStokes2D(grid: grid, viscosity: 1e-3, timeStep: 1e-3, scheme: scheme, forcing: mine(forcing),
                                               communicator: c)
        try ns.load(mine(w0))
        try ns.step(30)
        #expect(ns.stepCount == 30)
        let scale = serial.map(abs).max()!
        #expect(maxAbsDifference(ns.vorticity(), mine(serial)) <= 1e-12 * scale, "\(scheme) on \(c.size) ranks")
        let all = try c.allgather(ns.vorticity())
        #expect(all.count == n * n)
        // A CFL limit no step meets: every rank throws, the state stays.
        let strict = try DistributedNavierStokes2D(grid: grid, viscosity: 1e-3, timeStep: 1e-3, scheme: scheme, cflLimit: 1e-9,
                                                   communicator: c)
        try strict.load(mine(w0))
        #expect(throws: NavierStokesCFLViolation.self) { try strict.step(1) }
        #expect(strict.stepCount == 0)
        #expect(throws: PDEError.self) { try strict.load([1, 2, 3]) }
        #expect(throws: PDEError.self) {
            try DistributedNavierStokes2D(grid: grid, viscosity: -1, timeStep: 1e-3, communicator: c)
        }
    }
}
