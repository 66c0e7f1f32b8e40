import Foundation
import Testing
import TestSupport
@testable import AppSupport
import Inverse
import Learning
import PDE

@Suite struct InvertConfigTests {
    func tempDir(_ name: String = #function) -> String {
        let p = NSTemporaryDirectory() + "swiftpde-invert-tests/\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    func decode(_ yaml: String) throws -> InvertConfig { try decodeConfig(InvertConfig.self, yaml: yaml, file: "t.yaml") }

    /// The key path of the ConfigError a YAML text gives (nil when it decodes).
    func failure(_ yaml: String) -> ConfigError? {
        do { _ = try decode(yaml); return nil } catch let e as ConfigError { return e } catch { return ConfigError(keyPath: "?", value: "\(error)", expected: "") }
    }

    @Test func badConfigsNameTheKey() throws {
        let base = "image: {source: shepp-logan, size: 32}\nalgorithm: {name: admm, lambda: 0.01}\n"
        let cases: [(String, String)] = [
            ("task: deblurr\n" + base, "task"),
            ("task: deblur\nalgorithm: {name: admm, lambda: 0.01}\n", "image"),
            ("task: deblur\n" + base + "inputs: {measurement: y.npy}\n", "image"),
            ("task: deblur\nimage: {source: shepp-logan, size: 1}\nalgorithm: {name: admm}\n", "image.size"),
            ("task: deblur\nimage: {source: shepp-logan, size: 32}\nalgorithm: {name: admmm}\n", "algorithm.name"),
            ("task: deblur\nimage: {source: shepp-logan, size: 32}\nalgorithm: {name: fbp, lambda: 1}\n", "algorithm.lambda"),
            ("task: deblur\nimage: {source: shepp-logan, size: 32}\nalgorithm: {name: admm, lambda: -1}\n", "algorithm.lambda"),
            ("task: deblur\nimage: {source: shepp-logan, size: 32}\nalgorithm: {name: admm, prior: tvv, lambda: 1}\n", "algorithm.prior"),
            ("task: deblur\nimage: {source: shepp-logan, size: 32}\nalgorithm: {name: admm, iterations: 0}\n", "algorithm.iterations"),
            ("task: deblur\n" + base + "physics: {boundary: mirror}\n", "physics.boundary"),
            ("task: deblur\n" + base + "physics: {sigmaa: 1}\n", "physics.sigmaa"),
            ("task: deblur\n" + base + "noise: {type: salt}\n", "noise.type"),
            ("task: deblur\n" + base + "noise: {sigma: -0.1}\n", "noise.sigma"),
            ("task: deblur\n" + base + "output: {name: a/b}\n", "output.name"),
            ("task: deblur\n" + base + "output: {formats: [gif]}\n", "output.formats[0]"),
            ("task: deblur\n" + base + "darcy: {nodes: 8}\n", "darcy"),
            ("task: darcy\ndarcy: {nodes: 2}\n", "darcy.nodes"),
            ("task: darcy\ndarcy: {unknown: permeability}\n", "darcy.unknown"),
            ("task: darcy\ndarcy: {regularization: tv, epsilon: 0}\n", "darcy.beta"),
            ("task: darcy\nalgorithm: {name: fista}\n", "algorithm.name"),
            ("task: darcy\nimage: {source: shepp-logan}\n", "image"),
        ]
        for (yaml, key) in cases {
            let e = failure(yaml)
            #expect(e?.keyPath == key, "\(yaml) → \(String(describing: e))")
        }
        #expect(failure("task: deblur\n" + base) == nil)
    }

    @Test func runsWriteEveryOutputAndReportScores() throws {
        let dir = tempDir()
        let yaml = """
        task: deblur
        image: {source: shepp-logan, size: 32}
        physics: {kernel: gaussian, sigma: 1, radius: 3}
        noise: {sigma: 0.01, seed: 0}
        algorithm: {name: admm, prior: tv, lambda: 0.002, iterations: 40, tolerance: 0, ssim: true}
        output: {directory: \(dir), name: d}
        """
        var lines: [String] = []
        let summary = try InvertRunner(config: try decode(yaml), configPath: "t.yaml", log: { lines.append($0) }).run()
        let (psnr, basePSNR) = (try #require(summary.psnr), try #require(summary.baselinePSNR))
        #expect(psnr > basePSNR + 1)
        for f in ["d.npy", "d.png", "d.jsonl", "d-convergence.svg", "d-psnr.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f)")
        }
        let records = try String(contentsOfFile: dir + "/d.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(records.count == 40 && records.first!.contains("\"psnr\"") && records[0].contains("\"ssim\""))
        #expect(try NPY.read(dir + "/d.npy").shape == [32, 32])
        #expect(lines.contains { $0.hasPrefix("iteration 40/40") })
        // CT from saved arrays (our projector's own sinogram), FBP.
        let truth = try Phantom.sheppLogan(size: 32)
        let ct = try ParallelBeamProjector(size: 32, anglesDegrees: (0..<30).map { Double($0) * 6 })
        try NPY.write(try ct(truth), shape: [32, 30], to: dir + "/sino.npy")
        try NPY.write(truth, shape: [32, 32], to: dir + "/truth.npy")
        try NPY.write(ct.anglesDegrees, shape: [30], to: dir + "/angles.npy")
        let ctYAML = """
        task: ct
        inputs: {truth: \(dir)/truth.npy, measurement: \(dir)/sino.npy, angles: \(dir)/angles.npy}
        algorithm: {name: fbp, filter: hann}
        output: {directory: \(dir), name: ct, formats: [npy]}
        """
        let fbp = try InvertRunner(config: try decode(ctYAML), configPath: "t.yaml", log: { _ in }).run()
        #expect(try #require(fbp.psnr) > 15)
        // Darcy, small.
        let darcy = try InvertRunner(config: try decode("task: darcy\ndarcy: {nodes: 8, observations: 16}\noutput: {directory: \(dir), name: darcy}\n"),
                                     configPath: "t.yaml", log: { _ in }).run()
        #expect(try #require(darcy.relativeError) < 1 && FileManager.default.fileExists(atPath: dir + "/darcy.png"))
        // A missing input file is a typed PDE error naming the file.
        let missing = try decode("task: deblur\ninputs: {truth: \(dir)/none.npy, measurement: \(dir)/none.npy}\nalgorithm: {name: tikhonov, lambda: 0.1}\n")
        #expect(throws: PDEError.fileNotFound(path: dir + "/none.npy")) { _ = try InvertRunner(config: missing, configPath: "t.yaml", log: { _ in }).run() }
    }

