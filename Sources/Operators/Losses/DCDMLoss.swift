import Foundation
import Learning
import PDE

/// The pressure Poisson matrices of a batch of `CellDomain`s (all of one size) applied to
/// cell fields [B, 1, n…] (C order: x the last axis) inside the autodiff graph, matrix-free:
/// (Aq)_c = diag_c q_c − Σ_axes (link_c q_{c+e} + link_{c−e} q_{c−e}) on fluid cells, 0 on
/// the others, where diag is `PressurePoissonSystem`'s diagonal and link_c = 1 when c and
/// c + e are both fluid. Equal to the assembled matrix on the fluid cells (tested), and
/// differentiable through slices and padding.
public struct MaskedPoissonOperator<T: TensorScalar> {
    /// [B, 1, n…]: the diagonal on fluid cells, 0 elsewhere.
    public let diagonal: Tensor<T>
    /// Per spatial axis of the tensor (2…): 1 where the cell and its successor are fluid.
    public let links: [Tensor<T>]
    /// [B, 1, n…]: 1 on fluid cells.
    public let mask: Tensor<T>

    /// Operators for `domains` (each with its enclosed pockets made solid, as the system
    /// assembles them). Throws for an empty list or domains of different sizes.
    public init(domains: [CellDomain]) throws {
        guard let first = domains.first, domains.allSatisfy({ $0.counts == first.counts }) else {
            throw LearningError.invalidArgument(name: "domains", value: "\(domains.map(\.counts))", expected: "one or more domains of one size")
        }
        let counts = first.counts, d = counts.count
        let cellsPer = first.cellCount
        let shape = [domains.count, 1] + counts.reversed()
        var diag = [T](repeating: 0, count: domains.count * cellsPer), fluid = diag
        var link = [[T]](repeating: diag, count: d)
        for (b, domain) in domains.enumerated() {
            let sys = try PressurePoissonSystem(domain)
            let dom = sys.domain
            let matrixDiagonal = sys.matrix.diagonal()
            for (u, c) in sys.cellOfUnknown.enumerated() {
                fluid[b * cellsPer + c] = 1
                diag[b * cellsPer + c] = T(matrixDiagonal[u])
            }
            var stride = 1
            for axis in 0..<d {
                for c in 0..<cellsPer where dom.cells[c] == .fluid {
                    let i = (c / stride) % counts[axis]
                    if i + 1 < counts[axis], dom.cells[c + stride] == .fluid { link[axis][b * cellsPer + c] = 1 }
                }
                stride *= counts[axis]
            }
        }
        diagonal = try Tensor(shape: shape, scalars: diag)
        mask = try Tensor(shape: shape, scalars: fluid)
        // Cell axis `axis` (x = 0) is tensor axis 1 + d − axis.
        links = try (0..<d).reversed().map { try Tensor(shape: shape, scalars: link[$0]) }
    }

    private init(diagonal: Tensor<T>, links: [Tensor<T>], mask: Tensor<T>) {
        self.diagonal = diagonal
        self.links = links
        self.mask = mask
    }

    /// The operators of `parts` as one batch (their batches concatenated). Throws for an
    /// empty list or parts of different sizes.
    public static func stacking(_ parts: [MaskedPoissonOperator]) throws -> MaskedPoissonOperator {
        guard let first = parts.first, parts.allSatisfy({ Array($0.diagonal.shape.dropFirst()) == Array(first.diagonal.shape.dropFirst()) }) else {
            throw LearningError.invalidArgument(name: "operators", value: "\(parts.count) parts", expected: "one or more operators of one size")
        }
        if parts.count == 1 { return first }
        return MaskedPoissonOperator(diagonal: try Tensor.concatenate(parts.map(\.diagonal), axis: 0),
                                     links: try (0..<first.links.count).map { a in try Tensor.concatenate(parts.map { $0.links[a] }, axis: 0) },
                                     mask: try Tensor.concatenate(parts.map(\.mask), axis: 0))
    }

