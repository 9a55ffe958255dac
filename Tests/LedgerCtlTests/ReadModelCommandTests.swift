import Foundation
import Testing

/// The read model through the command line: readers who may not write it, a deleted read model.
@Suite("ledgerctl and the stored read model", .serialized)
struct ReadModelCommandTests {
    @Test("a reader of a lagging read model gets the figures of the whole log, without writing it")
    func readOnlyReaderOfALaggingReadModel() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.001"]).status == 0)
        #expect(try ledgerctl(["replay", "--ledger", w.ledger]).status == 0)
        // New events the read model has not folded: a contact declared later, its calls.
        let more = (0..<5).map { index in
            line(
                stream: "cpam-34/p0/9999\(index)", type: "CaseOpened",
                data: #"{"person":"0123456789abcdef0123456789abcde\#(index)","role":"PATIENT_ZERO"}"#,
                extra: #","expectedVersion":"noStream""#)
        }
        #expect(
            try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: more.joined(separator: "\n") + "\n")
                .status == 0)
        let projections = w.ledger + ".projections"
        let before = try Data(contentsOf: URL(fileURLWithPath: projections + "/data.mdb"))
        let setup = """
            chmod 755 '\(w.directory)'
            chgrp -R nogroup '\(w.ledger)' '\(projections)' && chmod 750 '\(w.ledger)' '\(projections)' \
              && chmod 640 '\(w.ledger)/data.mdb' '\(projections)/data.mdb' \
              && chmod 660 '\(w.ledger)/lock.mdb' '\(projections)/lock.mdb'
            """
        #expect(try runProgram("/bin/sh", ["-c", setup]).status == 0)
        func figures(_ run: Run) -> String { run.stdout }
        let reader = try asNobody(["stats", "--ledger", w.ledger, "--by", "month", "--format", "csv"])
        #expect(reader.status == 0, "\(reader.stderr)")
        #expect(reader.stderr.contains("folded in memory"), "\(reader.stderr)")
        let report = try asNobody([
            "report", "closure", "--ledger", w.ledger, "--platform", "cpam-34", "--format", "json",
        ])
        #expect(report.status == 0, "\(report.stderr)")
        // The read model was not written by the reader.
        #expect(try Data(contentsOf: URL(fileURLWithPath: projections + "/data.mdb")) == before)
        // The writer catches up and gives the same figures.
        let writer = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "month", "--format", "csv"])
        #expect(writer.status == 0)
        #expect(figures(writer) == figures(reader))
        #expect(writer.stdout.contains("cpam-34,2020-05"))
        let writerReport = try ledgerctl([
            "report", "closure", "--ledger", w.ledger, "--platform", "cpam-34", "--format", "json",
        ])
        #expect(writerReport.stdout == report.stdout)
    }

    @Test("a deleted read model is rebuilt with the same figures; --from-scratch too")
    func deletedReadModelIsRebuilt() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.001"]).status == 0)
        let first = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "week", "--format", "csv"])
        #expect(first.status == 0)
        try FileManager.default.removeItem(atPath: w.ledger + ".projections")
        let again = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "week", "--format", "csv"])
        #expect(again.stdout == first.stdout)
        let replay = try ledgerctl(["replay", "--ledger", w.ledger, "--from-scratch", "--chunk-size", "777"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(
            try ledgerctl(["stats", "--ledger", w.ledger, "--by", "week", "--format", "csv"]).stdout
                == first.stdout)
    }
}
