import Foundation
import Testing
@testable import PDE

/// The FNO dataset families at small sizes: shapes, parameters, and the PDE each sample solves.
@Suite struct DatasetFamilyTests {
    @Test func darcySamplesSolveTheDiscretePDEToTheSolverTolerance() throws {
        for direct in [false, true] {
            let family = try DarcyFamily(size: 33, resolutions: [17, 33], tolerance: 1e-10, direct: direct)
            var g = DatasetGeneration.generator(seed: 7, index: 0)
            let fields = try family.sample(0, generator: &g)
            #expect(fields.map(\.count) == [17 * 17, 17 * 17, 33 * 33, 33 * 33])
            let a = fields[2], u = fields[3]
            #expect(Set(a) == [3, 12])
            let system = try family.problem(coefficient: a).assemble()
            // The full solution restricted to the unknowns satisfies A x = b.
            let x = (0..<system.layout.unknownCount).map { u[system.layout.node(ofUnknown: $0)] }
            #expect(try system.matrix.relativeResidual(x, system.rhs) <= 1.0000001e-10, "direct \(direct)")
            // Subsampling takes every second node.
            #expect(fields[0] == DarcyFamily.subsample(a, size: 33, to: 17) && fields[0][1] == a[2])
        }
        #expect(throws: PDEError.self) { try DarcyFamily(size: 33, resolutions: [16]) }
        #expect(DarcyFamily.validResolutions(421).contains(85) && DarcyFamily.validResolutions(421).contains(141))
    }

    @Test func navierStokesSamplesHaveTheStatedTimesAndResolution() throws {
        let family = try NavierStokesFamily(points: 32, storedPoints: 16, viscosity: 1e-3, timeStep: 1e-3, finalTime: 0.004, interval: 0.002)
        #expect(family.times == [0.002, 0.004])
        var g = DatasetGeneration.generator(seed: 1, index: 3)
        let fields = try family.sample(3, generator: &g)
        #expect(fields[0].count == 256 && fields[1].count == 2 * 256)
        #expect(fields.allSatisfy { $0.allSatisfy(\.isFinite) })
        // The recorded fields are the solver's, subsampled.
        var g2 = DatasetGeneration.generator(seed: 1, index: 3)
        let w0 = try family.initial.sample(using: &g2)
        let w = try family.solver.evolve(w0, to: [0.004])[0]
        #expect(Array(fields[1].suffix(256)) == NavierStokesFamily.subsample(w, n: 32, to: 16))
        #expect(throws: PDEError.self) { try NavierStokesFamily(points: 32, storedPoints: 12) }
        #expect(throws: PDEError.self) { try NavierStokesFamily(points: 32, storedPoints: 16, finalTime: 1, interval: 0.3) }
    }

    @Test func burgersSamplesAreTheSolverOutputSubsampled() throws {
        let family = try BurgersFamily(points: 128, resolutions: [32, 128], viscosity: 0.1, timeStep: 1e-3, finalTime: 0.01)
        var g = DatasetGeneration.generator(seed: 2, index: 0)
        let fields = try family.sample(0, generator: &g)
        #expect(fields.map(\.count) == [32, 32, 128, 128])
        #expect(fields[0] == stride(from: 0, to: 128, by: 4).map { fields[2][$0] })
        let u1 = try family.solver.evolve(fields[2], to: 0.01).final
        #expect(u1 == fields[3])
        #expect(throws: PDEError.self) { try BurgersFamily(points: 128, resolutions: [48]) }
    }

    /// The period sets the regime: on the unit interval ν = 0.1 damps u(1) to ~1/60 of u₀
    /// (e^{−4π²ν} on the first mode); on a period of 2π — what FNO's stored data match —
    /// u(1) keeps u₀'s size and steepens into fronts. The initial fields are the same.
    @Test func burgersPeriodSetsTheRegime() throws {
        func norms(_ length: Double) throws -> (u0: [Double], ratio: Double) {
            let family = try BurgersFamily(points: 512, resolutions: [512], viscosity: 0.1, length: length, timeStep: 1e-3, finalTime: 1)
            var g = DatasetGeneration.generator(seed: 5, index: 0)
            let f = try family.sample(0, generator: &g)
            func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            return (f[0], norm(f[1]) / norm(f[0]))
        }
        let unit = try norms(1), wide = try norms(2 * Double.pi)
        #expect(unit.u0 == wide.u0)
        #expect(unit.ratio < 0.05, "unit interval: ‖u(1)‖/‖u₀‖ = \(unit.ratio)")
        #expect(wide.ratio > 0.4, "period 2π: ‖u(1)‖/‖u₀‖ = \(wide.ratio)")
        #expect(try BurgersFamily(points: 64, resolutions: [64], length: 2 * Double.pi).fixedDatasets[0].values[32] == Double.pi)
        #expect(throws: PDEError.self) { try BurgersFamily(points: 64, resolutions: [64], length: 0) }
    }
}
