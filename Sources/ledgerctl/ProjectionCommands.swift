import ArgumentParser
import ContactTracing
import Foundation
import LMDB
import Ledger
import Projections

extension ReportLanguage: ExpressibleByArgument {}
extension StatisticsPeriod: ExpressibleByArgument {}

/// Runs `body` on the projections as of the log's head: the stored read model caught up (with a
/// progress bar); for a user who may not write it, the stored rows with the events they lack folded
/// in memory; with no read model this user can open, the whole log folded in memory. The two last
/// say so in a note; the answers are the same.
///
/// With `mustSave` (`replay`, whose job is the read model), a read model that cannot be opened for
/// writing or written is an error (74) instead. `caughtUp` is told how many events the catch-up
/// folded into the stored read model.
func withCurrentProjection<T>(
    _ options: LedgerOptions, log: EventLog, fromScratch: Bool = false, mustSave: Bool = false,
    chunkSize: Int = ReadModel.defaultChunkSize, caughtUp: (Int) -> Void = { _ in },
    _ body: (any ProjectionQueries) throws -> T
) throws -> T {
    var progress = Progress(label: "replay", total: try log.head().position)
    defer { progress.finish() }
    var model: ReadModel?
    var reason: String?
    do {
        model = try ReadModel(ledger: options.path)
    } catch {
        if mustSave { throw Failure(.io, "cannot write the read model: \(systemErrorText(error))") }
        reason = systemErrorText(error)
        model = try? ReadModel(ledger: options.path, readOnly: true)
    }
    if let model, model.isWritable {
        do {
            if fromScratch { try model.reset() }
            caughtUp(try model.catchUp(from: log, chunkSize: chunkSize, progress: { progress.update($0) }))
        } catch let error as LMDBError {
            // A full disk, a file turned read-only: the stored rows stay as they were.
            if mustSave { throw Failure(.io, "cannot write the read model: \(error.description)") }
            reason = error.description
        }
    }
    progress.finish()
    if let model {
        var lagging = false
        let result = try model.read(catchingUpWith: reason == nil ? nil : log) { view in
            lagging = view.foldedInMemory > 0
            return try body(view)
        }
        if lagging, let reason {
            note(
                "the read model was not saved (\(reason)); the events it lacks were folded in memory for this "
                    + "command only")
        }
        return result
    }
    note(
        "the read model was not saved (\(reason ?? "it cannot be opened")); the log was folded in memory "
            + "for this command only")
    var memory = Progress(label: "replay", total: try log.head().position)
    defer { memory.finish() }
    let projection = try TracingProjection.rebuild(from: log, progress: { memory.update($0) })
    memory.finish()
    return try body(projection)
}

