import Foundation
import Support

/// What a cell of a fluid simulation's pressure grid holds.
public enum CellType: UInt8, Sendable, CaseIterable {
    /// A pressure unknown.
    case fluid = 0
    /// A solid obstacle or wall: no unknown; its faces are closed (zero normal pressure
    /// gradient, a Neumann condition).
    case solid = 1
    /// Empty space next to a free surface: no unknown; pressure 0 there (a Dirichlet
    /// condition).
    case air = 2
}

/// A 2-D or 3-D grid of cells marked fluid / solid / air, with the kind of each domain face
/// (closed wall or open to air): the geometry of an incompressible-flow pressure projection
/// (the setting of the deep conjugate direction method). Cells are numbered x-fastest;
/// `counts` are cells per axis (x, y[, z]). As NPY the mask is uint8 in C order with shape
/// counts reversed ([ny, nx] or [nz, ny, nx]), values the `CellType` raw values.
public struct CellDomain: Sendable, Equatable {
    /// How a domain face behaves.
    public enum FaceKind: String, Sendable, CaseIterable {
        /// A solid wall (Neumann).
        case closed
        /// Open to air (Dirichlet p = 0).
        case open
    }

    /// Cells per axis (2 or 3 axes, each ≥ 2).
    public let counts: [Int]
    /// Cell types, x-fastest.
    public var cells: [CellType]
    /// Face kinds in the order x−, x+, y−, y+[, z−, z+].
    public var faces: [FaceKind]

    /// All-fluid cells, every face closed except `open` ones. Throws for a dimension other
    /// than 2 or 3, an axis with fewer than 2 cells, or more than 2²⁸ cells.
    public init(counts: [Int], open: Set<Int> = []) throws {
        guard (2...3).contains(counts.count), counts.allSatisfy({ $0 >= 2 }) else {
            throw PDEError.invalidValue(key: "counts", value: "\(counts)", expected: "2 or 3 axes of at least 2 cells")
        }
        let total = counts.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard total <= 1 << 28 else {
            throw PDEError.invalidValue(key: "counts", value: "\(counts)", expected: "at most 2^28 cells")
        }
        for f in open where !(0..<(2 * counts.count)).contains(f) {
            throw PDEError.invalidValue(key: "open faces", value: "\(f)", expected: "face indices 0..<\(2 * counts.count) (x−, x+, y−, y+, z−, z+)")
        }
        self.counts = counts
        cells = [CellType](repeating: .fluid, count: total)
        faces = (0..<(2 * counts.count)).map { open.contains($0) ? .open : .closed }
    }

    /// A domain from a mask in NPY layout (C order, shape counts reversed; values 0 fluid,
    /// 1 solid, 2 air) and face kinds. Throws for a bad shape, a value other than 0/1/2
    /// (naming its index), or a face list of the wrong length.
    public init(mask: [Double], shape: [Int], faces: [FaceKind], source: String = "mask") throws {
        guard (2...3).contains(shape.count) else {
            throw PDEError.shapeMismatch(what: "cell mask \(source)", expected: "a 2-D [ny, nx] or 3-D [nz, ny, nx] array", got: "\(shape)")
        }
        try self.init(counts: shape.reversed())
        guard mask.count == cells.count else {
            throw PDEError.shapeMismatch(what: "cell mask \(source)", expected: "\(cells.count) values", got: "\(mask.count)")
        }
        guard faces.count == 2 * counts.count else {
            throw PDEError.invalidValue(key: "faces", value: "\(faces.map(\.rawValue))", expected: "\(2 * counts.count) face kinds (x−, x+, y−, y+[, z−, z+])")
        }
        for (i, v) in mask.enumerated() {
            guard let t = v == v.rounded() && v >= 0 && v <= 2 ? CellType(rawValue: UInt8(v)) : nil else {
                throw PDEError.invalidValue(key: "\(source)[\(i)]", value: "\(v)", expected: "a cell type: 0 fluid, 1 solid, 2 air")
            }
            cells[i] = t
        }
        self.faces = faces
    }

    public var dimension: Int { counts.count }
    public var cellCount: Int { cells.count }
    public var fluidCount: Int { cells.reduce(0) { $0 + ($1 == .fluid ? 1 : 0) } }

    /// The mask as uint8 values in NPY layout, and its shape.
    public var mask: (values: [UInt8], shape: [Int]) { (cells.map(\.rawValue), counts.reversed()) }

    /// Strides of the x-fastest numbering.
    var strides: [Int] { counts.count == 2 ? [1, counts[0]] : [1, counts[0], counts[0] * counts[1]] }

    /// Cell coordinates of a linear index.
    func coordinates(_ c: Int) -> [Int] {
        var r = c
        return counts.map { n in defer { r /= n }; return r % n }
    }

