import Crypto
import Foundation
import LMDB

#if canImport(Glibc)
    import Glibc
#endif

/// A signed statement of a ledger's head, as transparency logs publish them: "ledger L had reached
/// position P with head hash H at time T", signed with the ledger's Ed25519 checkpoint key.
///
/// A hash chain only protects what a head hash kept elsewhere covers: a log whose tail was cut, or
/// whose events were changed and every later hash recomputed, still verifies on its own. A checkpoint
/// sent away (to the regional agency, by mail) cannot be changed by whoever can change the log, and
/// `ledgerctl verify --checkpoints FILE` fails when the log no longer holds a signed head.
///
/// The text form (docs/format.md) is seven lines; the signature covers the first six, each ended by
/// a line feed:
///
/// ```text
/// tracing-ledger checkpoint v1
/// ledger 65da4772-bee3-4d35-8fd0-4ef112217ab3
/// position 6962524
/// head 3a7b…(64 hex digits)
/// time 2022-07-15T21:59:59.999Z
/// key ed25519 <public key, base64>
/// signature <Ed25519 signature, base64>
/// ```
public struct SignedCheckpoint: Equatable, Sendable {
    /// The first line of every statement.
    public static let header = "tracing-ledger checkpoint v1"

    /// The ledger's id (`meta/ledger_id`).
    public var ledgerID: UUID
    /// The head position signed.
    public var position: UInt64
    /// The hash chain value at `position`.
    public var headHash: [UInt8]
    /// When the statement was made.
    public var time: Timestamp
    /// The raw Ed25519 public key that signed it (32 bytes).
    public var publicKey: [UInt8]
    /// The Ed25519 signature of ``signedText`` (64 bytes).
    public var signature: [UInt8]

    /// The six lines the signature covers.
    public var signedText: String {
        """
        \(Self.header)
        ledger \(ledgerID.uuidString.lowercased())
        position \(position)
        head \(headHash.hexString)
        time \(time)
        key ed25519 \(Data(publicKey).base64EncodedString())

        """
    }

    /// The whole statement, signature line included, ended by a line feed.
    public var text: String { signedText + "signature \(Data(signature).base64EncodedString())\n" }

    /// A short fingerprint of the public key (the first 16 hex digits of its SHA-256), to compare by eye.
    public var keyFingerprint: String { CheckpointKey.fingerprint(of: publicKey) }

