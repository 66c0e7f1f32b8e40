/// A boundary condition on one face of a grid domain (or one tagged part of a mesh
/// boundary), for −∇·(a∇u) + c·u = f.
public enum BoundaryCondition: Sendable {
    /// u = g(x) on the face.
    case dirichlet(@Sendable ([Double]) -> Double)
    /// a ∂u/∂n = g(x) on the face, n the outward normal (g is the outward flux of a∇u).
    case neumann(@Sendable ([Double]) -> Double)
    /// The face is identified with the opposite face (set both faces of an axis periodic).
    case periodic

    /// u = value.
    public static func dirichlet(value: Double) -> BoundaryCondition { .dirichlet { _ in value } }
    /// a ∂u/∂n = flux.
    public static func neumann(flux: Double) -> BoundaryCondition { .neumann { _ in flux } }

    /// `dirichlet`, `neumann` or `periodic`, as configs spell it and error messages print it.
    public var kindName: String {
        switch self {
        case .dirichlet: return "dirichlet"
        case .neumann: return "neumann"
        case .periodic: return "periodic"
        }
    }
}

/// Boundary conditions for every face of a 1-, 2- or 3-D box.
public struct BoundaryConditions: Sendable {
    private var conditions: [BoundaryCondition]
    public let dimension: Int

    /// Every face gets `condition`.
    public init(dimension: Int, all condition: BoundaryCondition) {
        self.dimension = dimension
        conditions = Array(repeating: condition, count: 2 * dimension)
    }

    /// Reads or replaces the condition on one face; a face beyond `dimension` (e.g. `.zLow` on
    /// a 2-D box) traps.
    public subscript(face: Face) -> BoundaryCondition {
        get { conditions[face.rawValue] }
        set { conditions[face.rawValue] = newValue }
    }

    /// Checks that periodic faces come in pairs (both faces of an axis).
    public func validate() throws {
        for axis in 0..<dimension {
            let lo = conditions[2 * axis], hi = conditions[2 * axis + 1]
            let pLo = { if case .periodic = lo { return true } else { return false } }()
            let pHi = { if case .periodic = hi { return true } else { return false } }()
            if pLo != pHi {
                throw PDEError.invalidValue(key: "boundary.\(Face(rawValue: 2 * axis)!.name)/\(Face(rawValue: 2 * axis + 1)!.name)",
                                            value: "\(lo.kindName)/\(hi.kindName)",
                                            expected: "periodic on both faces of an axis or on neither")
            }
        }
    }

    /// True when the axis is periodic.
    public func isPeriodic(axis: Int) -> Bool {
        if case .periodic = conditions[2 * axis] { return true }
        return false
    }

    /// True when no face carries a Dirichlet condition (the operator then has the constants
    /// in its null space when c = 0).
    public var hasNoDirichlet: Bool {
        !conditions.contains { if case .dirichlet = $0 { return true } else { return false } }
    }
}
