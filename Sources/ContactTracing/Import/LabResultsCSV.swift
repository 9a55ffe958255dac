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
        public var caseID: String { StreamName.patientZero(platform: platform, resultID) }

        /// The deterministic id of the `index`-th event of the row.
        public func eventID(_ index: Int) -> UUID {
            UUID(deterministic: SHA256.hash(data: Data("sidep:\(platform):\(resultID):\(index)".utf8)))
        }
    }

    /// Parses a whole file; every bad field of every row is reported (up to `maxErrors`), none is
    /// skipped silently.
    ///
    /// The file is UTF-8 (a leading byte order mark is accepted); the separator, `,` or `;` (what
    /// French Excel writes), is the one of the header line.
    /// - Parameter today: the day after which a birth date is refused (default: today, UTC).
    public static func parse(_ data: Data, maxErrors: Int = 50, today: CivilDate? = nil) -> (
        rows: [Row], errors: [ImportError]
    ) {
        var bytes = Array(data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let bad = StrictJSON.firstInvalidUTF8(bytes) {
            return ([], [encodingError(bytes, at: bad)])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let separator = detectSeparator(text)
        var records = CSVReader(text, separator: separator).records()
        guard !records.isEmpty else {
            return ([], [ImportError(line: 1, field: "row", reason: "the file is empty")])
        }
        let header = records.removeFirst().fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index = [String: Int]()
        for (i, name) in header.enumerated() { index[name] = i }
        let missing = columns.filter { index[$0] == nil }
        if !missing.isEmpty {
            return (
                [],
                missing.map {
                    ImportError(
                        line: 1, field: $0,
                        reason: "column is missing from the header (separator read: '\(separator)')")
                }
            )
        }
        let today = today ?? Timestamp.now().date
        var rows = [Row]()
        var errors = [ImportError]()
        var seen = [String: Int]()
        for record in records {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            switch parseRow(record, header: header, index: index, today: today) {
            case .success(let row):
                if let first = seen[row.platform + "\u{0}" + row.resultID] {
                    errors.append(
                        ImportError(
                            line: record.line, field: "result_id",
                            reason: "'\(row.resultID)' is also on line \(first)"))
                } else {
                    seen[row.platform + "\u{0}" + row.resultID] = record.line
                    rows.append(row)
                }
            case .failure(let rowErrors):
                errors += rowErrors.errors
            }
            if errors.count >= maxErrors { break }
        }
        return (rows, errors)
    }

    /// The separator of the header line: `;` when it splits the header into more known columns than
    /// `,` does (French Excel's CSV), else `,`.
    static func detectSeparator(_ text: String) -> Character {
        let header = text.prefix { $0 != "\n" && $0 != "\r\n" }
        func known(_ separator: Character) -> Int {
            header.split(separator: separator).filter {
                columns.contains($0.trimmingCharacters(in: .whitespaces).lowercased())
            }.count
        }
        return known(";") > known(",") ? ";" : ","
    }

    /// The error for a byte that is not UTF-8: its line and column, and whether the file looks like
    /// Windows-1252 (what Excel writes when it saves "CSV" on a French Windows).
    static func encodingError(_ bytes: [UInt8], at offset: Int) -> ImportError {
        var line = 1
        var lineStart = 0
        for i in 0..<offset where bytes[i] == 10 {
            line += 1
            lineStart = i + 1
        }
        let byte = bytes[offset]
        // Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined.
        let cp1252 = !bytes.contains { [0x81, 0x8D, 0x8F, 0x90, 0x9D].contains($0) }
        let hint =
            cp1252
            ? "the file looks like Windows-1252 (Excel's \"CSV\"): save it as UTF-8 (\"CSV UTF-8\")"
            : "the file must be UTF-8"
        return ImportError(
            line: line, field: "file",
            reason: "byte 0x\(StrictJSON.hex(byte)) at column \(offset - lineStart + 1) is not UTF-8; \(hint)"
        )
    }

    /// Whether a 15-character NIR (spaces removed, upper case) has the right control key:
    /// 97 − (the first 13 characters as a number, mod 97), with Corsica's `2A` read as 19 and `2B`
    /// as 18.
    public static func hasValidKey(nir: String) -> Bool {
        let c = Array(nir)
        guard c.count == 15, let key = Int(String(c[13...])) else { return false }
        var body = String(c[0..<13])
        if c[5] == "2" && c[6] == "A" {
            body = String(c[0..<5]) + "19" + String(c[7..<13])
        } else if c[5] == "2" && c[6] == "B" {
            body = String(c[0..<5]) + "18" + String(c[7..<13])
        }
        guard let number = Int(body) else { return false }
        return key == 97 - number % 97
    }

    /// The bad fields of one row, all of them.
    struct RowErrors: Error {
        var errors: [ImportError]
    }

    private static func parseRow(
        _ record: CSVReader.Record, header: [String], index: [String: Int], today: CivilDate
    ) -> Result<Row, RowErrors> {
        guard record.fields.count == header.count else {
            return .failure(
                RowErrors(errors: [
                    ImportError(
                        line: record.line, field: "row",
                        reason: "has \(record.fields.count) fields where the header has \(header.count)")
                ]))
        }
        var errors = [ImportError]()
        func fail(_ field: String, _ reason: String) {
            errors.append(ImportError(line: record.line, field: field, reason: reason))
        }
        func value(_ name: String, required: Bool = true) -> String? {
            let text = record.fields[index[name]!].trimmingCharacters(in: .whitespaces)
            if required && text.isEmpty {
                fail(name, "is empty")
                return nil
            }
            guard text.utf8.count <= 255 else {
                fail(name, "is longer than 255 bytes")
                return nil
            }
            return text
        }
        func date(_ name: String, required: Bool = true) -> CivilDate?? {
            guard let text = value(name, required: required) else { return nil }
            if text.isEmpty { return .some(nil) }
            guard let date = CivilDate(text) else {
                var reason = "'\(text)' is not a date in the expected format YYYY-MM-DD"
                if let iso = PersonalData.frenchDate(text) { reason += " (for DD/MM/YYYY write \(iso))" }
                fail(name, reason)
                return nil
            }
            return .some(date)
        }
        let resultID = value("result_id")
        let platform = value("platform")
        var nir: String?
        if let text = value("nir") {
            let normalised = text.filter { !$0.isWhitespace }.uppercased()
            let c = Array(normalised)
            if c.count != 15
                || !c.enumerated().allSatisfy({ i, ch in
                    ch.isASCII && (ch.isNumber || ((i == 6) && c[5] == "2" && (ch == "A" || ch == "B")))
                })
            {
                fail("nir", "is not a 15-character NIR (13 digits, 2A/2B for Corsica, and a 2-digit key)")
            } else if !hasValidKey(nir: normalised) {
                fail("nir", "the control key \(String(c[13...])) does not match the number (a typing error?)")
            } else {
                nir = normalised
            }
        }
        let lastName = value("last_name")
        let firstName = value("first_name")
        var resultAt: Timestamp?
        if let text = value("result_at") {
            resultAt = Timestamp(text)
            if resultAt == nil {
                fail(
                    "result_at",
                    "'\(text)' is not an RFC 3339 time in the expected format YYYY-MM-DDTHH:MM:SSZ "
                        + "(or with an offset, +01:00)")
            }
        }
        var kind: Tracing_V1_TestKind?
        if let text = value("test_kind") {
            switch text.uppercased() {
            case "RT-PCR", "RT_PCR", "PCR": kind = .rtPcr
            case "ANTIGEN", "ANTIGENIQUE", "TAG": kind = .antigen
            default: fail("test_kind", "'\(text)' is not RT-PCR (or PCR) or ANTIGEN (or TAG)")
            }
        }
        let sample = date("sample_date") ?? nil
        if let sample, let resultAt, sample.start > resultAt {
            fail("sample_date", "\(sample) is after the result (\(resultAt))")
        }
        let birth = date("birth_date") ?? nil
        if let birth {
            if birth > today {
                fail("birth_date", "\(birth) is in the future")
            } else if let sample, birth > sample {
                fail("birth_date", "\(birth) is after the sample date \(sample)")
            }
        }
        let phone = value("phone", required: false)
        let address = value("address", required: false)
        let onset = date("symptom_onset", required: false)
        guard errors.isEmpty, let resultID, let platform, let nir, let lastName, let firstName, let birth,
            let phone, let address, let sample, let resultAt, let kind, let onset
        else { return .failure(RowErrors(errors: errors)) }
        return .success(
            Row(
                line: record.line, resultID: resultID, platform: platform,
                identity: Identity(
                    nir: nir, lastName: lastName, firstName: firstName, birthDate: birth.description,
                    phone: phone.isEmpty ? nil : phone, address: address.isEmpty ? nil : address),
                sampleDate: sample, resultAt: resultAt, kind: kind, symptomOnset: onset))
    }

    /// How a row differs from the result already imported under its result id: one error per
    /// differing column, naming the line, the column and the result id. Identity columns are
    /// compared inside the sealed box and never shown; once the person was erased they cannot be
    /// compared and only the other columns are.
    /// - Parameter stored: the `PositiveTestReported` event the row's first event id already holds.
    /// - Throws: ``LedgerError`` when the stored event or its sealed identity cannot be read.
    public static func conflicts(of row: Row, with stored: RecordedEvent, vault: PrivacyVault) throws
        -> [ImportError]
    {
        let test: Tracing_V1_PositiveTestReported
        do {
            test = try Tracing_V1_PositiveTestReported(serializedBytes: stored.payload)
        } catch {
            throw LedgerError.corruptRecord(
                position: stored.position, reason: "not a PositiveTestReported: \(error)")
        }
        var errors = [ImportError]()
        func differs(_ field: String, _ detail: String) {
            errors.append(
                ImportError(
                    line: row.line, field: field,
                    reason:
                        "result '\(row.resultID)' is already imported (position \(stored.position)) with "
                        + "\(detail); a changed row is a conflict, not an update: record a correction as "
                        + "docs/import.md says"))
        }
        if stored.platform != row.platform || stored.stream != row.caseID {
            differs("platform", "platform '\(stored.platform)'")
        }
        if stored.occurredAt != row.resultAt || test.resultDate != row.resultAt.date.description {
            differs("result_at", "result_at \(stored.occurredAt), not \(row.resultAt)")
        }
        if test.sampleDate != row.sampleDate.description {
            differs("sample_date", "sample_date \(test.sampleDate), not \(row.sampleDate)")
        }
        if test.kind != row.kind {
            differs("test_kind", "test_kind \(test.kind == .antigen ? "ANTIGEN" : "RT-PCR")")
        }
        if test.symptomOnset != (row.symptomOnset?.description ?? "") {
            differs(
                "symptom_onset",
                "symptom_onset \(test.symptomOnset.isEmpty ? "empty" : test.symptomOnset)")
        }
        if test.person != vault.pseudonym(nir: row.identity.nir) {
            differs("nir", "another NIR (another person)")
        } else if test.hasIdentity,
            case .identity(let identity) = try vault.reveal(test.identity, person: test.person)
        {
            let pairs: [(String, String?, String?)] = [
                ("last_name", identity.lastName, row.identity.lastName),
                ("first_name", identity.firstName, row.identity.firstName),
                ("birth_date", identity.birthDate, row.identity.birthDate),
                ("phone", identity.phone, row.identity.phone),
                ("address", identity.address, row.identity.address),
            ]
            for (field, old, new) in pairs where old != new {
                differs(field, "another \(field) (not shown: personal data)")
            }
        }
        return errors
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

/// A small RFC 4180 reader: commas (or another separator), double-quoted fields with `""` escapes and line breaks inside
/// quotes, CRLF or LF line ends. Each record keeps the line it starts on.
struct CSVReader {
    struct Record {
        var line: Int
        var fields: [String]
    }

    let text: String
    let separator: Unicode.Scalar

    init(_ text: String, separator: Character = ",") {
        self.text = text
        self.separator = separator.unicodeScalars.first!
    }

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
            case separator:
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
