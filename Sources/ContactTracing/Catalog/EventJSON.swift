import Foundation
import LMDB
import Ledger
import SwiftProtobuf

/// A JSON event line that cannot be read, with the field at fault.
public struct EventJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field at fault (`id`, `data.outcome`, ...), or `line` for the whole line.
    public var field: String
    /// What is wrong with it.
    public var reason: String
    /// The text is not JSON (or not UTF-8) at all, rather than JSON that breaks a rule of events:
    /// the service answers 400 for the first, 422 for the second.
    public var malformed: Bool

    /// Creates an error.
    public init(field: String, reason: String, malformed: Bool = false) {
        self.field = field
        self.reason = reason
        self.malformed = malformed
    }

    /// `field 'F': reason`.
    public var description: String { "field '\(field)': \(reason)" }
}

/// The JSON form of events: one object per line (NDJSON), as documented in docs/events.md.
///
/// ```json
/// {"id":"…","stream":"cpam-34/p0/1","type":"CallPlaced","platform":"cpam-34",
///  "occurredAt":"2020-05-12T09:30:00Z","recordedAt":"2020-05-12T09:31:02Z","schemaVersion":1,
///  "expectedVersion":2,"data":{"direction":"OUTBOUND","line":"MOBILE","outcome":"REACHED"}}
/// ```
///
/// `data` is the protobuf JSON mapping of the type's message. `position` and `streamVersion`, which
/// `export` writes, are ignored on reading. `expectedVersion` is a number, `"any"` or `"noStream"`.
public enum EventJSON {
    private static let known: Set<String> = [
        "id", "stream", "type", "platform", "occurredAt", "recordedAt", "schemaVersion", "expectedVersion",
        "data", "position", "streamVersion", "hash",
    ]

    /// Parses one JSON line into an event to append.
    ///
    /// The line must be UTF-8 and one JSON object with each key at most once; `data` is checked
    /// field by field against ``PayloadSchema`` (dates, enumeration names, numbers, pseudonyms, no
    /// personal data in free text), so that an error names the subfield and its value.
    public static func decode(line: some Collection<UInt8>) throws(EventJSONError) -> NewEvent {
        let value: JSONValue
        do {
            value = try StrictJSON.parse(line)
        } catch {
            if error.notUTF8 { throw EventJSONError(field: "line", reason: error.reason, malformed: true) }
            if error.duplicateKey { throw EventJSONError(field: error.path, reason: error.reason) }
            throw EventJSONError(
                field: error.path.isEmpty ? "line" : error.path, reason: "is not valid JSON: \(error.reason)",
                malformed: true)
        }
        guard case .object(let members) = value else {
            throw EventJSONError(field: "line", reason: "is not a JSON object but \(value.typeName)")
        }
        if let unknown = members.map(\.key).first(where: { !known.contains($0) }) {
            throw EventJSONError(field: unknown, reason: "is not a field of an event")
        }
        func string(_ field: String) throws(EventJSONError) -> String {
            guard let member = value[field] else { throw EventJSONError(field: field, reason: "is missing") }
            guard case .string(let text) = member else {
                throw EventJSONError(field: field, reason: "must be a string, not \(member.typeName)")
            }
            return text
        }
        func time(_ field: String) throws(EventJSONError) -> Timestamp {
            let text = try string(field)
            guard let time = Timestamp(text) else {
                throw EventJSONError(
                    field: field,
                    reason:
                        "'\(text)' is not an RFC 3339 time between 1900 and 9999 (e.g. 2020-05-12T09:30:00Z)")
            }
            return time
        }
        let idText = try string("id")
        guard let id = UUID(uuidString: idText) else {
            throw EventJSONError(field: "id", reason: "'\(idText)' is not a UUID")
        }
        let type = try string("type")
        guard let messageType = EventCatalog.messageTypes[type] else {
            throw EventJSONError(field: "type", reason: CatalogError.unknownType(type).description)
        }
        let occurredAt = try time("occurredAt")
        let recordedAt = value["recordedAt"] == nil ? nil : try time("recordedAt")
        var schemaVersion: UInt16 = 1
        if let member = value["schemaVersion"] {
            guard case .number(let text) = member, let exact = UInt16(text), exact > 0 else {
                throw EventJSONError(
                    field: "schemaVersion", reason: "\(member.quoted) is not a whole number from 1 to 65535")
            }
            schemaVersion = exact
        }
        // The data below is read with this build's message for the type, so the record can only
        // claim that version (docs/events.md, "Schema evolution").
        let current = UpcasterRegistry.standard.currentVersion(of: type)
        guard schemaVersion == current else {
            let relation = schemaVersion > current ? "newer than" : "older than"
            throw EventJSONError(
                field: "schemaVersion",
                reason:
                    "\(schemaVersion) is \(relation) this build's version of \(type) (\(current)); "
                    + "the JSON form carries data of the current version only")
        }
        var expected = ExpectedVersion.any
        if let member = value["expectedVersion"] {
            if case .string("any") = member {
                expected = .any
            } else if case .string("noStream") = member {
                expected = .noStream
            } else if case .number(let text) = member, let exact = UInt64(text), exact < 9_000_000_000_000_000
            {
                expected = .exact(exact)
            } else {
                throw EventJSONError(
                    field: "expectedVersion",
                    reason: "\(member.quoted) is not a whole number >= 0, \"any\" or \"noStream\"")
            }
        }
        let data = value["data"] ?? .object([])
        guard case .object = data else {
            throw EventJSONError(field: "data", reason: "must be a JSON object, not \(data.typeName)")
        }
        try PayloadSchema.check(type: type, data: data)
        let payload: [UInt8]
        do {
            let message = try messageType.init(
                // Strings of the payload (case ids, notes) in NFC, like names (docs/format.md).
                jsonUTF8Bytes: Array(LedgerFormat.normalize(data.serialized).utf8), extensions: nil,
                options: JSONDecodingOptions())
            payload = try message.serializedBytes()
        } catch {
            throw EventJSONError(field: "data", reason: "is not a valid \(type): \(describe(error))")
        }
        let event = NewEvent(
            id: id, stream: try string("stream"), type: type, platform: try string("platform"),
            occurredAt: occurredAt, recordedAt: recordedAt, schemaVersion: schemaVersion, payload: payload,
            expectedVersion: expected)
        do {
            try EventLog.validate([event])
        } catch {
            if case .invalidEvent(_, let field, let reason) = error {
                throw EventJSONError(field: field, reason: reason)
            }
            throw EventJSONError(field: "line", reason: error.description)
        }
        return event
    }

