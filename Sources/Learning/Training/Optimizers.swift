import Foundation

/// A first-order optimizer over named parameters. `step()` updates every parameter that has
/// a gradient, then applies `constraint` (e.g. clamping the weights of an input-convex
/// network to be non-negative). State tensors are named `<parameter>.<slot>` for
/// checkpoints.
///
/// Every optimizer is a `CheckpointableState`: a checkpoint stores its state tensors, its
/// step count (`optimizer.step`) and its learning rate (`optimizer.learning_rate`), and
/// restores all three.
/// (`Scalar`, the precision of the parameters, is the one of `CheckpointableState`.)
public protocol Optimizer<Scalar>: CheckpointableState {
    /// The parameters with their names (module paths).
    var parameters: [(name: String, variable: Variable<Scalar>)] { get }
    /// The rate of the next step. A `Trainer` with a schedule sets it every epoch (the
    /// schedule owns it); without a schedule nothing but the caller changes it.
    var learningRate: Double { get set }
    /// Number of steps taken.
    var stepCount: Int { get set }
    /// Called on every parameter after each step.
    var constraint: ((String, Variable<Scalar>) -> Void)? { get set }
    /// Updates every parameter that has a gradient, counts the step and applies `constraint`;
    /// throws `LearningError.shapeMismatch` on a gradient whose shape differs from its parameter's.
    func step() throws
    /// Per-parameter state (moments, velocities) by name, for checkpoints.
    func stateTensors() -> [(name: String, tensor: Tensor<Scalar>)]
    /// Restores state saved by `stateTensors`; a parameter without a saved slot had no state
    /// yet (no step with a gradient) and is restored empty. Throws
    /// `LearningError.checkpointMismatch` on a wrong shape.
    func loadState(_ tensors: [String: Tensor<Scalar>]) throws
}

/// Keys of an optimizer's scalars in a checkpoint (stored as `optimizer.<key>` metadata).
enum OptimizerStateKey {
    static let step = "step"
    static let learningRate = "learning_rate"
}

extension Optimizer {
    /// Drops every parameter's gradient.
    public func zeroGradients() { for p in parameters { p.variable.zeroGradient() } }

    /// The per-parameter state (`stateTensors()`), for `Checkpoint`.
    public func checkpointTensors() -> [(name: String, tensor: Tensor<Scalar>)] { stateTensors() }

    /// The step count and the learning rate, as text, for `Checkpoint`.
    public func checkpointScalars() -> [String: String] {
        [OptimizerStateKey.step: String(stepCount), OptimizerStateKey.learningRate: String(learningRate)]
    }

    /// Restores the state tensors, the step count and the learning rate saved by
    /// `checkpointTensors`/`checkpointScalars` (a scalar missing from the file keeps its
    /// current value). Throws a `LearningError` on a wrong tensor shape, a step count that
    /// is not a non-negative integer or a rate that is not a positive finite number.
    public func restoreCheckpoint(tensors: [String: Tensor<Scalar>], scalars: [String: String]) throws {
        var step: Int?, rate: Double?
        if let s = scalars[OptimizerStateKey.step] {
            guard let k = Int(s), k >= 0 else {
                throw LearningError.invalidArgument(name: "optimizer.\(OptimizerStateKey.step)", value: "'\(s)'", expected: "a non-negative integer")
            }
            step = k
        }
        if let s = scalars[OptimizerStateKey.learningRate] {
            guard let r = Double(s), r > 0, r.isFinite else {
                throw LearningError.invalidArgument(name: "optimizer.\(OptimizerStateKey.learningRate)", value: "'\(s)'",
                                                    expected: "a positive finite number")
            }
            rate = r
        }
        try loadState(tensors)
        if let step { stepCount = step }
        if let rate { learningRate = rate }
    }

    /// The parameter's gradient, checked against its value's shape.
    func gradient(of name: String, _ p: Variable<Scalar>) throws -> Tensor<Scalar>? {
        guard let g = p.grad else { return nil }
        guard g.shape == p.value.shape else {
            throw LearningError.shapeMismatch(operation: "optimizer step for '\(name)'", expected: "a gradient of shape \(shapeString(p.value.shape))",
                                              got: shapeString(g.shape))
        }
        return g
    }

