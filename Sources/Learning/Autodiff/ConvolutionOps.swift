import CVectorMath
/// N-dimensional convolution (1-, 2-, 3-D; stride, zero padding), its transpose, average
/// pooling and up-sampling, with VJPs. Convolutions are im2col + GEMM on chunks of output
/// lines (so the column buffer stays small: a 64³ × 16-channel 3-D convolution needs a few
/// MB of scratch per thread), parallel over images and chunks with single-threaded BLAS
/// inside. Stride-1 input gradients and transposed convolutions run as forward convolutions
/// with the flipped kernel; other strides scatter through col2im, one image per worker.
/// Float 3×3(×3) convolutions with stride 1 and padding 1 take the direct kernels instead
/// (`directGeometry`).
enum ConvEngine {
    /// Column-buffer budget per worker (elements).
    static let columnBudget = 1 << 16

    /// Output rows per work item of the direct kernels: forward (and input gradient), and
    /// weight gradient (which sums across lanes once per item).
    static let directChunkRows = 16, directGradientChunkRows = 32

    /// The direct 3×3(×3) kernels (`svm_conv3_*`, CVectorMath/Conv3.c) serve Float
    /// convolutions of 2 or 3 spatial axes with kernel 3, stride 1 and padding 1 ("same"
    /// size, the DCDM, LPN and LSM layers) of at least 8 × 8 pixels: no column buffer and no
    /// small-M GEMM. Their geometry
    /// (dims, depth, height, width), or nil when they do not apply.
    static func directGeometry<T: TensorScalar>(_ g: ConvGeometry, _: T.Type) -> (dims: Int32, depth: Int, height: Int, width: Int)? {
        guard T.self == Float.self, g.spatial.count >= 2, g.kernel.allSatisfy({ $0 == 3 }), g.stride.allSatisfy({ $0 == 1 }),
              g.padding.allSatisfy({ $0 == 1 }) else { return nil }
        let s = g.spatial
        // Below 8 × 8 pixels a 2-D plane fills too few AVX2 lanes per row: im2col + SGEMM
        // (0.76× the direct kernels' time for 256 channels at 6 × 6, forward and backward).
        if s.count == 2 && s[0] * s[1] < 64 { return nil }
        return s.count == 2 ? (2, 1, s[0], s[1]) : (3, s[0], s[1], s[2])
    }

    static func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    static func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    static func linesPerChunk(_ g: ConvGeometry, channels: Int) -> Int {
        let rows = channels * g.kernelSize, width = g.output[g.output.count - 1]
        return max(1, min(g.lineCount, columnBudget / max(1, rows * width)))
    }

    /// y[B, Cout, O…] = conv(x[B, Cin, S…], w[Cout, Cin, K…]).
    static func forward<T: TensorScalar>(_ x: Tensor<T>, _ w: Tensor<T>, _ g: ConvGeometry,
                                         batch: Int, cin: Int, cout: Int) -> Tensor<T> {
        let inSize = g.inputSize, outSize = g.outputSize, rows = cin * g.kernelSize
        return Tensor(uninitializedShape: [batch, cout] + g.output) { y in
            x.scalars.withUnsafeBufferPointer { px in w.scalars.withUnsafeBufferPointer { pw in
                let px = px.baseAddress!, pw = pw.baseAddress!
                if let d = directGeometry(g, T.self) {
                    let items = svm_conv3_items(d.dims, batch, d.depth, d.height, directChunkRows)
                    Threads.parallelDynamic(items) { s, e in
                        let status = svm_conv3_forward(d.dims, floats(px), floats(pw), floats(y), cin, cout, d.depth, d.height, d.width,
                                                       directChunkRows, s, e)
                        precondition(status == 0, "svm_conv3_forward failed (\(status)): no memory for its panel")
                    }
                    return
                }
                if g.isPointwise {
                    Threads.parallelItems(batch) { _, s, e in
                        for b in s..<e {
                            T.gemm(transA: false, transB: false, m: cout, n: inSize, k: cin, alpha: 1, a: pw, lda: cin,
                                   b: px + b * cin * inSize, ldb: inSize, beta: 0, c: y + b * cout * outSize, ldc: outSize)
                        }
                    }
                    return
                }
                let lines = linesPerChunk(g, channels: cin), width = g.output[g.output.count - 1]
                let chunks = (g.lineCount + lines - 1) / lines
                Threads.parallelItems(batch * chunks) { _, s, e in
                    let col = UnsafeMutablePointer<T>.allocate(capacity: rows * lines * width)
                    defer { col.deallocate() }
                    for item in s..<e {
                        let b = item / chunks, l0 = (item % chunks) * lines, nl = min(lines, g.lineCount - l0)
                        T.im2colKernel(g, channels: cin, px + b * cin * inSize, col, lineStart: l0, lines: nl)
                        T.gemm(transA: false, transB: false, m: cout, n: nl * width, k: rows, alpha: 1, a: pw, lda: rows,
                               b: col, ldb: nl * width, beta: 0, c: y + b * cout * outSize + l0 * width, ldc: outSize)
                    }
                }
            } }
        }
    }

