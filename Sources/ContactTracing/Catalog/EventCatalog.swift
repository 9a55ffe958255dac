import Foundation
import LMDB
import Ledger
import SwiftProtobuf

/// The event types of a tracing platform and their protobuf messages (`Protos/tracing/v1/events.proto`).
///
/// The type name stored in a record is the message name. ``EventCatalog`` turns payload bytes into
/// messages and both into the JSON form that `ledgerctl append` reads and `ledgerctl export` writes.
public enum EventCatalog {
    /// Every event type, by the name stored in the log.
    public static let messageTypes: [String: any SwiftProtobuf.Message.Type] = [
        "PlatformOpened": Tracing_V1_PlatformOpened.self,
        "PolicyChanged": Tracing_V1_PolicyChanged.self,
        "PlatformClosed": Tracing_V1_PlatformClosed.self,
        "CaseHandedOver": Tracing_V1_CaseHandedOver.self,
        "PositiveTestReported": Tracing_V1_PositiveTestReported.self,
        "CaseOpened": Tracing_V1_CaseOpened.self,
        "ContactDeclared": Tracing_V1_ContactDeclared.self,
        "IsolationPrescribed": Tracing_V1_IsolationPrescribed.self,
        "WorkStoppageIssued": Tracing_V1_WorkStoppageIssued.self,
        "NurseVisitRequested": Tracing_V1_NurseVisitRequested.self,
        "SocialSupportRequested": Tracing_V1_SocialSupportRequested.self,
        "ClusterReported": Tracing_V1_ClusterReported.self,
        "CaseClosed": Tracing_V1_CaseClosed.self,
        "CallPlaced": Tracing_V1_CallPlaced.self,
        "SMSSent": Tracing_V1_SMSSent.self,
        "SMSDeliveryReported": Tracing_V1_SMSDeliveryReported.self,
        "LetterSent": Tracing_V1_LetterSent.self,
        "TeleserviceSubmitted": Tracing_V1_TeleserviceSubmitted.self,
        "IdentityConsulted": Tracing_V1_IdentityConsulted.self,
    ]

    /// The name stored in the log for a message type.
    public static func typeName(of message: any SwiftProtobuf.Message) -> String {
        let messageType = type(of: message)
        if let known = typeNames[ObjectIdentifier(messageType)] { return known }
        let full = messageType.protoMessageName
        return String(full.split(separator: ".").last ?? Substring(full))
    }

    /// The stored names of the catalog's types, looked up by type (computed once).
    private static let typeNames: [ObjectIdentifier: String] = Dictionary(
        uniqueKeysWithValues: messageTypes.map { (ObjectIdentifier($0.value), $0.key) })

    /// Builds an event from a catalog message, encoding its payload.
    public static func event(
        _ message: any SwiftProtobuf.Message, id: UUID = .timeOrdered(), stream: String, platform: String,
        occurredAt: Timestamp, recordedAt: Timestamp? = nil, expectedVersion: ExpectedVersion = .any
    ) throws -> NewEvent {
        NewEvent(
            id: id, stream: stream, type: typeName(of: message), platform: platform, occurredAt: occurredAt,
            recordedAt: recordedAt, schemaVersion: 1, payload: try message.serializedBytes(),
            expectedVersion: expectedVersion)
    }

    /// Decodes a payload into its catalog message.
    /// - Throws: ``CatalogError`` when the type is unknown or the bytes are not its message.
    public static func decode(type: String, payload: UnsafeRawBufferPointer) throws(CatalogError)
        -> any SwiftProtobuf.Message
    {
        guard let messageType = messageTypes[type] else { throw .unknownType(type) }
        do {
            return try messageType.init(
                serializedBytes: PayloadBytes(borrowing: payload), extensions: nil, partial: false,
                options: .init())
        } catch {
            throw .badPayload(type: type, reason: String(describing: error))
        }
    }
}

/// A payload or JSON form that does not fit the catalog.
public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No message of the catalog has this name.
    case unknownType(String)
    /// The payload bytes do not decode as the type's message.
    case badPayload(type: String, reason: String)

    /// What is wrong.
    public var description: String {
        switch self {
        case .unknownType(let type):
            return
                "unknown event type '\(type)' (known: \(EventCatalog.messageTypes.keys.sorted().joined(separator: ", ")))"
        case .badPayload(let type, let reason):
            return "payload is not a valid \(type): \(reason)"
        }
    }
}
