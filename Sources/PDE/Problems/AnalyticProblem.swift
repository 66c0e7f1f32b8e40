/// A manufactured or analytic solution of −∇·(a∇u) + c·u = f with everything a solver,
/// a test or a config needs: the exact solution and its gradient, the coefficient a(x),
/// the reaction coefficient c and the source f (derived by hand, not by differencing).
/// Boundary data come from the solution: Dirichlet values u, Neumann fluxes a ∇u·n.
public struct AnalyticProblem: Sendable {
    /// The domain the problem is posed on.
    public enum Domain: Sendable, Equatable {
        /// An axis-aligned box (interval, rectangle, cuboid).
        case box(lower: [Double], upper: [Double])
        /// A disk in 2-D.
        case disk(center: [Double], radius: Double)
        /// The L-shaped domain [−1,1]² minus [0,1]×[−1,0].
        case lShape
    }

    /// The catalogue name used by configs (`problem: poisson2d-sinexp`).
    public let name: String
    /// One line for `--help` listings and the README.
    public let summary: String
    /// Number of coordinates (1, 2 or 3) in the points the closures receive.
    public let dimension: Int
    public let domain: Domain
    /// Exact u(x), called with [x], [x, y] or [x, y, z].
    public let solution: @Sendable ([Double]) -> Double
    /// Exact ∇u(x), `dimension` components.
    public let gradient: @Sendable ([Double]) -> [Double]
    /// Diffusion coefficient a(x) > 0.
    public let coefficient: @Sendable ([Double]) -> Double
    /// Reaction coefficient c ≥ 0.
    public let reaction: Double
    /// Source f = −∇·(a∇u) + c·u.
    public let source: @Sendable ([Double]) -> Double

    /// Memberwise and unchecked: `source` must equal −∇·(a∇u) + c·u for `solution` (a defaults
    /// to 1, c to 0); `ProblemCatalogue`'s entries are verified by `CatalogueTests`.
    public init(name: String, summary: String, dimension: Int, domain: Domain,
                solution: @escaping @Sendable ([Double]) -> Double,
                gradient: @escaping @Sendable ([Double]) -> [Double],
                coefficient: @escaping @Sendable ([Double]) -> Double = { _ in 1 },
                reaction: Double = 0,
                source: @escaping @Sendable ([Double]) -> Double) {
        self.name = name
        self.summary = summary
        self.dimension = dimension
        self.domain = domain
        self.solution = solution
        self.gradient = gradient
        self.coefficient = coefficient
        self.reaction = reaction
        self.source = source
    }

    /// Outward flux a ∇u·n at x for the outward unit normal n (Neumann data).
    public func flux(_ x: [Double], normal n: [Double]) -> Double {
        let g = gradient(x)
        var s = 0.0
        for d in 0..<n.count { s += g[d] * n[d] }
        return coefficient(x) * s
    }
}
