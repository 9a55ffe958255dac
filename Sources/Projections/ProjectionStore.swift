import Foundation
import Ledger
import Tracing

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
    var ledgerIDPath: String { directory + "/ledger-id" }

    /// The stored state, or `nil` when there is none, it cannot be read, or it belongs to another ledger
    /// (the caller then rebuilds).
    ///
    /// - Throws: ``ProjectionStoreError/historyChanged(position:storedHash:logHash:logHead:)`` when the
    ///   state was built from this same ledger (same ledger id) and the log no longer holds what it saw:
    ///   the position it reached is gone, or the hash there differs. A log does not shrink or change,
    ///   so that is a cut or rewritten history, never something to rebuild over in silence.
    public func load(for log: EventLog) throws -> TracingProjection? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        guard let state = try? TracingProjection.decode(Array(data)) else { return nil }
        if state.checkpoint == 0 { return state }
        let event = try log.event(at: state.checkpoint)
        if let event, event.hash.hexString == state.checkpointHash { return state }
        guard let stored = FileManager.default.contents(atPath: ledgerIDPath),
            UUID(uuidString: String(decoding: stored, as: UTF8.self)) == (try log.ledgerID())
        else { return nil }
        throw ProjectionStoreError.historyChanged(
            position: state.checkpoint, storedHash: state.checkpointHash, logHash: event?.hash.hexString,
            logHead: try log.head().position)
    }

    /// Writes the state atomically (a temporary file renamed over the old one), with the id of the
    /// ledger it was built from when given.
    public func save(_ state: TracingProjection, ledgerID: UUID? = nil) throws {
        if access(directory, F_OK) == 0 && access(directory, W_OK | X_OK) != 0 {
            throw LedgerError.io(path: directory, reason: "is not writable for this user")
        }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let ledgerID {
            try Data(ledgerID.uuidString.utf8).write(
                to: URL(fileURLWithPath: ledgerIDPath), options: [.atomic])
        }
        try Data(try state.encoded()).write(to: URL(fileURLWithPath: statePath), options: [.atomic])
    }

    /// Loads the stored state (or starts empty), catches up with the log, and saves it when it moved.
    ///
    /// The stored state is a cache: when it cannot be written (a user with read access only, a full
    /// disk), the fold is still returned and `notSaved` is told why.
    public func current(
        for log: EventLog, fromScratch: Bool = false, save: Bool = true,
        progress: (UInt64) -> Void = { _ in },
        notSaved: (String) -> Void = { _ in }
    ) throws -> (projection: TracingProjection, applied: Int) {
        var projection = (fromScratch ? nil : try load(for: log)) ?? TracingProjection()
        let before = projection.checkpoint
        let applied = try projection.catchUp(from: log, progress: progress)
        if save && (projection.checkpoint != before || fromScratch) {
            do {
                try self.save(projection, ledgerID: try log.ledgerID())
            } catch {
                notSaved(
                    "the projection state was not saved (\(systemErrorText(error))); it was folded in memory "
                        + "for this command only")
            }
        }
        return (projection, applied)
    }
}

/// Why a stored projection state was not used.
public enum ProjectionStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The state was built from this ledger up to `position` with hash `storedHash`, and the log now
    /// has `logHash` there (`nil`: no event there any more; its head is `logHead`).
    case historyChanged(position: UInt64, storedHash: String, logHash: String?, logHead: UInt64)

    /// A sentence naming both sides.
    public var description: String {
        switch self {
        case .historyChanged(let position, let storedHash, let logHash, let logHead):
            let now =
                logHash.map { "the log now has hash \($0) there" }
                ?? "the log now ends at position \(logHead)"
            return "the stored projection state was built from this ledger up to position \(position) "
                + "(hash \(storedHash)), and \(now): the history was cut or rewritten. Check it with "
                + "'ledgerctl verify --checkpoints'; 'replay --from-scratch' rebuilds from the log as it is"
        }
    }
}

extension PlatformClosure {
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
}
