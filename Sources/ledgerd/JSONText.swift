import ContactTracing

/// A JSON value written by the service: replies and problem documents are built from these, with
/// keys in the order given (stable replies, easy to read in a log).
enum JSONText: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])
    /// Text that is already JSON (an event in the form of docs/events.md, a statistics row).
    case raw(String)

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(_ value: UInt64) { self = .int(Int64(clamping: value)) }
    init(_ value: Int) { self = .int(Int64(value)) }
    init(_ value: String?) { self = value.map { .string($0) } ?? .null }

    /// The value as compact JSON.
    var rendered: String {
        var out = ""
        out.reserveCapacity(256)
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .string(let text): out += EventJSON.quote(text)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .raw(let text): out += text
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                out += EventJSON.quote(key) + ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }
}
