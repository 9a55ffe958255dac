import Crypto
import Foundation
import LMDB
import Ledger
import Synchronization

/// A person's direct identifiers. They never enter the log in clear: events carry them sealed.
public struct Identity: Codable, Hashable, Sendable {
    /// The national identifier (NIR, numéro de sécurité sociale).
    public var nir: String
    /// Family name.
    public var lastName: String
    /// Given name.
    public var firstName: String
    /// Birth date, `YYYY-MM-DD`.
    public var birthDate: String
    /// Phone number, when known.
    public var phone: String?
    /// Postal address, when known.
    public var address: String?

    /// Creates an identity.
    public init(
        nir: String, lastName: String, firstName: String, birthDate: String, phone: String? = nil,
        address: String? = nil
    ) {
        self.nir = nir
        self.lastName = lastName
        self.firstName = firstName
        self.birthDate = birthDate
        self.phone = phone
        self.address = address
    }
}

extension Identity {
    /// The JSON object that is sealed: keys sorted, absent fields left out, no spaces (what
    /// `JSONEncoder` with sorted keys writes, without its cost). The same identity always gives the
    /// same bytes.
    func sealedJSON() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(192)
        var first = true
        func field(_ name: String, _ value: String?) {
            guard let value else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":\"".utf8)
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0xF)])
                default:
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        field("address", address)
        field("birthDate", birthDate)
        field("firstName", firstName)
        field("lastName", lastName)
        field("nir", nir)
        field("phone", phone)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// What revealing a sealed identity gives.
public enum RevealedIdentity: Hashable, Sendable {
    /// The identity, unsealed.
    case identity(Identity)
    /// The person's key was destroyed (erasure or end of retention): the identity is gone for good.
    case erased
}

/// The ledger's privacy side: the pseudonym secret and the key store, both kept outside the log.
///
/// - The **secret** (32 random bytes, hex, file mode 0600) keys the HMAC-SHA256 that turns a NIR into
///   a pseudonym. The same NIR always gives the same pseudonym within a ledger.
/// - The **key store** (``KeyStore``) holds one AES-256-GCM key per pseudonym, which seals that
///   person's ``Identity``.
///
/// By default both sit beside the ledger directory: `LEDGER.secret` and `LEDGER.keys/`.
public final class PrivacyVault: Sendable {
    /// The pseudonym secret.
    let secret: SymmetricKey
    /// The per-person keys.
    public let keys: KeyStore
    /// Set for a synthetic (simulated) ledger only: the key from which person keys and nonces are
    /// derived, so that the same seed gives the same bytes. `nil` for real data (random keys and nonces).
    let derivation: SymmetricKey?
    /// Synthetic mode: keys derived but not yet written to the key store (written by ``flush()``).
    private let pending = Mutex<[String: PersonKey]>([:])

    /// The default secret path for a ledger directory.
    public static func defaultSecretPath(forLedger ledger: String) -> String {
        EventLog.siblingPath(ofLedger: ledger, suffix: ".secret")
    }

    /// The default key store path for a ledger directory.
    public static func defaultKeyStorePath(forLedger ledger: String) -> String {
        EventLog.siblingPath(ofLedger: ledger, suffix: ".keys")
    }

