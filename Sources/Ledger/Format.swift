import CLMDB
import Crypto
import Foundation
import LMDB

/// The on-disk format of a ledger, version 2. `docs/format.md` is its specification.
///
/// Keys are big-endian so that LMDB's byte order is numeric order; integers inside values are
/// little-endian.
public enum LedgerFormat {
    /// The format version this build writes and reads.
    public static let version: UInt32 = 2

    /// Names of the LMDB named databases.
    enum Database {
        static let meta = "meta"
        static let events = "events"
        static let eventIDs = "event_ids"
        static let streams = "streams"
        static let streamEvents = "stream_events"
        static let names = "names"
        static let nameNumbers = "name_numbers"
        static let streamNames = "stream_names"
    }

    /// Keys of the `meta` database.
    enum MetaKey {
        static let formatVersion = "format_version"
        static let ledgerID = "ledger_id"
        static let createdAt = "created_at"
        static let migratedFrom = "migrated_from"
        static let readOnlyCopy = "read_only_copy"
    }

    /// Size of the smallest record: the hash, the id and seven one-byte varints.
    static let minimumRecordSize = 32 + 16 + 7
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

/// What an interned name is: the record refers to its type and its platform by number
/// (docs/format.md, `names`).
package enum NameKind: UInt8, Sendable {
    /// An event type.
    case type = 1
    /// A platform.
    case platform = 2
}

/// The numbers a record refers to names by: its stream's number in `streams` and the numbers of
/// its type and platform in `names`.
public struct RecordNumbers: Sendable, Equatable {
    /// The stream's number (from 1).
    public var stream: UInt64
    /// The type's number in `names` (from 1).
    public var type: UInt32
    /// The platform's number in `names` (from 1).
    public var platform: UInt32

    /// Creates the numbers of a record.
    public init(stream: UInt64, type: UInt32, platform: UInt32) {
        self.stream = stream
        self.type = type
        self.platform = platform
    }
}

/// Names by number, with their UTF-8 bytes kept at stable addresses so that event views hand them
/// out without copying.
///
/// A ledger keeps the type and platform names its transactions have committed in one (they never
/// change once committed; stream names are read from the ledger's `stream_names` instead). A tool
/// that keeps records elsewhere (a store benchmarked side by side) keeps all its names in its own,
/// streams included, and numbers them with ``number(of:stream:)`` and ``number(of:kind:)``.
public final class NameTable: @unchecked Sendable {
    private struct Entry {
        var bytes: UnsafeMutableRawBufferPointer
        var kind: UInt8
    }
    private struct Key: Hashable {
        var kind: UInt8
        var name: String
    }
    private struct Contents {
        var names = [Entry?]()
        var numbers = [Key: UInt32]()
        var streams = [Entry?]()
        var streamNumbers = [String: UInt64]()
    }
    private let lock = NSLock()
    private var contents = Contents()

    /// Creates an empty table.
    public init() {}

    deinit {
        for entry in contents.names + contents.streams { entry?.bytes.deallocate() }
    }

