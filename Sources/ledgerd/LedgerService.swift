import ContactTracing
import Foundation
import Ledger
import Logging
import NIOPosix
import Projections
import Synchronization

/// What `ledgerd` does, without HTTP: append batches, read pages of the log and of a stream, answer
/// case, statistics and report queries from the read model. The routes (``Routes``) only translate.
///
/// LMDB calls block, so every one runs on NIO's thread pool, never on the tasks that serve
/// connections.
final class LedgerService: Sendable {
    /// The settings of the service (from the command line).
    struct Settings: Sendable {
        var maxBodyBytes = 16 << 20
        var defaultPageSize = 100
        var maxPageSize = 1_000
        /// Records a filtered page reads at most before it answers (with fewer events and a `next`).
        var maxScannedPerPage = 100_000
        /// Events a subscriber's buffer holds: one page read from the log and written to the client.
        var subscriberBuffer = 1_000
        /// A subscriber whose client takes longer than this to accept one buffer is closed.
        var slowSubscriberTimeout: Duration = .seconds(10)
        /// A subscriber whose client accepts nothing for this long has its connection closed.
        var stalledSubscriberTimeout: Duration = .seconds(60)
        var heartbeat: Duration = .seconds(15)
        /// How often the head is read, for appends made by other processes.
        var headPollInterval: Duration = .milliseconds(200)
        /// How often the stored read model is caught up while appends go on.
        var readModelInterval: Duration = .seconds(1)
        /// Queries are refused (503) while the stored read model lags the head by more than this.
        var maxQueryLag = ReadModel.defaultChunkSize
    }

    let log: EventLog
    let model: ReadModel
    let settings: Settings
    let heads: HeadSignal
    let metrics: ServiceMetrics
    let logger: Logger
    /// `stats?asOf=` builds a temporary read model: one at a time.
    let pastQueries = Gate()
    /// Catch-ups of the stored read model: one at a time.
    let catchUps = Gate()
    /// The JSON form of recent events, shared by pages and subscribers.
    let encoded = EncodedEvents()
    /// The ledger's privacy vault (pseudonym secret and key store), opened at the first consultation.
    let vault: VaultHolder
    /// The replica in PostgreSQL (`--replicate-to`): in synchronous mode, appends wait for it.
    let replication: ReplicationStatus?

    init(
        path: String, settings: Settings, metrics: ServiceMetrics, logger: Logger,
        replication: ReplicationStatus? = nil
    ) throws {
        self.replication = replication
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        vault = VaultHolder(ledger: path)
        log = try EventLog(path: path)
        model = try ReadModel(ledger: path)
        heads = HeadSignal(position: try log.head().position)
    }

    /// Runs blocking ledger work on the thread pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    // MARK: - Appends

    /// The outcome of one appended batch.
    struct AppendReply: Sendable {
        var events: [NewEvent]
        var results: [AppendResult]
        var head: UInt64

        var json: JSONText {
            .object([
                ("head", JSONText(head)), ("appended", JSONText(results.filter { !$0.wasDuplicate }.count)),
                ("duplicates", JSONText(results.filter(\.wasDuplicate).count)),
                (
                    "events",
                    .array(
                        zip(events, results).enumerated().map { index, pair in
                            .object([
                                ("index", JSONText(index)),
                                ("id", .string(pair.0.id.uuidString.lowercased())),
                                ("stream", .string(LedgerFormat.normalize(pair.0.stream))),
                                ("position", JSONText(pair.1.position)),
                                ("streamVersion", JSONText(pair.1.streamVersion)),
                                ("status", .string(pair.1.wasDuplicate ? "duplicate" : "appended")),
                            ])
                        })
                ),
            ])
        }
    }

    /// Checks and appends a batch, all or nothing: the reply once every event is durable (and, with
    /// synchronous replication, once the replica holds it).
    func append(body: [UInt8], contentType: String?, caller: Caller = .developer(address: "in process"))
        async throws(Problem) -> AppendReply
    {
        let form = try BatchBody.form(contentType: contentType, body: body)
        let events: [NewEvent]
        switch BatchBody.events(body, form: form) {
        case .success(let parsed): events = parsed
        case .failure(let problem):
            metrics.refused(problem.name)
            throw problem
        }
        do {
            try await authorize(events, by: caller)
            try replication?.admit()
        } catch {
            metrics.refused(error.name)
            throw error
        }
        let started = ContinuousClock.now
        let results: [AppendResult]
        do {
            results = try await log.append(events)
        } catch {
            var initial: UInt64?
            if case .wrongExpectedVersion(let stream, _, _) = error {
                initial = try? await blocking { [log] in try log.streamVersion(stream) }
            }
            let problem = Problem.from(error, batch: events, initial: initial)
            metrics.refused(problem.name)
            throw problem
        }
        let head = results.map(\.position).max() ?? 0
        metrics.appended(
            events: results.filter { !$0.wasDuplicate }.count,
            duplicates: results.filter(\.wasDuplicate).count,
            duration: ContinuousClock.now - started)
        if let replication, replication.synchronous {
            do {
                try await replication.confirm(through: head)
            } catch {
                metrics.refused(error.name)
                throw error
            }
        }
        // Subscribers are woken once the batch is acknowledged (with synchronous replication, once
        // the replica holds it).
        await heads.advance(to: head)
        return AppendReply(events: events, results: results, head: max(head, await heads.position))
    }

