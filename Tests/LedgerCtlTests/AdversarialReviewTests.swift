import Foundation
import Testing

/// The second round of trust defects: what an adversarial review of the first round's fixes found,
/// reproduced through the command line.
@Suite("trust, second round", .serialized)
struct AdversarialReviewTests {
    @Test("a schemaVersion other than the build's is refused at append with 65; the ledger is unchanged")
    func futureSchemaVersionIsRefused() throws {
        let w = Workspace()
        #expect(try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n").status == 0)
        let head = try w.headHash()
        for version in ["2", "0"] {
            let run = try ledgerctl(
                ["append", "--ledger", w.ledger, "-"],
                stdin: line(extra: #","schemaVersion":\#(version)"#) + "\n")
            #expect(run.status == 65, "\(version): \(run.stderr)")
            #expect(run.stderr.contains("-:1: field 'schemaVersion'"), "\(run.stderr)")
        }
        let newer = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"], stdin: line(extra: #","schemaVersion":2"#) + "\n")
        #expect(newer.stderr.contains("newer than this build's version of CallPlaced (1)"), "\(newer.stderr)")
        #expect(try w.headHash() == head)
        #expect(try ledgerctl(["stats", "--ledger", w.ledger]).status == 0)
        #expect(
            try ledgerctl(
                ["append", "--ledger", w.ledger, "-"], stdin: line(extra: #","schemaVersion":1"#) + "\n"
            )
            .status == 0)
    }

    @Test("a name of 254 bytes in NFC is accepted even when sent in NFD (380 bytes)")
    func nameLengthIsMeasuredInNFC() throws {
        let w = Workspace()
        let body = String(repeating: "\u{E9}", count: 121)  // 242 bytes in NFC, 363 in NFD
        let nfd = "cpam-34/p0/" + body.decomposedStringWithCanonicalMapping
        #expect(nfd.utf8.count > 255)
        let run = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(stream: nfd) + "\n")
        #expect(run.status == 0, "\(run.stderr)")
        let read = try ledgerctl(["read", "--ledger", w.ledger, "--stream", "cpam-34/p0/" + body])
        #expect(read.stdout.split(separator: "\n").count == 1)
    }

    @Test("backup refuses an empty target (64) and a target inside the ledger (74), leaving nothing")
    func backupTargets() throws {
        let w = Workspace()
        #expect(try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n").status == 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: w.ledger).sorted()
        let empty = try ledgerctl(["backup", "--ledger", w.ledger, "--to", ""])
        #expect(empty.status == 64, "\(empty.stderr)")
        #expect(empty.stderr.contains("--to"))
        for inside in [
            w.ledger + "/inner", w.ledger,
            w.ledger + "/../" + (w.ledger as NSString).lastPathComponent + "/x",
        ] {
            let run = try ledgerctl(["backup", "--ledger", w.ledger, "--to", inside])
            #expect(run.status == 74, "\(inside): \(run.stderr)")
            #expect(run.stderr.contains("inside the ledger"), "\(run.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.ledger).sorted() == before)
        #expect(try ledgerctl(["verify", "--ledger", w.ledger]).status == 0)
    }

    @Test("a report or checkpoint file that cannot be read exits 74 with the system's reason")
    func unreadableInputs() throws {
        let w = Workspace()
        #expect(try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n").status == 0)
        let missing = try ledgerctl(["verify", "--ledger", w.ledger, "--report", w.directory + "/nope.json"])
        #expect(missing.status == 74, "\(missing.stderr)")
        #expect(missing.stderr.contains("No such file or directory"), "\(missing.stderr)")
        let directory = try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", w.directory])
        #expect(directory.status == 74, "\(directory.stderr)")
        #expect(directory.stderr.contains("is a directory"), "\(directory.stderr)")
    }

    @Test(
        "a JSON report with a key given twice or a number rewritten fails verify with 76; keys reordered hold"
    )
    func strictJSONReports() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        let file = w.directory + "/report.json"
        #expect(
            try ledgerctl([
                "report", "closure", "--ledger", w.ledger, "--platform", "cpam-34", "--format", "json",
                "--output",
                file,
            ]).status == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let followed = try #require(text.firstMatch(of: /"followed" : (\d+)/)?.output.1)
        func verify(_ edited: String) throws -> Run {
            let path = w.directory + "/edited.json"
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            return try ledgerctl(["verify", "--ledger", w.ledger, "--report", path])
        }
        // The last of two keys wins in most readers: a second, true-looking "followed" hides the first.
        let twice = try verify(
            text.replacingOccurrences(
                of: "\"followed\" : \(followed)", with: "\"followed\" : 999999, \"followed\" : \(followed)"))
        #expect(twice.status == 76, "\(twice.stderr)")
        #expect(twice.stderr.contains("followed: appears twice"), "\(twice.stderr)")
        let decimal = try verify(
            text.replacingOccurrences(of: "\"followed\" : \(followed)", with: "\"followed\" : \(followed).0"))
        #expect(decimal.status == 76, "\(decimal.stderr)")
        #expect(decimal.stderr.contains("followed: \(followed).0 where the ledger gives \(followed)"))
        // Compacted onto one line with keys in another order: the same content, it holds.
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let compact = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
        let reordered = try verify(String(decoding: compact, as: UTF8.self))
        #expect(reordered.status == 0, "\(reordered.stderr)")
    }

    @Test(
        "reports and checkpoint files saved with CRLF line ends still verify; an HTML edit is located by column"
    )
    func crlfAndColumns() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        for format in ["md", "html"] {
            let file = w.directory + "/report.\(format)"
            #expect(
                try ledgerctl([
                    "report", "closure", "--ledger", w.ledger, "--platform", "cpam-34", "--format", format,
                    "--output", file,
                ]).status == 0)
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let crlf = w.directory + "/crlf.\(format)"
            try text.replacingOccurrences(of: "\n", with: "\r\n").write(
                toFile: crlf, atomically: true, encoding: .utf8)
            let run = try ledgerctl(["verify", "--ledger", w.ledger, "--report", crlf])
            #expect(run.status == 0, "\(format): \(run.stderr)")
            if format == "html" {
                let edited = w.directory + "/edited.html"
                let range = try #require(text.range(of: "<td>", options: .backwards))
                var changed = text
                changed.replaceSubrange(range, with: "<td>7")
                try changed.write(toFile: edited, atomically: true, encoding: .utf8)
                let check = try ledgerctl(["verify", "--ledger", w.ledger, "--report", edited])
                #expect(check.status == 76)
                #expect(check.stderr.contains("column"), "\(check.stderr)")
                #expect(check.stderr.contains("<td>7"), "the message shows the edit: \(check.stderr)")
            }
        }
        #expect(try ledgerctl(["checkpoint", "--ledger", w.ledger]).status == 0)
        let checkpoints = try String(contentsOfFile: w.ledger + ".checkpoints", encoding: .utf8)
        let crlf = w.directory + "/crlf.checkpoints"
        try checkpoints.replacingOccurrences(of: "\n", with: "\r\n").write(
            toFile: crlf, atomically: true, encoding: .utf8)
        let run = try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", crlf])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("a checkpoint line not in canonical form is refused with its line, not read as the canonical one")
    func canonicalCheckpoints() throws {
        let w = Workspace()
        #expect(try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n").status == 0)
        let statement = try ledgerctl(["checkpoint", "--ledger", w.ledger]).stdout
        let head = try #require(statement.firstMatch(of: /head ([0-9a-f]{64})/)?.output.1)
        for (edit, lineNumber) in [
            (statement.replacingOccurrences(of: "position ", with: "position 0"), 3),
            (statement.replacingOccurrences(of: "position ", with: "position +"), 3),
            (statement.replacingOccurrences(of: String(head), with: head.uppercased()), 4),
        ] {
            let file = w.directory + "/edited"
            try edit.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", file])
            #expect(run.status == 65, "\(run.stderr)")
            #expect(run.stderr.contains("line \(lineNumber)"), "\(run.stderr)")
        }
    }

