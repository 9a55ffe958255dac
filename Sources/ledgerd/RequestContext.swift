import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Who is calling. Until client certificates arrive every caller is an anonymous client on loopback;
/// this is the one place where requests are attributed (``LedgerRequestContext/caller``).
enum Caller: Sendable, CustomStringConvertible {
    /// A client of the loopback interface, by its address.
    case loopback(address: String)

    var description: String {
        switch self {
        case .loopback(let address): return "loopback \(address)"
        }
    }
}

/// The context of each request: Hummingbird's core storage, the connection's channel (to close a
/// stalled subscriber, and where TLS will give the peer's certificate) and the caller.
struct LedgerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel
    /// Who is calling, set once from the connection.
    let caller: Caller

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        caller = .loopback(address: source.channel.remoteAddress.map { "\($0)" } ?? "unknown")
    }

    /// Bodies are collected by the routes with their own limit (`--max-body-bytes`).
    var maxUploadSize: Int { .max }
}

/// Notes when the client has closed its side of the connection. Hummingbird keeps a half-closed
/// connection open (the client may still read), so a long response such as a subscription would
/// only notice a departed client at its next write; this handler, one per connection, lets it
/// notice at once (``Subscription``).
final class InputClosedObserver: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let closed = Atomic<Bool>(false)

    /// Whether the client has closed its side of the connection.
    var inputClosed: Bool { closed.load(ordering: .relaxed) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            closed.store(true, ordering: .relaxed)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.store(true, ordering: .relaxed)
        context.fireChannelInactive()
    }
}