    /// dx[B, Cin, S…] from dy[B, Cout, O…] (the transpose of `forward` in x).
    static func inputGradient<T: TensorScalar>(_ gy: Tensor<T>, _ w: Tensor<T>, _ g: ConvGeometry,
                                               batch: Int, cin: Int, cout: Int) -> Tensor<T> {
        let inSize = g.inputSize, outSize = g.outputSize, rows = cin * g.kernelSize
        // Stride 1: the adjoint is itself a convolution, with the kernel flipped along every
        // axis, the channel axes swapped and padding K − 1 − p, so it runs on the forward
        // path (im2col chunks shared by the workers even for one image; no col2im scatter).
        if !g.isPointwise, g.stride.allSatisfy({ $0 == 1 }), zip(g.padding, g.kernel).allSatisfy({ $0 <= $1 - 1 }),
           let adjoint = try? ConvGeometry(spatial: g.output, kernel: g.kernel, stride: g.stride,
                                           padding: zip(g.kernel, g.padding).map { $0 - 1 - $1 }),
           adjoint.output == g.spatial {
            let k = g.kernelSize
            let flipped = Tensor<T>(uninitializedShape: [cin, cout] + g.kernel) { f in
                w.scalars.withUnsafeBufferPointer { pw in
                    for o in 0..<cout { for i in 0..<cin {
                        let src = pw.baseAddress! + (o &* cin &+ i) &* k, dst = f + (i &* cout &+ o) &* k
                        for t in 0..<k { dst[t] = src[k &- 1 &- t] }
                    } }
                }
            }
            return forward(gy, flipped, adjoint, batch: batch, cin: cout, cout: cin)
        }
        var dx = Tensor<T>(zeros: [batch, cin] + g.spatial)
        dx.scalars.withUnsafeMutableBufferPointer { pdx in
            gy.scalars.withUnsafeBufferPointer { pgy in w.scalars.withUnsafeBufferPointer { pw in
                let pdx = pdx.baseAddress!, pgy = pgy.baseAddress!, pw = pw.baseAddress!
                if g.isPointwise {
                    Threads.parallelItems(batch) { _, s, e in
                        for b in s..<e {
                            T.gemm(transA: true, transB: false, m: cin, n: inSize, k: cout, alpha: 1, a: pw, lda: cin,
                                   b: pgy + b * cout * outSize, ldb: outSize, beta: 0, c: pdx + b * cin * inSize, ldc: inSize)
                        }
                    }
                    return
                }
                let lines = linesPerChunk(g, channels: cin), width = g.output[g.output.count - 1]
                let chunks = (g.lineCount + lines - 1) / lines
                // Images are independent; chunks of one image overlap in dx, so one image
                // belongs to one worker.
                Threads.parallelItems(batch) { _, s, e in
                    let col = UnsafeMutablePointer<T>.allocate(capacity: rows * lines * width)
                    defer { col.deallocate() }
                    for b in s..<e {
                        for c in 0..<chunks {
                            let l0 = c * lines, nl = min(lines, g.lineCount - l0)
                            T.gemm(transA: true, transB: false, m: rows, n: nl * width, k: cout, alpha: 1, a: pw, lda: rows,
                                   b: pgy + b * cout * outSize + l0 * width, ldb: outSize, beta: 0, c: col, ldc: nl * width)
                            T.col2imKernel(g, channels: cin, col, pdx + b * cin * inSize, lineStart: l0, lines: nl)
                        }
                    }
                }
            } }
        }
        return dx
    }