    func applyConstraint() {
        guard let constraint else { return }
        for (n, v) in parameters { constraint(n, v) }
    }

    func load(_ slot: String, _ tensors: [String: Tensor<Scalar>], into state: inout [Tensor<Scalar>?]) throws {
        for (i, (name, v)) in parameters.enumerated() {
            guard let t = tensors["\(name).\(slot)"] else { state[i] = nil; continue }
            guard t.shape == v.value.shape else {
                throw LearningError.checkpointMismatch(path: "optimizer state", tensor: "\(name).\(slot)",
                                                       reason: "shape \(shapeString(t.shape)), expected \(shapeString(v.value.shape))")
            }
            state[i] = t
        }
    }
}

/// Constraints for `Optimizer.constraint`.
public enum ParameterConstraint {
    /// Clamps the parameters whose name satisfies `predicate` to ≥ `minimum` after each step.
    public static func clampMinimum<T: TensorScalar>(_ minimum: Double = 0, where predicate: @escaping (String) -> Bool) -> (String, Variable<T>) -> Void {
        { name, v in
            if predicate(name) {
                v.value = (try? Tensor.elementwise(.maximum, v.value, Tensor(T(minimum)))) ?? v.value
            }
        }
    }
}

/// Scales all gradients so their global ℓ² norm is at most `maxNorm`; returns the norm
/// before clipping (PyTorch's `clip_grad_norm_`).
@discardableResult
public func clipGradientNorm<T: TensorScalar>(_ parameters: [Variable<T>], maxNorm: Double) -> Double {
    var total = 0.0
    for p in parameters { if let g = p.grad { total += Double(try! g.dot(g)) } }
    let norm = total.squareRoot()
    if norm > maxNorm && norm > 0 {
        let s = maxNorm / (norm + 1e-6)
        for p in parameters { if let g = p.grad { p.grad = g.map(.scale(s)) } }
    }
    return norm
}

/// Clamps every gradient entry to [−limit, limit].
public func clipGradientValues<T: TensorScalar>(_ parameters: [Variable<T>], limit: Double) {
    for p in parameters {
        if let g = p.grad {
            p.grad = (try? Tensor.elementwise(.minimum, Tensor.elementwise(.maximum, g, Tensor(T(-limit))), Tensor(T(limit)))) ?? g
        }
    }
}

func checkOptimizerArguments(_ lr: Double, _ pairs: [(String, Double, ClosedRange<Double>)]) throws {
    guard lr > 0, lr.isFinite else {
        throw LearningError.invalidArgument(name: "learningRate", value: "\(lr)", expected: "a positive finite number")
    }
    for (name, v, range) in pairs where !range.contains(v) {
        throw LearningError.invalidArgument(name: name, value: "\(v)", expected: "a value in \(range)")
    }
}

/// Stochastic gradient descent with momentum (PyTorch's SGD: v ← μv + g (+ weight decay·p),
/// p ← p − lr·v, or the Nesterov variant).
public final class SGD<T: TensorScalar>: Optimizer {
    /// The precision of the parameters.
    public typealias Scalar = T
    public let parameters: [(name: String, variable: Variable<T>)]
    public var learningRate: Double
    /// μ in [0, 1]; 0: plain SGD, no velocity kept.
    public var momentum: Double
    /// Step along g + μv instead of v (Nesterov momentum).
    public var nesterov: Bool
    /// λ: λ·p is added to the gradient (L2 penalty).
    public var weightDecay: Double
    public var stepCount = 0
    public var constraint: ((String, Variable<T>) -> Void)?
    var velocity: [Tensor<T>?]

    /// SGD over `parameters` (their names key the state). Throws `LearningError.invalidArgument`
    /// unless learningRate is positive and finite, momentum in [0, 1] and weightDecay in [0, 1e6].
    public init(_ parameters: [(name: String, variable: Variable<T>)], learningRate: Double, momentum: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) throws {
        try checkOptimizerArguments(learningRate, [("momentum", momentum, 0...1), ("weightDecay", weightDecay, 0...1e6)])
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocity = Array(repeating: nil, count: parameters.count)
    }

