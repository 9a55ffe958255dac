import ArgumentParser
import ContactTracing
import Foundation
import Ledger
import Projections

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a ledger (and open a platform in it).")

    @OptionGroup var options: LedgerOptions
    @Option(help: "Platform id to open, for example cpam-34.", transform: LedgerFormat.normalize)
    var platform: String?
    @Option(help: "Platform name.") var name: String?
    @Option(help: "Opening date (YYYY-MM-DD); default today.") var date: String?

    func validate() throws {
        if name != nil && platform == nil { throw ValidationError("--name needs --platform") }
        if let date, CivilDate(date) == nil {
            throw ValidationError("--date: '\(date)' is not a YYYY-MM-DD date")
        }
    }

    func run() throws {
        let log = try options.open()
        if let platform {
            var opened = Tracing_V1_PlatformOpened()
            opened.name = name ?? platform
            let day = date.flatMap { CivilDate($0) } ?? Timestamp.now().date
            opened.openedOn = day.description
            let event = try EventCatalog.event(
                opened, stream: StreamName.platform(platform), platform: platform,
                occurredAt: day.start, expectedVersion: .noStream)
            do {
                _ = try log.appendBlocking([event])
            } catch {
                // (A pattern catch here crashes swiftc 6.3.1's SILGen; match inside instead.)
                if case .wrongExpectedVersion = error {
                    throw Failure(.conflict, "platform '\(platform)' is already open in \(options.path)")
                }
                throw error
            }
        }
        print("ledger ready at \(options.path)")
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Format version, event count, head, platforms, size.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "text or json") var format: OutputFormat = .text

    func run() throws {
        let log = try options.open(readOnly: true)
        let info = try log.info()
        var platforms = Set<String>()
        try log.forEach { view in
            platforms.insert(view.platform)
            return true
        }
        let sorted = platforms.sorted()
        switch format {
        case .json:
            let object: [String: Any] = [
                "formatVersion": info.formatVersion,
                "ledgerId": info.ledgerID?.uuidString.lowercased() ?? NSNull(),
                "events": info.head.count,
                "headPosition": info.head.position,
                "headHash": info.head.hashHex,
                "streams": info.streams,
                "platforms": sorted,
                "sizeOnDisk": info.fileSize,
                "mapSize": info.mapSize,
                "readOnlyCopy": info.readOnlyCopy ?? NSNull(),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        case .text:
            print("ledger:          \(options.path)")
            print("format version:  \(info.formatVersion)")
            print("ledger id:       \(info.ledgerID?.uuidString.lowercased() ?? "?")")
            print("events:          \(info.head.count)")
            print("head position:   \(info.head.position)")
            print("head hash:       \(info.head.hashHex)")
            print("streams:         \(info.streams)")
            print("platforms:       \(sorted.isEmpty ? "-" : sorted.joined(separator: ", "))")
            print("size on disk:    \(info.fileSize) bytes (map \(info.mapSize) bytes)")
            if let copy = info.readOnlyCopy { print("read-only copy:  \(copy)") }
        }
    }
}

