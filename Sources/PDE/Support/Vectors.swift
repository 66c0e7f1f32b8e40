/// Small dense-vector helpers used across solvers, apps and tests.
public enum Vectors {
    /// Euclidean norm, scaled to avoid overflow/underflow for extreme entries; NaN when an
    /// entry is NaN, infinity when one is infinite.
    public static func norm2(_ v: [Double]) -> Double {
        let scale = maxAbs(v)
        guard scale > 0, scale.isFinite else { return scale }
        var s = 0.0
        for x in v { let t = x / scale; s += t * t }
        return scale * s.squareRoot()
    }

    /// ‖a − b‖₂.
    public static func distance(_ a: [Double], _ b: [Double]) -> Double {
        norm2(zip(a, b).map { $0 - $1 })
    }

    /// Maximum absolute entry (0 for an empty vector); NaN when an entry is NaN, so an error
    /// norm of a NaN solution is never small.
    public static func maxAbs(_ v: [Double]) -> Double {
        var m = 0.0
        for x in v {
            if x.isNaN { return .nan }
            m = max(m, abs(x))
        }
        return m
    }
}
