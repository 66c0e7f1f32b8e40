import Foundation
import PDE

/// Test images for tomography: the modified Shepp–Logan head phantom and random ellipses.
///
/// Images are n×n, row-major (row = y index, column = x index), row 0 at the top, sampled on
/// the same grid as scikit-image's `shepp_logan_phantom`: pixel (i, j) sits at
/// x = −1 + 2j/(n − 1), y = 1 − 2i/(n − 1), i.e. the n pixel centres span [−1, 1]² end to end
/// (numpy's `linspace(-1, 1, n)`). With this grid our 400×400 Shepp–Logan phantom equals
/// scikit-image's `data.shepp_logan_phantom()` up to its 8-bit PNG quantization (mean
/// |difference| 8.8e-5, no pixel off by more than 0.05); the half-pixel-inset grid
/// x = −1 + (2j + 1)/n differs from it on ~900 edge pixels.
public enum Phantom {
    /// Largest image side accepted (n² values must fit comfortably in memory).
    public static let maximumSize = 1 << 15
    /// The supersampling factors k (points per pixel side) the generators accept.
    public static let supersamplingRange = 1...16

    /// One ellipse of a phantom: additive intensity, semi-axes along its own x and y axes,
    /// centre, and rotation (radians, counter-clockwise from the x axis).
    struct Ellipse {
        var intensity: Double, a: Double, b: Double, x0: Double, y0: Double, phi: Double
    }

    /// Toft's modified Shepp–Logan table (intensity, a, b, x0, y0, φ in degrees), the one
    /// MATLAB's `phantom('Modified Shepp-Logan')` and scikit-image's phantom use.
    static let modifiedSheppLoganTable: [(Double, Double, Double, Double, Double, Double)] = [
        (1.0, 0.69, 0.92, 0, 0, 0),
        (-0.8, 0.6624, 0.8740, 0, -0.0184, 0),
        (-0.2, 0.1100, 0.3100, 0.22, 0, -18),
        (-0.2, 0.1600, 0.4100, -0.22, 0, 18),
        (0.1, 0.2100, 0.2500, 0, 0.35, 0),
        (0.1, 0.0460, 0.0460, 0, 0.1, 0),
        (0.1, 0.0460, 0.0460, 0, -0.1, 0),
        (0.1, 0.0460, 0.0230, -0.08, -0.605, 0),
        (0.1, 0.0230, 0.0230, 0, -0.606, 0),
        (0.1, 0.0230, 0.0460, 0.06, -0.605, 0),
    ]

    /// The modified Shepp–Logan phantom (Toft's ellipse table, as in scikit-image's
    /// `shepp_logan_phantom`), n×n, values in [0, 1] (background 0, skull 1, brain 0.2).
    /// `supersampling` k > 1 averages k × k points per pixel (partial-volume edges, like
    /// scikit-image's phantom resized with anti-aliasing). Throws `PDEError.invalidValue`
    /// unless 2 ≤ n ≤ `maximumSize` and 1 ≤ k ≤ 16.
    public static func sheppLogan(size n: Int, supersampling k: Int = 1) throws -> [Double] {
        try checkSize(n)
        try checkSupersampling(k)
        let ellipses = modifiedSheppLoganTable.map {
            Ellipse(intensity: $0.0, a: $0.1, b: $0.2, x0: $0.3, y0: $0.4, phi: $0.5 * Double.pi / 180)
        }
        return rasterize(ellipses, size: n, samples: k)
    }

    /// `count` random ellipses (seeded, reproducible): semi-axes in [0.05, 0.4), random
    /// orientation, intensity in [0.1, 1), each ellipse entirely inside the disc of radius 0.9
    /// (so inside the unit disc, and for n ≥ 6 inside the reconstruction circle of
    /// `ParallelBeamProjector`); overlaps add, and the sum is clipped to [0, 1].
    /// `supersampling` k > 1 averages k × k points per pixel. Throws `PDEError.invalidValue`
    /// unless 2 ≤ n ≤ `maximumSize`, 1 ≤ count ≤ 10 000 and 1 ≤ k ≤ 16.
    public static func randomEllipses(size n: Int, count: Int, seed: UInt64, supersampling k: Int = 1) throws -> [Double] {
        try checkSize(n)
        try checkSupersampling(k)
        guard count >= 1, count <= 10_000 else {
            throw PDEError.invalidValue(key: "count", value: "\(count)", expected: "an ellipse count in 1...10000")
        }
        var rng = SeededGenerator(seed: seed)
        var ellipses: [Ellipse] = []
        ellipses.reserveCapacity(count)
        for _ in 0..<count {
            let a = rng.uniform(0.05, 0.4), b = rng.uniform(0.05, 0.4)
            let phi = rng.uniform(0, Double.pi)
            // Centre within radius 0.9 − max(a, b): the whole ellipse stays inside radius 0.9.
            let room = 0.9 - max(a, b)
            let rho = room * rng.uniform().squareRoot()
            let angle = rng.uniform(0, 2 * Double.pi)
            let intensity = rng.uniform(0.1, 1)
            ellipses.append(Ellipse(intensity: intensity, a: a, b: b,
                                    x0: rho * Foundation.cos(angle), y0: rho * Foundation.sin(angle), phi: phi))
        }
        return rasterize(ellipses, size: n, samples: k)
    }

