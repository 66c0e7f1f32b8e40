import Foundation
import PDE

/// Fused, row-parallel loops of TV-ADMM with the periodic forward-difference gradient (the
/// deblurring hot path): one pass for Dᵀ(z − u), one for the gradient, the group shrinkage
/// and the multiplier update, instead of five separate array passes with temporaries.
enum TVKernels {
    /// out ← Dᵀ(z − u) for the periodic gradient; z, u laid out [2, rows, cols].
    static func adjointOfDifference(_ z: UnsafePointer<Double>, _ u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                    rows n0: Int, cols n1: Int) {
        let n = n0 &* n1
        Parallel.forChunks(n0, minimumPerChunk: max(1, 16_384 / max(1, n1))) { r0, r1 in
            for i in r0..<r1 {
                let row = i &* n1
                let up = (i == 0 ? n0 &- 1 : i &- 1) &* n1
                // (Dᵀp)[i,j] = p_x[i,j−1] − p_x[i,j] + p_y[i−1,j] − p_y[i,j].
                var j = 0
                while j < n1 {
                    let left = j == 0 ? n1 &- 1 : j &- 1
                    let px = z[row &+ j] - u[row &+ j], pxl = z[row &+ left] - u[row &+ left]
                    let py = z[n &+ row &+ j] - u[n &+ row &+ j], pyu = z[n &+ up &+ j] - u[n &+ up &+ j]
                    out[row &+ j] = pxl - px + pyu - py
                    j &+= 1
                }
            }
        }
    }

    /// With g = D x (periodic), v = g + u: z ← shrink(v, t) (isotropic group or anisotropic
    /// per-entry), u ← v − z. When `sums`, returns (‖g − z‖², ‖g‖², ‖z‖²) for ADMM's primal
    /// residual (the reductions keep the loop from vectorizing, so they are skipped when no
    /// stopping test needs them).
    static func shrinkStep(_ x: UnsafePointer<Double>, _ z: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>,
                           rows n0: Int, cols n1: Int, threshold t: Double, isotropic: Bool, sums: Bool) -> (Double, Double, Double) {
        let n = n0 &* n1
        var partial = [Double](repeating: 0, count: 3 * n0)
        partial.withUnsafeMutableBufferPointer { pp in
            let out = pp.baseAddress!
            Parallel.forChunks(n0, minimumPerChunk: max(1, 16_384 / max(1, n1))) { r0, r1 in
                for i in r0..<r1 {
                    let row = i &* n1
                    let down = (i &+ 1 == n0 ? 0 : i &+ 1) &* n1
                    let xr = x + row, xd = x + down
                    let zx = z + row, zy = z + (n &+ row), ux = u + row, uy = u + (n &+ row)
                    @inline(__always) func one(_ j: Int, _ right: Int) -> (Double, Double, Double, Double) {
                        let xv = xr[j]
                        let gx = xr[right] - xv, gy = xd[j] - xv
                        let vx = gx + ux[j], vy = gy + uy[j]
                        var a: Double, b: Double
                        if isotropic {
                            let m = (vx * vx + vy * vy).squareRoot()
                            let f = Swift.max(0, 1 - t / Swift.max(m, .leastNormalMagnitude))
                            a = f * vx; b = f * vy
                        } else {
                            a = Swift.max(0, vx - t) + Swift.min(0, vx + t)
                            b = Swift.max(0, vy - t) + Swift.min(0, vy + t)
                        }
                        zx[j] = a; zy[j] = b
                        ux[j] = vx - a; uy[j] = vy - b
                        return (gx, gy, a, b)
                    }
                    if sums {
                        var sr = 0.0, sg = 0.0, sz = 0.0
                        for j in 0..<n1 {
                            let (gx, gy, a, b) = one(j, j &+ 1 == n1 ? 0 : j &+ 1)
                            sr += (gx - a) * (gx - a) + (gy - b) * (gy - b)
                            sg += gx * gx + gy * gy
                            sz += a * a + b * b
                        }
                        out[3 &* i] = sr; out[3 &* i &+ 1] = sg; out[3 &* i &+ 2] = sz
                    } else {
                        var j = 0
                        if isotropic {
                            // Four pixels at a time in SIMD registers (sqrt and divide vectorized).
                            let tiny = SIMD4<Double>(repeating: .leastNormalMagnitude), zero = SIMD4<Double>(repeating: 0)
                            let tv = SIMD4<Double>(repeating: t)
                            @inline(__always) func load(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
                                UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
                            }
                            @inline(__always) func store(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
                                UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Double>.self)
                            }
                            while j &+ 4 < n1 {
                                let xv = load(xr + j)
                                let gx = load(xr + (j &+ 1)) - xv, gy = load(xd + j) - xv
                                let vx = gx + load(ux + j), vy = gy + load(uy + j)
                                let m = (vx * vx + vy * vy).squareRoot()
                                let q = 1 - tv / (m + tiny)      // m = 0 gives −∞-like q: f = 0
                                let f = q.replacing(with: zero, where: q .< zero)
                                let a = f * vx, b = f * vy
                                store(a, zx + j); store(b, zy + j)
                                store(vx - a, ux + j); store(vy - b, uy + j)
                                j &+= 4
                            }
                        }
                        while j < n1 &- 1 { _ = one(j, j &+ 1); j &+= 1 }
                        _ = one(n1 &- 1, 0)
                    }
                }
            }
        }
        var total = (0.0, 0.0, 0.0)
        for i in 0..<n0 { total.0 += partial[3 * i]; total.1 += partial[3 * i + 1]; total.2 += partial[3 * i + 2] }
        return total
    }
}