    /// A q for q [B, 1, n…].
    public func callAsFunction(_ q: Variable<T>) throws -> Variable<T> {
        let s = q.value.shape
        guard s == diagonal.shape else {
            throw LearningError.shapeMismatch(operation: "masked Poisson operator", expected: shapeString(diagonal.shape), got: shapeString(s))
        }
        var y = try q * Variable(diagonal)
        for (t, link) in links.enumerated() {
            let axis = 2 + t, n = s[axis]
            var lower = [Int](repeating: 0, count: s.count), upper = lower
            upper[axis] = 1
            let next = try q.slice(axis: axis, 1..<n).padded(lower: lower, upper: upper)          // q_{c+e}
            let l = Variable(link)
            upper[axis] = 0; lower[axis] = 1
            let previous = try (q * l).slice(axis: axis, 0..<(n - 1)).padded(lower: lower, upper: upper)   // link_{c−e} q_{c−e}
            y = try y - next * l - previous
        }
        return y
    }

    /// The deep conjugate direction method's training loss for directions q [B, 1, n…] and
    /// right-hand sides b [B, 1, n…] (zero off the fluid cells): the batch mean of
    /// ‖b − (qᵀb / qᵀAq) A q‖², the residual left by an exact line search along q.
    public func directionLoss(_ q: Variable<T>, _ b: Variable<T>) throws -> Variable<T> {
        let aq = try self(q)
        let axes = Array(1..<q.value.shape.count)
        let qb = try (q * b).sum(alongAxes: axes, keepingDimensions: true)
        let qaq = try (q * aq).sum(alongAxes: axes, keepingDimensions: true)
        let r = try b - (qb / qaq) * aq
        return try r.square().sum(alongAxes: axes).mean()
    }

    /// DCDM's loss unrolled over `steps` iterations (an extension of the paper's one-step
    /// loss, which is `steps` = 1): from r₀ = b, each step feeds r (scaled to unit RMS on
    /// the fluid cells; the scale is a constant of the graph, and a bias-free network does
    /// not see it) with the mask to `network`, A-orthogonalizes its direction against the
    /// last `directions` ones, takes the exact line search step, and the loss is the batch
    /// mean of ‖r_steps‖². Gradients flow through every step, so the network learns from the
    /// residuals its own directions leave — the ones DCDM meets after its first iteration.
    /// With `operatorChannel` the network's input has a third channel, the diagonal / (2·d)
    /// (`DCDMConfiguration.operatorChannel`).
    public func unrolledLoss(steps: Int, directions: Int = 2, b: Variable<T>, operatorChannel: Bool = false,
                             network: (Variable<T>) throws -> Variable<T>) throws -> Variable<T> {
        guard steps >= 1, directions >= 0 else {
            throw LearningError.invalidArgument(name: "unroll", value: "\(steps) steps, \(directions) directions", expected: "steps ≥ 1, directions ≥ 0")
        }
        let shape = b.value.shape
        guard shape == diagonal.shape else {
            throw LearningError.shapeMismatch(operation: "DCDM unrolled loss", expected: shapeString(diagonal.shape), got: shapeString(shape))
        }
        let axes = Array(1..<shape.count)
        let fluid = try mask.sum(alongAxes: axes, keepingDimensions: true)       // [B, 1, 1(, 1)]
        let maskVariable = Variable(mask)
        let extra = operatorChannel ? [Variable(diagonal * T(DCDMConfiguration.diagonalScale(dimension: shape.count - 2)))] : []
        var r = b
        var kept: [(p: Variable<T>, ap: Variable<T>, pap: Variable<T>)] = []
        for _ in 0..<steps {
            // r · √(fluid cells) / ‖r‖ per sample, the factor held constant.
            let norms = try (r.value * r.value).sum(alongAxes: axes, keepingDimensions: true)
            let factor = try Tensor(shape: norms.shape, scalars: zip(norms.scalars, fluid.scalars).map { n, f in
                n > 0 ? T((Double(f) / Double(n)).squareRoot()) : 1
            })
            var q = try network(try Variable.concatenate([try r * Variable(factor), maskVariable] + extra, axis: 1))
            var aq = try self(q)
            for (p, ap, pap) in kept {
                let c = try (q * ap).sum(alongAxes: axes, keepingDimensions: true) / pap
                q = try q - c * p
                aq = try aq - c * ap
            }
            let qr = try (q * r).sum(alongAxes: axes, keepingDimensions: true)
            let qaq = try (q * aq).sum(alongAxes: axes, keepingDimensions: true)
            r = try r - (qr / qaq) * aq
            if directions > 0 {
                if kept.count == directions { kept.removeFirst() }
                kept.append((q, aq, qaq))
            }
        }
        return try r.square().sum(alongAxes: axes).mean()
    }
}
