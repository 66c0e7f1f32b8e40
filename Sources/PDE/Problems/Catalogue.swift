import Foundation

/// The analytic and manufactured problems configs and tests name. Sources f were derived
/// symbolically (sympy) from u, a and c; `CatalogueTests` re-checks every f against a
/// finite-difference evaluation of −∇·(a∇u) + c·u, and every gradient against differences
/// of u.
public enum ProblemCatalogue {
    /// Every problem, in listing order.
    public static let all: [AnalyticProblem] = [
        poisson1dSinexp, poisson2dSinexp, poisson2dSin, diffusion2dVariable, diffusion2dExp, helmholtz2dReaction,
        poisson3dSinexp, diffusion3dVariable, neumann2dCos, periodic2d, diskPoisson, diskVariable, lshapeSmooth, lshapeCorner,
    ]

    /// The problem with this name, or a typed error listing the names.
    public static func named(_ name: String) throws -> AnalyticProblem {
        guard let p = all.first(where: { $0.name == name }) else {
            throw PDEError.invalidValue(key: "problem", value: "'\(name)'", expected: "one of " + all.map(\.name).joined(separator: ", "))
        }
        return p
    }

    static let pi = Double.pi
    static let unitSquare = AnalyticProblem.Domain.box(lower: [0, 0], upper: [1, 1])
    static let unitCube = AnalyticProblem.Domain.box(lower: [0, 0, 0], upper: [1, 1, 1])

    // MARK: 1-D

    /// u = sin(πx)·eˣ on [0, 1], zero at both ends.
    public static let poisson1dSinexp = AnalyticProblem(
        name: "poisson1d-sinexp", summary: "−u'' = f on [0,1], u = sin(πx)·eˣ",
        dimension: 1, domain: .box(lower: [0], upper: [1]),
        solution: { p in sin(pi * p[0]) * exp(p[0]) },
        gradient: { p in [(sin(pi * p[0]) + pi * cos(pi * p[0])) * exp(p[0])] },
        source: { p in
            let x = p[0]
            return ((pi * pi - 1) * sin(pi * x) - 2 * pi * cos(pi * x)) * exp(x)
        })

    // MARK: 2-D on the unit square

    /// The peers' benchmark solution sin(πx)sin(πy)·e^(x+y), zero on the boundary of [0, 1]².
    public static let poisson2dSinexp = AnalyticProblem(
        name: "poisson2d-sinexp", summary: "−Δu = f on [0,1]², u = sin(πx)sin(πy)·e^(x+y) (the peers' solution)",
        dimension: 2, domain: unitSquare,
        solution: { p in sin(pi * p[0]) * sin(pi * p[1]) * exp(p[0] + p[1]) },
        gradient: { p in
            let (x, y) = (p[0], p[1])
            let e = exp(x + y)
            return [(sin(pi * x) + pi * cos(pi * x)) * e * sin(pi * y), (sin(pi * y) + pi * cos(pi * y)) * e * sin(pi * x)]
        },
        source: { p in
            let (x, y) = (p[0], p[1])
            let ss = sin(pi * x) * sin(pi * y)
            return 2 * ((pi * pi - 1) * ss - pi * sin(pi * (x + y))) * exp(x + y)
        })

    /// The first Dirichlet eigenfunction of −Δ on [0, 1]² (f = 2π²u), zero on the boundary.
    public static let poisson2dSin = AnalyticProblem(
        name: "poisson2d-sin", summary: "−Δu = 2π²u on [0,1]², u = sin(πx)sin(πy)",
        dimension: 2, domain: unitSquare,
        solution: { p in sin(pi * p[0]) * sin(pi * p[1]) },
        gradient: { p in [pi * cos(pi * p[0]) * sin(pi * p[1]), pi * sin(pi * p[0]) * cos(pi * p[1])] },
        source: { p in 2 * pi * pi * sin(pi * p[0]) * sin(pi * p[1]) })

