import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

@Suite struct DCDMTests {
    func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.normal() }
    }

    /// The matrix-free operator equals the assembled pressure matrix on the fluid cells, in
    /// 2-D and 3-D, with air, solid and open faces.
    @Test func maskedOperatorMatchesTheAssembledMatrix() throws {
        for domain in [try CellDomain.pool(counts: [12, 10], level: 0.6, boxes: 2, seed: 1),
                       try CellDomain.randomObstacles(counts: [6, 8, 4], boxes: 1, balls: 1, seed: 2)] {
            let sys = try PressurePoissonSystem(domain)
            let op = try MaskedPoissonOperator<Double>(domains: [domain, domain])
            let x = randomVector(sys.unknownCount, seed: 3)
            var ax = x
            sys.matrix.apply(x, into: &ax)
            let field = sys.scatter(x)
            let q = Variable(try Tensor(shape: op.diagonal.shape, scalars: field + field.map { 2 * $0 }))
            let y = try op(q).value.scalars
            let cells = domain.cellCount
            #expect(zip(sys.gather(Array(y[..<cells])), ax).map { abs($0 - $1) }.max()! < 1e-12)
            #expect(zip(sys.gather(Array(y[cells...])), ax).map { abs($0 - 2 * $1) }.max()! < 1e-12)
            // Zero off the fluid cells.
            for c in 0..<cells where sys.unknownOfCell[c] < 0 { #expect(y[c] == 0) }
        }
        #expect(throws: LearningError.self) {
            try MaskedPoissonOperator<Double>(domains: [try CellDomain(counts: [4, 4], open: [3]), try CellDomain(counts: [6, 4], open: [3])])
        }
    }

    /// The loss ‖b − (qᵀb/qᵀAq)Aq‖² against finite differences in q and in the network's
    /// parameters; the loss vanishes for the exact solution direction.
    @Test func lossAndNetworkGradients() throws {
        let domain = try CellDomain.randomObstacles(counts: [8, 8], boxes: 1, balls: 1, seed: 4)
        let sys = try PressurePoissonSystem(domain)
        let op = try MaskedPoissonOperator<Double>(domains: [domain, domain])
        var bField = sys.scatter(randomVector(sys.unknownCount, seed: 5))
        bField += sys.scatter(randomVector(sys.unknownCount, seed: 6))
        let b = Variable(try Tensor(shape: op.diagonal.shape, scalars: bField))
        // Exact direction: A⁻¹b per sample → loss at rounding level.
        let chol = try CholmodFactorization(matrix: sys.matrix)
        let cells = domain.cellCount
        let exact = try (0..<2).flatMap { s in sys.scatter(try chol.solve(sys.gather(Array(bField[(s * cells)..<((s + 1) * cells)])))) }
        let lossExact = try op.directionLoss(Variable(try Tensor(shape: op.diagonal.shape, scalars: exact)), b).value.scalars[0]
        #expect(lossExact < 1e-20)
        // Gradient in q.
        let q = Variable(try Tensor(shape: op.diagonal.shape, scalars: (0..<(2 * cells)).map { Double(($0 * 37) % 11) / 11 - 0.4 }),
                         requiresGradient: true)
        let loss = try op.directionLoss(q, b)
        try loss.backward()
        let g = try #require(q.grad)
        for k in [3, cells + 17, 2 * cells - 5] {
            func at(_ d: Double) throws -> Double {
                var s = q.value.scalars
                s[k] += d
                return try op.directionLoss(Variable(try Tensor(shape: q.value.shape, scalars: s)), b).value.scalars[0]
            }
            let numeric = (try at(1e-6) - at(-1e-6)) / 2e-6
            #expect(abs(numeric - g.scalars[k]) <= 1e-7 + 1e-5 * abs(numeric), "q[\(k)]: \(g.scalars[k]) vs \(numeric)")
        }
        // Network parameters, through the loss.
        var gen = SeededGenerator(seed: 7)
        let net = try DCDMNetwork<Double>(DCDMConfiguration(channels: 3, fineBlocks: 1, coarseBlocks: 1, decoderBlocks: 1), generator: &gen)
        let input = Variable(try Tensor.concatenate([b.value, op.mask], axis: 1))
        try expectParameterGradients(net) { try op.directionLoss(try net(input), b) }
        // With the operator channel (r and D r into the stem), through the unrolled loss that
        // builds the three-channel input itself; still positively homogeneous in r.
        let netD = try DCDMNetwork<Double>(DCDMConfiguration(channels: 3, fineBlocks: 1, coarseBlocks: 1, decoderBlocks: 1, operatorChannel: true),
                                           generator: &gen)
        try expectParameterGradients(netD) { try op.unrolledLoss(steps: 2, b: b, operatorChannel: true) { try netD($0) } }
        let scaledDiagonal = op.diagonal * 0.25
        let inputD = try Tensor.concatenate([b.value, op.mask, scaledDiagonal], axis: 1)
        let inputD3 = try Tensor.concatenate([b.value * 3, op.mask, scaledDiagonal], axis: 1)
        let y1 = try netD(Variable(inputD)).value.scalars, y3 = try netD(Variable(inputD3)).value.scalars
        #expect(zip(y1, y3).allSatisfy { abs(3 * $0 - $1) <= 1e-12 * (1 + abs($1)) })
        #expect(throws: LearningError.self) { try netD(input) }
        // The direction model fills the third channel with the diagonal / (2·dimension).
        var gf = SeededGenerator(seed: 8)
        let netF = try DCDMNetwork<Float>(DCDMConfiguration(channels: 2, fineBlocks: 0, coarseBlocks: 1, decoderBlocks: 0, operatorChannel: true), generator: &gf)
        let modelInput = try DCDMDirectionModel(network: netF, system: sys).networkInput(for: randomVector(sys.unknownCount, seed: 9))
        #expect(modelInput.shape == [1, 3, 8, 8])
        let dg = sys.matrix.diagonal()
        for (u, c) in sys.cellOfUnknown.enumerated() { #expect(abs(Double(modelInput.scalars[2 * cells + c]) - dg[u] / 4) < 1e-6) }
    }

    /// One unrolled step is the paper's loss; two steps have exact gradients; an identity
    /// "network" unrolled over n steps is CG, which solves a small system exactly.
    @Test func unrolledLoss() throws {
        let domain = try CellDomain.randomObstacles(counts: [8, 8], boxes: 1, balls: 1, seed: 16)
        let sys = try PressurePoissonSystem(domain)
        let op = try MaskedPoissonOperator<Double>(domains: [domain, domain])
        var bField = sys.scatter(randomVector(sys.unknownCount, seed: 17))
        let n0 = VectorKernels.norm(bField)
        bField = bField.map { $0 / n0 } + sys.scatter(randomVector(sys.unknownCount, seed: 18)).map { $0 / n0 }
        let b = Variable(try Tensor(shape: op.diagonal.shape, scalars: bField))
        var gen = SeededGenerator(seed: 19)
        let net = try DCDMNetwork<Double>(DCDMConfiguration(channels: 3, fineBlocks: 0, coarseBlocks: 1, decoderBlocks: 1), generator: &gen)
        let scale = Double(sys.unknownCount).squareRoot()
        let scaled = try (0..<2).map { s -> Tensor<Double> in
            let part = try b.value.slice(lower: [s, 0, 0, 0], sizes: [1, 1, 8, 8])
            let norm = part.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return part * (scale / norm)
        }
        let x = Variable(try Tensor.concatenate([try Tensor.concatenate(scaled, axis: 0), op.mask], axis: 1))
        let one = try op.unrolledLoss(steps: 1, b: b) { try net($0) }.value.scalars[0]
        let paper = try op.directionLoss(try net(x), b).value.scalars[0]
        #expect(abs(one - paper) < 1e-12 * max(1, paper))
        try expectParameterGradients(net) { try op.unrolledLoss(steps: 2, b: b) { try net($0) } }
        // The identity as direction model: CG; with all directions kept it ends at rounding level.
        let identity = try op.unrolledLoss(steps: sys.unknownCount, directions: sys.unknownCount, b: b) { v in try v.slice(axis: 1, 0..<1) * Variable(op.mask) }
        #expect(identity.value.scalars[0] < 1e-20, "\(identity.value.scalars[0])")
        #expect(throws: LearningError.self) { try op.unrolledLoss(steps: 0, b: b) { $0 } }
    }

    /// The multilevel extension: its levels follow the grid, its parameters (with the shared
    /// level gain) pass a finite-difference check through the loss, it is positively
    /// homogeneous and zero off the fluid, takes odd sides, and saves and loads.
    @Test func multilevelNetwork() throws {
        let c = DCDMConfiguration(channels: 3, fineBlocks: 1, coarseBlocks: 1, decoderBlocks: 1, multilevel: true, coarsestSide: 2)
        #expect(c.levelSides(for: [16, 8]) == [[16, 8], [8, 4], [4, 2]])
        #expect(c.levelSides(for: [12, 6]) == [[12, 6], [6, 3]])
        #expect(c.levelSides(for: [5, 8]) == [[5, 8]])
        #expect(DCDMConfiguration().levelSides(for: [16, 8]) == [[16, 8], [8, 4]])
        let domain = try CellDomain.randomObstacles(counts: [8, 8], boxes: 1, balls: 1, seed: 4)
        let sys = try PressurePoissonSystem(domain)
        let op = try MaskedPoissonOperator<Double>(domains: [domain, domain])
        let bField = sys.scatter(randomVector(sys.unknownCount, seed: 5)) + sys.scatter(randomVector(sys.unknownCount, seed: 6))
        let b = Variable(try Tensor(shape: op.diagonal.shape, scalars: bField))
        var gen = SeededGenerator(seed: 21)
        let net = try DCDMNetwork<Double>(c, generator: &gen)
        let gain = try #require(net.levelGain)
        #expect(gain.value.shape == [1, 3, 1, 1] && gain.value.scalars.allSatisfy { $0 == 4 })
        #expect(net.namedParameters(Double.self).contains { $0.name == "levelGain" })
        // Perturb the gain so its gradient is checked away from the initial value too.
        gain.value = gain.value * 0.7
        let input = Variable(try Tensor.concatenate([b.value, op.mask], axis: 1))
        try expectParameterGradients(net) { try op.directionLoss(try net(input), b) }
        let y1 = try net(input).value.scalars
        let y3 = try net(Variable(try Tensor.concatenate([b.value * 3, op.mask], axis: 1))).value.scalars
        #expect(zip(y1, y3).allSatisfy { abs(3 * $0 - $1) <= 1e-12 * (1 + abs($1)) })
        for (v, m) in zip(y1, op.mask.scalars + op.mask.scalars) where m == 0 { #expect(v == 0) }
        #expect(y1.contains { $0 != 0 })
        // Odd sides: the network stops pooling there; the direction model accepts them.
        var gf = SeededGenerator(seed: 22)
        let netF = try DCDMNetwork<Float>(DCDMConfiguration(channels: 2, fineBlocks: 1, coarseBlocks: 1, decoderBlocks: 1, multilevel: true), generator: &gf)
        let odd = try PressurePoissonSystem(try CellDomain.smokePlume(counts: [20, 14]))
        let model = try DCDMDirectionModel(network: netF, system: odd)
        var q = [Double](repeating: 0, count: odd.unknownCount)
        try model.direction(for: randomVector(odd.unknownCount, seed: 23), into: &q)
        #expect(q.allSatisfy(\.isFinite) && q.contains { $0 != 0 })
        let dir = makeTemporaryFolder()
        try netF.save(to: dir + "/network.safetensors")
        let loaded = try DCDMNetwork<Float>.load(from: dir + "/network.safetensors")
        #expect(loaded.configuration == netF.configuration)
        var q2 = q
        try DCDMDirectionModel(network: loaded, system: odd).direction(for: randomVector(odd.unknownCount, seed: 23), into: &q2)
        #expect(q2 == q)
        #expect(throws: LearningError.self) { try DCDMNetwork<Float>(DCDMConfiguration(multilevel: true, coarsestSide: 0), generator: &gf) }
    }

    @Test func networkShapesMaskingAndBadInputs() throws {
        var g = SeededGenerator(seed: 8)
        let net2 = try DCDMNetwork<Float>(generator: &g)
        let parameterCount = net2.parameters(Float.self).reduce(0) { $0 + $1.value.count }
        let expectedCount: Int = 16 * 9 + 13 * 16 * 16 * 9 + 16   // no biases by default
        #expect(parameterCount == expectedCount)
        let domain = try CellDomain.smokePlume(counts: [16, 12])
        let op = try MaskedPoissonOperator<Float>(domains: [domain])
        let x = Variable(try Tensor.concatenate([Tensor<Float>.randomNormal(shape: op.mask.shape, generator: &g), op.mask], axis: 1))
        let y = try net2(x)
        #expect(y.value.shape == [1, 1, 12, 16])
        for (v, m) in zip(y.value.scalars, op.mask.scalars) where m == 0 { #expect(v == 0) }
        let net3 = try DCDMNetwork<Float>(DCDMConfiguration(dimension: 3, channels: 4), generator: &g)
        #expect(try net3(Variable(Tensor<Float>(zeros: [1, 2, 4, 6, 8]))).value.shape == [1, 1, 4, 6, 8])
        #expect(throws: LearningError.self) { try net2(Variable(Tensor<Float>(zeros: [1, 1, 8, 8]))) }
        #expect(throws: LearningError.self) { try net2(Variable(Tensor<Float>(zeros: [1, 2, 7, 8]))) }
        #expect(throws: LearningError.self) { try DCDMNetwork<Float>(DCDMConfiguration(dimension: 4), generator: &g) }
        #expect(throws: LearningError.self) { try DCDMNetwork<Float>(DCDMConfiguration(channels: 0), generator: &g) }
        #expect(throws: LearningError.self) {
            try DCDMDirectionModel(network: net2, system: try PressurePoissonSystem(CellDomain(counts: [7, 8], open: [3])))
        }
    }

    /// `dcdm-net` in the solver registry gives the same iterations as the model used
    /// directly; missing parameters or cell systems are typed errors.
    @Test func registeredNetworkModel() throws {
        var g = SeededGenerator(seed: 14)
        let net = try DCDMNetwork<Float>(DCDMConfiguration(channels: 4, fineBlocks: 0, coarseBlocks: 1, decoderBlocks: 1), generator: &g)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpde-dcdm-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try net.save(to: dir + "/network.safetensors")
        let loaded = try DCDMNetwork<Float>.load(from: dir + "/network.safetensors")
        #expect(loaded.configuration == net.configuration)
        let sys = try PressurePoissonSystem(try CellDomain.smokePlume(counts: [16, 16]))
        let b = randomVector(sys.unknownCount, seed: 15)
        let options = IterativeOptions(relativeTolerance: 1e-6, maxIterations: 30)
        DCDMDirectionModel.registerInSolverRegistry()
        DCDMDirectionModel.registerInSolverRegistry()
        let solver = try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "dcdm-net", options: options,
                                      parameters: ["network": dir + "/network.safetensors", "directions": "2"], cells: sys)
        #expect(solver.preconditionerName == "dcdm-net")
        let viaRegistry = try solver.solve(b).report
        var x = [Double](repeating: 0, count: sys.unknownCount)
        let direct = try DeepConjugateDirection(options).solve(sys.matrix, b, x: &x, model: try DCDMDirectionModel(network: loaded, system: sys))
        #expect(viaRegistry.iterations == direct.iterations && viaRegistry.residualHistory == direct.residualHistory)
        #expect(throws: PDEError.self) { try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "dcdm-net", cells: sys) }
        #expect(throws: PDEError.self) {
            try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "dcdm-net", parameters: ["network": dir + "/network.safetensors"])
        }
        #expect(throws: (any Error).self) {
            try LinearSolver(matrix: sys.matrix, method: "dcdm", preconditioner: "dcdm-net", parameters: ["network": dir + "/missing.safetensors"], cells: sys)
        }
    }

    /// A small network trained for 300 steps on Ritz-vector right-hand sides of a 32² obstacle
    /// problem halves the loss on held-out right-hand sides of the same kind, and DCDM with it
    /// beats plain CG: with every direction kept for the A-orthogonalization (k ≥ the
    /// iterations, so no direction comes back), it reaches 1e-4 in at most 0.75× CG's
    /// iterations on a held-out Ritz mixture and on white noise (measured: about 0.55×). With
    /// the paper's k = 2 a network trained this briefly stalls (its proposals cycle; see the
    /// issue notes), which is not asserted. Both the paper's network and the multilevel one;
    /// then each is applied on a 64² scene, where the multilevel network needs at most 0.6×
    /// CG's iterations (measured 0.38×; the paper's network 0.81×).
    @Test(arguments: [false, true]) func briefTrainingLowersTheHeldOutLossAndBeatsCG(multilevel: Bool) throws {
        let domain = try CellDomain.randomObstacles(counts: [32, 32], boxes: 3, balls: 2, seed: 9)
        let sys = try PressurePoissonSystem(domain)
        let n = sys.unknownCount
        var start = [Double](repeating: 0, count: n)
        sys.matrix.apply(randomVector(n, seed: 10), into: &start)
        let (values, vectors) = try Lanczos.ritzPairs(try Lanczos.run(sys.matrix, start: start, steps: 160))
        let rhs = try Lanczos.mixedRightHandSides(values: values, vectors: vectors, size: n, count: 72, seed: 11)
        let op = try MaskedPoissonOperator<Float>(domains: Array(repeating: domain, count: 8))
        let scale = Float(Double(n).squareRoot())
        var g = SeededGenerator(seed: 12)
        let net = try DCDMNetwork<Float>(DCDMConfiguration(channels: 8, fineBlocks: 0, coarseBlocks: 1, decoderBlocks: 1, multilevel: multilevel),
                                         generator: &g)
        let adam = try Adam<Float>(net.namedParameters(Float.self), learningRate: 3e-3)
        func batch(_ ids: [Int]) throws -> (x: Variable<Float>, b: Variable<Float>) {
            let b = try Tensor<Float>(shape: op.mask.shape, scalars: ids.flatMap { sys.scatter(rhs[$0]).map { Float($0) } })
            return (Variable(try Tensor.concatenate([b * scale, op.mask], axis: 1)), Variable(b))
        }
        let heldOut = try batch(Array(64..<72))
        func heldOutLoss() throws -> Double {
            Double(try Autodiff.withoutGradient { try op.directionLoss(try net(heldOut.x), heldOut.b) }.value.scalars[0])
        }
        let before = try heldOutLoss()
        for step in 0..<300 {
            let (x, b) = try batch((0..<8).map { (step * 8 + $0) % 64 })
            net.zeroGradients(Float.self)
            let loss = try op.directionLoss(try net(x), b)
            try loss.backward()
            try adam.step()
        }
        let after = try heldOutLoss()
        #expect(after < 0.5 * before, "held-out loss \(before) → \(after)")
        let model = try DCDMDirectionModel(network: net, system: sys)
        let options = IterativeOptions(relativeTolerance: 1e-4, maxIterations: 400)
        for (name, b) in [("held-out Ritz mixture", rhs[64]), ("white noise", randomVector(n, seed: 20))] {
            var x = [Double](repeating: 0, count: n)
            let cg = try ConjugateGradient(options).solve(sys.matrix, b, x: &x, preconditioner: nil)
            var y = [Double](repeating: 0, count: n)
            let dcdm = try DeepConjugateDirection(options, directions: options.maxIterations).solve(sys.matrix, b, x: &y, model: model)
            #expect(cg.reason.converged && dcdm.reason.converged, "\(name): CG \(cg.reason), DCDM \(dcdm.reason)")
            #expect(Double(dcdm.iterations) <= 0.75 * Double(cg.iterations), "\(name): DCDM \(dcdm.iterations), CG \(cg.iterations) iterations")
            #expect(dcdm.trueRelativeResidual <= 1e-4)
        }
        // Applied to a grid four times larger than the one it was trained on.
        let big = try PressurePoissonSystem(try CellDomain.randomObstacles(counts: [64, 64], boxes: 3, balls: 2, seed: 13))
        var x = [Double](repeating: 0, count: big.unknownCount)
        let b = randomVector(big.unknownCount, seed: 21)
        let cg = try ConjugateGradient(IterativeOptions(relativeTolerance: 1e-4, maxIterations: 1000)).solve(big.matrix, b, x: &x, preconditioner: nil)
        var y = [Double](repeating: 0, count: big.unknownCount)
        let dcdm = try DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-4, maxIterations: 400), directions: 400)
            .solve(big.matrix, b, x: &y, model: try DCDMDirectionModel(network: net, system: big))
        #expect(cg.reason.converged && dcdm.reason.converged, "64²: CG \(cg.reason), DCDM \(dcdm.reason)")
        // The multilevel network's depth follows the grid: 103 against CG's 268 when this was
        // written (the paper's one pooling level: 218).
        if multilevel { #expect(Double(dcdm.iterations) <= 0.6 * Double(cg.iterations), "64²: DCDM \(dcdm.iterations), CG \(cg.iterations) iterations") }
    }

    /// The PyTorch rebuild of `pde-bench dcdm --inference` (benchmarks/peers/dcdm_peer.py)
    /// loads a saved network and predicts what ours predicts, 2-D and 3-D, one and several
    /// pooling levels, when torch is
    /// installed (skipped otherwise).
    @Test(.enabled(if: Python.has("torch"), "needs PyTorch in python3 (torch is not installed by make test)"))
    func pytorchRebuildPredictsTheSame() throws {
        let dir = makeTemporaryFolder()
        for (d, domain, withDiagonal, multilevel) in [(2, try CellDomain.smokePlume(counts: [16, 12]), false, false),
                                                      (3, try CellDomain.smokePlume(counts: [8, 8, 6]), false, false),
                                                      (2, try CellDomain.pool(counts: [12, 16], level: 0.6, boxes: 1, seed: 3), true, false),
                                                      (2, try CellDomain.smokePlume(counts: [16, 12]), false, true),
                                                      (3, try CellDomain.smokePlume(counts: [8, 8, 8]), false, true)] {
            var g = SeededGenerator(seed: UInt64(d))
            let net = try DCDMNetwork<Float>(DCDMConfiguration(dimension: d, channels: 6, fineBlocks: 1, coarseBlocks: 1, decoderBlocks: 1,
                                                               operatorChannel: withDiagonal, multilevel: multilevel, coarsestSide: 2), generator: &g)
            // A gain off its initial value, so the rebuild must read it from the file.
            if let gain = net.levelGain { gain.value = gain.value * 0.6 }
            let tag = (withDiagonal ? "2d-diagonal" : "\(d)d") + (multilevel ? "-multilevel" : "")
            try net.save(to: dir + "/net\(tag).safetensors")
            let sys = try PressurePoissonSystem(domain)
            let input = try DCDMDirectionModel(network: net, system: sys).networkInput(for: randomVector(sys.unknownCount, seed: 7))
            try NPY.write(input.scalars, shape: input.shape, to: dir + "/in\(tag).npy")
            let ours = try Autodiff.withoutGradient { try net(Variable(input)) }.value.scalars
            let r = Python.run(arguments: ["benchmarks/peers/dcdm_peer.py", "--network", dir + "/net\(tag).safetensors",
                                           "--inputs", dir + "/in\(tag).npy", "--reps", "1", "--threads", "1"])
            try #require(r.status == 0 && r.output.contains("\"seconds\""), "\(r.output)")
            let theirs = try NPY.read(dir + "/in\(tag).torch.npy").doubles
            try #require(theirs.count == ours.count)
            let scale = ours.reduce(0) { max($0, abs(Double($1))) }
            let diff = zip(ours, theirs).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
            #expect(scale > 0 && diff <= 1e-5 * scale, "\(d)-D, diagonal \(withDiagonal), multilevel \(multilevel): max difference \(diff), scale \(scale)")
        }
    }
}
