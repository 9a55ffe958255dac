import ContactTracing
import Foundation
import Ledger
import Projections
import TestSupport
import Testing

@testable import Simulation

/// The national profile: one platform per département, the audit's national totals, the closures of
/// 15 July 2022 and the ten platforms kept open.
@Suite("Simulator: france-2020-2022")
struct FranceProfileTests {
    let profile = SimulationProfile.france20202022
    /// The end of the platforms' closing day, 15 July 2022.
    let closingInstant = CivilDate(year: 2022, month: 7, day: 16).start.adding(milliseconds: -1)

    @Test("the profile has one platform per département, named cpam-NN in lower case, and runs by its name")
    func platforms() {
        #expect(SimulationProfile.named("france-2020-2022") != nil)
        #expect(profile.platforms.count == 101)
        let ids = profile.platforms.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("cpam-") && $0 == $0.lowercased() })
        for id in [
            "cpam-01", "cpam-2a", "cpam-2b", "cpam-95", "cpam-971", "cpam-972", "cpam-973", "cpam-974",
            "cpam-976",
        ] {
            #expect(ids.contains(id), "\(id)")
        }
        #expect(profile.platforms.allSatisfy { $0.population > 0 })
        let aude = profile.platforms.first { $0.id == "cpam-11" }
        #expect(aude?.sites == ["Carcassonne"] && aude?.closesOn == nil)
    }

    @Test(
        "the national totals are exact at any scale, and Hérault keeps its published figures",
        arguments: [0.0001, 0.00037, 0.001, 0.0123, 0.5, 1])
    func nationalTotalsExact(scale: Double) {
        let totals = Simulator(profile: profile, scale: scale).totals
        #expect(totals.count == 101)
        #expect(totals.reduce(0) { $0 + $1.patientsZero } == Int((32_000_000 * scale).rounded()))
        #expect(totals.reduce(0) { $0 + $1.contacts } == Int((22_700_000 * scale).rounded()))
        let herault = totals.first { $0.platform == "cpam-34" }
        #expect(herault?.patientsZero == Int((608_845 * scale).rounded()))
        #expect(herault?.contacts == Int((406_000 * scale).rounded()))
        #expect(totals.allSatisfy { $0.patientsZero >= 0 && $0.contacts >= 0 })
    }

    @Test("at scale 1, Hérault says its closing figure and the platforms that close share by population")
    func sharesByPopulation() throws {
        let totals = Simulator(profile: profile).totals
        let herault = try #require(totals.first { $0.platform == "cpam-34" })
        #expect(
            herault.patientsZero == 608_845 && herault.contacts == 406_000 && herault.followed == 1_014_845)
        // Every platform that closes on 15 July 2022 (Hérault apart) serves its own département over the
        // same days: its quota is the same number of cases per resident for all, and it gets its quota
        // to within one case. (The rate measured on the rounded counts is off by less than one case per
        // platform over all their residents.)
        let closers = zip(profile.platforms, totals).filter { $0.0.closesOn != nil && $0.0.id != "cpam-34" }
        #expect(closers.count == 90)
        let residents = Double(closers.reduce(0) { $0 + $1.0.population })
        let rate = Double(closers.reduce(0) { $0 + $1.1.patientsZero }) / residents
        for (platform, total) in closers {
            let population = Double(platform.population)
            #expect(
                abs(Double(total.patientsZero) - rate * population) < 1 + 90 * population / residents,
                "\(platform.id)")
        }
        // The ten that stay open also serve, after the closures, the départements handed over to them.
        for (platform, total) in zip(profile.platforms, totals) where platform.closesOn == nil {
            #expect(Double(total.patientsZero) > 1.05 * rate * Double(platform.population), "\(platform.id)")
        }
    }

    @Test("largest remainders: exact sums, ties to the earlier, nothing for a zero weight")
    func largestRemainders() {
        #expect(Simulator.largestRemainders(1, weights: [1, 1]) == [1, 0])
        #expect(Simulator.largestRemainders(2, weights: [1, 1, 1]) == [1, 1, 0])
        #expect(Simulator.largestRemainders(10, weights: [0, 1, 0, 3]) == [0, 3, 0, 7])
        #expect(Simulator.largestRemainders(5, weights: [0, 0]) == [0, 0])
        #expect(Simulator.largestRemainders(0, weights: [1, 2]) == [0, 0])
        // 1/3 of 100 is 33.33…: the largest fractional parts get the units left.
        #expect(Simulator.largestRemainders(100, weights: [1, 1, 1]) == [34, 33, 33])
        #expect(Simulator.largestRemainders(7, weights: [0.5, 0.2, 0.3]) == [4, 1, 2])
        let weights = (0..<101).map { Double(($0 * 7919) % 97 + 1) }
        for total in [1, 37, 3_200, 31_391_155] {
            let counts = Simulator.largestRemainders(total, weights: weights)
            #expect(counts.reduce(0, +) == total)
            let sum = weights.reduce(0, +)
            for (w, c) in zip(weights, counts) { #expect(abs(Double(c) - Double(total) * w / sum) < 1) }
        }
    }

    @Test("generated NIRs are valid for every département, Corsica (2A, 2B, 20) and overseas (97x) included")
    func nirs() {
        for departement in profile.platforms.map(\.departement) {
            for year in [1950, 1975, 1976, 2001] {
                let nir = Simulator.nir(
                    sex: 2, year: year, month: 7, departement: departement, commune: 340, order: 999)
                #expect(nir.count == 15, "\(nir)")
                #expect(LabResultsCSV.hasValidKey(nir: nir), "\(nir)")
                #expect(PersonalData.find(in: "NIR \(nir)")?.kind == .nir, "\(nir)")
                let place = String(Array(nir)[5..<(departement.count == 3 ? 8 : 7)])
                let corsicaBefore1976 =
                    departement.hasPrefix("2") && !departement.allSatisfy(\.isNumber) && year < 1976
                #expect(place == (corsicaBefore1976 ? "20" : departement), "\(nir)")
            }
        }
    }

    @Test(
        "the ledger opens exactly the totals; the platforms that close write nothing after 15 July 2022 and hand over to one of the ten kept open"
    )
    func closuresAndHandOver() throws {
        let scratch = Scratch()
        let scale = 0.0001
        let (log, summary) = try simulate(profile, scale: scale, identities: false, in: scratch)
        #expect(try log.verify().failure == nil)
        // Cases opened, counted from the log per platform and role.
        var p0 = [String: Int]()
        var contacts = [String: Int]()
        var handedTo = [String: Set<String>]()
        var closedPlatforms = [String: String]()
        var receiverCasesAfterClosures = [String: Int]()
        let stayOpen = Set(profile.platforms.filter { $0.closesOn == nil }.map(\.id))
        let closing = Set(profile.platforms.filter { $0.closesOn != nil }.map(\.id))
        try log.forEach { view in
            if closing.contains(view.platform) {
                #expect(
                    view.occurredAt <= closingInstant, "\(view.platform) \(view.type) at \(view.occurredAt)")
            }
            switch view.type {
            case "CaseOpened":
                if view.stream.contains("/p0/") {
                    p0[view.platform, default: 0] += 1
                } else {
                    contacts[view.platform, default: 0] += 1
                }
                if stayOpen.contains(view.platform) && view.occurredAt > closingInstant {
                    receiverCasesAfterClosures[view.platform, default: 0] += 1
                }
            case "CaseHandedOver":
                let message = try Tracing_V1_CaseHandedOver(serializedBytes: Array(view.payload))
                handedTo[view.platform, default: []].insert(message.toPlatform)
            case "PlatformClosed":
                let message = try Tracing_V1_PlatformClosed(serializedBytes: Array(view.payload))
                #expect(message.closedOn == "2022-07-15")
                closedPlatforms[view.platform] = message.handoverTo
            default: break
            }
            return true
        }
        for expected in summary.totals {
            #expect(p0[expected.platform, default: 0] == expected.patientsZero, "\(expected.platform)")
            #expect(contacts[expected.platform, default: 0] == expected.contacts, "\(expected.platform)")
        }
        #expect(p0.values.reduce(0, +) == 3_200)
        #expect(contacts.values.reduce(0, +) == 2_270)
        #expect(p0["cpam-34"] == 61 && contacts["cpam-34"] == 41)
        // Ten platforms stay open, Aude among them; every other one closes and hands over to one of them.
        #expect(stayOpen.count == 10 && stayOpen.contains("cpam-11"))
        #expect(Set(closedPlatforms.keys) == closing)
        #expect(closedPlatforms.values.allSatisfy { stayOpen.contains($0) })
        #expect(closedPlatforms["cpam-34"] == "cpam-11")
        for (platform, receivers) in handedTo { #expect(receivers == [closedPlatforms[platform]]) }
        #expect(summary.handedOver.values.reduce(0, +) > 0)
        // The ten keep opening cases after the closures (they serve the départements handed over).
        let projection = try TracingProjection.rebuild(from: log)
        for id in stayOpen {
            #expect(projection.platforms[id]?.closedOn == nil, "\(id)")
        }
        #expect(receiverCasesAfterClosures["cpam-11", default: 0] > 0)
        #expect(receiverCasesAfterClosures.count == 10)
    }

    @Test("the same seed gives the same national ledger, sealed identities included, with valid NIRs")
    func deterministic() throws {
        let a = Scratch()
        let b = Scratch()
        let (logA, _) = try simulate(profile, scale: 0.00005, seed: 3, identities: true, in: a)
        let (logB, _) = try simulate(profile, scale: 0.00005, seed: 3, identities: true, in: b)
        #expect(try logA.head().count > 10_000)
        #expect(try logA.head() == logB.head())
        // The identities sealed for Corsica and overseas open, with valid NIRs of their département.
        let vault = try PrivacyVault(ledger: a.path, create: false)
        var checked = Set<String>()
        let special = ["cpam-2a": "2A", "cpam-2b": "2B", "cpam-971": "971", "cpam-976": "976"]
        try logA.forEach(filter: EventFilter(types: ["PositiveTestReported"], platforms: Set(special.keys))) {
            view in
            let test = try Tracing_V1_PositiveTestReported(serializedBytes: Array(view.payload))
            guard case .identity(let identity) = try vault.reveal(test.identity, person: test.person) else {
                Issue.record("identity of \(test.person) does not open")
                return false
            }
            #expect(LabResultsCSV.hasValidKey(nir: identity.nir), "\(identity.nir)")
            #expect(vault.pseudonym(nir: identity.nir) == test.person)
            let code = special[view.platform] ?? ""
            let place = String(Array(identity.nir)[5..<(5 + code.count)])
            #expect(place == code || (code.hasPrefix("2") && place == "20"), "\(identity.nir)")
            checked.insert(view.platform)
            return true
        }
        #expect(checked == Set(special.keys))
    }
}
