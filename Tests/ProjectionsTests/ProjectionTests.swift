import ContactTracing
import Foundation
import Ledger
import Projections
import SwiftProtobuf
import TestSupport
import Testing

/// A ledger in a temporary directory (the shared helper of TestSupport).
typealias Scratch = TemporaryLedger

/// A hand-built history with known answers (all times on platform cpam-34 unless said).
///
/// - P0 A: result 2021-03-01 08:00; reached by call at +2h, and a call at +1h recorded last (late);
///   declares contacts C1 and C2.
/// - C1: opened +3h, SMS +4h (notified within 24 h, digitally only); later tests positive as P0 E.
/// - C2: declared by A (+2h10) and again by B; letter only, at +40h (not within 24 h).
/// - P0 B: result 2021-03-02 10:00; call not answered at +1h, reached at +30h; declares C2.
/// - P0 D: result 2021-03-02 12:00, on cpam-11; SMS at +1h; no contact.
/// - P0 E: result 2021-03-05 09:00, same person as C1; never reached.
struct History {
    static let t0 = Timestamp(year: 2021, month: 3, day: 1, hour: 8)
    static let hour: Int64 = 3_600_000

    static func at(_ hours: Double, from base: Timestamp = t0) -> Timestamp {
        base.adding(milliseconds: Int64(hours * Double(hour)))
    }

    static func events() throws -> [NewEvent] {
        var out = [NewEvent]()
        func add(
            _ m: any SwiftProtobuf.Message, _ stream: String, _ time: Timestamp, platform: String = "cpam-34"
        ) throws {
            out.append(
                try EventCatalog.event(
                    m, stream: stream, platform: platform, occurredAt: time, recordedAt: time))
        }
        func opened(_ person: String, _ role: Tracing_V1_CaseRole, p0: String = "") -> Tracing_V1_CaseOpened {
            var m = Tracing_V1_CaseOpened()
            m.person = person
            m.role = role
            m.patientZeroCase = p0
            return m
        }
        func lab(_ person: String) -> Tracing_V1_PositiveTestReported {
            var m = Tracing_V1_PositiveTestReported()
            m.person = person
            return m
        }
        func call(_ outcome: Tracing_V1_CallOutcome) -> Tracing_V1_CallPlaced {
            var m = Tracing_V1_CallPlaced()
            m.direction = .outbound
            m.outcome = outcome
            return m
        }
        func declared(_ contact: String, _ person: String) -> Tracing_V1_ContactDeclared {
            var m = Tracing_V1_ContactDeclared()
            m.contactCase = contact
            m.contactPerson = person
            return m
        }
        var opening = Tracing_V1_PlatformOpened()
        opening.name = "Hérault"
        try add(opening, "platform/cpam-34", Timestamp(year: 2020, month: 5, day: 11))
        let bStart = at(26)
        try add(lab("pa"), "A", t0)
        try add(opened("pa", .patientZero), "A", t0)
        try add(call(.reached), "A", at(2))
        try add(declared("C1", "pc1"), "A", at(2 + 1 / 6))
        try add(declared("C2", "pc2"), "A", at(2 + 1 / 6))
        try add(opened("pc1", .contact, p0: "A"), "C1", at(3))
        try add(Tracing_V1_SMSSent(), "C1", at(4))
        try add(opened("pc2", .contact, p0: "A"), "C2", at(3))
        try add(Tracing_V1_LetterSent(), "C2", at(40))
        try add(lab("pb"), "B", bStart)
        try add(opened("pb", .patientZero), "B", bStart)
        try add(call(.noAnswer), "B", at(1, from: bStart))
        try add(call(.reached), "B", at(30, from: bStart))
        try add(declared("C2", "pc2"), "B", at(31, from: bStart))
        let dStart = Timestamp(year: 2021, month: 3, day: 2, hour: 12)
        try add(lab("pd"), "D", dStart, platform: "cpam-11")
        try add(opened("pd", .patientZero), "D", dStart, platform: "cpam-11")
        try add(Tracing_V1_SMSSent(), "D", at(1, from: dStart), platform: "cpam-11")
        let eStart = Timestamp(year: 2021, month: 3, day: 5, hour: 9)
        try add(lab("pc1"), "E", eStart)
        try add(opened("pc1", .patientZero), "E", eStart)
        // Recorded late: a call that happened before the first one already in the log.
        try add(call(.reached), "A", at(1))
        return out
    }
}

extension History {
    /// A ledger in `scratch` holding the hand-built history.
    static func ledger(_ scratch: Scratch) throws -> EventLog {
        let log = try EventLog(path: scratch.path)
        _ = try log.appendBlocking(try events())
        return log
    }
}

@Suite("Projections")
struct ProjectionTests {
    func ledger(_ scratch: Scratch) throws -> EventLog { try History.ledger(scratch) }

