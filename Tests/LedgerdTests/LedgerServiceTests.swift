import ContactTracing
import Foundation
import LMDB
import Ledger
import Logging
import Projections
import Simulation
import TestSupport
import Testing

@testable import ledgerd

/// A service over a fresh ledger, optionally filled with a small simulated history.
func makeService(simulated scale: Double? = nil, settings: LedgerService.Settings = .init()) throws
    -> (TemporaryLedger, LedgerService)
{
    let ledger = TemporaryLedger(prefix: "ledgerd-tests-")
    if let scale {
        let log = try ledger.open()
        _ = try Simulator(profile: .herault2022, scale: scale, seed: 1).generate {
            _ = try log.appendBlocking($0)
        }
        log.close()
    }
    let service = try LedgerService(
        path: ledger.path, settings: settings, metrics: ServiceMetrics(), logger: Logger(label: "test"))
    return (ledger, service)
}

@Suite("ledgerd: the service behind the routes")
struct LedgerServiceTests {
    @Test("a batch is appended all or nothing; a retry gets the original positions back as duplicates")
    func appendAndRetry() async throws {
        let (ledger, service) = try makeService()
        defer { withExtendedLifetime(ledger) {} }
        let body = Array(
            ("[" + eventJSON(stream: "cpam-34/p0/1", expected: "\"noStream\"") + ","
                + eventJSON(stream: "cpam-34/p0/2") + "]").utf8)
        let first = try await service.append(body: body, contentType: "application/json")
        #expect(first.results.map(\.position) == [1, 2])
        #expect(first.results.allSatisfy { !$0.wasDuplicate })
        let again = try await service.append(body: body, contentType: "application/json")
        #expect(again.results.map(\.position) == [1, 2])
        #expect(again.results.allSatisfy { $0.wasDuplicate })
        #expect(again.head == 2)
        let reply = again.json.rendered
        #expect(reply.contains(#""appended":0,"duplicates":2"#), "\(reply)")
        #expect(reply.contains(#""position":1,"streamVersion":0,"status":"duplicate""#), "\(reply)")
    }

    @Test(
        "a version conflict is 409 naming the stream, the versions and the event's index; nothing is written")
    func versionConflict() async throws {
        let (ledger, service) = try makeService()
        defer { withExtendedLifetime(ledger) {} }
        _ = try await service.append(body: Array(eventJSON(stream: "cpam-34/p0/1").utf8), contentType: nil)
        let body = Array(
            ("[" + eventJSON(stream: "cpam-34/p0/2") + ","
                + eventJSON(stream: "cpam-34/p0/1", expected: "3") + "]").utf8)
        do {
            _ = try await service.append(body: body, contentType: nil)
            Issue.record("accepted")
        } catch {
            #expect(error.status.code == 409)
            #expect(error.name == "version-conflict")
            let document = error.document.rendered
            #expect(
                document.contains(#""index":1,"stream":"cpam-34/p0/1","expected":3,"actual":0"#),
                "\(document)")
        }
        #expect(try service.log.head().position == 1)
    }

    @Test("an id already in the log with other content is 409 naming the id, its position and the field")
    func idempotencyConflict() async throws {
        let (ledger, service) = try makeService()
        defer { withExtendedLifetime(ledger) {} }
        let id = UUID().uuidString
        _ = try await service.append(body: Array(eventJSON(id: id).utf8), contentType: nil)
        do {
            _ = try await service.append(
                body: Array(eventJSON(id: id, outcome: "NO_ANSWER").utf8), contentType: nil)
            Issue.record("accepted")
        } catch {
            #expect(error.status.code == 409)
            #expect(error.name == "idempotency-conflict")
            #expect(error.document.rendered.contains(#""index":0,"id":"\#(id.lowercased())","position":1"#))
        }
    }

