import Credentials
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Who is calling, decided once per request by ``AttributionMiddleware``, the one place where
/// requests are attributed (docs/security.md).
enum Caller: Sendable, CustomStringConvertible {
    /// A client of a server started with `--insecure-loopback` (plain HTTP on loopback, for
    /// development): every permission, no identity.
    case developer(address: String)
    /// A client whose certificate verified against the CA and is not on the deny list.
    case principal(Principal, address: String)
    /// A TLS client without a usable certificate (none, one naming no role, a revoked one): `reason`.
    case unauthenticated(reason: String, address: String)

    var description: String {
        switch self {
        case .developer(let address): return "developer at \(address) (--insecure-loopback)"
        case .principal(let principal, let address): return "\(principal) at \(address)"
        case .unauthenticated(let reason, let address): return "unauthenticated at \(address) (\(reason))"
        }
    }
}

/// The context of each request: Hummingbird's core storage, the connection's channel (to close a
/// stalled subscriber, and to find the peer's certificate) and the caller.
struct LedgerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel
    /// Who is calling: set by ``AttributionMiddleware`` before any route runs.
    var caller: Caller

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        caller = .unauthenticated(reason: "not attributed yet", address: Self.address(of: source.channel))
    }

    /// The peer's address, for logs.
    static func address(of channel: any Channel) -> String {
        channel.remoteAddress.map { "\($0)" } ?? "unknown"
    }

    /// Bodies are collected by the routes with their own limit (`--max-body-bytes`).
    var maxUploadSize: Int { .max }
}

/// The principal of a TLS connection, read once when its handshake completes: the peer's
/// certificate (verified by BoringSSL against the CA) parsed into a ``Principal``. One per
/// connection, placed after the TLS handler; ``AttributionMiddleware`` asks it for each request.
final class PeerIdentity: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer

    /// What the handshake gave: a principal, or why there is none.
    enum State: Sendable {
        case pending
        case principal(Principal)
        case none(reason: String)
    }

    private let state = Mutex<State>(.pending)

    /// The connection's principal, or why it has none.
    var current: State { state.withLock { $0 } }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
                .peerCertificate
            let found: State
            if let certificate {
                do {
                    found = .principal(try Principal(derEncoded: try certificate.toDERBytes()))
                } catch let error as CredentialError {
                    found = .none(reason: error.description)
                } catch {
                    found = .none(reason: "the certificate cannot be read: \(error)")
                }
            } else {
                found = .none(reason: "no client certificate was presented")
            }
            state.withLock { $0 = found }
        }
        context.fireUserInboundEventTriggered(event)
    }
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
