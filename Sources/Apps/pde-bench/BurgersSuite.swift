import AppSupport
import ArgumentParser
import Foundation
import PDE

/// `pde-bench burgers`: the FNO Burgers data generator (ν = 0.1, ETDRK4, dt = 1e-4, t ∈ [0, 1])
/// next to the numpy reference (`../shared/peers/datagen_peer.py --case burgers`): the peer's
/// first u0 is evolved by `BurgersSolver` and compared with the peer's u1; seconds per sample
/// for one sample at a time and for a batch spread over the worker threads.
struct BurgersSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "burgers",
        abstract: "Burgers ETDRK4 data generation (N points, 10 000 steps) vs the numpy peer (datagen_peer.py), with a cross-check of u(t = 1).")

    @OptionGroup var options: BenchOptions

    @Option(help: "Grid points N.")
    var points = 8192

    @Option(help: "Samples the peer times (it saves the first).")
    var peerSamples = 1

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        let n = points, dt = 1e-4
        print("pde-bench burgers — N = \(n), ν = 0.1, dt = \(dt), t = 1 (10 000 ETDRK4 steps), \(Threads.count) threads\n")
        let solver = try BurgersSolver(viscosity: 0.1, points: n, timeStep: dt)
        let folder = NSTemporaryDirectory() + "pde-bench-burgers-\(ProcessInfo.processInfo.processIdentifier)"
        let peer = runPeer("datagen_peer.py", ["--case", "burgers", "--n", "\(n)", "--samples", "\(peerSamples)", "--save", folder],
                           options: options).first
        var u0: [Double]
        var reference: [Double]? = nil
        if peer != nil, let a = try? NPY.read(folder + "/burgers_u0.npy"), let b = try? NPY.read(folder + "/burgers_u1.npy") {
            u0 = a.doubles
            reference = b.doubles
        } else {
            var g = SeededGenerator(seed: 0)
            u0 = try PeriodicGaussianRandomField.burgersInitialCondition(points: n).sample(using: &g)
        }
        var times: [Double] = []
        var u1: [Double] = []
        for _ in 0..<max(1, options.repetitions) {
            times.append(try measureSeconds { u1 = try solver.evolve(u0, to: 1).final })
        }
        let single = median(times)
        let batchCount = Threads.count
        let batchSeconds = try measureSeconds {
            _ = try solver.evolve(batch: Array(repeating: u0, count: batchCount), to: 1)
        } / Double(batchCount)
        let relative = reference.map { r in zip(u1, r).reduce(0) { max($0, abs($1.0 - $1.1)) } / r.reduce(0) { max($0, abs($1)) } }
        rec.record(["suite": "burgers", "case": "burgers_n\(n)", "tool": "swiftpde", "seconds_per_sample": single,
                    "seconds_per_sample_batched": batchSeconds, "batch": batchCount,
                    "relative_max_difference_vs_peer": relative ?? NSNull()])
        let peerSeconds = peer?["seconds_per_sample"] as? Double
        if var o = peer {
            o["suite"] = "burgers"
            rec.record(o)
        }
        printTable(["case", "SwiftPDE s/sample", "batched (×\(batchCount))", "numpy s/sample", "ratio", "max|Δu1|/max|u1|"],
                   [["burgers_n\(n)", formatSeconds(single), formatSeconds(batchSeconds), peerSeconds.map(formatSeconds) ?? "—",
                     peerSeconds.map { String(format: "%.2f×", single / $0) } ?? "—",
                     relative.map { String(format: "%.2e", $0) } ?? "(peer not run)"]])
        try? FileManager.default.removeItem(atPath: folder)
        try rec.flush()
    }
}
