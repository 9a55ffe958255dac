import ContactTracing
import Foundation
import TestSupport
import Testing

/// Runs the built `ledgerctl` as a user would: a process, standard input and output, exit codes.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

func ledgerctl(_ arguments: [String], stdin: String? = nil) throws -> Run {
    let tool = try #require(builtExecutable(named: "ledgerctl"), "ledgerctl is built beside the tests")
    return try runProgram(tool, arguments, stdin: stdin)
}

/// Runs any program (ledgerctl, a shell under `unshare`, ledgerctl under `setpriv`) as a user would:
/// a process, standard input (closed after `stdin` is written), standard output and error, the exit code.
func runProgram(
    _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil
) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs the built `ledgerctl` as user `nobody` (uid and gid 65534, no other group): a user who may
/// read what the tests open to them and write nothing else.
func asNobody(_ arguments: [String]) throws -> Run {
    let tool = try #require(builtExecutable(named: "ledgerctl"), "ledgerctl is built beside the tests")
    return try runProgram(
        "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", tool] + arguments)
}

/// A ledger in a temporary directory (the shared helper of TestSupport), for commands.
final class Workspace: TemporaryLedger, @unchecked Sendable {
    var ledger: String { path }
    init() { super.init(prefix: "ledgerctl-e2e-") }

