import CLMDB
import Foundation
import LMDB

#if canImport(Glibc)
    import Glibc
#endif

/// The append-only event log of a tracing ledger, stored in an LMDB environment (a directory).
///
/// Appends go through a group committer: concurrent appenders in one process share write
/// transactions, and each returns only once its own events are durable. Several processes may append
/// to the same ledger; LMDB's writer lock keeps positions gapless and unique.
///
/// Reads run in LMDB read transactions and never block writers.
public final class EventLog: Sendable {
    /// How a ledger is opened.
    public struct Options: Sendable {
        /// The initial map size; the map grows by itself when full, so this only tunes start-up.
        public var initialMapSize: Int
        /// Open without writing anything (no format initialisation, no appends).
        public var readOnly: Bool
        /// The number of reader slots (concurrent read transactions over all processes).
        public var maxReaders: UInt32
        /// The id and creation time of a ledger this open creates, when they are not new: a ledger
        /// restored from a replica keeps the identity of the one it restores. Ignored when the
        /// ledger exists.
        public var identity: (ledgerID: UUID, createdAt: Timestamp)?

        /// Creates options.
        public init(
            initialMapSize: Int = 64 << 20, readOnly: Bool = false, maxReaders: UInt32 = 254,
            identity: (ledgerID: UUID, createdAt: Timestamp)? = nil
        ) {
            self.initialMapSize = initialMapSize
            self.readOnly = readOnly
            self.maxReaders = maxReaders
            self.identity = identity
        }
    }

    /// The directory of the ledger.
    public let path: String
    let env: Environment
    let dbs: Databases
    let committer: GroupCommitter?
    /// Where this ledger was copied from when it is a read-only copy (`meta/read_only_copy`, read when
    /// the ledger was opened): appends are refused, and tools should write nothing beside it either.
    public let readOnlyCopy: String?
    /// The type and platform names committed so far, by number (they never change once committed).
    let names = NameTable()

    struct Databases: Sendable {
        let meta: MDB_dbi
        let events: MDB_dbi
        let eventIDs: MDB_dbi
        let streams: MDB_dbi
        let streamEvents: MDB_dbi
        let names: MDB_dbi
        let nameNumbers: MDB_dbi
        let streamNames: MDB_dbi
    }

    /// The flags of each named database (docs/format.md, "Named databases").
    static let streamEventsFlags = MDB_DUPSORT | MDB_DUPFIXED

