import ContactTracing
import Foundation
import Ledger
import SwiftProtobuf

/// Channel activity of one platform on one day (by the fact time of each event).
public struct DailyActivity: Codable, Equatable, Sendable {
    /// Outbound calls placed.
    public var outboundCalls = 0
    /// Outbound calls in which the person answered.
    public var outboundReached = 0
    /// Inbound calls received.
    public var inboundCalls = 0
    /// Calls on landlines (either way).
    public var landlineCalls = 0
    /// SMS sent.
    public var sms = 0
    /// SMS reported delivered.
    public var smsDelivered = 0
    /// Letters sent.
    public var letters = 0
    /// Teleservice submissions.
    public var teleservice = 0
    /// Clusters reported to the ARS.
    public var clusters = 0
    /// Identity consultations (audit events).
    public var identityConsultations = 0

    mutating func add(_ other: DailyActivity) {
        outboundCalls += other.outboundCalls
        outboundReached += other.outboundReached
        inboundCalls += other.inboundCalls
        landlineCalls += other.landlineCalls
        sms += other.sms
        smsDelivered += other.smsDelivered
        letters += other.letters
        teleservice += other.teleservice
        clusters += other.clusters
        identityConsultations += other.identityConsultations
    }
}

/// Platform-level facts.
public struct PlatformFacts: Codable, Equatable, Sendable {
    /// A rule change as recorded.
    public struct Policy: Codable, Equatable, Sendable {
        /// The rule version.
        public var ruleVersion: String
        /// From when it applies.
        public var effectiveOn: String
        /// Outbound calls stopped.
        public var outboundCallsStopped: Bool
        /// Landline calls stopped.
        public var landlineCallsStopped: Bool
        /// Contacts notified digitally only.
        public var contactNotificationDigitalOnly: Bool
    }

    /// The platform id.
    public var id: String
    /// Its name.
    public var name = ""
    /// Its sites.
    public var sites: [String] = []
    /// Opening date.
    public var openedOn: String?
    /// Closing date.
    public var closedOn: String?
    /// The platform that took over its cases.
    public var handoverTo: String?
    /// Rule changes, in log order.
    public var policies: [Policy] = []
}

/// The fold of the whole log into case states, daily channel activity and platform facts.
///
/// Pure: `apply` depends only on the state and the event, so a rebuild from position 1 and any
/// sequence of catch-ups give the same state, and ``encoded()`` the same bytes.
public struct TracingProjection: Codable, Equatable, Sendable, FoldTarget {
    /// The last position applied (0: nothing yet).
    public private(set) var checkpoint: UInt64 = 0
    /// The head hash at the checkpoint, in hex.
    public var checkpointHash: String { checkpointHashBytes.hex }
    /// The same hash, kept without allocating so that applying an event costs no string.
    private var checkpointHashBytes = ChainHash()
    /// Cases by id.
    public private(set) var cases: [String: CaseState] = [:]
    /// Channel activity by platform, then by day number (days since 1970-01-01, UTC).
    private(set) var activity: [String: [Int: DailyActivity]] = [:]
    /// Platforms by id.
    public private(set) var platforms: [String: PlatformFacts] = [:]
    /// Events applied, by ``EventKind``.
    private var kindCounts = [Int](repeating: 0, count: EventKind.allCases.count)

    /// Channel activity by platform, then by day (`YYYY-MM-DD`).
    public var daily: [String: [String: DailyActivity]] {
        activity.mapValues { days in
            Dictionary(
                uniqueKeysWithValues: days.map { (CivilDate(dayNumber: $0.key).description, $0.value) })
        }
    }

    /// Events applied, by type.
    public var eventCounts: [String: Int] {
        var counts = [String: Int]()
        for kind in EventKind.allCases where kindCounts[kind.rawValue] > 0 {
            counts[kind.name] = kindCounts[kind.rawValue]
        }
        return counts
    }

    /// An empty projection.
    public init() {}

    /// Applies one event. Events must come in log order, each once.
    /// - Throws: ``ProjectionError`` when the payload does not decode.
    public mutating func apply(_ view: borrowing EventView) throws {
        try fold(view)
        checkpointHashBytes = ChainHash(view.hash)
    }

    /// Applies one event without recording the head hash (catch-up records it once, at the end).
    ///
    /// The payload is decoded straight from the map into its message; states are changed in place in
    /// their dictionaries. Nothing changes when the payload does not decode.
    mutating func fold(_ view: borrowing EventView) throws {
        let kind = try foldEvent(view)
        checkpoint = view.position
        kindCounts[kind.rawValue] += 1
    }

