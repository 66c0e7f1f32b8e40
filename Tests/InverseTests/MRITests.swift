import Foundation
import Testing
@testable import Inverse
import PDE
import TestSupport

/// Every mask type on a shape (fixed seeds).
private func allMasks(_ shape: [Int]) throws -> [(String, [Bool])] {
    [
        ("random", try SamplingMask.random(shape: shape, acceleration: 4, centerFraction: 0.08, seed: 7)),
        ("radial", try SamplingMask.radial(shape: shape, lines: 6)),
        ("variableDensity", try SamplingMask.variableDensity(shape: shape, acceleration: 3, decay: 2, seed: 7)),
        ("full", [Bool](repeating: true, count: shape[0] * shape[1])),
        ("dc", [true] + [Bool](repeating: false, count: shape[0] * shape[1] - 1)),
    ]
}

@Suite struct MRITests {
    static let shapes: [[Int]] = [[16, 16], [15, 17], [16, 13], [9, 12], [1, 8]]

    @Test(arguments: shapes)
    func adjointDotTest(shape: [Int]) throws {
        for (name, mask) in try allMasks(shape) {
            let model = try SubsampledFourier(shape: shape, mask: mask)
            #expect(model.rangeShape == [mask.filter { $0 }.count, 2])
            for seed in [1, 2, 3] as [UInt64] {
                let e = adjointMismatch(model, seed: seed)
                #expect(e <= 1e-12, "\(name) mask on \(shape): mismatch \(e)")
            }
        }
    }

    @Test func matchesDirectOrthonormalDFT() throws {
        // numpy's fft2 layout and sign, norm="ortho", on an odd × even grid.
        let shape = [5, 6]
        let mask = try SamplingMask.variableDensity(shape: shape, acceleration: 2, decay: 1, seed: 3)
        let model = try SubsampledFourier(shape: shape, mask: mask)
        let x = randomArray(30, seed: 9)
        let y = try model(x)
        let scale = 1 / 30.0.squareRoot()
        var m = 0
        var worst = 0.0
        for k0 in 0..<5 {
            for k1 in 0..<6 where mask[k0 * 6 + k1] {
                var re = 0.0, im = 0.0
                for n0 in 0..<5 {
                    for n1 in 0..<6 {
                        let phase = -2 * Double.pi * (Double(k0 * n0) / 5 + Double(k1 * n1) / 6)
                        re += x[n0 * 6 + n1] * cos(phase); im += x[n0 * 6 + n1] * sin(phase)
                    }
                }
                worst = max(worst, abs(y[2 * m] - scale * re), abs(y[2 * m + 1] - scale * im))
                m += 1
            }
        }
        #expect(m == model.rangeShape[0])
        #expect(worst < 1e-13)
    }

    @Test(arguments: shapes)
    func fullMaskIsAnIsometry(shape: [Int]) throws {
        let n = shape[0] * shape[1]
        let model = try SubsampledFourier(shape: shape, mask: [Bool](repeating: true, count: n))
        let x = randomArray(n, seed: 4)
        let y = try model(x)
        #expect(abs(InverseVectors.norm(y) - InverseVectors.norm(x)) <= 1e-12 * InverseVectors.norm(x))
        #expect(maxAbsDifference(try model.zeroFilled(y), x) < 1e-12)
        #expect(maxAbsDifference(try model.pseudoInverse(y), x) < 1e-12)
        #expect(abs(model.lipschitzEstimate(iterations: 5) - 1) < 1e-12)
        #expect(model.samplingFraction == 1)
    }

    @Test(arguments: shapes)
    func pseudoInverseIsDataConsistent(shape: [Int]) throws {
        for (name, mask) in try allMasks(shape) {
            let model = try SubsampledFourier(shape: shape, mask: mask)
            let y = try model(randomArray(model.domainCount, seed: 5))
            let consistent = try model(try model.pseudoInverse(y))
            #expect(maxAbsDifference(consistent, y) < 1e-12, "\(name) on \(shape)")
            // The subsampled operator is a contraction, ‖A‖ ≤ 1.
            #expect(model.lipschitzEstimate(iterations: 20) <= 1 + 1e-12)
        }
        // Point-symmetric masks (radial on odd sizes): zero-filled = pseudo-inverse.
        let odd = try SamplingMask.radial(shape: [15, 17], lines: 5)
        let model = try SubsampledFourier(shape: [15, 17], mask: odd)
        let y = try model(randomArray(15 * 17, seed: 6))
        #expect(maxAbsDifference(try model.zeroFilled(y), try model.pseudoInverse(y)) < 1e-13)
    }

