import AppSupport
import ArgumentParser
import Foundation
import PDE

/// Set by SIGINT: the generation stops after the samples in flight, leaving a valid file.
nonisolated(unsafe) var interrupted: sig_atomic_t = 0

@main
struct PDEDatagen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pde-datagen",
        abstract: "Generate PDE datasets (Darcy, Burgers, Navier–Stokes, DCDM right-hand sides) into HDF5 with the suite's own solvers.",
        discussion: """
        One HDF5 file per config: every generating parameter and the seed as attributes, one
        chunked, compressed dataset per field with a leading sample axis, coordinates.
        Samples are computed in parallel and appended in order; a run started again on the
        same file resumes at the first missing sample (and the result is the same as an
        uninterrupted run); a file made with other parameters is refused. Ctrl-C stops after
        the samples in flight and leaves a valid file. Exit codes: 0 done, 130 interrupted,
        2 bad input, 1 other failures.

        Examples:
          pde-datagen data/configs/datagen-darcy.yaml
          pde-datagen data/configs/datagen-navier-stokes.yaml --samples 20 --output out/ns-small.h5
          pde-datagen data/configs/datagen-burgers.yaml --workers 1
          pde-datagen data/configs/datagen-dcdm-64.yaml
          pde-datagen --write-dcdm-scenes data/dcdm        # the fixed DCDM evaluation masks
          pde-datagen --write-dcdm-scenes /tmp/scenes128 --scene-sizes 128x128x128
        """)

    @Argument(help: "YAML config file.")
    var config: String?

    @Option(help: "Write the deep conjugate direction method's evaluation scenes (2-D 64², 128², 256²; 3-D 32³, 64³) as NPY masks and scenes.json into this folder, then exit.")
    var writeDcdmScenes: String?

    @Option(help: "With --write-dcdm-scenes: the grid sizes (comma-separated, e.g. 128x128x128,512x512) instead of the shipped ones.")
    var sceneSizes: String?

    @Option(help: "Override the config's sample count.")
    var samples: Int?

    @Option(help: "Override the config's output file.")
    var output: String?

    @Option(help: "Override the number of samples computed at once.")
    var workers: Int?

    @Flag(help: "Print only errors and the final line.")
    var quiet = false

    func run() throws {
        Threads.configure()
        if let folder = writeDcdmScenes {
            do {
                var sizes = [[64, 64], [128, 128], [256, 256], [32, 32, 32], [64, 64, 64]]
                if let text = sceneSizes {
                    sizes = text.split(separator: ",").map { $0.split(separator: "x").compactMap { Int($0) } }
                    guard !sizes.isEmpty, sizes.allSatisfy({ ($0.count == 2 || $0.count == 3) && $0.allSatisfy { $0 >= 8 } }) else {
                        fail("--scene-sizes: '\(text)': expected sizes like 128x128x128 or 512x512 (2 or 3 sides, each at least 8)", code: 2)
                    }
                }
                let entries = try DCDMScenes.write(sizes: sizes, to: folder)
                print("pde-datagen: \(entries.count) DCDM evaluation scenes → \(folder)/scenes.json")
                return
            } catch {
                fail("\(folder): \(error)", code: 1)
            }
        }
        guard let config else { fail("a config file is required (or --write-dcdm-scenes FOLDER)", code: 2) }
        do {
            var cfg = try loadConfig(DatagenConfig.self, from: config)
            if let samples {
                guard samples >= 1 else { throw ConfigError(file: config, keyPath: "--samples", value: "\(samples)", expected: "an integer ≥ 1") }
                cfg.samples = samples
            }
            if let output { cfg.output.file = output }
            if let workers {
                guard workers >= 1 else { throw ConfigError(file: config, keyPath: "--workers", value: "\(workers)", expected: "an integer ≥ 1") }
                cfg.workers = workers
            }
            let family = try cfg.makeFamily(file: config)
            // Under mpirun the ranks share the samples and rank 0 writes the file and prints.
            let world = try Communicator.world()
            let quiet = self.quiet || world.rank != 0
            if world.rank == 0 {
                print("pde-datagen: \(family.name), \(cfg.samples) samples, seed \(cfg.seed) → \(cfg.output.file)" + (world.size > 1 ? " on \(world.size) ranks" : ""))
            }
            if !quiet {
                for (k, v) in family.parameters.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
            }
            signal(SIGINT) { _ in interrupted = 1 }
            var lastPrint = 0.0
            var options = DatasetGenerationOptions(
                samples: cfg.samples, seed: cfg.seed, workers: cfg.workers ?? Parallel.workerCount, doublePrecision: cfg.output.doublePrecision,
                compression: cfg.output.compression == 0 ? .none : HDF5Compression(deflateLevel: cfg.output.compression),
                progress: { p in
                    guard !quiet, p.seconds - lastPrint >= 1 || p.written == p.total else { return }
                    lastPrint = p.seconds
                    let eta = p.secondsRemaining.map { formatSeconds($0) } ?? "–"
                    print(String(format: "  sample %d/%d   %.3g samples/s   elapsed %@   ETA %@", p.written, p.total, p.samplesPerSecond,
                                 formatSeconds(p.seconds), eta))
                },
                shouldStop: { interrupted != 0 })
            options.communicator = world
            let report = try DatasetGeneration.run(family, to: cfg.output.file, options: options)
            if report.resumedFrom > 0 && !quiet { print("  resumed at sample \(report.resumedFrom)") }
            if world.rank == 0 { print(String(format: "pde-datagen: %d/%d samples in %@ (%@)%@", report.samples, cfg.samples, cfg.output.file,
                         formatSeconds(report.seconds), report.interrupted ? ", interrupted: run again to resume" : "")) }
            if report.interrupted { throw ExitCode(130) }
        } catch let e as ConfigError {
            fail(e.description, code: 2)
        } catch let e as PDEError {
            switch e {
            case .libraryFailure, .writeFailed: fail("\(config): \(e.description)", code: 1)
            default: fail("\(config): \(e.description)", code: 2)
            }
        } catch let e as NavierStokesCFLViolation {
            fail("\(config): \(e.description)", code: 2)
        } catch let e as FileWriteError {
            fail(e.description, code: 1)
        }
    }

    func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("pde-datagen: error: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
