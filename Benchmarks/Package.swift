// swift-tools-version: 6.1
import PackageDescription

// The benchmark suite of the tracing ledger, a package of its own so that ordo-one/benchmark, GRDB,
// async-http-client and postgres-nio stay out of the main build. Run it with `bash Benchmarks/run.sh` from the repository root.
let package = Package(
    name: "LedgerBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "TracingLedger", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // http-load: a load client that presents a client certificate (mutual TLS), which wrk cannot.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        // The PostgreSQL contender (issue 19).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "LedgerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "LMDB", package: "TracingLedger"),
                .product(name: "Ledger", package: "TracingLedger"),
                .product(name: "ContactTracing", package: "TracingLedger"),
                .product(name: "Projections", package: "TracingLedger"),
                .product(name: "Simulation", package: "TracingLedger"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/LedgerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Under Tools/, not Benchmarks/: the benchmark plugin runs every executable in Benchmarks/
        // as a suite (it ran http-load for 10 s against no server).
        .executableTarget(
            name: "http-load",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tools/http-load"
        ),
    ],
    swiftLanguageModes: [.v6]
)
