import Benchmark
import ContactTracing
import Foundation
import LMDB
import Ledger
import Projections
import Simulation

// The workloads of issue 7, each run against the ledger and, in the same run, against raw LMDB and a
// SQLite event store (GRDB). Every benchmark records its figures (events/s, latencies, bytes) with
// `Figure.record()`; `Benchmarks/summary.py` prints them side by side with their ratios. Sizes come
// from `Settings` (environment variables), so that CI can run the whole suite small.

/// Iterations of the long workloads (each is a whole run: 1 M appends, a full rebuild, ...).
let longRuns = Int(Settings.environment["LEDGER_BENCH_ITERATIONS"] ?? "") ?? 3

func configuration(iterations: Int = longRuns) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 0,
        scalingFactor: .one, maxDuration: .seconds(3600), maxIterations: iterations)
}

func perSecond(_ count: Int, _ nanoseconds: UInt64) -> Double {
    (Double(count) / (Double(nanoseconds) / 1e9)).rounded()
}

func microseconds(_ nanoseconds: UInt64) -> Double { (Double(nanoseconds) / 100).rounded() / 10 }

/// Runs `body` between the benchmark's start and stop marks and returns its duration in nanoseconds.
func measured(_ benchmark: Benchmark, _ body: () throws -> Void) rethrows -> UInt64 {
    benchmark.startMeasurement()
    let start = now()
    try body()
    let elapsed = now() - start
    benchmark.stopMeasurement()
    return elapsed
}

/// The async form of ``measured(_:_:)``.
func measuredAsync(_ benchmark: Benchmark, _ body: () async throws -> Void) async rethrows -> UInt64 {
    benchmark.startMeasurement()
    let start = now()
    try await body()
    let elapsed = now() - start
    benchmark.stopMeasurement()
    return elapsed
}

let benchmarks: @Sendable () -> Void = {
    registerAppendBenchmarks()
    registerDurableBenchmarks()
    registerRebuildBenchmarks()
    registerReadBenchmarks()
    registerReadModelBenchmarks()
    registerPostgresBenchmarks()
}

// MARK: - 1 and 7: bulk append

func registerAppendBenchmarks() {
    Benchmark("1 bulk append: ledger", configuration: configuration()) { benchmark in
        let data = BulkData.shared
        let path = Settings.freshPath("bulk.ledger")
        let log = try EventLog(path: path)
        let elapsed = try measured(benchmark) {
            let appender = BulkAppender(log: log)
            for batch in data.batches { try appender.submit(batch) }
            _ = try appender.finish()
        }
        log.close()
        Figure(
            workload: "1 bulk append", contender: "ledger", metric: "events/s",
            value: perSecond(data.count, elapsed), unit: "events/s"
        ).record()
        let raw = try RawLMDB(path: path, database: "events", readOnly: true)
        Figure(
            workload: "6 bytes per event", contender: "ledger (bulk mix, no identities)",
            metric: "bytes/event",
            value: Double(try raw.usedBytes()) / Double(data.count), unit: "B"
        ).record()
    }

    Benchmark("1 bulk append: raw LMDB MDB_APPEND", configuration: configuration()) { benchmark in
        let data = BulkData.shared
        let path = Settings.freshPath("bulk.raw")
        let raw = try RawLMDB(path: path, database: "events")
        let elapsed = try measured(benchmark) {
            try raw.append(buffer: data.records, offsets: data.offsets, batch: Settings.bulkBatch)
        }
        Figure(
            workload: "1 bulk append", contender: "raw LMDB MDB_APPEND", metric: "events/s",
            value: perSecond(data.count, elapsed), unit: "events/s"
        ).record()
        Figure(
            workload: "6 bytes per event", contender: "raw LMDB (records only)", metric: "bytes/event",
            value: Double(try raw.usedBytes()) / Double(data.count), unit: "B"
        ).record()
    }

    Benchmark("1 bulk append: SQLite (GRDB)", configuration: configuration()) { benchmark in
        let data = BulkData.shared
        let store = try SQLiteEventStore(path: Settings.freshPath("bulk.sqlite"), durable: false)
        let elapsed = try measured(benchmark) {
            for batch in data.batches { try store.append(batch, recordedAt: data.recordedAt) }
        }
        Figure(
            workload: "1 bulk append", contender: "SQLite (GRDB, WAL, synchronous=NORMAL)",
            metric: "events/s",
            value: perSecond(data.count, elapsed), unit: "events/s"
        ).record()
        Figure(
            workload: "6 bytes per event", contender: "SQLite (bulk mix)", metric: "bytes/event",
            value: Double(try store.usedBytes()) / Double(data.count), unit: "B"
        ).record()
    }
}

