import AppSupport
import ArgumentParser
import Foundation
import Inverse
import Learning
import PDE

/// `pde-invert regularizer`: the learned regularizer R_θ of a learned proximal network at
/// images, and along the straight path between two images (a plot).
struct Regularizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regularizer",
        abstract: "Evaluate the learned regularizer R of an LPN at gray PNG images, and along the path between two (plot).",
        discussion: """
        R(x) = ⟨x, y⟩ − ½‖x‖² − ψ(y) with y = f⁻¹(x) found by L-BFGS on ψ(y) − ⟨x, y⟩ (the
        inversion residual and iterations are printed). The network is the exact prox of R:
        f(v) = argmin_x R(x) + ½‖x − v‖². Images are read as gray values in [0, 1], center-cropped
        to --crop pixels when given (a fully convolutional network takes any size; the others
        their own). With --noise, R is also evaluated at a noisy copy (seeded), the prior's
        verdict on noise; with --to, along x(t) = (1 − t)·a + t·b at --steps + 1 points, printed
        and plotted (PNG and SVG).

        Examples:
          pde-invert regularizer --model runs/lpn-images/model.safetensors --image data/images/chelsea.png --crop 64 --noise 0.1
          pde-invert regularizer --model runs/lpn-images/model.safetensors --image data/images/chelsea.png \\
              --to data/images/coffee.png --crop 64 --steps 10 --plot out/lpn-path.png
        """)

    @Option(help: "Learned proximal network file (pde-train lpn's model.safetensors).")
    var model: String
    @Option(help: "Gray PNG image (values scaled to [0, 1]).")
    var image: String
    @Option(help: "Second image: evaluate R along the path from --image to it.")
    var to: String?
    @Option(help: "Center crop to this many pixels per side (fully convolutional networks).")
    var crop: Int?
    @Option(help: "Also evaluate R at the image plus Gaussian noise of this σ.")
    var noise: Double?
    @Option(help: "Seed of the noise.")
    var seed: UInt64 = 0
    @Option(help: "Path points after the start (--to).")
    var steps = 10
    @Option(help: "Plot of R along the path (.png; an .svg is written beside it).")
    var plot = "out/lpn-regularizer-path.png"
    @Option(help: "Average the network over a symmetry group: none, negation, flips, dihedral (square images); still an exact prox, of the averaged ψ's R.")
    var symmetries = "none"
    @Option(help: "Denoiser scaling s: evaluate the prox f_s(v) = c + (f(c + s(v − c)) − c)/s, the exact prox of R(c + s(x − c))/s² (s > 1 denoises less).")
    var scale = 1.0
    @Option(help: "Centre c of the denoiser scaling (--scale).")
    var center = 0.0
    @Flag(help: "Also print the prox's local Lipschitz constant L = λ_max(∇f) at each image (power iteration; L ≤ 1: R convex there).")
    var lipschitz = false

    func validate() throws {
        if let c = crop, c < 1 { throw ValidationError("--crop \(c): expected a positive size") }
        if let n = noise, !(n >= 0 && n.isFinite) { throw ValidationError("--noise \(n): expected a finite σ ≥ 0") }
        guard steps >= 1 else { throw ValidationError("--steps \(steps): expected ≥ 1") }
        guard LPNSymmetries(rawValue: symmetries) != nil else {
            throw ValidationError("--symmetries \(symmetries): expected one of " + LPNSymmetries.names)
        }
        do { _ = try LPNScaling(scale: scale, center: center) } catch {
            throw ValidationError("--scale \(scale) / --center \(center): \(error)")
        }
    }

    func run() throws {
        Threads.configure()
        do {
            try evaluate()
        } catch {
            guard let failure = appFailure(error, context: model) else { throw error }
            printError(failure.message)
            throw ExitCode(failure.code)
        }
    }

    /// The gray image at `path`, center-cropped to `crop` when given: values and [rows, cols].
    func load(_ path: String) throws -> (values: [Double], shape: [Int]) {
        let img = try PNGImage.readGray(path)
        guard let c = crop else { return (img.values, [img.height, img.width]) }
        guard c <= img.width, c <= img.height else {
            throw PDEError.invalidValue(key: "crop", value: "\(c) for \(path) of \(img.width) × \(img.height)", expected: "at most the image size")
        }
        let (r0, c0) = ((img.height - c) / 2, (img.width - c) / 2)
        var out = [Double](repeating: 0, count: c * c)
        for r in 0..<c { for q in 0..<c { out[r * c + q] = img.values[(r0 + r) * img.width + c0 + q] } }
        return (out, [c, c])
    }

    func evaluate() throws {
        let network = try LearnedProximalNetwork<Float>.load(from: model)
        let a = try load(image)
        let prox = try LPNProx(network: network, imageShape: a.shape, symmetries: LPNSymmetries(named: symmetries),
                              scaling: LPNScaling(scale: scale, center: center))
        let reg = prox.regularizer
        func show(_ label: String, _ x: [Double]) throws -> [Double] {
            let t0 = Date()
            let e = try reg.evaluate(x)
            print(String(format: "R(%@) = %.6g   (inversion: residual %.1e, %d L-BFGS iterations, %.2f s)", label, e.value,
                         e.inversion.residual, e.inversion.report.iterations, Date().timeIntervalSince(t0)))
            if lipschitz {
                let l = try reg.localLipschitz(at: x)
                print(String(format: "   L = λ_max(∇f) at it = %.4g (%d power iterations%@): R is %@ near f(it)", l.value, l.iterations,
                             l.converged ? "" : ", limit", l.value <= 1 ? "convex" : String(format: "weakly convex, modulus %.3f", l.weakConvexity)))
            }
            return e.inversion.y
        }
        print("pde-invert regularizer: \(model) (\(network.kind), \(network.parameterCount(Float.self)) parameters) on \(a.shape[0]) × \(a.shape[1]) images"
              + (reg.symmetries == .none ? "" : ", averaged over \(reg.symmetries.rawValue) (\(reg.symmetries.order) passes)")
              + (reg.scaling.isIdentity ? "" : ", scaled (s = \(scale), c = \(center))"))
        _ = try show(image, a.values)
        if let sigma = noise {
            let noisy = try NoiseModel.gaussian(sigma: sigma).corrupt(a.values, seed: seed)
            _ = try show("\(image) + noise σ = \(sigma)", noisy)
            let denoised = try prox.prox(noisy, step: 1)
            _ = try show("f(noisy), the LPN's denoised image", denoised)
        }
        guard let to else { return }
        let b = try load(to)
        guard b.shape == a.shape else {
            throw PDEError.shapeMismatch(what: "--to image", expected: "\(a.shape) like --image (use --crop)", got: "\(b.shape)")
        }
        let profile = try reg.profile(from: a.values, to: b.values, steps: steps)
        printTable(["t", "R(x(t))", "residual", "iterations"], profile.t.indices.map { i in
            [String(format: "%.3f", profile.t[i]), String(format: "%.6g", profile.values[i]), String(format: "%.1e", profile.residuals[i]),
             "\(profile.iterations[i])"]
        })
        var p = SVGLinePlot(title: "Learned regularizer along a path", xLabel: "t (x = (1 - t) a + t b)", yLabel: "R(x)")
        p.series = [.init(label: "R", x: profile.t, y: profile.values)]
        let folder = (plot as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try p.writePNG(to: plot)
        let svg = (plot as NSString).deletingPathExtension + ".svg"
        try p.render().write(toFile: svg, atomically: true, encoding: .utf8)
        print("plot: \(plot) (and \(svg))")
    }
}
