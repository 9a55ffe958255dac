import CLMDB
import ContactTracing
import Foundation
import LMDB
import Ledger

/// The projections stored in LMDB beside the ledger (`LEDGER.projections/`): each case's state, the
/// person index, statistics cells per platform and day, platform facts, and the checkpoint, written
/// in the same transaction as the rows it covers (docs/format.md, "The read model").
///
/// A query reads only what it needs (the cells of the platforms asked, the open cases of one
/// platform, one case), and a catch-up folds the new events in chunks, each committed with its
/// checkpoint, so its memory depends on the chunk size and never on the length of the history. The
/// read model is a cache: delete the directory and it is rebuilt with the same content.
public final class ReadModel: @unchecked Sendable {
    /// The format of the stored rows; a read model of another version is rebuilt.
    public static let formatVersion: UInt32 = 1
    /// Events folded per committed chunk.
    public static let defaultChunkSize = 100_000

    /// The directory of the environment.
    public let directory: String
    let env: Environment
    let dbs: Databases

    /// Whether this process may write the read model (catch up); a reader that may not has lagging
    /// events folded in memory for each query instead (``read(catchingUpWith:_:)``).
    public let isWritable: Bool

    struct Databases {
        var meta: MDB_dbi
        var cases: MDB_dbi
        var persons: MDB_dbi
        var cells: MDB_dbi
        var platforms: MDB_dbi
        var seen: MDB_dbi
        var open: MDB_dbi

        /// Every table with its name, in the order of docs/format.md.
        var all: [(dbi: MDB_dbi, name: String)] {
            [
                (meta, "meta"), (cases, "cases"), (persons, "persons"), (cells, "cells"),
                (platforms, "platforms"), (seen, "seen"), (open, "open"),
            ]
        }
    }

    enum MetaKey {
        static let formatVersion = "format_version"
        static let ledgerID = "ledger_id"
        static let checkpoint = "checkpoint"
        static let kindCounts = "kind_counts"
    }

    /// The read model's directory for a ledger.
    public static func directory(ofLedger ledger: String) -> String {
        EventLog.siblingPath(ofLedger: ledger, suffix: ".projections")
    }

    /// Opens (creating when it may) the read model of the ledger at `ledger`.
    ///
    /// - Parameter readOnly: open for queries only. A read model that does not exist yet, or that this
    ///   user cannot open, throws; the caller then folds the log in memory.
    public convenience init(ledger: String, readOnly: Bool = false) throws {
        try self.init(directory: Self.directory(ofLedger: ledger), readOnly: readOnly)
    }

    /// Opens (creating when it may) a read model in `directory`.
    public init(directory: String, readOnly: Bool = false) throws {
        self.directory = directory
        let fm = FileManager.default
        if !readOnly {
            try fm.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // The JSON state of format 1 of the projections (before the read model) is dropped.
            for old in ["tracing.json", "ledger-id"] { try? fm.removeItem(atPath: directory + "/" + old) }
        } else if !fm.fileExists(atPath: directory + "/data.mdb") {
            throw LedgerError.io(path: directory, reason: "no read model has been built yet")
        }
        let env = try Environment(
            path: directory, mapSize: 64 << 20, maxDatabases: 8, maxReaders: 126, readOnly: readOnly,
            noMetaSync: true)
        self.env = env
        isWritable = !readOnly
        let body = { (txn: Transaction<LMDBError>) throws -> Databases in
            func open(_ name: String) throws -> MDB_dbi {
                try env.openDatabase(name, flags: 0, create: !readOnly, in: txn)
            }
            return Databases(
                meta: try open("meta"), cases: try open("cases"), persons: try open("persons"),
                cells: try open("cells"), platforms: try open("platforms"), seen: try open("seen"),
                open: try open("open"))
        }
        dbs = try readOnly ? env.readPassingErrors(keepHandles: true, body) : env.writePassingErrors(body)
    }

    // MARK: - Rows

    static func caseState(_ id: String, txn: Transaction<LMDBError>, dbs: Databases) throws -> CaseState? {
        let key = Array(id.utf8)
        return try key.withUnsafeBytes { try caseState(id, key: $0, txn: txn, dbs: dbs) }
    }

