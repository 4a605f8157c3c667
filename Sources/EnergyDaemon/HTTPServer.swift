import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An HTTP answer.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
}

/// Limits of the HTTP side, so that no client can take the descriptors and the CPU the pollers need.
struct HTTPLimits: Sendable {
    /// Connections open at once; more are closed as soon as they are accepted.
    var maxConnections = 64
    /// A connection that sends nothing for this long (a half-open or slow client) is closed.
    var idleTimeout: TimeAmount = .seconds(10)

    /// The defaults: far below any descriptor limit energyd runs with, plenty for probes and scrapers.
    static let standard = HTTPLimits()
}

/// Serves GET requests with `route`, one response per connection (scrapers and probes need no more), at most
/// `limits.maxConnections` at a time, each closed when idle for `limits.idleTimeout`.
final class HTTPService: Service {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let logger: Logger
    private let connections: ConnectionCount

    /// Binds at once, so that READY=1 is sent only once the endpoint answers.
    init(
        host: String, port: Int, limits: HTTPLimits = .standard, logger: Logger,
        route: @escaping @Sendable (String) async -> HTTPAnswer
    ) async throws {
        self.logger = logger
        let connections = ConnectionCount()
        self.connections = connections
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard connections.open(limit: limits.maxConnections) else {
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.closed() }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: limits.idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(route: route))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Connections open now.
    var openConnections: Int { connections.current }

    /// The bound port.
    var port: Int? { channel.localAddress?.port }

    func run() async throws {
        logger.info("serving /healthz and /metrics", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "-")"])
        try? await gracefulShutdown()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Open connections, counted against the limit.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts a new connection; false (and not counted) when `limit` are open already.
    func open(limit: Int) -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func closed() { count.wrappingSubtract(1, ordering: .relaxed) }

    var current: Int { count.load(ordering: .relaxed) }
}

/// Reads one request and writes the route's answer; a request that is not HTTP/1 gets one 400 and the
/// connection is closed; an idle connection is closed.
private final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let route: @Sendable (String) async -> HTTPAnswer
    private var request: HTTPRequestHead?
    /// Whether an answer was started: a connection gets one.
    private var answered = false

    init(route: @escaping @Sendable (String) async -> HTTPAnswer) { self.route = route }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request, !answered else { return }
            answered = true
            let route = self.route
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let answer: EventLoopFuture<HTTPAnswer> =
                head.method == .GET
                ? context.eventLoop.makeFutureWithTask { await route(String(head.uri.split(separator: "?").first ?? "/")) }
                : context.eventLoop.makeSucceededFuture(
                    HTTPAnswer(status: .methodNotAllowed, contentType: "text/plain", body: "GET only\n"))
            answer.whenSuccess { answer in
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: answer.contentType)
                headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
                headers.add(name: "Connection", value: "close")
                context.write(
                    NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
                    promise: nil)
                context.write(
                    NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(string: answer.body)))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request (HTTP/0.9, garbage): one 400 and the end of the connection (NIO's own error
        // handler answered such a request twice).
        guard !answered else {
            context.close(promise: nil)
            return
        }
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: "12")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "bad request\n")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Idle while the client has not sent its request; once it has, the answer is ours to finish.
        if event is IdleStateHandler.IdleStateEvent {
            if !answered { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