struct Append: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append NDJSON events (docs/events.md): all or nothing, or one durable batch at a time.",
        discussion: """
            Prints one line per event, LINE<TAB>POSITION<TAB>STREAMVERSION<TAB>appended|duplicate, once it is \
            durable: that line is the event's acknowledgment.

            Without --batch-size the whole input is read and every line checked before anything is written, \
            then all events are appended in one durable transaction: on any error (exit 65, 75, 74) the ledger \
            is unchanged.

            With --batch-size N the input is read line by line (a pipe need not be closed): each batch of N \
            events is checked, appended in one durable transaction and acknowledged before the next is read. \
            An error (bad line: 65, conflict: 75, I/O: 74) stops the command: the batches acknowledged before \
            it stay in the ledger, nothing of the failing batch or after it is written, and the message names \
            the failing line and the last acknowledged line. Re-running the same input is safe: acknowledged \
            events come back as duplicates.
            """)

    @OptionGroup var options: LedgerOptions
    @Argument(help: "An NDJSON file, or - for standard input.") var file: String = "-"
    @Option(
        help:
            "Commit and acknowledge every N events as they are read; batches before an error stay committed."
    ) var batchSize: Int?

    func validate() throws {
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        var input = try EventLines(file)
        let log = try options.open()
        var out = Output()
        var appended = 0
        var duplicates = 0
        /// The last acknowledged line and its position, for the error message of a later batch.
        var acknowledged: (line: Int, position: UInt64)?
        func committed() -> String {
            guard batchSize != nil else { return "nothing was written" }
            guard let acknowledged else { return "nothing was written (no batch had been committed)" }
            return "the batches up to line \(acknowledged.line) (position \(acknowledged.position)) were "
                + "committed and acknowledged; nothing after line \(acknowledged.line) was written"
        }
        while true {
            let batch: [(line: Int, event: NewEvent)]
            do {
                batch = try input.next(batchSize ?? .max)
            } catch let failure as Failure {
                out.flush()
                throw Failure(failure.kind, failure.message + "; " + committed())
            }
            if batch.isEmpty { break }
            let results: [AppendResult]
            do {
                results = try log.appendBlocking(batch.map(\.event))
            } catch {
                out.flush()
                let failure = Failure(error, context: "\(file):\(line(of: error, in: batch))")
                throw Failure(failure.kind, failure.message + "; " + committed())
            }
            for (item, result) in zip(batch, results) {
                out.line(
                    "\(item.line)\t\(result.position)\t\(result.streamVersion)\t\(result.wasDuplicate ? "duplicate" : "appended")"
                )
                if result.wasDuplicate { duplicates += 1 } else { appended += 1 }
            }
            if let last = zip(batch, results).reversed().first {
                acknowledged = (last.0.line, last.1.position)
            }
            // A printed position is an acknowledgment: it goes out as soon as its batch is durable.
            out.flush()
            if batchSize == nil { break }
        }
        out.flush()
        FileHandle.standardError.write(
            Data("appended \(appended) events, \(duplicates) already in the log\n".utf8))
    }
}

/// The input line of the event an append error is about: the event with the id for an id reuse,
/// the first event of the stream with that expectation for a conflict, else the batch's first line.
func line(of error: LedgerError, in batch: [(line: Int, event: NewEvent)]) -> Int {
    switch error {
    case .invalidEvent(let index, _, _) where batch.indices.contains(index):
        return batch[index].line
    case .idempotencyConflict(let id, _, _):
        return batch.first { $0.event.id == id }?.line ?? batch[0].line
    case .wrongExpectedVersion(let stream, let expected, _):
        return batch.first { $0.event.stream == stream && $0.event.expectedVersion == expected }?.line
            ?? batch[0].line
    default:
        return batch.first?.line ?? 0
    }
}

/// Reads and parses every line of an NDJSON file before anything is written.
func readEvents(_ file: String) throws -> [(line: Int, event: NewEvent)] {
    var input = try EventLines(file)
    return try input.next(.max)
}

/// The events of an NDJSON file or standard input (`-`), read line by line as they arrive: a batch
/// is returned as soon as its lines are read, without waiting for the end of the input.
struct EventLines {
    let file: String
    private var reader: LineReader
    private var lineNumber = 0
    /// Refuses an id given twice with other content.
    private var decoder = EventBatchDecoder()

    init(_ file: String) throws {
        self.file = file
        if file == "-" {
            reader = LineReader(fd: STDIN_FILENO)
        } else {
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else {
                throw Failure(
                    .badInput, "\(file): cannot read the file (\(String(cString: strerror(errno))))")
            }
            reader = LineReader(fd: fd)
        }
    }

    /// Reads up to `count` events (fewer at the end of the input; none once it has ended).
    /// - Throws: ``Failure`` naming the file and line of a line that cannot be accepted.
    mutating func next(_ count: Int) throws -> [(line: Int, event: NewEvent)] {
        var events = [(line: Int, event: NewEvent)]()
        while events.count < count {
            let line: [UInt8]
            do {
                guard let read = try reader.nextLine() else { break }
                line = read
            } catch {
                throw Failure(.io, "\(file):\(lineNumber + 1): cannot read: \(error)")
            }
            lineNumber += 1
            let trimmed = line.last == 13 ? line.dropLast() : line[...]
            if trimmed.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            do {
                events.append((lineNumber, try decoder.decode(trimmed, at: "line \(lineNumber)")))
            } catch {
                throw Failure(.badInput, "\(file):\(lineNumber): \(error)")
            }
        }
        return events
    }
}

