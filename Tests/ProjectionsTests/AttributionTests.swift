import ContactTracing
import Foundation
import Ledger
import Projections
import SwiftProtobuf
import Testing

/// docs/statistics.md: a case counts on the platform that opened it, by fact time, whatever the order
/// in which the events were recorded.
@Suite("attribution by fact time")
struct AttributionTests {
    static let t0 = Timestamp(year: 2021, month: 3, day: 1, hour: 8)

    static func at(_ hours: Int64) -> Timestamp { t0.adding(milliseconds: hours * 3_600_000) }

    static func event(_ m: any SwiftProtobuf.Message, _ stream: String, _ platform: String, _ time: Timestamp)
        throws -> NewEvent
    {
        try EventCatalog.event(m, stream: stream, platform: platform, occurredAt: time, recordedAt: time)
    }

    /// Folds `events` appended in the order given.
    static func fold(_ events: [NewEvent]) throws -> TracingProjection {
        let scratch = Scratch()
        let log = try EventLog(path: scratch.path)
        _ = try log.appendBlocking(events)
        return try TracingProjection.rebuild(from: log)
    }

    static func statistics(_ projection: TracingProjection) -> [String] {
        projection.statistics(by: .day).map {
            "\($0.platform) \($0.period) p0=\($0.cell.patientsZero) contacts=\($0.cell.contacts)"
        }
    }

    @Test(
        "a P0 opened by cpam-34 counts on cpam-34 whether cpam-11's earlier-recorded SMS came first or last")
    func patientZeroFollowsItsOpening() throws {
        var lab = Tracing_V1_PositiveTestReported()
        lab.person = "p-1"
        var opened = Tracing_V1_CaseOpened()
        opened.person = "p-1"
        opened.role = .patientZero
        let result = try Self.event(lab, "cpam-34/p0/1", "cpam-34", Self.at(0))
        let open = try Self.event(opened, "cpam-34/p0/1", "cpam-34", Self.at(1))
        let sms = try Self.event(Tracing_V1_SMSSent(), "cpam-34/p0/1", "cpam-11", Self.at(4))
        let smsFirst = try Self.fold([sms, result, open])
        let smsLast = try Self.fold([result, open, sms])
        for projection in [smsFirst, smsLast] {
            #expect(projection.cases["cpam-34/p0/1"]?.platform == "cpam-34")
            #expect(projection.totals(platform: "cpam-34").patientsZero == 1)
            #expect(projection.totals(platform: "cpam-11").patientsZero == 0)
        }
        #expect(Self.statistics(smsFirst) == Self.statistics(smsLast))
        // The SMS itself is cpam-11's activity, on the day it was sent.
        #expect(smsFirst.statistics(platform: "cpam-11", by: .day).first?.cell.activity.sms == 1)
    }

    @Test("the earliest opening by fact time wins, ties by position; recording order never changes it")
    func earliestOpeningWins() throws {
        var opened = Tracing_V1_CaseOpened()
        opened.role = .contact
        let byA = try Self.event(opened, "c/1", "cpam-34", Self.at(5))
        let byB = try Self.event(opened, "c/1", "cpam-11", Self.at(3))
        #expect(try Self.fold([byA, byB]).cases["c/1"]?.platform == "cpam-11")
        #expect(try Self.fold([byB, byA]).cases["c/1"]?.platform == "cpam-11")
        let tieA = try Self.event(opened, "c/2", "cpam-34", Self.at(3))
        let tieB = try Self.event(opened, "c/2", "cpam-11", Self.at(3))
        #expect(try Self.fold([tieA, tieB]).cases["c/2"]?.platform == "cpam-34")
        #expect(try Self.fold([tieB, tieA]).cases["c/2"]?.platform == "cpam-11")
    }

    @Test("the role comes from the earliest opening by fact time, whatever the order of recording")
    func roleFollowsTheEarliestOpening() throws {
        // A CaseOpened without a role on 1 August, a positive test on 15 July: a P0 of 15 July.
        var withoutRole = Tracing_V1_CaseOpened()
        withoutRole.person = "p-9"
        var lab = Tracing_V1_PositiveTestReported()
        lab.person = "p-9"
        let opened = try Self.event(withoutRole, "x/1", "cpam-97", Self.at(24 * 30))
        let positive = try Self.event(lab, "x/1", "cpam-99", Self.at(24 * 14))
        for order in [[opened, positive], [positive, opened]] {
            let projection = try Self.fold(order)
            #expect(projection.cases["x/1"]?.role == .patientZero)
            #expect(projection.cases["x/1"]?.platform == "cpam-99")
            #expect(projection.totals(platform: "cpam-99").patientsZero == 1)
            #expect(projection.totals(platform: "cpam-97").contacts == 0)
        }
        // Two CaseOpened with different roles: the earlier fact's role, recorded first or last.
        var asP0 = Tracing_V1_CaseOpened()
        asP0.role = .patientZero
        var asCoExposed = Tracing_V1_CaseOpened()
        asCoExposed.role = .coExposed
        let first = try Self.event(asP0, "x/2", "cpam-34", Self.at(0))
        let second = try Self.event(asCoExposed, "x/2", "cpam-34", Self.at(24))
        #expect(try Self.fold([first, second]).cases["x/2"]?.role == .patientZero)
        #expect(try Self.fold([second, first]).cases["x/2"]?.role == .patientZero)
    }

    @Test(
        "a contact declared by cpam-34's P0 and opened by cpam-11 counts on cpam-11, the platform that opened it"
    )
    func contactFollowsItsOpener() throws {
        var opened = Tracing_V1_CaseOpened()
        opened.role = .patientZero
        var declared = Tracing_V1_ContactDeclared()
        declared.contactCase = "cpam-11/contact/9"
        var contact = Tracing_V1_CaseOpened()
        contact.role = .contact
        contact.patientZeroCase = "cpam-34/p0/1"
        let events = [
            try Self.event(opened, "cpam-34/p0/1", "cpam-34", Self.at(0)),
            try Self.event(declared, "cpam-34/p0/1", "cpam-34", Self.at(1)),
            try Self.event(contact, "cpam-11/contact/9", "cpam-11", Self.at(2)),
        ]
        for order in [events, events.reversed()] {
            let projection = try Self.fold(order)
            #expect(projection.cases["cpam-11/contact/9"]?.platform == "cpam-11")
            #expect(projection.totals(platform: "cpam-11").contacts == 1)
            #expect(projection.totals(platform: "cpam-34").contacts == 0)
            // The declaration still counts for cpam-34's P0 (contacts per P0).
            #expect(projection.cases["cpam-34/p0/1"]?.contacts == ["cpam-11/contact/9"])
        }
    }
}
