import ContactTracing
import Foundation
import Ledger

/// Writes a deterministic, realistic tracing history: the events platforms would have appended, day
/// after day, for a ``SimulationProfile``.
///
/// Totals are exact: each platform opens exactly `round(total × scale)` patient zéro cases and as many
/// contact cases (in a profile with national totals, the national `round(total × scale)` is exact and
/// shared out among the platforms: ``totals``), spread over its days in proportion to the epidemic's
/// intensity (cumulative rounding, so the sum is exact). Everything else (channels, delays, contacts per patient zéro, who later
/// tests positive) is drawn from one seeded generator, so the same profile, scale and seed give the
/// same events, ids included; with a synthetic vault (``PrivacyVault`` with a seed) sealed identities
/// are reproducible too, hence the same head hash.
///
/// Cases are written in the order they open; each case's events come in time order with it (the
/// follow-ups of a case are appended with its opening, as a platform syncing its tools would).
public struct Simulator: Sendable {
    /// The profile.
    public let profile: SimulationProfile
    /// The scale: 1 is the real size; 0.01 a hundredth (counts rounded to the nearest whole).
    public let scale: Double
    /// The seed.
    public let seed: UInt64

    /// Creates a simulator.
    public init(profile: SimulationProfile, scale: Double = 1, seed: UInt64 = 1) {
        self.profile = profile
        self.scale = scale
        self.seed = seed
    }

    /// The cases each platform opens at this scale.
    public struct Totals: Equatable, Sendable {
        /// Platform id.
        public var platform: String
        /// Patient zéro cases.
        public var patientsZero: Int
        /// Contact cases.
        public var contacts: Int
        /// Insured followed.
        public var followed: Int { patientsZero + contacts }
    }

    /// The exact totals at this scale, per platform.
    ///
    /// Without ``SimulationProfile/national`` totals, each platform's own figures times the scale,
    /// rounded to the nearest whole. With them, the national totals times the scale, rounded, are
    /// exact: the platforms whose figures are published keep them (scaled and rounded), and the rest
    /// is shared out among the others by largest remainders, in proportion to the population each
    /// serves over its days, weighted by the epidemic's intensity (docs/simulation.md).
    public var totals: [Totals] { plan().totals }

    /// The totals at this scale and, per platform, the relative number of cases it opens on each day of
    /// the profile (zero on the days it is not open).
    func plan() -> (totals: [Totals], dayWeights: [[Double]]) {
        let firstDay = profile.start.dayNumber
        let days = profile.end.dayNumber - firstDay + 1
        let intensity = (0..<days).map { profile.intensity(on: CivilDate(dayNumber: firstDay + $0)) }
        let served = profile.national == nil ? nil : profile.platforms.indices.map { servedPopulation($0) }
        let dayWeights = profile.platforms.enumerated().map { i, platform -> [Double] in
            let last =
                platform.closesOn.map { min($0.dayNumber, profile.end.dayNumber) } ?? profile.end.dayNumber
            return (0..<days).map { d -> Double in
                let day = firstDay + d
                guard day >= platform.opensOn.dayNumber, day <= last else { return 0 }
                guard let steps = served?[i] else { return intensity[d] }
                return intensity[d] * steps.reduce(0) { $1.from <= day ? $0 + $1.population : $0 }
            }
        }
        func scaled(_ n: Int) -> Int { Int((Double(n) * scale).rounded()) }
        guard let national = profile.national else {
            let totals = profile.platforms.map {
                Totals(platform: $0.id, patientsZero: scaled($0.patientsZero), contacts: scaled($0.contacts))
            }
            return (totals, dayWeights)
        }
        let kept = profile.platforms.map { national.published.contains($0.id) }
        let p0Weights = profile.platforms.indices.map { kept[$0] ? 0 : dayWeights[$0].reduce(0, +) }
        let contactWeights = profile.platforms.indices.map { i -> Double in
            guard !kept[i] else { return 0 }
            return dayWeights[i].indices.reduce(0) { sum, d in
                let day = firstDay + d
                return sum + dayWeights[i][d] * (1 - profile.noContactShare.value(on: day))
                    * profile.contactsPerDeclarer.value(on: day)
            }
        }
        let keptP0 = profile.platforms.indices.map {
            kept[$0] ? scaled(profile.platforms[$0].patientsZero) : 0
        }
        let keptContacts = profile.platforms.indices.map {
            kept[$0] ? scaled(profile.platforms[$0].contacts) : 0
        }
        let p0 = Simulator.largestRemainders(
            max(0, scaled(national.patientsZero) - keptP0.reduce(0, +)), weights: p0Weights)
        let contacts = Simulator.largestRemainders(
            max(0, scaled(national.contacts) - keptContacts.reduce(0, +)), weights: contactWeights)
        let totals = profile.platforms.indices.map {
            Totals(
                platform: profile.platforms[$0].id, patientsZero: keptP0[$0] + p0[$0],
                contacts: keptContacts[$0] + contacts[$0])
        }
        return (totals, dayWeights)
    }

