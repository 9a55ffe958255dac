import Foundation
import LMDB

/// Everything the ledger refuses or fails at, as one typed error.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stream's version was not what the append expected; nothing was written.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: UInt64?)
    /// An event id already in the log was appended with different content; nothing was written.
    case idempotencyConflict(id: UUID, position: UInt64, field: String)
    /// An event is not well formed; `field` names the offending field.
    case invalidEvent(index: Int, field: String, reason: String)
    /// The ledger was written in a format version this build does not read.
    case unsupportedFormat(found: UInt32, supported: UInt32)
    /// The directory holds an LMDB environment that is not a ledger, or is not a ledger at all.
    case notALedger(path: String, reason: String)
    /// A stored record could not be read: the ledger is damaged at `position`.
    case corruptRecord(position: UInt64, reason: String)
    /// The ledger was opened read-only and a write was asked for.
    case readOnly
    /// The ledger is a read-only copy (`meta/read_only_copy`, written by `restore --read-only`):
    /// appends go to the ledger it copies; `source` says where it was copied from.
    case readOnlyCopy(path: String, source: String)
    /// The ledger was closed.
    case closed
    /// An append was asked for from inside a read of the same ledger (a `forEach` body, a
    /// snapshot), which could wait for ever on the read it runs in; nothing was written.
    case appendInsideRead
    /// An LMDB call failed.
    case lmdb(LMDBError)
    /// A file system call failed.
    case io(path: String, reason: String)

    /// A sentence that says what is wrong and where.
    public var description: String {
        switch self {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            let actualText = actual.map { String($0) } ?? "no stream"
            return
                "concurrency conflict on stream '\(stream)': expected version \(expected), actual \(actualText)"
        case .idempotencyConflict(let id, let position, let field):
            return "event id \(id.uuidString.lowercased()) is already in the log at position \(position) "
                + "with a different \(field)"
        case .invalidEvent(let index, let field, let reason):
            return "event \(index + 1) of the batch: field '\(field)': \(reason)"
        case .unsupportedFormat(let found, let supported):
            if found < supported {
                return
                    "ledger format version \(found) is not read by this build (it reads version \(supported)); "
                    + "convert the ledger with 'ledgerctl migrate --from OLD --to NEW', which leaves it as it is "
                    + "(docs/format.md, 'Migrating from version 1')"
            }
            return
                "ledger format version \(found) is not supported by this build (it reads version \(supported))"
        case .notALedger(let path, let reason):
            return "\(path) is not a tracing ledger: \(reason)"
        case .corruptRecord(let position, let reason):
            return "corrupt record at position \(position): \(reason)"
        case .readOnly:
            return "the ledger is open read-only"
        case .readOnlyCopy(let path, let source):
            return "\(path) is a read-only copy (\(source)): appends go to the ledger it copies, and this "
                + "copy cannot take them without forking that ledger's history under the same ledger id"
        case .closed:
            return "the ledger is closed"
        case .appendInsideRead:
            return "an append was asked for from inside a read of the same ledger (forEach, a snapshot); "
                + "collect the events and append them after the read ends"
        case .lmdb(let error):
            return error.description
        case .io(let path, let reason):
            return path.isEmpty ? reason : "\(path): \(reason)"
        }
    }
}

extension LedgerError: LMDBFailure {
    /// An LMDB failure met inside a ledger transaction.
    package init(lmdb: LMDBError) { self = .lmdb(lmdb) }

    /// The LMDB code of ``lmdb(_:)``, so the environment grows the map inside a ledger transaction.
    package var lmdbCode: Int32? {
        if case .lmdb(let error) = self { return error.code }
        return nil
    }
}

/// A sentence for an error from Foundation or the system, without Foundation's error domain and code.
///
/// Foundation reports file errors as `NSCocoaErrorDomain Code=513 ...`; what a user needs is the
/// system's own words (`Permission denied`) and the file. Ledger errors keep their own description.
public func systemErrorText(_ error: any Error) -> String {
    if let error = error as? LedgerError { return error.description }
    if let error = error as? LMDBError { return error.description }
    let ns = error as NSError
    var code: Int32?
    if ns.domain == NSPOSIXErrorDomain {
        code = Int32(ns.code)
    } else if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
        underlying.domain == NSPOSIXErrorDomain
    {
        code = Int32(underlying.code)
    }
    var text: String
    if let code {
        text = String(cString: strerror(code))
    } else if let cocoa = error as? CocoaError {
        switch cocoa.code {
        case .fileWriteNoPermission, .fileReadNoPermission: text = String(cString: strerror(EACCES))
        case .fileNoSuchFile, .fileReadNoSuchFile: text = String(cString: strerror(ENOENT))
        case .fileWriteOutOfSpace: text = String(cString: strerror(ENOSPC))
        case .fileWriteFileExists: text = String(cString: strerror(EEXIST))
        case .fileWriteVolumeReadOnly: text = String(cString: strerror(EROFS))
        case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding:
            text = "the text is not valid UTF-8"
        case .fileReadCorruptFile: text = "the file's contents cannot be read"
        default: text = "the file operation failed (error \(cocoa.code.rawValue))"
        }
    } else {
        text = String(describing: error)
    }
    if let path = ns.userInfo[NSFilePathErrorKey] as? String { text = "\(path): \(text)" }
    return text
}

/// Runs code of the LMDB layer outside a transaction (a backup's copy, a sync), its failure a
/// ``LedgerError/lmdb(_:)``.
package func lmdb<T>(_ body: () throws(LMDBError) -> T) throws(LedgerError) -> T {
    do {
        return try body()
    } catch {
        throw .lmdb(error)
    }
}
