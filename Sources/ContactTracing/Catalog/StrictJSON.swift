import Foundation
import Ledger

/// A JSON value as ``StrictJSON`` reads it: object members keep their order, numbers keep the text
/// they were written with (so that an error can quote them exactly).
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number, as written (`-5`, `1.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// An object's members, in the order of the text; keys are unique.
    case object([(key: String, value: JSONValue)])

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value of `key` in an object, or nil.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The JSON type, for messages (`a string`, `a number`, ...).
    package var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as it would be quoted in a message: strings in double quotes, at most 60 characters.
    package var quoted: String {
        let text: String
        switch self {
        case .string(let s): text = EventJSON.quote(s)
        default: text = serialized
        }
        return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }

    /// Compact JSON text of the value.
    package var serialized: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return text
        case .string(let s): return EventJSON.quote(s)
        case .array(let items): return "[" + items.map(\.serialized).joined(separator: ",") + "]"
        case .object(let members):
            return "{"
                + members.map { EventJSON.quote($0.key) + ":" + $0.value.serialized }.joined(separator: ",")
                + "}"
        }
    }
}

/// Where and why a text is not the JSON that ``StrictJSON`` accepts.
package struct StrictJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The dotted path of the member at fault (`stream`, `data.line`), or empty for the text itself.
    var path: String
    /// What is wrong, with the byte offset where it applies.
    var reason: String
    /// The text is not UTF-8 (`reason` names the byte and its offset).
    var notUTF8 = false
    /// The key at `path` is given twice in its object.
    package var duplicateKey = false

    /// `path: reason`, or the reason alone for the text itself.
    package var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// A small, strict JSON reader (RFC 8259) for event lines.
///
/// Unlike `JSONSerialization`, it refuses an object that holds the same key twice (compared after
/// unescaping, so `"stream"` and `"str\u0065am"` are the same key) instead of keeping the last one,
/// and it names the byte offset of the first byte that is not UTF-8.
package enum StrictJSON {
    /// Nesting deeper than this is refused (no event needs more than a few levels).
    static let maxDepth = 64

    /// Parses `bytes` as one JSON value, with nothing but white space around it.
    package static func parse(_ bytes: some Collection<UInt8>) throws(StrictJSONError) -> JSONValue {
        let array = Array(bytes)
        if let bad = firstInvalidUTF8(array) {
            throw StrictJSONError(
                path: "",
                reason:
                    "byte 0x\(hex(array[bad])) at byte offset \(bad) (column \(bad + 1)) is not UTF-8; the input must be UTF-8",
                notUTF8: true)
        }
        var parser = Parser(bytes: array)
        parser.skipSpace()
        let value = try parser.value(path: "", depth: 0)
        parser.skipSpace()
        guard parser.at == array.count else {
            throw parser.error("unexpected text after the JSON value", path: "")
        }
        return value
    }

    /// The offset of the first byte of `bytes` that does not belong to a well-formed UTF-8
    /// sequence (no overlong forms, no surrogates, nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                high = 0x9F
            case 0xF0:
                length = 4
                low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                high = 0x8F
            default: return i
            }
            guard i + 1 < n, (low...high).contains(bytes[i + 1]) else { return i }
            for k in 2..<length {
                guard i + k < n, (0x80...0xBF).contains(bytes[i + k]) else { return i }
            }
            i += length
        }
        return nil
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ reason: String, path: String) -> StrictJSONError {
            StrictJSONError(path: path, reason: "\(reason) at byte offset \(at)")
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func value(path: String, depth: Int) throws(StrictJSONError) -> JSONValue {
            guard depth <= StrictJSON.maxDepth else {
                throw error("nesting deeper than \(StrictJSON.maxDepth) levels", path: path)
            }
            guard at < bytes.count else { throw error("unexpected end of the text", path: path) }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try object(path: path, depth: depth)
            case UInt8(ascii: "["):
                at += 1
                var items = [JSONValue]()
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
                    at += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(path: path + "[\(items.count)]", depth: depth + 1))
                    skipSpace()
                    guard at < bytes.count else { throw error("unexpected end inside an array", path: path) }
                    if bytes[at] == UInt8(ascii: ",") {
                        at += 1
                    } else if bytes[at] == UInt8(ascii: "]") {
                        at += 1
                        return .array(items)
                    } else {
                        throw error("expected ',' or ']' in an array", path: path)
                    }
                }
            case UInt8(ascii: "\""): return .string(try string(path: path))
            case UInt8(ascii: "t"): return try literal("true", .bool(true), path: path)
            case UInt8(ascii: "f"): return try literal("false", .bool(false), path: path)
            case UInt8(ascii: "n"): return try literal("null", .null, path: path)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number(path: path)
            default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[at])))'", path: path)
            }
        }

        mutating func object(path: String, depth: Int) throws(StrictJSONError) -> JSONValue {
            at += 1
            var members = [(key: String, value: JSONValue)]()
            var keys = Set<String>()
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
                at += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else {
                    throw error("expected a key in double quotes", path: path)
                }
                let keyStart = at
                let key = try string(path: path)
                let memberPath = path.isEmpty ? key : path + "." + key
                guard keys.insert(key).inserted else {
                    at = keyStart
                    var duplicate = error(
                        "appears twice in the same object (a key may be given only once)", path: memberPath)
                    duplicate.duplicateKey = true
                    throw duplicate
                }
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else {
                    throw error("expected ':' after a key", path: memberPath)
                }
                at += 1
                skipSpace()
                members.append((key, try value(path: memberPath, depth: depth + 1)))
                skipSpace()
                guard at < bytes.count else { throw error("unexpected end inside an object", path: path) }
                if bytes[at] == UInt8(ascii: ",") {
                    at += 1
                } else if bytes[at] == UInt8(ascii: "}") {
                    at += 1
                    return .object(members)
                } else {
                    throw error("expected ',' or '}' in an object", path: path)
                }
            }
        }

        mutating func literal(_ word: String, _ result: JSONValue, path: String) throws(StrictJSONError)
            -> JSONValue
        {
            let w = Array(word.utf8)
            guard at + w.count <= bytes.count, Array(bytes[at..<at + w.count]) == w else {
                throw error("unexpected character '\(Character(Unicode.Scalar(bytes[at])))'", path: path)
            }
            at += w.count
            return result
        }

        mutating func number(path: String) throws(StrictJSONError) -> JSONValue {
            let start = at
            func digits() -> Int {
                let from = at
                while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) {
                    at += 1
                }
                return at - from
            }
            if bytes[at] == UInt8(ascii: "-") { at += 1 }
            let first = at
            guard digits() > 0 else { throw error("a number needs digits", path: path) }
            if bytes[first] == UInt8(ascii: "0") && at - first > 1 {
                at = first
                throw error("a number may not start with 0", path: path)
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { throw error("a number needs digits after '.'", path: path) }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
                    at += 1
                }
                guard digits() > 0 else { throw error("a number needs digits in its exponent", path: path) }
            }
            return .number(String(decoding: bytes[start..<at], as: UTF8.self))
        }

        /// Reads a string literal starting at its opening quote; the bytes are valid UTF-8 already.
        mutating func string(path: String) throws(StrictJSONError) -> String {
            at += 1
            var out = [UInt8]()
            while true {
                guard at < bytes.count else { throw error("unterminated string", path: path) }
                let b = bytes[at]
                switch b {
                case UInt8(ascii: "\""):
                    at += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    at += 1
                    guard at < bytes.count else { throw error("unterminated string", path: path) }
                    let e = bytes[at]
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4(path: path)
                        if (0xD800...0xDBFF).contains(code) {
                            guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"),
                                bytes[at + 1] == UInt8(ascii: "u")
                            else { throw error("a lone UTF-16 surrogate in \\u escapes", path: path) }
                            at += 2
                            let low = try hex4(path: path)
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw error("a lone UTF-16 surrogate in \\u escapes", path: path)
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw error("a lone UTF-16 surrogate in \\u escapes", path: path)
                        }
                        out.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
                    default:
                        at -= 1
                        throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))'", path: path)
                    }
                case 0..<0x20:
                    throw error(
                        "a control character (byte 0x\(StrictJSON.hex(b))) inside a string", path: path)
                default:
                    out.append(b)
                    at += 1
                }
            }
        }

        mutating func hex4(path: String) throws(StrictJSONError) -> UInt32 {
            guard at + 4 <= bytes.count,
                let code = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16),
                bytes[at..<at + 4].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit })
            else { throw error("\\u needs four hexadecimal digits", path: path) }
            at += 4
            return code
        }
    }
}
