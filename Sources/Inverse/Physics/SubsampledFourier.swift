import Foundation
import PDE

/// The single-coil MRI forward model (deepinv's `MRI`, fastMRI's masked k-space): a real image
/// x of shape [n0, n1] goes to its orthonormal 2-D DFT (scale 1/√(n0·n1), numpy `fft2`
/// frequency layout, not shifted) read at the frequencies where the mask is true.
///
/// The range has shape [m, 2]: m = the number of sampled frequencies, in the C order of the
/// mask's true entries, each stored as (re, im). The adjoint (for the real inner product)
/// zero-fills k-space, applies the inverse orthonormal DFT and keeps the real part
/// (`zeroFilled`). With a full mask A is an isometry and Aᵀ its inverse. Because x is real,
/// its spectrum is Hermitian: when the mask is point-symmetric (k sampled ⇔ −k sampled) AAᵀ is
/// the orthogonal projection onto the range and Aᵀ is the pseudo-inverse; a frequency whose
/// mirror −k is not sampled enters Aᵀ with half weight, which `pseudoInverse` corrects.
///
/// Both directions use real-to-complex FFTs (FFTW, cached plans) and the Hermitian symmetry
/// of the spectrum of a real image. The model keeps scratch buffers in a shared reference:
/// a model value, and every copy of it, may be used from **one thread at a time**; create one
/// model per thread (`SubsampledFourier(shape:mask:)` is cheap once FFTW has planned the shape).
public struct SubsampledFourier: ForwardModel {
    /// A short name for reports.
    public var name: String { "subsampled Fourier (MRI)" }
    /// Shape of the image: [n0, n1].
    public let domainShape: [Int]
    /// Shape of the data: [m, 2], m = number of sampled frequencies, (re, im) last.
    public var rangeShape: [Int] { [sampledIndices.count, 2] }
    /// The sampling mask, [n0, n1] flat in C order, unshifted `fft2` layout (index 0 = DC).
    public let mask: [Bool]
    /// Flat indices (C order) of the sampled frequencies, ascending: the order of the data.
    public let sampledIndices: [Int]
    /// Fraction of k-space sampled, m / (n0·n1) (1 / acceleration).
    public var samplingFraction: Double { Double(sampledIndices.count) / Double(mask.count) }

    private let workspace: Workspace

    /// A model on images of `shape` [n0, n1] sampling the frequencies where `mask`
    /// ([n0, n1], C order, unshifted layout, e.g. from `SamplingMask`) is true.
    ///
    /// Throws `PDEError.invalidValue` for a shape of other than two positive axes or a mask
    /// without a sampled frequency, `.shapeMismatch` for a mask of another length.
    public init(shape: [Int], mask: [Bool]) throws {
        try SamplingMask.checkShape(shape)
        try InverseCheck.length(mask.count, shape[0] * shape[1], "sampling mask of shape \(shape)")
        let indices = mask.indices.filter { mask[$0] }
        guard !indices.isEmpty else {
            throw PDEError.invalidValue(key: "sampling mask", value: "no sampled frequency", expected: "at least one true entry")
        }
        domainShape = shape
        self.mask = mask
        sampledIndices = indices
        workspace = try Workspace(shape: shape, mask: mask, indices: indices)
    }

    /// y ← A x: the sampled orthonormal DFT coefficients of the real image x, (re, im) pairs.
    /// AᵀA = Re F⁻¹ M F is circulant: its symbol is (M(k) + M(−k))/2 (the mask symmetrized,
    /// since x is real), so Tikhonov, ADMM and the least-squares prox solve by FFT.
    public var normalSymbol: [Double]? {
        let (n0, n1) = (domainShape[0], domainShape[1])
        let h = n1 / 2 + 1
        var out = [Double](repeating: 0, count: n0 * h)
        for i in 0..<n0 {
            for j in 0..<h {
                let mi = (n0 - i) % n0, mj = (n1 - j) % n1
                out[i * h + j] = ((mask[i * n1 + j] ? 1.0 : 0) + (mask[mi * n1 + mj] ? 1.0 : 0)) / 2
            }
        }
        return out
    }

    public func apply(_ x: [Double], into y: inout [Double]) {
        workspace.forward(x, into: &y)
    }

    /// x ← Aᵀ y = Re F⁻¹ (zero-filled k-space), F orthonormal.
    public func adjoint(_ y: [Double], into x: inout [Double]) {
        workspace.adjoint(y, into: &x)
    }

