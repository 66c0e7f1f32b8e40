import Foundation
import PDE

/// Circulant (periodic, shift-invariant) operators on a 1–3-D grid are diagonal in the DFT:
/// A = F⁻¹ diag(s) F. A model that is circulant, or a stack of circulant channels (the
/// periodic gradient), exposes its symbols so that algorithms solve (AᵀA + ρKᵀK) x = b in
/// one FFT pair (Tikhonov, ADMM's x-update) instead of by CG.
public struct FourierSymbols: Sendable {
    /// The grid (C order) the symbols live on; the model's domain shape.
    public let shape: [Int]
    /// One half spectrum per output channel (the r2c layout of `RealFFT`, interleaved (re, im),
    /// `2 · complexCount` values each).
    public let channels: [[Double]]

    /// Σ_c |s_c|² on the half spectrum (complexCount values): the symbol of AᵀA.
    public var normalSymbol: [Double] {
        let m = channels.first.map { $0.count / 2 } ?? 0
        var out = [Double](repeating: 0, count: m)
        for s in channels { for k in 0..<m { out[k] += s[2 &* k] * s[2 &* k] + s[2 &* k &+ 1] * s[2 &* k &+ 1] } }
        return out
    }

    /// The symbol of a real filter given by its values on the grid (C order), centred at index 0
    /// with periodic wrap (the OTF of a point-spread function rolled to the origin).
    public static func symbol(ofFilter filter: [Double], shape: [Int]) throws -> [Double] {
        let fft = try RealFFT(shape: shape)
        var s = [Double](repeating: 0, count: 2 * fft.complexCount)
        try fft.forward(filter, into: &s)
        return s
    }
}

/// Applies F⁻¹ diag(d) F to real arrays of one grid with FFTW's r2c / c2r (cached plans),
/// normalization folded in. Holds scratch: one thread at a time per object.
final class FourierMultiplier {
    let fft: RealFFT
    let count: Int
    let complexCount: Int
    private var spectrum: [Double]
    private var spectrum2: [Double]

    init(shape: [Int]) throws {
        fft = try RealFFT(shape: shape)
        count = fft.realCount
        complexCount = fft.complexCount
        spectrum = [Double](repeating: 0, count: 2 * complexCount)
        spectrum2 = spectrum
    }

    /// Forward transform of x into `out` (2·complexCount values).
    func forward(_ x: [Double], into out: inout [Double]) {
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in try! fft.forward(xp.baseAddress!, into: op.baseAddress!) }
        }
    }

    /// y ← (1/N) c2r(spec) (so that inverse(forward(x)) = x).
    func inverse(_ spec: [Double], into y: inout [Double]) {
        spec.withUnsafeBufferPointer { sp in
            y.withUnsafeMutableBufferPointer { yp in try! fft.inverse(sp.baseAddress!, into: yp.baseAddress!) }
        }
        let scale = 1 / Double(count)
        y.withUnsafeMutableBufferPointer { yp in for i in 0..<count { yp[i] *= scale } }
    }

    /// y ← c2r(spec) without the 1/N (callers fold it into their multipliers).
    func inverseUnscaled(_ spec: [Double], into y: inout [Double]) {
        spec.withUnsafeBufferPointer { sp in
            y.withUnsafeMutableBufferPointer { yp in try! fft.inverse(sp.baseAddress!, into: yp.baseAddress!) }
        }
    }

    /// y ← F⁻¹ (s ⊙ F x), or with conj(s) when `conjugate`; s complex (2·complexCount values).
    func multiply(_ x: [Double], by s: [Double], conjugate: Bool, into y: inout [Double]) {
        forward(x, into: &spectrum)
        let sign = conjugate ? -1.0 : 1.0
        spectrum.withUnsafeMutableBufferPointer { p in
            s.withUnsafeBufferPointer { sp in
                for k in 0..<complexCount {
                    let a = p[2 &* k], b = p[2 &* k &+ 1]
                    let c = sp[2 &* k], d = sign * sp[2 &* k &+ 1]
                    p[2 &* k] = a * c - b * d
                    p[2 &* k &+ 1] = a * d + b * c
                }
            }
        }
        inverse(spectrum, into: &y)
    }

    /// y ← F⁻¹ (r ⊙ F x) for a real multiplier r (complexCount values).
    func multiplyReal(_ x: [Double], by r: [Double], into y: inout [Double]) {
        forward(x, into: &spectrum2)
        spectrum2.withUnsafeMutableBufferPointer { p in
            r.withUnsafeBufferPointer { rp in
                for k in 0..<complexCount { p[2 &* k] *= rp[k]; p[2 &* k &+ 1] *= rp[k] }
            }
        }
        inverse(spectrum2, into: &y)
    }
}
