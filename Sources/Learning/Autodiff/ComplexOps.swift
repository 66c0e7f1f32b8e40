/// Complex arithmetic and complex-to-complex FFTs on variables whose trailing axis of size 2
/// holds (re, im), with their VJPs.
///
/// Gradients of complex values follow the same layout: the gradient of a real loss L with
/// respect to z = a + ib is stored as (∂L/∂a, ∂L/∂b). For a complex-linear map y = A z the
/// VJP is then g ↦ Aᴴ g.
extension Variable {
    /// The element-wise complex product a·b of two complex variables [..., 2], with numpy
    /// broadcasting over the leading axes (the (re, im) axes are matched, never broadcast).
    /// VJP: ḡ·conj(b) to a and ḡ·conj(a) to b, summed back over broadcast axes. Throws
    /// `LearningError.shapeMismatch` when an operand's last axis is not 2 or the leading
    /// axes do not broadcast.
    public static func complexMultiply(_ a: Variable, _ b: Variable) throws -> Variable {
        let av = a.value, bv = b.value
        guard av.shape.last == 2, bv.shape.last == 2,
              let full = Tensor<T>.broadcastShape(Array(av.shape.dropLast()), Array(bv.shape.dropLast())) else {
            throw LearningError.shapeMismatch(operation: "complexMultiply", expected: "complex operands [..., 2] whose leading axes broadcast",
                                              got: "\(shapeString(av.shape)) and \(shapeString(bv.shape))")
        }
        let shape = full + [2]
        let ab = try av.broadcast(to: shape), bb = try bv.broadcast(to: shape)
        let y = complexProduct(ab, bb, conjugateSecond: false)
        return Variable.record(y, [a, b]) { g in
            if a.requiresGradient { a.accumulate(try complexProduct(g, bb, conjugateSecond: true).summed(toShape: av.shape)) }
            if b.requiresGradient { b.accumulate(try complexProduct(g, ab, conjugateSecond: true).summed(toShape: bv.shape)) }
        }
    }

    /// The complex conjugate of a complex variable [..., 2] (the imaginary parts negated);
    /// the VJP conjugates the gradient. Throws `LearningError.shapeMismatch` when the last
    /// axis is not 2.
    public func conjugated() throws -> Variable {
        guard value.shape.last == 2 else {
            throw LearningError.shapeMismatch(operation: "conjugated", expected: "a complex variable [..., 2]", got: shapeString(value.shape))
        }
        return Variable.record(Variable.conjugate(value), [self]) { [self] g in accumulate(Variable.conjugate(g)) }
    }

    /// The complex-to-complex DFT of a complex variable [..., 2] over the complex axes
    /// `axes` (negative ones count from the end of the complex shape, i.e. −1 is the axis
    /// before (re, im)), through FFTW in the variable's precision. Forward:
    /// X[k] = Σₙ x[n]·e^{−2πi k·n/N}, unnormalized; `inverse`: x[n] = (1/N) Σₖ X[k]·e^{+2πi k·n/N}
    /// (numpy's and PyTorch's "backward" norm; N is the product of the transformed sizes).
    /// VJP: the adjoint of the unnormalized forward DFT F is Fᴴ = N·ifft, so the forward
    /// gradient is the unnormalized backward DFT of ḡ and the inverse gradient is F ḡ / N.
    /// Throws `LearningError.shapeMismatch` when the last axis is not 2, and
    /// `invalidArgument` for an empty, repeated or out-of-range axis list.
    public func fft(axes: [Int], inverse: Bool = false) throws -> Variable {
        let s = value.shape
        guard s.count >= 2, s.last == 2 else {
            throw LearningError.shapeMismatch(operation: "fft", expected: "a complex variable [..., 2] with at least one complex axis", got: shapeString(s))
        }
        let rank = s.count - 1
        let normalized = axes.map { $0 < 0 ? $0 + rank : $0 }
        guard !axes.isEmpty, normalized.allSatisfy({ (0..<rank).contains($0) }), Set(normalized).count == normalized.count else {
            throw LearningError.invalidArgument(name: "fft axes", value: "\(axes) on complex shape \(shapeString(Array(s.dropLast())))",
                                                expected: "distinct axes of the complex shape (the (re, im) axis excluded)")
        }
        let n = normalized.reduce(1) { $0 * s[$1] }
        var y = try FFT.complexTransform(value, axes: normalized, inverse: inverse)
        if inverse { y.scaleInPlace(1 / Double(n)) }
        return Variable.record(y, [self]) { [self] g in
            var gx = try FFT.complexTransform(g, axes: normalized, inverse: !inverse)
            if inverse { gx.scaleInPlace(1 / Double(n)) }
            accumulate(gx)
        }
    }

    /// (a·b) or (a·conj b) of equal-shape complex tensors [..., 2].
    static func complexProduct(_ a: Tensor<T>, _ b: Tensor<T>, conjugateSecond: Bool) -> Tensor<T> {
        let sign: T = conjugateSecond ? -1 : 1
        return Tensor<T>(uninitializedShape: a.shape) { y in
            a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                var i = 0
                while i < a.count {
                    let (ar, ai, br, bi) = (pa[i], pa[i + 1], pb[i], sign * pb[i + 1])
                    y[i] = ar * br - ai * bi
                    y[i + 1] = ar * bi + ai * br
                    i += 2
                }
            } }
        }
    }

    /// The imaginary parts of a complex tensor [..., 2] negated.
    static func conjugate(_ x: Tensor<T>) -> Tensor<T> {
        var y = x
        y.scalars.withUnsafeMutableBufferPointer { p in
            var i = 1
            while i < p.count { p[i] = -p[i]; i += 2 }
        }
        return y
    }
}
