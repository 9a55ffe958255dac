import Dispatch
import Foundation
import LMDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Shares write transactions between concurrent appenders of one process.
///
/// A single writer thread takes every batch submitted while the previous commit was running, writes
/// them in one LMDB transaction, commits once and then completes every batch. A batch that is
/// checked to apply whole (no id already there, every expected version holding) is written straight
/// into the shared transaction; any other gets a nested transaction, so that its refusal leaves the
/// others intact. A caller is completed only after the commit that holds its events returned.
final class GroupCommitter: Sendable {
    typealias Completion = @Sendable (Result<[AppendResult], LedgerError>) -> Void

    private struct Request: Sendable {
        let events: [NewEvent]
        let completion: Completion
    }

    private struct State {
        var pending: [Request] = []
        var stopped = false
        var running = false
        var writer: pthread_t?
        /// A commit is running, on the writer thread or on a caller's (``commitInline(_:log:)``).
        var writing = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let commits = Atomic<Int>(0)
    /// Completes the callers of each shared commit off the writer thread, one commit after the other:
    /// resuming a caller wakes a thread, and 30-odd wake-ups per commit on the writer thread were
    /// most of its time (perf, docs/benchmarks.md). The writer starts the next transaction meanwhile.
    /// A lone request is completed by the writer itself, so callers of different commits may be
    /// woken out of commit order; each is woken only after its own commit returned.
    private let completions = DispatchQueue(label: "ledger-completions")
    /// The largest batch checked for a write without a nested transaction.
    static let checkedBatchLimit = 64

    /// Write transactions committed so far.
    var commitCount: Int { commits.load(ordering: .relaxed) }

    func start(log: EventLog) {
        state.withLock { $0.running = true }
        // The thread holds the log weakly so that dropping the last reference closes the ledger.
        let thread = Thread { [weak log, self] in
            self.state.withLock { $0.writer = pthread_self() }
            self.run { log }
        }
        thread.name = "ledger-writer"
        thread.start()
    }

