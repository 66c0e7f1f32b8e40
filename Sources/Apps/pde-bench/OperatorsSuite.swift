import AppSupport
import ArgumentParser
import Foundation
import Learning
import Operators
import PDE

/// `pde-bench operators`: FNO training and inference next to neuraloperator (PyTorch) on the
/// same data, model and epochs (`benchmarks/peers/fno_peer.py`; skipped without torch).
struct OperatorsSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators",
        abstract: "FNO-2D training (s/epoch, test error) and inference (samples/s) vs neuraloperator's FNO on the same Darcy data.",
        discussion: """
        Both sides train neuraloperator's FNO with its defaults — n_modes (24, 24) (12 here),
        hidden 32, 4 layers, lifting/projection MLPs of 64, channel MLPs, soft gating — on the
        first --train samples of a pde-datagen Darcy file and test on the next --test, with
        point-wise Gaussian normalization, Adam 1e-3 without a schedule, batch 20, the loss
        the batch mean of per-sample relative L2; float32, \(Threads.count) threads. The data
        go to the peer as .npy files.
        """)

    @OptionGroup var options: BenchOptions

    @Option(help: "pde-datagen Darcy file.")
    var data = "out/darcy_r421.h5"
    @Option(help: "Input and output datasets.")
    var input = "a_85"
    @Option(help: "Output dataset.")
    var output = "u_85"
    @Option(help: "Training samples (the first of the file).")
    var train = 200
    @Option(help: "Test samples (the next ones).")
    var test = 50
    @Option(help: "Epochs.")
    var epochs = 5

    func run() throws {
        try options.validateRelease()
        Threads.configure()
        let rec = BenchRecorder(path: options.results)
        let split = try OperatorDataset.split(total: try OperatorDataset.sampleCount(path: data, dataset: input), train: train, test: test)
        let trainSet = try OperatorSamples(OperatorDataset(path: data, input: input, output: output, samples: split.train))
        let testSet = try OperatorSamples(OperatorDataset(path: data, input: input, output: output, samples: split.test))
        let n = trainSet.inputs.shape[2]
        print("pde-bench operators — FNO (neuraloperator's defaults, n_modes 24×24, hidden 32), \(train) train / \(test) test at \(n)², "
              + "\(epochs) epochs, \(Threads.count) threads, BLAS \(Threads.blasCore)\n")
        var g = SeededGenerator(seed: 0)
        let op = try NeuralOperator<Float>(architecture: .fno(.neuraloperator(nModes: [24, 24], hiddenChannels: 32)),
                                           inputNormalizer: GaussianNormalizer(fitting: trainSet.inputs),
                                           outputNormalizer: GaussianNormalizer(fitting: trainSet.outputs), generator: &g)
        let adam = try Adam(op.namedParameters(Float.self), learningRate: 1e-3)
        var opts = TrainingOptions(epochs: epochs, batchSize: 20, seed: 0)
        opts.progress = false
        let (history, _) = try OperatorTraining.fit(op, train: trainSet, validation: nil, loss: .relativeL2, optimizer: adam, options: opts)
        let perEpoch = median(history.records.map(\.seconds))
        let error = try OperatorTraining.meanRelativeError(op, testSet)
        var passes: [Double] = []
        for _ in 0..<3 { passes.append(try measureSeconds { _ = try OperatorTraining.predict(op, inputs: testSet.inputs, batch: 20) }) }
        let throughput = Double(test) / median(passes)
        rec.record(["suite": "operators", "case": "fno2d_darcy_s\(n)", "tool": "swiftpde", "sec_per_epoch": perEpoch,
                    "first_epoch_s": history.records[0].seconds, "rel_l2": error, "infer_samples_per_s": throughput,
                    "epochs": epochs, "n_train": train, "n_test": test, "threads": Threads.count,
                    "real_params": op.model.parameterCount(Float.self), "blas": Threads.blasCore])
        // The same samples for the peer, as .npy.
        let folder = NSTemporaryDirectory() + "swiftpde-bench-operators-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = train + test
        try NPY.write(trainSet.inputs.scalars + testSet.inputs.scalars, shape: [count, n, n], to: folder + "/x.npy")
        try NPY.write(trainSet.outputs.scalars + testSet.outputs.scalars, shape: [count, n, n], to: folder + "/y.npy")
        let peer = runPeer("fno_peer.py", ["--x", folder + "/x.npy", "--y", folder + "/y.npy", "--n-train", "\(train)", "--n-test", "\(test)",
                                           "--epochs", "\(epochs)", "--threads", "\(Threads.count)"], options: options).first
        let ps = peer?["sec_per_epoch"] as? Double, pe = peer?["rel_l2"] as? Double, pi = peer?["infer_samples_per_s"] as? Double
        if var o = peer, ps != nil {
            o["suite"] = "operators"
            rec.record(o)
        }
        let note = peer == nil ? "(peer not run: needs torch and neuraloperator; --python names the interpreter)" : (peer?["tool"] as? String ?? "")
        printTable(["measure", "SwiftPDE", "neuraloperator", "ratio", "peer"], [
            ["seconds per epoch (median)", String(format: "%.2f", perEpoch), ps.map { String(format: "%.2f", $0) } ?? "—",
             ps.map { String(format: "%.2f×", perEpoch / $0) } ?? "—", note],
            ["test relative L2", String(format: "%.4f", error), pe.map { String(format: "%.4f", $0) } ?? "—",
             pe.map { String(format: "%.2f×", error / $0) } ?? "—", ""],
            ["inference samples/s", String(format: "%.0f", throughput), pi.map { String(format: "%.0f", $0) } ?? "—",
             pi.map { String(format: "%.2f×", throughput / $0) } ?? "—", ""],
        ])
        print("\nparameters: SwiftPDE \(op.model.parameterCount(Float.self)) real" + ((peer?["real_params"] as? Int).map { ", neuraloperator \($0) real" } ?? ""))
        try rec.flush()
    }
}
