import Foundation
@testable import Inverse
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
