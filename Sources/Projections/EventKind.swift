import ContactTracing
import Foundation
import Ledger
import SwiftProtobuf

/// The catalog's event types, recognised from a record's type bytes without making a string.
enum EventKind: Int, CaseIterable, Sendable {
    case platformOpened, policyChanged, platformClosed, caseHandedOver, positiveTestReported, caseOpened
    case contactDeclared, isolationPrescribed, workStoppageIssued, nurseVisitRequested
    case socialSupportRequested, clusterReported, caseClosed, callPlaced, smsSent, smsDeliveryReported
    case letterSent, teleserviceSubmitted, identityConsulted

    /// The name stored in the log.
    var name: String { Self.names[rawValue] }

    static let names: [String] = allCases.map { kind in
        switch kind {
        case .platformOpened: "PlatformOpened"
        case .policyChanged: "PolicyChanged"
        case .platformClosed: "PlatformClosed"
        case .caseHandedOver: "CaseHandedOver"
        case .positiveTestReported: "PositiveTestReported"
        case .caseOpened: "CaseOpened"
        case .contactDeclared: "ContactDeclared"
        case .isolationPrescribed: "IsolationPrescribed"
        case .workStoppageIssued: "WorkStoppageIssued"
        case .nurseVisitRequested: "NurseVisitRequested"
        case .socialSupportRequested: "SocialSupportRequested"
        case .clusterReported: "ClusterReported"
        case .caseClosed: "CaseClosed"
        case .callPlaced: "CallPlaced"
        case .smsSent: "SMSSent"
        case .smsDeliveryReported: "SMSDeliveryReported"
        case .letterSent: "LetterSent"
        case .teleserviceSubmitted: "TeleserviceSubmitted"
        case .identityConsulted: "IdentityConsulted"
        }
    }

    /// The names' bytes, grouped by length for the lookup.
    private static let byLength: [[(bytes: [UInt8], kind: EventKind)]] = {
        var table = [[(bytes: [UInt8], kind: EventKind)]](repeating: [], count: 32)
        for kind in allCases {
            let bytes = Array(kind.name.utf8)
            table[bytes.count].append((bytes, kind))
        }
        return table
    }()

    /// The schema version of each type in this build's catalog.
    static let currentVersions: [UInt16] = allCases.map {
        UpcasterRegistry.standard.currentVersion(of: $0.name)
    }

    /// The kind named by `bytes`, or `nil` for a type this build does not fold.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count < Self.byLength.count else { return nil }
        for candidate in Self.byLength[bytes.count] {
            let equal = candidate.bytes.withUnsafeBytes {
                bytes.isEmpty || memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            if equal {
                self = candidate.kind
                return
            }
        }
        return nil
    }

    /// Decodes `view`'s payload as `M`: straight from the map at the current schema version, through
    /// the upcasters otherwise.
    func decode<M: SwiftProtobuf.Message>(_: M.Type, _ view: borrowing EventView) throws(ProjectionError) -> M
    {
        if view.schemaVersion == Self.currentVersions[rawValue] {
            do {
                return try M(serializedBytes: PayloadBytes(borrowing: view.payload))
            } catch {
                throw .undecodable(
                    position: view.position,
                    reason: CatalogError.badPayload(type: name, reason: String(describing: error)).description
                )
            }
        }
        do throws(CatalogError) {
            let message = try UpcasterRegistry.standard.decode(
                type: name, schemaVersion: view.schemaVersion, payload: view.payload)
            guard let typed = message as? M else {
                throw CatalogError.badPayload(type: name, reason: "upcasting gave a \(type(of: message))")
            }
            return typed
        } catch {
            throw .undecodable(position: view.position, reason: error.description)
        }
    }
}
