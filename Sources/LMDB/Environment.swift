import CLMDB
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A reader-writer lock over `pthread_rwlock_t`, used to keep map resizes away from open transactions.
final class ReadWriteLock: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        handle = .allocate(capacity: 1)
        handle.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(handle, nil)
    }

    deinit {
        pthread_rwlock_destroy(handle)
        handle.deallocate()
    }

    func withShared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(handle)
        defer { pthread_rwlock_unlock(handle) }
        return try body()
    }

    func withExclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(handle)
        defer { pthread_rwlock_unlock(handle) }
        return try body()
    }
}

/// One LMDB environment (`MDB_env`): a directory holding `data.mdb` and `lock.mdb`.
///
/// The environment owns the map size. It grows the map when a write fills it (`MDB_MAP_FULL`) and
/// adopts a size grown by another process (`MDB_MAP_RESIZED`), so callers never choose one. LMDB
/// allows a resize only while this process has no open transaction, so every transaction holds
/// `resizeLock` shared and a resize takes it exclusively.
package final class Environment: @unchecked Sendable {
    package let handle: OpaquePointer
    package let path: String
    package let readOnly: Bool
    private let resizeLock = ReadWriteLock()

    /// The number of stale reader slots cleared when the environment was opened.
    package private(set) var staleReadersCleared: Int32 = 0

    /// Opens the environment in the directory `path`.
    ///
    /// - Parameter noLock: open without LMDB's lock file (`MDB_NOLOCK`), for a reader that cannot write
    ///   it. Safe only while no process writes the environment: the caller checks that.
    package init(
        path: String, mapSize: Int, maxDatabases: UInt32, maxReaders: UInt32, readOnly: Bool,
        noSync: Bool = false, noMetaSync: Bool = false, noLock: Bool = false
    ) throws(LMDBError) {
        if !noLock { try Self.reserveLockFile(directory: path, maxReaders: maxReaders) }
        var key = pthread_key_t()
        let keyStatus = pthread_key_create(&key, nil)
        guard keyStatus == 0 else { throw LMDBError(code: keyStatus, operation: "pthread_key_create") }
        readDepthKey = key
        var env: OpaquePointer?
        try lmdbCheck(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: EINVAL, operation: "mdb_env_create") }
        do {
            try lmdbCheck(mdb_env_set_maxdbs(env, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs")
            try lmdbCheck(mdb_env_set_maxreaders(env, maxReaders), "mdb_env_set_maxreaders")
            try lmdbCheck(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize(\(mapSize))")
            // MDB_NOTLS: read transactions are not tied to a thread, since Swift tasks move between threads.
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if noSync { flags |= UInt32(MDB_NOSYNC) }
            if noMetaSync { flags |= UInt32(MDB_NOMETASYNC) }
            if noLock { flags |= UInt32(MDB_NOLOCK) }
            try lmdbCheck(mdb_env_open(env, path, flags, 0o600), "mdb_env_open(\(path))")
            var dead: Int32 = 0
            try lmdbCheck(mdb_reader_check(env, &dead), "mdb_reader_check")
            staleReadersCleared = dead
        } catch {
            mdb_env_close(env)
            pthread_key_delete(key)
            throw error
        }
        self.handle = env
        self.path = path
        self.readOnly = readOnly
    }

    deinit {
        mdb_env_close(handle)
        pthread_key_delete(readDepthKey)
    }

    /// This environment's thread-specific slot holding how deep the calling thread is in its reads
    /// (a `pthread_getspecific` costs nanoseconds; a point read must stay in microseconds).
    private let readDepthKey: pthread_key_t

    /// How many reads of this environment the calling thread is inside.
    private var readDepth: Int {
        get { Int(bitPattern: pthread_getspecific(readDepthKey)) }
        set { pthread_setspecific(readDepthKey, UnsafeRawPointer(bitPattern: newValue)) }
    }

    /// Whether the calling thread is inside a read transaction of this environment (``read(keepHandles:_:)``).
    ///
    /// A write from inside a read would wait for a writer that may need the resize lock this read
    /// holds: the layer above refuses such a write instead of deadlocking.
    package var isReadingOnThisThread: Bool { readDepth > 0 }

    /// The current size of the memory map in bytes.
    package var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// The page size of the environment.
    package var pageSize: Int {
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        return Int(stat.ms_psize)
    }

    /// Clears reader slots left behind by dead processes and returns how many were cleared.
    package func clearStaleReaders() throws(LMDBError) -> Int32 {
        var dead: Int32 = 0
        try lmdbCheck(mdb_reader_check(handle, &dead), "mdb_reader_check")
        return dead
    }

    /// Drops this process's mappings of the pages it has read (`madvise(MADV_DONTNEED)` over the map).
    ///
    /// LMDB maps the file shared and read-only (writes go through `pwrite`), so the pages stay in the
    /// page cache and any later read of them faults them back in unchanged: this changes no data,
    /// only what counts as this process's resident memory. A long scan (a rebuild) calls it between
    /// chunks so that its resident size does not grow with the length of the log.
    package func releaseMappedPages() {
        // LMDB does not tell where it mapped the file (`me_mapaddr` is set only for MDB_FIXEDMAP):
        // the kernel's list of this process's mappings does.
        guard let resolved = realpath(path + "/data.mdb", nil) else { return }
        let file = String(cString: resolved)
        free(resolved)
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
        for line in maps.split(separator: "\n") where line.hasSuffix(" " + file) {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16),
                let end = UInt(range[1], radix: 16),
                end > start, let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            _ = madvise(address, Int(end - start), MADV_DONTNEED)
        }
    }

    /// Flushes the data buffers to disk (`mdb_env_sync` with force).
    package func sync() throws(LMDBError) {
        try lmdbCheck(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// The size LMDB gives `lock.mdb` for `maxReaders` reader slots: one 64-byte slot per reader after
    /// a header of two cache lines (`MDB_txninfo` holds the first slot).
    package static func lockFileSize(maxReaders: UInt32) -> Int {
        (Int(max(maxReaders, 1)) - 1) * 64 + 192
    }

    /// Gives `lock.mdb` real disk blocks before LMDB maps it.
    ///
    /// LMDB creates the lock file with `ftruncate`, which leaves a sparse file, and then writes its
    /// pages through a shared memory map: on a full file system the first write to a page without a
    /// block kills the process with SIGBUS. `posix_fallocate` asks for the blocks up front, so a full
    /// disk becomes an `ENOSPC` error here. A lock file this process cannot write (a reader without
    /// write permission) is left alone: opening it is then the caller's concern.
    package static func reserveLockFile(directory: String, maxReaders: UInt32) throws(LMDBError) {
        let path = directory + "/lock.mdb"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EACCES || code == EPERM || code == EROFS { return }
            throw LMDBError(code: code, operation: "open(\(path))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LMDBError(code: errno, operation: "fstat(\(path))") }
        let size = max(Int(info.st_size), lockFileSize(maxReaders: maxReaders))
        let rc = posix_fallocate(fd, 0, off_t(size))
        // Some file systems cannot preallocate (EOPNOTSUPP, EINVAL): they are not the ones that SIGBUS.
        if rc != 0 && rc != EOPNOTSUPP && rc != EINVAL {
            throw LMDBError(code: rc, operation: "posix_fallocate(\(path), \(size) bytes)")
        }
    }

    /// Writes a copy of the environment to the open file `fd`, compacting it when asked
    /// (`mdb_env_copyfd2`, with `MDB_CP_COMPACT`).
    ///
    /// A copy that meets `MDB_MAP_RESIZED` (another process grew the map) starts again on an emptied
    /// file, so a retry never finds its own half-written copy.
    package func copy(toFile fd: Int32, compact: Bool) throws(LMDBError) {
        try resizeAware { () throws(LMDBError) in
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                throw LMDBError(code: errno, operation: "ftruncate(backup file)")
            }
            try lmdbCheck(
                mdb_env_copyfd2(handle, fd, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copyfd2")
        }
    }

    /// Writes a compacted copy of the environment into `file`, a new file created with mode 0600,
    /// and syncs it: a backup's or a migrated key store's `data.mdb`.
    package func copy(toNewFile file: String) throws(LMDBError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno, operation: "open(\(file))") }
        defer { close(fd) }
        try copy(toFile: fd, compact: true)
        guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync(\(file))") }
    }

    /// Runs `body` in a read-only transaction that is aborted afterwards.
    ///
    /// With `keepHandles`, the transaction is committed instead, so that database handles opened in it
    /// stay open (LMDB closes handles opened in an aborted transaction).
    ///
    /// `body`'s error type is the transaction's: LMDB failures reach the caller as `Failure(lmdb:)`,
    /// and whatever else `body` throws reaches it unchanged.
    package func read<T, Failure: LMDBFailure>(
        keepHandles: Bool = false, _ body: (Transaction<Failure>) throws(Failure) -> T
    ) throws(Failure) -> T {
        let depth = readDepth
        readDepth = depth + 1
        defer { readDepth = depth }
        return try resizeAware { () throws(Failure) in
            try Transaction<Failure>.run(
                in: handle, parent: nil, flags: UInt32(MDB_RDONLY), "read",
                end: keepHandles ? .commit : .abort,
                body)
        }
    }

    /// Runs `body` in a write transaction and commits it, durably unless the environment says otherwise.
    ///
    /// When the map fills up, the transaction is aborted, the map is grown and `body` runs again from
    /// the start: `body` must not keep side effects outside the transaction between attempts.
    package func write<T, Failure: LMDBFailure>(_ body: (Transaction<Failure>) throws(Failure) -> T)
        throws(Failure) -> T
    {
        try resizeAware { () throws(Failure) in
            try Transaction<Failure>.run(in: handle, parent: nil, flags: 0, "write", end: .commit, body)
        }
    }

    /// Runs `body` in a read-only transaction whose closure throws errors of several types (a fold's,
    /// another environment's): LMDB failures met through `txn` are ``LMDBError``, and every other
    /// error reaches the caller as it was thrown.
    package func readPassingErrors<T>(
        keepHandles: Bool = false, _ body: (Transaction<LMDBError>) throws -> T
    ) throws -> T {
        try PassedError.unwrap {
            () throws(PassedError) in
            try read(keepHandles: keepHandles) { (txn: Transaction<PassedError>) throws(PassedError) in
                try PassedError.wrap { try body(Transaction<LMDBError>(handle: txn.handle)) }
            }
        }
    }

    /// Runs `body` in a write transaction like ``readPassingErrors(keepHandles:_:)``: committed when
    /// `body` returns, aborted (nothing written) when it throws, whatever it throws.
    package func writePassingErrors<T>(_ body: (Transaction<LMDBError>) throws -> T) throws -> T {
        try PassedError.unwrap {
            () throws(PassedError) in
            try write { (txn: Transaction<PassedError>) throws(PassedError) in
                try PassedError.wrap { try body(Transaction<LMDBError>(handle: txn.handle)) }
            }
        }
    }

    /// Runs `body` holding the resize lock shared, growing or adopting the map size and retrying on
    /// `MDB_MAP_FULL` and `MDB_MAP_RESIZED`.
    private func resizeAware<T, Failure: LMDBFailure>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        while true {
            do {
                return try resizeLock.withShared(body)
            } catch {
                switch error.lmdbCode {
                case MDB_MAP_FULL where !readOnly: grow()
                case MDB_MAP_RESIZED: adoptSize()
                default: throw error
                }
            }
        }
    }

    /// Grows the map: doubling up to 1 GiB, then by 1 GiB at a time.
    private func grow() {
        resizeLock.withExclusive {
            let current = mapSize
            let gib = 1 << 30
            let next = current < gib ? current * 2 : current + gib
            // set_mapsize fails only with EINVAL on a bad handle or while a transaction is open, which
            // the exclusive lock rules out; the retry then reports whatever mdb_* says next.
            _ = mdb_env_set_mapsize(handle, next)
        }
    }

    /// Adopts the map size another process has set.
    private func adoptSize() {
        resizeLock.withExclusive {
            _ = mdb_env_set_mapsize(handle, 0)
        }
    }

    /// Opens (or creates, when `create` is set) a named database inside `txn`.
    package func openDatabase<Failure>(
        _ name: String, flags: Int32, create: Bool, in txn: Transaction<Failure>
    ) throws(Failure) -> MDB_dbi {
        var dbi: MDB_dbi = 0
        let allFlags = UInt32(flags) | (create ? UInt32(MDB_CREATE) : 0)
        try lmdbCheck(
            as: Failure.self, mdb_dbi_open(txn.handle, name, allFlags, &dbi), "mdb_dbi_open(\(name))")
        return dbi
    }
}

/// The failure of a transaction run by ``Environment/readPassingErrors(keepHandles:_:)``: an LMDB
/// failure (so that the map still grows), or the caller's error, carried unchanged to the caller.
private enum PassedError: LMDBFailure {
    case lmdb(LMDBError)
    case other(any Error)

    init(lmdb: LMDBError) { self = .lmdb(lmdb) }

    var lmdbCode: Int32? {
        if case .lmdb(let error) = self { return error.code }
        return nil
    }

    /// Runs the caller's `body`, its LMDB failures as ``lmdb(_:)`` and the rest as ``other(_:)``.
    static func wrap<T>(_ body: () throws -> T) throws(PassedError) -> T {
        do {
            return try body()
        } catch let error as LMDBError {
            throw .lmdb(error)
        } catch {
            throw .other(error)
        }
    }

    /// Runs `body` and throws what it carried: the LMDB failure, or the caller's error as it was.
    static func unwrap<T>(_ body: () throws(PassedError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            switch error {
            case .lmdb(let error): throw error
            case .other(let error): throw error
            }
        }
    }
}