    /// The flagship problem: a oscillating coefficient, a reaction term and a solution with
    /// structure in both directions.
    public static let diffusion2dVariable = AnalyticProblem(
        name: "diffusion2d-variable",
        summary: "−∇·(a∇u) + u = f on [0,1]², a = 1 + ½sin(2πx)sin(2πy), u = sin(πx)sin(2πy)·e^(x+y/2)",
        dimension: 2, domain: unitSquare,
        solution: { p in sin(pi * p[0]) * sin(2 * pi * p[1]) * exp(p[0] + p[1] / 2) },
        gradient: { p in
            let (x, y) = (p[0], p[1])
            let e = exp(x + y / 2)
            let gx: Double = (sin(pi * x) + pi * cos(pi * x)) * e * sin(2 * pi * y)
            let gy: Double = 0.5 * (sin(2 * pi * y) + 4 * pi * cos(2 * pi * y)) * e * sin(pi * x)
            return [gx, gy]
        },
        coefficient: { p in 1 + 0.5 * sin(2 * pi * p[0]) * sin(2 * pi * p[1]) },
        reaction: 1,
        source: { p in
            // f = −∇a·∇u − aΔu + u.
            let (x, y) = (p[0], p[1])
            let e = exp(x + y / 2)
            let sx = sin(pi * x), cx = cos(pi * x), s2y = sin(2 * pi * y), c2y = cos(2 * pi * y)
            let s2x = sin(2 * pi * x), c2x = cos(2 * pi * x)
            let a: Double = 1 + 0.5 * s2x * s2y
            let ax: Double = pi * c2x * s2y
            let ay: Double = pi * s2x * c2y
            let u: Double = sx * s2y * e
            let ux: Double = (sx + pi * cx) * s2y * e
            let uy: Double = 0.5 * (s2y + 4 * pi * c2y) * sx * e
            let uxx: Double = ((1 - pi * pi) * sx + 2 * pi * cx) * s2y * e
            let uyy: Double = (0.25 * s2y + 2 * pi * c2y - 4 * pi * pi * s2y) * sx * e
            return -(ax * ux + ay * uy) - a * (uxx + uyy) + u
        })

    /// `poisson2dSinexp`'s u with the coefficient a = e^(x−y); zero boundary values.
    public static let diffusion2dExp = AnalyticProblem(
        name: "diffusion2d-exp", summary: "−∇·(a∇u) = f on [0,1]², a = e^(x−y), u = sin(πx)sin(πy)·e^(x+y)",
        dimension: 2, domain: unitSquare,
        solution: poisson2dSinexp.solution, gradient: poisson2dSinexp.gradient,
        coefficient: { p in exp(p[0] - p[1]) },
        source: { p in
            let (x, y) = (p[0], p[1])
            let sx = sin(pi * x), sy = sin(pi * y), cx = cos(pi * x), cy = cos(pi * y)
            let t: Double = -2 * sx * sy + 2 * pi * pi * sx * sy - pi * sx * cy - 3 * pi * sy * cx
            return t * exp(2 * x)
        })

    /// Reaction c = 10 and u = cos(πx)sin(2πy) + xy, with non-zero Dirichlet data.
    public static let helmholtz2dReaction = AnalyticProblem(
        name: "helmholtz2d-reaction", summary: "−Δu + 10u = f on [0,1]², u = cos(πx)sin(2πy) + xy (nonzero boundary data)",
        dimension: 2, domain: unitSquare,
        solution: { p in cos(pi * p[0]) * sin(2 * pi * p[1]) + p[0] * p[1] },
        gradient: { p in
            let (x, y) = (p[0], p[1])
            return [y - pi * sin(pi * x) * sin(2 * pi * y), x + 2 * pi * cos(pi * x) * cos(2 * pi * y)]
        },
        reaction: 10,
        source: { p in
            let (x, y) = (p[0], p[1])
            let w = sin(2 * pi * y) * cos(pi * x)
            return 10 * x * y + 10 * w + 5 * pi * pi * w
        })

    // MARK: 3-D

