import Foundation
import Hummingbird
import Ledger
import Tracing

/// The head of the log as the service last saw it, and the subscribers waiting for it to move.
actor HeadSignal {
    private(set) var position: UInt64
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0

    init(position: UInt64) { self.position = position }

    /// Records a new head and wakes every waiter.
    func advance(to head: UInt64) {
        guard head > position else { return }
        position = head
        let woken = waiters
        waiters = [:]
        for waiter in woken.values { waiter.resume() }
    }

    /// Returns once the head is beyond `seen`, or after `timeout` (for a heartbeat), whichever is first.
    func wait(beyond seen: UInt64, timeout: Duration) async {
        guard position <= seen else { return }
        let id = nextWaiter
        nextWaiter += 1
        await withCheckedContinuation { continuation in
            waiters[id] = continuation
            Task {
                try? await Task.sleep(for: timeout)
                self.timeOut(id)
            }
        }
    }

    private func timeOut(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }
}

/// A catch-up subscription as Server-Sent Events (`GET /v1/subscribe`).
///
/// Each event is sent as `id: POSITION` and `data: EVENT` (the JSON form of docs/events.md); once the
/// subscriber has every event up to the head, an `event: caught-up` names that position; then new
/// events follow as they are committed, with a `: heartbeat` comment when nothing happens. A client
/// resumes with `Last-Event-ID` (or `from`).
///
/// Memory: the subscriber reads at most ``LedgerService/Settings/subscriberBuffer`` events from the
/// log at a time and writes them before reading more, so the server holds one buffer per client
/// whatever its speed. A client that takes longer than the slow-subscriber timeout to accept one
/// buffer is sent `event: closed` with the reason and the id to resume from, and the response ends.
struct Subscription: Sendable {
    let service: LedgerService
    let from: UInt64
    let filter: EventFilter?

    func body() -> ResponseBody {
        ResponseBody { writer in
            let metrics = service.metrics
            metrics.subscriberJoined()
            defer { metrics.subscriberLeft() }
            let settings = service.settings
            var next = max(from, 1)
            var lastID: UInt64? = from > 1 ? from - 1 : nil
            var caughtUp = false
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled {
                let page = try await service.page(
                    from: next, limit: settings.subscriberBuffer, filter: filter)
                var text = ""
                for event in page.events {
                    let position = Self.position(of: event)
                    text += "id: \(position)\ndata: \(event)\n\n"
                    lastID = position
                }
                next = page.next
                let reachedHead = next > page.head
                if reachedHead && !caughtUp {
                    caughtUp = true
                    text += "event: caught-up\ndata: {\"position\":\(page.head)}\n\n"
                }
                if !text.isEmpty {
                    let started = ContinuousClock.now
                    try await writer.write(ByteBuffer(string: text))
                    let took = ContinuousClock.now - started
                    metrics.subscriberLag(Int(page.head) - Int(next) + 1)
                    if took > settings.slowSubscriberTimeout {
                        metrics.subscriberClosedSlow()
                        let resume = lastID.map { "\($0)" } ?? "null"
                        try await writer.write(
                            ByteBuffer(
                                string: "event: closed\ndata: {\"reason\":\"too slow: one buffer of "
                                    + "\(settings.subscriberBuffer) events took longer than "
                                    + "\(settings.slowSubscriberTimeout) to send; resume with Last-Event-ID\","
                                    + "\"lastEventId\":\(resume)}\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                }
                if reachedHead {
                    let before = await service.heads.position
                    if before < next {
                        await service.heads.wait(beyond: next - 1, timeout: settings.heartbeat)
                        if await service.heads.position < next {
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        }
                    }
                }
            }
            try await writer.finish(nil)
        }
    }

    /// The `position` of an event in its JSON form (the first member, written by ``EventJSON/encode(_:)``).
    static func position(of json: String) -> UInt64 {
        let digits = json.utf8.dropFirst("{\"position\":".utf8.count).prefix { $0 >= 48 && $0 <= 57 }
        return UInt64(String(decoding: digits, as: UTF8.self)) ?? 0
    }
}
