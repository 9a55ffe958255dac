import Crypto
import Foundation
import LMDB
import Testing

@testable import Ledger

@Suite("Integrity")
struct IntegrityTests {
    @Test("each stored hash is SHA-256 of the previous hash, the record body and the names it numbers")
    func hashChain() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event("a"), event("b")])
        var previous = [UInt8](repeating: 0, count: 32)
        try log.forEach { view in
            var hasher = SHA256()
            hasher.update(data: previous)
            hasher.update(bufferPointer: view.body)
            hasher.update(data: Array((view.type + "\0" + view.platform + "\0" + view.stream).utf8))
            let digest = Array(hasher.finalize())
            #expect(Array(view.hash) == digest)
            previous = digest
            return true
        }
        #expect(try log.head().hash == previous)
    }

    @Test("verify finds one flipped bit in a stored event and names its position")
    func flippedBit() throws {
        let ledger = TemporaryLedger()
        let marker = Array("FLIP-ME-MARKER-0123456789".utf8)
        do {
            let log = try ledger.open()
            _ = try log.appendBlocking(
                (1...50).map { i in event("s\(i % 5)", payload: i == 37 ? marker : [UInt8(i)]) })
            #expect(try log.verify().isValid)
            log.close()
        }
        let file = ledger.path + "/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: file))
        let offset = try #require(bytes.firstRange(of: Data(marker))?.lowerBound)
        bytes[offset + 3] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let log = try ledger.open(.init(readOnly: true))
        let report = try log.verify()
        #expect(report.failure?.position == 37)
        #expect(report.failure?.reason.contains("hash chain") == true)
        #expect(report.eventsChecked == 36)
    }

    @Test("verify finds an index entry that points to the wrong event")
    func brokenIndex() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let events = (0..<10).map { _ in event("s") }
        _ = try log.appendBlocking(events)
        try log.env.writePassingErrors { txn in
            try withUnsafeBytes(of: events[4].id.uuid) { key in
                try withBigEndianKey(9) { value in try txn.put(log.dbs.eventIDs, key, value, "event_ids") }
            }
        }
        let report = try log.verify()
        #expect(report.failure?.position == 5)
        #expect(report.failure?.reason.contains("event_ids") == true)
    }

    @Test(
        "a stream's count is its duplicates in stream_events: appends to it leave streams alone; verify checks both"
    )
    func streamCountFromDuplicates() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking([event("s"), event("t")])
        func streamsEntry() throws -> [UInt8]? {
            try log.env.readPassingErrors { txn in
                try Array("s".utf8).withUnsafeBytes {
                    try txn.get(log.dbs.streams, $0, "streams").map(Array.init)
                }
            }
        }
        let before = try streamsEntry()
        #expect(before == [0, 0, 0, 0, 0, 0, 0, 1])
        _ = try log.appendBlocking([event("s", expected: .exact(0)), event("s", expected: .exact(1))])
        #expect(try streamsEntry() == before)
        #expect(try log.streamVersion("s") == 2)
        #expect(try log.stream("s").map(\.streamVersion) == [0, 1, 2])
        #expect(throws: LedgerError.self) { try log.appendBlocking([event("s", expected: .exact(1))]) }
        #expect(try log.verify().isValid)

        // An entry of another size, or a stream without any event, is named by verify.
        try log.env.writePassingErrors { txn in
            try Array("s".utf8).withUnsafeBytes { k in
                try withUnsafeBytes(of: (UInt64(1).bigEndian, UInt64(3).bigEndian)) {
                    try txn.put(log.dbs.streams, k, $0, "streams")
                }
            }
        }
        #expect(try log.verify().failure?.reason.contains("16-byte streams entry") == true)
        try log.env.writePassingErrors { txn in
            try Array("s".utf8).withUnsafeBytes { k in
                try withBigEndianKey(1) { try txn.put(log.dbs.streams, k, $0, "streams") }
            }
            try Array("ghost".utf8).withUnsafeBytes { k in
                try withBigEndianKey(9) { try txn.put(log.dbs.streams, k, $0, "streams") }
            }
        }
        let failure = try log.verify().failure
        #expect(failure?.reason.contains("streams") == true)
    }

    @Test("renaming a platform or a stream in the name tables breaks the hash chain at its first event")
    func renamedNames() throws {
        for table in ["names", "stream_names"] {
            let ledger = TemporaryLedger()
            let log = try ledger.open()
            var first = event("s1")
            first.platform = "cpam-34"
            var second = event("s2")
            second.platform = "cpam-11"
            _ = try log.appendBlocking([first, second, event("s1")])
            #expect(try log.verify().isValid)
            // The platform cpam-11 in `names`, or the stream s2 (number 2) in `stream_names`, is
            // given another name of the same length, as someone with write access to the files could.
            try log.env.writePassingErrors { txn in
                if table == "names" {
                    let number = try #require(
                        try ([NameKind.platform.rawValue] + Array("cpam-11".utf8)).withUnsafeBytes {
                            try txn.get(log.dbs.nameNumbers, $0, "name_numbers").map { Array($0) }
                        })
                    try number.withUnsafeBytes { key in
                        try ([NameKind.platform.rawValue] + Array("cpam-99".utf8)).withUnsafeBytes {
                            try txn.put(log.dbs.names, key, $0, "names")
                        }
                    }
                } else {
                    try withBigEndianKey(2) { key in
                        try Array("s9".utf8).withUnsafeBytes {
                            try txn.put(log.dbs.streamNames, key, $0, "stream_names")
                        }
                    }
                }
            }
            let report = try EventLog(path: ledger.path, options: .init(readOnly: true)).verify()
            #expect(report.failure?.position == 2, "\(table): \(String(describing: report.failure))")
            #expect(report.failure?.reason.contains("hash chain broken") == true, "\(table)")
        }
    }

    @Test("a backup is a consistent, verifiable copy with the same head")
    func backup() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try log.appendBlocking((0..<500).map { event("s\($0 % 13)") })
        let target = ledger.directory + "/backup"
        try log.backup(to: target)
        let copy = try EventLog(path: target, options: .init(readOnly: true))
        #expect(try copy.head() == log.head())
        #expect(try copy.verify().isValid)
        #expect(throws: LedgerError.self) { try log.backup(to: target) }
    }
}