    @Test("pages follow each other without gaps, filters read the header only, a stream's page is its own")
    func pages() async throws {
        let (ledger, service) = try makeService(simulated: 0.0005)
        defer { withExtendedLifetime(ledger) {} }
        let head = try service.log.head().position
        var next: UInt64 = 1
        var positions = [UInt64]()
        while next <= head {
            let page = try await service.page(from: next, limit: 97, filter: nil)
            positions += page.events.map(Subscription.position(of:))
            next = page.next
        }
        #expect(positions == Array(1...head))
        let calls = try await service.page(from: 1, limit: 1_000, filter: EventFilter(types: ["CallPlaced"]))
        #expect(!calls.events.isEmpty)
        #expect(calls.events.allSatisfy { $0.contains(#""type":"CallPlaced""#) })
        let stream = try #require(try await service.streamPage("cpam-34/p0/1", fromVersion: 1, limit: 2))
        #expect(stream.0.events.count == 2)
        #expect(stream.0.events[0].contains(#""stream":"cpam-34/p0/1","streamVersion":1"#))
        #expect(stream.0.next == 3)
        #expect(try await service.streamPage("cpam-34/p0/999999", fromVersion: 0, limit: 2) == nil)
    }

    @Test("a filtered page reads a bounded number of records and says where to go on")
    func boundedScan() async throws {
        var settings = LedgerService.Settings()
        settings.maxScannedPerPage = 100
        let (ledger, service) = try makeService(simulated: 0.0005, settings: settings)
        defer { withExtendedLifetime(ledger) {} }
        let page = try await service.page(from: 1, limit: 10, filter: EventFilter(types: ["NoSuchType"]))
        #expect(page.events.isEmpty)
        #expect(page.next == 101)
    }

    @Test("statistics and the closure report are those of the log folded in memory")
    func queriesMatchTheProjection() async throws {
        let (ledger, service) = try makeService(simulated: 0.0005)
        defer { withExtendedLifetime(ledger) {} }
        try await service.catchUp()
        let projection = try TracingProjection.rebuild(from: service.log)
        let rows = try await service.statistics(platforms: ["cpam-34"], by: .month, asOf: nil)
        #expect(rows == projection.statistics(platforms: ["cpam-34"], by: .month))
        let merged = try await service.statistics(platforms: ["all"], by: .month, asOf: nil)
        #expect(merged.filter { $0.platform == "all" }.count == Set(merged.map(\.period)).count)
        let report = try await service.closureReport(platform: "cpam-34")
        #expect(try report.json() == ClosureReport(platform: "cpam-34", projection: projection).json())
        await #expect(throws: Problem.self) { try await service.closureReport(platform: "cpam-99") }
        await #expect(throws: Problem.self) {
            try await service.statistics(platforms: ["cpam-99"], by: .month, asOf: nil)
        }
    }

    @Test("events appended after the last catch-up are in the answers at once (folded in memory)")
    func answersAreAsOfTheHead() async throws {
        let (ledger, service) = try makeService(simulated: 0.0005)
        defer { withExtendedLifetime(ledger) {} }
        try await service.catchUp()
        let before = try await service.statistics(platforms: ["cpam-34"], by: .month, asOf: nil)
        let opened =
            #"{"id":"\#(UUID().uuidString)","stream":"cpam-34/p0/77777","type":"CaseOpened","platform":"cpam-34","occurredAt":"2020-06-02T09:00:00Z","data":{"person":"0123456789abcdef0123456789abcdef","role":"PATIENT_ZERO"}}"#
        _ = try await service.append(body: Array(opened.utf8), contentType: nil)
        let after = try await service.statistics(platforms: ["cpam-34"], by: .month, asOf: nil)
        let june = { (rows: [StatisticsRow]) in rows.first { $0.period == "2020-06" }?.cell.patientsZero ?? 0
        }
        #expect(june(after) == june(before) + 1)
    }

    @Test("queries are refused with 503 while the stored read model lags by more than the limit")
    func catchingUpIsUnavailable() async throws {
        var settings = LedgerService.Settings()
        settings.maxQueryLag = 10
        let (ledger, service) = try makeService(simulated: 0.0005, settings: settings)
        defer { withExtendedLifetime(ledger) {} }
        do {
            _ = try await service.statistics(platforms: [], by: .month, asOf: nil)
            Issue.record("answered")
        } catch let problem as Problem {
            #expect(problem.status.code == 503)
            #expect(problem.name == "catching-up")
        }
        #expect(await service.readiness().0 == false)
        try await service.catchUp()
        #expect(await service.readiness().0)
        _ = try await service.statistics(platforms: [], by: .month, asOf: nil)
    }

    @Test("a case document has the case's state and timeline; an unknown case is nil")
    func caseDocument() async throws {
        let (ledger, service) = try makeService(simulated: 0.0005)
        defer { withExtendedLifetime(ledger) {} }
        let document = try #require(try await service.caseDocument("cpam-34/p0/1")).rendered
        #expect(document.hasPrefix(#"{"case":"cpam-34/p0/1","platform":"cpam-34","person":""#))
        #expect(document.contains(#""timeline":[{"position":"#))
        #expect(try await service.caseDocument("cpam-34/p0/0") == nil)
    }

    @Test("a full disk is 507, a conflict 409, a damaged record 500; every problem is problem+json")
    func problemStatuses() {
        #expect(
            Problem.describing(LedgerError.lmdb(LMDBError(code: ENOSPC, operation: "mdb_txn_commit"))).status
                .code == 507)
        #expect(
            Problem.describing(LedgerError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 0))
                .status.code == 409)
        #expect(Problem.describing(LedgerError.corruptRecord(position: 3, reason: "x")).status.code == 500)
        #expect(Problem.describing(LedgerError.closed).status.code == 503)
        let document = Problem.tooLarge(limit: 2048).document.rendered
        #expect(
            document.hasPrefix(
                #"{"type":"tag:tracing-ledger,2026:problem/body-too-large","title":"The body is over the configured limit","status":413,"#
            ))
    }

    @Test("JSON text escapes quotes, backslashes and control characters")
    func jsonText() {
        let value = JSONText.object([
            ("a\"b", .string("x\\y\n\u{1}é")), ("n", .null), ("l", .array([1, .bool(true)])),
        ])
        #expect(value.rendered == #"{"a\"b":"x\\y\n\u0001é","n":null,"l":[1,true]}"#)
    }
}

