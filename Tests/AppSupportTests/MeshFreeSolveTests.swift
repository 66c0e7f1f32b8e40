import Foundation
import Testing
import TestSupport
@testable import AppSupport
import PDE

@Suite struct MeshFreeSolveTests {
    func tempDir(_ name: String = #function) -> String {
        let p = NSTemporaryDirectory() + "swiftpde-meshfree-tests/\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test("gp-collocation from a config: solution, reference errors and every output file")
    func collocationRun() throws {
        let dir = tempDir()
        let yaml = """
        problem: poisson
        solver: {method: gp-collocation, options: {interior: 120, boundary_per_side: 10, test_points: 15, lengthscale: 0.25, nugget: 1.0e-12}}
        output: {directory: \(dir), name: p, formats: [npy, vti, png, svg]}
        """
        let cfg = try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml")
        let (solution, outputs) = try MeshFreeRunner(config: cfg, log: { _ in }).run()
        #expect(solution.counts == [15, 15] && solution.values.count == 225)
        let e = try #require(solution.errors)
        #expect(e.rms < 1e-2)
        #expect(outputs.count == 4 && outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        let npy = try NPY.read(dir + "/p.npy")
        #expect(npy.shape == [15, 15])
    }

    @Test("gp-hm from a config: a short run writes the spectrum PNG and reports the final iterate")
    func gphmRun() throws {
        let dir = tempDir()
        let yaml = """
        problem: poisson1d-sin100x
        solver: {method: gp-hm, options: {points: 48, components: 4, steps: 3, evaluate_every: 1}}
        output: {directory: \(dir), name: h, formats: [npy, png, svg, spectrum]}
        """
        let cfg = try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml")
        let (solution, outputs) = try MeshFreeRunner(config: cfg, log: { _ in }).run()
        #expect(solution.counts == [300] && solution.spectrum.count == 4)
        #expect(solution.history.count == 4 && solution.history.last!.error != nil)
        #expect(outputs.contains(dir + "/h-spectrum.png"))
        #expect(outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        let smooth = try decodeConfig(MeshFreeSolveConfig.self, yaml: """
            problem: poisson1d-sin500x
            solver: {method: gp-hm, options: {points: 48, components: 4, steps: 2, smooth_component: true, precision_rate: 10}}
            """, file: "t.yaml")
        let (withSmooth, _) = try MeshFreeRunner(config: smooth, log: { _ in }).run()
        #expect(withSmooth.spectrum.count == 5 && withSmooth.spectrum.last!.0 == 0)
        #expect(withSmooth.notes.contains { $0.hasPrefix("smooth component: weight") })
    }

    @Test("gp-hm on a 2-D Kronecker problem from a config (a few steps of each mode)")
    func gphm2DRun() throws {
        for mode in ["exact-inner", "joint"] {
            let yaml = "problem: poisson2d-sin6xcos20x\nsolver: {method: gp-hm, options: {mode: \(mode), points: 12, components: 3, steps: 2, evaluate_every: 1\(mode == "exact-inner" ? ", inner_iterations: 50" : "")}}\n"
            let cfg = try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml")
            let (solution, _) = try MeshFreeRunner(config: cfg, log: { _ in }).run()
            #expect(solution.counts == [300, 300] && solution.history.count == 3 && solution.errors != nil)
        }
        let yaml = "problem: poisson2d-sin6xcos20x\nsolver: {method: gp-hm, options: {points: 12, components: 3, steps: 2, smooth_component: true, boundary_weight: 2000}}\n"
        let (smooth, _) = try MeshFreeRunner(config: try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml"), log: { _ in }).run()
        #expect(smooth.spectrum.count == 4 && smooth.spectrum.last!.0 == 0)      // 3 components + the pinned one
    }

    @Test("gp-collocation with lengthscale: ml picks ℓ by the marginal likelihood and says so")
    func collocationLengthscaleSearch() throws {
        let yaml = """
        problem: poisson
        solver: {method: gp-collocation, options: {interior: 60, boundary_per_side: 6, test_points: 9, lengthscale: ml, lengthscale_range: [0.05, 1], evaluations: 9, nugget: 1.0e-10}}
        output: {directory: \(tempDir()), name: p, formats: [npy]}
        """
        var lines: [String] = []
        let (solution, _) = try MeshFreeRunner(config: try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml"),
                                               log: { lines.append($0) }).run()
        #expect(lines.filter { $0.contains("log evidence") }.count >= 9)
        let note = try #require(solution.notes.first { $0.contains("by marginal likelihood") })
        #expect(note.contains("9 solves"))
        // The reported ℓ is the best of the logged evaluations.
        let logged = lines.compactMap { line -> (Double, Double)? in
            let f = line.split(separator: " ").compactMap { Double($0) }
            return line.hasPrefix("  ℓ = ") && f.count >= 2 ? (f[0], f[1]) : nil
        }
        let best = try #require(logged.max { $0.1 < $1.1 })
        #expect(note.contains(String(format: "ℓ = %.5f", best.0)))
        #expect(solution.errors != nil)
    }

    @Test("Bad mesh-free configs and options give typed errors naming the key")
    func badConfigs() throws {
        func keyPath(_ yaml: String) -> String? {
            do {
                let cfg = try decodeConfig(MeshFreeSolveConfig.self, yaml: yaml, file: "t.yaml")
                _ = try MeshFreeRunner(config: cfg, log: { _ in }).run()
                return nil
            } catch let e as ConfigError {
                return e.keyPath
            } catch let e as PDEError {
                if case let .invalidValue(key, _, _) = e { return key }
                return "\(e)"
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(keyPath("problem: poisson\nsolver: {method: cg}\n") == "solver.method")
        #expect(keyPath("solver: {method: gp-collocation}\n") == "problem")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, tolerance: 1}\n") == "solver.tolerance")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation}\noutput: {formats: [vtu]}\n") == "output.formats[0]")
        #expect(keyPath("problem: heat\nsolver: {method: gp-collocation}\n") == "problem")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {nugget: -1}}\n") == "options.nugget")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {colour: red}}\n") == "options.colour")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {lengthscale: [0.1, 0.2, 0.3]}}\n") == "options.lengthscale")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {sampling: sobol}}\n") == "options.sampling")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {lengthscale: ml, lengthscale_range: [1, 0.1]}}\n") == "options.lengthscale_range")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {lengthscale: 0.2, evaluations: 9}}\n") == "options.evaluations")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {lengthscale: ml, evaluations: 3}}\n") == "options.evaluations")
        #expect(keyPath("problem: poisson1d-sin100x\nsolver: {method: gp-hm, options: {mode: newton}}\n") == "options.mode")
        #expect(keyPath("problem: allen-cahn2d-mixed\nsolver: {method: gp-hm, options: {mode: exact-inner, steps: 1, points: 8}}\n") == "mode")
        #expect(keyPath("problem: poisson1d-sin500x\nsolver: {method: gp-hm, options: {smooth_component: maybe}}\n") == "options.smooth_component")
        #expect(keyPath("problem: poisson1d-sin100x\nsolver: {method: gp-hm, options: {inner_iterations: 10}}\n") == "options.inner_iterations")
        #expect(keyPath("problem: poisson1d-sin100x\nsolver: {method: gp-hm, options: {precision_rate: 0}}\n") == "options.precision_rate")
        #expect(keyPath("problem: poisson2d-sin6xcos20x\nsolver: {method: gp-hm, options: {mode: exact-inner, inner_iterations: 0}}\n") == "options.inner_iterations")
        #expect(keyPath("problem: poisson\nsolver: {method: gp-collocation, options: {interior: 20, boundary_per_side: 3}}\noutput: {formats: [spectrum]}\n") == "output.formats")
    }

    @Test("pde-solve runs a mesh-free config and exits 2 on a bad option")
    func executable() throws {
        let exe = builtExecutable("pde-solve")
        try #require(FileManager.default.isExecutableFile(atPath: exe), "build pde-solve first (swift build --build-tests)")
        let dir = tempDir()
        try """
        problem: darcy
        solver: {method: gp-collocation, options: {interior: 60, boundary_per_side: 8, test_points: 9}}
        output: {directory: \(dir), name: d, formats: [npy]}
        """.write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        let ok = try runProcess(exe, [dir + "/ok.yaml"])
        #expect(ok.status == 0 && ok.stdout.contains("relative L2") && FileManager.default.fileExists(atPath: dir + "/d.npy"), "\(ok.stdout)\(ok.stderr)")
        try "problem: darcy\nsolver: {method: gp-collocation, options: {step_solver: lu}}\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try runProcess(exe, [dir + "/bad.yaml"])
        #expect(bad.status == 2 && bad.stderr.contains("options.step_solver"), "\(bad.stderr)")
    }
}
