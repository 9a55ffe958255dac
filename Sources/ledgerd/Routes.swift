import ContactTracing
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore
import Projections

/// The HTTP face of ``LedgerService``: `/v1` (docs/openapi.yaml), health and metrics.
enum Routes {
    typealias Context = LedgerRequestContext

    /// The router. `denyList` is `nil` on `--insecure-loopback` (every caller is the developer).
    /// The access log traces reads of case data when `audit` is given (ledgerd always gives it).
    static func router(_ service: LedgerService, denyList: DenyListWatcher? = nil, audit: AccessLog? = nil)
        -> Router<Context>
    {
        let router = Router(context: Context.self)
        /// A long response (a subscription) ends when its caller's certificate is revoked meanwhile.
        @Sendable func stillAuthorized(_ caller: Caller) -> @Sendable () -> Bool {
            guard case .principal(let principal, _) = caller, let denyList else { return { true } }
            let serial = principal.serial
            return { !denyList.denies(serial) }
        }
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: AttributionMiddleware(denyList: denyList))
        router.add(middleware: LogRequestsMiddleware(.debug))
        if let audit { router.add(middleware: AuditMiddleware(audit: audit)) }
        router.add(middleware: AccessMiddleware())
        router.add(middleware: CrossSiteMiddleware())

        // Statisticians and administrators only (the access table): every platform is shown.
        router.get("/") { request, _ in
            let known = try await service.knownPlatforms()
            guard let first = known.first else {
                return text(
                    "<!DOCTYPE html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Tableau de bord</title>"
                        + "<p>Aucune plateforme dans ce journal.</p></html>\n",
                    contentType: "text/html; charset=utf-8")
            }
            let platform =
                request.uri.queryParameters.get("platform").map { LedgerFormat.normalize(String($0)) }
                ?? first
            guard known.contains(platform) else {
                throw Problem.notFound("platform", "no platform '\(platform)' in this ledger")
            }
            let report = try await service.closureReport(platform: platform)
            let months = try await service.statistics(platforms: [platform], by: .month, asOf: nil)
            let page = Dashboard.page(
                platforms: known, platform: platform, report: report, months: months,
                head: await service.heads.position)
            return text(page, contentType: "text/html; charset=utf-8")
        }

        router.get("/v1/live") { _, context in
            eventStream(
                Dashboard.live(
                    service, channel: context.channel, stillAuthorized: stillAuthorized(context.caller)))
        }

        router.get("/livez") { _, _ in text("ok\n") }
        router.get("/readyz") { _, _ in
            let (ready, detail) = await service.readiness()
            return text(detail + "\n", status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            try await service.refreshGauges()
            return text(service.metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/openapi.yaml") { _, _ in
            text(OpenAPIDocument.yaml, contentType: "application/yaml")
        }

        router.post("/v1/events") { request, context in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: service.settings.maxBodyBytes)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw Problem.tooLarge(limit: service.settings.maxBodyBytes)
            } catch is NIOTooManyBytesError {
                throw Problem.tooLarge(limit: service.settings.maxBodyBytes)
            } catch {
                // The client ended the body early (before its Content-Length, a broken chunk).
                throw Problem(
                    status: .badRequest, name: "malformed-body", title: "The body could not be read",
                    detail: "the request body ended before it was complete (\(error)); nothing was written")
            }
            let reply = try await service.append(
                body: Array(body.readableBytesView), contentType: request.headers[.contentType],
                caller: context.caller)
            return json(reply.json)
        }

        router.get("/v1/events") { request, context in
            let query = request.uri.queryParameters
            let from = try number(query, "from", default: 1, minimum: 1)
            let limit = try pageLimit(query, service.settings)
            let (types, platforms, filter) = try eventFilter(query, caller: context.caller)
            let page = try await service.page(from: from, limit: Int(limit), filter: filter)
            var next = "/v1/events?from=\(page.next)&limit=\(limit)"
            for type in types { next += "&type=" + escape(type) }
            for platform in platforms { next += "&platform=" + escape(platform) }
            return json(
                .object([
                    ("events", .array(page.events.map(JSONText.raw))), ("next", .string(next)),
                    ("head", JSONText(page.head)),
                ]), link: next)
        }

