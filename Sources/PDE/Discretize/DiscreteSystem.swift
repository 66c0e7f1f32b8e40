/// A discrete solution (a grid field or a P1 mesh field) that knows its errors against an
/// analytic problem and how to line itself up with it along the null space.
public protocol DiscreteSolution {
    /// Nodal values (grid nodes in x-fastest order, or mesh vertices).
    var values: [Double] { get }
    /// Errors against the problem's exact solution (and gradient, where the norm needs it).
    func errors(against problem: AnalyticProblem) -> FieldErrors
    /// Adds the constant that makes the mean equal to the exact solution's.
    mutating func alignMean(with exact: ([Double]) -> Double)
}

extension GridField: DiscreteSolution {
    /// Trapezoidal L², max and forward-difference H¹ errors against `problem.solution` sampled at
    /// the nodes (the problem's gradient is not used).
    public func errors(against problem: AnalyticProblem) -> FieldErrors { errors(against: problem.solution) }
}

extension MeshField: DiscreteSolution {
    /// L² and H¹-seminorm errors by Dunavant's degree-4 rule against `problem.solution` and
    /// `problem.gradient`, and the max error at the vertices.
    public func errors(against problem: AnalyticProblem) -> FieldErrors { errors(against: problem.solution, gradient: problem.gradient) }
}

/// An assembled linear system from a discretization — finite volumes on a grid
/// (`FDSystem`) or P1 finite elements on a mesh (`P1System`) — in the one shape the solvers
/// and apps use: the matrix, the right-hand side, whether an unknown was pinned to remove a
/// constant null space, the grid layout where there is one (geometric multigrid), and the
/// map from a solution vector back to a field.
public protocol DiscreteSystem {
    associatedtype Solution: DiscreteSolution
    var matrix: CSRMatrix { get }
    var rhs: [Double] { get }
    /// True when the operator was singular (pure Neumann / periodic) and one unknown pinned.
    var isPinned: Bool { get }
    /// The grid layout of the unknowns (nil on meshes).
    var gridLayout: GridUnknownLayout? { get }
    /// The field of a solution vector (boundary values included).
    func fullSolution(_ x: [Double]) throws -> Solution
}

extension DiscreteSystem {
    /// The field of `x` and, when `exact` is given, its errors against it — after lining the
    /// field up with the exact solution along the null space when the system was pinned
    /// (solutions of singular problems are defined up to a constant).
    public func solution(_ x: [Double], comparedWith exact: AnalyticProblem?) throws -> (field: Solution, errors: FieldErrors?) {
        var field = try fullSolution(x)
        guard let exact else { return (field, nil) }
        if isPinned { field.alignMean(with: exact.solution) }
        return (field, field.errors(against: exact))
    }
}

extension FDSystem: DiscreteSystem {
    public var gridLayout: GridUnknownLayout? { layout }
}

extension P1System: DiscreteSystem {
    public var gridLayout: GridUnknownLayout? { nil }
}
