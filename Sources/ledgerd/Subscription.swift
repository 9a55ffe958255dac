import ContactTracing
import Foundation
import Hummingbird
import Ledger
import NIOCore
import ServiceLifecycle
import Synchronization

/// The head of the log as the service last saw it, and the subscribers waiting for it to move.
actor HeadSignal {
    private(set) var position: UInt64
    /// Set once a graceful shutdown has begun: subscribers send their closing event and end.
    private(set) var shuttingDown = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0

    init(position: UInt64) { self.position = position }

    /// Records a new head and wakes every waiter.
    func advance(to head: UInt64) {
        guard head > position else { return }
        position = head
        wakeAll()
    }

    /// Wakes every waiter for good: the service is stopping.
    func shutDown() {
        shuttingDown = true
        wakeAll()
    }

    private func wakeAll() {
        let woken = waiters
        waiters = [:]
        for waiter in woken.values { waiter.resume() }
    }

    /// Returns once the head is beyond `seen`, or after `timeout` (for a heartbeat), or at shutdown,
    /// whichever is first.
    func wait(beyond seen: UInt64, timeout: Duration) async {
        guard position <= seen, !shuttingDown else { return }
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

/// The JSON form of the most recent events, encoded once and shared by every reader (live
/// subscribers all want the same few events at the same time). A ring indexed by position.
final class EncodedEvents: Sendable {
    private let slots: Mutex<[(position: UInt64, json: String)?]>
    private let capacity: Int

    init(capacity: Int = 16_384) {
        self.capacity = capacity
        slots = Mutex(Array(repeating: nil, count: capacity))
    }

    /// The JSON form of the event, from the ring or encoded (and kept).
    func json(_ view: borrowing EventView) throws -> String {
        let slot = Int(view.position % UInt64(capacity))
        if let hit = slots.withLock({ $0[slot] }), hit.position == view.position { return hit.json }
        let json = try EventJSON.encode(view)
        slots.withLock { $0[slot] = (view.position, json) }
        return json
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
/// buffer is sent `event: closed` with the reason and the id to resume from, the response ends and
/// the connection is closed (`Connection: close`); one that accepts nothing for the stalled-subscriber
/// time (a dead or half-open connection) has its connection closed. At a graceful shutdown every
/// subscriber gets `event: closed` too.
struct Subscription: Sendable {
    let service: LedgerService
    let from: UInt64
    let filter: EventFilter?
    let channel: any Channel
    /// Whether the caller's certificate is still valid (false once it is on the deny list).
    var stillAuthorized: @Sendable () -> Bool = { true }

    func body() -> ResponseBody {
        ResponseBody { writer in
            let metrics = service.metrics
            metrics.subscriberJoined()
            defer { metrics.subscriberLeft() }
            let settings = service.settings
            let heads = service.heads
            var next = max(from, 1)
            var lastID: UInt64? = from > 1 ? from - 1 : nil
            var caughtUp = false
            var tooSlow = false
            let observer = try? await channel.pipeline.handler(type: InputClosedObserver.self).get()
            let clientGone = { !channel.isActive || observer?.inputClosed == true }
            func closing(_ reason: String) -> ByteBuffer {
                ByteBuffer(
                    string: "event: closed\ndata: {\"reason\":\(EventJSON.quote(reason)),\"lastEventId\":"
                        + "\(lastID.map { "\($0)" } ?? "null")}\n\n")
            }
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                while !Task.isCancelled {
                    if !stillAuthorized() {
                        try await writer.write(closing("the client certificate was revoked"))
                        break
                    }
                    if await heads.shuttingDown {
                        try await writer.write(
                            closing("the server is shutting down; resume with Last-Event-ID"))
                        break
                    }
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
                        let took = try await write(
                            ByteBuffer(string: text), to: &writer,
                            stalledAfter: settings.stalledSubscriberTimeout)
                        metrics.subscriberLag(page.head >= next ? Int(clamping: page.head - next + 1) : 0)
                        if took > settings.slowSubscriberTimeout {
                            metrics.subscriberClosedSlow()
                            tooSlow = true
                            try await writer.write(
                                closing(
                                    "too slow: one buffer of \(settings.subscriberBuffer) events took longer than "
                                        + "\(settings.slowSubscriberTimeout) to send; resume with Last-Event-ID"
                                ))
                            break
                        }
                    }
                    if reachedHead, await heads.position < next {
                        // Wait for the head to move, a second at a time: a client that went away is
                        // noticed within a second (its channel is inactive), not at the next heartbeat.
                        let quietSince = ContinuousClock.now
                        while await heads.position < next, !(await heads.shuttingDown), !clientGone(),
                            stillAuthorized()
                        {
                            await heads.wait(beyond: next - 1, timeout: min(settings.heartbeat, .seconds(1)))
                            if ContinuousClock.now - quietSince >= settings.heartbeat,
                                await heads.position < next, !(await heads.shuttingDown)
                            {
                                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                                break
                            }
                        }
                        if clientGone() { break }
                    }
                }
            } onGracefulShutdown: {
                Task { await heads.shutDown() }
            }
            try await writer.finish(nil)
            if tooSlow {
                // `Connection: close` tells the client to close; a client that does not is closed
                // once it has had as long again to read the closing event.
                let channel = self.channel
                Task {
                    try await Task.sleep(for: settings.slowSubscriberTimeout)
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// Writes `buffer` and returns how long the client took to accept it; closes the connection when
    /// it has accepted nothing after `stalledAfter` (the write then fails and the response ends).
    private func write(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter, stalledAfter: Duration)
        async throws -> Duration
    {
        let started = ContinuousClock.now
        let channel = self.channel
        let watchdog = Task {
            try await Task.sleep(for: stalledAfter)
            channel.close(promise: nil)
        }
        defer { watchdog.cancel() }
        try await writer.write(buffer)
        return ContinuousClock.now - started
    }

    /// The `position` of an event in its JSON form (the first member, written by ``EventJSON/encode(_:)``).
    static func position(of json: String) -> UInt64 {
        let digits = json.utf8.dropFirst("{\"position\":".utf8.count).prefix { $0 >= 48 && $0 <= 57 }
        return UInt64(String(decoding: digits, as: UTF8.self)) ?? 0
    }
}
