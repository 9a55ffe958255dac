import ContactTracing
import Foundation
import Ledger

/// What the simulator reproduces: the platforms, their exact totals, the shape of the epidemic, the
/// rules on their real dates, and how the work was done (channels, delays, declared contacts).
///
/// docs/simulation.md gives the sources of every number and says which ones are modelled.
public struct SimulationProfile: Sendable {
    /// One tracing platform of the profile.
    public struct Platform: Sendable {
        /// Platform id, for example `cpam-34`.
        public var id: String
        /// Its name.
        public var name: String
        /// Its sites.
        public var sites: [String]
        /// Département number used in the generated NIRs and addresses.
        public var departement: String
        /// Town used in the generated addresses.
        public var town: String
        /// First day of activity.
        public var opensOn: CivilDate
        /// Closing day, if it closes within the profile.
        public var closesOn: CivilDate?
        /// The platform its open cases are handed over to at closure.
        public var handoverTo: String?
        /// Patient zéro cases opened over the whole history, at scale 1: its own figure. In a profile
        /// with ``SimulationProfile/national`` totals, only the platforms listed as published keep it;
        /// the others get a share of the national totals instead (and leave it at 0).
        public var patientsZero: Int
        /// Contact cases opened over the whole history, at scale 1 (as `patientsZero`).
        public var contacts: Int
        /// Residents of the area it serves (its département's legal population). Used only by a profile
        /// with ``SimulationProfile/national`` totals, which shares them out by population; after its
        /// closure, the platform it hands over to serves its area too.
        public var population: Int

        /// Creates a platform description.
        public init(
            id: String, name: String, sites: [String], departement: String, town: String, opensOn: CivilDate,
            closesOn: CivilDate? = nil, handoverTo: String? = nil, patientsZero: Int, contacts: Int,
            population: Int = 0
        ) {
            self.id = id
            self.name = name
            self.sites = sites
            self.departement = departement
            self.town = town
            self.opensOn = opensOn
            self.closesOn = closesOn
            self.handoverTo = handoverTo
            self.patientsZero = patientsZero
            self.contacts = contacts
            self.population = population
        }
    }

    /// Totals of a national profile: cases over the whole history, at scale 1, shared out among the
    /// platforms (``Simulator/totals``).
    public struct NationalTotals: Sendable {
        /// Patient zéro cases over the whole history, at scale 1.
        public var patientsZero: Int
        /// Contact cases over the whole history, at scale 1.
        public var contacts: Int
        /// The platforms that keep their own published figures (`patientsZero`, `contacts`, scaled and
        /// rounded on their own); the others share what is left of the national totals.
        public var published: Set<String>

        /// Creates national totals.
        public init(patientsZero: Int, contacts: Int, published: Set<String> = []) {
            self.patientsZero = patientsZero
            self.contacts = contacts
            self.published = published
        }
    }

    /// An epidemic wave: a Gaussian bump of daily positives.
    public struct Wave: Sendable {
        /// The peak day.
        public var peak: CivilDate
        /// Standard deviation, in days.
        public var width: Double
        /// Height relative to the other waves.
        public var height: Double
    }

    /// A rule change, appended as `PolicyChanged` on its effective date to every open platform.
    public struct Rule: Sendable {
        /// The day it takes effect.
        public var effectiveOn: CivilDate
        /// The rule version recorded in isolation prescriptions.
        public var version: String
        /// Isolation of a patient zéro, in days.
        public var isolationDaysPatientZero: Int
        /// Isolation (quarantine) of a contact, in days.
        public var isolationDaysContact: Int
        /// Whether contacts must isolate at all.
        public var contactIsolationRequired: Bool
        /// Share of contacts who still must isolate (the others are exempt, for example boosted).
        public var contactsIsolatedShare: Double
        /// Outbound calls stopped: every notification is digital or by letter.
        public var outboundCallsStopped: Bool
        /// Calls to landlines stopped.
        public var landlineCallsStopped: Bool
        /// Contacts are notified by SMS or the ameli account only.
        public var contactNotificationDigitalOnly: Bool
        /// What changed, in words.
        public var note: String
    }

    /// A value that changes over time: linear between dated points, constant outside them.
    public struct Ramp: Sendable {
        /// The dated values, in date order.
        public var points: [(day: Int, value: Double)]

        /// Creates a ramp from dated values.
        public init(_ points: [(CivilDate, Double)]) {
            self.points = points.map { ($0.0.dayNumber, $0.1) }.sorted { $0.day < $1.day }
        }

