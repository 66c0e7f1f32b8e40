import Foundation
import Testing
@testable import Inverse
import Learning
import PDE
import TestSupport

// A learned proximal network averaged over grid symmetries: ψ̄(y) = mean ψ(T_g y) and
// f̄ = ∇ψ̄ = mean T_gᵀ f(T_g y). It must stay an exact prox (a gradient of a convex function),
// be equivariant, and leave `.none` untouched.

/// A tiny fully convolutional LPN (1 channel, hidden 3, 2 layers) with scrambled parameters.
private func smallNetwork(seed: UInt64 = 7) throws -> LearnedProximalNetwork<Double> {
    var g = SeededGenerator(seed: seed)
    let net = try LearnedProximalNetwork<Double>(kind: .fullyConvolutional(channels: 1), hidden: 3, layers: 2, beta: 5, alpha: 0.2,
                                                 generator: &g)
    scramble(net, seed: seed + 100)
    // The clamp can zero a whole output map (with seed 7 the last 1 × 1 layer, which leaves ψ
    // quadratic and trivially symmetric): draw the hidden weights from U(0, 2/√fanIn) instead.
    var h = SeededGenerator(seed: seed + 200)
    for (name, v) in net.namedParameters(Double.self) where name.hasPrefix("lin.") && name != "lin.0.weight" {
        let bound = 2 / Double(v.shape.dropFirst().reduce(1, *)).squareRoot()
        v.value = Tensor.randomUniform(shape: v.shape, low: 0, high: bound, generator: &h)
    }
    return net
}

private func apply(_ p: [Int], _ v: [Double]) -> [Double] { p.map { v[$0] } }
private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

