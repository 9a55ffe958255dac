import Foundation
import Simulation
import Testing

@testable import Ledger

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

    @Test(
        "revealing an identity appends who, when and why before revealing; erasure keeps the log verifiable")
    func auditedConsultation() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let log = try ledger.open()
        _ = try Simulator(profile: .herault2022, scale: 0.00005, seed: 3).generate(vault: v) {
            _ = try log.appendBlocking($0)
        }
        let before = try log.head()
        let stream = "cpam-34/p0/1"
        let revealed = try log.revealIdentity(
            ofCase: stream, vault: v, actor: "agent-7", reason: "rappel du patient")
        guard case .identity(let identity) = revealed else {
            Issue.record("expected an identity, got \(revealed)")
            return
        }
        #expect(try log.person(ofCase: stream)?.person == v.pseudonym(nir: identity.nir))
        let audit = try #require(try log.stream(stream).last)
        #expect(audit.type == "IdentityConsulted")
        #expect(audit.position == before.position + 1)
        let message = try Tracing_V1_IdentityConsulted(serializedBytes: audit.payload)
        #expect(message.actor == "agent-7")
        #expect(message.reason == "rappel du patient")

        #expect(throws: LedgerError.self) {
            try log.revealIdentity(ofCase: stream, vault: v, actor: "a", reason: " ")
        }
        #expect(throws: LedgerError.self) {
            try log.revealIdentity(ofCase: stream, vault: v, actor: "", reason: "r")
        }
        #expect(try log.head().position == before.position + 1)

        let person = try #require(try log.person(ofCase: stream)?.person)
        try v.keys.destroy(person)
        #expect(
            try log.revealIdentity(ofCase: stream, vault: v, actor: "agent-7", reason: "contrôle") == .erased)
        #expect(try log.verify().isValid)
    }

    @Test("no file of a ledger with identities holds a NIR, phone number or address in clear")
    func nothingInClear() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let log = try ledger.open()
        _ = try Simulator(profile: .herault2022, scale: 0.0003, seed: 11).generate(vault: v) {
            _ = try log.appendBlocking($0)
        }
        // Every identity sealed in the log, unsealed through the vault (no audit: this is the test itself).
        var clear = [Data]()
        var streams = Set<String>()
        try log.forEach(filter: EventFilter(types: ["CaseOpened"])) { view in
            streams.insert(view.stream)
            return true
        }
        for stream in streams {
            let person = try #require(try log.person(ofCase: stream))
            guard
                case .identity(let identity) = try v.reveal(
                    try #require(person.sealed), person: person.person)
            else {
                Issue.record("\(stream) has no identity")
                continue
            }
            clear.append(Data(identity.nir.utf8))
            if let phone = identity.phone { clear.append(Data(phone.utf8)) }
            clear.append(Data(identity.lastName.utf8))
        }
        #expect(streams.count > 150)
        clear.append(Data("République".utf8))
        log.close()
        var files = [String]()
        for root in [ledger.path, PrivacyVault.defaultKeyStorePath(forLedger: ledger.path)] {
            for name in try FileManager.default.contentsOfDirectory(atPath: root) {
                files.append(root + "/" + name)
            }
        }
        files.append(PrivacyVault.defaultSecretPath(forLedger: ledger.path))
        let clearText = Set(clear.map { String(decoding: $0, as: UTF8.self) })
        for file in files {
            let bytes = try #require(FileManager.default.contents(atPath: file))
            let found = clearRuns(in: [UInt8](bytes))
            #expect(found.intersection(clearText).isEmpty, "\(file) holds identity data in clear")
            #expect(!found.contains { $0.hasPrefix("phone:") }, "\(file) holds a phone number")
        }
    }

    @Test("a ledger opened without its secret still replays; a missing secret is a clear error")
    func withoutSecret() throws {
        let ledger = TemporaryLedger()
        let v = try vault(ledger)
        let log = try ledger.open()
        _ = try Simulator(profile: .herault2022, scale: 0.00002, seed: 1).generate(vault: v) {
            _ = try log.appendBlocking($0)
        }
        try FileManager.default.removeItem(atPath: PrivacyVault.defaultSecretPath(forLedger: ledger.path))
        #expect(throws: LedgerError.self) { try PrivacyVault(ledger: ledger.path, create: false) }
        #expect(try log.events().count > 20)
        #expect(try log.verify().isValid)
    }
}

/// The runs of a file that could be identity data in clear: digit runs of 13 or more (NIR-like),
/// phone numbers written `0X XX XX XX XX` (as `phone:…`), and runs of letters (names, streets).
func clearRuns(in bytes: [UInt8]) -> Set<String> {
    var found = Set<String>()
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b >= 0xC3 }
    var i = 0
    while i < bytes.count {
        if isDigit(bytes[i]) {
            var j = i
            while j < bytes.count && isDigit(bytes[j]) { j += 1 }
            if j - i >= 13 { found.insert(String(decoding: bytes[i..<j], as: UTF8.self)) }
            // 0X XX XX XX XX
            if j - i == 2 && bytes[i] == 48, i + 14 <= bytes.count {
                let tail = bytes[i + 2..<i + 14]
                let shaped = tail.enumerated().allSatisfy { k, b in k % 3 == 0 ? b == 32 : isDigit(b) }
                if shaped { found.insert("phone:" + String(decoding: bytes[i..<i + 14], as: UTF8.self)) }
            }
            i = j
        } else if isLetter(bytes[i]) {
            var j = i
            while j < bytes.count && isLetter(bytes[j]) { j += 1 }
            if j - i >= 4 { found.insert(String(decoding: bytes[i..<j], as: UTF8.self)) }
            i = j
        } else {
            i += 1
        }
    }
    return found
}
