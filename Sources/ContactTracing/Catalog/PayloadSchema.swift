import Foundation
import Ledger

/// What each event type's `data` object may hold, field by field (docs/events.md).
///
/// The table mirrors the messages of `Protos/tracing/v1/events.proto` (a test checks that they
/// agree). ``EventJSON`` checks `data` against it before SwiftProtobuf sees it, so that every refusal
/// names the subfield and the value: `data.durationSeconds: -5 is negative`.
public enum PayloadSchema {
    /// An enumeration: its accepted names and their numbers (the `_UNSPECIFIED` value 0 is not accepted).
    public struct Enumeration: Sendable {
        /// The proto enum name, for example `LineKind`.
        public let name: String
        /// The accepted names in order, with their numbers.
        public let cases: [(name: String, number: Int)]

        /// The names, comma-separated.
        public var namesList: String { cases.map(\.name).joined(separator: ", ") }
    }

    /// The kind of value a field holds.
    public enum Kind: Sendable {
        /// Free text: a code or a short description of the case's handling; never personal data.
        case text
        /// A list of free-text strings.
        case textList
        /// A stream (case) id: 1–255 UTF-8 bytes, no NUL; checked as the envelope's `stream` is.
        case stream
        /// A person's pseudonym: 32 lowercase hexadecimal digits (docs/privacy.md).
        case pseudonym
        /// A calendar date, `YYYY-MM-DD`.
        case date
        /// One of the enumeration's names (or numbers).
        case enumeration(Enumeration)
        /// A whole number from 0 to 4294967295.
        case uint32
        /// `true` or `false`.
        case bool
        /// A sealed identity: `{"box": base64, "keyVersion": n}`.
        case sealedIdentity
    }

    /// One field of a message.
    public struct Field: Sendable {
        /// Its JSON name (lowerCamelCase).
        public let name: String
        /// What it holds.
        public let kind: Kind
        /// Whether the field must be given.
        public let required: Bool
    }

    /// One message: its fields and the date fields that may not be before another.
    public struct Message: Sendable {
        /// The fields, in proto order.
        public let fields: [Field]
        /// `(earlier, later)`: when both are given, `later` may not be before `earlier`.
        public let dateOrder: [(earlier: String, later: String)]
    }

    static func e(_ name: String, _ names: [String]) -> Enumeration {
        Enumeration(name: name, cases: names.enumerated().map { ($0.element, $0.offset + 1) })
    }

    static let caseRole = e("CaseRole", ["PATIENT_ZERO", "CONTACT", "CO_EXPOSED"])
    static let caseSource = e(
        "CaseSource", ["LAB_FEED", "DECLARED_BY_PATIENT_ZERO", "INBOUND_CALL", "TELESERVICE", "DOCTOR"])
    static let testKind = e("TestKind", ["RT_PCR", "ANTIGEN"])
    static let exposureSetting = e("ExposureSetting", ["HOUSEHOLD", "WORK", "SCHOOL", "CARE", "OTHER"])
    static let callDirection = e("CallDirection", ["OUTBOUND", "INBOUND"])
    static let lineKind = e("LineKind", ["MOBILE", "LANDLINE"])
    static let callOutcome = e(
        "CallOutcome", ["REACHED", "NO_ANSWER", "VOICEMAIL", "WRONG_NUMBER", "CALL_REFUSED"])
    static let closureReason = e(
        "ClosureReason",
        ["ISOLATION_COMPLETED", "UNREACHABLE", "REFUSED", "HANDED_OVER", "PLATFORM_CLOSED", "DUPLICATE"])

    /// Every enumeration, by its proto name.
    public static let enumerations: [String: Enumeration] = Dictionary(
        uniqueKeysWithValues: [
            caseRole, caseSource, testKind, exposureSetting, callDirection, lineKind, callOutcome,
            closureReason,
        ].map { ($0.name, $0) })

    static func f(_ name: String, _ kind: Kind, required: Bool = false) -> Field {
        Field(name: name, kind: kind, required: required)
    }

