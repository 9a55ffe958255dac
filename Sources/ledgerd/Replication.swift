import Foundation
import Ledger
import Logging
import Metrics
import Replication
import ServiceLifecycle

/// `--replicate-to`: ships every committed event to the replica in PostgreSQL, in the background,
/// asynchronously (docs/operations.md): appends are acknowledged after the LMDB commit, and what
/// the replica lacks is the lag, `ledgerd_replication_lag_events`.
///
/// A server that cannot be reached or fails a statement is retried (1 s, doubling to 30 s) and
/// counted in `ledgerd_replication_errors_total`; a replica that disagrees with the ledger (another
/// hash at a position, a replica ahead of the ledger) is never overwritten: replication stops,
/// `ledgerd_replication_diverged` is 1 and the log says why, while the service goes on.
struct ReplicationWork: Service {
    let log: EventLog
    let location: ReplicaLocation
    let interval: Duration
    let logger: Logger

    private static let lag = Metrics.Gauge(label: "ledgerd_replication_lag_events")
    private static let shipped = Metrics.Counter(label: "ledgerd_replication_shipped_total")
    private static let errors = Metrics.Counter(label: "ledgerd_replication_errors_total")
    private static let diverged = Metrics.Gauge(label: "ledgerd_replication_diverged")

    func run() async throws {
        await cancelWhenGracefulShutdown { await follow() }
    }

    /// `body`'s result, or a ``ReplicationError/server(_:reason:)`` once `limit` has passed (and
    /// `body` is cancelled).
    private static func within<T: Sendable>(
        _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
    )
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ReplicationError.server("the replica", reason: "no answer within \(limit)")
            }
            return value
        }
    }

    private func follow() async {
        var backoff = Duration.seconds(1)
        Self.diverged.record(0)
        Self.lag.record(0)
        Self.errors.increment(by: 0)
        Self.shipped.increment(by: 0)
        while !Task.isCancelled {
            do {
                try await Replica.with(location) { replica in
                    var shippedUpTo: UInt64?
                    while !Task.isCancelled {
                        // A round ships for at most 10 s (then the next goes on from there), and is
                        // abandoned after 30: the client's pool waits for ever for a server that went
                        // away, this retries it with a fresh connection instead.
                        let started = ContinuousClock.now
                        let known = shippedUpTo
                        let report = try await Self.within(.seconds(30)) {
                            try await replica.ship(
                                log, shippedUpTo: known,
                                stop: { Task.isCancelled || ContinuousClock.now - started > .seconds(10) })
                        }
                        shippedUpTo = report.head
                        Self.shipped.increment(by: Int64(report.shipped))
                        let head = (try? log.head().position) ?? report.head
                        Self.lag.record(Double(head - min(head, report.head)))
                        backoff = .seconds(1)
                        try await Task.sleep(for: interval)
                    }
                }
            } catch is CancellationError {
                return
            } catch let error as ReplicationError {
                switch error {
                case .divergence, .replicaAhead, .incomplete:
                    Self.diverged.record(1)
                    logger.critical(
                        "replication stopped: the replica disagrees with the ledger; nothing was overwritten",
                        metadata: ["replica": "\(location)", "reason": "\(error)"])
                    // Returning would end the service group, that is the server: wait for shutdown.
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
                    return
                default:
                    Self.errors.increment()
                    logger.warning(
                        "replication failed; retrying",
                        metadata: ["replica": "\(location)", "reason": "\(error)"])
                }
            } catch {
                Self.errors.increment()
                logger.warning(
                    "replication failed; retrying",
                    metadata: ["replica": "\(location)", "reason": "\(error)"])
            }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, .seconds(30))
        }
    }
}
