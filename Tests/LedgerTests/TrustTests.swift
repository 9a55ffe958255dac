import CLMDB
import Foundation
import LMDB
import Testing

@testable import Ledger

/// The integrity and security defects an outsider found (issue 13), each reproduced first.
@Suite("trust")
struct TrustTests {
    @Test("a name spelled in NFC and in NFD is one stream in one key, in one batch or two, and verify holds")
    func unicodeNamesAreOneKey() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let nfc = "cpam-34/p0/H\u{E9}l\u{E8}ne"
        let nfd = "cpam-34/p0/He\u{301}le\u{300}ne"
        #expect(Array(nfc.utf8) != Array(nfd.utf8))
        _ = try log.appendBlocking([event(nfc)])
        _ = try log.appendBlocking([event(nfd, expected: .exact(0))])
        _ = try log.appendBlocking([event(nfd), event(nfc)])
        #expect(try log.streamVersion(nfc) == 3)
        #expect(try log.streamVersion(nfd) == 3)
        #expect(try log.stream(nfd).count == 4)
        #expect(try log.info().streams == 1)
        #expect(try storedStreamNames(log).allSatisfy { $0 == Array(nfc.utf8) })
        #expect(try log.verify().isValid)
        let filtered = try log.events(filter: EventFilter(streams: [nfd]))
        #expect(filtered.count == 4)
        #expect(LedgerFormat.normalize(nfd) == nfc && LedgerFormat.normalize("ascii/1") == "ascii/1")
    }

    @Test("the bulk path stores names in NFC too: an NFD stream is the NFC stream, and verify holds")
    func bulkAppenderNormalizesNames() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let nfc = "cpam-34/p0/H\u{E9}l\u{E8}ne"
        let nfd = "cpam-34/p0/He\u{301}le\u{300}ne"
        let appender = BulkAppender(log: log)
        try appender.submit([event(nfd), event(nfc, expected: .exact(0))])
        try appender.submit([event(nfd, expected: .exact(1))])
        #expect(try appender.finish().appended == 3)
        _ = try log.appendBlocking([event(nfc, expected: .exact(2))])
        #expect(try log.info().streams == 1)
        #expect(try log.stream(nfd).count == 4)
        #expect(try storedStreamNames(log).allSatisfy { $0 == Array(nfc.utf8) })
        #expect(try log.verify().isValid)
    }

    @Test("the lock file has its disk blocks before LMDB maps it, so a full disk cannot SIGBUS a reader")
    func lockFileIsPreallocated() throws {
        let ledger = TemporaryLedger()
        _ = try ledger.open()
        var info = stat()
        #expect(stat(ledger.path + "/lock.mdb", &info) == 0)
        #expect(Int(info.st_size) >= Environment.lockFileSize(maxReaders: 254))
        #expect(Int(info.st_blocks) * 512 >= Int(info.st_size))
    }

    @Test(
        "a backup refuses a directory that is not empty and leaves it as it was; no partial directory remains"
    )
    func backupTarget() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking((0..<20).map { event("s\($0 % 3)") })
        let target = ledger.directory + "/copy"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: target + "/notes.txt", contents: Data("keep".utf8))
        #expect(throws: LedgerError.self) { try log.backup(to: target) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["notes.txt"])
        // An empty directory is taken.
        try FileManager.default.removeItem(atPath: target + "/notes.txt")
        let head = try log.backup(to: target + "/")
        #expect(head == (try log.head()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["data.mdb"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ledger.directory)
            .filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty)
    }

    @Test("a tail cut consistently passes verify, and a signed checkpoint names the missing position")
    func cutTailBreaksCheckpoint() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking((0..<30).map { event("s\($0 % 4)") })
        let statement = try log.writeCheckpoint()
        #expect(statement.signatureHolds)
        #expect(try log.check(statement, trustedKey: nil) == nil)
        try cutTail(of: log, keeping: 25)
        #expect(try log.verify().isValid, "a consistent cut is invisible to the hash chain alone")
        let problem = try #require(try log.check(statement, trustedKey: nil))
        #expect(problem.contains("no longer holds position 30"))
        #expect(problem.contains("head is now position 25"))
    }

    @Test("an event changed and every later hash recomputed passes verify, and a signed checkpoint fails")
    func rechainedHistoryBreaksCheckpoint() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking((0..<30).map { i in event("s\(i % 4)", payload: [UInt8(i), 7, 7]) })
        let statement = try log.writeCheckpoint()
        try rechain(log, changing: 10)
        #expect(try log.verify().isValid, "a re-chained log verifies on its own")
        let problem = try #require(try log.check(statement, trustedKey: nil))
        #expect(problem.contains("position 30"))
        #expect(problem.contains("rewritten"))
    }

    @Test("a checkpoint statement round-trips through its text; a changed line or another key is refused")
    func checkpointText() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event()])
        let first = try log.writeCheckpoint()
        let second = try log.writeCheckpoint()
        let file = CheckpointKey.checkpointsPath(ofLedger: ledger.path)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try SignedCheckpoint.parseAll(text) == [first, second])
        #expect(
            try SignedCheckpoint.parseAll(
                first.text.replacingOccurrences(of: "position 1", with: "position 0")
            )
            .first?.signatureHolds == false)
        let own = try CheckpointKey(path: CheckpointKey.path(ofLedger: ledger.path), create: false)
        let other = TemporaryLedger()
        let otherKey = try CheckpointKey(path: other.directory + "/key", create: true)
        let forged = try otherKey.sign(ledgerID: try log.ledgerID(), head: try log.head(), time: .now())
        #expect(try log.check(forged, trustedKey: nil) == nil)
        #expect(
            try log.check(forged, trustedKey: own.publicKey)?.contains("not by this ledger's key") == true)
        var mode = stat()
        #expect(stat(CheckpointKey.path(ofLedger: ledger.path), &mode) == 0)
        #expect(mode.st_mode & 0o777 == 0o600)
        #expect(throws: CheckpointParseError.self) {
            try SignedCheckpoint.parseAll("tracing-ledger checkpoint v1\nledger x\n")
        }
    }

    /// Removes every event after `keep` with its index entries, as someone with write access to the
    /// files could: the result is a consistent, shorter log.
    func cutTail(of log: EventLog, keeping keep: UInt64) throws {
        let tail = try log.events(from: keep + 1)
        try log.env.writePassingErrors { txn in
            for event in tail.reversed() {
                let (position, id, stream, version) = (
                    event.position, withUnsafeBytes(of: event.id.uuid) { Array($0) }, event.stream,
                    event.streamVersion
                )
                _ = try withBigEndianKey(position) { try txn.delete(log.dbs.events, $0, "events") }
                _ = try id.withUnsafeBytes { try txn.delete(log.dbs.eventIDs, $0, "event_ids") }
                let entry = try Array(stream.utf8).withUnsafeBytes { k in
                    try #require(try txn.get(log.dbs.streams, k, "streams")).map { $0 }
                }
                let number = readBigEndianUInt64(entry.withUnsafeBytes { $0 })
                _ = try withBigEndianKey(number) { key in
                    try withBigEndianKey(position) { value in
                        try txn.delete(log.dbs.streamEvents, key, value: value, "stream_events")
                    }
                }
                // A stream's count is its duplicates in stream_events: only its first event's
                // removal removes the stream.
                if version == 0 {
                    _ = try Array(stream.utf8).withUnsafeBytes { k in
                        try txn.delete(log.dbs.streams, k, "streams")
                    }
                    _ = try withBigEndianKey(number) {
                        try txn.delete(log.dbs.streamNames, $0, "stream_names")
                    }
                }
            }
        }
    }

    /// Changes the last byte of the event at `position` and recomputes every hash from there on.
    func rechain(_ log: EventLog, changing position: UInt64) throws {
        let head = try log.head().position
        let names = try log.events(from: position).map {
            (Array($0.type.utf8), Array($0.platform.utf8), Array($0.stream.utf8))
        }
        try log.env.writePassingErrors { txn in
            var previous = try withBigEndianKey(position - 1) { key in
                Array(try #require(try txn.get(log.dbs.events, key, "e"))[0..<32])
            }
            for p in position...head {
                var record = try withBigEndianKey(p) { key in
                    Array(try #require(try txn.get(log.dbs.events, key, "e")))
                }
                if p == position { record[record.count - 1] ^= 0x55 }
                let (type, platform, stream) = names[Int(p - position)]
                let digest = record[32...].withUnsafeBytes { body in
                    type.withUnsafeBytes { t in
                        platform.withUnsafeBytes { pl in
                            stream.withUnsafeBytes { s in
                                chainHash(previous: previous, body: body, names: (t, pl, s))
                            }
                        }
                    }
                }
                record.replaceSubrange(0..<32, with: digest)
                try withBigEndianKey(p) { key in
                    try record.withUnsafeBytes { try txn.put(log.dbs.events, key, $0, "events") }
                }
                previous = digest
            }
        }
    }
}

@Suite("reads and writes")
struct ReentrancyTests {
    @Test("appending from inside a read of the same ledger is a clear error, never a deadlock")
    func appendInsideReadIsRefused() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event("s")])
        var refused: LedgerError?
        try log.forEach { _ in
            do {
                _ = try log.appendBlocking([event("s")])
            } catch {
                refused = error as? LedgerError
            }
            return false
        }
        #expect(refused == .appendInsideRead)
        _ = try log.withSnapshot { _ in
            #expect(throws: LedgerError.appendInsideRead) { try log.appendBlocking([event("s")]) }
        }
        // After the read, appends work again.
        #expect(try log.appendBlocking([event("s")]).first?.position == 2)
    }
}

