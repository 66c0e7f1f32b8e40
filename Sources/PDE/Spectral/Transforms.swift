import CFFTW
import Foundation

/// Real-to-real transform kinds (FFTW's r2r family) for Dirichlet, Neumann and periodic
/// axes. Unnormalized, as FFTW computes them: a transform followed by its `inverse` kind
/// multiplies by `logicalSize(n)`.
public enum RealTransformKind: String, Sendable, CaseIterable {
    /// DCT-I (REDFT00): even around both end points; Neumann–Neumann on vertex-centred nodes.
    case dct1
    /// DCT-II (REDFT10); inverse DCT-III.
    case dct2
    /// DCT-III (REDFT01); inverse DCT-II. Neumann at the first node, Dirichlet past the last.
    case dct3
    /// DST-I (RODFT00): odd around both ends; Dirichlet–Dirichlet on interior nodes.
    case dst1
    /// DST-II (RODFT10); inverse DST-III.
    case dst2
    /// DST-III (RODFT01); inverse DST-II. Dirichlet before the first node, Neumann at the last.
    case dst3
    /// Discrete Hartley transform: diagonalizes symmetric circulant (periodic) operators; its own inverse.
    case dht

    var fftwKind: Int32 {
        switch self {
        case .dct1: return swiftpde_fftw_redft00()
        case .dct2: return swiftpde_fftw_redft10()
        case .dct3: return swiftpde_fftw_redft01()
        case .dst1: return swiftpde_fftw_rodft00()
        case .dst2: return swiftpde_fftw_rodft10()
        case .dst3: return swiftpde_fftw_rodft01()
        case .dht: return swiftpde_fftw_dht()
        }
    }

    /// The kind that undoes this one (up to the factor `logicalSize`).
    public var inverse: RealTransformKind {
        switch self {
        case .dct2: return .dct3
        case .dct3: return .dct2
        case .dst2: return .dst3
        case .dst3: return .dst2
        default: return self
        }
    }

    /// FFTW's logical size N for n points: transform then inverse multiplies by N.
    public func logicalSize(_ n: Int) -> Int {
        switch self {
        case .dct1: return 2 * (n - 1)
        case .dst1: return 2 * (n + 1)
        case .dht: return n
        default: return 2 * n
        }
    }

    /// Smallest number of points the kind is defined for.
    var minimumPoints: Int { self == .dct1 ? 2 : 1 }
}

/// Shared checks and plan keys of the spectral transforms.
enum TransformCheck {
    static func shape(_ shape: [Int], batch: Int, what: String) throws {
        guard (1...3).contains(shape.count), shape.allSatisfy({ $0 >= 1 }), batch >= 1 else {
            throw PDEError.invalidValue(key: "\(what) shape", value: "\(shape) × batch \(batch)",
                                        expected: "1 to 3 axes of at least one point, batch ≥ 1")
        }
        let total = shape.reduce(batch) { p, n in p.multipliedReportingOverflow(by: n).overflow ? Int.max : p * n }
        guard total <= 1 << 34 else {
            throw PDEError.invalidValue(key: "\(what) shape", value: "\(shape) × batch \(batch)", expected: "at most 2³⁴ points")
        }
    }

    static func length(_ count: Int, _ expected: Int, _ what: String) throws {
        guard count == expected else {
            throw PDEError.shapeMismatch(what: what, expected: "\(expected) values", got: "\(count)")
        }
    }

    @inline(__always)
    static func aligned(_ p: UnsafeRawPointer) -> Bool { Int(bitPattern: p) % 16 == 0 }

    static func plan(_ key: String, points: Int, _ make: () -> OpaquePointer?) throws -> OpaquePointer {
        do {
            return try FFTWPlans.plan(key, threads: FFTWPlans.threads(forPoints: points), make).pointer
        } catch {
            throw PDEError.libraryFailure(library: "FFTW", reason: "cannot plan \(key) (out of memory?)")
        }
    }
}