    func headHash() throws -> String {
        let run = try ledgerctl(["info", "--ledger", ledger, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return try #require(object?["headHash"] as? String)
    }
}

func line(
    id: String = UUID().uuidString, stream: String = "cpam-34/p0/1", type: String = "CallPlaced",
    data: String = #"{"direction":"OUTBOUND","line":"MOBILE","outcome":"REACHED","durationSeconds":420}"#,
    extra: String = ""
) -> String {
    #"{"id":"\#(id)","stream":"\#(stream)","type":"\#(type)","platform":"cpam-34","occurredAt":"2020-05-12T09:30:00Z"\#(extra),"data":\#(data)}"#
}

@Suite("ledgerctl end to end")
struct EndToEndTests {
    @Test("init, append, read and info work together")
    func happyPath() throws {
        let w = Workspace()
        #expect(
            try ledgerctl([
                "init", "--ledger", w.ledger, "--platform", "cpam-34", "--name", "Hérault", "--date",
                "2020-05-11",
            ]).status == 0)
        let append = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"], stdin: line() + "\n" + line() + "\n")
        #expect(append.status == 0)
        #expect(append.stdout.split(separator: "\n").map { $0.split(separator: "\t")[1] } == ["2", "3"])
        let read = try ledgerctl(["read", "--ledger", w.ledger, "--type", "CallPlaced"])
        #expect(read.stdout.split(separator: "\n").count == 2)
        #expect(read.stdout.contains(#""outcome":"REACHED""#))
        let info = try ledgerctl(["info", "--ledger", w.ledger, "--format", "json"])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(object["events"] as? Int == 3)
        #expect(object["formatVersion"] as? Int == 2)
        #expect(object["platforms"] as? [String] == ["cpam-34"])
    }

    @Test("simulate writes the scaled figures into a new ledger only, and refuses bad options with exit 64")
    func simulateCommand() throws {
        let w = Workspace()
        let run = try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0002", "--seed", "4"])
        #expect(run.status == 0, "\(run.stderr)")
        // round(608 845 × 0.0002) = 122, round(406 000 × 0.0002) = 81.
        #expect(run.stdout.contains("cpam-34: 203 insured followed, 122 patients zéro, 81 contacts"))
        let head = try w.headHash()
        let again = try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0002"])
        #expect(again.status == 75)
        #expect(again.stderr.contains("already holds"))
        #expect(try w.headHash() == head)
        let report = try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "cpam-34"])
        #expect(
            report.stdout.contains(
                "203 assurés suivis dont 122 patients zéro et 81 patients contact au 15 juillet 2022"))
        for bad in [["--profile", "bretagne"], ["--scale", "0"], ["--scale", "-1"], ["--scale", "nan"]] {
            let refused = try ledgerctl(["simulate", "--ledger", Workspace().ledger] + bad)
            #expect(refused.status == 64, "\(bad)")
        }
    }

    @Test("export then append rebuilds an identical log (same head hash)")
    func exportRoundTrip() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0001"]).status == 0)
        let export = try ledgerctl(["export", "--ledger", w.ledger])
        #expect(export.status == 0)
        let copy = Workspace()
        let append = try ledgerctl(["append", "--ledger", copy.ledger, "-"], stdin: export.stdout)
        #expect(append.status == 0)
        #expect(try copy.headHash() == w.headHash())
        #expect(try ledgerctl(["export", "--ledger", copy.ledger]).stdout == export.stdout)
    }

    @Test("bad lines are refused with file, line and field, exit 65, and the ledger is unchanged")
    func badInput() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n")
        let before = try w.headHash()
        let cases: [(String, String)] = [
            (line(type: "Nope"), "field 'type'"),
            (line(id: "not-a-uuid"), "field 'id'"),
            (line(data: #"{"outcome":"MAYBE"}"#), #"field 'data.outcome': "MAYBE" is not one of REACHED"#),
            (line(data: #"{"durationSeconds":-5}"#), "field 'data.durationSeconds': -5 is negative"),
            (line(extra: #","schemaVersion":1.5"#), "field 'schemaVersion'"),
            (line(extra: #","expectedVersion":true"#), "field 'expectedVersion'"),
            (line(stream: ""), "field 'stream'"),
            (
                #"{"id":"\#(UUID().uuidString)","stream":"s","type":"CallPlaced","platform":"p","occurredAt":"2020-13-45T00:00:00Z"}"#,
                "field 'occurredAt'"
            ),
            (
                #"{"id":"\#(UUID().uuidString)","stream":"s","type":"CallPlaced","occurredAt":"2020-05-12T00:00:00Z"}"#,
                "field 'platform'"
            ),
            ("{not json", "field 'line'"),
        ]
        for (bad, expected) in cases {
            let run = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n" + bad + "\n")
            #expect(run.status == 65, "\(bad)")
            #expect(run.stderr.contains("-:2: \(expected)"), "\(run.stderr)")
            #expect(try w.headHash() == before)
        }
    }

    @Test("invalid UTF-8 and a line of several megabytes are refused cleanly")
    func hostileBytes() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n")
        let before = try w.headHash()
        let file = w.directory + "/bad.ndjson"
        var bytes = Data((line() + "\n").utf8)
        bytes.append(contentsOf: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: file))
        let run = try ledgerctl(["append", "--ledger", w.ledger, file])
        #expect(run.status == 65)
        #expect(run.stderr.contains("bad.ndjson:2:"))
        let huge = line(data: #"{"agent":""# + String(repeating: "x", count: 4 << 20) + #""}"#)
        let big = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: huge + "\n")
        #expect(big.status == 65)
        #expect(big.stderr.contains("field 'payload'"))
        #expect(try w.headHash() == before)
    }

    @Test("a known id with different content is refused, a retry of the same line is a no-op")
    func idempotency() throws {
        let w = Workspace()
        let id = UUID().uuidString
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(id: id) + "\n")
        let before = try w.headHash()
        let retry = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(id: id) + "\n")
        #expect(retry.status == 0)
        #expect(retry.stdout.contains("duplicate"))
        let changed = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"], stdin: line(id: id, stream: "other") + "\n")
        #expect(changed.status == 65)
        #expect(changed.stderr.contains("different stream"))
        #expect(try w.headHash() == before)
    }

    @Test("a concurrency conflict exits 75 and names stream, expected and actual version")
    func conflict() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(stream: "s") + "\n")
        let before = try w.headHash()
        let run = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"],
            stdin: line(stream: "s", extra: #","expectedVersion":"noStream""#) + "\n")
        #expect(run.status == 75)
        #expect(run.stderr.contains("stream 's': expected version no stream, actual 0"))
        #expect(try w.headHash() == before)
    }

    @Test("verify passes on a sound ledger and exits 76 on a damaged one")
    func verify() throws {
        let w = Workspace()
        _ = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"],
            stdin: line(data: #"{"agent":"MARKER-XYZ-123"}"#) + "\n" + line() + "\n")
        #expect(try ledgerctl(["verify", "--ledger", w.ledger]).status == 0)
        let file = w.ledger + "/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: file))
        let at = try #require(bytes.firstRange(of: Data("MARKER-XYZ".utf8))?.lowerBound)
        bytes[at] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: file))
        let run = try ledgerctl(["verify", "--ledger", w.ledger])
        #expect(run.status == 76)
        #expect(run.stderr.contains("position 1"))
    }

    @Test("a missing ledger is a clear error, not a crash")
    func missingLedger() throws {
        let run = try ledgerctl(["info", "--ledger", "/nonexistent/ledger"])
        #expect(run.status == 65)
        #expect(run.stderr.contains("no ledger here"))
    }
}

