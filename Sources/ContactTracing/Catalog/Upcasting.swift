import LMDB
import Ledger
import SwiftProtobuf

/// Rewrites an old payload of one event type into the next schema version, on read.
///
/// Stored records are never rewritten: when a message changes in a way that adding fields cannot
/// express, the type's schema version goes up and an upcaster turns each older payload into the
/// newer one as it is read, so folds only ever see the current message.
public struct Upcaster: Sendable {
    /// The event type.
    public var type: String
    /// The schema version this upcaster reads; it produces `fromVersion + 1`.
    public var fromVersion: UInt16
    /// The rewrite.
    public var transform: @Sendable ([UInt8]) throws -> [UInt8]

    /// Creates an upcaster.
    public init(type: String, fromVersion: UInt16, transform: @escaping @Sendable ([UInt8]) throws -> [UInt8])
    {
        self.type = type
        self.fromVersion = fromVersion
        self.transform = transform
    }
}

/// The current schema version of each event type and the upcasters that lead to it.
public struct UpcasterRegistry: Sendable {
    /// Current versions; a type not listed is at version 1.
    public var currentVersions: [String: UInt16]
    private var upcasters: [String: [UInt16: Upcaster]] = [:]

    /// The catalog of this build: every type at version 1, no upcaster yet.
    public static let standard = UpcasterRegistry(currentVersions: [:], upcasters: [])

    /// Creates a registry.
    public init(currentVersions: [String: UInt16], upcasters: [Upcaster]) {
        self.currentVersions = currentVersions
        for upcaster in upcasters {
            self.upcasters[upcaster.type, default: [:]][upcaster.fromVersion] = upcaster
        }
    }

    /// The current version of a type.
    public func currentVersion(of type: String) -> UInt16 { currentVersions[type] ?? 1 }

    /// Decodes a stored payload into the type's current message, upcasting it first when older.
    /// - Throws: ``CatalogError`` when the type is unknown, the payload does not decode, the version is
    ///   newer than this build knows, or an upcaster is missing.
    public func decode(type: String, schemaVersion: UInt16, payload: UnsafeRawBufferPointer)
        throws(CatalogError)
        -> any SwiftProtobuf.Message
    {
        let current = currentVersion(of: type)
        if schemaVersion == current { return try EventCatalog.decode(type: type, payload: payload) }
        guard schemaVersion < current else {
            throw .badPayload(
                type: type, reason: "schema version \(schemaVersion) is newer than this build's \(current)")
        }
        var bytes = Array(payload)
        var version = schemaVersion
        while version < current {
            guard let upcaster = upcasters[type]?[version] else {
                throw .badPayload(type: type, reason: "no upcaster from schema version \(version)")
            }
            do {
                bytes = try upcaster.transform(bytes)
            } catch {
                throw .badPayload(type: type, reason: "upcasting from version \(version) failed: \(error)")
            }
            version += 1
        }
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(CatalogError) in try EventCatalog.decode(type: type, payload: buffer) }
        }
        return try result.get()
    }
}
