import Foundation

/// What the suite measures on, read from the environment so that CI can run it small.
enum Settings {
    static let environment = ProcessInfo.processInfo.environment

    /// Events of the bulk append workload (the simulated mix).
    static let bulkEvents = Int(environment["LEDGER_BENCH_EVENTS"] ?? "") ?? 1_000_000
    /// Scale of the `herault-2022` history that the rebuild, catch-up and read workloads use.
    static let historyScale = Double(environment["LEDGER_BENCH_SCALE"] ?? "") ?? 1
    /// Durable appends per run of the 64-appender workload (one event per append).
    static let concurrentEvents = Int(environment["LEDGER_BENCH_CONCURRENT_EVENTS"] ?? "") ?? 12_800
    /// Durable appends per run of the one-appender workload.
    static let singleEvents = Int(environment["LEDGER_BENCH_SINGLE_EVENTS"] ?? "") ?? 1_000
    /// Where ledgers and databases are written; the history is kept there between runs.
    static let directory =
        environment["LEDGER_BENCH_DIR"] ?? (NSTemporaryDirectory() + "ledger-benchmarks")
    /// A file that receives one JSON line per figure, for `Benchmarks/summary.py`.
    static let summaryPath = environment["LEDGER_BENCH_SUMMARY"]

    /// Events in each batch of the bulk path (the simulator's batch size).
    static let bulkBatch = 20_000
    /// Concurrent appenders of the durable workload.
    static let appenders = 64
    /// The number of events of the full `herault-2022` history.
    static let fullHistoryEvents = 6_962_524

    /// A fresh path under ``directory`` (anything already there is removed).
    static func freshPath(_ name: String) -> String {
        let path = directory + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        for suffix in [".keys", ".secret", "-wal", "-shm", ".projections"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return path
    }
}

/// One figure of the side-by-side table: a workload, a contender and a value.
struct Figure: Codable {
    var workload: String
    var contender: String
    var metric: String
    var value: Double
    var unit: String

    /// Appends this figure to the summary file, when one is set, and prints it.
    func record() {
        print("  \(workload) | \(contender) | \(metric): \(value) \(unit)")
        guard let path = Settings.summaryPath,
            var line = try? JSONEncoder().encode(self)
        else { return }
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(line)
        handle.closeFile()
    }
}

/// Percentiles of latencies in nanoseconds.
func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Resident anonymous memory of this process (the heap, not the mapped ledger), in bytes.
func anonymousResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// Seconds since an arbitrary start, monotonic.
func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
