import Crypto
import Foundation
import LMDB

/// The on-disk format of a ledger, version 1. `docs/format.md` is its specification.
///
/// Keys are big-endian so that LMDB's byte order is numeric order; integers inside values are
/// little-endian.
public enum LedgerFormat {
    /// The format version this build writes and reads.
    public static let version: UInt32 = 1

    /// Names of the LMDB named databases.
    enum Database {
        static let meta = "meta"
        static let events = "events"
        static let eventIDs = "event_ids"
        static let streams = "streams"
        static let streamEvents = "stream_events"
    }

    /// Keys of the `meta` database.
    enum MetaKey {
        static let formatVersion = "format_version"
        static let ledgerID = "ledger_id"
        static let createdAt = "created_at"
    }

    /// Size of the fixed part of an event record.
    static let fixedHeaderSize = 77
    /// Offset of the bytes covered by the hash.
    static let bodyOffset = 32
    /// Hash of the (empty) chain before position 1.
    static let genesisHash = [UInt8](repeating: 0, count: 32)
    /// The longest stream, type or platform name, in UTF-8 bytes.
    public static let maxNameLength = 255

    /// A name (stream, type, platform, or any id that refers to one) in Unicode Normalization Form C.
    ///
    /// LMDB keys are bytes while Swift compares strings by canonical equivalence, so `Hélène` with a
    /// precomposed `é` and with `e` + U+0301 would be one name to Swift and two keys to LMDB. Every
    /// boundary (appends, stream and filter reads, the JSON form, the command line) stores and looks up
    /// names in NFC, so one name is one key. ASCII names are returned as they are.
    public static func normalize(_ name: String) -> String {
        if name.utf8.allSatisfy({ $0 < 0x80 }) { return name }
        return name.precomposedStringWithCanonicalMapping
    }
    /// The largest payload accepted, in bytes.
    public static let maxPayloadSize = 1 << 20
}

/// A zero-copy view of one stored event record, valid only inside the read it was handed to.
///
/// Its fields are read from the memory map on demand; nothing is copied unless asked for.
///
/// Non-copyable, and lent to the closures of ``EventLog/forEach(from:filter:_:)`` and the other
/// reads as `borrowing`: a view cannot be kept beyond the closure that received it
/// (`var kept: EventView?; log.forEach { kept = $0 }` does not compile). Its bytes are given out
/// through the scoped ``withRecord(_:)`` and ``withPayload(_:)`` as a `RawSpan`, whose lifetime the
/// compiler checks; the raw buffers are for this package's own modules only.
public struct EventView: ~Copyable {
    /// The event's global position.
    public let position: UInt64
    /// The record bytes as stored (hash, fixed header, names, payload).
    package let bytes: UnsafeRawBufferPointer

    /// Wraps record bytes read from elsewhere (an `events` value read by another LMDB binding, a
    /// record kept in another store), checking that its name lengths fit in it.
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the bytes are not a record.
    public init(position: UInt64, bytes: UnsafeRawBufferPointer) throws(LedgerError) {
        guard bytes.count >= LedgerFormat.fixedHeaderSize else {
            throw .corruptRecord(
                position: position, reason: "record of \(bytes.count) bytes is shorter than its header")
        }
        let t = Int(bytes[74])
        let p = Int(bytes[75])
        let s = Int(bytes[76])
        guard LedgerFormat.fixedHeaderSize + t + p + s <= bytes.count else {
            throw .corruptRecord(position: position, reason: "name lengths run past the end of the record")
        }
        self.position = position
        self.bytes = bytes
    }

    @inline(__always)
    private func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The hash chain value after this event.
    package var hash: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[0..<32]) }
    /// The bytes the hash covers (everything after the hash).
    package var body: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[32...]) }
    /// The event id.
    public var id: UUID {
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[32..<48]))
        }
        return UUID(uuid: raw)
    }
    /// The raw 16 bytes of the id.
    package var idBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[32..<48]) }
    /// The version within the stream.
    public var streamVersion: UInt64 { load(48, as: UInt64.self) }
    /// When the fact happened.
    public var occurredAt: Timestamp { Timestamp(millisecondsSince1970: load(56, as: Int64.self)) }
    /// When it was recorded.
    public var recordedAt: Timestamp { Timestamp(millisecondsSince1970: load(64, as: Int64.self)) }
    /// The payload's schema version.
    public var schemaVersion: UInt16 { load(72, as: UInt16.self) }

    private var typeLength: Int { Int(bytes[74]) }
    private var platformLength: Int { Int(bytes[75]) }
    private var streamLength: Int { Int(bytes[76]) }

    /// The type name's UTF-8 bytes, compared without decoding.
    package var typeBytes: UnsafeRawBufferPointer {
        let start = LedgerFormat.fixedHeaderSize
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + typeLength])
    }
    /// The platform's UTF-8 bytes.
    package var platformBytes: UnsafeRawBufferPointer {
        let start = LedgerFormat.fixedHeaderSize + typeLength
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + platformLength])
    }
    /// The stream name's UTF-8 bytes.
    package var streamBytes: UnsafeRawBufferPointer {
        let start = LedgerFormat.fixedHeaderSize + typeLength + platformLength
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + streamLength])
    }
    /// The payload bytes (protobuf).
    package var payload: UnsafeRawBufferPointer {
        let start = LedgerFormat.fixedHeaderSize + typeLength + platformLength + streamLength
        return UnsafeRawBufferPointer(rebasing: bytes[start...])
    }

    /// The type name.
    public var type: String { String(decoding: typeBytes, as: UTF8.self) }
    /// The platform.
    public var platform: String { String(decoding: platformBytes, as: UTF8.self) }
    /// The stream.
    public var stream: String { String(decoding: streamBytes, as: UTF8.self) }

    /// Runs `body` on the record bytes as stored (hash, fixed header, names, payload: docs/format.md).
    public func withRecord<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
        try body(RawSpan(_unsafeBytes: bytes))
    }

    /// Runs `body` on the payload bytes (protobuf), without copying them out of the map.
    public func withPayload<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
        try body(RawSpan(_unsafeBytes: payload))
    }

    /// The hash chain value after this event, copied.
    public var hashBytes: [UInt8] { Array(hash) }

    /// Copies the whole event out of the map.
    public func materialize() -> RecordedEvent {
        RecordedEvent(
            position: position, streamVersion: streamVersion, id: id, stream: stream, type: type,
            platform: platform, occurredAt: occurredAt, recordedAt: recordedAt, schemaVersion: schemaVersion,
            payload: Array(payload), hash: Array(hash))
    }
}

