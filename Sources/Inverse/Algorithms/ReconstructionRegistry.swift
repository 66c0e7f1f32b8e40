import Foundation
import PDE

/// The settings a reconstruction method can read (the keys of `pde-invert`'s `algorithm:`
/// section). Each registry entry names the keys it uses; configs giving others are refused.
public struct ReconstructionSettings: Sendable {
    /// Prior / regularizer: tv, tv-anisotropic, l1, l2, nonnegative, lpn (method-dependent).
    public var prior: String?
    /// The learned proximal network file of prior lpn (`pde-train lpn`'s model.safetensors).
    public var model: String?
    /// Whether prior lpn evaluates the learned regularizer R_θ at every iterate (the objective
    /// in the history; one inversion of the network per iteration).
    public var evaluateRegularizer: Bool?
    /// Regularization weight λ.
    public var lambda: Double?
    /// ADMM penalty ρ.
    public var rho: Double?
    /// ADMM relaxation α ∈ (0, 2) (1: plain ADMM).
    public var relaxation: Double?
    /// Prior lpn: the symmetries the network is averaged over (none, negation, flips, dihedral).
    public var symmetries: String?
    /// Prior lpn: denoiser scaling s and centre c (`LPNScaling`; defaults 1 and 0).
    public var denoiserScale: Double?, denoiserCenter: Double?
    /// Linearized ADMM's ν.
    public var nu: Double?
    /// Proximal-gradient step rule: lipschitz or backtracking.
    public var step: String?
    /// FBP filter (ct).
    public var filter: String?
    /// Tikhonov regularizer: identity or gradient.
    public var regularizer: String?
    /// Constrain x ≥ 0 (PDHG's G, TV prox bounds).
    public var nonnegative: Bool?
    /// Inner iterations (the TV prox's FGP).
    public var innerIterations: Int?

    /// Nothing set.
    public init() {}

    /// The keys that are set, by config name.
    public var givenKeys: [String] {
        var k: [String] = []
        if prior != nil { k.append("prior") }
        if lambda != nil { k.append("lambda") }
        if rho != nil { k.append("rho") }
        if nu != nil { k.append("nu") }
        if step != nil { k.append("step") }
        if filter != nil { k.append("filter") }
        if regularizer != nil { k.append("regularizer") }
        if nonnegative != nil { k.append("nonnegative") }
        if innerIterations != nil { k.append("inner_iterations") }
        if model != nil { k.append("model") }
        if evaluateRegularizer != nil { k.append("evaluate_regularizer") }
        if relaxation != nil { k.append("relaxation") }
        if symmetries != nil { k.append("symmetries") }
        if denoiserScale != nil { k.append("denoiser_scale") }
        if denoiserCenter != nil { k.append("denoiser_center") }
        return k
    }
}

/// A reconstruction method by name: what `pde-invert` and `pde-bench` reach (PETSc's
/// registry pattern; adding a method is one entry here).
public struct ReconstructionMethod {
    /// The config name.
    public let name: String
    /// One line for `--list`.
    public let summary: String
    /// The settings keys it reads.
    public let keys: [String]
    /// Whether it iterates (reads `iterations` / `tolerance`).
    public let iterative: Bool
    let body: (InverseExperiment, ReconstructionSettings, ReconstructionOptions) throws -> Reconstruction

    /// Runs it after refusing settings it does not read.
    public func run(_ e: InverseExperiment, settings: ReconstructionSettings, options: ReconstructionOptions) throws -> Reconstruction {
        for key in settings.givenKeys where !keys.contains(key) {
            throw PDEError.invalidValue(key: key, value: "given", expected: "only the keys \(name) reads: \(keys.joined(separator: ", "))")
        }
        return try body(e, settings, options)
    }
}

