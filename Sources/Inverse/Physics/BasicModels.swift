import Foundation
import PDE

/// A = I (denoising).
public struct IdentityModel: ForwardModel {
    public var name: String { "identity" }
    public let domainShape: [Int]
    public var rangeShape: [Int] { domainShape }

    /// The identity on arrays of `shape` (1–3 axes).
    public init(shape: [Int]) throws {
        try InverseCheck.shape(shape, key: "shape")
        domainShape = shape
    }

    public func apply(_ x: [Double], into y: inout [Double]) { y = x }
    public func adjoint(_ y: [Double], into x: inout [Double]) { x = y }
    public func applyNormal(_ v: [Double], into x: inout [Double]) -> Bool { x = v; return true }

    public var fourierSymbols: FourierSymbols? {
        guard let fft = try? RealFFT(shape: domainShape) else { return nil }
        var s = [Double](repeating: 0, count: 2 * fft.complexCount)
        for k in 0..<fft.complexCount { s[2 * k] = 1 }
        return FourierSymbols(shape: domainShape, channels: [s])
    }
}

/// Inpainting: y = m ⊙ x with a 0/1 mask of the image's shape (missing pixels read 0).
/// Self-adjoint; AᵀA = A.
public struct MaskModel: ForwardModel {
    public var name: String { "mask" }
    public let domainShape: [Int]
    public var rangeShape: [Int] { domainShape }
    /// The mask as 0/1 weights.
    public let weights: [Double]

    /// A mask of `shape`; throws when the lengths differ or no pixel is kept.
    public init(mask: [Bool], shape: [Int]) throws {
        try InverseCheck.shape(shape, key: "shape")
        try InverseCheck.length(mask.count, shape.reduce(1, *), "mask of shape \(shape)")
        guard mask.contains(true) else {
            throw PDEError.invalidValue(key: "mask", value: "no pixel kept", expected: "at least one observed pixel")
        }
        domainShape = shape
        weights = mask.map { $0 ? 1 : 0 }
    }

    /// Keeps each pixel with probability 1 − `missingFraction` (seeded).
    public static func random(shape: [Int], missingFraction: Double, seed: UInt64) throws -> MaskModel {
        guard missingFraction >= 0, missingFraction < 1 else {
            throw PDEError.invalidValue(key: "missing_fraction", value: "\(missingFraction)", expected: "a fraction in [0, 1)")
        }
        var rng = SeededGenerator(seed: seed)
        let n = shape.reduce(1, *)
        return try MaskModel(mask: (0..<max(0, n)).map { _ in rng.uniform() >= missingFraction }, shape: shape)
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        for i in 0..<weights.count { y[i] = weights[i] * x[i] }
    }
    public func adjoint(_ y: [Double], into x: inout [Double]) { apply(y, into: &x) }
    public func applyNormal(_ v: [Double], into x: inout [Double]) -> Bool { apply(v, into: &x); return true }
}

/// Decimation of a 2-D image by an integer factor: y[i, j] = x[f·i, f·j] (the sampling step of
/// super-resolution; compose with a blur for the full model).
public struct Downsample: ForwardModel {
    public var name: String { "downsample×\(factor)" }
    public let domainShape: [Int]
    public let rangeShape: [Int]
    /// The factor f.
    public let factor: Int

    /// Throws unless `imageShape` is 2-D with both sides divisible by `factor` ≥ 1.
    public init(imageShape: [Int], factor: Int) throws {
        try InverseCheck.shape(imageShape, key: "image shape", axes: 2...2)
        guard factor >= 1, imageShape[0] % factor == 0, imageShape[1] % factor == 0 else {
            throw PDEError.invalidValue(key: "factor", value: "\(factor)", expected: "an integer ≥ 1 dividing both sides of \(imageShape)")
        }
        domainShape = imageShape
        rangeShape = [imageShape[0] / factor, imageShape[1] / factor]
        self.factor = factor
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        let (m0, m1, n1) = (rangeShape[0], rangeShape[1], domainShape[1])
        for i in 0..<m0 { for j in 0..<m1 { y[i * m1 + j] = x[(i * factor) * n1 + j * factor] } }
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        let (m0, m1, n1) = (rangeShape[0], rangeShape[1], domainShape[1])
        for i in 0..<x.count { x[i] = 0 }
        for i in 0..<m0 { for j in 0..<m1 { x[(i * factor) * n1 + j * factor] = y[i * m1 + j] } }
    }
}

