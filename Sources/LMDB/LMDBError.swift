import CLMDB
import Foundation

/// A non-zero return code from an `mdb_*` call, with the operation that produced it.
///
/// Every call into liblmdb goes through ``lmdbCheck(_:_:)``, the one place where a C return
/// code becomes a Swift error. Match codes in a `catch` with the static members:
///
/// ```swift
/// catch let error as LMDBError where error.code == LMDBError.mapFull { … }
/// ```
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The LMDB (or errno) return code.
    public let code: Int32
    /// What was being done, for example `mdb_put(events)`.
    public let operation: String

    /// Creates an error for a return code.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// LMDB's own text for the code.
    public var message: String {
        guard let text = mdb_strerror(code) else { return "LMDB error \(code)" }
        return String(cString: text)
    }

    /// `operation failed: message (code N)`, with what it means for a ledger when the disk refused a
    /// write.
    public var description: String {
        var text = "\(operation) failed: \(message) (LMDB code \(code))"
        if code == ENOSPC || code == EFBIG || code == EIO || code == EDQUOT {
            text +=
                ": the disk is full, a file-size limit or quota was reached, or the device failed;"
                + " nothing of this transaction was written, and the ledger is usable once space is back"
        }
        return text
    }

    /// The key or data pair was not found (`MDB_NOTFOUND`).
    public static let notFound: Int32 = MDB_NOTFOUND
    /// The key already exists and `MDB_NOOVERWRITE` was given (`MDB_KEYEXIST`).
    public static let keyExists: Int32 = MDB_KEYEXIST
    /// The memory map is full (`MDB_MAP_FULL`).
    public static let mapFull: Int32 = MDB_MAP_FULL
    /// Another process grew the map beyond this process's size (`MDB_MAP_RESIZED`).
    public static let mapResized: Int32 = MDB_MAP_RESIZED
    /// Every reader slot is in use (`MDB_READERS_FULL`).
    public static let readersFull: Int32 = MDB_READERS_FULL
    /// The file is not an LMDB file (`MDB_INVALID`).
    public static let invalid: Int32 = MDB_INVALID
    /// The file's LMDB version does not match the library's (`MDB_VERSION_MISMATCH`).
    public static let versionMismatch: Int32 = MDB_VERSION_MISMATCH
    /// A page has an unexpected type: the file is corrupt (`MDB_CORRUPTED`).
    public static let corrupted: Int32 = MDB_CORRUPTED
}

/// Turns an `mdb_*` return code into a typed error.
///
/// - Parameters:
///   - rc: the return code.
///   - operation: what was being done, evaluated only on failure.
/// - Throws: ``LMDBError`` when `rc` is not `MDB_SUCCESS`.
@inline(__always)
package func lmdbCheck(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if rc != MDB_SUCCESS {
        throw LMDBError(code: rc, operation: operation())
    }
}

/// Like ``lmdbCheck(_:_:)`` but treats `MDB_NOTFOUND` as an answer rather than an error.
///
/// - Returns: `true` when found, `false` on `MDB_NOTFOUND`.
@inline(__always)
package func lmdbFound(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) -> Bool {
    if rc == MDB_NOTFOUND { return false }
    try lmdbCheck(rc, operation())
    return true
}

/// An error type that a transaction's body throws and that can carry an LMDB failure.
///
/// ``Environment/read(keepHandles:_:)`` and ``Environment/write(_:)`` are generic over it, so errors
/// keep their type through the closures they run: an LMDB call inside a `Transaction<LedgerError>`
/// throws `LedgerError.lmdb(…)`, and the layer's own errors pass through unchanged. The environment
/// reads ``lmdbCode`` to grow the map on `MDB_MAP_FULL` and adopt another process's size on
/// `MDB_MAP_RESIZED`.
package protocol LMDBFailure: Error {
    /// Wraps an LMDB failure.
    init(lmdb: LMDBError)
    /// The LMDB return code this error carries, or `nil` when it is not an LMDB failure.
    var lmdbCode: Int32? { get }
}

extension LMDBError: LMDBFailure {
    package init(lmdb: LMDBError) { self = lmdb }
    package var lmdbCode: Int32? { code }
}

/// `lmdbCheck(_:_:)` throwing the failure type of a transaction.
@inline(__always)
package func lmdbCheck<Failure: LMDBFailure>(
    as: Failure.Type, _ rc: Int32, _ operation: @autoclosure () -> String
) throws(Failure) {
    if rc != MDB_SUCCESS {
        throw Failure(lmdb: LMDBError(code: rc, operation: operation()))
    }
}

/// `lmdbFound(_:_:)` throwing the failure type of a transaction.
@inline(__always)
package func lmdbFound<Failure: LMDBFailure>(
    as: Failure.Type, _ rc: Int32, _ operation: @autoclosure () -> String
) throws(Failure) -> Bool {
    if rc == MDB_NOTFOUND { return false }
    try lmdbCheck(as: Failure.self, rc, operation())
    return true
}