/// Refuses a platform the ledger has never heard of (exit 65), naming the ones it knows.
func requireKnown(platforms: [String], in projection: any ProjectionQueries, ledger: String) throws {
    let known = try projection.knownPlatforms()
    for platform in platforms where !known.contains(platform) {
        throw Failure(
            .badInput,
            "--platform: no platform '\(platform)' in \(ledger) (it knows: "
                + "\(known.isEmpty ? "none" : known.joined(separator: ", ")))")
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild or catch up the projections (case state, statistics, closure reports).")

    @OptionGroup var options: LedgerOptions
    @Option(help: "The projection (tracing: all three read models come from it).") var projection = "tracing"
    @Flag(help: "Drop the stored read model and rebuild it from position 1.") var fromScratch = false
    @Option(help: "Events folded per committed chunk (a killed replay resumes from its last chunk).")
    var chunkSize = ReadModel.defaultChunkSize

    func validate() throws {
        guard projection == "tracing" else {
            throw ValidationError("--projection: the only projection is 'tracing'")
        }
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1") }
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        let started = Date()
        var applied = 0
        let (position, cases) = try withCurrentProjection(
            options, log: log, fromScratch: fromScratch, mustSave: true, chunkSize: chunkSize,
            caughtUp: { applied = $0 }
        ) { projection in
            (projection.checkpoint, try projection.caseCount())
        }
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        print(
            "replayed \(applied) events to position \(position) in \(String(format: "%.3f", seconds)) s "
                + "(\(Int(Double(applied) / seconds)) events/s); \(cases) cases")
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Platform statistics per day, ISO week or month (docs/statistics.md).")

    @OptionGroup var options: LedgerOptions
    @Option(
        help: ArgumentHelp(
            "Only this platform; repeat it for several, each with their merged total (platform 'all'); "
                + "'all' for every platform and the national total.", valueName: "ID"),
        transform: LedgerFormat.normalize)
    var platform: [String] = []
    @Option(help: "day, week or month") var by: StatisticsPeriod = .week
    @Option(help: "Count only facts that happened before the end of this day (YYYY-MM-DD).") var asOf: String?
    @Option(help: "table, csv or json") var format: String = "table"

    func validate() throws {
        guard ["table", "csv", "json"].contains(format) else {
            throw ValidationError("--format: table, csv or json")
        }
        if let asOf, CivilDate(asOf) == nil {
            throw ValidationError("--as-of: '\(asOf)' is not a YYYY-MM-DD date")
        }
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        let everyPlatform = platform.contains("all")
        let merged = everyPlatform || Set(platform).count > 1
        let query = { (projection: any ProjectionQueries) throws -> [StatisticsRow] in
            var wanted: Set<String>?
            if !platform.isEmpty && !everyPlatform {
                try requireKnown(platforms: platform, in: projection, ledger: options.path)
                wanted = Set(platform)
            }
            let rows = try projection.statistics(platforms: wanted, by: by)
            return merged ? rows + StatisticsRow.merged(rows, label: "all") : rows
        }
        let rows: [StatisticsRow]
        if let asOf, let day = CivilDate(asOf) {
            // A past date: a read model of the facts before it, built in a temporary directory.
            var progress = Progress(label: "as of \(asOf)", total: try log.head().position)
            defer { progress.finish() }
            rows = try ReadModel.withTemporary(
                of: log, asOf: day.start.adding(days: 1), progress: { progress.update($0) }, query)
        } else {
            rows = try withCurrentProjection(options, log: log, query)
        }
        var out = Output()
        switch format {
        case "csv":
            out.line(String(StatisticsRow.csv(rows).dropLast()))
        case "json":
            for row in rows { out.line(row.json) }
        default:
            let shown = [0, 1, 3, 4, 5, 6, 8, 11, 12, 14, 15, 16, 18, 19]
            let header = shown.map { StatisticsRow.columns[$0] }
            let table = rows.map { row in shown.map { row.fields[$0] } }
            let widths = header.indices.map { i in
                max(header[i].count, table.map { $0[i].count }.max() ?? 0)
            }
            func render(_ cells: [String]) -> String {
                zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(
                    separator: "  ")
            }
            out.line(render(header))
            for line in table { out.line(render(line)) }
        }
        out.flush()
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reports.", subcommands: [Closure.self])

    struct Closure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The closure report of a platform: headline, weekly timeline, channel mix, open cases, seal.")

        @OptionGroup var options: LedgerOptions
        @Option(help: "The platform.", transform: LedgerFormat.normalize) var platform: String
        @Option(help: "md, html or json") var format: String = "md"
        @Option(help: "fr or en") var lang: ReportLanguage = .fr
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func validate() throws {
            guard ["md", "html", "json"].contains(format) else {
                throw ValidationError("--format: md, html or json")
            }
        }

        func run() throws {
            let log = try options.open(readOnly: true)
            let report = try withCurrentProjection(options, log: log) { projection in
                try requireKnown(platforms: [platform], in: projection, ledger: options.path)
                return try ClosureReport(platform: platform, queries: projection)
            }
            if report.closedOn == nil {
                note(
                    "\(platform) is not closed: this report is provisional (as of position "
                        + "\(report.seal.lastPosition)); its figures change as the platform works")
            }
            let text: String
            switch format {
            case "json": text = try report.json()
            case "html": text = report.html(language: lang)
            default: text = report.markdown(language: lang)
            }
            if let output {
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw Failure(
                        .io, "\(output): cannot write the report: \(systemErrorText(error))")
                }
                FileHandle.standardError.write(Data("\(report.headline(language: lang))\n".utf8))
            } else {
                print(text, terminator: "")
            }
            if let hash = [UInt8](hex: report.seal.headHash) {
                writeCheckpoint(
                    log, head: LogHead(position: report.seal.lastPosition, hash: hash), options: options)
            }
        }
    }
}

struct Platform: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Platform life.", subcommands: [Close.self])

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a platform: hand its open cases over (or close them) and append PlatformClosed.")

        @OptionGroup var options: LedgerOptions
        @Option(help: "The platform.", transform: LedgerFormat.normalize) var platform: String
        @Option(help: "Closing date (YYYY-MM-DD).") var date: String
        @Option(help: "The platform taking over the open cases.", transform: LedgerFormat.normalize)
        var handoverTo: String?

        func validate() throws {
            guard CivilDate(date) != nil else {
                throw ValidationError("--date: '\(date)' is not a YYYY-MM-DD date")
            }
            if handoverTo == platform { throw ValidationError("--handover-to must be another platform") }
        }

        func run() throws {
            let log = try options.open()
            var events = try withCurrentProjection(options, log: log) { projection in
                guard let facts = try projection.platformFacts(platform) else {
                    throw Failure(
                        .badInput, "--platform: no platform '\(platform)' was opened in \(options.path)")
                }
                if let closed = facts.closedOn {
                    throw Failure(.conflict, "platform '\(platform)' was already closed on \(closed)")
                }
                return try PlatformClosure.events(
                    closing: platform, on: CivilDate(date)!, handoverTo: handoverTo, projection: projection)
            }
            // The platform stream must not have moved since the projection saw it.
            let version = try log.streamVersion(StreamName.platform(platform))
            events[events.count - 1].expectedVersion = version.map { .exact($0) } ?? .noStream
            let results = try log.appendBlocking(events)
            print(
                "closed \(platform) on \(date): \(events.count - 1) case events, PlatformClosed at position "
                    + "\(results.last?.position ?? 0)")
            writeCheckpoint(log, head: try log.head(), options: options)
        }
    }
}