    /// A random member of the Shepp–Logan family (seeded, reproducible): Toft's modified table
    /// with the skull (the first two ellipses) scaled by one factor per axis in [0.85, 1) and
    /// each inner ellipse moved by up to ±0.08 per axis, its semi-axes scaled by [0.7, 1.3),
    /// turned by up to ±30° and its (signed) intensity scaled by [0.5, 1.5); the whole phantom
    /// then turned by a random angle about the centre. Values clipped to [0, 1]. For training
    /// CT priors on head-like phantoms while the exact Shepp–Logan phantom stays held out.
    /// `supersampling` k > 1 averages k × k points per pixel (partial-volume edges).
    /// Throws `PDEError.invalidValue` unless 2 ≤ n ≤ `maximumSize` and 1 ≤ k ≤ 16.
    public static func randomSheppLogan(size n: Int, seed: UInt64, supersampling k: Int = 1) throws -> [Double] {
        try checkSize(n)
        try checkSupersampling(k)
        var rng = SeededGenerator(seed: seed)
        let (sx, sy) = (rng.uniform(0.85, 1), rng.uniform(0.85, 1))
        let turn = rng.uniform(-Double.pi, Double.pi)
        let (ct, st) = (Foundation.cos(turn), Foundation.sin(turn))
        var ellipses: [Ellipse] = []
        for (k, row) in modifiedSheppLoganTable.enumerated() {
            var (intensity, a, b, x0, y0, phi) = (row.0, row.1, row.2, row.3, row.4, row.5 * Double.pi / 180)
            if k < 2 {
                (a, b, x0, y0) = (a * sx, b * sy, x0 * sx, y0 * sy)
            } else {
                x0 = x0 * sx + rng.uniform(-0.08, 0.08)
                y0 = y0 * sy + rng.uniform(-0.08, 0.08)
                a *= rng.uniform(0.7, 1.3)
                b *= rng.uniform(0.7, 1.3)
                phi += rng.uniform(-Double.pi / 6, Double.pi / 6)
                intensity *= rng.uniform(0.5, 1.5)
            }
            // The turn of the whole phantom: centres rotate, each ellipse turns with them.
            ellipses.append(Ellipse(intensity: intensity, a: a, b: b, x0: ct * x0 - st * y0, y0: st * x0 + ct * y0, phi: phi + turn))
        }
        return rasterize(ellipses, size: n, samples: k)
    }

    /// Throws `PDEError.invalidValue` unless 1 ≤ k ≤ 16.
    static func checkSupersampling(_ k: Int) throws {
        guard supersamplingRange.contains(k) else {
            throw PDEError.invalidValue(key: "supersampling", value: "\(k)",
                                        expected: "\(supersamplingRange.lowerBound) to \(supersamplingRange.upperBound) samples per pixel side")
        }
    }

    static func checkSize(_ n: Int) throws {
        guard n >= 2, n <= maximumSize else {
            throw PDEError.invalidValue(key: "size", value: "\(n)", expected: "an image side in 2...\(maximumSize)")
        }
    }

    /// Sums the ellipses' indicator functions at the grid points and clips to [0, 1]; with
    /// `samples` k > 1, the mean of the clipped sums at k × k points spread evenly over each
    /// pixel (area sampling: partial-volume edges, as an image resized with anti-aliasing).
    static func rasterize(_ ellipses: [Ellipse], size n: Int, samples k: Int = 1) -> [Double] {
        guard k > 1 else { return rasterize(ellipses, size: n, shiftX: 0, shiftY: 0) }
        let h = 2 / Double(n - 1)
        var image = [Double](repeating: 0, count: n * n)
        let w = 1 / Double(k * k)
        for p in 0..<k {
            for q in 0..<k {
                let dy = (Double(p) - Double(k - 1) / 2) * h / Double(k), dx = (Double(q) - Double(k - 1) / 2) * h / Double(k)
                let sub = rasterize(ellipses, size: n, shiftX: dx, shiftY: dy)
                for i in 0..<image.count { image[i] += w * sub[i] }
            }
        }
        return image.map { min(1, $0) }   // k² terms of w may round just above 1
    }

    /// The clipped sums at x = −1 + jh + shiftX, y = 1 − ih − shiftY.
    static func rasterize(_ ellipses: [Ellipse], size n: Int, shiftX: Double, shiftY: Double) -> [Double] {
        var image = [Double](repeating: 0, count: n * n)
        let h = 2 / Double(n - 1)
        image.withUnsafeMutableBufferPointer { img in
            for e in ellipses {
                let (c, s) = (Foundation.cos(e.phi), Foundation.sin(e.phi))
                let (ia, ib) = (1 / e.a, 1 / e.b)
                for i in 0..<n {
                    let y = 1 - Double(i) * h - shiftY - e.y0
                    let row = i &* n
                    for j in 0..<n {
                        let x = -1 + Double(j) * h + shiftX - e.x0
                        let u = (x * c + y * s) * ia, v = (-x * s + y * c) * ib
                        if u * u + v * v <= 1 { img[row &+ j] += e.intensity }
                    }
                }
            }
            for k in 0..<img.count { img[k] = min(1, max(0, img[k])) }
        }
        return image
    }
}
