import Foundation
import Testing
@testable import PDE

/// All multi-indices of total order ≤ `order` in `dimension` variables.
private func multiIndices(dimension: Int, order: Int) -> [MultiIndex] {
    var out: [MultiIndex] = []
    for a in 0...order {
        if dimension == 1 { out.append(MultiIndex([a])); continue }
        for b in 0...(order - a) {
            if dimension == 2 { out.append(MultiIndex([a, b])); continue }
            for c in 0...(order - a - b) { out.append(MultiIndex([a, b, c])) }
        }
    }
    return out
}

private func kernelDerivative(_ k: CovarianceKernel, _ g: MultiIndex, at d: SIMD4<Double>) -> Double {
    var out = [0.0]
    [g].withUnsafeBufferPointer { pi in out.withUnsafeMutableBufferPointer { k.derivatives(offset: d, indices: pi, into: $0) } }
    return out[0]
}

/// Checks every ∂^γ κ (|γ| ≤ order) against a central difference of ∂^{γ − e_i} κ along the
/// last axis i with γ_i > 0 (fourth-order stencil), at several offsets including 0.
private func checkDerivatives(_ k: CovarianceKernel, dimension: Int, order: Int, offsets: [SIMD4<Double>],
                              tolerance: Double = 2e-7, fourthOrderKinkAtZero: Bool = false, name: String) {
    let h = 1e-3
    for d in offsets {
        for g in multiIndices(dimension: dimension, order: order) where g.total > 0 {
            // Matérn 5/2 is C⁴ but not C⁵ at 0 (a |r|⁵ term): finite differences of third
            // derivatives there are only first-order accurate; closed forms are checked instead.
            if fourthOrderKinkAtZero && d == .zero && g.total == 4 { continue }
            let axis = (0..<dimension).last { g.orders[$0] > 0 }!
            var lower = g
            lower.orders[axis] -= 1
            var e = SIMD4<Double>(repeating: 0)
            e[axis] = h
            let fd = (8 * (kernelDerivative(k, lower, at: d + e) - kernelDerivative(k, lower, at: d - e))
                      - (kernelDerivative(k, lower, at: d + 2 * e) - kernelDerivative(k, lower, at: d - 2 * e))) / (12 * h)
            let exact = kernelDerivative(k, g, at: d)
            let scale = max(1, abs(exact), abs(kernelDerivative(k, lower, at: d)))
            #expect(abs(fd - exact) <= tolerance * scale, "\(name) ∂\(g) at \(d): analytic \(exact), finite difference \(fd)")
        }
    }
}

@Suite("Covariance kernels and their derivative blocks")
struct KernelTests {
    let offsets2D: [SIMD4<Double>] = [SIMD4(0, 0, 0, 0), SIMD4(0.13, -0.21, 0, 0), SIMD4(-0.4, 0.05, 0, 0), SIMD4(0.7, 0.9, 0, 0)]

    @Test("Gaussian (isotropic and per-axis) derivatives up to order 4 match finite differences")
    func gaussian() throws {
        checkDerivatives(try RadialKernel(.gaussian, lengthscale: 0.3), dimension: 2, order: 4, offsets: offsets2D, name: "Gaussian")
        checkDerivatives(try RadialKernel(.gaussian, lengthscales: [0.3, 0.6], variance: 2), dimension: 2, order: 4,
                         offsets: offsets2D, name: "Gaussian ARD")
        checkDerivatives(try RadialKernel(.gaussian, lengthscale: 0.5), dimension: 3, order: 4,
                         offsets: [SIMD4(0.1, -0.2, 0.3, 0), .zero], name: "Gaussian 3-D")
        // The separable form gives the same numbers as the radial one.
        let radial = try RadialKernel(.gaussian, lengthscales: [0.3, 0.6])
        let product = try ProductKernel(axes: [GaussianAxis(lengthscale: 0.3), GaussianAxis(lengthscale: 0.6)])
        for d in offsets2D { for g in multiIndices(dimension: 2, order: 4) {
            let a = kernelDerivative(radial, g, at: d), b = kernelDerivative(product, g, at: d)
            #expect(abs(a - b) <= 1e-12 * max(1, abs(a)))
        } }
        // Closed forms: κ(0) = σ², Δ_x Δ_y κ(0) = 8/ℓ⁴ in 2-D (the ΔΔ′ block diagonal).
        let k = try RadialKernel(.gaussian, lengthscale: 0.2)
        let lap2 = kernelDerivative(k, MultiIndex([4, 0]), at: .zero) + 2 * kernelDerivative(k, MultiIndex([2, 2]), at: .zero)
            + kernelDerivative(k, MultiIndex([0, 4]), at: .zero)
        #expect(abs(lap2 - 8 / pow(0.2, 4)) <= 1e-9 * lap2)
    }

