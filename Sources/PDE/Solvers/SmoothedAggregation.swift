import Dispatch

/// Smoothed-aggregation algebraic multigrid (Vaněk, Mandel, Brezina 1996) for any SPD
/// `CSRMatrix`, used as a CG preconditioner (one V-cycle per application) or as a solver.
///
/// Setup (once per matrix): symmetric strength of connection |a_ij| ≥ θ √(|a_ii a_jj|);
/// standard three-pass aggregation; tentative prolongator from the constant near-null
/// space; prolongator smoothing P = (I − ω D⁻¹A) T with ω = 4/3 / ρ(D⁻¹A); Galerkin
/// coarse operators Pᵀ A P; the coarsest level is factorized by CHOLMOD.
/// Cycle: forward Gauss–Seidel before, backward Gauss–Seidel after the coarse correction,
/// so the V-cycle is a symmetric (SPD) preconditioner.
public final class SmoothedAggregationAMG: Preconditioner {
    /// Setup and cycle settings; defaults: θ = 0, coarsening to ≤ 500 unknowns, at most 20 levels,
    /// one Gauss–Seidel sweep each side, prolongator-smoothing weight 4/3.
    public struct Options: Sendable {
        /// Strength threshold θ (0 keeps every connection, pyamg's default).
        public var strengthThreshold: Double = 0
        /// Stop coarsening at this many unknowns.
        public var coarseSize: Int = 500
        /// Level limit, the finest and the CHOLMOD-solved coarsest included.
        public var maxLevels: Int = 20
        /// Gauss–Seidel sweeps before and after the coarse correction.
        public var presmoothingSweeps: Int = 1
        public var postsmoothingSweeps: Int = 1
        /// Prolongator-smoothing weight numerator: ω = weight / ρ(D⁻¹A).
        public var jacobiWeight: Double = 4.0 / 3.0
        /// The defaults listed on `Options`; the AMG initializer validates θ, `coarseSize` and `maxLevels`.
        public init() {}
    }

    public let name = "gamg"
    public let options: Options
    public private(set) var notes: [String] = []
    /// Σ nnz(A_l) / nnz(A_0).
    public private(set) var operatorComplexity: Double = 1
    /// Σ n_l / n_0.
    public private(set) var gridComplexity: Double = 1
    /// Seconds spent in setup.
    public private(set) var setupSeconds: Double = 0

    struct Level {
        var a: CSRMatrix
        var p: CSRMatrix      // prolongator to this level from the next coarser (n_l × n_{l+1})
        var r: CSRMatrix      // Pᵀ
        var diagonal: [Double]
        let tentative: CSRMatrix      // T (kept for numeric re-setups)
        let aggregateOf: [Int32]      // aggregate of every node
        var galerkin: GalerkinProduct
        var x: [Double], b: [Double], res: [Double]
    }
    private var levels: [Level] = []
    private var coarse: CoarsestSolve
    private var coarseMatrix: CSRMatrix
    // Coarsest-level vectors, allocated once.
    private var coarseB: [Double] = [], coarseX: [Double] = []

    /// Level sizes, finest first.
    public var levelSizes: [Int] { levels.map(\.a.rows) + [coarseMatrix.rows] }

