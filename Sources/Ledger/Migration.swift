import CLMDB
import Crypto
import Foundation
import LMDB

#if canImport(Glibc)
    import Glibc
#endif

/// What a ledger migrated from an older format records of its source (`meta/migrated_from`,
/// docs/format.md): enough for ``EventLog/verify(source:progress:)`` to prove that it holds exactly
/// the source's history.
public struct MigrationSource: Sendable, Equatable {
    /// The source ledger's id.
    public var ledgerID: UUID
    /// The number of events migrated (the source's head position).
    public var events: UInt64
    /// The source's head hash (in the source's format).
    public var headHash: [UInt8]

    /// The 56 bytes stored: the id, the count as u64 little-endian, the head hash.
    var bytes: [UInt8] {
        withUnsafeBytes(of: ledgerID.uuid) { Array($0) } + littleEndianBytes(events) + headHash
    }

    init(ledgerID: UUID, events: UInt64, headHash: [UInt8]) {
        self.ledgerID = ledgerID
        self.events = events
        self.headHash = headHash
    }

    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 56 else { return nil }
        ledgerID = UUID(uuid: bytes.loadUnaligned(as: uuid_t.self))
        events = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        headHash = Array(bytes[24..<56])
    }
}

/// A ledger of format version 1 (the layout docs/format.md describes under "Version 1"), opened
/// read-only to be migrated or compared with its migration. Each record's hash is checked as it is
/// read.
public final class FormatVersion1Ledger {
    /// The directory of the ledger.
    public let path: String
    /// Its id, creation time, and head.
    public let ledgerID: UUID
    /// The number of events (its head position).
    public let events: UInt64
    /// The hash of its last event.
    public let headHash: [UInt8]
    let env: Environment
    let eventsDB: MDB_dbi

