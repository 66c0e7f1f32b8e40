import Foundation
import Testing
@testable import PDE

private func rms(_ a: [Double], _ b: [Double]) -> Double {
    (zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(a.count)).squareRoot()
}

@Suite("Kernel collocation (Gaussian-process PDE solver, Gauss–Newton)")
struct KernelCollocationTests {
    @Test("Linear Poisson −Δu = f with a smooth solution: error ≤ 1e-6 in one step")
    func linearPoisson() throws {
        let exact: @Sendable (SIMD4<Double>) -> Double = { p in sin(.pi * p[0]) * sin(.pi * p[1]) }
        let pde = CollocationPDE(name: "poisson", dimension: 2, functionals: [.value, .laplacian(dimension: 2)], eliminated: 1,
                                 isLinear: true) { x, _, _, gradient in
            gradient[0] = 0
            return -2 * .pi * .pi * sin(.pi * x[0]) * sin(.pi * x[1])
        }
        // 200 Halton points inside, 12 per side, ℓ = 0.3, nugget 1e-12: RMS ≈ 1.7e-7 here.
        let interior = try CollocationPoints.halton(lower: [0, 0], upper: [1, 1], count: 200)
        let boundary = try CollocationPoints.evenBoundary(lower: [0, 0], upper: [1, 1], perSide: 12)
        var options = CollocationOptions()
        options.nugget = 1e-12
        let solver = try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscale: 0.3), options: options)
        let solution = try solver.solve(pde, interior: interior, boundary: boundary, boundaryValues: boundary.points.map(exact))
        let test = try CollocationPoints.grid(lower: [0, 0], upper: [1, 1], counts: [31, 31])
        let error = rms(try solution.predict(test), test.points.map(exact))
        #expect(error <= 1e-6)
        #expect(solution.history.count == 1 && solution.converged && solution.jitter == 0)
        // Derivatives of the prediction: Δu = −2π² u.
        let lap = try solution.predict(test, .laplacian(dimension: 2))
        #expect(rms(lap, test.points.map { -2 * .pi * .pi * exact($0) }) <= 2e-3)
        // The prediction interpolates the boundary data.
        let onBoundary = try solution.predict(boundary)
        #expect(rms(onBoundary, boundary.points.map(exact)) <= 1e-8)
    }

    @Test("Nonlinear elliptic −Δu + u³ = f: Gauss–Newton converges quadratically; QR and normal-equation steps agree")
    func nonlinearElliptic() throws {
        let c = try CollocationCase.make("nonlinear-elliptic", interior: 200, boundaryPerSide: 12, testPoints: 25, sampling: .halton)
        var options = CollocationOptions()
        options.nugget = 1e-10
        options.maxIterations = 8
        options.stepTolerance = 1e-13
        var g = SeededGenerator(seed: 5)
        let start = (0..<200).map { _ in g.normal() }
        var results: [(steps: [Double], rms: Double)] = []
        for method in GaussNewtonStepSolver.allCases {
            options.stepSolver = method
            let solver = try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscale: 0.2), options: options)
            var steps: [Double] = []
            let solution = try solver.solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues,
                                            initial: start) { steps.append($0.stepNorm) }
            let (rmsError, _) = try c.errors(solution)
            print("nonlinear elliptic (\(method)): steps \(steps.map { String(format: "%.2e", $0) }), RMS \(rmsError)")
            #expect(solution.converged)
            results.append((steps, rmsError))
        }
        // Quadratic convergence: once the step is below 10, ‖δ_{k+1}‖ ≤ C ‖δ_k‖² with a moderate C,
        // down to rounding.
        let steps = results[0].steps
        var checked = 0
        for k in 0..<(steps.count - 1) where steps[k] < 10 && steps[k + 1] > 1e-12 {
            #expect(steps[k + 1] <= 10 * steps[k] * steps[k], "step \(k + 1): \(steps[k + 1]) after \(steps[k])")
            checked += 1
        }
        #expect(checked >= 3)
        #expect(steps.count <= 7)
        // Same solution either way; error small for 200 points.
        #expect(abs(results[0].rms - results[1].rms) <= 1e-3 * results[0].rms)
        #expect(results[0].rms <= 2e-3)
    }

    @Test("Burgers (space-time), eikonal and Darcy examples converge to their references")
    func paperExamples() throws {
        var options = CollocationOptions()
        options.stepSolver = .normalEquations
        // Burgers ν = 0.02 on a coarse point set: the front is under-resolved, the iteration must still converge.
        options.nugget = 1e-5
        options.maxIterations = 30
        options.stepTolerance = 1e-8
        let burgers = try CollocationCase.make("burgers", interior: 300, boundaryPerSide: 20, testPoints: 20, sampling: .halton)
        let b = try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscales: [0.08, 0.25]), options: options)
            .solve(burgers.pde, interior: burgers.interior, boundary: burgers.boundary, boundaryValues: burgers.boundaryValues)
        let burgersError = try burgers.errors(b)
        print("Burgers 300 points: \(b.history.count) iterations, RMS \(burgersError.rms)")
        #expect(b.converged)
        #expect(burgersError.rms <= 0.05)
        // Eikonal ε = 0.1 against the finite-difference reference.
        options.nugget = 1e-10
        let eikonal = try CollocationCase.make("eikonal", interior: 200, boundaryPerSide: 12, testPoints: 13, sampling: .halton)
        let e = try KernelCollocation(kernel: eikonal.kernel, options: options)
            .solve(eikonal.pde, interior: eikonal.interior, boundary: eikonal.boundary, boundaryValues: eikonal.boundaryValues)
        let eikonalError = try eikonal.errors(e)
        print("eikonal 200 points: \(e.history.count) iterations, RMS \(eikonalError.rms)")
        #expect(e.converged)
        #expect(eikonalError.rms <= 5e-3)
        // Darcy: linear, one step, manufactured solution.
        let darcy = try CollocationCase.make("darcy", interior: 200, boundaryPerSide: 12, testPoints: 13, sampling: .halton)
        let d = try KernelCollocation(kernel: darcy.kernel, options: options)
            .solve(darcy.pde, interior: darcy.interior, boundary: darcy.boundary, boundaryValues: darcy.boundaryValues)
        let darcyError = try darcy.errors(d)
        print("Darcy 200 points: RMS \(darcyError.rms)")
        #expect(d.history.count == 1)
        #expect(darcyError.rms <= 1e-4)
    }

    /// log N(Q₂ᵀz; 0, Q₂ᵀΘQ₂) with Q₂ an orthonormal basis of range(J)^⊥, by eigenvectors of the
    /// projector I − J(JᵀJ)⁻¹Jᵀ: the definition the solver's formula must equal.
    func bruteForceEvidence(_ solution: CollocationSolution, jacobian j: DenseMatrix, nugget: Double) throws -> (unit: Double, profiled: Double) {
        var theta = KernelMatrices.gram(solution.kernel, groups: solution.groups)
        var offset = 0
        for (_, pts) in solution.groups {
            let block = offset..<(offset + pts.count)
            let mean = block.reduce(0.0) { $0 + theta[$1, $1] } / Double(pts.count)
            for i in block { theta[i, i] += nugget * mean }
            offset += pts.count
        }
        let n = j.rows, m = j.columns
        let jtjInverse = try CholeskyFactorization(j.gram(transpose: true)).inverse()
        let projector = DenseMatrix(rows: n, columns: n) { r, c in
            var s = r == c ? 1.0 : 0.0
            for a in 0..<m { for b in 0..<m { s -= j[r, a] * jtjInverse[a, b] * j[c, b] } }
            return s
        }
        let eig = try SymmetricEigendecomposition(projector)
        let basis = (0..<n).filter { eig.values[$0] > 0.5 }
        #expect(basis.count == n - m)
        let q2 = DenseMatrix(rows: n, columns: basis.count) { r, c in eig.vectors[r, basis[c]] }
        let d = try q2.apply(solution.measurements, transpose: true)
        let sigma = try q2.multiplied(by: try theta.multiplied(by: q2), transposeSelf: true)
        let factor = try CholeskyFactorization(sigma)
        let quadratic = try factor.quadraticForm(d), k = Double(d.count)
        let unit = -0.5 * quadratic - 0.5 * factor.logDeterminant - 0.5 * k * log(2 * .pi)
        // σ̂² = dᵀΣ⁻¹d / k maximizes log N(d; 0, σ²Σ) over σ²:
        let s2 = quadratic / k
        let profiled = -0.5 * k - 0.5 * (factor.logDeterminant + k * log(s2)) - 0.5 * k * log(2 * .pi)
        return (unit, profiled)
    }

    @Test("The log marginal likelihood equals the density of the PDE data, with and without a coupled eliminated term")
    func marginalLikelihood() throws {
        let interior = try CollocationPoints.halton(lower: [0, 0], upper: [1, 1], count: 14)
        let boundary = try CollocationPoints.evenBoundary(lower: [0, 0], upper: [1, 1], perSide: 3)
        let g: @Sendable (SIMD4<Double>) -> Double = { p in sin(.pi * p[0]) * sin(.pi * p[1]) }
        var options = CollocationOptions()
        options.nugget = 1e-6
        options.evidence = true
        for reaction in [0.0, 2.0] {
            // −Δu + c u = f: Δu eliminated as c u − f (∂/∂u = c).
            let pde = CollocationPDE(name: "reaction", dimension: 2, functionals: [.value, .laplacian(dimension: 2)], eliminated: 1,
                                     isLinear: true) { x, _, kept, gradient in
                gradient[0] = reaction
                return reaction * kept[0] - (2 * .pi * .pi + reaction) * sin(.pi * x[0]) * sin(.pi * x[1])
            }
            let solution = try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscale: 0.35), options: options)
                .solve(pde, interior: interior, boundary: boundary, boundaryValues: boundary.points.map(g))
            let nB = boundary.count, p = interior.count
            let j = DenseMatrix(rows: nB + 2 * p, columns: p) { r, c in r == nB + c ? 1 : (r == nB + p + c ? reaction : 0) }
            let expected = try bruteForceEvidence(solution, jacobian: j, nugget: options.nugget)
            let got = try #require(solution.logMarginalLikelihood)
            #expect(abs(got - expected.unit) <= 1e-8 * abs(expected.unit), "c = \(reaction): \(got) vs \(expected.unit)")
            let profiled = try #require(solution.profiledLogMarginalLikelihood)
            #expect(abs(profiled - expected.profiled) <= 1e-8 * abs(expected.profiled), "c = \(reaction): \(profiled) vs \(expected.profiled)")
            #expect(profiled >= got)
        }
        // Without the option nothing is computed.
        options.evidence = false
        let plain = try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscale: 0.35), options: options)
            .solve(CollocationCase.make("poisson", interior: 14, boundaryPerSide: 3, testPoints: 5).pde, interior: interior,
                   boundary: boundary, boundaryValues: boundary.points.map(g))
        #expect(plain.logMarginalLikelihood == nil)
    }

    @Test("The lengthscale search finds the evidence maximum a fine scan finds, and refuses bad ranges")
    func lengthscaleByMarginalLikelihood() throws {
        let c = try CollocationCase.make("poisson", interior: 40, boundaryPerSide: 6, testPoints: 9)
        var options = CollocationOptions()
        options.nugget = 1e-8
        options.evidence = true
        func solve(_ l: Double) throws -> CollocationSolution {
            try KernelCollocation(kernel: try RadialKernel(.gaussian, lengthscale: l), options: options)
                .solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues)
        }
        let search = try KernelCollocation.maximizingEvidence(over: 0.05...1.5, evaluations: 16, solve: solve)
        #expect(search.trace.count == 16 && (0.05...1.5).contains(search.lengthscale))
        let best = try #require(search.solution.profiledLogMarginalLikelihood)
        #expect(search.trace.allSatisfy { $0.logEvidence <= best })
        // A scan of 25 lengthscales (log-spaced) finds nothing better than the search, to 1e-3.
        let scan = try (0..<25).map { k in try solve(0.05 * pow(30, Double(k) / 24)).profiledLogMarginalLikelihood! }
        #expect(scan.max()! <= best + 1e-3 * abs(best), "scan \(scan.max()!) vs search \(best) at ℓ = \(search.lengthscale)")
        #expect(throws: PDEError.self) { try KernelCollocation.maximizingEvidence(over: 0...1, solve: solve) }
        #expect(throws: PDEError.self) { try KernelCollocation.maximizingEvidence(over: 0.1...1, evaluations: 6, solve: solve) }
        options.evidence = false
        #expect(throws: PDEError.self) { try KernelCollocation.maximizingEvidence(over: 0.1...1, solve: solve) }
    }

    @Test("Bad inputs are refused with typed errors")
    func badInputs() throws {
        let c = try CollocationCase.make("poisson", interior: 10, boundaryPerSide: 3, testPoints: 5)
        let solver = try KernelCollocation(kernel: c.kernel)
        func expectError(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(what): no error")
            } catch let error as PDEError {
                #expect(!error.description.isEmpty)
            } catch {
                Issue.record("\(what): \(error)")
            }
        }
        expectError("boundary values") { _ = try solver.solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: [1]) }
        expectError("NaN boundary") {
            _ = try solver.solve(c.pde, interior: c.interior, boundary: c.boundary,
                                 boundaryValues: [Double](repeating: .nan, count: c.boundary.count))
        }
        expectError("initial size") {
            _ = try solver.solve(c.pde, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues, initial: [0])
        }
        var bad = c.pde
        bad.eliminated = 5
        expectError("eliminated index") {
            _ = try solver.solve(bad, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues)
        }
        expectError("no interior") {
            _ = try solver.solve(c.pde, interior: PointSet(dimension: 2, points: []), boundary: c.boundary, boundaryValues: c.boundaryValues)
        }
        expectError("dimension") {
            _ = try solver.solve(c.pde, interior: PointSet(dimension: 1, points: [.zero]), boundary: c.boundary,
                                 boundaryValues: c.boundaryValues)
        }
        expectError("kernel too rough") {
            var third = c.pde
            third.functionals = [.value, DifferentialFunctional([.init(1, .axis(0, order: 3))], name: "u_xxx")]
            _ = try KernelCollocation(kernel: try RadialKernel(.matern52, lengthscale: 0.2))
                .solve(third, interior: c.interior, boundary: c.boundary, boundaryValues: c.boundaryValues)
        }
        expectError("nugget") {
            var o = CollocationOptions()
            o.nugget = -1
            _ = try KernelCollocation(kernel: c.kernel, options: o)
        }
        expectError("iterations") {
            var o = CollocationOptions()
            o.maxIterations = 0
            _ = try KernelCollocation(kernel: c.kernel, options: o)
        }
        expectError("case name") { _ = try CollocationCase.make("heat", interior: 10, boundaryPerSide: 2) }
        expectError("points") { _ = try CollocationCase.make("poisson", interior: 0, boundaryPerSide: 2) }
        expectError("box") { _ = try CollocationPoints.randomInterior(lower: [1, 0], upper: [0, 1], count: 3, seed: 0) }
        expectError("ragged points") { _ = try PointSet(dimension: 2, coordinates: [[0, 1], [1]]) }
    }

    @Test("Point sets: Halton points fill the box, even boundary points avoid the corners, grids include the ends")
    func points() throws {
        let h = try CollocationPoints.halton(lower: [-1, 0], upper: [1, 1], count: 64)
        #expect(h.count == 64)
        #expect(h.points.allSatisfy { $0[0] > -1 && $0[0] < 1 && $0[1] > 0 && $0[1] < 1 })
        // Every quarter of the box holds between 12 and 20 of the 64 points.
        for (qx, qy) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let inside = h.points.filter { ($0[0] >= 0) == (qx == 1) && ($0[1] >= 0.5) == (qy == 1) }.count
            #expect((12...20).contains(inside))
        }
        let b = try CollocationPoints.evenBoundary(lower: [0, 0], upper: [1, 1], perSide: 4, sides: [0, 2])
        #expect(b.count == 8)
        #expect(Set(b.points.map { [$0[0], $0[1]] }).count == 8)
        let g = try CollocationPoints.grid(lower: [0, 0], upper: [1, 2], counts: [3, 5])
        #expect(g.count == 15 && g.points.last == SIMD4(1, 2, 0, 0))
    }

    @Test("Cole–Hopf Burgers reference agrees with the pseudo-spectral ETDRK4 solver")
    func coleHopf() throws {
        let reference = try ColeHopfBurgers(viscosity: 0.02)
        let coarse = try ColeHopfBurgers(viscosity: 0.02, nodes: 80)
        // Periodic y ∈ [0, 2) with x = y − 1: u₀ = −sin πx = sin πy.
        let n = 512
        let solver = try BurgersSolver(viscosity: 0.02, points: n, length: 2, timeStep: 2e-4)
        let u0 = (0..<n).map { sin(.pi * 2 * Double($0) / Double(n)) }
        let run = try solver.evolve(u0, to: 1, saving: [0.25, 1])
        var worst = 0.0, worstCoarse = 0.0
        for (k, t) in [0.25, 1.0].enumerated() {
            for j in stride(from: 0, to: n, by: 8) {
                let x = 2 * Double(j) / Double(n) - 1
                worst = max(worst, abs(run.states[k][j] - reference.value(x: x, t: t)))
                worstCoarse = max(worstCoarse, abs(run.states[k][j] - coarse.value(x: x, t: t)))
            }
        }
        print("Cole–Hopf vs spectral: 200 nodes \(worst), 80 nodes \(worstCoarse)")
        #expect(worst <= 1e-10)
        #expect(abs(reference.value(x: 0.3, t: 0) + sin(.pi * 0.3)) < 1e-15)
    }
}
