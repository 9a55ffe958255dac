import Foundation
import LMDB
import Ledger
import TestSupport
import Testing

@testable import ContactTracing

@Suite("Personal data")
struct PrivacyTests {
    func vault(_ ledger: TemporaryLedger) throws -> PrivacyVault {
        try PrivacyVault(ledger: ledger.path, create: true)
    }

    let alice = Identity(
        nir: "2 84 12 76 451 089 46", lastName: "Durand", firstName: "Alice", birthDate: "1984-12-03",
        phone: "06 12 34 56 78", address: "3 place de la Comédie, 34000 Montpellier")

    @Test("the sealed form of an identity is sorted-key JSON that decodes back, whatever its characters")
    func sealedJSONMatchesEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let plain = Identity(
            nir: "184127645108946", lastName: "Durand", firstName: "Léa", birthDate: "1984-12-03")
        #expect(plain.sealedJSON() == Array(try encoder.encode(plain)))
        for identity in [
            plain,
            Identity(
                nir: "2", lastName: "O\"Brien \\ \u{1}", firstName: "A\tB", birthDate: "x", phone: "06 12",
                address: "3 rue / République"),
        ] {
            #expect(try JSONDecoder().decode(Identity.self, from: Data(identity.sealedJSON())) == identity)
        }
    }

    @Test("the same NIR always gives the same pseudonym; another secret gives another")
    func pseudonyms() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let p = v.pseudonym(nir: "284127645108946")
        #expect(p == v.pseudonym(nir: "2 84 12 76 451 089 46"))
        #expect(p.count == 32)
        #expect(p != v.pseudonym(nir: "184127645108946"))
        let reopened = try PrivacyVault(ledger: ledger.path, create: false)
        #expect(reopened.pseudonym(nir: "284127645108946") == p)
        let other = TemporaryLedger()
        #expect(try vault(other).pseudonym(nir: "284127645108946") != p)
    }

    @Test("the secret and the key store are created with mode 0600")
    func fileModes() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        _ = try v.seal(alice, person: "p", collectedAt: .now(), category: .contactTracing)
        let secret = try FileManager.default.attributesOfItem(
            atPath: PrivacyVault.defaultSecretPath(forLedger: ledger.path))
        #expect((secret[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let keys = try FileManager.default.attributesOfItem(
            atPath: PrivacyVault.defaultKeyStorePath(forLedger: ledger.path) + "/data.mdb")
        #expect((keys[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("a sealed identity opens with its person's key only, and reads as erased once the key is destroyed")
    func sealRevealErase() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let person = v.pseudonym(nir: alice.nir)
        let sealed = try v.seal(alice, person: person, collectedAt: .now(), category: .labPositive)
        #expect(!String(decoding: sealed.box, as: UTF8.self).contains("Durand"))
        #expect(try v.reveal(sealed, person: person) == .identity(alice))
        _ = try v.seal(alice, person: "someone-else", collectedAt: .now(), category: .labPositive)
        #expect(throws: LedgerError.self) { try v.reveal(sealed, person: "someone-else") }
        #expect(try v.keys.destroy(person))
        #expect(try v.reveal(sealed, person: person) == .erased)
        #expect(try !v.keys.destroy(person))
    }

    @Test("retention destroys keys at the legal periods: 3 months for tracing and negatives, 6 for positives")
    func retention() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let collected = Timestamp(year: 2021, month: 1, day: 15, hour: 10)
        _ = try v.keys.key(for: "contact", collectedAt: collected, category: .contactTracing)
        _ = try v.keys.key(for: "negative", collectedAt: collected, category: .labNegative)
        _ = try v.keys.key(for: "positive", collectedAt: collected, category: .labPositive)
        #expect(try v.keys.applyRetention(asOf: CivilDate(year: 2021, month: 4, day: 14)) == [])
        #expect(
            try v.keys.applyRetention(asOf: CivilDate(year: 2021, month: 4, day: 15)).sorted() == [
                "contact", "negative",
            ])
        #expect(try v.keys.applyRetention(asOf: CivilDate(year: 2021, month: 7, day: 14)) == [])
        #expect(try v.keys.applyRetention(asOf: CivilDate(year: 2021, month: 7, day: 15)) == ["positive"])
        #expect(try v.keys.count() == 0)
        let policy = RetentionPolicy(months: [.contactTracing: 1, .labNegative: 1, .labPositive: 1])
        #expect(
            policy.expiry(of: .contactTracing, collectedAt: Timestamp(year: 2021, month: 1, day: 31))
                == CivilDate(year: 2021, month: 2, day: 28))
    }
}
