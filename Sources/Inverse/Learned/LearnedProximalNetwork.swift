import Foundation
import Learning

/// One affine map of a learned proximal network, a module with PyTorch's parameter names
/// (`weight`, and `bias` on the skip connections): a dense map (Linear, weight [out, in]) or
/// a 2-D convolution (weight [out, in, K, K], stride, padding). Besides the forward map it
/// gives the adjoint of its linear part (gᵀ·W, or the transposed convolution), built from the
/// engine's differentiable ops, which the explicit gradient pass of the network runs.
final class LPNAffineMap<T: TensorScalar>: Module {
    enum Geometry: Equatable {
        case dense
        case convolution(stride: Int, padding: Int)
    }

    let weight: Variable<T>
    let bias: Variable<T>?
    let geometry: Geometry

    /// PyTorch's default initialization, U(−1/√fanIn, 1/√fanIn), for weight and bias.
    init(inputs: Int, outputs: Int, kernel: Int? = nil, stride: Int = 1, padding: Int = 0, bias: Bool,
         generator g: inout SeededGenerator) {
        let fanIn = inputs * (kernel.map { $0 * $0 } ?? 1)
        let shape = [outputs, inputs] + (kernel.map { [$0, $0] } ?? [])
        weight = Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor(shape, generator: &g), requiresGradient: true)
        self.bias = bias ? Variable(Initializer.pytorchDefault(fanIn: fanIn).tensor([outputs], generator: &g), requiresGradient: true) : nil
        geometry = kernel == nil ? .dense : .convolution(stride: stride, padding: padding)
    }

    /// W x + b (x [B, in] or [B, in, H, W]).
    func forward(_ x: Variable<T>) throws -> Variable<T> {
        switch geometry {
        case .dense:
            return try Variable.linear(x, weight: weight, bias: bias)
        case let .convolution(s, p):
            return try Variable.convolution(x, weight: weight, bias: bias, stride: [s, s], padding: [p, p])
        }
    }

    /// Wᵀ g, the adjoint of the linear part (no bias), onto inputs of spatial size
    /// `inputSpatial` (convolutions; the transposed convolution's output padding is chosen so
    /// the sizes match).
    func adjoint(_ g: Variable<T>, inputSpatial: [Int] = []) throws -> Variable<T> {
        switch geometry {
        case .dense:
            return try Variable.matmul(g, weight)
        case let .convolution(s, p):
            let k = weight.shape[2]
            let outSpatial = Array(g.shape.dropFirst(2))
            guard inputSpatial.count == 2, outSpatial.count == 2 else {
                throw LearningError.shapeMismatch(operation: "LPN transposed convolution", expected: "two spatial axes",
                                                  got: shapeString(g.shape) + " onto \(inputSpatial)")
            }
            let extra = (0..<2).map { inputSpatial[$0] - ((outSpatial[$0] - 1) * s - 2 * p + k) }
            return try Variable.transposedConvolution(g, weight: weight, stride: [s, s], padding: [p, p], outputPadding: extra)
        }
    }
}

