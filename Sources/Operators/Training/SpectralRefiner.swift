import Foundation
import Learning

extension OperatorSamples {
    /// Windows of trajectories: for every trajectory of `dataset` (its split; samples
    /// `[T, n, n]`, e.g. pde-datagen's Navier–Stokes `w`) and every start s in `starts`, the
    /// frames s ..< s + inputSteps as input and the next `outputSteps` as output: inputs
    /// `[N·S, inputSteps, n, n]`, outputs `[N·S, outputSteps, n, n]`. Throws
    /// `LearningError.invalidArgument` for a window beyond the trajectory's frames.
    public init(trajectories dataset: OperatorDataset, inputSteps: Int, outputSteps: Int, starts: [Int]) throws {
        let shape = dataset.subsampledShape(dataset.fileInputShape)
        guard shape.count == 3, inputSteps >= 1, outputSteps >= 1, !starts.isEmpty,
              let last = starts.max(), starts.allSatisfy({ $0 >= 0 }), last + inputSteps + outputSteps <= shape[0] else {
            throw LearningError.invalidArgument(name: "trajectory windows",
                                                value: "starts \(starts), \(inputSteps) + \(outputSteps) frames of trajectories \(shape)",
                                                expected: "windows within the \(shape.first ?? 0) frames of [T, n, n] trajectories")
        }
        let plane = shape[1] * shape[2]
        var xs: [Float] = [], ys: [Float] = []
        for i in 0..<dataset.count {
            let frames = try dataset.batch([i]).input.scalars
            for s in starts {
                xs += frames[(s * plane)..<((s + inputSteps) * plane)]
                ys += frames[((s + inputSteps) * plane)..<((s + inputSteps + outputSteps) * plane)]
            }
        }
        let count = dataset.count * starts.count
        try self.init(inputs: try Tensor(shape: [count, inputSteps, shape[1], shape[2]], scalars: xs),
                      outputs: try Tensor(shape: [count, outputSteps, shape[1], shape[2]], scalars: ys))
    }
}

/// Spectral-Refiner's fine-tuning (Cao et al.): a trained `SFNO`'s output spectral layer is
/// rebuilt without the frequency truncation (`SFNO.refinable`), every other weight frozen,
/// and that layer alone (weights and per-mode bias) optimized, for each input trajectory, against the H⁻¹ norm of the
/// Navier–Stokes residual of the predicted frames (`NavierStokesResidual`) — no labels.
/// Only the output layer runs in the loop: the latent trajectory is computed once.
public struct SpectralRefiner {
    /// The residual (ν, forcing, frame spacing, α) of the data.
    public let residual: NavierStokesResidual
    /// Modes of the rebuilt output layer (e.g. all of a 64² grid: [32, 32, latentSteps + 1], the
    /// time axis of the output layer being the latent frames padded to twice their count).
    public let outputModes: [Int]
    /// Adam iterations per trajectory and their learning rate.
    public let iterations: Int, learningRate: Double
    /// Input frames put before the prediction when the residual is evaluated (they anchor
    /// the time derivative at the start).
    public let anchorFrames: Int

    /// Throws `LearningError.invalidArgument` for iterations < 1 or a non-positive rate.
    public init(residual: NavierStokesResidual, outputModes: [Int], iterations: Int = 50, learningRate: Double = 1e-3,
                anchorFrames: Int = 4) throws {
        guard iterations >= 1, learningRate > 0, learningRate.isFinite else {
            throw LearningError.invalidArgument(name: "refinement", value: "\(iterations) iterations at rate \(learningRate)",
                                                expected: "at least one iteration and a positive rate")
        }
        self.residual = residual
        self.outputModes = outputModes
        self.iterations = iterations
        self.learningRate = learningRate
        self.anchorFrames = max(0, anchorFrames)
    }

    /// What one refinement did.
    public struct Outcome: Sendable {
        /// The refined prediction `[1, T_out, n, n]`.
        public var prediction: Tensor<Float>
        /// The residual loss before and after.
        public var residualBefore: Double, residualAfter: Double
    }

    /// Refines `model`'s prediction for one input `[1, T_in, n, n]`; `model` is unchanged.
    /// Throws the model's and the residual's errors.
    public func refine(_ model: SFNO<Float>, input: Tensor<Float>) throws -> Outcome {
        let tuned = try model.refinable(outputModes: outputModes)
        let x = Variable(input)
        let latent = try Autodiff.withoutGradient { try tuned.latent(x) }.detached()
        let lastFrame = try x.slice(axis: 1, (input.shape[1] - 1)..<input.shape[1])
        let adam = try Adam([(name: "output.weight", variable: tuned.output.weight), (name: "outputBias", variable: tuned.outputBias)],
                            learningRate: learningRate)
        // The residual of the known input frames followed by the predicted ones: the time
        // differences across the junction tie the prediction to the given past (a trajectory
        // that satisfies the equation from another state would otherwise score as well).
        let known = try x.slice(axis: 1, max(0, input.shape[1] - anchorFrames)..<input.shape[1])
        func loss() throws -> Variable<Float> {
            try residual.loss(try Variable.concatenate([known, try tuned.decode(latent, lastFrame: lastFrame)], axis: 1))
        }
        let before = try Autodiff.withoutGradient { Double(try loss().value.scalars[0]) }
        for _ in 0..<iterations {
            adam.zeroGradients()
            let l = try loss()
            try l.backward()
            try adam.step()
        }
        let (after, prediction) = try Autodiff.withoutGradient { () -> (Double, Tensor<Float>) in
            (Double(try loss().value.scalars[0]), try tuned.decode(latent, lastFrame: lastFrame).value)
        }
        return Outcome(prediction: prediction, residualBefore: before, residualAfter: after)
    }
}