        router.get("/v1/streams/**") { request, context in
            var parts = context.parameters.getCatchAll().map(String.init)
            guard parts.count >= 2, parts.removeLast() == "events" else {
                throw Problem.notFound("resource", "use /v1/streams/{stream}/events")
            }
            let stream = try name(parts, "stream")
            try await service.requireOwnership(of: stream, by: context.caller, what: "stream")
            let query = request.uri.queryParameters
            let from = try number(query, "from", default: 0, minimum: 0)
            let limit = try pageLimit(query, service.settings)
            guard
                let (page, version) = try await service.streamPage(
                    stream, fromVersion: from, limit: Int(limit))
            else {
                throw Problem.notFound("stream", "no stream '\(stream)' in this ledger")
            }
            let next = "/v1/streams/\(escape(stream))/events?from=\(page.next)&limit=\(limit)"
            return json(
                .object([
                    ("stream", .string(stream)), ("version", JSONText(version)),
                    ("events", .array(page.events.map(JSONText.raw))), ("next", .string(next)),
                    ("head", JSONText(page.head)),
                ]), link: next)
        }

        router.get("/v1/subscribe") { request, context in
            let query = request.uri.queryParameters
            var from = try number(query, "from", default: 1, minimum: 1)
            if let last = request.headers[lastEventID] {
                guard let id = UInt64(last.trimmingCharacters(in: .whitespaces)), id < UInt64.max else {
                    throw Problem(
                        status: .badRequest, name: "bad-parameter", title: "A header cannot be used",
                        detail: "header 'Last-Event-ID': '\(last)' is not an event position")
                }
                from = id + 1
            }
            let (_, _, filter) = try eventFilter(query, caller: context.caller)
            return eventStream(
                Subscription(
                    service: service, from: from, filter: filter, channel: context.channel,
                    stillAuthorized: stillAuthorized(context.caller)
                ).body())
        }

        router.get("/v1/cases/**") { _, context in
            let id = try name(context.parameters.getCatchAll().map(String.init), "case")
            try await service.requireOwnership(of: id, by: context.caller, what: "case")
            guard let document = try await service.caseDocument(id) else {
                throw Problem.notFound("case", "no case '\(id)' in this ledger")
            }
            return json(document)
        }

        router.post("/v1/cases/**") { request, context in
            var parts = context.parameters.getCatchAll().map(String.init)
            guard parts.count >= 2, parts.removeLast() == "identity" else {
                throw Problem.notFound("resource", "use POST /v1/cases/{case}/identity")
            }
            let id = try name(parts, "case")
            let body = try await jsonObjectBody(request)
            let consultation: Consultation
            do {
                consultation = try JSONDecoder().decode(Consultation.self, from: body)
            } catch {
                throw Problem(
                    status: .badRequest, name: "malformed-json", title: "The body is not a consultation",
                    detail: "the body must be a JSON object {\"reason\": TEXT, \"agent\": TEXT}: \(error)")
            }
            return json(
                try await service.revealIdentity(
                    ofCase: id, reason: consultation.reason, agent: consultation.agent, caller: context.caller
                ))
        }

