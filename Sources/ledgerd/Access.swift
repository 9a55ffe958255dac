import ContactTracing
import Credentials
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore
import Synchronization

/// The deny list of a credentials directory, reread when the file changes (checked at most once a
/// second), so that revoking a certificate needs no restart. A list that no longer parses keeps the
/// previous one in force and is logged.
final class DenyListWatcher: Sendable {
    let path: String
    private let logger: Logger
    private struct Loaded {
        var list: DenyList
        var modified: Date?
        var size: Int?
        var checked: ContinuousClock.Instant
    }
    private let loaded: Mutex<Loaded>

    /// Reads the list at `path` (a missing file is an empty list).
    init(path: String, logger: Logger) throws(CredentialError) {
        self.path = path
        self.logger = logger
        let (modified, size) = Self.stamp(path)
        let list = modified == nil ? DenyList(serials: []) : try DenyList.load(path)
        loaded = Mutex(Loaded(list: list, modified: modified, size: size, checked: .now))
    }

    /// Whether `serial` is denied, rereading the file first when it changed.
    func denies(_ serial: String) -> Bool {
        let now = ContinuousClock.now
        let needsCheck = loaded.withLock { state in
            guard now - state.checked >= .seconds(1) else { return false }
            state.checked = now
            return true
        }
        if needsCheck { reloadIfChanged() }
        return loaded.withLock { $0.list.serials.contains(serial) }
    }

    private func reloadIfChanged() {
        let (modified, size) = Self.stamp(path)
        let changed = loaded.withLock { $0.modified != modified || $0.size != size }
        guard changed else { return }
        guard modified != nil else {
            logger.error(
                "the deny list is gone; the previous one stays in force (restore the file, even empty)",
                metadata: ["path": "\(path)"])
            loaded.withLock {
                $0.modified = nil
                $0.size = nil
            }
            return
        }
        do {
            let list = try DenyList.load(path)
            loaded.withLock {
                $0.list = list
                $0.modified = modified
                $0.size = size
            }
            logger.notice(
                "deny list reloaded", metadata: ["path": "\(path)", "serials": "\(list.serials.count)"])
        } catch {
            logger.error(
                "the deny list does not parse; the previous one stays in force",
                metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    private static func stamp(_ path: String) -> (Date?, Int?) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return (nil, nil)
        }
        return (attributes[.modificationDate] as? Date, (attributes[.size] as? NSNumber)?.intValue)
    }
}

/// Attributes each request to its caller, the one place where this happens: the connection's
/// principal (``PeerIdentity``) checked against the deny list, or the developer of a server on
/// `--insecure-loopback`. Adds the caller to the request's log metadata.
struct AttributionMiddleware: RouterMiddleware {
    /// `nil` on `--insecure-loopback`: every caller is the developer.
    let denyList: DenyListWatcher?

    func handle(
        _ request: Request, context: LedgerRequestContext,
        next: (Request, LedgerRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let address = LedgerRequestContext.address(of: context.channel)
        if let denyList {
            let identity = try? await context.channel.pipeline.handler(type: PeerIdentity.self).get()
            switch identity?.current ?? .none(reason: "the connection is not TLS") {
            case .principal(let principal):
                context.caller =
                    denyList.denies(principal.serial)
                    ? .unauthenticated(
                        reason: "certificate \(principal.serial) of \(principal.name) is revoked",
                        address: address)
                    : .principal(principal, address: address)
            case .none(let reason):
                context.caller = .unauthenticated(reason: reason, address: address)
            case .pending:
                context.caller = .unauthenticated(
                    reason: "the TLS handshake has not completed", address: address)
            }
        } else {
            context.caller = .developer(address: address)
        }
        context.logger[metadataKey: "caller"] = "\(context.caller)"
        return try await next(request, context)
    }
}

/// What each role may do (docs/security.md): the route-level table, and the checks of content that
/// the routes make (a platform's events, streams, cases and statistics are its own).
enum Access {
    /// What a route needs.
    enum Need: Sendable, Equatable {
        /// Health and the API description: anyone, even without a certificate.
        case open
        /// Metrics: an administrator.
        case operations
        /// `POST /v1/events`.
        case append
        /// Events, streams, subscriptions and cases: identities and pseudonyms are in them.
        case events
        /// Statistics and closure reports.
        case statistics
        /// `POST /v1/cases/{case}/identity`: the case's platform only.
        case reveal
        /// The dashboard and its live count of the whole log: statisticians and administrators.
        case overview
        /// `POST /v1/retention`: an administrator.
        case administration
    }