    // MARK: - What a principal may touch (docs/security.md)

    /// Refuses a batch that is not the caller's to write: a platform writes events of its own
    /// platform, to its own streams (`platform/ID`, `ID/...`) and to the cases handed over to it; an
    /// administrator writes the events that open, set, hand over and close platforms.
    func authorize(_ events: [NewEvent], by caller: Caller) async throws(Problem) {
        try Access.require(caller, [.platform, .administrator], to: "append events")
        guard case .principal(let principal, _) = caller else { return }
        func refuse(_ index: Int, _ field: String, _ detail: String) -> Problem {
            .forbidden(
                "event \(index): field '\(field)': \(detail); nothing was written",
                extensions: [("index", .int(Int64(index))), ("field", .string(field))])
        }
        switch principal.role {
        case .administrator:
            for (index, event) in events.enumerated() where !Access.administrativeTypes.contains(event.type) {
                throw refuse(
                    index, "type",
                    "an administrator appends only \(Access.administrativeTypes.sorted().joined(separator: ", ")); "
                        + "'\(event.type)' is a platform's to append")
            }
        case .platform:
            var owned = [String: Bool]()
            for (index, event) in events.enumerated() {
                let platform = LedgerFormat.normalize(event.platform)
                guard platform == principal.name else {
                    throw refuse(
                        index, "platform",
                        "'\(platform)' is not \(principal.name), the platform of this certificate")
                }
                guard !Access.serviceTypes.contains(event.type) else {
                    throw refuse(
                        index, "type",
                        "'\(event.type)' is appended by the service itself when an identity is consulted "
                            + "(POST /v1/cases/{case}/identity)")
                }
                guard !Access.platformLifeTypes.contains(event.type) else {
                    throw refuse(
                        index, "type",
                        "'\(event.type)' opens, changes, hands over or closes a platform: an administrator's to append"
                    )
                }
                let stream = LedgerFormat.normalize(event.stream)
                if owned[stream] == nil { owned[stream] = try await owns(stream, platform: principal.name) }
                guard owned[stream] == true else {
                    throw refuse(
                        index, "stream",
                        "'\(stream)' is neither a stream of \(principal.name) nor a case handed over to it")
                }
            }
        case .statistician:
            throw Problem.forbidden("a statistician may not append events")
        }
    }

    /// Refuses a platform's read of a stream or case that is not its own (nor handed over to it).
    func requireOwnership(of stream: String, by caller: Caller, what: String) async throws(Problem) {
        try Access.require(caller, [.platform, .administrator], to: "read a \(what)")
        guard let own = Access.ownPlatform(caller) else { return }
        guard try await owns(LedgerFormat.normalize(stream), platform: own) else {
            throw Problem.forbidden("\(what) '\(stream)' is not one of platform \(own)'s")
        }
    }

    /// Whether `stream` is `platform`'s: a case whose platform it is (or, once handed over, the
    /// platform it was handed over to), or a stream named under it that opens no case.
    func owns(_ stream: String, platform: String) async throws(Problem) -> Bool {
        let named = stream == StreamName.platform(platform) || stream.hasPrefix(platform + "/")
        do {
            return try await blocking { [log] in
                guard let state = try TracingProjection.caseState(stream, in: log), !state.platform.isEmpty
                else {
                    return named
                }
                return (state.handedOverTo ?? state.platform) == platform
            }
        } catch {
            throw Problem.describing(error)
        }
    }

    // MARK: - Consultation of an identity

