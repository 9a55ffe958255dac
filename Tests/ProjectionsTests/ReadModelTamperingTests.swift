import CLMDB
import ContactTracing
import Foundation
import LMDB
import Ledger
import Testing

@testable import Projections

/// A read model is a cache the hash chain does not cover: damage to it must never become a figure.
@Suite("a damaged read model")
struct ReadModelTamperingTests {
    func ledger(_ scratch: Scratch) throws -> EventLog { try History.ledger(scratch) }

    @Test("rows without their checkpoint are rebuilt, not folded on again from position 1")
    func missingCheckpointIsRebuilt() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let model = try ReadModel(ledger: scratch.path)
        try model.catchUp(from: log)
        let before = try model.dump()
        let expected = try TracingProjection.rebuild(from: log).statistics(by: .day)
        try model.env.writePassingErrors { txn in
            let key = Array(ReadModel.MetaKey.checkpoint.utf8)
            _ = try key.withUnsafeBytes { try txn.delete(model.dbs.meta, $0, "meta") }
        }
        // A reader who may not write it is refused, naming the read model.
        #expect(throws: ProjectionError.self) { try model.read(catchingUpWith: log) { _ in 0 } }
        try model.catchUp(from: log)
        try model.read { view throws in
            #expect(try view.statistics(platforms: nil, by: .day) == expected)
        }
        #expect(try model.dump() == before)
    }

    @Test(
        "verify --report recomputes from the log: a tampered cell neither breaks an honest report nor passes a forged one"
    )
    func reportCheckIgnoresTheReadModel() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let model = try ReadModel(ledger: scratch.path)
        try model.catchUp(from: log)
        let honest = try model.read { try ClosureReport(platform: "cpam-34", queries: $0) }
        let json = try honest.json()
        // Add 100 outbound calls to every stored cell of cpam-34.
        try model.env.writePassingErrors { txn in
            var cells = [([UInt8], StoredCell)]()
            try txn.withCursor(model.dbs.cells, "cells") { cursor in
                var entry = try cursor.move(MDB_FIRST)
                while let (key, value) = entry {
                    if key.starts(with: Array("cpam-34".utf8)) {
                        cells.append((Array(key), try StoredCell(stored: value)))
                    }
                    entry = try cursor.move(MDB_NEXT)
                }
            }
            for (key, var cell) in cells {
                cell[.outboundCalls] += 100
                try ReadModel.put(model.dbs.cells, key, cell.encoded(), txn: txn, "cells")
            }
        }
        let tampered = try model.read { try ClosureReport(platform: "cpam-34", queries: $0) }
        #expect(tampered.channelMix != honest.channelMix, "the tampering shows in the stored read model")
        #expect(try ClosureReport.check(Data(json.utf8), against: log) == nil)
        let forged = try tampered.json()
        let problem = try ClosureReport.check(Data(forged.utf8), against: log)
        #expect(problem?.contains("outboundCalls") == true, "\(problem ?? "accepted")")
    }

    @Test("temporary read models of processes that died are swept; a live process's are kept")
    func staleTemporaryReadModelsAreSwept() throws {
        let base = NSTemporaryDirectory() + "sweep-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        // pid 2^22 + 1 is above Linux's pid_max default range: no such process.
        let dead = base + "/\(ReadModel.temporaryPrefix)4194305-7"
        let mine = base + "/\(ReadModel.temporaryPrefix)\(getpid())-8"
        let other = base + "/unrelated-1-2"
        for path in [dead, mine, other] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        ReadModel.sweepTemporary(in: base)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: mine))
        #expect(FileManager.default.fileExists(atPath: other))
    }
}