    // MARK: - FoldTarget

    /// Changes the case of `view`'s stream in place (created on the event's platform when new).
    /// Changes case `id` in place (created when new), and attributes it to `view`'s platform when the
    /// event comes first by fact time (``CaseState/attribute(to:at:opening:)``).
    mutating func updateCase(
        _ idBytes: UnsafeRawBufferPointer, _ view: borrowing EventView, opening: Bool,
        _ body: (inout CaseState, Bool) -> Void
    ) {
        let id = String(decoding: idBytes, as: UTF8.self)
        if let index = cases.index(forKey: id) {
            let wins = cases.values[index].attribute(
                to: view.platformBytes, at: view.occurredAt, opening: opening)
            body(&cases.values[index], wins)
        } else {
            var state = CaseState(id: id)
            let wins = state.attribute(to: view.platformBytes, at: view.occurredAt, opening: opening)
            body(&state, wins)
            cases[id] = state
        }
    }

    /// Changes the activity of `view`'s platform on the day it happened, in place.
    mutating func updateActivity(_ view: borrowing EventView, _ body: (inout DailyActivity) -> Void) {
        body(&activity[view.platform, default: [:]][view.occurredAt.dayNumber, default: DailyActivity()])
    }

    /// Changes the facts of `view`'s platform in place.
    mutating func updatePlatform(_ view: borrowing EventView, _ body: (inout PlatformFacts) -> Void) {
        let id = view.platform
        body(&platforms[id, default: PlatformFacts(id: id)])
    }

    static func name(of reason: Tracing_V1_ClosureReason) -> String {
        switch reason {
        case .isolationCompleted: return "isolationCompleted"
        case .unreachable: return "unreachable"
        case .refused: return "refused"
        case .handedOver: return "handedOver"
        case .platformClosed: return "platformClosed"
        case .duplicate: return "duplicate"
        default: return "unspecified"
        }
    }

    /// Applies every event after the checkpoint, up to `last` when given; returns how many were applied.
    ///
    /// With `asOf`, only facts that happened before that instant are applied (the checkpoint still
    /// moves past the others), which is how statistics "as of" a date are computed.
    ///
    /// The state is changed in place (a copy would duplicate every case on the first change). When an
    /// event does not decode, the state stays as it was after the event before it, with its checkpoint
    /// and checkpoint hash, and the error is thrown.
    @discardableResult
    public mutating func catchUp(
        from log: EventLog, through last: UInt64? = nil, asOf: Timestamp? = nil,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> Int {
        var applied = 0
        var endHash: ChainHash?
        do {
            try log.withSnapshot { snapshot in
                let head = try snapshot.head()
                let end = min(head.position, last ?? .max)
                guard end > checkpoint else { return }
                // A long catch-up grows the case table many times over; one event in seven opens
                // or declares a case in the histories seen so far, so make room once instead.
                let expected = cases.count + Int(end - checkpoint) / 7
                if end - checkpoint > 100_000 && cases.capacity < expected { cases.reserveCapacity(expected) }
                try snapshot.forEach(from: checkpoint + 1) { view in
                    if let asOf, view.occurredAt >= asOf {
                        checkpoint = view.position
                    } else {
                        try fold(view)
                        applied += 1
                    }
                    if view.position & 0xFFFF == 0 { progress(view.position) }
                    guard view.position < end else {
                        endHash = ChainHash(view.hash)
                        return false
                    }
                    return true
                }
            }
        } catch {
            if checkpoint > 0, let event = try? log.event(at: checkpoint) {
                event.hash.withUnsafeBytes { checkpointHashBytes = ChainHash($0) }
            }
            throw error
        }
        if let endHash { checkpointHashBytes = endHash }
        progress(checkpoint)
        return applied
    }

    /// Rebuilds from position 1.
    public static func rebuild(
        from log: EventLog, asOf: Timestamp? = nil, progress: (UInt64) -> Void = { _ in }
    ) throws -> TracingProjection {
        var projection = TracingProjection()
        try projection.catchUp(from: log, asOf: asOf, progress: progress)
        return projection
    }

    /// The state as deterministic bytes (JSON with sorted keys): equal states give equal bytes.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Decodes a state written by ``encoded()``.
    public static func decode(_ bytes: [UInt8]) throws -> TracingProjection {
        try JSONDecoder().decode(TracingProjection.self, from: Data(bytes))
    }
}

/// The 32 bytes of a chain hash as four words, encoded as 64 lowercase hex digits.
struct ChainHash: Codable, Equatable, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// The genesis hash (32 zero bytes).
    init() {}

