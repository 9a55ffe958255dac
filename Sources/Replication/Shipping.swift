import ContactTracing
import Foundation
import Ledger
import NIOCore
import PostgresNIO
import SwiftProtobuf

/// What one round of shipping did.
public struct ShipReport: Sendable, Equatable {
    /// Events written into the replica.
    public var shipped: UInt64
    /// Events sent that the replica already held with the same hash (skipped).
    public var alreadyThere: UInt64
    /// The ledger's head when the round started: the replica holds every position up to it.
    public var head: UInt64

    /// Creates a report.
    public init(shipped: UInt64 = 0, alreadyThere: UInt64 = 0, head: UInt64 = 0) {
        self.shipped = shipped
        self.alreadyThere = alreadyThere
        self.head = head
    }
}

extension Replica {
    /// Ships every committed event of `log` that the replica does not hold, in position order, in
    /// batches of `batch` events, each in one PostgreSQL transaction.
    ///
    /// The replica is first checked against the ledger: an event it holds beyond the ledger's head
    /// (``ReplicationError/replicaAhead(replica:ledger:)``) or with another hash than the ledger's
    /// (``ReplicationError/divergence(position:replica:ledger:)``) stops everything, and nothing is
    /// overwritten. A replica with a gap is shipped again from the first position: rows already
    /// there are compared by hash and skipped.
    /// - Parameters:
    ///   - shippedUpTo: the last position this process knows the replica holds (a follower's
    ///     previous round): the replica is then not asked for its extent again.
    ///   - stop: asked between batches; when it says so, the round ends after the batch in flight.
    ///   - progress: called after each batch with the last position shipped and the head.
    public func ship(
        _ log: EventLog, batch: Int = 5_000, shippedUpTo: UInt64? = nil, stop: () -> Bool = { false },
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) async throws -> ShipReport {
        let info = try ReplicationError.wrapping { () throws(LedgerError) in try log.info() }
        guard let ledgerID = info.ledgerID else {
            throw ReplicationError.ledger(.notALedger(path: log.path, reason: "it has no ledger id"))
        }
        let head = info.head.position
        if let shippedUpTo, shippedUpTo <= head {
            return try await ship(
                log, ledgerID: ledgerID, from: shippedUpTo + 1, head: head, batch: batch, stop: stop,
                progress: progress)
        }
        try await register(
            ledgerID, formatVersion: info.formatVersion,
            createdAt: info.createdAt ?? Timestamp(millisecondsSince1970: 0))
        let (events, last) = try await extent(of: ledgerID)
        // Another follower of this ledger may have shipped events appended since `head` was read:
        // ahead only of the ledger as it is now.
        if last > head {
            let now = try ReplicationError.wrapping { () throws(LedgerError) in try log.head().position }
            if last > now { throw ReplicationError.replicaAhead(replica: last, ledger: now) }
        }
        var next: UInt64 = 1
        if events == last, last > 0 {
            // Gapless: its last event must be the ledger's, then only what follows is new.
            let theirs = try await hash(of: ledgerID, at: last)
            let ours = try ReplicationError.wrapping { () throws(LedgerError) in try log.event(at: last)?.hash
            }
            if let theirs, let ours, theirs != ours {
                throw ReplicationError.divergence(
                    position: last, replica: theirs.hexString, ledger: ours.hexString)
            }
            next = last + 1
        }
        return try await ship(
            log, ledgerID: ledgerID, from: next, head: head, batch: batch, stop: stop, progress: progress,
            replicaLast: last)
    }

    /// Ships positions `first...head` in batches; the report's `head` is the last position shipped.
    /// `replicaLast`: the last position the replica held when the round started (rows are expected
    /// up to it).
    private func ship(
        _ log: EventLog, ledgerID: UUID, from first: UInt64, head: UInt64, batch: Int, stop: () -> Bool,
        progress: (UInt64, UInt64) -> Void, replicaLast: UInt64 = 0
    ) async throws -> ShipReport {
        var report = ShipReport(shipped: 0, alreadyThere: 0, head: first - 1)
        // The next batch's rows are read (from the ledger, the payloads' JSON encoded) while
        // PostgreSQL takes this one: the two sides overlap on two cores.
        func prepare(_ start: UInt64) -> Task<ShipBatch, any Error> {
            Task.detached {
                try ShipBatch(
                    log, ledgerID: ledgerID, range: start...min(head, start + UInt64(max(1, batch)) - 1))
            }
        }
        var next = first
        var preparing = next <= head ? prepare(next) : nil
        defer { preparing?.cancel() }
        while let task = preparing, !stop() {
            let rows = try await task.value
            let end = rows.last
            preparing = end < head ? prepare(end + 1) : nil
            let written = try await insert(rows, of: ledgerID, overlapping: next <= replicaLast)
            report.shipped += written
            report.alreadyThere += (end - next + 1) - written
            report.head = end
            progress(end, head)
            next = end + 1
        }
        return report
    }
}

