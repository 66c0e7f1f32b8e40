/// Max pooling and circular (periodic) padding on variables, with their VJPs.
extension Variable {
    /// Max pooling of x [B, C, S…] (1–3 spatial axes) over windows `kernel` moved by `stride`
    /// (default: the kernel, non-overlapping windows), no padding: output size
    /// ⌊(S − K)/s⌋ + 1 per axis (PyTorch's `MaxPool1d/2d/3d` without padding). Ties go to the
    /// first maximum in row-major window order and NaN counts as the maximum. The VJP routes
    /// each output gradient to its argmax (summing where overlapping windows share one).
    /// Throws `LearningError.shapeMismatch` for a rank other than 3–5, `invalidArgument` for
    /// kernels or strides that are not one positive value per spatial axis or windows larger
    /// than the input.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func maxPooled(kernel: [Int], stride: [Int]? = nil) throws -> Variable {
        let xs = value.shape
        let d = xs.count - 2
        guard (1...3).contains(d) else {
            throw LearningError.shapeMismatch(operation: "max pooling", expected: "[B, C, S…] with 1–3 spatial axes", got: shapeString(xs))
        }
        let st = stride ?? kernel
        guard kernel.count == d, st.count == d, kernel.allSatisfy({ $0 >= 1 }), st.allSatisfy({ $0 >= 1 }),
              (0..<d).allSatisfy({ kernel[$0] <= xs[2 + $0] }) else {
            throw LearningError.invalidArgument(name: "max pooling", value: "kernel \(kernel), stride \(st) on \(shapeString(xs))",
                                                expected: "\(d) positive values each, windows no larger than the input")
        }
        var out = [Int](repeating: 0, count: d)
        for a in 0..<d { out[a] = (xs[2 + a] - kernel[a]) / st[a] + 1 }
        // As 3-D: leading spatial axes of size 1.
        let pad = [Int](repeating: 1, count: 3 - d)
        let s3 = pad + Array(xs[2...]), k3 = pad + kernel, t3 = pad + st, o3 = pad + out
        let planes = xs[0] * xs[1], inSize = s3.reduce(1, *), outSize = o3.reduce(1, *)
        var ys = [T](repeating: 0, count: planes * outSize)
        var argmax = [Int](repeating: 0, count: planes * outSize)
        value.scalars.withUnsafeBufferPointer { px in
            for p in 0..<planes {
                let xb = p * inSize
                var o = p * outSize
                for i0 in 0..<o3[0] { for i1 in 0..<o3[1] { for i2 in 0..<o3[2] {
                    var best = -T.infinity, at = -1
                    for a in 0..<k3[0] {
                        let r0 = (i0 * t3[0] + a) * s3[1]
                        for b in 0..<k3[1] {
                            let r1 = (r0 + i1 * t3[1] + b) * s3[2] + i2 * t3[2]
                            for c in 0..<k3[2] {
                                let k = xb + r1 + c, v = px[k]
                                if at < 0 || v > best || (v.isNaN && !best.isNaN) { best = v; at = k }
                            }
                        }
                    }
                    ys[o] = best
                    argmax[o] = at
                    o += 1
                } } }
            }
        }
        let y = Tensor<T>(unchecked: [xs[0], xs[1]] + out, ys)
        return Variable.record(y, [self]) { [self] g in
            var gx = [T](repeating: 0, count: planes * inSize)
            for (i, k) in argmax.enumerated() { gx[k] += g.scalars[i] }
            accumulate(Tensor<T>(unchecked: xs, gx))
        }
    }

    /// Circular (periodic) padding of the last `pads.count` axes: `pads[i]` gives the entries
    /// added before and after the i-th of them, taken from the other end (PyTorch's
    /// `F.pad(mode: "circular")` with its pads listed first axis first). Pads larger than
    /// the axis wrap around again. The VJP sums the wrapped gradients back onto the entries
    /// they copy. Throws `LearningError.invalidArgument` for more pads than axes or a negative
    /// pad, `shapeMismatch` for padding an empty axis.
    public func paddedCircular(_ pads: [(before: Int, after: Int)]) throws -> Variable {
        let xs = value.shape
        guard pads.count <= xs.count, pads.allSatisfy({ $0.before >= 0 && $0.after >= 0 }) else {
            throw LearningError.invalidArgument(name: "circular padding", value: "\(pads.map { [$0.before, $0.after] }) on \(shapeString(xs))",
                                                expected: "at most one non-negative (before, after) pair per axis")
        }
        var gathers: [(axis: Int, indices: [Int])] = []
        for (i, p) in pads.enumerated() where p.before > 0 || p.after > 0 {
            let a = xs.count - pads.count + i, n = xs[a]
            guard n >= 1 else {
                throw LearningError.shapeMismatch(operation: "circular padding of axis \(a)", expected: "a non-empty axis", got: shapeString(xs))
            }
            gathers.append((a, (0..<(n + p.before + p.after)).map { (($0 - p.before) % n + n) % n }))
        }
        var y = value
        for (a, idx) in gathers { y = try y.gathered(idx, axis: a) }
        return Variable.record(y, [self]) { [self] g in
            var gx = g
            for (a, idx) in gathers.reversed() { gx = gx.scatterAdded(idx, axis: a, size: xs[a]) }
            accumulate(gx)
        }
    }
}