    /// The first 32 bytes of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32, "a chain hash has 32 bytes")
        words = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }
    var hex: String { bytes.hexString }

    static func == (a: ChainHash, b: ChainHash) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    init(from decoder: any Swift.Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = [UInt8](hex: text), bytes.count == 32 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a chain hash is 64 hex digits"))
        }
        self = bytes.withUnsafeBytes { ChainHash($0) }
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A projection could not be built.
public enum ProjectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An event's payload does not decode.
    case undecodable(position: UInt64, reason: String)
    /// A stored state does not belong to this ledger (its checkpoint hash differs from the log's).
    case staleState(path: String, reason: String)

    /// What is wrong.
    public var description: String {
        switch self {
        case .undecodable(let position, let reason): return "position \(position): \(reason)"
        case .staleState(let path, let reason): return "\(path): \(reason)"
        }
    }
}

extension TracingProjection {
    /// The state of one case, folded from its own stream and, for a contact, the stream of the patient
    /// zéro who declared them (their declaration time lives there), in log order.
    ///
    /// Reads two streams instead of the whole log, so it is cheap on any size of ledger.
    public static func caseState(_ id: String, in log: EventLog) throws -> CaseState? {
        var positions = [UInt64]()
        try log.forEachInStream(id) { view in
            positions.append(view.position)
            return true
        }
        guard !positions.isEmpty else { return nil }
        var own = TracingProjection()
        try log.forEach(positions: positions) { try own.fold($0) }
        if let patientZero = own.cases[id]?.patientZeroCase {
            try log.forEachInStream(patientZero) { view in
                positions.append(view.position)
                return true
            }
            var both = TracingProjection()
            try log.forEach(positions: positions.sorted()) { try both.fold($0) }
            return both.cases[id]
        }
        return own.cases[id]
    }
}

/// Where the fold writes: the in-memory ``TracingProjection`` and the stored ``ReadModel`` both
/// implement these three accesses, and share every event handler below, so both fold alike.
protocol FoldTarget {
    /// Changes case `id` in place (created when new), attributing it to `view`'s platform when the
    /// event comes first by fact time (``CaseState/attribute(to:at:opening:)``).
    /// `body` is told whether the event is now the one the case's platform and role come from.
    mutating func updateCase(
        _ id: UnsafeRawBufferPointer, _ view: borrowing EventView, opening: Bool,
        _ body: (inout CaseState, _ wins: Bool) -> Void)
    /// Changes the activity of `view`'s platform on the day it happened, in place.
    mutating func updateActivity(_ view: borrowing EventView, _ body: (inout DailyActivity) -> Void)
    /// Changes the facts of `view`'s platform in place.
    mutating func updatePlatform(_ view: borrowing EventView, _ body: (inout PlatformFacts) -> Void)
}

extension FoldTarget {
    /// Changes the case of `view`'s stream in place (created on the event's platform when new).
    fileprivate mutating func updateCase(_ view: borrowing EventView, _ body: (inout CaseState) -> Void) {
        updateCase(view.streamBytes, view, opening: false) { state, _ in body(&state) }
    }

    fileprivate mutating func updateCase(
        _ id: UnsafeRawBufferPointer, _ view: borrowing EventView, _ body: (inout CaseState) -> Void
    ) {
        updateCase(id, view, opening: false) { state, _ in body(&state) }
    }

    /// Changes the case of an opening event's stream; `body` is told whether the event is now the
    /// case's earliest opening (its role then comes from it).
    fileprivate mutating func updateOpening(
        _ view: borrowing EventView, _ body: (inout CaseState, _ wins: Bool) -> Void
    ) {
        updateCase(view.streamBytes, view, opening: true, body)
    }

