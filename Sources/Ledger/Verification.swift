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
    /// Where this ledger was copied from, when it is a read-only copy (`meta/read_only_copy`).
    public var readOnlyCopy: String? = nil
}

extension EventLog {
    /// Facts about the ledger.
    public func info() throws(LedgerError) -> LedgerInfo {
        try reading { (txn) throws(LedgerError) in
            func meta(_ key: String) throws(LedgerError) -> [UInt8]? {
                try Self.metaValue(txn, dbs.meta, key)
            }
            let version = try Self.readFormatVersion(txn, meta: dbs.meta).flatMap { $0 == .max ? nil : $0 }
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
                fileSize: (attributes?[.size] as? NSNumber)?.intValue ?? 0,
                readOnlyCopy: try meta(LedgerFormat.MetaKey.readOnlyCopy).map {
                    String(decoding: $0, as: UTF8.self)
                })
        }
    }

    /// Walks the hash chain and every index, and reports the first position that does not hold.
    ///
    /// Checks that positions are gapless from 1, that each record parses and names a type, a platform
    /// and a stream the ledger has, that each stored hash is SHA-256(previous hash || record body),
    /// that `event_ids` maps each id to its position, that each stream's versions are gapless and
    /// `stream_events` lists its positions in version order, that `streams`, `stream_names`, `names`
    /// and `name_numbers` agree, and that the indices hold no entry beyond those (docs/format.md,
    /// "Invariants").
    /// - Parameter progress: called now and then with the number of events checked.
    public func verify(progress: (UInt64) -> Void = { _ in }) throws(LedgerError) -> VerificationReport {
        try reading { (txn) throws(LedgerError) in
            var verifier = Verifier(log: self, txn: txn)
            var failure: VerificationReport.Failure?
            try txn.withCursor(dbs.events, "events") { (cursor) throws(LedgerError) in
                var entry = try cursor.move(MDB_FIRST)
                while let (key, value) = entry {
                    failure = try verifier.check(key: key, record: value)
                    guard failure == nil else { return }
                    if verifier.checked % 65_536 == 0 { progress(verifier.checked) }
                    entry = try cursor.move(MDB_NEXT)
                }
            }
            if failure == nil { failure = try verifier.checkIndexSizes() }
            if failure == nil { failure = try verifier.checkStreamEvents() }
            if failure == nil { failure = try verifier.checkStreams() }
            if failure == nil { failure = try verifier.checkNames() }
            progress(verifier.checked)
            return VerificationReport(
                eventsChecked: verifier.checked, headHash: verifier.previous, failure: failure)
        }
    }

    /// Whether `target` is the ledger's directory or lies inside it (symbolic links resolved, the
    /// parts that do not exist yet taken as written).
    public func contains(path target: String) -> Bool {
        func resolved(_ path: String) -> String {
            var url = URL(fileURLWithPath: path).standardizedFileURL
            var rest = [String]()
            while !FileManager.default.fileExists(atPath: url.path) && url.path != "/" {
                rest.insert(url.lastPathComponent, at: 0)
                url.deleteLastPathComponent()
            }
            return ([url.resolvingSymlinksInPath().path] + rest).joined(separator: "/")
        }
        let ledger = resolved(path)
        let candidate = resolved(target)
        return candidate == ledger || candidate.hasPrefix(ledger.hasSuffix("/") ? ledger : ledger + "/")
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
        guard !directory.isEmpty else { throw .io(path: "", reason: "no backup directory given") }
        guard !contains(path: directory) else {
            throw .io(
                path: directory,
                reason: "is inside the ledger \(path) itself; a backup goes into a directory outside it")
        }
        let target = EventLog.siblingPath(ofLedger: directory, suffix: "")
        let replaceEmpty = try NewDirectory.isEmptyDirectory(target) { entries in
            entries.isEmpty
                ? "is a file; a backup is written into a new directory"
                : entries.contains("data.mdb")
                    ? "already holds a ledger; choose a new directory"
                    : "is not empty; choose a new directory"
        }
        let partial = NewDirectory.partialPath(for: target)
        do {
            try fm.createDirectory(
                atPath: partial, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: target, reason: "cannot create the backup directory: \(systemErrorText(error))")
        }
        do throws(LedgerError) {
            try lmdb { () throws(LMDBError) in try env.copy(toNewFile: partial + "/data.mdb") }
            let head = try EventLog(path: partial, options: .init(readOnly: true)).head()
            try lmdb { () throws(LMDBError) in
                try NewDirectory.moveIntoPlace(partial, at: target, replacingEmpty: replaceEmpty)
            }
            return head
        } catch {
            try? fm.removeItem(atPath: partial)
            throw error
        }
    }
}

