import Foundation

/// The suite's one seeded random generator (xoshiro256**, seeded through SplitMix64).
/// Every app and test that draws random numbers takes a seed and uses this type, so runs
/// are reproducible across machines.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Fills the four state words from `seed` by SplitMix64 (every seed, 0 included, gives a valid
    /// state); a seed gives the same stream on every machine.
    public init(seed: UInt64) {
        var z = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var r = x
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        s0 = splitmix(&z); s1 = splitmix(&z); s2 = splitmix(&z); s3 = splitmix(&z)
    }

    /// The full generator state (four words), for checkpoints: `init(state:)` continues the
    /// stream exactly where it was saved.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Restores a state saved from `state`; nil unless it has four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    /// The next 64 bits of xoshiro256** (period 2²⁵⁶ − 1); lets `Int.random(in:using:)`,
    /// `shuffled(using:)` etc. draw from this stream.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal by the Box–Muller transform.
    public mutating func normal() -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniform()
    }

    /// A random permutation of 0..<n (Fisher–Yates), for shuffling training samples.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }
}

