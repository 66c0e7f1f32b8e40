import Foundation
import Learning
import PDE

/// Input/output pairs of an HDF5 dataset file written by `pde-datagen` (or h5py), read by
/// slices of samples — never the whole file — for operator training: a sample range (the
/// split), subsampling of the spatial axes by a stride (FNO's `[::k]`), and batches as
/// `Tensor<Float>` of shape [batch, 1, …] (a channel axis added), shuffled by a seeded
/// generator. One object per thread (it keeps the file open).
public final class OperatorDataset {
    /// The file.
    public let path: String
    /// Dataset names of the inputs and outputs (e.g. `a_85` and `u_85`).
    public let inputName: String, outputName: String
    /// The samples of the file this dataset covers (a split).
    public let samples: Range<Int>
    /// Subsampling stride of the spatial axes.
    public let stride: Int
    /// Per-sample shapes in the file and after subsampling.
    public let fileInputShape: [Int], fileOutputShape: [Int]
    private let file: HDF5DatasetFile

    /// Opens `path` and checks the two datasets: appendable-style [samples, …] arrays with the
    /// same sample count, `samples` within it (default all), and a stride ≥ 1 that leaves at
    /// least one point per axis. Throws `PDEError` for the file and `LearningError` for bad
    /// arguments.
    public init(path: String, input: String, output: String, samples: Range<Int>? = nil, stride: Int = 1) throws {
        file = try HDF5DatasetFile(path: path)
        let a = try file.info(input), b = try file.info(output)
        guard a.shape.count >= 2, b.shape.count >= 2, a.shape[0] == b.shape[0] else {
            throw LearningError.shapeMismatch(operation: "operator dataset \(path)", expected: "'\(input)' and '\(output)' of shape [samples, …] with equal sample counts",
                                              got: "\(a.shape) and \(b.shape)")
        }
        let range = samples ?? 0..<a.shape[0]
        guard range.lowerBound >= 0, range.upperBound <= a.shape[0], !range.isEmpty else {
            throw LearningError.invalidArgument(name: "samples", value: "\(range)", expected: "a non-empty range within 0..<\(a.shape[0])")
        }
        guard stride >= 1 else { throw LearningError.invalidArgument(name: "stride", value: "\(stride)", expected: "an integer ≥ 1") }
        self.path = path
        inputName = input
        outputName = output
        self.samples = range
        self.stride = stride
        fileInputShape = Array(a.shape.dropFirst())
        fileOutputShape = Array(b.shape.dropFirst())
    }

    /// The number of samples (leading extent) of dataset `name` in the HDF5 file at `path`.
    /// Throws the file's `PDEError`s (missing file or dataset).
    public static func sampleCount(path: String, dataset name: String) throws -> Int {
        let info = try HDF5DatasetFile(path: path).info(name)
        guard let n = info.shape.first else {
            throw LearningError.shapeMismatch(operation: "operator dataset \(path)", expected: "'\(name)' of shape [samples, …]", got: "a scalar")
        }
        return n
    }

    /// Samples in this dataset (the split's size).
    public var count: Int { samples.count }
    /// The subsampled per-sample shape of a file shape: ⌈n / stride⌉ points per axis.
    public func subsampledShape(_ shape: [Int]) -> [Int] { shape.map { ($0 + stride - 1) / stride } }

    /// The inputs and outputs of the dataset's samples `indices` (0-based within the split),
    /// subsampled, as [batch, 1, …] Float tensors. Throws `LearningError.invalidArgument` for
    /// an index outside the split, and the file's read errors.
    public func batch(_ indices: [Int]) throws -> (input: Tensor<Float>, output: Tensor<Float>) {
        var inputs: [Float] = [], outputs: [Float] = []
        for i in indices {
            guard i >= 0, i < count else {
                throw LearningError.invalidArgument(name: "sample index", value: "\(i)", expected: "0..<\(count) (the split's samples)")
            }
            let s = samples.lowerBound + i
            inputs += subsample(try file.read(inputName, samples: s..<(s + 1), as: Float.self).values, shape: fileInputShape)
            outputs += subsample(try file.read(outputName, samples: s..<(s + 1), as: Float.self).values, shape: fileOutputShape)
        }
        let b = indices.count
        return (try Tensor(shape: [b, 1] + subsampledShape(fileInputShape), scalars: inputs),
                try Tensor(shape: [b, 1] + subsampledShape(fileOutputShape), scalars: outputs))
    }

    /// The split's indices in batches of `size` (the last may be smaller), shuffled by
    /// `generator` when given (a Fisher–Yates permutation: the same seed, the same batches).
    public func batches(size: Int, shuffledBy generator: inout SeededGenerator?) throws -> [[Int]] {
        guard size >= 1 else { throw LearningError.invalidArgument(name: "batch size", value: "\(size)", expected: "an integer ≥ 1") }
        var order = Array(0..<count)
        if generator != nil {
            for i in Swift.stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(generator!.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return Swift.stride(from: 0, to: order.count, by: size).map { Array(order[$0..<min(order.count, $0 + size)]) }
    }

    /// Contiguous train / validation / test ranges of `total` samples in that order (FNO:
    /// the first 1000 train, the last 100 test). Throws unless the counts fit.
    public static func split(total: Int, train: Int, validation: Int = 0, test: Int) throws -> (train: Range<Int>, validation: Range<Int>, test: Range<Int>) {
        guard train >= 1, validation >= 0, test >= 0, train + validation + test <= total else {
            throw LearningError.invalidArgument(name: "split", value: "train \(train), validation \(validation), test \(test) of \(total)",
                                                expected: "non-negative counts (train ≥ 1) that fit in the file's samples")
        }
        return (0..<train, train..<(train + validation), (train + validation)..<(train + validation + test))
    }

    /// Every `stride`-th point of every axis of a C-order array of `shape`.
    func subsample(_ v: [Float], shape: [Int]) -> [Float] {
        guard stride > 1 else { return v }
        let out = subsampledShape(shape)
        var result = [Float](repeating: 0, count: out.reduce(1, *))
        var idx = [Int](repeating: 0, count: shape.count)
        let strides: [Int] = (0..<shape.count).map { d in shape[(d + 1)...].reduce(1, *) }
        for o in 0..<result.count {
            var r = o
            for d in Swift.stride(from: shape.count - 1, through: 0, by: -1) { idx[d] = r % out[d]; r /= out[d] }
            var src = 0
            for d in 0..<shape.count { src += idx[d] * self.stride * strides[d] }
            result[o] = v[src]
        }
        return result
    }
}
