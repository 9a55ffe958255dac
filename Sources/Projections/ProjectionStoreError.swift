import ContactTracing
import Foundation
import Ledger

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
        closing platform: String, on date: CivilDate, handoverTo: String?, projection: some ProjectionQueries
    ) throws -> [NewEvent] {
        let open = try projection.reportCases(platform: platform).filter { $0.status != .closed }
        return try events(closing: platform, on: date, handoverTo: handoverTo, openCases: open.map(\.id))
    }
}
