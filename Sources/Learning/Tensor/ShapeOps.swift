import CVectorMath
import Support
/// Copies between boxes of tensors: permutation, slicing, padding, concatenation, gather.
extension Tensor {
    /// Axes reordered: result axis i is axis `axes[i]` of self (numpy `transpose(axes)`).
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw LearningError.invalidArgument(name: "permutation", value: "\(axes)", expected: "a permutation of 0..<\(rank)")
        }
        if axes == Array(0..<rank) { return self }
        let own = Tensor.strides(shape)
        let outShape = axes.map { shape[$0] }
        // An empty axis: nothing to move (and no buffer address to rely on).
        if scalars.isEmpty { return Tensor(unchecked: outShape, scalars) }
        let src = axes.map { own[$0] }
        // Unit axes dropped and axes contiguous in the source merged (outermost first); the
        // gather then runs in CVectorMath's `svm_permute` on blocks of the two innermost axes.
        var dims: [(n: Int, s: Int)] = []
        for d in stride(from: rank - 1, through: 0, by: -1) where outShape[d] != 1 {
            if let last = dims.last, src[d] == last.s * last.n {
                dims[dims.count - 1] = (last.n * outShape[d], last.s)
            } else {
                dims.append((outShape[d], src[d]))
            }
        }
        dims.reverse()
        if dims.count <= 1 { return Tensor(unchecked: outShape, scalars) }
        if dims.count > 16 { return stridedGather(outShape, src) }
        let mergedShape = dims.map(\.n), mergedStrides = dims.map(\.s)
        let outer = mergedShape.dropLast(2).reduce(1, *), block = mergedShape[dims.count - 2] * mergedShape[dims.count - 1]
        return Tensor(uninitializedShape: outShape) { y in
            scalars.withUnsafeBufferPointer { x in
                let px = UnsafeRawPointer(x.baseAddress!), py = UnsafeMutableRawPointer(y)
                Parallel.forChunks(outer, minimumPerChunk: max(1, Kernels.grain / max(1, block))) { s, e in
                    let status = svm_permute(Int32(MemoryLayout<T>.stride), px, py, Int32(dims.count), mergedShape, mergedStrides, s, e)
                    precondition(status == 0, "svm_permute failed (\(status))")
                }
            }
        }
    }

    /// The elements at strides `src` of self, gathered row-major into `outShape` by runs (the
    /// general path of `permuted`, for more than 16 merged axes).
    func stridedGather(_ outShape: [Int], _ src: [Int]) -> Tensor {
        Tensor(uninitializedShape: outShape) { y in
            scalars.withUnsafeBufferPointer { x in
                let px = x.baseAddress!
                Tensor.forEachRun(shape: outShape, src, src) { ox, _, oo, n, ix, _ in
                    if ix == 1 {
                        copyElements(px + ox, y + oo, n)
                    } else {
                        T.stridedCopyKernel(px + ox, ix, y + oo, n)
                    }
                }
            }
        }
    }

    /// The transpose of a rank-2 tensor.
    public func transposed() throws -> Tensor {
        guard rank == 2 else {
            throw LearningError.shapeMismatch(operation: "transposed", expected: "a rank-2 tensor", got: shapeString(shape))
        }
        return try permuted([1, 0])
    }

    /// Iterates over the boxes `shape` in a tensor of strides `outerStrides` starting at
    /// `offset`, with a contiguous counterpart; calls body(offsetInStrided, offsetContiguous, n).
    static func forEachBoxRun(_ box: [Int], stridedStrides: [Int], offset: Int, _ body: (Int, Int, Int) -> Void) {
        if box.contains(0) { return }
        if box.isEmpty { body(offset, 0, 1); return }
        let r = box.count
        let n = box[r - 1], inner = stridedStrides[r - 1]
        let outer = box.dropLast().reduce(1, *)
        var idx = [Int](repeating: 0, count: r - 1)
        var o = offset, c = 0
        for _ in 0..<outer {
            if inner == 1 {
                body(o, c, n)
            } else {
                for i in 0..<n { body(o + i * inner, c + i, 1) }
            }
            c += n
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                o += stridedStrides[d]
                if idx[d] < box[d] { break }
                o -= stridedStrides[d] * box[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    func checkBox(_ lower: [Int], _ sizes: [Int], operation: String) throws {
        guard lower.count == rank, sizes.count == rank,
              (0..<rank).allSatisfy({ lower[$0] >= 0 && sizes[$0] >= 0 && lower[$0] + sizes[$0] <= shape[$0] }) else {
            throw LearningError.invalidArgument(name: operation, value: "start \(lower), sizes \(sizes)",
                                                expected: "a box inside \(shapeString(shape))")
        }
    }

    /// The box starting at `lower` with `sizes` (a copy).
    public func slice(lower: [Int], sizes: [Int]) throws -> Tensor {
        try checkBox(lower, sizes, operation: "slice")
        let st = Tensor.strides(shape)
        let offset = zip(lower, st).reduce(0) { $0 + $1.0 * $1.1 }
        return Tensor(uninitializedShape: sizes) { y in
            scalars.withUnsafeBufferPointer { x in
                Tensor.forEachBoxRun(sizes, stridedStrides: st, offset: offset) { o, c, n in
                    copyElements(x.baseAddress! + o, y + c, n)
                }
            }
        }
    }

    /// Elements `range` along one axis.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let a = try normalizedAxes([axis])[0]
        var lower = [Int](repeating: 0, count: rank), sizes = shape
        lower[a] = range.lowerBound
        sizes[a] = range.count
        return try slice(lower: lower, sizes: sizes)
    }

    /// Adds `source` into the box of self starting at `lower` (`source.shape` = box sizes).
    public mutating func addBox(_ source: Tensor, at lower: [Int]) throws {
        try combineBox(source, at: lower, operation: "addBox") { src, dst, n in T.axpyKernel(1, src, dst, n) }
    }

    /// Writes `source` into the box of self starting at `lower`.
    public mutating func assignBox(_ source: Tensor, at lower: [Int]) throws {
        try combineBox(source, at: lower, operation: "assignBox") { src, dst, n in copyElements(src, dst, n) }
    }

    private mutating func combineBox(_ source: Tensor, at lower: [Int], operation: String,
                                     _ run: (UnsafePointer<T>, UnsafeMutablePointer<T>, Int) -> Void) throws {
        try checkBox(lower, source.shape, operation: operation)
        let st = Tensor.strides(shape)
        let offset = zip(lower, st).reduce(0) { $0 + $1.0 * $1.1 }
        scalars.withUnsafeMutableBufferPointer { y in
            source.scalars.withUnsafeBufferPointer { x in
                Tensor.forEachBoxRun(source.shape, stridedStrides: st, offset: offset) { o, c, n in
                    run(x.baseAddress! + c, y.baseAddress! + o, n)
                }
            }
        }
    }

    /// Zero (or `value`) padding: `lower[d]` elements before and `upper[d]` after axis d.
    public func padded(lower: [Int], upper: [Int], value: T = 0) throws -> Tensor {
        guard lower.count == rank, upper.count == rank, lower.allSatisfy({ $0 >= 0 }), upper.allSatisfy({ $0 >= 0 }) else {
            throw LearningError.invalidArgument(name: "padding", value: "lower \(lower), upper \(upper)",
                                                expected: "\(rank) non-negative amounts per side")
        }
        var out = Tensor(repeating: value, shape: (0..<rank).map { shape[$0] + lower[$0] + upper[$0] })
        try out.assignBox(self, at: lower)
        return out
    }

    /// Concatenation along an axis; the other dimensions must agree.
    public static func concatenate(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else {
            throw LearningError.invalidArgument(name: "concatenate", value: "no tensors", expected: "at least one tensor")
        }
        let a = try first.normalizedAxes([axis])[0]
        var shape = first.shape
        shape[a] = 0
        for p in parts {
            guard p.rank == first.rank, (0..<p.rank).allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] }) else {
                throw LearningError.shapeMismatch(operation: "concatenate along axis \(a)", expected: "shapes like \(shapeString(first.shape)) off that axis",
                                                  got: shapeString(p.shape))
            }
            shape[a] += p.shape[a]
        }
        var out = Tensor(zeros: shape)
        var start = 0
        for p in parts {
            var lower = [Int](repeating: 0, count: shape.count)
            lower[a] = start
            try out.assignBox(p, at: lower)
            start += p.shape[a]
        }
        return out
    }

    /// Selects entries `indices` along an axis (numpy `take`, torch `index_select`).
    public func gathered(_ indices: [Int], axis: Int) throws -> Tensor {
        let a = try normalizedAxes([axis])[0]
        if let bad = indices.first(where: { $0 < 0 || $0 >= shape[a] }) {
            throw LearningError.invalidArgument(name: "gather index", value: "\(bad)", expected: "an index in 0..<\(shape[a]) along axis \(a)")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = indices.count
        return Tensor(uninitializedShape: outShape) { y in
            scalars.withUnsafeBufferPointer { x in
                for o in 0..<outer {
                    for (j, i) in indices.enumerated() {
                        copyElements(x.baseAddress! + (o * shape[a] + i) * inner, y + (o * indices.count + j) * inner, inner)
                    }
                }
            }
        }
    }

    /// The adjoint of `gathered`: adds row j of self into row indices[j] of a zero tensor
    /// with `size` entries along the axis.
    func scatterAdded(_ indices: [Int], axis a: Int, size: Int) -> Tensor {
        var outShape = shape
        outShape[a] = size
        var out = Tensor(zeros: outShape)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        out.scalars.withUnsafeMutableBufferPointer { y in
            scalars.withUnsafeBufferPointer { x in
                for o in 0..<outer {
                    for (j, i) in indices.enumerated() {
                        T.axpyKernel(1, x.baseAddress! + (o * indices.count + j) * inner, y.baseAddress! + (o * size + i) * inner, inner)
                    }
                }
            }
        }
        return out
    }
}

/// memcpy of `n` elements (tensor scalars are trivial types), without the per-element
/// generic copies an unspecialized `update(from:)` would make.
@inline(__always)
func copyElements<T>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, _ n: Int) {
    UnsafeMutableRawPointer(dst).copyMemory(from: UnsafeRawPointer(src), byteCount: n &* MemoryLayout<T>.stride)
}
