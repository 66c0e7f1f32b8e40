import Foundation
import PDE

/// A linear forward model y = A x between real arrays (the "physics" of deepinv, the
/// `LinearOperator` of PyLops): apply, exact adjoint, shapes, an optional fast normal
/// operator AᵀA, and a Lipschitz estimate ‖A‖² by power iteration.
///
/// Arrays are flat, C order, of `domainShape` / `rangeShape`. Complex ranges (MRI) are stored
/// as a trailing (re, im) axis of length 2, so the adjoint is the adjoint for the real inner
/// product ⟨u, v⟩ = Σ uᵢ vᵢ, which is what every algorithm here uses.
public protocol ForwardModel {
    /// A short name for reports ("blur", "parallel-beam CT", …).
    var name: String { get }
    /// Shape of x.
    var domainShape: [Int] { get }
    /// Shape of y = A x.
    var rangeShape: [Int] { get }
    /// y ← A x (`x.count == domainCount`, `y.count == rangeCount`; checked by the callers
    /// below, not by every implementation).
    func apply(_ x: [Double], into y: inout [Double])
    /// x ← Aᵀ y.
    func adjoint(_ y: [Double], into x: inout [Double])
    /// x ← AᵀA v when the model has a faster way than `adjoint(apply(v))` (circulant models:
    /// one FFT pair); nil otherwise. The default is nil.
    func applyNormal(_ v: [Double], into x: inout [Double]) -> Bool
    /// For circulant models (periodic blur, the identity, the periodic gradient): the DFT
    /// symbols of the output channels, so that normal equations are solved by one FFT pair.
    /// The default is nil.
    var fourierSymbols: FourierSymbols? { get }
    /// The real DFT symbol of AᵀA on the domain's half spectrum (`RealFFT` layout,
    /// complexCount values) when AᵀA is circulant; by default Σ|s_c|² of `fourierSymbols`.
    /// Models whose AᵀA is circulant without A being so (subsampled Fourier) override it.
    var normalSymbol: [Double]? { get }
}

extension ForwardModel {
    /// Default: no fast normal operator.
    public func applyNormal(_ v: [Double], into x: inout [Double]) -> Bool { false }
    /// Default: not circulant.
    public var fourierSymbols: FourierSymbols? { nil }
    /// Default: from `fourierSymbols`.
    public var normalSymbol: [Double]? { fourierSymbols?.normalSymbol }

    /// Number of entries of x.
    public var domainCount: Int { domainShape.reduce(1, *) }
    /// Number of entries of y.
    public var rangeCount: Int { rangeShape.reduce(1, *) }

    /// A x, with the length of `x` checked (typed error naming the model).
    public func callAsFunction(_ x: [Double]) throws -> [Double] {
        try InverseCheck.length(x.count, domainCount, "input of \(name)")
        var y = [Double](repeating: 0, count: rangeCount)
        apply(x, into: &y)
        return y
    }

    /// Aᵀ y, with the length of `y` checked.
    public func adjoint(_ y: [Double]) throws -> [Double] {
        try InverseCheck.length(y.count, rangeCount, "adjoint input of \(name)")
        var x = [Double](repeating: 0, count: domainCount)
        adjoint(y, into: &x)
        return x
    }

    /// AᵀA v (the fast path when the model has one).
    public func normal(_ v: [Double]) throws -> [Double] {
        try InverseCheck.length(v.count, domainCount, "input of \(name)ᵀ\(name)")
        var x = [Double](repeating: 0, count: domainCount)
        if applyNormal(v, into: &x) { return x }
        var y = [Double](repeating: 0, count: rangeCount)
        apply(v, into: &y)
        adjoint(y, into: &x)
        return x
    }

    /// An estimate of the Lipschitz constant of ∇½‖Ax − y‖², i.e. ‖A‖₂² = λmax(AᵀA), by
    /// `iterations` power iterations on AᵀA from a seeded random start (a lower bound that
    /// converges from below; the algorithms multiply it by a safety factor).
    public func lipschitzEstimate(iterations: Int = 50, seed: UInt64 = 0) -> Double {
        var rng = SeededGenerator(seed: seed)
        var v = (0..<domainCount).map { _ in rng.normal() }
        var w = [Double](repeating: 0, count: domainCount)
        var y = [Double](repeating: 0, count: rangeCount)
        var estimate = 0.0
        for _ in 0..<max(1, iterations) {
            let nv = InverseVectors.norm(v)
            if nv == 0 || !nv.isFinite { return estimate }
            for i in v.indices { v[i] /= nv }
            if !applyNormal(v, into: &w) {
                apply(v, into: &y)
                adjoint(y, into: &w)
            }
            estimate = InverseVectors.dot(v, w)
            swap(&v, &w)
        }
        return estimate
    }
}

