import AppSupport
import ArgumentParser
import Foundation
import Inverse
import PDE

/// `pde-bench inverse`: deblurring against the numpy TV-ADMM / Tikhonov peer, CT against
/// scikit-image (radon, iradon), and TV for MRI and inpainting, on the peers' own inputs.
struct InverseSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inverse",
        abstract: "Deblurring (vs numpy TV-ADMM), CT (vs scikit-image), MRI and inpainting: PSNR, SSIM and time.",
        discussion: """
        Cases: deblur (deblur_peer.py's camera 256², Gaussian σ = 2, noise 0.01: Tikhonov ℓ2 and
        gradient, TV-ADMM with the peer's λ grid, ρ = 10λ, 200 iterations, λ chosen by PSNR as the
        peer does), ct (ct_peer.py --n 128 --angles 60 --noise 0.02: forward projection vs
        skimage radon, FBP with each filter vs iradon, TV by PDHG), mri (4× random and radial
        masks on the camera image), inpaint (50% missing). Times are medians of --repeat runs.
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Cases (comma-separated): deblur, ct, mri, inpaint.")
    var cases = "deblur,ct,mri,inpaint"
    @Option(help: "Folder for the peers' input arrays.")
    var work = "bench-results/inverse"
    @Option(help: "TV-ADMM iterations (the peer's --admm-iters).")
    var admmIterations = 200
    @Option(help: "CT: image size, angles, noise (relative to the sinogram's maximum).")
    var ctSize = 128
    @Option var ctAngles = 60
    @Option var ctNoise = 0.02
    @Option(help: "Iterations of the TV reconstructions for CT, MRI and inpainting (PDHG).")
    var tvIterations = 1000

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let rec = BenchRecorder(path: options.results)
        for c in cases.split(separator: ",").map(String.init) {
            switch c {
            case "deblur": try deblur(rec)
            case "ct": try ct(rec)
            case "mri": try mri(rec)
            case "inpaint": try inpaint(rec)
            default: throw ValidationError("unknown case \(c): deblur, ct, mri, inpaint")
            }
        }
        try rec.flush()
    }

    func median(_ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, options.repetitions) {
            let t = DispatchTime.now()
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) * 1e-9)
        }
        return times.sorted()[times.count / 2]
    }

    static func clip(_ x: [Double]) -> [Double] { x.map { min(max($0, 0), 1) } }

    static func quiet(_ n: Int, truth: [Double]? = nil) -> ReconstructionOptions {
        ReconstructionOptions(maxIterations: n, tolerance: 0, truth: truth, trackObjective: false, recordHistory: false)
    }

    /// The camera image of the deblurring peer (written by it, or by an earlier run).
    func cameraImage() throws -> [Double]? {
        let path = work + "/deblur_x_true.npy"
        if !FileManager.default.fileExists(atPath: path) {
            _ = runPeer("deblur_peer.py", ["--out", work + "/deblur", "--threads", "\(Threads.count)"], options: options)
        }
        return FileManager.default.fileExists(atPath: path) ? try NPY.read(path).doubles : nil
    }

    func deblur(_ rec: BenchRecorder) throws {
        print("== deblur (camera 256², Gaussian σ = 2, periodic, noise 0.01; inputs from deblur_peer.py)")
        let peers = runPeer("deblur_peer.py", ["--out", work + "/deblur", "--threads", "\(Threads.count)", "--admm-iters", "\(admmIterations)"],
                            options: options)
        guard FileManager.default.fileExists(atPath: work + "/deblur_y.npy") else {
            print("  (no inputs: deblur_peer.py did not run; needs numpy and scikit-image, --python names the interpreter)")
            return
        }
        let truth = try NPY.read(work + "/deblur_x_true.npy"), y = try NPY.read(work + "/deblur_y.npy").doubles
        let k = try NPY.read(work + "/deblur_kernel.npy")
        let blur = try Blur(imageShape: truth.shape, kernel: BlurKernel(values: k.doubles, shape: k.shape, normalize: false))
        let x = truth.doubles
        func score(_ est: [Double]) throws -> (Double, Double) {
            (try ImageMetrics.psnr(Self.clip(est), x, dataRange: 1), try ImageMetrics.ssim(Self.clip(est), x, shape: truth.shape, dataRange: 1))
        }
        let tikGrid = (0..<7).map { pow(10, -4 + 0.5 * Double($0)) }
        let dPer = try FiniteDifferenceGradient(imageShape: truth.shape, boundary: .periodic)
        let methods: [(String, [Double], (Double) throws -> [Double])] = [
            ("tikhonov_l2", tikGrid, { try Tikhonov(weight: $0).solve(model: blur, measurement: y).x }),
            ("tikhonov_grad", tikGrid, { try Tikhonov(weight: $0, regularizer: .gradient(.periodic)).solve(model: blur, measurement: y).x }),
            ("tv_admm", [2e-4, 5e-4, 1e-3, 2e-3, 5e-3], { lam in
                try ADMM(penalty: 10 * lam, options: Self.quiet(admmIterations))
                    .solve(model: blur, measurement: y, prior: GroupL1Norm(weight: lam, channels: 2), splitting: dPer).x }),
        ]
        var rows: [[String]] = []
        for (name, grid, solve) in methods {
            var best = (lam: grid[0], psnr: -Double.infinity)
            for lam in grid {
                let p = try score(try solve(lam)).0
                if p > best.psnr { best = (lam, p) }
            }
            var est: [Double] = []
            let seconds = try median { est = try solve(best.lam) }
            let (psnr, ssim) = try score(est)
            let peer = peers.first { ($0["tool"] as? String) == "numpy_" + name }
            let peerSeconds = peer?["seconds"] as? Double, peerPSNR = peer?["psnr"] as? Double
            rows.append([name, String(format: "%.3g", best.lam), String(format: "%.2f", psnr), String(format: "%.4f", ssim),
                         String(format: "%.4f", seconds),
                         peerPSNR.map { String(format: "%.2f", $0) } ?? "-", peerSeconds.map { String(format: "%.4f", $0) } ?? "-",
                         peerSeconds.map { String(format: "%.3f×", seconds / $0) } ?? "-",
                         peerPSNR.map { String(format: "%+.3f", psnr - $0) } ?? "-"])
            rec.record(["suite": "inverse", "case": "deblur_camera_256_gauss2_noise0.01", "tool": "swiftpde_" + name, "lam": best.lam,
                        "psnr": psnr, "ssim": ssim, "seconds": seconds, "peer_seconds": peerSeconds ?? NSNull(), "peer_psnr": peerPSNR ?? NSNull()])
        }
        printTable(["method", "λ", "PSNR", "SSIM", "seconds", "numpy PSNR", "numpy s", "time ratio", "ΔPSNR"], rows)
    }

    func ct(_ rec: BenchRecorder) throws {
        print("== ct (Shepp–Logan \(ctSize)², \(ctAngles) angles, noise \(ctNoise)·max; inputs from ct_peer.py)")
        let dir = work + "/ct"
        let peers = runPeer("ct_peer.py", ["--n", "\(ctSize)", "--angles", "\(ctAngles)", "--noise", "\(ctNoise)", "--out", dir], options: options)
        guard FileManager.default.fileExists(atPath: dir + "/ct_sinogram.npy") else {
            print("  (no inputs: ct_peer.py did not run; needs scikit-image)")
            return
        }
        let inputs = try CTBenchInputs(folder: dir)
        let (truth, sino, angles, n) = (inputs.truth, inputs.sinogram, inputs.anglesDegrees, inputs.size)
        func score(_ est: [Double]) throws -> (Double, Double) { try inputs.score(est) }
        let projector = try ParallelBeamProjector(size: n, anglesDegrees: angles)
        var rows: [[String]] = []
        var sinoOut = [Double](repeating: 0, count: projector.rangeCount)
        let tFwd = median { projector.apply(truth, into: &sinoOut) }
        let peerFwd = peers.first { ($0["tool"] as? String) == "skimage_radon" }?["seconds"] as? Double
        rows.append(["forward projection", "-", "-", String(format: "%.5f", tFwd), "-", peerFwd.map { String(format: "%.5f", $0) } ?? "-",
                     peerFwd.map { String(format: "%.3f×", tFwd / $0) } ?? "-"])
        rec.record(["suite": "inverse", "case": "ct_radon_\(n)_a\(angles.count)", "tool": "swiftpde_joseph", "seconds": tFwd, "peer_seconds": peerFwd ?? NSNull()])
        var bestFBP = -Double.infinity, bestPeerFBP = -Double.infinity
        for filter in [FBPFilter.ramp, .sheppLogan, .hann] {
            let fbp = try FilteredBackProjection(size: n, anglesDegrees: angles, filter: filter)
            var est: [Double] = []
            let t = try median { est = try fbp.reconstruct(sino) }
            let (psnr, ssim) = try score(est)
            let peer = peers.first { ($0["tool"] as? String) == "skimage_fbp_" + filter.rawValue }
            let ps = peer?["seconds"] as? Double, pp = peer?["psnr"] as? Double
            bestFBP = max(bestFBP, psnr)
            bestPeerFBP = max(bestPeerFBP, pp ?? -.infinity)
            rows.append(["fbp " + filter.rawValue, String(format: "%.2f", psnr), String(format: "%.4f", ssim), String(format: "%.5f", t),
                         pp.map { String(format: "%.2f", $0) } ?? "-", ps.map { String(format: "%.5f", $0) } ?? "-", ps.map { String(format: "%.3f×", t / $0) } ?? "-"])
            rec.record(["suite": "inverse", "case": "ct_shepp\(n)_a\(angles.count)_noise\(ctNoise)", "tool": "swiftpde_fbp_" + filter.rawValue,
                        "psnr": psnr, "ssim": ssim, "seconds": t, "peer_seconds": ps ?? NSNull(), "peer_psnr": pp ?? NSNull()])
        }
        // TV by PDHG (K = [A; ∇], x ≥ 0), λ by PSNR over a grid (the peers' oracle rule).
        let e = try InverseExperiment(task: .ct, model: projector, measurement: sino, truth: truth)
        var best = (lam: 0.0, psnr: -Double.infinity, ssim: 0.0, seconds: 0.0)
        for lam in [0.2, 0.3, 0.5, 0.7, 1.0] {
            var s = ReconstructionSettings()
            s.prior = "tv"; s.lambda = lam; s.nonnegative = true
            let t0 = DispatchTime.now()
            let r = try ReconstructionRegistry.method("pdhg").run(e, settings: s, options: Self.quiet(tvIterations))
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) * 1e-9
            let (p, q) = try score(r.x)
            if p > best.psnr { best = (lam, p, q, secs) }
        }
        let sart = peers.first { ($0["tool"] as? String)?.hasPrefix("skimage_sart") == true }
        rows.append(["tv pdhg λ=\(best.lam) (\(tvIterations) it)", String(format: "%.2f", best.psnr), String(format: "%.4f", best.ssim),
                     String(format: "%.3f", best.seconds), (sart?["psnr"] as? Double).map { String(format: "%.2f (SART)", $0) } ?? "-",
                     (sart?["seconds"] as? Double).map { String(format: "%.3f", $0) } ?? "-", "-"])
        rec.record(["suite": "inverse", "case": "ct_shepp\(n)_a\(angles.count)_noise\(ctNoise)", "tool": "swiftpde_tv_pdhg", "lam": best.lam,
                    "psnr": best.psnr, "ssim": best.ssim, "seconds": best.seconds, "iterations": tvIterations])
        printTable(["method", "PSNR", "SSIM", "seconds", "skimage PSNR", "skimage s", "time ratio"], rows)
        print(String(format: "best FBP: ours %.2f dB, scikit-image %.2f dB (Δ %+.2f); TV − best FBP = %+.2f dB", bestFBP, bestPeerFBP,
                     bestFBP - bestPeerFBP, best.psnr - bestFBP))
    }

    /// TV (PDHG, λ by PSNR over a grid) against the task's baseline on the camera image.
    func tvAgainstBaseline(_ rec: BenchRecorder, task: InverseTask, physics: PhysicsSettings, label: String, lambdas: [Double]) throws -> [String]? {
        guard let x = try cameraImage() else { print("  (no camera image: deblur_peer.py did not run)"); return nil }
        let e = try InverseExperiment.synthetic(task: task, truth: x, shape: [256, 256], physics: physics, noise: .gaussian(sigma: 0.01), noiseSeed: 0)
        let clip = Self.clip
        let base = (try ImageMetrics.psnr(clip(e.baseline.image), x, dataRange: 1), try ImageMetrics.ssim(clip(e.baseline.image), x, shape: [256, 256], dataRange: 1))
        var best = (lam: 0.0, psnr: -Double.infinity, ssim: 0.0, seconds: 0.0)
        for lam in lambdas {
            var s = ReconstructionSettings()
            s.prior = "tv"; s.lambda = lam
            let t0 = DispatchTime.now()
            let r = try ReconstructionRegistry.method("pdhg").run(e, settings: s, options: Self.quiet(tvIterations))
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) * 1e-9
            let p = try ImageMetrics.psnr(clip(r.x), x, dataRange: 1)
            if p > best.psnr { best = (lam, p, try ImageMetrics.ssim(clip(r.x), x, shape: [256, 256], dataRange: 1), secs) }
        }
        rec.record(["suite": "inverse", "case": label, "tool": "swiftpde_tv_pdhg", "lam": best.lam, "psnr": best.psnr, "ssim": best.ssim,
                    "seconds": best.seconds, "baseline": e.baseline.name, "baseline_psnr": base.0, "baseline_ssim": base.1])
        return [label, e.baseline.name, String(format: "%.2f", base.0), String(format: "%.4f", base.1), String(format: "%.3g", best.lam),
                String(format: "%.2f", best.psnr), String(format: "%.4f", best.ssim), String(format: "%+.2f", best.psnr - base.0),
                String(format: "%.2f", best.seconds)]
    }

    func mri(_ rec: BenchRecorder) throws {
        print("== mri (camera 256², 4×, noise 0.01 on the orthonormal k-space; TV by PDHG, \(tvIterations) iterations)")
        var rows: [[String]] = []
        for mask in ["random", "radial"] {
            var p = PhysicsSettings()
            p.mask = mask; p.acceleration = 4
            if let r = try tvAgainstBaseline(rec, task: .mri, physics: p, label: "mri_\(mask)_4x", lambdas: [1e-3, 2e-3, 5e-3, 1e-2, 2e-2]) { rows.append(r) }
        }
        printTable(["case", "baseline", "PSNR", "SSIM", "λ", "TV PSNR", "TV SSIM", "gain", "seconds"], rows)
    }

    func inpaint(_ rec: BenchRecorder) throws {
        print("== inpaint (camera 256², 50% pixels missing, noise 0.01; TV by PDHG, \(tvIterations) iterations)")
        var p = PhysicsSettings()
        p.missingFraction = 0.5
        if let r = try tvAgainstBaseline(rec, task: .inpaint, physics: p, label: "inpaint_50", lambdas: [2e-3, 5e-3, 1e-2, 2e-2]) {
            printTable(["case", "baseline", "PSNR", "SSIM", "λ", "TV PSNR", "TV SSIM", "gain", "seconds"], [r])
        }
    }
}

/// The CT inputs written by ct_peer.py (phantom, sinogram, angles) and the peer's score:
/// PSNR and SSIM of the estimate zeroed outside the inscribed circle and clipped to [0, 1].
struct CTBenchInputs {
    let truth: [Double], sinogram: [Double], anglesDegrees: [Double], size: Int
    let inside: [Bool]

    /// Reads `folder`/ct_phantom.npy, ct_sinogram.npy and ct_angles_deg.npy.
    init(folder dir: String) throws {
        let phantom = try NPY.read(dir + "/ct_phantom.npy")
        sinogram = try NPY.read(dir + "/ct_sinogram.npy").doubles
        anglesDegrees = try NPY.read(dir + "/ct_angles_deg.npy").doubles
        let n = phantom.shape[0]
        size = n
        truth = phantom.doubles
        let c = Double(n - 1) / 2
        inside = (0..<(n * n)).map { i -> Bool in
            let (r, q) = (Double(i / n) - c, Double(i % n) - c)
            return r * r + q * q <= Double(n * n) / 4
        }
    }

    /// (PSNR, SSIM) of `estimate` against `truth` (default: the phantom) as the peer scores.
    func score(_ estimate: [Double], truth t: [Double]? = nil) throws -> (Double, Double) {
        let e = (0..<estimate.count).map { inside[$0] ? min(max(estimate[$0], 0), 1) : 0 }
        let truth = t ?? self.truth
        return (try ImageMetrics.psnr(e, truth, dataRange: 1), try ImageMetrics.ssim(e, truth, shape: [size, size], dataRange: 1))
    }
}