    /// Case `id`, whose key bytes are `key`.
    static func caseState(
        _ id: String, key: UnsafeRawBufferPointer, txn: Transaction<LMDBError>, dbs: Databases
    ) throws
        -> CaseState?
    {
        guard let bytes = try txn.get(dbs.cases, key, "cases") else { return nil }
        do {
            return try CaseState(id: id, stored: bytes)
        } catch {
            throw ProjectionError.staleState(path: "cases/\(id)", reason: "the stored case does not decode")
        }
    }

    static func personEntry(_ person: String, txn: Transaction<LMDBError>, dbs: Databases) throws
        -> PersonEntry?
    {
        let key = Array(person.utf8)
        return try key.withUnsafeBytes { try personEntry(person, key: $0, txn: txn, dbs: dbs) }
    }

    /// Person `person`'s entry, whose key bytes are `key`.
    static func personEntry(
        _ person: String, key: UnsafeRawBufferPointer, txn: Transaction<LMDBError>, dbs: Databases
    )
        throws -> PersonEntry?
    {
        guard let bytes = try txn.get(dbs.persons, key, "persons") else { return nil }
        do {
            return try PersonEntry(stored: bytes)
        } catch {
            throw ProjectionError.staleState(
                path: "persons/\(person)", reason: "the stored entry does not decode")
        }
    }

    static func platformFacts(_ id: String, txn: Transaction<LMDBError>, dbs: Databases) throws
        -> PlatformFacts?
    {
        let key = Array(id.utf8)
        guard let bytes = try key.withUnsafeBytes({ try txn.get(dbs.platforms, $0, "platforms") }) else {
            return nil
        }
        return try JSONDecoder().decode(PlatformFacts.self, from: Data(bytes))
    }

    static func storedCell(_ key: [UInt8], txn: Transaction<LMDBError>, dbs: Databases) throws -> StoredCell?
    {
        guard let bytes = try key.withUnsafeBytes({ try txn.get(dbs.cells, $0, "cells") }) else { return nil }
        return try decodeCell(bytes)
    }

    /// A stored cell's value decoded; one that does not decode is a damaged read model.
    static func decodeCell(_ bytes: UnsafeRawBufferPointer) throws -> StoredCell {
        do {
            return try StoredCell(stored: bytes)
        } catch {
            throw ProjectionError.staleState(path: "cells", reason: "a stored cell does not decode")
        }
    }

    static func meta(_ key: String, txn: Transaction<LMDBError>, dbs: Databases) throws -> [UInt8]? {
        let k = Array(key.utf8)
        return try k.withUnsafeBytes { try txn.get(dbs.meta, $0, "meta/\(key)") }.map { Array($0) }
    }

    static func putMeta(_ key: String, _ value: [UInt8], txn: Transaction<LMDBError>, dbs: Databases) throws {
        let k = Array(key.utf8)
        try k.withUnsafeBytes { k in try value.withUnsafeBytes { try txn.put(dbs.meta, k, $0, "meta/\(key)") }
        }
    }