    /// The 3-D `poisson2dSinexp`: sin(πx)sin(πy)sin(πz)·e^(x+y+z), zero on the boundary of [0, 1]³.
    public static let poisson3dSinexp = AnalyticProblem(
        name: "poisson3d-sinexp", summary: "−Δu = f on [0,1]³, u = sin(πx)sin(πy)sin(πz)·e^(x+y+z)",
        dimension: 3, domain: unitCube,
        solution: { p in sin(pi * p[0]) * sin(pi * p[1]) * sin(pi * p[2]) * exp(p[0] + p[1] + p[2]) },
        gradient: { p in
            let s = p.map { sin(pi * $0) }, d = p.map { sin(pi * $0) + pi * cos(pi * $0) }
            let e = exp(p[0] + p[1] + p[2])
            return [d[0] * s[1] * s[2] * e, s[0] * d[1] * s[2] * e, s[0] * s[1] * d[2] * e]
        },
        source: { p in
            // −Δu with ∂²/∂t² [sin(πt)eᵗ] = ((1−π²)sin(πt) + 2πcos(πt))eᵗ.
            let s = p.map { sin(pi * $0) }
            let dd = p.map { (1 - pi * pi) * sin(pi * $0) + 2 * pi * cos(pi * $0) }
            let lap: Double = dd[0] * s[1] * s[2] + s[0] * dd[1] * s[2] + s[0] * s[1] * dd[2]
            return -lap * exp(p[0] + p[1] + p[2])
        })

    /// a = 1 + xyz, c = 1, u = sin(πx)sin(πy)sin(πz) + xyz (non-zero on the upper faces).
    public static let diffusion3dVariable = AnalyticProblem(
        name: "diffusion3d-variable", summary: "−∇·(a∇u) + u = f on [0,1]³, a = 1 + xyz, u = sin(πx)sin(πy)sin(πz) + xyz",
        dimension: 3, domain: unitCube,
        solution: { p in sin(pi * p[0]) * sin(pi * p[1]) * sin(pi * p[2]) + p[0] * p[1] * p[2] },
        gradient: { p in
            let (x, y, z) = (p[0], p[1], p[2])
            let (sx, sy, sz) = (sin(pi * x), sin(pi * y), sin(pi * z))
            return [y * z + pi * sy * sz * cos(pi * x), x * z + pi * sx * sz * cos(pi * y), x * y + pi * sx * sy * cos(pi * z)]
        },
        coefficient: { p in 1 + p[0] * p[1] * p[2] },
        reaction: 1,
        source: { p in
            let (x, y, z) = (p[0], p[1], p[2])
            let (sx, sy, sz) = (sin(pi * x), sin(pi * y), sin(pi * z))
            let s3 = sx * sy * sz
            let gx: Double = y * z + pi * sy * sz * cos(pi * x)
            let gy: Double = x * z + pi * sx * sz * cos(pi * y)
            let gz: Double = x * y + pi * sx * sy * cos(pi * z)
            let t1: Double = x * y * z - x * y * gz - x * z * gy - y * z * gx
            return t1 + 3 * pi * pi * (x * y * z + 1) * s3 + s3
        })

    // MARK: Neumann and periodic

    /// ∂u/∂n = 0 on every face and zero mean: the pure-Neumann (singular, pinned) test case.
    public static let neumann2dCos = AnalyticProblem(
        name: "neumann2d-cos", summary: "−Δu = f on [0,1]², u = cos(πx)cos(πy): zero normal flux, zero mean (pure Neumann)",
        dimension: 2, domain: unitSquare,
        solution: { p in cos(pi * p[0]) * cos(pi * p[1]) },
        gradient: { p in [-pi * sin(pi * p[0]) * cos(pi * p[1]), -pi * cos(pi * p[0]) * sin(pi * p[1])] },
        source: { p in 2 * pi * pi * cos(pi * p[0]) * cos(pi * p[1]) })

    /// Period 1 in x and y with zero mean: the test case for periodic faces on both axes.
    public static let periodic2d = AnalyticProblem(
        name: "periodic2d", summary: "−Δu = f on the periodic unit square, u = sin(2πx)cos(2πy)",
        dimension: 2, domain: unitSquare,
        solution: { p in sin(2 * pi * p[0]) * cos(2 * pi * p[1]) },
        gradient: { p in [2 * pi * cos(2 * pi * p[0]) * cos(2 * pi * p[1]), -2 * pi * sin(2 * pi * p[0]) * sin(2 * pi * p[1])] },
        source: { p in 8 * pi * pi * sin(2 * pi * p[0]) * cos(2 * pi * p[1]) })

