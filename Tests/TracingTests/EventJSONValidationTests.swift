import Foundation
import Ledger
import TestSupport
import Testing

@testable import ContactTracing

/// An event line of type `type` whose `data` is the given JSON text.
private func eventLine(_ type: String = "CallPlaced", data: String, envelope: String = "") -> [UInt8] {
    Array(
        (#"{"id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","stream":"cpam-34/p0/1","type":"\#(type)","#
            + #""platform":"cpam-34","occurredAt":"2020-05-12T09:30:00Z"\#(envelope),"data":\#(data)}"#).utf8)
}

/// The error `EventJSON.decode` throws for `line`, or nil when it accepts it.
private func refusal(_ line: [UInt8]) -> EventJSONError? {
    do {
        _ = try EventJSON.decode(line: line)
        return nil
    } catch {
        return error
    }
}

private let pseudonym = "0123456789abcdef0123456789abcdef"

@Suite("Event lines: payloads are checked field by field")
struct EventJSONValidationTests {
    @Test(
        "a payload date must be a real YYYY-MM-DD calendar date",
        arguments: ["2020-13-45", "12/05/2020", "2020-02-30", "2020-5-12", "", "2020-05-12T00:00:00Z"])
    func payloadDatesAreCalendarDates(_ text: String) throws {
        let error = try #require(
            refusal(
                eventLine("IsolationPrescribed", data: #"{"startDate":"\#(text)","endDate":"2020-05-20"}"#)))
        #expect(error.field == "data.startDate")
        #expect(error.reason.contains("\"\(text)\" is not a calendar date in the form YYYY-MM-DD"))
        #expect(
            refusal(
                eventLine("IsolationPrescribed", data: #"{"startDate":"2020-05-12","endDate":"2020-05-20"}"#))
                == nil)
    }

    @Test("a DD/MM/YYYY payload date is refused with the date it should be written as")
    func frenchDateHint() throws {
        let error = try #require(
            refusal(eventLine("WorkStoppageIssued", data: #"{"startDate":"12/05/2020"}"#)))
        #expect(error.reason.contains("write 2020-05-12"))
    }

    @Test("an end date before its start date is refused, naming both")
    func endBeforeStart() throws {
        for type in ["IsolationPrescribed", "WorkStoppageIssued"] {
            let error = try #require(
                refusal(eventLine(type, data: #"{"startDate":"2020-05-12","endDate":"2020-05-01"}"#)))
            #expect(error.field == "data.endDate")
            #expect(error.reason == "2020-05-01 is before data.startDate 2020-05-12")
        }
        let sample = try #require(
            refusal(
                eventLine(
                    "PositiveTestReported",
                    data: #"{"person":"\#(pseudonym)","sampleDate":"2020-05-12","resultDate":"2020-05-10"}"#))
        )
        #expect(sample.field == "data.resultDate")
        #expect(
            refusal(
                eventLine("IsolationPrescribed", data: #"{"startDate":"2020-05-12","endDate":"2020-05-12"}"#))
                == nil)
    }

    @Test("an enumeration takes only its documented names or their numbers")
    func enumerationsAreDocumentedNamesOnly() throws {
        let seven = try #require(refusal(eventLine(data: #"{"line":7}"#)))
        #expect(seven.field == "data.line")
        #expect(seven.reason.hasPrefix("7 is not one of MOBILE, LANDLINE"))
        let fax = try #require(refusal(eventLine(data: #"{"line":"FAX"}"#)))
        #expect(fax.description == #"field 'data.line': "FAX" is not one of MOBILE, LANDLINE"#)
        #expect(refusal(eventLine(data: #"{"line":"LINE_KIND_UNSPECIFIED"}"#)) != nil)
        #expect(refusal(eventLine(data: #"{"line":0}"#)) != nil)
        #expect(refusal(eventLine(data: #"{"line":"mobile"}"#)) != nil)
        let byName = try EventJSON.decode(line: eventLine(data: #"{"line":"LANDLINE"}"#))
        let byNumber = try EventJSON.decode(line: eventLine(data: #"{"line":2}"#))
        #expect(byName.payload == byNumber.payload)
    }

    @Test("numbers name the subfield and the value")
    func numbersNameSubfieldAndValue() throws {
        #expect(
            refusal(eventLine(data: #"{"durationSeconds":-5}"#))?.description
                == "field 'data.durationSeconds': -5 is negative")
        #expect(refusal(eventLine(data: #"{"durationSeconds":1.5}"#))?.field == "data.durationSeconds")
        #expect(refusal(eventLine(data: #"{"durationSeconds":"420"}"#))?.reason.contains("\"420\"") == true)
        #expect(
            refusal(eventLine(data: #"{"durationSeconds":4294967296}"#))?.reason.contains("4294967296")
                == true)
        #expect(refusal(eventLine(data: #"{"delivered":1}"#))?.field == "data.delivered")
        #expect(refusal(eventLine(data: #"{"colour":"red"}"#))?.field == "data.colour")
    }

    @Test("a key given twice is refused, at top level and inside data, even when spelled with escapes")
    func duplicateKeysAreRefused() throws {
        let top = Array(
            #"{"id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","stream":"a","stream":"b","type":"CallPlaced","platform":"p","occurredAt":"2020-05-12T09:30:00Z"}"#
                .utf8)
        #expect(refusal(top)?.field == "stream")
        #expect(refusal(top)?.reason.contains("appears twice") == true)
        #expect(refusal(eventLine(data: #"{"line":"MOBILE","line":"LANDLINE"}"#))?.field == "data.line")
        #expect(refusal(eventLine(data: #"{"agent":"a","ag\u0065nt":"b"}"#))?.field == "data.agent")
        // A key inside a string is not a key.
        #expect(refusal(eventLine(data: #"{"agent":"x\",\"agent\":\"y"}"#)) == nil)
        #expect(refusal(eventLine(data: #"{"agent":"back\\","outcome":"REACHED"}"#)) == nil)
    }

    @Test("person and contactPerson must be pseudonyms; personal data is not repeated in the error")
    func personsArePseudonyms() throws {
        let clear = try #require(
            refusal(eventLine("CaseOpened", data: #"{"person":"Jean Dupont 1 84 12 34 567 890"}"#)))
        #expect(clear.field == "data.person")
        #expect(clear.reason.contains("is not a pseudonym"))
        #expect(!clear.description.contains("Dupont"))
        for bad in [String(pseudonym.uppercased()), pseudonym + "0", "p-1", ""] {
            #expect(
                refusal(eventLine("IdentityConsulted", data: #"{"person":"\#(bad)"}"#))?.field
                    == "data.person")
        }
        #expect(refusal(eventLine("CaseOpened", data: #"{"role":"CONTACT"}"#))?.field == "data.person")
        let contact = try #require(
            refusal(
                eventLine(
                    "ContactDeclared", data: #"{"contactCase":"cpam-34/contact/1-1","contactPerson":"Jean"}"#)
            ))
        #expect(contact.field == "data.contactPerson")
        #expect(
            refusal(eventLine("CaseOpened", data: #"{"person":"\#(pseudonym)","role":"CONTACT"}"#)) == nil)
    }

    @Test(
        "free text holding a NIR or a French phone number is refused",
        arguments: [
            "Jean Dupont 1 84 12 34 567 890", "2 84 12 76 451 089 93", "184127645108946",
            "2 84 12 2A 451 089 46",
            "rappeler au 06 12 34 56 78", "tel 0612345678", "06.12.34.56.78", "06-12-34-56-78",
            "+33 6 12 34 56 78",
            "+33612345678", "0033 6 12 34 56 78",
            // As typed on other keyboards and by French typing: no-break spaces, slashes, full-width
            // digits, spaced dashes, double spaces, a narrow no-break space in a NIR.
            "06\u{A0}12\u{A0}34\u{A0}56\u{A0}78", "06/12/34/56/78",
            "\u{FF10}\u{FF16} \u{FF11}\u{FF12} \u{FF13}\u{FF14} \u{FF15}\u{FF16} \u{FF17}\u{FF18}",
            "06 - 12 - 34 - 56 - 78", "06  12  34  56  78", "1\u{202F}84 12 34 567 890",
            "06\u{2013}12\u{2013}34\u{2013}56\u{2013}78",
        ])
    func freeTextHoldsNoPersonalData(_ text: String) throws {
        let error = try #require(refusal(eventLine("NurseVisitRequested", data: #"{"note":"\#(text)"}"#)))
        #expect(error.field == "data.note")
        #expect(error.reason.contains("personal data"))
        #expect(!error.description.contains(text))
        #expect(refusal(eventLine(data: #"{"agent":"\#(text)"}"#))?.field == "data.agent")
    }

    @Test("a phone number separated by tabs or line breaks is found (they cannot appear raw in JSON)")
    func phoneNumberAcrossControlSpaces() {
        #expect(PersonalData.find(in: "06\t12\t34\t56\t78")?.kind == .phone)
        #expect(PersonalData.find(in: "appeler le\n06 12 34 56 78")?.offset == 11)
    }

    @Test(
        "free text with ordinary numbers is accepted",
        arguments: [
            "agent-17", "ars-34-2020-05-12-123", "14 days of isolation", "sms-1234567", "2020-05-12",
            "isolation shortened from 14 to 7 days", "p0-sans-telephone", "MARKER-XYZ-123",
            "le 01/05/2020 10 appels", "rappel 01.05.2020 10 h", "séance 12/05/2020  14 h 30",
        ])
    func freeTextWithOrdinaryNumbers(_ text: String) {
        #expect(PersonalData.find(in: text) == nil)
        #expect(refusal(eventLine("NurseVisitRequested", data: #"{"note":"\#(text)"}"#)) == nil)
    }

    @Test("an empty or missing contactCase is refused")
    func contactCaseIsRequired() throws {
        let empty = try #require(
            refusal(
                eventLine("ContactDeclared", data: #"{"contactCase":"","contactPerson":"\#(pseudonym)"}"#)))
        #expect(empty.field == "data.contactCase")
        #expect(
            refusal(eventLine("ContactDeclared", data: #"{"contactPerson":"\#(pseudonym)"}"#))?.field
                == "data.contactCase")
        #expect(
            refusal(
                eventLine(
                    "ContactDeclared",
                    data:
                        #"{"contactCase":"cpam-34/contact/1-1","contactPerson":"\#(pseudonym)","setting":"WORK"}"#
                ))
                == nil)
    }

    @Test("a case id is checked as a stream id, not as free text: a long numeric result id is accepted")
    func caseIdsAreStreamIds() {
        #expect(
            refusal(
                eventLine(
                    "CaseOpened",
                    data: #"{"person":"\#(pseudonym)","patientZeroCase":"cpam-34/p0/2021030212345"}"#))
                == nil)
    }

    @Test("invalid UTF-8 names its byte offset, not a Foundation error code")
    func invalidUTF8NamesTheByte() throws {
        let error = try #require(refusal([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]))
        #expect(error.field == "line")
        #expect(error.reason.contains("byte 0xFF at byte offset 2"))
        #expect(!error.description.contains("NSCocoaErrorDomain"))
        #expect(!(refusal(Array("{not json".utf8))?.description.contains("NSCocoaErrorDomain") ?? true))
    }

    @Test("the payload schema lists exactly the fields and enumeration values of events.proto")
    func schemaMatchesTheProto() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protos/tracing/v1/events.proto")
        let proto = try String(contentsOf: url, encoding: .utf8)
        var messages = [String: [String]]()
        var enums = [String: [String]]()
        var current: (name: String, isEnum: Bool)?
        for raw in proto.split(separator: "\n") {
            let line =
                raw.split(separator: "//", omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            let words = line.split(separator: " ").map(String.init)
            if words.count >= 2 && (words[0] == "message" || words[0] == "enum") {
                current = (words[1], words[0] == "enum")
            } else if line == "}" {
                current = nil
            } else if let current, line.hasSuffix(";"), let equals = words.firstIndex(of: "=") {
                let name = words[equals - 1]
                if current.isEnum {
                    if !name.hasSuffix("_UNSPECIFIED") { enums[current.name, default: []].append(name) }
                } else {
                    let parts = name.split(separator: "_")
                    let camel = parts.enumerated().map {
                        $0.offset == 0 ? String($0.element) : $0.element.capitalized
                    }
                    .joined()
                    messages[current.name, default: []].append(camel)
                }
            }
        }
        messages["SealedIdentity"] = nil
        #expect(Set(messages.keys) == Set(PayloadSchema.messages.keys))
        #expect(Set(messages.keys) == Set(EventCatalog.messageTypes.keys))
        for (type, fields) in messages {
            #expect(PayloadSchema.messages[type]?.fields.map(\.name) == fields, "\(type)")
        }
        for (name, values) in enums {
            #expect(PayloadSchema.enumerations[name]?.cases.map(\.name) == values, "\(name)")
        }
    }
}
