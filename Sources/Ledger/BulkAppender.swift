import Dispatch
import LMDB
import Synchronization

/// Appends a long sequence of batches (a generated history, an import) while the caller prepares the next
/// ones: up to `window` batches are in flight at once, so building events and committing them
/// overlap on two cores.
///
/// Batches are committed in the order they are submitted, each all or nothing and durable when its
/// acknowledgment comes. After a failure, ``submit(_:)`` and ``finish()`` throw it; batches
/// submitted before it stay committed.
public final class BulkAppender: Sendable {
    private let log: EventLog
    private let slots: DispatchSemaphore
    private let window: Int
    private let state = Mutex<(appended: Int, duplicates: Int, failure: LedgerError?)>((0, 0, nil))

    /// Creates an appender over `log` with at most `window` batches in flight.
    public init(log: EventLog, window: Int = 2) {
        self.log = log
        self.window = max(1, window)
        slots = DispatchSemaphore(value: max(1, window))
    }

    /// Submits a batch; blocks while `window` batches are already in flight.
    /// - Throws: the failure of an earlier batch, or this batch's validation error.
    public func submit(_ events: [NewEvent]) throws(LedgerError) {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        let events = EventLog.normalized(events)
        try EventLog.validate(events)
        if let copy = log.readOnlyCopy { throw .readOnlyCopy(path: log.path, source: copy) }
        guard let committer = log.committer else { throw .readOnly }
        slots.wait()
        committer.submit(events) { [self] result in
            self.state.withLock { s in
                switch result {
                case .success(let results):
                    let duplicates = results.reduce(0) { $0 + ($1.wasDuplicate ? 1 : 0) }
                    s.appended += results.count - duplicates
                    s.duplicates += duplicates
                case .failure(let error):
                    if s.failure == nil { s.failure = error }
                }
            }
            self.slots.signal()
        }
    }

    /// Waits for every batch in flight; returns the events written and the duplicates skipped.
    /// - Throws: the first failure.
    public func finish() throws(LedgerError) -> (appended: Int, duplicates: Int) {
        for _ in 0..<window { slots.wait() }
        for _ in 0..<window { slots.signal() }
        let final = state.withLock { $0 }
        if let failure = final.failure { throw failure }
        return (final.appended, final.duplicates)
    }
}