    static func put(
        _ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8], txn: Transaction<LMDBError>, _ what: String
    ) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { try txn.put(dbi, k, $0, what) } }
    }

    /// The checkpoint stored: position and head hash (32 bytes); position 0 when there is none.
    static func checkpoint(txn: Transaction<LMDBError>, dbs: Databases) throws -> (
        position: UInt64, hash: [UInt8]
    ) {
        try storedCheckpoint(txn: txn, dbs: dbs) ?? (0, [UInt8](repeating: 0, count: 32))
    }

    /// The checkpoint stored; nil when there is none or it is malformed. An empty read model has
    /// none; a read model with rows and none is damaged.
    static func storedCheckpoint(txn: Transaction<LMDBError>, dbs: Databases) throws -> (
        position: UInt64, hash: [UInt8]
    )? {
        guard let bytes = try meta(MetaKey.checkpoint, txn: txn, dbs: dbs), bytes.count == 40 else {
            return try txn.entries(dbs.cases, "cases") == 0 && txn.entries(dbs.cells, "cells") == 0
                ? (0, [UInt8](repeating: 0, count: 32)) : nil
        }
        let position = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (position, Array(bytes[8..<40]))
    }

    // MARK: - Catch-up

    /// Folds the events after the stored checkpoint (up to `last` when given) in chunks of
    /// `chunkSize`, each written with its checkpoint in one transaction; returns how many were folded.
    ///
    /// A catch-up killed half way resumes from the last committed chunk. Two processes catching up at
    /// once are serialised by LMDB's single writer: the second starts from where the first stopped.
    ///
    /// - Throws: ``ProjectionStoreError/historyChanged(position:storedHash:logHash:logHead:)`` when the
    ///   read model was built from this ledger and the log no longer holds its checkpoint;
    ///   ``ProjectionError`` when an event does not fold.
    @discardableResult
    public func catchUp(
        from log: EventLog, through last: UInt64? = nil, asOf: Timestamp? = nil,
        chunkSize: Int = ReadModel.defaultChunkSize, progress: (UInt64) -> Void = { _ in }
    ) throws -> Int {
        let ledgerID = try log.ledgerID()
        var total = 0
        while true {
            let (applied, reached, done) = try env.writePassingErrors { txn -> (Int, UInt64, Bool) in
                try prepare(txn, for: log, ledgerID: ledgerID)
                let (position, _) = try Self.checkpoint(txn: txn, dbs: dbs)
                let end = min(try log.head().position, last ?? .max)
                guard end > position else { return (0, position, true) }
                let stop = min(end, position + UInt64(max(chunkSize, 1)))
                var fold = ChunkFold(txn: txn, dbs: dbs)
                var hash = [UInt8]()
                var reached = position
                try log.forEach(from: position + 1) { view in
                    // As of a date: facts that happened later are passed over (the checkpoint moves on).
                    if asOf.map({ view.occurredAt < $0 }) ?? true { try fold.fold(view) }
                    reached = view.position
                    if view.position >= stop {
                        hash = Array(view.hash)
                        return false
                    }
                    return true
                }
                guard reached == stop else {
                    throw ProjectionError.staleState(
                        path: directory, reason: "the log ended at position \(reached) before \(stop)")
                }
                try write(&fold, checkpoint: stop, hash: hash, txn: txn)
                return (Int(stop - position), stop, stop == end)
            }
            total += applied
            // The pages of the chunk are in the page cache; this process need not keep them mapped.
            log.releaseMappedPages()
            env.releaseMappedPages()
            progress(reached)
            if done { return total }
        }
    }

    /// Checks the stored checkpoint against the log before folding on: another ledger's (or another
    /// format's) read model is emptied; this ledger's whose checkpoint the log no longer holds is refused.
    private func prepare(_ txn: Transaction<LMDBError>, for log: EventLog, ledgerID: UUID) throws {
        let idBytes = withUnsafeBytes(of: ledgerID.uuid) { Array($0) }
        let version = try Self.meta(MetaKey.formatVersion, txn: txn, dbs: dbs)
        let storedID = try Self.meta(MetaKey.ledgerID, txn: txn, dbs: dbs)
        let versionBytes = withUnsafeBytes(of: Self.formatVersion.bigEndian) { Array($0) }
        // Rows without the checkpoint that says what they cover (a damaged read model) cannot be
        // folded on either: like another ledger's, they are dropped and rebuilt.
        guard version == versionBytes, storedID == idBytes,
            let (position, hash) = try Self.storedCheckpoint(txn: txn, dbs: dbs)
        else {
            try empty(txn)
            try Self.putMeta(MetaKey.formatVersion, versionBytes, txn: txn, dbs: dbs)
            try Self.putMeta(MetaKey.ledgerID, idBytes, txn: txn, dbs: dbs)
            return
        }
        try Self.requireHolds(position: position, hash: hash, in: log)
    }

    /// Refuses a checkpoint the log no longer holds (the history was cut or rewritten under it).
    static func requireHolds(position: UInt64, hash: [UInt8], in log: EventLog) throws {
        guard position > 0 else { return }
        let event = try log.event(at: position)
        guard let event, Array(event.hash) == hash else {
            throw ProjectionStoreError.historyChanged(
                position: position, storedHash: hash.hexString, logHash: event?.hash.hexString,
                logHead: try log.head().position)
        }
    }

    /// Empties every table (a rebuild from position 1).
    private func empty(_ txn: Transaction<LMDBError>) throws {
        for (dbi, name) in dbs.all { try txn.empty(dbi, name) }
    }

    /// Builds a read model of `log` up to position `last` (or facts before `asOf`) in a temporary
    /// directory beside the ledger, runs `body` on it, and removes it: how a past state is queried
    /// with the memory of a rebuild (chunks), never that of the whole history.
    public static func withTemporary<T>(
        of log: EventLog, through last: UInt64? = nil, asOf: Timestamp? = nil,
        progress: (UInt64) -> Void = { _ in }, _ body: (ReadModelView) throws -> T
    ) throws -> T {
        var base = NSTemporaryDirectory()
        if base.hasSuffix("/") { base.removeLast() }
        sweepTemporary(in: base)
        let directory = base + "/\(temporaryPrefix)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try ReadModel(directory: directory)
        try model.catchUp(from: log, through: last, asOf: asOf, progress: progress)
        return try model.read(catchingUpWith: nil, body)
    }

    static let temporaryPrefix = "tracing-ledger-as-of-"

    /// Removes the temporary read models left by processes that no longer run (a command stopped by
    /// a signal cannot remove its own).
    static func sweepTemporary(in base: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for entry in entries where entry.hasPrefix(temporaryPrefix) {
            let pid = entry.dropFirst(temporaryPrefix.count).prefix { $0 != "-" }
            guard let pid = pid_t(pid), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: base + "/" + entry)
        }
    }

    /// Drops every row; the next catch-up rebuilds from position 1.
    public func reset() throws {
        try env.writePassingErrors { txn in try empty(txn) }
    }

    /// Settles a chunk and writes its changes and its checkpoint, each table in key order.
    private func write(
        _ fold: inout ChunkFold, checkpoint: UInt64, hash: [UInt8], txn: Transaction<LMDBError>
    ) throws {
        let s = try fold.settle()
        var w = ByteWriter()
        w.bytes.reserveCapacity(512)
        for n in fold.sortedByID(s.changed) {
            w.bytes.removeAll(keepingCapacity: true)
            fold.entries[n].state.encode(into: &w)
            try fold.withID(n) { key in
                try w.bytes.withUnsafeBytes { try txn.put(dbs.cases, key, $0, "cases") }
            }
        }
        for (p, entry) in fold.sortedByKey(s.persons) {
            w.bytes.removeAll(keepingCapacity: true)
            entry.encode(into: &w)
            try fold.withPerson(p) { key in
                try w.bytes.withUnsafeBytes { try txn.put(dbs.persons, key, $0, "persons") }
            }
        }
        for (k, delta) in s.cells where !delta.isZero {
            let key = fold.cell(k)
            let k = ReadModelKey.cell(platform: key.platform, day: key.day)
            var cell = try Self.storedCell(k, txn: txn, dbs: dbs) ?? StoredCell()
            cell.add(delta)
            if cell.isZero {
                try k.withUnsafeBytes { _ = try txn.delete(dbs.cells, $0, "cells") }
            } else {
                try Self.put(dbs.cells, k, cell.encoded(), txn: txn, "cells")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (id, facts) in fold.changedPlatformFacts {
            try Self.put(
                dbs.platforms, Array(id.utf8), Array(try encoder.encode(facts)), txn: txn, "platforms")
        }
        for id in fold.seenPlatforms { try Self.put(dbs.seen, Array(id.utf8), [], txn: txn, "seen") }
        for key in s.openRemoved { try key.withUnsafeBytes { _ = try txn.delete(dbs.open, $0, "open") } }
        for key in s.openAdded { try Self.put(dbs.open, key, [], txn: txn, "open") }
        var counts = try Self.kindCounts(txn: txn, dbs: dbs)
        let folded = fold.foldedKinds
        for index in counts.indices { counts[index] += folded[index] }
        var meta = ByteWriter()
        for count in counts { meta.varint(UInt64(count)) }
        try Self.putMeta(MetaKey.kindCounts, meta.bytes, txn: txn, dbs: dbs)
        var bytes = withUnsafeBytes(of: checkpoint.bigEndian) { Array($0) }
        bytes.append(contentsOf: hash)
        try Self.putMeta(MetaKey.checkpoint, bytes, txn: txn, dbs: dbs)
    }

    static func kindCounts(txn: Transaction<LMDBError>, dbs: Databases) throws -> [Int] {
        var counts = [Int](repeating: 0, count: EventKind.allCases.count)
        guard let bytes = try meta(MetaKey.kindCounts, txn: txn, dbs: dbs) else { return counts }
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            for index in counts.indices where !r.atEnd { counts[index] = Int(try r.varint()) }
        }
        return counts
    }

    // MARK: - Queries

    /// Runs `body` on a consistent view of the read model. With `log`, events the read model has not
    /// folded yet are folded in memory for this view only (a reader that may not write; nothing is
    /// saved), so the answer is that of the whole log.
    public func read<T>(catchingUpWith log: EventLog? = nil, _ body: (ReadModelView) throws -> T) throws -> T
    {
        try env.readPassingErrors { txn in
            var overlay: ChunkResult?
            if let log {
                guard let (position, hash) = try Self.storedCheckpoint(txn: txn, dbs: dbs) else {
                    throw ProjectionError.staleState(
                        path: directory, reason: "it holds rows but no checkpoint saying what they cover")
                }
                try Self.requireHolds(position: position, hash: hash, in: log)
                let head = try log.head()
                if head.position > position {
                    var fold = ChunkFold(txn: txn, dbs: dbs)
                    try log.forEach(from: position + 1) { view in
                        try fold.fold(view)
                        return view.position < head.position
                    }
                    overlay = try fold.finish(checkpoint: head.position, hash: head.hash)
                }
            }
            return try body(ReadModelView(txn: txn, dbs: dbs, overlay: overlay))
        }
    }

    /// Every row of every table as text, table by table in key order (`table<TAB>key hex<TAB>value hex`):
    /// two read models with the same content give the same dump, whatever their page layout.
    public func dump() throws -> [String] {
        try env.readPassingErrors { txn in
            var lines = [String]()
            for (dbi, name) in dbs.all {
                try txn.withCursor(dbi, name) { cursor in
                    var entry = try cursor.move(MDB_FIRST)
                    while let (key, value) = entry {
                        lines.append("\(name)\t\(Array(key).hexString)\t\(Array(value).hexString)")
                        entry = try cursor.move(MDB_NEXT)
                    }
                }
            }
            return lines
        }
    }
}

