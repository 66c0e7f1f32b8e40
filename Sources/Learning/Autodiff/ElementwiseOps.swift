/// Element-wise operations with broadcasting, and their VJPs.
extension Variable {
    /// f(x) element-wise, for every `UnaryOp`.
    public func apply(_ op: UnaryOp) -> Variable {
        let x = value
        let y = x.map(op)
        return Variable.record(y, [self]) { [self] g in
            let gx = Tensor<T>(uninitializedShape: x.shape) { gx in
                x.scalars.withUnsafeBufferPointer { px in y.scalars.withUnsafeBufferPointer { py in g.scalars.withUnsafeBufferPointer { pg in
                    T.unaryBackwardKernel(op, px.baseAddress!, py.baseAddress!, pg.baseAddress!, gx, x.count)
                } } }
            }
            accumulate(gx)
        }
    }

    /// max(x, 0) element-wise; the gradient passes where x > 0.
    public func relu() -> Variable { apply(.relu) }
    /// max(x, 0) + slope·min(x, 0) element-wise (PyTorch's default slope 0.01).
    public func leakyRelu(slope: Double = 0.01) -> Variable { apply(.leakyRelu(slope: slope)) }
    /// The exact GELU x·Φ(x) (erf form, PyTorch's default); Float runs CVectorMath's
    /// `svm_gelu` forward and `svm_gelu_backward` in the VJP.
    public func gelu() -> Variable { apply(.gelu) }
    /// log(1 + e^{βx})/β.
    public func softplus(beta: Double = 1) -> Variable { apply(.softplus(beta: beta)) }
    /// 1/(1 + e^{−x}), without overflow for large |x|; the VJP uses y(1 − y).
    public func sigmoid() -> Variable { apply(.sigmoid) }
    /// tanh x element-wise; the VJP uses 1 − y².
    public func tanh() -> Variable { apply(.tanh) }
    /// eˣ element-wise; the VJP reuses y.
    public func exp() -> Variable { apply(.exp) }
    /// Natural logarithm element-wise (−∞ at 0, NaN below); the VJP is g/x.
    public func log() -> Variable { apply(.log) }
    /// x² element-wise; the VJP is 2x·g.
    public func square() -> Variable { apply(.square) }
    /// √x element-wise; the VJP g/(2√x) is infinite at 0.
    public func sqrt() -> Variable { apply(.sqrt) }
    /// |x| element-wise; the VJP is sign(x)·g, 0 at x = 0.
    public func abs() -> Variable { apply(.abs) }
    /// sin x element-wise (evaluated in Double); the VJP is cos x·g.
    public func sin() -> Variable { apply(.sin) }
    /// cos x element-wise (evaluated in Double); the VJP is −sin x·g.
    public func cos() -> Variable { apply(.cos) }
    /// xᵖ element-wise (x > 0 unless p is a whole number; p = 2 squares exactly); the VJP
    /// is p·x^{p−1}·g.
    public func pow(_ p: Double) -> Variable { apply(.power(p)) }
    /// 1/x element-wise; the VJP is −g/x².
    public func reciprocal() -> Variable { apply(.reciprocal) }

