import Foundation
import Testing
import TestSupport
@testable import AppSupport
import Inverse
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
}
