import Foundation
import TestSupport
import Testing

/// Bytes read from a pipe on another thread, handed over under a lock.
private final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

@Suite("ledgerctl append: the contract")
struct AppendContractTests {
    @Test(
        "with --batch-size, a conflict at a later line names the failing line and the last acknowledged one")
    func batchConflictSaysWhatWasCommitted() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(stream: "s") + "\n")
        let input = [
            line(stream: "a"), line(stream: "b"), line(stream: "s", extra: #","expectedVersion":"noStream""#),
            line(stream: "c"),
        ].joined(separator: "\n")
        let run = try ledgerctl(
            ["append", "--ledger", w.ledger, "--batch-size", "1", "-"], stdin: input + "\n")
        #expect(run.status == 75)
        #expect(run.stderr.contains("-:3: concurrency conflict on stream 's'"), "\(run.stderr)")
        #expect(run.stderr.contains("up to line 2 (position 3) were committed"), "\(run.stderr)")
        #expect(run.stderr.contains("nothing after line 2 was written"))
        #expect(run.stdout.split(separator: "\n").map { $0.split(separator: "\t")[0] } == ["1", "2"])
        let info = try ledgerctl(["info", "--ledger", w.ledger, "--format", "json"])
        #expect(info.stdout.contains(#""events":3"#))
        let bad = try ledgerctl(
            ["append", "--ledger", w.ledger, "--batch-size", "2", "-"],
            stdin: [line(), line(), line(data: #"{"line":7}"#)].joined(separator: "\n") + "\n")
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("-:3: field 'data.line'"))
        #expect(bad.stderr.contains("up to line 2"), "\(bad.stderr)")
    }

    @Test("append --help describes per-batch commits")
    func helpDescribesBatches() throws {
        let help = try ledgerctl(["append", "--help"]).stdout.split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
        #expect(help.contains("the batches acknowledged before it stay in the ledger"))
        #expect(help.contains("the last acknowledged line"))
    }

    @Test("with --batch-size 1, each line is acknowledged while standard input is still open")
    func acknowledgesBeforeTheEndOfInput() throws {
        let w = Workspace()
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: try #require(builtExecutable(named: "ledgerctl"), "ledgerctl is built"))
        process.arguments = ["append", "--ledger", w.ledger, "--batch-size", "1", "-"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let received = Received()
        let firstLine = DispatchSemaphore(value: 0)
        let reader = output.fileHandleForReading
        Thread.detachNewThread {
            var signalled = false
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                received.append(chunk)
                if !signalled && received.text.contains("\n") {
                    signalled = true
                    firstLine.signal()
                }
            }
            if !signalled { firstLine.signal() }
        }
        input.fileHandleForWriting.write(Data((line() + "\n").utf8))
        let acknowledged = firstLine.wait(timeout: .now() + 30) == .success && received.text.contains("\n")
        #expect(acknowledged, "no acknowledgment before the end of the input")
        #expect(received.text.hasPrefix("1\t1\t0\tappended\n"))
        input.fileHandleForWriting.write(Data((line() + "\n").utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(received.text.split(separator: "\n").count == 2)
    }

    @Test("an id reuse or a version conflict names the input line")
    func appendErrorsNameTheLine() throws {
        let w = Workspace()
        let id = UUID().uuidString
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(id: id, stream: "s") + "\n")
        let before = try w.headHash()
        let reuse = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"], stdin: line() + "\n" + line(id: id, stream: "other") + "\n"
        )
        #expect(reuse.status == 65)
        #expect(reuse.stderr.contains("-:2: event id"), "\(reuse.stderr)")
        #expect(reuse.stderr.contains("different stream"))
        let conflict = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"],
            stdin: line() + "\n\n" + line(stream: "s", extra: #","expectedVersion":5"#) + "\n")
        #expect(conflict.status == 75)
        #expect(conflict.stderr.contains("-:3: concurrency conflict on stream 's'"), "\(conflict.stderr)")
        #expect(conflict.stderr.contains("nothing was written"))
        #expect(try w.headHash() == before)
    }

    @Test("invalid UTF-8 names the line and byte offset, without a Foundation error code")
    func invalidUTF8NamesLineAndOffset() throws {
        let w = Workspace()
        let file = w.directory + "/bad.ndjson"
        var bytes = Data((line() + "\n").utf8)
        bytes.append(contentsOf: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: file))
        let run = try ledgerctl(["append", "--ledger", w.ledger, file])
        #expect(run.status == 65)
        #expect(
            run.stderr.contains("bad.ndjson:2: field 'line': byte 0xFF at byte offset 2"), "\(run.stderr)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test("bad payloads are refused with line, subfield and value, and the ledger is unchanged")
    func payloadsRefusedWithSubfield() throws {
        let w = Workspace()
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n")
        let before = try w.headHash()
        let cases: [(String, String)] = [
            (
                line(type: "IsolationPrescribed", data: #"{"startDate":"2020-13-45"}"#),
                #"field 'data.startDate': "2020-13-45" is not a calendar date"#
            ),
            (line(data: #"{"line":"FAX"}"#), #"field 'data.line': "FAX" is not one of MOBILE, LANDLINE"#),
            (line(data: #"{"line":7}"#), "field 'data.line': 7 is not one of MOBILE, LANDLINE"),
            (line(data: #"{"line":"MOBILE","line":"LANDLINE"}"#), "field 'data.line': appears twice"),
            (
                line(type: "CaseOpened", data: #"{"person":"Jean Dupont 1 84 12 34 567 890"}"#),
                "field 'data.person'"
            ),
            (line(data: #"{"agent":"rappeler le 06 12 34 56 78"}"#), "field 'data.agent'"),
            (
                line(
                    type: "ContactDeclared",
                    data: #"{"contactCase":"","contactPerson":"0123456789abcdef0123456789abcdef"}"#),
                "field 'data.contactCase'"
            ),
        ]
        for (bad, expected) in cases {
            let run = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n" + bad + "\n")
            #expect(run.status == 65, "\(bad)")
            #expect(run.stderr.contains("-:2: \(expected)"), "\(run.stderr)")
            #expect(try w.headHash() == before)
        }
    }

    @Test("a changed row for an imported result is refused as a conflict, never dropped")
    func changedCSVRowIsRefused() throws {
        let w = Workspace()
        let header =
            "result_id;platform;nir;last_name;first_name;birth_date;phone;address;sample_date;result_at;test_kind;symptom_onset\n"
        let row =
            "R1;cpam-34;2 84 12 76 451 089 93;Durand;Alice;1984-12-03;;;2021-03-01;2021-03-02T08:00:00Z;PCR;\n"
        let first = w.directory + "/lab.csv"
        try (header + row).write(toFile: first, atomically: true, encoding: .utf8)
        #expect(try ledgerctl(["import", "--ledger", w.ledger, first]).status == 0)
        let head = try w.headHash()
        let second = w.directory + "/lab2.csv"
        try (header + row.replacingOccurrences(of: "Durand", with: "Dupont")).write(
            toFile: second, atomically: true, encoding: .utf8)
        let run = try ledgerctl(["import", "--ledger", w.ledger, second])
        #expect(run.status == 65)
        #expect(
            run.stderr.contains("lab2.csv:2: field 'last_name': result 'R1' is already imported"),
            "\(run.stderr)")
        #expect(!run.stdout.contains("already imported"))
        #expect(try w.headHash() == head)
    }
}
