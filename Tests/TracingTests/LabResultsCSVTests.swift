import Foundation
import Ledger
import TestSupport
import Testing

@testable import ContactTracing

@Suite("Lab-results CSV as platforms get it")
struct LabResultsCSVTests {
    let header =
        "result_id,platform,nir,last_name,first_name,birth_date,phone,address,sample_date,result_at,test_kind,symptom_onset"
    let good =
        #"R1,cpam-34,2 84 12 76 451 089 93,Durand,Hélène,1984-12-03,06 12 34 56 78,"3 place de la Comédie, Montpellier",2021-03-01,2021-03-02T08:00:00Z,RT-PCR,2021-02-28"#
    let today = CivilDate(year: 2021, month: 6, day: 1)

    func parse(_ text: String) -> (rows: [LabResultsCSV.Row], errors: [ImportError]) {
        LabResultsCSV.parse(Data(text.utf8), today: today)
    }

    @Test("a ';'-separated file (French Excel) reads like a ','-separated one")
    func semicolonSeparator() throws {
        let comma = parse(header + "\n" + good + "\n")
        let semicolon = parse(
            header.replacingOccurrences(of: ",", with: ";") + "\r\n"
                + #"R1;cpam-34;2 84 12 76 451 089 93;Durand;Hélène;1984-12-03;06 12 34 56 78;"3 place de la Comédie, Montpellier";2021-03-01;2021-03-02T08:00:00Z;RT-PCR;2021-02-28"#
                + "\r\n")
        #expect(comma.errors.isEmpty && semicolon.errors.isEmpty, "\(semicolon.errors)")
        #expect(semicolon.rows == comma.rows)
        #expect(semicolon.rows.first?.identity.address == "3 place de la Comédie, Montpellier")
    }

    @Test("a Windows-1252 file is refused at the line of its first bad byte, saying it is not UTF-8")
    func windows1252NamesTheLine() throws {
        var bytes = Array((header + "\n").utf8)
        // "Hélène" in Windows-1252: é is 0xE9, at column 35 of line 2.
        bytes += Array("R1,cpam-34,2 84 12 76 451 089 93,H".utf8) + [0xE9] + Array("l".utf8) + [0xE8]
        bytes += Array("ne,Alice,1984-12-03,,,2021-03-01,2021-03-02T08:00:00Z,PCR,\n".utf8)
        let (rows, errors) = LabResultsCSV.parse(Data(bytes), today: today)
        #expect(rows.isEmpty)
        let error = try #require(errors.first)
        #expect(error.line == 2)
        #expect(error.reason.contains("byte 0xE9 at column 35 is not UTF-8"))
        #expect(error.reason.contains("Windows-1252"))
        #expect(error.reason.contains("save it as UTF-8"))
    }

    @Test("a UTF-8 byte order mark is accepted")
    func byteOrderMark() {
        let (rows, errors) = LabResultsCSV.parse(
            Data([0xEF, 0xBB, 0xBF] + Array((header + "\n" + good).utf8)))
        #expect(errors.isEmpty, "\(errors)")
        #expect(rows.count == 1)
    }

    @Test("a DD/MM/YYYY date is refused naming the expected format")
    func dayFirstDates() throws {
        let (_, errors) = parse(
            header + "\n" + good.replacingOccurrences(of: "1984-12-03", with: "03/12/1984"))
        let error = try #require(errors.first)
        #expect(error.field == "birth_date")
        #expect(error.reason.contains("expected format YYYY-MM-DD"))
        #expect(error.reason.contains("1984-12-03"))
    }

    @Test("a NIR whose control key is wrong is refused; Corsican NIRs use 19 for 2A and 18 for 2B")
    func nirControlKey() throws {
        #expect(LabResultsCSV.hasValidKey(nir: "284127645108993"))
        #expect(!LabResultsCSV.hasValidKey(nir: "284127645108946"))
        #expect(LabResultsCSV.hasValidKey(nir: "184127645108946"))
        // 1 84 12 2A 451 089: 1841219451089 mod 97 = 64, key 33; with 2B (18): key 60.
        #expect(LabResultsCSV.hasValidKey(nir: "184122A45108933"))
        #expect(LabResultsCSV.hasValidKey(nir: "184122B45108960"))
        #expect(!LabResultsCSV.hasValidKey(nir: "184122A45108960"))
        let (rows, errors) = parse(
            header + "\n" + good.replacingOccurrences(of: "089 93", with: "089 46") + "\n"
                + good.replacingOccurrences(of: "R1", with: "R2").replacingOccurrences(
                    of: "2 84 12 76 451 089 93", with: "1 84 12 2A 451 089 33"))
        #expect(rows.map(\.resultID) == ["R2"])
        #expect(errors.map(\.field) == ["nir"])
        #expect(errors.first?.reason.contains("control key 46") == true)
    }

    @Test("a birth date in the future or after the sample is refused")
    func birthDateInTheFuture() {
        let future = parse(header + "\n" + good.replacingOccurrences(of: "1984-12-03", with: "2030-01-01"))
        #expect(future.errors.map(\.field) == ["birth_date"])
        #expect(future.errors.first?.reason.contains("in the future") == true)
        let afterSample = parse(
            header + "\n" + good.replacingOccurrences(of: "1984-12-03", with: "2021-03-02"))
        #expect(afterSample.errors.map(\.field) == ["birth_date"])
    }

    @Test("every bad field of a row is listed, not only the first")
    func everyBadFieldOfARow() {
        let (rows, errors) = parse(
            header + "\n" + "R1,cpam-34,123,,Alice,03/12/1984,,,2021-03-01,yesterday,XX,2021-02-31\n")
        #expect(rows.isEmpty)
        #expect(
            errors.map(\.field) == [
                "nir", "last_name", "result_at", "test_kind", "birth_date", "symptom_onset",
            ])
        #expect(errors.allSatisfy { $0.line == 2 })
    }

    @Test("a row of a known result with other content is a conflict, naming line, field and result id")
    func changedRowIsAConflict() throws {
        let dir = NSTemporaryDirectory() + "csv-conflict-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let vault = try PrivacyVault(secretPath: dir + "/s", keyStorePath: dir + "/k", create: true)
        let log = try EventLog(path: dir + "/l")
        let row = try #require(parse(header + "\n" + good).rows.first)
        let results = try log.appendBlocking(try LabResultsCSV.events(for: row, vault: vault))
        let stored = try #require(try log.event(at: results[0].position))
        #expect(try LabResultsCSV.conflicts(of: row, with: stored, vault: vault).isEmpty)
        let changed = try #require(
            parse(
                header + "\n"
                    + good.replacingOccurrences(of: "Durand", with: "Dupont").replacingOccurrences(
                        of: "T08:00", with: "T09:00")
            ).rows.first)
        let conflicts = try LabResultsCSV.conflicts(of: changed, with: stored, vault: vault)
        #expect(conflicts.map(\.field) == ["result_at", "last_name"])
        #expect(conflicts.allSatisfy { $0.line == 2 && $0.reason.contains("'R1'") })
        #expect(!conflicts.contains { $0.reason.contains("Durand") || $0.reason.contains("Dupont") })
    }
}
