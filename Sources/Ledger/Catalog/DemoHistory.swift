import Foundation
import SwiftProtobuf

/// A small deterministic tracing history, for the quick start and for tests.
///
/// It is not the simulator of the closing figures: it writes a few days of one platform (P0 found by
/// the lab feed, calls, SMS, declared contacts, isolation, closures) so that every event type of the
/// daily work appears. The same seed gives the same events, ids included.
public struct DemoHistory: Sendable {
    /// The platform id.
    public var platform: String
    /// How many patients zéro.
    public var patientsZero: Int
    /// The seed of the generator.
    public var seed: UInt64
    /// The first day of the history.
    public var start: CivilDate

    /// Creates a demo history description.
    public init(
        platform: String = "cpam-34", patientsZero: Int = 1_000, seed: UInt64 = 1,
        start: CivilDate = CivilDate(year: 2020, month: 5, day: 11)
    ) {
        self.platform = platform
        self.patientsZero = patientsZero
        self.seed = seed
        self.start = start
    }

    /// Generates the events, handing them to `sink` in batches of about `batchSize`.
    ///
    /// With a `vault`, each person gets a generated identity (NIR, name, birth date, phone, address):
    /// the pseudonym is derived from the NIR and the identity is sealed in the events; nothing of it is
    /// in clear. Sealing draws random nonces, so only a history without a vault is byte-for-byte
    /// reproducible.
    public func generate(
        batchSize: Int = 10_000, vault: PrivacyVault? = nil, _ sink: ([NewEvent]) throws -> Void
    ) throws {
        var rng = SplitMix64(seed: seed)
        var batch = [NewEvent]()
        var counter: UInt64 = 0
        func id() -> UUID {
            counter += 1
            return UUID(deterministic: withUnsafeBytes(of: (seed.bigEndian, counter.bigEndian)) { Array($0) })
        }
        func emit(_ message: any SwiftProtobufMessage, stream: String, at time: Timestamp) throws {
            batch.append(
                try EventCatalog.event(
                    message, id: id(), stream: stream, platform: platform, occurredAt: time,
                    recordedAt: time.adding(milliseconds: 60_000)))
            if batch.count >= batchSize {
                try vault?.keys.sync()
                try sink(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        let platformStream = "platform/\(platform)"
        var opened = Tracing_V1_PlatformOpened()
        opened.name = "Plateforme de contact tracing \(platform)"
        opened.sites = ["Montpellier"]
        opened.openedOn = start.description
        try emit(opened, stream: platformStream, at: start.start.adding(milliseconds: 8 * 3_600_000))

        for n in 0..<patientsZero {
            let day = start.start.adding(days: Int(rng.next() % 14))
            let resultAt = day.adding(milliseconds: Int64(rng.next() % 43_200_000) + 28_800_000)
            let caseStream = "\(platform)/p0/\(n + 1)"
            let identity = Self.identity(&rng)
            let person = vault?.pseudonym(nir: identity.nir) ?? String(format: "%016llx", rng.next())
            var test = Tracing_V1_PositiveTestReported()
            test.person = person
            if let vault {
                test.identity = try vault.seal(
                    identity, person: person, collectedAt: resultAt, category: .labPositive)
            }
            test.kind = rng.next() % 3 == 0 ? .antigen : .rtPcr
            test.sampleDate = day.adding(days: -1).date.description
            test.resultDate = day.date.description
            try emit(test, stream: caseStream, at: resultAt)
            var caseOpened = Tracing_V1_CaseOpened()
            caseOpened.person = person
            caseOpened.role = .patientZero
            caseOpened.source = .labFeed
            caseOpened.phoneKnown = rng.next() % 20 != 0
            try emit(caseOpened, stream: caseStream, at: resultAt.adding(milliseconds: 1000))
            var t = resultAt.adding(milliseconds: Int64(rng.next() % 7_200_000) + 600_000)
            if caseOpened.phoneKnown {
                var attempts = 0
                while true {
                    attempts += 1
                    var call = Tracing_V1_CallPlaced()
                    call.direction = .outbound
                    call.line = rng.next() % 5 == 0 ? .landline : .mobile
                    let reached = attempts >= 3 || rng.next() % 4 != 0
                    call.outcome = reached ? .reached : .noAnswer
                    call.durationSeconds = reached ? UInt32(300 + rng.next() % 900) : 0
                    call.agent = "agent-\(rng.next() % 40)"
                    try emit(call, stream: caseStream, at: t)
                    if reached { break }
                    t = t.adding(milliseconds: 3_600_000)
                }
            } else {
                var letter = Tracing_V1_LetterSent()
                letter.template = "patient-zero-no-phone"
                try emit(letter, stream: caseStream, at: t)
            }
            var isolation = Tracing_V1_IsolationPrescribed()
            isolation.startDate = day.date.description
            isolation.endDate = day.adding(days: 14).date.description
            isolation.ruleVersion = "2020-05-11"
            try emit(isolation, stream: caseStream, at: t.adding(milliseconds: 60_000))
            if rng.next() % 2 == 0 {
                var stoppage = Tracing_V1_WorkStoppageIssued()
                stoppage.startDate = day.date.description
                stoppage.endDate = day.adding(days: 14).date.description
                try emit(stoppage, stream: caseStream, at: t.adding(milliseconds: 120_000))
            }
            let contacts = rng.next() % 2 == 0 ? 0 : Int(rng.next() % 4) + 1
            for c in 0..<contacts {
                let contactStream = "\(platform)/contact/\(n + 1)-\(c + 1)"
                let contactIdentity = Self.identity(&rng)
                let contactPerson =
                    vault?.pseudonym(nir: contactIdentity.nir) ?? String(format: "%016llx", rng.next())
                var declared = Tracing_V1_ContactDeclared()
                declared.contactCase = contactStream
                declared.contactPerson = contactPerson
                declared.lastExposureDate = day.adding(days: -1).date.description
                declared.setting = c == 0 ? .household : .work
                try emit(declared, stream: caseStream, at: t.adding(milliseconds: 180_000))
                var contactOpened = Tracing_V1_CaseOpened()
                contactOpened.person = contactPerson
                contactOpened.role = .contact
                contactOpened.source = .declaredByPatientZero
                contactOpened.patientZeroCase = caseStream
                contactOpened.phoneKnown = true
                let ct = t.adding(milliseconds: 240_000)
                if let vault {
                    contactOpened.identity = try vault.seal(
                        contactIdentity, person: contactPerson, collectedAt: ct, category: .contactTracing)
                }
                try emit(contactOpened, stream: contactStream, at: ct)
                var sms = Tracing_V1_SMSSent()
                sms.smsRef = "sms-\(n + 1)-\(c + 1)"
                sms.template = "contact-notification"
                try emit(
                    sms, stream: contactStream, at: ct.adding(milliseconds: Int64(rng.next() % 36_000_000)))
                var closed = Tracing_V1_CaseClosed()
                closed.reason = .isolationCompleted
                try emit(closed, stream: contactStream, at: ct.adding(days: 7))
            }
            var closed = Tracing_V1_CaseClosed()
            closed.reason = .isolationCompleted
            try emit(closed, stream: caseStream, at: day.adding(days: 14))
        }
        if !batch.isEmpty {
            try vault?.keys.sync()
            try sink(batch)
        }
    }
}

extension DemoHistory {
    private static let lastNames = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    ]
    private static let firstNames = ["Camille", "Louis", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Lucas"]

    /// A made-up identity with a well-formed NIR (sex, year, month, département 34, commune, order, key).
    static func identity(_ rng: inout SplitMix64) -> Identity {
        let sex = rng.next() % 2 + 1
        let year = 1940 + Int(rng.next() % 65)
        let month = 1 + Int(rng.next() % 12)
        let commune = 1 + rng.next() % 343
        let order = 1 + rng.next() % 999
        let body = String(format: "%llu%02d%02d34%03llu%03llu", sex, year % 100, month, commune, order)
        let key = 97 - (UInt64(body) ?? 0) % 97
        let nir = body + String(format: "%02llu", key)
        let phone = String(
            format: "06 %02llu %02llu %02llu %02llu", rng.next() % 100, rng.next() % 100, rng.next() % 100,
            rng.next() % 100)
        return Identity(
            nir: nir, lastName: lastNames[Int(rng.next() % UInt64(lastNames.count))],
            firstName: firstNames[Int(rng.next() % UInt64(firstNames.count))],
            birthDate: String(format: "%04d-%02d-%02d", year, month, 1 + Int(rng.next() % 28)), phone: phone,
            address: "\(1 + rng.next() % 120) rue de la République, 34000 Montpellier")
    }
}

/// The protobuf message protocol, under a name that does not clash with the catalog's.
public typealias SwiftProtobufMessage = SwiftProtobuf.Message

/// SplitMix64: a small, fast, seedable generator whose output is the same on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
