/// Reshaping, slicing, padding, concatenation, gathering, reductions and matrix products
/// on variables, with their VJPs.
extension Variable {
    /// The same elements in another shape (one dimension may be −1: inferred), without a
    /// copy; the VJP reshapes the gradient back. Throws `LearningError.shapeMismatch` when the
    /// element counts differ, `invalidArgument` for sizes below −1 or two −1s.
    public func reshaped(_ shape: [Int]) throws -> Variable {
        let old = value.shape
        return Variable.record(try value.reshaped(shape), [self]) { [self] g in
            accumulate(try g.reshaped(old))
        }
    }

    /// Flattens all axes from `axis` on into one.
    public func flattened(from axis: Int = 1) throws -> Variable {
        guard axis >= 0 && axis < max(1, value.rank) else {
            throw LearningError.invalidArgument(name: "flatten axis", value: "\(axis)", expected: "an axis of \(shapeString(value.shape))")
        }
        return try reshaped(Array(value.shape[..<axis]) + [-1])
    }

    /// Axes reordered, as a copy: result axis i is axis `axes[i]` (numpy's `transpose(axes)`);
    /// the VJP applies the inverse permutation. Throws `LearningError.invalidArgument` unless
    /// `axes` is a permutation of 0..<rank.
    public func permuted(_ axes: [Int]) throws -> Variable {
        let y = try value.permuted(axes)
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Variable.record(y, [self]) { [self] g in accumulate(try g.permuted(inverse)) }
    }

    /// The transpose of a rank-2 variable (a copy); throws `LearningError.shapeMismatch` for
    /// other ranks.
    public func transposed() throws -> Variable {
        guard value.rank == 2 else {
            throw LearningError.shapeMismatch(operation: "transposed", expected: "a rank-2 variable", got: shapeString(value.shape))
        }
        return try permuted([1, 0])
    }

    /// The box starting at `lower` with `sizes`.
    public func slice(lower: [Int], sizes: [Int]) throws -> Variable {
        let shape = value.shape
        return Variable.record(try value.slice(lower: lower, sizes: sizes), [self]) { [self] g in
            var gx = Tensor<T>(zeros: shape)
            try gx.addBox(g, at: lower)
            accumulate(gx)
        }
    }

