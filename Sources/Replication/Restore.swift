import Foundation
import LMDB
import Ledger
import NIOCore

extension Replica {
    /// Writes a new ledger at `target` from the replica of ledger `ledgerID`: every event in position
    /// order, with the ledger's own id and creation time, so that its head hash, its signed
    /// checkpoints and its read model are those of the ledger that was shipped.
    ///
    /// Each batch is appended, then its records are read back and compared byte for byte with the
    /// replica's (the record holds the hash chain, so the restored history is exactly the shipped
    /// one). The ledger is written into `TARGET.partial-PID-N` and renamed into place only when
    /// complete: a restore that fails leaves nothing at `target`.
    /// - Parameters:
    ///   - readOnlyCopy: marks the new ledger as a read-only copy (``EventLog/markReadOnlyCopy(source:)``),
    ///     for people who work elsewhere: it refuses appends, which would fork the history under the
    ///     same ledger id.
    ///   - progress: called after each batch with the events written and the total.
    /// - Throws: ``ReplicationError/incomplete(_:)`` when the replica holds no such ledger or misses
    ///   positions; ``ReplicationError/divergence(position:replica:ledger:)`` when a restored record
    ///   differs from the replica's; ``ReplicationError/ledger(_:)`` when `target` exists and is not
    ///   empty, or the ledger fails.
    public func restore(
        _ ledgerID: UUID, to target: String, batch: Int = 10_000, readOnlyCopy: Bool = false,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) async throws -> LogHead {
        guard let shipped = try await ledger(ledgerID) else {
            throw ReplicationError.incomplete(
                "the replica at \(location) holds no ledger \(ledgerID.uuidString.lowercased())")
        }
        guard shipped.formatVersion == LedgerFormat.version else {
            throw ReplicationError.incomplete(
                "the replica holds ledger \(ledgerID.uuidString.lowercased()) in format version "
                    + "\(shipped.formatVersion); this build restores version \(LedgerFormat.version)")
        }
        let (events, last) = try await extent(of: ledgerID)
        guard events == last else {
            throw ReplicationError.incomplete(
                "the replica of ledger \(ledgerID.uuidString.lowercased()) misses positions: it holds \(events) "
                    + "events up to position \(last); ship it again from the ledger, or restore from another copy"
            )
        }
        let target = EventLog.siblingPath(ofLedger: target, suffix: "")
        let replaceEmpty = try ReplicationError.wrapping { () throws(LedgerError) in
            try NewDirectory.isEmptyDirectory(target) { _ in "already exists; a restore writes a new ledger" }
        }
        let partial = NewDirectory.partialPath(for: target)
        do {
            let log = try ReplicationError.wrapping { () throws(LedgerError) in
                try EventLog(path: partial, options: .init(identity: (ledgerID, shipped.createdAt)))
            }
            defer { log.close() }
            var next: UInt64 = 1
            while next <= last {
                let end = min(last, next + UInt64(max(1, batch)) - 1)
                let rows = try await rows(of: ledgerID, in: next...end)
                try Self.append(rows, expecting: next...end, to: log)
                progress(end, last)
                next = end + 1
            }
            let head = try ReplicationError.wrapping { () throws(LedgerError) in try log.head() }
            if last > 0, let theirs = try await hash(of: ledgerID, at: last), theirs != head.hash {
                throw ReplicationError.divergence(
                    position: last, replica: theirs.hexString, ledger: head.hash.hexString)
            }
            if readOnlyCopy {
                let source =
                    "restored from the replica at \(location) on \(Timestamp.now()) up to position \(head.position)"
                try ReplicationError.wrapping { () throws(LedgerError) in
                    try log.markReadOnlyCopy(source: source)
                }
            }
            log.close()
            try ReplicationError.wrapping { () throws(LedgerError) in
                try lmdb { () throws(LMDBError) in
                    try NewDirectory.moveIntoPlace(partial, at: target, replacingEmpty: replaceEmpty)
                }
            }
            return head
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Appends the events of `rows` (positions `range`, in order) to `log`, then compares the
    /// records it stored with the rows'.
    private static func append(_ rows: [Row], expecting range: ClosedRange<UInt64>, to log: EventLog) throws {
        guard rows.count == range.count else {
            throw ReplicationError.incomplete(
                "the replica returned \(rows.count) events for positions \(range.lowerBound)...\(range.upperBound)"
            )
        }
        var events = [NewEvent]()
        events.reserveCapacity(rows.count)
        for (offset, row) in rows.enumerated() {
            guard row.position == range.lowerBound + UInt64(offset) else {
                throw ReplicationError.incomplete(
                    "the replica misses position \(range.lowerBound + UInt64(offset))")
            }
            let event = try row.record.readableBytesView.withUnsafeBytes { record in
                try Array(row.type.utf8).withUnsafeBytes { type in
                    try Array(row.platform.utf8).withUnsafeBytes { platform in
                        try Array(row.stream.utf8).withUnsafeBytes { stream in
                            try ReplicationError.restoring(at: row.position) {
                                () throws(LedgerError) -> NewEvent in
                                let view = try EventView(
                                    position: row.position, bytes: record, type: type, platform: platform,
                                    stream: stream)
                                return NewEvent(
                                    id: view.id, stream: row.stream, type: row.type, platform: row.platform,
                                    occurredAt: view.occurredAt, recordedAt: view.recordedAt,
                                    schemaVersion: view.schemaVersion, payload: Array(view.payload),
                                    expectedVersion: view.streamVersion == 0
                                        ? .noStream : .exact(view.streamVersion - 1))
                            }
                        }
                    }
                }
            }
            events.append(event)
        }
        // A row the ledger refuses (a stream version, an id or a name edited in the replica) is the
        // replica's fault, not the caller's input: an integrity failure, like a differing record.
        let results: [AppendResult]
        do {
            results = try log.appendBlocking(events)
        } catch {
            switch error {
            case .wrongExpectedVersion, .idempotencyConflict, .invalidEvent, .corruptRecord:
                throw ReplicationError.incomplete(
                    "the replica's events at positions \(range.lowerBound)...\(range.upperBound) cannot be "
                        + "restored: \(error)")
            default: throw ReplicationError.ledger(error)
            }
        }
        for (offset, result) in results.enumerated()
        where result.wasDuplicate || result.position != range.lowerBound + UInt64(offset) {
            throw ReplicationError.incomplete(
                "the replica's event at position \(range.lowerBound + UInt64(offset)) repeats the id of the one at "
                    + "position \(result.position)")
        }
        var index = 0
        try log.forEach(from: range.lowerBound) { view in
            guard index < rows.count else { return false }
            let row = rows[index]
            guard row.record.readableBytesView.elementsEqual(view.bytes) else {
                throw ReplicationError.divergence(
                    position: row.position, replica: row.record.readableBytesView.prefix(32).hexString,
                    ledger: view.hash.hexString)
            }
            index += 1
            return true
        }
    }
}

extension ReplicationError {
    /// Runs the reading of a replica's row: a record that does not parse is the replica's fault.
    static func restoring<T>(at position: UInt64, _ body: () throws(LedgerError) -> T)
        throws(ReplicationError)
        -> T
    {
        do {
            return try body()
        } catch {
            throw .incomplete("the replica's record at position \(position) cannot be read: \(error)")
        }
    }
}