    /// Opens the vault, creating the secret (mode 0600) and the key store when `create` is set.
    /// - Throws: ``LedgerError/io(path:reason:)`` when the secret is missing (and not to be created)
    ///   or unreadable.
    ///
    /// With `syntheticSeed` (simulated histories only), a missing secret is derived from the seed, and
    /// person keys and sealing nonces are derived from the secret instead of drawn at random, so that
    /// the same seed gives the same log, byte for byte. Anyone holding the secret can then re-derive
    /// every key: never use it for real people.
    public init(secretPath: String, keyStorePath: String, create: Bool, syntheticSeed: UInt64? = nil)
        throws(LedgerError)
    {
        let fm = FileManager.default
        if !fm.fileExists(atPath: secretPath) {
            guard create else {
                throw .io(
                    path: secretPath,
                    reason: "no ledger secret here (identities cannot be sealed or revealed)")
            }
            let material: [UInt8]
            if let syntheticSeed {
                material = Array(
                    SHA256.hash(data: Data("tracing-ledger synthetic secret \(syntheticSeed)".utf8)))
            } else {
                material = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            }
            let fresh = material.hexString + "\n"
            guard
                fm.createFile(
                    atPath: secretPath, contents: Data(fresh.utf8), attributes: [.posixPermissions: 0o600])
            else { throw .io(path: secretPath, reason: "cannot create the ledger secret") }
        }
        guard let data = fm.contents(atPath: secretPath),
            let bytes = [UInt8](
                hex: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == 32
        else { throw .io(path: secretPath, reason: "is not a ledger secret (64 hexadecimal digits)") }
        secret = SymmetricKey(data: bytes)
        derivation =
            syntheticSeed == nil
            ? nil
            : SymmetricKey(
                data: Array(
                    HMAC<SHA256>.authenticationCode(for: Data("synthetic key derivation".utf8), using: secret)
                ))
        if !create && !fm.fileExists(atPath: keyStorePath) {
            throw .io(path: keyStorePath, reason: "no key store here")
        }
        keys = try KeyStore(path: keyStorePath)
    }

    /// Opens the vault of a ledger at the default paths.
    public convenience init(ledger: String, create: Bool, syntheticSeed: UInt64? = nil) throws(LedgerError) {
        try self.init(
            secretPath: Self.defaultSecretPath(forLedger: ledger),
            keyStorePath: Self.defaultKeyStorePath(forLedger: ledger), create: create,
            syntheticSeed: syntheticSeed)
    }

    /// Makes every key used so far durable in the key store: call it before appending the events
    /// that carry identities sealed with them.
    public func flush() throws(LedgerError) {
        let batch = pending.withLock { p in
            defer { p.removeAll(keepingCapacity: true) }
            return p
        }
        if !batch.isEmpty { try keys.record(batch) }
        try keys.sync()
    }

    /// The pseudonym of a NIR: the first 16 bytes of HMAC-SHA256(secret, normalised NIR), in hex.
    ///
    /// Spaces are removed and letters upper-cased first, so `1 84 12 76 451 089 46` and
    /// `184127645108946` give the same pseudonym.
    public func pseudonym(nir: String) -> String {
        let normalised = nir.uppercased().filter { !$0.isWhitespace }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("nir:" + normalised).utf8), using: secret)
        return Array(mac).prefix(16).hexString
    }

    /// Seals an identity with the person's key (created on first use).
    ///
    /// The pseudonym is bound to the box as authenticated data: a box moved to another person does
    /// not open.
    public func seal(
        _ identity: Identity, person: String, collectedAt: Timestamp, category: RetentionCategory
    ) throws(LedgerError) -> Tracing_V1_SealedIdentity {
        let plain = identity.sealedJSON()
        let key: SymmetricKey
        var nonceBytes: [UInt8]?
        if let derivation {
            key = syntheticKey(for: person, collectedAt: collectedAt, category: category, derivation)
            // SIV-like: the nonce depends on the key's owner and the plaintext, so a nonce is only
            // ever reused for the very same identity.
            var mac = HMAC<SHA256>(key: derivation)
            mac.update(data: Data("nonce:\(person):".utf8))
            mac.update(data: plain)
            nonceBytes = Array(Array(mac.finalize()).prefix(12))
        } else {
            key = try keys.key(for: person, collectedAt: collectedAt, category: category)
        }
        let combined: Data?
        do {
            let nonce = try nonceBytes.map { try AES.GCM.Nonce(data: $0) }
            combined = try AES.GCM.seal(plain, using: key, nonce: nonce, authenticating: Data(person.utf8))
                .combined
        } catch {
            // A 256-bit key and a 12-byte nonce are what AES-GCM takes: this is not expected to happen.
            throw .io(path: "", reason: "sealing the identity of \(person) failed: \(error)")
        }
        guard let combined else {
            throw .io(path: "", reason: "sealing the identity of \(person) gave no box")
        }
        var sealed = Tracing_V1_SealedIdentity()
        sealed.box = combined
        sealed.keyVersion = 1
        return sealed
    }

    /// Synthetic mode: the person's key, derived; remembered for the key store until ``flush()``.
    private func syntheticKey(
        for person: String, collectedAt: Timestamp, category: RetentionCategory, _ derivation: SymmetricKey
    ) -> SymmetricKey {
        let key = SymmetricKey(
            data: Array(HMAC<SHA256>.authenticationCode(for: Data("key:\(person)".utf8), using: derivation)))
        pending.withLock { p in
            if let known = p[person] {
                if known.category.rawValue < category.rawValue { p[person]?.category = category }
            } else {
                p[person] = PersonKey(key: key, collectedAt: collectedAt, category: category)
            }
        }
        return key
    }

    /// Opens a sealed identity, or says it was erased.
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the box does not open with the
    ///   person's key (tampered, or sealed for someone else).
    public func reveal(_ sealed: Tracing_V1_SealedIdentity, person: String) throws(LedgerError)
        -> RevealedIdentity
    {
        guard let stored = try keys.existingKey(for: person) else { return .erased }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.box)
            let plain = try AES.GCM.open(box, using: stored.key, authenticating: Data(person.utf8))
            return .identity(try JSONDecoder().decode(Identity.self, from: plain))
        } catch {
            throw .corruptRecord(
                position: 0, reason: "the sealed identity of \(person) does not open: \(error)")
        }
    }
}
