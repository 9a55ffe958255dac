import CLMDB
import ContactTracing
import Foundation
import LMDB
import Ledger

/// The raw LMDB baseline: records put under big-endian position keys in one named database, and
/// nothing else (no id index, no stream index, no hash).
///
/// Every `mdb_*` call goes through ``check(_:_:)``, which turns a return code into the ledger's
/// ``LMDBError``.
final class RawLMDB {
    let env: OpaquePointer
    let dbi: MDB_dbi

    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if rc != MDB_SUCCESS { throw LMDBError(code: rc, operation: operation()) }
    }

    /// Opens (or creates) the environment at `path` and the named database `database`.
    init(path: String, database: String, readOnly: Bool = false, mapSize: Int = 64 << 30) throws(LMDBError) {
        var env: OpaquePointer?
        try Self.check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: EINVAL, operation: "mdb_env_create") }
        self.env = env
        try Self.check(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs")
        try Self.check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
        if !readOnly { mkdir(path, 0o700) }
        let flags = UInt32(MDB_NOTLS) | (readOnly ? UInt32(MDB_RDONLY) : 0)
        try Self.check(mdb_env_open(env, path, flags, 0o600), "mdb_env_open(\(path))")
        var txn: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
        var dbi: MDB_dbi = 0
        try Self.check(
            mdb_dbi_open(txn, database, readOnly ? 0 : UInt32(MDB_CREATE), &dbi), "mdb_dbi_open(\(database))")
        try Self.check(mdb_txn_commit(txn), "mdb_txn_commit")
        self.dbi = dbi
    }

    deinit { mdb_env_close(env) }

    /// Puts `records` (spans of `buffer`) under positions `first`, `first + 1`, ... with
    /// `MDB_APPEND`, `batch` records per durable transaction.
    func append(buffer: [UInt8], offsets: [Int], first: UInt64 = 1, batch: Int) throws(LMDBError) {
        let count = offsets.count - 1
        var start = 0
        while start < count {
            let end = min(start + batch, count)
            var txn: OpaquePointer?
            try Self.check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            do throws(LMDBError) {
                for index in start..<end {
                    try put(
                        txn, position: first + UInt64(index), buffer: buffer, from: offsets[index],
                        to: offsets[index + 1])
                }
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try Self.check(mdb_txn_commit(txn), "mdb_txn_commit")
            start = end
        }
    }

    private func put(_ txn: OpaquePointer?, position: UInt64, buffer: [UInt8], from: Int, to: Int)
        throws(LMDBError)
    {
        var key = position.bigEndian
        let rc = withUnsafeMutableBytes(of: &key) { k in
            buffer.withUnsafeBytes { all in
                var mdbKey = MDB_val(mv_size: 8, mv_data: k.baseAddress)
                var mdbValue = MDB_val(
                    mv_size: to - from, mv_data: UnsafeMutableRawPointer(mutating: all.baseAddress! + from))
                return mdb_put(txn, dbi, &mdbKey, &mdbValue, UInt32(MDB_APPEND))
            }
        }
        try Self.check(rc, "mdb_put")
    }

    /// Scans the database with a cursor, touching every value; returns the entries and their bytes.
    func scan() throws(LMDBError) -> (entries: Int, bytes: Int) {
        var txn: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin")
        defer { mdb_txn_abort(txn) }
        var cursor: OpaquePointer?
        try Self.check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var entries = 0
        var bytes = 0
        var checksum: UInt8 = 0
        var op = MDB_FIRST
        while true {
            let rc = mdb_cursor_get(cursor, &key, &value, op)
            if rc == MDB_NOTFOUND { break }
            try Self.check(rc, "mdb_cursor_get")
            entries += 1
            bytes += value.mv_size
            // Touch the record's first and last byte so that its pages are really read.
            let base = value.mv_data.assumingMemoryBound(to: UInt8.self)
            checksum &+= base[0] &+ base[value.mv_size - 1]
            op = MDB_NEXT
        }
        return (entries, bytes + Int(checksum & 0))
    }

    /// Bytes of the pages in use (last page number + 1, times the page size).
    func usedBytes() throws(LMDBError) -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try Self.check(mdb_env_info(env, &info), "mdb_env_info")
        try Self.check(mdb_env_stat(env, &stat), "mdb_env_stat")
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }
}