/// The reconstruction methods.
public enum ReconstructionRegistry {
    /// All methods, in `--list` order.
    public static let methods: [ReconstructionMethod] = [
        ReconstructionMethod(name: "tikhonov", summary: "(AᵀA + λLᵀL)x = Aᵀy by FFT (circulant) or CG; regularizer identity | gradient",
                             keys: ["lambda", "regularizer"], iterative: false) { e, s, o in
            let reg: Tikhonov.Regularizer
            switch s.regularizer ?? "identity" {
            case "identity": reg = .identity
            case "gradient": reg = .gradient(e.model.normalSymbol != nil ? .periodic : .neumann)
            case let other: throw PDEError.invalidValue(key: "regularizer", value: "'\(other)'", expected: "identity or gradient")
            }
            return try Tikhonov(weight: try need(s.lambda, "lambda"), regularizer: reg).solve(model: e.model, measurement: e.measurement, options: o)
        },
        ReconstructionMethod(name: "fista", summary: "FISTA on ½‖Ax − y‖² + prior (tv, tv-anisotropic, l1, l2, nonnegative); step lipschitz | backtracking",
                             keys: ["prior", "lambda", "step", "nonnegative", "inner_iterations"], iterative: true) { e, s, o in
            try proximalGradient(e, s, o, accelerated: true)
        },
        ReconstructionMethod(name: "ista", summary: "ISTA (proximal gradient without momentum)",
                             keys: ["prior", "lambda", "step", "nonnegative", "inner_iterations"], iterative: true) { e, s, o in
            try proximalGradient(e, s, o, accelerated: false)
        },
        ReconstructionMethod(name: "admm", summary: "ADMM; prior tv splits z = ∇x (x-update by FFT when A is circulant, else CG), others z = x",
                             keys: ["prior", "lambda", "rho", "nonnegative", "inner_iterations", "relaxation"], iterative: true) { e, s, o in
            let lambda = try need(s.lambda, "lambda")
            let rho = s.rho ?? 10 * lambda
            let prior = s.prior ?? "tv"
            if prior == "tv" || prior == "tv-anisotropic", s.nonnegative != true {
                let d = try gradient(e)
                let g: ProximalOperator = prior == "tv" ? try GroupL1Norm(weight: lambda, channels: 2) : try L1Norm(weight: lambda)
                return try ADMM(penalty: rho, options: o, relaxation: s.relaxation ?? 1)
                    .solve(model: e.model, measurement: e.measurement, prior: g, splitting: d, initial: e.baseline.image)
            }
            return try ADMM(penalty: rho, options: o, relaxation: s.relaxation ?? 1)
                .solve(model: e.model, measurement: e.measurement, prior: try makePrior(e, s, lambda), initial: e.baseline.image)
        },
        ReconstructionMethod(name: "linearized-admm", summary: "linearized ADMM: f = ½‖Ax − y‖² by its prox, g(Cx) with C = ∇ for tv, I otherwise",
                             keys: ["prior", "lambda", "nu"], iterative: true) { e, s, o in
            let lambda = try need(s.lambda, "lambda")
            let f = try LeastSquaresData(model: e.model, measurement: e.measurement, cgTolerance: 1e-6)
            let prior = s.prior ?? "tv"
            let x0 = e.baseline.image
            if prior == "tv" || prior == "tv-anisotropic" {
                let g: ProximalOperator = prior == "tv" ? try GroupL1Norm(weight: lambda, channels: 2) : try L1Norm(weight: lambda)
                return try LinearizedADMM(nu: s.nu ?? 1 / (10 * lambda), options: o).solve(f: f, g: g, c: try gradient(e), initial: x0)
            }
            return try LinearizedADMM(nu: s.nu ?? 1 / (10 * lambda), options: o)
                .solve(f: f, g: try makePrior(e, s, lambda), c: try IdentityModel(shape: e.imageShape), initial: x0)
        },
        ReconstructionMethod(name: "pdhg", summary: "Chambolle–Pock: K = [A; ∇] with F = (½‖· − y‖², λ‖·‖₂,₁) for tv; nonnegative adds x ≥ 0",
                             keys: ["prior", "lambda", "nonnegative"], iterative: true) { e, s, o in
            let lambda = try need(s.lambda, "lambda")
            let prior = s.prior ?? "tv"
            let g: ProximalOperator = s.nonnegative == true ? BoxConstraint.nonNegative : ZeroFunction()
            let x0 = e.baseline.image
            if prior == "tv" || prior == "tv-anisotropic" {
                let f: ProximalOperator = prior == "tv" ? try GroupL1Norm(weight: lambda, channels: 2) : try L1Norm(weight: lambda)
                return try PDHG(options: o).solve(blocks: [(e.model, SquaredDistance(center: e.measurement)), (try gradient(e), f)], g: g, initial: x0)
            }
            return try PDHG(options: o).solve(blocks: [(e.model, SquaredDistance(center: e.measurement))], g: try makePrior(e, s, lambda), initial: x0)
        },
        ReconstructionMethod(name: "pnp-admm",
                             summary: "plug-and-play ADMM with a denoiser as the prior (tv: the TV denoiser at σ² = 1/ρ; lpn: a learned proximal network, ρ weighing its R)",
                             keys: ["prior", "lambda", "rho", "inner_iterations", "model", "evaluate_regularizer", "relaxation", "symmetries",
                                    "denoiser_scale", "denoiser_center"],
                             iterative: true) { e, s, o in
            let rho: Double
            if s.prior == "lpn" {
                try refuseLambda(s)
                rho = try need(s.rho, "rho")
                try InverseCheck.positive(rho, key: "rho")
            } else {
                rho = try s.rho ?? 10 * need(s.lambda, "lambda")
            }
            return try ADMM(penalty: rho, options: o, relaxation: s.relaxation ?? 1)
                .solve(model: e.model, measurement: e.measurement, prior: try denoiser(e, s, weight: rho), initial: e.baseline.image)
        },
        ReconstructionMethod(name: "pnp-pgd", summary: "plug-and-play proximal gradient with a denoiser (step 1/L; lpn: minimizes ½‖Ax − y‖² + L·R)",
                             keys: ["prior", "lambda", "inner_iterations", "model", "evaluate_regularizer", "symmetries",
                                    "denoiser_scale", "denoiser_center"], iterative: true) { e, s, o in
            // The step is 1/(1.01 L), so the learned prior weighs 1.01 L: estimate L once, for both.
            var step = ProximalGradient.StepRule.lipschitz, weight = 1.0
            if s.prior == "lpn" {
                let l = e.model.lipschitzEstimate(iterations: 100)
                if l > 0, l.isFinite { (step, weight) = (.fixed(1 / (1.01 * l)), 1.01 * l) }
            }
            return try ProximalGradient(accelerated: false, step: step, options: o).solve(model: e.model, measurement: e.measurement,
                                                                                          prior: try denoiser(e, s, weight: weight),
                                                                                          initial: e.baseline.image)
        },
        ReconstructionMethod(name: "fbp", summary: "filtered back-projection (ct): ramp, shepp-logan, cosine, hamming, hann, none",
                             keys: ["filter"], iterative: false) { e, s, o in
            guard let ct = e.model as? ParallelBeamProjector else {
                throw PDEError.invalidValue(key: "algorithm", value: "fbp", expected: "a ct task")
            }
            guard let filter = FBPFilter(rawValue: s.filter ?? "ramp") else {
                throw PDEError.invalidValue(key: "filter", value: "'\(s.filter ?? "")'", expected: FBPFilter.allCases.map(\.rawValue).joined(separator: ", "))
            }
            var tracker = try IterationTracker(o, algorithm: "fbp", count: e.model.domainCount)
            let x = try FilteredBackProjection(size: ct.size, anglesDegrees: ct.anglesDegrees, filter: filter).reconstruct(e.measurement)
            _ = tracker.record(1, x: x, previous: [Double](repeating: 0, count: x.count)) { nil }
            return Reconstruction(x: x, report: tracker.report(stop: .converged, iterations: 1))
        },
    ]

