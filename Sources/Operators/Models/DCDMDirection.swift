import Foundation
import Learning
import PDE

/// A `DCDMNetwork` as the deep conjugate direction method's direction model on one
/// `PressurePoissonSystem`: the residual (on the fluid unknowns) is placed on the cell grid,
/// scaled to unit RMS over the fluid cells (so one network serves every grid size: the
/// paper's unit-norm input shrinks per cell as the grid grows), evaluated in Float next to
/// the fluid mask, and read back on the fluid cells in Double. Also a `Preconditioner`, so
/// it plugs into `LinearSolver` and the registry's `dcdm` method.
public final class DCDMDirectionModel: DirectionModel, Preconditioner {
    public let name = "dcdm-net"
    public let network: DCDMNetwork<Float>
    public let system: PressurePoissonSystem
    /// The input channels after the residual, fixed by the system: the fluid mask, and the
    /// scaled diagonal for networks with `operatorChannel`.
    private let constantChannels: [Float]
    private let shape: [Int]
    /// Seconds spent in the network (for the time split of `pde-bench dcdm`).
    public private(set) var networkSeconds = 0.0
    /// Network evaluations so far.
    public private(set) var evaluations = 0

    /// The model for `system`. Throws when the network's dimension is not the domain's, or a
    /// side is odd (one pooling level; a multilevel network takes any side).
    public init(network: DCDMNetwork<Float>, system: PressurePoissonSystem) throws {
        let counts = system.domain.counts
        guard counts.count == network.configuration.dimension, network.configuration.multilevel || counts.allSatisfy({ $0 % 2 == 0 }) else {
            throw LearningError.invalidArgument(name: "DCDM domain", value: "\(counts) for a \(network.configuration.dimension)-D network",
                                                expected: "a domain of the network's dimension" + (network.configuration.multilevel ? "" : " with even sides"))
        }
        self.network = network
        self.system = system
        var channels: [Float] = system.domain.cells.map { $0 == .fluid ? 1 : 0 }
        if network.configuration.operatorChannel {
            var diagonal = [Float](repeating: 0, count: system.domain.cellCount)
            let dg = system.matrix.diagonal(), scale = DCDMConfiguration.diagonalScale(dimension: counts.count)
            for (u, c) in system.cellOfUnknown.enumerated() { diagonal[c] = Float(dg[u] * scale) }
            channels += diagonal
        }
        constantChannels = channels
        shape = [1, network.configuration.inputChannels] + counts.reversed()
    }

    /// q ← network(r scaled to unit RMS on the fluid cells, mask), read on the fluid
    /// unknowns. Throws for vectors of another length and the network's errors.
    public func direction(for residual: [Double], into q: inout [Double]) throws {
        let n = system.unknownCount
        guard residual.count == n, q.count == n else {
            throw LearningError.shapeMismatch(operation: "DCDM direction", expected: "\(n) unknowns", got: "r \(residual.count), q \(q.count)")
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            networkSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            evaluations += 1
        }
        let x = Variable(try networkInput(for: residual))
        let y = try Autodiff.withoutGradient { try network(x) }
        let out = y.value.scalars
        for (u, c) in system.cellOfUnknown.enumerated() { q[u] = Double(out[c]) }
    }

    /// The network's input for `residual` (on the fluid unknowns): [1, 2, n…] with the
    /// residual scaled to unit RMS over the fluid cells in channel 0 and the fluid mask in
    /// channel 1 (and the diagonal / (2·dimension) in channel 2 for a network with
    /// `operatorChannel`). Throws for a vector of another length.
    public func networkInput(for residual: [Double]) throws -> Tensor<Float> {
        let n = system.unknownCount
        guard residual.count == n else {
            throw LearningError.shapeMismatch(operation: "DCDM network input", expected: "\(n) unknowns", got: "\(residual.count)")
        }
        let norm = VectorKernels.dot(residual, residual)
        let scale = norm > 0 ? (Double(n) / norm).squareRoot() : 1
        var input = [Float](repeating: 0, count: system.domain.cellCount)
        for (u, c) in system.cellOfUnknown.enumerated() { input[c] = Float(residual[u] * scale) }
        return try Tensor(shape: shape, scalars: input + constantChannels)
    }

    /// Preconditioner form: z = model(r); returns r·z.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try direction(for: r, into: &z)
        return VectorKernels.dot(r, z)
    }

    /// The network does not depend on the matrix values; a new matrix needs a new model
    /// (its geometry is the system's). Throws for another size.
    public func update(_ matrix: CSRMatrix) throws {
        guard matrix.rows == system.unknownCount else {
            throw PDEError.shapeMismatch(what: "dcdm-net update", expected: "\(system.unknownCount) unknowns", got: "\(matrix.rows)")
        }
    }
}

extension DCDMDirectionModel {
    /// The registry entry `dcdm-net`: a trained network (parameter `network`, the path of
    /// `pde-train dcdm`'s network.safetensors) on the solver context's cell system; used as
    /// the direction model of the method `dcdm`.
    public static let registryEntry = SolverRegistry.PreconditionerEntry(
        name: "dcdm-net", summary: "trained DCDM network as direction model (with method dcdm; needs the cell system of a pressure Poisson problem)",
        parameters: [("network", "path of a network.safetensors written by pde-train dcdm")]) { c in
            guard let path = c.parameters["network"] else {
                throw PDEError.invalidValue(key: "options.network", value: "missing", expected: "the path of a trained network (pde-train dcdm's network.safetensors) for dcdm-net")
            }
            guard let system = c.cells else {
                throw PDEError.invalidValue(key: "preconditioner", value: "dcdm-net without a cell system",
                                            expected: "a pressure Poisson system (its cell grid and mask) for the network")
            }
            guard system.unknownCount == c.matrix.rows else {
                throw PDEError.shapeMismatch(what: "dcdm-net", expected: "a cell system of \(c.matrix.rows) unknowns", got: "\(system.unknownCount)")
            }
            return try DCDMDirectionModel(network: DCDMNetwork<Float>.load(from: path), system: system)
        }

    /// Adds `dcdm-net` to the solver registry (once per process; later calls do nothing).
    public static func registerInSolverRegistry() {
        registration
    }

    private static let registration: Void = { try? SolverRegistry.register(registryEntry) }()
}