    /// The zero-filled reconstruction Aᵀ y: k-space filled with zeros where not sampled, the
    /// inverse orthonormal DFT, the real part. It is the pseudo-inverse solution A⁺y for
    /// point-symmetric masks (see the type's notes; `pseudoInverse` in general).
    /// Throws `PDEError.shapeMismatch` unless y has 2 m values.
    public func zeroFilled(_ y: [Double]) throws -> [Double] {
        try adjoint(y)
    }

    /// The minimum-norm least-squares image A⁺y = Aᵀ (AAᵀ)⁺ y: like `zeroFilled`, with the
    /// samples whose mirror frequency −k is not sampled (and k ≠ −k) doubled, which undoes the
    /// halving of the real part. For data of a real image (y = A x) it is consistent:
    /// A A⁺ y = y. Equal to `zeroFilled` for point-symmetric masks.
    /// Throws `PDEError.shapeMismatch` unless y has 2 m values.
    public func pseudoInverse(_ y: [Double]) throws -> [Double] {
        try InverseCheck.length(y.count, rangeCount, "pseudo-inverse input of \(name)")
        var weighted = y
        for (m, lone) in workspace.lone.enumerated() where lone {
            weighted[2 * m] *= 2
            weighted[2 * m + 1] *= 2
        }
        var x = [Double](repeating: 0, count: domainCount)
        adjoint(weighted, into: &x)
        return x
    }

    /// Scratch and the index maps onto the r2c half spectrum. One thread at a time.
    final class Workspace {
        let fft: RealFFT
        let n0: Int, n1: Int, half: Int
        let scale: Double
        /// Per sample: the half-spectrum entry holding it and whether it is the conjugate.
        let halfIndex: [Int]
        let conjugated: [Bool]
        /// Per sample: the half-spectrum entry of the mirrored frequency −k when it lies in
        /// the half spectrum (−1 otherwise), for the symmetrization of the adjoint.
        let mirrorIndex: [Int]
        let direct: [Bool]
        /// Per sample: true when −k ≠ k is not sampled (the sample's weight in AAᵀ is ½).
        let lone: [Bool]
        var spectrum: [Double]

        init(shape: [Int], mask: [Bool], indices: [Int]) throws {
            fft = try RealFFT(shape: shape)
            n0 = shape[0]; n1 = shape[1]; half = n1 / 2 + 1
            scale = 1 / (Double(n0) * Double(n1)).squareRoot()
            var hi = [Int](), cj = [Bool](), mi = [Int](), di = [Bool](), lo = [Bool]()
            hi.reserveCapacity(indices.count); cj.reserveCapacity(indices.count)
            mi.reserveCapacity(indices.count); di.reserveCapacity(indices.count)
            for k in indices {
                let i = k / n1, j = k % n1
                let mi0 = (n0 - i) % n0, mj = (n1 - j) % n1
                if j < half {
                    hi.append(i * half + j); cj.append(false); di.append(true)
                } else {
                    hi.append(mi0 * half + mj); cj.append(true); di.append(false)
                }
                mi.append(mj < half ? mi0 * half + mj : -1)
                let mirror = mi0 * n1 + mj
                lo.append(mirror != k && !mask[mirror])
            }
            halfIndex = hi; conjugated = cj; mirrorIndex = mi; direct = di; lone = lo
            spectrum = [Double](repeating: 0, count: 2 * fft.complexCount)
        }

        func forward(_ x: [Double], into y: inout [Double]) {
            guard x.count == n0 * n1, y.count == 2 * halfIndex.count else { return }
            do { try fft.forward(x, into: &spectrum) } catch { return }
            let s = scale
            spectrum.withUnsafeBufferPointer { sp in
                halfIndex.withUnsafeBufferPointer { hp in
                    conjugated.withUnsafeBufferPointer { cp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for m in 0..<hp.count {
                                let h = hp[m] &* 2
                                yp[2 &* m] = s * sp[h]
                                yp[2 &* m &+ 1] = cp[m] ? -s * sp[h &+ 1] : s * sp[h &+ 1]
                            }
                        }
                    }
                }
            }
        }