/// Writes record bodies (docs/format.md, "The event record"): fixed fields little-endian, then the
/// three names and the payload, each copied in one piece.
enum RecordEncoder {
    /// The size of `event`'s body.
    static func bodySize(of event: NewEvent) -> Int {
        16 + 8 + 8 + 8 + 2 + 3 + event.type.utf8.count + event.platform.utf8.count + event.stream.utf8.count
            + event.payload.count
    }

    /// Writes `event`'s body into `out`, which is ``bodySize(of:)`` bytes long.
    static func writeBody(
        _ event: NewEvent, streamVersion: UInt64, recordedAt: Timestamp,
        into out: UnsafeMutableRawBufferPointer
    ) {
        var offset = 0
        func fixed<T: FixedWidthInteger>(_ value: T) {
            out.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
            offset += MemoryLayout<T>.size
        }
        func bytes(_ source: UnsafeRawBufferPointer) {
            guard source.count > 0 else { return }
            UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + source.count]).copyMemory(
                from: source)
            offset += source.count
        }
        func text(_ value: String) {
            var value = value
            value.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        }
        withUnsafeBytes(of: event.id.uuid) { bytes($0) }
        fixed(streamVersion)
        fixed(event.occurredAt.millisecondsSince1970)
        fixed(recordedAt.millisecondsSince1970)
        fixed(event.schemaVersion)
        fixed(UInt8(event.type.utf8.count))
        fixed(UInt8(event.platform.utf8.count))
        fixed(UInt8(event.stream.utf8.count))
        text(event.type)
        text(event.platform)
        text(event.stream)
        event.payload.withUnsafeBytes { bytes($0) }
        precondition(offset == out.count, "a record body of \(offset) bytes in \(out.count)")
    }

    /// Writes the record of `event` (its chain hash, then its body) into `out`, which is 32 +
    /// ``bodySize(of:)`` bytes long; returns the chain hash.
    static func writeRecord(
        _ event: NewEvent, streamVersion: UInt64, recordedAt: Timestamp, previousHash: [UInt8],
        into out: UnsafeMutableRawBufferPointer
    ) -> [UInt8] {
        let body = UnsafeMutableRawBufferPointer(rebasing: out[32...])
        writeBody(event, streamVersion: streamVersion, recordedAt: recordedAt, into: body)
        let digest = chainHash(previous: previousHash, body: UnsafeRawBufferPointer(body))
        digest.withUnsafeBytes { out.copyMemory(from: $0) }
        return digest
    }
}

extension LedgerFormat {
    /// The record the ledger would store for `event` at `streamVersion` after an event whose hash is
    /// `previousHash`: the chain hash followed by the body (docs/format.md, "The event record").
    ///
    /// For tools that keep records elsewhere (an export, another store benchmarked side by side);
    /// the ledger itself writes records in place.
    public static func record(
        of event: NewEvent, streamVersion: UInt64, recordedAt: Timestamp, previousHash: [UInt8]
    ) -> [UInt8] {
        let count = 32 + RecordEncoder.bodySize(of: event)
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = RecordEncoder.writeRecord(
                event, streamVersion: streamVersion, recordedAt: event.recordedAt ?? recordedAt,
                previousHash: previousHash, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

/// The hash chain link: SHA-256(previous hash || record body), the value stored at the head of a record.
func chainHash(previous: [UInt8], body: UnsafeRawBufferPointer) -> [UInt8] {
    var hasher = SHA256()
    hasher.update(data: previous)
    hasher.update(bufferPointer: body)
    return Array(hasher.finalize())
}

/// Big-endian u64 keys.
@inline(__always)
func withBigEndianKey<R: ~Copyable, E: Error>(
    _ value: UInt64, _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E)
    -> R
{
    try withUnsafeBytes(of: value.bigEndian) { (key) throws(E) -> R in try body(key) }
}

@inline(__always)
func readBigEndianUInt64(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
    UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}
