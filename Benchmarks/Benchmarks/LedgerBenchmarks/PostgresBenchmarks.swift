import Benchmark
import ContactTracing
import Foundation
import Ledger
import NIOCore
import Projections

// PostgreSQL in the same run as the ledger (issue 19): bulk load with COPY, durable appends from 1
// and 64 clients each waiting for its commit, a replay of herault-2022 through the same fold, and
// bytes per event. Registered only when `Benchmarks/run.sh` started a cluster
// (LEDGER_BENCH_POSTGRES_SOCKET); `LEDGER_BENCH_POSTGRES=0` leaves it out.

let postgresName = "PostgreSQL 15 (default durability)"

func registerPostgresBenchmarks() {
    guard PostgresEventStore.socket != nil else { return }

    Benchmark("1 bulk append: PostgreSQL COPY", configuration: configuration()) { benchmark async throws in
        let data = BulkData.shared
        let events = Array(data.batches.joined())
        var versions = [String: UInt64]()
        let streamVersions = events.map { event in
            let version = versions[event.stream].map { $0 + 1 } ?? 0
            versions[event.stream] = version
            return version
        }
        try await PostgresEventStore.with { store in
            let elapsed = try await measuredAsync(benchmark) {
                var first = 0
                for batch in data.batches {
                    var text = ByteBuffer()
                    data.records.withUnsafeBytes { records in
                        for index in first..<first + batch.count {
                            let event = events[index]
                            PostgresEventStore.encode(
                                position: UInt64(index + 1), id: event.id, stream: event.stream,
                                version: streamVersions[index],
                                record: UnsafeRawBufferPointer(
                                    rebasing: records[data.offsets[index]..<data.offsets[index + 1]]),
                                into: &text)
                        }
                    }
                    try await store.copy(text)
                    first += batch.count
                }
            }
            Figure(
                workload: "1 bulk append", contender: "\(postgresName), COPY per batch", metric: "events/s",
                value: perSecond(data.count, elapsed), unit: "events/s"
            ).record()
            Figure(
                workload: "6 bytes per event", contender: "PostgreSQL (bulk mix)", metric: "bytes/event",
                value: Double(try await store.usedBytes()) / Double(data.count), unit: "B"
            ).record()
        }
    }

    Benchmark("2 durable: PostgreSQL, 64 appenders", configuration: configuration()) {
        benchmark async throws in
        let events = BulkData.shared.first(Settings.concurrentEvents)
        let recordedAt = BulkData.shared.recordedAt
        try await PostgresEventStore.with(connections: Settings.appenders) { store in
            var latencies = [UInt64]()
            let elapsed = try await measuredAsync(benchmark) {
                latencies = try await appendConcurrently(events) {
                    try await store.append($0, recordedAt: recordedAt)
                }
            }
            let stored = try await store.count()
            precondition(stored == latencies.count, "PostgreSQL holds \(stored) events")
            recordDurable(
                "2 durable, \(Settings.appenders) appenders", "\(postgresName), one connection each",
                count: latencies.count, elapsed: elapsed, latencies: latencies)
        }
    }

    Benchmark("2 durable: PostgreSQL, 1 appender", configuration: configuration()) { benchmark async throws in
        let events = BulkData.shared.first(Settings.singleEvents)
        let recordedAt = BulkData.shared.recordedAt
        try await PostgresEventStore.with { store in
            var latencies = [UInt64]()
            latencies.reserveCapacity(events.count)
            let elapsed = try await measuredAsync(benchmark) {
                for event in events {
                    let start = now()
                    try await store.append(event, recordedAt: recordedAt)
                    latencies.append(now() - start)
                }
            }
            recordDurable(
                "2 durable, 1 appender", postgresName, count: events.count, elapsed: elapsed,
                latencies: latencies)
        }
    }

    Benchmark("3 rebuild: PostgreSQL", configuration: configuration()) { benchmark async throws in
        let history = History.shared
        let log = try EventLog(path: history.ledgerPath, options: .init(readOnly: true))
        let names = try log.nameTable()
        try await PostgresEventStore.with { store in
            // The history's records as they are, 100 000 per COPY, outside the measurement.
            var next: UInt64 = 1
            while next <= UInt64(history.events) {
                var text = ByteBuffer()
                var count = 0
                try log.forEach(from: next) { view in
                    view.withRecord { record in
                        record.withUnsafeBytes { bytes in
                            PostgresEventStore.encode(
                                position: view.position, id: view.id, stream: view.stream,
                                version: view.streamVersion, record: bytes, into: &text)
                        }
                    }
                    count += 1
                    return count < 100_000
                }
                try await store.copy(text)
                next += UInt64(count)
            }
            // As a database administrator would before serving reads: statistics for the planner (an
            // index scan in position order, not a sort) and hint bits set.
            try await store.client.query("VACUUM (ANALYZE, FREEZE) events")
            var projection = TracingProjection()
            let elapsed = try await measuredAsync(benchmark) {
                try await store.forEach(names: names) { try projection.apply($0) }
            }
            precondition(projection.checkpoint == UInt64(history.events))
            Figure(
                workload: "3 rebuild of herault-2022", contender: "\(postgresName), same records, same fold",
                metric: "events/s", value: perSecond(history.events, elapsed), unit: "events/s"
            ).record()
            Figure(
                workload: "6 bytes per event", contender: "PostgreSQL (herault-2022)", metric: "bytes/event",
                value: Double(try await store.usedBytes()) / Double(history.events), unit: "B"
            ).record()
        }
    }
}