/// A consistent view of the stored read model (one read transaction), with the tail of the log a
/// reader folded in memory laid over it. Valid only inside ``ReadModel/read(catchingUpWith:_:)``.
public struct ReadModelView: ProjectionQueries {
    let txn: Transaction<LMDBError>
    let dbs: ReadModel.Databases
    let overlay: ChunkResult?

    /// How many events of the log this view folded in memory on top of the stored rows.
    public var foldedInMemory: Int { overlay?.kindCounts.reduce(0, +) ?? 0 }

    /// The last position folded.
    public var checkpoint: UInt64 {
        if let overlay { return overlay.checkpoint }
        return (try? ReadModel.checkpoint(txn: txn, dbs: dbs).position) ?? 0
    }

    /// The head hash at the checkpoint, in hex.
    public var checkpointHash: String {
        if let overlay { return overlay.checkpointHash.hexString }
        return ((try? ReadModel.checkpoint(txn: txn, dbs: dbs).hash) ?? []).hexString
    }

    /// One case's state.
    public func caseState(_ id: String) throws -> CaseState? {
        if let state = overlay?.cases[id] { return state }
        return try ReadModel.caseState(id, txn: txn, dbs: dbs)
    }

    /// The number of cases.
    public func caseCount() throws -> Int {
        var count = try txn.entries(dbs.cases, "cases")
        if let overlay {
            for id in overlay.cases.keys where try ReadModel.caseState(id, txn: txn, dbs: dbs) == nil {
                count += 1
            }
        }
        return count
    }