/// A learned proximal network (LPN; Fang, Buchanan & Sulam, "What's in a Prior? Learned
/// Proximal Networks for Inverse Problems", ICLR 2024): an input-convex network ψ_θ whose
/// gradient f_θ = ∇ψ_θ is, by construction, the exact proximal operator of some (possibly
/// nonconvex) function φ_θ. Because ψ_θ is convex, f_θ is monotone, and with α > 0 it is the
/// gradient of an α-strongly convex potential, hence injective and invertible.
///
/// Architecture (as the reference implementation, ZhenghanFang/learned-proximal-networks,
/// `exps/laplacian/network.py` for the fully connected network and `lpn/networks/lpn_mnist.py`
/// / `lpn_128.py` for the convolutional one), with s = softplus_β:
///
/// - fully connected, y [B, d]: z₀ = s(W₀y); z_k = s(W_k z_{k−1} + R_{k−1}y + c_{k−1}) for
///   k = 1…L; ψ(y) = W_{L+1} z_L + R_L y + c_L + (α/2)‖y‖². Parameters `lin.0.weight`
///   [hidden, d], `lin.k.weight` [hidden, hidden], `lin.{L+1}.weight` [1, hidden],
///   `res.k.weight` / `res.k.bias` (k = 0…L; the last one [1, d] / [1]).
/// - convolutional, y [B, C, H, W]: z₀ = s(conv₃ₓ₃(y)) (stride 1, padding 1); then L 3 × 3
///   convolutions with padding 1 and strides 2, 1, 2, 1, … (lpn_mnist: L = 3, 28 → 14 → 14 → 7;
///   lpn_128: L = 5), each z_i = s(W_i ∗ z_{i−1} + R_{i−1} ∗ x_{i−1} + c_{i−1}), where x_{i−1} is y
///   bilinearly resized to z_{i−1}'s resolution and R_{i−1} a convolution with the same stride;
///   then a dense layer to `denseFeatures` (64) units, z = s(W_{L+1} flat(z_L) + R_L flat(x_L) + c_L),
///   and ψ = W_{L+2} z + (α/2)‖y‖². Parameters `lin.0`…`lin.{L+2}` (weights only) and
///   `res.0`…`res.L` (weights and biases), as the reference names them: a reference MNIST
///   state dict maps onto these names and shapes one to one.
/// - fully convolutional (ours, for images of any size), y [B, C, H, W]: z₀ = s(W₀ ∗ y) and
///   z_k = s(W_k ∗ z_{k−1} + R_{k−1} ∗ y + c_{k−1}), k = 1…L, all 3 × 3 with stride 1 and
///   padding 1; ψ(y) = Σ_pixels (w ∗ z_L + r ∗ y + c) + (α/2)‖y‖² with 1 × 1 read-outs
///   `lin.{L+1}` [1, hidden, 1, 1] (non-negative) and `res.L` [1, C, 1, 1]. The receptive field
///   of f is (2L + 3)² pixels up to the chain rule's second sweep, (4L + 5)² in all.
///
/// The hidden-to-hidden weights (`lin.k.weight`, k ≥ 1, the output layer included, as the
/// reference's `wclip` does) must stay non-negative for ψ to be convex: clamp them after every
/// optimizer step with `nonnegativeConstraint(prefix:)` (or `clampHiddenWeights()`). The
/// skip connections `res.*` and the first layer `lin.0` are unconstrained.
///
/// `prox(_:)` computes ∇_yψ by an explicit backward pass built from the engine's
/// differentiable operations (softplus′_β(a) = sigmoid(βa), transposed matrix products and
/// transposed convolutions), so a loss of `prox(y)` is differentiated by the ordinary tape
/// (the reference differentiates `torch.autograd.grad(…, create_graph=True)` instead; this
/// engine records no higher-order derivatives).
///
/// Differences from the reference, on purpose: the strong-convexity term is (α/2)‖y‖² (∇ = αy;
/// the reference adds α‖y‖², so its `alpha = a` is α = 2a here, e.g. MNIST's 0.01 → 0.02), and
/// the fully connected network carries it too. The bilinear resizing is done as a fixed
/// stride-f convolution, which equals PyTorch's `interpolate(mode="bilinear",
/// align_corners=False)` for the integer factors f the sizes here give (H and W divisible by
/// 2^⌈L/2⌉).
public final class LearnedProximalNetwork<T: TensorScalar>: Layer {
    /// The precision of the parameters.
    public typealias Scalar = T

    /// The input layout and its architecture.
    public enum Kind: Equatable, Sendable {
        /// Flattened inputs [batch, dimension].
        case fullyConnected(dimension: Int)
        /// Images [batch, channels, height, width]; height and width must be divisible by
        /// 2^⌈layers/2⌉. `denseFeatures` is the width of the last hidden (dense) layer (64 in the
        /// reference).
        case convolutional(channels: Int, height: Int, width: Int, denseFeatures: Int = 64)
        /// Images [batch, channels, H, W] of any size: stride-1 3 × 3 convolutions throughout
        /// and ψ the sum over pixels of a non-negative 1 × 1 read-out, so ψ(shifted image) =
        /// ψ(image) away from the borders and f is translation-equivariant: a network trained
        /// on patches is the exact prox of a regularizer of whole images.
        case fullyConvolutional(channels: Int)
    }