    /// Whether the signature holds for the statement under its own public key.
    public var signatureHolds: Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: Data(signedText.utf8))
    }

    /// Parses every statement of a checkpoint file (statements separated by blank lines).
    /// - Throws: ``LedgerError/invalidEvent(index:field:reason:)`` is not used here: a malformed
    ///   statement throws ``CheckpointParseError`` naming its line.
    public static func parseAll(_ text: String) throws(CheckpointParseError) -> [SignedCheckpoint] {
        var statements = [SignedCheckpoint]()
        var block = [(number: Int, text: Substring)]()
        var lineNumber = 0
        func finish() throws(CheckpointParseError) {
            guard !block.isEmpty else { return }
            statements.append(try parse(block))
            block.removeAll()
        }
        // Split on line feeds as scalars: to Swift, "\r\n" is one Character, so a file whose line
        // ends were changed to CRLF (by a mail client) would otherwise be one line.
        for scalars in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(scalars)
            if line.unicodeScalars.last == "\r" { line = Substring(line.unicodeScalars.dropLast()) }
            if line.allSatisfy(\.isWhitespace) {
                try finish()
            } else {
                block.append((lineNumber, line))
            }
        }
        try finish()
        return statements
    }

    private static func parse(_ lines: [(number: Int, text: Substring)]) throws(CheckpointParseError)
        -> SignedCheckpoint
    {
        let first = lines[0].number
        guard lines[0].text == Substring(header) else {
            throw CheckpointParseError(line: first, reason: "a statement starts with '\(header)'")
        }
        let fields = ["ledger", "position", "head", "time", "key", "signature"]
        guard lines.count == 7 else {
            throw CheckpointParseError(
                line: first, reason: "a statement has 7 lines (header, \(fields.joined(separator: ", ")))")
        }
        var values = [String]()
        for (index, field) in fields.enumerated() {
            let line = lines[index + 1]
            guard line.text.hasPrefix(field + " ") else {
                throw CheckpointParseError(line: line.number, reason: "expected the '\(field)' line")
            }
            values.append(String(line.text.dropFirst(field.count + 1)))
        }
        func fail(_ index: Int, _ reason: String) -> CheckpointParseError {
            CheckpointParseError(line: lines[index + 1].number, reason: "\(fields[index]): \(reason)")
        }
        guard let id = UUID(uuidString: values[0]) else { throw fail(0, "'\(values[0])' is not a UUID") }
        guard let position = UInt64(values[1]) else { throw fail(1, "'\(values[1])' is not a position") }
        guard let hash = [UInt8](hex: values[2]), hash.count == 32 else {
            throw fail(2, "'\(values[2])' is not 64 hex digits")
        }
        guard let time = Timestamp(values[3]) else { throw fail(3, "'\(values[3])' is not an RFC 3339 time") }
        guard values[4].hasPrefix("ed25519 "), let key = Data(base64Encoded: String(values[4].dropFirst(8))),
            key.count == 32
        else { throw fail(4, "expected 'ed25519 ' and a 32-byte key in base64") }
        guard let signature = Data(base64Encoded: values[5]), signature.count == 64 else {
            throw fail(5, "expected a 64-byte signature in base64")
        }
        let statement = SignedCheckpoint(
            ledgerID: id, position: position, headHash: hash, time: time, publicKey: Array(key),
            signature: Array(signature))
        // The signature covers the canonical lines; a line written otherwise ("position 06953",
        // upper-case hex) is refused rather than silently read as the canonical one, so what is
        // checked is exactly the text on file.
        let canonical = statement.text.split(separator: "\n").map(String.init)
        for (index, line) in lines.enumerated() where String(line.text) != canonical[index] {
            throw CheckpointParseError(
                line: line.number, reason: "is not in canonical form; expected '\(canonical[index])'")
        }
        return statement
    }
}

/// A checkpoint file that does not parse, with the line at fault.
public struct CheckpointParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line number (from 1).
    public var line: Int
    /// What is wrong there.
    public var reason: String

    /// `line N: reason`.
    public var description: String { "line \(line): \(reason)" }
}