    @Test("every indicator of a hand-built history has its known value")
    func indicators() throws {
        let scratch = Scratch()
        let projection = try TracingProjection.rebuild(from: try ledger(scratch))
        let rows = projection.statistics(by: .month)
        #expect(rows.map(\.platform) == ["cpam-11", "cpam-34"])
        var all = StatisticsCell()
        for row in rows { all.merge(row.cell) }
        #expect(all.patientsZero == 4)
        #expect(all.contacts == 2)
        #expect(all.followed == 6)
        #expect(all.patientsZeroReachedWithin24hShare == 0.5)
        #expect(all.contactsNotifiedWithin24hShare == 0.5)
        #expect(all.contactsPerPatientZeroMean == 0.75)
        #expect(all.contactsPerPatientZeroMedian == 0.5)
        #expect(all.patientsZeroWithoutContactShare == 0.5)
        #expect(all.digitalOnlyShare == 0.5)
        #expect(all.medianDelayHours == 1.0)
        #expect(all.contactsLaterPositive == 1)
        #expect(all.activity.outboundCalls == 4)
        #expect(all.reachedRate == 0.75)
        #expect(all.activity.sms == 2)
        #expect(all.activity.letters == 1)
    }

    @Test("a late-recorded earlier call moves the first reach back; a contact declared twice counts once")
    func lateEventsAndDuplicateDeclarations() throws {
        let scratch = Scratch()
        let projection = try TracingProjection.rebuild(from: try ledger(scratch))
        let a = try #require(projection.cases["A"])
        #expect(a.firstReachAt == History.at(1))
        #expect(a.contacts == ["C1", "C2"])
        let c2 = try #require(projection.cases["C2"])
        #expect(c2.declaredAt == History.at(2 + 1 / 6))
        #expect(c2.patientZeroCase == "A")
        #expect(projection.cases["B"]?.contacts == ["C2"])
        #expect(projection.cases["C1"]?.handledDigitallyOnly == true)
        #expect(c2.firstReachAt == nil)
        #expect(c2.firstNotifiedAt == History.at(40))
    }