    /// Folds one event into the target and returns its kind.
    ///
    /// The payload is decoded straight from the map into its message; states are changed in place in
    /// the target. Nothing changes when the payload does not decode.
    mutating func foldEvent(_ view: borrowing EventView) throws -> EventKind {
        guard let kind = EventKind(view.typeBytes) else {
            throw ProjectionError.undecodable(
                position: view.position, reason: CatalogError.unknownType(view.type).description)
        }
        let time = view.occurredAt
        switch kind {
        case .platformOpened: try onPlatformOpened(view, kind, time)
        case .policyChanged: try onPolicyChanged(view, kind, time)
        case .platformClosed: try onPlatformClosed(view, kind, time)
        case .caseHandedOver: try onCaseHandedOver(view, kind, time)
        case .positiveTestReported: try onPositiveTestReported(view, kind, time)
        case .caseOpened: try onCaseOpened(view, kind, time)
        case .contactDeclared: try onContactDeclared(view, kind, time)
        case .isolationPrescribed: try onIsolationPrescribed(view, kind, time)
        case .workStoppageIssued: try onWorkStoppageIssued(view, kind, time)
        case .nurseVisitRequested: try onNurseVisitRequested(view, kind, time)
        case .socialSupportRequested: try onSocialSupportRequested(view, kind, time)
        case .clusterReported: try onClusterReported(view, kind, time)
        case .caseClosed: try onCaseClosed(view, kind, time)
        case .callPlaced: try onCallPlaced(view, kind, time)
        case .smsSent: try onSmsSent(view, kind, time)
        case .smsDeliveryReported: try onSmsDeliveryReported(view, kind, time)
        case .letterSent: try onLetterSent(view, kind, time)
        case .teleserviceSubmitted: try onTeleserviceSubmitted(view, kind, time)
        case .identityConsulted: try onIdentityConsulted(view, kind, time)
        }
        return kind
    }

    // MARK: - One handler per event kind

    /// Folds a `PlatformOpened` event.
    fileprivate mutating func onPlatformOpened(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    ) throws {
        let m = try kind.decode(Tracing_V1_PlatformOpened.self, view)
        updatePlatform(view) {
            $0.name = m.name
            $0.sites = m.sites
            $0.openedOn = m.openedOn.isEmpty ? time.date.description : m.openedOn
        }
    }

    /// Folds a `PolicyChanged` event.
    fileprivate mutating func onPolicyChanged(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    ) throws {
        let m = try kind.decode(Tracing_V1_PolicyChanged.self, view)
        updatePlatform(view) {
            $0.policies.append(
                .init(
                    ruleVersion: m.ruleVersion, effectiveOn: m.effectiveOn,
                    outboundCallsStopped: m.outboundCallsStopped,
                    landlineCallsStopped: m.landlineCallsStopped,
                    contactNotificationDigitalOnly: m.contactNotificationDigitalOnly))
        }
    }

    /// Folds a `PlatformClosed` event.
    fileprivate mutating func onPlatformClosed(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    ) throws {
        let m = try kind.decode(Tracing_V1_PlatformClosed.self, view)
        updatePlatform(view) {
            $0.closedOn = m.closedOn.isEmpty ? time.date.description : m.closedOn
            $0.handoverTo = m.handoverTo.isEmpty ? nil : m.handoverTo
        }
    }

    /// Folds a `CaseHandedOver` event.
    fileprivate mutating func onCaseHandedOver(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    ) throws {
        try kind.withFields(Tracing_V1_CaseHandedOver.self, view) { f in
            updateCase(view) { $0.handedOverTo = f.string(1) }
        }
    }

