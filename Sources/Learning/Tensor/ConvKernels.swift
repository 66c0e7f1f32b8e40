/// Geometry of an N-dimensional convolution (N = 1, 2, 3): input [B, C, S₁…S_N], kernel
/// K₁…K_N, stride and zero padding per axis, output O_d = ⌊(S_d + 2p_d − K_d)/s_d⌋ + 1.
public struct ConvGeometry: Sendable, Equatable {
    /// Input sizes S₁…S_N.
    public var spatial: [Int]
    /// Kernel sizes K₁…K_N.
    public var kernel: [Int]
    /// Step between output positions, per axis (≥ 1).
    public var stride: [Int]
    /// Zeros added on both sides of each axis (≥ 0).
    public var padding: [Int]
    /// Output sizes O₁…O_N, computed by `init`.
    public var output: [Int]

    /// Checks the geometry and computes `output`. Throws `LearningError.invalidArgument` unless
    /// there are 1–3 axes with one kernel size, stride and padding each, kernels and strides
    /// ≥ 1 and paddings ≥ 0; `shapeMismatch` when a padded axis is shorter than the kernel.
    public init(spatial: [Int], kernel: [Int], stride: [Int], padding: [Int]) throws {
        let d = spatial.count
        guard (1...3).contains(d), kernel.count == d, stride.count == d, padding.count == d else {
            throw LearningError.invalidArgument(name: "convolution geometry", value: "spatial \(spatial), kernel \(kernel), stride \(stride), padding \(padding)",
                                                expected: "1 to 3 spatial axes with one kernel size, stride and padding each")
        }
        guard kernel.allSatisfy({ $0 >= 1 }), stride.allSatisfy({ $0 >= 1 }), padding.allSatisfy({ $0 >= 0 }) else {
            throw LearningError.invalidArgument(name: "convolution geometry", value: "kernel \(kernel), stride \(stride), padding \(padding)",
                                                expected: "kernel sizes and strides ≥ 1, paddings ≥ 0")
        }
        var out = [Int](repeating: 0, count: d)
        for a in 0..<d {
            let extent: Int = spatial[a] + 2 * padding[a] - kernel[a]
            out[a] = extent / stride[a] + 1
        }
        guard (0..<d).allSatisfy({ spatial[$0] + 2 * padding[$0] >= kernel[$0] }) else {
            throw LearningError.shapeMismatch(operation: "convolution", expected: "padded input at least as large as the kernel \(kernel)",
                                              got: "spatial size \(spatial) with padding \(padding)")
        }
        self.spatial = spatial
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.output = out
    }

    var inputSize: Int { spatial.reduce(1, *) }
    var outputSize: Int { output.reduce(1, *) }
    var kernelSize: Int { kernel.reduce(1, *) }
    /// Kernel 1, stride 1, no padding: the convolution is a plain matrix product.
    var isPointwise: Bool { kernel.allSatisfy { $0 == 1 } && stride.allSatisfy { $0 == 1 } && padding.allSatisfy { $0 == 0 } }
    /// Output "lines": all output axes but the last.
    var lineCount: Int { output.dropLast().reduce(1, *) }
}

