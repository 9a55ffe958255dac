import ContactTracing
import Ledger

/// The period statistics are bucketed by.
public enum StatisticsPeriod: String, Sendable, CaseIterable {
    /// Calendar days (UTC).
    case day
    /// ISO 8601 weeks (Monday to Sunday).
    case week
    /// Calendar months.
    case month

    /// The bucket label and first day of a date.
    func bucket(of date: CivilDate) -> (label: String, start: CivilDate) {
        switch self {
        case .day:
            return (date.description, date)
        case .week:
            let week = date.isoWeek
            return (String(week.year) + "-W" + pad(week.week), date.startOfISOWeek)
        case .month:
            return (
                String(date.year) + "-" + pad(date.month),
                CivilDate(year: date.year, month: date.month, day: 1)
            )
        }
    }

    private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Mergeable counters of one platform and period: adding two cells equals computing over the union
/// of their cases and activity. Every indicator is derived from these (docs/statistics.md).
public struct StatisticsCell: Codable, Equatable, Sendable {
    /// Patient zéro cases opened.
    public var patientsZero = 0
    /// Contact cases opened (co-exposed included).
    public var contacts = 0
    /// Patients zéro with a lab result time.
    public var patientsZeroWithResult = 0
    /// ... of whom reached within 24 h of it.
    public var patientsZeroReachedWithin24h = 0
    /// Contacts with a declaration time.
    public var contactsDeclared = 0
    /// ... of whom notified within 24 h of it.
    public var contactsNotifiedWithin24h = 0
    /// Patients zéro who declared no contact.
    public var patientsZeroWithoutContact = 0
    /// Patients zéro by number of contacts declared (key: count as text).
    public var contactsPerPatientZero: [String: Int] = [:]
    /// Cases reached at all.
    public var casesReached = 0
    /// Cases reached only digitally.
    public var casesDigitalOnly = 0
    /// Patients zéro by whole minutes from lab result to first reach (key: minutes as text).
    public var delayMinutes: [String: Int] = [:]
    /// Contacts who later tested positive (their person has a later patient zéro case).
    public var contactsLaterPositive = 0
    /// Channel activity.
    public var activity = DailyActivity()

    /// An empty cell.
    public init() {}

    /// Adds another cell.
    public mutating func merge(_ other: StatisticsCell) {
        patientsZero += other.patientsZero
        contacts += other.contacts
        patientsZeroWithResult += other.patientsZeroWithResult
        patientsZeroReachedWithin24h += other.patientsZeroReachedWithin24h
        contactsDeclared += other.contactsDeclared
        contactsNotifiedWithin24h += other.contactsNotifiedWithin24h
        patientsZeroWithoutContact += other.patientsZeroWithoutContact
        contactsPerPatientZero.merge(other.contactsPerPatientZero, uniquingKeysWith: +)
        casesReached += other.casesReached
        casesDigitalOnly += other.casesDigitalOnly
        delayMinutes.merge(other.delayMinutes, uniquingKeysWith: +)
        contactsLaterPositive += other.contactsLaterPositive
        activity.add(other.activity)
    }

    /// Insured followed: patient zéro cases plus contact cases.
    public var followed: Int { patientsZero + contacts }

    /// Share of outbound calls answered.
    public var reachedRate: Double? { ratio(activity.outboundReached, activity.outboundCalls) }
    /// Share of patients zéro reached within 24 h of their lab result.
    public var patientsZeroReachedWithin24hShare: Double? {
        ratio(patientsZeroReachedWithin24h, patientsZeroWithResult)
    }
    /// Share of contacts notified within 24 h of being declared.
    public var contactsNotifiedWithin24hShare: Double? { ratio(contactsNotifiedWithin24h, contactsDeclared) }
    /// Share of patients zéro declaring no contact.
    public var patientsZeroWithoutContactShare: Double? { ratio(patientsZeroWithoutContact, patientsZero) }
    /// Share of reached cases handled digitally only.
    public var digitalOnlyShare: Double? { ratio(casesDigitalOnly, casesReached) }

    /// Mean contacts declared per patient zéro.
    public var contactsPerPatientZeroMean: Double? {
        let n = contactsPerPatientZero.values.reduce(0, +)
        guard n > 0 else { return nil }
        let total = contactsPerPatientZero.reduce(0) { $0 + (Int($1.key) ?? 0) * $1.value }
        return Double(total) / Double(n)
    }