@Suite("ledgerctl personal data")
struct PrivacyEndToEndTests {
    @Test("case show --reveal audits the consultation; erase makes the identity read as erased")
    func revealAndErase() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0001"]).status == 0)
        let refused = try ledgerctl(["case", "show", "--ledger", w.ledger, "cpam-34/p0/1", "--reveal"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--reason"))
        let shown = try ledgerctl([
            "case", "show", "--ledger", w.ledger, "cpam-34/p0/1", "--reveal", "--reason", "rappel", "--actor",
            "a-1",
            "--format", "json",
        ])
        #expect(shown.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let identity = try #require(object["identity"] as? [String: Any])
        #expect((identity["nir"] as? String)?.count == 15)
        let audit = try ledgerctl(["read", "--ledger", w.ledger, "--type", "IdentityConsulted"])
        #expect(audit.stdout.contains(#""actor":"a-1""#))
        #expect(audit.stdout.contains(#""reason":"rappel""#))
        let person = try #require(object["person"] as? String)
        let before = try w.headHash()
        let statsBefore = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "day", "--format", "csv"])
            .stdout
        let reportBefore = try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "cpam-34"])
            .stdout
        #expect(try ledgerctl(["erase", "--ledger", w.ledger, "--person", person]).status == 0)
        #expect(try w.headHash() == before)
        #expect(
            try ledgerctl(["stats", "--ledger", w.ledger, "--by", "day", "--format", "csv"]).stdout
                == statsBefore)
        #expect(
            try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "cpam-34"]).stdout
                == reportBefore)
        #expect(statsBefore.contains("cpam-34,"))
        let again = try ledgerctl([
            "case", "show", "--ledger", w.ledger, "cpam-34/p0/1", "--reveal", "--reason", "r", "--actor",
            "a-1",
            "--format", "json",
        ])
        #expect(again.stdout.contains(#""identity":"erased""#))
        #expect(try ledgerctl(["verify", "--ledger", w.ledger]).status == 0)
        let unknown = try ledgerctl(["erase", "--ledger", w.ledger, "--person", "nobody"])
        #expect(unknown.status == 65)
    }

    @Test("retention apply erases by the legal periods and leaves the log unchanged")
    func retention() throws {
        let w = Workspace()
        let simulated = try ledgerctl([
            "simulate", "--ledger", w.ledger, "--profile", "pays-de-la-loire-2020", "--scale", "0.001",
        ])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let before = try w.headHash()
        let early = try ledgerctl(["retention", "apply", "--ledger", w.ledger, "--as-of", "2020-05-10"])
        #expect(early.stdout.contains("0 persons erased"))
        // Contacts of 2020 are kept 3 months, positives 6: in April 2021 some are gone, not all.
        let contacts = try ledgerctl(["retention", "apply", "--ledger", w.ledger, "--as-of", "2021-04-01"])
        #expect(contacts.status == 0)
        #expect(!contacts.stdout.contains(" 0 persons erased"))
        #expect(!contacts.stdout.contains(", 0 kept"))
        let all = try ledgerctl(["retention", "apply", "--ledger", w.ledger, "--as-of", "2021-07-02"])
        #expect(all.stdout.contains(", 0 kept"))
        #expect(try w.headHash() == before)
        let bad = try ledgerctl(["retention", "apply", "--ledger", w.ledger, "--as-of", "2021-02-30"])
        #expect(bad.status == 64)
    }
}