    /// The method called `name`, or a typed error listing the names.
    public static func method(_ name: String) throws -> ReconstructionMethod {
        guard let m = methods.first(where: { $0.name == name }) else {
            throw PDEError.invalidValue(key: "algorithm", value: "'\(name)'", expected: "one of " + methods.map(\.name).joined(separator: ", "))
        }
        return m
    }

    /// Names of the priors `makePrior` knows.
    public static let priorNames = ["tv", "tv-anisotropic", "l1", "l2", "nonnegative", "lpn"]

    static func need(_ v: Double?, _ key: String) throws -> Double {
        guard let v else { throw PDEError.invalidValue(key: key, value: "missing", expected: "a value for this method") }
        try InverseCheck.nonNegative(v, key: key)
        return v
    }

    /// The gradient matching the model: periodic when AᵀA is circulant (so ADMM solves by
    /// FFT), Neumann otherwise.
    static func gradient(_ e: InverseExperiment) throws -> FiniteDifferenceGradient {
        try FiniteDifferenceGradient(imageShape: e.imageShape, boundary: e.model.normalSymbol != nil ? .periodic : .neumann)
    }

    static func makePrior(_ e: InverseExperiment, _ s: ReconstructionSettings, _ lambda: Double) throws -> ProximalOperator {
        switch s.prior ?? "tv" {
        case "tv", "tv-anisotropic":
            return try TotalVariation(shape: e.imageShape, weight: lambda, isotropic: s.prior != "tv-anisotropic",
                                      boundary: e.model.normalSymbol != nil ? .periodic : .neumann,
                                      bounds: s.nonnegative == true ? 0...Double.greatestFiniteMagnitude : nil,
                                      maxIterations: s.innerIterations ?? 50, tolerance: 1e-4)
        case "l1": return try L1Norm(weight: lambda)
        case "l2": return try SquaredL2Norm(weight: lambda)
        case "nonnegative": return BoxConstraint.nonNegative
        case "lpn":
            throw PDEError.invalidValue(key: "prior", value: "'lpn'", expected: "a prior of pnp-admm or pnp-pgd (a learned proximal network is a denoiser)")
        case let other:
            throw PDEError.invalidValue(key: "prior", value: "'\(other)'", expected: "one of " + priorNames.joined(separator: ", "))
        }
    }

