import Foundation
import Ledger
import Testing

@testable import ledgerd

/// One event line in the JSON form of docs/events.md.
func eventJSON(
    id: String = UUID().uuidString, stream: String = "cpam-34/p0/1", expected: String = "\"any\"",
    outcome: String = "REACHED"
) -> String {
    #"{"id":"\#(id)","stream":"\#(stream)","type":"CallPlaced","platform":"cpam-34","occurredAt":"2020-05-12T09:30:00Z","expectedVersion":\#(expected),"data":{"direction":"OUTBOUND","line":"MOBILE","outcome":"\#(outcome)"}}"#
}

@Suite("ledgerd: the body of POST /v1/events")
struct BatchBodyTests {
    func split(_ text: String) -> Result<[String], BatchError> {
        BatchBody.splitArray(Array(text.utf8)).map { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test("an array is split at its top-level commas only, whatever strings and nesting hold")
    func splitsTopLevelElements() throws {
        let text = #" [ {"a":"x,]}\"{","b":[1,{"c":2}]} , {"d":{}} ] "#
        let elements = try split(text).get()
        #expect(
            elements.map { $0.trimmingCharacters(in: .whitespaces) } == [
                #"{"a":"x,]}\"{","b":[1,{"c":2}]}"#, #"{"d":{}}"#,
            ])
        #expect(try split("[]").get().isEmpty)
        #expect(try split(" [ \n ] \n").get().isEmpty)
    }

    @Test("a broken array names the byte where it breaks")
    func brokenArrays() {
        for (text, reason) in [
            ("[{},,{}]", "byte 4: an element of the array is missing"),
            ("[{},]", "byte 4: an element of the array is missing"),
            ("[{}", "byte 3: the array is not closed with ']'"),
            ("[{}] x", "byte 5: text after the end of the array"),
            ("{}", "byte 0: a JSON array of events must start with '['"),
            ("[}]", "byte 1: '}' closes nothing"),
        ] {
            guard case .failure(let error) = split(text) else {
                Issue.record("\(text) was accepted")
                continue
            }
            #expect(error.reason == reason, "\(text)")
            #expect(error.malformed)
        }
    }

    @Test("the form comes from Content-Type, else from the body's first character; other types are 415")
    func forms() throws {
        let array = Array("  [".utf8)
        let lines = Array("{}".utf8)
        #expect(try BatchBody.form(contentType: nil, body: array) == .array)
        #expect(try BatchBody.form(contentType: nil, body: lines) == .lines)
        #expect(try BatchBody.form(contentType: "application/json; charset=utf-8", body: array) == .array)
        #expect(try BatchBody.form(contentType: "application/x-ndjson", body: array) == .lines)
        #expect(try BatchBody.form(contentType: "Application/NDJSON", body: lines) == .lines)
        #expect(throws: Problem.self) { try BatchBody.form(contentType: "text/plain", body: lines) }
        do {
            _ = try BatchBody.form(contentType: "application/x-www-form-urlencoded", body: lines)
        } catch {
            #expect(error.status.code == 415)
            #expect(error.detail.contains("application/x-ndjson"))
        }
    }

    @Test("NDJSON lines keep their numbers; blank lines and CR are ignored")
    func lineNumbers() throws {
        let body = "\n" + eventJSON() + "\r\n  \n" + eventJSON(outcome: "MAYBE") + "\n"
        guard case .failure(let problem) = BatchBody.events(Array(body.utf8), form: .lines) else {
            Issue.record("accepted")
            return
        }
        #expect(problem.status.code == 422)
        #expect(problem.name == "invalid-event")
        #expect(problem.detail.hasPrefix("event 1 (line 4): field 'data.outcome': \"MAYBE\" is not one of"))
        let errors = problem.document.rendered
        #expect(errors.contains(#""errors":[{"index":1,"line":4,"field":"data.outcome""#), "\(errors)")
    }

    @Test("text that is not JSON is 400; JSON that breaks a rule of events is 422; every error is listed")
    func malformedVersusInvalid() throws {
        let body = "[" + eventJSON() + ", {\"id\": tru}, 7]"
        guard case .failure(let problem) = BatchBody.events(Array(body.utf8), form: .array) else {
            Issue.record("accepted")
            return
        }
        // One element is not JSON and one is JSON but not an event: the batch is not only malformed.
        #expect(problem.status.code == 422)
        let rendered = problem.document.rendered
        #expect(rendered.contains(#"{"index":1,"line":null,"field":"id""#), "\(rendered)")
        #expect(
            rendered.contains(
                #"{"index":2,"line":null,"field":"event","detail":"is not a JSON object but a number"}"#),
            "\(rendered)")
        guard case .failure(let syntax) = BatchBody.events(Array("{\"id\": tru}".utf8), form: .lines) else {
            Issue.record("accepted")
            return
        }
        #expect(syntax.status.code == 400)
        #expect(syntax.name == "malformed-json")
    }

    @Test("an id given twice in one batch with other content is refused at its second index")
    func duplicateIDInBatch() throws {
        let id = UUID().uuidString
        let same = "[" + eventJSON(id: id) + "," + eventJSON(id: id) + "]"
        #expect(try BatchBody.events(Array(same.utf8), form: .array).get().count == 2)
        let other = "[" + eventJSON(id: id) + "," + eventJSON(id: id, outcome: "NO_ANSWER") + "]"
        guard case .failure(let problem) = BatchBody.events(Array(other.utf8), form: .array) else {
            Issue.record("accepted")
            return
        }
        #expect(problem.detail.hasPrefix("event 1: field 'id': is also the id of event 0 with other content"))
    }

    @Test("an empty batch is refused")
    func emptyBatch() {
        for (body, form) in [("[]", BatchBody.Form.array), ("\n\n", .lines)] {
            guard case .failure(let problem) = BatchBody.events(Array(body.utf8), form: form) else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(problem.status.code == 422)
            #expect(problem.detail.hasPrefix("the batch holds no event"))
        }
    }
}
