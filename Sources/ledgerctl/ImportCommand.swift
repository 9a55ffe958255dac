import ArgumentParser
import ContactTracing
import Foundation
import Ledger

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import NDJSON events, or CSV extracts of positive lab results (docs/import.md).",
        discussion: """
            A .csv file is read as lab results: each row opens a patient zéro case, its identity sealed. Any other \
            file is read as NDJSON events. Each file is all or nothing: a file with a bad row is refused whole, \
            with every bad row listed. Importing a file again changes nothing.
            """)

    @OptionGroup var options: LedgerOptions
    @OptionGroup var privacy: PrivacyOptions
    @Argument(help: "The files to import.") var files: [String]
    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one file") }
    }

    func run() throws {
        let log = try options.open()
        for file in files {
            if file.lowercased().hasSuffix(".csv") {
                try importCSV(file, into: log)
            } else {
                let events = try readEvents(file)
                let appended: Int
                do {
                    // One durable transaction per file: all or nothing.
                    appended = try log.appendBlocking(events.map(\.event)).filter { !$0.wasDuplicate }
                        .count
                } catch {
                    throw Failure(error, context: "\(file):\(line(of: error, in: events))")
                }
                print(
                    "\(file): \(events.count) lines accepted (\(appended) new events, "
                        + "\(events.count - appended) already in the log), 0 refused")
            }
        }
    }

    private func importCSV(_ file: String, into log: EventLog) throws {
        let data = try readInputFile(file, what: "file")
        let (rows, errors) = LabResultsCSV.parse(data)
        try refuse(file, errors, accepted: rows.count)
        let vault = try privacy.vault(for: options.path, create: true)
        // A row already imported must be the same row: a changed one is a conflict, never dropped.
        var known = Set<Int>()
        var conflicts = [ImportError]()
        for (index, row) in rows.enumerated() {
            guard let position = try log.position(of: row.eventID(0)) else { continue }
            known.insert(index)
            guard let stored = try log.event(at: position) else { continue }
            do {
                conflicts += try LabResultsCSV.conflicts(of: row, with: stored, vault: vault)
            } catch let error as LedgerError {
                throw Failure(error, context: "\(file):\(row.line)")
            }
        }
        try refuse(file, conflicts, accepted: rows.count - Set(conflicts.map(\.line)).count)
        var progress = Progress(label: file, total: UInt64(rows.count))
        var fresh = 0
        var batch = [NewEvent]()
        for (index, row) in rows.enumerated() where !known.contains(index) {
            // A row already imported keeps its events: it is not sealed again.
            do {
                batch += try LabResultsCSV.events(for: row, vault: vault)
            } catch let error as LedgerError {
                throw Failure(error, context: "\(file):\(row.line)")
            }
            progress.update(UInt64(index + 1))
        }
        func flush() throws {
            guard !batch.isEmpty else { return }
            try vault.flush()
            // One durable transaction per file: all or nothing.
            fresh = try log.appendBlocking(batch).filter { !$0.wasDuplicate }.count
        }
        do {
            try flush()
        } catch let error as LedgerError {
            throw Failure(error, context: file)
        }
        progress.finish()
        print(
            "\(file): \(rows.count) rows accepted (\(fresh / 2) new cases, \(rows.count - fresh / 2) already imported), 0 refused"
        )
    }

    /// Lists `errors` on standard error (`FILE:LINE: field 'NAME': reason`) and refuses the file
    /// with exit 65 when there are any.
    private func refuse(_ file: String, _ errors: [ImportError], accepted: Int) throws {
        guard !errors.isEmpty else { return }
        for error in errors {
            FileHandle.standardError.write(
                Data("\(file):\(error.line): field '\(error.field)': \(error.reason)\n".utf8))
        }
        let refused = Set(errors.map(\.line)).count
        throw Failure(
            .badInput,
            "\(file): \(refused)\(errors.count >= 50 ? "+" : "") rows refused, \(accepted) accepted; nothing imported"
        )
    }
}