    /// dw[Cout, Cin, K…] = Σ_b dy_b · im2col(x_b)ᵀ.
    static func weightGradient<T: TensorScalar>(_ x: Tensor<T>, _ gy: Tensor<T>, _ g: ConvGeometry,
                                                batch: Int, cin: Int, cout: Int) -> Tensor<T> {
        let inSize = g.inputSize, outSize = g.outputSize, rows = cin * g.kernelSize
        if let d = directGeometry(g, T.self) {
            let items = svm_conv3_items(d.dims, batch, d.depth, d.height, directGradientChunkRows)
            let workers = max(1, min(Threads.count, items))
            let accumulators = (0..<workers).map { _ in UnsafeMutablePointer<T>.allocate(capacity: cout * rows) }
            defer { accumulators.forEach { $0.deallocate() } }
            for acc in accumulators { T.fillKernel(0, acc, cout * rows) }
            x.scalars.withUnsafeBufferPointer { px in gy.scalars.withUnsafeBufferPointer { pgy in
                let px = px.baseAddress!, pgy = pgy.baseAddress!
                Threads.parallelItems(items) { worker, s, e in
                    let acc = accumulators[worker]
                    let status = svm_conv3_weight_gradient(d.dims, floats(px), floats(pgy), floats(acc), cin, cout, d.depth, d.height, d.width,
                                                           directGradientChunkRows, s, e)
                    precondition(status == 0, "svm_conv3_weight_gradient failed (\(status)): no memory for its panel")
                }
            } }
            return Tensor(uninitializedShape: [cout, cin] + g.kernel) { total in
                copyElements(accumulators[0], total, cout * rows)
                for w in accumulators.dropFirst() { T.axpyKernel(1, w, total, cout * rows) }
            }
        }
        let workers = max(1, min(Threads.count, batch))
        let lines = linesPerChunk(g, channels: cin), width = g.output[g.output.count - 1]
        let chunks = (g.lineCount + lines - 1) / lines
        // One accumulator per worker, summed at the end (deterministic for a fixed thread count).
        let accumulators = (0..<workers).map { _ in UnsafeMutablePointer<T>.allocate(capacity: cout * rows) }
        defer { accumulators.forEach { $0.deallocate() } }
        x.scalars.withUnsafeBufferPointer { px in gy.scalars.withUnsafeBufferPointer { pgy in
            let px = px.baseAddress!, pgy = pgy.baseAddress!
            Threads.parallelItems(batch) { worker, s, e in
                let acc = accumulators[worker]
                T.fillKernel(0, acc, cout * rows)
                if g.isPointwise {
                    for b in s..<e {
                        T.gemm(transA: false, transB: true, m: cout, n: cin, k: inSize, alpha: 1, a: pgy + b * cout * outSize, lda: outSize,
                               b: px + b * cin * inSize, ldb: inSize, beta: 1, c: acc, ldc: cin)
                    }
                    return
                }
                let col = UnsafeMutablePointer<T>.allocate(capacity: rows * lines * width)
                defer { col.deallocate() }
                for b in s..<e {
                    for c in 0..<chunks {
                        let l0 = c * lines, nl = min(lines, g.lineCount - l0)
                        T.im2colKernel(g, channels: cin, px + b * cin * inSize, col, lineStart: l0, lines: nl)
                        T.gemm(transA: false, transB: true, m: cout, n: rows, k: nl * width, alpha: 1,
                               a: pgy + b * cout * outSize + l0 * width, lda: outSize, b: col, ldb: nl * width,
                               beta: 1, c: acc, ldc: rows)
                    }
                }
            }
        } }
        return Tensor(uninitializedShape: [cout, cin] + g.kernel) { total in
            copyElements(accumulators[0], total, cout * rows)
            for w in 1..<max(1, min(workers, batch)) { T.axpyKernel(1, accumulators[w], total, cout * rows) }
        }
    }
}

extension Variable {
    /// Convolution (cross-correlation, as PyTorch's Conv1d/2d/3d): x [B, Cin, S…] with
    /// weight [Cout, Cin, K…] and optional bias [Cout]; `stride` and `padding` per spatial
    /// axis (default 1 and 0). The number of spatial axes (1–3) comes from the weight.
    public static func convolution(_ x: Variable, weight: Variable, bias: Variable? = nil,
                                   stride: [Int]? = nil, padding: [Int]? = nil) throws -> Variable {
        let ws = weight.value.shape, xs = x.value.shape
        let d = ws.count - 2
        guard (1...3).contains(d), xs.count == d + 2, xs[1] == ws[1] else {
            throw LearningError.shapeMismatch(operation: "convolution", expected: "input [B, \(ws.count > 1 ? ws[1] : 0), spatial…] for weight \(shapeString(ws)) (rank 3 to 5)",
                                              got: shapeString(xs))
        }
        let g = try ConvGeometry(spatial: Array(xs[2...]), kernel: Array(ws[2...]),
                                 stride: stride ?? [Int](repeating: 1, count: d), padding: padding ?? [Int](repeating: 0, count: d))
        if let bias, bias.value.shape != [ws[0]] {
            throw LearningError.shapeMismatch(operation: "convolution bias", expected: "[\(ws[0])]", got: shapeString(bias.value.shape))
        }
        let (batch, cin, cout) = (xs[0], ws[1], ws[0])
        let xv = x.value, wv = weight.value
        var y = ConvEngine.forward(xv, wv, g, batch: batch, cin: cin, cout: cout)
        if let bias { y = try Tensor.elementwise(.add, y, try bias.value.reshaped([1, cout] + [Int](repeating: 1, count: d))) }
        return Variable.record(y, [x, weight] + (bias.map { [$0] } ?? [])) { gy in
            if x.requiresGradient { x.accumulate(ConvEngine.inputGradient(gy, wv, g, batch: batch, cin: cin, cout: cout)) }
            if weight.requiresGradient { weight.accumulate(ConvEngine.weightGradient(xv, gy, g, batch: batch, cin: cin, cout: cout)) }
            if let bias, bias.requiresGradient {
                bias.accumulate(try gy.sum(alongAxes: [0] + Array(2..<(d + 2))))
            }
        }
    }

