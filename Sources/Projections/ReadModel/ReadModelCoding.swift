import Foundation
import Ledger

/// The stored read model's value layouts (docs/format.md, "The read model"): unsigned LEB128 varints,
/// signed values zigzag-encoded, strings as a varint byte count and UTF-8, optional values behind a
/// presence byte (0 absent, 1 present).
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func int(_ value: Int) {
        varint(Varint.zigzag(Int64(value)))
    }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func string(_ value: String) {
        let utf8 = value.utf8
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    mutating func time(_ value: Timestamp?) {
        bool(value != nil)
        if let value { int(Int(value.millisecondsSince1970)) }
    }
}

/// Reads what ``ByteWriter`` wrote; a value that ends early or runs over throws.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var at = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    struct Truncated: Error {}

    mutating func byte() throws(Truncated) -> UInt8 {
        guard at < bytes.count else { throw Truncated() }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func varint() throws(Truncated) -> UInt64 {
        guard let value = Varint.read(bytes, at: &at) else { throw Truncated() }
        return value
    }

    mutating func int() throws(Truncated) -> Int { Int(Varint.unzigzag(try varint())) }

    mutating func bool() throws(Truncated) -> Bool { try byte() != 0 }

    mutating func string() throws(Truncated) -> String {
        let count = Int(try varint())
        guard count <= bytes.count - at else { throw Truncated() }
        defer { at += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<at + count]), as: UTF8.self)
    }

    mutating func optionalString() throws(Truncated) -> String? {
        try bool() ? try string() : nil
    }

    mutating func time() throws(Truncated) -> Timestamp? {
        try bool() ? Timestamp(millisecondsSince1970: Int64(try int())) : nil
    }

    var atEnd: Bool { at == bytes.count }
}

extension CaseState {
    /// The stored form of a case (the key is its id, so the id is not repeated).
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }

    /// Appends the stored form to `w`.
    func encode(into w: inout ByteWriter) {
        w.string(person)
        w.bytes.append(role.map { $0.storedByte } ?? 0)
        w.string(platform)
        w.time(platformFactAt)
        w.bool(platformFromOpening)
        w.bytes.append(status.storedByte)
        w.time(openedAt)
        w.time(labResultAt)
        w.time(declaredAt)
        w.int(attempts.outboundCalls)
        w.int(attempts.inboundCalls)
        w.int(attempts.landlineCalls)
        w.int(attempts.sms)
        w.int(attempts.letters)
        w.int(attempts.teleservice)
        w.time(firstReachAt)
        w.time(firstCallReachAt)
        w.time(firstNotifiedAt)
        w.optionalString(patientZeroCase)
        w.varint(UInt64(contacts.count))
        for contact in contacts { w.string(contact) }
        w.bool(isolation != nil)
        if let isolation {
            w.string(isolation.start)
            w.string(isolation.end)
            w.string(isolation.ruleVersion)
        }
        w.bytes.append((workStoppage ? 1 : 0) | (nurseVisit ? 2 : 0) | (socialSupport ? 4 : 0))
        w.optionalString(closureReason)
        w.time(closedAt)
        w.optionalString(handedOverTo)
    }

    /// Decodes a stored case.
    init(id: String, stored bytes: UnsafeRawBufferPointer) throws(ByteReader.Truncated) {
        var r = ByteReader(bytes)
        self.init(id: id)
        person = try r.string()
        let roleByte = try r.byte()
        guard roleByte <= 3 else { throw ByteReader.Truncated() }
        role = roleByte == 0 ? nil : CaseRole(storedByte: roleByte)
        platform = try r.string()
        platformFactAt = try r.time()
        platformFromOpening = try r.bool()
        let statusByte = try r.byte()
        guard statusByte <= 3 else { throw ByteReader.Truncated() }
        status = CaseStatus(storedByte: statusByte)
        openedAt = try r.time()
        labResultAt = try r.time()
        declaredAt = try r.time()
        attempts.outboundCalls = try r.int()
        attempts.inboundCalls = try r.int()
        attempts.landlineCalls = try r.int()
        attempts.sms = try r.int()
        attempts.letters = try r.int()
        attempts.teleservice = try r.int()
        firstReachAt = try r.time()
        firstCallReachAt = try r.time()
        firstNotifiedAt = try r.time()
        patientZeroCase = try r.optionalString()
        let contactCount = Int(try r.varint())
        guard contactCount <= bytes.count else { throw ByteReader.Truncated() }
        contacts.reserveCapacity(contactCount)
        for _ in 0..<contactCount { contacts.append(try r.string()) }
        if try r.bool() {
            isolation = Isolation(start: try r.string(), end: try r.string(), ruleVersion: try r.string())
        }
        let flags = try r.byte()
        workStoppage = flags & 1 != 0
        nurseVisit = flags & 2 != 0
        socialSupport = flags & 4 != 0
        closureReason = try r.optionalString()
        closedAt = try r.time()
        handedOverTo = try r.optionalString()
        guard r.atEnd else { throw ByteReader.Truncated() }
    }
}