// MARK: - 2 and 7: durable appends

/// Latency figures of one durable run.
func recordDurable(_ workload: String, _ contender: String, count: Int, elapsed: UInt64, latencies: [UInt64])
{
    let sorted = latencies.sorted()
    Figure(
        workload: workload, contender: contender, metric: "events/s", value: perSecond(count, elapsed),
        unit: "events/s"
    ).record()
    Figure(
        workload: workload, contender: contender, metric: "p50", value: microseconds(percentile(sorted, 50)),
        unit: "µs"
    ).record()
    Figure(
        workload: workload, contender: contender, metric: "p99", value: microseconds(percentile(sorted, 99)),
        unit: "µs"
    ).record()
}

/// Appends `events` one at a time on the calling thread, timing each append.
func appendOneByOne(_ count: Int, _ append: (Int) throws -> Void) rethrows -> [UInt64] {
    var latencies = [UInt64]()
    latencies.reserveCapacity(count)
    for index in 0..<count {
        let start = now()
        try append(index)
        latencies.append(now() - start)
    }
    return latencies
}

/// Splits `events` between ``Settings/appenders`` concurrent tasks, each appending its share one
/// event at a time and awaiting each acknowledgment; returns every append's latency.
func appendConcurrently(_ events: [NewEvent], _ append: @escaping @Sendable (NewEvent) async throws -> Void)
    async throws -> [UInt64]
{
    let share = events.count / Settings.appenders
    return try await withThrowingTaskGroup(of: [UInt64].self) { group in
        for appender in 0..<Settings.appenders {
            let mine = Array(events[appender * share..<(appender + 1) * share])
            group.addTask {
                var own = [UInt64]()
                own.reserveCapacity(mine.count)
                for event in mine {
                    let start = now()
                    try await append(event)
                    own.append(now() - start)
                }
                return own
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
}

func registerDurableBenchmarks() {
    let concurrent = "2 durable, \(Settings.appenders) appenders"
    let single = "2 durable, 1 appender"

    Benchmark("2 durable: ledger, 64 appenders", configuration: configuration()) { benchmark async throws in
        let events = BulkData.shared.first(Settings.concurrentEvents)
        let log = try EventLog(path: Settings.freshPath("durable.ledger"))
        var latencies = [UInt64]()
        let elapsed = try await measuredAsync(benchmark) {
            latencies = try await appendConcurrently(events) { _ = try await log.append([$0]) }
        }
        let commits = log.commitCount
        log.close()
        recordDurable(
            concurrent, "ledger (group commit)", count: latencies.count, elapsed: elapsed,
            latencies: latencies)
        Figure(
            workload: concurrent, contender: "ledger (group commit)", metric: "events per commit",
            value: (Double(latencies.count) / Double(max(commits, 1)) * 10).rounded() / 10, unit: "events"
        ).record()
    }

    Benchmark("2 durable: SQLite, 64 appenders", configuration: configuration()) { benchmark async throws in
        let events = BulkData.shared.first(Settings.concurrentEvents)
        let recordedAt = BulkData.shared.recordedAt
        let store = try SQLiteEventStore(path: Settings.freshPath("durable.sqlite"), durable: true)
        var latencies = [UInt64]()
        let elapsed = try await measuredAsync(benchmark) {
            latencies = try await appendConcurrently(events) {
                try await store.appendAsync([$0], recordedAt: recordedAt)
            }
        }
        recordDurable(
            concurrent, "SQLite (GRDB, WAL, synchronous=FULL)", count: latencies.count, elapsed: elapsed,
            latencies: latencies)
    }

    Benchmark("2 durable: ledger, 1 appender", configuration: configuration()) { benchmark in
        let events = BulkData.shared.first(Settings.singleEvents)
        let log = try EventLog(path: Settings.freshPath("single.ledger"))
        var latencies = [UInt64]()
        let elapsed = try measured(benchmark) {
            latencies = try appendOneByOne(events.count) { _ = try log.appendBlocking([events[$0]]) }
        }
        log.close()
        recordDurable(single, "ledger", count: events.count, elapsed: elapsed, latencies: latencies)
    }

    Benchmark("2 durable: raw LMDB, 1 appender", configuration: configuration()) { benchmark in
        let data = BulkData.shared
        let count = min(Settings.singleEvents, data.count)
        let raw = try RawLMDB(path: Settings.freshPath("single.raw"), database: "events")
        var latencies = [UInt64]()
        let elapsed = try measured(benchmark) {
            latencies = try appendOneByOne(count) { index in
                try raw.append(
                    buffer: data.records, offsets: [data.offsets[index], data.offsets[index + 1]],
                    first: UInt64(index + 1), batch: 1)
            }
        }
        recordDurable(
            single, "raw LMDB (one put, synced commit)", count: count, elapsed: elapsed, latencies: latencies)
    }

    Benchmark("2 durable: SQLite, 1 appender", configuration: configuration()) { benchmark in
        let events = BulkData.shared.first(Settings.singleEvents)
        let recordedAt = BulkData.shared.recordedAt
        let store = try SQLiteEventStore(path: Settings.freshPath("single.sqlite"), durable: true)
        var latencies = [UInt64]()
        let elapsed = try measured(benchmark) {
            latencies = try appendOneByOne(events.count) {
                try store.append([events[$0]], recordedAt: recordedAt)
            }
        }
        recordDurable(
            single, "SQLite (GRDB, WAL, synchronous=FULL)", count: events.count, elapsed: elapsed,
            latencies: latencies)
    }
}

// MARK: - 3, 4 and 7: rebuild and catch-up

func registerRebuildBenchmarks() {
    let rebuild = "3 rebuild of herault-2022"

    Benchmark("3 rebuild: ledger", configuration: configuration()) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        let before = anonymousResidentBytes()
        var projection = TracingProjection()
        let elapsed = try measured(benchmark) { projection = try TracingProjection.rebuild(from: log) }
        let state = anonymousResidentBytes() - before
        blackHole(projection.cases.count)
        Figure(
            workload: rebuild, contender: "ledger (three projections)", metric: "events/s",
            value: perSecond(history.events, elapsed), unit: "events/s"
        ).record()
        Figure(
            workload: rebuild, contender: "ledger (three projections)", metric: "seconds",
            value: (Double(elapsed) / 1e7).rounded() / 100, unit: "s"
        ).record()
        Figure(
            workload: rebuild, contender: "ledger (three projections)", metric: "state memory",
            value: Double(state >> 20), unit: "MiB"
        ).record()
    }

    Benchmark("3 rebuild: read model stored in LMDB", configuration: configuration()) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        let directory = Settings.directory + "/bench-read-model"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try ReadModel(directory: directory)
        let before = anonymousResidentBytes()
        var peak = 0
        let elapsed = try measured(benchmark) {
            try model.reset()
            try model.catchUp(from: log) { _ in peak = max(peak, anonymousResidentBytes() - before) }
        }
        Figure(
            workload: rebuild, contender: "ledger, read model stored in LMDB", metric: "events/s",
            value: perSecond(history.events, elapsed), unit: "events/s"
        ).record()
        Figure(
            workload: rebuild, contender: "ledger, read model stored in LMDB", metric: "state memory",
            value: Double(max(peak, 0) >> 20), unit: "MiB"
        ).record()
    }

    Benchmark("3 rebuild: raw LMDB cursor scan", configuration: configuration()) { benchmark in
        let history = History.shared
        let raw = try RawLMDB(path: history.ledgerPath, database: "events", readOnly: true)
        var scanned = (entries: 0, bytes: 0)
        let elapsed = try measured(benchmark) { scanned = try raw.scan() }
        precondition(scanned.entries == history.events, "the raw scan saw \(scanned.entries) events")
        Figure(
            workload: rebuild, contender: "raw LMDB cursor scan (no decoding)", metric: "events/s",
            value: perSecond(history.events, elapsed), unit: "events/s"
        ).record()
    }

    Benchmark("3 rebuild: ledger scan without folding", configuration: configuration()) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        var decoded = 0
        let elapsed = try measured(benchmark) {
            try log.forEach { view in
                let (type, version) = (view.type, view.schemaVersion)
                _ = try view.withPayload { payload in
                    try payload.withUnsafeBytes {
                        try UpcasterRegistry.standard.decode(type: type, schemaVersion: version, payload: $0)
                    }
                }
                decoded += 1
                return true
            }
        }
        precondition(decoded == history.events)
        Figure(
            workload: rebuild, contender: "ledger scan + payload decoding, no fold", metric: "events/s",
            value: perSecond(history.events, elapsed), unit: "events/s"
        ).record()
    }

    Benchmark("3 rebuild: SQLite (GRDB)", configuration: configuration()) { benchmark in
        let history = History.shared
        let store = try SQLiteEventStore(path: history.sqlitePath, durable: false)
        let names = try EventLog(path: history.ledgerPath, options: .init(readOnly: true)).nameTable()
        var projection = TracingProjection()
        let elapsed = try measured(benchmark) { try store.forEach(names: names) { try projection.apply($0) } }
        precondition(projection.checkpoint == UInt64(history.events))
        Figure(
            workload: rebuild, contender: "SQLite (GRDB), same records, same fold", metric: "events/s",
            value: perSecond(history.events, elapsed), unit: "events/s"
        ).record()
        Figure(
            workload: "6 bytes per event", contender: "SQLite (herault-2022)", metric: "bytes/event",
            value: Double(try store.usedBytes()) / Double(history.events), unit: "B"
        ).record()
    }

    Benchmark("4 catch-up of 10k events", configuration: configuration(iterations: 1)) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        let rounds = 10
        let step: UInt64 = 10_000
        let total = UInt64(history.events)
        let first = total > step * UInt64(rounds) ? total - step * UInt64(rounds) : 0
        var projection = TracingProjection()
        try projection.catchUp(from: log, through: first)
        var durations = [UInt64]()
        benchmark.startMeasurement()
        for round in 1...rounds {
            let start = now()
            try projection.catchUp(from: log, through: first + step * UInt64(round))
            durations.append(now() - start)
        }
        benchmark.stopMeasurement()
        let sorted = durations.sorted()
        for (metric, value) in [("median", percentile(sorted, 50)), ("worst", sorted.last ?? 0)] {
            Figure(
                workload: "4 catch-up of 10 000 events (rebuilt state)", contender: "ledger", metric: metric,
                value: (Double(value) / 1e4).rounded() / 100, unit: "ms"
            ).record()
        }
        let raw = try RawLMDB(path: history.ledgerPath, database: "events", readOnly: true)
        Figure(
            workload: "6 bytes per event", contender: "ledger (herault-2022, identities sealed)",
            metric: "bytes/event", value: Double(try raw.usedBytes()) / Double(history.events), unit: "B"
        ).record()
    }

    Benchmark("simulate herault-2022 and write it", configuration: configuration(iterations: 1)) {
        benchmark in
        let path = Settings.freshPath("simulate.ledger")
        let log = try EventLog(path: path)
        let vault = try PrivacyVault(ledger: path, create: true, syntheticSeed: 1)
        var events = 0
        let elapsed = try measured(benchmark) {
            let appender = BulkAppender(log: log)
            events = try Simulator(profile: .herault2022, scale: Settings.historyScale, seed: 1).generate(
                vault: vault
            ) { try appender.submit($0) }.events
            _ = try appender.finish()
        }
        log.close()
        Figure(
            workload: "simulate herault-2022 + write (identities sealed)", contender: "ledger",
            metric: "seconds",
            value: (Double(elapsed) / 1e7).rounded() / 100, unit: "s"
        ).record()
        Figure(
            workload: "simulate herault-2022 + write (identities sealed)", contender: "ledger",
            metric: "events/s",
            value: perSecond(events, elapsed), unit: "events/s"
        ).record()
    }
}