    /// The weights of the main path: `lin.0` (unconstrained), `lin.1`… (kept non-negative).
    var lin: [LPNAffineMap<T>]
    /// The input skip connections `res.0`… (unconstrained, with biases).
    var res: [LPNAffineMap<T>]
    /// The coarse input paths of a fully convolutional network with `scales`: for scale j and
    /// hidden layer k (1…layers), `coarse.(j·layers + k − 1)`, a 3 × 3 convolution (no bias) of
    /// the input averaged over f × f blocks, added to layer k's pre-activation copied back over
    /// each block (unconstrained, like every input skip; empty without scales).
    var coarse: [LPNAffineMap<T>]

    /// The input layout.
    public let kind: Kind
    /// Hidden width (units or channels).
    public let hidden: Int
    /// Number of hidden-to-hidden layers (fully connected) or of 3 × 3 convolutions after the
    /// first one (convolutional; strides alternate 2, 1, 2, …).
    public let layers: Int
    /// β of the softplus activations log(1 + e^{βx})/β.
    public let beta: Double
    /// Strong-convexity weight: ψ contains (α/2)‖y‖².
    public let alpha: Double
    /// Block sizes f of the coarse input paths (fully convolutional only; increasing, each ≥ 2;
    /// empty for none). Every hidden layer then also sees the input averaged over f × f blocks
    /// through a 3 × 3 convolution, so ψ reaches about 3f pixels per layer instead of 3: its
    /// prox can average noise over flat regions wider than the stack of 3 × 3 convolutions
    /// sees. Input paths are affine in y, so ψ stays convex. H and W must be multiples of every f.
    public let scales: [Int]

    /// The down-sampling factor of each convolutional stage's input (1, 2, 2, 4, …): entry i
    /// is the factor of z_i relative to y.
    let factors: [Int]
    /// Bilinear down-sampling kernels [1, 1, f, f] by factor (f > 1).
    let resizeKernels: [Int: Tensor<T>]
    /// For each scale f: the f × f block-mean kernel (entries 1/f²) and the block-copy kernel
    /// (entries 1), [1, 1, f, f].
    let blockKernels: [Int: (mean: Tensor<T>, copy: Tensor<T>)]

    /// How the hidden-to-hidden weights (`lin.k`, k ≥ 1) start.
    public enum HiddenInitialization: Sendable, Equatable {
        /// exp(N(mean, standardDeviation²)): the reference's image networks,
        /// `init_weights(-10, 0.1)` (every such weight starts near e^{−10} ≈ 4.5e-5, so the
        /// network starts as nearly a sum of its input skips).
        case expNormal(mean: Double, standardDeviation: Double)
        /// PyTorch's default U(−1/√fanIn, 1/√fanIn) clipped at 0 (the nonnegativity projection
        /// applied once before the first step): the reference's 1-D Laplace toy, which never
        /// calls `init_weights`, so its hidden path carries weight from the start.
        case uniformClipped

        /// The reference's image initialization, exp(N(−10, 0.1²)).
        public static var reference: HiddenInitialization { .expNormal(mean: -10, standardDeviation: 0.1) }
    }