extension CaseRole {
    /// The stored byte (docs/format.md): 1 patient zéro, 2 contact, 3 co-exposed (0 is no role).
    var storedByte: UInt8 {
        switch self {
        case .patientZero: 1
        case .contact: 2
        case .coExposed: 3
        }
    }

    /// The role of a stored byte from 1 to 3.
    init(storedByte: UInt8) {
        switch storedByte {
        case 1: self = .patientZero
        case 2: self = .contact
        default: self = .coExposed
        }
    }
}

extension CaseStatus {
    /// The stored byte (docs/format.md): 0 toReach, 1 reached, 2 isolating, 3 closed.
    var storedByte: UInt8 {
        switch self {
        case .toReach: 0
        case .reached: 1
        case .isolating: 2
        case .closed: 3
        }
    }

    /// The status of a stored byte from 0 to 3.
    init(storedByte: UInt8) {
        switch storedByte {
        case 0: self = .toReach
        case 1: self = .reached
        case 2: self = .isolating
        default: self = .closed
        }
    }
}

/// The counters of one statistics cell as stored: every field of ``StatisticsCell`` with the
/// histograms keyed by number. Deltas (negative counts) exist only in memory.
struct StoredCell: Equatable {
    var counters = [Int](repeating: 0, count: StoredCell.counterCount)
    var contactsPerPatientZero: [Int: Int] = [:]
    var delayMinutes: [Int: Int] = [:]

    /// patientsZero, contacts, patientsZeroWithResult, patientsZeroReachedWithin24h, contactsDeclared,
    /// contactsNotifiedWithin24h, patientsZeroWithoutContact, casesReached, casesDigitalOnly,
    /// contactsLaterPositive, then the ten channel counters of ``DailyActivity`` in declaration order.
    static let counterCount = 20

    enum Counter: Int {
        case patientsZero, contacts, patientsZeroWithResult, patientsZeroReachedWithin24h, contactsDeclared
        case contactsNotifiedWithin24h, patientsZeroWithoutContact, casesReached, casesDigitalOnly
        case contactsLaterPositive
        case outboundCalls, outboundReached, inboundCalls, landlineCalls, sms, smsDelivered, letters
        case teleservice, clusters, identityConsultations
    }

    subscript(_ counter: Counter) -> Int {
        get { counters[counter.rawValue] }
        set { counters[counter.rawValue] = newValue }
    }

    var isZero: Bool {
        counters.allSatisfy { $0 == 0 } && contactsPerPatientZero.isEmpty && delayMinutes.isEmpty
    }

    mutating func add(_ other: StoredCell) {
        for index in counters.indices { counters[index] += other.counters[index] }
        for (key, count) in other.contactsPerPatientZero {
            let sum = contactsPerPatientZero[key, default: 0] + count
            contactsPerPatientZero[key] = sum == 0 ? nil : sum
        }
        for (key, count) in other.delayMinutes {
            let sum = delayMinutes[key, default: 0] + count
            delayMinutes[key] = sum == 0 ? nil : sum
        }
    }

    mutating func add(_ activity: DailyActivity) {
        self[.outboundCalls] += activity.outboundCalls
        self[.outboundReached] += activity.outboundReached
        self[.inboundCalls] += activity.inboundCalls
        self[.landlineCalls] += activity.landlineCalls
        self[.sms] += activity.sms
        self[.smsDelivered] += activity.smsDelivered
        self[.letters] += activity.letters
        self[.teleservice] += activity.teleservice
        self[.clusters] += activity.clusters
        self[.identityConsultations] += activity.identityConsultations
    }