/// Reads lines from a file descriptor as they arrive (no read-ahead past what `read(2)` returns).
struct LineReader {
    let fd: Int32
    private var buffer = [UInt8]()
    private var start = 0
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    /// The next line without its `\n`, or nil at the end of the input.
    mutating func nextLine() throws -> [UInt8]? {
        var searched = start
        while true {
            if let newline = buffer[searched...].firstIndex(of: 10) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return line
            }
            searched = buffer.count
            if ended {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeFirst(start)
                searched -= start
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.io(path: "", reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                ended = true
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print events as NDJSON.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "First position.") var from: UInt64 = 1
    @Option(help: "Only this stream.", transform: LedgerFormat.normalize) var stream: String?
    @Option(help: "Only this type (repeatable).", transform: LedgerFormat.normalize) var type: [String] = []
    @Option(help: "Only this platform (repeatable).", transform: LedgerFormat.normalize) var platform:
        [String] = []
    @Option(help: "At most this many events.") var limit: Int?
    @Flag(help: "Keep waiting for new events.") var follow = false

    func run() throws {
        let log = try options.open(readOnly: true)
        var out = Output()
        let filter = EventFilter(
            types: type.isEmpty ? nil : Set(type), platforms: platform.isEmpty ? nil : Set(platform))
        var next = from
        var remaining = limit ?? .max
        func emit(_ view: borrowing EventView) throws -> Bool {
            guard remaining > 0 else { return false }
            next = view.position + 1
            guard filter.matches(view) else { return true }
            out.line(try EventJSON.encode(view))
            remaining -= 1
            return remaining > 0
        }
        repeat {
            if let stream {
                try log.forEachInStream(stream) { view in
                    guard view.position >= next else { return true }
                    return try emit(view)
                }
            } else {
                try log.forEach(from: next) { try emit($0) }
            }
            out.flush()
            if follow && remaining > 0 { Thread.sleep(forTimeInterval: 0.2) }
        } while follow && remaining > 0
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the log as NDJSON that 'append' reads back into an identical log.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "ndjson") var format: String = "ndjson"
    @Option(help: "First position.") var from: UInt64 = 1

    func validate() throws {
        guard format == "ndjson" else { throw ValidationError("--format: only ndjson is supported") }
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        let head = try log.head()
        var progress = Progress(label: "export", total: head.position)
        var out = Output()
        try log.forEach(from: from) { view in
            out.line(try EventJSON.encode(view))
            if view.position % 4096 == 0 { progress.update(view.position) }
            return true
        }
        out.flush()
        progress.finish()
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the hash chain and every index, a closure report, and signed checkpoints.",
        discussion: """
            Without options: walks the hash chain and every index (exit 76 naming the first position that \
            does not hold). --report FILE checks a closure report written by 'report closure' (JSON, \
            Markdown or HTML): its seal must hold and its content must be what the log gives as of the \
            sealed position; the first differing field or line is named. --checkpoints FILE also checks \
            signed checkpoints ('ledgerctl checkpoint'): a log cut below, or rewritten under, a signed head \
            fails with 76.
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "A closure report (JSON, Markdown or HTML) to check against the ledger.") var report:
        String?
    @Option(
        help: "A checkpoint file (default of 'checkpoint': LEDGER.checkpoints) whose statements to check.")
    var checkpoints: String?
    @Option(
        help:
            "The key that must have signed the statements: a public key file ('ed25519 <base64>') or the private key (default: LEDGER.checkpoint-key.pub, else LEDGER.checkpoint-key when readable)."
    )
    var checkpointKey: String?
    @Option(
        help: ArgumentHelp(
            "The version 1 ledger this one was migrated from ('migrate'): prove that this ledger holds exactly "
                + "its history, and that its signed checkpoints hold.", valueName: "OLD"))
    var source: String?

    /// The public key the statements must be signed with: --checkpoint-key (a public or private key
    /// file), else LEDGER.checkpoint-key.pub, else the private key when this user can read it.
    func trustedCheckpointKey() throws -> [UInt8]? {
        if let checkpointKey { return try CheckpointKey.publicKey(atPath: checkpointKey) }
        let privatePath = CheckpointKey.path(ofLedger: options.path)
        let publicPath = CheckpointKey.publicPath(ofKey: privatePath)
        if FileManager.default.fileExists(atPath: publicPath) {
            return try CheckpointKey.publicKey(atPath: publicPath)
        }
        if FileManager.default.fileExists(atPath: privatePath) {
            if FileManager.default.isReadableFile(atPath: privatePath) {
                return try CheckpointKey.publicKey(atPath: privatePath)
            }
            note(
                "cannot read \(privatePath) and there is no \(publicPath): each statement is checked under "
                    + "the key it names; compare its fingerprint with the one sent away, or pass --checkpoint-key"
            )
            return nil
        }
        note(
            "no checkpoint key beside the ledger: each statement is checked under the key it names; "
                + "compare its fingerprint with the one sent away")
        return nil
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        if let report {
            let data = try readInputFile(report, what: "report")
            let problem: String?
            do {
                var progress = Progress(label: "verify report", total: try log.head().position)
                defer { progress.finish() }
                problem = try ClosureReport.check(data, against: log) {
                    progress.update($0)
                }
            } catch let error as ReportCheckError {
                throw Failure(.badInput, "\(report): \(error)")
            }
            if let problem { throw Failure(.integrity, "\(report): \(problem)") }
            print("ok: the report holds: its seal and every figure match the ledger")
            return
        }
        let head = try log.head()
        var progress = Progress(label: "verify", total: head.position)
        let result = try log.verify { progress.update($0) }
        progress.finish()
        if let failure = result.failure {
            throw Failure(.integrity, "verify failed at \(failure)")
        }
        print(
            "ok: \(result.eventsChecked) events, hash chain and indices hold; head hash \(result.headHash.hexString)"
        )
        if let source { try verifySource(source, log: log) }
        if let checkpoints {
            let statements = try readStatements(checkpoints)
            guard !statements.isEmpty else {
                throw Failure(.badInput, "\(checkpoints): holds no checkpoint")
            }
            let trusted = try trustedCheckpointKey()
            for statement in statements {
                if let problem = try log.check(statement, trustedKey: trusted) {
                    throw Failure(.integrity, "\(checkpoints): \(problem)")
                }
            }
            let keys = Set(statements.map(\.keyFingerprint)).sorted().joined(separator: ", ")
            print(
                "ok: \(statements.count) signed checkpoints hold (up to position "
                    + "\(statements.map(\.position).max() ?? 0); key \(keys))")
        }
    }
}

extension Verify {
    /// `--source OLD`: the migration record names OLD, OLD's chain and signed checkpoints hold, and
    /// this ledger holds OLD's events one by one.
    func verifySource(_ source: String, log: EventLog) throws {
        guard let record = try log.migrationSource() else {
            throw Failure(.badInput, "--source: \(options.path) was not migrated from another ledger")
        }
        var progress = Progress(label: "verify --source", total: record.events)
        let failure = try log.verify(source: source) { progress.update($0) }
        progress.finish()
        if let failure { throw Failure(.integrity, "verify --source failed at \(failure)") }
        var statements = 0
        let checkpoints = CheckpointKey.checkpointsPath(ofLedger: source)
        if FileManager.default.fileExists(atPath: checkpoints) {
            let old = try FormatVersion1Ledger(path: source)
            let parsed = try readStatements(checkpoints)
            let trusted = try trustedCheckpointKey()
            for statement in parsed {
                if let problem = try old.check(statement, trustedKey: trusted) {
                    throw Failure(.integrity, "\(checkpoints): \(problem)")
                }
            }
            statements = parsed.count
        }
        print(
            "ok: the \(record.events) events of \(source) (ledger \(record.ledgerID.uuidString.lowercased()), "
                + "head hash \(record.headHash.hexString)) are this ledger's first \(record.events), field by field"
                + (statements > 0 ? "; its \(statements) signed checkpoints hold" : ""))
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a compacted, consistent copy of the ledger while appends go on.",
        discussion: """
            The copy is written into a temporary directory beside --to and renamed into place only when \
            complete: a failed backup leaves nothing at --to. A signed checkpoint of the copy's head is \
            appended to LEDGER.checkpoints (see 'checkpoint').
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The directory to write (must not exist, or be empty; not inside the ledger).") var to:
        String

    func validate() throws {
        guard !to.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--to: give the directory to write the backup into")
        }
    }

    func run() throws {
        let log = try options.open(readOnly: true)
        let head = try log.backup(to: to)
        print("backup written to \(to): \(head.count) events, head hash \(head.hashHex)")
        writeCheckpoint(log, head: head, options: options)
    }
}

/// The signed statements of the checkpoint file `file`; one that does not parse is bad input (65)
/// naming the file and the line.
func readStatements(_ file: String) throws -> [SignedCheckpoint] {
    let data = try readInputFile(file, what: "checkpoint file")
    do {
        return try SignedCheckpoint.parseAll(String(decoding: data, as: UTF8.self))
    } catch {
        throw Failure(.badInput, "\(file): \(error)")
    }
}

/// Signs `head` and appends the statement to the ledger's checkpoint file, for commands that write one
/// beside their main work (backup, platform close, report closure). When that cannot be done (a user
/// without access to the checkpoint key), the command still succeeds and says so.
func writeCheckpoint(_ log: EventLog, head: LogHead, options: LedgerOptions) {
    // A read-only copy signs nothing: the statements of its ledger id are the original's.
    guard log.readOnlyCopy == nil else { return }
    do {
        let statement = try log.writeCheckpoint(head: head)
        FileHandle.standardError.write(
            Data(
                ("checkpoint signed (position \(statement.position), key \(statement.keyFingerprint)) and "
                    + "appended to \(CheckpointKey.checkpointsPath(ofLedger: options.path))\n").utf8))
    } catch {
        note("no checkpoint written: \(systemErrorText(error))")
    }
}

struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign the ledger's head (ledger id, position, head hash, time) and print the statement.",
        discussion: """
            The statement is signed with the ledger's Ed25519 checkpoint key (LEDGER.checkpoint-key, \
            created on first use, mode 0600) and appended to LEDGER.checkpoints. Send the printed \
            statement away (to the regional agency, by mail): 'verify --checkpoints FILE' then fails \
            with 76 if the log is ever cut below, or rewritten under, a signed head.
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The checkpoint file to append to (default: LEDGER.checkpoints).") var file: String?
    @Option(help: "The checkpoint key (default: LEDGER.checkpoint-key, created when missing).") var key:
        String?

    func run() throws {
        let log = try options.open(readOnly: true)
        if let source = log.readOnlyCopy {
            throw Failure(LedgerError.readOnlyCopy(path: options.path, source: source))
        }
        let statement = try log.writeCheckpoint(keyPath: key, file: file)
        print(statement.text, terminator: "")
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "The quick start: simulate the Hérault platform's history into a new ledger, print its closure "
            + "report's headline, and verify the ledger.",
        discussion: """
            The same as 'simulate' (default profile herault-2022 at --scale \(Demo.defaultScale)), then \
            'report closure' for every platform that closed, then 'verify'.
            """)

    static let defaultScale = 0.1

    @OptionGroup var options: LedgerOptions
    @OptionGroup var simulation: SimulationOptions

    func run() throws {
        let (log, summary) = try simulation.run(
            into: options, label: "demo", defaultScale: Demo.defaultScale)
        let started = Date()
        let reports = try withCurrentProjection(options, log: log) { projection in
            try summary.totals.map(\.platform).filter { try projection.platformFacts($0)?.closedOn != nil }
                .map {
                    try ClosureReport(platform: $0, queries: projection)
                }
        }
        print("projections rebuilt in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        for report in reports {
            print("report closure --platform \(report.platform): \(report.headline(language: .fr))")
        }
        let verifyStarted = Date()
        let report = try log.verify()
        if let failure = report.failure { throw Failure(.integrity, "verify failed at \(failure)") }
        print(
            "verify: ok (\(report.eventsChecked) events, \(String(format: "%.1f", Date().timeIntervalSince(verifyStarted))) s)"
        )
        print("demo ledger: \(options.path) (try: ledgerctl stats --ledger \(options.path) --by month)")
    }
}