    @Test func randomMaskFractionAndCentre() throws {
        for shape in [[32, 64], [17, 33], [8, 50]] {
            for acceleration in [4.0, 8.0, 2.5] {
                let mask = try SamplingMask.random(shape: shape, acceleration: acceleration, centerFraction: 0.08, seed: 1)
                let n1 = shape[1]
                let columns = (0..<n1).map { mask[$0] }
                // Whole columns: every row equals the first.
                for i in 0..<shape[0] { #expect(Array(mask[(i * n1)..<((i + 1) * n1)]) == columns) }
                let low = max(1, Int((Double(n1) * 0.08).rounded()))
                let expected = max(low, Int((Double(n1) / acceleration).rounded()))
                #expect(columns.filter { $0 }.count == expected)
                #expect(abs(SamplingMask.fraction(mask) - 1 / acceleration) <= 0.5 / Double(n1) + 1e-12 || expected == low)
                // DC and its low-frequency neighbours (the centre band) are sampled.
                #expect(columns[0])
                if low >= 3 { #expect(columns[1] && columns[n1 - 1]) }
            }
        }
        let a = try SamplingMask.random(shape: [16, 64], acceleration: 4, seed: 3)
        #expect(a == (try SamplingMask.random(shape: [16, 64], acceleration: 4, seed: 3)))
        #expect(a != (try SamplingMask.random(shape: [16, 64], acceleration: 4, seed: 4)))
    }

    @Test func variableDensityFractionAndCentre() throws {
        for (shape, acceleration) in [([64, 64], 4.0), ([48, 33], 6.0), ([31, 40], 2.0)] {
            for seed in [1, 2] as [UInt64] {
                let mask = try SamplingMask.variableDensity(shape: shape, acceleration: acceleration, decay: 2, seed: seed)
                #expect(mask.count == shape[0] * shape[1])
                #expect(mask[0])
                #expect(abs(SamplingMask.fraction(mask) - 1 / acceleration) < 0.03)
            }
        }
        // Density decays: the low-frequency block is denser than the rest.
        let mask = try SamplingMask.variableDensity(shape: [64, 64], acceleration: 4, decay: 2, seed: 9)
        let centred = try SamplingMask.shifted(mask, shape: [64, 64])
        var inner = 0, innerCount = 0, outer = 0, outerCount = 0
        for i in 0..<64 {
            for j in 0..<64 {
                let r = max(abs(i - 32), abs(j - 32))
                if r < 8 { innerCount += 1; if centred[i * 64 + j] { inner += 1 } }
                if r >= 24 { outerCount += 1; if centred[i * 64 + j] { outer += 1 } }
            }
        }
        #expect(Double(inner) / Double(innerCount) > 3 * Double(outer) / Double(outerCount))
        #expect(centred[32 * 64 + 32])
        // decay 0: uniform random points.
        let flat = try SamplingMask.variableDensity(shape: [64, 64], acceleration: 5, decay: 0, seed: 2)
        #expect(abs(SamplingMask.fraction(flat) - 0.2) < 0.03)
    }

    @Test func radialMask() throws {
        for shape in [[32, 32], [31, 31], [24, 40], [15, 17]] {
            let (n0, n1) = (shape[0], shape[1])
            let mask = try SamplingMask.radial(shape: shape, lines: 8)
            #expect(mask[0], "DC in \(shape)")
            let f = SamplingMask.fraction(mask)
            #expect(f > 0.05 && f < 0.8)
            // Symmetric under k → −k wherever −k exists (all of it for odd sizes).
            for i in 0..<n0 {
                for j in 0..<n1 where mask[i * n1 + j] {
                    let f0 = i <= (n0 - 1) / 2 ? i : i - n0, f1 = j <= (n1 - 1) / 2 ? j : j - n1
                    guard -f0 >= -(n0 / 2), -f0 <= (n0 - 1) / 2, -f1 >= -(n1 / 2), -f1 <= (n1 - 1) / 2 else { continue }
                    let mi = (-f0 + n0) % n0, mj = (-f1 + n1) % n1
                    #expect(mask[mi * n1 + mj], "\(shape): (\(f0), \(f1)) without its mirror")
                }
            }
        }
        // One line at angle 0: the k0 = 0 row; two lines add the k1 = 0 column.
        let one = try SamplingMask.radial(shape: [16, 16], lines: 1)
        #expect(one.enumerated().allSatisfy { $0.element == ($0.offset < 16) })
        let two = try SamplingMask.radial(shape: [16, 16], lines: 2)
        #expect(two.enumerated().allSatisfy { $0.element == ($0.offset < 16 || $0.offset % 16 == 0) })
        // More lines, more samples.
        let few = SamplingMask.fraction(try SamplingMask.radial(shape: [32, 32], lines: 8))
        let many = SamplingMask.fraction(try SamplingMask.radial(shape: [32, 32], lines: 32))
        #expect(many > few)
    }

    @Test func typedErrors() throws {
        #expect(pdeErrorKind { try SamplingMask.random(shape: [8, 8], acceleration: 1, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.random(shape: [8, 8], acceleration: 0.5, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.random(shape: [8, 8], acceleration: .nan, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.random(shape: [8, 8], acceleration: 4, centerFraction: 1.5, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.random(shape: [8], acceleration: 4, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.random(shape: [0, 8], acceleration: 4, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.variableDensity(shape: [8, 8], acceleration: 1, decay: 2, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.variableDensity(shape: [8, 8], acceleration: 4, decay: -1, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.variableDensity(shape: [8, -8], acceleration: 4, decay: 2, seed: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.radial(shape: [8, 8], lines: 0) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.radial(shape: [8, 8, 8], lines: 4) } == "invalidValue")
        #expect(pdeErrorKind { try SamplingMask.shifted([true], shape: [2, 2]) } == "shapeMismatch")
        #expect(pdeErrorKind { try SubsampledFourier(shape: [8, 8], mask: [Bool](repeating: false, count: 64)) } == "invalidValue")
        #expect(pdeErrorKind { try SubsampledFourier(shape: [8, 8], mask: [Bool](repeating: true, count: 63)) } == "shapeMismatch")
        #expect(pdeErrorKind { try SubsampledFourier(shape: [64], mask: [Bool](repeating: true, count: 64)) } == "invalidValue")
        let model = try SubsampledFourier(shape: [8, 8], mask: try SamplingMask.radial(shape: [8, 8], lines: 3))
        #expect(pdeErrorKind { try model.zeroFilled([1, 2, 3]) } == "shapeMismatch")
        #expect(pdeErrorKind { try model.pseudoInverse([1, 2, 3]) } == "shapeMismatch")
        #expect(pdeErrorKind { try model([1, 2, 3]) } == "shapeMismatch")
    }
}
