import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// An HTTP answer.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
}

/// Serves GET requests with `route`, one response per connection (scrapers and probes need no more).
final class HTTPService: Service {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let logger: Logger

    /// Binds at once, so that READY=1 is sent only once the endpoint answers.
    init(host: String, port: Int, logger: Logger, route: @escaping @Sendable (String) async -> HTTPAnswer) async throws {
        self.logger = logger
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(route: route))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// The bound port.
    var port: Int? { channel.localAddress?.port }

    func run() async throws {
        logger.info("serving /healthz and /metrics", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "-")"])
        try? await gracefulShutdown()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Reads one request and writes the route's answer.
private final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let route: @Sendable (String) async -> HTTPAnswer
    private var request: HTTPRequestHead?

    init(route: @escaping @Sendable (String) async -> HTTPAnswer) { self.route = route }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
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
}
