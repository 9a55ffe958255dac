import ContactTracing
import Ledger
import SwiftProtobuf

/// The fields of one payload the fold reads, located in the payload's bytes without building a
/// message (no allocation, no string made for a field the fold does not use).
///
/// The fast path accepts only what SwiftProtobuf would decode to the same values: every field of the
/// schema with its declared wire type, strings of valid UTF-8, the nested `SealedIdentity` well formed,
/// unknown fields of wire types 0, 1, 2 and 5. Anything else (a group, a wire type other than the
/// declared one, an older schema version, a truncated payload) goes through the reference decoder,
/// SwiftProtobuf with the upcasters (``EventKind/decode(_:_:)``), whose message is then serialized
/// again and read by the same code: a payload the reference rejects is rejected with its error, and
/// the values read are always the reference's (tested against it for every event of a simulated
/// history).
struct PayloadFields {
    /// What a field number holds in a message of the catalog.
    enum FieldType: UInt8 {
        /// Not in the message: skipped like SwiftProtobuf's unknown fields.
        case unknown
        /// `string`: length-delimited, valid UTF-8.
        case string
        /// `bytes`: length-delimited, any bytes.
        case bytes
        /// An enum: a varint, read as SwiftProtobuf does (truncated to 32 bits).
        case enumeration
        /// A bool: a varint, true when not 0.
        case bool
        /// A `uint32`: a varint (truncated to 32 bits).
        case uint32
        /// A nested `SealedIdentity` message.
        case identity
    }

    /// The fields of the messages read, by field number (index 0 unused).
    typealias Schema = [FieldType]

    /// The nested `SealedIdentity`: `bytes box = 1; uint32 key_version = 2`.
    static let identitySchema: Schema = [.unknown, .bytes, .uint32]

    /// The payload the fields point into.
    let payload: UnsafeRawBufferPointer
    /// For fields 1 to 6: a varint's value, or a length-delimited field's offset (high 32 bits) and
    /// count (low 32 bits); 0 when absent.
    private var slots: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    private init(payload: UnsafeRawBufferPointer) { self.payload = payload }

    private func slot(_ field: Int) -> UInt64 {
        switch field {
        case 1: return slots.0
        case 2: return slots.1
        case 3: return slots.2
        case 4: return slots.3
        case 5: return slots.4
        case 6: return slots.5
        default: return 0
        }
    }

    private mutating func set(_ field: Int, _ value: UInt64) {
        switch field {
        case 1: slots.0 = value
        case 2: slots.1 = value
        case 3: slots.2 = value
        case 4: slots.3 = value
        case 5: slots.4 = value
        case 6: slots.5 = value
        default: break
        }
    }

    /// A string or bytes field's bytes (empty when absent).
    func bytes(_ field: Int) -> UnsafeRawBufferPointer {
        let value = slot(field)
        let start = Int(value >> 32)
        let count = Int(value & 0xFFFF_FFFF)
        return UnsafeRawBufferPointer(rebasing: payload[start..<start + count])
    }

    /// A string field (empty when absent).
    func string(_ field: Int) -> String { String(decoding: bytes(field), as: UTF8.self) }

    /// Whether a string field is empty or absent.
    func isEmpty(_ field: Int) -> Bool { slot(field) & 0xFFFF_FFFF == 0 }

    /// An enum field's raw value, as SwiftProtobuf reads it (the varint truncated to 32 bits).
    func enumValue(_ field: Int) -> Int32 { Int32(truncatingIfNeeded: slot(field)) }

    /// A bool field.
    func bool(_ field: Int) -> Bool { slot(field) != 0 }

    /// Reads `payload` against `schema` (fields 1 to 6 at most); nil when the fast path cannot vouch
    /// for the payload (see the type's documentation). With `lenient`, groups are skipped (only for
    /// bytes SwiftProtobuf has serialized itself, whose unknown fields it has already accepted).
    static func parse(_ payload: UnsafeRawBufferPointer, schema: Schema, lenient: Bool = false)
        -> PayloadFields?
    {
        var fields = PayloadFields(payload: payload)
        guard
            scan(
                payload, schema: schema, lenient: lenient,
                found: { field, value in fields.set(field, value) })
        else { return nil }
        return fields
    }