    /// Every message of the catalog, by type name.
    public static let messages: [String: Message] = [
        "PlatformOpened": Message(
            fields: [f("name", .text), f("sites", .textList), f("openedOn", .date)], dateOrder: []),
        "PolicyChanged": Message(
            fields: [
                f("ruleVersion", .text), f("effectiveOn", .date), f("isolationDaysPatientZero", .uint32),
                f("isolationDaysContact", .uint32), f("contactIsolationRequired", .bool),
                f("outboundCallsStopped", .bool), f("landlineCallsStopped", .bool),
                f("contactNotificationDigitalOnly", .bool), f("note", .text),
            ], dateOrder: []),
        "PlatformClosed": Message(fields: [f("closedOn", .date), f("handoverTo", .text)], dateOrder: []),
        "CaseHandedOver": Message(fields: [f("toPlatform", .text, required: true)], dateOrder: []),
        "PositiveTestReported": Message(
            fields: [
                f("person", .pseudonym, required: true), f("sampleDate", .date), f("resultDate", .date),
                f("kind", .enumeration(testKind)), f("symptomOnset", .date), f("identity", .sealedIdentity),
            ], dateOrder: [("sampleDate", "resultDate")]),
        "CaseOpened": Message(
            fields: [
                f("person", .pseudonym, required: true), f("role", .enumeration(caseRole)),
                f("source", .enumeration(caseSource)), f("patientZeroCase", .stream),
                f("identity", .sealedIdentity), f("phoneKnown", .bool),
            ], dateOrder: []),
        "ContactDeclared": Message(
            fields: [
                f("contactCase", .stream, required: true), f("contactPerson", .pseudonym, required: true),
                f("lastExposureDate", .date), f("setting", .enumeration(exposureSetting)),
            ], dateOrder: []),
        "IsolationPrescribed": Message(
            fields: [f("startDate", .date), f("endDate", .date), f("ruleVersion", .text)],
            dateOrder: [("startDate", "endDate")]),
        "WorkStoppageIssued": Message(
            fields: [f("startDate", .date), f("endDate", .date)], dateOrder: [("startDate", "endDate")]),
        "NurseVisitRequested": Message(fields: [f("note", .text)], dateOrder: []),
        "SocialSupportRequested": Message(fields: [f("kind", .text)], dateOrder: []),
        "ClusterReported": Message(
            fields: [f("clusterRef", .text), f("setting", .enumeration(exposureSetting))], dateOrder: []),
        "CaseClosed": Message(fields: [f("reason", .enumeration(closureReason))], dateOrder: []),
        "CallPlaced": Message(
            fields: [
                f("direction", .enumeration(callDirection)), f("line", .enumeration(lineKind)),
                f("outcome", .enumeration(callOutcome)), f("durationSeconds", .uint32), f("agent", .text),
            ], dateOrder: []),
        "SMSSent": Message(fields: [f("smsRef", .text), f("template", .text)], dateOrder: []),
        "SMSDeliveryReported": Message(fields: [f("smsRef", .text), f("delivered", .bool)], dateOrder: []),
        "LetterSent": Message(fields: [f("template", .text)], dateOrder: []),
        "TeleserviceSubmitted": Message(fields: [f("form", .text)], dateOrder: []),
        "IdentityConsulted": Message(
            fields: [f("person", .pseudonym, required: true), f("actor", .text), f("reason", .text)],
            dateOrder: []),
    ]

