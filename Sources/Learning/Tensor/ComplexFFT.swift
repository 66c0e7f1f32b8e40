import CFFTW
import Foundation

/// Complex-to-complex FFTs over any axes of a complex tensor (a trailing (re, im) axis of
/// size 2), through FFTW's guru interface: the chosen axes are the transform dimensions,
/// every other axis a batch dimension, with the tensor's own strides (no transposes).
/// Plans are cached in `FFTWPlans` per (precision, direction, shape, axes, alignment).
extension FFT {
    /// The unnormalized c2c DFT of `x` ([..., 2]) over the complex axes `axes` (already
    /// normalized, distinct, each below `x.rank − 1`): X[k] = Σₙ x[n]·e^{∓2πi k·n/N}, with
    /// the minus sign forward and the plus sign when `inverse` (no 1/N in either).
    static func complexTransform<T: TensorScalar>(_ x: Tensor<T>, axes: [Int], inverse: Bool) throws -> Tensor<T> {
        let shape = Array(x.shape.dropLast())
        guard !axes.isEmpty, x.count > 0 else { return x }
        var strides = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * shape[a + 1] }
        let dims = axes.map { (n: Int32(shape[$0]), s: Int32(strides[$0])) }
        let batch = (0..<shape.count).filter { !axes.contains($0) && shape[$0] > 1 }.map { (n: Int32(shape[$0]), s: Int32(strides[$0])) }
        let total = x.count / 2
        var failure: Error?
        let y = Tensor<T>(uninitializedShape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { px in
                let input = UnsafeMutablePointer(mutating: px.baseAddress!)  // out of place: not written
                let aligned = Int(bitPattern: input) % 16 == 0 && Int(bitPattern: out) % 16 == 0
                let key = "\(T.dtypeName) c2c \(inverse ? "backward" : "forward") \(shape) axes \(axes) \(aligned)"
                do {
                    let plan = try FFTWPlans.plan(key, threads: FFTWPlans.threads(forPoints: total)) {
                        let a = T._allocate(2 * total), b = T._allocate(2 * total)
                        defer { T._free(a); T._free(b) }
                        let flags = FFTWPlans.flags(aligned ? 0 : swiftpde_fftw_unaligned())
                        return planGuru(T.self, dims: dims, batch: batch, a, b, inverse: inverse, flags: flags)
                    }
                    executeGuru(plan.pointer, input, out)
                } catch {
                    failure = LearningError.invalidArgument(name: "FFT size", value: "\(shape) over axes \(axes)",
                                                            expected: "a transform FFTW can plan (it failed: out of memory?)")
                }
            }
        }
        if let failure { throw failure }
        return y
    }

    /// `fftw_plan_guru_dft` / `fftwf_plan_guru_dft` (strides in complex elements); nil on failure.
    private static func planGuru<T: TensorScalar>(_: T.Type, dims: [(n: Int32, s: Int32)], batch: [(n: Int32, s: Int32)],
                                                  _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                                  inverse: Bool, flags: UInt32) -> OpaquePointer? {
        let sign = inverse ? swiftpde_fftw_backward() : swiftpde_fftw_forward()
        if T.self == Double.self {
            let d = dims.map { fftw_iodim(n: $0.n, is: $0.s, os: $0.s) }, h = batch.map { fftw_iodim(n: $0.n, is: $0.s, os: $0.s) }
            return UnsafeMutableRawPointer(a).withMemoryRebound(to: fftw_complex.self, capacity: 1) { pa in
                UnsafeMutableRawPointer(b).withMemoryRebound(to: fftw_complex.self, capacity: 1) { pb in
                    fftw_plan_guru_dft(Int32(d.count), d, Int32(h.count), h, pa, pb, sign, flags)
                }
            }
        } else {
            let d = dims.map { fftwf_iodim(n: $0.n, is: $0.s, os: $0.s) }, h = batch.map { fftwf_iodim(n: $0.n, is: $0.s, os: $0.s) }
            return UnsafeMutableRawPointer(a).withMemoryRebound(to: fftwf_complex.self, capacity: 1) { pa in
                UnsafeMutableRawPointer(b).withMemoryRebound(to: fftwf_complex.self, capacity: 1) { pb in
                    fftwf_plan_guru_dft(Int32(d.count), d, Int32(h.count), h, pa, pb, sign, flags)
                }
            }
        }
    }

    /// `fftw_execute_dft` / `fftwf_execute_dft` on new arrays of the planned layout and alignment.
    private static func executeGuru<T: TensorScalar>(_ plan: OpaquePointer, _ input: UnsafeMutablePointer<T>, _ output: UnsafeMutablePointer<T>) {
        if T.self == Double.self {
            UnsafeMutableRawPointer(input).withMemoryRebound(to: fftw_complex.self, capacity: 1) { pi in
                UnsafeMutableRawPointer(output).withMemoryRebound(to: fftw_complex.self, capacity: 1) { po in
                    fftw_execute_dft(plan, pi, po)
                }
            }
        } else {
            UnsafeMutableRawPointer(input).withMemoryRebound(to: fftwf_complex.self, capacity: 1) { pi in
                UnsafeMutableRawPointer(output).withMemoryRebound(to: fftwf_complex.self, capacity: 1) { po in
                    fftwf_execute_dft(plan, pi, po)
                }
            }
        }
    }
}
