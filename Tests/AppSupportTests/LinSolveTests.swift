import Foundation
import Testing
import TestSupport
@testable import PDE
@testable import AppSupport

/// `linsolve` end to end: exit codes, what it says about symmetry, singular systems and
/// hostile Matrix Market headers.
@Suite struct LinSolveTests {
    func linsolve(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let exe = builtExecutable("linsolve")
        try #require(FileManager.default.isExecutableFile(atPath: exe), "build linsolve first (swift build --build-tests)")
        return try runProcess(exe, args)
    }

    /// Pure-Neumann anisotropic 3-D operator (constant null space), written as Matrix Market.
    func writeNeumann3D(_ n: Int, to path: String) throws {
        let w = [1.0, 0.1, 0.01]
        var b = COOBuilder(rows: n * n * n, columns: n * n * n)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let r = i + n * (j + n * k), idx = [i, j, k], strides = [1, n, n * n]
            var diag = 0.0
            for d in 0..<3 {
                if idx[d] > 0 { b.add(r, r - strides[d], -w[d]); diag += w[d] }
                if idx[d] + 1 < n { b.add(r, r + strides[d], -w[d]); diag += w[d] }
            }
            b.add(r, r, diag)
        } } }
        try MatrixMarket.write(b.build(), to: path, symmetry: .symmetric)
    }

    @Test func singularMatrixWithInconsistentRightHandSideIsNotReportedConverged() throws {
        let dir = makeTemporaryFolder()
        try writeNeumann3D(10, to: dir + "/neumann.mtx")
        for pc in ["none", "gamg", "icc"] {
            let r = try linsolve([dir + "/neumann.mtx", "--rhs", "random", "--seed", "3", "--ksp", "cg", "--pc", pc,
                                  "--rtol", "1e-10", "--converged-reason"])
            #expect(r.status == 3, "\(pc): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("DIVERGED_INCONSISTENT_RHS") && !r.stdout.contains("converged due to"), "\(pc): \(r.stdout)")
            let p = try linsolve([dir + "/neumann.mtx", "--rhs", "random", "--seed", "3", "--ksp", "cg", "--pc", pc,
                                  "--rtol", "1e-10", "--null-space", "project", "--converged-reason"])
            #expect(p.status == 0 && p.stdout.contains("converged due to CONVERGED_RTOL"), "\(pc): \(p.stdout)\(p.stderr)")
            #expect(p.stdout.contains("projected onto the range"))
        }
    }

    @Test func hugeMatrixMarketHeaderIsABadInputNotACrash() throws {
        let dir = makeTemporaryFolder()
        try "%%MatrixMarket matrix coordinate real general\n999999999999 999999999999 1\n1 1 1\n"
            .write(toFile: dir + "/huge.mtx", atomically: true, encoding: .utf8)
        let r = try linsolve([dir + "/huge.mtx", "--ksp", "cg"])
        #expect(r.status == 2, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("huge.mtx"), "\(r.stderr)")
    }

    @Test func nonSymmetricMatrixIsNamedBeforeCG() throws {
        let dir = makeTemporaryFolder()
        var b = COOBuilder(rows: 3, columns: 3)
        b.add(0, 0, 4); b.add(1, 1, 4); b.add(2, 2, 4); b.add(0, 1, -1); b.add(1, 0, -2); b.add(1, 2, -1); b.add(2, 1, -1)
        try MatrixMarket.write(b.build(), to: dir + "/ns.mtx")
        let warn = try linsolve([dir + "/ns.mtx", "--ksp", "cg"])
        #expect(warn.stderr.contains("not symmetric") && warn.stderr.contains("(1, 2)"), "\(warn.stderr)")
        let strict = try linsolve([dir + "/ns.mtx", "--ksp", "cg", "--require-symmetric"])
        #expect(strict.status == 2 && strict.stderr.contains("not symmetric"), "\(strict.stderr)")
    }

    @Test func badNamesAndOptionsAreBadInput() throws {
        let dir = makeTemporaryFolder()
        try writeNeumann3D(3, to: dir + "/a.mtx")
        for (args, word) in [(["--pc", "ilu"], "ilu"), (["--ksp", "gmres"], "gmres"), (["--pc", "sor", "--pc-option", "omega=3"], "omega"),
                             (["--pc-option", "novalue"], "key=value"), (["--null-space", "maybe"], "maybe"), (["--rtol=-1"], "rtol")] {
            let r = try linsolve([dir + "/a.mtx"] + args)
            #expect(r.status == 2 && r.stderr.contains(word), "\(args): \(r.status) \(r.stderr)")
        }
        let help = try linsolve(["--help"])
        #expect(help.stdout.contains("gamg (amg, sa-amg)") && help.stdout.contains("Examples:"), "\(help.stdout)")
    }
}

/// `pde-datagen` end to end: a resumed run writes the datasets of an uninterrupted one; bad
/// configs are exit 2 with the key path.
@Suite struct DatagenAppTests {
    func datagen(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let exe = builtExecutable("pde-datagen")
        try #require(FileManager.default.isExecutableFile(atPath: exe), "build pde-datagen first (swift build --build-tests)")
        return try runProcess(exe, args)
    }