    /// Whether `text` has the exact form of a pseudonym: 32 lowercase hexadecimal digits.
    public static func isPseudonym(_ text: String) -> Bool {
        text.utf8.count == 32
            && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Checks `data` of an event of type `type` field by field.
    /// - Throws: ``EventJSONError`` naming `data.FIELD` and its value.
    static func check(type: String, data: JSONValue) throws(EventJSONError) {
        guard let message = messages[type] else { return }
        guard case .object(let members) = data else {
            throw EventJSONError(field: "data", reason: "must be a JSON object, not \(data.typeName)")
        }
        let byName = Dictionary(uniqueKeysWithValues: message.fields.map { ($0.name, $0) })
        for (key, value) in members {
            guard let field = byName[key] else {
                throw EventJSONError(
                    field: "data.\(key)",
                    reason:
                        "is not a field of \(type) (its fields: \(message.fields.map(\.name).joined(separator: ", ")))"
                )
            }
            try check(value, as: field.kind, path: "data.\(key)")
        }
        for field in message.fields where field.required && data[field.name] == nil {
            throw EventJSONError(field: "data.\(field.name)", reason: "is missing; \(type) needs it")
        }
        for (earlier, later) in message.dateOrder {
            if case .string(let a) = data[earlier], case .string(let b) = data[later],
                let start = CivilDate(a), let end = CivilDate(b), end < start
            {
                throw EventJSONError(
                    field: "data.\(later)", reason: "\(b) is before data.\(earlier) \(a)")
            }
        }
    }

    static func check(_ value: JSONValue, as kind: Kind, path: String) throws(EventJSONError) {
        func string() throws(EventJSONError) -> String {
            guard case .string(let text) = value else {
                throw EventJSONError(
                    field: path, reason: "\(value.quoted) is \(value.typeName), not a string")
            }
            return text
        }
        func freeText(_ text: String, path: String) throws(EventJSONError) {
            if let finding = PersonalData.find(in: text) {
                throw EventJSONError(
                    field: path,
                    reason:
                        "holds what looks like \(finding.description) (at character \(finding.offset + 1)); "
                        + "free text must not hold personal data (docs/events.md)")
            }
        }
        switch kind {
        case .text:
            try freeText(try string(), path: path)
        case .textList:
            guard case .array(let items) = value else {
                throw EventJSONError(
                    field: path, reason: "\(value.quoted) is \(value.typeName), not an array of strings")
            }
            for (i, item) in items.enumerated() {
                guard case .string(let text) = item else {
                    throw EventJSONError(
                        field: "\(path)[\(i)]", reason: "\(item.quoted) is \(item.typeName), not a string")
                }
                try freeText(text, path: "\(path)[\(i)]")
            }
        case .stream:
            // Checked as the envelope's stream is, not as free text: a lab's result id in a case id
            // may be a long number.
            let text = try string()
            guard !text.isEmpty else {
                throw EventJSONError(field: path, reason: "\"\" is empty; name a case")
            }
            guard LedgerFormat.normalize(text).utf8.count <= LedgerFormat.maxNameLength,
                !text.utf8.contains(0)
            else {
                throw EventJSONError(
                    field: path,
                    reason:
                        "\(value.quoted) is not a stream id (1–\(LedgerFormat.maxNameLength) bytes, no NUL)")
            }
        case .pseudonym:
            let text = try string()
            guard isPseudonym(text) else {
                // A value that holds personal data is not repeated in the message.
                let shown = PersonalData.find(in: text) == nil ? value.quoted : "the value given"
                throw EventJSONError(
                    field: path,
                    reason:
                        "\(shown) is not a pseudonym (32 lowercase hexadecimal digits, docs/privacy.md); "
                        + "persons are never named in clear")
            }
        case .date:
            let text = try string()
            guard CivilDate(text) != nil else {
                var reason = "\(value.quoted) is not a calendar date in the form YYYY-MM-DD"
                if let iso = PersonalData.frenchDate(text) { reason += " (for DD/MM/YYYY write \(iso))" }
                throw EventJSONError(field: path, reason: reason)
            }
        case .enumeration(let enumeration):
            let accepted = "is not one of \(enumeration.namesList)"
            switch value {
            case .string(let name):
                guard enumeration.cases.contains(where: { $0.name == name }) else {
                    throw EventJSONError(field: path, reason: "\(value.quoted) \(accepted)")
                }
            case .number(let text):
                guard let number = Int(text), enumeration.cases.contains(where: { $0.number == number })
                else {
                    throw EventJSONError(
                        field: path,
                        reason:
                            "\(text) \(accepted) (nor their numbers 1–\(enumeration.cases.count), docs/events.md)"
                    )
                }
            default:
                throw EventJSONError(
                    field: path,
                    reason: "\(value.quoted) is \(value.typeName); give a name: \(enumeration.namesList)")
            }
        case .uint32:
            guard case .number(let text) = value else {
                throw EventJSONError(
                    field: path, reason: "\(value.quoted) is \(value.typeName), not a number")
            }
            if text.hasPrefix("-") {
                throw EventJSONError(field: path, reason: "\(text) is negative")
            }
            guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw EventJSONError(field: path, reason: "\(text) is not a whole number (write digits only)")
            }
            guard let number = UInt32(text) else {
                throw EventJSONError(field: path, reason: "\(text) is more than 4294967295")
            }
            _ = number
        case .bool:
            guard case .bool = value else {
                throw EventJSONError(
                    field: path, reason: "\(value.quoted) is \(value.typeName), not true or false")
            }
        case .sealedIdentity:
            guard case .object(let members) = value else {
                throw EventJSONError(
                    field: path, reason: "\(value.quoted) is \(value.typeName), not a sealed identity object")
            }
            for (key, member) in members {
                switch key {
                case "box":
                    guard case .string(let text) = member, Data(base64Encoded: text) != nil else {
                        throw EventJSONError(
                            field: "\(path).box", reason: "\(member.quoted) is not base64 (the sealed box)")
                    }
                case "keyVersion":
                    try check(member, as: .uint32, path: "\(path).keyVersion")
                default:
                    throw EventJSONError(
                        field: "\(path).\(key)",
                        reason: "is not a field of a sealed identity (box, keyVersion)")
                }
            }
        }
    }
}

