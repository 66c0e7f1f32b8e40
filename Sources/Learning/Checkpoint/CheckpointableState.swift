import Foundation

/// State that a checkpoint stores beside a model's variables: named tensors and named
/// scalars. `Checkpoint` knows only this protocol (optimizers conform to it in
/// `Training`, so the dependency runs one way: Training → Checkpoint).
///
/// In the file, tensors are stored as `optimizer.<name>` and scalars as the metadata
/// entries `optimizer.<key>` (safetensors metadata is text, so scalars travel as text:
/// `String(_:)` of an `Int` or `Double`, which reads back exactly).
public protocol CheckpointableState<Scalar>: AnyObject {
    /// The precision of the stored tensors.
    associatedtype Scalar: TensorScalar
    /// Tensors to store, by name (unique; the file adds the `optimizer.` prefix).
    func checkpointTensors() -> [(name: String, tensor: Tensor<Scalar>)]
    /// Scalars to store, by key, as text (the file adds the `optimizer.` prefix).
    func checkpointScalars() -> [String: String]
    /// Restores what `checkpointTensors` and `checkpointScalars` saved (prefixes removed).
    /// `scalars` may also hold other `optimizer.*` metadata, which is to be ignored. Throws
    /// a `LearningError` on a tensor of the wrong shape or a scalar that does not parse.
    func restoreCheckpoint(tensors: [String: Tensor<Scalar>], scalars: [String: String]) throws
}
