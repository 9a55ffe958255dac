// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "TracingLedger",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .executable(name: "ledgerctl", targets: ["ledgerctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(
            name: "Ledger",
            dependencies: [
                "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "Projections",
            dependencies: ["Ledger", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "Simulation",
            dependencies: [
                "Ledger", "Projections", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "ledgerctl",
            dependencies: [
                "Ledger",
                "Projections",
                "Simulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "ledger-torture", dependencies: ["Ledger"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "Simulation", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: [
                "Projections", "Ledger", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Projections", "Ledger"]),
        .testTarget(name: "LedgerCtlTests", dependencies: ["Ledger", "TestSupport"]),
        .testTarget(name: "ReliabilityTests", dependencies: ["Ledger", "Projections", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
