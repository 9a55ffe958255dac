import ContactTracing
import Foundation
import Ledger
import NIOCore
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
        let id = Self.escaped(ledgerID.uuidString.lowercased())
        // The next batch's text is written (reading the ledger, encoding the payloads' JSON) while
        // PostgreSQL takes this one: the two sides overlap on two cores.
        func prepare(_ start: UInt64) -> Task<(ByteBuffer, UInt64), any Error> {
            Task.detached {
                try Self.copyText(
                    log, ledgerID: id, range: start...min(head, start + UInt64(max(1, batch)) - 1))
            }
        }
        var next = first
        var preparing = next <= head ? prepare(next) : nil
        defer { preparing?.cancel() }
        while let task = preparing, !stop() {
            let (text, end) = try await task.value
            preparing = end < head ? prepare(end + 1) : nil
            let written = try await copy(text, of: ledgerID, in: next...end, overlapping: next <= replicaLast)
            report.shipped += written
            report.alreadyThere += (end - next + 1) - written
            report.head = end
            progress(end, head)
            next = end + 1
        }
        return report
    }

    /// The most COPY text one batch holds: a batch of large payloads ends early.
    static let maximumBatchBytes = 64 << 20

    /// The COPY text of the events at `range` of `log`: one line per event, the columns of
    /// ``columns``, the payload as the JSON of docs/events.md (`data`, upcast to the current schema),
    /// or NULL for a type this build does not know. Stops early, after at least one event, once the
    /// text holds ``maximumBatchBytes``; returns the text and the last position it holds.
    static func copyText(_ log: EventLog, ledgerID: String, range: ClosedRange<UInt64>) throws -> (
        ByteBuffer, UInt64
    ) {
        var text = ByteBuffer()
        text.reserveCapacity(min(range.count * 400, maximumBatchBytes))
        var expected = range.lowerBound
        try log.forEach(from: range.lowerBound) { view in
            guard view.position <= range.upperBound, text.readableBytes < maximumBatchBytes else {
                return false
            }
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
            let payload = json.flatMap { Self.holdsNUL($0) ? nil : escaped($0) } ?? "\\N"
            text.writeString(ledgerID)
            text.writeString("\t\(view.position)\t\(view.id.uuidString.lowercased())\t")
            text.writeString(escaped(view.stream))
            text.writeString("\t\(view.streamVersion)\t")
            text.writeString(escaped(view.type))
            text.writeString("\t")
            text.writeString(escaped(view.platform))
            text.writeString("\t\(view.occurredAt)\t\(view.recordedAt)\t\(view.schemaVersion)\t")
            writeBytea(view.hash, into: &text)
            text.writeString("\t")
            writeBytea(view.bytes, into: &text)
            text.writeString("\t")
            text.writeString(payload)
            text.writeInteger(UInt8(ascii: "\n"))
            return true
        }
        guard expected > range.lowerBound else {
            throw ReplicationError.ledger(
                .corruptRecord(position: expected, reason: "position missing while shipping"))
        }
        return (text, expected - 1)
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

    /// `text` for COPY's text format: backslash, tab, newline and carriage return escaped.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// bytea's hex form (`\x` and two digits a byte), its backslash escaped for COPY.
    static func writeBytea(_ bytes: UnsafeRawBufferPointer, into text: inout ByteBuffer) {
        text.writeStaticString("\\\\x")
        text.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count * 2) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = hexDigits[Int(byte >> 4)]
                out[2 * index + 1] = hexDigits[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
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