/// Super-resolution: y = S(k ∗ x), a blur followed by decimation.
public func superResolution(imageShape: [Int], kernel: BlurKernel, factor: Int,
                            boundary: BlurBoundary = .periodic) throws -> Composition {
    try Composition(Downsample(imageShape: imageShape, factor: factor), after: Blur(imageShape: imageShape, kernel: kernel, boundary: boundary))
}

/// A = outer ∘ inner (apply inner first). The adjoint is innerᵀ ∘ outerᵀ.
public struct Composition: ForwardModel {
    public var name: String { "\(outer.name)∘\(inner.name)" }
    /// Applied second.
    public let outer: ForwardModel
    /// Applied first.
    public let inner: ForwardModel
    public var domainShape: [Int] { inner.domainShape }
    public var rangeShape: [Int] { outer.rangeShape }

    /// Throws when inner's range size differs from outer's domain size.
    public init(_ outer: ForwardModel, after inner: ForwardModel) throws {
        guard inner.rangeCount == outer.domainCount else {
            throw PDEError.shapeMismatch(what: "composition \(outer.name)∘\(inner.name)", expected: "\(outer.domainShape)", got: "\(inner.rangeShape)")
        }
        self.outer = outer
        self.inner = inner
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        var t = [Double](repeating: 0, count: inner.rangeCount)
        inner.apply(x, into: &t)
        outer.apply(t, into: &y)
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        var t = [Double](repeating: 0, count: inner.rangeCount)
        outer.adjoint(y, into: &t)
        inner.adjoint(t, into: &x)
    }
}

/// A = [A₁; A₂; …]: one domain, ranges concatenated (flat, `rangeShape` = [total]).
/// Aᵀ[y₁; y₂; …] = Σ Aᵢᵀ yᵢ.
public struct StackedModel: ForwardModel {
    public var name: String { "[" + parts.map(\.name).joined(separator: "; ") + "]" }
    /// The blocks.
    public let parts: [ForwardModel]
    public var domainShape: [Int] { parts[0].domainShape }
    public var rangeShape: [Int] { [parts.reduce(0) { $0 + $1.rangeCount }] }

    /// Throws for no parts or parts with different domain sizes.
    public init(_ parts: [ForwardModel]) throws {
        guard let first = parts.first else {
            throw PDEError.invalidValue(key: "stack", value: "[]", expected: "at least one operator")
        }
        for p in parts where p.domainCount != first.domainCount {
            throw PDEError.shapeMismatch(what: "stacked operator \(p.name)", expected: "domain \(first.domainShape)", got: "\(p.domainShape)")
        }
        self.parts = parts
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        var offset = 0
        for p in parts {
            var t = [Double](repeating: 0, count: p.rangeCount)
            p.apply(x, into: &t)
            for i in 0..<t.count { y[offset + i] = t[i] }
            offset += t.count
        }
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        for i in 0..<x.count { x[i] = 0 }
        var offset = 0
        var t = [Double](repeating: 0, count: domainCount)
        for p in parts {
            p.adjoint(Array(y[offset..<(offset + p.rangeCount)]), into: &t)
            for i in 0..<x.count { x[i] += t[i] }
            offset += p.rangeCount
        }
    }

    public var fourierSymbols: FourierSymbols? {
        var channels: [[Double]] = []
        for p in parts {
            guard let s = p.fourierSymbols else { return nil }
            channels += s.channels
        }
        return FourierSymbols(shape: domainShape, channels: channels)
    }
}

/// A = c·B.
public struct ScaledModel: ForwardModel {
    public var name: String { "\(scale)·\(base.name)" }
    /// B.
    public let base: ForwardModel
    /// c.
    public let scale: Double
    public var domainShape: [Int] { base.domainShape }
    public var rangeShape: [Int] { base.rangeShape }

    /// c·B (any finite c).
    public init(_ base: ForwardModel, scale: Double) throws {
        guard scale.isFinite else { throw PDEError.invalidValue(key: "scale", value: "\(scale)", expected: "a finite number") }
        self.base = base
        self.scale = scale
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        base.apply(x, into: &y)
        for i in 0..<y.count { y[i] *= scale }
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        base.adjoint(y, into: &x)
        for i in 0..<x.count { x[i] *= scale }
    }

    public var fourierSymbols: FourierSymbols? {
        base.fourierSymbols.map { FourierSymbols(shape: $0.shape, channels: $0.channels.map { $0.map { $0 * scale } }) }
    }
}