    // MARK: Unstructured domains

    /// Constant f = 4 on the unit disk; the Dirichlet data on the circle are eˣ sin(y).
    public static let diskPoisson = AnalyticProblem(
        name: "disk-poisson", summary: "−Δu = 4 on the unit disk, u = eˣ sin(y) + 1 − x² − y²",
        dimension: 2, domain: .disk(center: [0, 0], radius: 1),
        solution: { p in exp(p[0]) * sin(p[1]) + 1 - p[0] * p[0] - p[1] * p[1] },
        gradient: { p in [-2 * p[0] + exp(p[0]) * sin(p[1]), -2 * p[1] + exp(p[0]) * cos(p[1])] },
        source: { _ in 4 })

    /// a = 1 + x² + y², c = 1, u = eˣ cos(y) on the unit disk.
    public static let diskVariable = AnalyticProblem(
        name: "disk-variable", summary: "−∇·(a∇u) + u = f on the unit disk, a = 1 + x² + y², u = eˣ cos(y)",
        dimension: 2, domain: .disk(center: [0, 0], radius: 1),
        solution: { p in exp(p[0]) * cos(p[1]) },
        gradient: { p in [exp(p[0]) * cos(p[1]), -exp(p[0]) * sin(p[1])] },
        coefficient: { p in 1 + p[0] * p[0] + p[1] * p[1] },
        reaction: 1,
        source: { p in (-2 * p[0] * cos(p[1]) + 2 * p[1] * sin(p[1]) + cos(p[1])) * exp(p[0]) })

    /// A smooth solution on the L-shape (full convergence rates), the counterpart of `lshapeCorner`.
    public static let lshapeSmooth = AnalyticProblem(
        name: "lshape-smooth", summary: "−Δu = f on the L-shape [−1,1]² ∖ (0,1]×[−1,0), u = sin(πx)cos(πy/2) + xy",
        dimension: 2, domain: .lShape,
        solution: { p in sin(pi * p[0]) * cos(pi * p[1] / 2) + p[0] * p[1] },
        gradient: { p in [p[1] + pi * cos(pi * p[0]) * cos(pi * p[1] / 2), p[0] - 0.5 * pi * sin(pi * p[0]) * sin(pi * p[1] / 2)] },
        source: { p in 1.25 * pi * pi * sin(pi * p[0]) * cos(pi * p[1] / 2) })

    /// The classical corner singularity: harmonic, u ∈ H^(1+2/3−ε) only, so uniform
    /// refinement converges at a reduced rate.
    public static let lshapeCorner = AnalyticProblem(
        name: "lshape-corner", summary: "−Δu = 0 on the L-shape, u = r^(2/3) sin(2θ/3) (re-entrant corner singularity)",
        dimension: 2, domain: .lShape,
        solution: { p in
            let r = (p[0] * p[0] + p[1] * p[1]).squareRoot()
            return pow(r, 2.0 / 3.0) * sin(2 * lshapeAngle(p) / 3)
        },
        gradient: { p in
            let r = (p[0] * p[0] + p[1] * p[1]).squareRoot()
            guard r > 0 else { return [0, 0] }
            let t = lshapeAngle(p)
            // ∇u = (2/3) r^(−1/3) (sin(2θ/3) r̂ + cos(2θ/3) θ̂), r̂ = (cosθ, sinθ), θ̂ = (−sinθ, cosθ).
            let k = 2.0 / 3.0 * pow(r, -1.0 / 3.0)
            let (s, c) = (sin(2 * t / 3), cos(2 * t / 3))
            return [k * (s * cos(t) - c * sin(t)), k * (s * sin(t) + c * cos(t))]
        },
        source: { _ in 0 })

    /// Polar angle in [0, 2π) measured counter-clockwise from the positive x axis; the
    /// L-shape occupies θ ∈ [0, 3π/2].
    static func lshapeAngle(_ p: [Double]) -> Double {
        let t = atan2(p[1], p[0])
        return t < 0 ? t + 2 * pi : t
    }
}
