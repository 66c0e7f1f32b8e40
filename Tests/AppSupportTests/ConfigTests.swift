import Foundation
import Testing
@testable import AppSupport
import PDE

@Suite struct ConfigTests {
    func decode(_ yaml: String) throws -> SolveConfig {
        try decodeConfig(SolveConfig.self, yaml: yaml, file: "test.yaml")
    }

    /// Decoding must fail with a ConfigError whose key path and message contain the given text.
    func expectError(_ yaml: String, keyPath: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decode(yaml)
            Issue.record("expected an error at \(keyPath)", sourceLocation: sourceLocation)
        } catch let e as ConfigError {
            #expect(e.file == "test.yaml", sourceLocation: sourceLocation)
            #expect(e.keyPath == keyPath, "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(mentions), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("wrong error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func decodesFullConfig() throws {
        let c = try decode("""
        problem: poisson2d-sinexp
        grid: {nodes: [33, 17], lower: [0, 0], upper: [2, 1]}
        equation: {reaction: 2.5}
        boundary:
          default: dirichlet
          xmin: {neumann: 0.5}
          ymax: neumann
        solver: {method: cholmod, ordering: metis}
        output: {directory: /tmp/x, name: run1, formats: [vti, npy, png]}
        """)
        #expect(c.problem == "poisson2d-sinexp")
        #expect(c.grid?.nodes == [33, 17])
        #expect(c.grid?.upper == [2, 1])
        #expect(c.equation.reaction == 2.5)
        #expect(c.boundary.faces[.xLow] == .neumann(0.5))
        #expect(c.boundary.faces[.yHigh] == .neumann(nil))
        #expect(c.boundary.defaultCondition == .dirichlet(nil))
        #expect(c.solver.parameters["ordering"] == "metis")
        #expect(c.output.formats == [.vti, .npy, .png])
    }

    @Test func decodesMeshAndFieldSpecs() throws {
        let c = try decode("""
        mesh: {generate: disk, resolution: 8, refine: 1}
        equation: {coefficient: {npy: a.npy}, source: 1}
        boundary: {default: dirichlet, tags: {2: {neumann: 0}}}
        """)
        #expect(c.mesh?.generate == .disk)
        #expect(c.equation.coefficient == .npy("a.npy"))
        #expect(c.equation.source == .constant(1))
        #expect(c.boundary.tags[2] == .neumann(0))
    }

    @Test func unknownKeysNameTheirPath() {
        expectError("problem: poisson2d-sin\ngrid: {nodes: [9, 9], spacing: 2}\n", keyPath: "grid.spacing", mentions: "unknown key")
        expectError("problem: poisson2d-sin\ngrid: {nodes: [9, 9]}\nsolvr: {}\n", keyPath: "solvr", mentions: "one of: problem, grid")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\nboundary: {xmin: {robin: 1}}\n", keyPath: "boundary.xmin.robin", mentions: "dirichlet or neumann")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\nboundary: {xmin: 3}\n", keyPath: "boundary.xmin", mentions: "expected dirichlet, neumann, periodic")
    }

    @Test func badValuesAreRejected() {
        expectError("problem: p\ngrid: {nodes: [9, -4]}\n", keyPath: "grid.nodes[1]", mentions: "-4")
        expectError("problem: p\ngrid: {nodes: [9, 9, 9, 9]}\n", keyPath: "grid.nodes", mentions: "1 to 3")
        expectError("problem: p\ngrid: {nodes: [9, 9], lower: [0]}\n", keyPath: "grid.lower", mentions: "2 values")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\nsolver: {method: gmres}\n", keyPath: "solver.method", mentions: "cholmod")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\nsolver: {ordering: best}\n", keyPath: "solver.ordering", mentions: "amd")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\noutput: {formats: [vti, jpg]}\n", keyPath: "output.formats[1]", mentions: "'jpg'")
        expectError("problem: p\ngrid: {nodes: [9, 9]}\nequation: {coefficient: -1}\n", keyPath: "equation.coefficient", mentions: "positive")
        expectError("problem: p\nmesh: {generate: sphere}\n", keyPath: "mesh.generate", mentions: "disk, rectangle, lshape")
        expectError("problem: p\nmesh: {generate: disk, resolution: 0}\n", keyPath: "mesh.resolution", mentions: "≥ 1")
        expectError("problem: p\nmesh: {generate: disk, file: a.msh}\n", keyPath: "mesh", mentions: "exactly one")
    }

    @Test func wrongTypesAndMissingSections() {
        expectError("problem: p\ngrid: {nodes: abc}\n", keyPath: "grid.nodes", mentions: "a list")
        expectError("problem: p\ngrid: {nodes: [9, x]}\n", keyPath: "grid.nodes[1]", mentions: "an integer")
        expectError("problem: p\n", keyPath: "grid", mentions: "'grid' or a 'mesh'")
        expectError("grid: {nodes: [9, 9]}\n", keyPath: "equation.source", mentions: "source")
        expectError("problem: p\ngrid: {}\n", keyPath: "grid.nodes", mentions: "missing")
    }

    @Test func malformedYamlAndMissingFile() throws {
        expectError("problem: [unclosed\ngrid: {nodes: [9, 9]}\n", keyPath: "", mentions: "malformed YAML")
        do {
            _ = try loadConfig(SolveConfig.self, from: "/nonexistent/config.yaml")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.file == "/nonexistent/config.yaml")
            #expect(e.description.contains("file not found"))
        }
    }
}