    private static func open(_ path: String) throws(LedgerError) -> Environment {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw .io(path: path, reason: "no such ledger (no data.mdb in it)")
        }
        do {
            return try Environment(
                path: path, mapSize: 0, maxDatabases: 8, maxReaders: 126, readOnly: true,
                noLock: !EventLog.lockFileIsUsable(path))
        } catch {
            throw .lmdb(error)
        }
    }

    /// Opens the version 1 ledger at `path`.
    /// - Throws: ``LedgerError/unsupportedFormat(found:supported:)`` when it is of another version.
    public init(path: String) throws(LedgerError) {
        let env = try Self.open(path)
        (ledgerID, events, headHash, eventsDB) = try env.read(keepHandles: true) {
            (txn: LedgerTransaction) throws(LedgerError) in
            let meta = try EventLog.existingDatabase(env, "meta", in: txn, path: path)
            guard let found = try EventLog.readFormatVersion(txn, meta: meta), found != .max else {
                throw LedgerError.notALedger(path: path, reason: "it has no format version")
            }
            guard found == 1 else { throw LedgerError.unsupportedFormat(found: found, supported: 1) }
            guard let id = try EventLog.metaValue(txn, meta, LedgerFormat.MetaKey.ledgerID), id.count == 16
            else {
                throw LedgerError.notALedger(path: path, reason: "it has no ledger id")
            }
            let events = try EventLog.existingDatabase(env, "events", in: txn, path: path)
            let head = try txn.withCursor(events, "events") {
                (cursor) throws(LedgerError) -> (UInt64, [UInt8]) in
                guard let last = try cursor.move(MDB_LAST) else { return (0, LedgerFormat.genesisHash) }
                guard last.key.count == 8, last.value.count >= 77 else {
                    throw LedgerError.corruptRecord(
                        position: 0, reason: "the last events entry is not a record")
                }
                return (readBigEndianUInt64(last.key), Array(last.value[0..<32]))
            }
            return (
                UUID(uuid: id.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }), head.0, head.1, events
            )
        }
        self.path = path
        self.env = env
    }

    /// One event of a version 1 record, copied.
    public struct Event: Sendable, Equatable {
        /// Its position.
        public var position: UInt64
        /// Its id.
        public var id: UUID
        /// Its stream.
        public var stream: String
        /// Its type.
        public var type: String
        /// Its platform.
        public var platform: String
        /// Its version within its stream.
        public var streamVersion: UInt64
        /// When the fact happened.
        public var occurredAt: Timestamp
        /// When it was recorded.
        public var recordedAt: Timestamp
        /// Its payload's schema version.
        public var schemaVersion: UInt16
        /// Its payload (protobuf).
        public var payload: [UInt8]
        /// The record's stored hash.
        public var hash: [UInt8]
    }

    /// Decodes a version 1 record (docs/format.md, "Version 1").
    static func decode(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws(LedgerError) -> Event {
        guard bytes.count >= 77 else {
            throw .corruptRecord(
                position: position, reason: "record of \(bytes.count) bytes is shorter than its header")
        }
        let t = Int(bytes[74])
        let p = Int(bytes[75])
        let s = Int(bytes[76])
        guard 77 + t + p + s <= bytes.count else {
            throw .corruptRecord(position: position, reason: "name lengths run past the end of the record")
        }
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        func text(_ start: Int, _ count: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<start + count]), as: UTF8.self)
        }
        return Event(
            position: position, id: UUID(uuid: bytes.loadUnaligned(fromByteOffset: 32, as: uuid_t.self)),
            stream: text(77 + t + p, s), type: text(77, t), platform: text(77 + t, p),
            streamVersion: load(48, UInt64.self),
            occurredAt: Timestamp(millisecondsSince1970: load(56, Int64.self)),
            recordedAt: Timestamp(millisecondsSince1970: load(64, Int64.self)),
            schemaVersion: load(72, UInt16.self),
            payload: Array(bytes[(77 + t + p + s)...]), hash: Array(bytes[0..<32]))
    }

    /// Reads every event in order, checking positions and the hash chain, and hands them to `body`
    /// in chunks of `chunk` (with the position reached).
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` where the source does not hold;
    ///   whatever `body` throws.
    public func forEachChunk(
        of chunk: Int = 10_000, _ body: ([Event]) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        try env.read { (txn: LedgerTransaction) throws(LedgerError) in
            try txn.withCursor(eventsDB, "events") { (cursor) throws(LedgerError) in
                var previous = LedgerFormat.genesisHash
                var expected: UInt64 = 1
                var pending = [Event]()
                pending.reserveCapacity(chunk)
                var entry = try cursor.move(MDB_FIRST)
                while let (key, value) = entry {
                    guard key.count == 8, readBigEndianUInt64(key) == expected else {
                        throw LedgerError.corruptRecord(
                            position: expected, reason: "position missing in the version 1 ledger")
                    }
                    let event = try Self.decode(position: expected, value)
                    let digest = chainHash(
                        previous: previous, body: UnsafeRawBufferPointer(rebasing: value[32...]))
                    guard digest == event.hash else {
                        throw LedgerError.corruptRecord(
                            position: expected,
                            reason:
                                "hash chain of the version 1 ledger broken: stored hash does not match the record"
                        )
                    }
                    previous = digest
                    pending.append(event)
                    if pending.count == chunk {
                        try body(pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                    expected += 1
                    entry = try cursor.move(MDB_NEXT)
                }
                if !pending.isEmpty { try body(pending) }
                guard expected - 1 == events, previous == headHash else {
                    throw LedgerError.corruptRecord(
                        position: expected, reason: "the version 1 ledger changed while read")
                }
            }
        }
    }

    /// The stored hash at `position`, or `nil` when there is no event there (for checking the
    /// signed statements of the source).
    public func hash(at position: UInt64) throws(LedgerError) -> [UInt8]? {
        try env.read { (txn: LedgerTransaction) throws(LedgerError) in
            try withBigEndianKey(position) { (key) throws(LedgerError) in
                try txn.get(eventsDB, key, "events").flatMap { $0.count >= 32 ? Array($0[0..<32]) : nil }
            }
        }
    }

    /// Checks a signed statement against this ledger, as ``EventLog/check(_:trustedKey:)`` does.
    public func check(_ statement: SignedCheckpoint, trustedKey: [UInt8]?) throws(LedgerError) -> String? {
        try statement.problem(
            trustedKey: trustedKey, ledgerID: ledgerID, headPosition: events, hashAt: hash(at:))
    }
}

extension SignedCheckpoint {
    /// What does not hold in this statement for the ledger `ledgerID` whose hash at a position
    /// `hashAt` gives; `nil` when it holds.
    func problem(
        trustedKey: [UInt8]?, ledgerID id: UUID, headPosition: UInt64,
        hashAt: (UInt64) throws(LedgerError) -> [UInt8]?
    ) throws(LedgerError) -> String? {
        let label = "checkpoint of \(time) (position \(position))"
        guard signatureHolds else { return "\(label): the signature does not hold" }
        if let trustedKey, trustedKey != publicKey {
            return "\(label): signed by key \(keyFingerprint), not by this ledger's key "
                + CheckpointKey.fingerprint(of: trustedKey)
        }
        guard ledgerID == id else {
            return "\(label): it is for ledger \(ledgerID.uuidString.lowercased()), "
                + "this is \(id.uuidString.lowercased())"
        }
        guard position > 0 else { return nil }
        guard let hash = try hashAt(position) else {
            return "\(label): the log no longer holds position \(position) "
                + "(its head is now position \(headPosition)); events were removed"
        }
        guard hash == headHash else {
            return "\(label): the hash at position \(position) is \(hash.hexString), "
                + "the signed head is \(headHash.hexString); the history was rewritten"
        }
        return nil
    }
}

extension EventLog {
    /// The ledger's type and platform names by number, as a table of its own: for reading records
    /// copied out of this ledger (``EventView/init(position:bytes:names:stream:)``).
    public func nameTable() throws(LedgerError) -> NameTable {
        let table = NameTable()
        try reading { (txn) throws(LedgerError) in
            try txn.withCursor(dbs.names, "names") { (cursor) throws(LedgerError) in
                var entry = try cursor.move(MDB_FIRST)
                while let (key, value) = entry {
                    if key.count == 4, value.count >= 2, let kind = NameKind(rawValue: value[0]) {
                        table.insert(
                            String(decoding: value[1...], as: UTF8.self), kind: kind,
                            number: UInt32(bigEndian: key.loadUnaligned(as: UInt32.self)))
                    }
                    entry = try cursor.move(MDB_NEXT)
                }
            }
        }
        return table
    }

    /// What this ledger records of the ledger it was migrated from, or `nil`.
    public func migrationSource() throws(LedgerError) -> MigrationSource? {
        try reading { (txn) throws(LedgerError) in
            try Self.metaValue(txn, dbs.meta, LedgerFormat.MetaKey.migratedFrom).map {
                bytes throws(LedgerError) in
                guard let source = bytes.withUnsafeBytes({ MigrationSource(bytes: $0) }) else {
                    throw LedgerError.corruptRecord(position: 0, reason: "meta/migrated_from is not 56 bytes")
                }
                return source
            }
        }
    }

    /// Writes a version 2 ledger at `target` holding the history of the version 1 ledger at `source`:
    /// every event with its id, stream, type, platform, stream version, times, schema version and
    /// payload, in the same order, and `meta/migrated_from` (the source's id, event count and head
    /// hash). The source is only read, and its hash chain checked on the way.
    ///
    /// The ledger is written into `TARGET.partial-PID-N` beside `target` and renamed into place only
    /// when complete and synced: a migration that fails or is killed leaves nothing at `target`.
    /// - Parameter progress: called after each chunk with the events written so far and the total.
    /// - Throws: ``LedgerError/io(path:reason:)`` when `target` exists and is not empty,
    ///   ``LedgerError/unsupportedFormat(found:supported:)`` when `source` is not of version 1,
    ///   ``LedgerError/corruptRecord(position:reason:)`` where the source does not hold.
    public static func migrate(
        from source: String, to target: String, progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws(LedgerError) -> MigrationSource {
        let target = siblingPath(ofLedger: target, suffix: "")
        let replaceEmpty = try NewDirectory.isEmptyDirectory(target) { _ in
            "already exists; a migration writes a new ledger"
        }
        let old = try FormatVersion1Ledger(path: source)
        let partial = NewDirectory.partialPath(for: target)
        do throws(LedgerError) {
            let log = try EventLog(path: partial)
            let appender = BulkAppender(log: log, window: 2)
            var written: UInt64 = 0
            try old.forEachChunk { (events) throws(LedgerError) in
                try appender.submit(
                    events.map {
                        NewEvent(
                            id: $0.id, stream: $0.stream, type: $0.type, platform: $0.platform,
                            occurredAt: $0.occurredAt,
                            recordedAt: $0.recordedAt, schemaVersion: $0.schemaVersion, payload: $0.payload,
                            expectedVersion: $0.streamVersion == 0 ? .noStream : .exact($0.streamVersion - 1))
                    })
                written += UInt64(events.count)
                progress(written, old.events)
            }
            let (appended, duplicates) = try appender.finish()
            guard appended == Int(old.events), duplicates == 0 else {
                throw LedgerError.corruptRecord(
                    position: 0,
                    reason:
                        "the version 1 ledger repeats event ids: \(duplicates) of its \(old.events) events")
            }
            let record = MigrationSource(ledgerID: old.ledgerID, events: old.events, headHash: old.headHash)
            try log.env.write { (txn: LedgerTransaction) throws(LedgerError) in
                try putMeta(txn, log.dbs.meta, LedgerFormat.MetaKey.migratedFrom, record.bytes)
            }
            log.close()
            try lmdb { () throws(LMDBError) in
                try NewDirectory.moveIntoPlace(partial, at: target, replacingEmpty: replaceEmpty)
            }
            return record
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Proves that this ledger holds exactly the history of the version 1 ledger at `source` it was
    /// migrated from: `meta/migrated_from` names the source's id, event count and head hash; the
    /// source's hash chain holds; and event by event, id, stream, type, platform, stream version,
    /// times, schema version and payload are the same. Events appended after the migration are not
    /// compared.
    /// - Returns: `nil` when it holds, else the first difference (position and field).
    public func verify(source: String, progress: (UInt64) -> Void = { _ in }) throws(LedgerError)
        -> VerificationReport.Failure?
    {
        typealias Failure = VerificationReport.Failure
        guard let record = try migrationSource() else {
            return Failure(
                position: 0, reason: "this ledger was not migrated from another (no meta/migrated_from)")
        }
        let old = try FormatVersion1Ledger(path: source)
        guard old.ledgerID == record.ledgerID else {
            return Failure(
                position: 0,
                reason:
                    "\(source) is ledger \(old.ledgerID.uuidString.lowercased()); this one was migrated from "
                    + record.ledgerID.uuidString.lowercased())
        }
        guard old.events == record.events, old.headHash == record.headHash else {
            return Failure(
                position: 0,
                reason: "\(source) now holds \(old.events) events with head hash \(old.headHash.hexString); "
                    + "\(record.events) with head hash \(record.headHash.hexString) were migrated")
        }
        var failure: Failure?
        var compared: UInt64 = 0
        try old.forEachChunk { (events) throws(LedgerError) in
            guard failure == nil else { return }
            let first = events[0].position
            var index = 0
            try reading { (txn) throws(LedgerError) in
                try scan(from: first, in: txn) { view in
                    let want = events[index]
                    func differs(_ field: String) -> Bool {
                        failure = Failure(
                            position: want.position,
                            reason: "\(field) differs from the version 1 ledger's event")
                        return false
                    }
                    guard view.position == want.position else { return differs("position") }
                    guard view.id == want.id else { return differs("id") }
                    guard view.streamBytes.elementsEqual(want.stream.utf8) else { return differs("stream") }
                    guard view.typeBytes.elementsEqual(want.type.utf8) else { return differs("type") }
                    guard view.platformBytes.elementsEqual(want.platform.utf8) else {
                        return differs("platform")
                    }
                    guard view.streamVersion == want.streamVersion else { return differs("streamVersion") }
                    guard view.occurredAt == want.occurredAt else { return differs("occurredAt") }
                    guard view.recordedAt == want.recordedAt else { return differs("recordedAt") }
                    guard view.schemaVersion == want.schemaVersion else { return differs("schemaVersion") }
                    guard view.payload.elementsEqual(want.payload) else { return differs("payload") }
                    index += 1
                    return index < events.count
                }
            }
            if failure == nil && index < events.count {
                failure = Failure(position: events[index].position, reason: "missing from this ledger")
            }
            compared += UInt64(index)
            progress(compared)
        }
        return failure
    }
}