    /// Transposed convolution (PyTorch's ConvTranspose1d/2d/3d): x [B, Cin, S…], weight
    /// [Cin, Cout, K…], output size (S − 1)·s − 2p + K + outputPadding per axis. It is the
    /// adjoint of `convolution` with the same weight, stride and padding.
    public static func transposedConvolution(_ x: Variable, weight: Variable, bias: Variable? = nil, stride: [Int]? = nil,
                                             padding: [Int]? = nil, outputPadding: [Int]? = nil) throws -> Variable {
        let ws = weight.value.shape, xs = x.value.shape
        let d = ws.count - 2
        guard (1...3).contains(d), xs.count == d + 2, xs[1] == ws[0] else {
            throw LearningError.shapeMismatch(operation: "transposed convolution", expected: "input [B, \(ws.first ?? 0), spatial…] for weight \(shapeString(ws)) (rank 3 to 5)",
                                              got: shapeString(xs))
        }
        let s = stride ?? [Int](repeating: 1, count: d), p = padding ?? [Int](repeating: 0, count: d)
        let op = outputPadding ?? [Int](repeating: 0, count: d)
        guard s.count == d, p.count == d, op.count == d, (0..<d).allSatisfy({ op[$0] >= 0 && op[$0] < max(1, s[$0]) }) else {
            throw LearningError.invalidArgument(name: "transposed convolution", value: "stride \(s), padding \(p), outputPadding \(op)",
                                                expected: "\(d) values each, 0 ≤ outputPadding < stride")
        }
        var outSpatial = [Int](repeating: 0, count: d)
        for a in 0..<d {
            let stretched: Int = (xs[2 + a] - 1) * s[a]
            outSpatial[a] = stretched - 2 * p[a] + ws[2 + a] + op[a]
        }
        // The convolution from the output space back to x's space.
        let g = try ConvGeometry(spatial: outSpatial, kernel: Array(ws[2...]), stride: s, padding: p)
        guard g.output == Array(xs[2...]) else {
            throw LearningError.shapeMismatch(operation: "transposed convolution", expected: "geometry mapping \(outSpatial) to \(Array(xs[2...]))",
                                              got: "\(g.output)")
        }
        let (batch, cConv, cOut) = (xs[0], ws[0], ws[1])  // conv: cOut channels → cConv channels
        if let bias, bias.value.shape != [cOut] {
            throw LearningError.shapeMismatch(operation: "transposed convolution bias", expected: "[\(cOut)]", got: shapeString(bias.value.shape))
        }
        let xv = x.value, wv = weight.value
        var y = ConvEngine.inputGradient(xv, wv, g, batch: batch, cin: cOut, cout: cConv)
        if let bias { y = try Tensor.elementwise(.add, y, try bias.value.reshaped([1, cOut] + [Int](repeating: 1, count: d))) }
        return Variable.record(y, [x, weight] + (bias.map { [$0] } ?? [])) { gy in
            if x.requiresGradient { x.accumulate(ConvEngine.forward(gy, wv, g, batch: batch, cin: cOut, cout: cConv)) }
            if weight.requiresGradient { weight.accumulate(ConvEngine.weightGradient(gy, xv, g, batch: batch, cin: cOut, cout: cConv)) }
            if let bias, bias.requiresGradient {
                bias.accumulate(try gy.sum(alongAxes: [0] + Array(2..<(d + 2))))
            }
        }
    }