        /// The value on a day.
        public func value(on dayNumber: Int) -> Double {
            guard let first = points.first, let last = points.last else { return 0 }
            if dayNumber <= first.day { return first.value }
            if dayNumber >= last.day { return last.value }
            for (a, b) in zip(points, points.dropFirst()) where dayNumber < b.day {
                let t = Double(dayNumber - a.day) / Double(b.day - a.day)
                return a.value + (b.value - a.value) * t
            }
            return last.value
        }
    }

    /// The modelled shares of the tracing process that the sources do not give (docs/simulation.md):
    /// one place for every probability the simulator draws, so a profile can change any of them.
    public struct Behaviour: Sendable {
        /// Persons with no phone number known (they get letters).
        public var noPhoneShare = 0.025
        /// Phones that are mobiles (06) rather than landlines (04).
        public var mobilePhoneShare = 0.8
        /// Patients zéro whose lab result gives a symptom onset date.
        public var symptomOnsetKnownShare = 0.6
        /// Calls to patients zéro on landlines, in 2020 and from 2021.
        public var patientZeroLandlineShare2020 = 0.15
        /// Calls to patients zéro on landlines from 2021.
        public var patientZeroLandlineShareLater = 0.1
        /// Chance that one outbound call reaches a patient zéro.
        public var patientZeroCallReachChance = 0.72
        /// Patients zéro given a work stoppage.
        public var patientZeroWorkStoppageShare = 0.42
        /// Patients zéro for whom a home nurse visit is requested.
        public var nurseVisitShare = 0.01
        /// Patients zéro for whom social support is requested.
        public var socialSupportShare = 0.006
        /// Patients zéro whose case is reported to the ARS as part of a cluster.
        public var clusterShare = 0.004
        /// Patients zéro who call the platform back.
        public var patientZeroInboundCallShare = 0.07
        /// Patients zéro handled digitally who get an end-of-isolation SMS.
        public var endOfIsolationSMSShare = 0.5
        /// Listed contacts who are co-exposed rather than contacts.
        public var coExposedShare = 0.03
        /// Self-declared contacts who call in (the others use the teleservice).
        public var selfDeclaredByCallShare = 0.6
        /// Calls to contacts on landlines.
        public var contactLandlineShare = 0.12
        /// Chance that one outbound call reaches a contact.
        public var contactCallReachChance = 0.65
        /// Contacts given a work stoppage.
        public var contactWorkStoppageShare = 0.22
        /// Contacts with a phone who get the day-7 test reminder SMS (when SMS are used).
        public var contactReminderSMSShare = 0.5
        /// Contacts who call the platform back.
        public var contactInboundCallShare = 0.05
        /// Inbound calls from landlines.
        public var inboundCallLandlineShare = 0.2
        /// SMS reported undelivered.
        public var smsUndeliveredShare = 0.03

        /// The shares above.
        public init() {}
    }

    /// The modelled shares of the tracing process.
    public var behaviour = Behaviour()

    /// The profile's name, as given to `ledgerctl simulate --profile`.
    public var name: String
    /// One line about it.
    public var summary: String
    /// First simulated day.
    public var start: CivilDate
    /// Last day on which cases open.
    public var end: CivilDate
    /// The platforms, in the order their streams are written.
    public var platforms: [Platform]
    /// Daily positives: a baseline plus the waves.
    public var baseline: Double
    /// The waves.
    public var waves: [Wave]
    /// Rules in force, by effective date (the first one applies from `start`).
    public var rules: [Rule]
    /// Share of reachable patients zéro handled by SMS rather than a call.
    public var patientZeroDigitalShare: Ramp
    /// Share of reachable contacts notified by SMS rather than a call.
    public var contactDigitalShare: Ramp
    /// Share of patients zéro who declare no contact.
    public var noContactShare: Ramp
    /// Mean contacts listed by a patient zéro who lists any.
    public var contactsPerDeclarer: Ramp
    /// Share of patients zéro reached (or messaged) within 24 h of their result.
    public var patientZeroWithin24h: Double
    /// Share of contacts notified within 24 h of being listed.
    public var contactWithin24h: Ramp
    /// Share of contacts who test positive a few days later (and become a patient zéro).
    public var laterPositiveShare: Ramp
    /// Share of contacts who come forward themselves (inbound call, teleservice) rather than being listed.
    public var selfDeclaredContactShare: Double
    /// National totals shared out among the platforms, or nil: each platform then has its own figures.
    public var national: NationalTotals? = nil

    /// The rule in force on a day.
    public func rule(on day: CivilDate) -> Rule {
        rules.last { $0.effectiveOn <= day } ?? rules[0]
    }