    /// Elements `range` along `axis` (negative axes count from the end), as a copy; the VJP adds
    /// the gradient into zeros of the input's shape. Throws `LearningError.invalidArgument` for
    /// an axis or range outside the shape.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Variable {
        let a = try value.normalizedAxes([axis])[0]
        var lower = [Int](repeating: 0, count: value.rank), sizes = value.shape
        lower[a] = range.lowerBound
        sizes[a] = range.count
        return try slice(lower: lower, sizes: sizes)
    }

    /// Constant padding (`lower[d]` before and `upper[d]` after axis d).
    public func padded(lower: [Int], upper: [Int], value pad: T = 0) throws -> Variable {
        let shape = value.shape
        return Variable.record(try value.padded(lower: lower, upper: upper, value: pad), [self]) { [self] g in
            accumulate(try g.slice(lower: lower, sizes: shape))
        }
    }

    /// Removes `lower[d]` entries before and `upper[d]` after axis d.
    public func cropped(lower: [Int], upper: [Int]) throws -> Variable {
        guard lower.count == value.rank, upper.count == value.rank else {
            throw LearningError.invalidArgument(name: "crop", value: "lower \(lower), upper \(upper)", expected: "\(value.rank) amounts per side")
        }
        return try slice(lower: lower, sizes: (0..<value.rank).map { value.shape[$0] - lower[$0] - upper[$0] })
    }

    /// Concatenation along `axis` (the other dimensions must agree); the VJP hands each part its
    /// slice of the gradient. Throws `LearningError.shapeMismatch` for disagreeing shapes,
    /// `invalidArgument` for no parts or an axis out of range.
    public static func concatenate(_ parts: [Variable], axis: Int) throws -> Variable {
        let y = try Tensor.concatenate(parts.map(\.value), axis: axis)
        let a = try y.normalizedAxes([axis])[0]
        let sizes = parts.map { $0.value.shape[a] }
        return Variable.record(y, parts) { g in
            var start = 0
            for (p, n) in zip(parts, sizes) {
                if p.requiresGradient { p.accumulate(try g.slice(axis: a, start..<start + n)) }
                start += n
            }
        }
    }

    /// Entries `indices` along an axis; the VJP scatters (adds) back.
    public func gathered(_ indices: [Int], axis: Int) throws -> Variable {
        let a = try value.normalizedAxes([axis])[0]
        let size = value.shape[a]
        return Variable.record(try value.gathered(indices, axis: a), [self]) { [self] g in
            accumulate(g.scatterAdded(indices, axis: a, size: size))
        }
    }

    /// x [B, C, S…] → [B, C + d, S…]: the grid coordinates on [0, 1]^d appended as channels
    /// (`Tensor.gridCoordinates`: i/(n − 1), or i/n without the endpoint).
    public func appendingGridCoordinates(includingEndpoint: Bool = true) throws -> Variable {
        let s = value.shape
        guard s.count >= 3 else {
            throw LearningError.shapeMismatch(operation: "appendingGridCoordinates", expected: "[B, C, S…] with 1–3 spatial axes", got: shapeString(s))
        }
        let grid = try Tensor<T>.gridCoordinates(Array(s[2...]), batch: s[0], includingEndpoint: includingEndpoint)
        return try Variable.concatenate([self, Variable(grid)], axis: 1)
    }

    /// A copy broadcast (numpy rules) to `shape`; the VJP sums the gradient over the stretched
    /// axes. Throws `LearningError.shapeMismatch` when the shape does not broadcast to `shape`.
    public func broadcast(to shape: [Int]) throws -> Variable {
        let old = value.shape
        return Variable.record(try value.broadcast(to: shape), [self]) { [self] g in accumulate(try g.summed(toShape: old)) }
    }

    // MARK: Reductions

    /// Σ of all elements (a rank-0 result).
    public func sum() -> Variable {
        let shape = value.shape
        return Variable.record(Tensor(value.sum()), [self]) { [self] g in
            accumulate(Tensor(repeating: g.scalars[0], shape: shape))
        }
    }

    /// Mean of all elements.
    public func mean() -> Variable {
        let n = T(max(1, value.count))
        return sum() * (1 / n)
    }

    /// Sum over `axes` (negative ones count from the end), kept as size-1 axes when
    /// `keepingDimensions`; the VJP broadcasts the gradient back. Throws
    /// `LearningError.invalidArgument` for an axis out of range.
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) throws -> Variable {
        let shape = value.shape
        let axes = try value.normalizedAxes(axes)
        var kept = shape
        for a in axes { kept[a] = 1 }
        return Variable.record(try value.sum(alongAxes: axes, keepingDimensions: keepingDimensions), [self]) { [self] g in
            accumulate(try g.reshaped(kept).broadcast(to: shape))
        }
    }

    /// Mean over `axes`: `sum(alongAxes:keepingDimensions:)` divided by the product of their
    /// sizes; same axes, shapes and errors.
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) throws -> Variable {
        let n = try value.normalizedAxes(axes).reduce(1) { $0 * value.shape[$1] }
        return try sum(alongAxes: axes, keepingDimensions: keepingDimensions) * (1 / T(max(1, n)))
    }

    /// Σ x² over all elements.
    public func squaredNorm() -> Variable {
        let x = value
        return Variable.record(Tensor(try! x.dot(x)), [self]) { [self] g in
            accumulate(x * (2 * g.scalars[0]))
        }
    }

    /// ‖x‖₂ over all elements (the gradient at 0 is taken as 0).
    public func norm() -> Variable {
        let x = value
        let r = (try! x.dot(x)).squareRoot()
        return Variable.record(Tensor(r), [self]) { [self] g in
            accumulate(r > 0 ? x * (g.scalars[0] / r) : Tensor(zeros: x.shape))
        }
    }

    // MARK: Matrix products

    /// [..., m, k] × [..., k, n] (see `Tensor.matmul`).
    public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) throws -> Variable {
        let av = a.value, bv = b.value
        let y = try Tensor.matmul(av, bv, transposeA: transposeA, transposeB: transposeB)
        return Variable.record(y, [a, b]) { g in
            if a.requiresGradient {
                var ga: Tensor<T>
                if transposeA {
                    ga = try Tensor.matmul(bv, g, transposeA: transposeB, transposeB: true)
                } else {
                    ga = try Tensor.matmul(g, bv, transposeB: !transposeB)
                }
                if av.rank == 2 && ga.rank > 2 { ga = try ga.sum(alongAxes: Array(0..<(ga.rank - 2))) }
                a.accumulate(ga)
            }
            if b.requiresGradient {
                var gb: Tensor<T>
                if bv.rank == 2 && av.rank > 2 && !transposeA {
                    // A shared right factor: fold the batch into the rows, one GEMM.
                    let k = av.shape[av.rank - 1], n = g.shape[g.rank - 1]
                    let a2 = try av.reshaped([-1, k]), g2 = try g.reshaped([-1, n])
                    gb = transposeB ? try Tensor.matmul(g2, a2, transposeA: true) : try Tensor.matmul(a2, g2, transposeA: true)
                } else {
                    gb = transposeB ? try Tensor.matmul(g, av, transposeA: true, transposeB: transposeA)
                                    : try Tensor.matmul(av, g, transposeA: !transposeA)
                    if bv.rank == 2 && gb.rank > 2 { gb = try gb.sum(alongAxes: Array(0..<(gb.rank - 2))) }
                }
                b.accumulate(gb)
            }
        }
    }

    /// x Wᵀ + b over the last axis: x [..., in], W [out, in], b [out] (PyTorch's layout).
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?) throws -> Variable {
        let y = try matmul(x.value.rank == 1 ? x.reshaped([1, -1]) : x, weight, transposeB: true)
        let out = x.value.rank == 1 ? try y.reshaped([-1]) : y
        guard let bias else { return out }
        return try out + bias
    }
}
