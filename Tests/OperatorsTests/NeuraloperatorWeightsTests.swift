import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

@Suite struct NeuraloperatorWeightsTests {
    @Test func theConfigurationPresetMatchesTheLibrarysModeCounts() {
        let c = FNOConfiguration.neuraloperator(nModes: [24, 24], hiddenChannels: 32)
        #expect(c.modes == [12, 13] && c.liftingWidth == 64 && c.projectionWidth == 64 && c.style == .neuraloperator && c.padding == [0, 0])
        // Files written before `style` existed decode as the paper's style.
        let old = #"{"inChannels":1,"outChannels":1,"modes":[12,12],"width":32,"layers":4,"projectionWidth":128,"padding":[0.1,0.1],"gridCoordinates":true}"#
        let decoded = try? JSONDecoder().decode(FNOConfiguration.self, from: Data(old.utf8))
        #expect(decoded?.style == .paper && decoded?.liftingWidth == nil)
    }

    @Test func aStateDictInTheLibrarysLayoutLoadsIntoTheSameComputation() throws {
        // The library's names and layouts written from one model, loaded into a fresh one:
        // identical predictions (the name map and the fftshift reordering are each other's inverse).
        var g = SeededGenerator(seed: 21)
        let config = FNOConfiguration.neuraloperator(nModes: [8, 8], hiddenChannels: 6, layers: 2)
        let source = try FNO<Float>(config, generator: &g)
        for b in source.blocks.blocks {   // non-trivial biases and gates
            b.spectralBias!.value = Tensor<Float>.randomNormal(shape: b.spectralBias!.value.shape, generator: &g)
            b.gate!.value = Tensor<Float>.randomNormal(shape: b.gate!.value.shape, generator: &g)
        }
        var entries: [(name: String, entry: SafeTensors.Entry)] = []
        func add(_ name: String, _ t: Tensor<Float>, shape: [Int]? = nil) throws {
            entries.append((name, SafeTensors.Entry(try Tensor(shape: shape ?? t.shape, scalars: t.scalars))))
        }
        func conv(_ prefix: String, _ c: Convolution<Float>) throws {
            try add(prefix + ".weight", c.weight.value, shape: Array(c.weight.value.shape.prefix(2)) + [1])   // Conv1d layout
            if let bias = c.bias { try add(prefix + ".bias", bias.value) }
        }
        try conv("lifting.fcs.0", source.lifting)
        try conv("lifting.fcs.1", source.liftingOutput!)
        for (i, b) in source.blocks.blocks.enumerated() {
            // Our FFT order → fftshifted order along the full axis (the inverse of the loader's map).
            let w = b.spectral.weight.value, m = b.spectral.modes[0]
            var shifted = w.scalars
            let shape = w.shape, plane = shape[3] * shape[4]
            for io in 0..<(shape[0] * shape[1]) { for r in 0..<(2 * m) {
                let j = (r + m) % (2 * m)
                for q in 0..<plane { shifted[(io * 2 * m + j) * plane + q] = w.scalars[(io * 2 * m + r) * plane + q] }
            } }
            try add("fno_blocks.convs.\(i).weight.tensor", try Tensor(shape: shape, scalars: shifted))
            try add("fno_blocks.convs.\(i).bias", b.spectralBias!.value)
            try add("fno_blocks.fno_skips.\(i).conv.weight", b.pointwise.weight.value, shape: [6, 6, 1])
            try conv("fno_blocks.channel_mlp.\(i).fcs.0", b.mlpIn!)
            try conv("fno_blocks.channel_mlp.\(i).fcs.1", b.mlpOut!)
            try add("fno_blocks.channel_mlp_skips.\(i).weight", b.gate!.value)
        }
        try conv("projection.fcs.0", source.projection)
        try conv("projection.fcs.1", source.output)
        let path = makeTemporaryFolder() + "/sd.safetensors"
        try SafeTensors.write(entries, metadata: [:], to: path)
        var g2 = SeededGenerator(seed: 99)
        let target = try FNO<Float>(config, generator: &g2)
        try NeuraloperatorWeights.load(path, into: target)
        let x = Variable(Tensor<Float>.randomNormal(shape: [2, 1, 16, 12], generator: &g))
        #expect(try target(x).value.scalars == source(x).value.scalars)
        // A paper-style FNO is refused; a missing tensor is named.
        let paper = try FNO<Float>(FNOConfiguration(modes: [4, 4]), generator: &g)
        #expect(throws: LearningError.self) { try NeuraloperatorWeights.load(path, into: paper) }
        try SafeTensors.write(entries.filter { $0.name != "fno_blocks.convs.1.bias" }, metadata: [:], to: path)
        #expect {
            try NeuraloperatorWeights.load(path, into: target)
        } throws: { e in "\(e)".contains("fno_blocks.convs.1.bias") }
    }

    @Test(.enabled(if: Python.has("torch", "neuralop", "safetensors"), "needs torch, neuraloperator and safetensors (SWIFTPDE_PYTHON may name a virtual environment's python)"))
    func neuraloperatorWeightsGiveTheLibrarysPredictions() throws {
        let dir = makeTemporaryFolder()
        let r = Python.run(arguments: [packageRoot + "/benchmarks/peers/neuraloperator_export.py", "--out", dir])
        try #require(r.status == 0, "\(r.output)")
        var g = SeededGenerator(seed: 0)
        let fno = try FNO<Float>(FNOConfiguration.neuraloperator(nModes: [24, 24], hiddenChannels: 32, layers: 4), generator: &g)
        try NeuraloperatorWeights.load(dir + "/fno.safetensors", into: fno)
        let x = try NPY.read(dir + "/x.npy"), y = try NPY.read(dir + "/y.npy")
        let ours = try fno(Variable(try Tensor<Float>(shape: x.shape, scalars: x.doubles.map { Float($0) }))).value
        #expect(ours.shape == y.shape)
        let scale = y.doubles.map { Swift.abs($0) }.max()!
        let gap = maxAbsDifference(ours.scalars.map(Double.init), y.doubles)
        #expect(gap < 1e-4 * scale, "max |ours − torch| = \(gap), max |torch| = \(scale); \(r.output)")
    }
}
