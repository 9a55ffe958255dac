import ContactTracing
import Foundation
import Ledger
import Projections
import TestSupport
import Testing

@testable import Simulation

/// The privacy promises checked on simulated ledgers with sealed identities.
@Suite("Personal data in simulated ledgers")
struct SimulatedPrivacyTests {
    /// A ledger with sealed identities, simulated at `scale` with `seed`.
    func simulated(scale: Double, seed: UInt64) throws -> (TemporaryLedger, PrivacyVault, EventLog) {
        let ledger = TemporaryLedger()
        let vault = try PrivacyVault(ledger: ledger.path, create: true)
        let log = try ledger.open()
        _ = try Simulator(profile: .herault2022, scale: scale, seed: seed).generate(vault: vault) {
            _ = try log.appendBlocking($0)
        }
        return (ledger, vault, log)
    }

    @Test(
        "revealing an identity appends who, when and why before revealing; erasure keeps the log verifiable")
    func auditedConsultation() throws {
        let (ledger, v, log) = try simulated(scale: 0.00005, seed: 3)
        defer { withExtendedLifetime(ledger) {} }
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
        let (ledger, v, log) = try simulated(scale: 0.0003, seed: 11)
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
        let (ledger, _, log) = try simulated(scale: 0.00002, seed: 1)
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