    /// `path` as the router matches it: empty segments dropped (`//v1/events/` is `/v1/events`).
    static func routed(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// What `path` (with `method`) needs; `nil` for a path the API does not have.
    static func need(method: HTTPRequest.Method, path: String) -> Need? {
        switch routed(path) {
        case "/livez", "/readyz", "/openapi.yaml": return .open
        case "/metrics": return .operations
        case "/v1/events": return method == .post ? .append : .events
        case "/v1/subscribe": return .events
        case "/v1/stats", "/v1/reports/closure": return .statistics
        case "/", "/v1/live": return .overview
        case "/v1/retention": return .administration
        case let path:
            if path.hasPrefix("/v1/cases/") && method == .post { return .reveal }
            if path.hasPrefix("/v1/streams/") || path.hasPrefix("/v1/cases/") { return .events }
            return nil
        }
    }

    /// Whether `role` may use a route that needs `need` (the content checks come after).
    static func allows(_ role: Role, _ need: Need) -> Bool {
        switch (role, need) {
        case (_, .open): return true
        case (.platform, .reveal): return true
        case (_, .reveal): return false
        case (.administrator, _): return true
        case (.platform, .append), (.platform, .events), (.platform, .statistics): return true
        case (.statistician, .statistics), (.statistician, .overview): return true
        default: return false
        }
    }

    /// The event types only an administrator appends: those that open a platform, change its rules,
    /// hand its cases over and close it.
    static let platformLifeTypes: Set<String> = [
        "PlatformOpened", "PolicyChanged", "PlatformClosed", "CaseHandedOver",
    ]

    /// The event types an administrator appends: a platform's life, and the closing of its open cases
    /// when it shuts down.
    static let administrativeTypes: Set<String> = platformLifeTypes.union(["CaseClosed"])

    /// The event types only the service appends (an identity consultation, after checking who asks).
    static let serviceTypes: Set<String> = ["IdentityConsulted"]

    /// 401 for a caller without a usable certificate, 403 for a role that may not. A path the table
    /// does not know is refused too (default deny): the router may still match it.
    static func check(_ caller: Caller, method: HTTPRequest.Method, path: String) throws(Problem) {
        let need = need(method: method, path: path)
        if need == .open { return }
        switch caller {
        case .developer: return
        case .unauthenticated(let reason, _):
            throw Problem.unauthenticated(reason)
        case .principal(let principal, _):
            guard let need else {
                throw Problem.forbidden(
                    "\(method.rawValue) \(path) is not an endpoint of this API (docs/openapi.yaml)")
            }
            guard allows(principal.role, need) else {
                throw Problem.forbidden(
                    "a \(principal.role.rawValue) may not \(method.rawValue) \(path) (docs/security.md)")
            }
        }
    }

    /// Refuses a caller without a principal (401) or whose role is not one of `roles` (403): the
    /// routes' own check, behind the table's.
    static func require(_ caller: Caller, _ roles: Set<Role>, to what: String) throws(Problem) {
        switch caller {
        case .developer: return
        case .unauthenticated(let reason, _): throw Problem.unauthenticated(reason)
        case .principal(let principal, _):
            guard roles.contains(principal.role) else {
                throw Problem.forbidden("a \(principal.role.rawValue) may not \(what)")
            }
        }
    }

    /// The platform a caller is restricted to: its own id for a platform, `nil` (no restriction)
    /// otherwise.
    static func ownPlatform(_ caller: Caller) -> String? {
        if case .principal(let principal, _) = caller, principal.role == .platform { return principal.name }
        return nil
    }

    /// The platforms a platform's read may name: none given means its own; another is refused.
    static func platforms(_ asked: [String], for caller: Caller, what: String) throws(Problem) -> [String] {
        if case .unauthenticated(let reason, _) = caller { throw Problem.unauthenticated(reason) }
        guard let own = ownPlatform(caller) else { return asked }
        let others = asked.map(LedgerFormat.normalize).filter { $0 != own }
        guard others.isEmpty else {
            throw Problem.forbidden("platform \(own) may not read \(what) of platform \(others[0])")
        }
        return [own]
    }
}

/// Puts the access table in front of every route (401 and 403 before any work), and logs every
/// refusal, the table's and the routes' own (a platform's event, stream or case that is not its
/// own), with the caller.
struct AccessMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: LedgerRequestContext,
        next: (Request, LedgerRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            try Access.check(context.caller, method: request.method, path: request.uri.path)
            return try await next(request, context)
        } catch let problem as Problem where problem.status == .unauthorized || problem.status == .forbidden {
            context.logger.notice(
                "refused",
                metadata: [
                    "status": "\(problem.status.code)", "method": "\(request.method)",
                    "path": "\(request.uri.path)", "detail": "\(problem.detail)",
                ])
            throw problem
        }
    }
}

/// Refuses requests that change something when a browser says they come from another site
/// (`Sec-Fetch-Site: cross-site` or `same-site`): a page elsewhere must not make an administrator's
/// or a platform's browser, holding its client certificate, erase keys or consult identities.
/// Bodies must also be JSON (``Routes/requireJSON(_:)``), which a cross-site form cannot send
/// without a preflight that this service never answers.
struct CrossSiteMiddleware: RouterMiddleware {
    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

