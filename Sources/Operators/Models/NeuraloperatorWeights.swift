import Foundation
import Learning

/// Loads weights trained with neuraloperator (the PyTorch library, version 2.0) into an
/// `FNO` of neuraloperator's style (`FNOConfiguration.neuraloperator`), which then computes
/// what the library's `FNO` computes.
///
/// The file is the model's `state_dict()` saved with safetensors (drop its `_metadata`
/// entry first); the complex spectral weights either natively (dtype C64, safetensors ≥
/// 0.7) or as `torch.view_as_real` F32 tensors with a trailing axis of 2.
///
/// Name and layout mapping (d spatial axes, layer i):
///
/// | neuraloperator | here | layout |
/// |---|---|---|
/// | `lifting.fcs.0.weight/bias` `[2h, Cin + d, 1]` | `lifting` | 1×1 conv `[2h, Cin + d, 1…]` |
/// | `lifting.fcs.1.weight/bias` | `liftingOutput` | |
/// | `fno_blocks.convs.i.weight.tensor` `[h, h, N₁…, N_d/2+1]` complex | `blocks.blocks.i.spectral.weight` `[h, h, 2m₁…, m_d, 2]` | full axes reordered from fftshifted (−m…m−1) to FFT order (0…m−1, −m…−1) |
/// | `fno_blocks.convs.i.bias` `[h, 1…]` | `blocks.blocks.i.spectralBias` | same |
/// | `fno_blocks.fno_skips.i.conv.weight` `[h, h, 1]` | `blocks.blocks.i.pointwise.weight` | 1×1 conv, no bias |
/// | `fno_blocks.channel_mlp.i.fcs.0/1.weight/bias` | `blocks.blocks.i.mlpIn` / `mlpOut` | 1×1 convs |
/// | `fno_blocks.channel_mlp_skips.i.weight` `[1, h, 1…]` | `blocks.blocks.i.gate` | same |
/// | `projection.fcs.0/1.weight/bias` | `projection` / `output` | 1×1 convs |
///
/// Even full-axis mode counts only (neuraloperator 2.0 misplaces the modes of odd counts).
public enum NeuraloperatorWeights {
    /// Copies the tensors of the state dict at `path` into `fno`. Throws
    /// `LearningError.invalidArgument` when `fno` is not of neuraloperator's style,
    /// `checkpointMismatch` naming the first tensor that is missing or has another size,
    /// and the file's read errors.
    public static func load<T: TensorScalar>(_ path: String, into fno: FNO<T>) throws {
        let c = fno.configuration
        guard c.style == .neuraloperator, c.liftingWidth != nil, let liftingOutput = fno.liftingOutput else {
            throw LearningError.invalidArgument(name: "FNO style", value: c.style.rawValue,
                                                expected: "an FNO built with FNOConfiguration.neuraloperator(…) to take neuraloperator weights")
        }
        let file = try SafeTensors.read(path)
        func tensor(_ name: String, count: Int) throws -> Tensor<T> {
            guard let e = file.tensors[name] else {
                throw LearningError.checkpointMismatch(path: path, tensor: name, reason: "missing from the neuraloperator state dict")
            }
            let t = e.tensor(T.self)
            guard t.count == count else {
                throw LearningError.checkpointMismatch(path: path, tensor: name,
                                                       reason: "\(t.count) values (shape \(shapeString(e.shape))), the model needs \(count)")
            }
            return t
        }
        func copy(_ name: String, into v: Variable<T>?) throws {
            guard let v else { return }
            v.value = try Tensor(shape: v.value.shape, scalars: try tensor(name, count: v.value.count).scalars)
        }
        func copy(_ prefix: String, into conv: Convolution<T>) throws {
            try copy(prefix + ".weight", into: conv.weight)
            try copy(prefix + ".bias", into: conv.bias)
        }
        try copy("lifting.fcs.0", into: fno.lifting)
        try copy("lifting.fcs.1", into: liftingOutput)
        for (i, block) in fno.blocks.blocks.enumerated() {
            let w = block.spectral.weight
            let theirs = try tensor("fno_blocks.convs.\(i).weight.tensor", count: w.value.count)
            w.value = try fromShiftedModes(theirs.scalars, shape: w.value.shape, modes: block.spectral.modes)
            try copy("fno_blocks.convs.\(i).bias", into: block.spectralBias)
            try copy("fno_blocks.fno_skips.\(i).conv.weight", into: block.pointwise.weight)
            if let mlpIn = block.mlpIn, let mlpOut = block.mlpOut {
                try copy("fno_blocks.channel_mlp.\(i).fcs.0", into: mlpIn)
                try copy("fno_blocks.channel_mlp.\(i).fcs.1", into: mlpOut)
            }
            try copy("fno_blocks.channel_mlp_skips.\(i).weight", into: block.gate)
        }
        try copy("projection.fcs.0", into: fno.projection)
        try copy("projection.fcs.1", into: fno.output)
    }

    /// neuraloperator's spectral weight (full axes in fftshifted order, index j ↔ frequency
    /// j − m) in our layout (index r ↔ frequency r for r < m, r − 2m above).
    static func fromShiftedModes<T: TensorScalar>(_ values: [T], shape: [Int], modes: [Int]) throws -> Tensor<T> {
        let rank = shape.count                       // [Cin, Cout, 2m₁…, m_d, 2]
        let strides = (0..<rank).map { a in shape[(a + 1)...].reduce(1, *) }
        var out = [T](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: rank)
        for flat in 0..<values.count {
            var r = flat
            for a in stride(from: rank - 1, through: 0, by: -1) { index[a] = r % shape[a]; r /= shape[a] }
            var source = 0
            for a in 0..<rank {
                var j = index[a]
                let spectralAxis = a - 2
                if spectralAxis >= 0, spectralAxis < modes.count - 1 {
                    let m = modes[spectralAxis]
                    j = (j + m) % (2 * m)
                }
                source += j * strides[a]
            }
            out[flat] = values[source]
        }
        return try Tensor(shape: shape, scalars: out)
    }
}
