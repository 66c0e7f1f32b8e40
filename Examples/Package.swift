// swift-tools-version:6.0
import PackageDescription

// A package that depends on SwiftPDE by path and uses its public API only: the proof that
// another package can depend on this one (no unsafe flags, public products). `make test`
// builds and runs it.
let package = Package(
    name: "SwiftPDEExamples",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "SwiftPDE", path: "..")],
    targets: [
        .executableTarget(
            name: "plate-example",
            dependencies: [.product(name: "PDE", package: "SwiftPDE")],
            path: "Sources/plate-example"),
    ],
    swiftLanguageModes: [.v5]
)