    /// Events folded, by type.
    public func eventCounts() throws -> [String: Int] {
        var counts = try ReadModel.kindCounts(txn: txn, dbs: dbs)
        if let overlay { for index in counts.indices { counts[index] += overlay.kindCounts[index] } }
        var named = [String: Int]()
        for kind in EventKind.allCases where counts[kind.rawValue] > 0 {
            named[kind.name] = counts[kind.rawValue]
        }
        return named
    }

    /// A platform's facts, when it has any.
    public func platformFacts(_ id: String) throws -> PlatformFacts? {
        if let facts = overlay?.platforms[id] { return facts }
        return try ReadModel.platformFacts(id, txn: txn, dbs: dbs)
    }

    /// Every platform an event named.
    public func knownPlatforms() throws -> [String] {
        var known = Set<String>()
        try txn.withCursor(dbs.seen, "seen") { cursor in
            var entry = try cursor.move(MDB_FIRST)
            while let (key, _) = entry {
                known.insert(String(decoding: key, as: UTF8.self))
                entry = try cursor.move(MDB_NEXT)
            }
        }
        if let overlay { known.formUnion(overlay.seen) }
        return known.sorted()
    }

    /// Statistics rows of the platforms given (all when `nil`): the cells of those platforms only.
    public func statistics(platforms: Set<String>?, by period: StatisticsPeriod) throws -> [StatisticsRow] {
        var grouping = PeriodGrouping(period: period)
        var pending = overlay?.cells ?? [:]
        let names = try platforms.map { Array($0) } ?? knownPlatforms()
        for platform in names {
            let prefix = ReadModelKey.prefix(platform: platform)
            try txn.withCursor(dbs.cells, "cells") { cursor in
                var entry = try prefix.withUnsafeBytes { try cursor.seek($0) }
                while let (key, value) = entry, key.starts(with: prefix),
                    let (_, day) = ReadModelKey.parseCell(key), key.count == prefix.count + 4
                {
                    var cell = try ReadModel.decodeCell(value)
                    if let delta = pending.removeValue(forKey: CellKey(platform: platform, day: day)) {
                        cell.add(delta)
                    }
                    if !cell.isZero { grouping.add(cell, platform: platform, day: day) }
                    entry = try cursor.move(MDB_NEXT)
                }
            }
        }
        for (key, delta) in pending where (platforms?.contains(key.platform) ?? true) && !delta.isZero {
            grouping.add(delta, platform: key.platform, day: key.day)
        }
        return grouping.rows
    }