    private static func stored(_ name: String, kind: UInt8) -> Entry {
        let utf8 = Array(name.utf8)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(utf8.count, 1), alignment: 1)
        utf8.withUnsafeBytes { bytes.copyMemory(from: $0) }
        return Entry(bytes: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<utf8.count]), kind: kind)
    }

    private func withLock<T>(_ body: (inout Contents) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&contents)
    }

    /// The name numbered `number`, when it is in the table and of `kind`.
    package func name(_ number: UInt32, kind: NameKind) -> UnsafeRawBufferPointer? {
        withLock { contents in
            let index = Int(number)
            guard index < contents.names.count, let entry = contents.names[index], entry.kind == kind.rawValue
            else { return nil }
            return UnsafeRawBufferPointer(entry.bytes)
        }
    }

    /// The number of `name` of `kind`, when the table has it.
    package func number(_ name: String, kind: NameKind) -> UInt32? {
        withLock { $0.numbers[Key(kind: kind.rawValue, name: name)] }
    }

    /// Records that `name` of `kind` is numbered `number` (a committed name, read from a ledger).
    package func insert(_ name: String, kind: NameKind, number: UInt32) {
        withLock { contents in
            let index = Int(number)
            if index >= contents.names.count {
                contents.names.append(contentsOf: repeatElement(nil, count: index + 1 - contents.names.count))
            }
            guard contents.names[index] == nil else { return }
            contents.names[index] = Self.stored(name, kind: kind.rawValue)
            contents.numbers[Key(kind: kind.rawValue, name: name)] = number
        }
    }

    /// The number of type or platform `name`, numbering it when it is new (for tools that keep
    /// records outside a ledger).
    public func number(of name: String, isType: Bool) -> UInt32 {
        let kind: NameKind = isType ? .type : .platform
        return withLock { contents in
            let key = Key(kind: kind.rawValue, name: name)
            if let known = contents.numbers[key] { return known }
            if contents.names.isEmpty { contents.names.append(nil) }
            let next = UInt32(contents.names.count)
            contents.names.append(Self.stored(name, kind: kind.rawValue))
            contents.numbers[key] = next
            return next
        }
    }

    /// The number of stream `name`, numbering it when it is new (for tools that keep records
    /// outside a ledger).
    public func number(ofStream name: String) -> UInt64 {
        withLock { contents in
            if let known = contents.streamNumbers[name] { return known }
            let next = UInt64(max(contents.streams.count, 1))
            if contents.streams.isEmpty { contents.streams.append(nil) }
            contents.streams.append(Self.stored(name, kind: 0))
            contents.streamNumbers[name] = next
            return next
        }
    }

    /// The stream numbered `number`, for a table that holds streams.
    package func stream(_ number: UInt64) -> UnsafeRawBufferPointer? {
        withLock { contents in
            guard number < UInt64(contents.streams.count), let entry = contents.streams[Int(number)] else {
                return nil
            }
            return UnsafeRawBufferPointer(entry.bytes)
        }
    }
}