    /// The neighbour of cell `c` across face `f` (axis f/2, lower when f is even), or nil
    /// outside the grid.
    func neighbour(_ c: Int, _ f: Int, _ coordinates: [Int]) -> Int? {
        let axis = f / 2
        if f % 2 == 0 { return coordinates[axis] > 0 ? c - strides[axis] : nil }
        return coordinates[axis] < counts[axis] - 1 ? c + strides[axis] : nil
    }

    // MARK: Geometry

    /// Marks the cells whose centres (in the unit-cell coordinates 0…counts) satisfy
    /// `inside` as `type`.
    public mutating func fill(_ type: CellType, where inside: ([Double]) -> Bool) {
        for c in 0..<cells.count {
            let x = coordinates(c).map { Double($0) + 0.5 }
            if inside(x) { cells[c] = type }
        }
    }

    /// Marks an axis-aligned box [lower, upper) of cell centres (cell units).
    public mutating func fillBox(_ type: CellType, lower: [Double], upper: [Double]) {
        fill(type) { x in (0..<x.count).allSatisfy { x[$0] >= lower[$0] && x[$0] < upper[$0] } }
    }

    /// Marks a ball (disk in 2-D) of cell centres (cell units).
    public mutating func fillBall(_ type: CellType, center: [Double], radius: Double) {
        fill(type) { x in zip(x, center).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } < radius * radius }
    }

    /// Fluid cells that cannot reach a Dirichlet condition (an air cell or an open face)
    /// through fluid cells: an enclosed pocket, whose pressure is defined only up to a
    /// constant. `PressurePoissonSystem` turns them solid.
    public func enclosedFluidCells() -> [Int] {
        var reached = [Bool](repeating: false, count: cells.count)
        var stack: [Int] = []
        let d = dimension
        for c in 0..<cells.count where cells[c] == .fluid {
            let x = coordinates(c)
            for f in 0..<(2 * d) {
                let anchored: Bool
                if let nb = neighbour(c, f, x) { anchored = cells[nb] == .air } else { anchored = faces[f] == .open }
                if anchored { reached[c] = true; stack.append(c); break }
            }
        }
        while let c = stack.popLast() {
            let x = coordinates(c)
            for f in 0..<(2 * d) {
                if let nb = neighbour(c, f, x), cells[nb] == .fluid, !reached[nb] {
                    reached[nb] = true
                    stack.append(nb)
                }
            }
        }
        return (0..<cells.count).filter { cells[$0] == .fluid && !reached[$0] }
    }

    // MARK: Scenes (seeded; the same seed gives the same scene on every machine)

    /// Fluid in a box open at the top (y+ in 2-D, z+ in 3-D) with `boxes` random solid boxes
    /// and `balls` random solid balls (sizes 5–20 % of the domain), kept away from the open
    /// face so that the fluid stays connected to it.
    public static func randomObstacles(counts: [Int], boxes: Int, balls: Int, seed: UInt64) throws -> CellDomain {
        var d = try CellDomain(counts: counts, open: [2 * counts.count - 1])
        var g = SeededGenerator(seed: seed)
        let n = counts.map(Double.init)
        let top = counts.count - 1
        for _ in 0..<boxes {
            var lo = [Double](), hi = [Double]()
            for a in 0..<counts.count {
                let size = g.uniform(0.05, 0.2) * n[a]
                let upperLimit = a == top ? 0.85 * n[a] : n[a]
                let start = g.uniform(0, max(1, upperLimit - size))
                lo.append(start); hi.append(start + max(1, size))
            }
            d.fillBox(.solid, lower: lo, upper: hi)
        }
        for _ in 0..<balls {
            let r = g.uniform(0.05, 0.15) * n.min()!
            let c = (0..<counts.count).map { a in g.uniform(r, (a == top ? 0.85 * n[a] : n[a]) - r) }
            d.fillBall(.solid, center: c, radius: max(r, 1))
        }
        return d
    }

    /// A smoke-plume-like scene: the whole box fluid, closed walls and an open top, a solid
    /// source block at the bottom centre and a ball obstacle above it, offset sideways by
    /// `offset` (a fraction of the width, e.g. from −0.2 to 0.2) and of radius `radius`
    /// (a fraction of the width).
    public static func smokePlume(counts: [Int], offset: Double = 0, radius: Double = 0.12) throws -> CellDomain {
        var d = try CellDomain(counts: counts, open: [2 * counts.count - 1])
        let n = counts.map(Double.init), top = counts.count - 1
        var lo = n.map { $0 * 0.4 }, hi = n.map { $0 * 0.6 }
        lo[top] = 0; hi[top] = max(1, 0.06 * n[top])
        d.fillBox(.solid, lower: lo, upper: hi)
        var c = n.map { $0 * 0.5 }
        c[0] += offset * n[0]
        c[top] = 0.55 * n[top]
        d.fillBall(.solid, center: c, radius: max(1, radius * n[0]))
        return d
    }

    /// A liquid pool with a free surface: fluid below `level` (a fraction of the height),
    /// air above, closed walls and top, `boxes` random solid boxes inside the liquid.
    public static func pool(counts: [Int], level: Double, boxes: Int, seed: UInt64) throws -> CellDomain {
        var d = try CellDomain(counts: counts)
        let n = counts.map(Double.init), top = counts.count - 1
        d.fill(.air) { x in x[top] >= level * n[top] }
        var g = SeededGenerator(seed: seed)
        for _ in 0..<boxes {
            var lo = [Double](), hi = [Double]()
            for a in 0..<counts.count {
                let size = g.uniform(0.05, 0.2) * n[a]
                let limit = a == top ? 0.8 * level * n[a] : n[a]
                let start = g.uniform(0, max(1, limit - size))
                lo.append(start); hi.append(start + max(1, size))
            }
            d.fillBox(.solid, lower: lo, upper: hi)
        }
        return d
    }
}

