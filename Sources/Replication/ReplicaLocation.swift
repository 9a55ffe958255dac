import Foundation

/// Where a replica lives: a PostgreSQL server and database, from a URL of the form
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (libpq's form; `postgresql://` too). A
/// `host=/path` query parameter names a Unix socket directory instead of a TCP host.
///
/// The password, when the URL has none, is read from `PGPASSWORD`, so that it need not appear on a
/// command line (docs/operations.md). `sslmode` (libpq's names: `disable`, `prefer`, the default,
/// `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a CA file for the verifying modes) say
/// how TCP connections are encrypted; any other parameter is refused rather than ignored.
public struct ReplicaLocation: Sendable, Equatable, CustomStringConvertible {
    /// How a TCP connection is encrypted (libpq's `sslmode`).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Never.
        case disable
        /// When the server offers it, without checking its certificate.
        case prefer
        /// Always, without checking the server's certificate.
        case require
        /// Always, checking that a trusted CA signed the server's certificate.
        case verifyCA = "verify-ca"
        /// Always, checking the CA and that the certificate names the host.
        case verifyFull = "verify-full"
    }

    /// The server's host name or address (`nil` with a Unix socket).
    public var host: String?
    /// The TCP port.
    public var port: Int
    /// The directory of the server's Unix socket (`host=/path`), `nil` over TCP.
    public var socketDirectory: String?
    /// The role to log in as.
    public var user: String
    /// The password, if any.
    public var password: String?
    /// The database.
    public var database: String
    /// How TCP connections are encrypted.
    public var tls: TLSMode
    /// The CA certificates (PEM) that verify the server's certificate, for the verifying modes;
    /// `nil`: the system's.
    public var rootCertificates: String?

    /// Parses `url`.
    /// - Throws: ``ReplicationError/invalidLocation(_:reason:)`` naming the part that is wrong.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ReplicationError)
    {
        guard let components = URLComponents(string: url), components.host != nil || url.contains("host=")
        else {
            throw .invalidLocation(
                url,
                reason: "it is not a URL of the form postgres://USER@HOST:PORT/DATABASE (a password with "
                    + "'/', '#', '?' or '@' must be percent-encoded, or given in PGPASSWORD)")
        }
        guard components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw .invalidLocation(
                url,
                reason: "the scheme is '\(components.scheme ?? "")'; use postgres://USER@HOST:PORT/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .invalidLocation(url, reason: "it names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidLocation(url, reason: "it names no database (postgres://USER@HOST/DATABASE)")
        }
        let known = ["host", "sslmode", "sslrootcert"]
        if let unknown = components.queryItems?.first(where: { !known.contains($0.name) }) {
            throw .invalidLocation(
                url,
                reason:
                    "parameter '\(unknown.name)' is not one replicate knows (\(known.joined(separator: ", ")))"
            )
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard let tls = TLSMode(rawValue: mode) else {
            throw .invalidLocation(
                url,
                reason:
                    "sslmode=\(mode): give one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.tls = tls
        self.rootCertificates = components.queryItems?.first { $0.name == "sslrootcert" }?.value
        let socket = components.queryItems?.first { $0.name == "host" }?.value
        if let socket, !socket.hasPrefix("/") {
            throw .invalidLocation(url, reason: "host=\(socket): a socket directory is an absolute path")
        }
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || socket != nil else {
            throw .invalidLocation(url, reason: "it names no host (postgres://USER@HOST/DATABASE)")
        }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw .invalidLocation(url, reason: "port \(port) is not between 1 and 65535")
        }
        self.socketDirectory = socket
        self.user = user
        self.password = components.password ?? environment["PGPASSWORD"]
        self.database = database
    }

    /// The URL without its password.
    public var description: String {
        let place = socketDirectory.map { "?host=\($0)" } ?? ""
        return "postgres://\(user)@\(host ?? ""):\(port)/\(database)\(place)"
    }
}
