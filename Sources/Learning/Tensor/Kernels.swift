import Foundation

/// Element-wise functions with a hand-written derivative.
public enum UnaryOp: Sendable, Equatable {
    case negate
    case relu
    /// max(x, 0) + slope · min(x, 0).
    case leakyRelu(slope: Double)
    /// x · Φ(x), Φ the standard normal CDF (the exact GELU, as PyTorch's default).
    case gelu
    /// log(1 + e^{βx}) / β.
    case softplus(beta: Double)
    case sigmoid
    case tanh
    case exp
    case log
    case square
    case sqrt
    case abs
    case sin
    case cos
    /// s · x.
    case scale(Double)
    /// x + s.
    case shift(Double)
    /// xᵖ (x > 0 unless p is a whole number).
    case power(Double)
    /// 1 / x.
    case reciprocal
}

/// Element-wise binary operations (with broadcasting handled by the caller).
public enum BinaryOp: Sendable, Equatable {
    case add, subtract, multiply, divide, maximum, minimum
}

/// Generic element kernels. They are called only from the `TensorScalar` witnesses with a
/// concrete type, so each is specialized for Float and Double and its loops vectorize.
enum Kernels {
    static let grain = 1 << 15

    @inline(__always)
    static func unary<T: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        Parallel.forChunks(n, minimumPerChunk: grain) { s, e in
            unaryRange(op, x, y, s, e)
        }
    }

    @inline(__always)
    static func unaryRange<T: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ s: Int, _ e: Int) {
        var i = s
        switch op {
        case .negate: while i < e { y[i] = -x[i]; i &+= 1 }
        case .relu: while i < e { let v = x[i]; y[i] = v > 0 ? v : 0; i &+= 1 }
        case .leakyRelu(let slope):
            let a = T(slope)
            while i < e { let v = x[i]; y[i] = v > 0 ? v : a * v; i &+= 1 }
        case .gelu:
            let r = T(0.7071067811865476)
            while i < e { let v = x[i]; y[i] = 0.5 * v * (1 + T._erf(v * r)); i &+= 1 }
        case .softplus(let beta):
            // log(1 + e^{βx})/β = max(x, 0) + log(1 + e^{−β|x|})/β, stable for all x.
            let b = T(beta), ib = 1 / T(beta)
            while i < e {
                let v = x[i]
                let av = v < 0 ? -v : v
                y[i] = (v > 0 ? v : 0) + ib * T._log(1 + T._exp(-b * av))
                i &+= 1
            }
        case .sigmoid:
            while i < e {
                let v = x[i]
                let ev = T._exp(-(v < 0 ? -v : v))
                let p = 1 / (1 + ev)
                y[i] = v >= 0 ? p : ev * p
                i &+= 1
            }
        case .tanh: while i < e { y[i] = T._tanh(x[i]); i &+= 1 }
        case .exp: while i < e { y[i] = T._exp(x[i]); i &+= 1 }
        case .log: while i < e { y[i] = T._log(x[i]); i &+= 1 }
        case .square: while i < e { let v = x[i]; y[i] = v * v; i &+= 1 }
        case .sqrt: while i < e { y[i] = x[i].squareRoot(); i &+= 1 }
        case .abs: while i < e { let v = x[i]; y[i] = v < 0 ? -v : v; i &+= 1 }
        case .sin: while i < e { y[i] = T(Foundation.sin(Double(x[i]))); i &+= 1 }
        case .cos: while i < e { y[i] = T(Foundation.cos(Double(x[i]))); i &+= 1 }
        case .scale(let s):
            let a = T(s)
            while i < e { y[i] = a * x[i]; i &+= 1 }
        case .shift(let s):
            let a = T(s)
            while i < e { y[i] = x[i] + a; i &+= 1 }
        case .power(let p):
            if p == 2 { while i < e { let v = x[i]; y[i] = v * v; i &+= 1 }; return }
            while i < e { y[i] = T(Foundation.pow(Double(x[i]), p)); i &+= 1 }
        case .reciprocal: while i < e { y[i] = 1 / x[i]; i &+= 1 }
        }
    }

    /// gx = gy · f′(x) (overwrites gx); `y` is f(x), used where it is cheaper.
    @inline(__always)
    static func unaryBackward<T: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                               _ gy: UnsafePointer<T>, _ gx: UnsafeMutablePointer<T>, _ n: Int) {
        Parallel.forChunks(n, minimumPerChunk: grain) { s, e in
            var i = s
            switch op {
            case .negate: while i < e { gx[i] = -gy[i]; i &+= 1 }
            case .relu: while i < e { gx[i] = x[i] > 0 ? gy[i] : 0; i &+= 1 }
            case .leakyRelu(let slope):
                let a = T(slope)
                while i < e { gx[i] = x[i] > 0 ? gy[i] : a * gy[i]; i &+= 1 }
            case .gelu:
                // d/dx xΦ(x) = Φ(x) + x φ(x).
                let r = T(0.7071067811865476), c = T(0.3989422804014327)
                while i < e {
                    let v = x[i]
                    let cdf = 0.5 * (1 + T._erf(v * r))
                    gx[i] = gy[i] * (cdf + v * c * T._exp(-0.5 * v * v))
                    i &+= 1
                }
            case .softplus(let beta):
                // σ(βx), stably.
                let b = T(beta)
                while i < e {
                    let v = b * x[i]
                    let ev = T._exp(-(v < 0 ? -v : v))
                    let p = 1 / (1 + ev)
                    gx[i] = gy[i] * (v >= 0 ? p : ev * p)
                    i &+= 1
                }
            case .sigmoid: while i < e { let s = y[i]; gx[i] = gy[i] * s * (1 - s); i &+= 1 }
            case .tanh: while i < e { let t = y[i]; gx[i] = gy[i] * (1 - t * t); i &+= 1 }
            case .exp: while i < e { gx[i] = gy[i] * y[i]; i &+= 1 }
            case .log: while i < e { gx[i] = gy[i] / x[i]; i &+= 1 }
            case .square: while i < e { gx[i] = 2 * gy[i] * x[i]; i &+= 1 }
            case .sqrt: while i < e { gx[i] = gy[i] / (2 * y[i]); i &+= 1 }
            case .abs: while i < e { let v = x[i]; gx[i] = v > 0 ? gy[i] : (v < 0 ? -gy[i] : 0); i &+= 1 }
            case .sin: while i < e { gx[i] = gy[i] * T(Foundation.cos(Double(x[i]))); i &+= 1 }
            case .cos: while i < e { gx[i] = -gy[i] * T(Foundation.sin(Double(x[i]))); i &+= 1 }
            case .scale(let s):
                let a = T(s)
                while i < e { gx[i] = a * gy[i]; i &+= 1 }
            case .shift: while i < e { gx[i] = gy[i]; i &+= 1 }
            case .power(let p):
                while i < e { gx[i] = gy[i] * T(p * Foundation.pow(Double(x[i]), p - 1)); i &+= 1 }
            case .reciprocal: while i < e { let v = y[i]; gx[i] = -gy[i] * v * v; i &+= 1 }
            }
        }
    }

    /// y[i] = a[i·sa] ∘ b[i·sb] for strides sa, sb ∈ {0, 1}.
    @inline(__always)
    static func binary<T: TensorScalar>(_ op: BinaryOp, _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                                        _ y: UnsafeMutablePointer<T>, _ n: Int) {
        if sa == 1 && sb == 1 {
            binaryLoop(op, n) { a[$0] } _: { b[$0] } _: { y[$0] = $1 }
        } else if sa == 1 {
            let bv = b[0]
            binaryLoop(op, n) { a[$0] } _: { _ in bv } _: { y[$0] = $1 }
        } else if sb == 1 {
            let av = a[0]
            binaryLoop(op, n) { _ in av } _: { b[$0] } _: { y[$0] = $1 }
        } else {
            let av = a[0], bv = b[0]
            binaryLoop(op, n) { _ in av } _: { _ in bv } _: { y[$0] = $1 }
        }
    }

    @inline(__always)
    static func binaryLoop<T: TensorScalar>(_ op: BinaryOp, _ n: Int, _ a: (Int) -> T, _ b: (Int) -> T, _ store: (Int, T) -> Void) {
        var i = 0
        switch op {
        case .add: while i < n { store(i, a(i) + b(i)); i &+= 1 }
        case .subtract: while i < n { store(i, a(i) - b(i)); i &+= 1 }
        case .multiply: while i < n { store(i, a(i) * b(i)); i &+= 1 }
        case .divide: while i < n { store(i, a(i) / b(i)); i &+= 1 }
        case .maximum: while i < n { let u = a(i), v = b(i); store(i, u >= v ? u : v); i &+= 1 }
        case .minimum: while i < n { let u = a(i), v = b(i); store(i, u <= v ? u : v); i &+= 1 }
        }
    }

    /// y ← y + α x.
    @inline(__always)
    static func axpy<T: TensorScalar>(_ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        Parallel.forChunks(n, minimumPerChunk: grain) { s, e in
            var i = s
            if alpha == 1 {
                while i < e { y[i] += x[i]; i &+= 1 }
            } else {
                while i < e { y[i] += alpha * x[i]; i &+= 1 }
            }
        }
    }

    /// Σ x[i·stride], summed in 8 interleaved partial sums (fewer rounding errors, vectorizes).
    @inline(__always)
    static func sum<T: TensorScalar>(_ x: UnsafePointer<T>, _ stride: Int, _ n: Int) -> T {
        if stride != 1 {
            var acc: T = 0
            var i = 0, k = 0
            while i < n { acc += x[k]; i &+= 1; k &+= stride }
            return acc
        }
        var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, s4: T = 0, s5: T = 0, s6: T = 0, s7: T = 0
        var i = 0
        while i &+ 8 <= n {
            s0 += x[i]; s1 += x[i &+ 1]; s2 += x[i &+ 2]; s3 += x[i &+ 3]
            s4 += x[i &+ 4]; s5 += x[i &+ 5]; s6 += x[i &+ 6]; s7 += x[i &+ 7]
            i &+= 8
        }
        while i < n { s0 += x[i]; i &+= 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    @inline(__always)
    static func dot<T: TensorScalar>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>, _ n: Int) -> T {
        var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, s4: T = 0, s5: T = 0, s6: T = 0, s7: T = 0
        var i = 0
        while i &+ 8 <= n {
            s0 += x[i] * y[i]; s1 += x[i &+ 1] * y[i &+ 1]; s2 += x[i &+ 2] * y[i &+ 2]; s3 += x[i &+ 3] * y[i &+ 3]
            s4 += x[i &+ 4] * y[i &+ 4]; s5 += x[i &+ 5] * y[i &+ 5]; s6 += x[i &+ 6] * y[i &+ 6]; s7 += x[i &+ 7] * y[i &+ 7]
            i &+= 8
        }
        while i < n { s0 += x[i] * y[i]; i &+= 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }
}