/// The adjoint dot-test of PyLops / deepinv: |⟨A x, y⟩ − ⟨x, Aᵀ y⟩| / (‖A x‖‖y‖ + ‖x‖‖Aᵀy‖)
/// for seeded random x and y. Exact adjoints give a few ulps (≤ 1e-12 in Double).
public func adjointMismatch(_ model: ForwardModel, seed: UInt64 = 1) -> Double {
    var rng = SeededGenerator(seed: seed)
    let x = (0..<model.domainCount).map { _ in rng.normal() }
    let y = (0..<model.rangeCount).map { _ in rng.normal() }
    var ax = [Double](repeating: 0, count: model.rangeCount)
    var aty = [Double](repeating: 0, count: model.domainCount)
    model.apply(x, into: &ax)
    model.adjoint(y, into: &aty)
    let lhs = InverseVectors.dot(ax, y), rhs = InverseVectors.dot(x, aty)
    let scale = InverseVectors.norm(ax) * InverseVectors.norm(y) + InverseVectors.norm(x) * InverseVectors.norm(aty)
    return scale == 0 ? 0 : abs(lhs - rhs) / scale
}

/// Shape and length checks shared by the models (typed `PDEError`s).
enum InverseCheck {
    static func length(_ got: Int, _ expected: Int, _ what: String) throws {
        guard got == expected else {
            throw PDEError.shapeMismatch(what: what, expected: "\(expected) values", got: "\(got)")
        }
    }

    static func shape(_ shape: [Int], key: String, axes: ClosedRange<Int> = 1...3) throws {
        guard axes.contains(shape.count), shape.allSatisfy({ $0 >= 1 }) else {
            throw PDEError.invalidValue(key: key, value: "\(shape)", expected: "\(axes.lowerBound)–\(axes.upperBound) axes of positive length")
        }
    }

    static func positive(_ value: Double, key: String) throws {
        guard value > 0, value.isFinite else {
            throw PDEError.invalidValue(key: key, value: "\(value)", expected: "a finite number > 0")
        }
    }

    static func nonNegative(_ value: Double, key: String) throws {
        guard value >= 0, value.isFinite else {
            throw PDEError.invalidValue(key: key, value: "\(value)", expected: "a finite number ≥ 0")
        }
    }
}

/// Vector helpers of the algorithms (plain loops the compiler vectorizes).
public enum InverseVectors {
    /// Σ aᵢ bᵢ.
    @inline(__always)
    public static func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                let n = min(ap.count, bp.count)
                var i = 0
                while i &+ 4 <= n {
                    s0 += ap[i] * bp[i]; s1 += ap[i &+ 1] * bp[i &+ 1]
                    s2 += ap[i &+ 2] * bp[i &+ 2]; s3 += ap[i &+ 3] * bp[i &+ 3]
                    i = i &+ 4
                }
                while i < n { s0 += ap[i] * bp[i]; i = i &+ 1 }
                return (s0 + s1) + (s2 + s3)
            }
        }
    }

    /// ‖a‖₂.
    public static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// (‖a − b‖², ‖a‖²) in one pass.
    public static func distanceAndNormSquared(_ a: [Double], _ b: [Double]) -> (Double, Double) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                var d0 = 0.0, d1 = 0.0, n0 = 0.0, n1 = 0.0
                let n = min(ap.count, bp.count)
                var i = 0
                while i &+ 2 <= n {
                    let x0 = ap[i], x1 = ap[i &+ 1]
                    let e0 = x0 - bp[i], e1 = x1 - bp[i &+ 1]
                    d0 += e0 * e0; d1 += e1 * e1; n0 += x0 * x0; n1 += x1 * x1
                    i = i &+ 2
                }
                if i < n { let e = ap[i] - bp[i]; d0 += e * e; n0 += ap[i] * ap[i] }
                return (d0 + d1, n0 + n1)
            }
        }
    }

    /// Σ (aᵢ − bᵢ)² over the common length (four partial sums).
    public static func squaredDistance(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                let n = min(ap.count, bp.count)
                var i = 0
                while i &+ 4 <= n {
                    let d0 = ap[i] - bp[i], d1 = ap[i &+ 1] - bp[i &+ 1]
                    let d2 = ap[i &+ 2] - bp[i &+ 2], d3 = ap[i &+ 3] - bp[i &+ 3]
                    s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
                    i = i &+ 4
                }
                while i < n { let d = ap[i] - bp[i]; s0 += d * d; i = i &+ 1 }
                return (s0 + s1) + (s2 + s3)
            }
        }
    }

    /// ‖a − b‖₂.
    public static func distance(_ a: [Double], _ b: [Double]) -> Double { squaredDistance(a, b).squareRoot() }
}