    /// Builds the network: every weight and bias from PyTorch's default
    /// U(−1/√fanIn, 1/√fanIn), then the hidden-to-hidden weights (`lin.k`, k ≥ 1) set by
    /// `hiddenInitialization` (by default the reference's exp(N(−10, 0.1²))).
    /// Throws `LearningError.invalidArgument` for sizes below 1, β ≤ 0, α < 0, non-finite
    /// values, image sizes not divisible by 2^⌈layers/2⌉, or `scales` other than an increasing
    /// list of block sizes from 2 to 256 on a fully convolutional network. The coarse paths'
    /// weights are drawn after every other parameter, so a network with scales starts with the
    /// same other weights as one without.
    public init(kind: Kind, hidden: Int, layers: Int, beta: Double, alpha: Double,
                hiddenInitialization: HiddenInitialization = .reference, scales: [Int] = [],
                generator g: inout SeededGenerator) throws {
        guard hidden >= 1, layers >= 1 else {
            throw LearningError.invalidArgument(name: "LPN hidden / layers", value: "\(hidden) / \(layers)", expected: "both ≥ 1")
        }
        guard beta > 0, beta.isFinite else {
            throw LearningError.invalidArgument(name: "LPN beta", value: "\(beta)", expected: "a positive finite softplus β")
        }
        guard alpha >= 0, alpha.isFinite else {
            throw LearningError.invalidArgument(name: "LPN alpha", value: "\(alpha)", expected: "a non-negative finite number")
        }
        if case let .expNormal(mean, deviation) = hiddenInitialization {
            guard mean.isFinite, deviation >= 0, deviation.isFinite else {
                throw LearningError.invalidArgument(name: "LPN hidden weight initialization",
                                                    value: "mean \(mean), deviation \(deviation)",
                                                    expected: "a finite mean and a non-negative finite deviation")
            }
        }
        if !scales.isEmpty {
            guard case .fullyConvolutional = kind else {
                throw LearningError.invalidArgument(name: "LPN scales", value: "\(scales)", expected: "no scales except on a fully convolutional network")
            }
            guard scales.allSatisfy({ $0 >= 2 && $0 <= 256 }), zip(scales, scales.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw LearningError.invalidArgument(name: "LPN scales", value: "\(scales)", expected: "increasing block sizes from 2 to 256")
            }
        }
        self.kind = kind
        self.hidden = hidden
        self.layers = layers
        self.beta = beta
        self.alpha = alpha
        self.scales = scales
        var lin: [LPNAffineMap<T>] = [], res: [LPNAffineMap<T>] = []
        switch kind {
        case let .fullyConnected(d):
            guard d >= 1 else {
                throw LearningError.invalidArgument(name: "LPN dimension", value: "\(d)", expected: "≥ 1")
            }
            lin.append(LPNAffineMap(inputs: d, outputs: hidden, bias: false, generator: &g))
            for _ in 0..<layers { lin.append(LPNAffineMap(inputs: hidden, outputs: hidden, bias: false, generator: &g)) }
            lin.append(LPNAffineMap(inputs: hidden, outputs: 1, bias: false, generator: &g))
            for _ in 0..<layers { res.append(LPNAffineMap(inputs: d, outputs: hidden, bias: true, generator: &g)) }
            res.append(LPNAffineMap(inputs: d, outputs: 1, bias: true, generator: &g))
            factors = []
        case let .convolutional(c, h, w, dense):
            guard c >= 1, h >= 1, w >= 1, dense >= 1 else {
                throw LearningError.invalidArgument(name: "LPN image layout", value: "channels \(c), \(h) × \(w), dense \(dense)",
                                                    expected: "sizes ≥ 1")
            }
            var f = [1]
            for i in 1...layers { f.append(f[i - 1] * (i % 2 == 1 ? 2 : 1)) }
            let total = f[layers]
            guard h % total == 0, w % total == 0 else {
                throw LearningError.invalidArgument(name: "LPN image size", value: "\(h) × \(w)",
                                                    expected: "height and width divisible by \(total) (2^⌈layers/2⌉ for \(layers) layers)")
            }
            lin.append(LPNAffineMap(inputs: c, outputs: hidden, kernel: 3, stride: 1, padding: 1, bias: false, generator: &g))
            for i in 1...layers {
                lin.append(LPNAffineMap(inputs: hidden, outputs: hidden, kernel: 3, stride: f[i] / f[i - 1], padding: 1, bias: false,
                                        generator: &g))
            }
            let cells = (h / total) * (w / total)
            lin.append(LPNAffineMap(inputs: hidden * cells, outputs: dense, bias: false, generator: &g))
            lin.append(LPNAffineMap(inputs: dense, outputs: 1, bias: false, generator: &g))
            for i in 1...layers {
                res.append(LPNAffineMap(inputs: c, outputs: hidden, kernel: 3, stride: f[i] / f[i - 1], padding: 1, bias: true,
                                        generator: &g))
            }
            res.append(LPNAffineMap(inputs: c * cells, outputs: dense, bias: true, generator: &g))
            factors = f
        case let .fullyConvolutional(c):
            guard c >= 1 else {
                throw LearningError.invalidArgument(name: "LPN channels", value: "\(c)", expected: "≥ 1")
            }
            lin.append(LPNAffineMap(inputs: c, outputs: hidden, kernel: 3, stride: 1, padding: 1, bias: false, generator: &g))
            for _ in 0..<layers {
                lin.append(LPNAffineMap(inputs: hidden, outputs: hidden, kernel: 3, stride: 1, padding: 1, bias: false, generator: &g))
            }
            lin.append(LPNAffineMap(inputs: hidden, outputs: 1, kernel: 1, bias: false, generator: &g))
            for _ in 0..<layers {
                res.append(LPNAffineMap(inputs: c, outputs: hidden, kernel: 3, stride: 1, padding: 1, bias: true, generator: &g))
            }
            res.append(LPNAffineMap(inputs: c, outputs: 1, kernel: 1, bias: true, generator: &g))
            factors = []
        }
        for map in lin.dropFirst() {
            switch hiddenInitialization {
            case let .expNormal(mean, deviation):
                map.weight.value = Tensor<T>.randomNormal(shape: map.weight.shape, mean: mean,
                                                          standardDeviation: deviation, generator: &g).map(.exp)
            case .uniformClipped:
                map.weight.value = map.weight.value.map { max($0, 0) }
            }
        }
        self.lin = lin
        self.res = res
        var coarse: [LPNAffineMap<T>] = []
        if case let .fullyConvolutional(c) = kind {
            for _ in scales {
                for _ in 0..<layers {
                    coarse.append(LPNAffineMap(inputs: c, outputs: hidden, kernel: 3, stride: 1, padding: 1, bias: false, generator: &g))
                }
            }
        }
        self.coarse = coarse
        var kernels: [Int: Tensor<T>] = [:]
        for f in Set(factors) where f > 1 { kernels[f] = Self.bilinearKernel(factor: f) }
        resizeKernels = kernels
        var blocks: [Int: (mean: Tensor<T>, copy: Tensor<T>)] = [:]
        for f in scales {
            blocks[f] = (Tensor(repeating: T(1 / Double(f * f)), shape: [1, 1, f, f]), Tensor(repeating: T(1), shape: [1, 1, f, f]))
        }
        blockKernels = blocks
    }

