import AppSupport
import ArgumentParser
import Foundation
import Inverse
import PDE

@main
struct PDEInvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-invert",
        abstract: "Inverse problems from YAML configs, and the learned regularizer of an LPN.",
        subcommands: [Reconstruct.self, Regularizer.self],
        defaultSubcommand: Reconstruct.self)
}

/// `pde-invert [reconstruct] <config>`: one reconstruction from a config.
struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Reconstruct an image from indirect, noisy measurements (denoise, deblur, CT, MRI, inpaint, super-resolution) from a YAML config.",
        discussion: """
        Prints the baseline's and the reconstruction's PSNR/SSIM (when the truth is known) and
        progress lines; writes the reconstruction (.npy), a panel truth | baseline |
        reconstruction | error (.png), per-iteration records (.jsonl) and the convergence
        plot (.svg). Exit codes: 0 success, 2 bad input (config, files, values), 3 the
        algorithm did not converge to its tolerance (outputs hold the last iterate), 1 other.

        Examples:
          pde-invert data/configs/invert-deblur-tv.yaml
          pde-invert data/configs/invert-ct-tv.yaml --quiet
          pde-invert data/configs/invert-deblur-lpn.yaml
          pde-invert --list
        """)

    @Argument(help: "YAML config file.")
    var config: String?

    @Flag(help: "List the reconstruction methods and exit.")
    var list = false

    @Flag(help: "Print only errors.")
    var quiet = false

    func run() throws {
        if list {
            for m in ReconstructionRegistry.methods {
                print("\(m.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(m.summary)")
                print(String(repeating: " ", count: 17) + "settings: " + (m.keys.isEmpty ? "none" : m.keys.joined(separator: ", ")))
            }
            return
        }
        guard let config else { throw ValidationError("missing config file: pde-invert <config.yaml> (or --list)") }
        Threads.configure()
        do {
            let cfg = try loadConfig(InvertConfig.self, from: config)
            let log: (String) -> Void = quiet ? { _ in } : { print($0) }
            let summary = try InvertRunner(config: cfg, configPath: config, log: log).run()
            let stop = summary.reconstruction.report.stop
            if stop == .notANumber || stop == .diverged || stop == .stalled || (stop == .maxIterations && cfg.tolerance > 0) {
                printError("\(config): \(cfg.algorithm) stopped with \(stop.rawValue) (tolerance \(cfg.tolerance)); outputs hold the last iterate")
                throw ExitCode(3)
            }
        } catch {
            guard let failure = appFailure(error, context: config) else { throw error }
            printError(failure.message)
            throw ExitCode(failure.code)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("pde-invert: error: \(message)\n".utf8))
}