    /// Setup: aggregation, prolongators, Galerkin operators, coarsest factorization. Throws
    /// for a non-square matrix, bad options, a non-positive diagonal entry on any level, or
    /// a coarsest matrix CHOLMOD cannot factorize.
    public init(_ a: CSRMatrix, options: Options = Options()) throws {
        guard a.rows == a.columns else {
            throw PDEError.shapeMismatch(what: "AMG", expected: "a square matrix", got: "\(a.rows)×\(a.columns)")
        }
        guard options.strengthThreshold >= 0, options.strengthThreshold < 1, options.coarseSize >= 1, options.maxLevels >= 1,
              options.presmoothingSweeps >= 0, options.postsmoothingSweeps >= 0,
              options.jacobiWeight > 0, options.jacobiWeight < 2 else {
            throw PDEError.invalidValue(key: "amg options",
                                        value: "θ \(options.strengthThreshold), coarseSize \(options.coarseSize), maxLevels \(options.maxLevels), sweeps \(options.presmoothingSweeps)/\(options.postsmoothingSweeps), jacobiWeight \(options.jacobiWeight)",
                                        expected: "0 ≤ θ < 1, coarseSize ≥ 1, maxLevels ≥ 1, sweeps ≥ 0, 0 < jacobiWeight < 2")
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        self.options = options
        var current = a
        var built: [Level] = []
        while current.rows > options.coarseSize && built.count + 1 < options.maxLevels {
            let d = try SmoothedAggregationAMG.positiveDiagonal(current, level: built.count)
            let (aggregate, count) = SmoothedAggregationAMG.aggregate(current, threshold: options.strengthThreshold)
            if count == 0 || count >= current.rows { break }
            let t = SmoothedAggregationAMG.tentativeProlongator(aggregate, count: count)
            var p = CSRMatrix.product(current, t)     // the pattern of A·T is the pattern of P
            SmoothedAggregationAMG.smoothProlongator(&p, a: current, diagonal: d, tentative: t, aggregate: aggregate,
                                                     weight: options.jacobiWeight)
            let r = p.transposed()
            let galerkin = GalerkinProduct(a: current, p: p, r: r)
            let n = current.rows
            built.append(Level(a: current, p: p, r: r, diagonal: d, tentative: t, aggregateOf: aggregate, galerkin: galerkin,
                               x: [Double](repeating: 0, count: n), b: [Double](repeating: 0, count: n),
                               res: [Double](repeating: 0, count: n)))
            current = galerkin.coarse
        }
        levels = built
        coarseMatrix = current
        coarseB = [Double](repeating: 0, count: current.rows)
        coarseX = coarseB
        coarse = try CoarsestSolve(current, singular: ConstantNullSpace.isNullVector(of: a))
        let nnzTotal = levels.reduce(0) { $0 + $1.a.nonzeroCount } + current.nonzeroCount
        let rowsTotal = levels.reduce(0) { $0 + $1.a.rows } + current.rows
        operatorComplexity = Double(nnzTotal) / Double(max(1, a.nonzeroCount))
        gridComplexity = Double(rowsTotal) / Double(max(1, a.rows))
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        notes.append(String(format: "AMG: %d levels %@, operator complexity %.3f, grid complexity %.3f",
                            levels.count + 1, levelSizes.map(String.init).joined(separator: "→"), operatorComplexity, gridComplexity))
        if let note = coarse.note { notes.append(note) }
    }

    /// Numeric re-setup for new values on the setup matrix's pattern: the aggregates and
    /// tentative prolongators are kept; the diagonals, ρ(D⁻¹A), the smoothed prolongators,
    /// the Galerkin operators (on their stored patterns) and the coarsest factorization
    /// (CHOLMOD's numeric phase on the kept analysis) are recomputed. The result equals a
    /// fresh setup on the same matrix whenever that setup finds the same aggregates.
    public func update(_ matrix: CSRMatrix) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try (levels.first?.a ?? coarseMatrix).requireSamePattern(matrix, "AMG update")
        var current = matrix
        for l in levels.indices {
            let d = try SmoothedAggregationAMG.positiveDiagonal(current, level: l)
            levels[l].a = current
            levels[l].diagonal = d
            var p = levels[l].p
            if scratch.count < p.columns { scratch = [Int](repeating: 0, count: p.columns) }
            CSRMatrix.productValues(current, levels[l].tentative, into: &p, position: &scratch)
            SmoothedAggregationAMG.smoothProlongator(&p, a: current, diagonal: d, tentative: levels[l].tentative,
                                                     aggregate: levels[l].aggregateOf, weight: options.jacobiWeight)
            levels[l].p = p
            levels[l].r = p.transposed()
            current = levels[l].galerkin.recompute(a: current, p: p, r: levels[l].r)
        }
        coarseMatrix = current
        try coarse.update(current)
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    private var scratch: [Int] = []

    private static func positiveDiagonal(_ a: CSRMatrix, level: Int) throws -> [Double] {
        let d = a.diagonal()
        for (i, v) in d.enumerated() where !(v > 0) || !v.isFinite {
            throw PDEError.notPositiveDefinite(column: i, reason: "AMG needs positive diagonal entries; a[\(i),\(i)] = \(v) on level \(level)")
        }
        return d
    }

    /// One V-cycle from a zero initial guess: z ≈ A⁻¹ r. Returns r · z. Throws when the
    /// coarsest direct solve fails.
    public func apply(_ r: [Double], into z: inout [Double]) throws -> Double {
        try checkApplySizes(r, z, size: (levels.first?.a ?? coarseMatrix).rows, name)
        if levels.isEmpty {
            try coarse.solve(r, into: &z)
            return VectorKernels.dot(r, z)
        }
        copy(r, into: &levels[0].b)
        try cycle(0)
        copy(levels[0].x, into: &z)
        return VectorKernels.dot(r, z)
    }

    /// Stand-alone solver: V-cycles as a Richardson iteration until the true residual meets
    /// the options' tolerance (`IterativeOptions(maxIterations: 200)` by default).
    public func solve(_ b: [Double], options: IterativeOptions = IterativeOptions(maxIterations: 200)) throws -> (x: [Double], report: SolverReport) {
        var result = try Richardson(options).solve(levels.first?.a ?? coarseMatrix, b, preconditioner: self)
        result.report.setupSeconds = setupSeconds
        return result
    }

    private func cycle(_ l: Int) throws {
        // x = 0; pre-smooth; residual; restrict; coarse solve; prolong; post-smooth.
        let n = levels[l].a.rows
        levels[l].x.withUnsafeMutableBufferPointer { xp in
            for i in 0..<n { xp[i] = 0 }
        }
        for _ in 0..<options.presmoothingSweeps { gaussSeidel(l, forward: true) }
        levels[l].a.apply(levels[l].x, into: &levels[l].res)
        VectorKernels.residualFrom(levels[l].b, &levels[l].res)
        if l + 1 < levels.count {
            levels[l].r.apply(levels[l].res, into: &levels[l + 1].b)
            try cycle(l + 1)
            addProlongated(l, levels[l + 1].x)
        } else {
            levels[l].r.apply(levels[l].res, into: &coarseB)
            try coarse.solve(coarseB, into: &coarseX)
            addProlongated(l, coarseX)
        }
        for _ in 0..<options.postsmoothingSweeps { gaussSeidel(l, forward: false) }
    }

    private func copy(_ src: [Double], into dst: inout [Double]) {
        dst.withUnsafeMutableBufferPointer { d in src.withUnsafeBufferPointer { d.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
    }

    private func addProlongated(_ l: Int, _ coarseX: [Double]) {
        levels[l].p.apply(coarseX, into: &levels[l].res)
        let n = levels[l].a.rows
        levels[l].res.withUnsafeBufferPointer { e in
            levels[l].x.withUnsafeMutableBufferPointer { x in
                for i in 0..<n { x[i] += e[i] }
            }
        }
    }

    /// One Gauss–Seidel sweep on level l for A x = b, forward or backward.
    private func gaussSeidel(_ l: Int, forward: Bool) {
        let a = levels[l].a
        let n = a.rows
        a.rowPointers.withUnsafeBufferPointer { rp in
        a.columnIndices.withUnsafeBufferPointer { ci in
        a.values.withUnsafeBufferPointer { va in
        levels[l].diagonal.withUnsafeBufferPointer { dp in
        levels[l].b.withUnsafeBufferPointer { bp in
        levels[l].x.withUnsafeMutableBufferPointer { xp in
            let x = xp.baseAddress!
            var i = forward ? 0 : n &- 1
            let step = forward ? 1 : -1
            for _ in 0..<n {
                var s = bp[i]
                var k = rp[i]
                let e = rp[i &+ 1]
                while k < e {
                    let j = Int(truncatingIfNeeded: ci[k])
                    s -= va[k] * x[j]
                    k &+= 1
                }
                // s = b_i − Σ_j a_ij x_j including j = i: add back the diagonal term.
                x[i] = (s + dp[i] * x[i]) / dp[i]
                i &+= step
            }
        }}}}}}
    }

    // MARK: - Setup pieces

    /// Standard aggregation (pyamg's three passes) on the strength graph. Returns the
    /// aggregate index of every node and the number of aggregates.
    static func aggregate(_ a: CSRMatrix, threshold: Double) -> ([Int32], Int) {
        let n = a.rows
        let d = a.diagonal()
        var agg = [Int32](repeating: -1, count: n)
        var count: Int32 = 0
        func strongNeighbours(_ i: Int, _ body: (Int) -> Void) {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] {
                let j = Int(a.columnIndices[k])
                if j == i { continue }
                let v = a.values[k]
                if v != 0 && abs(v) >= threshold * (abs(d[i] * d[j])).squareRoot() { body(j) }
            }
        }
        // Pass 1: a node whose strong neighbours are all free seeds an aggregate with them.
        for i in 0..<n where agg[i] < 0 {
            var allFree = true
            var hasNeighbour = false
            strongNeighbours(i) { j in hasNeighbour = true; if agg[j] >= 0 { allFree = false } }
            if allFree && hasNeighbour {
                agg[i] = count
                strongNeighbours(i) { j in agg[j] = count }
                count += 1
            }
        }
        // Pass 2: free nodes join a neighbouring aggregate (the one of the strongest connection).
        var pass2 = agg
        for i in 0..<n where agg[i] < 0 {
            var best = -1.0
            strongNeighbours(i) { j in
                if agg[j] >= 0 {
                    let s = abs(a[i, j])
                    if s > best { best = s; pass2[i] = agg[j] }
                }
            }
        }
        agg = pass2
        // Pass 3: remaining nodes form aggregates with their free neighbours (isolated nodes alone).
        for i in 0..<n where agg[i] < 0 {
            agg[i] = count
            strongNeighbours(i) { j in if agg[j] < 0 { agg[j] = count } }
            count += 1
        }
        return (agg, Int(count))
    }

    /// T with T[i, agg(i)] = 1/√|agg| (orthonormal columns for the constant vector).
    static func tentativeProlongator(_ agg: [Int32], count: Int) -> CSRMatrix {
        var sizes = [Int](repeating: 0, count: count)
        for a in agg { sizes[Int(a)] += 1 }
        let n = agg.count
        let values = agg.map { 1 / Double(sizes[Int($0)]).squareRoot() }
        return CSRMatrix(unchecked: n, columns: count, rowPointers: Array(0...n), columnIndices: agg, values: values)
    }

    /// P = T − ω D⁻¹ (A T) with ω = weight / (1.05·ρ(D⁻¹A)) (the overestimate keeps the
    /// smoothed prolongator stable), computed in place on `p`, which holds A·T on entry; T
    /// has one entry per row, at column aggregate(i), present in A·T's pattern since A has
    /// its diagonal.
    static func smoothProlongator(_ p: inout CSRMatrix, a: CSRMatrix, diagonal d: [Double], tentative t: CSRMatrix,
                                  aggregate: [Int32], weight: Double) {
        let omega = weight / (1.05 * estimateLargestEigenvalueDinvA(a, diagonal: d))
        for i in 0..<p.rows {
            let s = -omega / d[i]
            let target = aggregate[i]
            for k in p.rowPointers[i]..<p.rowPointers[i + 1] {
                p.values[k] *= s
                if p.columnIndices[k] == target { p.values[k] += t.values[i] }
            }
        }
    }
}