    /// Median contacts declared per patient zéro.
    public var contactsPerPatientZeroMedian: Double? { Self.median(contactsPerPatientZero) }

    /// Median hours from lab result to first reach (minute resolution).
    public var medianDelayHours: Double? { Self.median(delayMinutes).map { $0 / 60 } }

    /// The median of a histogram: the middle value, or the mean of the two middle values.
    static func median(_ histogram: [String: Int]) -> Double? {
        let entries = histogram.compactMap { key, count in Int(key).map { ($0, count) } }.sorted {
            $0.0 < $1.0
        }
        let n = entries.reduce(0) { $0 + $1.1 }
        guard n > 0 else { return nil }
        func value(at rank: Int) -> Int {
            var seen = 0
            for (value, count) in entries {
                seen += count
                if rank < seen { return value }
            }
            return entries.last?.0 ?? 0
        }
        if n % 2 == 1 { return Double(value(at: n / 2)) }
        return Double(value(at: n / 2 - 1) + value(at: n / 2)) / 2
    }

    private func ratio(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
}

/// One row of statistics: a platform and a period.
public struct StatisticsRow: Equatable, Sendable {
    /// The platform.
    public var platform: String
    /// The period's label: `2020-05-11`, `2020-W20` or `2020-05`.
    public var period: String
    /// The first day of the period.
    public var periodStart: CivilDate
    /// The counters.
    public var cell: StatisticsCell
}

/// What one case adds to the statistics: its cell's counters on its platform and opening day.
///
/// The one definition of how a case counts (docs/statistics.md), used by the in-memory fold and by
/// the stored read model, which keeps each case's contribution up to date as the case changes.
struct CaseContribution: Equatable {
    var platform: String
    var day: Int
    /// Bit `i` set: the case adds one to counter `i` of the cell (``StoredCell/Counter``, the ten case
    /// counters).
    var counters: UInt16 = 0
    /// The key the case adds one to in the contacts-per-patient-zéro histogram.
    var contactsPerPatientZero: Int?
    /// The key the case adds one to in the delay histogram.
    var delayMinutes: Int?

    mutating func count(_ counter: StoredCell.Counter) { counters |= 1 << UInt16(counter.rawValue) }
}

extension StoredCell {
    /// Adds (`sign` 1) or removes (`sign` -1) a case's contribution.
    mutating func add(_ contribution: CaseContribution, sign: Int) {
        var bits = contribution.counters
        while bits != 0 {
            let index = bits.trailingZeroBitCount
            counters[index] += sign
            bits &= bits - 1
        }
        if let key = contribution.contactsPerPatientZero {
            let sum = contactsPerPatientZero[key, default: 0] + sign
            contactsPerPatientZero[key] = sum == 0 ? nil : sum
        }
        if let key = contribution.delayMinutes {
            let sum = delayMinutes[key, default: 0] + sign
            delayMinutes[key] = sum == 0 ? nil : sum
        }
    }
}

extension CaseState {
    /// When this case makes its person known positive: a patient zéro's lab result, else its opening.
    var positiveTime: Timestamp? {
        guard role == .patientZero, !person.isEmpty else { return nil }
        return labResultAt ?? openedAt
    }

    /// The case's counters, given the earliest time its person was known positive (for a contact:
    /// "later positive" when that is after the contact's opening).
    ///
    /// A case counts in the period of its opening (for a patient zéro, the earliest of its opening and
    /// its lab result; for a contact, the earliest of its opening and its declaration), on the platform
    /// that opened it; a case without a role or an opening time counts nowhere.
    func contribution(positiveSince: Timestamp?) -> CaseContribution? {
        guard let role else { return nil }
        let opened: Timestamp?
        switch role {
        case .patientZero: opened = min(openedAt, labResultAt)
        case .contact, .coExposed: opened = min(openedAt, declaredAt)
        }
        guard let opened else { return nil }
        let day: Int64 = 86_400_000
        var c = CaseContribution(platform: platform, day: opened.dayNumber)
        if firstReachAt != nil {
            c.count(.casesReached)
            if handledDigitallyOnly { c.count(.casesDigitalOnly) }
        }
        switch role {
        case .patientZero:
            c.count(.patientsZero)
            c.contactsPerPatientZero = contacts.count
            if contacts.isEmpty { c.count(.patientsZeroWithoutContact) }
            if let lab = labResultAt {
                c.count(.patientsZeroWithResult)
                if let reach = firstReachAt {
                    let delay = max(0, reach.millisecondsSince1970 - lab.millisecondsSince1970)
                    if delay <= day { c.count(.patientsZeroReachedWithin24h) }
                    c.delayMinutes = Int(delay / 60_000)
                }
            }
        case .contact, .coExposed:
            c.count(.contacts)
            if let declared = declaredAt {
                c.count(.contactsDeclared)
                if let notified = firstNotifiedAt,
                    notified.millisecondsSince1970 - declared.millisecondsSince1970 <= day
                {
                    c.count(.contactsNotifiedWithin24h)
                }
            }
            if let since = positiveSince, since > opened { c.count(.contactsLaterPositive) }
        }
        return c
    }
}

/// The earlier of two optional times.
private func min(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
    guard let a else { return b }
    guard let b else { return a }
    return Swift.min(a, b)
}

/// Day cells grouped into periods: the rows of ``TracingProjection/statistics(platform:by:)`` and of
/// the stored read model alike.
struct PeriodGrouping {
    let period: StatisticsPeriod
    private var cells = [String: [String: (CivilDate, StoredCell)]]()

