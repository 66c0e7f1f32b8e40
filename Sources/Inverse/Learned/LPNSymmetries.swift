import Foundation
import PDE

/// A group of symmetries of the image grid over which a learned proximal network is averaged.
///
/// With a group G of signed permutations T_g (flips of the pixels and, on square images,
/// transpositions, each acting on every channel alike; or the negation y ↦ −y),
///
///     ψ̄(y) = (1/|G|) Σ_g ψ(T_g y),   f̄(y) = ∇ψ̄(y) = (1/|G|) Σ_g T_gᵀ f(T_g y),
///
/// since T_g is orthogonal (T_gᵀ = T_g⁻¹). ψ̄ is a mean of convex functions, so it is convex
/// (and α-strongly convex when ψ is): f̄ is again the exact proximal operator of a regularizer,
/// R̄ = ψ̄* − ½‖·‖², which `LearnedRegularizer` evaluates the same way as R_θ. ψ̄ is invariant
/// and f̄ equivariant under G (f̄(T_h y) = T_h f̄(y)), because g ↦ gh permutes G. This is the
/// "self-ensemble" of image denoisers made exact: it costs |G| network passes per prox.
/// `negation` is the group {y, −y}, for priors symmetric under x ↦ −x (the 1-D Laplace toy):
/// f̄(y) = ½(f(y) − f(−y)), odd by construction; it suits any network kind.
public enum LPNSymmetries: String, Sendable, CaseIterable {
    /// The network itself.
    case none
    /// y and −y (odd f̄; for priors symmetric about 0, any network kind).
    case negation
    /// The four flips: identity, upside down, left–right, and both (a rotation by 180°).
    case flips
    /// The eight symmetries of the square (the flips and the four with a transposition,
    /// among them the rotations by ±90°); square images only.
    case dihedral

    /// The config names, comma-separated (for messages).
    public static let names = allCases.map(\.rawValue).joined(separator: ", ")

    /// The group of a config name. Throws `PDEError.invalidValue` (key `symmetries`) for
    /// another name.
    public init(named name: String) throws {
        guard let g = LPNSymmetries(rawValue: name) else {
            throw PDEError.invalidValue(key: "symmetries", value: "'\(name)'", expected: "one of " + LPNSymmetries.names)
        }
        self = g
    }

    /// |G|: 1, 2, 4 or 8.
    public var order: Int {
        switch self {
        case .none: return 1
        case .negation: return 2
        case .flips: return 4
        case .dihedral: return 8
        }
    }

    /// Whether the group moves pixels (flips, dihedral), which needs an image layout.
    public var needsImageLayout: Bool { self == .flips || self == .dihedral }

    /// One group element: (T y)[k] = sign · y[permutation[k]].
    public struct Element: Sendable, Equatable {
        /// The source index of every entry.
        public let permutation: [Int]
        /// +1 or −1.
        public let sign: Double
    }

    /// The group's elements on samples of `count` values, the identity first. Throws
    /// `PDEError.shapeMismatch` for a group that moves pixels (use
    /// `elements(channels:height:width:)`) or a count below 1.
    public func elements(count: Int) throws -> [Element] {
        guard count >= 1, !needsImageLayout else {
            throw PDEError.shapeMismatch(what: "sample of the learned proximal network symmetrized over \(rawValue)",
                                         expected: needsImageLayout ? "an image layout [C, H, W]" : "≥ 1 values", got: "\(count) values")
        }
        let identity = Array(0..<count)
        return self == .negation ? [Element(permutation: identity, sign: 1), Element(permutation: identity, sign: -1)]
                                 : [Element(permutation: identity, sign: 1)]
    }

    /// The group's elements on a [channels, height, width] sample (flat, row-major), the
    /// identity first. Throws `PDEError.shapeMismatch` for `dihedral` on a non-square image or
    /// sizes below 1.
    public func elements(channels: Int, height: Int, width: Int) throws -> [Element] {
        guard needsImageLayout else { return try elements(count: channels * height * width) }
        return try permutations(channels: channels, height: height, width: width).map { Element(permutation: $0, sign: 1) }
    }

    /// The pixel permutations of `flips` or `dihedral` on a [channels, height, width] sample:
    /// for each g, `p` with (T_g y)[k] = y[p[k]]; the identity first (`none` and `negation`
    /// move no pixel: the identity alone). Throws `PDEError.shapeMismatch` for `dihedral` on a
    /// non-square image or sizes below 1.
    public func permutations(channels: Int, height: Int, width: Int) throws -> [[Int]] {
        guard channels >= 1, height >= 1, width >= 1 else {
            throw PDEError.shapeMismatch(what: "image of the symmetrized learned proximal network", expected: "[C ≥ 1, H ≥ 1, W ≥ 1]",
                                         got: "[\(channels), \(height), \(width)]")
        }
        if self == .dihedral && height != width {
            throw PDEError.shapeMismatch(what: "image of the dihedral-symmetrized learned proximal network",
                                         expected: "a square image (a transposition maps H × W to W × H; use flips)",
                                         got: "\(height) × \(width)")
        }
        var elements: [(transpose: Bool, flipRows: Bool, flipColumns: Bool)] = []
        if needsImageLayout {
            for transpose in self == .dihedral ? [false, true] : [false] {
                for (flipRows, flipColumns) in [(false, false), (true, false), (false, true), (true, true)] {
                    elements.append((transpose, flipRows, flipColumns))
                }
            }
        } else {
            elements = [(false, false, false)]
        }
        let plane = height * width
        return elements.map { g in
            var p = [Int](repeating: 0, count: channels * plane)
            for c in 0..<channels {
                for i in 0..<height {
                    for j in 0..<width {
                        let a = g.flipRows ? height - 1 - i : i
                        let b = g.flipColumns ? width - 1 - j : j
                        let (si, sj) = g.transpose ? (b, a) : (a, b)
                        p[c * plane + i * width + j] = c * plane + si * width + sj
                    }
                }
            }
            return p
        }
    }
}
