import Foundation
import LMDB

/// What an append expects a stream's current version to be, for optimistic concurrency.
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// Append whatever the stream holds.
    case any
    /// The stream must not exist yet (it holds no event).
    case noStream
    /// The stream's last event must have this version.
    case exact(UInt64)

    /// Whether this expectation holds for a stream whose last version is `actual` (`nil`: the
    /// stream holds no event).
    public func holds(for actual: UInt64?) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return actual == nil
        case .exact(let version): return actual == version
        }
    }

    /// `any`, `no stream` or the version number.
    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no stream"
        case .exact(let version): return String(version)
        }
    }
}

/// An event to append: a fact, not yet in the log.
public struct NewEvent: Hashable, Sendable {
    /// The event's identity and idempotency key: appending an id already in the log writes nothing.
    public var id: UUID
    /// The stream the event belongs to: one per case, or a platform stream for platform-level facts.
    public var stream: String
    /// The event type, the name of its message in the catalog (for example `CallPlaced`).
    public var type: String
    /// The platform (the tenant of a shared ledger) the event belongs to.
    public var platform: String
    /// When the fact happened (the time of the call, of the lab result...).
    public var occurredAt: Timestamp
    /// When the fact was recorded; `nil` lets the log use the time of the append.
    public var recordedAt: Timestamp?
    /// The version of the payload's schema, for upcasting.
    public var schemaVersion: UInt16
    /// The payload: the protobuf encoding of the event's message.
    public var payload: [UInt8]
    /// What the stream's version must be before this event, for optimistic concurrency.
    public var expectedVersion: ExpectedVersion

    /// Creates an event to append.
    public init(
        id: UUID = .timeOrdered(), stream: String, type: String, platform: String, occurredAt: Timestamp,
        recordedAt: Timestamp? = nil, schemaVersion: UInt16 = 1, payload: [UInt8] = [],
        expectedVersion: ExpectedVersion = .any
    ) {
        self.id = id
        self.stream = stream
        self.type = type
        self.platform = platform
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.expectedVersion = expectedVersion
    }
}

/// An event as stored in the log, with the position and version the log gave it.
public struct RecordedEvent: Hashable, Sendable {
    /// The global position: gapless, starting at 1.
    public var position: UInt64
    /// The version within its stream: 0 for the stream's first event.
    public var streamVersion: UInt64
    /// The event's identity.
    public var id: UUID
    /// The stream.
    public var stream: String
    /// The event type.
    public var type: String
    /// The platform.
    public var platform: String
    /// When the fact happened.
    public var occurredAt: Timestamp
    /// When it was recorded.
    public var recordedAt: Timestamp
    /// The payload's schema version.
    public var schemaVersion: UInt16
    /// The protobuf payload.
    public var payload: [UInt8]
    /// The hash chain value after this event: SHA-256(previous hash || stored bytes).
    public var hash: [UInt8]
}

/// What one appended event became.
public struct AppendResult: Hashable, Sendable {
    /// The global position of the event (its original one when it was already in the log).
    public var position: UInt64
    /// Its version in its stream.
    public var streamVersion: UInt64
    /// `true` when the event was already in the log and nothing was written for it.
    public var wasDuplicate: Bool

    /// Creates a result.
    public init(position: UInt64, streamVersion: UInt64, wasDuplicate: Bool) {
        self.position = position
        self.streamVersion = streamVersion
        self.wasDuplicate = wasDuplicate
    }
}

/// The head of the log.
public struct LogHead: Hashable, Sendable {
    /// The last position written, 0 for an empty log.
    public var position: UInt64
    /// The number of events; equal to `position` since positions are gapless from 1.
    public var count: UInt64 { position }
    /// The hash chain value of the last event (32 zero bytes for an empty log).
    public var hash: [UInt8]

    /// The head hash in lowercase hexadecimal.
    public var hashHex: String { hash.hexString }

    /// Creates a head.
    public init(position: UInt64, hash: [UInt8]) {
        self.position = position
        self.hash = hash
    }
}

extension Sequence<UInt8> {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Parses lowercase or uppercase hexadecimal; `nil` when it is not.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}

extension UUID {
    /// A UUID made from the first 16 of `bytes`, marked as version 8 (custom) of the RFC 9562 variant:
    /// for ids that must be the same every time they are derived (demo histories, imports).
    public init(deterministic bytes: some Sequence<UInt8>) {
        var b = Array(bytes.prefix(16))
        b += [UInt8](repeating: 0, count: 16 - b.count)
        b[6] = (b[6] & 0x0F) | 0x80
        b[8] = (b[8] & 0x3F) | 0x80
        self.init(
            uuid: (
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]
            ))
    }

    /// A time-ordered id (RFC 9562 UUID version 7): 48 bits of Unix milliseconds, then 74 random
    /// bits. Ids made later sort after earlier ones, so the idempotency index `event_ids` takes them
    /// at its right edge, where pages stay full (docs/format.md); the documented practice for clients.
    public static func timeOrdered(at time: Timestamp = .now()) -> UUID {
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let milliseconds = UInt64(max(time.millisecondsSince1970, 0)) & 0xFFFF_FFFF_FFFF
        var random = SystemRandomNumberGenerator()
        withUnsafeMutableBytes(of: &raw) { out in
            out.storeBytes(of: (milliseconds << 16).bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: random.next(), toByteOffset: 6, as: UInt16.self)
            out.storeBytes(of: random.next(), toByteOffset: 8, as: UInt64.self)
            out[6] = (out[6] & 0x0F) | 0x70
            out[8] = (out[8] & 0x3F) | 0x80
        }
        return UUID(uuid: raw)
    }

    /// The same, from two 64-bit halves taken big-endian (`high` gives bytes 0 to 7): the fast path
    /// for generated ids, `UUID(deterministic: high, low)` equals `UUID(deterministic: bytes)` of
    /// those 16 bytes.
    public init(deterministic high: UInt64, _ low: UInt64) {
        let h = high.bigEndian
        let l = low.bigEndian
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) { out in
            out.storeBytes(of: h, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: l, toByteOffset: 8, as: UInt64.self)
            out[6] = (out[6] & 0x0F) | 0x80
            out[8] = (out[8] & 0x3F) | 0x80
        }
        self.init(uuid: raw)
    }
}
