// Solves −∇·(a∇u) = f on the unit square with a manufactured solution through SwiftPDE's
// public API — grid, discretization, the solver registry, error norms, NPY output — and
// checks the second-order convergence of the finite-volume scheme. Exits non-zero when a
// check fails, so `make test` notices a broken public API or a wrong result.
import Foundation
import PDE

func check(_ ok: Bool, _ what: String) {
    if !ok {
        FileHandle.standardError.write(Data("plate-example: FAILED: \(what)\n".utf8))
        exit(1)
    }
}

let problem = try ProblemCatalogue.named("diffusion2d-variable")
var errors: [Double] = []
for n in [17, 33, 65] {
    let grid = try Grid.unit(dimension: 2, nodesPerAxis: n)
    let system = try DiffusionProblem(grid: grid, analytic: problem).assemble()
    let solver = try LinearSolver(matrix: system.matrix, method: "cg", preconditioner: "mg",
                                  options: IterativeOptions(relativeTolerance: 1e-11), layout: system.gridLayout)
    let (x, report) = try solver.solve(system.rhs)
    check(report.reason.converged, "CG + multigrid converged on \(n)² (\(report.reason.petscName))")
    let (field, err) = try system.solution(x, comparedWith: problem)
    errors.append(err!.l2)
    print(String(format: "n = %3d   %2d iterations   L2 error %.3e   max error %.3e", n, report.iterations, err!.l2, err!.max))
    if n == 65 {
        let path = NSTemporaryDirectory() + "plate-example-u.npy"
        try NPY.write(field.values, shape: field.numpyShape, to: path)
        check(try NPY.read(path).doubles == field.values, "NPY round trip")
    }
}
let order = log2(errors[1] / errors[2])
print(String(format: "observed order %.2f (expected 2)", order))
check(abs(order - 2) < 0.15, "second-order convergence")
