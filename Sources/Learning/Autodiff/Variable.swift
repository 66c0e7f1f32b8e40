/// Reverse-mode automatic differentiation, define-by-run.
///
/// Every operation on `Variable`s computes its value at once and, when gradients are on
/// and an input requires one, records a node holding its inputs and a hand-written
/// vector–Jacobian product (VJP). `backward()` orders the recorded nodes that lead to the
/// result topologically (the tape) and runs the VJPs in reverse, accumulating gradients.
/// Leaves (parameters, inputs with `requiresGradient`) keep their gradient in `grad` and
/// accumulate across calls until `zeroGradient()`; intermediate gradients are released.
///
/// Graphs are built on one thread at a time (the kernels inside each operation use
/// several). Higher-order derivatives are not recorded: a VJP runs on plain tensors.
public final class Variable<T: TensorScalar> {
    /// The value. Optimizers update parameters in place through it.
    public var value: Tensor<T>
    /// The accumulated gradient of the last `backward()` calls (leaves), or nil.
    public var grad: Tensor<T>?
    /// Whether gradients flow to this variable.
    public let requiresGradient: Bool
    /// A name for messages and checkpoints (modules set their parameters' names).
    public var name: String

    let parents: [Variable<T>]
    let vjp: ((Tensor<T>) throws -> Void)?

    /// A leaf: a constant input, or a trainable tensor when `requiresGradient` is set.
    public init(_ value: Tensor<T>, requiresGradient: Bool = false, name: String = "") {
        self.value = value
        self.requiresGradient = requiresGradient
        self.name = name
        self.parents = []
        self.vjp = nil
    }

    init(value: Tensor<T>, parents: [Variable<T>], vjp: @escaping (Tensor<T>) throws -> Void) {
        self.value = value
        self.requiresGradient = true
        self.name = ""
        self.parents = parents
        self.vjp = vjp
    }

    /// Records the result of an operation: a graph node when gradients are on and an input
    /// needs one, otherwise a constant.
    static func record(_ value: Tensor<T>, _ parents: [Variable<T>], _ vjp: @escaping (Tensor<T>) throws -> Void) -> Variable<T> {
        if Autodiff.isRecording && parents.contains(where: { $0.requiresGradient }) {
            return Variable(value: value, parents: parents, vjp: vjp)
        }
        return Variable(value)
    }

    public var shape: [Int] { value.shape }
    /// True for variables created directly (not by an operation).
    public var isLeaf: Bool { vjp == nil }

    /// The same value, cut from the graph (no gradient flows through it).
    public func detached() -> Variable<T> { Variable(value) }

    /// Drops the accumulated gradient.
    public func zeroGradient() { grad = nil }

    /// Adds `g` to the gradient (called by VJPs).
    func accumulate(_ g: Tensor<T>) {
        guard requiresGradient else { return }
        if grad == nil { grad = g } else { grad!.addUnchecked(g) }
    }

    /// Back-propagates from this variable. `seed` is ∂L/∂self; it defaults to 1 for a
    /// variable with one element (a loss). Throws when the variable does not depend on
    /// anything that requires a gradient, or the seed's shape is wrong.
    public func backward(seed: Tensor<T>? = nil) throws {
        guard requiresGradient else {
            throw LearningError.noGradient(reason: "the value does not depend on any variable that requires a gradient (or was computed without gradients)")
        }
        let s: Tensor<T>
        if let seed {
            guard seed.shape == value.shape else {
                throw LearningError.shapeMismatch(operation: "backward seed", expected: shapeString(value.shape), got: shapeString(seed.shape))
            }
            s = seed
        } else {
            guard value.count == 1 else {
                throw LearningError.invalidArgument(name: "backward", value: "a result of shape \(shapeString(value.shape))",
                                                    expected: "a seed gradient for results with more than one element")
            }
            s = Tensor(repeating: 1, shape: value.shape)
        }
        // Topological order of the nodes that lead here (iterative DFS, post-order).
        var order: [Variable<T>] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable<T>, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let top = stack.popLast() {
            let node = top.0
            var next = top.1
            if next < node.parents.count {
                let p = node.parents[next]
                next += 1
                stack.append((node, next))
                if p.requiresGradient && !p.isLeaf && !visited.contains(ObjectIdentifier(p)) {
                    visited.insert(ObjectIdentifier(p))
                    stack.append((p, 0))
                }
            } else {
                order.append(node)
            }
        }
        accumulate(s)
        for node in order.reversed() {
            guard let g = node.grad, let vjp = node.vjp else { continue }
            node.grad = nil  // intermediate gradients are released once used
            try vjp(g)
        }
    }
}

/// Whether operations record the graph. The switch is per task (per thread outside Swift
/// concurrency): `withoutGradient` on one thread — an evaluation — does not stop another
/// thread's training step from recording.
public enum Autodiff {
    @TaskLocal static var recordingOff = false

    /// False inside `withoutGradient` (on this task or thread).
    public static var isRecording: Bool { !recordingOff }

    /// Runs `body` without recording (evaluation, inference, parameter updates).
    public static func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
        try $recordingOff.withValue(true) { try body() }
    }
}