    /// g ← g + λp; with momentum v ← μv + g (v = g at first) and d = v, or g + μv with Nesterov;
    /// p ← p − lr·d. Parameters without a gradient are skipped; `constraint` runs last. Throws
    /// `LearningError.shapeMismatch` on a gradient of the wrong shape.
    public func step() throws {
        stepCount += 1
        for (i, (name, p)) in parameters.enumerated() {
            guard var g = try gradient(of: name, p) else { continue }
            if weightDecay != 0 { g.addUnchecked(p.value, scaledBy: T(weightDecay)) }
            var d = g
            if momentum != 0 {
                if var v = velocity[i] {
                    v = v.map(.scale(momentum))
                    v.addUnchecked(g)
                    velocity[i] = v
                } else {
                    velocity[i] = g
                }
                if nesterov { d = g; d.addUnchecked(velocity[i]!, scaledBy: T(momentum)) } else { d = velocity[i]! }
            }
            p.value.addUnchecked(d, scaledBy: T(-learningRate))
        }
        applyConstraint()
    }

    /// `<parameter>.velocity` for every parameter that has one (none without momentum).
    public func stateTensors() -> [(name: String, tensor: Tensor<T>)] {
        zip(parameters, velocity).compactMap { p, v in v.map { (name: "\(p.name).velocity", tensor: $0) } }
    }

    /// Restores `<parameter>.velocity`; a missing entry clears that velocity. Throws
    /// `LearningError.checkpointMismatch` on a wrong shape.
    public func loadState(_ tensors: [String: Tensor<T>]) throws { try load("velocity", tensors, into: &velocity) }
}

/// Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter: decoupled weight decay), with bias
/// correction, as PyTorch's `Adam` / `AdamW`.
public final class Adam<T: TensorScalar>: Optimizer {
    /// The precision of the parameters.
    public typealias Scalar = T
    public let parameters: [(name: String, variable: Variable<T>)]
    public var learningRate: Double
    /// β₁, decay of the gradient average m.
    public var beta1: Double
    /// β₂, decay of the squared-gradient average v.
    public var beta2: Double
    /// ε added to the bias-corrected √v in the denominator.
    public var epsilon: Double
    /// λ; how it acts depends on `decoupledWeightDecay`.
    public var weightDecay: Double
    /// True: AdamW (p ← p − lr·λ·p before the Adam step); false: L2 penalty added to g.
    public var decoupledWeightDecay: Bool
    public var stepCount = 0
    public var constraint: ((String, Variable<T>) -> Void)?
    var m: [Tensor<T>?], v: [Tensor<T>?]

    /// Adam over `parameters` with PyTorch's defaults. Throws `LearningError.invalidArgument`
    /// unless learningRate is positive and finite, β₁ ∈ [0, 0.999999], β₂ ∈ [0, 0.9999999],
    /// ε ∈ [1e-30, 1] and weightDecay ∈ [0, 1e6].
    public init(_ parameters: [(name: String, variable: Variable<T>)], learningRate: Double = 1e-3, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false) throws {
        try checkOptimizerArguments(learningRate, [("beta1", beta1, 0...0.999999), ("beta2", beta2, 0...0.9999999),
                                                   ("epsilon", epsilon, 1e-30...1), ("weightDecay", weightDecay, 0...1e6)])
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        m = Array(repeating: nil, count: parameters.count)
        v = m
    }