/// The Ed25519 key that signs a ledger's checkpoints, kept beside the ledger like its secret
/// (`LEDGER.checkpoint-key`, 32 bytes in hex, mode 0600).
public struct CheckpointKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// The default key path of a ledger directory.
    public static func path(ofLedger ledger: String) -> String {
        EventLog.siblingPath(ofLedger: ledger, suffix: ".checkpoint-key")
    }

    /// The public key file written beside the private one (`LEDGER.checkpoint-key.pub`, mode 0644), so
    /// that whoever may only read the ledger can check its checkpoints.
    public static func publicPath(ofKey keyPath: String) -> String { keyPath + ".pub" }

    /// The text of a public key file: `ed25519 <base64>` and a line feed.
    public static func publicKeyText(_ publicKey: [UInt8]) -> String {
        "ed25519 \(Data(publicKey).base64EncodedString())\n"
    }

    /// Reads the public key from a key file: either a public key file (`ed25519 <base64>`) or the
    /// private key file (64 hex digits), whose public part is taken.
    /// - Throws: ``LedgerError/io(path:reason:)`` naming the file when it cannot be read or is neither.
    public static func publicKey(atPath path: String) throws(LedgerError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .io(path: path, reason: "is a directory, not a checkpoint key")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let code = access(path, F_OK) == 0 ? EACCES : ENOENT
            throw .io(
                path: path, reason: "cannot read the checkpoint key: \(String(cString: strerror(code)))")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("ed25519 ") {
            guard let raw = Data(base64Encoded: String(text.dropFirst(8))), raw.count == 32 else {
                throw .io(
                    path: path, reason: "is not a public checkpoint key ('ed25519 ' and 32 bytes in base64)")
            }
            return Array(raw)
        }
        guard let key = privateKey(text) else {
            throw .io(
                path: path,
                reason: "is not a checkpoint key (64 hex digits) nor a public one ('ed25519 ' and base64)")
        }
        return Array(key.publicKey.rawRepresentation)
    }

    /// The private key a key file's text holds (64 hex digits), or nil.
    private static func privateKey(_ text: String) -> Curve25519.Signing.PrivateKey? {
        guard let raw = [UInt8](hex: text), raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// Writes `bytes` into a new file `temporary` (mode `mode`) and syncs it; returns 0, or the
    /// `errno` of the step that failed (the file is then removed).
    private static func writeSynced(_ bytes: [UInt8], to temporary: String, mode: mode_t, exclusive: Bool)
        -> Int32
    {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), mode)
        guard fd >= 0 else { return errno }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let code = written == bytes.count ? (fsync(fd) == 0 ? 0 : errno) : (written < 0 ? errno : EIO)
        Glibc.close(fd)
        if code != 0 { unlink(temporary) }
        return code
    }

    /// The default checkpoint file of a ledger directory (`LEDGER.checkpoints`).
    public static func checkpointsPath(ofLedger ledger: String) -> String {
        EventLog.siblingPath(ofLedger: ledger, suffix: ".checkpoints")
    }

    /// The raw public key.
    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    /// A short fingerprint of the public key.
    public var fingerprint: String { Self.fingerprint(of: publicKey) }

    static func fingerprint(of publicKey: [UInt8]) -> String {
        String(SHA256.hash(data: publicKey).hexString.prefix(16))
    }

    /// Loads the key at `path`, creating it (mode 0600, written atomically) when `create` is set and
    /// there is none.
    /// - Throws: ``LedgerError/io(path:reason:)`` when it is missing (and not to be created), unreadable
    ///   or malformed, or cannot be written.
    public init(path: String, create: Bool) throws(LedgerError) {
        if let key = try Self.read(path) {
            self.key = key
        } else {
            guard create else { throw .io(path: path, reason: "no checkpoint key here") }
            try Self.create(path)
            // Another process may have created one first: use whichever is on disk.
            guard let key = try Self.read(path) else {
                throw .io(path: path, reason: "no checkpoint key here")
            }
            self.key = key
        }
        writePublicKeyFile(Self.publicPath(ofKey: path))
    }

    /// Writes the public key file when it is missing or says something else (best effort: a key that
    /// signs does not depend on it; `verify` then reads the private key when it can).
    private func writePublicKeyFile(_ path: String) {
        let text = Self.publicKeyText(publicKey)
        if let data = FileManager.default.contents(atPath: path), data == Data(text.utf8) { return }
        let temporary = path + ".tmp-\(getpid())"
        guard Self.writeSynced(Array(text.utf8), to: temporary, mode: 0o644, exclusive: false) == 0 else {
            return
        }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    private static func read(_ path: String) throws(LedgerError) -> Curve25519.Signing.PrivateKey? {
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let key = privateKey(text) else {
                throw .io(path: path, reason: "is not a checkpoint key (64 hex digits)")
            }
            return key
        }
        guard access(path, F_OK) != 0 else {
            throw .io(
                path: path, reason: "cannot read the checkpoint key: \(String(cString: strerror(EACCES)))")
        }
        return nil
    }

    private static func create(_ path: String) throws(LedgerError) {
        let key = Curve25519.Signing.PrivateKey()
        let temporary = path + ".tmp-\(getpid())"
        let bytes = Array((key.rawRepresentation.hexString + "\n").utf8)
        let failed = writeSynced(bytes, to: temporary, mode: 0o600, exclusive: true)
        guard failed == 0 else {
            throw .io(
                path: path, reason: "cannot write the checkpoint key: \(String(cString: strerror(failed)))")
        }
        guard link(temporary, path) == 0 || errno == EEXIST else {
            let code = errno
            unlink(temporary)
            throw .io(
                path: path, reason: "cannot write the checkpoint key: \(String(cString: strerror(code)))")
        }
        unlink(temporary)
    }

    /// Signs a statement of `head` for the ledger `ledgerID` at `time`.
    public func sign(ledgerID: UUID, head: LogHead, time: Timestamp) throws(LedgerError) -> SignedCheckpoint {
        var statement = SignedCheckpoint(
            ledgerID: ledgerID, position: head.position, headHash: head.hash, time: time,
            publicKey: publicKey,
            signature: [])
        do {
            statement.signature = Array(try key.signature(for: Data(statement.signedText.utf8)))
        } catch {
            throw .io(path: "", reason: "cannot sign the checkpoint: \(error)")
        }
        return statement
    }
}

