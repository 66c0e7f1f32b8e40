import Foundation
@testable import Inverse
import Learning
import PDE

/// Seeded N(0, scale²) values.
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in scale * rng.normal() }
}

/// The kind of a thrown `PDEError` (nil when nothing or something else was thrown).
func pdeErrorKind(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch let error as PDEError {
        switch error {
        case .shapeMismatch: return "shapeMismatch"
        case .invalidValue: return "invalidValue"
        default: return "other"
        }
    } catch { return "foreign" }
}

/// Every parameter redrawn from U(−s/√fanIn, s/√fanIn), then the constraint applied (half the
/// hidden weights clamp to 0): the reference's e^{−10} start is nearly linear, too easy a test.
func scramble<T: TensorScalar>(_ net: LearnedProximalNetwork<T>, seed: UInt64, scale: Double = 2) {
    var g = SeededGenerator(seed: seed)
    for (_, v) in net.namedParameters(T.self) {
        let fanIn = v.shape.count > 1 ? v.shape.dropFirst().reduce(1, *) : 1
        let b = scale / Double(fanIn).squareRoot()
        v.value = Tensor.randomUniform(shape: v.shape, low: -b, high: b, generator: &g)
    }
    net.clampHiddenWeights()
}