    /// The population platform `i` serves, as steps: its own from its opening day, then, from the day
    /// after each closure handed over to it, the population the closed platform served on its last day.
    func servedPopulation(_ i: Int, visited: Set<Int> = []) -> [(from: Int, population: Double)] {
        let platform = profile.platforms[i]
        var steps = [(from: platform.opensOn.dayNumber, population: Double(platform.population))]
        for (j, other) in profile.platforms.enumerated()
        where other.handoverTo == platform.id && j != i && !visited.contains(j) {
            guard let closing = other.closesOn?.dayNumber else { continue }
            let handed = servedPopulation(j, visited: visited.union([i])).reduce(0.0) {
                $1.from <= closing ? $0 + $1.population : $0
            }
            steps.append((from: closing + 1, population: handed))
        }
        return steps
    }

    /// Splits `total` among `weights` in proportion, exactly, by largest remainders: each gets the whole
    /// part of its quota, and the units left over go one each to the largest fractional parts, ties to
    /// the earlier. The weights are first made whole numbers (their share of 2^32), so the split itself
    /// is integer arithmetic; a zero weight gets nothing.
    static func largestRemainders(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard total > 0, sum > 0 else { return weights.map { _ in 0 } }
        let units = weights.map { UInt64((max(0, $0) / sum * 4_294_967_296).rounded()) }
        let unitSum = units.reduce(0, +)
        var counts = [Int]()
        var remainders = [UInt64]()
        for unit in units {
            let product = UInt64(total).multipliedFullWidth(by: unit)
            let (quotient, remainder) = unitSum.dividingFullWidth(product)
            counts.append(Int(quotient))
            remainders.append(remainder)
        }
        let left = total - counts.reduce(0, +)
        let order = counts.indices.sorted {
            remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1
        }
        for i in order.prefix(left) { counts[i] += 1 }
        return counts
    }

    /// What a run wrote.
    public struct Summary: Sendable {
        /// Events generated.
        public var events = 0
        /// Cases opened, per platform.
        public var totals: [Totals] = []
        /// Cases handed over at a closure, per closing platform.
        public var handedOver: [String: Int] = [:]
    }

    /// Generates the history, handing events to `sink` in batches of about `batchSize`.
    ///
    /// - Parameters:
    ///   - vault: seals a generated identity into each case (pseudonyms from the NIR); `nil` writes
    ///     random pseudonyms and no identity. It is flushed before each batch is handed over.
    ///   - progress: called with the number of cases written so far.
    public func generate(
        batchSize: Int = 20_000, vault: PrivacyVault? = nil, progress: (Int) -> Void = { _ in },
        _ sink: ([NewEvent]) throws -> Void
    ) throws -> Summary {
        try withoutActuallyEscaping(sink) { sink in
            var run = Run(simulator: self, vault: vault, batchSize: batchSize, sink: sink)
            try run.all(progress: progress)
            return run.summary
        }
    }

    /// A well-formed 15-character NIR for a person born in `departement` (sex, birth year and month,
    /// département, commune, order number, control key), as ``LabResultsCSV`` checks it:
    ///
    /// - metropolitan France: two characters and a 3-digit commune (`34` then `172`);
    /// - Corsica: `2A` or `2B` for births from 1976, `20` before (when Corsica was one département);
    ///   the key reads `2A` as 19 and `2B` as 18;
    /// - overseas (`971` to `976`): three digits and a 2-digit commune, from 01 to 17 (every overseas
    ///   département has at least 17 communes).
    static func nir(sex: Int, year: Int, month: Int, departement: String, commune: Int, order: Int) -> String
    {
        var place = departement
        if (departement == "2A" || departement == "2B") && year < 1976 { place = "20" }
        let communeDigits = place.count == 3 ? pad(1 + (commune - 1) % 17, 2) : pad(commune, 3)
        let body = "\(sex)\(pad(year % 100, 2))\(pad(month, 2))\(place)\(communeDigits)\(pad(order, 3))"
        let numeric = body.replacingOccurrences(of: "2A", with: "19").replacingOccurrences(
            of: "2B", with: "18")
        let key = 97 - (UInt64(numeric) ?? 0) % 97
        return body + pad(Int(key), 2)
    }

    /// `v` in decimal, left-padded with zeros to `width` digits.
    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Splits `total` over `weights` in proportion, exactly: each share is the difference of the
    /// rounded running sums, so the shares add up to `total`, a zero weight gets nothing, and a long
    /// stretch of small weights still gets its due (one every few days rather than none).
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard total > 0, sum > 0 else { return weights.map { _ in 0 } }
        var counts = [Int]()
        counts.reserveCapacity(weights.count)
        var running = 0.0
        var given = 0
        let last = weights.lastIndex { $0 > 0 } ?? 0
        for (i, w) in weights.enumerated() {
            running += w
            let upTo = i >= last ? total : min(total, Int((Double(total) * running / sum).rounded()))
            counts.append(max(0, upTo - given))
            given = max(given, upTo)
        }
        return counts
    }
}

