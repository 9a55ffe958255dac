import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Crash safety")
struct CrashTests {
    /// Appends in batches from a child process, kills it with SIGKILL at a random moment, and checks
    /// that every position it acknowledged (printed after the batch was durable) is in the log with
    /// the right event, that no batch is partly visible, and that the ledger verifies.
    @Test(
        "events acknowledged before a SIGKILL are all there after reopening; no partial batch",
        arguments: 0..<12)
    func killDuringAppends(round: Int) throws {
        let w = Workspace()
        let batch = 7
        var lines = [String]()
        var ids = [String]()
        for i in 0..<3_000 {
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            lines.append(line(id: id, stream: "kill-\(round)-\(i % 17)"))
        }
        let file = w.directory + "/events.ndjson"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try ledgerctl(["init", "--ledger", w.ledger]).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(builtExecutable(named: "ledgerctl")))
        process.arguments = ["append", "--ledger", w.ledger, "--batch-size", String(batch), file]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(useconds_t(150_000 + (round * 97_000) % 900_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        var acknowledged = [(line: Int, position: Int)]()
        for row in printed.split(separator: "\n") {
            let fields = row.split(separator: "\t")
            // A line cut by the kill mid-write is not an acknowledgment.
            guard fields.count == 4, let l = Int(fields[0]), let p = Int(fields[1]) else { continue }
            acknowledged.append((l, p))
        }
        let read = try ledgerctl(["export", "--ledger", w.ledger])
        #expect(read.status == 0, "\(read.stderr)")
        let stored = read.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(stored.count % batch == 0, "a partial batch is visible: \(stored.count) events")
        #expect(stored.count >= acknowledged.count)
        crashLog.append(acknowledged: acknowledged.count, stored: stored.count)
        for (lineNumber, position) in acknowledged {
            let event = stored[position - 1]
            #expect(event["id"] as? String == ids[lineNumber - 1])
        }
        #expect(try ledgerctl(["verify", "--ledger", w.ledger]).status == 0)
    }
}

/// What the rounds saw, printed at the end of a run for docs/reliability.md.
final class CrashLog: @unchecked Sendable {
    private let lock = NSLock()
    private var rounds = [(Int, Int)]()

    func append(acknowledged: Int, stored: Int) {
        lock.lock()
        rounds.append((acknowledged, stored))
        let line =
            "crash round: \(acknowledged) events acknowledged before SIGKILL, \(stored) in the log after\n"
        lock.unlock()
        FileHandle.standardError.write(Data(line.utf8))
    }
}

let crashLog = CrashLog()
