import Foundation
import Ledger

/// Keeps the projection's state with its checkpoint beside the ledger (`LEDGER.projections/`), so
/// that catch-up after new appends is incremental. The state can be deleted at any time: it is
/// rebuilt from the log.
public struct ProjectionStore: Sendable {
    /// The directory of the stored states.
    public let directory: String

    /// The store of a ledger at its default place.
    public init(ledger: String) {
        directory = EventLog.siblingPath(ofLedger: ledger, suffix: ".projections")
    }

    var statePath: String { directory + "/tracing.json" }

    /// The stored state, or `nil` when there is none or it does not belong to this log (its checkpoint
    /// hash is not the log's hash at that position), in which case the caller rebuilds.
    public func load(for log: EventLog) throws -> TracingProjection? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        guard let state = try? TracingProjection.decode(Array(data)) else { return nil }
        if state.checkpoint == 0 { return state }
        guard let event = try log.event(at: state.checkpoint), event.hash.hexString == state.checkpointHash
        else {
            return nil
        }
        return state
    }

    /// Writes the state atomically (a temporary file renamed over the old one).
    public func save(_ state: TracingProjection) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Data(try state.encoded()).write(to: URL(fileURLWithPath: statePath), options: [.atomic])
    }

    /// Loads the stored state (or starts empty), catches up with the log, and saves it when it moved.
    public func current(
        for log: EventLog, fromScratch: Bool = false, save: Bool = true, progress: (UInt64) -> Void = { _ in }
    ) throws -> (projection: TracingProjection, applied: Int) {
        var projection = (fromScratch ? nil : try load(for: log)) ?? TracingProjection()
        let before = projection.checkpoint
        let applied = try projection.catchUp(from: log, progress: progress)
        if save && (projection.checkpoint != before || fromScratch) { try self.save(projection) }
        return (projection, applied)
    }
}

/// What closing a platform appends.
public enum PlatformClosure {
    /// The events that close `platform` on `date`: for each case still open, `CaseHandedOver` (when a
    /// platform takes over) and `CaseClosed`; then `PlatformClosed` in the platform's stream, which
    /// must not be closed already.
    public static func events(
        closing platform: String, on date: CivilDate, handoverTo: String?, projection: TracingProjection
    ) throws -> [NewEvent] {
        let open = projection.cases.values.filter {
            $0.platform == platform && $0.role != nil && $0.status != .closed
        }
        return try events(closing: platform, on: date, handoverTo: handoverTo, openCases: open.map(\.id))
    }

    /// The same events for a caller that knows which cases are still open (the simulator does).
    public static func events(
        closing platform: String, on date: CivilDate, handoverTo: String?, openCases: [String]
    ) throws -> [NewEvent] {
        var events = [NewEvent]()
        let at = date.start.adding(milliseconds: 86_400_000 - 1)
        for id in openCases.sorted() {
            if let handoverTo {
                var handed = Tracing_V1_CaseHandedOver()
                handed.toPlatform = handoverTo
                events.append(
                    try EventCatalog.event(handed, stream: id, platform: platform, occurredAt: at))
            }
            var closed = Tracing_V1_CaseClosed()
            closed.reason = handoverTo == nil ? .platformClosed : .handedOver
            events.append(
                try EventCatalog.event(closed, stream: id, platform: platform, occurredAt: at))
        }
        var closed = Tracing_V1_PlatformClosed()
        closed.closedOn = date.description
        closed.handoverTo = handoverTo ?? ""
        events.append(
            try EventCatalog.event(closed, stream: "platform/\(platform)", platform: platform, occurredAt: at)
        )
        return events
    }
}