    /// Walks the fields of `bytes`, checking each against `schema`; calls `found` with each field of
    /// the schema (varint value, or offset << 32 | count relative to `bytes`). Returns false on doubt.
    private static func scan(
        _ bytes: UnsafeRawBufferPointer, schema: Schema, lenient: Bool, found: (Int, UInt64) -> Void
    ) -> Bool {
        var at = 0
        let end = bytes.count
        guard end < 1 << 31 else { return false }
        var groups = 0
        while at < end {
            guard let tag = Varint.read(bytes, at: &at), tag <= UInt64(UInt32.max) else { return false }
            let field = Int(tag >> 3)
            let wire = Int(tag & 7)
            guard field > 0 else { return false }
            let type = groups == 0 && field < schema.count ? schema[field] : .unknown
            switch wire {
            case 0:
                guard let value = Varint.read(bytes, at: &at) else { return false }
                switch type {
                case .enumeration, .bool, .uint32: found(field, value)
                case .unknown: break
                case .string, .bytes, .identity: return false
                }
            case 1, 5:
                guard type == .unknown else { return false }
                let size = wire == 1 ? 8 : 4
                guard end - at >= size else { return false }
                at += size
            case 2:
                guard let length = Varint.read(bytes, at: &at), length <= UInt64(end - at) else {
                    return false
                }
                let start = at
                let count = Int(length)
                at += count
                let body = UnsafeRawBufferPointer(rebasing: bytes[start..<at])
                switch type {
                case .unknown: break
                case .string:
                    guard isUTF8(body) else { return false }
                    found(field, UInt64(start) << 32 | UInt64(count))
                case .bytes:
                    found(field, UInt64(start) << 32 | UInt64(count))
                case .identity:
                    guard scan(body, schema: identitySchema, lenient: lenient, found: { _, _ in }) else {
                        return false
                    }
                case .enumeration, .bool, .uint32:
                    return false
                }
            case 3 where lenient:
                groups += 1
            case 4 where lenient && groups > 0:
                groups -= 1
            default:
                return false
            }
        }
        return groups == 0
    }

    /// Whether `bytes` is valid UTF-8 (ASCII checked eight bytes at a time).
    private static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let count = bytes.count
        while i + 8 <= count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                return String(validating: bytes, as: UTF8.self) != nil
            }
            i += 8
        }
        while i < count {
            if bytes[i] >= 0x80 { return String(validating: bytes, as: UTF8.self) != nil }
            i += 1
        }
        return true
    }
}

extension EventKind {
    /// The fields of each message the fold reads through ``PayloadFields`` (platform events, rare,
    /// are decoded as messages).
    static let schemas: [PayloadFields.Schema] = allCases.map { kind in
        let schema = schema(of: kind)
        precondition(schema.count <= 7, "PayloadFields keeps fields 1 to 6: widen its slots first")
        return schema
    }

    private static func schema(of kind: EventKind) -> PayloadFields.Schema {
        switch kind {
        case .platformOpened, .policyChanged, .platformClosed: []
        case .caseHandedOver: [.unknown, .string]
        case .positiveTestReported: [.unknown, .string, .string, .string, .enumeration, .string, .identity]
        case .caseOpened: [.unknown, .string, .enumeration, .enumeration, .string, .identity, .bool]
        case .contactDeclared: [.unknown, .string, .string, .string, .enumeration]
        case .isolationPrescribed: [.unknown, .string, .string, .string]
        case .workStoppageIssued: [.unknown, .string, .string]
        case .nurseVisitRequested, .socialSupportRequested, .letterSent, .teleserviceSubmitted:
            [.unknown, .string]
        case .clusterReported: [.unknown, .string, .enumeration]
        case .caseClosed: [.unknown, .enumeration]
        case .callPlaced: [.unknown, .enumeration, .enumeration, .enumeration, .uint32, .string]
        case .smsSent: [.unknown, .string, .string]
        case .smsDeliveryReported: [.unknown, .string, .bool]
        case .identityConsulted: [.unknown, .string, .string, .string]
        }
    }

    /// Calls `body` with the fields of `view`'s payload, a message `M`: read straight from the bytes
    /// when the fast path can vouch for them, else from the reference decoder's message.
    /// - Throws: what ``decode(_:_:)`` throws for a payload that does not decode.
    @inline(__always)
    func withFields<M: SwiftProtobuf.Message, R>(
        _: M.Type, _ view: borrowing EventView, _ body: (PayloadFields) -> R
    ) throws(ProjectionError) -> R {
        let schema = Self.schemas[rawValue]
        if view.schemaVersion == Self.currentVersions[rawValue],
            let fields = PayloadFields.parse(view.payload, schema: schema)
        {
            return body(fields)
        }
        return try referenceFields(M.self, view, body)
    }

