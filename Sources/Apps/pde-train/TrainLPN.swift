import AppSupport
import ArgumentParser
import Foundation
import Learning

/// `pde-train lpn`: trains a learned proximal network as a denoiser of image patches.
struct TrainLPN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpn",
        abstract: "Train a learned proximal network (LPN) on noisy patches of gray images (ℓ¹ warm start, then proximal matching).",
        discussion: """
        Draws random patch × patch patches x of the config's PNG images and noisy copies
        y = x + σ·N(0, 1) on the fly from the seeded generator, and trains the input-convex
        network f = ∇ψ with Adam (hidden weights clamped to ≥ 0 after every step): the ℓ¹ loss
        for `pretrain_steps`, then proximal matching 1 − exp(−‖f(y) − x‖²/γ²) for
        `matching_steps` with γ halving over `stages` down to `sigma_min`. Writes to the
        config's `training.directory`: checkpoint.safetensors (every `checkpoint_every` steps,
        at the end and on Ctrl-C; --resume continues with the same batches and losses) and
        model.safetensors (the network with its architecture in the metadata).

        Example:
          pde-train lpn data/configs/train-lpn-patches.yaml
          pde-train lpn data/configs/train-lpn-patches.yaml --resume
        """)

    @Argument(help: "YAML config file.")
    var config: String
    @Flag(help: "Continue from the checkpoint in the config's directory.")
    var resume = false
    @Flag(help: "Print only the final line.")
    var quiet = false

    func run() throws {
        Threads.configure()
        try guarded(config) {
            let cfg = try loadConfig(LPNTrainConfig.self, from: config)
            let folder = cfg.directory
            let checkpoint = folder + "/checkpoint.safetensors"
            if FileManager.default.fileExists(atPath: checkpoint) && !resume {
                throw ConfigError(file: config, keyPath: "training.directory", value: "'\(folder)' already holds checkpoint.safetensors",
                                  expected: "--resume to continue it, or another (or emptied) folder")
            }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let training = try LPNTraining(config: cfg)
            training.metadata["config"] = (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""
            if quiet { training.log = { _ in } }
            if resume && FileManager.default.fileExists(atPath: checkpoint) {
                try training.resume(from: checkpoint)
                if !quiet { print("pde-train lpn: resumed from \(checkpoint) after step \(training.step)") }
            }
            if !quiet {
                let s = training.schedule
                print("pde-train lpn: \(cfg.kind.rawValue) network, \(training.network.parameterCount(Float.self)) parameters; "
                      + (cfg.source == .laplace ? "Laplace prior (b = \(cfg.scale), d = \(cfg.dimension))"
                         : "\(cfg.patch) × \(cfg.patch) patches of " + (cfg.source == .images ? "images" : "\(cfg.phantomCount) phantoms"))
                      + ", σ = \(cfg.noise), "
                      + (cfg.expectation == .exact ? String(format: "expected loss on %d points of [−%g, %g]; ", cfg.quadraturePoints,
                                                            cfg.quadratureSpan, cfg.quadratureSpan) : "batch \(cfg.batch); ")
                      + "\(cfg.pretrainSteps) ℓ¹ steps + \(cfg.matchingSteps) matching steps in \(s.stages) stages, "
                      + String(format: "γ %.3g → %.3g", s.gamma(stage: 0), s.sigmaMin))
            }
            training.shouldStop = { interrupted != 0 }
            signal(SIGINT) { _ in interrupted = 1 }
            let t0 = Date()
            let losses = try training.run(checkpoint: checkpoint)
            if training.wasInterrupted {
                print("pde-train lpn: interrupted after step \(training.step): checkpoint \(checkpoint); run again with --resume")
                throw ExitCode(130)
            }
            try training.saveModel(to: training.modelPath)
            var line = String(format: "pde-train lpn: %d steps (%.0f s", losses.count, Date().timeIntervalSince(t0))
            if losses.count < training.step { line += ", resumed after step \(training.step - losses.count)" }
            line += ")" + (losses.last.map { String(format: ", final loss %.4e", $0) } ?? "")
            print(line + " → \(training.modelPath)")
        }
    }
}
