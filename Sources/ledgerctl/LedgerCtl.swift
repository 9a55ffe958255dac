import ArgumentParser
import ContactTracing
import Foundation
import LMDB
import Ledger
import Projections
import Replication

/// The command-line tool of the tracing ledger. Presentation only: the work is in Ledger and Projections.
@main
struct LedgerCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerctl",
        abstract: "The event-sourced ledger of a COVID-19 contact-tracing platform.",
        discussion: """
            The ledger is an LMDB environment (a directory). Each command takes --ledger PATH after its
            name (ledgerctl info --ledger PATH); by default the LEDGER environment variable, else
            ./tracing.ledger. Names (streams, platforms, case ids) are compared in Unicode NFC.

            Exit codes:
              0   success
              64  usage error (bad command-line arguments)
              65  bad input (a line, field or value that cannot be accepted); the ledger is unchanged
                  (append --batch-size: the batches before the failing one stay committed; see
                  append --help)
              74  I/O or LMDB error (a full disk, a permission refused, a file that cannot be read)
              75  concurrency conflict (a stream's expected version did not hold); the ledger is unchanged
              76  integrity failure (a broken hash chain or index, a report or checkpoint the log no
                  longer supports, a history that was cut or rewritten)
            """,
        subcommands: [
            Init.self, Info.self, Append.self, Import.self, Read.self, Export.self, Verify.self, Backup.self,
            Checkpoint.self, Migrate.self, Replicate.self, Restore.self, Case.self,
            Erase.self,
            Retention.self, Replay.self, Stats.self, Report.self, Platform.self, Simulate.self, Demo.self,
            CredentialsCommand.self, Audit.self,
        ]
    )
}

extension LedgerCtl {
    /// The entry point: parses the command line, runs the command, and maps every error to its
    /// message and exit code in one place (``Failure/init(_:)``), so no command exits with a code
    /// `--help` does not list and no Foundation error text reaches a user.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // Help, usage errors (64) and explicit exit codes: ArgumentParser prints and exits.
            exit(withError: error)
        } catch {
            let failure = Failure(error)
            FileHandle.standardError.write(Data("ledgerctl: error: \(failure.message)\n".utf8))
            exit(withError: ExitCode(failure.kind.rawValue))
        }
    }
}

/// Options every command that opens a ledger shares.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger directory (default: $LEDGER, else ./tracing.ledger).")
    var ledger: String?

    var path: String {
        ledger ?? ProcessInfo.processInfo.environment["LEDGER"] ?? "tracing.ledger"
    }

    func open(readOnly: Bool = false) throws -> EventLog {
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw Failure(.badInput, "\(path): no ledger here (create one with 'ledgerctl init')")
        }
        let log: EventLog
        do {
            var settings = EventLog.Options(readOnly: readOnly)
            // A small first map makes the map grow often: how the reliability tests exercise growth
            // under concurrent readers and backups (docs/reliability.md).
            if let bytes = ProcessInfo.processInfo.environment["LEDGER_INITIAL_MAP_SIZE"].flatMap(Int.init),
                bytes >= 1 << 16
            {
                settings.initialMapSize = bytes
            }
            log = try EventLog(path: path, options: settings)
        } catch {
            throw Failure(error)
        }
        if !readOnly, let source = log.readOnlyCopy {
            // Nothing is written beside it either (key store, secret, checkpoint key).
            log.close()
            throw Failure(LedgerError.readOnlyCopy(path: path, source: source))
        }
        if log.isLockless {
            note(
                "reading \(path) without LMDB's lock file, which you cannot write: no process has the ledger "
                    + "open now, but one that starts writing meanwhile would not see this reader "
                    + "(docs/cli.md, 'Read-only access')")
        }
        return log
    }
}

/// The exit codes documented in `ledgerctl --help` and docs/cli.md.
enum ExitCodeKind: Int32 {
    case badInput = 65
    case conflict = 75
    case integrity = 76
    case io = 74
}

/// An error to report on standard error with its exit code.
struct Failure: Error, CustomStringConvertible {
    var kind: ExitCodeKind
    var message: String

    init(_ kind: ExitCodeKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(_ error: LedgerError, context: String? = nil) {
        let prefix = context.map { $0 + ": " } ?? ""
        switch error {
        case .wrongExpectedVersion: self.init(.conflict, prefix + error.description)
        case .idempotencyConflict, .invalidEvent: self.init(.badInput, prefix + error.description)
        case .corruptRecord: self.init(.integrity, prefix + error.description)
        case .unsupportedFormat, .notALedger, .readOnlyCopy: self.init(.badInput, prefix + error.description)
        default: self.init(.io, prefix + error.description)
        }
    }

    /// The one mapping of every error a command can meet to its exit code and message.
    init(_ error: any Error) {
        switch error {
        case let failure as Failure: self = failure
        case let error as LedgerError: self.init(error, context: nil)
        case let error as ProjectionStoreError: self.init(.integrity, error.description)
        case ProjectionError.staleState(let path, let reason):
            self.init(
                .integrity,
                "the read model is damaged (\(path): \(reason)); 'ledgerctl replay --from-scratch' rebuilds it"
            )
        case let error as ProjectionError:
            self.init(.integrity, "cannot fold the log with this build: \(error)")
        case let error as LMDBError: self.init(.io, error.description)
        case let error as EventJSONError: self.init(.badInput, error.description)
        case let error as ReplicationError:
            switch error {
            case .ledger(let error): self.init(error, context: nil)
            case .divergence, .replicaAhead, .incomplete: self.init(.integrity, error.description)
            case .server, .invalidLocation: self.init(.io, error.description)
            }
        default: self.init(.io, systemErrorText(error))
        }
    }

    var description: String { message }
}

/// The bytes of an input file named on the command line, or a 74 failure naming the file and the
/// system's reason (no such file, permission denied, a directory).
func readInputFile(_ path: String, what: String) throws -> Data {
    do {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Failure(.io, "\(path): cannot read the \(what): it is a directory")
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch let failure as Failure {
        throw failure
    } catch {
        throw Failure(.io, "\(path): cannot read the \(what): \(systemErrorText(error))")
    }
}

/// A line on standard error that is not an error: something the user should know.
func note(_ text: String) {
    FileHandle.standardError.write(Data("ledgerctl: note: \(text)\n".utf8))
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Writes to standard output through a buffer (many lines are written by read and export).
struct Output {
    private var buffer = [UInt8]()

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A progress line on standard error when it is a terminal; silent otherwise.
struct Progress {
    let label: String
    let total: UInt64
    let enabled = isatty(STDERR_FILENO) == 1
    private var last = Date.distantPast

    init(label: String, total: UInt64) {
        self.label = label
        self.total = total
    }

    mutating func update(_ done: UInt64) {
        guard enabled, Date().timeIntervalSince(last) > 0.1 else { return }
        last = Date()
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
