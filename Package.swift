// swift-tools-version: 6.2
import PackageDescription

/// Every target of ours: Swift 6 mode is set below; warnings are errors (the quality bar).
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "TracingLedger",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Tracing", targets: ["Tracing"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .executable(name: "ledgerctl", targets: ["ledgerctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // Documentation only (`swift package generate-documentation`): builds nothing otherwise.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    // Each layer depends only on those above it (docs/architecture.md):
    // CLMDB → LMDB → Ledger → Tracing → Projections → Simulation → ledgerctl.
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "LMDB", dependencies: ["CLMDB"], swiftSettings: strict),
        .target(
            name: "Ledger",
            dependencies: ["LMDB", "CLMDB", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "Tracing",
            dependencies: [
                "Ledger", "LMDB", "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict
        ),
        .target(
            name: "Projections",
            dependencies: ["Ledger", "Tracing", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strict
        ),
        .target(
            name: "Simulation",
            dependencies: [
                "Ledger", "Tracing", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict
        ),
        .executableTarget(
            name: "ledgerctl",
            dependencies: [
                "LMDB",
                "Ledger",
                "Tracing",
                "Projections",
                "Simulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], swiftSettings: strict
        ),
        .executableTarget(
            name: "ledger-torture", dependencies: ["Ledger", "Tracing"], swiftSettings: strict),
        .target(
            name: "TestSupport", dependencies: ["Ledger"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "LMDB", "CLMDB", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: strict),
        .testTarget(
            name: "TracingTests",
            dependencies: [
                "Tracing", "Ledger", "LMDB", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: [
                "Projections", "Tracing", "Ledger", "LMDB", "CLMDB", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Projections", "Tracing", "Ledger", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LedgerCtlTests", dependencies: ["Ledger", "Tracing", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ReliabilityTests", dependencies: ["Ledger", "Tracing", "Projections", "TestSupport"],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
