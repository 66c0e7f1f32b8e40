import Foundation
import Learning
import Operators
import PDE
import Testing
import TestSupport
@testable import AppSupport

@Suite struct TrainConfigTests {
    static let good = """
    model: {kind: fno, modes: [12, 12], width: 32, layers: 4, projection_width: 128, padding: 0.1}
    data:
      file: out/darcy.h5
      input: a_85
      output: u_85
      split: {train: 1000, validation: 0, test: 100}
      normalize: {input: per-point, output: global}
    training:
      epochs: 500
      batch: 20
      seed: 3
      optimizer: {name: adam, learning_rate: 1.0e-3, weight_decay: 1.0e-4}
      schedule: {name: step, step_size: 100, gamma: 0.5}
      loss: relative-l2
      checkpoint: {folder: runs/x, every: 5}
    evaluation: {fine: {input: a_141, output: u_141}, panels: [0, 3]}
    """

    func decode(_ yaml: String) throws -> TrainConfig { try decodeConfig(TrainConfig.self, yaml: yaml, file: "t.yaml") }

    func expectError(_ yaml: String, keyPath: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decode(yaml)
            Issue.record("expected an error at \(keyPath)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.file == "t.yaml" && e.keyPath == keyPath && e.description.contains(mentions), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("wrong error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func decodesTheFNODarcyConfig() throws {
        let c = try decode(Self.good)
        guard case .fno(let f) = c.model else { Issue.record("not an FNO"); return }
        #expect(f.modes == [12, 12] && f.width == 32 && f.layers == 4 && f.projectionWidth == 128 && f.padding == [0.1, 0.1] && f.gridCoordinates)
        #expect(c.data.train == 1000 && c.data.test == 100 && c.data.inputNormalizer == .perPoint && c.data.outputNormalizer == .global)
        #expect(c.training.schedule == .step(base: 1e-3, stepSize: 100, gamma: 0.5) && c.training.seed == 3 && c.training.checkpointEvery == 5)
        #expect(c.training.optimizer.weightDecay == 1e-4 && c.training.loss == .relativeL2)
        #expect(c.evaluation.fineInput == "a_141" && c.evaluation.panels == [0, 3])
        // Every shipped pde-train config decodes.
        let folder = packageRoot + "/data/configs"
        let shipped = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("train-") && $0.hasSuffix(".yaml") }
        #expect(!shipped.isEmpty)
        for name in shipped where name.hasPrefix("train-dcdm") { _ = try loadConfig(DCDMTrainConfig.self, from: folder + "/" + name) }
        for name in shipped where name.hasPrefix("train-lpn") { _ = try loadConfig(LPNTrainConfig.self, from: folder + "/" + name) }
        for name in shipped where !name.hasPrefix("train-dcdm") && !name.hasPrefix("train-lpn") {
            _ = try loadConfig(TrainConfig.self, from: folder + "/" + name)
        }
    }

    @Test func badConfigsNameTheKeyPath() {
        let g = Self.good
        expectError(g.replacingOccurrences(of: "kind: fno", with: "kind: unet"), keyPath: "model.kind", mentions: "fno")
        expectError(g.replacingOccurrences(of: "modes: [12, 12]", with: "modes: []"), keyPath: "model.modes", mentions: "1 to 3")
        expectError(g.replacingOccurrences(of: "width: 32", with: "width: 0"), keyPath: "model.width", mentions: "≥ 1")
        expectError(g.replacingOccurrences(of: "padding: 0.1", with: "padding: [0.1, 0.1, 0.1]"), keyPath: "model.padding", mentions: "one per spatial axis")
        expectError(g.replacingOccurrences(of: "width: 32,", with: "width: 32, depth: 3,"), keyPath: "model.depth", mentions: "unknown key")
        expectError(g.replacingOccurrences(of: "train: 1000", with: "train: 0"), keyPath: "data.split.train", mentions: "at least 1")
        expectError(g.replacingOccurrences(of: "output: global", with: "output: minmax"), keyPath: "data.normalize.output", mentions: "per-point")
        expectError(g.replacingOccurrences(of: "  input: a_85\n", with: ""), keyPath: "data.input", mentions: "missing")
        expectError(g.replacingOccurrences(of: "epochs: 500", with: "epochs: 0"), keyPath: "training.epochs", mentions: "1 to 10⁶")
        expectError(g.replacingOccurrences(of: "name: adam", with: "name: sgd"), keyPath: "training.optimizer.name", mentions: "adam or adamw")
        expectError(g.replacingOccurrences(of: "learning_rate: 1.0e-3", with: "learning_rate: -1"), keyPath: "training.optimizer.learning_rate", mentions: "positive")
        expectError(g.replacingOccurrences(of: "step_size: 100, ", with: ""), keyPath: "training.schedule.step_size", mentions: "missing")
        expectError(g.replacingOccurrences(of: "gamma: 0.5", with: "gamma: 2"), keyPath: "training.schedule.gamma", mentions: "(0, 1]")
        expectError(g.replacingOccurrences(of: "loss: relative-l2", with: "loss: mse"), keyPath: "training.loss", mentions: "relative-l2")
        expectError(g.replacingOccurrences(of: "folder: runs/x, ", with: ""), keyPath: "training.checkpoint.folder", mentions: "missing")
        expectError(g.replacingOccurrences(of: "panels: [0, 3]", with: "panels: [-1]"), keyPath: "evaluation.panels", mentions: "≥ 0")
        expectError(g + "\nextra: 1\n", keyPath: "extra", mentions: "unknown key")
    }
}

/// pde-train end to end on a tiny Darcy set made by pde-datagen.
@Suite(.serialized) struct TrainAppTests {
    func run(_ exe: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let path = builtExecutable(exe)
        try #require(FileManager.default.isExecutableFile(atPath: path), "build \(exe) first (swift build --build-tests)")
        return try runProcess(path, args)
    }

