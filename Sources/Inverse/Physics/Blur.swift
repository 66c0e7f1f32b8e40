import Foundation
import PDE

/// A 2-D point-spread function: non-negative weights summing to 1, odd or even sizes, centred
/// at index (rows/2, cols/2).
public struct BlurKernel: Sendable, Equatable {
    /// Weights, C order.
    public let values: [Double]
    /// [rows, cols].
    public let shape: [Int]

    /// A kernel from explicit weights (normalized to sum 1 when `normalize`). Throws for a
    /// length that does not match `shape`, negative or non-finite weights, or a zero sum.
    public init(values: [Double], shape: [Int], normalize: Bool = true) throws {
        try InverseCheck.shape(shape, key: "kernel shape", axes: 2...2)
        try InverseCheck.length(values.count, shape[0] * shape[1], "blur kernel of shape \(shape)")
        guard values.allSatisfy({ $0.isFinite }) else {
            throw PDEError.invalidValue(key: "kernel", value: "non-finite weight", expected: "finite weights")
        }
        let sum = values.reduce(0, +)
        guard sum != 0 else { throw PDEError.invalidValue(key: "kernel", value: "weights summing to 0", expected: "a non-zero sum") }
        self.values = normalize ? values.map { $0 / sum } : values
        self.shape = shape
    }

    /// exp(−(i² + j²)/(2σ²)) on |i|, |j| ≤ radius (default ⌈4σ⌉, the deblurring peer's 17×17 at
    /// σ = 2), normalized.
    public static func gaussian(sigma: Double, radius: Int? = nil) throws -> BlurKernel {
        try InverseCheck.positive(sigma, key: "sigma")
        let r = radius ?? Int((4 * sigma).rounded(.up))
        guard r >= 0, r <= 1024 else { throw PDEError.invalidValue(key: "radius", value: "\(r)", expected: "0…1024") }
        let g = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        var v: [Double] = []
        v.reserveCapacity(g.count * g.count)
        for a in g { for b in g { v.append(a * b) } }
        return try BlurKernel(values: v, shape: [2 * r + 1, 2 * r + 1])
    }

    /// A size × size box (uniform) kernel.
    public static func uniform(size: Int) throws -> BlurKernel {
        guard size >= 1, size <= 2049 else { throw PDEError.invalidValue(key: "size", value: "\(size)", expected: "1…2049") }
        return try BlurKernel(values: [Double](repeating: 1, count: size * size), shape: [size, size])
    }

    /// Linear motion blur: a segment of `length` pixels at `angleDegrees` (counter-clockwise
    /// from the x axis, rows pointing down), rasterized by supersampling its points with
    /// bilinear weights, normalized.
    public static func motion(length: Double, angleDegrees: Double) throws -> BlurKernel {
        try InverseCheck.positive(length, key: "length")
        guard angleDegrees.isFinite else { throw PDEError.invalidValue(key: "angle", value: "\(angleDegrees)", expected: "a finite angle in degrees") }
        let r = Int((length / 2).rounded(.up)) + 1
        let size = 2 * r + 1
        var v = [Double](repeating: 0, count: size * size)
        let th = angleDegrees * .pi / 180
        let (dx, dy) = (cos(th), -sin(th))
        let samples = max(2, Int(length * 8))
        for s in 0..<samples {
            let t = (Double(s) / Double(samples - 1) - 0.5) * length
            let x = Double(r) + t * dx, y = Double(r) + t * dy
            let j0 = Int(x.rounded(.down)), i0 = Int(y.rounded(.down))
            let fx = x - Double(j0), fy = y - Double(i0)
            for (di, wi) in [(0, 1 - fy), (1, fy)] {
                for (dj, wj) in [(0, 1 - fx), (1, fx)] {
                    let i = i0 + di, j = j0 + dj
                    if i >= 0, i < size, j >= 0, j < size { v[i * size + j] += wi * wj }
                }
            }
        }
        return try BlurKernel(values: v, shape: [size, size])
    }
}

/// How a blur treats pixels outside the image.
public enum BlurBoundary: String, Sendable, CaseIterable {
    /// Periodic wrap; applied by FFT (circulant, so Tikhonov/ADMM solve by FFT).
    case periodic
    /// Zero outside the image ("same"-size linear convolution).
    case zero
    /// Mirror about the edge, edge pixel repeated (numpy "symmetric", scipy.ndimage "reflect").
    case reflect
}

/// Convolution of an image with a point-spread function: y = k ∗ x, same size as x.
/// Periodic boundaries use FFTs (the kernel's symbol is exposed for FFT solves); zero and
/// reflective ones a direct, row-parallel convolution. Adjoint = correlation with k (with the
/// reflection folded back), exact.
///
/// Holds FFT scratch: use one model per thread.
public struct Blur: ForwardModel {
    public var name: String { "blur(\(boundary.rawValue))" }
    public let domainShape: [Int]
    public var rangeShape: [Int] { domainShape }
    /// The point-spread function.
    public let kernel: BlurKernel
    /// Boundary treatment.
    public let boundary: BlurBoundary
    private let symbol: [Double]
    private let multiplier: FourierMultiplier?

