import ContactTracing
import Foundation
import GRDB
import LMDB
import Ledger
import Synchronization

/// The SQLite contender: an event store as one would write it with GRDB.
///
/// One `events` table whose indices are the ledger's (`position` as the row id, a unique `id`, a
/// unique `(stream, stream_version)`), in WAL mode. Each row keeps the ledger's record bytes
/// (hash chain included), so a rebuild folds exactly what a ledger rebuild folds.
final class SQLiteEventStore: Sendable {
    let pool: DatabasePool
    /// The numbers of the names in the records this store writes itself.
    let names = NameTable()
    let path: String

    /// Opens (or creates) the store; `durable` sets `synchronous=FULL`, otherwise `NORMAL`.
    init(path: String, durable: Bool) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durable ? "FULL" : "NORMAL")")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS events(
                        position INTEGER PRIMARY KEY,
                        id BLOB NOT NULL UNIQUE,
                        stream TEXT NOT NULL,
                        stream_version INTEGER NOT NULL,
                        record BLOB NOT NULL,
                        UNIQUE(stream, stream_version))
                    """)
        }
    }

    /// Appends a batch in one transaction: reads the head, gives each event its stream version (the
    /// last one from the index, then counted within the batch), chains its hash and inserts it.
    func append(_ events: [NewEvent], recordedAt: Timestamp) throws {
        try pool.write { db in try Self.insert(events, recordedAt: recordedAt, names: names, in: db) }
    }

    /// The same, from async code (GRDB serializes writers; each call is one transaction).
    func appendAsync(_ events: [NewEvent], recordedAt: Timestamp) async throws {
        try await pool.write { [names] db in
            try Self.insert(events, recordedAt: recordedAt, names: names, in: db)
        }
    }

    private static func insert(_ events: [NewEvent], recordedAt: Timestamp, names: NameTable, in db: Database)
        throws
    {
        var position: Int64 = 0
        var previousHash = [UInt8](repeating: 0, count: 32)
        if let head = try Row.fetchOne(
            db, sql: "SELECT position, substr(record, 1, 32) FROM events ORDER BY position DESC LIMIT 1")
        {
            position = head[0]
            previousHash = [UInt8](head[1] as Data)
        }
        let insert = try db.cachedStatement(
            sql: "INSERT INTO events(position, id, stream, stream_version, record) VALUES (?, ?, ?, ?, ?)")
        let lastVersion = try db.cachedStatement(
            sql: "SELECT MAX(stream_version) FROM events WHERE stream = ?")
        var versions = [String: Int64]()
        for event in events {
            let version: Int64
            if let last = versions[event.stream] {
                version = last + 1
            } else if let last = try Int64.fetchOne(lastVersion, arguments: [event.stream]) {
                version = last + 1
            } else {
                version = 0
            }
            versions[event.stream] = version
            position += 1
            let record = LedgerFormat.record(
                of: event, streamVersion: UInt64(version), recordedAt: recordedAt, previousHash: previousHash,
                names: names)
            previousHash = Array(record[0..<32])
            let id = withUnsafeBytes(of: event.id.uuid) { Data($0) }
            try insert.execute(arguments: [position, id, event.stream, version, Data(record)])
        }
    }

    /// Copies records read elsewhere (a ledger's) as they are, in one transaction per `batch`.
    func load(_ records: [(position: UInt64, id: Data, stream: String, version: UInt64, record: Data)]) throws
    {
        try pool.write { db in
            let insert = try db.cachedStatement(
                sql: "INSERT INTO events(position, id, stream, stream_version, record) VALUES (?, ?, ?, ?, ?)"
            )
            for r in records {
                try insert.execute(arguments: [Int64(r.position), r.id, r.stream, Int64(r.version), r.record])
            }
        }
    }

    /// Runs `body` on every record in position order, without copying it out of SQLite.
    /// The type and platform numbers of the records are resolved by `names` (the ledger's, for
    /// records copied from it); the stream is read from its column.
    func forEach(names: NameTable, _ body: (borrowing EventView) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT position, record, stream FROM events ORDER BY position")
            while let row = try rows.next() {
                let position: Int64 = row[0]
                let stream: String = row[2]
                try row.withUnsafeData(atIndex: 1) { data in
                    guard let data else { return }
                    try data.withUnsafeBytes { bytes in
                        try Array(stream.utf8).withUnsafeBytes { name in
                            try body(
                                try EventView(
                                    position: UInt64(position), bytes: bytes, names: names, stream: name))
                        }
                    }
                }
            }
        }
    }

    /// The number of events.
    func count() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }

    /// Bytes of the database file after a checkpoint (page count times page size).
    func usedBytes() throws -> Int {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return pages * size
        }
    }
}