/// Unsigned LEB128 varints and their zigzag form for signed values (docs/format.md, "Conventions"):
/// the records of the log, and the payloads and read-model rows the modules above read.
package enum Varint {
    @inline(__always)
    static func size(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    @inlinable
    package static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    @inlinable
    package static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    /// Writes `value` at `offset`, which it advances.
    @inline(__always)
    static func write(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at offset: inout Int) {
        var value = value
        while value >= 0x80 {
            out[offset] = UInt8(truncatingIfNeeded: value) | 0x80
            offset += 1
            value >>= 7
        }
        out[offset] = UInt8(value)
        offset += 1
    }

    /// Reads a varint of at most 10 bytes (the 10th holding only the 64th bit) at `offset`, which it
    /// advances; `nil` when it runs past the end or past 64 bits.
    @inlinable
    package static func read(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
}

/// The fields of a version 2 record after its hash and id, decoded once.
struct RecordFields {
    var streamNumber: UInt64
    var streamVersion: UInt64
    var typeNumber: UInt32
    var platformNumber: UInt32
    var schemaVersion: UInt16
    var occurredAt: Int64
    var recordedAt: Int64
    var payloadOffset: Int

    /// Decodes the fields of `bytes` (a whole record), or says what does not hold.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<RecordFields, RecordProblem> {
        guard bytes.count >= LedgerFormat.minimumRecordSize else {
            return .failure(RecordProblem("record of \(bytes.count) bytes is shorter than its smallest form"))
        }
        var offset = 48
        func next(_ field: String) -> Result<UInt64, RecordProblem> {
            guard let value = Varint.read(bytes, at: &offset) else {
                return .failure(RecordProblem("field \(field) runs past the end of the record"))
            }
            return .success(value)
        }
        do throws(RecordProblem) {
            let stream = try next("stream").get()
            let version = try next("streamVersion").get()
            let type = try next("type").get()
            let platform = try next("platform").get()
            let schema = try next("schemaVersion").get()
            let occurred = Varint.unzigzag(try next("occurredAt").get())
            let delay = Varint.unzigzag(try next("recordedAt").get())
            guard stream >= 1, type >= 1, type <= UInt32.max, platform >= 1, platform <= UInt32.max else {
                throw RecordProblem("a name number is 0 or too large")
            }
            guard schema <= UInt16.max else { throw RecordProblem("schemaVersion \(schema) is over 65535") }
            let (recorded, overflow) = occurred.addingReportingOverflow(delay)
            guard !overflow else { throw RecordProblem("recordedAt overflows") }
            return .success(
                RecordFields(
                    streamNumber: stream, streamVersion: version, typeNumber: UInt32(type),
                    platformNumber: UInt32(platform), schemaVersion: UInt16(schema), occurredAt: occurred,
                    recordedAt: recorded, payloadOffset: offset))
        } catch {
            return .failure(error)
        }
    }
}

/// Why record bytes do not decode.
struct RecordProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Where an event view finds the names its record refers to by number.
package struct NameSource {
    /// The committed names of the ledger (or all the names of a standalone table).
    let table: NameTable
    /// The transaction to read names the table does not have, with the `names` and `stream_names`
    /// databases; `nil` for a standalone table.
    let txn: LedgerTransaction?
    let names: MDB_dbi
    let streamNames: MDB_dbi
    /// Whether names read through `txn` may be added to `table`: only from read transactions, which
    /// see committed names alone (a write transaction may see its own, not yet committed).
    let caches: Bool
    /// The stream name, when the caller has it (a store that keeps it beside the record).
    var fixedStream: UnsafeRawBufferPointer?
    /// The type and platform names, when the caller has them (a replica's row).
    var fixedType: UnsafeRawBufferPointer?
    var fixedPlatform: UnsafeRawBufferPointer?

    /// A standalone table's names.
    init(standalone table: NameTable, stream: UnsafeRawBufferPointer? = nil) {
        self.table = table
        txn = nil
        names = 0
        streamNames = 0
        caches = false
        fixedStream = stream
    }

    init(table: NameTable, txn: LedgerTransaction, names: MDB_dbi, streamNames: MDB_dbi, caches: Bool) {
        self.table = table
        self.txn = txn
        self.names = names
        self.streamNames = streamNames
        self.caches = caches
    }

    /// The name numbered `number` of `kind`; empty when the ledger has none (verify reports it).
    func name(_ number: UInt32, kind: NameKind) -> UnsafeRawBufferPointer {
        if kind == .type, let fixedType { return fixedType }
        if kind == .platform, let fixedPlatform { return fixedPlatform }
        if let known = table.name(number, kind: kind) { return known }
        guard let txn else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let stored = try? withUnsafeBytes(of: number.bigEndian) { (key) throws(LedgerError) in
            try txn.get(names, key, "names")
        }
        guard let stored, stored.count >= 1, stored[0] == kind.rawValue else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: stored[1...])
        if caches { table.insert(String(decoding: bytes, as: UTF8.self), kind: kind, number: number) }
        return bytes
    }

    /// The stream numbered `number`; empty when the ledger has none (verify reports it).
    func stream(_ number: UInt64) -> UnsafeRawBufferPointer {
        if let fixedStream { return fixedStream }
        guard let txn else { return table.stream(number) ?? UnsafeRawBufferPointer(start: nil, count: 0) }
        let stored = try? withBigEndianKey(number) { (key) throws(LedgerError) in
            try txn.get(streamNames, key, "stream_names")
        }
        guard let stored else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return stored
    }
}