    @Test("Matérn 5/2 and 7/2 derivatives up to order 4 match finite differences, including the limit at 0")
    func matern() throws {
        for profile in [RadialProfile.matern52, .matern72] {
            checkDerivatives(try RadialKernel(profile, lengthscale: 0.4), dimension: 2, order: 4,
                             offsets: offsets2D, tolerance: 5e-6, fourthOrderKinkAtZero: profile == .matern52, name: "\(profile)")
            checkDerivatives(try RadialKernel(profile, lengthscales: [0.4, 0.25]), dimension: 2, order: 4,
                             offsets: offsets2D.dropFirst().map { $0 }, tolerance: 5e-6, name: "\(profile) ARD")
            checkDerivatives(try MaternAxisKernel(profile, 0.3), dimension: 1, order: 4,
                             offsets: [SIMD4(0.05, 0, 0, 0), SIMD4(-0.3, 0, 0, 0), SIMD4(1.1, 0, 0, 0)], tolerance: 5e-6,
                             name: "\(profile) axis")
            // 1-D axis form equals the radial form in one variable.
            let radial = try RadialKernel(profile, lengthscale: 0.3)
            let axis = try MaternAxisKernel(profile, 0.3)
            for t in [0.0, 0.07, -0.5] { for n in 0...4 {
                let a = kernelDerivative(radial, MultiIndex([n]), at: SIMD4(t, 0, 0, 0))
                let b = kernelDerivative(axis, MultiIndex([n]), at: SIMD4(t, 0, 0, 0))
                #expect(abs(a - b) <= 1e-11 * max(1, abs(a)), "\(profile) order \(n) at \(t): \(a) vs \(b)")
            } }
        }
        // Fourth derivatives of Matérn 5/2 at 0 from its Taylor series 1 − a²r²/6 + a⁴r⁴/24 − …
        // (a = √5/ℓ): ∂⁴_x κ(0) = a⁴, ∂²_x∂²_y κ(0) = a⁴/3.
        let m4 = try RadialKernel(.matern52, lengthscale: 0.4)
        let a4 = pow(5.0.squareRoot() / 0.4, 4)
        #expect(abs(kernelDerivative(m4, MultiIndex([4, 0]), at: .zero) - a4) <= 1e-12 * a4)
        #expect(abs(kernelDerivative(m4, MultiIndex([2, 2]), at: .zero) - a4 / 3) <= 1e-12 * a4)
        #expect(abs(kernelDerivative(m4, MultiIndex([4, 0]), at: SIMD4(1e-7, 0, 0, 0)) - a4) <= 1e-4 * a4)
        // Matérn 5/2 value is (1 + √5 r + 5r²/3) e^{−√5 r}.
        let m = try RadialKernel(.matern52, lengthscale: 1)
        let r = 0.7
        #expect(abs(kernelDerivative(m, .zero, at: SIMD4(r, 0, 0, 0)) - (1 + 5.0.squareRoot() * r + 5 * r * r / 3) * exp(-5.0.squareRoot() * r)) < 1e-15)
    }