    /// A blur of `imageShape` ([rows, cols]) images. Throws for a non-2-D shape or (for the
    /// direct boundaries) a kernel larger than the image.
    public init(imageShape: [Int], kernel: BlurKernel, boundary: BlurBoundary = .periodic) throws {
        try InverseCheck.shape(imageShape, key: "image shape", axes: 2...2)
        guard kernel.shape[0] <= imageShape[0], kernel.shape[1] <= imageShape[1] else {
            throw PDEError.invalidValue(key: "kernel", value: "\(kernel.shape)", expected: "a kernel no larger than the image \(imageShape)")
        }
        domainShape = imageShape
        self.kernel = kernel
        self.boundary = boundary
        if boundary == .periodic {
            let (n0, n1) = (imageShape[0], imageShape[1])
            let (k0, k1) = (kernel.shape[0], kernel.shape[1])
            var psf = [Double](repeating: 0, count: n0 * n1)
            for a in 0..<k0 {
                for b in 0..<k1 {
                    let i = ((a - k0 / 2) % n0 + n0) % n0, j = ((b - k1 / 2) % n1 + n1) % n1
                    psf[i * n1 + j] += kernel.values[a * k1 + b]
                }
            }
            symbol = try FourierSymbols.symbol(ofFilter: psf, shape: imageShape)
            multiplier = try FourierMultiplier(shape: imageShape)
        } else {
            symbol = []
            multiplier = nil
        }
    }

    public var fourierSymbols: FourierSymbols? {
        boundary == .periodic ? FourierSymbols(shape: domainShape, channels: [symbol]) : nil
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        if let m = multiplier { m.multiply(x, by: symbol, conjugate: false, into: &y); return }
        convolve(x, into: &y, transpose: false)
    }

    public func adjoint(_ y: [Double], into x: inout [Double]) {
        if let m = multiplier { m.multiply(y, by: symbol, conjugate: true, into: &x); return }
        convolve(y, into: &x, transpose: true)
    }

    public func applyNormal(_ v: [Double], into x: inout [Double]) -> Bool {
        guard let m = multiplier else { return false }
        let s = symbol
        var power = [Double](repeating: 0, count: m.complexCount)
        for k in 0..<m.complexCount {
            let re = s[2 * k], im = s[2 * k + 1]
            power[k] = re * re + im * im
        }
        m.multiplyReal(v, by: power, into: &x)
        return true
    }

    /// Mirror index of the "symmetric" extension (… 1 0 | 0 1 … n−1 | n−1 n−2 …), or −1 for
    /// the zero boundary outside.
    @inline(__always)
    private func source(_ p: Int, _ n: Int) -> Int {
        if p >= 0 && p < n { return p }
        if boundary == .zero { return -1 }
        let period = 2 &* n
        var q = p % period
        if q < 0 { q = q &+ period }
        return q < n ? q : period &- 1 &- q
    }

    /// Direct convolution: forward y[i,j] = Σ k[a,b] x̃[i − a + c0, j − b + c1] (x̃ the extended
    /// image); transpose scatters each input back with the same weights.
    private func convolve(_ input: [Double], into out: inout [Double], transpose: Bool) {
        let (n0, n1) = (domainShape[0], domainShape[1])
        let (k0, k1) = (kernel.shape[0], kernel.shape[1])
        let (c0, c1) = (k0 / 2, k1 / 2)
        let rowMap = (0..<(n0 + 2 * k0)).map { source($0 - k0, n0) }   // index p ↦ rowMap[p + k0]
        let colMap = (0..<(n1 + 2 * k1)).map { source($0 - k1, n1) }
        if !transpose {
            input.withUnsafeBufferPointer { xp in
                kernel.values.withUnsafeBufferPointer { kp in
                    out.withUnsafeMutableBufferPointer { yp in
                        let y = yp.baseAddress!
                        let work: Int = n1 &* k0 &* k1
                        let rowsPerChunk: Int = max(1, 262_144 / max(1, work))
                        Parallel.forChunks(n0, minimumPerChunk: rowsPerChunk) { r0, r1 in
                            for i in r0..<r1 {
                                for j in 0..<n1 {
                                    var s = 0.0
                                    for a in 0..<k0 {
                                        let si = rowMap[i &- a &+ c0 &+ k0]
                                        if si < 0 { continue }
                                        let row = si &* n1
                                        for b in 0..<k1 {
                                            let sj = colMap[j &- b &+ c1 &+ k1]
                                            if sj >= 0 { s += kp[a &* k1 &+ b] * xp[row &+ sj] }
                                        }
                                    }
                                    y[i &* n1 &+ j] = s
                                }
                            }
                        }
                    }
                }
            }
        } else {
            out.withUnsafeMutableBufferPointer { xp in
                for i in 0..<xp.count { xp[i] = 0 }
                input.withUnsafeBufferPointer { yp in
                    kernel.values.withUnsafeBufferPointer { kp in
                        for i in 0..<n0 {
                            for a in 0..<k0 {
                                let si = rowMap[i &- a &+ c0 &+ k0]
                                if si < 0 { continue }
                                let row = si &* n1
                                for j in 0..<n1 {
                                    let v = yp[i &* n1 &+ j]
                                    for b in 0..<k1 {
                                        let sj = colMap[j &- b &+ c1 &+ k1]
                                        if sj >= 0 { xp[row &+ sj] += kp[a &* k1 &+ b] * v }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
