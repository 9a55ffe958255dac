import Crypto
import Foundation
import TestSupport
import Testing

/// The version 1 ledger kept in Tests/Fixtures/ledger-v1 (written by the last release that wrote
/// version 1: `ledgerctl simulate --profile pays-de-la-loire-2020 --scale 0.001`, then `backup` and
/// `checkpoint`), with its secret, key store, checkpoint key and statements, and its statistics.
private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../Fixtures/ledger-v1").standardizedFileURL.path

/// The head of the same history simulated straight into version 2 (SimulationTests pins it too).
private let simulatedHead = "c2142fea31b9ab12f5d7cdb06552652c5dd479e1d6f58d0bbf2d59faf195bd87"

/// A copy of the fixture in a temporary directory: `old` is the version 1 ledger, `new` the target.
private final class MigrationWorkspace: TemporaryLedger, @unchecked Sendable {
    var old: String { directory + "/v1.ledger" }
    var new: String { directory + "/v2.ledger" }

    init() throws {
        super.init(prefix: "ledgerctl-migrate-")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixture) {
            try FileManager.default.copyItem(atPath: fixture + "/" + name, toPath: directory + "/" + name)
        }
    }

    func digest(_ file: String) throws -> String {
        SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: file))).map { String(format: "%02x", $0) }
            .joined()
    }
}

@Suite("migrating a version 1 ledger")
struct MigrationTests {
    @Test("a version 1 ledger is refused with a message naming migrate, and left as it is")
    func versionOneIsRefused() throws {
        let w = try MigrationWorkspace()
        let before = try w.digest(w.old + "/data.mdb")
        for command in [["info"], ["stats", "--platform", "all"], ["verify"], ["append"]] {
            let run = try ledgerctl(command + ["--ledger", w.old], stdin: "")
            #expect(run.status == 65, "\(command): \(run.stderr)")
            #expect(run.stderr.contains("format version 1"), "\(command)")
            #expect(run.stderr.contains("ledgerctl migrate --from OLD --to NEW"), "\(command)")
        }
        #expect(try w.digest(w.old + "/data.mdb") == before)
        #expect(!FileManager.default.fileExists(atPath: w.old + ".projections"))
    }

    @Test(
        "migrate writes the same history in version 2: verify --source, statistics, keys and checkpoints carry over"
    )
    func migrateCarriesEverythingOver() throws {
        let w = try MigrationWorkspace()
        // An access log month is a ledger of the same format: it is migrated too.
        try FileManager.default.createDirectory(atPath: w.old + ".audit", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: w.old, toPath: w.old + ".audit/2026-11")
        let before = try w.digest(w.old + "/data.mdb")

        let run = try ledgerctl(["migrate", "--from", w.old, "--to", w.new])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("migrated 979 events"))
        #expect(try w.digest(w.old + "/data.mdb") == before, "the source is only read")

        let info = try ledgerctl(["info", "--ledger", w.new, "--format", "json"])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(object["formatVersion"] as? Int == 2)
        #expect(object["events"] as? Int == 979)
        #expect(
            object["headHash"] as? String == simulatedHead,
            "migrating gives what simulating into version 2 gives")

        let verified = try ledgerctl(["verify", "--ledger", w.new, "--source", w.old])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(
            verified.stdout.contains(
                "are this ledger's first 979, field by field; its 2 signed checkpoints hold"))

        let stats = try ledgerctl(["stats", "--ledger", w.new, "--platform", "all", "--by", "month"])
        #expect(stats.status == 0)
        #expect(
            stats.stdout == (try String(contentsOfFile: fixture + "/stats-by-month.txt", encoding: .utf8)))

        // The secret and the checkpoint key are the same files, still 0600; the key store opens the
        // identities sealed before (the case show of a patient zéro reveals nothing new, but the key
        // store holds the same keys).
        for suffix in [".secret", ".checkpoint-key", ".checkpoint-key.pub"] {
            #expect(try w.digest(w.new + suffix) == (try w.digest(w.old + suffix)), "\(suffix)")
        }
        let mode =
            try FileManager.default.attributesOfItem(atPath: w.new + ".secret")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(FileManager.default.fileExists(atPath: w.new + ".keys/data.mdb"))
        #expect(try w.digest(w.new + ".checkpoints-v1") == (try w.digest(w.old + ".checkpoints")))
        // The new ledger's own statement, and the source's statements of its migrated head, hold on it.
        for file in [w.new + ".checkpoints", w.new + ".checkpoints-v1"] {
            let checked = try ledgerctl(["verify", "--ledger", w.new, "--checkpoints", file])
            #expect(checked.status == 0, "\(file): \(checked.stderr)")
        }
        let audit = try ledgerctl([
            "verify", "--ledger", w.new + ".audit/2026-11", "--source", w.old + ".audit/2026-11",
        ])
        #expect(audit.status == 0, "\(audit.stderr)")
    }

    @Test("migrate refuses a taken target, a version 2 source and a rewritten source, and writes nothing")
    func migrateRefusals() throws {
        let w = try MigrationWorkspace()
        try FileManager.default.createDirectory(atPath: w.new, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: w.new + "/notes.txt"))
        let taken = try ledgerctl(["migrate", "--from", w.old, "--to", w.new])
        #expect(taken.status == 74 || taken.status == 65, "\(taken.stderr)")
        #expect(taken.stderr.contains("already exists"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.new) == ["notes.txt"])
        try FileManager.default.removeItem(atPath: w.new)

        #expect(try ledgerctl(["migrate", "--from", w.old, "--to", w.new]).status == 0)
        let again = try ledgerctl(["migrate", "--from", w.new, "--to", w.directory + "/v3.ledger"])
        #expect(again.status == 65)
        #expect(again.stderr.contains("needs no migration"))

        // One letter of an event type changed in the source's file: its hash chain no longer holds,
        // so nothing is migrated, and verify --source of the earlier migration fails.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: w.old + "/data.mdb"))
        let range = try #require(bytes.range(of: Data("CallPlaced".utf8)))
        bytes[range.lowerBound] = UInt8(ascii: "B")
        try bytes.write(to: URL(fileURLWithPath: w.old + "/data.mdb"))
        let rewritten = try ledgerctl(["migrate", "--from", w.old, "--to", w.directory + "/v4.ledger"])
        #expect(rewritten.status == 76, "\(rewritten.stderr)")
        #expect(rewritten.stderr.contains("hash chain of the version 1 ledger broken"))
        #expect(!FileManager.default.fileExists(atPath: w.directory + "/v4.ledger"))
        let partials = try FileManager.default.contentsOfDirectory(atPath: w.directory).filter {
            $0.contains("partial")
        }
        #expect(partials.isEmpty)
        let verified = try ledgerctl(["verify", "--ledger", w.new, "--source", w.old])
        #expect(verified.status == 76, "\(verified.stderr)")
    }
}
