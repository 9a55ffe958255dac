import CLMDB

#if canImport(Glibc)
    import Glibc
#endif

/// A borrowed LMDB transaction (`MDB_txn`). Its lifetime is the closure it is handed to.
///
/// Byte buffers returned by `get` and by cursors point into the memory map and are valid only until
/// the transaction ends or, for write transactions, until the next write.
///
/// `Failure` is the error type of the closure the transaction is handed to: every LMDB failure met
/// through the transaction is thrown as `Failure(lmdb:)`, so a layer's closures throw one type.
package struct Transaction<Failure: LMDBFailure> {
    package let handle: OpaquePointer

    /// Reads the value stored under `key`, or `nil` when there is none.
    package func get(_ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ what: @autoclosure () -> String)
        throws(Failure)
        -> UnsafeRawBufferPointer?
    {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        guard try lmdbFound(as: Failure.self, mdb_get(handle, dbi, &k, &v), "mdb_get(\(what()))") else {
            return nil
        }
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Stores `value` under `key`.
    package func put(
        _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: Int32 = 0,
        _ what: @autoclosure () -> String
    ) throws(Failure) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try lmdbCheck(as: Failure.self, mdb_put(handle, dbi, &k, &v, UInt32(flags)), "mdb_put(\(what()))")
    }

    /// Stores `value` under `key` unless the key exists; then returns the existing value instead.
    package func insertOrGetExisting(
        _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
        _ what: @autoclosure () -> String
    ) throws(Failure) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_put(handle, dbi, &k, &v, UInt32(MDB_NOOVERWRITE))
        if rc == MDB_KEYEXIST { return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size) }
        try lmdbCheck(as: Failure.self, rc, "mdb_put(\(what()))")
        return nil
    }

    /// Reserves `count` bytes under `key` and lets `fill` write them in place (`MDB_RESERVE`).
    package func reserve(
        _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, count: Int, flags: Int32 = 0,
        _ what: @autoclosure () -> String, fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(Failure) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: count, mv_data: nil)
        try lmdbCheck(
            as: Failure.self, mdb_put(handle, dbi, &k, &v, UInt32(flags) | UInt32(MDB_RESERVE)),
            "mdb_put(\(what()))")
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
    }

    /// Deletes `key`; returns `false` when it was not there.
    @discardableResult
    package func delete(_ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ what: @autoclosure () -> String)
        throws(Failure)
        -> Bool
    {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        return try lmdbFound(as: Failure.self, mdb_del(handle, dbi, &k, nil), "mdb_del(\(what()))")
    }

    /// Deletes the one duplicate `value` of `key` in a `MDB_DUPSORT` database; returns `false` when
    /// it was not there.
    @discardableResult
    package func delete(
        _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
        _ what: @autoclosure () -> String
    ) throws(Failure) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        return try lmdbFound(as: Failure.self, mdb_del(handle, dbi, &k, &v), "mdb_del(\(what()))")
    }

    /// Empties a database (`mdb_drop` without deleting it).
    package func empty(_ dbi: MDB_dbi, _ what: @autoclosure () -> String) throws(Failure) {
        try lmdbCheck(as: Failure.self, mdb_drop(handle, dbi, 0), "mdb_drop(\(what()))")
    }

    /// The number of entries in a database, as of this transaction.
    package func entries(_ dbi: MDB_dbi, _ what: @autoclosure () -> String) throws(Failure) -> Int {
        var stat = MDB_stat()
        try lmdbCheck(as: Failure.self, mdb_stat(handle, dbi, &stat), "mdb_stat(\(what()))")
        return stat.ms_entries
    }

    /// Page statistics of a database, as of this transaction.
    package func stat(_ dbi: MDB_dbi, _ what: @autoclosure () -> String) throws(Failure) -> MDB_stat {
        var stat = MDB_stat()
        try lmdbCheck(as: Failure.self, mdb_stat(handle, dbi, &stat), "mdb_stat(\(what()))")
        return stat
    }

    /// Runs `body` in a nested transaction, committed when `body` returns and aborted when it throws.
    package func nested<T>(_ body: (Transaction) throws(Failure) -> T) throws(Failure) -> T {
        try Transaction.run(in: mdb_txn_env(handle), parent: handle, flags: 0, "nested", end: .commit, body)
    }

    /// How a transaction ends when its body returns (it is always aborted when the body throws).
    package enum End {
        /// Commit: writes become durable (and handles opened in it stay open).
        case commit
        /// Abort: a read that changed nothing.
        case abort
    }

    /// The one place where a transaction is begun, handed to `body`, and committed or aborted.
    ///
    /// - Parameters:
    ///   - env: the environment; `parent`: the enclosing transaction of a nested one.
    ///   - flags: `MDB_RDONLY` for a read.
    ///   - what: `read`, `write` or `nested`, for errors.
    ///   - end: what to do when `body` returns.
    package static func run<T>(
        in env: OpaquePointer, parent: OpaquePointer?, flags: UInt32, _ what: String, end: End,
        _ body: (Transaction) throws(Failure) -> T
    ) throws(Failure) -> T {
        var txn: OpaquePointer?
        try lmdbCheck(as: Failure.self, mdb_txn_begin(env, parent, flags, &txn), "mdb_txn_begin(\(what))")
        guard let txn else {
            throw Failure(lmdb: LMDBError(code: EINVAL, operation: "mdb_txn_begin(\(what))"))
        }
        let result: T
        do {
            result = try body(Transaction(handle: txn))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        switch end {
        case .commit: try lmdbCheck(as: Failure.self, mdb_txn_commit(txn), "mdb_txn_commit(\(what))")
        case .abort: mdb_txn_abort(txn)
        }
        return result
    }

    /// Runs `body` with a cursor over `dbi`, closed afterwards.
    package func withCursor<T>(
        _ dbi: MDB_dbi, _ what: @autoclosure () -> String, _ body: (Cursor<Failure>) throws(Failure) -> T
    ) throws(Failure)
        -> T
    {
        var cursor: OpaquePointer?
        try lmdbCheck(as: Failure.self, mdb_cursor_open(handle, dbi, &cursor), "mdb_cursor_open(\(what()))")
        guard let cursor else {
            throw Failure(lmdb: LMDBError(code: EINVAL, operation: "mdb_cursor_open(\(what()))"))
        }
        defer { mdb_cursor_close(cursor) }
        return try body(Cursor<Failure>(handle: cursor, name: what()))
    }
}