/// im2col / col2im on lines of output positions. Rows of the column matrix are
/// (channel, kernel offset) pairs, columns are output positions `lineStart·O_N ..<
/// (lineStart + lines)·O_N`.
enum ConvKernels {
    /// Writes col[(c·ΠK + k), j] for j over the chosen output lines, for one image x [C, S…].
    @inline(__always)
    static func im2col<T: TensorScalar>(_ g: ConvGeometry, channels: Int, _ x: UnsafePointer<T>,
                                        _ col: UnsafeMutablePointer<T>, lineStart: Int, lines: Int) {
        if g.spatial.count == 2 {
            planar(g, channels: channels, lineStart: lineStart, lines: lines) { column, src, lo, hi, o1, s1 in
                let dst = col + column
                var i = 0
                while i < lo { dst[i] = 0; i &+= 1 }
                if s1 == 1 {
                    let from = x + src
                    while i < hi { dst[i] = from[i &- lo]; i &+= 1 }
                } else {
                    var k = src
                    while i < hi { dst[i] = x[k]; i &+= 1; k &+= s1 }
                }
                while i < o1 { dst[i] = 0; i &+= 1 }
            }
            return
        }
        walk(g, channels: channels, lineStart: lines == 0 ? 0 : lineStart, lines: lines) { row, j, src, n, srcStride, valid in
            let width: Int = lines &* g.output[g.output.count &- 1]
            let offset: Int = row &* width &+ j
            let dst = col + offset
            if !valid { dst.initialize(repeating: 0, count: n); return }
            var i = 0
            if srcStride == 1 {
                while i < n { dst[i] = x[src &+ i]; i &+= 1 }
            } else {
                var k = src
                while i < n { dst[i] = x[k]; i &+= 1; k &+= srcStride }
            }
        }
    }

    /// The adjoint of `im2col`: dx[C, S…] += col2im(col).
    @inline(__always)
    static func col2im<T: TensorScalar>(_ g: ConvGeometry, channels: Int, _ col: UnsafePointer<T>,
                                        _ dx: UnsafeMutablePointer<T>, lineStart: Int, lines: Int) {
        if g.spatial.count == 2 {
            planar(g, channels: channels, lineStart: lineStart, lines: lines) { column, dst, lo, hi, _, s1 in
                let c = col + column
                var i = lo
                if s1 == 1 {
                    let to = dx + dst
                    while i < hi { to[i &- lo] += c[i]; i &+= 1 }
                } else {
                    var k = dst
                    while i < hi { dx[k] += c[i]; i &+= 1; k &+= s1 }
                }
            }
            return
        }
        walk(g, channels: channels, lineStart: lineStart, lines: lines) { row, j, src, n, srcStride, valid in
            guard valid else { return }
            let width: Int = lines &* g.output[g.output.count &- 1]
            let offset: Int = row &* width &+ j
            let c = col + offset
            var i = 0
            if srcStride == 1 {
                while i < n { dx[src &+ i] += c[i]; i &+= 1 }
            } else {
                var k = src
                while i < n { dx[k] += c[i]; i &+= 1; k &+= srcStride }
            }
        }
    }

    /// The 2-D walk without index arrays: for every column-matrix row (channel, ky, kx) and
    /// output line, body(columnOffset, inputOffset, lo, hi, O₂, s₂), where output positions
    /// lo..<hi of the line read the input at inputOffset + (ox − lo)·s₂ and the others are
    /// padding; lo = hi = 0 when the whole line is padding.
    @inline(__always)
    static func planar(_ g: ConvGeometry, channels: Int, lineStart: Int, lines: Int,
                       _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let s0 = g.spatial[0], s1 = g.spatial[1], o1 = g.output[1]
        let k0 = g.kernel[0], k1 = g.kernel[1], st0 = g.stride[0], st1 = g.stride[1], p0 = g.padding[0], p1 = g.padding[1]
        let width = lines &* o1, plane = s0 &* s1
        for c in 0..<channels {
            for ky in 0..<k0 {
                for kx in 0..<k1 {
                    let row = (c &* k0 &+ ky) &* k1 &+ kx
                    // Output positions ox with 0 ≤ ox·s₂ − p₂ + kx < S₂ (floor divisions).
                    let lo = Swift.max(0, (p1 &- kx &+ st1 &- 1) / st1)
                    let top = s1 &- 1 &+ p1 &- kx
                    let hi = top < 0 ? 0 : Swift.min(o1, top / st1 &+ 1)
                    for line in 0..<lines {
                        let iy = (lineStart &+ line) &* st0 &- p0 &+ ky
                        let column = row &* width &+ line &* o1
                        if iy < 0 || iy >= s0 || lo >= hi {
                            body(column, 0, 0, 0, o1, st1)
                        } else {
                            body(column, c &* plane &+ iy &* s1 &+ lo &* st1 &- p1 &+ kx, lo, hi, o1, st1)
                        }
                    }
                }
            }
        }
    }