/// Real-to-complex FFTs (Double) of `batch` arrays of `shape` (C order, last axis fastest —
/// numpy's layout of a grid field), and the inverse complex-to-real transform. Spectra are
/// interleaved (re, im) pairs of shape `[n₀, …, n_{d−1}/2 + 1]`. Unnormalized (numpy's
/// "backward" convention): `inverse(forward(x)) = N·x`, N the points per array.
///
/// Plans come from the suite's cache (`FFTWPlans`), so creating an object is cheap after
/// the first of a shape. An object keeps scratch for the c2r input (FFTW's c2r overwrites
/// its input): use one object per thread.
public final class RealFFT {
    /// Points per axis of one array (C order).
    public let shape: [Int]
    /// Arrays transformed per call.
    public let batch: Int
    private var scratch: [Double] = []
    /// The plans this object has used, by (inverse, aligned): found once in the shared cache,
    /// so a call builds no key string (time-stepping loops stay allocation-free).
    private var plans: [OpaquePointer?] = [nil, nil, nil, nil]

    /// Throws `PDEError.invalidValue` for other than 1–3 axes, empty axes or batch < 1.
    public init(shape: [Int], batch: Int = 1) throws {
        try TransformCheck.shape(shape, batch: batch, what: "real FFT")
        self.shape = shape
        self.batch = batch
    }

    /// Real values per array.
    public var realCount: Int { shape.reduce(1, *) }
    /// Complex values per array's half spectrum.
    public var complexCount: Int { shape.dropLast().reduce(1, *) * (shape.last! / 2 + 1) }
    /// Shape of one half spectrum (complex entries).
    public var spectrumShape: [Int] { Array(shape.dropLast()) + [shape.last! / 2 + 1] }

    /// The cached FFTW plan of this shape and batch (c2r plans may destroy their input);
    /// solvers that keep their own aligned buffers execute it directly. Kept per object, so a
    /// call does not build a cache key (no allocation).
    func plan(inverse: Bool, aligned: Bool) throws -> OpaquePointer {
        let slot = (inverse ? 2 : 0) + (aligned ? 1 : 0)
        if let p = plans[slot] { return p }
        let p = try makePlan(inverse: inverse, aligned: aligned)
        plans[slot] = p
        return p
    }

    private func makePlan(inverse: Bool, aligned: Bool) throws -> OpaquePointer {
        let n = shape.map { Int32($0) }
        let (real, complex) = (realCount, complexCount)
        let key = "pde f64 \(inverse ? "c2r" : "r2c") \(shape) ×\(batch) \(aligned)"
        return try TransformCheck.plan(key, points: real * batch) {
            let r = fftw_alloc_real(real * batch)!, c = fftw_alloc_complex(complex * batch)!
            defer { fftw_free(r); fftw_free(c) }
            let flags = FFTWPlans.flags((aligned ? 0 : swiftpde_fftw_unaligned()) | (inverse ? swiftpde_fftw_destroy_input() : 0))
            return inverse
                ? fftw_plan_many_dft_c2r(Int32(n.count), n, Int32(batch), c, nil, 1, Int32(complex), r, nil, 1, Int32(real), flags)
                : fftw_plan_many_dft_r2c(Int32(n.count), n, Int32(batch), r, nil, 1, Int32(real), c, nil, 1, Int32(complex), flags)
        }
    }