    @Test("Periodic and spectral-mixture (Gaussian and Student-t) kernels: derivatives match finite differences")
    func periodicAndSpectralMixture() throws {
        let periodic = try ProductKernel(axes: [PeriodicAxis(period: 1.3, lengthscale: 0.8), PeriodicAxis(period: 0.7, lengthscale: 1.2)])
        checkDerivatives(periodic, dimension: 2, order: 4, offsets: offsets2D, tolerance: 1e-6, name: "periodic")
        // κ(p) = κ(0): periodic.
        #expect(abs(periodic.value([1.3, 0.7], [0, 0]) - 1) < 1e-12)
        let components = [SpectralMixtureAxis.Component(weight: 0.5, frequency: 3, lengthscale: 0.5),
                          .init(weight: 0.25, frequency: 0.4, lengthscale: 1.5), .init(weight: 1, frequency: 0, lengthscale: 0.2)]
        for shape in SpectralMixtureAxis.Shape.allCases {
            let sm = try ProductKernel(axes: [SpectralMixtureAxis(shape: shape, components: components),
                                              SpectralMixtureAxis(shape: shape, components: Array(components.prefix(2)))])
            checkDerivatives(sm, dimension: 2, order: 4, offsets: offsets2D, tolerance: 2e-5, fourthOrderKinkAtZero: shape == .studentT,
                             name: "spectral mixture \(shape)")
            // κ(0) = (Σ w)(Σ w′).
            #expect(abs(sm.value([0, 0], [0, 0]) - 1.75 * 0.75) < 1e-12)
        }
        #expect(throws: PDEError.self) { try SpectralMixtureAxis(shape: .gaussian, components: []) }
        #expect(throws: PDEError.self) { try SpectralMixtureAxis(shape: .gaussian, components: [.init(weight: -1, frequency: 1, lengthscale: 1)]) }
        #expect(throws: PDEError.self) { try SpectralMixtureAxis(shape: .studentT, components: [.init(weight: 1, frequency: 1, lengthscale: 0)]) }
        #expect(throws: PDEError.self) { try PeriodicAxis(period: 0, lengthscale: 1) }
        #expect(throws: PDEError.self) { try RadialKernel(.gaussian, lengthscale: -1) }
        #expect(throws: PDEError.self) { try RadialKernel(.gaussian, lengthscales: [1, 1, 1, 1]) }
    }

    @Test("Derivative blocks: L_x M_y k equals the transpose of M_x L_y k and finite differences of the value block")
    func blocks() throws {
        let k = try RadialKernel(.gaussian, lengthscales: [0.3, 0.45])
        let x = try PointSet(dimension: 2, coordinates: [[0.1, 0.2], [0.5, 0.3], [0.9, 0.8]])
        let y = try PointSet(dimension: 2, coordinates: [[0.2, 0.25], [0.6, 0.1]])
        let lap = DifferentialFunctional.laplacian(dimension: 2)
        let functionals: [DifferentialFunctional] = [.value, .partial(0), .partial(1), .second(0), lap]
        for l in functionals { for m in functionals {
            let a = KernelMatrices.block(k, x, l, y, m)
            let b = KernelMatrices.block(k, y, m, x, l)
            #expect(a.rows == 3 && a.columns == 2)
            for i in 0..<3 { for j in 0..<2 { #expect(abs(a[i, j] - b[j, i]) <= 1e-12 * max(1, abs(a[i, j]))) } }
        } }
        // ∂_y (second argument) by finite differences of the value block: block(value, ∂1) = ∂/∂y₁ k(x, y).
        let h = 1e-5
        let yPlus = PointSet(dimension: 2, points: y.points.map { $0 + SIMD4(0, h, 0, 0) })
        let yMinus = PointSet(dimension: 2, points: y.points.map { $0 - SIMD4(0, h, 0, 0) })
        let fd = zip(KernelMatrices.block(k, x, .value, yPlus, .value).values, KernelMatrices.block(k, x, .value, yMinus, .value).values)
            .map { ($0 - $1) / (2 * h) }
        let exact = KernelMatrices.block(k, x, .value, y, .partial(1)).values
        for (a, b) in zip(fd, exact) { #expect(abs(a - b) <= 1e-8) }
        // The Gram matrix of (u, Δu) at distinct points is SPD.
        let pts = try CollocationPoints.randomInterior(lower: [0, 0], upper: [1, 1], count: 15, seed: 3)
        let theta = KernelMatrices.gram(k, groups: [(.value, pts), (lap, pts)])
        #expect(theta.asymmetry == 0)
        _ = try CholeskyFactorization(theta)
        // A kernel without the derivatives the functionals need is refused.
        #expect(throws: PDEError.self) {
            try KernelMatrices.validate(try RadialKernel(.matern52, lengthscale: 1), dimension: 2,
                                        functionals: [.value, DifferentialFunctional([.init(1, .axis(0, order: 3))], name: "u_xxx")])
        }
        #expect(throws: PDEError.self) {
            try KernelMatrices.validate(k, dimension: 3, functionals: [.value])
        }
    }
}

/// A one-variable Matérn kernel as a `CovarianceKernel` (through the product form).
private func MaternAxisKernel(_ profile: RadialProfile, _ lengthscale: Double) throws -> ProductKernel {
    try ProductKernel(axes: [MaternAxis(profile, lengthscale: lengthscale)])
}
