import ArgumentParser
import Credentials
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Ledger
import Logging
import Metrics
import NIOSSL
import Prometheus
import Replication
import ServiceLifecycle

/// `ledgerd`: the ledger as a network service for tracing platforms (docs/service.md).
@main
struct Ledgerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerd",
        abstract:
            "Serve a tracing ledger over HTTP: append, read, follow, statistics, reports (docs/service.md).",
        discussion: """
            The API is under /v1 (docs/openapi.yaml, also served at /openapi.yaml); /livez, /readyz and /metrics \
            are for operators. Errors are application/problem+json (RFC 9457).

            ledgerd serves HTTPS and asks each client for a certificate issued by the CA of \
            --credentials DIR ('ledgerctl credentials init'): the certificate names the principal and its \
            role (docs/security.md). --insecure-loopback serves plain HTTP on a loopback address instead, \
            every caller with every permission: for development only.

            Exit codes:
              0   stopped by SIGTERM or SIGINT, after the requests in flight
              64  usage error (bad arguments; --insecure-loopback on an address that is not loopback)
              74  the ledger, the credentials or the address cannot be opened
            """)

    @Option(help: "The ledger directory (default: $LEDGER, else ./tracing.ledger); created when missing.")
    var ledger: String?
    @Option(help: "The address to listen on (with --insecure-loopback, a loopback address).")
    var host = "127.0.0.1"
    @Option(
        help:
            "The credentials directory (ca.pem, server.pem, server.key, deny.txt) of 'ledgerctl credentials init'."
    )
    var credentials: String?
    @Flag(
        help: "Serve plain HTTP on a loopback address, every caller with every permission (development only)."
    )
    var insecureLoopback = false
    @Option(help: "The port (0: any free port, written to --port-file).") var port = 8080
    @Option(help: "Write the port listened on to this file once the server accepts connections.")
    var portFile: String?
    @Option(help: "The largest body of POST /v1/events, in bytes (413 beyond).") var maxBodyBytes = 16 << 20
    @Option(help: "Events per page when the request does not say.") var pageSize = 100
    @Option(help: "The largest page a request may ask for.") var maxPageSize = 1_000
    @Option(help: "Events a subscriber's buffer holds.") var subscriberBuffer = 1_000
    @Option(help: "Seconds a client may take to accept one buffer before it is closed as too slow.")
    var slowSubscriberSeconds = 10.0
    @Option(help: "Seconds a subscriber's client may accept nothing before its connection is closed.")
    var stalledSubscriberSeconds = 60.0
    @Option(help: "Seconds between heartbeats on an idle subscription.") var heartbeatSeconds = 15.0
    @Option(help: "Seconds a connection may send nothing while a request is being read, or between requests.")
    var idleTimeoutSeconds = 30
    @Option(help: "trace, debug, info, notice, warning, error or critical") var logLevel = "info"
    @Option(
        help:
            "Ship every committed event to this replica in PostgreSQL (postgres://USER@HOST:PORT/DB; docs/operations.md)."
    )
    var replicateTo: String?
    @Option(help: "With --replicate-to: seconds between two looks for new events.") var replicationInterval =
        0.2
    @Option(
        help:
            "With --replicate-to: 'async' acknowledges appends after the LMDB commit; 'sync' only once the replica holds them (503 while it cannot be reached)."
    )
    var replicationMode: ReplicationMode = .async
    @Option(help: "With --replication-mode sync: seconds an append waits for the replica before a 503.")
    var replicationTimeout = 5.0

    enum ReplicationMode: String, ExpressibleByArgument, CaseIterable {
        case async, sync
    }

    func validate() throws {
        if insecureLoopback {
            guard credentials == nil else {
                throw ValidationError(
                    "give --credentials (TLS) or --insecure-loopback (plain HTTP), not both")
            }
            guard Self.isLoopback(host) else {
                throw ValidationError(
                    "--host: '\(host)' is not a loopback address; --insecure-loopback serves plain HTTP on "
                        + "loopback only (give --credentials to serve TLS on other addresses)")
            }
        } else if credentials == nil {
            throw ValidationError(
                "ledgerd serves TLS with client certificates: give --credentials DIR (made by 'ledgerctl "
                    + "credentials init'), or --insecure-loopback for plain HTTP on loopback during development"
            )
        }
        guard (0...65_535).contains(port) else {
            throw ValidationError("--port: \(port) is not a port number")
        }
        guard maxBodyBytes >= 1_024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        guard pageSize >= 1, maxPageSize >= pageSize else {
            throw ValidationError("--page-size must be at least 1 and at most --max-page-size")
        }
        guard subscriberBuffer >= 1 else { throw ValidationError("--subscriber-buffer must be at least 1") }
        guard slowSubscriberSeconds > 0, heartbeatSeconds > 0,
            stalledSubscriberSeconds > slowSubscriberSeconds
        else {
            throw ValidationError(
                "--slow-subscriber-seconds and --heartbeat-seconds must be positive, and --stalled-subscriber-seconds "
                    + "more than --slow-subscriber-seconds")
        }
        guard idleTimeoutSeconds >= 1 else {
            throw ValidationError("--idle-timeout-seconds must be at least 1")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)'")
        }
        if let replicateTo {
            do {
                _ = try ReplicaLocation(url: replicateTo)
            } catch {
                throw ValidationError("--replicate-to: \(error)")
            }
        }
        guard replicationInterval > 0, replicationInterval <= 3600 else {
            throw ValidationError("--replication-interval \(replicationInterval): give seconds, more than 0")
        }
        guard replicationTimeout > 0, replicationTimeout <= 3600 else {
            throw ValidationError("--replication-timeout \(replicationTimeout): give seconds, more than 0")
        }
        if replicationMode == .sync, replicateTo == nil {
            throw ValidationError(
                "--replication-mode sync needs --replicate-to (the replica appends wait for)")
        }
    }

    /// `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8 written as four numbers.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                && Int(part).map { $0 <= 255 } == true
        }
    }

    var settings: LedgerService.Settings {
        var settings = LedgerService.Settings()
        settings.maxBodyBytes = maxBodyBytes
        settings.defaultPageSize = pageSize
        settings.maxPageSize = maxPageSize
        settings.subscriberBuffer = subscriberBuffer
        settings.slowSubscriberTimeout = .milliseconds(Int64(slowSubscriberSeconds * 1_000))
        settings.stalledSubscriberTimeout = .milliseconds(Int64(stalledSubscriberSeconds * 1_000))
        settings.heartbeat = .milliseconds(Int64(heartbeatSeconds * 1_000))
        return settings
    }

    func run() async throws {
        var logger = Logger(label: "ledgerd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let path = ledger ?? ProcessInfo.processInfo.environment["LEDGER"] ?? "tracing.ledger"
        let metrics = ServiceMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let service: LedgerService
        let replica = try replicateTo.map { try ReplicaLocation(url: $0) }
        let replication = replica.map { _ in
            ReplicationStatus(
                synchronous: replicationMode == .sync,
                timeout: .milliseconds(Int64(replicationTimeout * 1_000)))
        }
        do {
            service = try LedgerService(
                path: path, settings: settings, metrics: metrics, logger: logger, replication: replication)
        } catch {
            FileHandle.standardError.write(Data("ledgerd: error: \(path): \(systemErrorText(error))\n".utf8))
            throw ExitCode(74)
        }
        let portFile = self.portFile
        let serverLogger = logger
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [InputClosedObserver(), PeerIdentity()],
                idleTimeout: .seconds(Int64(idleTimeoutSeconds))))
        let server: HTTPServerBuilder
        var denyList: DenyListWatcher?
        if let credentials {
            do {
                let tls = try Self.tlsConfiguration(credentials)
                server = try .tls(http1, tlsConfiguration: tls)
                denyList = try DenyListWatcher(
                    path: credentials + "/" + CertificateAuthority.File.denyList, logger: logger)
            } catch {
                FileHandle.standardError.write(
                    Data("ledgerd: error: --credentials \(credentials): \(error)\n".utf8))
                throw ExitCode(74)
            }
        } else {
            server = http1
            logger.warning(
                "--insecure-loopback: plain HTTP, every caller with every permission (development only)")
        }
        let app = Application(
            responder: HeadAsGet(
                inner: Routes.router(service, denyList: denyList, audit: AccessLog(ledger: path))
                    .buildResponder()),
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "ledgerd"),
            services: [BackgroundWork(service: service)]
                + (replica.flatMap { location in
                    replication.map {
                        [
                            ReplicationWork(
                                log: service.log, location: location,
                                interval: .milliseconds(Int64(replicationInterval * 1_000)), status: $0,
                                logger: logger)
                        ]
                    }
                } ?? []),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                serverLogger.info(
                    "listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                if let portFile {
                    try? "\(bound)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
                }
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            FileHandle.standardError.write(Data("ledgerd: error: \(systemErrorText(error))\n".utf8))
            throw ExitCode(74)
        }
    }
}

extension Ledgerd {
    /// TLS 1.2 or 1.3 with the server's certificate of `directory`; a client certificate, when one is
    /// presented, must verify against the CA (a request without one is answered 401).
    static func tlsConfiguration(_ directory: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(
            directory + "/" + CertificateAuthority.File.serverCertificate)
        let key = try NIOSSLPrivateKey(
            file: directory + "/" + CertificateAuthority.File.serverKey, format: .pem)
        let ca = try NIOSSLCertificate.fromPEMFile(directory + "/" + CertificateAuthority.File.caCertificate)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.trustRoots = .certificates(ca)
        tls.certificateVerification = .optionalVerification
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}

/// The service's background work as a ServiceLifecycle service: it follows the head and keeps the
/// stored read model caught up until a graceful shutdown.
struct BackgroundWork: Service {
    let service: LedgerService

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await service.watch()
        }
    }
}