    /// The reference path of ``withFields(_:_:_:)``: SwiftProtobuf (and the upcasters), then the
    /// message's own serialization read back.
    func referenceFields<M: SwiftProtobuf.Message, R>(
        _: M.Type, _ view: borrowing EventView, _ body: (PayloadFields) -> R
    ) throws(ProjectionError) -> R {
        var message = try decode(M.self, view)
        message.unknownFields = UnknownStorage()
        let bytes: [UInt8]
        do {
            bytes = try message.serializedBytes()
        } catch {
            throw .undecodable(position: view.position, reason: "\(name) does not serialize again")
        }
        let readsBack = bytes.withUnsafeBytes { raw in
            PayloadFields.parse(raw, schema: Self.schemas[rawValue], lenient: true) != nil
        }
        guard readsBack else {
            throw .undecodable(position: view.position, reason: "\(name) does not read back")
        }
        // The fields point into `bytes`: read inside the closure that keeps it alive.
        return bytes.withUnsafeBytes { raw in
            body(PayloadFields.parse(raw, schema: Self.schemas[rawValue], lenient: true)!)
        }
    }
}

extension PayloadFields {
    /// Every field of `schema` as text (strings and bytes in hex, varints in decimal; the nested
    /// identity, which the fold does not read, as nothing): what tests compare between the fast path
    /// and the reference.
    func values(schema: Schema) -> [String] {
        schema.indices.dropFirst().map { field in
            switch schema[field] {
            case .string, .bytes: Array(bytes(field)).hexString
            case .enumeration: String(enumValue(field))
            case .bool: String(bool(field))
            case .uint32: String(UInt32(truncatingIfNeeded: slot(field)))
            case .unknown, .identity: ""
            }
        }
    }
}

extension EventKind {
    /// The fields of `view`'s payload as text, read by the fast path (nil when it defers to the
    /// reference) and by the reference path: tests check that they agree.
    func fieldValues(_ view: borrowing EventView) throws -> (fast: [String]?, reference: [String]) {
        let schema = Self.schemas[rawValue]
        let fast =
            view.schemaVersion == Self.currentVersions[rawValue]
            ? PayloadFields.parse(view.payload, schema: schema)?.values(schema: schema) : nil
        func reference<M: SwiftProtobuf.Message>(_ type: M.Type) throws -> [String] {
            try referenceFields(type, view) { $0.values(schema: schema) }
        }
        let values: [String]
        switch self {
        case .platformOpened, .policyChanged, .platformClosed: values = []
        case .caseHandedOver: values = try reference(Tracing_V1_CaseHandedOver.self)
        case .positiveTestReported: values = try reference(Tracing_V1_PositiveTestReported.self)
        case .caseOpened: values = try reference(Tracing_V1_CaseOpened.self)
        case .contactDeclared: values = try reference(Tracing_V1_ContactDeclared.self)
        case .isolationPrescribed: values = try reference(Tracing_V1_IsolationPrescribed.self)
        case .workStoppageIssued: values = try reference(Tracing_V1_WorkStoppageIssued.self)
        case .nurseVisitRequested: values = try reference(Tracing_V1_NurseVisitRequested.self)
        case .socialSupportRequested: values = try reference(Tracing_V1_SocialSupportRequested.self)
        case .clusterReported: values = try reference(Tracing_V1_ClusterReported.self)
        case .caseClosed: values = try reference(Tracing_V1_CaseClosed.self)
        case .callPlaced: values = try reference(Tracing_V1_CallPlaced.self)
        case .smsSent: values = try reference(Tracing_V1_SMSSent.self)
        case .smsDeliveryReported: values = try reference(Tracing_V1_SMSDeliveryReported.self)
        case .letterSent: values = try reference(Tracing_V1_LetterSent.self)
        case .teleserviceSubmitted: values = try reference(Tracing_V1_TeleserviceSubmitted.self)
        case .identityConsulted: values = try reference(Tracing_V1_IdentityConsulted.self)
        }
        return (fast, values)
    }
}
