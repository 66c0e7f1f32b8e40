/// Broadcasting (numpy rules: shapes aligned on the right, a dimension of 1 stretches),
/// element-wise binary operations and the reductions that undo a broadcast.
extension Tensor {
    /// The broadcast shape of two shapes, or nil when they do not broadcast.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides of `shape` read as a broadcast into `out` (0 along stretched axes).
    static func broadcastStrides(_ shape: [Int], into out: [Int]) -> [Int] {
        let own = strides(shape)
        let off = out.count - shape.count
        return (0..<out.count).map { i in
            i < off ? 0 : (shape[i - off] == 1 && out[i] != 1 ? 0 : own[i - off])
        }
    }

    /// Loops over `shape` with two stride sets; merges axes that are contiguous in both,
    /// then calls `inner(offsetA, offsetB, offsetOut, n, strideA, strideB)` for every run of
    /// the innermost (merged) axis. The output is contiguous. With `parallel`, blocks of
    /// runs go to the worker threads (the caller's `inner` must then write disjoint data).
    static func forEachRun(shape: [Int], _ sa: [Int], _ sb: [Int], parallel: Bool = false,
                           _ inner: (Int, Int, Int, Int, Int, Int) -> Void) {
        // Drop unit axes, then merge from the inside out.
        var dims: [(n: Int, a: Int, b: Int)] = []
        for d in 0..<shape.count where shape[d] != 1 { dims.append((shape[d], sa[d], sb[d])) }
        if dims.isEmpty { inner(0, 0, 0, 1, 1, 1); return }
        var merged: [(n: Int, a: Int, b: Int)] = [dims[dims.count - 1]]
        for d in stride(from: dims.count - 2, through: 0, by: -1) {
            let outer = dims[d], last = merged[merged.count - 1]
            if outer.a == last.a * last.n && outer.b == last.b * last.n {
                merged[merged.count - 1] = (outer.n * last.n, last.a, last.b)
            } else {
                merged.append(outer)
            }
        }
        merged.reverse()  // outermost first
        let innerDim = merged.removeLast()
        let outerCount = merged.reduce(1) { $0 * $1.n }
        // Runs [start, end) of the outer index space, starting from a decomposed index.
        func runs(_ start: Int, _ end: Int) {
            var idx = [Int](repeating: 0, count: merged.count)
            var oa = 0, ob = 0
            var rem = start
            for d in stride(from: merged.count - 1, through: 0, by: -1) {
                idx[d] = rem % merged[d].n
                rem /= merged[d].n
                oa += idx[d] * merged[d].a
                ob += idx[d] * merged[d].b
            }
            var oo = start * innerDim.n
            for _ in start..<end {
                inner(oa, ob, oo, innerDim.n, innerDim.a, innerDim.b)
                oo += innerDim.n
                var d = merged.count - 1
                while d >= 0 {
                    idx[d] += 1
                    oa += merged[d].a; ob += merged[d].b
                    if idx[d] < merged[d].n { break }
                    oa -= merged[d].a * merged[d].n; ob -= merged[d].b * merged[d].n
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        if parallel && outerCount > 1 {
            Parallel.forChunks(outerCount, minimumPerChunk: max(1, Kernels.grain / max(1, innerDim.n)), runs)
        } else {
            runs(0, outerCount)
        }
    }

    /// a ∘ b with broadcasting.
    public static func elementwise(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        if a.shape == b.shape {
            return Tensor(uninitializedShape: a.shape) { y in
                a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                    let n = a.count
                    Parallel.forChunks(n, minimumPerChunk: Kernels.grain) { s, e in
                        T.binaryKernel(op, pa.baseAddress! + s, 1, pb.baseAddress! + s, 1, y + s, e - s)
                    }
                } }
            }
        }
        guard let out = broadcastShape(a.shape, b.shape) else {
            throw LearningError.shapeMismatch(operation: "\(op)", expected: "broadcastable shapes",
                                              got: "\(shapeString(a.shape)) and \(shapeString(b.shape))")
        }
        let sa = broadcastStrides(a.shape, into: out), sb = broadcastStrides(b.shape, into: out)
        return Tensor(uninitializedShape: out) { y in
            a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                forEachRun(shape: out, sa, sb, parallel: true) { oa, ob, oo, n, ia, ib in
                    if (ia == 0 || ia == 1) && (ib == 0 || ib == 1) {
                        T.binaryKernel(op, pa.baseAddress! + oa, ia, pb.baseAddress! + ob, ib, y + oo, n)
                    } else {
                        for i in 0..<n {
                            T.binaryKernel(op, pa.baseAddress! + oa + i * ia, 0, pb.baseAddress! + ob + i * ib, 0, y + oo + i, 1)
                        }
                    }
                }
            } }
        }
    }

    /// Sums `self` over the axes along which `shape` was broadcast to `self.shape`, giving a
    /// tensor of `shape` (the gradient of a broadcast).
    public func summed(toShape target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard Tensor.broadcastShape(target, shape) == shape else {
            throw LearningError.shapeMismatch(operation: "sum to shape", expected: "a shape that broadcasts to \(shapeString(shape))",
                                              got: shapeString(target))
        }
        let st = Tensor.broadcastStrides(target, into: shape)
        let own = Tensor.strides(shape)
        var out = Tensor(zeros: target)
        out.scalars.withUnsafeMutableBufferPointer { y in
            scalars.withUnsafeBufferPointer { g in
                // Iterate over self (contiguous) with the target's broadcast strides.
                Tensor.forEachRun(shape: shape, own, st) { og, oy, _, n, ig, iy in
                    let py = y.baseAddress! + oy, pg = g.baseAddress! + og
                    if iy == 0 {
                        py[0] += T.sumKernel(pg, ig, n)
                    } else if ig == 1 && iy == 1 {
                        T.axpyKernel(1, pg, py, n)
                    } else {
                        for i in 0..<n { T.axpyKernel(1, pg + i * ig, py + i * iy, 1) }
                    }
                }
            }
        }
        return out
    }

    /// Sum over the given axes (kept as size-1 axes when `keepingDimensions`).
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) throws -> Tensor {
        let axes = try normalizedAxes(axes)
        var target = shape
        for a in axes { target[a] = 1 }
        let s = try summed(toShape: target)
        if keepingDimensions { return s }
        return Tensor(unchecked: shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element), s.scalars)
    }

    /// Axes in 0..<rank (negative ones counted from the end), unique, sorted.
    func normalizedAxes(_ axes: [Int]) throws -> [Int] {
        var out: [Int] = []
        for a in axes {
            let b = a < 0 ? a + rank : a
            guard b >= 0 && b < rank else {
                throw LearningError.invalidArgument(name: "axis", value: "\(a)", expected: "an axis of a rank-\(rank) tensor")
            }
            if !out.contains(b) { out.append(b) }
        }
        return out.sorted()
    }

    /// Broadcasts to a larger shape (copies).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard Tensor.broadcastShape(shape, target) == target else {
            throw LearningError.shapeMismatch(operation: "broadcast", expected: "a shape \(shapeString(shape)) broadcasts to",
                                              got: shapeString(target))
        }
        return try Tensor.elementwise(.add, self, Tensor(zeros: target))
    }

    // MARK: Operators (throwing on shape mismatch)

    /// a + b with numpy broadcasting; throws `LearningError.shapeMismatch` when the shapes do
    /// not broadcast.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try elementwise(.add, a, b) }
    /// a − b with numpy broadcasting; throws `LearningError.shapeMismatch` when the shapes do
    /// not broadcast.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try elementwise(.subtract, a, b) }
    /// a · b element-wise with numpy broadcasting; throws `LearningError.shapeMismatch` when
    /// the shapes do not broadcast.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try elementwise(.multiply, a, b) }
    /// a / b element-wise with numpy broadcasting; throws `LearningError.shapeMismatch` when
    /// the shapes do not broadcast.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try elementwise(.divide, a, b) }
    /// Every element times the constant s.
    public static func * (a: Tensor, s: T) -> Tensor { a.map(.scale(Double(s))) }
    /// Every element times the constant s.
    public static func * (s: T, a: Tensor) -> Tensor { a.map(.scale(Double(s))) }
    /// Every element plus the constant s.
    public static func + (a: Tensor, s: T) -> Tensor { a.map(.shift(Double(s))) }
    /// Every element minus the constant s.
    public static func - (a: Tensor, s: T) -> Tensor { a.map(.shift(-Double(s))) }
    /// −a element-wise.
    public static prefix func - (a: Tensor) -> Tensor { a.map(.negate) }
}