@Suite("ledgerctl statistics and closure")
struct StatisticsEndToEndTests {
    @Test("stats writes CSV with platform and patientsZero columns, and JSON lines; replay reports events/s")
    func stats() throws {
        let w = Workspace()
        #expect(
            try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0001", "--no-identities"]).status
                == 0)
        let replay = try ledgerctl(["replay", "--ledger", w.ledger, "--from-scratch"])
        #expect(replay.status == 0)
        #expect(replay.stdout.contains("events/s"))
        let csv = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "month", "--format", "csv"])
        #expect(csv.status == 0)
        let lines = csv.stdout.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        let header = try #require(lines.first).map(String.init)
        #expect(header.first == "platform")
        let p0 = try #require(header.firstIndex(of: "patientsZero"))
        #expect(lines.dropFirst().allSatisfy { $0.count == header.count })
        // 608 845 × 0.0001, rounded.
        #expect(lines.dropFirst().reduce(0) { $0 + (Int($1[p0]) ?? 0) } == 61)
        let json = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "week", "--format", "json"])
        let first = try #require(json.stdout.split(separator: "\n").first)
        let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        #expect(object?["platform"] as? String == "cpam-34")
        let early = try ledgerctl([
            "stats", "--ledger", w.ledger, "--by", "month", "--format", "csv", "--as-of", "2020-05-01",
        ])
        #expect(early.stdout.split(separator: "\n").count == 1)
        #expect(try ledgerctl(["stats", "--ledger", w.ledger, "--as-of", "2020-02-30"]).status == 64)
    }

    @Test("platform close hands cases over; the closure report's seal verifies, and a forged one fails")
    func closure() throws {
        let w = Workspace()
        #expect(
            try ledgerctl([
                "simulate", "--ledger", w.ledger, "--profile", "pays-de-la-loire-2020", "--scale", "0.001",
                "--no-identities",
            ]).status == 0)
        let close = try ledgerctl([
            "platform", "close", "--ledger", w.ledger, "--platform", "cpam-44", "--date", "2020-12-31",
            "--handover-to", "drsm-pdl",
        ])
        #expect(close.status == 0, "\(close.stderr)")
        let again = try ledgerctl([
            "platform", "close", "--ledger", w.ledger, "--platform", "cpam-44", "--date", "2021-01-01",
        ])
        #expect(again.status == 75)
        let report = w.directory + "/closure.json"
        let made = try ledgerctl([
            "report", "closure", "--ledger", w.ledger, "--platform", "cpam-44", "--format", "json",
            "--output", report,
        ])
        #expect(made.status == 0)
        #expect(made.stderr.contains("assurés suivis dont"))
        let reportData = try #require(FileManager.default.contents(atPath: report))
        let object = try #require(try JSONSerialization.jsonObject(with: reportData) as? [String: Any])
        #expect(object["handoverTo"] as? String == "drsm-pdl")
        #expect(object["closedOn"] as? String == "2020-12-31")
        #expect(try ledgerctl(["verify", "--ledger", w.ledger, "--report", report]).status == 0)
        let forged = try String(contentsOfFile: report, encoding: .utf8).replacingOccurrences(
            of: #""headHash" : ""#, with: #""headHash" : "ff"#)
        try forged.write(toFile: report, atomically: true, encoding: .utf8)
        let check = try ledgerctl(["verify", "--ledger", w.ledger, "--report", report])
        #expect(check.status == 76)
        let html = try ledgerctl([
            "report", "closure", "--ledger", w.ledger, "--platform", "cpam-44", "--format", "html",
        ])
        #expect(html.stdout.contains("<svg"))
        let missing = try ledgerctl(["report", "closure", "--ledger", w.ledger, "--platform", "nope"])
        #expect(missing.status == 65)
    }
}