    @Test func fitResumeEvalAndPredict() throws {
        let dir = makeTemporaryFolder()
        try "family: darcy\nsamples: 12\nseed: 1\noutput: {file: \(dir)/d.h5}\ndarcy: {size: 17, resolutions: [9, 17], solver: cholmod}\n"
            .write(toFile: dir + "/data.yaml", atomically: true, encoding: .utf8)
        let gen = try run("pde-datagen", [dir + "/data.yaml", "--quiet"])
        try #require(gen.status == 0, "\(gen.stderr)")
        let config = """
        model: {kind: fno, modes: [3, 3], width: 6, layers: 2, projection_width: 8, padding: 0.1}
        data: {file: \(dir)/d.h5, input: a_9, output: u_9, split: {train: 8, validation: 0, test: 4}}
        training:
          epochs: 2
          batch: 4
          optimizer: {name: adam, learning_rate: 1.0e-2}
          checkpoint: {folder: \(dir)/run, every: 1}
        evaluation: {fine: {input: a_17, output: u_17}, panels: [1]}
        """
        try config.write(toFile: dir + "/train.yaml", atomically: true, encoding: .utf8)
        let fit = try run("pde-train", ["fit", dir + "/train.yaml"])
        #expect(fit.status == 0 && fit.stdout.contains("epoch 2/2") && fit.stdout.contains("test relative L2"), "\(fit.stdout)\(fit.stderr)")
        for f in ["checkpoint.safetensors", "model.safetensors", "history.json", "curve.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + f), "\(f)")
        }
        // A second fit into the same folder is refused unless resumed.
        let again = try run("pde-train", ["fit", dir + "/train.yaml"])
        #expect(again.status == 2 && again.stderr.contains("--resume"), "\(again.stderr)")
        let resumed = try run("pde-train", ["fit", dir + "/train.yaml", "--resume", "--epochs", "3"])
        #expect(resumed.status == 0 && resumed.stdout.contains("resumed") && resumed.stdout.contains("epoch 3/3"), "\(resumed.stdout)\(resumed.stderr)")
        let eval = try run("pde-train", ["eval", dir + "/train.yaml"])
        #expect(eval.status == 0 && eval.stdout.contains("test 9×9") && eval.stdout.contains("zero-shot 17×17"), "\(eval.stdout)\(eval.stderr)")
        for f in ["eval.json", "errors.npy", "errors_fine.npy", "panel_1.png"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + f), "\(f)")
        }
        let errors = try NPY.read(dir + "/run/errors.npy")
        #expect(errors.shape == [4] && errors.doubles.allSatisfy { $0 > 0 && $0 < 2 })
        // predict: one sample [n, n] and a batch [N, n, n], at the training and a finer resolution.
        let file = try HDF5DatasetFile(path: dir + "/d.h5")
        let a17 = try file.read("a_17", samples: 0..<2, as: Double.self).values
        try NPY.write(a17, shape: [2, 17, 17], to: dir + "/a.npy")
        try NPY.write(Array(a17[0..<289]), shape: [17, 17], to: dir + "/a1.npy")
        let p = try run("pde-train", ["predict", dir + "/run/model.safetensors", dir + "/a.npy", "-o", dir + "/u.npy"])
        #expect(p.status == 0, "\(p.stderr)")
        let p1 = try run("pde-train", ["predict", dir + "/run/model.safetensors", dir + "/a1.npy", "-o", dir + "/u1.npy"])
        #expect(p1.status == 0, "\(p1.stderr)")
        let u = try NPY.read(dir + "/u.npy"), u1 = try NPY.read(dir + "/u1.npy")
        #expect(u.shape == [2, 17, 17] && u1.shape == [17, 17])
        #expect(maxAbsDifference(Array(u.doubles[0..<289]), u1.doubles) < 1e-6)
        // Bad inputs: a 1-D array, a missing model, a bad config.
        try NPY.write([1, 2, 3] as [Double], shape: [3], to: dir + "/bad.npy")
        let bad = try run("pde-train", ["predict", dir + "/run/model.safetensors", dir + "/bad.npy", "-o", dir + "/x.npy"])
        #expect(bad.status == 2 && bad.stderr.contains("[3]"), "\(bad.stderr)")
        let missing = try run("pde-train", ["predict", dir + "/nothing.safetensors", dir + "/a.npy", "-o", dir + "/x.npy"])
        #expect(missing.status == 2 && missing.stderr.contains("nothing.safetensors"), "\(missing.stderr)")
        try config.replacingOccurrences(of: "train: 8", with: "train: 20").replacingOccurrences(of: "/run,", with: "/run2,").write(toFile: dir + "/big.yaml", atomically: true, encoding: .utf8)
        let big = try run("pde-train", ["fit", dir + "/big.yaml"])
        #expect(big.status == 2 && big.stderr.contains("data.split"), "\(big.stderr)")
    }

    @Test func sfnoFitAndSpectralRefinement() throws {
        let dir = makeTemporaryFolder()
        try """
        family: navier-stokes
        samples: 5
        seed: 2
        output: {file: \(dir)/ns.h5}
        navier_stokes: {points: 16, stored_points: 16, viscosity: 1.0e-3, time_step: 1.0e-3, final_time: 1.5, interval: 0.05, scheme: cn-heun}
        """.write(toFile: dir + "/data.yaml", atomically: true, encoding: .utf8)
        let gen = try run("pde-datagen", [dir + "/data.yaml", "--quiet"])
        try #require(gen.status == 0, "\(gen.stderr)")
        let config = """
        model: {kind: sfno, modes: [4, 4, 3], width: 4, layers: 2, input_steps: 5, latent_steps: 6, output_steps: 10, feed_forward_width: 8}
        data:
          file: \(dir)/ns.h5
          input: w
          output: w
          split: {train: 3, test: 2}
          windows: {input_steps: 5, output_steps: 10, starts: [0, 10], test_start: 5}
          normalize: {input: none, output: none}
        training:
          epochs: 2
          batch: 2
          optimizer: {name: adam, learning_rate: 1.0e-2}
          checkpoint: {folder: \(dir)/run}
        refine: {iterations: 3, learning_rate: 1.0e-3, output_modes: [8, 8, 4], viscosity: 1.0e-3, time_step: 0.05}
        """
        try config.write(toFile: dir + "/train.yaml", atomically: true, encoding: .utf8)
        let fit = try run("pde-train", ["fit", dir + "/train.yaml"])
        #expect(fit.status == 0 && fit.stdout.contains("sfno") && fit.stdout.contains("epoch 2/2"), "\(fit.stdout)\(fit.stderr)")
        let eval = try run("pde-train", ["eval", dir + "/train.yaml"])
        #expect(eval.status == 0 && eval.stdout.contains("test 16×16"), "\(eval.stdout)\(eval.stderr)")
        let refine = try run("pde-train", ["refine", dir + "/train.yaml", "--samples", "1"])
        #expect(refine.status == 0 && refine.stdout.contains("trajectory 1/1") && refine.stdout.contains("H⁻¹ residual"), "\(refine.stdout)\(refine.stderr)")
        let again = try run("pde-train", ["refine", dir + "/train.yaml"])
        #expect(again.status == 2 && again.stderr.contains("--resume"), "\(again.stderr)")
        let resumed = try run("pde-train", ["refine", dir + "/train.yaml", "--resume"])
        #expect(resumed.status == 0 && resumed.stdout.contains("resumed after 1") && resumed.stdout.contains("trajectory 2/2"), "\(resumed.stdout)\(resumed.stderr)")
        let summary = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/run/refine.json")))
        #expect(summary["trajectories"] == 2 && (summary["residual_after"] ?? 1) < (summary["residual_before"] ?? 0))
        // A refine section with an FNO, and windows that do not fit the model, are refused by key.
        try config.replacingOccurrences(of: "output_steps: 10, feed", with: "output_steps: 12, feed").write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try run("pde-train", ["fit", dir + "/bad.yaml"])
        #expect(bad.status == 2 && bad.stderr.contains("data.windows"), "\(bad.stderr)")
    }

    /// pde-datagen dcdm → pde-train dcdm (fit, refuse, resume) → a loadable network that
    /// drives the DCDM solver; bad configs name their key.
    @Test func dcdmTrainingEndToEnd() throws {
        let dir = makeTemporaryFolder()
        try "family: dcdm\nsamples: 24\nseed: 1\noutput: {file: \(dir)/d.h5}\ndcdm: {size: [16, 16], geometries: 2, lanczos_steps: 40}\n"
            .write(toFile: dir + "/data.yaml", atomically: true, encoding: .utf8)
        let gen = try run("pde-datagen", [dir + "/data.yaml", "--quiet"])
        try #require(gen.status == 0, "\(gen.stderr)")
        let config = """
        network: {channels: 4, fine_blocks: 0, coarse_blocks: 1, decoder_blocks: 1}
        data: {file: \(dir)/d.h5, train: 16, validation: 8}
        training:
          epochs: 2
          batch: 4
          optimizer: {name: adam, learning_rate: 1.0e-3}
          checkpoint: {folder: \(dir)/run, every: 1}
        """
        try config.write(toFile: dir + "/train.yaml", atomically: true, encoding: .utf8)
        let fit = try run("pde-train", ["dcdm", dir + "/train.yaml"])
        #expect(fit.status == 0 && fit.stdout.contains("epoch 2/2") && fit.stdout.contains("validation loss"), "\(fit.stdout)\(fit.stderr)")
        let again = try run("pde-train", ["dcdm", dir + "/train.yaml"])
        #expect(again.status == 2 && again.stderr.contains("--resume"), "\(again.stderr)")
        let resumed = try run("pde-train", ["dcdm", dir + "/train.yaml", "--resume", "--epochs", "3"])
        #expect(resumed.status == 0 && resumed.stdout.contains("epoch 3/3"), "\(resumed.stdout)\(resumed.stderr)")
        let net = try DCDMNetwork<Float>.load(from: dir + "/run/network.safetensors")
        #expect(net.configuration.channels == 4)
        let sys = try PressurePoissonSystem(try CellDomain.smokePlume(counts: [16, 16]))
        var x = [Double](repeating: 0, count: sys.unknownCount)
        let report = try DeepConjugateDirection(IterativeOptions(relativeTolerance: 1e-6, maxIterations: 2000))
            .solve(sys.matrix, [Double](repeating: 1, count: sys.unknownCount), x: &x, model: try DCDMDirectionModel(network: net, system: sys))
        #expect(report.iterations >= 1 && report.residualHistory.count == report.iterations + 1)
        for (yaml, key) in [("training:\n  loss: relative-l2\n", "training.loss"), ("network: {channels: 0}\n", "network"),
                            ("network: {depth: 3}\n", "depth"), ("network: {multilevel: true, coarsest_side: 0}\n", "coarsestSide")] {
            let text = yaml + (yaml.hasPrefix("training") ? "" : "training: {epochs: 1, batch: 1, checkpoint: {folder: \(dir)/r2}}\n")
                + "data: {file: \(dir)/d.h5, train: 4}\n"
            try text.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
            let r = try run("pde-train", ["dcdm", dir + "/bad.yaml"])
            #expect(r.status == 2 && r.stderr.contains(key), "\(key): \(r.stderr)")
        }
        try "data: {file: \(dir)/missing.h5, train: 4}\ntraining: {epochs: 1, batch: 1, checkpoint: {folder: \(dir)/r3}}\n"
            .write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let missing = try run("pde-train", ["dcdm", dir + "/bad.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("data.file"), "\(missing.stderr)")
    }

    /// On-policy right-hand sides: every epoch refills the pool from DCDM solves with the
    /// network of the epoch's start; a run resumed after epoch 1 ends with the same network
    /// as the uninterrupted run (the refill depends only on the network and the epoch).
    @Test func dcdmOnPolicyTrainingResumesExactly() throws {
        let dir = makeTemporaryFolder()
        try "family: dcdm\nsamples: 20\nseed: 2\noutput: {file: \(dir)/d.h5}\ndcdm: {size: [16, 16], geometries: 2, lanczos_steps: 30}\n"
            .write(toFile: dir + "/data.yaml", atomically: true, encoding: .utf8)
        let gen = try run("pde-datagen", [dir + "/data.yaml", "--quiet"])
        try #require(gen.status == 0, "\(gen.stderr)")
        func config(_ folder: String, epochs: Int, onPolicy: String = "{residuals: 12, iterations: 4}") -> String {
            """
            network: {channels: 4, fine_blocks: 0, coarse_blocks: 1, decoder_blocks: 1}
            data: {file: \(dir)/d.h5, train: 12, validation: 4}
            objective: {on_policy: \(onPolicy)}
            training:
              epochs: \(epochs)
              batch: 4
              optimizer: {name: adam, learning_rate: 1.0e-3}
              checkpoint: {folder: \(dir)/\(folder), every: 1}
            """
        }
        try config("whole", epochs: 2).write(toFile: dir + "/whole.yaml", atomically: true, encoding: .utf8)
        let whole = try run("pde-train", ["dcdm", dir + "/whole.yaml"])
        #expect(whole.status == 0 && whole.stdout.contains("epoch 2: 12 on-policy residuals"), "\(whole.stdout)\(whole.stderr)")
        try config("split", epochs: 2).write(toFile: dir + "/split.yaml", atomically: true, encoding: .utf8)
        let first = try run("pde-train", ["dcdm", dir + "/split.yaml", "--epochs", "1"])
        try #require(first.status == 0, "\(first.stderr)")
        try FileManager.default.removeItem(atPath: dir + "/split/network.safetensors")
        let second = try run("pde-train", ["dcdm", dir + "/split.yaml", "--resume"])
        try #require(second.status == 0, "\(second.stderr)")
        let a = try SafeTensors.read(dir + "/whole/network.safetensors").tensors
        let b = try SafeTensors.read(dir + "/split/network.safetensors").tensors
        #expect(Set(a.keys) == Set(b.keys) && !a.isEmpty)
        for (name, t) in a { #expect(t.tensor(Float.self).scalars == b[name]?.tensor(Float.self).scalars, "\(name)") }
        for (bad, key) in [("{residuals: 4, iterations: 1}", "on_policy.iterations"), ("{residuals: -1}", "on_policy.residuals"),
                           ("{residuals: 4, steps: 3}", "steps")] {
            try config("bad", epochs: 1, onPolicy: bad).write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
            let r = try run("pde-train", ["dcdm", dir + "/bad.yaml"])
            #expect(r.status == 2 && r.stderr.contains(key), "\(key): \(r.stderr)")
        }
    }
}
