/// A module: an object that owns variables (parameters and buffers) and sub-modules in its
/// stored properties. Names follow the property paths, as PyTorch's state dicts do:
/// `layers.0.weight`, `lift.bias`. Arrays of modules or variables are numbered; optional
/// properties that are nil are skipped.
public protocol Module: AnyObject {}

/// A module with a forward pass on variables of one precision.
public protocol Layer<Scalar>: Module {
    associatedtype Scalar: TensorScalar
    /// The forward pass (recording the graph when gradients are on); throws a `LearningError`
    /// on an input shape the layer cannot take.
    func callAsFunction(_ x: Variable<Scalar>) throws -> Variable<Scalar>
}

extension Module {
    /// Every variable in the module tree with its path, in declaration order (parameters,
    /// which require gradients, and buffers, which do not).
    public func namedVariables<T: TensorScalar>(_: T.Type = T.self) -> [(name: String, variable: Variable<T>)] {
        var out: [(name: String, variable: Variable<T>)] = []
        var seen = Set<ObjectIdentifier>()
        collect(self, prefix: "", into: &out, seen: &seen)
        return out
    }

    /// The trainable variables with their paths.
    public func namedParameters<T: TensorScalar>(_: T.Type = T.self) -> [(name: String, variable: Variable<T>)] {
        namedVariables(T.self).filter { $0.variable.requiresGradient }
    }

    /// The trainable variables.
    public func parameters<T: TensorScalar>(_: T.Type = T.self) -> [Variable<T>] {
        namedParameters(T.self).map(\.variable)
    }

    /// Total number of trainable scalars.
    public func parameterCount<T: TensorScalar>(_: T.Type = T.self) -> Int {
        parameters(T.self).reduce(0) { $0 + $1.value.count }
    }

    /// Drops every parameter's gradient.
    public func zeroGradients<T: TensorScalar>(_: T.Type = T.self) {
        for p in parameters(T.self) { p.zeroGradient() }
    }
}

private func collect<T: TensorScalar>(_ value: Any, prefix: String, into out: inout [(name: String, variable: Variable<T>)],
                                      seen: inout Set<ObjectIdentifier>) {
    if let v = value as? Variable<T> {
        if seen.insert(ObjectIdentifier(v)).inserted {
            if v.name.isEmpty { v.name = prefix }
            out.append((name: prefix, variable: v))
        }
        return
    }
    let mirror = Mirror(reflecting: value)
    if value is Module {
        var m: Mirror? = mirror
        var children: [(String?, Any)] = []
        // Superclass properties first.
        var chain: [Mirror] = []
        while let current = m { chain.append(current); m = current.superclassMirror }
        for c in chain.reversed() { children += c.children.map { ($0.label, $0.value) } }
        for (label, child) in children {
            guard let label else { continue }
            collect(child, prefix: prefix.isEmpty ? label : prefix + "." + label, into: &out, seen: &seen)
        }
        return
    }
    switch mirror.displayStyle {
    case .collection?:
        for (i, child) in mirror.children.enumerated() {
            collect(child.value, prefix: prefix + "." + String(i), into: &out, seen: &seen)
        }
    case .optional?:
        if let child = mirror.children.first { collect(child.value, prefix: prefix, into: &out, seen: &seen) }
    default:
        break
    }
}

/// Layers applied in order.
public final class Sequential<T: TensorScalar>: Layer {
    /// Applied first to last; their parameters are named `layers.0.…`, `layers.1.…`.
    public var layers: [any Layer<T>]
    /// The layers to apply, first to last.
    public init(_ layers: [any Layer<T>]) { self.layers = layers }
    /// Applies the layers in order; rethrows their errors.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        var y = x
        for l in layers { y = try l(y) }
        return y
    }
}

/// An element-wise activation as a layer.
public final class Activation<T: TensorScalar>: Layer {
    public let function: UnaryOp
    /// Wraps `function`; the layer has no parameters.
    public init(_ function: UnaryOp) { self.function = function }
    /// `function` applied element-wise (same shape; never throws).
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> { x.apply(function) }
}

/// x + f(x), with an optional linear projection of x when f changes the channel count.
public final class Residual<T: TensorScalar>: Layer {
    public var body: any Layer<T>
    /// Maps x to the body's output shape (e.g. a 1×1 convolution); nil: x itself.
    public var shortcut: (any Layer<T>)?
    /// A layer computing `body(x) + x`, or `body(x) + shortcut(x)` with a shortcut (for a body
    /// that changes the shape).
    public init(_ body: any Layer<T>, shortcut: (any Layer<T>)? = nil) {
        self.body = body
        self.shortcut = shortcut
    }
    /// body(x) + shortcut(x) (or + x), with broadcasting; throws `LearningError.shapeMismatch`
    /// when the two do not broadcast, and rethrows the layers' errors.
    public func callAsFunction(_ x: Variable<T>) throws -> Variable<T> {
        let skip = try shortcut.map { try $0(x) } ?? x
        return try body(x) + skip
    }
}
