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

    public func relu() -> Variable { apply(.relu) }
    public func leakyRelu(slope: Double = 0.01) -> Variable { apply(.leakyRelu(slope: slope)) }
    public func gelu() -> Variable { apply(.gelu) }
    /// log(1 + e^{βx})/β.
    public func softplus(beta: Double = 1) -> Variable { apply(.softplus(beta: beta)) }
    public func sigmoid() -> Variable { apply(.sigmoid) }
    public func tanh() -> Variable { apply(.tanh) }
    public func exp() -> Variable { apply(.exp) }
    public func log() -> Variable { apply(.log) }
    public func square() -> Variable { apply(.square) }
    public func sqrt() -> Variable { apply(.sqrt) }
    public func abs() -> Variable { apply(.abs) }
    public func sin() -> Variable { apply(.sin) }
    public func cos() -> Variable { apply(.cos) }
    public func pow(_ p: Double) -> Variable { apply(.power(p)) }
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
                // The gradient goes to the selected input (to a on ties).
                let pickA = try Tensor.elementwise(.subtract, av.broadcast(to: y.shape), y).map { $0 == 0 ? 1 : 0 }
                if a.requiresGradient { a.accumulate(try (try g * pickA).summed(toShape: av.shape)) }
                if b.requiresGradient { b.accumulate(try (try g * (1 - pickA)).summed(toShape: bv.shape)) }
            }
        }
    }

    public static func + (a: Variable, b: Variable) throws -> Variable { try elementwise(.add, a, b) }
    public static func - (a: Variable, b: Variable) throws -> Variable { try elementwise(.subtract, a, b) }
    public static func * (a: Variable, b: Variable) throws -> Variable { try elementwise(.multiply, a, b) }
    public static func / (a: Variable, b: Variable) throws -> Variable { try elementwise(.divide, a, b) }
    public static func + (a: Variable, s: T) -> Variable { a.apply(.shift(Double(s))) }
    public static func + (s: T, a: Variable) -> Variable { a.apply(.shift(Double(s))) }
    public static func - (a: Variable, s: T) -> Variable { a.apply(.shift(-Double(s))) }
    public static func - (s: T, a: Variable) -> Variable { a.apply(.negate).apply(.shift(Double(s))) }
    public static func * (a: Variable, s: T) -> Variable { a.apply(.scale(Double(s))) }
    public static func * (s: T, a: Variable) -> Variable { a.apply(.scale(Double(s))) }
    public static func / (a: Variable, s: T) -> Variable { a.apply(.scale(1 / Double(s))) }
    public static prefix func - (a: Variable) -> Variable { a.apply(.negate) }

    public static func maximum(_ a: Variable, _ b: Variable) throws -> Variable { try elementwise(.maximum, a, b) }
    public static func minimum(_ a: Variable, _ b: Variable) throws -> Variable { try elementwise(.minimum, a, b) }
}

extension Tensor {
    static func - (s: T, a: Tensor) -> Tensor { a.map(.negate).map(.shift(Double(s))) }
}
