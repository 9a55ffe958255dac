import Crypto
import Foundation
import LMDB
import Ledger

/// A row of a lab-results extract that cannot be imported, with where and why.
public struct ImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The 1-based line of the file where the row starts.
    public var line: Int
    /// The column at fault, or `row`.
    public var field: String
    /// What is wrong.
    public var reason: String

    /// `line N: field 'F': reason`.
    public var description: String { "line \(line): field '\(field)': \(reason)" }
}

/// Positive lab results in CSV, shaped like SI-DEP extracts (docs/import.md), turned into the events
/// that open patient zéro cases: `PositiveTestReported` then `CaseOpened` (source: lab feed).
///
/// The NIR gives the pseudonym; the identity columns are sealed and never stored in clear. Event ids
/// are derived from the platform and the result id, so that importing a file twice changes nothing.
public enum LabResultsCSV {
    /// The columns, in any order; `symptom_onset`, `phone` and `address` may be empty.
    public static let columns = [
        "result_id", "platform", "nir", "last_name", "first_name", "birth_date", "phone", "address",
        "sample_date",
        "result_at", "test_kind", "symptom_onset",
    ]

    /// One parsed row.
    public struct Row: Sendable, Equatable {
        /// The line where the row starts.
        public var line: Int
        /// The lab's result id.
        public var resultID: String
        /// The platform that follows the case.
        public var platform: String
        /// The identity.
        public var identity: Identity
        /// Sample date.
        public var sampleDate: CivilDate
        /// When the result came out.
        public var resultAt: Timestamp
        /// RT-PCR or antigen.
        public var kind: Tracing_V1_TestKind
        /// Symptom onset, when known.
        public var symptomOnset: CivilDate?

        /// The case opened for this result.
        public var caseID: String { "\(platform)/p0/\(resultID)" }

        /// The deterministic id of the `index`-th event of the row.
        public func eventID(_ index: Int) -> UUID {
            UUID(deterministic: SHA256.hash(data: Data("sidep:\(platform):\(resultID):\(index)".utf8)))
        }
    }

    /// Parses a whole file; every bad row is reported (up to `maxErrors`), none is skipped silently.
    public static func parse(_ data: Data, maxErrors: Int = 50) -> (rows: [Row], errors: [ImportError]) {
        guard let text = String(data: data, encoding: .utf8) else {
            return ([], [ImportError(line: 1, field: "row", reason: "the file is not valid UTF-8")])
        }
        var records = CSVReader(text).records()
        guard !records.isEmpty else {
            return ([], [ImportError(line: 1, field: "row", reason: "the file is empty")])
        }
        let header = records.removeFirst().fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index = [String: Int]()
        for (i, name) in header.enumerated() { index[name] = i }
        if let missing = columns.first(where: { index[$0] == nil }) {
            return ([], [ImportError(line: 1, field: missing, reason: "column is missing from the header")])
        }
        var rows = [Row]()
        var errors = [ImportError]()
        var seen = [String: Int]()
        for record in records {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            do {
                let row = try parseRow(record, header: header, index: index)
                if let first = seen[row.platform + "\u{0}" + row.resultID] {
                    throw ImportError(
                        line: record.line, field: "result_id",
                        reason: "'\(row.resultID)' is also on line \(first)")
                }
                seen[row.platform + "\u{0}" + row.resultID] = record.line
                rows.append(row)
            } catch let error as ImportError {
                errors.append(error)
                if errors.count >= maxErrors { break }
            } catch {
                errors.append(ImportError(line: record.line, field: "row", reason: String(describing: error)))
            }
        }
        return (rows, errors)
    }

