import Foundation
import LMDB
import Testing

@testable import Ledger

@Suite("The event log")
struct EventLogTests {
    @Test("positions start at 1 and are gapless; stream versions start at 0")
    func positionsAndVersions() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let results = try log.appendBlocking([event("a"), event("b"), event("a")])
        #expect(results.map(\.position) == [1, 2, 3])
        #expect(results.map(\.streamVersion) == [0, 0, 1])
        #expect(try log.head().position == 3)
        #expect(try log.streamVersion("a") == 1)
        #expect(try log.streamVersion("missing") == nil)
        #expect(try log.stream("a").map(\.position) == [1, 3])
        #expect(try log.stream("a", fromVersion: 1).map(\.position) == [3])
    }

    @Test(
        "a ledger marked as a read-only copy refuses every append, now and after reopening, and reads as before"
    )
    func readOnlyCopyRefusesAppends() async throws {
        let ledger = TemporaryLedger()
        var log = try ledger.open()
        _ = try log.appendBlocking([event("a"), event("b")])
        let head = try log.head()
        try log.markReadOnlyCopy(source: "restored from the replica at postgres://ledger@db2/t")
        log.close()
        log = try ledger.open()
        defer { log.close() }
        func isCopyRefusal(_ error: LedgerError) -> Bool {
            if case .readOnlyCopy(_, let source) = error { return source.contains("postgres://ledger@db2/t") }
            return false
        }
        #expect(throws: LedgerError.self) { try log.appendBlocking([event("c")]) }
        do {
            _ = try log.appendBlocking([event("c")])
        } catch {
            #expect(isCopyRefusal(error))
            #expect(error.description.contains("read-only copy"))
        }
        do {
            _ = try await log.append([event("c")])
            Issue.record("an async append to a read-only copy was accepted")
        } catch {
            #expect(isCopyRefusal(error))
        }
        let bulk = BulkAppender(log: log)
        do {
            try bulk.submit([event("c")])
            Issue.record("a bulk append to a read-only copy was accepted")
        } catch {
            #expect(isCopyRefusal(error))
        }
        #expect(try log.head() == head)
        #expect(try log.info().readOnlyCopy == "restored from the replica at postgres://ledger@db2/t")
        #expect(try log.verify().isValid)
    }

    @Test("a deterministic id from two halves equals the one from their big-endian bytes, version 8")
    func deterministicIDs() {
        let high: UInt64 = 0x0123_4567_89AB_CDEF
        let low: UInt64 = 42
        let bytes = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
        let id = UUID(deterministic: high, low)
        #expect(id == UUID(deterministic: bytes))
        #expect(id.uuidString.hasPrefix("01234567-89AB-8DEF-8000-"))
        #expect(UUID(deterministic: high, 43) != id)
    }

    @Test("an event reads back exactly as appended")
    func roundTrip() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let e = event("cpam-34/contact/é", payload: Array(0..<200))
        _ = try log.appendBlocking([e])
        let stored = try #require(try log.event(at: 1))
        #expect(stored.id == e.id)
        #expect(stored.stream == e.stream)
        #expect(stored.type == e.type)
        #expect(stored.platform == e.platform)
        #expect(stored.occurredAt == e.occurredAt)
        #expect(stored.recordedAt == e.recordedAt)
        #expect(stored.payload == e.payload)
        #expect(stored.hash.count == 32)
        #expect(try log.position(of: e.id) == 1)
    }

    @Test("a wrong expected version is refused with stream, expected and actual, and nothing is written")
    func optimisticConcurrency() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event("s", expected: .noStream)])
        let before = try log.head()
        #expect(throws: LedgerError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 0)) {
            try log.appendBlocking([event("t"), event("s", expected: .noStream)])
        }
        #expect(throws: LedgerError.wrongExpectedVersion(stream: "s", expected: .exact(5), actual: 0)) {
            try log.appendBlocking([event("s", expected: .exact(5))])
        }
        #expect(throws: LedgerError.wrongExpectedVersion(stream: "new", expected: .exact(0), actual: nil)) {
            try log.appendBlocking([event("new", expected: .exact(0))])
        }
        #expect(try log.head() == before)
        #expect(try log.streamVersion("t") == nil)
        let ok = try log.appendBlocking([event("s", expected: .exact(0)), event("s", expected: .exact(1))])
        #expect(ok.map(\.streamVersion) == [1, 2])
    }

    @Test("appending a known id again returns its original position and writes nothing")
    func idempotentRetry() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let e = event("s", expected: .noStream)
        let first = try log.appendBlocking([e, event("s")])
        let head = try log.head()
        let again = try log.appendBlocking([e])
        #expect(again == [AppendResult(position: first[0].position, streamVersion: 0, wasDuplicate: true)])
        #expect(try log.head() == head)
        // Idempotency is for ever: it holds after reopening too.
        log.close()
        let reopened = try ledger.open()
        #expect(try reopened.appendBlocking([e]).first?.wasDuplicate == true)
        #expect(try reopened.head() == head)
    }

    @Test("the same id with different content is refused and names the field")
    func idempotencyConflict() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let e = event("s")
        _ = try log.appendBlocking([e])
        var changed = e
        changed.payload = [9]
        #expect(throws: LedgerError.idempotencyConflict(id: e.id, position: 1, field: "payload")) {
            try log.appendBlocking([event("x"), changed])
        }
        var moved = e
        moved.stream = "other"
        #expect(throws: LedgerError.idempotencyConflict(id: e.id, position: 1, field: "stream")) {
            try log.appendBlocking([moved])
        }
        #expect(try log.head().position == 1)
    }

    @Test("a batch is all or nothing")
    func batchAtomicity() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event("a")])
        let head = try log.head()
        let bad = [event("b"), event("c"), event("a", expected: .noStream), event("d")]
        #expect(throws: LedgerError.self) { try log.appendBlocking(bad) }
        #expect(try log.head() == head)
        for stream in ["b", "c", "d"] { #expect(try log.streamVersion(stream) == nil) }
        #expect(try log.verify().isValid)
    }

    @Test("events with empty, oversized or NUL names, or times out of range, are refused with the field")
    func invalidEvents() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        var empty = event("")
        #expect(throws: LedgerError.invalidEvent(index: 0, field: "stream", reason: "must not be empty")) {
            try log.appendBlocking([empty])
        }
        empty = event("s", type: String(repeating: "x", count: 256))
        #expect(throws: LedgerError.self) { try log.appendBlocking([event("ok"), empty]) }
        var old = event("s")
        old.occurredAt = Timestamp(millisecondsSince1970: .min)
        do {
            _ = try log.appendBlocking([old])
            Issue.record("a time out of range was accepted")
        } catch {
            guard case .invalidEvent(0, "occurredAt", _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
        }
        #expect(try log.head().position == 0)
    }

    @Test("filters by type and platform select events without decoding payloads")
    func filters() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([
            event("a", type: "CallPlaced"), event("a", type: "SMSSent"),
            NewEvent(stream: "b", type: "CallPlaced", platform: "cpam-11", occurredAt: .now()),
        ])
        #expect(try log.events(filter: EventFilter(types: ["CallPlaced"])).map(\.position) == [1, 3])
        #expect(try log.events(filter: EventFilter(platforms: ["cpam-11"])).map(\.position) == [3])
        #expect(try log.events(from: 2).map(\.position) == [2, 3])
        #expect(try log.events(from: 1, limit: 1).map(\.position) == [1])
    }

    @Test("the log reopens after close with everything in place")
    func reopen() throws {
        let ledger = TemporaryLedger()
        var head: LogHead
        do {
            let log = try ledger.open()
            _ = try log.appendBlocking((0..<100).map { event("s\($0 % 7)") })
            head = try log.head()
            log.close()
            #expect(throws: LedgerError.closed) { try log.appendBlocking([event()]) }
        }
        let reopened = try ledger.open()
        #expect(try reopened.head() == head)
        let next = try reopened.appendBlocking([event("s0")])
        #expect(next[0].position == 101)
        #expect(try reopened.verify().isValid)
        let readOnly = try ledger.open(.init(readOnly: true))
        #expect(try readOnly.head().position == 101)
        #expect(throws: LedgerError.readOnly) { try readOnly.appendBlocking([event()]) }
    }

    @Test("the map grows by itself far past its initial size")
    func mapGrowth() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open(.init(initialMapSize: 256 << 10))
        let payload = [UInt8](repeating: 7, count: 2000)
        for batch in 0..<20 {
            _ = try log.appendBlocking((0..<250).map { event("s\(batch)-\($0 % 10)", payload: payload) })
        }
        let info = try log.info()
        #expect(info.head.position == 5000)
        #expect(info.mapSize >= 8 * (256 << 10))
        #expect(try log.verify().isValid)
    }

    @Test("a ledger of another format version is refused, never misread")
    func unknownFormatVersion() throws {
        let ledger = TemporaryLedger()
        do {
            let log = try ledger.open()
            _ = try log.appendBlocking([event()])
            try log.env.write { (txn: LedgerTransaction) throws(LedgerError) in
                try EventLog.putMeta(
                    txn, log.dbs.meta, LedgerFormat.MetaKey.formatVersion, littleEndianBytes(UInt32(99)))
            }
            log.close()
        }
        #expect(throws: LedgerError.unsupportedFormat(found: 99, supported: LedgerFormat.version)) {
            try ledger.open()
        }
        #expect(throws: LedgerError.unsupportedFormat(found: 99, supported: LedgerFormat.version)) {
            try ledger.open(.init(readOnly: true))
        }
    }

    @Test("a file where a ledger should be is refused clearly")
    func notALedger() throws {
        let ledger = TemporaryLedger()
        _ = FileManager.default.createFile(atPath: ledger.path, contents: Data("hello".utf8))
        #expect(
            throws: LedgerError.notALedger(
                path: ledger.path, reason: "it is a file, and a ledger is a directory")
        ) {
            try ledger.open()
        }
    }

    @Test(
        "a timestamp's RFC 3339 text: milliseconds only when not zero, every accepted year, and it parses back"
    )
    func timestampText() throws {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00Z"), (1, "1970-01-01T00:00:00.001Z"), (10, "1970-01-01T00:00:00.010Z"),
            (100, "1970-01-01T00:00:00.100Z"), (999, "1970-01-01T00:00:00.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (1_589_275_800_000, "2020-05-12T09:30:00Z"),
            (Timestamp.earliest.millisecondsSince1970, "1900-01-01T00:00:00Z"),
            (Timestamp.latest.millisecondsSince1970, "9999-12-31T23:59:59.999Z"),
        ]
        for (milliseconds, text) in cases {
            let time = Timestamp(millisecondsSince1970: milliseconds)
            #expect(time.description == text)
            #expect(Timestamp(text) == time)
        }
        // Outside the accepted years (not storable, still printable): the year is written out.
        #expect(
            Timestamp(millisecondsSince1970: -62_135_596_800_000 + 86_400_000).description.hasSuffix(
                "-01-02T00:00:00Z"))
    }
}
