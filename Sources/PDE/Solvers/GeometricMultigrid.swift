import Dispatch

/// Geometric multigrid for finite-volume systems on grids (`FDSystem`), as a solver (V-, W-
/// cycles, full multigrid) or as a CG preconditioner (one cycle per application).
///
/// Hierarchy: each level halves the number of intervals per axis ((N−1)/2, rounded up when
/// N−1 is odd, so any grid size works), keeping the boundary-condition kinds, until an
/// axis has fewer than 3 nodes or a level has at most `coarseSize` unknowns; that level is
/// factorized by CHOLMOD. Transfers: (bi/tri)linear interpolation P between the uniform
/// grids (nested when the sizes align; plain linear interpolation otherwise), restriction
/// Pᵀ. Coarse operators: Galerkin PᵀAP (default; exact for variable coefficients and every
/// boundary kind) or the rediscretized operator scaled by (H/h)^d. Smoothing: multicolor
/// Gauss–Seidel (2^d colours by index parity, so every colour is independent for stencils
/// up to 27 points; threaded per colour), forward before and backward after the coarse
/// correction, or Chebyshev polynomials in D⁻¹A; both keep the cycle symmetric, so it is
/// an SPD preconditioner.
public final class GeometricMultigrid: Preconditioner {
    /// The smoother before and after each coarse correction (`gaussSeidel`: multicolour, forward
    /// before, backward after).
    public enum Smoother: Sendable, Equatable {
        case gaussSeidel
        /// Chebyshev of this degree on D⁻¹A over [λmax/30, 1.1 λmax].
        case chebyshev(degree: Int)
    }
    /// Galerkin PᵀAP (any matrix; `update` can redo it) or the problem rediscretized on each
    /// coarse grid and scaled by (H/h)^d (needs the `DiffusionProblem`).
    public enum CoarseOperator: Sendable, Equatable { case galerkin, rediscretized }
    /// V: one coarse correction per level; W: two, except into the coarsest level.
    public enum Cycle: Sendable, Equatable { case v, w }

    /// Hierarchy and cycle settings; defaults: one Gauss–Seidel sweep each side, V-cycles,
    /// Galerkin operators, coarsening to ≤ 2000 unknowns, at most 30 levels.
    public struct Options: Sendable {
        public var smoother: Smoother = .gaussSeidel
        /// Smoother sweeps before the coarse correction, per level (≥ 0).
        public var presmoothingSweeps = 1
        /// Smoother sweeps after the coarse correction, per level (≥ 0).
        public var postsmoothingSweeps = 1
        public var cycle: Cycle = .v
        public var coarseOperator: CoarseOperator = .galerkin
        /// Coarsening stops once a level has at most this many unknowns; CHOLMOD factorizes that level.
        public var coarseSize = 2000
        /// Level limit, the finest level included.
        public var maxLevels = 30
        /// The defaults listed on `Options`; set fields afterwards (the multigrid initializer validates them).
        public init() {}
    }

    public let name = "mg"
    public let options: Options
    public private(set) var notes: [String] = []
    /// Seconds of the setup, or of the last `update`.
    public private(set) var setupSeconds = 0.0

    final class Level {
        let layout: GridUnknownLayout
        var a: CSRMatrix
        var diagonal: [Double]
        var p: CSRMatrix?       // interpolation from the next coarser level
        var r: CSRMatrix?       // Pᵀ
        var galerkin: GalerkinProduct?   // Pᵀ A P with its patterns (Galerkin coarse operators)
        var colors: [[Int32]] = []
        var lambdaMax = 0.0
        var x: [Double], b: [Double], res: [Double], tmp: [Double]
        init(layout: GridUnknownLayout, a: CSRMatrix) {
            self.layout = layout
            self.a = a
            diagonal = a.diagonal()
            let n = a.rows
            x = [Double](repeating: 0, count: n); b = x; res = x; tmp = x
        }
    }
    private var levels: [Level] = []
    private var coarse: CoarsestSolve!

    /// Unknowns per level, finest first.
    public var levelSizes: [Int] { levels.map { $0.a.rows } }
    /// Σ nnz(A_l) / nnz(A_0).
    public var operatorComplexity: Double {
        Double(levels.reduce(0) { $0 + $1.a.nonzeroCount }) / Double(max(1, levels[0].a.nonzeroCount))
    }

