import Foundation
import LMDB
import Synchronization
import TestSupport
import Testing

@testable import Ledger

@Suite("Concurrent appends")
struct ConcurrencyTests {
    @Test("many concurrent appenders get unique, gapless positions and share commits")
    func groupCommit() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let appenders = 64
        let perAppender = 20
        let positions = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for a in 0..<appenders {
                group.addTask {
                    var mine = [UInt64]()
                    for i in 0..<perAppender {
                        let r = try await log.append([
                            event("case-\(a)", expected: i == 0 ? .noStream : .exact(UInt64(i - 1)))
                        ])
                        mine.append(r[0].position)
                    }
                    return mine
                }
            }
            var all = [UInt64]()
            for try await part in group { all += part }
            return all
        }
        let total = appenders * perAppender
        #expect(positions.sorted() == Array(1...UInt64(total)))
        #expect(log.commitCount < total)
        #expect(try log.verify().isValid)
        for a in 0..<appenders { #expect(try log.streamVersion("case-\(a)") == UInt64(perAppender - 1)) }
    }

    @Test("a refused batch in a shared commit does not take the others down")
    func refusalIsolated() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        _ = try await log.append([event("taken")])
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let e = i % 4 == 0 ? event("taken", expected: .noStream) : event("free-\(i)")
                    return (try? await log.append([e])) != nil
                }
            }
            var ok = 0
            for await success in group where success { ok += 1 }
            return ok
        }
        #expect(outcomes == 30)
        #expect(try log.head().position == 31)
        #expect(try log.verify().isValid)
    }

    @Test("in a shared commit, retries of one event and a batch repeating an id get the original positions")
    func duplicatesInSharedCommit() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let retried = event("retried", expected: .noStream)
        let repeated = event("repeated")
        // Rounds of concurrent appends, so that most share commits with a batch written directly.
        for round in 0..<5 {
            let results = try await withThrowingTaskGroup(of: [AppendResult].self) { group in
                for i in 0..<24 {
                    group.addTask {
                        switch i % 3 {
                        case 0: return try await log.append([retried])
                        case 1: return try await log.append([repeated, repeated])
                        default: return try await log.append([event("free-\(round)-\(i)")])
                        }
                    }
                }
                var all = [[AppendResult]]()
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.count == 24, "every append of round \(round) was accepted")
            let first = try await log.append([retried])[0]
            let retries = results.filter { $0.count == 1 && $0[0].position == first.position }
            #expect(retries.count == 8 && retries.allSatisfy { $0[0].streamVersion == 0 })
            let repeats = results.filter { $0.count == 2 }
            #expect(Set(repeats.map { $0[0].position }).count == 1)
            #expect(repeats.allSatisfy { $0[1].position == $0[0].position && $0[1].wasDuplicate })
        }
        #expect(try log.streamVersion("retried") == 0)
        #expect(try log.streamVersion("repeated") == 0)
        #expect(try log.head().position == 2 + 5 * 8)
        #expect(try log.verify().isValid)
    }

    @Test("blocking appenders that commit on their own thread and async appenders together stay gapless")
    func inlineAndSubmittedCommitsMix() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let threads = 6
        let perThread = 40
        let blocking = Mutex([UInt64]())
        let group = DispatchGroup()
        for t in 0..<threads {
            DispatchQueue.global().async(group: group) {
                for i in 0..<perThread {
                    let expected: ExpectedVersion = i == 0 ? .noStream : .exact(UInt64(i - 1))
                    if let result = try? log.appendBlocking([event("blocking-\(t)", expected: expected)]) {
                        blocking.withLock { $0.append(result[0].position) }
                    }
                }
            }
        }
        let submitted = try await withThrowingTaskGroup(of: [UInt64].self) { tasks in
            for a in 0..<threads {
                tasks.addTask {
                    var mine = [UInt64]()
                    for _ in 0..<perThread {
                        mine.append(try await log.append([event("async-\(a)")])[0].position)
                    }
                    return mine
                }
            }
            return try await tasks.reduce(into: []) { $0 += $1 }
        }
        group.wait()
        let all = blocking.withLock { $0 } + submitted
        #expect(all.count == 2 * threads * perThread)
        #expect(all.sorted() == Array(1...UInt64(all.count)))
        for t in 0..<threads { #expect(try log.streamVersion("blocking-\(t)") == UInt64(perThread - 1)) }
        #expect(try log.verify().isValid)
    }

    @Test("conflicting appenders on one stream: exactly one wins each version")
    func conflictsOnSharedStream() async throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        let wins = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do {
                        _ = try await log.append([event("shared", expected: .noStream)])
                        return 1
                    } catch LedgerError.wrongExpectedVersion(let stream, _, let actual) {
                        #expect(stream == "shared")
                        #expect(actual == 0)
                        return 0
                    } catch {
                        Issue.record("unexpected \(error)")
                        return 0
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wins == 1)
    }

    @Test("several processes appending to one ledger keep positions gapless and unique")
    func multiProcess() throws {
        let ledger = TemporaryLedger()
        _ = try ledger.open()
        let tool = try #require(builtExecutable(named: "ledgerctl"))
        let processes = 4
        let perProcess = 300
        var running = [Process]()
        for p in 0..<processes {
            var lines = ""
            for i in 0..<perProcess {
                lines +=
                    #"{"id":"\#(UUID().uuidString)","stream":"proc-\#(p)-\#(i % 10)","type":"SMSSent","platform":"cpam-34","occurredAt":"2020-05-12T10:00:00Z","data":{"smsRef":"\#(i)"}}"#
                    + "\n"
            }
            let file = ledger.directory + "/p\(p).ndjson"
            try lines.write(toFile: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["append", "--ledger", ledger.path, "--batch-size", "7", file]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            running.append(process)
        }
        for process in running {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let log = try ledger.open(.init(readOnly: true))
        let positions = try log.events().map(\.position)
        #expect(positions == Array(1...UInt64(processes * perProcess)))
        #expect(try log.verify().isValid)
    }
}
