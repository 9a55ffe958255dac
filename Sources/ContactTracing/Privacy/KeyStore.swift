import CLMDB
import Crypto
import Foundation
import LMDB
import Ledger

/// The legal category of personal data, which sets how long its key is kept.
public enum RetentionCategory: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Contact-tracing records: 3 months after collection.
    case contactTracing = 1
    /// A negative lab result: 3 months.
    case labNegative = 2
    /// A positive lab result: 6 months.
    case labPositive = 3

    /// `contact-tracing`, `lab-negative`, `lab-positive`.
    public var description: String {
        switch self {
        case .contactTracing: return "contact-tracing"
        case .labNegative: return "lab-negative"
        case .labPositive: return "lab-positive"
        }
    }
}

/// How long each category is kept, in months after collection.
public struct RetentionPolicy: Sendable, Equatable {
    /// Months per category.
    public var months: [RetentionCategory: Int]

    /// The legal periods: contact tracing 3 months, negative results 3 months, positive results 6 months.
    public static let legal = RetentionPolicy(months: [.contactTracing: 3, .labNegative: 3, .labPositive: 6])

    /// Creates a policy.
    public init(months: [RetentionCategory: Int]) { self.months = months }

    /// The first day on which data of `category` collected at `collectedAt` must be gone.
    public func expiry(of category: RetentionCategory, collectedAt: Timestamp) -> CivilDate {
        let date = collectedAt.date
        let total = date.year * 12 + (date.month - 1) + (months[category] ?? 3)
        let year = total / 12
        let month = total % 12 + 1
        let day = min(date.day, CivilDate.daysIn(year: year, month: month))
        return CivilDate(year: year, month: month, day: day)
    }
}

/// A person's identity key as kept in the key store.
public struct PersonKey: Sendable {
    /// The 256-bit key that seals the person's identity.
    public var key: SymmetricKey
    /// When the data was first collected.
    public var collectedAt: Timestamp
    /// Its retention category (the longest one that applies).
    public var category: RetentionCategory
}

/// The key store: one AES-256 key per person pseudonym, in an LMDB environment of its own, kept
/// outside the ledger directory so that a copy of the log carries no usable identity.
///
/// Layout (docs/privacy.md): database `keys`, key = the pseudonym (UTF-8), value = 32-byte key ‖
/// collectedAt i64 LE ms ‖ category u8. Destroying a key (crypto-shredding) erases the identity it
/// sealed in every copy of the log at once.
///
/// New keys are written without an fsync each, so that sealing many identities stays fast: call
/// ``sync()`` (or ``PrivacyVault/flush()``) before appending the events that carry identities sealed
/// with them (the simulator and the importers do). Destroying keys is made durable before it returns.
public final class KeyStore: Sendable {
    let env: Environment
    let keys: MDB_dbi

