/// Small dense-vector helpers used across solvers, apps and tests.
public enum Vectors {
    /// Euclidean norm, scaled to avoid overflow/underflow for extreme entries.
    public static func norm2(_ v: [Double]) -> Double {
        var scale = 0.0
        for x in v { scale = max(scale, abs(x)) }
        guard scale > 0, scale.isFinite else { return scale }
        var s = 0.0
        for x in v { let t = x / scale; s += t * t }
        return scale * s.squareRoot()
    }

    /// ‖a − b‖₂.
    public static func distance(_ a: [Double], _ b: [Double]) -> Double {
        norm2(zip(a, b).map { $0 - $1 })
    }

    /// Maximum absolute entry.
    public static func maxAbs(_ v: [Double]) -> Double { v.reduce(0) { max($0, abs($1)) } }
}
