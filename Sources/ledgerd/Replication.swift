import Foundation
import Ledger
import Logging
import Metrics
import Replication
import ServiceLifecycle
import Synchronization

/// `--replicate-to`: ships every committed event to the replica in PostgreSQL, in the background
/// (docs/operations.md). Asynchronously, appends are acknowledged after the LMDB commit, and what
/// the replica lacks is the lag, `ledgerd_replication_lag_events`; synchronously, an append's reply
/// waits until the replica holds its events (``ReplicationStatus``), and the shipper is woken by
/// each append instead of waiting for the interval.
///
/// A server that cannot be reached, fails a statement or does not answer one within the statement
/// limit (5 s synchronous, 30 s asynchronous) is retried (1 s, doubling to 30 s; 2 s synchronous) and
/// counted in `ledgerd_replication_errors_total`; a replica that disagrees with the ledger (another
/// hash at a position, a replica ahead of the ledger) is never overwritten: replication stops,
/// `ledgerd_replication_diverged` is 1 and the log says why, while the service goes on.
struct ReplicationWork: Service {
    let log: EventLog
    let location: ReplicaLocation
    let interval: Duration
    let status: ReplicationStatus
    let logger: Logger

    private static let lag = Metrics.Gauge(label: "ledgerd_replication_lag_events")
    private static let lagSeconds = Metrics.Gauge(label: "ledgerd_replication_lag_seconds")
    private static let shipped = Metrics.Counter(label: "ledgerd_replication_shipped_total")
    private static let errors = Metrics.Counter(label: "ledgerd_replication_errors_total")
    private static let diverged = Metrics.Gauge(label: "ledgerd_replication_diverged")

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                // The interval's tick, for events appended by other processes (and every event in
                // asynchronous mode).
                group.addTask { [status, interval, log] in
                    // Each head the ticker sees, with when it first saw it: the lag in seconds is the
                    // age of the oldest one the replica does not hold yet (to one interval).
                    var seen: [(position: UInt64, at: ContinuousClock.Instant)] = []
                    while (try? await Task.sleep(for: interval)) != nil {
                        status.wake()
                        guard let head = try? log.head().position else { continue }
                        let shipped = status.snapshot.shipped
                        if head > (seen.last?.position ?? 0), seen.count < 100_000 {
                            seen.append((head, ContinuousClock.now))
                        }
                        seen.removeFirst(seen.prefix { $0.position <= shipped }.count)
                        Self.lag.record(Double(head - min(head, shipped)))
                        if let oldest = seen.first {
                            Self.lagSeconds.record(
                                Double((ContinuousClock.now - oldest.at).nanoseconds) / 1e9)
                        } else {
                            Self.lagSeconds.record(0)
                        }
                    }
                }
                await follow()
                group.cancelAll()
            }
        }
    }

    private func follow() async {
        var backoff = Duration.seconds(1)
        Self.diverged.record(0)
        Self.errors.increment(by: 0)
        Self.shipped.increment(by: 0)
        var wakes = status.wakes.makeAsyncIterator()
        // A synchronous service refuses appends while the replica is away: it is tried again sooner.
        let longestBackoff = Duration.seconds(status.synchronous ? 2 : 30)
        // A statement without an answer for this long closes the connection, and is retried with a
        // new one: a server gone away without a word is noticed.
        let statementLimit = Duration.seconds(status.synchronous ? 5 : 30)
        // A batch is one transaction, bounded by the statement limit: smaller when appends wait for
        // it; halved after each failure (a batch too large for the limit would fail for ever), and
        // doubled back after each success.
        let defaultBatch = status.synchronous ? 1_000 : 5_000
        var batch = defaultBatch
        while !Task.isCancelled {
            do {
                try await Replica.with(location, statementLimit: statementLimit) { replica in
                    var shippedUpTo: UInt64?
                    var lastAnswer = ContinuousClock.now
                    while !Task.isCancelled {
                        // A connection the server closed while idle (a restart, an idle reaper) is
                        // replaced at once, without failing anything.
                        if replica.isClosed { throw Reconnect() }
                        // A round ships for at most 5 s, then the next goes on from there.
                        let started = ContinuousClock.now
                        let report = try await replica.ship(
                            log, batch: batch, shippedUpTo: shippedUpTo,
                            stop: { Task.isCancelled || ContinuousClock.now - started > .seconds(5) },
                            progress: { end, _ in status.shipped(through: end) })
                        if report.shipped + report.alreadyThere > 0 {
                            lastAnswer = ContinuousClock.now
                            batch = min(batch * 2, defaultBatch)
                        } else if ContinuousClock.now - lastAnswer > .seconds(5) {
                            // Idle: a server that went away without a word is found out now, not by
                            // the next append.
                            try await replica.ping()
                            lastAnswer = ContinuousClock.now
                        }
                        status.shipped(through: report.head)
                        shippedUpTo = report.head
                        Self.shipped.increment(by: Int64(report.shipped))
                        backoff = .seconds(1)
                        guard await wakes.next() != nil else { throw CancellationError() }
                    }
                }
            } catch is Reconnect {
                continue
            } catch is CancellationError {
                return
            } catch let error as ReplicationError where error.isDisagreement {
                Self.diverged.record(1)
                status.failed(.diverged("\(error)"))
                logger.critical(
                    "replication stopped: the replica disagrees with the ledger; nothing was overwritten",
                    metadata: ["replica": "\(location)", "reason": "\(error)"])
                // Returning would end the service group, that is the server: wait for shutdown.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
                return
            } catch {
                status.failed(.failing("\(error)"))
                Self.errors.increment()
                logger.warning(
                    "replication failed; retrying",
                    metadata: ["replica": "\(location)", "reason": "\(error)"])
            }
            batch = max(50, batch / 2)
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, longestBackoff)
        }
    }
}

