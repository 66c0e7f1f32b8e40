import Foundation
import PDE

/// The Darcy inverse problem of the benchmarks and `pde-invert`: the log-conductivity (or the
/// source) of −∇·(e^m ∇u) = f on the unit square recovered from noisy point observations of
/// u by L-BFGS with adjoint-state gradients. The synthetic truth is `DarcySynthetic`'s two
/// inclusions (conductivity) or a smooth bump (source); observations on a regular lattice
/// (perfect squares) or at seeded random points.
public struct DarcyExperiment: Sendable {
    /// What is recovered.
    public enum Unknown: String, Sendable, CaseIterable {
        /// m = log a per cell, f = 1 known.
        case conductivity
        /// f per node, m = 0 known.
        case source
    }

    /// Interior nodes per axis (the state); m lives on (n+1)² cells.
    public var nodesPerAxis = 64
    /// Number of observation points.
    public var observations = 100
    /// Lattice (observations a perfect square) or random points.
    public var lattice = true
    /// Noise σ relative to max|u|.
    public var noiseLevel = 0.01
    /// Seed of the noise (and of random points).
    public var seed: UInt64 = 3
    /// What is recovered.
    public var unknown = Unknown.conductivity
    /// The regularization.
    public var regularization = DarcyRegularization.tikhonov(beta: 10, alpha: 0.01)

    /// The defaults: n = 64, 100 lattice points, 1% noise, H¹ Tikhonov β = 10, α = 0.01.
    public init() {}

    /// The unknown's grid shape ([n+1, n+1] cells or [n, n] nodes).
    public var shape: [Int] { unknown == .conductivity ? [nodesPerAxis + 1, nodesPerAxis + 1] : [nodesPerAxis, nodesPerAxis] }

    /// Builds the problem, the truth and the data; runs L-BFGS from 0. Returns the estimate, the
    /// truth and the report (relative error in the notes).
    public func run(optimizer: LBFGS) throws -> (reconstruction: Reconstruction, truth: [Double]) {
        guard nodesPerAxis >= 4 else { throw PDEError.invalidValue(key: "nodes", value: "\(nodesPerAxis)", expected: "≥ 4") }
        guard observations >= 1 else { throw PDEError.invalidValue(key: "observations", value: "\(observations)", expected: "≥ 1") }
        let points: [SIMD2<Double>]
        if lattice {
            let k = Int(Double(observations).squareRoot().rounded())
            guard k * k == observations else {
                throw PDEError.invalidValue(key: "observations", value: "\(observations)", expected: "a perfect square for lattice points (or lattice: false)")
            }
            points = try DarcySynthetic.latticePoints(perAxis: k)
        } else {
            points = try DarcySynthetic.randomPoints(count: observations, seed: seed)
        }
        switch unknown {
        case .conductivity:
            let problem = try DarcyForwardProblem(nodesPerAxis: nodesPerAxis, source: { _, _ in 1 }, points: points)
            let truth = problem.cellValues(DarcySynthetic.logConductivity)
            let (noisy, _, sigma) = try DarcySynthetic.observations(problem, logConductivity: truth, noiseLevel: noiseLevel, seed: seed)
            let inversion = try DarcyInversion(problem: problem, observations: noisy, noiseStandardDeviation: sigma, regularization: regularization)
            return (try inversion.reconstruct(optimizer: optimizer), truth)
        case .source:
            let problem = try DarcyForwardProblem(nodesPerAxis: nodesPerAxis, source: { _, _ in 0 }, points: points)
            let truth = problem.nodeValues { x, y in 10 * exp(-((x - 0.4) * (x - 0.4) + (y - 0.6) * (y - 0.6)) / 0.02) }
            let m = [Double](repeating: 0, count: problem.parameterCount)
            let (noisy, _, sigma) = try DarcySynthetic.observations(problem, logConductivity: m, source: truth, noiseLevel: noiseLevel, seed: seed)
            let inversion = try DarcySourceInversion(problem: problem, logConductivity: m, observations: noisy,
                                                     noiseStandardDeviation: sigma, regularization: regularization)
            return (try inversion.reconstruct(optimizer: optimizer), truth)
        }
    }
}
