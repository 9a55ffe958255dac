import ContactTracing
import Foundation
import LMDB
import Ledger
import Projections
import Simulation

/// Stops a benchmark process whose data could not be prepared, saying why.
func prepared<T>(_ what: String, _ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        fatalError("cannot prepare \(what): \(error)")
    }
}

/// The simulated mix of the append workloads: `herault-2022` at the scale that gives about
/// ``Settings/bulkEvents`` events, generated once per process, outside any measurement.
struct BulkData: Sendable {
    /// The events in the simulator's batches.
    let batches: [[NewEvent]]
    /// The first `count` events, in order (without flattening the others).
    func first(_ count: Int) -> [NewEvent] { Array(batches.joined().prefix(count)) }
    /// How many.
    let count: Int
    /// The time given to events that carry no recording time.
    let recordedAt = Timestamp(millisecondsSince1970: 1_700_000_000_000)
    /// The records a ledger stores for these events, back to back (for the raw LMDB baseline).
    let records: [UInt8]
    /// Record `i` is `records[offsets[i]..<offsets[i + 1]]`.
    let offsets: [Int]

    static let shared = prepared("the bulk events") { try BulkData() }

    private init() throws {
        let scale = Double(Settings.bulkEvents) / Double(Settings.fullHistoryEvents)
        var batches = [[NewEvent]]()
        _ = try Simulator(profile: .herault2022, scale: scale, seed: 7).generate(
            batchSize: Settings.bulkBatch
        ) { batches.append($0) }
        self.batches = batches
        count = batches.reduce(0) { $0 + $1.count }
        var records = [UInt8]()
        var offsets = [0]
        var versions = [String: UInt64]()
        var previous = [UInt8](repeating: 0, count: 32)
        let names = NameTable()
        for event in batches.joined() {
            let version = versions[event.stream].map { $0 + 1 } ?? 0
            versions[event.stream] = version
            let record = LedgerFormat.record(
                of: event, streamVersion: version, recordedAt: recordedAt, previousHash: previous,
                names: names)
            previous = Array(record[0..<32])
            records.append(contentsOf: record)
            offsets.append(records.count)
        }
        self.records = records
        self.offsets = offsets
    }
}

/// The `herault-2022` history at ``Settings/historyScale``, as a ledger (identities sealed, as
/// `ledgerctl simulate` writes it) and as a copy of the same records in SQLite. Both are written
/// once and kept in ``Settings/directory`` between runs.
struct History: Sendable {
    let ledgerPath: String
    let sqlitePath: String
    /// Events in the history.
    let events: Int
    /// Case streams spread over the whole history, for the point reads.
    let sampleCases: [String]

    static let shared = prepared("the herault-2022 history") { try History() }

    private init() throws {
        let name = "herault-2022-\(Settings.historyScale)"
        ledgerPath = Settings.directory + "/" + name + ".ledger"
        sqlitePath = Settings.directory + "/" + name + ".sqlite"
        let ledgerDone = ledgerPath + ".complete"
        if !FileManager.default.fileExists(atPath: ledgerDone) {
            let path = Settings.freshPath(name + ".ledger")
            print("writing the herault-2022 history at scale \(Settings.historyScale) into \(path) (kept)")
            let log = try EventLog(path: path)
            let vault = try PrivacyVault(ledger: path, create: true, syntheticSeed: 1)
            let appender = BulkAppender(log: log)
            _ = try Simulator(profile: .herault2022, scale: Settings.historyScale, seed: 1).generate(
                vault: vault
            ) { try appender.submit($0) }
            _ = try appender.finish()
            log.close()
            _ = FileManager.default.createFile(atPath: ledgerDone, contents: Data())
        }
        let log = try EventLog(path: ledgerPath, options: .init(readOnly: true))
        events = Int(try log.head().position)
        var cases = [String]()
        let opened = EventFilter(types: ["CaseOpened"])
        var seen = 0
        try log.forEach(filter: opened) { view in
            if seen % 97 == 0 { cases.append(view.stream) }
            seen += 1
            return true
        }
        sampleCases = cases
        let sqliteDone = sqlitePath + ".complete"
        if !FileManager.default.fileExists(atPath: sqliteDone) {
            let path = Settings.freshPath(name + ".sqlite")
            print("copying the history into SQLite at \(path) (kept)")
            let store = try SQLiteEventStore(path: path, durable: false)
            var chunk = [(position: UInt64, id: Data, stream: String, version: UInt64, record: Data)]()
            func flush() throws {
                try store.load(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
            try log.forEach { view in
                chunk.append(
                    (
                        view.position, withUnsafeBytes(of: view.id.uuid) { Data($0) }, view.stream,
                        view.streamVersion, view.withRecord { record in record.withUnsafeBytes { Data($0) } }
                    ))
                if chunk.count == 100_000 { try flush() }
                return true
            }
            try flush()
            _ = FileManager.default.createFile(atPath: sqliteDone, contents: Data())
        }
    }
}
