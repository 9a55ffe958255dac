import Foundation
import LMDB
import Ledger
@_exported import TestSupport

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