    @Test("a user who may only read the ledger checks its checkpoints with the public key file")
    func readOnlyUserChecksCheckpoints() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0002"]).status == 0)
        #expect(try ledgerctl(["checkpoint", "--ledger", w.ledger]).status == 0)
        let publicKey = try String(contentsOfFile: w.ledger + ".checkpoint-key.pub", encoding: .utf8)
        #expect(publicKey.hasPrefix("ed25519 ") && publicKey.hasSuffix("\n"))
        let setup = """
            chmod 755 '\(w.directory)'
            chgrp -R nogroup '\(w.ledger)' && chmod 750 '\(w.ledger)' && chmod 640 '\(w.ledger)/data.mdb' \
              && chmod 660 '\(w.ledger)/lock.mdb' && chmod 644 '\(w.ledger).checkpoints'
            """
        #expect(try runProgram("/bin/sh", ["-c", setup]).status == 0)
        let verify = try asNobody([
            "verify", "--ledger", w.ledger, "--checkpoints", w.ledger + ".checkpoints",
        ])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(!verify.stderr.contains("note"), "the public key was used: \(verify.stderr)")
        // A statement signed by another key is refused under the ledger's public key.
        let other = Workspace()
        #expect(try ledgerctl(["append", "--ledger", other.ledger, "-"], stdin: line() + "\n").status == 0)
        #expect(try ledgerctl(["checkpoint", "--ledger", other.ledger]).status == 0)
        let foreign = try ledgerctl([
            "verify", "--ledger", w.ledger, "--checkpoints", other.ledger + ".checkpoints",
            "--checkpoint-key",
            w.ledger + ".checkpoint-key.pub",
        ])
        #expect(foreign.status == 76, "\(foreign.stderr)")
        #expect(foreign.stderr.contains("not by this ledger's key"), "\(foreign.stderr)")
    }

    @Test("a closure report of a platform still open says it is provisional")
    func openPlatformReport() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        let run = try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "cpam-11"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("cpam-11 is not closed"), "\(run.stderr)")
        #expect(run.stdout.contains("plateforme encore ouverte (rapport provisoire)"))
        let closed = try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "cpam-34"])
        #expect(!closed.stderr.contains("provisional") && !closed.stdout.contains("provisoire"))
    }
}