    /// Multigrid for an assembled finite-volume system. With `.rediscretized`, `problem`
    /// (the one `system` came from) is assembled again on every coarse grid.
    public convenience init(system: FDSystem, problem: DiffusionProblem? = nil, options: Options = Options()) throws {
        try self.init(matrix: system.matrix, layout: system.layout, problem: problem, options: options)
    }

    /// Multigrid for any SPD matrix whose unknowns are the unknowns of `layout` in its
    /// order (x fastest), e.g. a stencil matrix read from a Matrix Market file. Coarse
    /// operators are Galerkin unless `problem` is given for rediscretization.
    public init(matrix: CSRMatrix, layout: GridUnknownLayout, problem: DiffusionProblem? = nil, options: Options = Options()) throws {
        guard matrix.rows == layout.unknownCount, matrix.columns == layout.unknownCount else {
            throw PDEError.shapeMismatch(what: "multigrid", expected: "a \(layout.unknownCount)×\(layout.unknownCount) matrix for the grid layout",
                                         got: "\(matrix.rows)×\(matrix.columns)")
        }
        if options.coarseOperator == .rediscretized && problem == nil {
            throw PDEError.invalidValue(key: "coarseOperator", value: "rediscretized",
                                        expected: "the DiffusionProblem to rediscretize (or Galerkin coarse operators)")
        }
        if case .chebyshev(let k) = options.smoother, k < 1 {
            throw PDEError.invalidValue(key: "chebyshev degree", value: "\(k)", expected: "≥ 1")
        }
        guard options.presmoothingSweeps >= 0, options.postsmoothingSweeps >= 0, options.coarseSize >= 1 else {
            throw PDEError.invalidValue(key: "multigrid options", value: "sweeps \(options.presmoothingSweeps)/\(options.postsmoothingSweeps)",
                                        expected: "non-negative sweeps and coarseSize ≥ 1")
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        self.options = options
        // The pinned row of a singular system is an identity row; the hierarchy uses the
        // operator itself only when it is non-singular.
        levels.append(Level(layout: layout, a: matrix))
        var rediscretizationScale = 1.0
        while levels.count < options.maxLevels {
            let fine = levels[levels.count - 1]
            if fine.a.rows <= options.coarseSize { break }
            guard let coarseGrid = GeometricMultigrid.coarsen(fine.layout.grid) else { break }
            let coarseLayout = try GridUnknownLayout(grid: coarseGrid, boundary: fine.layout.homogeneousBoundary)
            let p = GeometricMultigrid.interpolation(from: coarseLayout, to: fine.layout)
            var ac: CSRMatrix
            let r = p.transposed()
            switch options.coarseOperator {
            case .galerkin:
                let product = GalerkinProduct(a: fine.a, p: p, r: r)
                fine.galerkin = product
                ac = product.coarse
            case .rediscretized:
                var q = problem!
                q.grid = coarseGrid
                if q.coefficientValues != nil || q.sourceValues != nil {
                    throw PDEError.invalidValue(key: "coarseOperator", value: "rediscretized with per-node values",
                                                expected: "Galerkin coarse operators for coefficients given as node values")
                }
                let coarseSystem = try q.assemble()
                ac = coarseSystem.matrix
                // Pᵀ A_h P ≈ (H/h)^d A_H for interpolation weights summing to one; the factors
                // accumulate from the finest level down.
                for d in 0..<coarseGrid.dimension { rediscretizationScale *= coarseGrid.spacing[d] / fine.layout.grid.spacing[d] }
                for k in 0..<ac.values.count { ac.values[k] *= rediscretizationScale }
            }
            fine.p = p
            fine.r = r
            levels.append(Level(layout: coarseLayout, a: ac))
        }
        for level in levels.dropLast() {
            level.colors = GeometricMultigrid.colorClasses(level.layout)
            if case .chebyshev = options.smoother { level.lambdaMax = estimateLargestEigenvalueDinvA(level.a, diagonal: level.diagonal, iterations: 10) }
        }
        coarse = try CoarsestSolve(levels.last!.a, singular: ConstantNullSpace.isNullVector(of: matrix))
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        let smoother: String
        switch options.smoother {
        case .gaussSeidel: smoother = "multicolor Gauss–Seidel"
        case .chebyshev(let k): smoother = "Chebyshev(\(k))"
        }
        notes.append(String(format: "MG: %d levels %@, %@ %@-cycle, %@ coarse operators, operator complexity %.3f",
                            levels.count, levelSizes.map(String.init).joined(separator: "→"), smoother,
                            options.cycle == .v ? "V" : "W", options.coarseOperator == .galerkin ? "Galerkin" : "rediscretized",
                            operatorComplexity))
        if let note = coarse.note { notes.append(note) }
    }

    // MARK: Hierarchy construction

    /// Halves the intervals per axis; nil when no axis can be coarsened.
    static func coarsen(_ g: Grid) -> Grid? {
        var counts = g.counts
        var changed = false
        for d in 0..<g.dimension {
            let intervals = g.counts[d] - 1
            let c = (intervals + 1) / 2 + 1
            if c >= 3 && c < g.counts[d] { counts[d] = c; changed = true }
        }
        return changed ? (try? Grid(counts: counts, lower: g.lower, upper: g.upper)) : nil
    }

    /// Linear interpolation from the coarse unknowns to the fine unknowns (tensor product of
    /// 1-D hat functions on the coarse grid); coarse Dirichlet nodes carry no correction.
    static func interpolation(from coarse: GridUnknownLayout, to fine: GridUnknownLayout) -> CSRMatrix {
        let dim = fine.dimension
        let fg = fine.grid, cg = coarse.grid
        // Per axis and fine node index: up to two (coarse node index, weight) pairs.
        var axisWeights: [[[(Int, Double)]]] = []
        for d in 0..<dim {
            var perNode: [[(Int, Double)]] = []
            let ratio = cg.spacing[d]
            for i in 0..<fg.counts[d] {
                let x = fg.coordinate(axis: d, i) - fg.lower[d]
                var k = Int((x / ratio).rounded(.down))
                var t = x / ratio - Double(k)
                if k >= cg.counts[d] - 1 { k = cg.counts[d] - 2; t = 1 }
                if t < 1e-12 { perNode.append([(k, 1)]) }
                else if t > 1 - 1e-12 { perNode.append([(k + 1, 1)]) }
                else { perNode.append([(k, 1 - t), (k + 1, t)]) }
            }
            axisWeights.append(perNode)
        }
        let n = fine.unknownCount
        var b = COOBuilder(rows: n, columns: coarse.unknownCount, reserve: n * (1 << dim))
        var idx = [Int](repeating: 0, count: dim)
        var cidx = [Int](repeating: 0, count: dim)
        for u in 0..<n {
            var r = u
            for d in 0..<dim { idx[d] = r % fine.counts[d] + fine.first[d]; r /= fine.counts[d] }
            // Enumerate the tensor-product stencil.
            var choice = [Int](repeating: 0, count: dim)
            while true {
                var w = 1.0
                for d in 0..<dim {
                    let (k, wd) = axisWeights[d][idx[d]][choice[d]]
                    cidx[d] = k
                    w *= wd
                }
                if w != 0, let cu = coarse.unknown(ofNode: cg.linearIndex(cidx)) { b.add(u, cu, w) }
                var d = 0
                while d < dim {
                    choice[d] += 1
                    if choice[d] < axisWeights[d][idx[d]].count { break }
                    choice[d] = 0
                    d += 1
                }
                if d == dim { break }
            }
        }
        return b.build()
    }

    /// Unknowns grouped by the parity of their node index along every axis (2^d colours).
    /// A periodic axis with an odd number of unknowns would make the wrap-around neighbours
    /// share a colour; such axes get a third parity class for their last unknown.
    static func colorClasses(_ layout: GridUnknownLayout) -> [[Int32]] {
        let dim = layout.dimension
        var classes = [[Int32]](repeating: [], count: Int(pow3(dim)))
        for u in 0..<layout.unknownCount {
            var r = u
            var color = 0
            var mult = 1
            for d in 0..<dim {
                let k = r % layout.counts[d]
                r /= layout.counts[d]
                var c = k % 2
                if layout.periodic[d] && layout.counts[d] % 2 == 1 && k == layout.counts[d] - 1 { c = 2 }
                color += c * mult
                mult *= 3
            }
            classes[color].append(Int32(u))
        }
        return classes.filter { !$0.isEmpty }
    }

    private static func pow3(_ d: Int) -> Double { [1.0, 3, 9, 27][d] }

    // MARK: Cycles

    /// Numeric re-setup for new values on the setup matrix's pattern: the grids,
    /// interpolations and colourings are kept; the Galerkin operators (on their stored
    /// patterns), diagonals, Chebyshev bounds and the coarsest factorization (CHOLMOD's
    /// numeric phase) are recomputed — the same hierarchy a fresh setup builds. Needs
    /// Galerkin coarse operators (rediscretized ones come from the problem, not the matrix).
    public func update(_ matrix: CSRMatrix) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try levels[0].a.requireSamePattern(matrix, "multigrid update")
        if options.coarseOperator == .rediscretized && levels.count > 1 {
            throw PDEError.invalidValue(key: "coarseOperator", value: "rediscretized",
                                        expected: "Galerkin coarse operators for a numeric re-setup (or a new GeometricMultigrid from the new problem)")
        }
        levels[0].a = matrix
        for l in levels.indices {
            let lv = levels[l]
            if l > 0 { lv.a = levels[l - 1].galerkin!.recompute(a: levels[l - 1].a, p: levels[l - 1].p!, r: levels[l - 1].r!) }
            lv.diagonal = lv.a.diagonal()
            if l < levels.count - 1, case .chebyshev = options.smoother {
                lv.lambdaMax = estimateLargestEigenvalueDinvA(lv.a, diagonal: lv.diagonal, iterations: 10)
            }
        }
        try coarse.update(levels[levels.count - 1].a)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// One cycle from a zero initial guess: z ≈ A⁻¹ r. Returns r · z. Throws when the
    /// coarsest direct solve fails.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try checkApplySizes(r, z, size: levels[0].a.rows, name)
        let top = levels[0]
        top.b.withUnsafeMutableBufferPointer { bp in r.withUnsafeBufferPointer { bp.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        zero(&top.x)
        try cycle(0)
        z.withUnsafeMutableBufferPointer { zp in top.x.withUnsafeBufferPointer { zp.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        return VectorKernels.dot(r, z)
    }

    /// Multigrid as a solver: cycles (a Richardson iteration) until the true residual meets
    /// the options' tolerance (`IterativeOptions(maxIterations: 100)` by default), optionally
    /// from a full-multigrid (nested iteration) initial guess.
    public func solve(_ b: [Double], options: IterativeOptions = IterativeOptions(maxIterations: 100),
                      fullMultigrid: Bool = false) throws -> (x: [Double], report: SolverReport) {
        guard b.count == levels[0].a.rows else {
            throw PDEError.shapeMismatch(what: "multigrid solve", expected: "b of length \(levels[0].a.rows)", got: "\(b.count)")
        }
        let initial = fullMultigrid ? try fmg(b) : nil
        var result = try Richardson(options).solve(levels[0].a, b, initialGuess: initial, preconditioner: self)
        result.report.setupSeconds = setupSeconds
        return result
    }

    /// Full multigrid: restrict b to the coarsest level, solve there, then interpolate up
    /// with one cycle per level.
    func fmg(_ b: [Double]) throws -> [Double] {
        levels[0].b = b
        for l in 0..<(levels.count - 1) { levels[l].r!.apply(levels[l].b, into: &levels[l + 1].b) }
        let last = levels.count - 1
        try coarse.solve(levels[last].b, into: &levels[last].x)
        for l in stride(from: last - 1, through: 0, by: -1) {
            levels[l].p!.apply(levels[l + 1].x, into: &levels[l].x)
            // One cycle on A_l e = b_l − A_l x_l, keeping x_l.
            let lv = levels[l]
            lv.a.apply(lv.x, into: &lv.res)
            VectorKernels.residualFrom(lv.b, &lv.res)
            let saved = lv.x, savedB = lv.b
            lv.b = lv.res
            zero(&lv.x)
            try cycle(l)
            for i in 0..<lv.x.count { lv.x[i] += saved[i] }
            lv.b = savedB
        }
        return levels[0].x
    }

    private func zero(_ v: inout [Double]) {
        v.withUnsafeMutableBufferPointer { p in p.update(repeating: 0) }
    }

    /// Cycle on level l for A_l x_l = b_l, with x_l holding the initial guess.
    private func cycle(_ l: Int) throws {
        let lv = levels[l]
        if l == levels.count - 1 {
            try coarse.solve(lv.b, into: &lv.x)
            return
        }
        for _ in 0..<options.presmoothingSweeps { smooth(lv, forward: true) }
        let next = levels[l + 1]
        let visits = options.cycle == .w && l + 1 < levels.count - 1 ? 2 : 1
        for _ in 0..<visits {
            lv.a.apply(lv.x, into: &lv.res)
            VectorKernels.residualFrom(lv.b, &lv.res)
            lv.r!.apply(lv.res, into: &next.b)
            zero(&next.x)
            try cycle(l + 1)
            lv.p!.apply(next.x, into: &lv.tmp)
            let n = lv.x.count
            lv.tmp.withUnsafeBufferPointer { e in
                lv.x.withUnsafeMutableBufferPointer { x in
                    for i in 0..<n { x[i] += e[i] }
                }
            }
        }
        for _ in 0..<options.postsmoothingSweeps { smooth(lv, forward: false) }
    }

    private func smooth(_ lv: Level, forward: Bool) {
        switch options.smoother {
        case .gaussSeidel: multicolorGaussSeidel(lv, forward: forward)
        case .chebyshev(let k): chebyshev(lv, degree: k)
        }
    }

    /// One multicolour Gauss–Seidel sweep (colours in order, or reversed); rows of one
    /// colour are independent and updated in parallel.
    private func multicolorGaussSeidel(_ lv: Level, forward: Bool) {
        let a = lv.a
        let order = forward ? Array(lv.colors.indices) : Array(lv.colors.indices.reversed())
        a.rowPointers.withUnsafeBufferPointer { rp in
        a.columnIndices.withUnsafeBufferPointer { ci in
        a.values.withUnsafeBufferPointer { va in
        lv.diagonal.withUnsafeBufferPointer { dp in
        lv.b.withUnsafeBufferPointer { bp in
        lv.x.withUnsafeMutableBufferPointer { xp in
            let x = xp.baseAddress!
            for c in order {
                lv.colors[c].withUnsafeBufferPointer { rows in
                    Parallel.forChunks(rows.count, minimumPerChunk: 8192) { s, e in
                        var q = s
                        while q < e {
                            let i = Int(truncatingIfNeeded: rows[q])
                            var sum = bp[i]
                            var k = rp[i]
                            let ke = rp[i &+ 1]
                            while k < ke {
                                sum -= va[k] * x[Int(truncatingIfNeeded: ci[k])]
                                k &+= 1
                            }
                            x[i] += sum / dp[i]
                            q &+= 1
                        }
                    }
                }
            }
        }}}}}}
    }

    /// Chebyshev smoothing x ← x + p(D⁻¹A) D⁻¹(b − Ax) over [λmax/30, 1.1 λmax].
    private func chebyshev(_ lv: Level, degree: Int) {
        let upper = 1.1 * lv.lambdaMax, lower = lv.lambdaMax / 30
        let theta = 0.5 * (upper + lower), delta = 0.5 * (upper - lower)
        let sigma = theta / delta
        var rho = 1 / sigma
        let n = lv.x.count
        // d = D⁻¹ r / θ
        lv.a.apply(lv.x, into: &lv.res)
        for i in 0..<n { lv.tmp[i] = (lv.b[i] - lv.res[i]) / lv.diagonal[i] / theta }
        for step in 0..<degree {
            for i in 0..<n { lv.x[i] += lv.tmp[i] }
            if step == degree - 1 { break }
            lv.a.apply(lv.x, into: &lv.res)
            let rhoNew = 1 / (2 * sigma - rho)
            for i in 0..<n {
                let zi = (lv.b[i] - lv.res[i]) / lv.diagonal[i]
                lv.tmp[i] = rhoNew * rho * lv.tmp[i] + 2 * rhoNew / delta * zi
            }
            rho = rhoNew
        }
    }
}