    /// y ← r2c(x): x has `batch · realCount` values, y `2 · batch · complexCount` (re, im).
    public func forward(_ x: [Double], into y: inout [Double]) throws {
        try TransformCheck.length(x.count, batch * realCount, "real FFT input")
        try TransformCheck.length(y.count, 2 * batch * complexCount, "real FFT output")
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let p = try plan(inverse: false, aligned: TransformCheck.aligned(xp.baseAddress!) && TransformCheck.aligned(yp.baseAddress!))
                yp.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: batch * complexCount) { c in
                    fftw_execute_dft_r2c(p, UnsafeMutablePointer(mutating: xp.baseAddress!), c)
                }
            }
        }
    }

    /// y ← r2c(x) on raw storage of the sizes `forward` checks (for the solvers' loops).
    public func forward(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>) throws {
        let p = try plan(inverse: false, aligned: TransformCheck.aligned(x) && TransformCheck.aligned(y))
        y.withMemoryRebound(to: fftw_complex.self, capacity: batch * complexCount) { c in
            fftw_execute_dft_r2c(p, UnsafeMutablePointer(mutating: x), c)
        }
    }

    /// x ← c2r(y), unnormalized, on raw storage; `y` is left unchanged (copied to scratch).
    public func inverse(_ y: UnsafePointer<Double>, into x: UnsafeMutablePointer<Double>) throws {
        let count = 2 * batch * complexCount
        if scratch.count != count { scratch = [Double](repeating: 0, count: count) }
        try scratch.withUnsafeMutableBufferPointer { sp in
            sp.baseAddress!.update(from: y, count: count)
            let p = try plan(inverse: true, aligned: TransformCheck.aligned(sp.baseAddress!) && TransformCheck.aligned(x))
            sp.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: batch * complexCount) { c in
                fftw_execute_dft_c2r(p, c, x)
            }
        }
    }

    /// x ← c2r(y), unnormalized; `y` is left unchanged (copied to scratch first).
    public func inverse(_ y: [Double], into x: inout [Double]) throws {
        try TransformCheck.length(y.count, 2 * batch * complexCount, "inverse real FFT input")
        try TransformCheck.length(x.count, batch * realCount, "inverse real FFT output")
        if scratch.count != y.count { scratch = [Double](repeating: 0, count: y.count) }
        scratch.withUnsafeMutableBufferPointer { s in y.withUnsafeBufferPointer { s.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        try scratch.withUnsafeMutableBufferPointer { sp in
            try x.withUnsafeMutableBufferPointer { xp in
                let p = try plan(inverse: true, aligned: TransformCheck.aligned(sp.baseAddress!) && TransformCheck.aligned(xp.baseAddress!))
                sp.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: batch * complexCount) { c in
                    fftw_execute_dft_c2r(p, c, xp.baseAddress!)
                }
            }
        }
    }
}

/// Complex FFTs (Double) of `batch` arrays of `shape` (C order), interleaved (re, im).
/// Forward uses e^{−2πi jk/n}; backward e^{+2πi jk/n}; unnormalized (backward∘forward = N).
public final class ComplexFFT {
    /// Points per axis of one array (C order).
    public let shape: [Int]
    /// Arrays transformed per call.
    public let batch: Int

    /// Throws `PDEError.invalidValue` for other than 1–3 axes, empty axes or batch < 1.
    public init(shape: [Int], batch: Int = 1) throws {
        try TransformCheck.shape(shape, batch: batch, what: "complex FFT")
        self.shape = shape
        self.batch = batch
    }

    /// Complex values per array.
    public var count: Int { shape.reduce(1, *) }

    /// y ← DFT(x) (forward: sign −1) or its backward counterpart; x and y hold
    /// `2 · batch · count` values; x may be y's storage only through separate arrays.
    public func transform(_ x: [Double], into y: inout [Double], forward: Bool = true) throws {
        try TransformCheck.length(x.count, 2 * batch * count, "complex FFT input")
        try TransformCheck.length(y.count, 2 * batch * count, "complex FFT output")
        let n = shape.map { Int32($0) }
        let total = count
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let aligned = TransformCheck.aligned(xp.baseAddress!) && TransformCheck.aligned(yp.baseAddress!)
                let key = "pde f64 c2c\(forward ? "+" : "-") \(shape) ×\(batch) \(aligned)"
                let p = try TransformCheck.plan(key, points: total * batch) {
                    let a = fftw_alloc_complex(total * batch)!, b = fftw_alloc_complex(total * batch)!
                    defer { fftw_free(a); fftw_free(b) }
                    return fftw_plan_many_dft(Int32(n.count), n, Int32(batch), a, nil, 1, Int32(total), b, nil, 1, Int32(total),
                                              forward ? swiftpde_fftw_forward() : swiftpde_fftw_backward(),
                                              FFTWPlans.flags(aligned ? 0 : swiftpde_fftw_unaligned()))
                }
                xp.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: batch * total) { i in
                    yp.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: batch * total) { o in
                        fftw_execute_dft(p, UnsafeMutablePointer(mutating: i), o)
                    }
                }
            }
        }
    }
}

