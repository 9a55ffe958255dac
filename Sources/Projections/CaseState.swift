import ContactTracing
import Ledger

/// The role of a person in a case.
public enum CaseRole: String, Codable, Sendable, CaseIterable {
    /// Patient zéro: tested positive.
    case patientZero
    /// Cas contact.
    case contact
    /// Co-exposé.
    case coExposed
}

/// Where a case stands.
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    /// Opened, nobody reached yet.
    case toReach
    /// Reached (call, SMS or teleservice), no isolation prescribed yet.
    case reached
    /// Isolation prescribed.
    case isolating
    /// Closed.
    case closed
}

/// Attempts per channel.
public struct ChannelAttempts: Codable, Equatable, Sendable {
    /// Outbound calls placed.
    public var outboundCalls = 0
    /// Inbound calls received.
    public var inboundCalls = 0
    /// Landline calls (either way).
    public var landlineCalls = 0
    /// SMS sent.
    public var sms = 0
    /// Letters sent.
    public var letters = 0
    /// Teleservice submissions.
    public var teleservice = 0
}

/// The state of one case, folded from its events. Times are fact times (`occurredAt`); where the
/// order of facts matters (first reach), the earliest fact wins whatever the order they were recorded.
public struct CaseState: Codable, Equatable, Sendable {
    /// The case id (its stream).
    public var id: String
    /// The person's pseudonym.
    public var person: String = ""
    /// Patient zéro, contact or co-exposed; `nil` until the case is opened. It comes from the same
    /// opening event as ``platform`` (the earliest by fact time, ties by position): the order of
    /// recording never changes it.
    public var role: CaseRole?
    /// The platform the case counts on: the one that opened it (the platform of its earliest
    /// `CaseOpened` or `PositiveTestReported` by fact time, ties by position); for a case without an
    /// opening event, the platform of its earliest fact. The order of recording never changes it.
    public var platform: String = ""
    /// The fact time of the event that gave ``platform``.
    public var platformFactAt: Timestamp?
    /// Whether ``platform`` comes from an opening event (`CaseOpened`, `PositiveTestReported`).
    public var platformFromOpening = false
    /// Where the case stands.
    public var status: CaseStatus = .toReach
    /// When the case was opened.
    public var openedAt: Timestamp?
    /// For a patient zéro: when the positive result was reported.
    public var labResultAt: Timestamp?
    /// For a contact: when a patient zéro declared them.
    public var declaredAt: Timestamp?
    /// Attempts per channel.
    public var attempts = ChannelAttempts()
    /// The first time the person was reached (a reached call, an SMS or a teleservice submission).
    public var firstReachAt: Timestamp?
    /// The first time the person was reached by a call in which they answered.
    public var firstCallReachAt: Timestamp?
    /// The first time a contact was notified (reached, or a letter sent).
    public var firstNotifiedAt: Timestamp?
    /// For a contact: the patient zéro case that declared them.
    public var patientZeroCase: String?
    /// For a patient zéro: the contact cases they declared, in declaration order, without repeats.
    public var contacts: [String] = []
    /// The isolation period and the rule that applied when it was prescribed.
    public var isolation: Isolation?
    /// Whether a work stoppage was issued.
    public var workStoppage = false
    /// Whether a nurse visit was requested.
    public var nurseVisit = false
    /// Whether social support was requested.
    public var socialSupport = false
    /// Why the case was closed.
    public var closureReason: String?
    /// When the case was closed.
    public var closedAt: Timestamp?
    /// The platform the case was handed over to.
    public var handedOverTo: String?

    /// An isolation period.
    public struct Isolation: Codable, Equatable, Sendable {
        /// First day.
        public var start: String
        /// Last day.
        public var end: String
        /// The rule in force when it was prescribed.
        public var ruleVersion: String
    }

    /// Creates an empty case.
    public init(id: String) { self.id = id }

    /// Whether a closure report lists the case among its platform's open cases: opened, and not
    /// closed or handed over.
    public var isListedAtClosure: Bool { role != nil && (status != .closed || handedOverTo != nil) }

    /// Reached only by digital means (SMS, teleservice), never by a call.
    public var handledDigitallyOnly: Bool { firstReachAt != nil && firstCallReachAt == nil }

    mutating func reach(_ time: Timestamp, byCall: Bool) {
        firstReachAt = min(firstReachAt ?? time, time)
        if byCall { firstCallReachAt = min(firstCallReachAt ?? time, time) }
        notify(time)
        if status == .toReach { status = .reached }
    }

    /// Takes `platform` (UTF-8, as the record holds it) from an event at `time` when it comes first: an opening event earlier than the
    /// opening seen so far (or the first opening), or any event earlier than every other when no
    /// opening was seen. Equal times keep the event recorded first.
    /// - Returns: whether the event is now the one the case's platform (and, for an opening event, its
    ///   role) comes from.
    @discardableResult
    mutating func attribute(to platform: UnsafeRawBufferPointer, at time: Timestamp, opening: Bool) -> Bool {
        if opening {
            guard !platformFromOpening || time < platformFactAt! else { return false }
            platformFromOpening = true
        } else {
            guard !platformFromOpening, platformFactAt.map({ time < $0 }) ?? true else { return false }
        }
        // The name is made only when it changes (an event rarely wins, and then mostly on the same platform).
        if !self.platform.utf8.elementsEqual(platform) {
            self.platform = String(decoding: platform, as: UTF8.self)
        }
        platformFactAt = time
        return true
    }

    mutating func notify(_ time: Timestamp) {
        firstNotifiedAt = min(firstNotifiedAt ?? time, time)
    }
}
