import AppSupport
import ArgumentParser
import Foundation
import Inverse
import Learning
import PDE

/// `pde-bench lpn`: evaluations of trained learned proximal networks (`pde-train lpn`) against
/// the issue's goals: the Laplace toy against soft-thresholding and |x|; denoising and
/// plug-and-play deblurring of held-out images against TV.
struct LPNSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpn",
        abstract: "Learned proximal networks: the Laplace toy, denoising and PnP deblurring of held-out images against TV.",
        discussion: """
        Cases: laplace (the model of data/configs/train-lpn-laplace.yaml: max |f(y) − soft(y, 1)|
        on [−3, 3], and max |R(x) − |x| − c| on [−2, 2] with the best constant c; a PNG of both
        curves in --out); denoise (the model of data/configs/train-lpn-images.yaml on the
        held-out images with Gaussian noise σ = 0.1: one pass of the network against the TV prox
        with the best weight per image); deblur (Gaussian blur σ = 1, periodic, noise 0.02:
        LPN-PnP-ADMM against TV-ADMM, each with the best weight of a grid per image, and the
        relative change of the PnP iterates in a plot).
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Cases (comma-separated): laplace, denoise, deblur.")
    var cases = "laplace,denoise,deblur"
    @Option(help: "Model of the Laplace toy (pde-train lpn data/configs/train-lpn-laplace.yaml).")
    var laplaceModel = "runs/lpn-laplace/model.safetensors"
    @Option(help: "Model of the image cases (pde-train lpn data/configs/train-lpn-images.yaml).")
    var imageModel = "runs/lpn-images/model.safetensors"
    @Option(help: "Held-out images (names in data/images, comma-separated).")
    var heldOut = "chelsea,coffee,rocket"
    @Option(help: "Folder of the images.")
    var images = "data/images"
    @Option(help: "ADMM iterations of the deblurring case (PnP and TV).")
    var admmIterations = 100
    @Option(help: "Folder for the plots.")
    var out = "bench-results/lpn"

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let rec = BenchRecorder(path: options.results)
        for c in cases.split(separator: ",").map(String.init) {
            switch c {
            case "laplace": try laplace(rec)
            case "denoise": try denoise(rec)
            case "deblur": try deblur(rec)
            default: throw ValidationError("unknown case \(c): laplace, denoise, deblur")
            }
        }
        try rec.flush()
    }

    /// Soft-thresholding at `t`: the prox of t|·|.
    static func softThreshold(_ y: Double, _ t: Double) -> Double { y > t ? y - t : (y < -t ? y + t : 0) }

    /// max |a − b − c| over the entries with the minimax constant c = (max(a − b) + min(a − b))/2.
    static func errorUpToConstant(_ a: [Double], _ b: [Double]) -> (error: Double, constant: Double) {
        let d = zip(a, b).map { $0 - $1 }
        let c = (d.max()! + d.min()!) / 2
        return (d.map { abs($0 - c) }.max()!, c)
    }

    func laplace(_ rec: BenchRecorder) throws {
        print("== laplace (LPN of \(laplaceModel) vs soft-thresholding at 1 and |x|)")
        let network = try LearnedProximalNetwork<Float>.load(from: laplaceModel)
        guard network.kind == .fullyConnected(dimension: 1) else {
            throw ValidationError("\(laplaceModel): a 1-D fully connected network expected (the Laplace toy), got \(network.kind)")
        }
        let reg = try LearnedRegularizer(network: network)
        let ys = (0...600).map { -3 + Double($0) / 100 }
        let t0 = Date()
        let prox = try ys.map { try reg.prox([$0])[0] }
        let proxError = zip(prox, ys).map { abs($0 - Self.softThreshold($1, 1)) }.max()!
        // R on [−2, 2], skipping x = 0 (any y in f's flat part inverts it; R is continuous there).
        let xs = (0...400).map { -2 + Double($0) / 100 }.filter { abs($0) > 1e-12 }
        var residual = 0.0
        let r = try xs.map { x -> Double in
            let e = try reg.evaluate([x])
            residual = max(residual, e.inversion.residual)
            return e.value
        }
        let seconds = Date().timeIntervalSince(t0)
        let (rError, constant) = Self.errorUpToConstant(r, xs.map { abs($0) })
        printTable(["quantity", "max error", "goal", "met"], [
            ["prox vs soft-threshold on [-3, 3]", String(format: "%.4f", proxError), "≤ 0.05", proxError <= 0.05 ? "yes" : "no"],
            ["R vs |x| + c on [-2, 2]", String(format: "%.4f (c = %.4f)", rError, constant), "≤ 0.1", rError <= 0.1 ? "yes" : "no"],
        ])
        print(String(format: "   %d prox evaluations and %d R evaluations in %.2f s; largest inversion residual %.1e", ys.count, xs.count,
                     seconds, residual))
        var plot = SVGLinePlot(title: "LPN on the Laplace toy", xLabel: "y (prox), x (R)", yLabel: "value")
        plot.series = [
            .init(label: "LPN prox f(y)", x: ys, y: prox),
            .init(label: "soft-threshold", x: ys, y: ys.map { Self.softThreshold($0, 1) }),
            .init(label: "LPN R(x) - c", x: xs, y: r.map { $0 - constant }),
            .init(label: "|x|", x: xs, y: xs.map { abs($0) }),
        ]
        let png = out + "/lpn_laplace.png"
        try plot.writePNG(to: png)
        try plot.render().write(toFile: out + "/lpn_laplace.svg", atomically: true, encoding: .utf8)
        print("   plot: \(png)")
        rec.record(["suite": "lpn", "case": "laplace_b1_sigma1", "tool": "swiftpde_lpn", "prox_error": proxError, "r_error": rError,
                    "r_constant": constant, "seconds": seconds, "model": laplaceModel])
    }

    // MARK: Images

    /// The held-out images, values in [0, 1], with their names.
    func heldOutImages() throws -> [(name: String, values: [Double], shape: [Int])] {
        try heldOut.split(separator: ",").map { name in
            let img = try PNGImage.readGray("\(images)/\(name).png")
            return (String(name), img.values, [img.height, img.width])
        }
    }

    func imageNetwork() throws -> LearnedProximalNetwork<Float> {
        let net = try LearnedProximalNetwork<Float>.load(from: imageModel)
        guard case .fullyConvolutional(1) = net.kind else {
            throw ValidationError("\(imageModel): a 1-channel fully convolutional network expected, got \(net.kind)")
        }
        return net
    }

    static func psnr(_ x: [Double], _ truth: [Double]) throws -> Double {
        try ImageMetrics.psnr(x.map { min(max($0, 0), 1) }, truth, dataRange: 1)
    }

    /// The best of `weights` by PSNR: (weight, PSNR, estimate).
    static func best(_ weights: [Double], truth: [Double], _ solve: (Double) throws -> [Double]) throws -> (weight: Double, psnr: Double, x: [Double]) {
        var best: (weight: Double, psnr: Double, x: [Double]) = (0, -.infinity, [])
        for w in weights {
            let x = try solve(w)
            let p = try psnr(x, truth)
            if p > best.psnr { best = (w, p, x) }
        }
        return best
    }

    func denoise(_ rec: BenchRecorder) throws {
        let sigma = 0.1
        print("== denoise (held-out \(heldOut), Gaussian noise σ = \(sigma); LPN \(imageModel) vs the TV prox, best weight per image)")
        let net = try imageNetwork()
        let tvWeights = [0.03, 0.05, 0.07, 0.09, 0.11, 0.14]
        var rows: [[String]] = [], sums = (noisy: 0.0, lpn: 0.0, tv: 0.0), lpnSeconds = 0.0
        let all = try heldOutImages()
        for (k, img) in all.enumerated() {
            let y = try NoiseModel.gaussian(sigma: sigma).corrupt(img.values, seed: 100 + UInt64(k))
            let prox = try LPNProx(network: net, imageShape: img.shape)
            let t0 = Date()
            let xl = try prox.prox(y, step: 1)
            let t = Date().timeIntervalSince(t0)
            lpnSeconds += t
            let tv = try Self.best(tvWeights, truth: img.values) { w in
                try TotalVariation(shape: img.shape, weight: w, maxIterations: 400, tolerance: 1e-7, warmStart: false).prox(y, step: 1)
            }
            let (pn, pl) = (try Self.psnr(y, img.values), try Self.psnr(xl, img.values))
            sums.noisy += pn; sums.lpn += pl; sums.tv += tv.psnr
            rows.append([img.name, String(format: "%.2f", pn), String(format: "%.2f", tv.psnr), String(format: "%.2f", tv.weight),
                         String(format: "%.2f", pl), String(format: "%+.2f", pl - tv.psnr), String(format: "%.3f", t)])
            rec.record(["suite": "lpn", "case": "denoise_\(img.name)_sigma\(sigma)", "tool": "swiftpde_lpn", "psnr": pl, "tv_psnr": tv.psnr,
                        "tv_weight": tv.weight, "noisy_psnr": pn, "seconds": t, "model": imageModel])
        }
        let n = Double(all.count)
        rows.append(["mean", String(format: "%.2f", sums.noisy / n), String(format: "%.2f", sums.tv / n), "",
                     String(format: "%.2f", sums.lpn / n), String(format: "%+.2f", (sums.lpn - sums.tv) / n), String(format: "%.3f", lpnSeconds / n)])
        printTable(["image", "noisy dB", "TV dB", "TV λ", "LPN dB", "LPN − TV", "LPN s"], rows)
        print(String(format: "   goal LPN ≥ TV + 1 dB (mean): %@", (sums.lpn - sums.tv) / n >= 1 ? "met" : "not met"))
    }

    func deblur(_ rec: BenchRecorder) throws {
        let (blurSigma, noise) = (1.0, 0.02)
        print("== deblur (held-out \(heldOut), Gaussian blur σ = \(blurSigma), periodic, noise \(noise); \(admmIterations) ADMM iterations: "
              + "LPN-PnP vs TV, best weight of a grid per image)")
        let net = try imageNetwork()
        // ρ weighs the learned prior: ADMM with the fixed prox f = prox_R minimizes ½‖Ax − y‖² + ρR(x).
        let rhos = [0.02, 0.04, 0.08, 0.16]
        let lambdas = [0.002, 0.004, 0.008, 0.016]
        var rows: [[String]] = [], sums = (lpn: 0.0, tv: 0.0), perIteration = 0.0
        var plot = SVGLinePlot(title: "LPN-PnP-ADMM deblurring: relative change", xLabel: "iteration", yLabel: "||x_k+1 - x_k|| / ||x_k||", logY: true)
        let all = try heldOutImages()
        for (k, img) in all.enumerated() {
            let blur = try Blur(imageShape: img.shape, kernel: try .gaussian(sigma: blurSigma))
            let y = try NoiseModel.gaussian(sigma: noise).corrupt(try blur(img.values), seed: 200 + UInt64(k))
            var runs: [Double: (history: [Double], seconds: Double)] = [:]
            let lpn = try Self.best(rhos, truth: img.values) { rho in
                let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: true)
                let r = try ADMM(penalty: rho, options: options).solve(model: blur, measurement: y,
                                                                       prior: try LPNProx(network: net, imageShape: img.shape))
                runs[rho] = (r.report.history.map(\.relativeChange), r.report.seconds / Double(max(1, r.report.iterations)))
                return r.x
            }
            let (history, seconds) = runs[lpn.weight] ?? ([], .nan)
            perIteration += seconds
            plot.series.append(.init(label: "\(img.name), rho \(lpn.weight)", x: history.indices.map { Double($0 + 1) }, y: history))
            let tv = try Self.best(lambdas, truth: img.values) { lam in
                let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: false)
                return try ADMM(penalty: 10 * lam, options: options).solve(model: blur, measurement: y,
                                                                           prior: try TotalVariation(shape: img.shape, weight: lam)).x
            }
            sums.lpn += lpn.psnr; sums.tv += tv.psnr
            rows.append([img.name, String(format: "%.2f", try Self.psnr(y, img.values)), String(format: "%.2f (λ %.3g)", tv.psnr, tv.weight),
                         String(format: "%.2f (ρ %.3g)", lpn.psnr, lpn.weight), String(format: "%+.2f", lpn.psnr - tv.psnr),
                         String(format: "%.1e", history.last ?? Double.nan), String(format: "%.3f", seconds)])
            rec.record(["suite": "lpn", "case": "deblur_\(img.name)_gauss\(blurSigma)_noise\(noise)", "tool": "swiftpde_lpn_pnp_admm",
                        "psnr": lpn.psnr, "rho": lpn.weight, "tv_psnr": tv.psnr, "tv_lambda": tv.weight, "iterations": admmIterations,
                        "final_relative_change": history.last ?? NSNull(), "seconds_per_iteration": seconds, "model": imageModel])
        }
        let n = Double(all.count)
        rows.append(["mean", "", String(format: "%.2f", sums.tv / n), String(format: "%.2f", sums.lpn / n),
                     String(format: "%+.2f", (sums.lpn - sums.tv) / n), "", String(format: "%.3f", perIteration / n)])
        printTable(["image", "blurred dB", "TV-ADMM dB", "LPN-PnP dB", "LPN − TV", "last rel. change", "s / iteration"], rows)
        print(String(format: "   goal LPN-PnP ≥ TV-ADMM + 1 dB (mean): %@", (sums.lpn - sums.tv) / n >= 1 ? "met" : "not met"))
        let png = out + "/lpn_deblur_convergence.png"
        try plot.writePNG(to: png)
        print("   plot: \(png)")
    }
}
