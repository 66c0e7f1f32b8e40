import Foundation
import Testing
@testable import AppSupport
import PDE
import TestSupport

@Suite struct SolveRunnerTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func tempDir(_ name: String = #function) -> String {
        let p = NSTemporaryDirectory() + "swiftpde-app-tests/\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    func run(_ yaml: String) throws -> SolveSummary {
        let cfg = try decodeConfig(SolveConfig.self, yaml: yaml, file: "t.yaml")
        return try SolveRunner(config: cfg, configPath: "t.yaml", log: { _ in }).run()
    }

    @Test func gridSolveReportsSecondOrderErrorsAndWritesOutputs() throws {
        let dir = tempDir()
        var errors: [Double] = []
        for n in [17, 33] {
            let s = try run("""
            problem: diffusion2d-variable
            grid: {nodes: [\(n), \(n)]}
            output: {directory: \(dir), name: u\(n), formats: [vti, npy, png, h5]}
            """)
            #expect(s.relativeResidual < 1e-12)
            errors.append(try #require(s.maxError))
            #expect(s.outputs.count == 4)
            for o in s.outputs { #expect(FileManager.default.fileExists(atPath: o)) }
        }
        #expect(errors[0] / errors[1] > 3.5 && errors[0] / errors[1] < 4.5)
        let npy = try NPY.read(dir + "/u33.npy")
        #expect(npy.shape == [33, 33])
        #expect(try HDF5File.read("u", from: dir + "/u33.h5").shape == [33, 33])
    }

    @Test func meshSolveWithGeneratedAndFileMeshes() throws {
        let dir = tempDir()
        let s = try run("""
        problem: disk-variable
        mesh: {generate: disk, resolution: 6}
        output: {directory: \(dir), name: d, formats: [vtu, npy, png]}
        """)
        #expect(try #require(s.l2Error) < 1e-2)
        #expect(FileManager.default.fileExists(atPath: dir + "/d.vtu"))
        let f = try run("""
        problem: disk-poisson
        mesh: {file: \(root)/data/meshes/disk.msh}
        """)
        #expect(try #require(f.l2Error) < 1e-2)
    }

    @Test func npyCoefficientAndExplicitBoundaryValues() throws {
        let dir = tempDir()
        try NPY.write([Double](repeating: 2, count: 81), shape: [9, 9], to: dir + "/a.npy")
        let s = try run("""
        grid: {nodes: [9, 9]}
        equation: {coefficient: {npy: \(dir)/a.npy}, source: 1}
        boundary: {default: {dirichlet: 0}, xmax: {neumann: 0}}
        output: {directory: \(dir), name: npy, formats: [npy]}
        """)
        #expect(s.l2Error == nil)
        #expect(s.relativeResidual < 1e-12)
        // Same problem with the constant coefficient gives the same solution.
        _ = try run("""
        grid: {nodes: [9, 9]}
        equation: {coefficient: 2, source: 1}
        boundary: {default: {dirichlet: 0}, xmax: {neumann: 0}}
        output: {directory: \(dir), name: const, formats: [npy]}
        """)
        let a = try NPY.read(dir + "/npy.npy").doubles, b = try NPY.read(dir + "/const.npy").doubles
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-14 })
    }

    func expectConfigError(_ yaml: String, key: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try run(yaml)
            Issue.record("expected a ConfigError at \(key)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.keyPath == key, "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(mentions), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("wrong error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func badInputsAreConfigErrors() throws {
        let dir = tempDir()
        try NPY.write([1.0, 2, 3], shape: [3], to: dir + "/short.npy")
        expectConfigError("problem: nope\ngrid: {nodes: [9, 9]}\n", key: "problem", mentions: "poisson2d-sinexp")
        expectConfigError("problem: poisson3d-sinexp\ngrid: {nodes: [9, 9]}\n", key: "grid.nodes", mentions: "3-D problem")
        expectConfigError("problem: disk-poisson\ngrid: {nodes: [9, 9]}\n", key: "grid", mentions: "mesh")
        expectConfigError("problem: poisson2d-sin\ngrid: {nodes: [9, 9]}\nboundary: {xmin: periodic}\n", key: "boundary.xmin/xmax", mentions: "both faces")
        expectConfigError("problem: poisson2d-sin\ngrid: {nodes: [9, 9]}\nboundary: {zmin: neumann}\n", key: "boundary.zmin", mentions: "2-D grid")
        expectConfigError("grid: {nodes: [9, 9]}\nequation: {coefficient: {npy: \(dir)/short.npy}, source: 1}\n", key: "equation.coefficient", mentions: "shape [3]")
        expectConfigError("grid: {nodes: [9, 9]}\nequation: {coefficient: {npy: \(dir)/none.npy}, source: 1}\n", key: "equation.coefficient", mentions: "file not found")
        expectConfigError("problem: disk-poisson\nmesh: {file: \(dir)/none.msh}\n", key: "mesh.file", mentions: "file not found")
        expectConfigError("problem: disk-poisson\nmesh: {generate: disk, resolution: 3}\nboundary: {tags: {9: neumann}}\n", key: "boundary.tags.9", mentions: "1")
        expectConfigError("problem: poisson2d-sin\ngrid: {nodes: [9, 9]}\noutput: {directory: \(dir), formats: [vtu]}\n", key: "output.formats[0]", mentions: "vti")
        expectConfigError("problem: disk-poisson\nmesh: {generate: disk, resolution: 3}\noutput: {formats: [npy, vti]}\n", key: "output.formats[1]", mentions: "vtu")
        expectConfigError("problem: disk-poisson\nmesh: {generate: disk, resolution: 3, lower: [0, 0]}\n", key: "mesh.lower", mentions: "radius")
        expectConfigError("problem: lshape-smooth\nmesh: {generate: lshape, radius: 2}\n", key: "mesh.radius", mentions: "resolution")
        expectConfigError("problem: poisson1d-sinexp\ngrid: {nodes: [9]}\noutput: {directory: \(dir), formats: [png]}\n", key: "output.formats[0]", mentions: "2-D or 3-D")
    }

    /// Runs the built `pde-solve` executable (built by `swift build --build-tests`).
    func pdeSolve(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let exe = builtExecutable("pde-solve")
        try #require(FileManager.default.isExecutableFile(atPath: exe), "build pde-solve first (swift build --build-tests)")
        return try runProcess(exe, args)
    }

    @Test func executableExitCodesAndMessages() throws {
        let dir = tempDir()
        try "problem: poisson2d-sin\ngrid: {nodes: [9, -4]}\n".write(toFile: dir + "/neg.yaml", atomically: true, encoding: .utf8)
        let neg = try pdeSolve([dir + "/neg.yaml"])
        #expect(neg.status == 2)
        #expect(neg.stderr.contains("neg.yaml") && neg.stderr.contains("grid.nodes[1]") && neg.stderr.contains("-4"), "\(neg.stderr)")
        try "problem: [oops\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try pdeSolve([dir + "/bad.yaml"])
        #expect(bad.status == 2 && bad.stderr.contains("malformed YAML"), "\(bad.stderr)")
        let missing = try pdeSolve([dir + "/missing.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("file not found"))
        try "problem: poisson2d-sin\ngrid: {nodes: [17, 17]}\noutput: {directory: \(dir), name: ok, formats: [npy]}\n".write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        let ok = try pdeSolve([dir + "/ok.yaml"])
        #expect(ok.status == 0 && ok.stdout.contains("error       L2"), "\(ok.stdout)\(ok.stderr)")
        let list = try pdeSolve(["--list-problems"])
        #expect(list.status == 0 && list.stdout.contains("lshape-corner"))
    }

    @Test func shippedConfigsDecode() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/data/configs").filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 10)
        for f in files {
            if f.hasPrefix("datagen-") {
                let c = try loadConfig(DatagenConfig.self, from: root + "/data/configs/" + f)
                _ = try c.makeFamily(file: f)
            } else if f.hasPrefix("train-dcdm") {
                _ = try loadConfig(DCDMTrainConfig.self, from: root + "/data/configs/" + f)
            } else if f.hasPrefix("train-lpn") {
                _ = try loadConfig(LPNTrainConfig.self, from: root + "/data/configs/" + f)
            } else if f.hasPrefix("train-") {
                _ = try loadConfig(TrainConfig.self, from: root + "/data/configs/" + f)
            } else if f.hasPrefix("invert-") {
                _ = try loadConfig(InvertConfig.self, from: root + "/data/configs/" + f)
            } else if f.hasPrefix("gp") {
                let c = try loadConfig(MeshFreeSolveConfig.self, from: root + "/data/configs/" + f)
                #expect(SolverRegistry.isMeshFree(c.method) && configuredSolverMethod(in: root + "/data/configs/" + f) == c.method)
            } else {
                _ = try loadConfig(SolveConfig.self, from: root + "/data/configs/" + f)
            }
        }
    }
}

@Suite struct IterativeSolveConfigTests {
    func run(_ yaml: String) throws -> SolveSummary {
        try SolveRunner(config: try decodeConfig(SolveConfig.self, yaml: yaml, file: "t.yaml"), configPath: "t.yaml", log: { _ in }).run()
    }

    @Test func everyPreconditionerMatchesTheDirectSolve() throws {
        let direct = try run("problem: diffusion2d-variable\ngrid: {nodes: [33, 33]}\n")
        // dcdm-net (registered by the Operators tests in this process) needs a cell system.
        for pc in SolverRegistry.preconditioners.map(\.name) where pc != "dcdm-net" {
            let s = try run("problem: diffusion2d-variable\ngrid: {nodes: [33, 33]}\nsolver: {method: cg, preconditioner: \(pc), rtol: 1e-11}\n")
            #expect(s.reason == .convergedRelative, "\(pc)")
            #expect(s.relativeResidual <= 1.0000001e-11)
            #expect(abs(s.maxError! - direct.maxError!) < 1e-8 * direct.maxError! + 1e-12, "\(pc)")
        }
        let mesh = try run("problem: disk-variable\nmesh: {generate: disk, resolution: 8}\nsolver: {method: cg, preconditioner: amg, rtol: 1e-10}\n")
        #expect(mesh.reason == .convergedRelative && mesh.iterations! < 20)
    }

    @Test func iterativeConfigErrors() throws {
        #expect { try run("problem: disk-variable\nmesh: {generate: disk, resolution: 4}\nsolver: {method: cg, preconditioner: multigrid}\n") } throws: { e in
            (e as? ConfigError)?.keyPath == "solver.preconditioner"
        }
        #expect { try decodeConfig(SolveConfig.self, yaml: "problem: p\ngrid: {nodes: [9, 9]}\nsolver: {method: cg, rtol: 2}\n") } throws: { e in
            (e as? ConfigError)?.keyPath == "solver.rtol"
        }
        #expect { try decodeConfig(SolveConfig.self, yaml: "problem: p\ngrid: {nodes: [9, 9]}\nsolver: {preconditioner: amg}\n") } throws: { e in
            (e as? ConfigError)?.description.contains("method: cg") == true
        }
        #expect { try decodeConfig(SolveConfig.self, yaml: "problem: p\ngrid: {nodes: [9, 9]}\nsolver: {method: cg, preconditioner: ilu}\n") } throws: { e in
            (e as? ConfigError)?.description.contains("multigrid") == true
        }
        let capped = try run("problem: poisson2d-sinexp\ngrid: {nodes: [33, 33]}\nsolver: {method: cg, max_iterations: 3}\n")
        #expect(capped.reason == .divergedIterations && capped.iterations == 3)
    }
}