extension ReplicationError {
    /// The replica disagrees with the ledger (another hash, more positions, a missing one): shipping
    /// stops rather than overwrite anything.
    fileprivate var isDisagreement: Bool {
        switch self {
        case .divergence, .replicaAhead, .incomplete: true
        default: false
        }
    }
}

/// The replica's connection was found closed before a round: a new one is made at once.
private struct Reconnect: Error {}

/// What the replication service knows of the replica, shared with the appends: the last position
/// the replica is known to hold, whether it is reachable, and the appends waiting for it.
///
/// In synchronous mode (`--replication-mode sync`) an append's reply waits here until the replica
/// holds its events (``confirm(through:)``), and a batch is refused before anything is written while
/// the replica is known to be unreachable or diverged (``admit()``).
final class ReplicationStatus: Sendable {
    /// Whether appends wait for the replica.
    let synchronous: Bool
    /// How long an append waits for the replica before it is answered 503.
    let timeout: Duration

    enum Health: Sendable, Equatable {
        /// No round has ended yet.
        case starting
        case reachable
        case failing(String)
        case diverged(String)
    }

    private struct Waiter {
        var id: Int
        var position: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var shipped: UInt64 = 0
        var health = Health.starting
        var waiters: [Waiter] = []
        var nextID = 0
        /// Waits whose id is made but who have not yet registered, and those of them cancelled.
        var pending: Set<Int> = []
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())
    /// Wakes the shipper: an append in synchronous mode, or the interval's tick.
    let wakes: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(synchronous: Bool, timeout: Duration) {
        self.synchronous = synchronous
        self.timeout = timeout
        (wakes, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The last position the replica is known to hold, and its health.
    var snapshot: (shipped: UInt64, health: Health) {
        state.withLock { ($0.shipped, $0.health) }
    }

    /// How many appends wait for the replica.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Asks the shipper to look for new events now.
    func wake() { wakeUp.yield() }

    /// The replica holds every position up to `position`: the appends waiting for them are answered.
    func shipped(through position: UInt64) {
        let ready = state.withLock { state -> [Waiter] in
            state.shipped = max(state.shipped, position)
            state.health = .reachable
            let ready = state.waiters.filter { $0.position <= state.shipped }
            state.waiters.removeAll { $0.position <= state.shipped }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// The replica cannot be reached or disagrees with the ledger: every waiting append is answered
    /// 503, and (in synchronous mode) new ones are refused until a round succeeds.
    func failed(_ health: Health) {
        let waiting = state.withLock { state -> [Waiter] in
            state.health = health
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiting { waiter.continuation.resume(throwing: Self.problem(health, written: true)) }
    }

    /// Refuses a batch, before anything is written, while the replica is known to be unreachable or
    /// diverged (synchronous mode only).
    func admit() throws(Problem) {
        guard synchronous else { return }
        let health = snapshot.health
        switch health {
        case .starting, .reachable: return
        case .failing, .diverged: throw Self.problem(health, written: false)
        }
    }

    /// Returns once the replica holds every position up to `position`; throws a 503 problem when it
    /// fails, or does not confirm within ``timeout``.
    func confirm(through position: UInt64) async throws(Problem) {
        wake()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.held(through: position) }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    throw Self.problem(.reachable, written: true)
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Self.problem(.failing("\(error)"), written: true)
        }
    }

    private func held(through position: UInt64) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            state.pending.insert(state.nextID)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { state in
                    state.pending.remove(id)
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if state.shipped >= position { return .success(()) }
                    if case .diverged = state.health {
                        return .failure(Self.problem(state.health, written: true))
                    }
                    state.waiters.append(Waiter(id: id, position: position, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not registered yet: it will see this. Already answered: nothing to do.
                    if state.pending.contains(id) { state.cancelled.insert(id) }
                    return nil
                }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// 503 `replica-unavailable`: what the replica's state is, and whether the batch was written.
    /// The replica's address and the server's messages stay in the service's log.
    static func problem(_ health: Health, written: Bool) -> Problem {
        let reason: String =
            switch health {
            case .starting: "the replica has not answered yet"
            case .reachable: "the replica did not confirm the batch in time"
            case .failing: "the replica cannot be reached (the service's log says why)"
            case .diverged: "the replica disagrees with the ledger (the service's log says why)"
            }
        let outcome =
            written
            ? "the batch is in the ledger but not in the replica, so it is not acknowledged: retry it as is "
                + "(same ids) once GET /readyz is ready; the retry gets the original positions"
            : "nothing was written"
        return Problem(
            status: .serviceUnavailable, name: "replica-unavailable",
            title: "The replica in PostgreSQL cannot confirm appends (synchronous replication)",
            detail: "\(reason); \(outcome)",
            extensions: [("written", .bool(written))])
    }
}
