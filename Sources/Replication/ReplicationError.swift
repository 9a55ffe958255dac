import Foundation
import Ledger

/// What can go wrong between a ledger and its replica in PostgreSQL.
public enum ReplicationError: Error, Sendable, CustomStringConvertible {
    /// The replica's URL cannot be used.
    case invalidLocation(String, reason: String)
    /// The server cannot be reached, refused the login, or failed a statement.
    case server(String, reason: String)
    /// The replica holds, at `position`, an event whose hash is not the ledger's: the two histories
    /// differ. Nothing is overwritten.
    case divergence(position: UInt64, replica: String, ledger: String)
    /// The replica holds events beyond the ledger's head: the ledger is older than its replica (a
    /// restore from an old backup?).
    case replicaAhead(replica: UInt64, ledger: UInt64)
    /// The replica does not hold this ledger, or holds it with a gap.
    case incomplete(String)
    /// The ledger failed.
    case ledger(LedgerError)

    /// What went wrong, for a person: the position, the hashes, the server.
    public var description: String {
        switch self {
        case .invalidLocation(let url, let reason):
            return "the replica URL '\(Self.withoutPassword(url))' cannot be used: \(reason)"
        case .server(let location, let reason):
            return "PostgreSQL at \(location): \(reason)"
        case .divergence(let position, let replica, let ledger):
            return
                "the replica's event at position \(position) has hash \(replica), the ledger's \(ledger): "
                + "the histories differ; nothing was overwritten"
        case .replicaAhead(let replica, let ledger):
            return
                "the replica holds \(replica) events, the ledger only \(ledger): the ledger is older than "
                + "its replica (restore it from the replica: docs/operations.md)"
        case .incomplete(let reason):
            return reason
        case .ledger(let error):
            return error.description
        }
    }

    /// `url` without what could be a password: everything between `://` and the last `@` but the
    /// user's name before a `:` (the URL may not parse: a password with a `/` breaks it).
    static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", options: .backwards),
            scheme.upperBound <= at.lowerBound
        else { return url }
        let credentials = url[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at.lowerBound...])
    }
}
