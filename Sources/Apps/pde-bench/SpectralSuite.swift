import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench spectral`: the fast Poisson solver against the FFTW floor (its transforms
/// alone), and the dataset generators against the numpy/scipy/torch peers
/// (`datagen_peer.py`) on the same parameters.
struct SpectralSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral",
        abstract: "Fast Poisson vs the FFTW floor; Darcy, Navier–Stokes and Burgers generation vs datagen_peer.py.")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .upToNextOption, help: "Cases: fastpoisson2d, fastpoisson3d, darcy, ns, burgers.")
    var cases: [String] = ["fastpoisson2d", "fastpoisson3d"]

    @Option(help: "Fast Poisson 2-D interior nodes per axis.")
    var n2d = 1024

    @Option(help: "Fast Poisson 3-D interior nodes per axis.")
    var n3d = 128

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        print("pde-bench spectral — \(Threads.count) threads\n")
        var rows: [[String]] = []
        for name in cases {
            switch name {
            case "fastpoisson2d", "fastpoisson3d":
                let dim = name == "fastpoisson2d" ? 2 : 3
                let n = dim == 2 ? n2d : n3d
                rows += try fastPoisson(dimension: dim, interior: n, rec: rec)
            default:
                throw ValidationError("unknown case \(name): expected fastpoisson2d, fastpoisson3d")
            }
        }
        printTable(["case", "tool", "time", "ratio", "note"], rows)
        try rec.flush()
    }

    /// Dirichlet Poisson on n^d interior nodes: the solve (scaling, DST-I, eigenvalue
    /// division, inverse DST-I, scaling) against the two transforms alone; the residual of the
    /// solve against the FD matrix.
    func fastPoisson(dimension dim: Int, interior n: Int, rec: BenchRecorder) throws -> [[String]] {
        let grid = try Grid.unit(dimension: dim, nodesPerAxis: n + 2)
        let layout = try GridUnknownLayout(grid: grid, boundary: BoundaryConditions(dimension: dim, all: .dirichlet(value: 0)))
        let solver = try FastPoissonSolver(layout: layout)
        let count = layout.unknownCount
        var g = SeededGenerator(seed: 1)
        let f = (0..<count).map { _ in g.normal() }
        var u = [Double](repeating: 0, count: count)
        try solver.solve(f, into: &u)                       // plans
        let transform = try RealToRealTransform(shape: Array(repeating: n, count: dim), kinds: Array(repeating: .dst1, count: dim))
        var y = u
        try transform.apply(f, into: &y)
        let reps = max(options.repetitions, 5)
        let solve = median(try (0..<reps).map { _ in try measureSeconds { try solver.solve(f, into: &u) } })
        let floor = median(try (0..<reps).map { _ in try measureSeconds { try transform.apply(f, into: &y); try transform.apply(y, into: &u) } })
        try solver.solve(f, into: &u)
        let a = try FiniteDifference.laplacian(grid: grid)
        let residual = try a.relativeResidual(u, f)
        let label = "fastpoisson\(dim)d_n\(n)"
        rec.record(["suite": "spectral", "case": label, "tool": "swiftpde_fastpoisson", "seconds": solve, "unknowns": count,
                    "rel_residual": residual, "fftw_floor_seconds": floor, "ratio_to_floor": solve / floor])
        return [[label, "SwiftPDE FastPoissonSolver", formatSeconds(solve), String(format: "%.2f× floor", solve / floor),
                 String(format: "rel. residual %.1e vs the FD matrix", residual)],
                [label, "FFTW floor: 2 × DST-I", formatSeconds(floor), "", "\(count) unknowns"]]
    }
}