    private static func parseRow(_ record: CSVReader.Record, header: [String], index: [String: Int]) throws
        -> Row
    {
        guard record.fields.count == header.count else {
            throw ImportError(
                line: record.line, field: "row",
                reason: "has \(record.fields.count) fields where the header has \(header.count)")
        }
        func value(_ name: String, required: Bool = true) throws -> String {
            let text = record.fields[index[name]!].trimmingCharacters(in: .whitespaces)
            if required && text.isEmpty {
                throw ImportError(line: record.line, field: name, reason: "is empty")
            }
            guard text.utf8.count <= 255 else {
                throw ImportError(line: record.line, field: name, reason: "is longer than 255 bytes")
            }
            return text
        }
        func date(_ name: String, required: Bool = true) throws -> CivilDate? {
            let text = try value(name, required: required)
            if text.isEmpty { return nil }
            guard let date = CivilDate(text) else {
                throw ImportError(
                    line: record.line, field: name, reason: "'\(text)' is not a YYYY-MM-DD date")
            }
            return date
        }
        let nir = try value("nir").filter { !$0.isWhitespace }.uppercased()
        guard nir.count == 15, nir.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "A" || $0 == "B") })
        else {
            throw ImportError(line: record.line, field: "nir", reason: "is not a 15-character NIR")
        }
        let resultText = try value("result_at")
        guard let resultAt = Timestamp(resultText) else {
            throw ImportError(
                line: record.line, field: "result_at", reason: "'\(resultText)' is not an RFC 3339 time")
        }
        let kindText = try value("test_kind").uppercased()
        let kind: Tracing_V1_TestKind
        switch kindText {
        case "RT-PCR", "RT_PCR", "PCR": kind = .rtPcr
        case "ANTIGEN", "ANTIGENIQUE", "TAG": kind = .antigen
        default:
            throw ImportError(
                line: record.line, field: "test_kind", reason: "'\(kindText)' is not RT-PCR or ANTIGEN")
        }
        let sample = try date("sample_date")!
        guard sample.start <= resultAt else {
            throw ImportError(line: record.line, field: "sample_date", reason: "is after the result")
        }
        let birth = try value("birth_date")
        guard CivilDate(birth) != nil else {
            throw ImportError(
                line: record.line, field: "birth_date", reason: "'\(birth)' is not a YYYY-MM-DD date")
        }
        let phone = try value("phone", required: false)
        let address = try value("address", required: false)
        return Row(
            line: record.line, resultID: try value("result_id"), platform: try value("platform"),
            identity: Identity(
                nir: nir, lastName: try value("last_name"), firstName: try value("first_name"),
                birthDate: birth,
                phone: phone.isEmpty ? nil : phone, address: address.isEmpty ? nil : address),
            sampleDate: sample, resultAt: resultAt, kind: kind,
            symptomOnset: try date("symptom_onset", required: false))
    }

    /// The events of a row, with its identity sealed by `vault`.
    public static func events(for row: Row, vault: PrivacyVault) throws -> [NewEvent] {
        let person = vault.pseudonym(nir: row.identity.nir)
        let sealed = try vault.seal(
            row.identity, person: person, collectedAt: row.resultAt, category: .labPositive)
        var test = Tracing_V1_PositiveTestReported()
        test.person = person
        test.sampleDate = row.sampleDate.description
        test.resultDate = row.resultAt.date.description
        test.kind = row.kind
        test.symptomOnset = row.symptomOnset?.description ?? ""
        test.identity = sealed
        var opened = Tracing_V1_CaseOpened()
        opened.person = person
        opened.role = .patientZero
        opened.source = .labFeed
        opened.identity = sealed
        opened.phoneKnown = row.identity.phone != nil
        return [
            try EventCatalog.event(
                test, id: row.eventID(0), stream: row.caseID, platform: row.platform,
                occurredAt: row.resultAt,
                expectedVersion: .noStream),
            try EventCatalog.event(
                opened, id: row.eventID(1), stream: row.caseID, platform: row.platform,
                occurredAt: row.resultAt),
        ]
    }
}

/// A small RFC 4180 reader: commas, double-quoted fields with `""` escapes and line breaks inside
/// quotes, CRLF or LF line ends. Each record keeps the line it starts on.
struct CSVReader {
    struct Record {
        var line: Int
        var fields: [String]
    }

    let text: String

    init(_ text: String) { self.text = text }

    func records() -> [Record] {
        var records = [Record]()
        var fields = [String]()
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = Array(text.unicodeScalars)[...]
        while let c = iterator.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if iterator.first == "\"" {
                        field.unicodeScalars.append("\"")
                        iterator.removeFirst()
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty:
                inQuotes = true
            case ",":
                fields.append(field)
                field = ""
            case "\r":
                break
            case "\n":
                fields.append(field)
                records.append(Record(line: recordLine, fields: fields))
                fields = []
                field = ""
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }
}