/// A directory written under a temporary name beside its target and renamed into place only when
/// complete, so that a failure or a kill leaves nothing at the target: backups, migrations and
/// restores.
package enum NewDirectory {
    /// Whether `target` is an empty directory that the new one may replace (`false`: nothing is
    /// there). Anything else there is refused with the reason `refusal` gives for its entries (none
    /// for a file).
    package static func isEmptyDirectory(_ target: String, refusal: ([String]) -> String) throws(LedgerError)
        -> Bool
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else { return false }
        let entries =
            isDirectory.boolValue
            ? (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? ["?"] : []
        guard isDirectory.boolValue, entries.isEmpty else {
            throw .io(path: target, reason: refusal(entries))
        }
        return true
    }

    /// The temporary name beside `target`: `TARGET.partial-PID-N`.
    package static func partialPath(for target: String) -> String {
        EventLog.siblingPath(
            ofLedger: target, suffix: ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Renames the complete `partial` to `target`, durably: LMDB's lock file left by reading it is
    /// removed (what is moved is `data.mdb` alone), its entries are synced, an empty `target` is
    /// replaced, and the rename is synced in the parent directory.
    package static func moveIntoPlace(_ partial: String, at target: String, replacingEmpty: Bool)
        throws(LMDBError)
    {
        try? FileManager.default.removeItem(atPath: partial + "/lock.mdb")
        try syncDirectory(partial)
        if replacingEmpty && rmdir(target) != 0 {
            throw LMDBError(code: errno, operation: "rmdir(\(target))")
        }
        guard rename(partial, target) == 0 else {
            throw LMDBError(code: errno, operation: "rename(\(partial), \(target))")
        }
        try syncDirectory((target as NSString).deletingLastPathComponent)
    }
}

/// Makes a directory's entries (a new file, a rename) durable.
package func syncDirectory(_ path: String) throws(LMDBError) {
    let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(path))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync(\(path))") }
}

/// The checks of ``EventLog/verify(progress:)``, one method each: the first runs over the events in
/// key order, the others over each index once the events are checked.
private struct Verifier {
    typealias Failure = VerificationReport.Failure

    let log: EventLog
    let txn: LedgerTransaction
    let names: NameSource
    /// The hash of the last event checked (the genesis hash before the first).
    var previous = LedgerFormat.genesisHash
    /// The events checked so far.
    var checked: UInt64 = 0
    /// Events seen per stream number.
    var streamCounts = [UInt64: UInt64]()

    init(log: EventLog, txn: LedgerTransaction) {
        self.log = log
        self.txn = txn
        // A table of its own: names cached by this process must not stand in for what is on disk.
        names = NameSource(
            table: NameTable(), txn: txn, names: log.dbs.names, streamNames: log.dbs.streamNames, caches: true
        )
    }

    /// Checks one `events` entry: its key, its position, its record, its names, its hash, its id
    /// and its stream version.
    mutating func check(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer) throws(LedgerError)
        -> Failure?
    {
        let expected = checked + 1
        guard key.count == 8 else {
            return Failure(position: expected, reason: "an events key is \(key.count) bytes long")
        }
        let position = readBigEndianUInt64(key)
        guard position == expected else {
            return Failure(position: expected, reason: "position missing (next stored is \(position))")
        }
        let view: EventView
        do {
            view = try EventView(position: position, bytes: record, names: names)
        } catch {
            return Failure(position: position, reason: "record does not parse: \(error)")
        }
        let numbers = view.numbers
        let stream = view.streamBytes
        if stream.isEmpty {
            return Failure(
                position: position, reason: "stream number \(numbers.stream) is missing from stream_names")
        }
        let digest = chainHash(
            previous: previous, body: view.body, names: (view.typeBytes, view.platformBytes, stream))
        guard view.hash.elementsEqual(digest) else {
            return Failure(
                position: position,
                reason: "hash chain broken: stored hash does not match the record and the names it refers to")
        }
        let indexed = try txn.get(log.dbs.eventIDs, view.idBytes, "event_ids").map { readBigEndianUInt64($0) }
        guard indexed == position else {
            return Failure(
                position: position,
                reason: "event_ids maps the event's id to \(indexed.map(String.init) ?? "nothing")")
        }
        let version = streamCounts[numbers.stream, default: 0]
        guard view.streamVersion == version else {
            return Failure(
                position: position,
                reason: "stream '\(view.stream)' version \(view.streamVersion) where \(version) was due")
        }
        streamCounts[numbers.stream] = version + 1
        previous = digest
        checked = position
        return nil
    }

    /// The indices hold exactly one entry per event, and `streams` and `stream_names` one per stream.
    func checkIndexSizes() throws(LedgerError) -> Failure? {
        let ids = try txn.entries(log.dbs.eventIDs, "event_ids")
        let streamEvents = try txn.entries(log.dbs.streamEvents, "stream_events")
        let streams = try txn.entries(log.dbs.streams, "streams")
        let streamNames = try txn.entries(log.dbs.streamNames, "stream_names")
        if UInt64(ids) != checked {
            return Failure(position: 0, reason: "event_ids holds \(ids) entries for \(checked) events")
        }
        if UInt64(streamEvents) != checked {
            return Failure(
                position: 0, reason: "stream_events holds \(streamEvents) entries for \(checked) events")
        }
        if streams != streamCounts.count {
            return Failure(
                position: 0, reason: "streams holds \(streams) entries for \(streamCounts.count) streams")
        }
        if streamNames != streamCounts.count {
            return Failure(
                position: 0,
                reason: "stream_names holds \(streamNames) entries for \(streamCounts.count) streams")
        }
        return nil
    }

    /// Each `stream_events` entry is the position of the event of its stream whose version is the
    /// entry's rank among the stream's duplicates. With one entry per event (checked before) and
    /// gapless versions, every event is then listed once, in version order.
    func checkStreamEvents() throws(LedgerError) -> Failure? {
        try txn.withCursor(log.dbs.streamEvents, "stream_events") {
            (cursor) throws(LedgerError) -> Failure? in
            var entry = try cursor.move(MDB_FIRST)
            var stream: UInt64 = 0
            var rank: UInt64 = 0
            while let (key, value) = entry {
                guard key.count == 8, value.count == 8 else {
                    return Failure(position: 0, reason: "a stream_events entry is not 8 + 8 bytes")
                }
                let number = readBigEndianUInt64(key)
                rank = number == stream ? rank + 1 : 0
                stream = number
                let position = readBigEndianUInt64(value)
                // Only the record's numbers are compared: its names were checked with its hash.
                let record = try withBigEndianKey(position) { (k) throws(LedgerError) in
                    try txn.get(log.dbs.events, k, "events")
                }
                guard let record, case .success(let fields) = RecordFields.decode(record) else {
                    return Failure(
                        position: position,
                        reason: "stream_events lists position \(position) for stream number \(number), "
                            + "and there is no event there")
                }
                guard fields.streamNumber == number, fields.streamVersion == rank else {
                    return Failure(
                        position: position,
                        reason:
                            "stream_events lists this event as version \(rank) of stream number \(number); "
                            + "it is version \(fields.streamVersion) of stream number \(fields.streamNumber)")
                }
                entry = try cursor.move(MDB_NEXT)
            }
            return nil
        }
    }

    /// Each `streams` entry names its number in `stream_names` and a stream that has events (its
    /// count is its duplicates in `stream_events`, checked with the stream index);
    /// `stream_names` numbers the streams 1, 2, 3, ... without a gap (the writer numbers a new
    /// stream one more than the count).
    func checkStreams() throws(LedgerError) -> Failure? {
        let gap = try txn.withCursor(log.dbs.streamNames, "stream_names") {
            (cursor) throws(LedgerError) -> Failure? in
            var entry = try cursor.move(MDB_FIRST)
            var expected: UInt64 = 1
            while let (key, _) = entry {
                guard key.count == 8, readBigEndianUInt64(key) == expected else {
                    return Failure(position: 0, reason: "stream_names has no stream number \(expected)")
                }
                expected += 1
                entry = try cursor.move(MDB_NEXT)
            }
            return nil
        }
        if let gap { return gap }
        return try txn.withCursor(log.dbs.streams, "streams") { (cursor) throws(LedgerError) -> Failure? in
            var entry = try cursor.move(MDB_FIRST)
            while let (key, value) = entry {
                let name = String(decoding: key, as: UTF8.self)
                guard value.count == 8 else {
                    return Failure(
                        position: 0, reason: "stream '\(name)' has a \(value.count)-byte streams entry")
                }
                let number = readBigEndianUInt64(value)
                let named = try withBigEndianKey(number) { (k) throws(LedgerError) in
                    try txn.get(log.dbs.streamNames, k, "stream_names")
                }
                guard let named, named.elementsEqual(key) else {
                    return Failure(
                        position: 0, reason: "streams numbers '\(name)' \(number), and stream_names disagrees"
                    )
                }
                guard streamCounts[number, default: 0] > 0 else {
                    return Failure(
                        position: 0, reason: "streams names '\(name)', which has no event in the log")
                }
                entry = try cursor.move(MDB_NEXT)
            }
            return nil
        }
    }

    /// `names` numbers 1, 2, 3, ... without a gap, and `name_numbers` is exactly its inverse.
    func checkNames() throws(LedgerError) -> Failure? {
        let inverse = try txn.entries(log.dbs.nameNumbers, "name_numbers")
        return try txn.withCursor(log.dbs.names, "names") { (cursor) throws(LedgerError) -> Failure? in
            var entry = try cursor.move(MDB_FIRST)
            var expected: UInt32 = 1
            while let (key, value) = entry {
                guard key.count == 4, UInt32(bigEndian: key.loadUnaligned(as: UInt32.self)) == expected else {
                    return Failure(position: 0, reason: "names has no number \(expected)")
                }
                guard value.count >= 2, NameKind(rawValue: value[0]) != nil else {
                    return Failure(position: 0, reason: "names entry \(expected) is not a kind and a name")
                }
                let number = try txn.get(log.dbs.nameNumbers, value, "name_numbers")
                guard let number, number.elementsEqual(key) else {
                    return Failure(
                        position: 0,
                        reason: "name_numbers does not map '\(String(decoding: value[1...], as: UTF8.self))' "
                            + "to \(expected)")
                }
                expected += 1
                entry = try cursor.move(MDB_NEXT)
            }
            guard inverse == Int(expected - 1) else {
                return Failure(
                    position: 0, reason: "name_numbers holds \(inverse) entries for \(expected - 1) names")
            }
            return nil
        }
    }
}