        router.post("/v1/retention") { request, context in
            try Access.require(context.caller, [.administrator], to: "apply the retention periods")
            let retention = try RetentionRequest.parse(
                try await jsonObjectBody(request), today: Timestamp.now().date)
            // What is about to be destroyed is traced first: an erasure that cannot be traced is not
            // made (503 audit-unavailable). The access log's own record of the request, with its
            // status, follows the answer.
            if let audit {
                try await AuditMiddleware.record(
                    audit, request, context, status: 0, target: "/v1/retention?" + retention.query)
            }
            let outcome = try await service.applyRetention(asOf: retention.asOf, policy: retention.policy)
            var fields: [(String, JSONText)] = [
                ("asOf", .string(retention.asOf.description)),
                (
                    "months",
                    .object(
                        RetentionRequest.categories.map { field, category in
                            (field, JSONText(retention.policy.months[category] ?? 0))
                        })
                ),
                ("erased", JSONText(outcome.erased)), ("kept", JSONText(outcome.kept)),
            ]
            if let keep = retention.accessLogMonths, let audit {
                let cut = AccessLog.retentionCut(asOf: retention.asOf, keepMonths: keep)
                let removed: [String]
                do {
                    removed = try await service.blocking { try audit.prune(before: cut) }
                } catch {
                    throw Problem.describing(error)
                }
                fields.append(
                    (
                        "accessLog",
                        .object([
                            ("keptMonths", JSONText(keep)),
                            ("removedBefore", .string(String(cut.description.prefix(7)))),
                            ("removed", .array(removed.map { .string($0) })),
                        ])
                    ))
            }
            return json(.object(fields))
        }

        router.get("/v1/stats") { request, context in
            let query = request.uri.queryParameters
            let platforms = try Access.platforms(
                list(query, "platform"), for: context.caller, what: "statistics")
            let byText = query.get("by") ?? "week"
            guard let period = StatisticsPeriod(rawValue: byText) else {
                throw Problem.badParameter("by", "'\(byText)' is not day, week or month")
            }
            var asOf: CivilDate?
            if let text = query.get("asOf") {
                guard let day = CivilDate(text) else {
                    throw Problem.badParameter("asOf", "'\(text)' is not a YYYY-MM-DD date")
                }
                asOf = day
            }
            let format = try negotiate(request, query, ["application/json": "json", "text/csv": "csv"])
            let rows = try await service.statistics(platforms: platforms, by: period, asOf: asOf)
            if format == "csv" {
                return text(StatisticsRow.csv(rows), contentType: "text/csv; charset=utf-8")
            }
            return json(
                .object([
                    ("by", .string(period.rawValue)), ("asOf", JSONText(asOf?.description)),
                    ("rows", .array(rows.map { .raw($0.json) })),
                ]))
        }

