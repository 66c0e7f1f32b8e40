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
    /// per-entry), u ← v − z. Returns (‖g − z‖², ‖g‖², ‖z‖²) for ADMM's primal residual.
    static func shrinkStep(_ x: UnsafePointer<Double>, _ z: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>,
                           rows n0: Int, cols n1: Int, threshold t: Double, isotropic: Bool) -> (Double, Double, Double) {
        let n = n0 &* n1
        var partial = [Double](repeating: 0, count: 3 * n0)
        partial.withUnsafeMutableBufferPointer { pp in
            let sums = pp.baseAddress!
            Parallel.forChunks(n0, minimumPerChunk: max(1, 16_384 / max(1, n1))) { r0, r1 in
                for i in r0..<r1 {
                    let row = i &* n1
                    let down = (i &+ 1 == n0 ? 0 : i &+ 1) &* n1
                    var sr = 0.0, sg = 0.0, sz = 0.0
                    var j = 0
                    while j < n1 {
                        let right = j &+ 1 == n1 ? 0 : j &+ 1
                        let xv = x[row &+ j]
                        let gx = x[row &+ right] - xv, gy = x[down &+ j] - xv
                        let ix = row &+ j, iy = n &+ row &+ j
                        let vx = gx + u[ix], vy = gy + u[iy]
                        var zx: Double, zy: Double
                        if isotropic {
                            let m = (vx * vx + vy * vy).squareRoot()
                            let f = m > t ? 1 - t / m : 0
                            zx = f * vx; zy = f * vy
                        } else {
                            zx = vx > t ? vx - t : (vx < -t ? vx + t : 0)
                            zy = vy > t ? vy - t : (vy < -t ? vy + t : 0)
                        }
                        z[ix] = zx; z[iy] = zy
                        u[ix] = vx - zx; u[iy] = vy - zy
                        let rx = gx - zx, ry = gy - zy
                        sr += rx * rx + ry * ry
                        sg += gx * gx + gy * gy
                        sz += zx * zx + zy * zy
                        j &+= 1
                    }
                    sums[3 &* i] = sr; sums[3 &* i &+ 1] = sg; sums[3 &* i &+ 2] = sz
                }
            }
        }
        var total = (0.0, 0.0, 0.0)
        for i in 0..<n0 { total.0 += partial[3 * i]; total.1 += partial[3 * i + 1]; total.2 += partial[3 * i + 2] }
        return total
    }
}