    /// Denoisers for plug-and-play: the TV denoiser (weight λ) and learned proximal networks
    /// (`model`; `weight` scales the recorded R, the prior's weight in the algorithm).
    static func denoiser(_ e: InverseExperiment, _ s: ReconstructionSettings, weight: Double = 1) throws -> ProximalOperator {
        switch s.prior ?? "tv" {
        case "tv":
            let lambda = try need(s.lambda, "lambda")
            let tv = try TotalVariation(shape: e.imageShape, weight: lambda, boundary: .neumann,
                                        maxIterations: s.innerIterations ?? 50, tolerance: 1e-4)
            return DenoiserProx(name: "tv-denoiser") { v, sigma in try tv.prox(v, step: sigma * sigma) }
        case "lpn":
            try refuseLambda(s)
            guard let path = s.model else {
                throw PDEError.invalidValue(key: "model", value: "missing", expected: "the learned proximal network file of prior lpn")
            }
            let network = try LearnedProximalNetwork<Float>.load(from: path)
            let symmetries = try s.symmetries.map(LPNSymmetries.init(named:)) ?? .none
            let scaling = try LPNScaling(scale: s.denoiserScale ?? 1, center: s.denoiserCenter ?? 0)
            let prox = try LPNProx(network: network, imageShape: e.imageShape, evaluatesRegularizer: s.evaluateRegularizer ?? false,
                                   symmetries: symmetries, scaling: scaling)
            prox.regularizerWeight = weight
            return prox
        case let other:
            throw PDEError.invalidValue(key: "prior", value: "'\(other)'", expected: "a denoiser: tv or lpn")
        }
    }

    /// Prior lpn has no λ (the network is one prox; ρ or the step weighs it).
    static func refuseLambda(_ s: ReconstructionSettings) throws {
        if let l = s.lambda {
            throw PDEError.invalidValue(key: "lambda", value: "\(l)", expected: "no lambda with prior lpn (rho, or the step 1/L, weighs the learned prior)")
        }
    }

    static func proximalGradient(_ e: InverseExperiment, _ s: ReconstructionSettings, _ o: ReconstructionOptions,
                                 accelerated: Bool) throws -> Reconstruction {
        let lambda = try need(s.lambda, "lambda")
        let rule: ProximalGradient.StepRule
        switch s.step ?? "lipschitz" {
        case "lipschitz": rule = .lipschitz
        case "backtracking": rule = .backtracking(initial: 1, shrink: 0.5)
        case let other: throw PDEError.invalidValue(key: "step", value: "'\(other)'", expected: "lipschitz or backtracking")
        }
        return try ProximalGradient(accelerated: accelerated, step: rule, options: o)
            .solve(model: e.model, measurement: e.measurement, prior: try makePrior(e, s, lambda), initial: e.baseline.image)
    }
}