        router.get("/v1/reports/closure") { request, context in
            let query = request.uri.queryParameters
            guard let platformText = query.get("platform") else {
                throw Problem.badParameter("platform", "is required")
            }
            let platform = LedgerFormat.normalize(platformText)
            _ = try Access.platforms([platform], for: context.caller, what: "the closure report")
            let langText = query.get("lang") ?? "fr"
            guard let language = ReportLanguage(rawValue: langText) else {
                throw Problem.badParameter("lang", "'\(langText)' is not fr or en")
            }
            let format = try negotiate(
                request, query, ["application/json": "json", "text/markdown": "md", "text/html": "html"])
            let report = try await service.closureReport(platform: platform)
            switch format {
            case "md":
                return text(report.markdown(language: language), contentType: "text/markdown; charset=utf-8")
            case "html": return text(report.html(language: language), contentType: "text/html; charset=utf-8")
            default: return text(try report.json(), contentType: "application/json")
            }
        }
        return router
    }

    // MARK: - Helpers

    /// The body of `POST /v1/cases/{case}/identity`.
    struct Consultation: Decodable {
        /// Why the identity is consulted.
        var reason: String
        /// The agent (a tracer) who consults, under the principal of the certificate.
        var agent: String
    }

    /// The body of `POST /v1/retention`: the date and the periods, each optional but the date.
    /// Unknown fields are refused (a misspelt period must not silently become the default).
    struct RetentionRequest {
        var asOf: CivilDate
        var policy: RetentionPolicy
        /// Months of the access log kept before the month of `asOf`; `nil` leaves it alone.
        var accessLogMonths: Int?

        /// The request as a query string, for the access log.
        var query: String {
            (["asOf=\(asOf)"]
                + Self.categories.map { field, category in "\(field)=\(policy.months[category] ?? 0)" }
                + (accessLogMonths.map { ["accessLogMonths=\($0)"] } ?? [])).joined(separator: "&")
        }

        /// The periods' JSON fields, in the order of the reply.
        static let categories: [(String, RetentionCategory)] = [
            ("contactTracingMonths", .contactTracing), ("labNegativeMonths", .labNegative),
            ("labPositiveMonths", .labPositive),
        ]

        static func parse(_ data: Data, today: CivilDate) throws(Problem) -> RetentionRequest {
            func invalid(_ field: String, _ detail: String) -> Problem {
                Problem.invalidField(
                    "invalid-retention", title: "The retention periods cannot be applied", field: field,
                    detail: "\(detail); no key was destroyed")
            }
            /// A field's value as JSON typed it (a Bool is not a number here, unlike in NSNumber).
            enum Value: Decodable {
                case integer(Int), text(String), other(String)
                init(from decoder: any Decoder) throws {
                    let value = try decoder.singleValueContainer()
                    if let bool = try? value.decode(Bool.self) {
                        self = .other("\(bool)")
                    } else if let integer = try? value.decode(Int.self) {
                        self = .integer(integer)
                    } else if let number = try? value.decode(Double.self) {
                        self = .other("\(number)")
                    } else if let text = try? value.decode(String.self) {
                        self = .text(text)
                    } else {
                        self = .other("a JSON \(value.decodeNil() ? "null" : "array or object")")
                    }
                }
            }
            guard let object = try? JSONDecoder().decode([String: Value].self, from: data) else {
                throw Problem(
                    status: .badRequest, name: "malformed-json", title: "The body is not a retention request",
                    detail:
                        "the body must be a JSON object {\"asOf\": \"YYYY-MM-DD\", \"contactTracingMonths\": N, "
                        + "\"labNegativeMonths\": N, \"labPositiveMonths\": N, \"accessLogMonths\": N}")
            }
            let known = Set(categories.map(\.0) + ["asOf", "accessLogMonths"])
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw invalid(
                    unknown, "not a field of a retention request (\(known.sorted().joined(separator: ", ")))")
            }
            guard case .text(let text) = object["asOf"] else {
                throw invalid("asOf", "the date to apply the periods at (YYYY-MM-DD) is required")
            }
            guard let asOf = CivilDate(text) else {
                throw invalid("asOf", "'\(text)' is not a YYYY-MM-DD date")
            }
            guard asOf <= today else {
                throw invalid(
                    "asOf",
                    "\(asOf) is after today (\(today)): identities would be erased before their period ends")
            }
            func months(_ field: String) throws(Problem) -> Int? {
                switch object[field] {
                case nil: return nil
                case .integer(let value) where (0...1200).contains(value): return value
                case .integer(let value): throw invalid(field, "\(value) is not from 0 to 1200 months")
                case .text(let value), .other(let value):
                    throw invalid(field, "'\(value)' is not a whole number of months")
                }
            }
            var policy = RetentionPolicy.legal
            for (field, category) in categories {
                if let value = try months(field) { policy.months[category] = value }
            }
            return RetentionRequest(
                asOf: asOf, policy: policy, accessLogMonths: try months("accessLogMonths"))
        }
    }

    /// The body of a request that takes a JSON object: declared `application/json` (415 otherwise),
    /// at most 64 KiB (413).
    static func jsonObjectBody(_ request: Request) async throws -> Data {
        try requireJSON(request)
        var request = request
        do {
            return Data(try await request.collectBody(upTo: 64 * 1024).readableBytesView)
        } catch {
            throw Problem.tooLarge(limit: 64 * 1024)
        }
    }

    /// Refuses a body that is not declared JSON (415): these bodies are JSON objects, and a
    /// cross-site form cannot send that type without a preflight.
    static func requireJSON(_ request: Request) throws(Problem) {
        let type = request.headers[.contentType] ?? ""
        let media = type.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard media == "application/json" else {
            throw Problem.unsupportedMediaType(
                type.isEmpty ? "none" : type, expected: "send application/json (a JSON object)")
        }
    }

    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let linkHeader = HTTPField.Name("Link")!

    static func text(
        _ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A Server-Sent Events response (a subscription, the live head). The connection ends with the
    /// stream (a slow client, a revocation, a shutdown): no keep-alive.
    static func eventStream(_ body: ResponseBody) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[.connection] = "close"
        return Response(status: .ok, headers: headers, body: body)
    }

    static func json(_ value: JSONText, link next: String? = nil) -> Response {
        var response = text(value.rendered + "\n", contentType: "application/json")
        if let next { response.headers[linkHeader] = "<\(next)>; rel=\"next\"" }
        return response
    }

    /// A non-negative integer query parameter.
    static func number(_ query: Parameters, _ key: String, default value: UInt64, minimum: UInt64) throws
        -> UInt64
    {
        guard let text = query.get(key) else { return value }
        guard let number = UInt64(text), number >= minimum else {
            throw Problem.badParameter(key, "'\(text)' is not a whole number of at least \(minimum)")
        }
        return number
    }

    static func pageLimit(_ query: Parameters, _ settings: LedgerService.Settings) throws -> UInt64 {
        let limit = try number(query, "limit", default: UInt64(settings.defaultPageSize), minimum: 1)
        guard limit <= settings.maxPageSize else {
            throw Problem.badParameter(
                "limit", "\(limit) is over the page size limit (\(settings.maxPageSize))")
        }
        return limit
    }

    /// The `type` and `platform` parameters and the filter they make (nil when there are none).
    /// The `type` and `platform` filter of a page or a subscription; a platform reads its own events.
    static func eventFilter(_ query: Parameters, caller: Caller) throws(Problem) -> (
        types: [String], platforms: [String], filter: EventFilter?
    ) {
        let types = list(query, "type")
        let platforms = try Access.platforms(list(query, "platform"), for: caller, what: "events")
        guard !types.isEmpty || !platforms.isEmpty else { return (types, platforms, nil) }
        return (
            types, platforms,
            EventFilter(
                types: types.isEmpty ? nil : Set(types), platforms: platforms.isEmpty ? nil : Set(platforms))
        )
    }

    /// A repeatable parameter, also given comma-separated (`type=A&type=B` or `type=A,B`), in NFC.
    static func list(_ query: Parameters, _ key: String) -> [String] {
        query.getAll(key).flatMap { $0.split(separator: ",").map { LedgerFormat.normalize(String($0)) } }
            .filter { !$0.isEmpty }
    }

    /// A name given as path segments (a stream or case id holds `/`, sent as is or as `%2F`), in NFC.
    static func name(_ parts: [String], _ what: String) throws -> String {
        let joined = parts.joined(separator: "/")
        guard let decoded = joined.removingPercentEncoding, !decoded.isEmpty else {
            throw Problem(
                status: .badRequest, name: "bad-parameter", title: "A path segment cannot be used",
                detail: "the \(what) id '\(joined)' is not a valid percent-encoded UTF-8 name",
                extensions: [("parameter", .string(what))])
        }
        return LedgerFormat.normalize(decoded)
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "/?&=+#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The representation asked for: the `format` query parameter (`json`, `csv`, `md`, `html`), else
    /// the first type of `Accept` (by q-value) the resource has, else the first of `offered`.
    static func negotiate(_ request: Request, _ query: Parameters, _ offered: KeyValuePairs<String, String>)
        throws
        -> String
    {
        let formats = offered.map(\.value)
        if let format = query.get("format") {
            guard formats.contains(format) else {
                throw Problem.badParameter(
                    "format", "'\(format)' is not one of \(formats.joined(separator: ", "))")
            }
            return format
        }
        guard let accept = request.headers[.accept], !accept.isEmpty else { return formats[0] }
        var choices = [(quality: Double, order: Int, type: String)]()
        for (order, item) in accept.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if quality > 0, let type = parts.first { choices.append((quality, order, type)) }
        }
        for choice in choices.sorted(by: { ($0.quality, -$0.order) > ($1.quality, -$1.order) }) {
            if let match = offered.first(where: { $0.key == choice.type }) { return match.value }
            if choice.type == "*/*"
                || choice.type == "application/*" && offered[0].key.hasPrefix("application/")
            {
                return formats[0]
            }
            if choice.type == "text/*", let match = offered.first(where: { $0.key.hasPrefix("text/") }) {
                return match.value
            }
        }
        throw Problem(
            status: .notAcceptable, name: "not-acceptable", title: "No representation matches Accept",
            detail:
                "Accept '\(accept)': this resource is offered as \(offered.map(\.key).joined(separator: ", "))"
        )
    }
}