// MARK: - 8: read model queries and catch-up

func registerReadModelBenchmarks() {
    Benchmark("8 read model queries", configuration: configuration(iterations: 1)) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        let directory = Settings.directory + "/bench-read-model-queries"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try ReadModel(directory: directory)
        let rounds = 10
        let step: UInt64 = 10_000
        let total = UInt64(history.events)
        let first = total > step * UInt64(rounds) ? total - step * UInt64(rounds) : 0
        try model.catchUp(from: log, through: first)
        var catchUps = [UInt64]()
        var stats = [UInt64]()
        var reports = [UInt64]()
        var reads = [UInt64]()
        benchmark.startMeasurement()
        for round in 1...rounds {
            let start = now()
            try model.catchUp(from: log, through: first + step * UInt64(round))
            catchUps.append(now() - start)
        }
        for _ in 0..<20 {
            var start = now()
            blackHole(try model.read { try $0.statistics(platforms: nil, by: .month) })
            stats.append(now() - start)
            start = now()
            blackHole(try model.read { try ClosureReport(platform: "cpam-34", queries: $0) })
            reports.append(now() - start)
        }
        try model.read { view in
            for id in history.sampleCases {
                let start = now()
                blackHole(try view.caseState(id))
                reads.append(now() - start)
            }
        }
        benchmark.stopMeasurement()
        func record(_ workload: String, _ latencies: [UInt64], _ metrics: [(String, Double)]) {
            let sorted = latencies.sorted()
            for (metric, p) in metrics {
                Figure(
                    workload: workload, contender: "ledger, read model stored in LMDB", metric: metric,
                    value: (Double(percentile(sorted, p)) / 1e4).rounded() / 100, unit: "ms"
                ).record()
            }
        }
        record("4 catch-up of 10 000 events (read model)", catchUps, [("median", 50), ("worst", 100)])
        record("8 stats --by month, all platforms", stats, [("median", 50)])
        record("8 closure report of cpam-34", reports, [("median", 50)])
        let sorted = reads.sorted()
        Figure(
            workload: "5 point reads (\(sorted.count) cases)", contender: "case row of the read model",
            metric: "p99", value: microseconds(percentile(sorted, 99)), unit: "µs"
        ).record()
    }
}

// MARK: - 5: point reads

func registerReadBenchmarks() {
    Benchmark("5 point reads", configuration: configuration(iterations: 1)) { benchmark in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        var caseLatencies = [UInt64]()
        var streamLatencies = [UInt64]()
        benchmark.startMeasurement()
        for id in history.sampleCases {
            var start = now()
            blackHole(try TracingProjection.caseState(id, in: log))
            caseLatencies.append(now() - start)
            start = now()
            blackHole(try log.stream(id))
            streamLatencies.append(now() - start)
        }
        benchmark.stopMeasurement()
        for (contender, latencies) in [("case state", caseLatencies), ("stream's events", streamLatencies)] {
            let sorted = latencies.sorted()
            for p in [50.0, 99.0] {
                Figure(
                    workload: "5 point reads (\(sorted.count) cases)", contender: contender,
                    metric: "p\(Int(p))", value: microseconds(percentile(sorted, p)), unit: "µs"
                ).record()
            }
        }
    }
}
