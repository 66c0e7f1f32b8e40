import Foundation
import Learning
import PDE

/// A learned proximal network as a `ProximalOperator` of the `[Double]` algorithms (`ADMM`,
/// `ProximalGradient`, `PDHG`, …): plug-and-play with a prior whose prox is exact.
///
/// `prox(v, step:)` returns f_θ(v) and ignores the step τ (it must still be positive). The
/// network is the exact proximal operator of one function at one scale,
/// f_θ = prox_{R_θ} = argmin_x R_θ(x) + ½‖x − v‖², learned (proximal matching) at one noise
/// level; prox_{τR_θ} for τ ≠ 1 is not available from it. So, as in the paper's PnP-ADMM /
/// PnP-PGD experiments with an LPN trained at one σ, an algorithm asking for prox_{τg} gets
/// prox_{R_θ}, which is prox_{τg} of g = R_θ/τ: at a fixed step (1/ρ in ADMM, t in proximal
/// gradient) the iterations solve min ½‖Ax − y‖² + R_θ(x)/τ, the step acting as the weight
/// of the learned prior (ρ in ADMM). Use a fixed step with this prox (backtracking would
/// change the problem as it goes).
///
/// Images are `[Double]` of `imageShape` = [rows, cols], row-major, converted to the
/// network's input layout as one sample (batch 1): [1, rows·cols] for a fully connected
/// network of dimension rows·cols, [1, 1, rows, cols] for a single-channel convolutional one
/// (a convolutional network with C channels takes `imageShape` [C, rows, cols]). The
/// conversion is a reshape, so the flat array is the network's sample in both cases.
///
/// `value(x)` is w·R_θ(x) (w = `regularizerWeight`, the prior's weight in the algorithm), computed by `LearnedRegularizer` (an L-BFGS inversion of f per call,
/// warm-started from the previous call's inverse), when `evaluatesRegularizer` is on; else
/// nil, which the algorithms read as "a plug-and-play denoiser" (ADMM then names itself
/// pnp-admm and tracks no objective). A failed inversion gives nil and is kept in
/// `lastError`. The instance keeps that state, so use one per algorithm run and thread.
public final class LPNProx<T: TensorScalar>: ProximalOperator {
    /// "lpn" (for reports).
    public var name: String { "lpn" }
    /// R_θ and the network behind it (its inversion settings apply to `value`).
    public let regularizer: LearnedRegularizer<T>
    /// The image shape the algorithms use: [rows, cols] (or [C, rows, cols]).
    public let imageShape: [Int]
    /// Whether `value(_:)` computes R_θ(x) (an inversion per call) instead of returning nil.
    public var evaluatesRegularizer: Bool
    /// The factor w of `value(_:)` = w·R_θ(x): the weight the algorithm's step gives the prior
    /// (ρ in ADMM, 1/t in proximal gradient), so that the recorded objective is the one the
    /// iterations minimize. Default 1.
    public var regularizerWeight = 1.0
    /// The inversion of the last successful `value(_:)` call.
    public private(set) var lastInversion: LearnedRegularizer<T>.Inversion?
    /// The error of the last `value(_:)` call that failed (nil after a success).
    public private(set) var lastError: (any Error)?
    /// Number of `prox` calls so far.
    public private(set) var proxCalls = 0
    /// Number of R_θ evaluations (`value` calls that inverted f) so far.
    public private(set) var regularizerEvaluations = 0

    /// The adapter for a regularizer and an image shape. Throws `PDEError.shapeMismatch` when
    /// the shape does not fit the network: [rows, cols] needs a fully connected network of
    /// dimension rows·cols or a (fully) convolutional one with 1 channel of rows × cols;
    /// [C, rows, cols] a (fully) convolutional one with exactly that layout.
    public init(regularizer: LearnedRegularizer<T>, imageShape: [Int], evaluatesRegularizer: Bool = false) throws {
        let sample = regularizer.sampleShape
        let fits: Bool
        switch regularizer.network.kind {
        case let .fullyConnected(d):
            fits = imageShape.count == 2 && imageShape.allSatisfy { $0 >= 1 } && imageShape[0] * imageShape[1] == d
        case .convolutional, .fullyConvolutional:
            fits = (imageShape.count == 2 && [1] + imageShape == sample) || (imageShape.count == 3 && imageShape == sample)
        }
        guard fits else {
            throw PDEError.shapeMismatch(what: "image shape of the LPN prox", expected: "[rows, cols] fitting the network's sample \(sample)",
                                         got: "\(imageShape)")
        }
        self.regularizer = regularizer
        self.imageShape = imageShape
        self.evaluatesRegularizer = evaluatesRegularizer
    }

    /// The adapter for a network with `LearnedRegularizer`'s default inversion settings (a
    /// fully convolutional network takes the image size from `imageShape`), averaged over
    /// `symmetries` (`LPNSymmetries`: still an exact prox, of the averaged ψ's regularizer),
    /// with denoiser `scaling` (`LPNScaling`: the exact prox of R(c + s(x − c))/s²).
    /// Throws as `init(regularizer:imageShape:evaluatesRegularizer:)` and, for symmetries the
    /// network or image cannot take, as `LearnedRegularizer.init`.
    public convenience init(network: LearnedProximalNetwork<T>, imageShape: [Int], evaluatesRegularizer: Bool = false,
                            symmetries: LPNSymmetries = .none, scaling: LPNScaling = .identity) throws {
        var size: [Int]? = nil
        if case .fullyConvolutional = network.kind { size = Array(imageShape.suffix(2)) }
        try self.init(regularizer: LearnedRegularizer(network: network, imageSize: size, symmetries: symmetries, scaling: scaling),
                      imageShape: imageShape, evaluatesRegularizer: evaluatesRegularizer)
    }

    /// The number of pixels of one image.
    public var count: Int { imageShape.reduce(1, *) }

    /// f_θ(v), the network's prox, whatever τ (> 0): see the type's comment. Throws
    /// `PDEError.invalidValue` for τ not positive and finite, `PDEError.shapeMismatch` for a
    /// wrong length.
    public func prox(_ v: [Double], step tau: Double) throws -> [Double] {
        try InverseCheck.positive(tau, key: "step")
        try InverseCheck.length(v.count, count, "image given to the LPN prox (shape \(imageShape))")
        proxCalls += 1
        return try regularizer.prox(v)
    }

    /// `regularizerWeight`·R_θ(x) when `evaluatesRegularizer` is on (nil when off, for a wrong
    /// length or a failed inversion, whose error `lastError` keeps).
    public func value(_ x: [Double]) -> Double? {
        guard evaluatesRegularizer else { return nil }
        do {
            try InverseCheck.length(x.count, count, "image given to the LPN regularizer (shape \(imageShape))")
            let warm = lastInversion.map(\.y)
            let e = try regularizer.evaluate(x, initial: warm)
            regularizerEvaluations += 1
            lastInversion = e.inversion
            lastError = nil
            return regularizerWeight * e.value
        } catch {
            lastError = error
            return nil
        }
    }
}
