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
        Cases: laplace (the model of data/configs/train-lpn-laplace-exact.yaml: max |f(y) − soft(y, 1)|
        on [−3, 3], and max |R(x) − |x| − c| on [−2, 2] with the best constant c; a PNG of both
        curves in --out); denoise (the model of data/configs/train-lpn-images.yaml on the
        held-out images with Gaussian noise σ = 0.1: one pass of the network against the TV prox
        with the best weight per image); deblur (Gaussian blur σ = 1, periodic, noise 0.02:
        LPN-PnP-ADMM against TV-ADMM, each with the best weight of a grid per image, and the
        relative change of the PnP iterates in a plot); mri (4× random phase-encode lines with
        an 8% centre band, noise 0.01 on the orthonormal k-space: LPN-PnP-ADMM against TV-ADMM
        and the zero-filled inverse, best weight of a grid per image); ct (ct_peer.py --n 128 --angles 60
        --noise 0.02: FBP, TV by PDHG and LPN-PnP-ADMM with the phantom-trained model on the
        Shepp–Logan phantom; and the same with the natural-image model on a held-out image,
        block-averaged to 128², measured by our projector with the same relative noise). Weights
        are chosen by PSNR over a grid (the peers' oracle rule), scores inside the scanned circle);
        timing (training steps of --train-config, median of --repeat runs of 5 steps each after 2
        warm-up steps; one prox of its network on a 256² image, the PnP iterations' prior cost;
        both against benchmarks/peers/lpn_peer.py, the same network in PyTorch, when --python
        has torch).
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Cases (comma-separated): laplace, denoise, deblur, mri, ct, timing, lipschitz.")
    var cases = "laplace,denoise,deblur,mri,ct,timing"
    @Option(help: "Training config timed by the timing case.")
    var trainConfig = "data/configs/train-lpn-images.yaml"
    @Option(help: "Model of the Laplace toy (pde-train lpn data/configs/train-lpn-laplace-exact.yaml).")
    var laplaceModel = "runs/lpn-laplace-exact/model.safetensors"
    @Option(help: "Model of the image cases (pde-train lpn data/configs/train-lpn-images.yaml).")
    var imageModel = "runs/lpn-images/model.safetensors"
    @Option(help: "Held-out images (names in data/images, comma-separated).")
    var heldOut = "chelsea,coffee,rocket"
    @Option(help: "Folder of the images.")
    var images = "data/images"
    @Option(help: "ADMM iterations of the deblurring, MRI and CT cases (PnP; and TV for deblurring and MRI).")
    var admmIterations = 100
    @Option(help: "ADMM penalties ρ tried by the deblurring and MRI cases (comma-separated; ρ weighs the learned prior).")
    var deblurRhos = "0.02,0.04,0.08,0.16"
    @Option(help: "Weights ρ of the learned regularizer tried by the denoising case's MAP estimate argmin ½‖x − y‖² + ρR(x), by LPN-PnP-ADMM with --admm-iterations (comma-separated; ρ = 1 is the network's one pass; empty: the one pass only).")
    var denoiseRhos = ""
    @Option(help: "Model of the CT case (pde-train lpn data/configs/train-lpn-phantoms.yaml).")
    var phantomModel = "runs/lpn-phantoms/model.safetensors"
    @Option(help: "Folder of ct_peer.py's inputs (shared with pde-bench inverse).")
    var work = "bench-results/inverse"
    @Option(help: "CT: image size, angles, noise (relative to the sinogram's maximum), as ct_peer.py.")
    var ctSize = 128
    @Option var ctAngles = 60
    @Option var ctNoise = 0.02
    @Option(help: "PDHG iterations of the TV reconstructions for CT.")
    var tvIterations = 1000
    @Option(help: "CT: ADMM penalties ρ tried by LPN-PnP (comma-separated; in sinogram units, ‖A‖² ≈ 7300).")
    var ctRhos = "10,20,40,80,160,320,640"
    @Option(help: "Folder for the plots.")
    var out = "bench-results/lpn"
    @Option(help: "Symmetries the networks are averaged over in every case: none, negation (y and −y: the Laplace toy), flips (4 passes per prox) or dihedral (8; square images). The average is still an exact prox.")
    var symmetries = "none"
    @Option(help: "Relaxation α ∈ (0, 2) of LPN-PnP-ADMM (1: plain ADMM, below 1 damps).")
    var admmRelaxation = 1.0
    @Option(help: "Denoiser scaling s > 0 of the networks in every case: f_s(v) = c + (f(c + s(v − c)) − c)/s, the exact prox of R(c + s(x − c))/s² (s > 1 weakens the prior).")
    var lpnScale = 1.0
    @Option(help: "Centre c of the denoiser scaling.")
    var lpnCenter = 0.0

    /// `--symmetries`, validated.
    func parsedSymmetries() throws -> LPNSymmetries {
        guard let g = LPNSymmetries(rawValue: symmetries) else {
            throw ValidationError("--symmetries: '\(symmetries)' is not one of " + LPNSymmetries.names)
        }
        return g
    }

    /// `--lpn-scale` and `--lpn-center`, validated.
    func parsedScaling() throws -> LPNScaling {
        do { return try LPNScaling(scale: lpnScale, center: lpnCenter) } catch {
            throw ValidationError("--lpn-scale \(lpnScale) / --lpn-center \(lpnCenter): \(error)")
        }
    }

    /// ", scaling s = …, c = …" unless the scaling is the identity.
    var scalingNote: String { lpnScale == 1 && lpnCenter == 0 ? "" : ", scaling s = \(lpnScale), c = \(lpnCenter)" }

    func run() throws {
        try options.validateRelease()
        _ = try parsedSymmetries()
        _ = try parsedScaling()
        guard admmRelaxation > 0, admmRelaxation < 2 else { throw ValidationError("--admm-relaxation: \(admmRelaxation) is not in (0, 2)") }
        Threads.configure()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let rec = BenchRecorder(path: options.results)
        for c in cases.split(separator: ",").map(String.init) {
            switch c {
            case "laplace": try laplace(rec)
            case "denoise": try denoise(rec)
            case "deblur": try deblur(rec)
            case "ct": try ct(rec)
            case "mri": try mri(rec)
            case "timing": try timing(rec)
            case "lipschitz": try lipschitz(rec)
            default: throw ValidationError("unknown case \(c): laplace, denoise, deblur, mri, ct, timing, lipschitz")
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
        let reg = try LearnedRegularizer(network: network, symmetries: parsedSymmetries(), scaling: parsedScaling())
        if reg.symmetries != .none { print("   averaged over \(reg.symmetries.rawValue) (\(reg.symmetries.order) passes per evaluation)") }
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
        // What a schedule ending at γ can reach at best: the loss's own minimizer f_γ from the
        // exact posterior (odd in y, so y ∈ [0, 3] suffices), and how much the expected loss on
        // [−3, 3] prefers it to the network and to soft-thresholding.
        var rows: [[String]] = []
        let soft = ys.map { Self.softThreshold($0, 1) }
        for gamma in [0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01] {
            let half = try (0...300).map { try ProximalMatchingLoss.laplaceMinimizer(y: Double($0) / 100, gamma: gamma) }
            let best = half.reversed().dropLast().map { -$0 } + half
            let errors = zip(best, soft).map { abs($0 - $1) }
            let worst = errors.indices.max { errors[$0] < errors[$1] }!
            let minimum = try ProximalMatchingLoss.laplaceExpectedLoss(values: best, on: ys, gamma: gamma)
            let excess = try [prox, soft].map { try ProximalMatchingLoss.laplaceExpectedLoss(values: $0, on: ys, gamma: gamma) - minimum }
            rows.append([String(format: "%.2f", gamma), String(format: "%.4f", errors[worst]), String(format: "%.2f", abs(ys[worst])),
                         String(format: "%.6f", minimum), String(format: "%+.2e", excess[0]), String(format: "%+.2e", excess[1])])
            rec.record(["suite": "lpn", "case": "laplace_expected_loss", "tool": "swiftpde_lpn", "gamma": gamma, "minimizer_error": errors[worst],
                        "minimum_loss": minimum, "network_excess": excess[0], "soft_excess": excess[1], "model": laplaceModel])
        }
        print("   the proximal-matching loss's own minimizer f_γ (exact posterior) vs soft-thresholding on [-3, 3], and the")
        print("   expected loss on [-3, 3] (the mean of training batches there): its minimum L*, and the network's and")
        print("   soft-thresholding's excess over it")
        printTable(["γ", "max |f_γ − soft|", "at |y|", "L*", "network − L*", "soft − L*"], rows)
    }

    // MARK: Images

    /// The held-out images, values in [0, 1], with their names.
    func heldOutImages() throws -> [(name: String, values: [Double], shape: [Int])] {
        try heldOut.split(separator: ",").map { name in
            let img = try PNGImage.readGray("\(images)/\(name).png")
            return (String(name), img.values, [img.height, img.width])
        }
    }

    func imageNetwork(_ path: String? = nil) throws -> LearnedProximalNetwork<Float> {
        let file = path ?? imageModel
        let net = try LearnedProximalNetwork<Float>.load(from: file)
        guard case .fullyConvolutional(1) = net.kind else {
            throw ValidationError("\(file): a 1-channel fully convolutional network expected, got \(net.kind)")
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
        print("== denoise (held-out \(heldOut), Gaussian noise σ = \(sigma); LPN \(imageModel), symmetries \(symmetries)\(scalingNote), vs the TV prox, best weight per image)")
        let net = try imageNetwork()
        let tvWeights = [0.03, 0.05, 0.07, 0.09, 0.11, 0.14]
        var rows: [[String]] = [], sums = (noisy: 0.0, lpn: 0.0, tv: 0.0, map: 0.0), lpnSeconds = 0.0
        let rhos = denoiseRhos.isEmpty ? [] : try parsedRhos(denoiseRhos, option: "--denoise-rhos")
        if !rhos.isEmpty { print("   and the MAP estimate argmin ½‖x − y‖² + ρR(x) by LPN-PnP-ADMM (\(admmIterations) it, relaxation α = \(admmRelaxation)), ρ in \(rhos)") }
        let all = try heldOutImages()
        for (k, img) in all.enumerated() {
            let y = try NoiseModel.gaussian(sigma: sigma).corrupt(img.values, seed: 100 + UInt64(k))
            let prox = try LPNProx(network: net, imageShape: img.shape, symmetries: parsedSymmetries(), scaling: parsedScaling())
            let t0 = Date()
            let xl = try prox.prox(y, step: 1)
            let t = Date().timeIntervalSince(t0)
            lpnSeconds += t
            let tv = try Self.best(tvWeights, truth: img.values) { w in
                try TotalVariation(shape: img.shape, weight: w, maxIterations: 400, tolerance: 1e-7, warmStart: false).prox(y, step: 1)
            }
            let (pn, pl) = (try Self.psnr(y, img.values), try Self.psnr(xl, img.values))
            sums.noisy += pn; sums.lpn += pl; sums.tv += tv.psnr
            var row = [img.name, String(format: "%.2f", pn), String(format: "%.2f", tv.psnr), String(format: "%.2f", tv.weight),
                       String(format: "%.2f", pl), String(format: "%+.2f", pl - tv.psnr), String(format: "%.3f", t)]
            var record: [String: Any] = ["suite": "lpn", "case": "denoise_\(img.name)_sigma\(sigma)", "tool": "swiftpde_lpn", "psnr": pl, "tv_psnr": tv.psnr,
                                         "tv_weight": tv.weight, "noisy_psnr": pn, "seconds": t, "model": imageModel, "symmetries": symmetries,
                                         "scale": lpnScale, "center": lpnCenter]
            if !rhos.isEmpty {
                // MAP with the regularizer's weight chosen per image, as TV's: ADMM on
                // ½‖x − y‖² + ρR(x) from x = y, the fixed prox f = prox_R as the prior step.
                var changes: [Double: Double] = [:]
                let map = try Self.best(rhos, truth: img.values) { rho in
                    let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: true)
                    let r = try ADMM(penalty: rho, options: options, relaxation: admmRelaxation).solve(model: try IdentityModel(shape: img.shape),
                                                                                                      measurement: y, prior: prox)
                    changes[rho] = r.report.history.last?.relativeChange ?? .nan
                    return r.x
                }
                sums.map += map.psnr
                row += [String(format: "%.2f (ρ %.3g)", map.psnr, map.weight), String(format: "%+.2f", map.psnr - tv.psnr),
                        String(format: "%.1e", changes[map.weight] ?? .nan)]
                record["map_psnr"] = map.psnr
                record["map_rho"] = map.weight
                record["map_iterations"] = admmIterations
                record["map_final_relative_change"] = changes[map.weight] ?? NSNull()
            }
            rows.append(row)
            rec.record(record)
        }
        let n = Double(all.count)
        var mean = ["mean", String(format: "%.2f", sums.noisy / n), String(format: "%.2f", sums.tv / n), "",
                    String(format: "%.2f", sums.lpn / n), String(format: "%+.2f", (sums.lpn - sums.tv) / n), String(format: "%.3f", lpnSeconds / n)]
        var header = ["image", "noisy dB", "TV dB", "TV λ", "LPN dB", "LPN − TV", "LPN s"]
        if !rhos.isEmpty {
            mean += [String(format: "%.2f", sums.map / n), String(format: "%+.2f", (sums.map - sums.tv) / n), ""]
            header += ["LPN MAP dB (ρ)", "MAP − TV", "last rel. change"]
        }
        rows.append(mean)
        printTable(header, rows)
        print(String(format: "   goal LPN ≥ TV + 1 dB (mean): %@", (max(sums.lpn, rhos.isEmpty ? -.infinity : sums.map) - sums.tv) / n >= 1 ? "met" : "not met"))
    }

    /// The local Lipschitz constant L = λ_max(∇f) of the image network (power iteration) at
    /// each held-out image: clean, with the denoising case's noise (σ = 0.1) and the deblurring
    /// case's measurement (blur σ = 1, noise 0.02), with R's weak-convexity modulus 1 − 1/L.
    func lipschitz(_ rec: BenchRecorder) throws {
        print("== lipschitz (held-out \(heldOut); L = λ_max(∇f) of \(imageModel), symmetries \(symmetries)\(scalingNote), by power iteration, "
              + "50 iterations at most, relative tolerance 1e-3)")
        let net = try imageNetwork()
        var rows: [[String]] = []
        for (k, img) in try heldOutImages().enumerated() {
            let prox = try LPNProx(network: net, imageShape: img.shape, symmetries: parsedSymmetries(), scaling: parsedScaling())
            let blur = try Blur(imageShape: img.shape, kernel: try .gaussian(sigma: 1))
            let points: [(String, [Double])] = [
                ("clean", img.values),
                ("noisy σ 0.1", try NoiseModel.gaussian(sigma: 0.1).corrupt(img.values, seed: 100 + UInt64(k))),
                ("blurred, noise 0.02", try NoiseModel.gaussian(sigma: 0.02).corrupt(try blur(img.values), seed: 200 + UInt64(k))),
            ]
            for (label, y) in points {
                let t0 = Date()
                let l = try prox.regularizer.localLipschitz(at: y)
                let seconds = Date().timeIntervalSince(t0)
                rows.append([img.name, label, String(format: "%.3f", l.value), String(format: "%.3f", l.weakConvexity),
                             "\(l.iterations)\(l.converged ? "" : " (limit)")", String(format: "%.1f", seconds)])
                rec.record(["suite": "lpn", "case": "lipschitz_\(img.name)_\(label.replacingOccurrences(of: " ", with: "_"))",
                            "tool": "swiftpde_lpn", "lipschitz": l.value, "weak_convexity": l.weakConvexity, "iterations": l.iterations,
                            "converged": l.converged, "seconds": seconds, "model": imageModel, "symmetries": symmetries, "scale": lpnScale, "center": lpnCenter])
            }
        }
        printTable(["image", "at", "L", "1 − 1/L", "iterations", "s"], rows)
    }

    /// PnP-ADMM with the learned prox over `rhos` and TV-ADMM (ρ = 10λ) over `lambdas`, each
    /// at its best weight by PSNR, on one image: the two results, and the relative-change
    /// history and seconds per iteration of the best PnP run.
    func pnpVersusTV<M: ForwardModel>(_ model: M, measurement y: [Double], image img: (name: String, values: [Double], shape: [Int]),
                                      network net: LearnedProximalNetwork<Float>, rhos: [Double], lambdas: [Double]) throws
        -> (lpn: (weight: Double, psnr: Double, x: [Double]), tv: (weight: Double, psnr: Double, x: [Double]), history: [Double], seconds: Double) {
        var runs: [Double: (history: [Double], seconds: Double)] = [:]
        let lpn = try Self.best(rhos, truth: img.values) { rho in
            let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: true)
            let r = try ADMM(penalty: rho, options: options, relaxation: admmRelaxation).solve(model: model, measurement: y,
                                                                   prior: try LPNProx(network: net, imageShape: img.shape, symmetries: parsedSymmetries(), scaling: parsedScaling()))
            runs[rho] = (r.report.history.map(\.relativeChange), r.report.seconds / Double(max(1, r.report.iterations)))
            return r.x
        }
        let tv = try Self.best(lambdas, truth: img.values) { lam in
            let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: false)
            return try ADMM(penalty: 10 * lam, options: options).solve(model: model, measurement: y,
                                                                       prior: try TotalVariation(shape: img.shape, weight: lam)).x
        }
        let (history, seconds) = runs[lpn.weight] ?? ([], .nan)
        return (lpn, tv, history, seconds)
    }

    /// The ρ grid of `--deblur-rhos` (or of another option's `text`).
    func parsedRhos(_ text: String? = nil, option: String = "--deblur-rhos") throws -> [Double] {
        try (text ?? deblurRhos).split(separator: ",").map { t -> Double in
            guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v > 0, v.isFinite else {
                throw ValidationError("\(option): '\(t)' is not a positive number")
            }
            return v
        }
    }

    func deblur(_ rec: BenchRecorder) throws {
        let (blurSigma, noise) = (1.0, 0.02)
        print("== deblur (held-out \(heldOut), Gaussian blur σ = \(blurSigma), periodic, noise \(noise); \(admmIterations) ADMM iterations: "
              + "LPN-PnP vs TV, best weight of a grid per image)")
        let net = try imageNetwork()
        // ρ weighs the learned prior: ADMM with the fixed prox f = prox_R minimizes ½‖Ax − y‖² + ρR(x).
        let rhos = try parsedRhos()
        print("   model \(imageModel), ρ in \(rhos), symmetries \(symmetries)\(scalingNote), relaxation α = \(admmRelaxation)")
        let lambdas = [0.002, 0.004, 0.008, 0.016]
        var rows: [[String]] = [], sums = (lpn: 0.0, tv: 0.0), perIteration = 0.0
        var plot = SVGLinePlot(title: "LPN-PnP-ADMM deblurring: relative change", xLabel: "iteration", yLabel: "||x_k+1 - x_k|| / ||x_k||", logY: true)
        let all = try heldOutImages()
        for (k, img) in all.enumerated() {
            let blur = try Blur(imageShape: img.shape, kernel: try .gaussian(sigma: blurSigma))
            let y = try NoiseModel.gaussian(sigma: noise).corrupt(try blur(img.values), seed: 200 + UInt64(k))
            let (lpn, tv, history, seconds) = try pnpVersusTV(blur, measurement: y, image: img, network: net, rhos: rhos, lambdas: lambdas)
            perIteration += seconds
            plot.series.append(.init(label: "\(img.name), rho \(lpn.weight)", x: history.indices.map { Double($0 + 1) }, y: history))
            sums.lpn += lpn.psnr; sums.tv += tv.psnr
            rows.append([img.name, String(format: "%.2f", try Self.psnr(y, img.values)), String(format: "%.2f (λ %.3g)", tv.psnr, tv.weight),
                         String(format: "%.2f (ρ %.3g)", lpn.psnr, lpn.weight), String(format: "%+.2f", lpn.psnr - tv.psnr),
                         String(format: "%.1e", history.last ?? Double.nan), String(format: "%.3f", seconds)])
            rec.record(["suite": "lpn", "case": "deblur_\(img.name)_gauss\(blurSigma)_noise\(noise)", "tool": "swiftpde_lpn_pnp_admm",
                        "psnr": lpn.psnr, "rho": lpn.weight, "tv_psnr": tv.psnr, "tv_lambda": tv.weight, "iterations": admmIterations,
                        "final_relative_change": history.last ?? NSNull(), "seconds_per_iteration": seconds, "model": imageModel,
                        "symmetries": symmetries, "scale": lpnScale, "center": lpnCenter, "relaxation": admmRelaxation])
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

    func mri(_ rec: BenchRecorder) throws {
        let (acceleration, noise) = (4.0, 0.01)
        print("== mri (held-out \(heldOut), 4× random phase-encode lines with an 8% centre band, noise \(noise) on the orthonormal "
              + "k-space; \(admmIterations) ADMM iterations: LPN-PnP vs TV, best weight of a grid per image)")
        let net = try imageNetwork()
        let rhos = try parsedRhos()
        print("   model \(imageModel), ρ in \(rhos), symmetries \(symmetries)\(scalingNote), relaxation α = \(admmRelaxation)")
        let lambdas = [0.001, 0.002, 0.005, 0.01]
        var rows: [[String]] = [], sums = (zero: 0.0, lpn: 0.0, tv: 0.0), perIteration = 0.0
        var plot = SVGLinePlot(title: "LPN-PnP-ADMM, CS-MRI 4x: relative change", xLabel: "iteration", yLabel: "||x_k+1 - x_k|| / ||x_k||",
                               logY: true)
        let all = try heldOutImages()
        for (k, img) in all.enumerated() {
            let mask = try SamplingMask.random(shape: img.shape, acceleration: acceleration, centerFraction: 0.08, seed: 1 + UInt64(k))
            let model = try SubsampledFourier(shape: img.shape, mask: mask)
            let y = try NoiseModel.gaussian(sigma: noise).corrupt(try model(img.values), seed: 300 + UInt64(k))
            let zero = try Self.psnr(try model.zeroFilled(y), img.values)
            let (lpn, tv, history, seconds) = try pnpVersusTV(model, measurement: y, image: img, network: net, rhos: rhos, lambdas: lambdas)
            perIteration += seconds
            plot.series.append(.init(label: "\(img.name), rho \(lpn.weight)", x: history.indices.map { Double($0 + 1) }, y: history))
            sums.zero += zero; sums.lpn += lpn.psnr; sums.tv += tv.psnr
            rows.append([img.name, String(format: "%.2f", zero), String(format: "%.2f (λ %.3g)", tv.psnr, tv.weight),
                         String(format: "%.2f (ρ %.3g)", lpn.psnr, lpn.weight), String(format: "%+.2f", lpn.psnr - tv.psnr),
                         String(format: "%.1e", history.last ?? Double.nan), String(format: "%.3f", seconds)])
            rec.record(["suite": "lpn", "case": "mri_\(img.name)_random4x_noise\(noise)", "tool": "swiftpde_lpn_pnp_admm",
                        "psnr": lpn.psnr, "rho": lpn.weight, "tv_psnr": tv.psnr, "tv_lambda": tv.weight, "zero_filled_psnr": zero,
                        "iterations": admmIterations, "final_relative_change": history.last ?? NSNull(), "seconds_per_iteration": seconds,
                        "model": imageModel, "symmetries": symmetries, "scale": lpnScale, "center": lpnCenter, "relaxation": admmRelaxation])
        }
        let n = Double(all.count)
        rows.append(["mean", String(format: "%.2f", sums.zero / n), String(format: "%.2f", sums.tv / n), String(format: "%.2f", sums.lpn / n),
                     String(format: "%+.2f", (sums.lpn - sums.tv) / n), "", String(format: "%.3f", perIteration / n)])
        printTable(["image", "zero-filled dB", "TV-ADMM dB", "LPN-PnP dB", "LPN − TV", "last rel. change", "s / iteration"], rows)
        let png = out + "/lpn_mri_convergence.png"
        try plot.writePNG(to: png)
        print("   plot: \(png)")
    }

    // MARK: CT

    func ct(_ rec: BenchRecorder) throws {
        print("== ct (ct_peer.py --n \(ctSize) --angles \(ctAngles) --noise \(ctNoise): FBP, TV-PDHG (\(tvIterations) it), "
              + "LPN-PnP-ADMM (\(admmIterations) it, symmetries \(symmetries)\(scalingNote), relaxation α = \(admmRelaxation)); weights by PSNR over a grid)")
        let rhos = try parsedRhos(ctRhos, option: "--ct-rhos")
        let dir = work + "/ct"
        if !FileManager.default.fileExists(atPath: dir + "/ct_sinogram.npy") {
            _ = runPeer("ct_peer.py", ["--n", "\(ctSize)", "--angles", "\(ctAngles)", "--noise", "\(ctNoise)", "--out", dir], options: options)
        }
        guard FileManager.default.fileExists(atPath: dir + "/ct_sinogram.npy") else {
            print("  (no inputs: ct_peer.py did not run; needs scikit-image)")
            return
        }
        let inputs = try CTBenchInputs(folder: dir)
        let n = inputs.size
        let projector = try ParallelBeamProjector(size: n, anglesDegrees: inputs.anglesDegrees)
        var rows: [[String]] = []
        let shepp = try ctCompare(rec, object: "shepp-logan", truth: inputs.truth, sinogram: inputs.sinogram, inputs: inputs, projector: projector,
                                  network: try imageNetwork(phantomModel), model: phantomModel, rhos: rhos, rows: &rows)
        // A held-out natural image as the object: block-averaged to n × n, the same relative noise.
        let name = heldOut.split(separator: ",").first.map(String.init) ?? "chelsea"
        let path = "\(images)/\(name).png"
        let size = try PNGImage.readGray(path)
        let f = size.width / n
        guard f >= 1, size.width == f * n, size.height == f * n else {
            throw ValidationError("\(name).png: \(size.width) × \(size.height) is not a multiple of the CT size \(n)")
        }
        let object = try TestImage.load(path, block: f).values
        let masked = (0..<(n * n)).map { inputs.inside[$0] ? object[$0] : 0 }
        let clean = try projector(masked)
        let peak = clean.map(abs).max() ?? 1
        let sino = try NoiseModel.gaussian(sigma: ctNoise * peak).corrupt(clean, seed: 300)
        let natural = try ctCompare(rec, object: name, truth: masked, sinogram: sino, inputs: inputs, projector: projector,
                                    network: try imageNetwork(), model: imageModel, rhos: rhos, rows: &rows)
        printTable(["object", "method", "weight", "PSNR", "SSIM", "seconds", "s / iteration"], rows)
        print(String(format: "   Shepp–Logan: LPN − FBP %+.2f dB (goal ≥ +5), LPN − TV %+.2f dB (goal ≥ −0.5); %@: LPN − TV %+.2f dB (goal ≥ 0)",
                     shepp.lpn - shepp.fbp, shepp.lpn - shepp.tv, name, natural.lpn - natural.tv))
    }

    /// FBP (best filter), TV by PDHG and LPN-PnP-ADMM (best ρ of `rhos`) on one CT measurement:
    /// PSNRs, with a table row each.
    func ctCompare(_ rec: BenchRecorder, object: String, truth: [Double], sinogram: [Double], inputs: CTBenchInputs,
                   projector: ParallelBeamProjector, network: LearnedProximalNetwork<Float>, model: String, rhos: [Double],
                   rows: inout [[String]]) throws -> (fbp: Double, tv: Double, lpn: Double) {
        let n = inputs.size
        let label = "ct_\(object)\(n)_a\(inputs.anglesDegrees.count)_noise\(ctNoise)"
        var fbp = (filter: FBPFilter.ramp, psnr: -Double.infinity, ssim: 0.0, x: [Double]())
        for filter in [FBPFilter.ramp, .sheppLogan, .hann] {
            let x = try FilteredBackProjection(size: n, anglesDegrees: inputs.anglesDegrees, filter: filter).reconstruct(sinogram)
            let (p, q) = try inputs.score(x, truth: truth)
            if p > fbp.psnr { fbp = (filter, p, q, x) }
        }
        rows.append([object, "fbp", fbp.filter.rawValue, String(format: "%.2f", fbp.psnr), String(format: "%.4f", fbp.ssim), "-", "-"])
        let e = try InverseExperiment(task: .ct, model: projector, measurement: sinogram, truth: truth)
        var tv = (lam: 0.0, psnr: -Double.infinity, ssim: 0.0, seconds: 0.0)
        for lam in [0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0] {
            var s = ReconstructionSettings()
            s.prior = "tv"; s.lambda = lam; s.nonnegative = true
            let options = ReconstructionOptions(maxIterations: tvIterations, tolerance: 0, trackObjective: false, recordHistory: false)
            let r = try ReconstructionRegistry.method("pdhg").run(e, settings: s, options: options)
            let (p, q) = try inputs.score(r.x, truth: truth)
            if p > tv.psnr { tv = (lam, p, q, r.report.seconds) }
        }
        rows.append([object, "tv-pdhg", "λ \(tv.lam)", String(format: "%.2f", tv.psnr), String(format: "%.4f", tv.ssim),
                     String(format: "%.2f", tv.seconds), String(format: "%.4f", tv.seconds / Double(tvIterations))])
        // ρ weighs the learned prior: ½‖Ax − y‖² + ρR(x); the data term is in sinogram units (‖A‖² ≈ 7300).
        var lpn = (rho: 0.0, psnr: -Double.infinity, ssim: 0.0, seconds: 0.0)
        for rho in rhos {
            let options = ReconstructionOptions(maxIterations: admmIterations, tolerance: 0, trackObjective: false, recordHistory: false)
            let r = try ADMM(penalty: rho, options: options, relaxation: admmRelaxation).solve(model: projector, measurement: sinogram,
                                                                   prior: try LPNProx(network: network, imageShape: [n, n], symmetries: parsedSymmetries(), scaling: parsedScaling()), initial: fbp.x)
            let (p, q) = try inputs.score(r.x, truth: truth)
            if p > lpn.psnr { lpn = (rho, p, q, r.report.seconds) }
        }
        rows.append([object, "lpn-pnp-admm", "ρ \(lpn.rho)", String(format: "%.2f", lpn.psnr), String(format: "%.4f", lpn.ssim),
                     String(format: "%.2f", lpn.seconds), String(format: "%.4f", lpn.seconds / Double(admmIterations))])
        rec.record(["suite": "lpn", "case": label, "tool": "swiftpde_lpn_pnp_admm", "psnr": lpn.psnr, "ssim": lpn.ssim, "rho": lpn.rho,
                    "tv_psnr": tv.psnr, "tv_lambda": tv.lam, "fbp_psnr": fbp.psnr, "fbp_filter": fbp.filter.rawValue,
                    "seconds": lpn.seconds, "iterations": admmIterations, "model": model,
                    "symmetries": symmetries, "scale": lpnScale, "center": lpnCenter, "relaxation": admmRelaxation])
        return (fbp.psnr, tv.psnr, lpn.psnr)
    }

    // MARK: Timing

    func timing(_ rec: BenchRecorder) throws {
        print("== timing (training steps of \(trainConfig); its network's prox on 256²; the PyTorch peer on the same patches)")
        var cfg = try loadConfig(LPNTrainConfig.self, from: trainConfig)
        cfg.directory = NSTemporaryDirectory() + "pde-bench-lpn-\(ProcessInfo.processInfo.processIdentifier)"
        let training = try LPNTraining(config: cfg)
        training.log = { _ in }
        _ = try training.run(until: 2)
        let step = try median((0..<max(1, options.repetitions)).map { _ in
            try measureSeconds { _ = try training.run(until: training.step + 5) } / 5
        })
        let what = "batch \(cfg.batch), \(cfg.patch)², \(training.network.parameterCount(Float.self)) parameters"
        rec.record(["suite": "lpn", "case": "train_step_\(cfg.kind.rawValue)_h\(cfg.hidden)_l\(cfg.layers)_b\(cfg.batch)_p\(cfg.patch)",
                    "tool": "swiftpde_lpn", "seconds": step, "config": trainConfig])
        guard case .fullyConvolutional = training.network.kind else {
            printTable(["what", "median s", "note"], [["training step (\(what))", String(format: "%.4f", step),
                                                       String(format: "%.0f s per 1000 steps", 1000 * step)]])
            print("   (prox and PyTorch timings need a fully convolutional model; \(trainConfig) is not one)")
            return
        }
        let size = 256
        let prox = try LPNProx(network: training.network, imageShape: [size, size])
        var g = SeededGenerator(seed: 1)
        let image = (0..<(size * size)).map { _ in g.uniform() }
        _ = try prox.prox(image, step: 1)
        let proxSeconds = try median((0..<max(1, options.repetitions)).map { _ in try measureSeconds { _ = try prox.prox(image, step: 1) } })
        rec.record(["suite": "lpn", "case": "prox_\(size)_h\(cfg.hidden)_l\(cfg.layers)", "tool": "swiftpde_lpn", "seconds": proxSeconds,
                    "config": trainConfig])
        // The peer: the same network in PyTorch, trained on clean patches of the same images.
        let folder = NSTemporaryDirectory() + "swiftpde-bench-lpn-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var pool: [Float] = []
        for _ in 0..<16 { pool += try training.nextBatch().clean.scalars }
        try NPY.write(pool, shape: [16 * cfg.batch, 1, cfg.patch, cfg.patch], to: folder + "/patches.npy")
        let peers = runPeer("lpn_peer.py", ["--patches", folder + "/patches.npy", "--hidden", "\(cfg.hidden)", "--layers", "\(cfg.layers)",
                                            "--beta", "\(cfg.beta)", "--alpha", "\(cfg.alpha)", "--batch", "\(cfg.batch)",
                                            "--noise", "\(cfg.noise)", "--repeat", "\(max(1, options.repetitions))",
                                            "--prox-size", "\(size)", "--threads", "\(Threads.count)"], options: options)
        for var o in peers {
            o["suite"] = "lpn"
            o["case"] = "timing_h\(cfg.hidden)_l\(cfg.layers)_b\(cfg.batch)_p\(cfg.patch)"
            rec.record(o)
        }
        let best = peers.filter { $0["train_step_s"] is Double }
        let peerStep = best.compactMap { $0["train_step_s"] as? Double }.min()
        let peerProx = best.compactMap { $0["prox_s"] as? Double }.min()
        func cell(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "—" }
        func ratio(_ ours: Double, _ v: Double?) -> String { v.map { String(format: "%.2f×", ours / $0) } ?? "—" }
        var rows = [["training step (\(what))", String(format: "%.4f", step), cell(peerStep), ratio(step, peerStep)],
                    ["prox f(y) of a \(size)² image (one PnP iteration's prior step)", String(format: "%.4f", proxSeconds), cell(peerProx),
                     ratio(proxSeconds, peerProx)]]
        for o in best {
            rows.append(["  \(o["tool"] ?? "torch"): step / prox", "", "\(cell(o["train_step_s"] as? Double)) / \(cell(o["prox_s"] as? Double))", ""])
        }
        printTable(["what (median s)", "SwiftPDE", "PyTorch (faster variant)", "ratio"], rows)
        if peers.isEmpty { print("   (peer not run: needs torch; --python names the interpreter)") }
    }
}
