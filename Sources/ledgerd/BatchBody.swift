import ContactTracing
import Foundation
import Ledger

/// The body of `POST /v1/events`: a JSON array of events, or NDJSON (one event per line), each event
/// in the JSON form of docs/events.md.
enum BatchBody {
    /// The two forms of a batch.
    enum Form: Equatable {
        case array
        case lines
    }

    /// The form a body's `Content-Type` names: `application/json` is an array (or, when the body does
    /// not start with `[`, lines), `application/x-ndjson`, `application/ndjson` and `application/jsonl`
    /// are lines; no type is read from the body's first character.
    static func form(contentType: String?, body: [UInt8]) throws(Problem) -> Form {
        let firstIsBracket = body.first { ![32, 9, 10, 13].contains($0) } == UInt8(ascii: "[")
        guard let contentType else { return firstIsBracket ? .array : .lines }
        let media =
            contentType.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        switch media {
        case "application/json", "": return firstIsBracket ? .array : .lines
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
            return .lines
        default: throw Problem.unsupportedMediaType(contentType)
        }
    }

    /// The events of a body, each checked as `ledgerctl append` checks a line: all the errors found
    /// (at most `maxErrors`), or the events.
    static func events(_ body: [UInt8], form: Form, maxErrors: Int = 20) -> Result<[NewEvent], Problem> {
        var errors = [BatchError]()
        var events = [NewEvent]()
        var decoder = EventBatchDecoder()
        let elements: [(line: Int?, bytes: ArraySlice<UInt8>)]
        switch form {
        case .array:
            switch splitArray(body) {
            case .success(let slices): elements = slices.map { (nil, $0) }
            case .failure(let error): return .failure(.invalid([error]))
            }
        case .lines:
            elements = splitLines(body)
        }
        if elements.isEmpty {
            return .failure(
                .invalid([
                    BatchError(
                        index: 0, line: nil, field: "body", reason: "the batch holds no event",
                        malformed: false)
                ]))
        }
        for (index, element) in elements.enumerated() {
            do throws(EventJSONError) {
                events.append(try decoder.decode(element.bytes, at: "event \(index)"))
            } catch {
                errors.append(
                    BatchError(
                        index: index, line: element.line,
                        field: error.field == "line" ? "event" : error.field,
                        reason: error.reason,
                        malformed: error.malformed))
                if errors.count >= maxErrors { break }
            }
        }
        return errors.isEmpty ? .success(events) : .failure(.invalid(errors))
    }

    /// The non-blank lines of an NDJSON body with their numbers (a `\r` before `\n` is dropped).
    static func splitLines(_ body: [UInt8]) -> [(line: Int?, bytes: ArraySlice<UInt8>)] {
        var out = [(line: Int?, bytes: ArraySlice<UInt8>)]()
        var start = 0
        var number = 0
        while start <= body.count {
            let end = body[start...].firstIndex(of: 10) ?? body.count
            number += 1
            var line = body[start..<end]
            if line.last == 13 { line = line.dropLast() }
            if !line.allSatisfy({ $0 == 32 || $0 == 9 }) { out.append((number, line)) }
            start = end + 1
        }
        return out
    }

    /// The elements of a top-level JSON array, as byte ranges, without parsing them (each is parsed
    /// strictly afterwards). Finds the element boundaries by tracking strings and nesting.
    static func splitArray(_ body: [UInt8]) -> Result<[ArraySlice<UInt8>], BatchError> {
        func fail(_ offset: Int, _ reason: String) -> Result<[ArraySlice<UInt8>], BatchError> {
            .failure(
                BatchError(
                    index: 0, line: nil, field: "body", reason: "byte \(offset): \(reason)", malformed: true))
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
        var i = 0
        while i < body.count, isSpace(body[i]) { i += 1 }
        guard i < body.count, body[i] == UInt8(ascii: "[") else {
            return fail(i, "a JSON array of events must start with '['")
        }
        i += 1
        var elements = [ArraySlice<UInt8>]()
        var start = i
        var depth = 0
        var inString = false
        var escaped = false
        var closed = false
        while i < body.count {
            let byte = body[i]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}") where depth > 0, UInt8(ascii: "]") where depth > 0: depth -= 1
                case UInt8(ascii: ",") where depth == 0, UInt8(ascii: "]"):
                    let element = body[start..<i]
                    let blank = element.allSatisfy(isSpace)
                    if byte == UInt8(ascii: "]") && blank && elements.isEmpty {
                        closed = true
                    } else if blank {
                        return fail(i, "an element of the array is missing")
                    } else {
                        elements.append(element)
                        closed = byte == UInt8(ascii: "]")
                    }
                    start = i + 1
                case UInt8(ascii: "}"):
                    return fail(i, "'}' closes nothing")
                default: break
                }
                if closed { break }
            }
            i += 1
        }
        guard closed else { return fail(body.count, "the array is not closed with ']'") }
        i += 1
        while i < body.count, isSpace(body[i]) { i += 1 }
        if i < body.count { return fail(i, "text after the end of the array") }
        return .success(elements)
    }
}