    /// a ∘ b with broadcasting; the VJP sums gradients back over broadcast axes.
    public static func elementwise(_ op: BinaryOp, _ a: Variable, _ b: Variable) throws -> Variable {
        let av = a.value, bv = b.value
        let y = try Tensor.elementwise(op, av, bv)
        return Variable.record(y, [a, b]) { g in
            switch op {
            case .add:
                if a.requiresGradient { a.accumulate(try g.summed(toShape: av.shape)) }
                if b.requiresGradient { b.accumulate(try g.summed(toShape: bv.shape)) }
            case .subtract:
                if a.requiresGradient { a.accumulate(try g.summed(toShape: av.shape)) }
                if b.requiresGradient { b.accumulate(-(try g.summed(toShape: bv.shape))) }
            case .multiply:
                if a.requiresGradient { a.accumulate(try (try Tensor.elementwise(.multiply, g, bv)).summed(toShape: av.shape)) }
                if b.requiresGradient { b.accumulate(try (try Tensor.elementwise(.multiply, g, av)).summed(toShape: bv.shape)) }
            case .divide:
                if a.requiresGradient { a.accumulate(try (try Tensor.elementwise(.divide, g, bv)).summed(toShape: av.shape)) }
                if b.requiresGradient {
                    // ∂(a/b)/∂b = −y/b.
                    let t = try Tensor.elementwise(.divide, try Tensor.elementwise(.multiply, g, y), bv)
                    b.accumulate(-(try t.summed(toShape: bv.shape)))
                }
            case .maximum, .minimum:
                // The gradient goes to the selected input (to a on ties): a was selected where
                // y equals it (compared, not subtracted, so ±∞ selections are found too).
                let ab = try av.broadcast(to: y.shape)
                let pickA = Tensor(unchecked: y.shape, zip(ab.scalars, y.scalars).map { $0 == $1 ? T(1) : T(0) })
                if a.requiresGradient { a.accumulate(try (try g * pickA).summed(toShape: av.shape)) }
                if b.requiresGradient { b.accumulate(try (try g * (1 - pickA)).summed(toShape: bv.shape)) }
            }
        }
    }

    /// a + b with numpy broadcasting; the VJP sums the gradient back to each shape. Throws
    /// `LearningError.shapeMismatch` when the shapes do not broadcast.
    public static func + (a: Variable, b: Variable) throws -> Variable { try elementwise(.add, a, b) }
    /// a − b with numpy broadcasting; throws `LearningError.shapeMismatch` when the shapes do
    /// not broadcast.
    public static func - (a: Variable, b: Variable) throws -> Variable { try elementwise(.subtract, a, b) }
    /// a · b element-wise with numpy broadcasting; throws `LearningError.shapeMismatch` when
    /// the shapes do not broadcast.
    public static func * (a: Variable, b: Variable) throws -> Variable { try elementwise(.multiply, a, b) }
    /// a / b element-wise with numpy broadcasting (the VJP for b is −g·y/b); throws
    /// `LearningError.shapeMismatch` when the shapes do not broadcast.
    public static func / (a: Variable, b: Variable) throws -> Variable { try elementwise(.divide, a, b) }
    /// Adds the constant s to every element.
    public static func + (a: Variable, s: T) -> Variable { a.apply(.shift(Double(s))) }
    /// Adds the constant s to every element.
    public static func + (s: T, a: Variable) -> Variable { a.apply(.shift(Double(s))) }
    /// Subtracts the constant s from every element.
    public static func - (a: Variable, s: T) -> Variable { a.apply(.shift(-Double(s))) }
    /// s − a element-wise (recorded as a negation and a shift).
    public static func - (s: T, a: Variable) -> Variable { a.apply(.negate).apply(.shift(Double(s))) }
    /// Multiplies every element by the constant s.
    public static func * (a: Variable, s: T) -> Variable { a.apply(.scale(Double(s))) }
    /// Multiplies every element by the constant s.
    public static func * (s: T, a: Variable) -> Variable { a.apply(.scale(Double(s))) }
    /// Multiplies every element by 1/s (computed in Double).
    public static func / (a: Variable, s: T) -> Variable { a.apply(.scale(1 / Double(s))) }
    /// −a element-wise.
    public static prefix func - (a: Variable) -> Variable { a.apply(.negate) }

    /// Element-wise max with numpy broadcasting; the gradient goes to the selected operand
    /// (to `a` on ties). Throws `LearningError.shapeMismatch` when the shapes do not broadcast.
    public static func maximum(_ a: Variable, _ b: Variable) throws -> Variable { try elementwise(.maximum, a, b) }
    /// Element-wise min with numpy broadcasting; the gradient goes to the selected operand
    /// (to `a` on ties). Throws `LearningError.shapeMismatch` when the shapes do not broadcast.
    public static func minimum(_ a: Variable, _ b: Variable) throws -> Variable { try elementwise(.minimum, a, b) }
}

extension Tensor {
    static func - (s: T, a: Tensor) -> Tensor { a.map(.negate).map(.shift(Double(s))) }
}