    /// Average pooling over non-overlapping windows (window = stride = `kernel` per spatial
    /// axis) of x [B, C, S…]; each S must be divisible by its window.
    public func averagePooled(kernel: [Int]) throws -> Variable {
        let xs = value.shape
        let d = xs.count - 2
        guard (1...3).contains(d), kernel.count == d, (0..<d).allSatisfy({ kernel[$0] >= 1 && xs[2 + $0] % kernel[$0] == 0 }) else {
            throw LearningError.shapeMismatch(operation: "average pooling with window \(kernel)",
                                              expected: "[B, C, S…] with 1–3 spatial axes divisible by the window", got: shapeString(xs))
        }
        let spatial = Array(xs[2...]), planes = xs[0] * xs[1]
        let outShape = [xs[0], xs[1]] + (0..<d).map { spatial[$0] / kernel[$0] }
        let y = Tensor<T>(uninitializedShape: outShape) { py in
            value.scalars.withUnsafeBufferPointer { T.averagePoolKernel(spatial: spatial, k: kernel, planes: planes, $0.baseAddress!, py) }
        }
        return Variable.record(y, [self]) { [self] gy in
            accumulate(Tensor(uninitializedShape: xs) { gx in
                gy.scalars.withUnsafeBufferPointer { T.averagePoolBackwardKernel(spatial: spatial, k: kernel, planes: planes, $0.baseAddress!, gx) }
            })
        }
    }

    /// How `upsampled` interpolates: `nearest` (source index ⌊i·n/m⌋, PyTorch's `nearest`) or
    /// `linear` (per axis, half-pixel centres, PyTorch's `align_corners=False`).
    public enum UpsamplingMode: Sendable { case nearest, linear }

    /// Up-sampling of x [B, C, S…] to `size` (per spatial axis): nearest neighbour, or
    /// (bi/tri)linear with half-pixel centres (PyTorch's `align_corners=False`).
    public func upsampled(to size: [Int], mode: UpsamplingMode) throws -> Variable {
        let xs = value.shape
        let d = xs.count - 2
        guard (1...3).contains(d), size.count == d, size.allSatisfy({ $0 >= 1 }) else {
            throw LearningError.shapeMismatch(operation: "upsampling to \(size)", expected: "[B, C, S…] with 1–3 spatial axes and a size per axis",
                                              got: shapeString(xs))
        }
        // One separable pass per axis.
        var current = self
        for a in 0..<d where current.value.shape[2 + a] != size[a] {
            current = try current.resampled(axis: 2 + a, to: size[a], mode: mode)
        }
        return current
    }

    /// Up-sampling by integer factors.
    public func upsampled(factor: [Int], mode: UpsamplingMode) throws -> Variable {
        let xs = value.shape
        guard factor.count == xs.count - 2, factor.allSatisfy({ $0 >= 1 }) else {
            throw LearningError.invalidArgument(name: "upsampling factor", value: "\(factor)", expected: "a factor ≥ 1 per spatial axis of \(shapeString(xs))")
        }
        return try upsampled(to: (0..<factor.count).map { xs[2 + $0] * factor[$0] }, mode: mode)
    }

    func resampled(axis a: Int, to m: Int, mode: UpsamplingMode) throws -> Variable {
        let xs = value.shape
        let n = xs[a], outer = xs[..<a].reduce(1, *), inner = xs[(a + 1)...].reduce(1, *)
        let scale = Double(n) / Double(m)
        let taps: [(Int, Double, Int, Double)] = (0..<m).map { i in
            switch mode {
            case .nearest:
                let j = min(n - 1, Int((Double(i) * scale).rounded(.down)))
                return (j, 1, j, 0)
            case .linear:
                let src = max(0, (Double(i) + 0.5) * scale - 0.5)
                let i0 = min(n - 1, Int(src.rounded(.down))), i1 = min(n - 1, i0 + 1)
                let t = src - Double(i0)
                return i0 == i1 ? (i0, 1, i1, 0) : (i0, 1 - t, i1, t)
            }
        }
        var outShape = xs
        outShape[a] = m
        // The kernel reads the side it does not write: the input going forward, gy back.
        let y = Tensor<T>(uninitializedShape: outShape) { py in
            value.scalars.withUnsafeBufferPointer {
                T.resampleKernel(outer: outer, n: n, inner: inner, m: m, taps: taps, UnsafeMutablePointer(mutating: $0.baseAddress!), py, transpose: false)
            }
        }
        return Variable.record(y, [self]) { [self] gy in
            accumulate(Tensor(uninitializedShape: xs) { gx in
                gy.scalars.withUnsafeBufferPointer {
                    T.resampleKernel(outer: outer, n: n, inner: inner, m: m, taps: taps, gx, UnsafeMutablePointer(mutating: $0.baseAddress!), transpose: true)
                }
            })
        }
    }
}
