import ArgumentParser
import Dispatch
import Foundation
import Ledger
import Replication
import Synchronization

struct Replicate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ship the ledger's events to its replica in PostgreSQL (docs/operations.md).",
        discussion: """
            Every committed event the replica does not hold is written into PostgreSQL in position \
            order, in batches of --batch events, each batch in one PostgreSQL transaction: ledger id, \
            position, id, stream, stream version, type, platform, times, schema version, hash, the \
            record bytes, and the payload as jsonb. The tables are created when missing. Running it \
            again ships only what is new; an event already there with the same hash is skipped. An event \
            there with another hash, or a replica that holds more than the ledger, stops it with exit 76 \
            and nothing is overwritten. A server that cannot be reached is exit 74. The ledger is only \
            read: replicate follows a ledger that other processes write. With --follow it keeps shipping \
            new events until SIGINT or SIGTERM, then finishes the batch in flight. The password, if the \
            server wants one, comes from the URL or PGPASSWORD.
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The replica: postgres://USER@HOST:PORT/DATABASE (or ?host=/socket/dir).") var to: String
    @Option(help: "Events per PostgreSQL transaction (1 to 100000).") var batch: Int = 5_000
    @Flag(help: "Keep shipping new events until interrupted.") var follow = false
    @Option(help: "With --follow: seconds between two looks at the ledger.") var interval: Double = 0.5

    func validate() throws {
        _ = try location(to)
        guard (1...100_000).contains(batch) else {
            throw ValidationError("--batch \(batch): give 1 to 100000")
        }
        guard interval > 0, interval <= 3600 else {
            throw ValidationError("--interval \(interval): give seconds, more than 0 and at most 3600")
        }
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        if follow && log.isLockless {
            throw Failure(
                .io,
                "\(options.path): --follow needs read-write access to lock.mdb: without it, a writer that "
                    + "starts later would not see this reader and could reuse the pages it reads "
                    + "(docs/cli.md, 'Read-only access')")
        }
        let location = try location(to)
        let ledgerID = try log.ledgerID()
        let (batch, follow, interval) = (self.batch, self.follow, self.interval)
        if follow { StopSignal.watch() }
        let total = try runAsync {
            var total = ShipReport()
            var backoff = 1
            while true {
                do {
                    try await Replica.with(location) { replica in
                        var shipped: UInt64?
                        repeat {
                            var progress = Progress(label: "replicate", total: try log.head().position)
                            let report = try await replica.ship(
                                log, batch: batch, shippedUpTo: shipped, stop: { StopSignal.isSet }
                            ) { done, _ in progress.update(done) }
                            progress.finish()
                            total.shipped += report.shipped
                            total.alreadyThere += report.alreadyThere
                            total.head = report.head
                            shipped = report.head
                            backoff = 1
                            if follow && report.shipped > 0 {
                                print(
                                    "shipped \(report.shipped) events; the replica holds positions 1...\(report.head)"
                                )
                            }
                            if follow && !StopSignal.isSet {
                                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                            }
                        } while follow && !StopSignal.isSet
                    }
                    return total
                } catch ReplicationError.server(let server, let reason) where follow && !StopSignal.isSet {
                    // A follower outlives the server's restarts: it says so, waits, and connects again.
                    FileHandle.standardError.write(
                        Data("replicate: \(server): \(reason); retrying in \(backoff) s\n".utf8))
                    for _ in 0..<(backoff * 10) where !StopSignal.isSet {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    backoff = min(backoff * 2, 30)
                    if StopSignal.isSet { return total }
                }
            }
        }
        print(
            "replicated ledger \(ledgerID.uuidString.lowercased()) to \(location): \(total.shipped) events shipped, "
                + "\(total.alreadyThere) already there; the replica holds positions 1...\(total.head)")
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a ledger from its replica in PostgreSQL (docs/operations.md).",
        discussion: """
            Reads the events of ledger --ledger-id from the replica in position order and writes them \
            into a new ledger at --to (written beside and renamed into place when complete), with the \
            same ledger id and creation time. Every record written is compared byte for byte with the \
            replica's, so the restored ledger has the shipped head hash and the signed checkpoints of the \
            original still verify. The read model is rebuilt. The pseudonym secret, the key store and the \
            checkpoint key are never in PostgreSQL: copy them from their own backup (without the key \
            store, sealed identities cannot be read). Exit 76 when the replica misses positions or a \
            record differs, 74 when the server cannot be reached, 65 when --to already exists. With \
            --read-only, the new ledger is a copy for reading elsewhere (statistics, reports, verify): \
            every append to it is refused (65), since it would fork the history under the same ledger id.
            """)

    @Option(help: "The replica: postgres://USER@HOST:PORT/DATABASE (or ?host=/socket/dir).") var from: String
    @Option(
        name: .customLong("ledger-id"), help: "The id of the ledger to restore (ledgerctl info shows it).")
    var ledgerID: String
    @Option(help: "The ledger to write (must not exist, or be empty).") var to: String
    @Flag(help: "Write a read-only copy, for people who work elsewhere: appends to it are refused.")
    var readOnly = false

    func validate() throws {
        _ = try location(from)
        guard UUID(uuidString: ledgerID) != nil else {
            throw ValidationError("--ledger-id \(ledgerID): not a UUID (ledgerctl info shows a ledger's id)")
        }
        guard !to.isEmpty else { throw ValidationError("--to: give a directory") }
    }

    func run() throws {
        let location = try location(from)
        let id = UUID(uuidString: ledgerID)!
        let target = EventLog.siblingPath(ofLedger: to, suffix: "")
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
        if FileManager.default.fileExists(atPath: target), !existing.isEmpty || !isDirectory(target) {
            throw Failure(.badInput, "--to: \(target) already exists; restore into a new name")
        }
        if FileManager.default.fileExists(atPath: target + ".projections") {
            throw Failure(.badInput, "--to: \(target).projections already exists; restore into a new name")
        }
        let head = try runAsync {
            try await Replica.with(location, createTables: false) { replica in
                var progress = Progress(label: "restore", total: 0)
                let head = try await replica.restore(id, to: target, readOnlyCopy: readOnly) { done, total in
                    if progress.total != total { progress = Progress(label: "restore", total: total) }
                    progress.update(done)
                }
                progress.finish()
                return head
            }
        }
        print(
            "restored \(head.position) events of ledger \(id.uuidString.lowercased()) from \(location) to \(target) "
                + "(head hash \(head.hash.hexString))")
        _ = try rebuildReadModel(ofNewLedger: target)
        if readOnly {
            print("\(target) is a read-only copy: queries, reports and verify work; appends are refused")
        } else if !FileManager.default.fileExists(atPath: target + ".keys") {
            note(
                "the key store, the pseudonym secret and the checkpoint key are not in PostgreSQL: copy "
                    + "\(target).keys, \(target).secret and \(target).checkpoint-key from their backup "
                    + "(docs/operations.md, 'Keys')")
        }
    }
}

private func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}

/// The replica's location, or a usage error (64) naming what is wrong in it.
private func location(_ url: String) throws -> ReplicaLocation {
    do {
        return try ReplicaLocation(url: url)
    } catch {
        throw ValidationError(error.description)
    }
}

/// Runs `body` on the concurrency pool and waits for it: ledgerctl's commands are synchronous.
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await body()
            outcome.withLock { $0 = .success(value) }
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try outcome.withLock { $0! }.get()
}

/// Set once SIGINT or SIGTERM arrives (after ``watch()``): a follower finishes its batch, then stops.
enum StopSignal {
    private static let requested = Atomic<Bool>(false)
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    /// Catches SIGINT and SIGTERM from now on.
    static func watch() {
        sources.withLock { sources in
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { requested.store(true, ordering: .relaxed) }
                source.resume()
                sources.append(source)
            }
        }
    }

    static var isSet: Bool { requested.load(ordering: .relaxed) }
}
