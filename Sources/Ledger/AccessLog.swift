import Foundation
import Synchronization

/// One traced access: who read what, when, and what they were answered.
public struct AccessRecord: Codable, Sendable, Equatable {
    /// When the access was answered.
    public var at: Timestamp
    /// The principal (a certificate's subject name, or `developer` without TLS).
    public var principal: String
    /// The principal's role.
    public var role: String
    /// The certificate's serial number (empty without TLS).
    public var serial: String
    /// The client's address.
    public var address: String
    /// The request's method (`GET`).
    public var method: String
    /// The request's target: its path and query (`/v1/streams/s%2F1/events?from=3`).
    public var target: String
    /// The status answered (200, 403...).
    public var status: Int

    /// Creates a record.
    public init(
        at: Timestamp, principal: String, role: String, serial: String, address: String, method: String,
        target: String, status: Int
    ) {
        self.at = at
        self.principal = principal
        self.role = role
        self.serial = serial
        self.address = address
        self.method = method
        self.target = target
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case at, principal, role, serial, address, method, target, status
    }

    /// Encodes `at` as its ISO 8601 text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(at.description, forKey: .at)
        try container.encode(principal, forKey: .principal)
        try container.encode(role, forKey: .role)
        try container.encode(serial, forKey: .serial)
        try container.encode(address, forKey: .address)
        try container.encode(method, forKey: .method)
        try container.encode(target, forKey: .target)
        try container.encode(status, forKey: .status)
    }

    /// Decodes a record written by ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .at)
        guard let at = Timestamp(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .at, in: container, debugDescription: "'\(text)' is not an ISO 8601 time")
        }
        self.at = at
        principal = try container.decode(String.self, forKey: .principal)
        role = try container.decode(String.self, forKey: .role)
        serial = try container.decode(String.self, forKey: .serial)
        address = try container.decode(String.self, forKey: .address)
        method = try container.decode(String.self, forKey: .method)
        target = try container.decode(String.self, forKey: .target)
        status = try container.decode(Int.self, forKey: .status)
    }
}

/// The access log of a ledger: who read what and when, kept apart from the ledger (the CNIL asks
/// that access logs be kept separately, timestamped and append-only, for a limited time).
///
/// It lives beside the ledger in `LEDGER.audit/`, one event log per calendar month
/// (`LEDGER.audit/2026-12/`, docs/security.md): each is append-only and hash-chained like the
/// ledger, and `verify` checks it. Retention drops whole months: ``prune(before:)``.
public final class AccessLog: Sendable {
    /// The directory holding the months.
    public let directory: String
    private let current = LockedMonth()

    /// The access log of the ledger at `ledger`.
    public convenience init(ledger: String) {
        self.init(directory: EventLog.siblingPath(ofLedger: ledger, suffix: ".audit"))
    }

    /// The access log in `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// The month a time falls in, `YYYY-MM` (UTC).
    public static func month(of time: Timestamp) -> String {
        String(time.description.prefix(7))
    }

    /// Appends `record` to its month's log and returns once it is durable.
    public func append(_ record: AccessRecord) async throws(LedgerError) {
        let log = try current.log(for: Self.month(of: record.at), in: directory)
        let payload: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            payload = Array(try encoder.encode(record))
        } catch {
            throw .invalidEvent(
                index: 0, field: "payload", reason: "the access record does not encode: \(error)")
        }
        let event = NewEvent(
            id: .timeOrdered(), stream: record.principal.isEmpty ? "-" : record.principal, type: "Access",
            platform: record.role.isEmpty ? "-" : record.role, occurredAt: record.at, recordedAt: record.at,
            payload: payload)
        _ = try await log.append([event])
    }

    /// The months held, oldest first.
    public func months() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { Self.isMonth($0) }.sorted()
    }

    static func isMonth(_ name: String) -> Bool {
        let parts = name.split(separator: "-")
        return name.count == 7 && parts.count == 2 && parts[0].count == 4 && parts[1].count == 2
            && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    /// The records of the months from `from` to `to` (inclusive, `YYYY-MM`; all when nil) that
    /// `keep` accepts, oldest first.
    public func records(
        fromMonth from: String? = nil, toMonth to: String? = nil,
        _ keep: (AccessRecord) -> Bool = { _ in true }
    ) throws -> [AccessRecord] {
        var out = [AccessRecord]()
        let decoder = JSONDecoder()
        for month in months() where (from.map { month >= $0 } ?? true) && (to.map { month <= $0 } ?? true) {
            let log = try EventLog(path: directory + "/" + month, options: .init(readOnly: true))
            try log.forEach { view in
                let record: AccessRecord
                do {
                    record = try decoder.decode(AccessRecord.self, from: Data(view.materialize().payload))
                } catch {
                    throw LedgerError.corruptRecord(
                        position: view.position,
                        reason: "\(directory)/\(month): not an access record: \(error)")
                }
                if keep(record) { out.append(record) }
                return true
            }
        }
        return out
    }

    /// The first day of the oldest month kept when `keepMonths` months are kept before the month of
    /// `asOf` (the cut that ``prune(before:)`` takes).
    public static func retentionCut(asOf: CivilDate, keepMonths: Int) -> CivilDate {
        let months = asOf.year * 12 + (asOf.month - 1) - keepMonths
        return CivilDate(year: months / 12, month: months % 12 + 1, day: 1)
    }

    /// Removes the months that ended before `date`; returns them.
    @discardableResult
    public func prune(before date: CivilDate) throws(LedgerError) -> [String] {
        var removed = [String]()
        let cut = String(date.description.prefix(7))
        for month in months() where month < cut {
            do {
                try FileManager.default.removeItem(atPath: directory + "/" + month)
            } catch {
                throw .io(path: directory + "/" + month, reason: "cannot remove: \(systemErrorText(error))")
            }
            removed.append(month)
        }
        return removed
    }
}

/// The log of the current month, opened once and switched when the month changes.
private final class LockedMonth: Sendable {
    private let state = Mutex<(month: String, log: EventLog)?>(nil)

    func log(for month: String, in directory: String) throws(LedgerError) -> EventLog {
        try state.withLock { (state) throws(LedgerError) -> EventLog in
            if let state, state.month == month { return state.log }
            if !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true,
                        attributes: [.posixPermissions: 0o700])
                } catch {
                    throw .io(
                        path: directory, reason: "cannot create the access log: \(systemErrorText(error))")
                }
            }
            // The previous month's log is not closed: an append may still be waiting on it.
            let log = try EventLog(path: directory + "/" + month)
            state = (month, log)
            return log
        }
    }
}