/// Boundary of the finite-difference gradient.
public enum GradientBoundary: String, Sendable, CaseIterable {
    /// x[n] = x[0]: circulant, diagonalized by the FFT (the TV-ADMM peer's choice).
    case periodic
    /// The last forward difference is 0 (homogeneous Neumann; the usual TV of Chambolle).
    case neumann
}

/// The forward-difference gradient of a 2-D image, D x = (Dₓ x, D_y x) stacked as [2, rows,
/// cols]: channel 0 differences along columns (x[i, j+1] − x[i, j]), channel 1 along rows.
/// Its adjoint is minus the matching divergence. ‖D‖² ≤ 8.
public struct FiniteDifferenceGradient: ForwardModel {
    public var name: String { "gradient(\(boundary.rawValue))" }
    public let domainShape: [Int]
    public var rangeShape: [Int] { [2] + domainShape }
    /// Boundary treatment.
    public let boundary: GradientBoundary

    /// The gradient of `imageShape` ([rows, cols]) images.
    public init(imageShape: [Int], boundary: GradientBoundary = .neumann) throws {
        try InverseCheck.shape(imageShape, key: "image shape", axes: 2...2)
        domainShape = imageShape
        self.boundary = boundary
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        let (n0, n1) = (domainShape[0], domainShape[1])
        let n = n0 * n1
        let periodic = boundary == .periodic
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for i in 0..<n0 {
                    let row = i &* n1
                    let down = i + 1 < n0 ? row &+ n1 : (periodic ? 0 : -1)
                    for j in 0..<n1 {
                        let v = xp[row &+ j]
                        let right = j + 1 < n1 ? j &+ 1 : (periodic ? 0 : -1)
                        yp[row &+ j] = right >= 0 ? xp[row &+ right] - v : 0
                        yp[n &+ row &+ j] = down >= 0 ? xp[down &+ j] - v : 0
                    }
                }
            }
        }
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        let (n0, n1) = (domainShape[0], domainShape[1])
        let n = n0 * n1
        let periodic = boundary == .periodic
        y.withUnsafeBufferPointer { yp in
            x.withUnsafeMutableBufferPointer { xp in
                for i in 0..<n0 {
                    let row = i &* n1
                    for j in 0..<n1 {
                        // (Dᵀp)[i,j] = p[i,j−1] − p[i,j] for the column channel (with its boundary rules).
                        var s = 0.0
                        let px = yp[row &+ j], py = yp[n &+ row &+ j]
                        if j + 1 < n1 || periodic { s -= px }
                        if j > 0 { s += yp[row &+ j &- 1] } else if periodic { s += yp[row &+ n1 &- 1] }
                        if i + 1 < n0 || periodic { s -= py }
                        if i > 0 { s += yp[n &+ row &- n1 &+ j] } else if periodic { s += yp[n &+ (n0 &- 1) &* n1 &+ j] }
                        xp[row &+ j] = s
                    }
                }
            }
        }
    }

    public var fourierSymbols: FourierSymbols? {
        guard boundary == .periodic else { return nil }
        let (n0, n1) = (domainShape[0], domainShape[1])
        var dx = [Double](repeating: 0, count: n0 * n1), dy = dx
        // Filters whose circular convolution is the forward difference: x[j+1] − x[j].
        dx[0] = -1; dx[n1 > 1 ? n1 - 1 : 0] += 1
        dy[0] = -1; dy[n0 > 1 ? (n0 - 1) * n1 : 0] += 1
        guard let sx = try? FourierSymbols.symbol(ofFilter: dx, shape: domainShape),
              let sy = try? FourierSymbols.symbol(ofFilter: dy, shape: domainShape) else { return nil }
        return FourierSymbols(shape: domainShape, channels: [sx, sy])
    }
}

/// An explicit matrix as a forward model (small problems, tests, learned linear maps):
/// domain [columns], range [rows].
public struct MatrixModel: ForwardModel {
    public var name: String { "matrix \(matrix.rows)×\(matrix.columns)" }
    /// The matrix.
    public let matrix: DenseMatrix
    public var domainShape: [Int] { [matrix.columns] }
    public var rangeShape: [Int] { [matrix.rows] }

    /// Wraps `matrix`.
    public init(_ matrix: DenseMatrix) { self.matrix = matrix }

    public func apply(_ x: [Double], into y: inout [Double]) {
        y = (try? matrix.apply(x)) ?? [Double](repeating: .nan, count: matrix.rows)
    }
    public func adjoint(_ y: [Double], into x: inout [Double]) {
        x = (try? matrix.apply(y, transpose: true)) ?? [Double](repeating: .nan, count: matrix.columns)
    }
}