/// Recognises the personal data that must never be written in clear into free-text fields: a NIR
/// and a French phone number.
public enum PersonalData {
    /// What was found and where.
    public struct Finding: Equatable, Sendable, CustomStringConvertible {
        /// What it looks like.
        public enum Kind: Equatable, Sendable {
            /// A NIR (numéro de sécurité sociale), 13 characters or 15 with its key.
            case nir
            /// A French phone number.
            case phone
        }
        /// What it looks like.
        public let kind: Kind
        /// The offset, in characters, where it starts.
        public let offset: Int

        /// `a NIR (social security number)` or `a phone number`.
        public var description: String {
            kind == .nir ? "a NIR (social security number)" : "a phone number"
        }
    }

    /// The first NIR or French phone number in `text`, or nil.
    ///
    /// - A NIR: 13 characters (15 with the key), the first 1, 2, 3, 4, 7 or 8, the 6th and 7th digits
    ///   or `2A`/`2B` (Corsica), the others digits; its groups may be separated by single spaces.
    /// - A phone number: `0` then a digit from 1 to 9 and eight more digits (10 in all), or `+33` or
    ///   `0033` then nine digits; the groups may be separated by spaces, dots, dashes or slashes.
    ///
    /// Separators are up to three characters (`06 / 12`, double spaces); any Unicode space (a
    /// no-break space as French typing inserts, a tab) counts as a space, Unicode dashes as a dash, and
    /// full-width digits and plus as their ASCII forms.
    public static func find(in text: String) -> Finding? {
        let chars = text.map(fold)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let startsRun = c.isASCII && (c.isNumber || c == "+")
            if startsRun && (i == 0 || !(chars[i - 1].isASCII && chars[i - 1].isNumber)) {
                if let found = scanRun(chars, from: i) { return found }
            }
            i += 1
        }
        return nil
    }

    /// Looks for a NIR or a phone number in the run of digit groups that starts at `start`.
    private static func scanRun(_ chars: [Character], from start: Int) -> Finding? {
        // Groups of digits (with a 2A/2B letter) and the separator that precedes each.
        var groups = [(text: String, offset: Int, separator: Character?)]()
        var i = start
        var plus = false
        if chars[i] == "+" {
            plus = true
            i += 1
        }
        var separator: Character? = nil
        var collected = 0
        // No NIR or phone number is longer than 15 digits: a longer run need not be read further.
        while i < chars.count && collected <= 16 {
            var group = ""
            let offset = i
            while i < chars.count {
                let c = chars[i]
                if c.isASCII && c.isNumber {
                    group.append(c)
                } else if "AaBb".contains(c), group.last == "2",
                    i + 1 >= chars.count || !(chars[i + 1].isLetter)
                {
                    group.append(Character(c.uppercased()))
                } else {
                    break
                }
                i += 1
            }
            if group.isEmpty { break }
            // Dots and slashes separate the two-digit groups of a phone number (`06.12.34.56.78`,
            // `06/12/34/56/78`); next to a longer group they are a date (`01/05/2020 10 appels`).
            if separator == "." || separator == "/", group.count != 2 || groups.last?.text.count != 2 {
                break
            }
            collected += group.count
            groups.append((group, offset, separator))
            // A separator: one to three of space, dot, dash, slash, then a digit.
            var end = i
            while end < chars.count, end - i < 3, " .-/".contains(chars[end]) { end += 1 }
            guard end > i, end < chars.count, chars[end].isASCII, chars[end].isNumber else { break }
            separator = chars[i..<end].allSatisfy { $0 == " " } ? " " : chars[i..<end].first { $0 != " " }
            i = end
        }
        guard !groups.isEmpty else { return nil }
        for first in groups.indices {
            var joined = ""
            var onlySpaces = true
            for last in first..<groups.count {
                if last > first && groups[last].separator != " " { onlySpaces = false }
                joined += groups[last].text
                if joined.count > 15 { break }
                let offset = groups[first].offset
                if onlySpaces && isNIR(joined) { return Finding(kind: .nir, offset: offset) }
                let digits = Array(joined)
                guard digits.allSatisfy(\.isNumber) else { continue }
                if first == 0 && plus && digits.count == 11 && joined.hasPrefix("33") && digits[2] != "0" {
                    return Finding(kind: .phone, offset: offset - 1)
                }
                if digits.count == 13 && joined.hasPrefix("0033") && digits[4] != "0" {
                    return Finding(kind: .phone, offset: offset)
                }
                if digits.count == 10 && digits[0] == "0" && digits[1] != "0" && !(first == 0 && plus) {
                    return Finding(kind: .phone, offset: offset)
                }
            }
        }
        return nil
    }

    /// The character as the search reads it: Unicode spaces as a space, Unicode dashes as `-`,
    /// full-width digits and plus as ASCII; anything else unchanged (one character for one, so offsets
    /// stay those of the text).
    static func fold(_ c: Character) -> Character {
        guard c.unicodeScalars.count == 1, let scalar = c.unicodeScalars.first else { return c }
        switch scalar.value {
        case 0xFF10...0xFF19: return Character(UnicodeScalar(scalar.value - 0xFF10 + 0x30)!)
        case 0xFF0B: return "+"
        case 0x2010...0x2015, 0x2212, 0xFF0D: return "-"
        case 0xFF0E: return "."
        case 0xFF0F: return "/"
        default: return scalar.properties.isWhitespace ? " " : c
        }
    }

    /// Whether `text` (no spaces) has the form of a NIR, with or without its 2-digit key.
    static func isNIR(_ text: String) -> Bool {
        let c = Array(text)
        guard c.count == 13 || c.count == 15, "123478".contains(c[0]) else { return false }
        for (i, ch) in c.enumerated() {
            if i == 5, ch == "2", c[6] == "A" || c[6] == "B" { continue }
            if i == 6, c[5] == "2", ch == "A" || ch == "B" { continue }
            guard ch.isASCII && ch.isNumber else { return false }
        }
        return true
    }

    /// `2020-05-12` for a `12/05/2020` text that is a real date written day first, else nil.
    public static func frenchDate(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 2, parts[1].count == 2, parts[2].count == 4 else {
            return nil
        }
        let iso = "\(parts[2])-\(parts[1])-\(parts[0])"
        return CivilDate(iso) == nil ? nil : iso
    }
}
