import Foundation
import LMDB
import Ledger
import SwiftProtobuf
import TestSupport
import Testing

@testable import ContactTracing

@Suite("Schema evolution")
struct UpcastingTests {
    /// Version 1 of a made-up CallPlaced stored the duration in minutes; version 2 in seconds.
    let registry = UpcasterRegistry(
        currentVersions: ["CallPlaced": 2],
        upcasters: [
            Upcaster(type: "CallPlaced", fromVersion: 1) { bytes in
                var call = try Tracing_V1_CallPlaced(serializedBytes: bytes)
                call.durationSeconds *= 60
                return try call.serializedBytes()
            }
        ])

    @Test("an old payload is upcast on read; the stored record is untouched")
    func upcastOnRead() throws {
        let ledger = TemporaryLedger()
        let log = try ledger.open()
        var call = Tracing_V1_CallPlaced()
        call.durationSeconds = 7
        _ = try log.appendBlocking([
            try EventCatalog.event(call, stream: "s", platform: "p", occurredAt: .now())
        ])
        let stored = try #require(try log.event(at: 1))
        #expect(stored.schemaVersion == 1)
        let message = try stored.payload.withUnsafeBytes {
            try registry.decode(type: "CallPlaced", schemaVersion: 1, payload: $0)
        }
        #expect((message as? Tracing_V1_CallPlaced)?.durationSeconds == 420)
        let current = try stored.payload.withUnsafeBytes {
            try UpcasterRegistry.standard.decode(type: "CallPlaced", schemaVersion: 1, payload: $0)
        }
        #expect((current as? Tracing_V1_CallPlaced)?.durationSeconds == 7)
        #expect(try log.verify().isValid)
    }

    @Test("a payload newer than the build, or with no upcaster, is refused clearly")
    func refusals() throws {
        let bytes: [UInt8] = []
        #expect(throws: CatalogError.self) {
            try bytes.withUnsafeBytes {
                try registry.decode(type: "CallPlaced", schemaVersion: 3, payload: $0)
            }
        }
        let gap = UpcasterRegistry(currentVersions: ["SMSSent": 3], upcasters: [])
        #expect(throws: CatalogError.badPayload(type: "SMSSent", reason: "no upcaster from schema version 1"))
        {
            try bytes.withUnsafeBytes { try gap.decode(type: "SMSSent", schemaVersion: 1, payload: $0) }
        }
        #expect(throws: CatalogError.self) {
            try bytes.withUnsafeBytes { try registry.decode(type: "Nope", schemaVersion: 1, payload: $0) }
        }
    }
}