@Suite("ledgerctl import")
struct ImportEndToEndTests {
    let header =
        "result_id,platform,nir,last_name,first_name,birth_date,phone,address,sample_date,result_at,test_kind,symptom_onset\n"

    @Test("a lab-results CSV opens sealed P0 cases; importing it twice changes nothing")
    func importTwice() throws {
        let w = Workspace()
        let file = w.directory + "/lab.csv"
        let csv =
            header
            + #"R1,cpam-34,2 84 12 76 451 089 93,Durand,Alice,1984-12-03,06 12 34 56 78,"3 place de la Comédie, Montpellier",2021-03-01,2021-03-02T08:00:00Z,RT-PCR,2021-02-28"#
            + "\nR2,cpam-34,184127645108946,Martin,Louis,1984-12-07,,,2021-03-01,2021-03-02T09:00:00+01:00,antigen,\n"
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        let first = try ledgerctl(["import", "--ledger", w.ledger, file])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("2 rows accepted (2 new cases"))
        let head = try w.headHash()
        let second = try ledgerctl(["import", "--ledger", w.ledger, file])
        #expect(second.stdout.contains("0 new cases, 2 already imported"))
        #expect(try w.headHash() == head)
        let data = try #require(FileManager.default.contents(atPath: w.ledger + "/data.mdb"))
        #expect(data.firstRange(of: Data("Durand".utf8)) == nil)
        #expect(data.firstRange(of: Data("184127645108946".utf8)) == nil)
        let stats = try ledgerctl(["stats", "--ledger", w.ledger, "--by", "month", "--format", "csv"])
        #expect(stats.stdout.contains("cpam-34,2021-03,2021-03-01,2,0,2,"))
    }

    @Test("a CSV with bad rows is refused whole, every bad row named by line and field")
    func badRows() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n")
        let head = try w.headHash()
        let file = w.directory + "/bad.csv"
        let csv =
            header
            + "R1,cpam-34,184127645108946,Martin,Louis,1984-12-07,,,2021-03-01,2021-03-02T09:00:00Z,PCR,\n"
            + "R2,cpam-34,123,X,Y,1990-01-01,,,2021-03-01,2021-03-02T08:00:00Z,PCR,\n"
            + "R3,cpam-34,184127645108946,X,Y,1990-01-01,,,2021-03-01,2021-03-02T08:00:00Z,XX,\n"
            + "R4,cpam-34,184127645108946,X,Y,1990-01-01,,,2021-03-09,2021-03-02T08:00:00Z,PCR,\n"
            + "R5,cpam-34,184127645108946,X,Y,1990-01-01,,,2021-03-01,yesterday,PCR,\n"
            + "R6,cpam-34,184127645108946,X,Y\n"
            + "R1,cpam-34,184127645108946,Martin,Louis,1984-12-07,,,2021-03-01,2021-03-02T09:00:00Z,PCR,\n"
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ledgerctl(["import", "--ledger", w.ledger, file])
        #expect(run.status == 65)
        for expected in [
            "bad.csv:3: field 'nir'", "bad.csv:4: field 'test_kind'", "bad.csv:5: field 'sample_date'",
            "bad.csv:6: field 'result_at'", "bad.csv:7: field 'row'", "bad.csv:8: field 'result_id'",
        ] {
            #expect(run.stderr.contains(expected), "\(expected) in \(run.stderr)")
        }
        #expect(run.stderr.contains("6 rows refused, 1 accepted; nothing imported"))
        #expect(try w.headHash() == head)
        let missing = w.directory + "/missing.csv"
        try "result_id,platform\nR1,p\n".write(toFile: missing, atomically: true, encoding: .utf8)
        let noColumns = try ledgerctl(["import", "--ledger", w.ledger, missing])
        #expect(noColumns.status == 65)
        #expect(noColumns.stderr.contains("missing.csv:1: field 'nir': column is missing"))
    }
}
