import ContactTracing
import Foundation
import Ledger
import Projections
import TestSupport
import Testing

@testable import Simulation

/// A ledger in a temporary directory (the shared helper of TestSupport).
typealias Scratch = TemporaryLedger

/// Simulates into a fresh ledger; returns the log and the run's summary.
func simulate(
    _ profile: SimulationProfile, scale: Double, seed: UInt64 = 1, identities: Bool, in scratch: Scratch
) throws -> (EventLog, Simulator.Summary) {
    let log = try EventLog(path: scratch.path)
    let vault = identities ? try PrivacyVault(ledger: scratch.path, create: true, syntheticSeed: seed) : nil
    let summary = try Simulator(profile: profile, scale: scale, seed: seed).generate(vault: vault) { batch in
        _ = try log.appendBlocking(batch)
    }
    return (log, summary)
}

@Suite("Simulator")
struct SimulatorTests {
    @Test("apportioning splits a total exactly, in proportion, and gives nothing to a zero weight")
    func apportionIsExact() {
        #expect(Simulator.apportion(10, weights: [1, 1, 1]) == [3, 4, 3])
        // A long stretch of small weights still gets its share, spread out.
        let small = Simulator.apportion(4, weights: Array(repeating: 1, count: 20))
        #expect(small.reduce(0, +) == 4 && small.allSatisfy { $0 <= 1 })
        #expect(Simulator.apportion(7, weights: [0, 2, 5, 0]) == [0, 2, 5, 0])
        #expect(Simulator.apportion(0, weights: [1, 2]) == [0, 0])
        let weights = (0..<800).map { Double(($0 * 7919) % 97) }
        let counts = Simulator.apportion(608_845, weights: weights)
        #expect(counts.reduce(0, +) == 608_845)
        for (w, c) in zip(weights, counts) where w == 0 { #expect(c == 0) }
    }

    @Test("scaled totals are the published figures times the scale, rounded to the nearest whole")
    func scaledTotals() {
        let full = Simulator(profile: .herault2022).totals[0]
        #expect(full.patientsZero == 608_845 && full.contacts == 406_000 && full.followed == 1_014_845)
        let hundredth = Simulator(profile: .herault2022, scale: 0.01).totals[0]
        #expect(hundredth.patientsZero == 6_088 && hundredth.contacts == 4_060)
    }

    @Test(
        "the Hérault closure report says exactly the scaled closing figures, and the open cases went to Aude")
    func heraultClosureFigures() throws {
        let scratch = Scratch()
        let scale = 0.004
        let (log, summary) = try simulate(.herault2022, scale: scale, identities: false, in: scratch)
        let projection = try TracingProjection.rebuild(from: log)
        let report = ClosureReport(platform: "cpam-34", projection: projection)
        let expected = Simulator(profile: .herault2022, scale: scale).totals[0]
        #expect(report.patientsZero == expected.patientsZero)
        #expect(report.contacts == expected.contacts)
        #expect(report.followed == expected.followed)
        #expect(report.closedOn == "2022-07-15")
        #expect(report.handoverTo == "cpam-11")
        #expect(!report.openCases.isEmpty)
        #expect(report.openCases.allSatisfy { $0.handedOverTo == "cpam-11" })
        #expect(summary.handedOver["cpam-34"] == report.openCases.count)
        #expect(try log.verify().failure == nil)
        // Nothing of cpam-34 happens after its closure.
        let closedAt = CivilDate(year: 2022, month: 7, day: 16).start
        try log.forEach { view in
            if view.platform == "cpam-34" { #expect(view.occurredAt < closedAt) }
            return true
        }
        // The rules are on the platform's stream, on their real dates.
        let effective = projection.platforms["cpam-34"]?.policies.map(\.effectiveOn) ?? []
        #expect(effective == ["2020-05-11", "2020-09-11", "2022-01-03", "2022-03-21", "2022-07-01"])
    }

    @Test("the simulated history has the shape the sources describe")
    func heraultShape() throws {
        let scratch = Scratch()
        let (log, _) = try simulate(.herault2022, scale: 0.01, identities: false, in: scratch)
        let projection = try TracingProjection.rebuild(from: log)
        let totals = projection.totals(platform: "cpam-34")
        // Over 90 % of patients zéro reached within 24 h, 70 to 80 % of contacts notified.
        let p0Within24h = try #require(totals.patientsZeroReachedWithin24hShare)
        #expect(p0Within24h > 0.9)
        let contactsWithin24h = try #require(totals.contactsNotifiedWithin24hShare)
        #expect(contactsWithin24h >= 0.7 && contactsWithin24h <= 0.8)
        // About half of patients zéro declared no contact in 2020-21, about 90 % in 2022.
        let byYear = Dictionary(
            grouping: projection.statistics(platform: "cpam-34", by: .month), by: { $0.period.prefix(4) })
        func cell(_ year: Substring) -> StatisticsCell {
            (byYear[year] ?? []).reduce(into: StatisticsCell()) { $0.merge($1.cell) }
        }
        var early = cell("2020")
        early.merge(cell("2021"))
        let noContactEarly = try #require(early.patientsZeroWithoutContactShare)
        let noContact2022 = try #require(cell("2022").patientsZeroWithoutContactShare)
        #expect(abs(noContactEarly - 0.5) < 0.05)
        #expect(abs(noContact2022 - 0.9) < 0.04)
        // About 80 % of patients zéro got an SMS instead of a call in January 2022, none before October 2020.
        let p0 = projection.cases.values.filter { $0.role == .patientZero && $0.platform == "cpam-34" }
        func digitalShare(_ month: String) -> Double {
            let cases = p0.filter { ($0.labResultAt?.date.description ?? "").hasPrefix(month) }
            let bySMS = cases.filter { $0.attempts.sms > 0 && $0.attempts.outboundCalls == 0 }
            return Double(bySMS.count) / Double(max(1, cases.count))
        }
        #expect(abs(digitalShare("2022-01") - 0.8) < 0.05)
        #expect(digitalShare("2020-07") == 0)
        // The Omicron wave is the highest: January 2022 has the most patients zéro of any month.
        let months = projection.statistics(platform: "cpam-34", by: .month)
        let busiest = try #require(months.max { $0.cell.patientsZero < $1.cell.patientsZero })
        #expect(busiest.period == "2022-01")
        // Activity seven days a week: every week of the platform's life has calls or messages, and
        // weekends carry a fair share of them.
        let daily = projection.daily["cpam-34"] ?? [:]
        let weeks = Set(daily.keys.compactMap { CivilDate($0)?.startOfISOWeek })
        let september2020 = CivilDate(year: 2020, month: 8, day: 31)
        #expect(weeks.filter { $0 >= september2020 }.count == 98)
        let weekend = daily.filter { CivilDate($0.key)!.isoWeekday >= 6 }.values.reduce(0) {
            $0 + $1.sms + $1.outboundCalls
        }
        let all = daily.values.reduce(0) { $0 + $1.sms + $1.outboundCalls }
        #expect(Double(weekend) / Double(all) > 0.15)
        // Contacts who later test positive, letters, inbound calls, landlines, work stoppages.
        #expect(totals.contactsLaterPositive > 0)
        #expect(
            totals.activity.letters > 0 && totals.activity.inboundCalls > 0
                && totals.activity.landlineCalls > 0)
        #expect(p0.filter(\.workStoppage).count > p0.count / 4)
        // No outbound call after the end of outbound calls (2022-07-01).
        let july = projection.daily["cpam-34"]?.filter { $0.key >= "2022-07-01" }.values ?? [:].values
        #expect(july.allSatisfy { $0.outboundCalls == 0 })
    }

    @Test("the same seed gives the same ledger, sealed identities included; another seed another one")
    func sameSeedSameHeadHash() throws {
        let a = Scratch()
        let b = Scratch()
        let c = Scratch()
        let (logA, _) = try simulate(.herault2022, scale: 0.001, seed: 7, identities: true, in: a)
        let (logB, _) = try simulate(.herault2022, scale: 0.001, seed: 7, identities: true, in: b)
        let (logC, _) = try simulate(.herault2022, scale: 0.001, seed: 8, identities: true, in: c)
        #expect(try logA.head().count > 5_000)
        #expect(try logA.head() == logB.head())
        #expect(try logA.head().hash != logC.head().hash)
        // The sealed identities open with the key store written beside the ledger.
        let vault = try PrivacyVault(ledger: a.path, create: false)
        var opened = 0
        try logA.forEach { view in
            guard view.type == "PositiveTestReported" else { return true }
            let test = try Tracing_V1_PositiveTestReported(serializedBytes: Array(view.payload))
            guard case .identity(let identity) = try vault.reveal(test.identity, person: test.person) else {
                Issue.record("identity of \(test.person) does not open")
                return false
            }
            #expect(vault.pseudonym(nir: identity.nir) == test.person)
            opened += 1
            return opened < 50
        }
        #expect(opened == 50)
    }

    @Test(
        "the existing profiles write the very same ledgers as before (pinned head hashes)",
        arguments: [
            (
                "herault-2022", 0.001, 1, false,
                "8a7129fdfa395a3756bb9bde93f4f2ac07359eeb4f729a9c2ae00a682f0eacf6"
            ),
            (
                "herault-2022", 0.003, 7, true,
                "ec5e64b6514707f60798334268138d9d034bc1d85bfee6f8e09255977d450443"
            ),
            (
                "pays-de-la-loire-2020", 0.001, 1, true,
                "c2142fea31b9ab12f5d7cdb06552652c5dd479e1d6f58d0bbf2d59faf195bd87"
            ),
        ] as [(String, Double, UInt64, Bool, String)])
    func pinnedHeadHashes(profile: String, scale: Double, seed: UInt64, identities: Bool, head: String) throws
    {
        // A change to the simulator must not change what the existing profiles write: statisticians and
        // benchmarks compare ledgers by head hash. The hashes were taken with `ledgerctl simulate`, format
        // version 2 (a format change changes every hash; the pays-de-la-loire one is also the head of the
        // version 1 fixture migrated, MigrationTests).
        let scratch = Scratch()
        let (log, _) = try simulate(
            try #require(SimulationProfile.named(profile)), scale: scale, seed: seed, identities: identities,
            in: scratch)
        #expect(try log.head().hashHex == head, "\(profile) at \(scale), seed \(seed)")
    }

    @Test("Pays de la Loire: statistics span six platforms, the DRSM one from September 2020 with two sites")
    func paysDeLaLoire() throws {
        let scratch = Scratch()
        let (log, summary) = try simulate(.paysDeLaLoire2020, scale: 0.02, identities: false, in: scratch)
        let projection = try TracingProjection.rebuild(from: log)
        #expect(projection.platforms.count == 6)
        let drsm = try #require(projection.platforms["drsm-pdl"])
        #expect(drsm.sites == ["Angers", "Nantes"])
        #expect(drsm.openedOn == "2020-09-14")
        let first = projection.statistics(platform: "drsm-pdl", by: .day).first?.period ?? ""
        #expect(first >= "2020-09-14")
        for expected in summary.totals {
            let totals = projection.totals(platform: expected.platform)
            #expect(totals.patientsZero == expected.patientsZero, "\(expected.platform)")
            #expect(totals.contacts == expected.contacts, "\(expected.platform)")
        }
    }

    @Test(
        "at every scale and seed the closure report says what simulate announces, and every case starts opened",
        arguments: [
            (0.05, 1), (0.0003, 2), (0.0007, 3), (0.001, 4), (0.0013, 5), (0.002, 6), (0.0031, 7), (0.004, 8),
            (0.0047, 9), (0.006, 10), (0.0085, 11), (0.011, 12), (0.017, 13),
        ] as [(Double, UInt64)])
    func announcedFiguresHold(scale: Double, seed: UInt64) throws {
        let scratch = Scratch()
        let (log, summary) = try simulate(
            .herault2022, scale: scale, seed: seed, identities: false, in: scratch)
        let projection = try TracingProjection.rebuild(from: log)
        for expected in summary.totals {
            let report = ClosureReport(platform: expected.platform, projection: projection)
            #expect(
                report.patientsZero == expected.patientsZero, "\(expected.platform) at \(scale), seed \(seed)"
            )
            #expect(report.contacts == expected.contacts, "\(expected.platform) at \(scale), seed \(seed)")
        }
        var first = [String: String]()
        try log.forEach { view in
            let stream = view.stream
            if (stream.contains("/p0/") || stream.contains("/contact/")) && first[stream] == nil {
                first[stream] = view.type
            }
            return true
        }
        let unopened = first.filter { $0.value != "CaseOpened" && $0.value != "PositiveTestReported" }
        #expect(unopened.isEmpty, "streams without an opening event: \(unopened.keys.sorted().prefix(5))")
    }
}