extension EventLog {
    /// The ledger's id, chosen when it was created.
    public func ledgerID() throws(LedgerError) -> UUID {
        guard let id = try info().ledgerID else {
            throw .notALedger(path: path, reason: "it has no ledger id")
        }
        return id
    }

    /// Signs the current head (or `head`, when given) with the ledger's checkpoint key and appends the
    /// statement to the ledger's checkpoint file; returns it.
    ///
    /// The key is created beside the ledger on first use. The file is appended to and synced, so a
    /// statement that was returned is on disk.
    public func writeCheckpoint(
        head: LogHead? = nil, keyPath: String? = nil, file: String? = nil, time: Timestamp = .now()
    ) throws(LedgerError) -> SignedCheckpoint {
        let key = try CheckpointKey(path: keyPath ?? CheckpointKey.path(ofLedger: path), create: true)
        let signed: LogHead
        if let head { signed = head } else { signed = try self.head() }
        let statement = try key.sign(ledgerID: try ledgerID(), head: signed, time: time)
        let file = file ?? CheckpointKey.checkpointsPath(ofLedger: path)
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .io(
                path: file, reason: "cannot open the checkpoint file: \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(fd) }
        // Statements are separated by a blank line.
        let bytes = Array(("\n" + statement.text).utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw .io(path: file, reason: "cannot write the checkpoint: \(String(cString: strerror(errno)))")
        }
        return statement
    }

    /// Checks a signed statement against this log: its signature, the key (when `trustedKey` is given),
    /// the ledger id, and that the log still holds the signed head hash at the signed position.
    /// - Returns: `nil` when the statement holds, else what does not.
    public func check(_ statement: SignedCheckpoint, trustedKey: [UInt8]?) throws(LedgerError) -> String? {
        let id = try ledgerID()
        if statement.ledgerID != id, let source = try migrationSource(), statement.ledgerID == source.ledgerID
        {
            // A statement of the version 1 ledger this one was migrated from: its migrated head is
            // recorded here; earlier positions are checked against the source ('verify --source').
            if statement.position > 0 && statement.position < source.events {
                return
                    "checkpoint of \(statement.time) (position \(statement.position)) is a statement of the "
                    + "version 1 ledger \(source.ledgerID.uuidString.lowercased()) this one was migrated from, "
                    + "before its migrated head: check it against that ledger with 'ledgerctl verify --source OLD'"
            }
            return try statement.problem(
                trustedKey: trustedKey, ledgerID: source.ledgerID, headPosition: source.events
            ) { (position) throws(LedgerError) -> [UInt8]? in
                position == source.events ? source.headHash : nil
            }
        }
        let head = try self.head()
        return try statement.problem(trustedKey: trustedKey, ledgerID: id, headPosition: head.position) {
            (position) throws(LedgerError) -> [UInt8]? in
            try event(at: position)?.hash
        }
    }
}