    /// Zeroes the coarse paths' weights: the network then computes what the same network
    /// without scales computes (a starting point for growing a trained network).
    public func zeroCoarsePaths() {
        for map in coarse { map.weight.value = Tensor(zeros: map.weight.shape) }
    }

    // MARK: Constraint

    /// Whether `name` (a parameter path, after `prefix`, e.g. "lpn." when the network is a
    /// property `lpn` of a larger module) names a hidden-to-hidden weight `lin.k.weight`, k ≥ 1:
    /// the weights that must stay non-negative.
    public static func isHiddenWeight(_ name: String, prefix: String = "") -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        let parts = name.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "lin", parts[2] == "weight", let k = Int(parts[1]) else { return false }
        return k >= 1 && String(k) == parts[1]
    }

    /// An `Optimizer.constraint` clamping the hidden-to-hidden weights (`prefix` + `lin.k.weight`,
    /// k ≥ 1) to ≥ 0 after every step, the reference's `wclip`; other parameters are untouched.
    public static func nonnegativeConstraint(prefix: String = "") -> (String, Variable<T>) -> Void {
        ParameterConstraint.clampMinimum(0, where: { isHiddenWeight($0, prefix: prefix) })
    }

    /// The names of the weights `nonnegativeConstraint` clamps (`lin.1.weight`, …).
    public var hiddenWeightNames: [String] { (1..<lin.count).map { "lin.\($0).weight" } }

    /// Clamps the hidden-to-hidden weights to ≥ 0 in place (what the constraint does, for use
    /// without an optimizer).
    public func clampHiddenWeights() {
        let clamp = Self.nonnegativeConstraint()
        for (name, v) in namedParameters(T.self) { clamp(name, v) }
    }

    // MARK: Forward and explicit gradient

    /// ψ(y) per sample, [batch], for y [batch, d] (fully connected) or [batch, C, H, W]
    /// (convolutional). Recorded on the tape like any forward pass. Throws
    /// `LearningError.shapeMismatch` for another input shape.
    public func potential(_ y: Variable<T>) throws -> Variable<T> {
        try trace(y).potential
    }

    /// f(y) = ∇_yψ(y), the learned proximal operator, same shape as y, computed by an explicit
    /// backward pass through the layers from differentiable operations, so the tape trains it.
    /// Throws `LearningError.shapeMismatch` for another input shape.
    public func prox(_ y: Variable<T>) throws -> Variable<T> {
        try gradient(y, try trace(y))
    }

    /// ψ(y) [batch] and f(y) = ∇ψ(y) from one forward pass. Throws as `prox(_:)`.
    public func potentialAndProx(_ y: Variable<T>) throws -> (potential: Variable<T>, prox: Variable<T>) {
        let t = try trace(y)
        return (t.potential, try gradient(y, t))
    }

    /// `prox(_:)`: the network's output is the proximal operator, as the reference's `forward`.
    public func callAsFunction(_ y: Variable<T>) throws -> Variable<T> { try prox(y) }

    /// The pre-activations of the forward pass and ψ.
    struct Trace {
        var preactivations: [Variable<T>]
        var potential: Variable<T>
    }

    func checkInput(_ y: Variable<T>) throws {
        let s = y.shape
        switch kind {
        case let .fullyConnected(d):
            guard s.count == 2, s[0] >= 1, s[1] == d else {
                throw LearningError.shapeMismatch(operation: "LearnedProximalNetwork (fully connected)", expected: "[batch ≥ 1, \(d)]",
                                                  got: shapeString(s))
            }
        case let .convolutional(c, h, w, _):
            guard s.count == 4, s[0] >= 1, Array(s[1...]) == [c, h, w] else {
                throw LearningError.shapeMismatch(operation: "LearnedProximalNetwork (convolutional)", expected: "[batch ≥ 1, \(c), \(h), \(w)]",
                                                  got: shapeString(s))
            }
        case let .fullyConvolutional(c):
            guard s.count == 4, s[0] >= 1, s[1] == c, s[2] >= 1, s[3] >= 1 else {
                throw LearningError.shapeMismatch(operation: "LearnedProximalNetwork (fully convolutional)", expected: "[batch ≥ 1, \(c), H ≥ 1, W ≥ 1]",
                                                  got: shapeString(s))
            }
            if let f = scales.first(where: { s[2] % $0 != 0 || s[3] % $0 != 0 }) {
                throw LearningError.shapeMismatch(operation: "LearnedProximalNetwork (fully convolutional, scales \(scales))",
                                                  expected: "H and W multiples of every scale (\(f))", got: shapeString(s))
            }
        }
    }

    func activation(_ a: Variable<T>) -> Variable<T> { a.softplus(beta: beta) }

    /// softplus′_β(a) = sigmoid(βa).
    func activationDerivative(_ a: Variable<T>) -> Variable<T> { a.apply(.scale(beta)).sigmoid() }

    func trace(_ y: Variable<T>) throws -> Trace {
        try checkInput(y)
        let batch = y.shape[0]
        var pre: [Variable<T>] = []
        var out: Variable<T>
        switch kind {
        case .fullyConnected, .fullyConvolutional:
            var a = try lin[0].forward(y)
            pre.append(a)
            var z = activation(a)
            let means = try scales.map { try block(y, factor: $0, kernel: \.mean) }
            for k in 1...layers {
                a = try lin[k].forward(z) + res[k - 1].forward(y)
                for (j, f) in scales.enumerated() {
                    a = try a + blockAdjoint(coarse[j * layers + k - 1].forward(means[j]), factor: f, kernel: \.copy)
                }
                pre.append(a)
                z = activation(a)
            }
            out = try lin[layers + 1].forward(z) + res[layers].forward(y)
            if case .fullyConvolutional = kind { out = try out.sum(alongAxes: [1, 2, 3]) }
        case .convolutional:
            var a = try lin[0].forward(y)
            pre.append(a)
            var z = activation(a)
            for i in 1...layers {
                a = try lin[i].forward(z) + res[i - 1].forward(try resize(y, factor: factors[i - 1]))
                pre.append(a)
                z = activation(a)
            }
            let flat = try z.flattened(from: 1)
            let coarse = try resize(y, factor: factors[layers]).flattened(from: 1)
            a = try lin[layers + 1].forward(flat) + res[layers].forward(coarse)
            pre.append(a)
            out = try lin[layers + 2].forward(activation(a))
        }
        var psi = try out.reshaped([batch])
        if alpha != 0 {
            let axes = Array(1..<y.shape.count)
            psi = try psi + (try y.square().sum(alongAxes: axes)) * T(alpha / 2)
        }
        return Trace(preactivations: pre, potential: psi)
    }

    /// ∇_yψ by the chain rule written out with recorded operations: δ = g ⊙ sigmoid(βa) at every
    /// layer, g ← Wᵀδ down the main path, and Rᵀδ collected from every skip connection.
    func gradient(_ y: Variable<T>, _ t: Trace) throws -> Variable<T> {
        let batch = y.shape[0]
        let pre = t.preactivations
        var gy: Variable<T>
        switch kind {
        case .fullyConnected, .fullyConvolutional:
            // ∂ψ/∂z_L and the read-out's direct term: the 1 × 1 read-outs summed over pixels
            // have gradient w (per channel) at every pixel.
            let top = lin[layers + 1].weight, direct = res[layers].weight
            let spatial = Array(y.shape.dropFirst(2))
            var g = try top.reshaped([1, top.shape[1]] + spatial.map { _ in 1 }).broadcast(to: [batch, top.shape[1]] + spatial)
            gy = try direct.reshaped([1, direct.shape[1]] + spatial.map { _ in 1 }).broadcast(to: y.shape)
            // The coarse paths' adjoints summed per scale on its coarse grid, spread back once.
            var coarseSums = [Variable<T>?](repeating: nil, count: scales.count)
            for k in stride(from: layers, through: 1, by: -1) {
                let delta = try g * activationDerivative(pre[k])
                gy = try gy + res[k - 1].adjoint(delta, inputSpatial: spatial)
                for (j, f) in scales.enumerated() {
                    let r = try coarse[j * layers + k - 1].adjoint(try block(delta, factor: f, kernel: \.copy), inputSpatial: spatial.map { $0 / f })
                    coarseSums[j] = try coarseSums[j].map { try $0 + r } ?? r
                }
                g = try lin[k].adjoint(delta, inputSpatial: spatial)
            }
            for (j, f) in scales.enumerated() {
                if let sum = coarseSums[j] { gy = try gy + blockAdjoint(sum, factor: f, kernel: \.mean) }
            }
            let delta = try g * activationDerivative(pre[0])
            gy = try gy + lin[0].adjoint(delta, inputSpatial: spatial)
        case let .convolutional(c, h, w, _):
            let top = lin[layers + 2].weight
            var delta = try top.broadcast(to: [batch, top.shape[1]]) * activationDerivative(pre[layers + 1])
            let fL = factors[layers]
            // Skip-connection contributions by down-sampling factor, resized back once each.
            var skip: [Int: Variable<T>] = [:]
            skip[fL] = try res[layers].adjoint(delta).reshaped([batch, c, h / fL, w / fL])
            var g = try lin[layers + 1].adjoint(delta).reshaped([batch, hidden, h / fL, w / fL])
            for i in stride(from: layers, through: 1, by: -1) {
                let f = factors[i - 1]
                let spatial = [h / f, w / f]
                delta = try g * activationDerivative(pre[i])
                let r = try res[i - 1].adjoint(delta, inputSpatial: spatial)
                skip[f] = try skip[f].map { try $0 + r } ?? r
                g = try lin[i].adjoint(delta, inputSpatial: spatial)
            }
            delta = try g * activationDerivative(pre[0])
            gy = try lin[0].adjoint(delta, inputSpatial: [h, w])
            for f in skip.keys.sorted() {
                gy = try gy + resizeAdjoint(skip[f]!, factor: f)
            }
        }
        if alpha != 0 { gy = try gy + y * T(alpha) }
        return gy
    }

    // MARK: Bilinear resizing by integer factors

    /// The [1, 1, f, f] kernel of PyTorch's bilinear down-sampling by f (align_corners=False):
    /// output i samples the input at f·i + (f − 1)/2, i.e. one pixel (odd f) or the mean of two
    /// (even f) per axis.
    static func bilinearKernel(factor f: Int) -> Tensor<T> {
        var taps = [Double](repeating: 0, count: f)
        if f % 2 == 1 { taps[(f - 1) / 2] = 1 } else { taps[f / 2 - 1] = 0.5; taps[f / 2] = 0.5 }
        var k = [T](repeating: 0, count: f * f)
        for i in 0..<f { for j in 0..<f { k[i * f + j] = T(taps[i] * taps[j]) } }
        return (try? Tensor(shape: [1, 1, f, f], scalars: k)) ?? Tensor(zeros: [1, 1, f, f])
    }

    /// y [B, C, H, W] resized to [B, C, H/f, W/f] (a fixed stride-f convolution per channel).
    func resize(_ y: Variable<T>, factor f: Int) throws -> Variable<T> {
        guard f > 1, let k = resizeKernels[f] else { return y }
        return try Self.stridedPerChannel(y, kernel: k, factor: f)
    }

    /// The adjoint of `resize`: [B, C, h, w] → [B, C, h·f, w·f] (the transposed convolution).
    func resizeAdjoint(_ g: Variable<T>, factor f: Int) throws -> Variable<T> {
        guard f > 1, let k = resizeKernels[f] else { return g }
        return try Self.stridedPerChannel(g, kernel: k, factor: f, transposed: true)
    }

    /// y [B, C, H, W] → [B, C, H/f, W/f] by a fixed f × f block kernel with stride f (the
    /// block mean, or the block sum with `\.copy`, the adjoint of the block copy).
    func block(_ y: Variable<T>, factor f: Int, kernel: KeyPath<(mean: Tensor<T>, copy: Tensor<T>), Tensor<T>>) throws -> Variable<T> {
        guard let k = blockKernels[f]?[keyPath: kernel] else { return y }
        return try Self.stridedPerChannel(y, kernel: k, factor: f)
    }

    /// The transposed `block`: [B, C, h, w] → [B, C, h·f, w·f] (with `\.copy`, each value copied
    /// over its f × f block; with `\.mean`, spread as value/f², the adjoint of the block mean).
    func blockAdjoint(_ g: Variable<T>, factor f: Int, kernel: KeyPath<(mean: Tensor<T>, copy: Tensor<T>), Tensor<T>>) throws -> Variable<T> {
        guard let k = blockKernels[f]?[keyPath: kernel] else { return g }
        return try Self.stridedPerChannel(g, kernel: k, factor: f, transposed: true)
    }

    /// The fixed [1, 1, f, f] kernel applied to every channel with stride f: [B, C, H, W] →
    /// [B, C, H/f, W/f], or its transpose [B, C, h, w] → [B, C, h·f, w·f].
    static func stridedPerChannel(_ x: Variable<T>, kernel k: Tensor<T>, factor f: Int, transposed: Bool = false) throws -> Variable<T> {
        let s = x.shape
        let planes = try x.reshaped([s[0] * s[1], 1, s[2], s[3]])
        if transposed {
            let out = try Variable.transposedConvolution(planes, weight: Variable(k), stride: [f, f], padding: [0, 0])
            return try out.reshaped([s[0], s[1], s[2] * f, s[3] * f])
        }
        let out = try Variable.convolution(planes, weight: Variable(k), stride: [f, f], padding: [0, 0])
        return try out.reshaped([s[0], s[1], s[2] / f, s[3] / f])
    }
}