@Suite("ledgerd: adversarial findings")
struct LedgerdAdversarialTests {
    @Test("a version conflict names the event whose expectation failed, not the first on its stream")
    func conflictIndex() async throws {
        let (ledger, service) = try makeService()
        defer { withExtendedLifetime(ledger) {} }
        _ = try await service.append(body: Array(eventJSON(stream: "cpam-34/p0/4").utf8), contentType: nil)
        let body = Array(
            ("[" + eventJSON(stream: "cpam-34/p0/4", expected: "0") + ","
                + eventJSON(stream: "cpam-34/p0/4", expected: "0") + "]").utf8)
        do {
            _ = try await service.append(body: body, contentType: nil)
            Issue.record("accepted")
        } catch {
            #expect(
                error.document.rendered.contains(
                    #""index":1,"stream":"cpam-34/p0/4","expected":0,"actual":1"#))
        }
        let event = { (expected: ExpectedVersion) in
            NewEvent(
                stream: "s", type: "T", platform: "p", occurredAt: Timestamp(millisecondsSince1970: 0),
                expectedVersion: expected)
        }
        let events = [event(.noStream), event(.exact(0)), event(.exact(0))]
        #expect(Problem.conflictingIndex(in: events, stream: "s", initial: nil) == 2)
        #expect(Problem.conflictingIndex(in: events, stream: "s", initial: 4) == 0)
        #expect(
            Problem.conflictingIndex(in: [event(.any), event(.exact(5))], stream: "s", initial: 4) == nil)
    }

    @Test("a stream that opens no case is not a case; an unknown platform beside 'all' is 404")
    func notCases() async throws {
        let (ledger, service) = try makeService(simulated: 0.0005)
        defer { withExtendedLifetime(ledger) {} }
        try await service.catchUp()
        #expect(try await service.caseDocument("platform/cpam-34") == nil)
        await #expect(throws: Problem.self) {
            try await service.statistics(platforms: ["all", "cpam-99"], by: .month, asOf: nil)
        }
    }

    @Test("only loopback addresses written as such pass --host")
    func loopbackHosts() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            #expect(Ledgerd.isLoopback(host), "\(host)")
        }
        for host in [
            "127.0.0.1.evil.com", "127.foo.example", "0.0.0.0", "10.0.0.1", "127.0.0.256", "127..0.1", "",
        ] {
            #expect(!Ledgerd.isLoopback(host), "\(host)")
        }
    }

    @Test("an EIO at commit (a full file system's short write) is 507")
    func eioIsStorageFull() {
        #expect(
            Problem.describing(LedgerError.lmdb(LMDBError(code: EIO, operation: "mdb_txn_commit"))).status
                .code == 507)
    }
}
