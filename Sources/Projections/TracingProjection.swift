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
public struct TracingProjection: Codable, Equatable, Sendable {
    /// The last position applied (0: nothing yet).
    public private(set) var checkpoint: UInt64 = 0
    /// The head hash at the checkpoint.
    public private(set) var checkpointHash: String = String(repeating: "0", count: 64)
    /// Cases by id.
    public private(set) var cases: [String: CaseState] = [:]
    /// Channel activity by platform, then by day (`YYYY-MM-DD`).
    public private(set) var daily: [String: [String: DailyActivity]] = [:]
    /// Platforms by id.
    public private(set) var platforms: [String: PlatformFacts] = [:]
    /// Events applied, by type.
    public private(set) var eventCounts: [String: Int] = [:]

    /// An empty projection.
    public init() {}

    /// Applies one event. Events must come in log order, each once.
    /// - Throws: ``ProjectionError`` when the payload does not decode.
    public mutating func apply(_ view: EventView) throws {
        try fold(view)
        checkpointHash = Array(view.hash).hexString
    }

    /// Applies one event without recording the head hash (catch-up records it once, at the end).
    mutating func fold(_ view: EventView) throws {
        let type = view.type
        let message: any SwiftProtobuf.Message
        do {
            message = try UpcasterRegistry.standard.decode(
                type: type, schemaVersion: view.schemaVersion, payload: view.payload)
        } catch {
            throw ProjectionError.undecodable(position: view.position, reason: error.description)
        }
        checkpoint = view.position
        eventCounts[type, default: 0] += 1
        let time = view.occurredAt
        let platform = view.platform
        let stream = view.stream

        func withCase(_ id: String, _ body: (inout CaseState) -> Void) {
            var state = cases[id] ?? CaseState(id: id)
            if state.platform.isEmpty { state.platform = platform }
            body(&state)
            cases[id] = state
        }
        func activity(_ body: (inout DailyActivity) -> Void) {
            let day = time.date.description
            var current = daily[platform, default: [:]][day] ?? DailyActivity()
            body(&current)
            daily[platform, default: [:]][day] = current
        }
        func withPlatform(_ body: (inout PlatformFacts) -> Void) {
            var facts = platforms[platform] ?? PlatformFacts(id: platform)
            body(&facts)
            platforms[platform] = facts
        }

        switch message {
        case let m as Tracing_V1_PlatformOpened:
            withPlatform {
                $0.name = m.name
                $0.sites = m.sites
                $0.openedOn = m.openedOn.isEmpty ? time.date.description : m.openedOn
            }
        case let m as Tracing_V1_PolicyChanged:
            withPlatform {
                $0.policies.append(
                    .init(
                        ruleVersion: m.ruleVersion, effectiveOn: m.effectiveOn,
                        outboundCallsStopped: m.outboundCallsStopped,
                        landlineCallsStopped: m.landlineCallsStopped,
                        contactNotificationDigitalOnly: m.contactNotificationDigitalOnly))
            }
        case let m as Tracing_V1_PlatformClosed:
            withPlatform {
                $0.closedOn = m.closedOn.isEmpty ? time.date.description : m.closedOn
                $0.handoverTo = m.handoverTo.isEmpty ? nil : m.handoverTo
            }
        case let m as Tracing_V1_CaseHandedOver:
            withCase(stream) { $0.handedOverTo = m.toPlatform }
        case let m as Tracing_V1_PositiveTestReported:
            withCase(stream) {
                if $0.role == nil { $0.role = .patientZero }
                if $0.person.isEmpty { $0.person = m.person }
                $0.labResultAt = min($0.labResultAt ?? time, time)
            }
        case let m as Tracing_V1_CaseOpened:
            withCase(stream) {
                switch m.role {
                case .patientZero: $0.role = .patientZero
                case .contact: $0.role = .contact
                case .coExposed: $0.role = .coExposed
                default: if $0.role == nil { $0.role = .contact }
                }
                if $0.person.isEmpty { $0.person = m.person }
                $0.openedAt = min($0.openedAt ?? time, time)
                if !m.patientZeroCase.isEmpty && $0.patientZeroCase == nil {
                    $0.patientZeroCase = m.patientZeroCase
                }
            }
        case let m as Tracing_V1_ContactDeclared:
            withCase(stream) {
                if !$0.contacts.contains(m.contactCase) { $0.contacts.append(m.contactCase) }
            }
            withCase(m.contactCase) {
                $0.declaredAt = min($0.declaredAt ?? time, time)
                if $0.patientZeroCase == nil { $0.patientZeroCase = stream }
                if $0.person.isEmpty { $0.person = m.contactPerson }
            }
        case let m as Tracing_V1_IsolationPrescribed:
            withCase(stream) {
                $0.isolation = .init(start: m.startDate, end: m.endDate, ruleVersion: m.ruleVersion)
                if $0.status != .closed { $0.status = .isolating }
            }
        case is Tracing_V1_WorkStoppageIssued:
            withCase(stream) { $0.workStoppage = true }
        case is Tracing_V1_NurseVisitRequested:
            withCase(stream) { $0.nurseVisit = true }
        case is Tracing_V1_SocialSupportRequested:
            withCase(stream) { $0.socialSupport = true }
        case is Tracing_V1_ClusterReported:
            activity { $0.clusters += 1 }
        case let m as Tracing_V1_CaseClosed:
            withCase(stream) {
                $0.status = .closed
                $0.closureReason = Self.name(of: m.reason)
                $0.closedAt = time
            }
        case let m as Tracing_V1_CallPlaced:
            let inbound = m.direction == .inbound
            let reached = m.outcome == .reached
            withCase(stream) {
                if inbound { $0.attempts.inboundCalls += 1 } else { $0.attempts.outboundCalls += 1 }
                if m.line == .landline { $0.attempts.landlineCalls += 1 }
                if reached { $0.reach(time, byCall: true) }
            }
            activity {
                if inbound {
                    $0.inboundCalls += 1
                } else {
                    $0.outboundCalls += 1
                    if reached { $0.outboundReached += 1 }
                }
                if m.line == .landline { $0.landlineCalls += 1 }
            }
        case is Tracing_V1_SMSSent:
            withCase(stream) {
                $0.attempts.sms += 1
                $0.reach(time, byCall: false)
            }
            activity { $0.sms += 1 }
        case let m as Tracing_V1_SMSDeliveryReported:
            if m.delivered { activity { $0.smsDelivered += 1 } }
        case is Tracing_V1_LetterSent:
            withCase(stream) {
                $0.attempts.letters += 1
                $0.notify(time)
            }
            activity { $0.letters += 1 }
        case is Tracing_V1_TeleserviceSubmitted:
            withCase(stream) {
                $0.attempts.teleservice += 1
                $0.reach(time, byCall: false)
            }
            activity { $0.teleservice += 1 }
        case is Tracing_V1_IdentityConsulted:
            activity { $0.identityConsultations += 1 }
        default:
            break
        }
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

    /// Applies every event after the checkpoint; returns how many were applied.
    ///
    /// With `asOf`, only facts that happened before that instant are applied (the checkpoint still
    /// moves past the others), which is how statistics "as of" a date are computed.
    @discardableResult
    public mutating func catchUp(
        from log: EventLog, asOf: Timestamp? = nil, progress: (UInt64) -> Void = { _ in }
    ) throws -> Int {
        var applied = 0
        var state = self
        var lastHash: [UInt8]?
        try log.withSnapshot { snapshot in
            let head = try snapshot.head()
            guard head.position > state.checkpoint else { return }
            try snapshot.forEach(from: state.checkpoint + 1) { view in
                if let asOf, view.occurredAt >= asOf {
                    state.checkpoint = view.position
                } else {
                    try state.fold(view)
                    applied += 1
                }
                if view.position & 0xFFFF == 0 { progress(view.position) }
                return view.position < head.position
            }
            lastHash = head.hash
        }
        if let lastHash { state.checkpointHash = lastHash.hexString }
        self = state
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
