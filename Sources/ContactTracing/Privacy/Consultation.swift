import Foundation
import LMDB
import Ledger
import SwiftProtobuf

/// The person behind a case, as the case's events name them.
public struct CasePerson: Sendable, Equatable {
    /// The case (its stream).
    public var stream: String
    /// The platform of the case.
    public var platform: String
    /// The person's pseudonym.
    public var person: String
    /// The sealed identity, when an event of the case carried one.
    public var sealed: Tracing_V1_SealedIdentity?
}

extension EventLog {
    /// The person of a case: the pseudonym and sealed identity from its `CaseOpened` or
    /// `PositiveTestReported` events; `nil` when the case does not exist or names nobody.
    public func person(ofCase stream: String) throws(LedgerError) -> CasePerson? {
        var found: CasePerson?
        var failure: LedgerError?
        try reading { (txn) throws(LedgerError) in
            try scanStream(stream, fromVersion: 0, in: txn) { view in
                let type = view.type
                guard type == "CaseOpened" || type == "PositiveTestReported" else { return true }
                let message: any SwiftProtobuf.Message
                do {
                    message = try EventCatalog.decode(type: type, payload: view.payload)
                } catch {
                    failure = .corruptRecord(position: view.position, reason: "\(error)")
                    return false
                }
                let (person, sealed): (String, Tracing_V1_SealedIdentity?)
                if let opened = message as? Tracing_V1_CaseOpened {
                    (person, sealed) = (opened.person, opened.hasIdentity ? opened.identity : nil)
                } else if let test = message as? Tracing_V1_PositiveTestReported {
                    (person, sealed) = (test.person, test.hasIdentity ? test.identity : nil)
                } else {
                    return true
                }
                guard !person.isEmpty else { return true }
                if found == nil {
                    found = CasePerson(
                        stream: stream, platform: view.platform, person: person, sealed: sealed)
                } else if found?.sealed == nil, let sealed {
                    found?.sealed = sealed
                }
                return true
            }
        }
        if let failure { throw failure }
        return found
    }

    /// Reveals the identity of a case's person, after appending the audit event that the law requires
    /// for every consultation (`IdentityConsulted`: who, when, why) to the case's stream.
    ///
    /// The audit event is durable before anything is revealed; when it cannot be written, nothing is.
    /// - Throws: ``LedgerError/invalidEvent(index:field:reason:)`` when `actor` or `reason` is empty or
    ///   the case names nobody.
    public func revealIdentity(
        ofCase stream: String, vault: PrivacyVault, actor: String, reason: String, at time: Timestamp = .now()
    ) throws(LedgerError) -> RevealedIdentity {
        let actor = actor.trimmingCharacters(in: .whitespacesAndNewlines)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !actor.isEmpty else {
            throw .invalidEvent(index: 0, field: "actor", reason: "who is consulting must be given")
        }
        guard !reason.isEmpty else {
            throw .invalidEvent(index: 0, field: "reason", reason: "why must be given")
        }
        guard let casePerson = try person(ofCase: stream) else {
            throw .invalidEvent(index: 0, field: "case", reason: "no case '\(stream)' naming a person")
        }
        guard let sealed = casePerson.sealed else {
            throw .invalidEvent(index: 0, field: "case", reason: "case '\(stream)' holds no sealed identity")
        }
        var audit = Tracing_V1_IdentityConsulted()
        audit.person = casePerson.person
        audit.actor = actor
        audit.reason = reason
        let event: NewEvent
        do {
            event = try EventCatalog.event(
                audit, stream: stream, platform: casePerson.platform, occurredAt: time, recordedAt: time)
        } catch {
            throw .invalidEvent(
                index: 0, field: "payload", reason: "IdentityConsulted does not encode: \(error)")
        }
        _ = try appendBlocking([event])
        return try vault.reveal(sealed, person: casePerson.person)
    }
}