/// Real-to-real transforms (Double), one `RealTransformKind` per axis, of `batch` arrays of
/// `shape` (C order). `apply` transforms with `kinds`; `applyInverse` with the inverse kinds
/// and divides by Π logicalSize, so `applyInverse(apply(x)) = x` to rounding.
public final class RealToRealTransform {
    /// Points per axis of one array (C order).
    public let shape: [Int]
    /// The kind per axis.
    public let kinds: [RealTransformKind]
    /// Arrays transformed per call.
    public let batch: Int

    /// Throws `PDEError.invalidValue` for a kind count other than the axis count, too few
    /// points for a kind (DCT-I needs 2), or a bad shape.
    public init(shape: [Int], kinds: [RealTransformKind], batch: Int = 1) throws {
        try TransformCheck.shape(shape, batch: batch, what: "real-to-real transform")
        guard kinds.count == shape.count else {
            throw PDEError.shapeMismatch(what: "real-to-real transform kinds", expected: "\(shape.count) kinds, one per axis", got: "\(kinds.count)")
        }
        for (d, k) in kinds.enumerated() where shape[d] < k.minimumPoints {
            throw PDEError.invalidValue(key: "real-to-real transform shape[\(d)]", value: "\(shape[d])",
                                        expected: "at least \(k.minimumPoints) points for \(k.rawValue)")
        }
        self.shape = shape
        self.kinds = kinds
        self.batch = batch
    }

    /// Values per array.
    public var count: Int { shape.reduce(1, *) }
    /// Π logicalSize over the axes: the factor of a transform followed by its inverse.
    public var normalization: Double { Double(zip(kinds, shape).reduce(1) { $0 * $1.0.logicalSize($1.1) }) }

    /// y ← transform(x) with `kinds` (unnormalized).
    public func apply(_ x: [Double], into y: inout [Double]) throws { try run(kinds, x, &y) }

    /// y ← transform(x) with the inverse kinds, divided by `normalization` unless
    /// `normalized` is false (for callers that fold the factor into their own pass).
    public func applyInverse(_ x: [Double], into y: inout [Double], normalized: Bool = true) throws {
        try run(kinds.map(\.inverse), x, &y)
        guard normalized else { return }
        let s = 1 / normalization
        y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= s } }
    }

    private func run(_ ks: [RealTransformKind], _ x: [Double], _ y: inout [Double]) throws {
        try TransformCheck.length(x.count, batch * count, "real-to-real transform input")
        try TransformCheck.length(y.count, batch * count, "real-to-real transform output")
        let n = shape.map { Int32($0) }
        let total = count
        let fk = ks.map { fftw_r2r_kind(UInt32($0.fftwKind)) }
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let aligned = TransformCheck.aligned(xp.baseAddress!) && TransformCheck.aligned(yp.baseAddress!)
                let key = "pde f64 r2r \(ks.map(\.rawValue)) \(shape) ×\(batch) \(aligned)"
                let p = try TransformCheck.plan(key, points: total * batch) {
                    let a = fftw_alloc_real(total * batch)!, b = fftw_alloc_real(total * batch)!
                    defer { fftw_free(a); fftw_free(b) }
                    return fftw_plan_many_r2r(Int32(n.count), n, Int32(batch), a, nil, 1, Int32(total), b, nil, 1, Int32(total),
                                              fk, FFTWPlans.flags(aligned ? 0 : swiftpde_fftw_unaligned()))
                }
                fftw_execute_r2r(p, UnsafeMutablePointer(mutating: xp.baseAddress!), yp.baseAddress!)
            }
        }
    }
}