    /// Calls body(row, columnOffset, sourceOffset, count, sourceStride, valid) for each run
    /// of output positions along the last axis that maps to one input line (valid) or to
    /// padding (not valid).
    @inline(__always)
    static func walk(_ g: ConvGeometry, channels: Int, lineStart: Int, lines: Int,
                     _ body: (Int, Int, Int, Int, Int, Bool) -> Void) {
        let d = g.spatial.count
        let sLast = g.spatial[d - 1], oLast = g.output[d - 1], kLast = g.kernel[d - 1]
        let sL = g.stride[d - 1], pL = g.padding[d - 1]
        let kLead = g.kernel.dropLast().reduce(1, *)
        let inSize = g.inputSize
        var kIdx = [Int](repeating: 0, count: max(0, d - 1))
        var oIdx = [Int](repeating: 0, count: max(0, d - 1))
        for c in 0..<channels {
            for kl in 0..<kLead {
                // Kernel offsets along the leading axes.
                var t = kl
                for a in stride(from: d - 2, through: 0, by: -1) { kIdx[a] = t % g.kernel[a]; t /= g.kernel[a] }
                for kx in 0..<kLast {
                    let row = (c * kLead + kl) * kLast + kx
                    // Output positions ox with 0 ≤ ox·s − p + kx < S.
                    let lo = max(0, (pL - kx + sL - 1) / sL)
                    let top = sLast - 1 + pL - kx
                    let hi = top < 0 ? 0 : min(oLast, top / sL + 1)
                    for line in 0..<lines {
                        var t2 = lineStart + line
                        for a in stride(from: d - 2, through: 0, by: -1) { oIdx[a] = t2 % g.output[a]; t2 /= g.output[a] }
                        var inOffset = 0
                        var inside = true
                        for a in 0..<(d - 1) {
                            let i = oIdx[a] * g.stride[a] - g.padding[a] + kIdx[a]
                            if i < 0 || i >= g.spatial[a] { inside = false; break }
                            inOffset = inOffset * g.spatial[a] + i
                        }
                        let j = line * oLast
                        if !inside || lo >= hi {
                            body(row, j, 0, oLast, 0, false)
                            continue
                        }
                        let base = c * inSize + inOffset * sLast
                        if lo > 0 { body(row, j, 0, lo, 0, false) }
                        body(row, j + lo, base + lo * sL - pL + kx, hi - lo, sL, true)
                        if hi < oLast { body(row, j + hi, 0, oLast - hi, 0, false) }
                    }
                }
            }
        }
    }

    /// Average pooling with window = stride = `k` per axis (no padding): x [planes, S…] →
    /// y [planes, S/k…]; the inverse direction (`backward`) spreads gy/Πk over each window.
    @inline(__always)
    static func averagePool<T: TensorScalar>(spatial: [Int], k: [Int], planes: Int, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) {
        let scale = 1 / T(k.reduce(1, *))
        forEachWindowRow(spatial: spatial, k: k, planes: planes) { inBase, outIndex, row, k1, first in
            let r = x + (inBase &+ row)
            var acc: T = 0
            var l = 0
            while l < k1 { acc += r[l]; l &+= 1 }
            y[outIndex] = first ? acc * scale : y[outIndex] + acc * scale
        }
    }