    /// The public form.
    var cell: StatisticsCell {
        var c = StatisticsCell()
        c.patientsZero = self[.patientsZero]
        c.contacts = self[.contacts]
        c.patientsZeroWithResult = self[.patientsZeroWithResult]
        c.patientsZeroReachedWithin24h = self[.patientsZeroReachedWithin24h]
        c.contactsDeclared = self[.contactsDeclared]
        c.contactsNotifiedWithin24h = self[.contactsNotifiedWithin24h]
        c.patientsZeroWithoutContact = self[.patientsZeroWithoutContact]
        c.casesReached = self[.casesReached]
        c.casesDigitalOnly = self[.casesDigitalOnly]
        c.contactsLaterPositive = self[.contactsLaterPositive]
        c.contactsPerPatientZero = Dictionary(
            uniqueKeysWithValues: contactsPerPatientZero.map { (String($0.key), $0.value) })
        c.delayMinutes = Dictionary(uniqueKeysWithValues: delayMinutes.map { (String($0.key), $0.value) })
        c.activity = DailyActivity(
            outboundCalls: self[.outboundCalls], outboundReached: self[.outboundReached],
            inboundCalls: self[.inboundCalls], landlineCalls: self[.landlineCalls], sms: self[.sms],
            smsDelivered: self[.smsDelivered], letters: self[.letters], teleservice: self[.teleservice],
            clusters: self[.clusters], identityConsultations: self[.identityConsultations])
        return c
    }

    /// The stored bytes: the 20 counters, then each histogram as a count of pairs and its
    /// (key, count) pairs in ascending key order, all varints.
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        for counter in counters { w.int(counter) }
        for histogram in [contactsPerPatientZero, delayMinutes] {
            w.varint(UInt64(histogram.count))
            for key in histogram.keys.sorted() {
                w.int(key)
                w.int(histogram[key]!)
            }
        }
        return w.bytes
    }

    init() {}

    init(stored bytes: UnsafeRawBufferPointer) throws(ByteReader.Truncated) {
        var r = ByteReader(bytes)
        for index in counters.indices { counters[index] = try r.int() }
        for which in 0..<2 {
            let count = Int(try r.varint())
            guard count <= bytes.count else { throw ByteReader.Truncated() }
            var histogram = [Int: Int](minimumCapacity: count)
            for _ in 0..<count { histogram[try r.int()] = try r.int() }
            if which == 0 { contactsPerPatientZero = histogram } else { delayMinutes = histogram }
        }
        guard r.atEnd else { throw ByteReader.Truncated() }
    }
}

/// A person's entry in the person index: the cases that carry the pseudonym and, when one of them is
/// a patient zéro, the earliest time the person was known positive (for "contact later positive").
struct PersonEntry: Equatable {
    var cases: [String] = []
    var positiveSince: Timestamp?

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }

    /// Appends the stored form to `w`.
    func encode(into w: inout ByteWriter) {
        w.time(positiveSince)
        w.varint(UInt64(cases.count))
        for id in cases { w.string(id) }
    }

    init() {}

    init(stored bytes: UnsafeRawBufferPointer) throws(ByteReader.Truncated) {
        var r = ByteReader(bytes)
        positiveSince = try r.time()
        let count = Int(try r.varint())
        guard count <= bytes.count else { throw ByteReader.Truncated() }
        for _ in 0..<count { cases.append(try r.string()) }
        guard r.atEnd else { throw ByteReader.Truncated() }
    }
}

/// Keys of the `cells` and `open` tables: a platform id, a zero byte, then the day (4 bytes, big
/// endian, the day number since 1970-01-01 offset by 2^31 so that keys sort by date) or the case id.
enum ReadModelKey {
    static func cell(platform: String, day: Int) -> [UInt8] {
        var key = Array(platform.utf8)
        key.append(0)
        let biased = UInt32(truncatingIfNeeded: day + (1 << 31))
        withUnsafeBytes(of: biased.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    static func parseCell(_ key: UnsafeRawBufferPointer) -> (platform: String, day: Int)? {
        guard key.count >= 5, key[key.count - 5] == 0 else { return nil }
        let platform = String(
            decoding: UnsafeRawBufferPointer(rebasing: key[0..<key.count - 5]), as: UTF8.self)
        var biased: UInt32 = 0
        for b in key[(key.count - 4)...] { biased = biased << 8 | UInt32(b) }
        return (platform, Int(biased) - (1 << 31))
    }

    static func open(platform: String, caseID: String) -> [UInt8] {
        var key = Array(platform.utf8)
        key.append(0)
        key.append(contentsOf: caseID.utf8)
        return key
    }

    static func prefix(platform: String) -> [UInt8] {
        var key = Array(platform.utf8)
        key.append(0)
        return key
    }
}
