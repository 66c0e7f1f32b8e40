import AppSupport
import ArgumentParser
import Foundation
import Learning
import Operators

/// `pde-bench learning`: forward + backward time of single layers next to PyTorch on the
/// same shapes (`benchmarks/peers/layers_peer.py`; skipped without PyTorch).
struct LearningSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learning",
        abstract: "Forward+backward of conv3x3, spectral conv, 4 FNO blocks, DCDM's 2-D/3-D convolutions and the Darcy LSM vs PyTorch (layers_peer.py), float32.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Cases: conv3x3, spectral, fno4, dcdm2d, dcdm3d, lsm (the Darcy LSM, a training batch) (vs PyTorch), lowmodes (FFT vs dense DFT low-mode transforms, ours only).")
    var cases = "conv3x3,spectral,fno4,dcdm2d,dcdm3d"

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        print("pde-bench learning — \(Threads.count) threads, float32, median of \(options.repetitions) forward+backward runs after 2 warm-ups\n")
        var ours: [String: Double] = [:]
        var g = SeededGenerator(seed: 0)
        for name in cases.split(separator: ",").map(String.init) {
            let shape: [Int]
            let forward: (Variable<Float>) throws -> Variable<Float>
            switch name {
            case "conv3x3":
                shape = [8, 16, 128, 128]
                let conv = try Convolution<Float>(inChannels: 16, outChannels: 16, kernel: [3, 3], padding: [1, 1], generator: &g)
                forward = { try conv($0) }
            case "spectral":
                shape = [20, 32, 64, 64]
                let spec = try SpectralConvolution<Float>(inChannels: 32, outChannels: 32, modes: [12, 12], generator: &g)
                forward = { try spec($0) }
            case "dcdm2d":
                shape = [10, 16, 64, 64]
                let conv = try Convolution<Float>(inChannels: 16, outChannels: 16, kernel: [3, 3], padding: [1, 1], bias: false, generator: &g)
                forward = { try conv($0) }
            case "dcdm3d":
                shape = [2, 16, 32, 32, 32]
                let conv = try Convolution<Float>(inChannels: 16, outChannels: 16, kernel: [3, 3, 3], padding: [1, 1, 1], bias: false, generator: &g)
                forward = { try conv($0) }
            case "fno4":
                shape = [20, 32, 64, 64]
                let blocks = try FourierBlocks<Float>(width: 32, modes: [12, 12], layers: 4, generator: &g)
                forward = { try blocks($0) }
            case "lsm":
                shape = [20, 1, 85, 85]
                let model = try LSM<Float>(LSMConfiguration(width: 32), generator: &g)
                forward = { try model($0) }
            case "lowmodes":
                continue
            default:
                throw ValidationError("unknown case \(name): expected conv3x3, spectral, fno4, dcdm2d, dcdm3d, lsm or lowmodes")
            }
            let x = Variable(Tensor<Float>.randomNormal(shape: shape, generator: &g), requiresGradient: true)
            var times: [Double] = []
            for i in 0..<(options.repetitions + 2) {
                x.zeroGradient()
                let t = try measureSeconds { try forward(x).sum().backward() }
                if i >= 2 { times.append(t) }
            }
            ours[name] = median(times)
            rec.record(["suite": "learning", "case": name, "tool": "swiftpde", "shape": shape, "seconds": median(times),
                        "min_seconds": times.min()!, "threads": Threads.count])
        }
        if cases.contains("lowmodes") { try lowModeTransforms(rec) }
        if !cases.split(separator: ",").contains(where: { $0 != "lowmodes" }) { try rec.flush(); return }
        var rows: [[String]] = []
        let peerCases = cases.split(separator: ",").filter { $0 != "lowmodes" }.joined(separator: ",")
        let peers = runPeer("layers_peer.py", ["--threads", "\(Threads.count)", "--reps", "\(max(options.repetitions, 5))", "--cases", peerCases],
                            options: options)
        for name in cases.split(separator: ",").map(String.init) {
            guard let t = ours[name] else { continue }
            let peer = peers.first { ($0["case"] as? String) == name }
            let pt = peer?["seconds"] as? Double
            let skipped = (peer?["skipped"] as? String).map { "skipped: \($0)" }
            rows.append([name, formatSeconds(t), pt.map(formatSeconds) ?? "—", pt.map { String(format: "%.2f×", t / $0) } ?? "—",
                         skipped ?? (peer?["tool"] as? String) ?? "(peer not run)"])
            if var o = peer, pt != nil {
                o["suite"] = "learning"
                rec.record(o)
            }
        }
        printTable(["case", "SwiftPDE", "PyTorch", "ratio", "peer"], rows)
        try rec.flush()
    }

    /// rfftLowModes → irfftFromLowModes, forward + backward, by FFTs and by dense DFT
    /// products, on the shapes of FNO-1D/2D/3D layers; the automatic choice is marked.
    func lowModeTransforms(_ rec: BenchRecorder) throws {
        let cases: [([Int], [Int])] = [([20, 64, 1024], [16]), ([20, 64, 8192], [16]),
                                       ([20, 32, 64, 64], [12, 12]), ([20, 32, 85, 85], [12, 13]), ([20, 32, 96, 96], [12, 13]),
                                       ([20, 32, 128, 128], [12, 13]), ([20, 32, 256, 256], [16, 17]),
                                       ([2, 20, 64, 64, 16], [8, 8, 6]), ([1, 20, 64, 64, 21], [32, 32, 11])]
        var g = SeededGenerator(seed: 1)
        var rows: [[String]] = []
        for (shape, modes) in cases {
            let d = modes.count
            let sizes = Array(shape.suffix(d))
            let x = Variable(Tensor<Float>.randomNormal(shape: shape, generator: &g), requiresGradient: true)
            var seconds: [LowModeTransform: Double] = [:]
            for method in [LowModeTransform.fft, .dft] {
                var times: [Double] = []
                for i in 0..<(options.repetitions + 2) {
                    x.zeroGradient()
                    let t = try measureSeconds {
                        try x.rfftLowModes(modes, method: method).irfftFromLowModes(spatial: sizes, method: method).sum().backward()
                    }
                    if i >= 2 { times.append(t) }
                }
                seconds[method] = median(times)
                rec.record(["suite": "learning", "case": "lowmodes", "method": method.rawValue, "shape": shape, "modes": modes,
                            "seconds": median(times), "threads": Threads.count])
            }
            let (f, t) = (seconds[.fft]!, seconds[.dft]!)
            let auto = LowModeTransform.automatic.usesDFT(sizes: sizes, modes: modes) ? "dft" : "fft"
            rows.append([shapeString(shape), "\(modes)", formatSeconds(f), formatSeconds(t), String(format: "%.2f", t / f), auto,
                         (t < f) == (auto == "dft") ? "" : "✗"])
        }
        printTable(["shape", "modes", "FFT", "DFT", "DFT/FFT", "automatic", ""], rows)
    }
}