/// One generation run.
private struct Run {
    let simulator: Simulator
    let profile: SimulationProfile
    let vault: PrivacyVault?
    let batchSize: Int
    let sink: ([NewEvent]) throws -> Void
    var rng: SplitMix64
    var batch: [NewEvent] = []
    var counter: UInt64 = 0
    var summary = Simulator.Summary()
    /// Per platform: the instant after which nothing is written (its closure), open cases at closure.
    var closeAt: [Timestamp?]
    var openAtClosure: [[String]]
    var p0Numbers: [Int]
    var contactNumbers: [Int]
    /// Per platform, per day index: persons who were contacts and test positive that day.
    var laterPositives: [[[Person]]]
    var casesDone = 0

    struct Person {
        var pseudonym: String
        var identity: Identity?
    }

    init(
        simulator: Simulator, vault: PrivacyVault?, batchSize: Int,
        sink: @escaping ([NewEvent]) throws -> Void
    ) {
        self.simulator = simulator
        self.profile = simulator.profile
        self.vault = vault
        self.batchSize = batchSize
        self.sink = sink
        rng = SplitMix64(seed: simulator.seed ^ 0x7472_6163_696E_6721)
        let days = profile.end.dayNumber - profile.start.dayNumber + 1
        closeAt = profile.platforms.map { $0.closesOn.map { $0.start.adding(milliseconds: 86_400_000 - 1) } }
        openAtClosure = profile.platforms.map { _ in [] }
        p0Numbers = profile.platforms.map { _ in 0 }
        contactNumbers = profile.platforms.map { _ in 0 }
        laterPositives = profile.platforms.map { _ in Array(repeating: [], count: days + 16) }
    }

    // MARK: - Random draws

    mutating func uniform() -> Double { Double(rng.next() >> 11) * 0x1.0p-53 }
    mutating func chance(_ p: Double) -> Bool { uniform() < p }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
    mutating func minutes(_ lo: Int, _ hi: Int) -> Int64 { Int64(lo + below(hi - lo + 1)) * 60_000 }

    mutating func nextID() -> UUID {
        counter += 1
        return UUID(deterministic: simulator.seed, counter)
    }

    /// Moves a time into working hours (08:00 to 20:00 UTC), seven days a week.
    mutating func workingTime(_ t: Timestamp) -> Timestamp {
        let ms = t.millisecondsSince1970 - Int64(t.dayNumber) * 86_400_000
        if ms < 8 * 3_600_000 { return t.date.start.adding(milliseconds: 8 * 3_600_000 + minutes(0, 90)) }
        if ms >= 20 * 3_600_000 {
            return t.date.start.adding(days: 1).adding(milliseconds: 8 * 3_600_000 + minutes(0, 90))
        }
        return t
    }

    // MARK: - Writing

    /// Appends an event to the batch, unless its platform is closed by then (the case then stays
    /// open, to be handed over). Returns whether it was written.
    @discardableResult
    mutating func emit(
        _ message: any SwiftProtobufMessage, stream: String, platform: Int, at time: Timestamp
    ) throws -> Bool {
        if let limit = closeAt[platform], time > limit { return false }
        let recorded = time.adding(milliseconds: Int64(below(300_000)))
        batch.append(
            try EventCatalog.event(
                message, id: nextID(), stream: stream, platform: profile.platforms[platform].id,
                occurredAt: time, recordedAt: recorded))
        summary.events += 1
        if batch.count >= batchSize { try flush() }
        return true
    }

    mutating func flush() throws {
        guard !batch.isEmpty else { return }
        try vault?.flush()
        try sink(batch)
        batch.removeAll(keepingCapacity: true)
    }

    // MARK: - The history