    /// Opens the ledger at `path`, creating it when it does not exist (unless read-only).
    ///
    /// Stale reader slots left by killed processes are cleared. The stored format version is checked.
    /// - Throws: ``LedgerError/unsupportedFormat(found:supported:)`` for a ledger of another format
    ///   version, ``LedgerError/notALedger(path:reason:)`` for an LMDB environment that is not a ledger,
    ///   ``LedgerError/lmdb(_:)`` and ``LedgerError/io(path:reason:)`` for failures below.
    public init(path: String, options: Options = Options()) throws(LedgerError) {
        self.path = path
        var isDirectory: ObjCBool = false
        var created = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .notALedger(path: path, reason: "it is a file, and a ledger is a directory")
            }
        } else {
            guard !options.readOnly else { throw .io(path: path, reason: "no such ledger") }
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .io(path: path, reason: "cannot create the ledger directory: \(systemErrorText(error))")
            }
            created = true
        }
        // A ledger this call created and could not set up (a full disk, say) is removed again.
        func undoCreation() {
            if created { try? FileManager.default.removeItem(atPath: path) }
        }
        isLockless = options.readOnly && !Self.lockFileIsUsable(path)
        if isLockless {
            do {
                try Self.checkNoProcessHasOpen(path)
            } catch {
                undoCreation()
                throw error
            }
        }
        do {
            env = try Environment(
                path: path, mapSize: options.initialMapSize, maxDatabases: 12, maxReaders: options.maxReaders,
                readOnly: options.readOnly, noLock: isLockless)
        } catch {
            undoCreation()
            if error.code == LMDBError.invalid || error.code == LMDBError.versionMismatch {
                throw .notALedger(path: path, reason: error.message)
            }
            if error.code == EACCES {
                throw .io(
                    path: path,
                    reason: options.readOnly
                        ? "\(error.description); a reader needs read access to data.mdb and read-write "
                            + "access to lock.mdb (docs/cli.md, 'Read-only access')"
                        : "\(error.description); this command writes to the ledger and needs write access "
                            + "to data.mdb and lock.mdb (docs/cli.md, 'Read-only access')")
            }
            throw .lmdb(error)
        }
        do {
            dbs =
                try options.readOnly
                ? Self.openExisting(env, path: path)
                : Self.openOrCreate(env, path: path, identity: options.identity)
        } catch {
            undoCreation()
            throw error
        }
        do {
            readOnlyCopy = try env.read { [dbs] (txn: LedgerTransaction) throws(LedgerError) in
                try Self.metaValue(txn, dbs.meta, LedgerFormat.MetaKey.readOnlyCopy)
            }.map { String(decoding: $0, as: UTF8.self) }
        } catch {
            undoCreation()
            throw error
        }
        committer = options.readOnly ? nil : GroupCommitter()
        committer?.start(log: self)
    }

    /// Whether this ledger was opened without LMDB's lock file (`MDB_NOLOCK`): a read-only open by a
    /// user who cannot write `lock.mdb`, allowed only when no process had the ledger open.
    public let isLockless: Bool

    /// Whether a read-only open can use LMDB's lock file: it exists and is readable and writable, or it
    /// does not exist and the directory is writable (LMDB then creates it).
    static func lockFileIsUsable(_ path: String) -> Bool {
        let lock = path + "/lock.mdb"
        if access(lock, F_OK) == 0 { return access(lock, R_OK | W_OK) == 0 }
        return access(path, W_OK) == 0
    }

    /// Refuses a lock-free open while any process has the ledger open.
    ///
    /// Every process that opens an LMDB environment holds a shared `fcntl` lock on the first byte of
    /// `lock.mdb` until it closes it; asking for the conflicting exclusive lock (`F_GETLK`) tells whether
    /// such a process exists. Without a lock file no LMDB process can have the ledger open.
    static func checkNoProcessHasOpen(_ path: String) throws(LedgerError) {
        let lock = path + "/lock.mdb"
        guard access(lock, F_OK) == 0 else { return }
        let fd = open(lock, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .io(
                path: lock,
                reason: "cannot be opened (\(String(cString: strerror(errno)))), so this reader cannot tell "
                    + "whether a writer has the ledger open; a reader needs read-write access to it "
                    + "(docs/cli.md, 'Read-only access')")
        }
        defer { Glibc.close(fd) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        probe.l_start = 0
        probe.l_len = 1
        guard fcntl(fd, F_GETLK, &probe) == 0 else {
            throw .io(path: lock, reason: "cannot test its lock: \(String(cString: strerror(errno)))")
        }
        if probe.l_type != Int16(F_UNLCK) {
            throw .io(
                path: lock,
                reason: "process \(probe.l_pid) has the ledger open, and a reader must then write this lock "
                    + "file, which you may not: ask for read-write access to lock.mdb (group permission, "
                    + "docs/cli.md, 'Read-only access'), or read a backup")
        }
    }

    deinit {
        committer?.stop()
    }

    /// Reader slots left by dead processes that opening this ledger cleared (`mdb_reader_check`).
    /// (When no other process has the ledger open, LMDB resets the reader table on open instead.)
    public var staleReadersCleared: Int { Int(env.staleReadersCleared) }

    /// Clears the reader slots of processes that died holding a snapshot, so that the pages they
    /// pinned can be reused; returns how many were cleared. Opening a ledger does it too.
    public func clearStaleReaders() throws(LedgerError) -> Int {
        do {
            return Int(try env.clearStaleReaders())
        } catch {
            throw .lmdb(error)
        }
    }

    /// The path of a file kept beside a ledger directory (`LEDGER.secret`, `LEDGER.keys`, ...):
    /// the directory's path without trailing slashes, followed by `suffix`.
    public static func siblingPath(ofLedger ledger: String, suffix: String) -> String {
        var path = ledger
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path + suffix
    }

    /// Drops this process's mappings of the log's pages it has read (they stay in the page cache):
    /// a long scan calls it between chunks so that its resident size stays that of a chunk.
    package func releaseMappedPages() { env.releaseMappedPages() }

    /// Stops the writer; later appends fail with ``LedgerError/closed``. Reads still work.
    public func close() {
        committer?.stop()
    }

    private static func openOrCreate(
        _ env: Environment, path: String, identity: (ledgerID: UUID, createdAt: Timestamp)?
    ) throws(LedgerError) -> Databases {
        try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            let meta = try env.openDatabase(LedgerFormat.Database.meta, flags: 0, create: true, in: txn)
            let events = try env.openDatabase(LedgerFormat.Database.events, flags: 0, create: true, in: txn)
            let version = try readFormatVersion(txn, meta: meta)
            if let version {
                guard version == LedgerFormat.version else {
                    throw LedgerError.unsupportedFormat(found: version, supported: LedgerFormat.version)
                }
            } else {
                guard try txn.entries(events, "events") == 0 else {
                    throw LedgerError.notALedger(path: path, reason: "it holds events but no format version")
                }
                try putMeta(
                    txn, meta, LedgerFormat.MetaKey.formatVersion, littleEndianBytes(LedgerFormat.version))
                let id = identity?.ledgerID ?? UUID()
                try putMeta(
                    txn, meta, LedgerFormat.MetaKey.ledgerID, withUnsafeBytes(of: id.uuid) { Array($0) })
                try putMeta(
                    txn, meta, LedgerFormat.MetaKey.createdAt,
                    littleEndianBytes((identity?.createdAt ?? Timestamp.now()).millisecondsSince1970))
            }
            func open(_ name: String, flags: Int32 = 0) throws(LedgerError) -> MDB_dbi {
                try env.openDatabase(name, flags: flags, create: true, in: txn)
            }
            return Databases(
                meta: meta, events: events, eventIDs: try open(LedgerFormat.Database.eventIDs),
                streams: try open(LedgerFormat.Database.streams),
                streamEvents: try open(LedgerFormat.Database.streamEvents, flags: streamEventsFlags),
                names: try open(LedgerFormat.Database.names),
                nameNumbers: try open(LedgerFormat.Database.nameNumbers),
                streamNames: try open(LedgerFormat.Database.streamNames))
        }
    }

    private static func openExisting(_ env: Environment, path: String) throws(LedgerError) -> Databases {
        try env.read(keepHandles: true) { (txn: LedgerTransaction) throws(LedgerError) in
            func open(_ name: String, flags: Int32 = 0) throws(LedgerError) -> MDB_dbi {
                try existingDatabase(env, name, flags: flags, in: txn, path: path)
            }
            let meta = try open(LedgerFormat.Database.meta)
            guard let version = try readFormatVersion(txn, meta: meta) else {
                throw LedgerError.notALedger(path: path, reason: "it has no format version")
            }
            guard version == LedgerFormat.version else {
                throw LedgerError.unsupportedFormat(found: version, supported: LedgerFormat.version)
            }
            return Databases(
                meta: meta, events: try open(LedgerFormat.Database.events),
                eventIDs: try open(LedgerFormat.Database.eventIDs),
                streams: try open(LedgerFormat.Database.streams),
                streamEvents: try open(LedgerFormat.Database.streamEvents, flags: streamEventsFlags),
                names: try open(LedgerFormat.Database.names),
                nameNumbers: try open(LedgerFormat.Database.nameNumbers),
                streamNames: try open(LedgerFormat.Database.streamNames))
        }
    }

    /// Opens the named database `name` of a ledger that must have it: a missing one means the
    /// directory is not a ledger (of this format).
    static func existingDatabase(
        _ env: Environment, _ name: String, flags: Int32 = 0, in txn: LedgerTransaction, path: String
    ) throws(LedgerError) -> MDB_dbi {
        let result = Result { () throws(LedgerError) -> MDB_dbi in
            try env.openDatabase(name, flags: flags, create: false, in: txn)
        }
        if case .failure(let error) = result, error.lmdbCode == LMDBError.notFound {
            throw LedgerError.notALedger(path: path, reason: "it has no '\(name)' database")
        }
        return try result.get()
    }

    /// The `format_version` in `meta`: `nil` when there is none, `UInt32.max` when it is not 4 bytes.
    static func readFormatVersion(_ txn: LedgerTransaction, meta: MDB_dbi) throws(LedgerError) -> UInt32? {
        try metaValue(txn, meta, LedgerFormat.MetaKey.formatVersion).map { value in
            guard value.count == 4 else { return UInt32.max }
            return value.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        }
    }

    /// Marks this ledger as a read-only copy of another (`meta/read_only_copy`, docs/format.md):
    /// every later open refuses appends with ``LedgerError/readOnlyCopy(path:source:)``, naming
    /// `source` (where it was copied from). Reads, queries and `verify` work as before. It takes
    /// effect at the next open: mark a ledger nobody else has open (a restore marks its own new
    /// ledger before renaming it into place).
    public func markReadOnlyCopy(source: String) throws(LedgerError) {
        guard committer != nil else { throw .readOnly }
        try env.write { [dbs] (txn: LedgerTransaction) throws(LedgerError) in
            try Self.putMeta(txn, dbs.meta, LedgerFormat.MetaKey.readOnlyCopy, Array(source.utf8))
        }
    }

    /// The value stored under `key` in `meta`, copied.
    static func metaValue(_ txn: LedgerTransaction, _ meta: MDB_dbi, _ key: String) throws(LedgerError)
        -> [UInt8]?
    {
        try Array(key.utf8).withBytes { (k) throws(LedgerError) in
            try txn.get(meta, k, "meta/\(key)").map { Array($0) }
        }
    }

    static func putMeta(_ txn: LedgerTransaction, _ meta: MDB_dbi, _ key: String, _ value: [UInt8])
        throws(LedgerError)
    {
        let k = Array(key.utf8)
        try k.withBytes { (k) throws(LedgerError) in
            try value.withBytes { (v) throws(LedgerError) in try txn.put(meta, k, v, "meta/\(key)") }
        }
    }

    // MARK: - Appending

    /// Appends a batch of events, all or nothing, and returns once they are durable.
    ///
    /// Events whose id is already in the log with the same content are not written again: their
    /// result gives the original position and `wasDuplicate`. Concurrent calls share commits.
    /// - Returns: one result per event, in order.
    /// - Throws: ``LedgerError/wrongExpectedVersion(stream:expected:actual:)``,
    ///   ``LedgerError/idempotencyConflict(id:position:field:)``, ``LedgerError/invalidEvent(index:field:reason:)``;
    ///   in every such case nothing of the batch was written.
    public func append(_ events: [NewEvent]) async throws(LedgerError) -> [AppendResult] {
        if let readOnlyCopy { throw .readOnlyCopy(path: path, source: readOnlyCopy) }
        guard let committer else { throw .readOnly }
        guard !env.isReadingOnThisThread else { throw .appendInsideRead }
        let events = Self.normalized(events)
        try Self.validate(events)
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<[AppendResult], LedgerError>, Never>) in
            committer.submit(events) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Appends a batch like ``append(_:)``, blocking the calling thread until it is durable.
    ///
    /// For command-line tools and bulk loaders; async code should call ``append(_:)``.
    public func appendBlocking(_ events: [NewEvent]) throws(LedgerError) -> [AppendResult] {
        if let readOnlyCopy { throw .readOnlyCopy(path: path, source: readOnlyCopy) }
        guard let committer else { throw .readOnly }
        guard !env.isReadingOnThisThread else { throw .appendInsideRead }
        let events = Self.normalized(events)
        try Self.validate(events)
        if let outcome = committer.commitInline(events, log: self) { return try outcome.get() }
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        committer.submit(events) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// The number of write transactions committed by this process's group committer.
    public var commitCount: Int { committer?.commitCount ?? 0 }

    /// The events with their names (stream, type, platform) in NFC (``LedgerFormat/normalize(_:)``).
    static func normalized(_ events: [NewEvent]) -> [NewEvent] {
        guard
            events.contains(where: {
                !($0.stream.utf8.allSatisfy { $0 < 0x80 } && $0.platform.utf8.allSatisfy { $0 < 0x80 }
                    && $0.type.utf8.allSatisfy { $0 < 0x80 })
            })
        else { return events }
        return events.map { event in
            var event = event
            event.stream = LedgerFormat.normalize(event.stream)
            event.type = LedgerFormat.normalize(event.type)
            event.platform = LedgerFormat.normalize(event.platform)
            return event
        }
    }

    package static func validate(_ events: [NewEvent]) throws(LedgerError) {
        for (index, event) in events.enumerated() {
            func name(_ value: String, _ field: String) throws(LedgerError) {
                // Measured as stored: names are kept in NFC (docs/format.md).
                let count = LedgerFormat.normalize(value).utf8.count
                guard count > 0 else {
                    throw .invalidEvent(index: index, field: field, reason: "must not be empty")
                }
                guard count <= LedgerFormat.maxNameLength else {
                    throw .invalidEvent(
                        index: index, field: field,
                        reason: "is \(count) bytes long; at most \(LedgerFormat.maxNameLength) are allowed")
                }
                guard !value.utf8.contains(0) else {
                    throw .invalidEvent(
                        index: index, field: field, reason: "must not contain a NUL character")
                }
            }
            try name(event.stream, "stream")
            try name(event.type, "type")
            try name(event.platform, "platform")
            guard event.payload.count <= LedgerFormat.maxPayloadSize else {
                throw .invalidEvent(
                    index: index, field: "payload",
                    reason:
                        "is \(event.payload.count) bytes; at most \(LedgerFormat.maxPayloadSize) are allowed")
            }
            for (field, time) in [("occurredAt", event.occurredAt), ("recordedAt", event.recordedAt)] {
                if let time, time < .earliest || time > .latest {
                    throw .invalidEvent(
                        index: index, field: field,
                        reason:
                            "\(time.millisecondsSince1970) ms is outside \(Timestamp.earliest)...\(Timestamp.latest)"
                    )
                }
            }
        }
    }

    // MARK: - The write path (called on the writer thread)

    /// The head of the log and the counters a write transaction carries between requests.
    struct WriteState {
        var position: UInt64
        var hash: [UInt8]
        var nextStreamNumber: UInt64
        var now: Timestamp
        /// The next number of `names`, and the names numbered in this transaction (restored with
        /// the rest when a nested transaction is refused).
        var nextNameNumber: UInt32
        var newNames = [NameKey: UInt32]()
        /// The greatest id in `event_ids`: a greater id is appended at the B-tree's right edge.
        var lastID: [UInt8]?
    }

    struct NameKey: Hashable {
        var kind: NameKind
        var name: String
    }

    func loadWriteState(_ txn: LedgerTransaction) throws(LedgerError) -> WriteState {
        let head = try readHead(txn)
        let streams = try txn.entries(dbs.streams, "streams")
        let names = try txn.entries(dbs.names, "names")
        let lastID = try txn.withCursor(dbs.eventIDs, "event_ids") { (cursor) throws(LedgerError) in
            try cursor.move(MDB_LAST).map { Array($0.key) }
        }
        return WriteState(
            position: head.position, hash: head.hash, nextStreamNumber: UInt64(streams) + 1, now: .now(),
            nextNameNumber: UInt32(names + 1), lastID: lastID)
    }

    /// The number of type or platform `name`, numbering it in `txn` when it is new
    /// (docs/format.md, `names` and `name_numbers`).
    func nameNumber(_ name: String, kind: NameKind, in txn: LedgerTransaction, state: inout WriteState)
        throws(LedgerError) -> UInt32
    {
        let key = NameKey(kind: kind, name: name)
        if let number = state.newNames[key] { return number }
        if let number = names.number(name, kind: kind) { return number }
        let stored = [kind.rawValue] + Array(name.utf8)
        let found = try stored.withBytes { (k) throws(LedgerError) in
            try txn.get(dbs.nameNumbers, k, "name_numbers")
        }
        if let found {
            guard found.count == 4 else {
                throw LedgerError.corruptRecord(
                    position: 0, reason: "name_numbers holds a \(found.count)-byte number for '\(name)'")
            }
            let number = UInt32(bigEndian: found.loadUnaligned(as: UInt32.self))
            // Not numbered in this transaction, so committed: safe to keep for good.
            names.insert(name, kind: kind, number: number)
            return number
        }
        let number = state.nextNameNumber
        try stored.withBytes { (k) throws(LedgerError) in
            try withUnsafeBytes(of: number.bigEndian) { (n) throws(LedgerError) in
                try txn.put(dbs.nameNumbers, k, n, flags: MDB_NOOVERWRITE, "name_numbers")
                try txn.put(dbs.names, n, k, flags: MDB_APPEND, "names")
            }
        }
        state.nextNameNumber += 1
        state.newNames[key] = number
        return number
    }

    /// The type and platform numbers one batch has used, searched linearly (a string comparison is
    /// cheaper than hashing for the few names a ledger has); bounded, so that a batch of many
    /// distinct names falls back to ``nameNumber(_:kind:in:state:)``.
    private struct SmallNameCache {
        struct List {
            var names = [String]()
            var numbers = [UInt32]()
            func number(of name: String) -> UInt32? {
                let count = name.utf8.count
                for index in names.indices where names[index].utf8.count == count && names[index] == name {
                    return numbers[index]
                }
                return nil
            }
            mutating func insert(_ name: String, _ number: UInt32) {
                guard names.count < 32 else { return }
                names.append(name)
                numbers.append(number)
            }
        }
        var types = List()
        var platforms = List()
    }

    /// ``nameNumber(_:kind:in:state:)`` through the batch's short list of numbers.
    private func nameNumber(
        _ name: String, kind: NameKind, cache: inout SmallNameCache.List, in txn: LedgerTransaction,
        state: inout WriteState
    ) throws(LedgerError) -> UInt32 {
        if let number = cache.number(of: name) { return number }
        let number = try nameNumber(name, kind: kind, in: txn, state: &state)
        cache.insert(name, number)
        return number
    }

    private struct StreamState {
        var number: UInt64
        var count: UInt64
    }

    /// Whether ``apply(_:in:state:)`` would write `events` whole, without refusing them: no id is
    /// already in the log or repeated in the batch (a duplicate or an idempotency conflict), and
    /// every expected version holds against `txn`'s own state (which includes the batches applied
    /// before in the same transaction). Such a batch can share its transaction with others without a
    /// nested transaction of its own. It reads, never writes.
    func appliesWhole(_ events: [NewEvent], in txn: LedgerTransaction) throws(LedgerError) -> Bool {
        var ids = Set<UUID>()
        ids.reserveCapacity(events.count)
        var counts = [String: UInt64]()
        for event in events {
            guard ids.insert(event.id).inserted else { return false }
            let known = try withUnsafeBytes(of: event.id.uuid) { (idKey) throws(LedgerError) in
                try txn.get(dbs.eventIDs, idKey, "event_ids") != nil
            }
            if known { return false }
            let count: UInt64
            if let cached = counts[event.stream] {
                count = cached
            } else {
                count = try loadStream(event.stream, in: txn)?.count ?? 0
            }
            guard event.expectedVersion.holds(for: count == 0 ? nil : count - 1) else { return false }
            counts[event.stream] = count + 1
        }
        return true
    }

    /// Writes one batch inside `txn`. On a thrown error the caller aborts `txn`.
    func apply(_ events: [NewEvent], in txn: LedgerTransaction, state: inout WriteState) throws(LedgerError)
        -> [AppendResult]
    {
        var results = [AppendResult]()
        results.reserveCapacity(events.count)
        var streams = [String: StreamState]()
        // A ledger knows a few dozen types and platforms: the numbers a batch uses are kept in a
        // short list, compared without hashing.
        var numbered = SmallNameCache()

        for index in events.indices {
            let event = events[index]
            let position = state.position + 1
            // Idempotency: claim the id for this position, or find where it already is. An id
            // greater than every id stored (a time-ordered one) cannot be there: it is appended at
            // the B-tree's right edge, which keeps its pages full.
            let existing = try withUnsafeBytes(of: event.id.uuid) { (idKey) throws(LedgerError) in
                try withBigEndianKey(position) { (posValue) throws(LedgerError) -> UInt64? in
                    if state.lastID.map({ $0.lexicographicallyPrecedes(idKey) }) ?? true {
                        try txn.put(dbs.eventIDs, idKey, posValue, flags: MDB_APPEND, "event_ids")
                        state.lastID = Array(idKey)
                        return nil
                    }
                    return try txn.insertOrGetExisting(dbs.eventIDs, idKey, posValue, "event_ids")
                        .map { readBigEndianUInt64($0) }
                }
            }
            if let existing {
                let result = try duplicateResult(of: event, at: existing, index: index, in: txn)
                results.append(result)
                continue
            }

            var stream: StreamState
            let slot = streams.index(forKey: event.stream)
            if let slot {
                stream = streams.values[slot]
            } else if let stored = try loadStream(event.stream, in: txn) {
                stream = StreamState(number: stored.number, count: stored.count)
            } else {
                // A new stream is numbered once, in both directions; its count is its duplicates'.
                stream = StreamState(number: state.nextStreamNumber, count: 0)
                try withBigEndianKey(stream.number) { (key) throws(LedgerError) in
                    try Array(event.stream.utf8).withBytes { (name) throws(LedgerError) in
                        try txn.put(dbs.streamNames, key, name, flags: MDB_APPEND, "stream_names")
                        try txn.put(dbs.streams, name, key, flags: MDB_NOOVERWRITE, "streams")
                    }
                }
                state.nextStreamNumber += 1
            }
            let actual: UInt64? = stream.count == 0 ? nil : stream.count - 1
            guard event.expectedVersion.holds(for: actual) else {
                throw LedgerError.wrongExpectedVersion(
                    stream: event.stream, expected: event.expectedVersion, actual: actual)
            }
            let version = stream.count
            let numbers = RecordNumbers(
                stream: stream.number,
                type: try nameNumber(event.type, kind: .type, cache: &numbered.types, in: txn, state: &state),
                platform: try nameNumber(
                    event.platform, kind: .platform, cache: &numbered.platforms, in: txn, state: &state))
            let recordedAt = event.recordedAt ?? state.now

            // The record is written in place, in the page LMDB reserves for it, and hashed there;
            // its hash becomes the head's, copied in place.
            let size =
                32
                + RecordEncoder.bodySize(
                    of: event, numbers: numbers, streamVersion: version, recordedAt: recordedAt)
            try withBigEndianKey(position) { (key) throws(LedgerError) in
                try txn.reserve(dbs.events, key, count: size, flags: MDB_APPEND, "events") { out in
                    state.hash.withUnsafeMutableBytes { head in
                        RecordEncoder.writeRecord(
                            event, numbers: numbers, streamVersion: version, recordedAt: recordedAt,
                            previousHash: UnsafeRawBufferPointer(head), into: out)
                        head.copyMemory(from: UnsafeRawBufferPointer(rebasing: out[0..<32]))
                    }
                }
            }
            // The stream's positions are duplicates of its number, in increasing order.
            try withBigEndianKey(stream.number) { (key) throws(LedgerError) in
                try withBigEndianKey(position) { (value) throws(LedgerError) in
                    try txn.put(dbs.streamEvents, key, value, flags: MDB_APPENDDUP, "stream_events")
                }
            }
            stream.count += 1
            if let slot {
                streams.values[slot] = stream
            } else {
                streams[event.stream] = stream
            }
            state.position = position
            results.append(AppendResult(position: position, streamVersion: version, wasDuplicate: false))
        }
        return results
    }

    private func duplicateResult(
        of event: NewEvent, at position: UInt64, index: Int, in txn: LedgerTransaction
    )
        throws(LedgerError)
        -> AppendResult
    {
        guard let view = try eventView(at: position, in: txn, writing: true) else {
            throw LedgerError.corruptRecord(position: position, reason: "event_ids points to a missing event")
        }
        func conflict(_ field: String) -> LedgerError {
            .idempotencyConflict(id: event.id, position: position, field: field)
        }
        guard view.stream == event.stream else { throw conflict("stream") }
        guard view.type == event.type else { throw conflict("type") }
        guard view.platform == event.platform else { throw conflict("platform") }
        guard view.occurredAt == event.occurredAt else { throw conflict("occurredAt") }
        if let recordedAt = event.recordedAt, recordedAt != view.recordedAt { throw conflict("recordedAt") }
        guard view.schemaVersion == event.schemaVersion else { throw conflict("schemaVersion") }
        guard view.payload.elementsEqual(event.payload) else { throw conflict("payload") }
        return AppendResult(position: position, streamVersion: view.streamVersion, wasDuplicate: true)
    }

    /// A stream's number (`streams`) and its number of events: the count of its duplicates in
    /// `stream_events`, which LMDB keeps, so that an append to an existing stream writes nothing in
    /// `streams`.
    private func loadStream(_ name: String, in txn: LedgerTransaction) throws(LedgerError) -> (
        number: UInt64, count: UInt64
    )? {
        let key = Array(LedgerFormat.normalize(name).utf8)
        let number = try key.withBytes { (k) throws(LedgerError) -> UInt64? in
            guard let value = try txn.get(dbs.streams, k, "streams") else { return nil }
            guard value.count == 8 else {
                throw LedgerError.corruptRecord(
                    position: 0, reason: "stream '\(name)' has a \(value.count)-byte entry")
            }
            return readBigEndianUInt64(value)
        }
        guard let number else { return nil }
        let count = try txn.withCursor(dbs.streamEvents, "stream_events") { (cursor) throws(LedgerError) in
            try withBigEndianKey(number) { (k) throws(LedgerError) in
                try cursor.find(k) == nil ? 0 : cursor.duplicateCount()
            }
        }
        guard count > 0 else {
            throw LedgerError.corruptRecord(
                position: 0, reason: "stream '\(name)' (number \(number)) has no events in stream_events")
        }
        return (number, UInt64(count))
    }

    // MARK: - Reading

    /// The names of views read in `txn`; `writing` for a write transaction, whose names may not be
    /// committed yet and so are not kept.
    func nameSource(_ txn: LedgerTransaction, writing: Bool = false) -> NameSource {
        NameSource(table: names, txn: txn, names: dbs.names, streamNames: dbs.streamNames, caches: !writing)
    }

    func eventView(at position: UInt64, in txn: LedgerTransaction, writing: Bool = false) throws(LedgerError)
        -> EventView?
    {
        try withBigEndianKey(position) { (key) throws(LedgerError) in
            guard let bytes = try txn.get(dbs.events, key, "events") else { return nil }
            return try EventView(position: position, bytes: bytes, names: nameSource(txn, writing: writing))
        }
    }

    func readHead(_ txn: LedgerTransaction) throws(LedgerError) -> LogHead {
        try txn.withCursor(dbs.events, "events") { (cursor) throws(LedgerError) in
            guard let last = try cursor.move(MDB_LAST) else {
                return LogHead(position: 0, hash: LedgerFormat.genesisHash)
            }
            guard last.key.count == 8 else {
                throw LedgerError.corruptRecord(
                    position: 0, reason: "an events key is \(last.key.count) bytes long")
            }
            let position = readBigEndianUInt64(last.key)
            guard last.value.count >= LedgerFormat.minimumRecordSize else {
                throw LedgerError.corruptRecord(
                    position: position,
                    reason: "record of \(last.value.count) bytes is shorter than its smallest form")
            }
            return LogHead(position: position, hash: Array(last.value[0..<32]))
        }
    }

    /// The head of the log: its last position, event count and head hash.
    public func head() throws(LedgerError) -> LogHead {
        try reading { (txn) throws(LedgerError) in try readHead(txn) }
    }

    /// Runs `body` on every event from `position` on, in order, without copying them out of the map.
    ///
    /// All events are read from one consistent snapshot. `body` returns `false` to stop early.
    /// Do not append from inside `body`.
    /// - Parameters:
    ///   - position: the first position to read (1 for the whole log).
    ///   - filter: when given, only events that match are handed to `body`; matching reads the
    ///     header only.
    /// - Throws: ``LedgerError`` when the ledger fails; whatever `body` throws, unchanged.
    public func forEach(
        from position: UInt64 = 1, filter: EventFilter? = nil, _ body: (borrowing EventView) throws -> Bool
    ) throws {
        var failure: (any Error)?
        try reading { (txn) throws(LedgerError) in
            try scan(from: position, in: txn) { view in
                if let filter, !filter.matches(view) { return true }
                return calling(body, view, failure: &failure) ?? false
            }
        }
        if let failure { throw failure }
    }

    /// Runs the read over `events` from `position` on; `body` returns `false` to stop.
    package func scan(from position: UInt64, in txn: LedgerTransaction, _ body: (borrowing EventView) -> Bool)
        throws(LedgerError)
    {
        let names = nameSource(txn)
        try txn.withCursor(dbs.events, "events") { (cursor) throws(LedgerError) in
            var entry = try withBigEndianKey(max(position, 1)) { (key) throws(LedgerError) in
                try cursor.seek(key)
            }
            while let (key, value) = entry {
                guard key.count == 8 else {
                    throw LedgerError.corruptRecord(
                        position: 0, reason: "an events key is \(key.count) bytes long")
                }
                let view = try EventView(position: readBigEndianUInt64(key), bytes: value, names: names)
                guard body(view) else { return }
                entry = try cursor.move(MDB_NEXT)
            }
        }
    }

    /// Events from `position` on, copied out of the map, at most `limit` of them.
    public func events(from position: UInt64 = 1, limit: Int = .max, filter: EventFilter? = nil)
        throws(LedgerError)
        -> [RecordedEvent]
    {
        var out = [RecordedEvent]()
        guard limit > 0 else { return out }
        try reading { (txn) throws(LedgerError) in
            try scan(from: position, in: txn) { view in
                if let filter, !filter.matches(view) { return true }
                out.append(view.materialize())
                return out.count < limit
            }
        }
        return out
    }

    /// The event at `position`, or `nil` when there is none.
    public func event(at position: UInt64) throws(LedgerError) -> RecordedEvent? {
        try reading { (txn) throws(LedgerError) in try eventView(at: position, in: txn)?.materialize() }
    }

    /// The position of the event with `id`, or `nil` when it is not in the log.
    public func position(of id: UUID) throws(LedgerError) -> UInt64? {
        try reading { (txn) throws(LedgerError) in
            try withUnsafeBytes(of: id.uuid) { (key) throws(LedgerError) in
                try txn.get(dbs.eventIDs, key, "event_ids").map { readBigEndianUInt64($0) }
            }
        }
    }

    /// The version of a stream's last event, or `nil` when the stream does not exist.
    public func streamVersion(_ stream: String) throws(LedgerError) -> UInt64? {
        try reading { (txn) throws(LedgerError) in
            try loadStream(stream, in: txn).map { $0.count - 1 }
        }
    }

    /// The events of one stream from `version` on, in stream order.
    public func stream(_ stream: String, fromVersion version: UInt64 = 0) throws(LedgerError)
        -> [RecordedEvent]
    {
        var out = [RecordedEvent]()
        try reading { (txn) throws(LedgerError) in
            try scanStream(stream, fromVersion: version, in: txn) { view in
                out.append(view.materialize())
                return true
            }
        }
        return out
    }

    /// Runs `body` on the events of one stream from `version` on, without copying them.
    /// - Throws: ``LedgerError`` when the ledger fails; whatever `body` throws, unchanged.
    public func forEachInStream(
        _ stream: String, fromVersion version: UInt64 = 0, _ body: (borrowing EventView) throws -> Bool
    ) throws {
        var failure: (any Error)?
        try reading { (txn) throws(LedgerError) in
            try scanStream(stream, fromVersion: version, in: txn) { view in
                calling(body, view, failure: &failure) ?? false
            }
        }
        if let failure { throw failure }
    }

    /// Runs the read over one stream's events from `version` on; `body` returns `false` to stop.
    package func scanStream(
        _ stream: String, fromVersion version: UInt64, in txn: LedgerTransaction,
        _ body: (borrowing EventView) -> Bool
    ) throws(LedgerError) {
        guard let info = try loadStream(stream, in: txn), version < info.count else { return }
        try txn.withCursor(dbs.streamEvents, "stream_events") { (cursor) throws(LedgerError) in
            // A stream's positions are the duplicates of its number, version 0 first: skip to
            // `version` (a case's stream is short; the index is `streams`' count, not a search).
            var entry = try withBigEndianKey(info.number) { (key) throws(LedgerError) in try cursor.find(key)
            }
            var skipped: UInt64 = 0
            while entry != nil, skipped < version {
                entry = try cursor.move(MDB_NEXT_DUP)
                skipped += 1
            }
            while let (_, value) = entry, value.count == 8 {
                let position = readBigEndianUInt64(value)
                guard let view = try eventView(at: position, in: txn) else {
                    throw LedgerError.corruptRecord(
                        position: position, reason: "stream '\(stream)' points to a missing event")
                }
                guard body(view) else { return }
                entry = try cursor.move(MDB_NEXT_DUP)
            }
        }
    }

    /// Runs `body` inside one read transaction, for callers that read several things consistently.
    /// - Throws: ``LedgerError`` when the ledger fails; whatever `body` throws, unchanged.
    ///
    /// The snapshot is non-copyable and only borrowed by `body`, so it cannot outlive the read
    /// transaction: `log.withSnapshot { $0 }` does not compile.
    public func withSnapshot<T>(_ body: (borrowing Snapshot) throws -> T) throws -> T {
        var failure: (any Error)?
        let result = try reading { (txn) throws(LedgerError) -> T? in
            do {
                return try body(Snapshot(log: self, txn: txn))
            } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        return result!
    }

    /// Runs `body` in one read transaction of the ledger. Every failure is a ``LedgerError``; a
    /// caller's closure run inside is called through ``calling(_:_:failure:)``, so its error keeps
    /// its type and is thrown once the transaction has ended.
    package func reading<T>(_ body: (LedgerTransaction) throws(LedgerError) -> T) throws(LedgerError) -> T {
        try env.read(body)
    }
}

/// The ledger's transactions: every LMDB failure inside one is a ``LedgerError/lmdb(_:)``.
package typealias LedgerTransaction = Transaction<LedgerError>

/// Calls a caller's `body` from inside a ledger read. Its error is kept in `failure`, unchanged,
/// and `nil` is returned so that the read stops; the caller of the read throws `failure` afterwards.
func calling<Argument: ~Copyable, Result>(
    _ body: (borrowing Argument) throws -> Result, _ argument: borrowing Argument, failure: inout (any Error)?
) -> Result? {
    do {
        return try body(argument)
    } catch {
        failure = error
        return nil
    }
}

/// A consistent view of the log for the duration of ``EventLog/withSnapshot(_:)``.
///
/// Non-copyable: it is lent to the closure and cannot escape it.
public struct Snapshot: ~Copyable {
    let log: EventLog
    let txn: LedgerTransaction

    /// The head as of this snapshot.
    public func head() throws(LedgerError) -> LogHead { try log.readHead(txn) }

    /// Runs `body` on every event from `position` on.
    /// - Throws: ``LedgerError`` when the ledger fails; whatever `body` throws, unchanged.
    public func forEach(from position: UInt64 = 1, _ body: (borrowing EventView) throws -> Bool) throws {
        var failure: (any Error)?
        try log.scan(from: position, in: txn) { view in calling(body, view, failure: &failure) ?? false }
        if let failure { throw failure }
    }
}

/// Selects events by type and platform, reading only the record header.
public struct EventFilter: Sendable {
    /// Types to keep; `nil` keeps all.
    public var types: Set<String>?
    /// Platforms to keep; `nil` keeps all.
    public var platforms: Set<String>?
    /// Streams to keep; `nil` keeps all.
    public var streams: Set<String>?

    private let typeBytes: [[UInt8]]?
    private let platformBytes: [[UInt8]]?
    private let streamBytes: [[UInt8]]?

    /// Creates a filter.
    public init(types: Set<String>? = nil, platforms: Set<String>? = nil, streams: Set<String>? = nil) {
        let types = types.map { Set($0.map(LedgerFormat.normalize)) }
        let platforms = platforms.map { Set($0.map(LedgerFormat.normalize)) }
        let streams = streams.map { Set($0.map(LedgerFormat.normalize)) }
        self.types = types
        self.platforms = platforms
        self.streams = streams
        typeBytes = types.map { $0.sorted().map { Array($0.utf8) } }
        platformBytes = platforms.map { $0.sorted().map { Array($0.utf8) } }
        streamBytes = streams.map { $0.sorted().map { Array($0.utf8) } }
    }

    /// Whether `view` passes the filter, comparing raw bytes.
    public func matches(_ view: borrowing EventView) -> Bool {
        func contains(_ wanted: [[UInt8]]?, _ bytes: UnsafeRawBufferPointer) -> Bool {
            guard let wanted else { return true }
            return wanted.contains { $0.elementsEqual(bytes) }
        }
        return contains(typeBytes, view.typeBytes) && contains(platformBytes, view.platformBytes)
            && contains(streamBytes, view.streamBytes)
    }
}

final class ResultBox: @unchecked Sendable {
    var result: Result<[AppendResult], LedgerError>?
}

package func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

extension EventLog {
    /// Runs `body` on the events at `positions`, in the order given, from one snapshot.
    /// - Throws: ``LedgerError`` when the ledger fails; whatever `body` throws, unchanged.
    public func forEach(positions: [UInt64], _ body: (borrowing EventView) throws -> Void) throws {
        var failure: (any Error)?
        try reading { (txn) throws(LedgerError) in
            for position in positions {
                guard let view = try eventView(at: position, in: txn) else {
                    throw LedgerError.corruptRecord(position: position, reason: "no event at this position")
                }
                guard calling(body, view, failure: &failure) != nil else { return }
            }
        }
        if let failure { throw failure }
    }
}
