import ContactTracing
import Foundation
import Hummingbird
import LMDB
import Ledger
import Projections

/// An error reply in the form of RFC 9457 (`application/problem+json`): what went wrong, where (the
/// event index, the field, the stream), and the status that says whether a retry can help.
///
/// Every error the service sends is one of these (docs/service.md lists the types); the `type` is a
/// URI of the form `tag:tracing-ledger,2026:problem/NAME`.
struct Problem: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// The short name of the problem type (`invalid-event`, `version-conflict`...).
    var name: String
    var title: String
    var detail: String
    /// Members added after the standard ones (`errors`, `stream`, `expected`...).
    var extensions: [(String, JSONText)] = []

    var description: String { "\(status.code) \(name): \(detail)" }

    var document: JSONText {
        .object(
            [
                ("type", .string("tag:tracing-ledger,2026:problem/\(name)")), ("title", .string(title)),
                ("status", .int(Int64(status.code))), ("detail", .string(detail)),
            ] + extensions)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: document.rendered + "\n")))
    }

    // MARK: - The problems of the service

    static func badParameter(_ name: String, _ reason: String) -> Problem {
        Problem(
            status: .badRequest, name: "bad-parameter", title: "A query parameter cannot be used",
            detail: "parameter '\(name)': \(reason)", extensions: [("parameter", .string(name))])
    }

    /// 401: no certificate, one naming no role, or a revoked one (docs/security.md).
    static func unauthenticated(_ reason: String) -> Problem {
        Problem(
            status: .unauthorized, name: "unauthenticated", title: "A valid client certificate is needed",
            detail: reason
                + "; present a certificate issued by this server's CA ('ledgerctl credentials issue')")
    }

    /// 403: the caller's role, or its platform, may not do this (docs/security.md).
    static func forbidden(_ detail: String, extensions: [(String, JSONText)] = []) -> Problem {
        Problem(
            status: .forbidden, name: "forbidden", title: "Not allowed for this principal", detail: detail,
            extensions: extensions)
    }

    static func notFound(_ what: String, _ detail: String) -> Problem {
        Problem(status: .notFound, name: "not-found", title: "No such \(what)", detail: detail)
    }

    /// 422 for a request body whose `field` cannot be used (named in `detail` and as `field`).
    static func invalidField(_ name: String, title: String, field: String, detail: String) -> Problem {
        Problem(
            status: .unprocessableContent, name: name, title: title, detail: "field '\(field)': \(detail)",
            extensions: [("field", .string(field))])
    }

    static func unsupportedMediaType(
        _ type: String,
        expected: String =
            "send application/json (an array of events) or application/x-ndjson (one event per line)"
    ) -> Problem {
        Problem(
            status: .unsupportedMediaType, name: "unsupported-media-type",
            title: "The body's type is not accepted", detail: "Content-Type '\(type)': \(expected)")
    }

    static func tooLarge(limit: Int) -> Problem {
        Problem(
            status: .contentTooLarge, name: "body-too-large", title: "The body is over the configured limit",
            detail:
                "the body is over \(limit) bytes (ledgerd --max-body-bytes); send the events in smaller batches",
            extensions: [("limit", .int(Int64(limit)))])
    }

    /// Events that cannot be accepted: nothing of the batch was written.
    static func invalid(_ errors: [BatchError]) -> Problem {
        let malformed = errors.allSatisfy(\.malformed)
        let first = errors.first.map(\.sentence) ?? "the batch cannot be accepted"
        return Problem(
            status: malformed ? .badRequest : .unprocessableContent,
            name: malformed ? "malformed-json" : "invalid-event",
            title: malformed ? "The body is not the JSON form of events" : "An event cannot be accepted",
            detail: first + "; nothing of the batch was written",
            extensions: [("errors", .array(errors.map(\.json)))])
    }

    /// Maps what the ledger refused or failed at to its status.
    /// - Parameter initial: for a version conflict, the stream's version before the batch (the log
    ///   holds nothing of it), to name the event that failed.
    static func from(_ error: LedgerError, batch: [NewEvent], initial: UInt64? = nil) -> Problem {
        switch error {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            let index = conflictingIndex(in: batch, stream: stream, initial: initial)
            return Problem(
                status: .conflict, name: "version-conflict",
                title: "A stream's version was not the expected one",
                detail: error.description + "; nothing of the batch was written",
                extensions: [
                    ("index", index.map { .int(Int64($0)) } ?? .null), ("stream", .string(stream)),
                    ("expected", expectedJSON(expected)), ("actual", actual.map { JSONText($0) } ?? .null),
                ])
        case .idempotencyConflict(let id, let position, let field):
            let index = batch.firstIndex { $0.id == id }
            return Problem(
                status: .conflict, name: "idempotency-conflict",
                title: "An event id is already in the log with other content",
                detail: error.description + "; nothing of the batch was written",
                extensions: [
                    ("index", index.map { .int(Int64($0)) } ?? .null),
                    ("id", .string(id.uuidString.lowercased())),
                    ("position", JSONText(position)), ("field", .string(jsonField(field))),
                ])
        case .invalidEvent(let index, let field, let reason):
            return invalid([
                BatchError(index: index, line: nil, field: field, reason: reason, malformed: false)
            ])
        // A short write at commit (a full file system) comes back from LMDB as EIO.
        case .lmdb(let lmdb) where [LMDBError.mapFull, ENOSPC, EDQUOT, EFBIG, EIO].contains(lmdb.code):
            return storageFull(lmdb.description)
        case .io(_, let reason) where reason.contains(String(cString: strerror(ENOSPC))):
            return storageFull(error.description)
        case .readOnlyCopy:
            return Problem(
                status: .forbidden, name: "read-only-copy",
                title: "This ledger is a read-only copy",
                detail:
                    "this service serves a read-only copy of a ledger (ledgerctl restore --read-only): appends go "
                    + "to the ledger it copies; nothing was written")
        case .corruptRecord:
            return Problem(
                status: .internalServerError, name: "integrity",
                title: "The ledger failed an integrity check",
                detail: error.description)
        default:
            return Problem(
                status: .serviceUnavailable, name: "ledger-unavailable",
                title: "The ledger cannot serve this now",
                detail: error.description)
        }
    }

    static func catchingUp(stored: UInt64, head: UInt64) -> Problem {
        Problem(
            status: .serviceUnavailable, name: "catching-up",
            title: "The read model is catching up with the log",
            detail:
                "the read model is at position \(stored) of \(head); retry in a moment (GET /readyz says when)",
            extensions: [("position", JSONText(stored)), ("head", JSONText(head))])
    }

    static func storageFull(_ detail: String) -> Problem {
        Problem(
            status: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
            name: "storage-full", title: "The ledger's disk is full",
            detail: detail + "; nothing of the batch was written")
    }

    /// Maps any error met while serving a query.
    static func describing(_ error: any Error) -> Problem {
        if let problem = error as? Problem { return problem }
        if let error = error as? LedgerError { return from(error, batch: []) }
        if let error = error as? LMDBError { return from(LedgerError.lmdb(error), batch: []) }
        if error is ProjectionError || error is ProjectionStoreError {
            return Problem(
                status: .internalServerError, name: "integrity",
                title: "The projections cannot be built from this log", detail: systemErrorText(error))
        }
        return Problem(
            status: .internalServerError, name: "internal", title: "The service failed",
            detail: systemErrorText(error))
    }

    /// The index of the event whose expectation failed: the batch's events on `stream` applied in
    /// order from the stream's version before the batch (`initial`, nil when it did not exist).
    static func conflictingIndex(in batch: [NewEvent], stream: String, initial: UInt64?) -> Int? {
        let name = LedgerFormat.normalize(stream)
        var running = initial
        for (index, event) in batch.enumerated() where LedgerFormat.normalize(event.stream) == name {
            if !event.expectedVersion.holds(for: running) { return index }
            running = running.map { $0 + 1 } ?? 0
        }
        return nil
    }

    /// The name of a record field in the JSON form of docs/events.md (`payload` is `data`).
    static func jsonField(_ field: String) -> String { field == "payload" ? "data" : field }

    static func expectedJSON(_ expected: ExpectedVersion) -> JSONText {
        switch expected {
        case .any: return "any"
        case .noStream: return "noStream"
        case .exact(let version): return JSONText(version)
        }
    }
}

/// One event of a batch that cannot be accepted.
struct BatchError: Error, Sendable, Equatable {
    /// Its index in the batch, from 0.
    var index: Int
    /// Its line in an NDJSON body, from 1.
    var line: Int?
    /// The field at fault (`data.outcome`...), `event` for the whole event, `body` for the body.
    var field: String
    var reason: String
    /// The text is not JSON at all (400) rather than an event that breaks a rule (422).
    var malformed: Bool

    var sentence: String {
        let place = line.map { "event \(index) (line \($0))" } ?? "event \(index)"
        return field == "body" ? shortReason : "\(place): field '\(field)': \(shortReason)"
    }

    /// The reason, cut to 300 characters: a reply never echoes a huge value back many times.
    var shortReason: String { reason.count > 300 ? String(reason.prefix(300)) + "…" : reason }

    var json: JSONText {
        .object([
            ("index", .int(Int64(index))), ("line", line.map { .int(Int64($0)) } ?? .null),
            ("field", .string(field)),
            ("detail", .string(shortReason)),
        ])
    }
}