    @inline(__always)
    static func averagePoolBackward<T: TensorScalar>(spatial: [Int], k: [Int], planes: Int, _ gy: UnsafePointer<T>, _ gx: UnsafeMutablePointer<T>) {
        let scale = 1 / T(k.reduce(1, *))
        // Windows tile the input exactly (S divisible by k), so every gx entry is written.
        forEachWindowRow(spatial: spatial, k: k, planes: planes) { inBase, outIndex, row, k1, _ in
            let v = gy[outIndex] * scale
            let r = gx + (inBase &+ row)
            var l = 0
            while l < k1 { r[l] = v; l &+= 1 }
        }
    }

    /// For every plane, output window and window row: body(planeOffsetIn, outputIndex,
    /// rowOffsetInPlane, rowLength, isFirstRowOfWindow). Planes go to the worker threads.
    @inline(__always)
    static func forEachWindowRow(spatial: [Int], k: [Int], planes: Int, _ body: (Int, Int, Int, Int, Bool) -> Void) {
        let d = spatial.count
        let out = (0..<d).map { spatial[$0] / k[$0] }
        let inSize = spatial.reduce(1, *), outSize = out.reduce(1, *)
        let s2 = d >= 2 ? spatial[d - 2] : 1, s1 = spatial[d - 1]
        let o3 = d == 3 ? out[0] : 1, o2 = d >= 2 ? out[d - 2] : 1, o1 = out[d - 1]
        let k3 = d == 3 ? k[0] : 1, k2 = d >= 2 ? k[d - 2] : 1, k1 = k[d - 1]
        Parallel.forChunks(planes, minimumPerChunk: max(1, 65536 / max(1, inSize))) { ps, pe in
            for p in ps..<pe {
                let inBase = p &* inSize, outBase = p &* outSize
                for a in 0..<o3 { for b in 0..<o2 { for c in 0..<o1 {
                    let o = outBase &+ (a &* o2 &+ b) &* o1 &+ c
                    for i in 0..<k3 { for j in 0..<k2 {
                        let r0: Int = a &* k3 &+ i, r1: Int = b &* k2 &+ j
                        let offset: Int = (r0 &* s2 &+ r1) &* s1 &+ c &* k1
                        body(inBase, o, offset, k1, i == 0 && j == 0)
                    } }
                } } }
            }
        }
    }

    /// Separable resampling along one axis of a [outer, n, inner] array to [outer, m,
    /// inner]: y[o, i, :] = Σ_t w[i][t] · x[o, idx[i][t], :] (two taps: linear; one:
    /// nearest). `transpose` computes the adjoint (x ← Σ contributions, x zeroed first).
    @inline(__always)
    static func resampleAxis<T: TensorScalar>(outer: Int, n: Int, inner: Int, m: Int, taps: [(Int, Double, Int, Double)],
                                              _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, transpose: Bool) {
        Parallel.forChunks(outer, minimumPerChunk: max(1, 32768 / max(1, m * inner))) { os, oe in
            for o in os..<oe {
                let xo = x + o &* n &* inner, yo = y + o &* m &* inner
                if transpose { xo.initialize(repeating: 0, count: n &* inner) }
                for i in 0..<m {
                    let (i0, w0, i1, w1) = taps[i]
                    let a0 = T(w0), a1 = T(w1)
                    let yr = yo + i &* inner, x0 = xo + i0 &* inner, x1 = xo + i1 &* inner
                    var l = 0
                    if transpose {
                        while l < inner { let v = yr[l]; x0[l] += a0 * v; x1[l] += a1 * v; l &+= 1 }
                    } else {
                        while l < inner { yr[l] = a0 * x0[l] + a1 * x1[l]; l &+= 1 }
                    }
                }
            }
        }
    }

    /// dst[i] = src[i·stride] for i < n (gathering a strided run).
    @inline(__always)
    static func stridedCopy<T: TensorScalar>(_ src: UnsafePointer<T>, _ stride: Int, _ dst: UnsafeMutablePointer<T>, _ n: Int) {
        var i = 0, k = 0
        while i < n { dst[i] = src[k]; i &+= 1; k &+= stride }
    }
}