    @Test("one case's state read from its streams equals the full projection's")
    func singleCase() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let projection = try TracingProjection.rebuild(from: log)
        for id in ["A", "B", "C1", "C2", "D", "E"] {
            #expect(try TracingProjection.caseState(id, in: log) == projection.cases[id], "\(id)")
        }
        #expect(try TracingProjection.caseState("nope", in: log) == nil)
    }

    @Test("statistics as of a date count only the facts before it")
    func asOf() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let cutoff = CivilDate(year: 2021, month: 3, day: 1).start.adding(days: 1)
        let projection = try TracingProjection.rebuild(from: log, asOf: cutoff)
        let total = projection.totals(platform: "cpam-34")
        #expect(total.patientsZero == 1)
        #expect(total.contacts == 2)
        #expect(projection.totals(platform: "cpam-11").patientsZero == 0)
        #expect(try projection.checkpoint == log.head().position)
    }

    @Test("statistics by day, ISO week and month bucket the same cases")
    func periods() throws {
        let scratch = Scratch()
        let projection = try TracingProjection.rebuild(from: try ledger(scratch))
        let weeks = projection.statistics(platform: "cpam-34", by: .week)
        #expect(weeks.map(\.period) == ["2021-W09"])
        let days = projection.statistics(platform: "cpam-34", by: .day)
        #expect(days.map(\.period) == ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-05"])
        #expect(days.reduce(0) { $0 + $1.cell.patientsZero } == weeks[0].cell.patientsZero)
        #expect(days.first?.cell.patientsZero == 1)
    }

    @Test("merging per-platform statistics equals computing over all platforms")
    func merging() throws {
        let scratch = Scratch()
        let projection = try TracingProjection.rebuild(from: try ledger(scratch))
        var merged = projection.totals(platform: "cpam-34")
        merged.merge(projection.totals(platform: "cpam-11"))
        var overAll = StatisticsCell()
        for row in projection.statistics(by: .week) { overAll.merge(row.cell) }
        #expect(merged == overAll)
        #expect(merged.contactsPerPatientZeroMedian == 0.5)
    }

    @Test("a rebuild and any sequence of catch-ups give byte-identical state")
    func rebuildEqualsCatchUp() throws {
        let scratch = Scratch()
        let log = try EventLog(path: scratch.path)
        let events = try History.events()
        var incremental = TracingProjection()
        for chunk in stride(from: 0, to: events.count, by: 4) {
            _ = try log.appendBlocking(Array(events[chunk..<min(chunk + 4, events.count)]))
            try incremental.catchUp(from: log)
        }
        let rebuilt = try TracingProjection.rebuild(from: log)
        #expect(try incremental.encoded() == rebuilt.encoded())
        #expect(try TracingProjection.decode(rebuilt.encoded()) == rebuilt)
    }

    @Test("the read model catches up incrementally; another ledger's is rebuilt; a cut history is refused")
    func store() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let model = try ReadModel(ledger: scratch.path)
        #expect(try model.catchUp(from: log) == Int(try log.head().position))
        var call = Tracing_V1_CallPlaced()
        call.outcome = .reached
        _ = try log.appendBlocking([
            try EventCatalog.event(call, stream: "E", platform: "cpam-34", occurredAt: .now())
        ])
        #expect(try model.catchUp(from: log) == 1)
        let rebuilt = try TracingProjection.rebuild(from: log)
        try model.read { view throws in
            #expect(view.checkpointHash == rebuilt.checkpointHash)
            #expect(try view.statistics(platforms: nil, by: .day) == rebuilt.statistics(by: .day))
            #expect(try view.caseState("E") == rebuilt.cases["E"])
        }
        // Another ledger's read model, put in place of this one's, is emptied and rebuilt.
        let other = Scratch()
        let otherLog = try EventLog(path: other.path)
        _ = try otherLog.appendBlocking([
            try EventCatalog.event(call, stream: "x", platform: "p", occurredAt: .now())
        ])
        let borrowed = other.path + ".projections"
        try FileManager.default.copyItem(atPath: scratch.path + ".projections", toPath: borrowed)
        let moved = try ReadModel(ledger: other.path)
        #expect(try moved.catchUp(from: otherLog) == 1)
        try moved.read { view throws in #expect(try view.caseCount() == 1) }
        // This ledger's read model over a copy that lacks the last events is refused, never rebuilt.
        let older = Scratch()
        let backup = older.path + "-backup"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        let copy = try EventLog(path: scratch.path, options: .init(readOnly: true))
        let backupHead = try copy.backup(to: backup)
        _ = try log.appendBlocking([
            try EventCatalog.event(call, stream: "F", platform: "cpam-34", occurredAt: .now())
        ])
        try model.catchUp(from: log)
        #expect(try model.read { $0.checkpoint } == backupHead.position + 1)
        #expect(throws: ProjectionStoreError.self) {
            try model.catchUp(from: try EventLog(path: backup, options: .init(readOnly: true)))
        }
    }

    @Test("closing a platform hands open cases over; the report gives the headline, open cases and a seal")
    func closure() throws {
        let scratch = Scratch()
        let log = try ledger(scratch)
        let before = try TracingProjection.rebuild(from: log)
        let events = try PlatformClosure.events(
            closing: "cpam-34", on: CivilDate(year: 2022, month: 7, day: 15), handoverTo: "cpam-11",
            projection: before)
        _ = try log.appendBlocking(events)
        let after = try TracingProjection.rebuild(from: log)
        let report = ClosureReport(platform: "cpam-34", projection: after)
        #expect(report.followed == 5)
        #expect(report.patientsZero == 3)
        #expect(report.contacts == 2)
        #expect(report.closedOn == "2022-07-15")
        #expect(report.handoverTo == "cpam-11")
        #expect(report.openCases.map(\.id) == ["A", "B", "C1", "C2", "E"])
        #expect(report.openCases.allSatisfy { $0.handedOverTo == "cpam-11" })
        #expect(after.cases["A"]?.closureReason == "handedOver")
        #expect(
            report.headline(language: .fr)
                == "5 assurés suivis dont 3 patients zéro et 2 patients contact au 15 juillet 2022")
        #expect(
            report.headline(language: .en)
                == "5 insured followed, of whom 3 patients zéro and 2 contacts as of 15 July 2022")
        #expect(try report.seal.lastPosition == log.head().position)
        #expect(try report.seal.headHash == log.head().hashHex)
        #expect(try log.checkSeal(report.seal) == nil)
        var forged = report.seal
        forged.headHash = String(repeating: "a", count: 64)
        #expect(try log.checkSeal(forged) != nil)
        let json = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        for key in ["platform", "closedOn", "handoverTo", "followed", "patientsZero", "contacts", "seal"] {
            #expect(json?[key] != nil, "missing \(key)")
        }
        #expect(report.html(language: .fr).contains("<svg"))
        #expect(report.markdown(language: .en).contains("| 2021-W09 | 3 | 2 |"))
    }

    @Test("digit grouping of the headline follows each language")
    func grouping() {
        var report = ClosureReport(platform: "cpam-34", projection: TracingProjection())
        report.patientsZero = 608_845
        report.contacts = 406_000
        report.followed = 1_014_845
        report.closedOn = "2022-07-15"
        #expect(
            report.headline(language: .fr)
                == "1 014 845 assurés suivis dont 608 845 patients zéro et 406 000 patients contact au 15 juillet 2022"
        )
        #expect(
            report.headline(language: .en)
                == "1,014,845 insured followed, of whom 608,845 patients zéro and 406,000 contacts as of 15 July 2022"
        )
    }
}
