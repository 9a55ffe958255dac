import Foundation
import Ledger
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// A ledger's replica in PostgreSQL: the tables of docs/operations.md ("The replica's tables"),
/// reached through one connection of postgres-nio.
///
/// Every ledger shipped into the same database has its rows under its own ledger id, so one
/// PostgreSQL holds the replicas of several platforms (the national aggregate).
///
/// Every statement is bounded: one that gets no answer within the statement limit closes the
/// connection, which fails what is in flight on it, so that a server gone away without a word
/// (a machine lost, a network cut) is an error, never a wait without end.
public final class Replica: Sendable {
    /// Where the replica is.
    public let location: ReplicaLocation
    let connection: PostgresConnection
    /// How long one statement may take before the connection is closed.
    let statementLimit: Duration
    /// The client's own logs stay quiet: what goes wrong reaches the caller as an error.
    static let logger = Logger(label: "tracing-ledger.replica") { _ in SwiftLogNoOpLogHandler() }

    private init(_ location: ReplicaLocation, connection: PostgresConnection, statementLimit: Duration) {
        self.location = location
        self.connection = connection
        self.statementLimit = statementLimit
    }

    /// The session's settings: names and payloads are UTF-8 whatever the server's default encoding;
    /// and a session this side has given up on (a statement past its limit, a network cut) does not
    /// hold the ledger's lock for long on the server: it ends once idle in its transaction for twice
    /// the statement limit, or when the server's keepalives find no one (about 25 s). Its
    /// `application_name` is `tracing-ledger`, so that `pg_stat_activity` tells its sessions apart.
    static func startupParameters(statementLimit: Duration) -> [(String, String)] {
        let idle = max(1_000, statementLimit.components.seconds * 2_000)
        return [
            ("client_encoding", "UTF8"), ("application_name", "tracing-ledger"),
            ("idle_in_transaction_session_timeout", "\(idle)"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ]
    }

    /// Whether the connection is closed (by the server, or by a statement past its limit): the replica
    /// is then of no more use, and a new one must be made.
    public var isClosed: Bool { connection.isClosed }

    /// Asks the server for an answer (`SELECT 1`): a connection that died while idle is found out.
    public func ping() async throws {
        try await run { [connection] in _ = try await connection.query("SELECT 1", logger: Self.logger) }
    }

    /// The TLS configuration of `location`'s `sslmode`: the server's certificate checked against
    /// `sslrootcert` (or the system's CAs) for `verify-ca` and `verify-full`, the host name too for
    /// `verify-full`; not checked for `prefer` and `require` (libpq's meaning).
    static func tlsConfiguration(_ location: ReplicaLocation) throws(ReplicationError) -> TLSConfiguration? {
        guard location.socketDirectory == nil, location.tls != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.tls {
        case .disable, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let file = location.rootCertificates {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw .invalidLocation(
                    location.description, reason: "sslrootcert=\(file): no readable file there")
            }
            tls.trustRoots = .file(file)
        }
        return tls
    }

    /// The connection's configuration for `location`: its socket or host, its TLS mode.
    static func configuration(_ location: ReplicaLocation, statementLimit: Duration) throws(ReplicationError)
        -> PostgresConnection.Configuration
    {
        var configuration: PostgresConnection.Configuration
        if let socket = location.socketDirectory {
            configuration = .init(
                unixSocketPath: socket + "/.s.PGSQL.\(location.port)", username: location.user,
                password: location.password, database: location.database)
        } else {
            let tls = try tlsConfiguration(location)
            let mode: PostgresConnection.Configuration.TLS
            do {
                mode =
                    switch (location.tls, tls) {
                    case (.disable, _), (_, nil): .disable
                    case (.prefer, let tls?): .prefer(try NIOSSLContext(configuration: tls))
                    case (_, let tls?): .require(try NIOSSLContext(configuration: tls))
                    }
            } catch {
                throw .invalidLocation(location.description, reason: "cannot set up TLS: \(error)")
            }
            configuration = .init(
                host: location.host ?? "localhost", port: location.port, username: location.user,
                password: location.password, database: location.database, tls: mode)
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = Self.startupParameters(
            statementLimit: statementLimit)
        return configuration
    }

    /// Runs `body` with a replica at `location` whose tables exist (they are created when missing);
    /// the connection is closed when it ends.
    /// - Throws: ``ReplicationError/server(_:reason:)`` when the server cannot be reached or refuses
    ///   the login (within about 5 seconds), or a statement gets no answer within `statementLimit`;
    ///   whatever `body` throws.
    ///
    /// - Parameters:
    ///   - createTables: whether to create the tables when they are missing (a shipper does; a
    ///     restore, which may read a standby, only reads).
    ///   - statementLimit: how long one statement (a batch's INSERT, say) may take.
    public static func with<T: Sendable>(
        _ location: ReplicaLocation, createTables: Bool = true, statementLimit: Duration = .seconds(120),
        _ body: (Replica) async throws -> T
    ) async throws -> T {
        let configuration = try configuration(location, statementLimit: statementLimit)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration, id: 0, logger: Self.logger)
        } catch {
            throw ReplicationError.server(location.description, reason: Self.describe(error))
        }
        let replica = Replica(location, connection: connection, statementLimit: statementLimit)
        do {
            if createTables { try await replica.createTables() }
            let result = try await body(replica)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The statements that create the replica's tables and views; each can run again.
    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS ledger_replicas (
            ledger_id uuid PRIMARY KEY,
            format_version integer NOT NULL,
            created_at_ms bigint NOT NULL,
            first_shipped timestamptz NOT NULL DEFAULT now())
        """,
        """
        CREATE TABLE IF NOT EXISTS ledger_events (
            ledger_id uuid NOT NULL,
            position bigint NOT NULL,
            id uuid NOT NULL,
            stream text NOT NULL,
            stream_version bigint NOT NULL,
            type text NOT NULL,
            platform text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            schema_version integer NOT NULL,
            hash bytea NOT NULL,
            record bytea NOT NULL,
            payload jsonb,
            PRIMARY KEY (ledger_id, position))
        """,
        """
        CREATE OR REPLACE VIEW ledger_daily_events AS
            SELECT ledger_id, platform, (occurred_at AT TIME ZONE 'UTC')::date AS day, type,
                count(*) AS events
            FROM ledger_events GROUP BY ledger_id, platform, day, type
        """,
    ]

    /// Whether the replica's tables exist.
    func hasTables() async throws -> Bool {
        try await run { [connection] in
            let rows = try await connection.query(
                "SELECT to_regclass('ledger_events') IS NOT NULL AND to_regclass('ledger_replicas') IS NOT NULL",
                logger: Self.logger)
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
    }

    /// Creates the tables and the view when they are missing; when they exist nothing is run, so
    /// a role that may only insert into them ships too.
    private func createTables() async throws {
        if try await hasTables() { return }
        // Two shippers starting at once must not race on CREATE TABLE IF NOT EXISTS.
        try await run { [connection] in
            try await Self.transaction(on: connection) {
                try await connection.query("SELECT pg_advisory_xact_lock(7321004)", logger: Self.logger)
                for statement in Self.schema {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                }
            }
        }
    }

    /// Runs `body`, turning the client's errors into ``ReplicationError/server(_:reason:)``.
    /// Runs `body` (statements on the connection), turning the client's errors into
    /// ``ReplicationError/server(_:reason:)``.
    ///
    /// postgres-nio waits for ever on a statement written to a connection the server has just
    /// closed (stopped, restarted, killed): `body` runs in a task of its own, and when it has not
    /// ended within ``statementLimit`` it is abandoned, the connection closed, and the caller told.
    @discardableResult
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard !connection.isClosed else {
            throw ReplicationError.server(location.description, reason: "the server closed the connection")
        }
        try Task.checkCancellation()
        let outcome = Outcome<T>()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    outcome.start(
                        continuation, limit: statementLimit, connection: connection,
                        work: Task {
                            do {
                                outcome.finish(.success(try await body()))
                            } catch {
                                outcome.finish(.failure(error))
                            }
                        })
                }
            } onCancel: {
                outcome.finish(.failure(CancellationError()))
            }
        } catch let error as ReplicationError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch is StatementTimeout {
            throw ReplicationError.server(
                location.description, reason: "no answer within \(statementLimit): the connection was closed")
        } catch {
            throw ReplicationError.server(location.description, reason: Self.describe(error))
        }
    }

    private struct StatementTimeout: Error {}

    /// `BEGIN`, `body`, `COMMIT`; `ROLLBACK` when `body` fails, unless the server has closed the
    /// connection (the transaction is then over, and postgres-nio would wait for ever on it).
    static func transaction<T>(on connection: PostgresConnection, _ body: () async throws -> T)
        async throws -> T
    {
        try await connection.query("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body()
        } catch {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return value
    }

    /// The first of a statement's end, its time limit and its caller's cancellation: it resumes the
    /// caller once; a limit or a cancellation also cancels the statement's task and closes the
    /// connection (the statement may never end: its task is left behind).
    private final class Outcome<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var early: Result<T, any Error>?
            var done = false
            var tasks: [Task<Void, Never>] = []
        }
        private let state = Mutex(State())

        func start(
            _ continuation: CheckedContinuation<T, any Error>, limit: Duration,
            connection: PostgresConnection,
            work: Task<Void, Never>
        ) {
            let timer = Task {
                guard (try? await Task.sleep(for: limit)) != nil else { return }
                if self.finish(.failure(StatementTimeout())) { try? await connection.close() }
            }
            let early = state.withLock { state -> Result<T, any Error>? in
                state.tasks = [work, timer]
                if let early = state.early { return early }
                state.continuation = continuation
                return nil
            }
            if let early {
                continuation.resume(with: early)
                timer.cancel()
                if case .failure = early { work.cancel() }
            }
        }

        /// Resumes the caller with `result` unless it was resumed before; whether it was this call.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, tasks) = state.withLock {
                state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                guard !state.done else { return (nil, []) }
                state.done = true
                guard let continuation = state.continuation else {
                    state.early = result
                    return (nil, [])
                }
                state.continuation = nil
                return (continuation, state.tasks)
            }
            guard let continuation else { return false }
            continuation.resume(with: result)
            for task in tasks { task.cancel() }
            return true
        }
    }

    /// The server's message for a failed statement, or what kept the client from the server.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying { return "cannot connect: \(underlying)" }
            return "\(error.code)"
        }
        return String(describing: error)
    }

    // MARK: - What the replica holds

    /// The ledger the replica holds under `ledgerID`: its format version and creation time, or
    /// `nil` when it holds none.
    public func ledger(_ ledgerID: UUID) async throws -> (formatVersion: UInt32, createdAt: Timestamp)? {
        try await run { [connection] in
            let rows = try await connection.query(
                "SELECT format_version, created_at_ms FROM ledger_replicas WHERE ledger_id = \(ledgerID)",
                logger: Self.logger)
            for try await (version, created) in rows.decode((Int32, Int64).self) {
                return (UInt32(version), Timestamp(millisecondsSince1970: created))
            }
            return nil
        }
    }

    /// Records the ledger `ledgerID` in `ledger_replicas` (once).
    func register(_ ledgerID: UUID, formatVersion: UInt32, createdAt: Timestamp) async throws {
        try await run { [connection] in
            try await connection.query(
                """
                INSERT INTO ledger_replicas (ledger_id, format_version, created_at_ms)
                VALUES (\(ledgerID), \(Int32(formatVersion)), \(createdAt.millisecondsSince1970))
                ON CONFLICT (ledger_id) DO NOTHING
                """, logger: Self.logger)
        }
    }

    /// How many events of `ledgerID` the replica holds, and its greatest position (0 when none).
    public func extent(of ledgerID: UUID) async throws -> (events: UInt64, last: UInt64) {
        try await run { [connection] in
            let rows = try await connection.query(
                "SELECT count(*), COALESCE(max(position), 0) FROM ledger_events WHERE ledger_id = \(ledgerID)",
                logger: Self.logger)
            for try await (count, last) in rows.decode((Int64, Int64).self) {
                return (UInt64(count), UInt64(last))
            }
            return (0, 0)
        }
    }

    /// The hash of `ledgerID`'s event at `position`, or `nil` when the replica does not hold it.
    public func hash(of ledgerID: UUID, at position: UInt64) async throws -> [UInt8]? {
        try await run { [connection] in
            let rows = try await connection.query(
                "SELECT hash FROM ledger_events WHERE ledger_id = \(ledgerID) AND position = \(Int64(position))",
                logger: Self.logger)
            for try await hash in rows.decode(ByteBuffer.self) { return Array(hash.readableBytesView) }
            return nil
        }
    }

    /// One row of `ledger_events`, as a restore reads it.
    struct Row: Sendable {
        var position: UInt64
        var stream: String
        var type: String
        var platform: String
        var record: ByteBuffer
    }

    /// `ledgerID`'s rows at positions `range`, in position order.
    func rows(of ledgerID: UUID, in range: ClosedRange<UInt64>) async throws -> [Row] {
        try await run { [connection] in
            let rows = try await connection.query(
                """
                SELECT position, stream, type, platform, record FROM ledger_events
                WHERE ledger_id = \(ledgerID) AND position BETWEEN \(Int64(range.lowerBound))
                    AND \(Int64(range.upperBound))
                ORDER BY position
                """, logger: Self.logger)
            var out = [Row]()
            out.reserveCapacity(range.count)
            for try await (position, stream, type, platform, record) in rows.decode(
                (Int64, String, String, String, ByteBuffer).self)
            {
                out.append(
                    Row(
                        position: UInt64(position), stream: stream, type: type, platform: platform,
                        record: record))
            }
            return out
        }
    }

    // MARK: - Shipping

    /// Writes the rows of `batch`, all or none.
    ///
    /// First as one `INSERT` straight into `ledger_events` (the usual case: shipping what follows
    /// the replica's last position; one statement, one commit). When a row is already at one of the
    /// positions, the primary key refuses that `INSERT` and nothing of it stays; the rows are then
    /// loaded into a temporary table under the per-ledger lock, compared with those already at the
    /// same positions (same hash: skipped; another hash:
    /// ``ReplicationError/divergence(position:replica:ledger:)`` and nothing is written), and the new
    /// ones inserted. Returns how many were new.
    ///
    /// Each statement binds the batch's columns as arrays (`unnest`), never `COPY`: postgres-nio
    /// 1.33.2 stops the process (a `preconditionFailure`) when a connection closes in the middle of
    /// a `COPY`, which a server stopped under load, or this side's own statement limit, can do.
    /// - Parameter overlapping: whether rows are expected at these positions (a repair of a replica
    ///   with a gap): the checked path is then taken at once.
    func insert(_ batch: ShipBatch, of ledgerID: UUID, overlapping: Bool = false) async throws -> UInt64 {
        let inserted =
            overlapping
            ? false
            : try await run { [connection] in
                do {
                    try await connection.query(
                        Self.insertion(batch, into: "ledger_events"), logger: Self.logger)
                    return true
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                    return false  // unique_violation: some of the rows are there
                }
            }
        if inserted { return UInt64(batch.count) }
        return try await run { [connection] in
            try await Self.transaction(on: connection) {
                // One shipper at a time per ledger on this path: two followers of the same ledger
                // wait in turn.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext(\(ledgerID.uuidString.lowercased())))",
                    logger: Self.logger)
                try await connection.query(
                    """
                    CREATE TEMPORARY TABLE IF NOT EXISTS ledger_staging
                        (LIKE ledger_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
                    """, logger: Self.logger)
                try await connection.query(
                    Self.insertion(batch, into: "ledger_staging"), logger: Self.logger)
                let inserted = try await connection.query(
                    """
                    WITH added AS (
                        INSERT INTO ledger_events SELECT * FROM ledger_staging
                        ON CONFLICT (ledger_id, position) DO NOTHING RETURNING 1)
                    SELECT count(*) FROM added
                    """, logger: Self.logger)
                var count: Int64 = 0
                for try await n in inserted.decode(Int64.self) { count = n }
                // Compared after the insert, in a statement of its own (a snapshot taken now): a row
                // another shipper committed meanwhile, which the insert skipped, is compared too.
                let differing = try await connection.query(
                    """
                    SELECT s.position, e.hash, s.hash FROM ledger_staging s
                    JOIN ledger_events e ON e.ledger_id = s.ledger_id AND e.position = s.position
                    WHERE e.hash <> s.hash ORDER BY s.position LIMIT 1
                    """, logger: Self.logger)
                for try await (position, replica, ledger) in differing.decode(
                    (Int64, ByteBuffer, ByteBuffer).self)
                {
                    throw ReplicationError.divergence(
                        position: UInt64(position), replica: replica.readableBytesView.hexString,
                        ledger: ledger.readableBytesView.hexString)
                }
                return UInt64(count)
            }
        }
    }

    /// The statement that inserts `batch` into `table` (`ledger_events` or the staging table, which
    /// has its columns): one array parameter per column, times as milliseconds since 1970 turned
    /// into `timestamptz` exactly, an empty payload text as NULL.
    static func insertion(_ batch: ShipBatch, into table: String) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(table) (ledger_id, position, id, stream, stream_version, type, platform,
                    occurred_at, recorded_at, schema_version, hash, record, payload)
                SELECT $1, position, id, stream, stream_version, type, platform,
                    'epoch'::timestamptz + (occurred_ms / 1000) * interval '1 second'
                        + (occurred_ms % 1000) * interval '1 millisecond',
                    'epoch'::timestamptz + (recorded_ms / 1000) * interval '1 second'
                        + (recorded_ms % 1000) * interval '1 millisecond',
                    schema_version, hash, record, NULLIF(payload, '')::jsonb
                FROM (SELECT unnest($2::bigint[]) AS position, unnest($3::uuid[]) AS id,
                    unnest($4::text[]) AS stream, unnest($5::bigint[]) AS stream_version,
                    unnest($6::text[]) AS type, unnest($7::text[]) AS platform,
                    unnest($8::bigint[]) AS occurred_ms, unnest($9::bigint[]) AS recorded_ms,
                    unnest($10::integer[]) AS schema_version, unnest($11::bytea[]) AS hash,
                    unnest($12::bytea[]) AS record, unnest($13::text[]) AS payload) AS batch
                """, binds: batch.bindings)
    }
}