/// A zero-copy view of one stored event record, valid only inside the read it was handed to.
///
/// Its fields are decoded once from the memory map; the names its record refers to by number are
/// looked up when asked for, and nothing is copied unless asked for.
///
/// Non-copyable, and lent to the closures of ``EventLog/forEach(from:filter:_:)`` and the other
/// reads as `borrowing`: a view cannot be kept beyond the closure that received it
/// (`var kept: EventView?; log.forEach { kept = $0 }` does not compile). Its bytes are given out
/// through the scoped ``withRecord(_:)`` and ``withPayload(_:)`` as a `RawSpan`, whose lifetime the
/// compiler checks; the raw buffers are for this package's own modules only.
public struct EventView: ~Copyable {
    /// The event's global position.
    public let position: UInt64
    /// The record bytes as stored (hash, id, numbered fields, payload).
    package let bytes: UnsafeRawBufferPointer
    let fields: RecordFields
    let names: NameSource
    /// The type's and the platform's UTF-8 bytes, resolved when the view is made.
    package let typeBytes: UnsafeRawBufferPointer
    package let platformBytes: UnsafeRawBufferPointer

    /// Wraps the record bytes a ledger transaction read.
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the bytes are not a record or
    ///   name a type or platform the ledger does not have.
    init(position: UInt64, bytes: UnsafeRawBufferPointer, names: NameSource) throws(LedgerError) {
        let fields: RecordFields
        switch RecordFields.decode(bytes) {
        case .success(let decoded): fields = decoded
        case .failure(let problem): throw .corruptRecord(position: position, reason: problem.reason)
        }
        let type = names.name(fields.typeNumber, kind: .type)
        guard !type.isEmpty else {
            throw .corruptRecord(
                position: position, reason: "type number \(fields.typeNumber) is not a type in names")
        }
        let platform = names.name(fields.platformNumber, kind: .platform)
        guard !platform.isEmpty else {
            throw .corruptRecord(
                position: position,
                reason: "platform number \(fields.platformNumber) is not a platform in names")
        }
        self.fields = fields
        self.typeBytes = type
        self.platformBytes = platform
        self.position = position
        self.bytes = bytes
        self.names = names
    }

    /// Wraps record bytes kept outside a ledger (a store benchmarked side by side), whose numbers
    /// `names` resolves.
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the bytes are not a record.
    public init(position: UInt64, bytes: UnsafeRawBufferPointer, names: NameTable) throws(LedgerError) {
        try self.init(position: position, bytes: bytes, names: NameSource(standalone: names))
    }

    /// Wraps record bytes kept outside a ledger beside their stream's name (UTF-8, valid as long
    /// as the view), whose type and platform numbers `names` resolves (``EventLog/nameTable()``).
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the bytes are not a record.
    public init(
        position: UInt64, bytes: UnsafeRawBufferPointer, names: NameTable, stream: UnsafeRawBufferPointer
    )
        throws(LedgerError)
    {
        try self.init(position: position, bytes: bytes, names: NameSource(standalone: names, stream: stream))
    }

    /// Wraps record bytes kept outside a ledger beside the names its numbers stand for (a replica's
    /// row): its type, platform and stream in UTF-8, valid as long as the view.
    /// - Throws: ``LedgerError/corruptRecord(position:reason:)`` when the bytes are not a record.
    public init(
        position: UInt64, bytes: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer,
        platform: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer
    ) throws(LedgerError) {
        var names = NameSource(standalone: NameTable(), stream: stream)
        names.fixedType = type
        names.fixedPlatform = platform
        try self.init(position: position, bytes: bytes, names: names)
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
    public var streamVersion: UInt64 { fields.streamVersion }
    /// When the fact happened.
    public var occurredAt: Timestamp { Timestamp(millisecondsSince1970: fields.occurredAt) }
    /// When it was recorded.
    public var recordedAt: Timestamp { Timestamp(millisecondsSince1970: fields.recordedAt) }
    /// The payload's schema version.
    public var schemaVersion: UInt16 { fields.schemaVersion }
    /// The numbers of the record's stream, type and platform.
    public var numbers: RecordNumbers {
        RecordNumbers(stream: fields.streamNumber, type: fields.typeNumber, platform: fields.platformNumber)
    }

    /// The stream name's UTF-8 bytes (read from `stream_names`).
    package var streamBytes: UnsafeRawBufferPointer { names.stream(fields.streamNumber) }
    /// The payload bytes (protobuf).
    package var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[fields.payloadOffset...])
    }

    /// The type name.
    public var type: String { String(decoding: typeBytes, as: UTF8.self) }
    /// The platform.
    public var platform: String { String(decoding: platformBytes, as: UTF8.self) }
    /// The stream.
    public var stream: String { String(decoding: streamBytes, as: UTF8.self) }

    /// Runs `body` on the record bytes as stored (hash, id, numbered fields, payload: docs/format.md).
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

