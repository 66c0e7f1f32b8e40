import Foundation
import Testing
@testable import PDE

@Suite("GP-HM (spectral-mixture Gaussian processes on grids)")
struct GPHMTests {
    /// A small state: 24 grid points on [0, 2π], 3 components, u = sin 3x-like values.
    func state(_ shape: SpectralMixtureAxis.Shape) throws -> (SpectralMixtureParameters, [Double], Double, [Double], [Double]) {
        var p = try SpectralMixtureParameters.initial(shape: shape, components: 3, frequencyScale: 1.5)
        p.logWeights = [-0.3, -1.1, -0.7]
        p.logInverseLengthscales = [0.4, -0.2, 0.9]
        let n = 24
        let h = 2 * Double.pi / Double(n - 1)
        let x = (0..<n).map { h * Double($0) }
        let f = x.map { -9 * sin(3 * $0) }
        let u = x.map { sin(3 * $0) + 0.1 * cos(5 * $0) }
        return (p, x, h, f, u)
    }

    @Test("Kernel parameter gradients of g and g″ match finite differences")
    func mixtureGradients() throws {
        for shape in SpectralMixtureAxis.Shape.allCases {
            let (p, _, _, _, _) = try state(shape)
            for order in [0, 2] {
                for t in [0.0, 0.37, 1.9] {
                    var grad = [Double](repeating: 0, count: 9)
                    let value = grad.withUnsafeMutableBufferPointer { p.valueAndGradient(t, order: order, into: $0.baseAddress!) }
                    // The value agrees with the generic spectral-mixture kernel.
                    var out = [Double](repeating: 0, count: order + 1)
                    try p.axisKernel().derivatives(t, into: &out, count: order + 1)
                    #expect(abs(value - out[order]) <= 1e-12 * max(1, abs(value)))
                    for c in 0..<9 {
                        func at(_ delta: Double) -> Double {
                            var q = p
                            switch c / 3 {
                            case 0: q.logWeights[c % 3] += delta
                            case 1: q.frequencies[c % 3] += delta
                            default: q.logInverseLengthscales[c % 3] += delta
                            }
                            var scratch = [Double](repeating: 0, count: 9)
                            return scratch.withUnsafeMutableBufferPointer { q.valueAndGradient(t, order: order, into: $0.baseAddress!) }
                        }
                        let e = 1e-6
                        let fd = (at(e) - at(-e)) / (2 * e)
                        #expect(abs(fd - grad[c]) <= 1e-6 * max(1, abs(grad[c])), "\(shape) order \(order) t \(t) parameter \(c): \(grad[c]) vs \(fd)")
                    }
                }
            }
        }
    }

    @Test("The GP-HM loss gradient (u, kernel parameters, log τ, log v) matches finite differences")
    func lossGradient() throws {
        for (shape, equation) in [(SpectralMixtureAxis.Shape.studentT, GPHM1D.Equation.poisson), (.gaussian, .allenCahn)] {
            let (p, x, h, f, u) = try state(shape)
            let (lt, lv) = (0.3, -0.4)
            func loss(_ p: SpectralMixtureParameters, _ u: [Double], _ lt: Double, _ lv: Double) throws -> Double {
                try GPHM1D.lossAndGradient(params: p, grid: x, spacing: h, source: f, boundary: (0.1, -0.2), equation: equation, u: u,
                                           logTau: lt, logV: lv, boundaryWeight: 200, jitter: 1e-4).loss
            }
            let ev = try GPHM1D.lossAndGradient(params: p, grid: x, spacing: h, source: f, boundary: (0.1, -0.2), equation: equation,
                                                u: u, logTau: lt, logV: lv, boundaryWeight: 200, jitter: 1e-4)
            let e = 1e-6
            for c in 0..<9 {
                var plus = p, minus = p
                switch c / 3 {
                case 0: plus.logWeights[c % 3] += e; minus.logWeights[c % 3] -= e
                case 1: plus.frequencies[c % 3] += e; minus.frequencies[c % 3] -= e
                default: plus.logInverseLengthscales[c % 3] += e; minus.logInverseLengthscales[c % 3] -= e
                }
                let fd = (try loss(plus, u, lt, lv) - loss(minus, u, lt, lv)) / (2 * e)
                #expect(abs(fd - ev.gradientKernel[c]) <= 1e-5 * max(1, abs(fd)), "\(shape) kernel \(c): \(ev.gradientKernel[c]) vs \(fd)")
            }
            for i in [0, 5, 23] {
                var up = u, um = u
                up[i] += e
                um[i] -= e
                let fd = (try loss(p, up, lt, lv) - loss(p, um, lt, lv)) / (2 * e)
                #expect(abs(fd - ev.gradientU[i]) <= 1e-5 * max(1, abs(fd)), "u[\(i)]: \(ev.gradientU[i]) vs \(fd)")
            }
            let fdTau = (try loss(p, u, lt + e, lv) - loss(p, u, lt - e, lv)) / (2 * e)
            let fdV = (try loss(p, u, lt, lv + e) - loss(p, u, lt, lv - e)) / (2 * e)
            #expect(abs(fdTau - ev.gradientLogTau) <= 1e-5 * max(1, abs(fdTau)))
            #expect(abs(fdV - ev.gradientLogV) <= 1e-5 * max(1, abs(fdV)))
        }
    }

    @Test("The exact inner solve minimizes the loss over u (zero u-gradient)")
    func exactInner() throws {
        let (p, x, h, f, _) = try state(.studentT)
        let ev = try GPHM1D.lossAndGradient(params: p, grid: x, spacing: h, source: f, boundary: (0.1, -0.2), equation: .poisson,
                                            u: nil, logTau: 0.3, logV: -0.4, boundaryWeight: 200, jitter: 1e-4)
        let again = try GPHM1D.lossAndGradient(params: p, grid: x, spacing: h, source: f, boundary: (0.1, -0.2), equation: .poisson,
                                               u: ev.u, logTau: 0.3, logV: -0.4, boundaryWeight: 200, jitter: 1e-4)
        let scale = ev.u.map(abs).max()! + 1
        #expect(again.gradientU.map(abs).max()! <= 1e-6 * scale * 1e3)
        #expect(abs(again.loss - ev.loss) <= 1e-9 * abs(ev.loss))
    }
}