    func handle(
        _ request: Request, context: LedgerRequestContext,
        next: (Request, LedgerRequestContext) async throws -> Response
    ) async throws -> Response {
        if request.method != .get, request.method != .head,
            let site = request.headers[Self.fetchSite], site != "same-origin", site != "none"
        {
            throw Problem.forbidden(
                "\(request.method.rawValue) \(request.uri.path) from another site (Sec-Fetch-Site: \(site)) is refused"
            )
        }
        return try await next(request, context)
    }
}

/// Traces every read of case data (events, streams, cases, subscriptions, identity consultations),
/// and every application of the retention periods, in the ledger's access log (``AccessLog``, `LEDGER.audit/`): who, what, when and the status,
/// refusals included. The answer is sent only once its record is durable; a read that cannot be
/// traced is not served (503 `audit-unavailable`).
struct AuditMiddleware: RouterMiddleware {
    let audit: AccessLog

    /// Whether a request reads case data.
    static func audited(method: HTTPRequest.Method, path: String) -> Bool {
        switch method {
        case .get, .head:
            return path == "/v1/events" || path == "/v1/subscribe" || path.hasPrefix("/v1/streams/")
                || path.hasPrefix("/v1/cases/")
        case .post: return path.hasPrefix("/v1/cases/") || path == "/v1/retention"
        default: return false
        }
    }

    func handle(
        _ request: Request, context: LedgerRequestContext,
        next: (Request, LedgerRequestContext) async throws -> Response
    ) async throws -> Response {
        guard Self.audited(method: request.method, path: Access.routed(request.uri.path)) else {
            return try await next(request, context)
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            try await Self.record(audit, request, context, status: status)
            throw error
        }
        try await Self.record(audit, request, context, status: response.status.code)
        return response
    }

    /// Records `request` (or `target` in its place) with `status`; 503 `audit-unavailable` when the
    /// record cannot be made durable.
    static func record(
        _ audit: AccessLog, _ request: Request, _ context: LedgerRequestContext, status: Int,
        target: String? = nil
    )
        async throws(Problem)
    {
        let (principal, role, serial, address): (String, String, String, String)
        switch context.caller {
        case .principal(let who, let at):
            (principal, role, serial, address) = (who.name, who.role.rawValue, who.serial, at)
        case .developer(let at): (principal, role, serial, address) = ("developer", "developer", "", at)
        case .unauthenticated(_, let at):
            (principal, role, serial, address) = ("-", "unauthenticated", "", at)
        }
        do {
            try await audit.append(
                AccessRecord(
                    at: .now(), principal: principal, role: role, serial: serial, address: address,
                    method: request.method.rawValue, target: target ?? request.uri.description, status: status
                ))
        } catch {
            context.logger.error("the access log cannot record a read", metadata: ["error": "\(error)"])
            throw Problem(
                status: .serviceUnavailable, name: "audit-unavailable", title: "The read cannot be traced",
                detail:
                    "the access log (\(audit.directory)) cannot record this read (\(error)); nothing was served"
            )
        }
    }
}
