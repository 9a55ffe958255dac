import ArgumentParser
import ContactTracing
import Foundation
import Ledger
import Projections

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a ledger of the current format (version 2) from a ledger of format version 1.",
        discussion: """
            --from is only read: its hash chain and its signed checkpoints are checked on the way (exit \
            76 where they do not hold), and it stays as it was. --to is written beside, into a temporary \
            directory renamed into place when complete: every event with its id, stream, type, platform, \
            stream version, times, schema version and payload, in the same order, and the source's ledger \
            id, event count and head hash. The pseudonym secret, the key store and the checkpoint key \
            carry over; the source's signed checkpoints are copied to TO.checkpoints-v1 and a new one of \
            the migrated head is signed; the access log (FROM.audit/) is migrated month by month; the \
            read model is rebuilt. Then 'ledgerctl verify --ledger TO --source FROM' proves that TO holds \
            exactly the history of FROM (docs/format.md, 'Migrating from version 1').
            """)

    @Option(help: "The ledger of format version 1 to read.") var from: String
    @Option(help: "The ledger to write (must not exist, or be empty).") var to: String

    func validate() throws {
        guard !from.isEmpty, !to.isEmpty else {
            throw ValidationError("--from and --to: give two directories")
        }
    }

    /// The files kept beside a ledger that carry over as they are.
    static let siblingFiles = [".secret", ".checkpoint-key", ".checkpoint-key.pub"]
    /// Everything migrate writes beside the new ledger: none may be there before, and all of it is
    /// removed again when the migration fails.
    static let writtenBeside =
        siblingFiles + [".keys", ".checkpoints", ".checkpoints-v1", ".audit", ".projections"]

    func run() throws {
        let fm = FileManager.default
        let source = EventLog.siblingPath(ofLedger: from, suffix: "")
        let target = EventLog.siblingPath(ofLedger: to, suffix: "")
        guard fm.fileExists(atPath: source) else {
            throw Failure(.badInput, "--from \(source): no such ledger")
        }
        let old = try openSource(source)
        // Nothing is written when anything beside the target is already there.
        for suffix in Self.writtenBeside where fm.fileExists(atPath: target + suffix) {
            throw Failure(.badInput, "--to: \(target + suffix) already exists; migrate into a new name")
        }
        // The source's signed statements must hold before its history is carried over.
        let checkpoints = CheckpointKey.checkpointsPath(ofLedger: source)
        var statements = [SignedCheckpoint]()
        if fm.fileExists(atPath: checkpoints) {
            statements = try readStatements(checkpoints)
            // Under the source's own key: its public file, else its private key.
            let privatePath = CheckpointKey.path(ofLedger: source)
            let publicPath = CheckpointKey.publicPath(ofKey: privatePath)
            let keyPath = fm.fileExists(atPath: publicPath) ? publicPath : privatePath
            let trusted = fm.fileExists(atPath: keyPath) ? try CheckpointKey.publicKey(atPath: keyPath) : nil
            for statement in statements {
                if let problem = try old.check(statement, trustedKey: trusted) {
                    throw Failure(.integrity, "\(checkpoints): \(problem); nothing was migrated")
                }
            }
        }

        var progress = Progress(label: "migrate", total: old.events)
        let record = try EventLog.migrate(from: source, to: target) { written, _ in progress.update(written) }
        progress.finish()
        print(
            "migrated \(record.events) events from \(source) (ledger \(record.ledgerID.uuidString.lowercased()), "
                + "head hash \(record.headHash.hexString)) to \(target)")
        do {
            try carryOver(from: source, to: target, statements: statements)
        } catch {
            // All or nothing: a ledger without its secret or keys is worse than none.
            for suffix in [""] + Self.writtenBeside { try? fm.removeItem(atPath: target + suffix) }
            throw error
        }
    }

    /// Everything beside the ledger: secret, keys, checkpoint key and statements, access log, read
    /// model, a new checkpoint.
    private func carryOver(from source: String, to target: String, statements: [SignedCheckpoint]) throws {
        let fm = FileManager.default
        let checkpoints = CheckpointKey.checkpointsPath(ofLedger: source)

        for suffix in Self.siblingFiles where fm.fileExists(atPath: source + suffix) {
            try copyFile(source + suffix, target + suffix, mode: suffix.hasSuffix(".pub") ? 0o644 : 0o600)
        }
        if fm.fileExists(atPath: source + ".keys/data.mdb") {
            try KeyStore.copy(from: source + ".keys", to: target + ".keys")
            print("key store copied to \(target).keys")
        }
        if fm.fileExists(atPath: checkpoints) {
            try copyFile(checkpoints, target + ".checkpoints-v1", mode: 0o644)
            print(
                "\(statements.count) signed checkpoints of the source hold; kept in \(target).checkpoints-v1")
        }
        let months =
            ((try? fm.contentsOfDirectory(atPath: source + ".audit")) ?? []).sorted()
            .filter { fm.fileExists(atPath: source + ".audit/\($0)/data.mdb") }
        for month in months {
            if !fm.fileExists(atPath: target + ".audit") {
                try fm.createDirectory(
                    atPath: target + ".audit", withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            }
            let migrated = try EventLog.migrate(
                from: source + ".audit/\(month)", to: target + ".audit/\(month)")
            print("access log \(month): \(migrated.events) records migrated")
        }

        let (log, options) = try rebuildReadModel(ofNewLedger: target)
        writeCheckpoint(log, head: try log.head(), options: options)
        print("check it with: ledgerctl verify --ledger \(target) --source \(source)")
    }

    /// The version 1 ledger at `source`, or a failure that says which version it is.
    private func openSource(_ source: String) throws -> FormatVersion1Ledger {
        let result = Result { () throws(LedgerError) in try FormatVersion1Ledger(path: source) }
        if case .failure(let error) = result, case .unsupportedFormat(let found, _) = error {
            throw Failure(
                .badInput,
                "--from \(source): is of format version \(found); migrate reads version 1 ledgers"
                    + (found == LedgerFormat.version ? " (this one needs no migration)" : ""))
        }
        return try result.get()
    }

    /// Copies a file into a new file created with `mode` (a secret is 0600 from its first byte),
    /// synced with its directory.
    private func copyFile(_ source: String, _ target: String, mode: mode_t) throws {
        let data = try readInputFile(source, what: "file")
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw Failure(.io, "cannot create \(target): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            throw Failure(.io, "cannot write \(target): \(String(cString: strerror(errno)))")
        }
        try? syncDirectory((target as NSString).deletingLastPathComponent)
    }

}

/// Builds the read model of a ledger a command has just written (migrate, restore), saying how many
/// cases it holds; returns the ledger, open for reading, and its options.
func rebuildReadModel(ofNewLedger target: String) throws -> (EventLog, LedgerOptions) {
    var options = LedgerOptions()
    options.ledger = target
    let log = try options.open(readOnly: true)
    let cases = try withCurrentProjection(options, log: log, fromScratch: true, mustSave: true) {
        try $0.caseCount()
    }
    print("read model rebuilt: \(cases) cases")
    return (log, options)
}