    @Test func pdeInvertExitCodes() throws {
        let dir = tempDir()
        let exe = builtExecutable("pde-invert")
        try "task: denoise\nimage: {source: shepp-logan, size: 16}\nnoise: {sigma: 0.1}\nalgorithm: {name: fista, prior: l1, lambda: 0.01, iterations: 2, tolerance: 1.0e-12}\noutput: {directory: \(dir), formats: []}\n"
            .write(toFile: dir + "/slow.yaml", atomically: true, encoding: .utf8)
        let slow = try runProcess(exe, [dir + "/slow.yaml"])
        #expect(slow.status == 3 && slow.stderr.contains("maxIterations"), "\(slow.stderr)")
        try "task: denoise\nimage: {source: shepp-logan, size: 16}\nalgorithm: {name: fista, lambda: 0.01, iterations: 2, tolerance: 0}\noutput: {directory: \(dir), formats: []}\n"
            .write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        let ok = try runProcess(exe, [dir + "/ok.yaml", "--quiet"])
        #expect(ok.status == 0 && ok.stdout.isEmpty, "\(ok.stderr)")
        try "task: denoise\nimage: {source: \(dir)/missing.png}\nalgorithm: {name: fista, lambda: 0.01}\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try runProcess(exe, [dir + "/bad.yaml"])
        #expect(bad.status == 2 && bad.stderr.contains("missing.png"), "\(bad.stderr)")
        let list = try runProcess(exe, ["--list"])
        #expect(list.status == 0 && list.stdout.contains("pdhg") && list.stdout.contains("pnp-admm"))
    }

    /// A small untrained fully convolutional LPN saved to `dir/lpn.safetensors` (its path).
    func savedLPN(_ dir: String) throws -> String {
        var g = SeededGenerator(seed: 4)
        let net = try LearnedProximalNetwork<Float>(kind: .fullyConvolutional(channels: 1), hidden: 4, layers: 1, beta: 20, alpha: 0.05,
                                                    generator: &g)
        let path = dir + "/lpn.safetensors"
        try net.save(to: path)
        return path
    }