extension Transaction where Failure == LMDBError {
    /// Runs `body`, whose errors are of several types, with a cursor over `dbi`: for the
    /// transactions of ``Environment/readPassingErrors(keepHandles:_:)``.
    package func withCursor<T>(
        _ dbi: MDB_dbi, _ what: @autoclosure () -> String, _ body: (Cursor<LMDBError>) throws -> T
    ) throws -> T {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(handle, dbi, &cursor), "mdb_cursor_open(\(what()))")
        guard let cursor else { throw LMDBError(code: EINVAL, operation: "mdb_cursor_open(\(what()))") }
        defer { mdb_cursor_close(cursor) }
        return try body(Cursor<LMDBError>(handle: cursor, name: what()))
    }
}

/// A borrowed LMDB cursor (`MDB_cursor`).
package struct Cursor<Failure: LMDBFailure> {
    package let handle: OpaquePointer
    package let name: String

    package typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    /// Moves the cursor with `op` (no key) and returns the entry there, or `nil` at the end.
    package func move(_ op: MDB_cursor_op) throws(Failure) -> Entry? {
        var k = MDB_val()
        var v = MDB_val()
        guard try lmdbFound(as: Failure.self, mdb_cursor_get(handle, &k, &v, op), "mdb_cursor_get(\(name))")
        else { return nil }
        return (
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
        )
    }

    /// Positions the cursor at `key` exactly (`MDB_SET_KEY`; the first duplicate in a `MDB_DUPSORT`
    /// database), or returns `nil` when it is not there.
    package func find(_ key: UnsafeRawBufferPointer) throws(Failure) -> Entry? {
        try position(at: key, MDB_SET_KEY)
    }

    /// Positions the cursor at the first key greater than or equal to `key` (`MDB_SET_RANGE`).
    package func seek(_ key: UnsafeRawBufferPointer) throws(Failure) -> Entry? {
        try position(at: key, MDB_SET_RANGE)
    }

    /// The number of duplicates at the cursor's key in a `MDB_DUPSORT` database
    /// (`mdb_cursor_count`; LMDB keeps it, nothing is counted).
    package func duplicateCount() throws(Failure) -> Int {
        var count = 0
        try lmdbCheck(as: Failure.self, mdb_cursor_count(handle, &count), "mdb_cursor_count(\(name))")
        return count
    }

    /// Moves the cursor with `op`, an operation that takes a key, and returns the entry there.
    private func position(at key: UnsafeRawBufferPointer, _ op: MDB_cursor_op) throws(Failure) -> Entry? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        guard try lmdbFound(as: Failure.self, mdb_cursor_get(handle, &k, &v, op), "mdb_cursor_get(\(name))")
        else {
            return nil
        }
        return (
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
        )
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` with a typed error: the standard library's `rethrows` form loses the type
    /// of a key's or a value's closure inside a transaction.
    /// Inlinable: callers on the write path use it for every event, and an unspecialized generic
    /// asks the runtime for its metadata on each call.
    @inlinable
    package func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var result: Result<R, E>?
        withUnsafeBytes { bytes in result = Result { () throws(E) -> R in try body(bytes) } }
        return try result!.get()
    }
}