    /// The cases of `platform` a closure report lists, from the `open` index.
    public func reportCases(platform: String) throws -> [CaseState] {
        var ids = Set<String>()
        let prefix = ReadModelKey.prefix(platform: platform)
        try txn.withCursor(dbs.open, "open") { cursor in
            var entry = try prefix.withUnsafeBytes { try cursor.seek($0) }
            while let (key, _) = entry, key.starts(with: prefix) {
                let bytes = Array(key)
                if overlay?.openRemoved.contains(bytes) != true {
                    ids.insert(String(decoding: bytes[prefix.count...], as: UTF8.self))
                }
                entry = try cursor.move(MDB_NEXT)
            }
        }
        for key in overlay?.openAdded ?? [] where key.starts(with: prefix) {
            ids.insert(String(decoding: key[prefix.count...], as: UTF8.self))
        }
        return try ids.sorted().compactMap { try caseState($0) }
    }
}

/// What the closure report, the statistics and the platform commands ask of a projection: the
/// in-memory ``TracingProjection`` and the stored ``ReadModelView`` answer alike.
public protocol ProjectionQueries {
    /// The last position folded.
    var checkpoint: UInt64 { get }
    /// The head hash there, in hex.
    var checkpointHash: String { get }
    /// A platform's facts, when it has any.
    func platformFacts(_ id: String) throws -> PlatformFacts?
    /// Every platform an event named.
    func knownPlatforms() throws -> [String]
    /// Statistics rows of the platforms given (all when `nil`).
    func statistics(platforms: Set<String>?, by period: StatisticsPeriod) throws -> [StatisticsRow]
    /// The cases of `platform` a closure report lists: opened, and not closed or handed over.
    func reportCases(platform: String) throws -> [CaseState]
    /// The number of cases.
    func caseCount() throws -> Int
}

extension TracingProjection: ProjectionQueries {
    /// The number of cases.
    public func caseCount() -> Int { cases.count }

    /// A platform's facts, when it has any.
    public func platformFacts(_ id: String) -> PlatformFacts? { platforms[id] }

    /// Every platform an event named.
    public func knownPlatforms() -> [String] {
        var known = Set(platforms.keys).union(activity.keys)
        for state in cases.values { known.insert(state.platform) }
        return known.sorted()
    }

    /// The cases of `platform` a closure report lists.
    public func reportCases(platform: String) -> [CaseState] {
        cases.values.filter { $0.isListedAtClosure && $0.platform == platform }.sorted {
            $0.id < $1.id
        }
    }
}