/// A caller's own error, to check that the ledger hands it back as it was thrown.
private struct CallerStopped: Error, Equatable {
    let at: UInt64
}

@Suite("errors keep their type")
struct ErrorTypeTests {
    @Test("a caller's error thrown inside each kind of read reaches the caller unchanged, and the read ends")
    func callerErrorPassesThroughReads() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking((0..<5).map { _ in event("s") })
        #expect(throws: CallerStopped(at: 2)) {
            try log.forEach { view in
                if view.position == 2 { throw CallerStopped(at: 2) }
                return true
            }
        }
        #expect(throws: CallerStopped(at: 3)) {
            try log.forEachInStream("s") { view in
                if view.position == 3 { throw CallerStopped(at: 3) }
                return true
            }
        }
        #expect(throws: CallerStopped(at: 4)) {
            try log.forEach(positions: [1, 4, 5]) { view in
                if view.position == 4 { throw CallerStopped(at: 4) }
            }
        }
        #expect(throws: CallerStopped(at: 5)) {
            try log.withSnapshot { snapshot in
                try snapshot.forEach { view in
                    if view.position == 5 { throw CallerStopped(at: 5) }
                    return true
                }
            }
        }
        // The reads ended: an append works, and the ledger's own failures are still LedgerError.
        #expect(try log.appendBlocking([event("s")]).first?.position == 6)
        #expect(throws: LedgerError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 5)) {
            try log.appendBlocking([event("s", expected: .noStream)])
        }
    }

    @Test("batches sharing a group commit while the map fills: the map grows, one refusal stays that batch's")
    func mapFullInsideSharedCommitIsNotARefusal() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open(.init(initialMapSize: 128 << 10))
        _ = try log.appendBlocking([event("taken")])
        let payload = [UInt8](repeating: 9, count: 3000)
        let outcomes = await withTaskGroup(of: Result<Int, LedgerError>.self) { group in
            for client in 0..<16 {
                group.addTask {
                    let batch: [NewEvent] =
                        client == 7
                        ? [event("taken", expected: .noStream)]
                        : (0..<40).map { event("c\(client)-\($0 % 4)", payload: payload) }
                    do throws(LedgerError) {
                        return .success(try await log.append(batch).count)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all = [Result<Int, LedgerError>]()
            for await outcome in group { all.append(outcome) }
            return all
        }
        let refused = outcomes.compactMap { outcome -> LedgerError? in
            if case .failure(let error) = outcome { return error }
            return nil
        }
        #expect(
            refused == [LedgerError.wrongExpectedVersion(stream: "taken", expected: .noStream, actual: 0)])
        #expect(try log.head().position == 1 + 15 * 40)
        #expect(try log.info().mapSize > 128 << 10)
        #expect(try log.verify().isValid)
    }
}

/// The stream name of every record, as stored (bytes).
private func storedStreamNames(_ log: EventLog) throws -> [[UInt8]] {
    var stored = [[UInt8]]()
    try log.forEach { view in
        stored.append(Array(view.streamBytes))
        return true
    }
    return stored
}
