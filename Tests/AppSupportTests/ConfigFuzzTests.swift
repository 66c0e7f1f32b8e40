import Foundation
import Testing
import TestSupport
@testable import AppSupport
import PDE

// Seeded mutation fuzzing of config decoding: every mutated YAML text must decode to a
// SolveConfig (or, for the datagen- configs, a DatagenConfig; for train- ones a TrainConfig) or
// throw ConfigError naming the file; any other error fails, a trap kills the run.

@Suite struct ConfigFuzzTests {
    @Test("Config decoding: 3000 mutated YAML files, typed ConfigError or valid config")
    func configFuzz() throws {
        let folder = "data/configs"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        try #require(names.count >= 5)
        let seeds = try names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0))) }
        /// Decodes a pde-solve or pde-datagen config (by the seed's name); true when it is a
        /// solve config, which the loop checks further.
        func decode(_ seedName: String, _ text: String, file: String) throws -> SolveConfig? {
            if seedName.hasPrefix("datagen-") {
                _ = try decodeConfig(DatagenConfig.self, yaml: text, file: file)
                return nil
            }
            if seedName.hasPrefix("train-dcdm") {
                _ = try decodeConfig(DCDMTrainConfig.self, yaml: text, file: file)
                return nil
            }
            if seedName.hasPrefix("train-lpn") {
                _ = try decodeConfig(LPNTrainConfig.self, yaml: text, file: file)
                return nil
            }
            if seedName.hasPrefix("train-") {
                _ = try decodeConfig(TrainConfig.self, yaml: text, file: file)
                return nil
            }
            if seedName.hasPrefix("gp") {
                _ = try decodeConfig(MeshFreeSolveConfig.self, yaml: text, file: file)
                return nil
            }
            if seedName.hasPrefix("invert-") {
                _ = try decodeConfig(InvertConfig.self, yaml: text, file: file)
                return nil
            }
            return try decodeConfig(SolveConfig.self, yaml: text, file: file)
        }
        // Every seed decodes as it is.
        for (name, s) in zip(names, seeds) { _ = try decode(name, String(decoding: s, as: UTF8.self), file: name) }
        let yamlTokens = ["[", "]", "{", "}", ":", "- ", ", ", "&a ", "*a", "*b", "!!binary ", "!!int ", "!!float ", "!!str ", "!!map ", "!!seq ",
                          "~", "null", ".nan", ".inf", "-.inf", "0x7fffffffffffffff", "0o777", "1e999", "'", "\"", "\t", "? ", "|", ">",
                          "---\n", "...\n", "%YAML 1.1\n", "#", "<<: *a\n", "\u{FEFF}", "\0", "yes", "no", "on", "2001-12-14t21:59:43.10-05:00"]
        var m = FuzzMutator(seed: 31)
        var valid = 0, typed = 0
        let start = ContinuousClock.now
        for i in 0..<3000 {
            let k = m.below(seeds.count)
            var bytes = seeds[k]
            switch i % 97 == 0 ? -1 : m.below(6) {
            case -1: bytes = []
            case 0:  // a YAML-structural token somewhere
                bytes.insert(contentsOf: Array(m.pick(yamlTokens).utf8), at: m.below(bytes.count + 1))
            case 1:  // a number replaced by a YAML-ish or nasty scalar
                bytes = m.replaceNumber(bytes, with: Array(m.pick(FuzzMutator.nastyTokens + [".nan", "-.inf", "~", "[]", "{}", "0x10", "1_000"]).utf8))
            case 2:  // indentation changed on a random line
                let lines = m.lineStarts(bytes)
                let at = lines[m.below(lines.count)]
                if m.below(2) == 0 { bytes.insert(contentsOf: Array("  ".utf8), at: min(at, bytes.count)) }
                else if at < bytes.count && bytes[at] == 0x20 { bytes.remove(at: at) }
            default:
                bytes = m.mutate(bytes, boundaries: lineBoundaries(bytes), binary: false)
            }
            let file = "fuzz-\(names[k])"
            do {
                let decoded = try decode(names[k], String(decoding: bytes, as: UTF8.self), file: file)
                valid += 1
                if let c = decoded {
                    #expect((c.grid == nil) != (c.mesh == nil))
                    if let g = c.grid { #expect((1...3).contains(g.nodes.count) && g.nodes.allSatisfy { $0 >= 3 }) }
                }
            } catch let e as ConfigError {
                typed += 1
                #expect(e.file == file, "\(e)")
            } catch {
                Issue.record("input \(i): untyped error \(type(of: error)): \(error)")
            }
        }
        print("config fuzz: \(valid) valid, \(typed) typed errors, \(ContinuousClock.now - start)")
        #expect(valid > 100 && typed > 500, "\(valid) valid, \(typed) typed")
    }

    @Test("Config decoding: hostile YAML (deep nesting, aliases, tags, overflowing integers) gives ConfigError")
    func hostileYAML() {
        let deep = 100_000
        let inputs = [
            "grid: {nodes: " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}\n",
            "grid:\n  nodes: " + String(repeating: "- ", count: deep) + "1\n",
            "a: &a [*a]\n", "grid: &g {nodes: *g}\n", "<<: *x\n", "grid: !!binary AAAA\n",
            "grid: {nodes: [!!float 3, 3]}\n", "grid: {nodes: [9223372036854775808, 3]}\n",
            "grid: {nodes: [3, 3]}\nsolver: {method: cg, max_iterations: 99999999999999999999}\n",
            "grid: {nodes: [3, 3]}\nequation: {source: .nan}\nsolver: {method: cg, rtol: .inf}\n",
            "grid: {nodes: [3, 3]}\nboundary: {tags: {99999999999999999999: dirichlet}}\n",
            "\u{FEFF}\u{0}", "%YAML 9.9\n---\ngrid: {nodes: [3]}\n", "grid: {nodes: [3, 3]}\n...\n---\ngrid: 1\n",
        ]
        for y in inputs {
            do {
                _ = try decodeConfig(SolveConfig.self, yaml: y, file: "hostile.yaml")
                Issue.record("accepted: \(y.prefix(60))")
            } catch let e as ConfigError {
                #expect(e.file == "hostile.yaml")
            } catch {
                Issue.record("untyped error \(type(of: error)) for \(y.prefix(60))")
            }
        }
    }

    /// Offsets just after each newline.
    func lineBoundaries(_ b: [UInt8]) -> [Int] { [0] + b.indices.filter { b[$0] == 0x0A }.map { $0 + 1 } }
}