    init(period: StatisticsPeriod) { self.period = period }

    /// Adds a case's contribution.
    mutating func add(_ contribution: CaseContribution) {
        let (label, start) = period.bucket(of: CivilDate(dayNumber: contribution.day))
        cells[contribution.platform, default: [:]][label, default: (start, StoredCell())].1.add(
            contribution, sign: 1)
    }

    /// Adds a day cell of `platform`.
    mutating func add(_ cell: StoredCell, platform: String, day: Int) {
        let (label, start) = period.bucket(of: CivilDate(dayNumber: day))
        cells[platform, default: [:]][label, default: (start, StoredCell())].1.add(cell)
    }

    /// The rows, sorted by platform then period.
    var rows: [StatisticsRow] {
        var rows = [StatisticsRow]()
        for (name, periods) in cells {
            for (label, entry) in periods {
                rows.append(
                    StatisticsRow(platform: name, period: label, periodStart: entry.0, cell: entry.1.cell))
            }
        }
        return rows.sorted { ($0.platform, $0.periodStart) < ($1.platform, $1.periodStart) }
    }
}

extension StatisticsRow {
    /// One row per period adding the cells of every row of that period (the platforms' exact merged
    /// total: cells are additive), with `label` as their platform, sorted by period.
    public static func merged(_ rows: [StatisticsRow], label: String) -> [StatisticsRow] {
        var periods = [String: StatisticsRow]()
        for row in rows {
            periods[
                row.period,
                default: StatisticsRow(
                    platform: label, period: row.period, periodStart: row.periodStart, cell: StatisticsCell())
            ]
            .cell.merge(row.cell)
        }
        return periods.values.sorted { $0.periodStart < $1.periodStart }
    }
}

extension TracingProjection {
    /// Statistics per platform and period, sorted by platform then period.
    ///
    /// A case counts in the period of its opening (``CaseState/contribution(positiveSince:)``), on
    /// the platform that opened it. Channel activity counts on the day it happened.
    public func statistics(platform: String? = nil, by period: StatisticsPeriod) -> [StatisticsRow] {
        statistics(platforms: platform.map { [$0] }, by: period)
    }

    /// Statistics of the given platforms (all when `nil`) per period.
    public func statistics(platforms: Set<String>?, by period: StatisticsPeriod) -> [StatisticsRow] {
        var grouping = PeriodGrouping(period: period)
        // Persons who were ever a patient zéro, with their earliest lab or opening time.
        var positiveSince = [String: Timestamp]()
        for state in cases.values {
            if let since = state.positiveTime {
                positiveSince[state.person] = Swift.min(positiveSince[state.person] ?? since, since)
            }
        }
        for state in cases.values where platforms?.contains(state.platform) ?? true {
            guard let contribution = state.contribution(positiveSince: positiveSince[state.person]) else {
                continue
            }
            grouping.add(contribution)
        }
        for (name, days) in activity where platforms?.contains(name) ?? true {
            for (day, counts) in days {
                var cell = StoredCell()
                cell.add(counts)
                grouping.add(cell, platform: name, day: day)
            }
        }
        return grouping.rows
    }

    /// Totals per platform over the whole history.
    public func totals(platform: String) -> StatisticsCell {
        statistics(platform: platform, by: .month).reduce(into: StatisticsCell()) { $0.merge($1.cell) }
    }
}