    /// Opens or creates the key store at `path` (a directory, created with mode 0700; files 0600).
    public init(path: String) throws(LedgerError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: path, reason: "cannot create the key store: \(systemErrorText(error))")
        }
        let env = try lmdb { () throws(LMDBError) in
            try Environment(
                path: path, mapSize: 16 << 20, maxDatabases: 2, maxReaders: 126, readOnly: false, noSync: true
            )
        }
        self.keys = try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            try env.openDatabase("keys", flags: 0, create: true, in: txn)
        }
        self.env = env
    }

    /// The key of `person`, creating it with `category` when there is none. A person seen again in a
    /// longer-kept category is moved to it; the collection time stays the first one.
    public func key(for person: String, collectedAt: Timestamp, category: RetentionCategory)
        throws(LedgerError)
        -> SymmetricKey
    {
        try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            try store(
                PersonKey(key: SymmetricKey(size: .bits256), collectedAt: collectedAt, category: category),
                person: Array(person.utf8), in: txn)
        }
    }

    /// Records many keys in one transaction (synthetic vaults derive keys and write them in bulk). A
    /// person already known keeps their key and first collection time and moves to the longer-kept
    /// category of the two.
    public func record(_ batch: [String: PersonKey]) throws(LedgerError) {
        try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            for (person, key) in batch.sorted(by: { $0.key < $1.key }) {
                try store(key, person: Array(person.utf8), in: txn)
            }
        }
    }

    /// The key of `person`, or `nil` when it was never made or has been destroyed.
    public func existingKey(for person: String) throws(LedgerError) -> PersonKey? {
        try env.read { (txn: LedgerTransaction) throws(LedgerError) in
            try Array(person.utf8).withBytes { (key) throws(LedgerError) in try txn.get(keys, key, "keys") }
                .map(Self.decode)
        }
    }

    /// Makes every key written so far durable.
    public func sync() throws(LedgerError) {
        do {
            try env.sync()
        } catch {
            throw .lmdb(error)
        }
    }

    /// Destroys the key of `person`, durably. Returns `false` when there was none.
    @discardableResult
    public func destroy(_ person: String) throws(LedgerError) -> Bool {
        let destroyed = try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            try Array(person.utf8).withBytes { (key) throws(LedgerError) in try txn.delete(keys, key, "keys")
            }
        }
        try sync()
        return destroyed
    }

    /// Destroys every key whose retention period has ended on `date`; returns the pseudonyms erased.
    public func applyRetention(asOf date: CivilDate, policy: RetentionPolicy = .legal) throws(LedgerError)
        -> [String]
    {
        let erased = try env.write { (txn: LedgerTransaction) throws(LedgerError) in
            var expired = [[UInt8]]()
            try txn.withCursor(keys, "keys") { (cursor) throws(LedgerError) in
                var entry = try cursor.move(MDB_FIRST)
                while let (name, value) = entry {
                    let stored = Self.decode(value)
                    if policy.expiry(of: stored.category, collectedAt: stored.collectedAt) <= date {
                        expired.append(Array(name))
                    }
                    entry = try cursor.move(MDB_NEXT)
                }
            }
            for name in expired {
                try name.withBytes { (key) throws(LedgerError) in _ = try txn.delete(keys, key, "keys") }
            }
            return expired.map { String(decoding: $0, as: UTF8.self) }
        }
        try sync()
        return erased
    }

    /// The number of keys held.
    public func count() throws(LedgerError) -> Int {
        try env.read { (txn: LedgerTransaction) throws(LedgerError) in try txn.entries(keys, "keys") }
    }

    /// Stores `candidate` for a person not seen before; a known person keeps their key and first
    /// collection time and moves to the longer-kept category of the two. Returns the key in force.
    @discardableResult
    private func store(_ candidate: PersonKey, person name: [UInt8], in txn: LedgerTransaction)
        throws(LedgerError) -> SymmetricKey
    {
        let stored = try name.withBytes { (key) throws(LedgerError) in try txn.get(keys, key, "keys") }
        if let existing = stored.map(Self.decode) {
            if existing.category.rawValue < candidate.category.rawValue {
                try put(
                    PersonKey(
                        key: existing.key, collectedAt: existing.collectedAt, category: candidate.category),
                    person: name, in: txn)
            }
            return existing.key
        }
        try put(candidate, person: name, in: txn)
        return candidate.key
    }

    private func put(_ key: PersonKey, person: [UInt8], in txn: LedgerTransaction) throws(LedgerError) {
        var value = key.key.withUnsafeBytes { Array($0) }
        value += littleEndianBytes(key.collectedAt.millisecondsSince1970)
        value.append(key.category.rawValue)
        try person.withBytes { (k) throws(LedgerError) in
            try value.withBytes { (v) throws(LedgerError) in try txn.put(keys, k, v, "keys") }
        }
    }

    private static func decode(_ value: UnsafeRawBufferPointer) -> PersonKey {
        guard value.count == 41 else {
            // A damaged entry cannot unseal anything; treat it as an erased key would be, but keep it visible.
            return PersonKey(
                key: SymmetricKey(size: .bits256), collectedAt: .earliest, category: .contactTracing)
        }
        let key = SymmetricKey(data: UnsafeRawBufferPointer(rebasing: value[0..<32]))
        let millis = Int64(littleEndian: value.loadUnaligned(fromByteOffset: 32, as: Int64.self))
        return PersonKey(
            key: key, collectedAt: Timestamp(millisecondsSince1970: millis),
            category: RetentionCategory(rawValue: value[40]) ?? .contactTracing)
    }
}

extension KeyStore {
    /// Writes a compacted, consistent copy of the key store at `source` into `target`, a directory
    /// that must not hold a key store yet (for a migration: the keys carry over to the new ledger).
    public static func copy(from source: String, to target: String) throws(LedgerError) {
        // Read-only: the source is an archive that a migration must leave as it is.
        let env = try lmdb { () throws(LMDBError) in
            try Environment(
                path: source, mapSize: 0, maxDatabases: 2, maxReaders: 126, readOnly: true,
                noLock: access(source + "/lock.mdb", W_OK) != 0 && access(source, W_OK) != 0)
        }
        do {
            try FileManager.default.createDirectory(
                atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: target, reason: "cannot create the key store: \(systemErrorText(error))")
        }
        try lmdb { () throws(LMDBError) in try env.copy(toNewFile: target + "/data.mdb") }
    }
}
