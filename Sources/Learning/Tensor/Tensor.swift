import Foundation

/// A dense n-dimensional array of `Float` or `Double`, row-major (last axis fastest, as
/// numpy's C order), with value semantics: copies share storage until one is mutated, so
/// `reshaped` is a view that costs nothing. Complex tensors are real tensors whose last
/// axis has length 2 (re, im), the layout of FFTW and of `torch.view_as_real`.
///
/// Operations whose shapes can disagree throw `LearningError.shapeMismatch`; element-wise
/// functions cannot fail and do not throw.
public struct Tensor<T: TensorScalar>: Sendable, Equatable {
    /// Dimensions, outermost first (the last axis varies fastest in `scalars`).
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public internal(set) var scalars: [T]

    /// A tensor of the given shape and elements; throws when the counts disagree or a
    /// dimension is negative.
    public init(shape: [Int], scalars: [T]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw LearningError.invalidArgument(name: "shape", value: shapeString(shape), expected: "non-negative dimensions")
        }
        let n = shape.reduce(1, *)
        guard n == scalars.count else {
            throw LearningError.shapeMismatch(operation: "Tensor(shape:scalars:)", expected: "\(n) scalars for shape \(shapeString(shape))",
                                              got: "\(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Internal: the caller guarantees the count.
    init(unchecked shape: [Int], _ scalars: [T]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor filled with `value`.
    public init(repeating value: T, shape: [Int]) {
        let s = shape.map { max(0, $0) }
        self.init(uninitializedShape: s) { y in
            let n = s.reduce(1, *)
            if value == 0 && value.sign == .plus {
                UnsafeMutableRawPointer(y).initializeMemory(as: UInt8.self, repeating: 0, count: n * MemoryLayout<T>.stride)
            } else {
                T.fillKernel(value, y, n)
            }
        }
    }

    /// Zeros of the given shape.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A rank-0 tensor (a scalar).
    public init(_ value: T) { self.init(unchecked: [], [value]) }

    /// A rank-1 tensor.
    public init(_ values: [T]) { self.init(unchecked: [values.count], values) }

    /// A tensor whose elements are written by `body` (every element must be written).
    init(uninitializedShape shape: [Int], _ body: (UnsafeMutablePointer<T>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.scalars = [T](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 { body(buf.baseAddress!) }
            count = n
        }
    }

    /// Standard normal entries times `standardDeviation` (plus `mean`).
    public static func randomNormal(shape: [Int], mean: Double = 0, standardDeviation: Double = 1,
                                    generator g: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var d = [Double](repeating: 0, count: n)
        for i in 0..<n { d[i] = mean + standardDeviation * g.normal() }
        return Tensor(doubles: d, shape: shape)
    }

    /// Uniform entries in [low, high).
    public static func randomUniform(shape: [Int], low: Double = 0, high: Double = 1,
                                     generator g: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var d = [Double](repeating: 0, count: n)
        for i in 0..<n { d[i] = g.uniform(low, high) }
        return Tensor(doubles: d, shape: shape)
    }

    /// Converts Double values (rounding to Float when T is Float); `doubles.count` must
    /// equal the shape's element count.
    init(doubles: [Double], shape: [Int]) {
        self.init(uninitializedShape: shape) { y in
            doubles.withUnsafeBufferPointer { T.fromDoublesKernel($0.baseAddress!, y, doubles.count) }
        }
    }

    /// Evenly spaced values from `start` to `end` (both included), as numpy's linspace.
    public static func linspace(_ start: Double, _ end: Double, count: Int) -> Tensor {
        guard count > 1 else { return Tensor([T(start)]) }
        return Tensor((0..<count).map { T(start + (end - start) * Double($0) / Double(count - 1)) })
    }

    /// Node coordinates of the uniform grid on [0, 1]^d with `sizes` nodes per axis, as d
    /// channels: [batch, d, S₁…S_d], channel a holding the coordinate along spatial axis a
    /// (the positional input of Fourier neural operators). With `includingEndpoint` (the
    /// FNO paper's numpy linspace) node i of n is at i/(n − 1); without (neuraloperator's
    /// periodic `GridEmbedding`, `linspace(0, 1, n + 1)[:-1]`) at i/n.
    public static func gridCoordinates(_ sizes: [Int], batch: Int = 1, includingEndpoint: Bool = true) throws -> Tensor {
        guard (1...3).contains(sizes.count), sizes.allSatisfy({ $0 >= 1 }), batch >= 1 else {
            throw LearningError.invalidArgument(name: "gridCoordinates", value: "sizes \(sizes), batch \(batch)",
                                                expected: "1 to 3 positive sizes and a positive batch")
        }
        let d = sizes.count, n = sizes.reduce(1, *)
        let st = strides(sizes)
        var values = [Double](repeating: 0, count: batch * d * n)
        for b in 0..<batch {
            for a in 0..<d {
                let base = (b * d + a) * n
                let h = includingEndpoint ? (sizes[a] > 1 ? 1 / Double(sizes[a] - 1) : 0) : 1 / Double(sizes[a])
                for l in 0..<n { values[base + l] = Double((l / st[a]) % sizes[a]) * h }
            }
        }
        return Tensor(doubles: values, shape: [batch, d] + sizes)
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }
    /// The single element of a tensor with one element.
    public var scalar: T? { scalars.count == 1 ? scalars[0] : nil }

    /// Element at a multi-index (for tests and small tensors).
    public subscript(_ index: Int...) -> T {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    func flatIndex(_ index: [Int]) -> Int {
        // Programmer errors (like an array's out-of-range index), not user input: they trap.
        precondition(index.count == shape.count, "Tensor subscript: \(index.count) indices for a \(shape.count)-D tensor")
        var k = 0
        for (d, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[d], "Tensor subscript: index \(i) out of range 0..<\(shape[d]) on axis \(d)")
            k = k * shape[d] + i
        }
        return k
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) { s[d] = acc; acc *= shape[d] }
        return s
    }

    /// The same elements with another shape (one dimension may be −1: inferred). No copy.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        Tensor(unchecked: try Tensor.resolveShape(newShape, count: count, from: shape), scalars)
    }

    static func resolveShape(_ newShape: [Int], count: Int, from shape: [Int]) throws -> [Int] {
        var s = newShape
        let unknown = s.indices.filter { s[$0] == -1 }
        let known = s.filter { $0 != -1 }.reduce(1, *)
        guard unknown.count <= 1, s.allSatisfy({ $0 >= -1 }) else {
            throw LearningError.invalidArgument(name: "reshape", value: shapeString(newShape), expected: "non-negative sizes and at most one −1")
        }
        if let u = unknown.first {
            guard known > 0, count % known == 0 else {
                throw LearningError.shapeMismatch(operation: "reshape", expected: "a shape with \(count) elements", got: shapeString(newShape))
            }
            s[u] = count / known
        }
        guard s.reduce(1, *) == count else {
            throw LearningError.shapeMismatch(operation: "reshape of \(shapeString(shape))", expected: "a shape with \(count) elements",
                                              got: shapeString(newShape))
        }
        return s
    }

    /// Applies an element-wise function.
    public func map(_ op: UnaryOp) -> Tensor {
        Tensor(uninitializedShape: shape) { y in
            scalars.withUnsafeBufferPointer { T.unaryKernel(op, $0.baseAddress!, y, count) }
        }
    }

    /// Applies a Swift closure to every element (not vectorized; for small tensors).
    public func map(_ f: (T) -> T) -> Tensor { Tensor(unchecked: shape, scalars.map(f)) }

    /// self ← self + α x (same shape).
    public mutating func add(_ x: Tensor, scaledBy alpha: T = 1) throws {
        guard x.shape == shape else {
            throw LearningError.shapeMismatch(operation: "in-place add", expected: shapeString(shape), got: shapeString(x.shape))
        }
        addUnchecked(x, scaledBy: alpha)
    }

    mutating func addUnchecked(_ x: Tensor, scaledBy alpha: T = 1) {
        let n = count
        scalars.withUnsafeMutableBufferPointer { y in
            x.scalars.withUnsafeBufferPointer { T.axpyKernel(alpha, $0.baseAddress!, y.baseAddress!, n) }
        }
    }

    /// self ← s · self.
    public mutating func scaleInPlace(_ s: Double) {
        let n = count
        scalars.withUnsafeMutableBufferPointer { T.unaryKernel(.scale(s), $0.baseAddress!, $0.baseAddress!, n) }
    }

    /// Σ of all elements.
    public func sum() -> T {
        scalars.withUnsafeBufferPointer { T.sumKernel($0.baseAddress!, 1, count) }
    }

    /// Σ xᵢ yᵢ over all elements (same count).
    public func dot(_ other: Tensor) throws -> T {
        guard other.count == count else {
            throw LearningError.shapeMismatch(operation: "dot", expected: "\(count) elements", got: "\(other.count)")
        }
        return scalars.withUnsafeBufferPointer { a in other.scalars.withUnsafeBufferPointer { T.dotKernel(a.baseAddress!, $0.baseAddress!, count) } }
    }

    /// Largest |x|.
    public func maxAbs() -> T {
        var m: T = 0
        for v in scalars { let a = Swift.abs(v); if a > m || a.isNaN { m = a } }
        return m
    }

    /// The same values in the other precision.
    public func converted<U: TensorScalar>(to: U.Type = U.self) -> Tensor<U> {
        if let same = self as? Tensor<U> { return same }
        let doubles = [Double](unsafeUninitializedCapacity: count) { buf, n in
            scalars.withUnsafeBufferPointer { T.toDoublesKernel($0.baseAddress!, buf.baseAddress!, count) }
            n = count
        }
        return Tensor<U>(doubles: doubles, shape: shape)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor<\(T.self)>\(shapeString(shape))[\(head)\(count > 8 ? ", …" : "")]"
    }
}
