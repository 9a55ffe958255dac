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
/// them in one LMDB transaction (each batch in a nested transaction, so a refused batch leaves the
/// others intact), commits once (one fsync) and then completes every batch. A caller is completed
/// only after the commit that holds its events returned.
final class GroupCommitter: Sendable {
    typealias Completion = @Sendable (Result<[AppendResult], LedgerError>) -> Void

    private struct Request {
        let events: [NewEvent]
        let completion: Completion
    }

    private struct State {
        var pending: [Request] = []
        var stopped = false
        var running = false
        var writer: pthread_t?
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let commits = Atomic<Int>(0)

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

    /// Stops the writer after the batches already submitted; waits for it to finish.
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
                let batch = state.pending
                state.pending.removeAll()
                return (batch, state.stopped)
            }
            if !batch.isEmpty {
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

    private func commit(_ batch: [Request], log: EventLog) {
        var outcomes = [Result<[AppendResult], LedgerError>?](repeating: nil, count: batch.count)
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
            let failure = error
            for index in outcomes.indices {
                // A batch that was refused keeps its own reason; the others share the failure.
                if case .failure = outcomes[index] { continue }
                outcomes[index] = .failure(failure)
            }
        }
        for (request, outcome) in zip(batch, outcomes) {
            request.completion(outcome ?? .failure(.closed))
        }
    }
}
