import CLMDB
import Foundation
import LMDB

#if canImport(Glibc)
    import Glibc
#endif

/// What a verify pass found.
public struct VerificationReport: Sendable, Equatable {
    /// A place where the ledger does not hold.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        /// The first position that does not hold (0 when the fault is in an index as a whole).
        public var position: UInt64
        /// What does not hold there.
        public var reason: String

        /// `position N: reason`.
        public var description: String { "position \(position): \(reason)" }
    }

    /// How many events were checked.
    public var eventsChecked: UInt64
    /// The head hash recomputed from the events.
    public var headHash: [UInt8]
    /// The first failure, or `nil` when the whole ledger holds.
    public var failure: Failure?

    /// `true` when nothing failed.
    public var isValid: Bool { failure == nil }
}

/// Facts about a ledger, for `ledgerctl info`.
public struct LedgerInfo: Sendable {
    /// The on-disk format version.
    public var formatVersion: UInt32
    /// The ledger's own id, chosen at creation.
    public var ledgerID: UUID?
    /// When the ledger was created.
    public var createdAt: Timestamp?
    /// The head of the log.
    public var head: LogHead
    /// The number of streams.
    public var streams: Int
    /// The size of the memory map.
    public var mapSize: Int
    /// The size of `data.mdb` on disk.
    public var fileSize: Int
}