@Suite struct LPNSymmetriesTests {
    @Test func permutationsFormTheGroups() throws {
        for (group, order) in [(LPNSymmetries.none, 1), (.flips, 4), (.dihedral, 8)] {
            #expect(group.order == order)
            let (h, w) = group == .dihedral ? (5, 5) : (4, 6)
            let perms = try group.permutations(channels: 2, height: h, width: w)
            #expect(perms.count == order)
            #expect(perms[0] == Array(0..<(2 * h * w)))                        // identity first
            #expect(Set(perms.map { $0 }).count == order)                    // distinct
            for p in perms { #expect(p.sorted() == Array(0..<(2 * h * w))) }   // permutations
            for p in perms {                                                  // channels are not mixed
                #expect(p.enumerated().allSatisfy { $0.offset / (h * w) == $0.element / (h * w) })
            }
            // Closed under composition: (T_a T_b y)[k] = y[p_b[p_a[k]]].
            for a in perms { for b in perms { #expect(perms.contains(a.map { b[$0] })) } }
        }
        // The elements: signs +1 but for negation's second; pixel groups need a layout.
        #expect(try LPNSymmetries.dihedral.elements(channels: 1, height: 3, width: 3).map(\.sign) == Array(repeating: 1, count: 8))
        let negation = try LPNSymmetries.negation.elements(count: 5)
        #expect(negation.map(\.sign) == [1, -1] && negation.allSatisfy { $0.permutation == Array(0..<5) })
        #expect(try LPNSymmetries.negation.elements(channels: 2, height: 2, width: 3).count == 2)
        #expect(try LPNSymmetries.none.elements(count: 3).count == 1)
        #expect(pdeErrorKind { try LPNSymmetries.flips.elements(count: 16) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNSymmetries.negation.elements(count: 0) } == "shapeMismatch")
        // A 90° rotation is in the dihedral group of a 3 × 3 image: (T y)[i, j] = y[j, 2 − i].
        let rot = (0..<9).map { k in (k % 3) * 3 + (2 - k / 3) }
        #expect(try LPNSymmetries.dihedral.permutations(channels: 1, height: 3, width: 3).contains(rot))
        #expect(pdeErrorKind { try LPNSymmetries.dihedral.permutations(channels: 1, height: 3, width: 4) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNSymmetries.flips.permutations(channels: 0, height: 3, width: 4) } == "shapeMismatch")
    }

    @Test func averagedNetworkIsAnEquivariantGradientField() throws {
        let net = try smallNetwork()
        let n = 6
        let plain = try LearnedRegularizer(network: net, imageSize: [n, n])
        let y = randomArray(n * n, seed: 40, scale: 1.5)
        for group in [LPNSymmetries.flips, .dihedral] {
            let r = try LearnedRegularizer(network: net, imageSize: [n, n], symmetries: group)
            #expect(r.symmetries == group)
            let perms = try group.permutations(channels: 1, height: n, width: n)
            // The definition, from the plain network.
            var psi = 0.0, f = [Double](repeating: 0, count: n * n)
            for p in perms {
                let (pg, fg) = try plain.potentialAndProx(apply(p, y))
                psi += pg
                for k in p.indices { f[p[k]] += fg[k] }
            }
            psi /= Double(perms.count)
            f = f.map { $0 / Double(perms.count) }
            let (psiBar, fBar) = try r.potentialAndProx(y)
            #expect(abs(psiBar - psi) <= 1e-12 * max(1, abs(psi)))
            #expect(maxAbsDifference(fBar, f) <= 1e-12)
            let (proxOnly, potentialOnly) = (try r.prox(y), try r.potential(y))
            #expect(maxAbsDifference(proxOnly, fBar) <= 1e-13 && abs(potentialOnly - psiBar) <= 1e-13 * max(1, abs(psi)))
            // Invariance of ψ̄ and equivariance of f̄ under every element.
            for p in perms {
                let (pt, ft) = try r.potentialAndProx(apply(p, y))
                #expect(abs(pt - psiBar) <= 1e-11 * max(1, abs(psiBar)))
                #expect(maxAbsDifference(ft, apply(p, fBar)) <= 1e-11)
            }
            // f̄ = ∇ψ̄: central differences of ψ̄ along random directions (error O(h²)).
            for s in 0..<3 {
                let d = randomArray(n * n, seed: 50 + UInt64(s))
                let h = 1e-4
                let fd = (try r.potential(zip(y, d).map { $0 + h * $1 }) - r.potential(zip(y, d).map { $0 - h * $1 })) / (2 * h)
                let exact = dot(fBar, d)
                #expect(abs(fd - exact) <= 1e-7 * max(1, abs(exact)), "\(group) direction \(s): \(fd) vs \(exact)")
            }
            // Convexity of ψ̄ on random chords.
            for s in 0..<4 {
                let a = randomArray(n * n, seed: 60 + UInt64(s), scale: 2), b = randomArray(n * n, seed: 70 + UInt64(s), scale: 2)
                let mid = try r.potential(zip(a, b).map { 0.5 * ($0 + $1) })
                #expect(mid <= 0.5 * (try r.potential(a) + r.potential(b)) + 1e-12)
            }
            // The averaged network is still not the plain one (the test network is not symmetric).
            let pf = try plain.prox(y)
            #expect(maxAbsDifference(fBar, pf) > 1e-6)
        }
        // `.none` is the network itself.
        let none = try LearnedRegularizer(network: net, imageSize: [n, n], symmetries: .none)
        #expect(try none.prox(y) == plain.prox(y))
    }

    @Test func averagedProxSatisfiesTheProxOptimalityCondition() throws {
        // x = f̄(v) is the prox of R̄ at v: v − x ∈ ∂R̄(x), and ∇R̄(x) = f̄⁻¹(x) − x, so the
        // inversion at x recovers v.
        let net = try smallNetwork(seed: 9)
        let r = try LearnedRegularizer(network: net, imageSize: [4, 4], symmetries: .dihedral)
        let v = randomArray(16, seed: 80, scale: 1.2)
        let x = try r.prox(v)
        let e = try r.evaluate(x)
        let grad = zip(v, x).map { $0 - $1 }
        #expect(maxAbsDifference(e.gradient, grad) <= 1e-7, "∇R̄(x) vs v − x")
        #expect(e.inversion.residual <= r.acceptableResidual)
        // The adapter gives the same prox and R̄.
        let pnp = try LPNProx(network: net, imageShape: [4, 4], evaluatesRegularizer: true, symmetries: .dihedral)
        #expect(maxAbsDifference(try pnp.prox(v, step: 1), x) <= 1e-14)
        let value = try #require(pnp.value(x))
        #expect(abs(value - e.value) <= 1e-8 * max(1, abs(e.value)))
    }

    // Negation on a fully connected network (the Laplace toy's kind): f̄(y) = ½(f(y) − f(−y)) is
    // odd, ψ̄ even, and f̄ is still the prox of its R̄.
    @Test func negationMakesTheProxOdd() throws {
        var g = SeededGenerator(seed: 11)
        let net = try LearnedProximalNetwork<Double>(kind: .fullyConnected(dimension: 3), hidden: 6, layers: 2, beta: 5, alpha: 0.2,
                                                     generator: &g)
        scramble(net, seed: 111)
        let plain = try LearnedRegularizer(network: net)
        let odd = try LearnedRegularizer(network: net, symmetries: .negation)
        for s in 0..<3 {
            let y = randomArray(3, seed: 90 + UInt64(s), scale: 2)
            let minus = y.map { -$0 }
            let (fp, fm) = (try plain.prox(y), try plain.prox(minus))
            let f = try odd.prox(y)
            #expect(maxAbsDifference(f, zip(fp, fm).map { 0.5 * ($0 - $1) }) <= 1e-14)
            #expect(maxAbsDifference(try odd.prox(minus), f.map { -$0 }) <= 1e-14)
            #expect(abs(try odd.potential(minus) - odd.potential(y)) <= 1e-12)
            #expect(maxAbsDifference(fp, fm.map { -$0 }) > 1e-4)      // the plain network is not odd
            let e = try odd.evaluate(f)
            #expect(maxAbsDifference(e.gradient, zip(y, f).map { $0 - $1 }) <= 1e-7, "∇R̄(f̄(y)) = y − f̄(y)")
        }
        #expect(try LPNProx(network: net, imageShape: [1, 3], symmetries: .negation).prox([0.5, -1, 2], step: 1).count == 3)
    }

    @Test func symmetriesTheNetworkCannotTakeAreTypedErrors() throws {
        var g = SeededGenerator(seed: 3)
        let dense = try LearnedProximalNetwork<Double>(kind: .fullyConnected(dimension: 16), hidden: 4, layers: 2, beta: 5, alpha: 0.1,
                                                       generator: &g)
        #expect(pdeErrorKind { try LearnedRegularizer(network: dense, symmetries: .flips) } == "shapeMismatch")
        #expect(pdeErrorKind { try LPNProx(network: dense, imageShape: [4, 4], symmetries: .flips) } == "shapeMismatch")
        let conv = try smallNetwork()
        #expect(pdeErrorKind { try LearnedRegularizer(network: conv, imageSize: [4, 6], symmetries: .dihedral) } == "shapeMismatch")
        #expect(try LearnedRegularizer(network: conv, imageSize: [4, 6], symmetries: .flips).count == 24)
    }

    // Denoiser scaling: f_s(v) = c + (f(c + s(v − c)) − c)/s = ∇ψ_s, the exact prox of
    // R_s(x) = R(c + s(x − c))/s² (up to a constant).
    @Test func scaledNetworkIsTheProxOfTheScaledRegularizer() throws {
        let net = try smallNetwork(seed: 13)
        let n = 4
        let plain = try LearnedRegularizer(network: net, imageSize: [n, n])
        let v = randomArray(n * n, seed: 120, scale: 1.2)
        for (s, c) in [(2.5, 0.5), (0.6, 0.0), (1.0, -0.3)] {
            let scaling = try LPNScaling(scale: s, center: c)
            let r = try LearnedRegularizer(network: net, imageSize: [n, n], scaling: scaling)
            #expect(r.scaling == scaling && !scaling.isIdentity)
            // The definition, from the plain network.
            let inner = v.map { c + s * ($0 - c) }
            let expected = try plain.prox(inner).map { c + ($0 - c) / s }
            let (psi, f) = try r.potentialAndProx(v)
            #expect(maxAbsDifference(f, expected) <= 1e-13)
            let (proxOnly, potentialOnly) = (try r.prox(v), try r.potential(v))
            #expect(maxAbsDifference(proxOnly, f) <= 1e-14 && abs(potentialOnly - psi) <= 1e-13 * max(1, abs(psi)))
            // f_s = ∇ψ_s by central differences.
            for k in 0..<2 {
                let d = randomArray(n * n, seed: 130 + UInt64(k))
                let h = 1e-5
                let fd = (try r.potential(zip(v, d).map { $0 + h * $1 }) - r.potential(zip(v, d).map { $0 - h * $1 })) / (2 * h)
                #expect(abs(fd - dot(f, d)) <= 1e-7 * max(1, abs(fd)), "s = \(s), c = \(c): \(fd) vs \(dot(f, d))")
            }
            // R_s(x) − R(c + s(x − c))/s² is one constant at every x, and x = f_s(v) is its prox.
            var offsets: [Double] = []
            for k in 0..<3 {
                let x = try r.prox(randomArray(n * n, seed: 140 + UInt64(k), scale: 1.5))
                let e = try r.evaluate(x)
                offsets.append(e.value - (try plain.evaluate(x.map { c + s * ($0 - c) }).value) / (s * s))
            }
            #expect(offsets.max()! - offsets.min()! <= 1e-7, "s = \(s), c = \(c): offsets \(offsets)")
            let e = try r.evaluate(f)
            #expect(maxAbsDifference(e.gradient, zip(v, f).map { $0 - $1 }) <= 1e-7, "∇R_s(f_s(v)) = v − f_s(v)")
        }
        // Scaling composes with the symmetry average and reaches the adapter.
        let scaling = try LPNScaling(scale: 2, center: 0.5)
        let both = try LPNProx(network: net, imageShape: [n, n], symmetries: .flips, scaling: scaling)
        var mean = [Double](repeating: 0, count: n * n)
        let scaled = try LearnedRegularizer(network: net, imageSize: [n, n], scaling: scaling)
        let perms = try LPNSymmetries.flips.permutations(channels: 1, height: n, width: n)
        for p in perms {
            let fp = try scaled.prox(apply(p, v))
            for k in p.indices { mean[p[k]] += fp[k] / Double(perms.count) }
        }
        #expect(maxAbsDifference(try both.prox(v, step: 1), mean) <= 1e-13)
        // The identity is the network itself, bit for bit.
        #expect(try LearnedRegularizer(network: net, imageSize: [n, n], scaling: LPNScaling(scale: 1)).prox(v) == plain.prox(v))
        for (s, c) in [(0.0, 0.0), (-1.0, 0.0), (Double.nan, 0.0), (Double.infinity, 0.0), (2.0, Double.nan), (2.0, -Double.infinity)] {
            #expect(pdeErrorKind { try LPNScaling(scale: s, center: c) } == "invalidValue", "s = \(s), c = \(c)")
        }
    }
}