    mutating func all(progress: (Int) -> Void) throws {
        let (totals, dayWeights) = simulator.plan()
        summary.totals = totals
        let firstDay = profile.start.dayNumber
        let days = profile.end.dayNumber - firstDay + 1
        // Exact daily counts per platform.
        var p0PerDay = [[Int]]()
        var contactsPerDay = [[Int]]()
        for i in profile.platforms.indices {
            let p0 = Simulator.apportion(totals[i].patientsZero, weights: dayWeights[i])
            var contactWeights = (0..<days).map { d -> Double in
                let day = firstDay + d
                return Double(p0[d]) * (1 - profile.noContactShare.value(on: day))
                    * profile.contactsPerDeclarer.value(on: day) + (p0[d] > 0 ? 0.01 : 0)
            }
            // A platform given contacts but no patient zéro (a tiny scale) gets contacts who come
            // forward themselves, on its open days.
            if totals[i].contacts > 0 && !contactWeights.contains(where: { $0 > 0 }) {
                contactWeights = dayWeights[i]
            }
            p0PerDay.append(p0)
            contactsPerDay.append(Simulator.apportion(totals[i].contacts, weights: contactWeights))
        }
        var ruleIndex = -1
        for d in 0..<days {
            let day = CivilDate(dayNumber: firstDay + d)
            for (i, platform) in profile.platforms.enumerated() where platform.opensOn == day {
                try openPlatform(i, on: day)
            }
            if let next = profile.rules.lastIndex(where: { $0.effectiveOn <= day }), next != ruleIndex {
                ruleIndex = next
                for (i, platform) in profile.platforms.enumerated()
                where platform.opensOn < day && (platform.closesOn.map { day <= $0 } ?? true) {
                    try announce(profile.rules[next], platform: i, on: day)
                }
            }
            for i in profile.platforms.indices where p0PerDay[i][d] > 0 || contactsPerDay[i][d] > 0 {
                try cases(
                    platform: i, dayIndex: d, day: day, patientsZero: p0PerDay[i][d],
                    contacts: contactsPerDay[i][d])
                progress(casesDone)
            }
            for (i, platform) in profile.platforms.enumerated() where platform.closesOn == day {
                try close(i, on: day)
            }
        }
        try flush()
        progress(casesDone)
    }

    mutating func openPlatform(_ i: Int, on day: CivilDate) throws {
        let platform = profile.platforms[i]
        var opened = Tracing_V1_PlatformOpened()
        opened.name = platform.name
        opened.sites = platform.sites
        opened.openedOn = day.description
        let at = day.start.adding(milliseconds: 7 * 3_600_000)
        try emit(opened, stream: StreamName.platform(platform.id), platform: i, at: at)
        try announce(profile.rule(on: day), platform: i, on: day)
    }

    mutating func announce(_ rule: SimulationProfile.Rule, platform i: Int, on day: CivilDate) throws {
        var changed = Tracing_V1_PolicyChanged()
        changed.ruleVersion = rule.version
        changed.effectiveOn = rule.effectiveOn.description
        changed.isolationDaysPatientZero = UInt32(rule.isolationDaysPatientZero)
        changed.isolationDaysContact = UInt32(rule.isolationDaysContact)
        changed.contactIsolationRequired = rule.contactIsolationRequired
        changed.outboundCallsStopped = rule.outboundCallsStopped
        changed.landlineCallsStopped = rule.landlineCallsStopped
        changed.contactNotificationDigitalOnly = rule.contactNotificationDigitalOnly
        changed.note = rule.note
        let at = day.start.adding(milliseconds: 7 * 3_600_000 + 60_000)
        try emit(changed, stream: StreamName.platform(profile.platforms[i].id), platform: i, at: at)
    }

    mutating func close(_ i: Int, on day: CivilDate) throws {
        let platform = profile.platforms[i]
        // The closure events are written at the closing instant itself, after every other event.
        var events = try PlatformClosure.events(
            closing: platform.id, on: day, handoverTo: platform.handoverTo, openCases: openAtClosure[i])
        for k in events.indices {
            events[k].id = nextID()
            events[k].recordedAt = events[k].occurredAt
        }
        try flush()
        try sink(events)
        summary.events += events.count
        summary.handedOver[platform.id] = openAtClosure[i].count
    }

    /// A new person, with an identity when there is a vault.
    mutating func newPerson(platform: SimulationProfile.Platform) -> Person {
        guard let vault else { return Person(pseudonym: hex(rng.next()) + hex(rng.next()), identity: nil) }
        let identity = makeIdentity(platform)
        return Person(pseudonym: vault.pseudonym(nir: identity.nir), identity: identity)
    }