extension EventLog {
    /// Facts about the ledger.
    public func info() throws(LedgerError) -> LedgerInfo {
        try run {
            try env.read { txn in
                func meta(_ key: String) throws -> [UInt8]? {
                    let k = Array(key.utf8)
                    return try k.withUnsafeBytes {
                        try txn.get(dbs.meta, $0, "meta/\(key)").map { Array($0) }
                    }
                }
                let version = try meta(LedgerFormat.MetaKey.formatVersion).flatMap { bytes in
                    bytes.count == 4
                        ? bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
                        : nil
                }
                let id = try meta(LedgerFormat.MetaKey.ledgerID).flatMap { bytes -> UUID? in
                    guard bytes.count == 16 else { return nil }
                    return UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) })
                }
                let created = try meta(LedgerFormat.MetaKey.createdAt).flatMap { bytes -> Timestamp? in
                    guard bytes.count == 8 else { return nil }
                    return Timestamp(
                        millisecondsSince1970: bytes.withUnsafeBytes {
                            Int64(littleEndian: $0.loadUnaligned(as: Int64.self))
                        })
                }
                let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
                return LedgerInfo(
                    formatVersion: version ?? 0, ledgerID: id, createdAt: created, head: try readHead(txn),
                    streams: try txn.entries(dbs.streams, "streams"), mapSize: env.mapSize,
                    fileSize: (attributes?[.size] as? NSNumber)?.intValue ?? 0)
            }
        }
    }

    /// Walks the hash chain and every index, and reports the first position that does not hold.
    ///
    /// Checks that positions are gapless from 1, that each record parses, that each stored hash is
    /// SHA-256(previous hash || record body), that `event_ids` maps each id to its position, that
    /// `stream_events` maps each (stream, version) to its position with gapless versions, and that the
    /// indices hold no entry beyond those.
    /// - Parameter progress: called now and then with the number of events checked.
    public func verify(progress: (UInt64) -> Void = { _ in }) throws(LedgerError) -> VerificationReport {
        try run {
            try env.read { txn in
                var previous = LedgerFormat.genesisHash
                var expected: UInt64 = 1
                var failure: VerificationReport.Failure?
                var streamCounts = [String: UInt64]()
                var streamNumbers = [String: UInt64]()
                try txn.withCursor(dbs.events, "events") { cursor in
                    var entry = try cursor.move(MDB_FIRST)
                    while let (key, value) = entry {
                        guard key.count == 8 else {
                            failure = .init(
                                position: expected, reason: "an events key is \(key.count) bytes long")
                            return
                        }
                        let position = readBigEndianUInt64(key)
                        guard position == expected else {
                            failure = .init(
                                position: expected, reason: "position missing (next stored is \(position))")
                            return
                        }
                        let view: EventView
                        do {
                            view = try EventView(position: position, bytes: value)
                        } catch {
                            failure = .init(position: position, reason: "record does not parse: \(error)")
                            return
                        }
                        let digest = chainHash(previous: previous, body: view.body)
                        guard view.hash.elementsEqual(digest) else {
                            failure = .init(
                                position: position,
                                reason: "hash chain broken: stored hash does not match the record")
                            return
                        }
                        let indexed = try txn.get(dbs.eventIDs, view.idBytes, "event_ids").map {
                            readBigEndianUInt64($0)
                        }
                        guard indexed == position else {
                            failure = .init(
                                position: position,
                                reason:
                                    "event_ids maps the event's id to \(indexed.map(String.init) ?? "nothing")"
                            )
                            return
                        }
                        let stream = view.stream
                        let number: UInt64
                        if let known = streamNumbers[stream] {
                            number = known
                        } else {
                            guard
                                let entry = try Array(stream.utf8).withUnsafeBytes({
                                    try txn.get(dbs.streams, $0, "streams")
                                }),
                                entry.count == 16
                            else {
                                failure = .init(
                                    position: position, reason: "stream '\(stream)' is missing from streams")
                                return
                            }
                            number = readBigEndianUInt64(entry)
                            streamNumbers[stream] = number
                        }
                        let version = streamCounts[stream, default: 0]
                        guard view.streamVersion == version else {
                            failure = .init(
                                position: position,
                                reason:
                                    "stream '\(stream)' version \(view.streamVersion) where \(version) was due"
                            )
                            return
                        }
                        let key = (number.bigEndian, version.bigEndian)
                        let mapped = try withUnsafeBytes(of: key) {
                            try txn.get(dbs.streamEvents, $0, "stream_events")
                        }
                        .map { readBigEndianUInt64($0) }
                        guard mapped == position else {
                            failure = .init(
                                position: position,
                                reason:
                                    "stream_events maps '\(stream)' version \(version) to \(mapped.map(String.init) ?? "nothing")"
                            )
                            return
                        }
                        streamCounts[stream] = version + 1
                        previous = digest
                        if position % 65_536 == 0 { progress(position) }
                        expected += 1
                        entry = try cursor.move(MDB_NEXT)
                    }
                }
                let checked = expected - 1
                if failure == nil {
                    let ids = try txn.entries(dbs.eventIDs, "event_ids")
                    let streamEvents = try txn.entries(dbs.streamEvents, "stream_events")
                    let streams = try txn.entries(dbs.streams, "streams")
                    if UInt64(ids) != checked {
                        failure = .init(
                            position: 0, reason: "event_ids holds \(ids) entries for \(checked) events")
                    } else if UInt64(streamEvents) != checked {
                        failure = .init(
                            position: 0,
                            reason: "stream_events holds \(streamEvents) entries for \(checked) events")
                    } else if streams != streamCounts.count {
                        failure = .init(
                            position: 0,
                            reason: "streams holds \(streams) entries for \(streamCounts.count) streams")
                    } else {
                        for (stream, count) in streamCounts {
                            let stored = try Array(stream.utf8).withUnsafeBytes {
                                try txn.get(dbs.streams, $0, "streams")
                            }
                            if let stored, stored.count == 16, readBigEndianUInt64(stored, at: 8) != count {
                                failure = .init(
                                    position: 0,
                                    reason:
                                        "streams counts \(readBigEndianUInt64(stored, at: 8)) events in '\(stream)', the log \(count)"
                                )
                                break
                            }
                        }
                    }
                }
                progress(checked)
                return VerificationReport(eventsChecked: checked, headHash: previous, failure: failure)
            }
        }
    }

    /// Writes a compacted, consistent copy of the ledger into `directory`, which must not exist or be
    /// empty, and returns the head of the copy.
    ///
    /// Taken from one read snapshot, so appends and map growth may go on meanwhile. The copy is written
    /// into a temporary directory beside `directory` (`DIR.partial-PID-N`), synced, and renamed into
    /// place only when complete: a backup that fails (a full disk, a kill) leaves nothing at
    /// `directory`, and removes its temporary directory when it can.
    @discardableResult
    public func backup(to directory: String) throws(LedgerError) -> LogHead {
        let fm = FileManager.default
        let target = EventLog.siblingPath(ofLedger: directory, suffix: "")
        var isDirectory: ObjCBool = false
        var replaceEmpty = false
        if fm.fileExists(atPath: target, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .io(path: target, reason: "is a file; a backup is written into a new directory")
            }
            let entries = (try? fm.contentsOfDirectory(atPath: target)) ?? ["?"]
            guard entries.isEmpty else {
                throw .io(
                    path: target,
                    reason: entries.contains("data.mdb")
                        ? "already holds a ledger; choose a new directory"
                        : "is not empty; choose a new directory")
            }
            replaceEmpty = true
        }
        let partial = EventLog.siblingPath(
            ofLedger: target, suffix: ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(
                atPath: partial, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: target, reason: "cannot create the backup directory: \(systemErrorText(error))")
        }
        do {
            let file = partial + "/data.mdb"
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(file))") }
            do {
                try env.copy(toFile: fd, compact: true)
                guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync(\(file))") }
            } catch {
                Glibc.close(fd)
                throw error
            }
            Glibc.close(fd)
            try syncDirectory(partial)
            let head = try EventLog(path: partial, options: .init(readOnly: true)).head()
            // The copy is read once above, which leaves a lock file; the backup is data.mdb alone.
            try? fm.removeItem(atPath: partial + "/lock.mdb")
            if replaceEmpty && rmdir(target) != 0 {
                throw LMDBError(code: errno, operation: "rmdir(\(target))")
            }
            guard rename(partial, target) == 0 else {
                throw LMDBError(code: errno, operation: "rename(\(partial), \(target))")
            }
            try syncDirectory((target as NSString).deletingLastPathComponent)
            return head
        } catch {
            try? fm.removeItem(atPath: partial)
            throw LedgerError.wrap(error)
        }
    }
}

/// Makes a directory's entries (a new file, a rename) durable.
func syncDirectory(_ path: String) throws(LMDBError) {
    let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(path))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync(\(path))") }
}