    func submit(_ events: [NewEvent], completion: @escaping Completion) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.pending.append(Request(events: events, completion: completion))
            return true
        }
        if accepted {
            wake.signal()
        } else {
            completion(.failure(.closed))
        }
    }

    /// Commits `events` on the calling thread when no commit is running and none is waiting, and
    /// returns the outcome; `nil` when another commit is under way (the caller then submits).
    ///
    /// A lone blocking appender (a command-line tool) so skips the two thread hops of a submission,
    /// each a futex wake-up: on this machine they were most of a lone append's CPU (perf,
    /// docs/benchmarks.md). Batches submitted meanwhile wait for the writer thread, woken after.
    func commitInline(_ events: [NewEvent], log: EventLog) -> Result<[AppendResult], LedgerError>? {
        let mine = state.withLock { state -> Bool in
            guard !state.stopped, !state.writing, state.pending.isEmpty else { return false }
            state.writing = true
            return true
        }
        guard mine else { return nil }
        let box = ResultBox()
        commit([Request(events: events) { box.result = $0 }], log: log)
        let waiting = state.withLock { state -> Bool in
            state.writing = false
            return !state.pending.isEmpty
        }
        if waiting { wake.signal() }
        return box.result ?? .failure(.closed)
    }

    /// Stops the writer after the batches already submitted; waits for it to finish. The callers of
    /// its last shared commit may still be being woken when this returns (their events are durable).
    func stop() {
        let (wasRunning, onWriter) = state.withLock { state -> (Bool, Bool) in
            let running = state.running && !state.stopped
            state.stopped = true
            let onWriter = state.writer.map { pthread_equal($0, pthread_self()) != 0 } ?? false
            return (running, onWriter)
        }
        guard wasRunning else { return }
        wake.signal()
        // The last reference to the log may be dropped by the writer thread itself: it must not wait for itself.
        if !onWriter { finished.wait() }
    }

    private func run(log currentLog: () -> EventLog?) {
        defer { finished.signal() }
        while true {
            wake.wait()
            let (batch, stopped) = state.withLock { state in
                // A caller committing inline wakes the writer again when it is done.
                if state.writing { return ([Request](), state.stopped) }
                let batch = state.pending
                state.pending.removeAll()
                state.writing = !batch.isEmpty
                return (batch, state.stopped)
            }
            if !batch.isEmpty {
                defer { state.withLock { $0.writing = false } }
                guard let log = currentLog() else {
                    for request in batch { request.completion(.failure(.closed)) }
                    continue
                }
                commit(batch, log: log)
            }
            if stopped {
                // Anything submitted between the take and the stop flag is refused, never dropped.
                let rest = state.withLock { state in
                    let rest = state.pending
                    state.pending.removeAll()
                    return rest
                }
                for request in rest { request.completion(.failure(.closed)) }
                return
            }
        }
    }

    /// Whether `events` may skip their nested transaction. An LMDB failure ends the transaction; any
    /// other error of the check (a damaged stream entry) sends the batch to a nested transaction,
    /// where it is that batch's own refusal, not the group's.
    private static func checked(_ events: [NewEvent], log: EventLog, txn: LedgerTransaction)
        throws(LedgerError) -> Bool
    {
        do {
            return try log.appliesWhole(events, in: txn)
        } catch {
            if error.lmdbCode != nil { throw error }
            return false
        }
    }

    private func commit(_ batch: [Request], log: EventLog, nestEvery: Bool = false) {
        var outcomes = [Result<[AppendResult], LedgerError>?](repeating: nil, count: batch.count)
        var disagreed = false
        do throws(LedgerError) {
            try log.env.write { (txn: LedgerTransaction) throws(LedgerError) in
                // The closure may run again after the map grew: start from a clean slate each time.
                outcomes = [Result<[AppendResult], LedgerError>?](repeating: nil, count: batch.count)
                var writeState = try log.loadWriteState(txn)
                if batch.count == 1 {
                    // One batch: its own transaction is the nest; a refusal aborts it whole.
                    outcomes[0] = .success(try log.apply(batch[0].events, in: txn, state: &writeState))
                    return
                }
                for (index, request) in batch.enumerated() {
                    let saved = writeState
                    // A small batch checked to apply whole writes straight into the shared
                    // transaction; one that may be refused (a duplicate id, a version that does not
                    // hold) gets a nested transaction, so that its refusal leaves the others intact.
                    // The check reads every id and stream once more, a nested transaction costs the
                    // same for any size: large batches (bulk loads) are nested without checking.
                    if !nestEvery, request.events.count <= Self.checkedBatchLimit,
                        try Self.checked(request.events, log: log, txn: txn)
                    {
                        do throws(LedgerError) {
                            outcomes[index] = .success(
                                try log.apply(request.events, in: txn, state: &writeState))
                        } catch {
                            // The check and the write disagree (a bug, but never a partial batch): the
                            // transaction is aborted and the group retried with a nested transaction each.
                            if error.lmdbCode == nil { disagreed = true }
                            throw error
                        }
                        continue
                    }
                    do throws(LedgerError) {
                        let results = try txn.nested { (child) throws(LedgerError) in
                            try log.apply(request.events, in: child, state: &writeState)
                        }
                        outcomes[index] = .success(results)
                    } catch {
                        // An LMDB failure (a full map, a full disk) ends the whole transaction; the
                        // ledger's refusal of one batch ends only that batch's nested transaction.
                        if error.lmdbCode != nil { throw error }
                        writeState = saved
                        outcomes[index] = .failure(error)
                    }
                }
            }
            commits.add(1, ordering: .relaxed)
        } catch {
            if disagreed && !nestEvery { return commit(batch, log: log, nestEvery: true) }
            let failure = error
            for index in outcomes.indices {
                // A batch that was refused keeps its own reason; the others share the failure.
                if case .failure = outcomes[index] { continue }
                outcomes[index] = .failure(failure)
            }
        }
        // A lone request is completed here: one wake-up either way, and no hop to add to its latency.
        if batch.count == 1 {
            batch[0].completion(outcomes[0] ?? .failure(.closed))
            return
        }
        let finished = outcomes
        completions.async {
            for (request, outcome) in zip(batch, finished) {
                request.completion(outcome ?? .failure(.closed))
            }
        }
    }
}
