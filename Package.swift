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
        .library(name: "ContactTracing", targets: ["ContactTracing"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Replication", targets: ["Replication"]),
        .executable(name: "ledgerctl", targets: ["ledgerctl"]),
        .executable(name: "ledgerd", targets: ["ledgerd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // Certificates for mutual TLS (ledgerctl credentials issues them, ledgerd reads their subject).
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        // The network service only (ledgerd): ledgerctl and the libraries build without them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        // Replication to PostgreSQL (issue 20): ledgerctl replicate and restore.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // Documentation only (`swift package generate-documentation`): builds nothing otherwise.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    // Each layer depends only on those above it (docs/architecture.md):
    // CLMDB → LMDB → Ledger → ContactTracing → Projections → Simulation → ledgerctl; Projections → ledgerd;
    // ContactTracing → Replication → ledgerctl.
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
            name: "ContactTracing",
            dependencies: [
                "Ledger", "LMDB", "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict
        ),
        .target(
            name: "Projections",
            dependencies: [
                "Ledger", "ContactTracing", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Simulation",
            dependencies: [
                "Ledger", "ContactTracing", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict
        ),
        .target(
            name: "Replication",
            dependencies: [
                "Ledger", "LMDB", "ContactTracing",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ], swiftSettings: strict
        ),
        .target(
            name: "Credentials",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: strict
        ),
        .executableTarget(
            name: "ledgerctl",
            dependencies: [
                "Credentials",
                .product(name: "X509", package: "swift-certificates"),
                "LMDB",
                "Ledger",
                "ContactTracing",
                "Projections",
                "Simulation",
                "Replication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], swiftSettings: strict
        ),
        .executableTarget(
            name: "ledgerd",
            dependencies: [
                "Credentials",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                "LMDB",
                "Ledger",
                "ContactTracing",
                "Projections",
                "Replication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ], swiftSettings: strict
        ),
        .executableTarget(
            name: "ledger-torture", dependencies: ["Ledger", "ContactTracing"], swiftSettings: strict),
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
                "ContactTracing", "Ledger", "LMDB", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: [
                "Projections", "ContactTracing", "Ledger", "LMDB", "CLMDB", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], swiftSettings: strict),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Projections", "ContactTracing", "Ledger", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LedgerCtlTests", dependencies: ["Ledger", "ContactTracing", "Credentials", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LedgerdTests",
            dependencies: [
                "ledgerd", "LMDB", "Ledger", "ContactTracing", "Projections", "Simulation", "TestSupport",
                "Credentials",
                .product(name: "Hummingbird", package: "hummingbird"),
            ], swiftSettings: strict),
        .testTarget(
            name: "CredentialsTests",
            dependencies: [
                "Credentials", .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: strict),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: ["Ledger", "ContactTracing", "Projections", "TestSupport"],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