        /// Re F⁻¹ Z = F⁻¹ of the Hermitian part (Z(k) + conj Z(−k)) / 2, which c2r computes
        /// from its half spectrum exactly.
        func adjoint(_ y: [Double], into x: inout [Double]) {
            guard x.count == n0 * n1, y.count == 2 * halfIndex.count else { return }
            spectrum.withUnsafeMutableBufferPointer { sp in
                for i in 0..<sp.count { sp[i] = 0 }
                y.withUnsafeBufferPointer { yp in
                    halfIndex.withUnsafeBufferPointer { hp in
                        mirrorIndex.withUnsafeBufferPointer { mp in
                            direct.withUnsafeBufferPointer { dp in
                                for m in 0..<hp.count {
                                    let re = 0.5 * yp[2 &* m], im = 0.5 * yp[2 &* m &+ 1]
                                    if dp[m] {
                                        let h = hp[m] &* 2
                                        sp[h] += re; sp[h &+ 1] += im
                                    }
                                    let g = mp[m]
                                    if g >= 0 {
                                        sp[g &* 2] += re; sp[g &* 2 &+ 1] -= im
                                    }
                                }
                            }
                        }
                    }
                }
            }
            do { try fft.inverse(spectrum, into: &x) } catch { return }
            let s = scale
            x.withUnsafeMutableBufferPointer { xp in
                for i in 0..<xp.count { xp[i] *= s }
            }
        }
    }
}

/// k-space sampling masks for `SubsampledFourier`: `[Bool]` of shape [n0, n1], flat in C
/// order, in the UNSHIFTED `numpy.fft.fft2` layout (index (0, 0) is the DC frequency; row i
/// holds frequency i for i ≤ (n0 − 1)/2 and i − n0 above). Seeded masks use `SeededGenerator`,
/// so a seed gives the same mask on every machine.
public enum SamplingMask {
    /// fastMRI-style Cartesian undersampling along the phase-encode axis (axis 1, columns):
    /// a fully sampled band of the `round(n1 · centerFraction)` lowest frequencies (at least
    /// one: the DC column) plus randomly chosen other columns, `round(n1 / acceleration)`
    /// columns in all (or just the band when that is larger), so the sampled fraction is
    /// 1/acceleration up to rounding. Every row of a chosen column is sampled.
    ///
    /// Throws `PDEError.invalidValue` for a bad shape, `acceleration` ≤ 1 or not finite,
    /// `centerFraction` outside [0, 1].
    public static func random(shape: [Int], acceleration: Double, centerFraction: Double = 0.08,
                              seed: UInt64 = 0) throws -> [Bool] {
        try checkShape(shape)
        try checkAcceleration(acceleration)
        guard centerFraction >= 0, centerFraction <= 1 else {
            throw PDEError.invalidValue(key: "centerFraction", value: "\(centerFraction)", expected: "a number in [0, 1]")
        }
        let (n0, n1) = (shape[0], shape[1])
        let low = min(n1, max(1, Int((Double(n1) * centerFraction).rounded())))
        // fastMRI's band in the shifted layout: [pad, pad + low), DC at n1/2.
        let pad = (n1 - low + 1) / 2
        var columns = [Bool](repeating: false, count: n1)
        for s in pad..<(pad + low) { columns[unshift(s, n1)] = true }
        let target = max(low, min(n1, Int((Double(n1) / acceleration).rounded())))
        var rng = SeededGenerator(seed: seed)
        var added = low
        for c in rng.permutation(n1) where added < target && !columns[c] {
            columns[c] = true
            added += 1
        }
        var mask = [Bool](repeating: false, count: n0 * n1)
        for i in 0..<n0 { for j in 0..<n1 where columns[j] { mask[i * n1 + j] = true } }
        return mask
    }

    /// Radial sampling: `lines` lines through the k-space centre at angles πl / lines,
    /// l = 0..<lines, rasterized in half-pixel steps (each point rounded to the nearest
    /// frequency, symmetric under k → −k except on the unpaired −n/2 row or column of even
    /// sizes). Always contains DC.
    ///
    /// Throws `PDEError.invalidValue` for a bad shape or `lines` < 1.
    public static func radial(shape: [Int], lines: Int) throws -> [Bool] {
        try checkShape(shape)
        guard lines >= 1 else {
            throw PDEError.invalidValue(key: "radial lines", value: "\(lines)", expected: "≥ 1")
        }
        let (n0, n1) = (shape[0], shape[1])
        var mask = [Bool](repeating: false, count: n0 * n1)
        let steps = Int((Double(max(n0, n1)) * 0.5 * 2.0.squareRoot() + 1) * 2) + 1
        for l in 0..<lines {
            let theta = Double.pi * Double(l) / Double(lines)
            let (d0, d1) = (sin(theta), cos(theta))
            for s in -steps...steps {
                let t = 0.5 * Double(s)
                let f0 = Int((t * d0).rounded()), f1 = Int((t * d1).rounded())
                guard f0 >= -(n0 / 2), f0 <= (n0 - 1) / 2, f1 >= -(n1 / 2), f1 <= (n1 - 1) / 2 else { continue }
                let i = f0 < 0 ? f0 + n0 : f0, j = f1 < 0 ? f1 + n1 : f1
                mask[i * n1 + j] = true
            }
        }
        return mask
    }