    /// AdamW with PyTorch's default weight decay 0.01.
    public static func adamW(_ parameters: [(name: String, variable: Variable<T>)], learningRate: Double = 1e-3,
                             weightDecay: Double = 0.01) throws -> Adam {
        try Adam(parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr/c₁)·m/(√v/√c₂ + ε), cᵢ = 1 − βᵢᵗ,
    /// after weight decay (AdamW: p ← p(1 − lr·λ); Adam: g ← g + λp). Skips parameters without a
    /// gradient, then runs `constraint`; throws `LearningError.shapeMismatch` on a wrong shape.
    public func step() throws {
        stepCount += 1
        let c1 = 1 - Foundation.pow(beta1, Double(stepCount)), c2 = 1 - Foundation.pow(beta2, Double(stepCount))
        let stepSize = learningRate / c1
        let (b1, b2, eps) = (T(beta1), T(beta2), T(epsilon)), sc2 = T(1 / c2.squareRoot())
        for (i, (name, p)) in parameters.enumerated() {
            guard var g = try gradient(of: name, p) else { continue }
            if weightDecay != 0 {
                if decoupledWeightDecay {
                    p.value = p.value.map(.scale(1 - learningRate * weightDecay))
                } else {
                    g.addUnchecked(p.value, scaledBy: T(weightDecay))
                }
            }
            var mi = m[i] ?? Tensor(zeros: g.shape), vi = v[i] ?? Tensor(zeros: g.shape)
            let n = g.count
            let lr = T(stepSize)
            g.scalars.withUnsafeBufferPointer { pg in
                mi.scalars.withUnsafeMutableBufferPointer { pm in
                    vi.scalars.withUnsafeMutableBufferPointer { pv in
                        p.value.scalars.withUnsafeMutableBufferPointer { pp in
                            AdamKernel.step(n, pg.baseAddress!, pm.baseAddress!, pv.baseAddress!, pp.baseAddress!,
                                            b1: b1, b2: b2, eps: eps, lr: lr, sqrtInverseCorrection2: sc2)
                        }
                    }
                }
            }
            m[i] = mi
            v[i] = vi
        }
        applyConstraint()
    }

    /// `<parameter>.exp_avg` (m) and `<parameter>.exp_avg_sq` (v), PyTorch's names, for every
    /// parameter stepped so far.
    public func stateTensors() -> [(name: String, tensor: Tensor<T>)] {
        var out: [(name: String, tensor: Tensor<T>)] = []
        for (i, p) in parameters.enumerated() {
            if let mi = m[i] { out.append((name: "\(p.name).exp_avg", tensor: mi)) }
            if let vi = v[i] { out.append((name: "\(p.name).exp_avg_sq", tensor: vi)) }
        }
        return out
    }

    /// Restores `exp_avg` and `exp_avg_sq`; a missing entry clears that moment. Throws
    /// `LearningError.checkpointMismatch` on a wrong shape.
    public func loadState(_ tensors: [String: Tensor<T>]) throws {
        try load("exp_avg", tensors, into: &m)
        try load("exp_avg_sq", tensors, into: &v)
    }
}

enum AdamKernel {
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m/(√v/√c₂ + ε).
    static func step<T: TensorScalar>(_ n: Int, _ g: UnsafePointer<T>, _ m: UnsafeMutablePointer<T>, _ v: UnsafeMutablePointer<T>,
                                      _ p: UnsafeMutablePointer<T>, b1: T, b2: T, eps: T, lr: T, sqrtInverseCorrection2: T) {
        // Element loops go through the specialized kernels: m, v updates as axpy-style
        // passes, the parameter update element-wise.
        T.unaryKernel(.scale(Double(b1)), m, m, n)
        T.axpyKernel(1 - b1, g, m, n)
        T.unaryKernel(.scale(Double(b2)), v, v, n)
        let g2 = UnsafeMutablePointer<T>.allocate(capacity: max(1, n))
        defer { g2.deallocate() }
        T.unaryKernel(.square, g, g2, n)
        T.axpyKernel(1 - b2, g2, v, n)
        // denominator = √v · s + ε, update = m / denominator
        T.unaryKernel(.sqrt, v, g2, n)
        T.unaryKernel(.scale(Double(sqrtInverseCorrection2)), g2, g2, n)
        T.unaryKernel(.shift(Double(eps)), g2, g2, n)
        T.binaryKernel(.divide, m, 1, g2, 1, g2, n)
        T.axpyKernel(-lr, g2, p, n)
    }
}