    func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static let lastNames = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
        "Fournier",
    ]
    static let firstNames = [
        "Camille", "Louis", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Lucas", "Inès", "Gabriel", "Jade",
        "Arthur", "Louise", "Raphaël", "Emma", "Nathan",
    ]
    static let streets = ["rue de la République", "avenue de la Gare", "place du Marché", "rue Victor Hugo"]

    /// A made-up identity with a well-formed NIR (``Simulator/nir(sex:year:month:departement:commune:order:)``).
    mutating func makeIdentity(_ platform: SimulationProfile.Platform) -> Identity {
        let sex = 1 + below(2)
        let year = 1935 + below(85)
        let month = 1 + below(12)
        let commune = 1 + below(340)
        let order = 1 + below(999)
        let nir = Simulator.nir(
            sex: sex, year: year, month: month, departement: platform.departement, commune: commune,
            order: order)
        let hasPhone = !chance(profile.behaviour.noPhoneShare)
        let phone =
            hasPhone
            ? "0\(chance(profile.behaviour.mobilePhoneShare) ? 6 : 4) \(pad(below(100), 2)) \(pad(below(100), 2)) \(pad(below(100), 2)) \(pad(below(100), 2))"
            : nil
        return Identity(
            nir: nir, lastName: Self.lastNames[below(Self.lastNames.count)],
            firstName: Self.firstNames[below(Self.firstNames.count)],
            birthDate: "\(year)-\(pad(month, 2))-\(pad(1 + below(28), 2))", phone: phone,
            address: "\(1 + below(150)) \(Self.streets[below(Self.streets.count)]), \(platform.town)")
    }

    func pad(_ v: Int, _ width: Int) -> String { Simulator.pad(v, width) }

    // MARK: - Cases

    /// One day of one platform: its patients zéro, the contacts they list, the contacts who come
    /// forward themselves.
    mutating func cases(
        platform i: Int, dayIndex d: Int, day: CivilDate, patientsZero n0: Int, contacts nc: Int
    )
        throws
    {
        let spec = profile.platforms[i]
        let dayNumber = day.dayNumber
        var selfDeclared = Int((Double(nc) * profile.selfDeclaredContactShare).rounded())
        if n0 == 0 { selfDeclared = nc }
        let linked = nc - selfDeclared
        // Who lists contacts, and how many each.
        var declarers = Int((Double(n0) * (1 - profile.noContactShare.value(on: dayNumber))).rounded())
        declarers = min(max(declarers, (linked + 11) / 12, linked > 0 ? 1 : 0), n0, linked)
        var perP0 = [Int](repeating: 0, count: n0)
        var order = Array(0..<n0)
        for k in 0..<declarers {
            order.swapAt(k, k + below(n0 - k))
            perP0[order[k]] = 1
        }
        var extra = linked - declarers
        let cap = max(12, declarers == 0 ? 0 : (linked + declarers - 1) / declarers + 1)
        while extra > 0 {
            let k = order[below(declarers)]
            if perP0[k] < cap {
                perP0[k] += 1
                extra -= 1
            }
        }
        let returning = laterPositives[i][d]
        laterPositives[i][d] = []
        for k in 0..<n0 {
            let person = k < returning.count ? returning[k] : newPerson(platform: spec)
            try patientZero(platform: i, dayIndex: d, day: day, person: person, contacts: perP0[k])
        }
        for _ in 0..<selfDeclared {
            let opened = day.start.adding(milliseconds: 8 * 3_600_000 + minutes(0, 720))
            try contact(platform: i, dayIndex: d, openedAt: opened, patientZeroCase: nil)
        }
    }

    mutating func patientZero(platform i: Int, dayIndex d: Int, day: CivilDate, person: Person, contacts: Int)
        throws
    {
        let spec = profile.platforms[i]
        let rule = profile.rule(on: day)
        p0Numbers[i] += 1
        let stream = StreamName.patientZero(platform: spec.id, p0Numbers[i])
        casesDone += 1
        let resultAt = day.start.adding(milliseconds: 7 * 3_600_000 + minutes(0, 14 * 60))
        let sampleDay = CivilDate(dayNumber: day.dayNumber - 1 - below(2))

        var test = Tracing_V1_PositiveTestReported()
        test.person = person.pseudonym
        if let vault, let identity = person.identity {
            test.identity = try vault.seal(
                identity, person: person.pseudonym, collectedAt: resultAt, category: .labPositive)
        }
        let antigenShare = day.year == 2020 ? 0.15 : day.year == 2021 ? 0.45 : 0.6
        test.kind = chance(antigenShare) ? .antigen : .rtPcr
        test.sampleDate = sampleDay.description
        test.resultDate = day.description
        if chance(profile.behaviour.symptomOnsetKnownShare) {
            test.symptomOnset = CivilDate(dayNumber: sampleDay.dayNumber - below(3)).description
        }
        try emit(test, stream: stream, platform: i, at: resultAt)

        var opened = Tracing_V1_CaseOpened()
        opened.person = person.pseudonym
        opened.role = .patientZero
        opened.source = .labFeed
        opened.phoneKnown = person.identity.map { $0.phone != nil } ?? !chance(profile.behaviour.noPhoneShare)
        let openedAt = resultAt.adding(milliseconds: minutes(1, 20))
        try emit(opened, stream: stream, platform: i, at: openedAt)

        // First touch: a call, or an SMS with the instructions, or a letter without a phone number.
        let within24h = chance(profile.patientZeroWithin24h)
        let digital =
            opened.phoneKnown
            && (rule.outboundCallsStopped || chance(profile.patientZeroDigitalShare.value(on: day.dayNumber)))
        var reachedAt: Timestamp?
        var last = openedAt
        if !opened.phoneKnown {
            var letter = Tracing_V1_LetterSent()
            letter.template = "p0-sans-telephone"
            last = day.start.adding(days: 1).adding(milliseconds: 10 * 3_600_000)
            try emit(letter, stream: stream, platform: i, at: last)
        } else if digital {
            let delay = within24h ? minutes(5, 6 * 60) : minutes(25 * 60, 48 * 60)
            let smsAt = resultAt.adding(milliseconds: delay)
            try sms(stream: stream, platform: i, template: "p0-consignes", at: smsAt)
            reachedAt = smsAt
            last = smsAt
        } else {
            let delay = within24h ? minutes(10, 10 * 60) : minutes(25 * 60, 60 * 60)
            var t = workingTime(resultAt.adding(milliseconds: delay))
            if within24h && t > resultAt.adding(days: 1) {
                t = resultAt.adding(milliseconds: minutes(10, 120))
            }
            let landline =
                !rule.landlineCallsStopped
                && chance(
                    day.year == 2020
                        ? profile.behaviour.patientZeroLandlineShare2020
                        : profile.behaviour.patientZeroLandlineShareLater)
            reachedAt = try calls(
                stream: stream, platform: i, from: t, landline: landline,
                reachChance: profile.behaviour.patientZeroCallReachChance)
            last = reachedAt ?? t
            if reachedAt == nil {
                let fallback = last.adding(milliseconds: minutes(30, 240))
                if day.dayNumber >= profile.patientZeroDigitalShare.points.first?.day ?? .max {
                    try sms(stream: stream, platform: i, template: "p0-injoignable", at: fallback)
                    reachedAt = fallback
                } else {
                    var letter = Tracing_V1_LetterSent()
                    letter.template = "p0-injoignable"
                    try emit(letter, stream: stream, platform: i, at: fallback)
                }
                last = fallback
            }
        }

        let isolationStart = CivilDate(dayNumber: max(sampleDay.dayNumber, day.dayNumber - 1))
        let isolationEnd = CivilDate(dayNumber: isolationStart.dayNumber + rule.isolationDaysPatientZero)
        try isolate(
            stream: stream, platform: i, from: isolationStart, to: isolationEnd, rule: rule, after: last,
            stoppageChance: profile.behaviour.patientZeroWorkStoppageShare)
        if chance(profile.behaviour.nurseVisitShare) {
            var nurse = Tracing_V1_NurseVisitRequested()
            nurse.note = "surveillance à domicile"
            try emit(nurse, stream: stream, platform: i, at: last.adding(milliseconds: 420_000))
        }
        if chance(profile.behaviour.socialSupportShare) {
            var support = Tracing_V1_SocialSupportRequested()
            support.kind = ["portage de repas", "courses", "hébergement"][below(3)]
            try emit(support, stream: stream, platform: i, at: last.adding(milliseconds: 480_000))
        }
        if chance(profile.behaviour.clusterShare) {
            var cluster = Tracing_V1_ClusterReported()
            cluster.clusterRef = "ars-\(spec.departement)-\(day.description)-\(below(1000))"
            cluster.setting = [.school, .work, .care, .other][below(4)]
            try emit(cluster, stream: stream, platform: i, at: last.adding(milliseconds: 540_000))
        }

        // Contacts, listed on the call or through the ameli teleservice.
        if contacts > 0 {
            var declaredAt = (reachedAt ?? last).adding(milliseconds: minutes(5, 25))
            if digital {
                var form = Tracing_V1_TeleserviceSubmitted()
                form.form = "declaration-contacts"
                declaredAt = (reachedAt ?? last).adding(milliseconds: minutes(10, 240))
                try emit(form, stream: stream, platform: i, at: declaredAt)
            }
            if let limit = closeAt[i], declaredAt > limit {
                declaredAt = limit.adding(milliseconds: -600_000)
            }
            for c in 0..<contacts {
                contactNumbers[i] += 1
                let contactStream = StreamName.contact(platform: spec.id, contactNumbers[i])
                let contactPerson = newPerson(platform: spec)
                let exposure = CivilDate(dayNumber: day.dayNumber - 1 - below(2))
                var declared = Tracing_V1_ContactDeclared()
                declared.contactCase = contactStream
                declared.contactPerson = contactPerson.pseudonym
                declared.lastExposureDate = exposure.description
                declared.setting = c == 0 ? .household : [.household, .work, .school, .other][below(4)]
                try emit(declared, stream: stream, platform: i, at: declaredAt)
                try contact(
                    platform: i, dayIndex: d, openedAt: declaredAt.adding(milliseconds: minutes(1, 5)),
                    patientZeroCase: stream, stream: contactStream, person: contactPerson,
                    lastExposure: exposure)
            }
        }
        if chance(profile.behaviour.patientZeroInboundCallShare) {
            let at = workingTime(openedAt.adding(milliseconds: minutes(600, 3 * 1440)))
            try inboundCall(stream: stream, platform: i, at: at)
        }
        if digital && chance(profile.behaviour.endOfIsolationSMSShare) {
            try sms(
                stream: stream, platform: i, template: "p0-fin-isolement",
                at: isolationEnd.start.adding(milliseconds: 9 * 3_600_000))
        }
        var closed = Tracing_V1_CaseClosed()
        closed.reason = .isolationCompleted
        let closeTime = isolationEnd.start.adding(milliseconds: 18 * 3_600_000 + minutes(0, 60))
        if !(try emit(closed, stream: stream, platform: i, at: closeTime)) { openAtClosure[i].append(stream) }
    }

    mutating func contact(
        platform i: Int, dayIndex d: Int, openedAt proposed: Timestamp, patientZeroCase: String?,
        stream given: String? = nil,
        person given2: Person? = nil, lastExposure: CivilDate? = nil
    ) throws {
        // A contact declared in the last minutes before its platform closes is still opened before the
        // closing instant: it is counted (and handed over), so its stream must start with CaseOpened.
        let openedAt = closeAt[i].map { min(proposed, $0) } ?? proposed
        let spec = profile.platforms[i]
        let day = openedAt.date
        let rule = profile.rule(on: day)
        let stream: String
        if let given {
            stream = given
        } else {
            contactNumbers[i] += 1
            stream = StreamName.contact(platform: spec.id, contactNumbers[i])
        }
        casesDone += 1
        let person = given2 ?? newPerson(platform: spec)
        let exposure = lastExposure ?? CivilDate(dayNumber: day.dayNumber - 1 - below(3))

        var opened = Tracing_V1_CaseOpened()
        opened.person = person.pseudonym
        opened.role = chance(profile.behaviour.coExposedShare) ? .coExposed : .contact
        if let patientZeroCase {
            opened.source = .declaredByPatientZero
            opened.patientZeroCase = patientZeroCase
        } else {
            opened.source = chance(profile.behaviour.selfDeclaredByCallShare) ? .inboundCall : .teleservice
        }
        opened.phoneKnown = person.identity.map { $0.phone != nil } ?? !chance(profile.behaviour.noPhoneShare)
        if let vault, let identity = person.identity {
            opened.identity = try vault.seal(
                identity, person: person.pseudonym, collectedAt: openedAt, category: .contactTracing)
        }
        try emit(opened, stream: stream, platform: i, at: openedAt)

        var notifiedAt: Timestamp?
        var last = openedAt
        switch opened.source {
        case .inboundCall:
            try inboundCall(stream: stream, platform: i, at: openedAt.adding(milliseconds: 30_000))
            notifiedAt = openedAt
        case .teleservice:
            var form = Tracing_V1_TeleserviceSubmitted()
            form.form = "auto-declaration-contact"
            try emit(form, stream: stream, platform: i, at: openedAt.adding(milliseconds: 30_000))
            notifiedAt = openedAt
        default:
            let within24h = chance(profile.contactWithin24h.value(on: day.dayNumber))
            let digital =
                rule.outboundCallsStopped || rule.contactNotificationDigitalOnly
                || chance(profile.contactDigitalShare.value(on: day.dayNumber))
            if !opened.phoneKnown {
                var letter = Tracing_V1_LetterSent()
                letter.template = "contact-sans-telephone"
                last = openedAt.adding(milliseconds: minutes(20 * 60, 44 * 60))
                try emit(letter, stream: stream, platform: i, at: last)
                notifiedAt = last
            } else if digital {
                let at = openedAt.adding(
                    milliseconds: within24h ? minutes(2, 20 * 60) : minutes(25 * 60, 60 * 60))
                try sms(stream: stream, platform: i, template: "contact-notification", at: at)
                notifiedAt = at
                last = at
            } else {
                var t = workingTime(
                    openedAt.adding(milliseconds: within24h ? minutes(5, 8 * 60) : minutes(25 * 60, 50 * 60)))
                if within24h && t > openedAt.adding(days: 1) {
                    t = openedAt.adding(milliseconds: minutes(5, 120))
                }
                let landline = !rule.landlineCallsStopped && chance(profile.behaviour.contactLandlineShare)
                notifiedAt = try calls(
                    stream: stream, platform: i, from: t, landline: landline,
                    reachChance: profile.behaviour.contactCallReachChance)
                last = notifiedAt ?? t
                if notifiedAt == nil && profile.contactDigitalShare.value(on: day.dayNumber) > 0 {
                    let at = last.adding(milliseconds: minutes(30, 240))
                    try sms(stream: stream, platform: i, template: "contact-injoignable", at: at)
                    notifiedAt = at
                    last = at
                }
            }
        }

        var end = CivilDate(dayNumber: max(day.dayNumber, (notifiedAt ?? last).date.dayNumber) + 1)
        if rule.contactIsolationRequired && chance(rule.contactsIsolatedShare) {
            end = CivilDate(dayNumber: max(exposure.dayNumber + rule.isolationDaysContact, day.dayNumber + 1))
            try isolate(
                stream: stream, platform: i, from: exposure, to: end, rule: rule, after: last,
                stoppageChance: profile.behaviour.contactWorkStoppageShare)
            if opened.phoneKnown && profile.contactDigitalShare.value(on: day.dayNumber) > 0
                && chance(profile.behaviour.contactReminderSMSShare)
            {
                let reminder = CivilDate(dayNumber: max(exposure.dayNumber + 7, day.dayNumber + 1))
                try sms(
                    stream: stream, platform: i, template: "contact-rappel-test-j7",
                    at: reminder.start.adding(milliseconds: 9 * 3_600_000))
            }
        }
        if chance(profile.behaviour.contactInboundCallShare) {
            let at = workingTime(openedAt.adding(milliseconds: minutes(120, 3 * 1440)))
            try inboundCall(stream: stream, platform: i, at: at)
            end = CivilDate(dayNumber: max(end.dayNumber, at.date.dayNumber + 1))
        }
        if chance(profile.laterPositiveShare.value(on: day.dayNumber)) {
            let target = d + 2 + below(6)
            if target < laterPositives[i].count { laterPositives[i][target].append(person) }
        }
        var closed = Tracing_V1_CaseClosed()
        closed.reason = notifiedAt == nil ? .unreachable : .isolationCompleted
        let closeTime = end.start.adding(milliseconds: 18 * 3_600_000 + minutes(0, 60))
        if !(try emit(closed, stream: stream, platform: i, at: closeTime)) { openAtClosure[i].append(stream) }
    }

    /// Isolation under `rule` from `start` to `end`, prescribed 2 minutes after `time`, and with
    /// probability `stoppageChance` a work stoppage for the same days 5 minutes after it.
    mutating func isolate(
        stream: String, platform i: Int, from start: CivilDate, to end: CivilDate,
        rule: SimulationProfile.Rule, after time: Timestamp, stoppageChance: Double
    ) throws {
        var isolation = Tracing_V1_IsolationPrescribed()
        isolation.startDate = start.description
        isolation.endDate = end.description
        isolation.ruleVersion = rule.version
        try emit(isolation, stream: stream, platform: i, at: time.adding(milliseconds: 120_000))
        if chance(stoppageChance) {
            var stoppage = Tracing_V1_WorkStoppageIssued()
            stoppage.startDate = start.description
            stoppage.endDate = end.description
            try emit(stoppage, stream: stream, platform: i, at: time.adding(milliseconds: 300_000))
        }
    }

    /// Outbound calls until someone answers (at most four); returns when the person was reached.
    mutating func calls(
        stream: String, platform i: Int, from start: Timestamp, landline: Bool, reachChance: Double
    )
        throws -> Timestamp?
    {
        var t = start
        for attempt in 1...4 {
            if profile.rule(on: t.date).outboundCallsStopped { return nil }
            var call = Tracing_V1_CallPlaced()
            call.direction = .outbound
            call.line = landline ? .landline : .mobile
            call.agent = "agent-\(1 + below(110))"
            let reached = chance(attempt == 1 ? reachChance : reachChance * 0.8)
            if reached {
                call.outcome = .reached
                call.durationSeconds = UInt32(240 + below(1_200))
            } else {
                let r = uniform()
                call.outcome = r < 0.6 ? .noAnswer : r < 0.95 ? .voicemail : .wrongNumber
                call.durationSeconds = call.outcome == .voicemail ? UInt32(20 + below(40)) : 0
            }
            try emit(call, stream: stream, platform: i, at: t)
            if reached { return t }
            if call.outcome == .wrongNumber { return nil }
            t = workingTime(t.adding(milliseconds: minutes(60, 240)))
        }
        return nil
    }

    mutating func inboundCall(stream: String, platform i: Int, at t: Timestamp) throws {
        var call = Tracing_V1_CallPlaced()
        call.direction = .inbound
        call.line = chance(profile.behaviour.inboundCallLandlineShare) ? .landline : .mobile
        call.outcome = .reached
        call.durationSeconds = UInt32(120 + below(900))
        call.agent = "agent-\(1 + below(110))"
        try emit(call, stream: stream, platform: i, at: t)
    }

    mutating func sms(stream: String, platform i: Int, template: String, at t: Timestamp) throws {
        var message = Tracing_V1_SMSSent()
        message.smsRef = "sms-\(counter + 1)"
        message.template = template
        try emit(message, stream: stream, platform: i, at: t)
        var report = Tracing_V1_SMSDeliveryReported()
        report.smsRef = message.smsRef
        report.delivered = !chance(profile.behaviour.smsUndeliveredShare)
        try emit(
            report, stream: stream, platform: i, at: t.adding(milliseconds: Int64(5_000 + below(120_000))))
    }
}