/// Answers HEAD as GET without the body (before routing, so every GET route has its HEAD).
struct HeadAsGet<Inner: HTTPResponder>: HTTPResponder where Inner.Context == LedgerRequestContext {
    let inner: Inner

    func respond(to request: Request, context: LedgerRequestContext) async throws -> Response {
        guard request.method == .head else { return try await inner.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await inner.respond(to: Request(head: head, body: request.body), context: context)
        // The length the GET body would have, and no body (a HEAD response never has one).
        response.body = ResponseBody(contentLength: response.body.contentLength) { writer in
            try await writer.finish(nil)
        }
        return response
    }
}

/// Turns every error into `application/problem+json`, including the router's own 404 (a 405 with
/// `Allow` when the path exists with other methods).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext

    /// The methods of each path (a path ending in `/` is a prefix: stream and case ids).
    static let methods: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/", [.get, .head]), ("/v1/live", [.get, .head]),
        ("/livez", [.get, .head]), ("/readyz", [.get, .head]), ("/metrics", [.get, .head]),
        ("/openapi.yaml", [.get, .head]), ("/v1/events", [.get, .head, .post]),
        ("/v1/subscribe", [.get, .head]),
        ("/v1/stats", [.get, .head]), ("/v1/reports/closure", [.get, .head]),
        ("/v1/streams/", [.get, .head]),
        ("/v1/cases/", [.get, .head, .post]), ("/v1/retention", [.post]),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            if let known = Self.methods.first(where: {
                $0.path.count > 1 && $0.path.hasSuffix("/")
                    ? path.hasPrefix($0.path) && path.count > $0.path.count : path == $0.path
            }) {
                var response = try Problem(
                    status: .methodNotAllowed, name: "method-not-allowed", title: "Method Not Allowed",
                    detail: "\(request.method) is not allowed on \(path); allowed: "
                        + known.methods.map(\.rawValue).joined(separator: ", ")
                ).response(from: request, context: context)
                response.headers[.allow] = known.methods.map(\.rawValue).joined(separator: ", ")
                return response
            }
            return try Problem.notFound("resource", "no resource at \(path) (see /openapi.yaml)")
                .response(from: request, context: context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            let detail: String
            switch error.status {
            case .notFound: detail = "no resource at \(request.uri.path) (see /openapi.yaml)"
            case .methodNotAllowed: detail = "\(request.method) is not allowed on \(request.uri.path)"
            default: detail = error.body ?? error.status.reasonPhrase
            }
            return try Problem(
                status: error.status, name: error.status == .notFound ? "not-found" : "http",
                title: error.status.reasonPhrase, detail: detail
            ).response(from: request, context: context)
        } catch {
            return try Problem.describing(error).response(from: request, context: context)
        }
    }
}