    /// The relative number of positives on a day (waves, plus fewer results on Sundays).
    public func intensity(on day: CivilDate) -> Double {
        var value = baseline
        for wave in waves {
            let z = Double(day.dayNumber - wave.peak.dayNumber) / wave.width
            value += wave.height * exp(-0.5 * z * z)
        }
        switch day.isoWeekday {
        case 7: value *= 0.55
        case 1: value *= 1.2
        case 6: value *= 0.85
        default: break
        }
        return value
    }
}

extension SimulationProfile {
    /// Every profile, by name.
    public static let all: [SimulationProfile] = [herault2022, paysDeLaLoire2020, france20202022]

    /// The profile called `name`.
    public static func named(_ name: String) -> SimulationProfile? {
        all.first { $0.name == name }
    }

    static func day(_ y: Int, _ m: Int, _ d: Int) -> CivilDate {
        CivilDate(year: y, month: m, day: d)
    }

    /// The national rules, on their real dates (docs/simulation.md).
    static let nationalRules: [Rule] = [
        Rule(
            effectiveOn: day(2020, 5, 11), version: "2020-05-11", isolationDaysPatientZero: 14,
            isolationDaysContact: 14, contactIsolationRequired: true, contactsIsolatedShare: 1,
            outboundCallsStopped: false, landlineCallsStopped: false, contactNotificationDigitalOnly: false,
            note: "déconfinement: tracing of patients zéro and contacts, 14 days of isolation"),
        Rule(
            effectiveOn: day(2020, 9, 11), version: "2020-09-11", isolationDaysPatientZero: 7,
            isolationDaysContact: 7, contactIsolationRequired: true, contactsIsolatedShare: 1,
            outboundCallsStopped: false, landlineCallsStopped: false, contactNotificationDigitalOnly: false,
            note: "isolation shortened from 14 to 7 days"),
        Rule(
            effectiveOn: day(2022, 1, 3), version: "2022-01-03", isolationDaysPatientZero: 7,
            isolationDaysContact: 7, contactIsolationRequired: true, contactsIsolatedShare: 0.35,
            outboundCallsStopped: false, landlineCallsStopped: false, contactNotificationDigitalOnly: false,
            note: "7 days for positives (5 with a negative test); no quarantine for boosted contacts"),
        Rule(
            effectiveOn: day(2022, 3, 21), version: "2022-03-21", isolationDaysPatientZero: 7,
            isolationDaysContact: 0, contactIsolationRequired: false, contactsIsolatedShare: 0,
            outboundCallsStopped: false, landlineCallsStopped: false, contactNotificationDigitalOnly: false,
            note: "contacts no longer isolate"),
    ]

    /// The end of outbound calls (landlines included) in the last weeks of the platforms: everything
    /// digital. The sources say it happened, not when: the date is modelled (docs/simulation.md).
    static let endOfOutboundCalls = Rule(
        effectiveOn: day(2022, 7, 1), version: "2022-07-01", isolationDaysPatientZero: 7,
        isolationDaysContact: 0, contactIsolationRequired: false, contactsIsolatedShare: 0,
        outboundCallsStopped: true, landlineCallsStopped: true, contactNotificationDigitalOnly: true,
        note: "end of outbound calls, landlines included; everything digital (SMS, ameli)")

    /// Hérault (CPAM 34), 11 May 2020 to its closure on 15 July 2022, cases handed over to Aude.
    public static let herault2022 = SimulationProfile(
        name: "herault-2022",
        summary:
            "CPAM de l'Hérault, 2020-05-11 to its closure on 2022-07-15 (1 014 845 insured followed), "
            + "open cases handed over to Carcassonne (CPAM de l'Aude)",
        start: day(2020, 5, 11), end: day(2022, 7, 15),
        platforms: [
            Platform(
                id: "cpam-34", name: "Plateforme de contact tracing de l'Hérault", sites: ["Montpellier"],
                departement: "34", town: "34000 Montpellier", opensOn: day(2020, 5, 11),
                closesOn: day(2022, 7, 15), handoverTo: "cpam-11", patientsZero: 608_845, contacts: 406_000),
            Platform(
                id: "cpam-11", name: "Plateforme de contact tracing de l'Aude", sites: ["Carcassonne"],
                departement: "11", town: "11000 Carcassonne", opensOn: day(2020, 5, 11), patientsZero: 0,
                contacts: 0),
        ],
        baseline: 0.03,
        waves: [
            Wave(peak: day(2020, 9, 10), width: 14, height: 0.35),
            Wave(peak: day(2020, 11, 2), width: 12, height: 0.8),
            Wave(peak: day(2021, 1, 25), width: 22, height: 0.45),
            Wave(peak: day(2021, 4, 6), width: 16, height: 0.7),
            Wave(peak: day(2021, 8, 2), width: 13, height: 1.1),
            Wave(peak: day(2021, 12, 15), width: 12, height: 1.0),
            Wave(peak: day(2022, 1, 19), width: 11, height: 5.5),
            Wave(peak: day(2022, 3, 31), width: 14, height: 1.5),
            Wave(peak: day(2022, 7, 4), width: 12, height: 1.7),
        ],
        rules: nationalRules + [endOfOutboundCalls],
        patientZeroDigitalShare: Ramp([
            (day(2020, 9, 30), 0), (day(2020, 10, 1), 0.05), (day(2022, 1, 3), 0.8),
        ]),
        contactDigitalShare: Ramp([(day(2020, 9, 30), 0), (day(2020, 10, 1), 0.3), (day(2022, 1, 3), 0.9)]),
        noContactShare: Ramp([(day(2021, 11, 30), 0.5), (day(2022, 1, 3), 0.9)]),
        contactsPerDeclarer: Ramp([
            (day(2020, 5, 11), 2.6), (day(2021, 12, 31), 2.2), (day(2022, 7, 15), 2.0),
        ]),
        patientZeroWithin24h: 0.95,
        contactWithin24h: Ramp([(day(2020, 5, 11), 0.78), (day(2022, 1, 19), 0.7), (day(2022, 7, 15), 0.76)]),
        laterPositiveShare: Ramp([(day(2020, 5, 11), 0.08), (day(2022, 7, 15), 0.12)]),
        selfDeclaredContactShare: 0.04)