/// One batch of events to ship, column by column: each column is bound as one array parameter of
/// the statement that writes the batch (``Replica/insert(_:of:overlapping:)``), so a batch of
/// thousands of events is one statement of the extended protocol. The parameters are encoded when
/// the batch is read (while PostgreSQL takes the previous one), not when it is sent.
struct ShipBatch: Sendable {
    /// The most bytes of records and payloads one batch holds: a batch of large payloads ends
    /// early.
    static let maximumBytes = 64 << 20

    /// How many events it holds.
    let count: Int
    /// The last position it holds.
    let last: UInt64
    /// `$1` the ledger id, then one array a column: position, id, stream, stream version, type,
    /// platform, occurredAt and recordedAt (milliseconds since 1970), schema version, hash, record,
    /// payload (its JSON, or the empty text for NULL: no JSON text is empty).
    let bindings: PostgresBindings

    /// The events at `range` of `log`, in position order: the payload as the JSON of
    /// docs/events.md (`data`, upcast to the current schema), or NULL for a type this build does not
    /// know. Stops early, after at least one event, once it holds ``maximumBytes``.
    init(_ log: EventLog, ledgerID: UUID, range: ClosedRange<UInt64>) throws {
        let capacity = min(range.count, 100_000)
        var positions = [Int64]()
        var ids = [UUID]()
        var streams = [String]()
        var streamVersions = [Int64]()
        var types = [String]()
        var platforms = [String]()
        var occurredAt = [Int64]()
        var recordedAt = [Int64]()
        var schemaVersions = [Int32]()
        var hashes = [ByteBuffer]()
        var records = [ByteBuffer]()
        var payloads = [String]()
        positions.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
        streams.reserveCapacity(capacity)
        streamVersions.reserveCapacity(capacity)
        types.reserveCapacity(capacity)
        platforms.reserveCapacity(capacity)
        occurredAt.reserveCapacity(capacity)
        recordedAt.reserveCapacity(capacity)
        schemaVersions.reserveCapacity(capacity)
        hashes.reserveCapacity(capacity)
        records.reserveCapacity(capacity)
        payloads.reserveCapacity(capacity)
        var bytes = 0
        var expected = range.lowerBound
        try log.forEach(from: range.lowerBound) { view in
            guard view.position <= range.upperBound, bytes < Self.maximumBytes else { return false }
            guard view.position == expected else {
                throw ReplicationError.ledger(
                    .corruptRecord(position: expected, reason: "position missing while shipping"))
            }
            expected += 1
            // jsonb refuses the NUL character (\u0000), which free text may hold: such a payload is
            // NULL in the replica, like one this build cannot decode; its record is shipped whole.
            let json = try? UpcasterRegistry.standard.decode(
                type: view.type, schemaVersion: view.schemaVersion, payload: view.payload
            ).jsonString()
            let payload = json.flatMap { Self.holdsNUL($0) ? nil : $0 } ?? ""
            positions.append(Int64(view.position))
            ids.append(view.id)
            streams.append(view.stream)
            streamVersions.append(Int64(view.streamVersion))
            types.append(view.type)
            platforms.append(view.platform)
            occurredAt.append(view.occurredAt.millisecondsSince1970)
            recordedAt.append(view.recordedAt.millisecondsSince1970)
            schemaVersions.append(Int32(view.schemaVersion))
            hashes.append(ByteBuffer(bytes: view.hash))
            records.append(ByteBuffer(bytes: view.bytes))
            payloads.append(payload)
            bytes += view.bytes.count + payload.utf8.count
            return true
        }
        guard expected > range.lowerBound else {
            throw ReplicationError.ledger(
                .corruptRecord(position: expected, reason: "position missing while shipping"))
        }
        count = positions.count
        last = expected - 1
        var bindings = PostgresBindings(capacity: 13)
        bindings.append(ledgerID)
        bindings.append(positions)
        bindings.append(ids)
        bindings.append(streams)
        bindings.append(streamVersions)
        bindings.append(types)
        bindings.append(platforms)
        bindings.append(occurredAt)
        bindings.append(recordedAt)
        bindings.append(schemaVersions)
        bindings.append(hashes)
        bindings.append(records)
        bindings.append(payloads)
        self.bindings = bindings
    }

    /// Whether JSON text holds the escape of NUL (`\u0000`), scanning its bytes.
    static func holdsNUL(_ json: String) -> Bool {
        let bytes = Array(json.utf8)
        guard bytes.count >= 6 else { return false }
        let pattern = Array("\\u0000".utf8)
        var index = 0
        while index <= bytes.count - 6 {
            if bytes[index] == 0x5C {
                if bytes[index + 1] == 0x5C {
                    index += 2  // an escaped backslash: what follows is text
                    continue
                }
                if bytes[index..<index + 6].elementsEqual(pattern) { return true }
            }
            index += 1
        }
        return false
    }
}

extension ReplicationError {
    /// Runs a ledger call, its error wrapped.
    static func wrapping<T>(_ body: () throws(LedgerError) -> T) throws(ReplicationError) -> T {
        do {
            return try body()
        } catch {
            throw .ledger(error)
        }
    }
}