    @Test func resumedRunEqualsAnUninterruptedOne() throws {
        let dir = makeTemporaryFolder()
        let config = dir + "/d.yaml"
        try "family: darcy\nsamples: 5\nseed: 3\noutput: {file: \(dir)/full.h5, precision: float64}\ndarcy: {size: 17, resolutions: [9, 17], solver: cholmod}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let full = try datagen([config, "--quiet"])
        #expect(full.status == 0, "\(full.stderr)")
        let part = try datagen([config, "--samples", "2", "--output", dir + "/resumed.h5", "--workers", "1"])
        #expect(part.status == 0 && part.stdout.contains("2/2"), "\(part.stdout)\(part.stderr)")
        let rest = try datagen([config, "--output", dir + "/resumed.h5", "--workers", "2"])
        #expect(rest.status == 0 && rest.stdout.contains("resumed at sample 2"), "\(rest.stdout)\(rest.stderr)")
        let a = try HDF5DatasetFile(path: dir + "/full.h5"), b = try HDF5DatasetFile(path: dir + "/resumed.h5")
        for name in ["a_9", "u_9", "a_17", "u_17", "x_17"] {
            #expect(try a.read(name, as: Double.self).values == b.read(name, as: Double.self).values, "\(name)")
        }
        try a.close(); try b.close()
        // Other parameters: refused, naming the attribute.
        try "family: darcy\nsamples: 5\nseed: 4\noutput: {file: \(dir)/full.h5, precision: float64}\ndarcy: {size: 17, resolutions: [9, 17], solver: cholmod}\n"
            .write(toFile: dir + "/other.yaml", atomically: true, encoding: .utf8)
        let other = try datagen([dir + "/other.yaml"])
        #expect(other.status == 2 && other.stderr.contains("seed"), "\(other.stderr)")
    }

    @Test func badConfigsNameTheKey() throws {
        let dir = makeTemporaryFolder()
        for (yaml, key) in [("family: heat\nsamples: 1\noutput: {file: x.h5}\n", "family"),
                            ("family: darcy\nsamples: 0\noutput: {file: x.h5}\n", "samples"),
                            ("family: darcy\nsamples: 1\noutput: {file: x.h5}\ndarcy: {size: 17, resolutions: [6]}\n", "resolutions"),
                            ("family: darcy\nsamples: 1\noutput: {file: x.h5}\nburgers: {points: 64}\n", "burgers"),
                            ("family: navier-stokes\nsamples: 1\noutput: {file: x.h5}\nnavier_stokes: {scheme: rk9}\n", "scheme"),
                            ("family: dcdm\nsamples: 1\noutput: {file: x.h5}\ndcdm: {size: [63, 64]}\n", "dcdm.size"),
                            ("family: dcdm\nsamples: 1\noutput: {file: x.h5}\ndcdm: {lanczos: 5}\n", "lanczos"),
                            ("family: dcdm\nsamples: 1\noutput: {file: x.h5}\ndcdm: {scene_seed: -1}\n", "scene_seed")] {
            try yaml.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
            let r = try datagen([dir + "/bad.yaml"])
            #expect(r.status == 2 && r.stderr.contains(key) && r.stderr.contains("bad.yaml"), "\(key): \(r.stderr)")
        }
        let none = try datagen([])
        #expect(none.status == 2 && none.stderr.contains("config"), "\(none.stderr)")
    }

    @Test func dcdmDataAndScenes() throws {
        let dir = makeTemporaryFolder()
        try "family: dcdm\nsamples: 4\nseed: 1\noutput: {file: \(dir)/d.h5}\ndcdm: {size: [16, 16], geometries: 2, lanczos_steps: 40}\n"
            .write(toFile: dir + "/d.yaml", atomically: true, encoding: .utf8)
        let r = try datagen([dir + "/d.yaml", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let f = try HDF5DatasetFile(path: dir + "/d.h5")
        #expect(try f.read("rhs", as: Double.self).shape == [4, 16, 16])
        #expect(try f.read("cells", as: Double.self).shape == [4, 16, 16])
        try f.close()
        let s = try datagen(["--write-dcdm-scenes", dir + "/scenes"])
        #expect(s.status == 0 && FileManager.default.fileExists(atPath: dir + "/scenes/scenes.json"), "\(s.stderr)")
        let sized = try datagen(["--write-dcdm-scenes", dir + "/small", "--scene-sizes", "12x12x12"])
        #expect(sized.status == 0, "\(sized.stderr)")
        #expect(try DCDMScenes.load(from: dir + "/small").map { $0.domain.counts } == [[12, 12, 12], [12, 12, 12], [12, 12, 12]])
        let bad = try datagen(["--write-dcdm-scenes", dir + "/bad", "--scene-sizes", "12x"])
        #expect(bad.status == 2 && bad.stderr.contains("--scene-sizes"), "\(bad.stderr)")
    }
}
