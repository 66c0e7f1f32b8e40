import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

/// A small SFNO: 16² frames, 6 in → 12 out.
func smallSFNO<T: TensorScalar>(_: T.Type, seed: UInt64) throws -> SFNO<T> {
    var g = SeededGenerator(seed: seed)
    return try SFNO<T>(SFNOConfiguration(modes: [4, 4, 3], width: 4, layers: 2, inputSteps: 6, latentSteps: 6, outputSteps: 12, feedForwardWidth: 8),
                       generator: &g)
}

/// Navier–Stokes frames of the suite's solver at n² from t = 0.05, every 0.05: [1, count, n, n].
func navierStokesFrames(n: Int, count: Int, seed: UInt64) throws -> Tensor<Double> {
    let solver = try NavierStokes2D.fno(pointsPerAxis: n, viscosity: 1e-3, timeStep: 1e-3, scheme: .crankNicolsonHeun)
    var g = SeededGenerator(seed: seed)
    let w0 = try PeriodicGaussianRandomField.navierStokesVorticity(pointsPerAxis: n).sample(using: &g)
    let frames = try solver.evolve(w0, to: (1...count).map { Double($0) * 0.05 })
    return try Tensor(shape: [1, count, n, n], scalars: frames.flatMap { $0 })
}

@Suite struct SFNOTests {
    @Test func framesInFramesOutAtAnyResolution() throws {
        let model = try smallSFNO(Float.self, seed: 1)
        var g = SeededGenerator(seed: 2)
        for n in [16, 24] {
            let x = Tensor<Float>.randomNormal(shape: [2, 6, n, n], generator: &g)
            let y = try model(Variable(x)).value
            #expect(y.shape == [2, 12, n, n])
        }
        #expect(throws: LearningError.self) { try model(Variable(Tensor<Float>(zeros: [1, 5, 16, 16]))) }   // 5 frames, not 6
        #expect(throws: LearningError.self) { try model(Variable(Tensor<Float>(zeros: [1, 6, 6, 6]))) }     // too coarse for 4 modes
        var bad = SFNOConfiguration(modes: [4, 4, 9], inputSteps: 6)
        #expect(throws: LearningError.self) { try bad.validate() }
        bad = SFNOConfiguration(modes: [4, 4], inputSteps: 6)
        #expect(throws: LearningError.self) { try bad.validate() }
    }

    @Test func theOutputIsTheLastInputFramePlusTheOutputLayer() throws {
        // With the output layer's weights zero, every predicted frame is the last input frame.
        let model = try smallSFNO(Double.self, seed: 3)
        model.output.weight.value = Tensor(zeros: model.output.weight.value.shape)
        var g = SeededGenerator(seed: 4)
        let x = Tensor<Double>.randomNormal(shape: [1, 6, 16, 16], generator: &g)
        let y = try model(Variable(x)).value
        let last = Array(x.scalars[(5 * 256)..<(6 * 256)])
        for f in 0..<12 { #expect(Array(y.scalars[(f * 256)..<((f + 1) * 256)]) == last) }
    }

    @Test func parameterGradientsMatchFiniteDifferences() throws {
        let model = try smallSFNO(Double.self, seed: 5)
        var g = SeededGenerator(seed: 6)
        let x = Variable(Tensor<Double>.randomNormal(shape: [2, 6, 16, 16], generator: &g))
        let target = Variable(Tensor<Double>.randomNormal(shape: [2, 12, 16, 16], generator: &g))
        try expectParameterGradients(model, names: ["lifting.weight", "liftSpectral.weight", "spectral.0.weight", "skips.0.bias",
                                                    "reduction.weight", "output.weight", "outputBias", "feedForward.0.1.weight"]) {
            try OperatorLoss.relativeLp(try model(x), target)
        }
    }

    @Test func theRefinableCopyComputesTheSameUntilTuned() throws {
        let model = try smallSFNO(Float.self, seed: 7)
        let copy = try model.refinable(outputModes: [8, 8, 4])
        #expect(copy.output.weight.shape == [1, 1, 16, 16, 4, 2] && copy.configuration.outputModes == [8, 8, 4])
        var g = SeededGenerator(seed: 8)
        let x = Variable(Tensor<Float>.randomNormal(shape: [1, 6, 16, 16], generator: &g))
        let a = try model(x).value, b = try copy(x).value
        #expect(relativeDifference(b.scalars, a.scalars) < 1e-6)
        // The copy is independent: tuning it leaves the model alone.
        copy.output.weight.value = Tensor(zeros: copy.output.weight.shape)
        #expect(try model(x).value.scalars == a.scalars)
        #expect(throws: LearningError.self) { try model.refinable(outputModes: [2, 8, 4]) }
    }

    @Test func spectralRefinementLowersTheResidualWithoutLabels() throws {
        // An untrained SFNO's prediction for frames of a Navier–Stokes trajectory: the refiner
        // lowers the H⁻¹ residual of the prediction by tuning the output layer alone.
        let frames = try navierStokesFrames(n: 16, count: 6, seed: 9)
        let input = try Tensor<Float>(shape: frames.shape, scalars: frames.scalars.map { Float($0) })
        let model = try smallSFNO(Float.self, seed: 10)
        let residual = try NavierStokesResidual(points: 16, viscosity: 1e-3, timeStep: 0.05, forcing: NavierStokesResidual.fnoForcing(points: 16))
        let refiner = try SpectralRefiner(residual: residual, outputModes: [8, 8, 4], iterations: 100, learningRate: 5e-2)
        let weightsBefore = model.namedVariables(Float.self).map(\.variable.value)
        let outcome = try refiner.refine(model, input: input)
        #expect(outcome.prediction.shape == [1, 12, 16, 16])
        #expect(outcome.residualAfter < 0.5 * outcome.residualBefore, "\(outcome.residualBefore) → \(outcome.residualAfter)")
        #expect(model.namedVariables(Float.self).map(\.variable.value) == weightsBefore)
        #expect(throws: LearningError.self) { try SpectralRefiner(residual: residual, outputModes: [8, 8, 4], iterations: 0) }
    }

    @Test func trajectoryWindowsCutTheFramesInOrder() throws {
        let dir = makeTemporaryFolder()
        let family = try NavierStokesFamily(points: 16, storedPoints: 8, viscosity: 1e-3, timeStep: 1e-3, finalTime: 0.6, interval: 0.05, recordFrom: 0.1)
        #expect(family.times.count == 10 && abs(family.times[0] - 0.15) < 1e-12)
        _ = try DatasetGeneration.run(family, to: dir + "/ns.h5", options: DatasetGenerationOptions(samples: 3, seed: 1, workers: 1))
        let set = try OperatorDataset(path: dir + "/ns.h5", input: "w", output: "w", samples: 1..<3)
        let windows = try OperatorSamples(trajectories: set, inputSteps: 3, outputSteps: 4, starts: [0, 2])
        #expect(windows.inputs.shape == [4, 3, 8, 8] && windows.outputs.shape == [4, 4, 8, 8])
        let all = try set.batch([1]).input.scalars                      // trajectory 2 of the file, [10, 8, 8]
        let second = try windows.batch([3])                              // its window starting at frame 2
        #expect(second.input.scalars == Array(all[(2 * 64)..<(5 * 64)]))
        #expect(second.output.scalars == Array(all[(5 * 64)..<(9 * 64)]))
        #expect(throws: LearningError.self) { try OperatorSamples(trajectories: set, inputSteps: 3, outputSteps: 4, starts: [4]) }
    }
}