    /// Writes a stored event as one JSON line (no newline), with stable key order.
    public static func encode(_ view: borrowing EventView) throws(CatalogError) -> String {
        let message = try EventCatalog.decode(type: view.type, payload: view.payload)
        let data: String
        do {
            data = try message.jsonString()
        } catch {
            throw .badPayload(type: view.type, reason: String(describing: error))
        }
        var line = "{\"position\":\(view.position),\"id\":\"\(view.id.uuidString.lowercased())\""
        line += ",\"stream\":\(quote(view.stream)),\"streamVersion\":\(view.streamVersion)"
        line += ",\"type\":\(quote(view.type)),\"platform\":\(quote(view.platform))"
        line += ",\"occurredAt\":\"\(view.occurredAt)\",\"recordedAt\":\"\(view.recordedAt)\""
        line += ",\"schemaVersion\":\(view.schemaVersion),\"data\":\(data)}"
        return line
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    public static func quote(_ text: String) -> String {
        // Most names and ids need no escape: copy them whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// Decodes the events of one batch (an `append` input, a `POST /v1/events` body), each with
/// ``EventJSON/decode(line:)``, and refuses an id given twice in the batch with other content.
public struct EventBatchDecoder {
    /// Ids seen so far, with where they were (`line 3`, `event 0`) and their event.
    private var seen: [UUID: (place: String, event: NewEvent)] = [:]

    /// Creates a decoder for a new batch.
    public init() {}

    /// Decodes one element of the batch found at `place` (named in the message of a later duplicate).
    public mutating func decode(_ bytes: some Collection<UInt8>, at place: String) throws(EventJSONError)
        -> NewEvent
    {
        let event = try EventJSON.decode(line: bytes)
        if let first = seen[event.id], first.event != event {
            throw EventJSONError(field: "id", reason: "is also the id of \(first.place) with other content")
        }
        seen[event.id] = (place, event)
        return event
    }
}