    /// Pays de la Loire in 2020: five CPAM platforms, then from September the regional DRSM platform
    /// with its two sites (Angers, Nantes) taking part of the load.
    public static let paysDeLaLoire2020 = SimulationProfile(
        name: "pays-de-la-loire-2020",
        summary:
            "Pays de la Loire, 2020-05-11 to 2020-12-31: five CPAM platforms and, from 2020-09-14, the DRSM "
            + "regional platform (Angers and Nantes)",
        start: day(2020, 5, 11), end: day(2020, 12, 31),
        platforms: [
            Platform(
                id: "cpam-44", name: "CPAM de Loire-Atlantique", sites: ["Nantes"], departement: "44",
                town: "44000 Nantes", opensOn: day(2020, 5, 11), patientsZero: 21_000, contacts: 23_500),
            Platform(
                id: "cpam-49", name: "CPAM de Maine-et-Loire", sites: ["Angers"], departement: "49",
                town: "49000 Angers", opensOn: day(2020, 5, 11), patientsZero: 12_500, contacts: 14_000),
            Platform(
                id: "cpam-53", name: "CPAM de la Mayenne", sites: ["Laval"], departement: "53",
                town: "53000 Laval", opensOn: day(2020, 5, 11), patientsZero: 5_200, contacts: 6_100),
            Platform(
                id: "cpam-72", name: "CPAM de la Sarthe", sites: ["Le Mans"], departement: "72",
                town: "72000 Le Mans", opensOn: day(2020, 5, 11), patientsZero: 9_100, contacts: 10_200),
            Platform(
                id: "cpam-85", name: "CPAM de la Vendée", sites: ["La Roche-sur-Yon"], departement: "85",
                town: "85000 La Roche-sur-Yon", opensOn: day(2020, 5, 11), patientsZero: 8_300,
                contacts: 9_400),
            Platform(
                id: "drsm-pdl", name: "DRSM Pays de la Loire, plateforme régionale",
                sites: ["Angers", "Nantes"],
                departement: "44", town: "44000 Nantes", opensOn: day(2020, 9, 14), patientsZero: 14_000,
                contacts: 17_800),
        ],
        baseline: 0.02,
        waves: [
            Wave(peak: day(2020, 9, 20), width: 14, height: 0.3),
            Wave(peak: day(2020, 11, 2), width: 13, height: 1.0),
            Wave(peak: day(2020, 12, 28), width: 12, height: 0.35),
        ],
        rules: nationalRules,
        patientZeroDigitalShare: Ramp([
            (day(2020, 9, 30), 0), (day(2020, 10, 1), 0.05), (day(2022, 1, 3), 0.8),
        ]),
        contactDigitalShare: Ramp([(day(2020, 9, 30), 0), (day(2020, 10, 1), 0.3), (day(2022, 1, 3), 0.9)]),
        noContactShare: Ramp([(day(2020, 5, 11), 0.5)]),
        contactsPerDeclarer: Ramp([(day(2020, 5, 11), 2.6)]),
        patientZeroWithin24h: 0.95,
        contactWithin24h: Ramp([(day(2020, 5, 11), 0.78)]),
        laterPositiveShare: Ramp([(day(2020, 5, 11), 0.08)]),
        selfDeclaredContactShare: 0.04)
}