    /// Folds a `PositiveTestReported` event.
    fileprivate mutating func onPositiveTestReported(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_PositiveTestReported.self, view) { f in
            updateOpening(view) { state, wins in
                if wins { state.role = .patientZero }
                if state.person.isEmpty { state.person = f.string(1) }
                state.labResultAt = min(state.labResultAt ?? time, time)
            }
        }
    }

    /// Folds a `CaseOpened` event.
    fileprivate mutating func onCaseOpened(_ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp)
        throws
    {
        try kind.withFields(Tracing_V1_CaseOpened.self, view) { f in
            updateOpening(view) { state, wins in
                if wins {
                    // The earliest opening by fact time gives the role (a CaseOpened without one: contact).
                    switch Tracing_V1_CaseRole(rawValue: Int(f.enumValue(2))) {
                    case .patientZero: state.role = .patientZero
                    case .coExposed: state.role = .coExposed
                    default: state.role = .contact
                    }
                }
                if state.person.isEmpty { state.person = f.string(1) }
                state.openedAt = min(state.openedAt ?? time, time)
                if !f.isEmpty(4) && state.patientZeroCase == nil {
                    state.patientZeroCase = f.string(4)
                }
            }
        }
    }

    /// Folds a `ContactDeclared` event.
    fileprivate mutating func onContactDeclared(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_ContactDeclared.self, view) { f in
            let contactCase = f.string(1)
            updateCase(view) {
                if !$0.contacts.contains(contactCase) { $0.contacts.append(contactCase) }
            }
            updateCase(f.bytes(1), view) {
                $0.declaredAt = min($0.declaredAt ?? time, time)
                if $0.patientZeroCase == nil { $0.patientZeroCase = view.stream }
                if $0.person.isEmpty { $0.person = f.string(2) }
            }
        }
    }

    /// Folds a `IsolationPrescribed` event.
    fileprivate mutating func onIsolationPrescribed(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_IsolationPrescribed.self, view) { f in
            updateCase(view) {
                $0.isolation = .init(start: f.string(1), end: f.string(2), ruleVersion: f.string(3))
                if $0.status != .closed { $0.status = .isolating }
            }
        }
    }

    /// Folds a `WorkStoppageIssued` event.
    fileprivate mutating func onWorkStoppageIssued(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_WorkStoppageIssued.self, view) { _ in
            updateCase(view) { $0.workStoppage = true }
        }
    }

    /// Folds a `NurseVisitRequested` event.
    fileprivate mutating func onNurseVisitRequested(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_NurseVisitRequested.self, view) { _ in
            updateCase(view) { $0.nurseVisit = true }
        }
    }

    /// Folds a `SocialSupportRequested` event.
    fileprivate mutating func onSocialSupportRequested(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_SocialSupportRequested.self, view) { _ in
            updateCase(view) { $0.socialSupport = true }
        }
    }

    /// Folds a `ClusterReported` event.
    fileprivate mutating func onClusterReported(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_ClusterReported.self, view) { _ in
            updateActivity(view) { $0.clusters += 1 }
        }
    }

    /// Folds a `CaseClosed` event.
    fileprivate mutating func onCaseClosed(_ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp)
        throws
    {
        try kind.withFields(Tracing_V1_CaseClosed.self, view) { f in
            let reason = Tracing_V1_ClosureReason(rawValue: Int(f.enumValue(1))) ?? .unspecified
            updateCase(view) {
                $0.status = .closed
                $0.closureReason = TracingProjection.name(of: reason)
                $0.closedAt = time
            }
        }
    }

    /// Folds a `CallPlaced` event.
    fileprivate mutating func onCallPlaced(_ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp)
        throws
    {
        try kind.withFields(Tracing_V1_CallPlaced.self, view) { f in
            let inbound = f.enumValue(1) == Int32(Tracing_V1_CallDirection.inbound.rawValue)
            let landline = f.enumValue(2) == Int32(Tracing_V1_LineKind.landline.rawValue)
            let reached = f.enumValue(3) == Int32(Tracing_V1_CallOutcome.reached.rawValue)
            updateCase(view) {
                if inbound { $0.attempts.inboundCalls += 1 } else { $0.attempts.outboundCalls += 1 }
                if landline { $0.attempts.landlineCalls += 1 }
                if reached { $0.reach(time, byCall: true) }
            }
            updateActivity(view) {
                if inbound {
                    $0.inboundCalls += 1
                } else {
                    $0.outboundCalls += 1
                    if reached { $0.outboundReached += 1 }
                }
                if landline { $0.landlineCalls += 1 }
            }
        }
    }

    /// Folds a `SMSSent` event.
    fileprivate mutating func onSmsSent(_ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp)
        throws
    {
        try kind.withFields(Tracing_V1_SMSSent.self, view) { _ in
            updateCase(view) {
                $0.attempts.sms += 1
                $0.reach(time, byCall: false)
            }
            updateActivity(view) { $0.sms += 1 }
        }
    }

    /// Folds a `SMSDeliveryReported` event.
    fileprivate mutating func onSmsDeliveryReported(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_SMSDeliveryReported.self, view) { f in
            if f.bool(2) { updateActivity(view) { $0.smsDelivered += 1 } }
        }
    }

    /// Folds a `LetterSent` event.
    fileprivate mutating func onLetterSent(_ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp)
        throws
    {
        try kind.withFields(Tracing_V1_LetterSent.self, view) { _ in
            updateCase(view) {
                $0.attempts.letters += 1
                $0.notify(time)
            }
            updateActivity(view) { $0.letters += 1 }
        }
    }

    /// Folds a `TeleserviceSubmitted` event.
    fileprivate mutating func onTeleserviceSubmitted(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_TeleserviceSubmitted.self, view) { _ in
            updateCase(view) {
                $0.attempts.teleservice += 1
                $0.reach(time, byCall: false)
            }
            updateActivity(view) { $0.teleservice += 1 }
        }
    }

    /// Folds a `IdentityConsulted` event.
    fileprivate mutating func onIdentityConsulted(
        _ view: borrowing EventView, _ kind: EventKind, _ time: Timestamp
    )
        throws
    {
        try kind.withFields(Tracing_V1_IdentityConsulted.self, view) { _ in
            updateActivity(view) { $0.identityConsultations += 1 }
        }
    }
}
