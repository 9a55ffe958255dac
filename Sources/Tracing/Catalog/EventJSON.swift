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

    /// Creates an error.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
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
    public static func decode(line: some Collection<UInt8>) throws(EventJSONError) -> NewEvent {
        let object: [String: Any]
        do {
            guard
                let parsed = try JSONSerialization.jsonObject(with: Data(line), options: []) as? [String: Any]
            else { throw EventJSONError(field: "line", reason: "is not a JSON object") }
            object = parsed
        } catch let error as EventJSONError {
            throw error
        } catch {
            throw EventJSONError(field: "line", reason: "is not valid JSON (\(Self.describe(error)))")
        }
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw EventJSONError(field: unknown, reason: "is not a field of an event")
        }
        func string(_ field: String) throws(EventJSONError) -> String {
            guard let value = object[field] else { throw EventJSONError(field: field, reason: "is missing") }
            guard let text = value as? String else {
                throw EventJSONError(field: field, reason: "must be a string")
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
        let recordedAt = object["recordedAt"] == nil ? nil : try time("recordedAt")
        var schemaVersion: UInt16 = 1
        if let value = object["schemaVersion"] {
            guard let number = value as? NSNumber, let exact = UInt16(exactly: number.doubleValue), exact > 0,
                !isJSONBool(value)
            else {
                throw EventJSONError(field: "schemaVersion", reason: "must be a whole number from 1 to 65535")
            }
            schemaVersion = exact
        }
        var expected = ExpectedVersion.any
        if let value = object["expectedVersion"] {
            if let text = value as? String, text == "any" {
                expected = .any
            } else if let text = value as? String, text == "noStream" {
                expected = .noStream
            } else if let number = value as? NSNumber, !isJSONBool(value),
                let exact = UInt64(exactly: number.doubleValue), number.doubleValue < 9.0e15
            {
                expected = .exact(exact)
            } else {
                throw EventJSONError(
                    field: "expectedVersion", reason: "must be a whole number >= 0, \"any\" or \"noStream\"")
            }
        }
        let payload: [UInt8]
        let data = object["data"] ?? [String: Any]()
        guard data is [String: Any] else {
            throw EventJSONError(field: "data", reason: "must be a JSON object")
        }
        do {
            let json = try JSONSerialization.data(withJSONObject: data, options: [])
            let message = try messageType.init(
                jsonUTF8Bytes: json, extensions: nil, options: JSONDecodingOptions())
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
    public static func encode(_ view: EventView) throws(CatalogError) -> String {
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

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
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

    /// JSON `true`/`false` arrive as NSNumber too; their ObjC type is `c`.
    private static func isJSONBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    private static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