    /// Reveals the identity of case `id`'s person to the caller, after appending the
    /// `IdentityConsulted` event that names the principal, the agent and the reason (durable before
    /// anything is revealed).
    func revealIdentity(ofCase id: String, reason: String, agent: String, caller: Caller)
        async throws(Problem)
        -> JSONText
    {
        let id = LedgerFormat.normalize(id)
        func missing(_ field: String, _ detail: String) -> Problem {
            Problem.invalidField(
                "invalid-consultation", title: "The consultation cannot be recorded", field: field,
                detail: "\(detail); nothing was revealed")
        }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        let agent = agent.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw missing("reason", "why the identity is consulted must be given") }
        guard !agent.isEmpty else { throw missing("agent", "the agent who consults must be given") }
        let actor: String
        switch caller {
        case .principal(let principal, _):
            actor = "\(agent) (\(principal.role.rawValue) \(principal.name), certificate \(principal.serial))"
        case .developer:
            actor = "\(agent) (developer, --insecure-loopback)"
        case .unauthenticated(let why, _):
            throw Problem.unauthenticated(why)
        }
        try Access.require(caller, [.platform], to: "consult an identity")
        try await requireOwnership(of: id, by: caller, what: "case")
        let document: JSONText?
        do {
            document = try await blocking { [log, vault] in
                guard let person = try log.person(ofCase: id) else { return nil }
                guard person.sealed != nil else {
                    throw Problem.notFound(
                        "identity", "case '\(id)' holds no sealed identity; nothing was consulted")
                }
                let revealed = try log.revealIdentity(
                    ofCase: id, vault: try vault.open(), actor: actor, reason: reason)
                let identity: JSONText
                switch revealed {
                case .erased: identity = .string("erased")
                case .identity(let found):
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    identity = .raw(String(decoding: try encoder.encode(found), as: UTF8.self))
                }
                return .object([
                    ("case", .string(id)), ("person", .string(person.person)),
                    ("platform", .string(person.platform)),
                    ("consultedBy", .string(actor)), ("identity", identity),
                ])
            }
        } catch let error as VaultHolder.Missing {
            throw Problem.notFound("key store", error.description)
        } catch {
            throw Problem.describing(error)
        }
        guard let document else {
            throw Problem.notFound("case", "no case '\(id)' naming a person in this ledger")
        }
        return document
    }

    // MARK: - Retention

    /// What applying the retention periods did.
    struct RetentionOutcome: Sendable {
        /// Persons whose key was destroyed.
        var erased: Int
        /// Keys kept.
        var kept: Int
    }

    /// Destroys the key of every person whose retention period has ended by `date` (an
    /// administrator's act, as `ledgerctl retention apply`).
    func applyRetention(asOf date: CivilDate, policy: RetentionPolicy) async throws -> RetentionOutcome {
        do {
            return try await blocking { [vault] in
                let keys = try vault.open().keys
                let erased = try keys.applyRetention(asOf: date, policy: policy)
                return RetentionOutcome(erased: erased.count, kept: try keys.count())
            }
        } catch let error as VaultHolder.Missing {
            throw Problem.notFound("key store", error.description)
        } catch {
            // The key store commits, then flushes: a failure may come after the keys are gone from
            // its pages, so the answer must not say that nothing was destroyed.
            let problem = Problem.describing(error)
            guard problem.status.code == 507 || problem.status.code == 500 else { throw problem }
            throw Problem(
                status: problem.status, name: problem.name, title: problem.title,
                detail:
                    "the key store failed while applying the retention periods (\(error)); some keys may "
                    + "already be destroyed without being durable: apply the same request again once the "
                    + "store is healthy (it erases nothing twice)")
        }
    }

    // MARK: - Reads

    /// A page of events in the JSON form, with where the next page starts.
    struct Page: Sendable {
        /// Events as JSON text (docs/events.md, with `position`, `streamVersion` and `hash`-free).
        var events: [String]
        /// The position (or stream version) the next page starts at.
        var next: UInt64
        var head: UInt64
    }

    /// Events from `position` on that match `filter`, at most `limit`, reading at most
    /// ``Settings/maxScannedPerPage`` records.
    func page(from position: UInt64, limit: Int, filter: EventFilter?) async throws -> Page {
        let scanLimit = settings.maxScannedPerPage
        return try await blocking { [log, encoded] in
            var events = [String]()
            var next = max(position, 1)
            var scanned = 0
            let head = try log.head().position
            try log.forEach(from: next) { view in
                guard view.position <= head else { return false }
                scanned += 1
                next = view.position + 1
                if filter?.matches(view) ?? true { events.append(try encoded.json(view)) }
                return events.count < limit && scanned < scanLimit
            }
            return Page(events: events, next: next, head: head)
        }
    }

    /// Events of one stream from `version` on, at most `limit`; `nil` when the stream does not exist.
    func streamPage(_ stream: String, fromVersion version: UInt64, limit: Int) async throws -> (Page, UInt64)?
    {
        try await blocking { [log, encoded] in
            // The events first, then the stream's version and the head: the log only grows, so the
            // version given is never below the events listed (appends may run meanwhile).
            var events = [String]()
            var next = version
            try log.forEachInStream(stream, fromVersion: version) { view in
                events.append(try encoded.json(view))
                next = view.streamVersion + 1
                return events.count < limit
            }
            guard let last = try log.streamVersion(stream) else { return nil }
            return (Page(events: events, next: next, head: try log.head().position), last)
        }
    }

    // MARK: - Queries

    /// One case: its person's pseudonym, its state folded from its own stream, and its timeline.
    func caseDocument(_ id: String) async throws -> JSONText? {
        try await blocking { [log] in
            guard try log.streamVersion(id) != nil else { return nil }
            let person = try log.person(ofCase: id)
            let events = try log.stream(id)
            // A stream that opens no case (a platform's stream, say) is not a case.
            guard let state = try TracingProjection.caseState(id, in: log) else { return nil }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let stateJSON = JSONText.raw(String(decoding: try encoder.encode(state), as: UTF8.self))
            return .object([
                ("case", .string(id)), ("platform", JSONText(person?.platform ?? events.first?.platform)),
                ("person", JSONText(person?.person)), ("events", JSONText(events.count)),
                ("state", stateJSON),
                (
                    "timeline",
                    .array(
                        events.map {
                            .object([
                                ("position", JSONText($0.position)),
                                ("streamVersion", JSONText($0.streamVersion)),
                                ("type", .string($0.type)),
                                ("occurredAt", .string($0.occurredAt.description)),
                                ("recordedAt", .string($0.recordedAt.description)),
                            ])
                        })
                ),
            ])
        }
    }

    /// Runs a query on the read model as of the log's head: the stored rows, with the events the
    /// background catch-up has not stored yet folded in memory for this query.
    ///
    /// While the stored read model lags the head by more than one catch-up chunk (right after the
    /// service starts on a large ledger, say), queries are refused with 503 and a `Retry-After`:
    /// folding such a tail in memory for each query would cost time and memory in proportion to it.
    func query<T: Sendable>(_ body: @escaping @Sendable (any ProjectionQueries) throws -> T) async throws -> T
    {
        try await blocking { [self] in
            let (stored, head, caughtUp) = try readModelPosition()
            guard caughtUp else { throw Problem.catchingUp(stored: stored, head: head) }
            return try model.read(catchingUpWith: log) { view in try body(view) }
        }
    }

    /// Where the stored read model is, where the head is, and whether the first is close enough to
    /// the second for queries (within ``Settings/maxQueryLag``). Blocking.
    private func readModelPosition() throws -> (stored: UInt64, head: UInt64, caughtUp: Bool) {
        let stored = try model.read { $0.checkpoint }
        let head = try log.head().position
        return (stored, head, head <= stored + UInt64(settings.maxQueryLag))
    }

    /// Whether the service can answer queries now, and why not.
    func readiness() async -> (Bool, String) {
        do {
            return try await blocking { [self] in
                let (stored, head, caughtUp) = try readModelPosition()
                guard caughtUp else {
                    return (false, "catching up: the read model is at position \(stored) of \(head)")
                }
                if let replication, replication.synchronous {
                    let (shipped, health) = replication.snapshot
                    switch health {
                    case .reachable: break
                    case .starting: return (false, "replica: not reached yet (synchronous replication)")
                    case .failing:
                        return (
                            false,
                            "replica: cannot be reached (synchronous replication; the log says why; replica at position \(shipped))"
                        )
                    case .diverged:
                        return (
                            false,
                            "replica: disagrees with the ledger (synchronous replication; the log says why)"
                        )
                    }
                }
                return (true, "ready: head \(head), read model at \(stored)")
            }
        } catch {
            return (false, "not ready: \(systemErrorText(error))")
        }
    }

    /// Reads the gauges that are not updated as things happen (the map and file sizes).
    func refreshGauges() async throws {
        let info = try await blocking { [log] in try log.info() }
        metrics.mapSize.record(info.mapSize)
        metrics.fileSize.record(info.fileSize)
        metrics.groupCommits.record(log.commitCount)
        metrics.head(info.head.position)
    }

    /// Statistics rows for `platforms` (nil: every platform; with several or `all`, their merged total
    /// as platform `all`), per `period`, counting facts before the end of `asOf` when given.
    func statistics(platforms: [String], by period: StatisticsPeriod, asOf: CivilDate?) async throws
        -> [StatisticsRow]
    {
        let everyPlatform = platforms.contains("all")
        let merged = everyPlatform || Set(platforms).count > 1
        let wanted: Set<String>? = platforms.isEmpty || everyPlatform ? nil : Set(platforms)
        let named = Set(platforms).subtracting(["all"])
        let run = { @Sendable (projection: any ProjectionQueries) throws -> [StatisticsRow] in
            if !named.isEmpty {
                let known = Set(try projection.knownPlatforms())
                if let unknown = named.sorted().first(where: { !known.contains($0) }) {
                    throw Problem.notFound(
                        "platform",
                        "no platform '\(unknown)' in this ledger (it knows: \(known.sorted().joined(separator: ", ")))"
                    )
                }
            }
            let rows = try projection.statistics(platforms: wanted, by: period)
            return merged ? rows + StatisticsRow.merged(rows, label: "all") : rows
        }
        guard let asOf else { return try await query(run) }
        return try await pastQueries.run { [log] in
            try await self.blocking {
                try ReadModel.withTemporary(of: log, asOf: asOf.start.adding(days: 1), run)
            }
        }
    }

    /// The closure report of a platform (provisional while it is open).
    /// Every platform an event named, in order.
    func knownPlatforms() async throws -> [String] {
        try await query { try $0.knownPlatforms() }
    }

    func closureReport(platform: String) async throws -> ClosureReport {
        try await query { projection in
            guard try projection.knownPlatforms().contains(platform) else {
                throw Problem.notFound("platform", "no platform '\(platform)' in this ledger")
            }
            return try ClosureReport(platform: platform, queries: projection)
        }
    }

    // MARK: - Background work

    /// Reads the head for appends made by other processes, and keeps the stored read model caught
    /// up, until the task is cancelled.
    func watch() async {
        var lastCatchUp = ContinuousClock.now - .seconds(3_600)
        while !Task.isCancelled {
            do {
                // The stored checkpoint is read each time: another process (`ledgerctl replay
                // --from-scratch`) may have reset the read model.
                let (stored, head, _) = try await blocking { [self] in try readModelPosition() }
                await heads.advance(to: head)
                metrics.head(head)
                // The read model is caught up at most once a second (each catch-up has fixed costs: a
                // sync, releasing mapped pages), or at once when it lags by a tenth of a chunk; queries
                // fold the few events in between in memory.
                let lag = head > stored ? head - stored : 0
                if lag > 0,
                    ContinuousClock.now - lastCatchUp >= settings.readModelInterval
                        || lag >= UInt64(ReadModel.defaultChunkSize / 10)
                {
                    try await catchUp()
                    lastCatchUp = ContinuousClock.now
                }
            } catch {
                logger.error("background catch-up failed: \(systemErrorText(error))")
            }
            try? await Task.sleep(for: settings.headPollInterval)
        }
    }

    /// Folds the events the stored read model lacks into it, one chunk per call to the thread pool
    /// (so that a shutdown waits for one chunk at most); returns the position it reached.
    @discardableResult
    func catchUp() async throws -> UInt64 {
        try await catchUps.run { [model, log, metrics] in
            while true {
                let (position, head) = try await self.blocking {
                    let started = ContinuousClock.now
                    let stored = try model.read { $0.checkpoint }
                    let folded = try model.catchUp(
                        from: log, through: stored + UInt64(ReadModel.defaultChunkSize))
                    if folded > 0 {
                        metrics.caughtUp(events: folded, duration: ContinuousClock.now - started)
                    }
                    return (try model.read { $0.checkpoint }, try log.head().position)
                }
                if position >= head || Task.isCancelled { return position }
            }
        }
    }
}

/// Lets one task at a time through (a queue of waiters, in order).
actor Gate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}

/// The privacy vault of the served ledger, opened once, at the first consultation of an identity.
final class VaultHolder: Sendable {
    let ledger: String
    private let opened = Mutex<PrivacyVault?>(nil)

    init(ledger: String) { self.ledger = ledger }

    /// A ledger whose identities were never sealed here has no vault.
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The vault, opened (never created) on first use.
    func open() throws -> PrivacyVault {
        try opened.withLock { vault in
            if let vault { return vault }
            guard FileManager.default.fileExists(atPath: PrivacyVault.defaultKeyStorePath(forLedger: ledger))
            else {
                throw Missing(
                    description:
                        "this ledger has no key store (\(PrivacyVault.defaultKeyStorePath(forLedger: ledger))): "
                        + "its identities were not sealed here")
            }
            let made = try PrivacyVault(ledger: ledger, create: false)
            vault = made
            return made
        }
    }
}