    @Test func lpnPriorConfigsAndRuns() throws {
        let dir = tempDir()
        let model = try savedLPN(dir)
        let head = "task: deblur\nimage: {source: shepp-logan, size: 16}\nphysics: {kernel: gaussian, sigma: 1, radius: 2}\nnoise: {sigma: 0.02}\n"
        let cases: [(String, String, String)] = [
            ("{name: admm, prior: lpn, lambda: 1}", "algorithm.prior", "pnp-admm or pnp-pgd"),
            ("{name: pnp-admm, prior: lpn, rho: 0.1}", "algorithm.model", "missing"),
            ("{name: pnp-admm, prior: lpn, model: \(model), rho: 0.1, lambda: 0.1}", "algorithm.lambda", "no lambda"),
            ("{name: pnp-admm, prior: lpn, model: \(model)}", "algorithm.rho", "missing"),
            ("{name: pnp-admm, prior: tv, lambda: 0.1, model: \(model)}", "algorithm.model", "prior lpn"),
            ("{name: pnp-pgd, prior: tv, lambda: 0.1, evaluate_regularizer: true}", "algorithm.evaluate_regularizer", "prior lpn"),
            ("{name: fista, prior: lpn, model: \(model)}", "algorithm.model", "only"),
            ("{name: pnp-admm, prior: lpn, model: \(model), rho: 0.1, relaxation: 2}", "algorithm.relaxation", "(0, 2)"),
            ("{name: admm, prior: tv, lambda: 0.1, relaxation: 0}", "algorithm.relaxation", "(0, 2)"),
            ("{name: pnp-pgd, prior: lpn, model: \(model), relaxation: 0.5}", "algorithm.relaxation", "only"),
            ("{name: pnp-admm, prior: lpn, model: \(model), rho: 0.1, symmetries: rotations}", "algorithm.symmetries", "none, negation, flips, dihedral"),
            ("{name: pnp-admm, prior: tv, lambda: 0.1, symmetries: flips}", "algorithm.symmetries", "prior lpn"),
            ("{name: pnp-admm, prior: lpn, model: \(model), rho: 0.1, denoiser_scale: 0}", "algorithm.denoiser_scale", "0 < s"),
            ("{name: pnp-pgd, prior: lpn, model: \(model), denoiser_scale: -2}", "algorithm.denoiser_scale", "0 < s"),
            ("{name: pnp-admm, prior: lpn, model: \(model), rho: 0.1, denoiser_scale: 2, denoiser_center: .nan}", "algorithm.denoiser_center", "finite"),
            ("{name: pnp-admm, prior: tv, lambda: 0.1, denoiser_scale: 2}", "algorithm.denoiser_scale", "prior lpn"),
            ("{name: admm, prior: tv, lambda: 0.1, denoiser_center: 0.5}", "algorithm.denoiser_center", "only"),
        ]
        for (algorithm, key, mentions) in cases {
            let e = failure(head + "algorithm: " + algorithm + "\n")
            #expect(e?.keyPath == key && (e?.description.contains(mentions) ?? false), "\(algorithm) → \(String(describing: e))")
        }
        // PnP-ADMM and PnP-PGD with the network, the learned objective recorded per iteration;
        // also damped and averaged over the symmetries of the square (still an exact prox).
        for algorithm in ["pnp-admm, rho: 0.05", "pnp-pgd", "pnp-admm, rho: 0.05, relaxation: 0.5, symmetries: dihedral",
                          "pnp-pgd, symmetries: flips", "pnp-admm, rho: 0.05, denoiser_scale: 2, denoiser_center: 0.5"] {
            let yaml = head + "algorithm: {name: \(algorithm), prior: lpn, model: \(model), evaluate_regularizer: true, iterations: 3, tolerance: 0}\n"
                + "output: {directory: \(dir), name: lpn, formats: [jsonl]}\n"
            let summary = try InvertRunner(config: try decode(yaml), configPath: "t.yaml", log: { _ in }).run()
            let history = summary.reconstruction.report.history
            #expect(history.count == 3 && history.allSatisfy { $0.objective?.isFinite ?? false }, "\(algorithm): \(history.map(\.objective))")
            #expect(summary.reconstruction.x.allSatisfy { $0.isFinite })
        }
        // Without evaluate_regularizer the network is a plug-and-play denoiser: no objective.
        let plain = head + "algorithm: {name: pnp-admm, prior: lpn, model: \(model), rho: 0.05, iterations: 2, tolerance: 0}\noutput: {directory: \(dir), formats: []}\n"
        let run = try InvertRunner(config: try decode(plain), configPath: "t.yaml", log: { _ in }).run()
        #expect(run.reconstruction.report.history.allSatisfy { $0.objective == nil })
        // A missing model file, and one that is not an LPN: typed errors naming the file (exit 2).
        let none = head + "algorithm: {name: pnp-admm, prior: lpn, model: \(dir)/none.safetensors, rho: 0.1, iterations: 1}\noutput: {directory: \(dir), formats: []}\n"
        #expect { _ = try InvertRunner(config: try decode(none), configPath: "t.yaml", log: { _ in }).run() } throws: { error in
            appFailure(error, context: "t.yaml").map { $0.code == 2 && $0.message.contains("none.safetensors") } ?? false
        }
        try "not safetensors".write(toFile: dir + "/junk.safetensors", atomically: true, encoding: .utf8)
        let junk = head + "algorithm: {name: pnp-pgd, prior: lpn, model: \(dir)/junk.safetensors, iterations: 1}\noutput: {directory: \(dir), formats: []}\n"
        #expect { _ = try InvertRunner(config: try decode(junk), configPath: "t.yaml", log: { _ in }).run() } throws: { error in
            appFailure(error, context: "t.yaml").map { $0.code == 2 && $0.message.contains("junk.safetensors") } ?? false
        }
    }

    @Test func pdeInvertRegularizerSubcommand() throws {
        let dir = tempDir()
        let model = try savedLPN(dir)
        let exe = builtExecutable("pde-invert")
        let image = "data/images/coins.png", other = "data/images/text.png"
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let ok = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--crop", "12", "--noise", "0.1",
                                      "--to", root + "/" + other, "--steps", "3", "--plot", dir + "/path.png"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("R(") && ok.stdout.contains("noise σ = 0.1") && ok.stdout.contains("1.000"), "\(ok.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/path.png") && FileManager.default.fileExists(atPath: dir + "/path.svg"))
        let missing = try runProcess(exe, ["regularizer", "--model", dir + "/none.safetensors", "--image", root + "/" + image])
        #expect(missing.status == 2 && missing.stderr.contains("none.safetensors"), "\(missing.stderr)")
        let tooBig = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--crop", "9999"])
        #expect(tooBig.status == 2 && tooBig.stderr.contains("crop"), "\(tooBig.stderr)")
        let badCrop = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--crop", "0"])
        #expect(badCrop.status != 0 && badCrop.stderr.contains("--crop"), "\(badCrop.stderr)")
        // Averaged over the dihedral group, with the local Lipschitz constant.
        let sym = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--crop", "10", "--symmetries", "dihedral",
                                       "--lipschitz"])
        #expect(sym.status == 0 && sym.stdout.contains("averaged over dihedral (8 passes)") && sym.stdout.contains("L = λ_max"), "\(sym.stdout)\(sym.stderr)")
        let badSymmetry = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--symmetries", "rotations"])
        #expect(badSymmetry.status != 0 && badSymmetry.stderr.contains("--symmetries"), "\(badSymmetry.stderr)")
        // Denoiser scaling: R of the scaled prox, and bad scales rejected by name.
        let scaled = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--crop", "10", "--scale", "2",
                                          "--center", "0.5"])
        #expect(scaled.status == 0 && scaled.stdout.contains("scaled (s = 2.0, c = 0.5)") && scaled.stdout.contains("R("),
                "\(scaled.stdout)\(scaled.stderr)")
        for bad in ["0", "-1", "nan"] {
            let r = try runProcess(exe, ["regularizer", "--model", model, "--image", root + "/" + image, "--scale", bad])
            #expect(r.status != 0 && r.stderr.contains("--scale"), "\(bad): \(r.stderr)")
        }
    }
}