/// Writes record bodies (docs/format.md, "The event record"): the id, seven varints, the payload.
enum RecordEncoder {
    /// The size of `event`'s body.
    static func bodySize(
        of event: NewEvent, numbers: RecordNumbers, streamVersion: UInt64, recordedAt: Timestamp
    ) -> Int {
        16 + Varint.size(numbers.stream) + Varint.size(streamVersion) + Varint.size(UInt64(numbers.type))
            + Varint.size(UInt64(numbers.platform)) + Varint.size(UInt64(event.schemaVersion))
            + Varint.size(Varint.zigzag(event.occurredAt.millisecondsSince1970))
            + Varint.size(Varint.zigzag(delay(event, recordedAt))) + event.payload.count
    }

    /// recordedAt − occurredAt, in milliseconds (both are within ``Timestamp/earliest``...``Timestamp/latest``).
    @inline(__always)
    static func delay(_ event: NewEvent, _ recordedAt: Timestamp) -> Int64 {
        recordedAt.millisecondsSince1970 &- event.occurredAt.millisecondsSince1970
    }

    /// Writes `event`'s body into `out`, which is ``bodySize(of:numbers:streamVersion:recordedAt:)``
    /// bytes long.
    static func writeBody(
        _ event: NewEvent, numbers: RecordNumbers, streamVersion: UInt64, recordedAt: Timestamp,
        into out: UnsafeMutableRawBufferPointer
    ) {
        withUnsafeBytes(of: event.id.uuid) { out.copyMemory(from: $0) }
        var offset = 16
        Varint.write(numbers.stream, into: out, at: &offset)
        Varint.write(streamVersion, into: out, at: &offset)
        Varint.write(UInt64(numbers.type), into: out, at: &offset)
        Varint.write(UInt64(numbers.platform), into: out, at: &offset)
        Varint.write(UInt64(event.schemaVersion), into: out, at: &offset)
        Varint.write(Varint.zigzag(event.occurredAt.millisecondsSince1970), into: out, at: &offset)
        Varint.write(Varint.zigzag(delay(event, recordedAt)), into: out, at: &offset)
        if !event.payload.isEmpty {
            event.payload.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + $0.count]).copyMemory(from: $0)
            }
            offset += event.payload.count
        }
        precondition(offset == out.count, "a record body of \(offset) bytes in \(out.count)")
    }

    /// Writes the record of `event` (its chain hash, then its body) into `out`, which is 32 +
    /// ``bodySize(of:numbers:streamVersion:recordedAt:)`` bytes long. The chain hash is
    /// `out[0..<32]` when it returns.
    static func writeRecord(
        _ event: NewEvent, numbers: RecordNumbers, streamVersion: UInt64, recordedAt: Timestamp,
        previousHash: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        let body = UnsafeMutableRawBufferPointer(rebasing: out[32...])
        writeBody(event, numbers: numbers, streamVersion: streamVersion, recordedAt: recordedAt, into: body)
        withUTF8(event.type) { t in
            withUTF8(event.platform) { p in
                withUTF8(event.stream) { s in
                    chainHash(
                        previous: previousHash, body: UnsafeRawBufferPointer(body), names: (t, p, s),
                        into: UnsafeMutableRawBufferPointer(rebasing: out[0..<32]))
                }
            }
        }
    }

    /// `name`'s UTF-8 bytes, read in place for a native string (without the copy `withUTF8` needs
    /// on a `var`).
    @inline(__always)
    private static func withUTF8(_ name: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        if name.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) == nil {
            var copy = name
            copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }
}