/// The pressure Poisson system of a `CellDomain` (the standard MAC-grid projection matrix,
/// in units of h²): one unknown per fluid cell; row i has, on the diagonal, the number of
/// its faces shared with a fluid or air cell or an open domain face, and −1 for each fluid
/// neighbour. Solid cells and closed faces contribute nothing (Neumann), air cells and open
/// faces contribute to the diagonal only (Dirichlet p = 0). Fluid pockets enclosed by solid
/// (no path to a Dirichlet condition) are turned solid first, so the matrix is symmetric
/// positive definite (every connected component is irreducibly diagonally dominant).
public struct PressurePoissonSystem: Sendable {
    /// The domain solved on (enclosed fluid pockets made solid).
    public let domain: CellDomain
    /// Fluid cells turned solid because they were enclosed.
    public let enclosedCells: Int
    /// The SPD matrix over fluid cells.
    public let matrix: CSRMatrix
    /// Cell index of each unknown (ascending).
    public let cellOfUnknown: [Int]
    /// Unknown index of each cell, −1 for solid and air cells.
    public let unknownOfCell: [Int32]

    /// Assembles the system. Throws when the domain has no fluid cell left.
    public init(_ domain: CellDomain) throws {
        var dom = domain
        let enclosed = domain.enclosedFluidCells()
        for c in enclosed { dom.cells[c] = .solid }
        var cellOfUnknown: [Int] = []
        var unknownOfCell = [Int32](repeating: -1, count: dom.cellCount)
        for c in 0..<dom.cellCount where dom.cells[c] == .fluid {
            unknownOfCell[c] = Int32(cellOfUnknown.count)
            cellOfUnknown.append(c)
        }
        guard !cellOfUnknown.isEmpty else {
            throw PDEError.invalidValue(key: "cell mask", value: "no fluid cell connected to air or an open face",
                                        expected: "at least one fluid cell reaching a Dirichlet condition")
        }
        let d = dom.dimension
        var rowPointers = [0]
        var columns: [Int32] = [], values: [Double] = []
        rowPointers.reserveCapacity(cellOfUnknown.count + 1)
        columns.reserveCapacity(cellOfUnknown.count * (2 * d + 1))
        values.reserveCapacity(cellOfUnknown.count * (2 * d + 1))
        for c in cellOfUnknown {
            let x = dom.coordinates(c)
            var diagonal = 0.0
            var row: [(Int32, Double)] = []
            for f in 0..<(2 * d) {
                if let nb = dom.neighbour(c, f, x) {
                    switch dom.cells[nb] {
                    case .fluid: diagonal += 1; row.append((unknownOfCell[nb], -1))
                    case .air: diagonal += 1
                    case .solid: break
                    }
                } else if dom.faces[f] == .open {
                    diagonal += 1
                }
            }
            row.append((unknownOfCell[c], diagonal))
            row.sort { $0.0 < $1.0 }
            for (j, v) in row { columns.append(j); values.append(v) }
            rowPointers.append(columns.count)
        }
        self.domain = dom
        enclosedCells = enclosed.count
        self.cellOfUnknown = cellOfUnknown
        self.unknownOfCell = unknownOfCell
        matrix = CSRMatrix(unchecked: cellOfUnknown.count, columns: cellOfUnknown.count, rowPointers: rowPointers,
                           columnIndices: columns, values: values)
    }

    public var unknownCount: Int { cellOfUnknown.count }

    /// Unknown values → a cell field (0 on solid and air cells).
    public func scatter(_ v: [Double]) -> [Double] {
        var field = [Double](repeating: 0, count: domain.cellCount)
        for (u, c) in cellOfUnknown.enumerated() { field[c] = v[u] }
        return field
    }

    /// A cell field → unknown values.
    public func gather(_ field: [Double]) -> [Double] {
        cellOfUnknown.map { field[$0] }
    }
}
