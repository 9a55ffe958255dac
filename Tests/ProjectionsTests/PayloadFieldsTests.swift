import ContactTracing
import Foundation
import SwiftProtobuf
import Testing

@testable import Projections

/// Payloads written by hand, well formed or not: the fast path either defers to SwiftProtobuf or
/// reads exactly what SwiftProtobuf decodes, and never accepts what SwiftProtobuf rejects.
@Suite("Payload fields on malformed and unusual payloads")
struct PayloadFieldsEdgeTests {
    /// The fields SwiftProtobuf decodes, read back from its own serialization (the reference path).
    func reference<M: SwiftProtobuf.Message>(_: M.Type, _ payload: [UInt8], _ schema: PayloadFields.Schema)
        -> [String]?
    {
        guard var message = try? M(serializedBytes: payload) else { return nil }
        message.unknownFields = UnknownStorage()
        guard let bytes: [UInt8] = try? message.serializedBytes() else { return nil }
        return bytes.withUnsafeBytes {
            PayloadFields.parse($0, schema: schema, lenient: true)?.values(schema: schema)
        }
    }

    func check<M: SwiftProtobuf.Message>(
        _ type: M.Type, _ kind: EventKind, _ payload: [UInt8], fast expectFast: Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let schema = EventKind.schemas[kind.rawValue]
        let fast = payload.withUnsafeBytes { PayloadFields.parse($0, schema: schema)?.values(schema: schema) }
        let ref = reference(type, payload, schema)
        #expect(
            (fast != nil) == expectFast, "fast path taken: \(fast != nil)", sourceLocation: sourceLocation)
        if let fast { #expect(fast == ref, sourceLocation: sourceLocation) }
    }

    func string(_ field: UInt8, _ bytes: [UInt8]) -> [UInt8] { [field << 3 | 2, UInt8(bytes.count)] + bytes }
    func varint(_ field: UInt8, _ bytes: [UInt8]) -> [UInt8] { [field << 3] + bytes }

    @Test("well-formed payloads, unknown fields, repeated fields and long varints take the fast path")
    func accepted() {
        let contact = string(1, Array("cpam-34/contact/7".utf8)) + string(2, Array("p-1".utf8))
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, contact, fast: true)
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, [], fast: true)
        // An unknown varint, fixed64, fixed32 and length-delimited field are skipped.
        let unknown =
            varint(9, [0x96, 0x01]) + [10 << 3 | 1] + [UInt8](repeating: 7, count: 8)
            + [11 << 3 | 5, 1, 2, 3, 4] + string(12, [0xFF, 0xFE])
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, contact + unknown, fast: true)
        // The last of a repeated singular field wins.
        check(
            Tracing_V1_ContactDeclared.self, .contactDeclared, contact + string(1, Array("other".utf8)),
            fast: true)
        // Non-ASCII UTF-8 strings.
        check(Tracing_V1_CaseHandedOver.self, .caseHandedOver, string(1, Array("hérault".utf8)), fast: true)
        // Enum values: unknown ones, negative ones (ten-byte varints), non-minimal encodings.
        let negative: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        check(Tracing_V1_CallPlaced.self, .callPlaced, varint(1, [2]) + varint(3, [0x81, 0x00]), fast: true)
        check(Tracing_V1_CallPlaced.self, .callPlaced, varint(1, negative) + varint(2, [99]), fast: true)
        check(Tracing_V1_CaseClosed.self, .caseClosed, varint(1, [0x84, 0x80, 0x80, 0x80, 0x10]), fast: true)
        check(Tracing_V1_SMSDeliveryReported.self, .smsDeliveryReported, varint(2, [0x80, 0x01]), fast: true)
        // A nested identity, with an unknown field of its own.
        let identity = string(1, [0, 1, 2, 0xFF]) + varint(2, [3]) + varint(7, [1])
        check(
            Tracing_V1_CaseOpened.self, .caseOpened,
            string(1, Array("p".utf8)) + varint(2, [1]) + string(5, identity) + varint(6, [1]), fast: true)
    }

    @Test("payloads SwiftProtobuf rejects or reads otherwise go through it")
    func deferred() {
        // Truncated: a length past the end, a varint cut short, a fixed64 cut short.
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, [1 << 3 | 2, 5, 65], fast: false)
        check(Tracing_V1_CallPlaced.self, .callPlaced, [1 << 3, 0x80], fast: false)
        check(Tracing_V1_CallPlaced.self, .callPlaced, [9 << 3 | 1, 1, 2], fast: false)
        // Invalid UTF-8 in a string field, read or not by the fold.
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, string(1, [0xC3, 0x28]), fast: false)
        check(Tracing_V1_CallPlaced.self, .callPlaced, string(5, [0xFF]), fast: false)
        // A declared field with another wire type (SwiftProtobuf keeps it as unknown).
        check(Tracing_V1_CaseClosed.self, .caseClosed, string(1, [1]), fast: false)
        check(Tracing_V1_ContactDeclared.self, .contactDeclared, varint(1, [1]), fast: false)
        // Field number 0, wire types 6 and 7, groups, an eleven-byte varint.
        check(Tracing_V1_CaseClosed.self, .caseClosed, [0 << 3, 1], fast: false)
        check(Tracing_V1_CaseClosed.self, .caseClosed, [1 << 3 | 6, 1], fast: false)
        check(Tracing_V1_CaseClosed.self, .caseClosed, [9 << 3 | 3, 9 << 3 | 4], fast: false)
        check(
            Tracing_V1_CaseClosed.self, .caseClosed, varint(1, [UInt8](repeating: 0x80, count: 10) + [0]),
            fast: false)
        // A malformed nested identity.
        check(
            Tracing_V1_PositiveTestReported.self, .positiveTestReported, string(6, [1 << 3 | 2, 9]),
            fast: false)
    }
}
