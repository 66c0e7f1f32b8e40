// swift-tools-version:6.1
import PackageDescription

// SwiftPDE: PDE and inverse-problem suite. Layering (arrows point down only):
//   Apps (pde-solve, linsolve, pde-datagen, pde-train, pde-invert, pde-bench, AppSupport) -> Operators | Inverse -> PDE -> Learning -> Support
//   (PDE uses Learning only for GP-HM's Adam)
//   -> CLibs (system-library shims)
// No unsafe compiler flags anywhere: other packages must be able to depend on this one.

let clibs: [Target] = [
    .systemLibrary(name: "CFFTW", path: "Sources/CLibs/CFFTW", pkgConfig: "fftw3",
                   providers: [.apt(["libfftw3-dev"])]),
    .systemLibrary(name: "CBLAS", path: "Sources/CLibs/CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CLapacke", path: "Sources/CLibs/CLapacke", pkgConfig: "lapacke",
                   providers: [.apt(["liblapacke-dev"])]),
    .systemLibrary(name: "CCholmod", path: "Sources/CLibs/CCholmod",
                   providers: [.apt(["libsuitesparse-dev"])]),
    .systemLibrary(name: "CHDF5", path: "Sources/CLibs/CHDF5", pkgConfig: "hdf5",
                   providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CPNG", path: "Sources/CLibs/CPNG", pkgConfig: "libpng",
                   providers: [.apt(["libpng-dev"])]),
    // Open MPI, only with the package trait MPI (`swift build --traits MPI`; the Makefile
    // enables it): without it the suite builds and runs as one process.
    .systemLibrary(name: "CMPI", path: "Sources/CLibs/CMPI", pkgConfig: "ompi-c",
                   providers: [.apt(["libopenmpi-dev"])]),
]

// Float transcendental kernels in C, compiled for SSE2, AVX2+FMA and AVX-512 with run-time
// dispatch through function attributes (Swift has no per-function target features, and
// unsafe compiler flags are not an option).
let vectorMath: Target = .target(name: "CVectorMath", path: "Sources/CLibs/CVectorMath")

let package = Package(
    name: "SwiftPDE",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PDE", targets: ["PDE"]),
        .library(name: "Learning", targets: ["Learning"]),
        .library(name: "Operators", targets: ["Operators"]),
        .library(name: "Inverse", targets: ["Inverse"]),
        .executable(name: "pde-solve", targets: ["pde-solve"]),
        .executable(name: "pde-bench", targets: ["pde-bench"]),
        .executable(name: "linsolve", targets: ["linsolve"]),
        .executable(name: "pde-datagen", targets: ["pde-datagen"]),
        .executable(name: "pde-train", targets: ["pde-train"]),
        .executable(name: "pde-invert", targets: ["pde-invert"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Distributed runs under mpirun through Open MPI (libopenmpi-dev); off by default, so a machine without MPI builds the serial suite."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: clibs + [vectorMath] + [
        // Plumbing both PDE and Learning need: parallel loops, atomic files, the seeded
        // generator, thread settings of OpenBLAS and FFTW.
        .target(
            name: "Support",
            dependencies: ["CFFTW", "CBLAS", "CVectorMath"],
            path: "Sources/Support"),
        .target(
            name: "Learning",
            dependencies: ["Support", "CFFTW", "CBLAS", "CVectorMath"],
            path: "Sources/Learning"),
        // Neural operators (Fourier layers, models, losses, datasets) on top of Learning; PDE
        // for the datasets' HDF5 files.
        .target(
            name: "Operators",
            dependencies: ["Learning", "PDE"],
            path: "Sources/Operators"),
        // Inverse problems: forward models with adjoints, proximal operators, algorithms,
        // PDE-constrained inversion, on the PDE core (FFTs, CG, CHOLMOD, I/O).
        .target(
            name: "Inverse",
            dependencies: ["PDE", "Learning"],
            path: "Sources/Inverse"),
        .target(
            name: "PDE",
            dependencies: ["Support", "Learning", "CFFTW", "CBLAS", "CLapacke", "CCholmod", "CHDF5", "CPNG",
                           .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
            path: "Sources/PDE"),
        .target(
            name: "AppSupport",
            dependencies: ["PDE", "Operators", "Inverse", .product(name: "Yams", package: "Yams")],
            path: "Sources/Apps/AppSupport"),
        .executableTarget(
            name: "pde-solve",
            dependencies: ["AppSupport", "PDE",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/pde-solve"),
        .executableTarget(
            name: "linsolve",
            dependencies: ["AppSupport", "PDE",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/linsolve"),
        .executableTarget(
            name: "pde-datagen",
            dependencies: ["AppSupport", "PDE",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/pde-datagen"),
        .executableTarget(
            name: "pde-train",
            dependencies: ["AppSupport", "Operators", "PDE",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/pde-train"),
        .executableTarget(
            name: "pde-invert",
            dependencies: ["AppSupport", "Inverse", "PDE",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/pde-invert"),
        .executableTarget(
            name: "pde-bench",
            dependencies: ["AppSupport", "PDE", "Learning", "Operators", "Inverse",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Apps/pde-bench"),
        // Helpers shared by the test targets (temporary folders, Python probes, orders).
        .target(name: "TestSupport", dependencies: ["Support"], path: "Tests/TestSupport"),
        .testTarget(name: "LearningTests", dependencies: ["Learning", "TestSupport"], path: "Tests/LearningTests"),
        .testTarget(name: "OperatorsTests", dependencies: ["Operators", "PDE", "TestSupport"], path: "Tests/OperatorsTests"),
        .testTarget(name: "InverseTests", dependencies: ["Inverse", "PDE", "TestSupport"], path: "Tests/InverseTests"),
        .testTarget(name: "PDETests", dependencies: ["PDE", "Learning", "TestSupport", "CFFTW", "CBLAS", "CLapacke"],
                    path: "Tests/PDETests"),
        .testTarget(name: "AppSupportTests", dependencies: ["AppSupport", "PDE", "Learning", "Operators", "Inverse", "TestSupport"],
                    path: "Tests/AppSupportTests"),
    ],
    // Swift 5 language mode: the numerical kernels hand unsafe buffer pointers to
    // DispatchQueue.concurrentPerform, which strict Swift 6 concurrency checking rejects.
    swiftLanguageModes: [.v5]
)
