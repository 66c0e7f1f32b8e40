import Foundation
import Learning
import Testing

/// Central finite differences (step 1e-6) of `loss` against its backward pass, for the
/// entries first, middle and last of every parameter of `model` (or of those in `names`):
/// |numeric − analytic| ≤ absolute + 1e-5·|numeric|.
func expectParameterGradients(_ model: Module, names: Set<String>? = nil, absolute: Double = 1e-7,
                              loss: () throws -> Variable<Double>, sourceLocation: SourceLocation = #_sourceLocation) throws {
    model.zeroGradients(Double.self)
    try loss().backward()
    for (name, p) in model.namedParameters(Double.self) where names?.contains(name) ?? true {
        let analytic = try #require(p.grad, "\(name) has no gradient", sourceLocation: sourceLocation)
        for k in Set([0, p.value.count / 2, p.value.count - 1]) {
            let original = p.value
            func at(_ d: Double) throws -> Double {
                var s = original.scalars
                s[k] += d
                p.value = try Tensor(shape: original.shape, scalars: s)
                defer { p.value = original }
                return try Autodiff.withoutGradient { try loss().value.scalars[0] }
            }
            let numeric = (try at(1e-6) - at(-1e-6)) / 2e-6
            #expect(abs(numeric - analytic.scalars[k]) <= absolute + 1e-5 * abs(numeric),
                    "\(name)[\(k)]: \(analytic.scalars[k]) vs \(numeric)", sourceLocation: sourceLocation)
        }
    }
}
