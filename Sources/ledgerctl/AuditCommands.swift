import ArgumentParser
import Foundation
import Ledger

/// `ledgerctl audit`: the access log of reads of case data (`LEDGER.audit/`, docs/security.md).
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Query or prune the access log: who read which case data, when (kept apart from the ledger).",
        discussion: """
            ledgerd traces every read of case data (events, streams, cases, subscriptions, identity \
            consultations), refusals included, in LEDGER.audit/, one hash-chained log per month.
            """,
        subcommands: [Show.self, Prune.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print access records, oldest first.")

        @OptionGroup var options: LedgerOptions
        @Option(help: "Only this principal (a platform's id or a person's name).") var principal: String?
        @Option(help: "Only requests whose target contains this text (a case id, a path).") var target:
            String?
        @Option(help: "From this day (YYYY-MM-DD, UTC).") var from: String?
        @Option(help: "To this day, included (YYYY-MM-DD, UTC).") var to: String?
        @Option(help: "text or json (one object per line)") var format: OutputFormat = .text

        func run() throws {
            let start = try from.map { try day($0, "--from") }
            let end = try to.map { try day($0, "--to") }
            let principal = self.principal.map(LedgerFormat.normalize)
            // A case id is sent raw or percent-encoded, in either Unicode form: compare decoded, in NFC.
            let wanted = target.map(LedgerFormat.normalize)
            let log = AccessLog(ledger: options.path)
            let records = try log.records(
                fromMonth: start.map { String($0.description.prefix(7)) },
                toMonth: end.map { String($0.description.prefix(7)) }
            ) { record in
                let day = CivilDate(String(record.at.description.prefix(10)))
                return (principal.map { record.principal == $0 } ?? true)
                    && (wanted.map {
                        LedgerFormat.normalize(record.target.removingPercentEncoding ?? record.target)
                            .contains($0)
                    } ?? true)
                    && (start.map { first in day.map { $0 >= first } ?? false } ?? true)
                    && (end.map { last in day.map { $0 <= last } ?? false } ?? true)
            }
            var out = Output()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for record in records {
                switch format {
                case .json: out.line(String(decoding: try encoder.encode(record), as: UTF8.self))
                case .text:
                    out.line(
                        "\(record.at)  \(record.role) \(record.principal)  \(record.method) \(record.target)  "
                            + "\(record.status)  \(record.address)")
                }
            }
            out.flush()
        }

        func day(_ text: String, _ option: String) throws -> CivilDate {
            guard let date = CivilDate(text) else {
                throw Failure(.badInput, "\(option) '\(text)': not a date YYYY-MM-DD")
            }
            return date
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the months of the access log older than the retention period.")

        @OptionGroup var options: LedgerOptions
        @Option(help: "Months kept before the month of --as-of (the CNIL recommends 6 to 12).")
        var keepMonths = 12
        @Option(help: "The day to apply the period at (YYYY-MM-DD; default: today, UTC).") var asOf: String?

        func validate() throws {
            guard (0...1200).contains(keepMonths) else {
                throw ValidationError("--keep-months must be from 0 to 1200")
            }
            if let asOf, CivilDate(asOf) == nil {
                throw ValidationError("--as-of: '\(asOf)' is not a YYYY-MM-DD date")
            }
        }

        func run() throws {
            let today =
                asOf.flatMap { CivilDate($0) } ?? Timestamp.now().date
            let cut = AccessLog.retentionCut(asOf: today, keepMonths: keepMonths)
            let removed = try AccessLog(ledger: options.path).prune(before: cut)
            print(
                "access log: \(removed.count) months removed (before \(String(cut.description.prefix(7))))"
                    + (removed.isEmpty ? "" : ": " + removed.joined(separator: ", ")))
        }
    }
}
