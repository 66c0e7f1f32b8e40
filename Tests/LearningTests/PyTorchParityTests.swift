import Foundation
import Testing
@testable import Learning

/// Forward values against PyTorch on the same inputs, when torch and safetensors are
/// installed (skipped otherwise): the layouts and conventions users port models with.
@Suite struct PyTorchParityTests {
    @Test(.enabled(if: Python.has("torch", "safetensors.numpy"), "needs PyTorch and safetensors in python3 (torch is not installed by make test)"))
    func operationsMatchPyTorch() throws {
        let dir = makeTemporaryFolder()
        let x = randomTensor([2, 3, 7, 6], seed: 1), w = randomTensor([4, 3, 3, 2], seed: 2), b = randomTensor([4], seed: 3)
        let wt = randomTensor([3, 2, 3, 3], seed: 4)
        let v = { (t: Tensor<Double>) in Variable(t) }
        var outputs: [(name: String, entry: SafeTensors.Entry)] = []
        func add(_ name: String, _ t: Tensor<Double>) { outputs.append((name: name, entry: .init(t))) }
        add("conv", try Variable.convolution(v(x), weight: v(w), bias: v(b), stride: [2, 1], padding: [1, 2]).value)
        add("convT", try Variable.transposedConvolution(v(x), weight: v(wt), stride: [2, 2], padding: [1, 0], outputPadding: [1, 1]).value)
        add("nearest", try v(x).upsampled(to: [11, 13], mode: .nearest).value)
        add("bilinear", try v(x).upsampled(to: [11, 13], mode: .linear).value)
        add("pool", try v(x).slice(lower: [0, 0, 0, 0], sizes: [2, 3, 6, 6]).averagePooled(kernel: [2, 3]).value)
        add("gelu", x.map(.gelu))
        add("softplus", x.map(.softplus(beta: 2.5)))
        let spec = try v(x).rfft(dimensions: 2).value
        add("rfft2", spec)
        add("irfft2", try v(spec).irfft(dimensions: 2, lastSize: 6).value)
        let ln = try LayerNorm<Double>(features: 6)
        add("layernorm", try ln(v(x)).value)
        let inputs = dir + "/inputs.safetensors", expected = dir + "/ours.safetensors"
        try SafeTensors.write([("x", .init(x)), ("w", .init(w)), ("b", .init(b)), ("wt", .init(wt))], to: inputs)
        try SafeTensors.write(outputs, to: expected)
        let r = Python.run("""
        import torch, torch.nn.functional as F
        from safetensors.numpy import load_file
        i = {k: torch.from_numpy(v) for k, v in load_file('\(inputs)').items()}
        o = {k: torch.from_numpy(v) for k, v in load_file('\(expected)').items()}
        x = i['x']
        ref = {
          'conv': F.conv2d(x, i['w'], i['b'], stride=(2, 1), padding=(1, 2)),
          'convT': F.conv_transpose2d(x, i['wt'], stride=2, padding=(1, 0), output_padding=1),
          'nearest': F.interpolate(x, size=(11, 13), mode='nearest'),
          'bilinear': F.interpolate(x, size=(11, 13), mode='bilinear', align_corners=False),
          'pool': F.avg_pool2d(x[:, :, :6, :6], (2, 3)),
          'gelu': F.gelu(x),
          'softplus': F.softplus(x, beta=2.5),
          'rfft2': torch.view_as_real(torch.fft.rfft2(x)),
          'irfft2': torch.fft.irfft2(torch.view_as_complex(o['rfft2'].contiguous()), s=(7, 6)),
          'layernorm': F.layer_norm(x, (6,)),
        }
        worst = max((ref[k] - o[k]).abs().max().item() for k in ref)
        bad = [k for k in ref if (ref[k] - o[k]).abs().max().item() > 1e-12 or ref[k].shape != o[k].shape]
        print('worst', worst, 'bad', bad)
        """)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("bad []"), "\(r.output)")
    }
}