    /// Variable-density random sampling: each frequency k = (k0, k1) (signed, in cycles per
    /// image) is sampled independently with probability p(k) = min(1, c (1 + |k|)^(−decay)),
    /// c chosen (by bisection) so that the expected sampled fraction is 1/acceleration; DC is
    /// always sampled. `decay` = 0 gives uniform random sampling, larger values concentrate the
    /// samples at low frequencies (2–3 is typical for compressed sensing).
    ///
    /// Throws `PDEError.invalidValue` for a bad shape, `acceleration` ≤ 1 or not finite,
    /// `decay` < 0 or not finite.
    public static func variableDensity(shape: [Int], acceleration: Double, decay: Double = 2,
                                       seed: UInt64 = 0) throws -> [Bool] {
        try checkShape(shape)
        try checkAcceleration(acceleration)
        try InverseCheck.nonNegative(decay, key: "variable-density decay")
        let (n0, n1) = (shape[0], shape[1])
        let count = n0 * n1
        var weight = [Double](repeating: 0, count: count)
        for i in 0..<n0 {
            let f0 = Double(i <= (n0 - 1) / 2 ? i : i - n0)
            for j in 0..<n1 {
                let f1 = Double(j <= (n1 - 1) / 2 ? j : j - n1)
                weight[i * n1 + j] = Foundation.pow(1 + (f0 * f0 + f1 * f1).squareRoot(), -decay)
            }
        }
        // Expected count of the frequencies other than DC: Σ min(1, c wₖ) = N/acceleration − 1.
        let target = max(0, Double(count) / acceleration - 1)
        func expected(_ c: Double) -> Double {
            var s = 0.0
            for k in 1..<count { s += min(1, c * weight[k]) }
            return s
        }
        var c = 0.0
        if target > 0, count > 1 {
            let wMin = weight.dropFirst().min() ?? 1
            var lo = 0.0, hi = 1 / max(wMin, .leastNormalMagnitude)
            for _ in 0..<200 {
                let mid = 0.5 * (lo + hi)
                if expected(mid) < target { lo = mid } else { hi = mid }
                if hi - lo <= 1e-15 * hi { break }
            }
            c = 0.5 * (lo + hi)
        }
        var rng = SeededGenerator(seed: seed)
        var mask = [Bool](repeating: false, count: count)
        mask[0] = true
        for k in 1..<max(1, count) {
            let u = rng.uniform()
            mask[k] = u < min(1, c * weight[k])
        }
        return mask
    }

    /// The fraction of true entries of a mask.
    public static func fraction(_ mask: [Bool]) -> Double {
        mask.isEmpty ? 0 : Double(mask.lazy.filter { $0 }.count) / Double(mask.count)
    }

    /// A mask in the centred (`fftshift`ed) layout, DC at (n0/2, n1/2), for display; throws
    /// `PDEError.invalidValue` for a bad shape, `.shapeMismatch` for a mask of another length.
    public static func shifted(_ mask: [Bool], shape: [Int]) throws -> [Bool] {
        try checkShape(shape)
        try InverseCheck.length(mask.count, shape[0] * shape[1], "sampling mask of shape \(shape)")
        let (n0, n1) = (shape[0], shape[1])
        var out = [Bool](repeating: false, count: mask.count)
        for s0 in 0..<n0 {
            let u0 = unshift(s0, n0)
            for s1 in 0..<n1 { out[s0 * n1 + s1] = mask[u0 * n1 + unshift(s1, n1)] }
        }
        return out
    }

    /// The unshifted index of shifted index s (fftshift puts DC at n/2).
    static func unshift(_ s: Int, _ n: Int) -> Int { ((s - n / 2) % n + n) % n }

    static func checkShape(_ shape: [Int]) throws {
        guard shape.count == 2, shape.allSatisfy({ $0 >= 1 }),
              !shape[0].multipliedReportingOverflow(by: shape[1]).overflow,
              shape[0] * shape[1] <= 1 << 34 else {
            throw PDEError.invalidValue(key: "k-space shape", value: "\(shape)", expected: "[n0, n1], both ≥ 1, at most 2³⁴ points")
        }
    }

    static func checkAcceleration(_ acceleration: Double) throws {
        guard acceleration > 1, acceleration.isFinite else {
            throw PDEError.invalidValue(key: "acceleration", value: "\(acceleration)", expected: "a finite number > 1")
        }
    }
}
