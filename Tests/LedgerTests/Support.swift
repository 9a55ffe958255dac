import Foundation
import Ledger

/// A ledger in a fresh temporary directory, removed when the test ends.
final class TemporaryLedger {
    let directory: String
    var path: String { directory + "/test.ledger" }

    init() {
        directory = NSTemporaryDirectory() + "ledger-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func open(_ options: EventLog.Options = .init()) throws -> EventLog {
        try EventLog(path: path, options: options)
    }
}

func event(
    _ stream: String = "cpam-34/p0/1", type: String = "CallPlaced", id: UUID = UUID(),
    payload: [UInt8] = [1, 2, 3],
    expected: ExpectedVersion = .any, at: Timestamp = Timestamp(year: 2020, month: 5, day: 12)
) -> NewEvent {
    NewEvent(
        id: id, stream: stream, type: type, platform: "cpam-34", occurredAt: at,
        recordedAt: Timestamp(year: 2020, month: 5, day: 12, hour: 1), payload: payload,
        expectedVersion: expected)
}