extension LedgerFormat {
    /// The record the ledger would store for `event` at `streamVersion` after an event whose hash is
    /// `previousHash`, its names numbered by `names`: the chain hash followed by the body
    /// (docs/format.md, "The event record").
    ///
    /// For tools that keep records elsewhere (an export, another store benchmarked side by side);
    /// the ledger itself writes records in place.
    public static func record(
        of event: NewEvent, streamVersion: UInt64, recordedAt: Timestamp, previousHash: [UInt8],
        names: NameTable
    ) -> [UInt8] {
        let numbers = RecordNumbers(
            stream: names.number(ofStream: event.stream), type: names.number(of: event.type, isType: true),
            platform: names.number(of: event.platform, isType: false))
        let recorded = event.recordedAt ?? recordedAt
        let count =
            32
            + RecordEncoder.bodySize(
                of: event, numbers: numbers, streamVersion: streamVersion, recordedAt: recorded)
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            previousHash.withUnsafeBytes { previous in
                RecordEncoder.writeRecord(
                    event, numbers: numbers, streamVersion: streamVersion, recordedAt: recorded,
                    previousHash: previous, into: UnsafeMutableRawBufferPointer(buffer))
            }
            initialized = count
        }
    }
}

/// The version 1 hash chain link: SHA-256(previous hash || record body).
func chainHash(previous: [UInt8], body: UnsafeRawBufferPointer) -> [UInt8] {
    var hasher = SHA256()
    hasher.update(data: previous)
    hasher.update(bufferPointer: body)
    return Array(hasher.finalize())
}

/// The hash chain link of format version 2, the value stored at the head of a record:
/// SHA-256(previous hash || record body || type || 0x00 || platform || 0x00 || stream), the names in
/// UTF-8 (they hold no NUL). The record carries numbers; hashing the names they stand for binds the
/// `names` and `stream_names` entries to the chain, so renaming a type, a platform or a stream
/// breaks it.
func chainHash(
    previous: [UInt8], body: UnsafeRawBufferPointer,
    names: (type: UnsafeRawBufferPointer, platform: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer)
) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: 32) { digest, initialized in
        previous.withUnsafeBytes {
            chainHash(previous: $0, body: body, names: names, into: UnsafeMutableRawBufferPointer(digest))
        }
        initialized = 32
    }
}

/// ``chainHash(previous:body:names:)`` written into `out` (32 bytes). The input is gathered in one
/// temporary buffer (on the stack for a usual record) and hashed in one call: the write path hashes
/// every record it appends, and this allocates nothing but the digest's context.
func chainHash(
    previous: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer,
    names: (type: UnsafeRawBufferPointer, platform: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer),
    into out: UnsafeMutableRawBufferPointer
) {
    let count = previous.count + body.count + names.type.count + names.platform.count + names.stream.count + 2
    withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { input in
        var offset = 0
        func put(_ bytes: UnsafeRawBufferPointer) {
            guard !bytes.isEmpty else { return }
            UnsafeMutableRawBufferPointer(rebasing: input[offset..<offset + bytes.count]).copyMemory(
                from: bytes)
            offset += bytes.count
        }
        put(previous)
        put(body)
        put(names.type)
        input[offset] = 0
        offset += 1
        put(names.platform)
        input[offset] = 0
        offset += 1
        put(names.stream)
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(input))
        hasher.finalize().withUnsafeBytes { out.copyMemory(from: $0) }
    }
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
