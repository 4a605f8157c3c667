import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// An HTTP request, read whole (bodies are small: forms and JSON of a few kilobytes).
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path, percent-decoded, without the query.
    public var path: String
    /// Query parameters, decoded; the last of a repeated name wins.
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer's IP address, for rate limits and the audit log.
    public var remoteAddress: String
    /// Whether it came over HTTPS.
    public var isTLS: Bool

    public init(
        method: HTTPMethod, uri: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], remoteAddress: String = "127.0.0.1",
        isTLS: Bool = false
    ) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = String(parts.first ?? "/")
        self.path = rawPath.removingPercentEncoding ?? rawPath
        self.query = parts.count > 1 ? Self.decodeForm(String(parts[1])) : [:]
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.isTLS = isTLS
    }

    /// The first value of a header.
    public func header(_ name: String) -> String? { headers.first(name: name) }

    /// A cookie's value.
    public func cookie(_ name: String) -> String? {
        for line in headers[canonicalForm: "Cookie"] {
            for pair in line.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// The body as an HTML form (application/x-www-form-urlencoded).
    public var form: [String: String] { Self.decodeForm(String(decoding: body, as: UTF8.self)) }

    /// `a=1&b=x%20y` → ["a": "1", "b": "x y"].
    static func decodeForm(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let plus = s.replacingOccurrences(of: "+", with: " ")
                return plus.removingPercentEncoding ?? plus
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return values
    }
}

/// An HTTP answer.
public struct HTTPAnswer: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    /// Further headers: Set-Cookie, Location, Cache-Control …
    public var headers: [(String, String)]

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public init(status: HTTPResponseStatus, contentType: String, body: String, headers: [(String, String)] = []) {
        self.init(status: status, contentType: contentType, body: Array(body.utf8), headers: headers)
    }

    /// The body as text (tests).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Limits of the HTTP side, so that no client can take the descriptors and the CPU the pollers need.
public struct HTTPLimits: Sendable {
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections = 64
    /// A connection that sends nothing for this long (a half-open or slow client) is closed.
    public var idleTimeout: TimeAmount = .seconds(10)
    /// Request bodies larger than this are refused (413): forms and JSON are a few kilobytes.
    public var maxBodyBytes = 1 << 20

    public init(maxConnections: Int = 64, idleTimeout: TimeAmount = .seconds(10), maxBodyBytes: Int = 1 << 20) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.maxBodyBytes = maxBodyBytes
    }

    /// The defaults: far below any descriptor limit energyd runs with, plenty for probes, scrapers and browsers.
    public static let standard = HTTPLimits()
}

/// Serves requests with `route`, one response per connection (scrapers, probes and a console's pages need no
/// more), at most `limits.maxConnections` at a time, each closed when idle for `limits.idleTimeout`.
public final class HTTPService: Service {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let logger: Logger
    private let connections: ConnectionCount

    /// Binds at once, so that READY=1 is sent only once the endpoint answers.
    public init(
        host: String, port: Int, limits: HTTPLimits = .standard, tls: (certificateFile: String, keyFile: String)? = nil, logger: Logger,
        route: @escaping @Sendable (HTTPRequest) async -> HTTPAnswer
    ) async throws {
        let context = try tls.map {
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile($0.certificateFile).map { .certificate($0) },
                    privateKey: .file($0.keyFile)))
        }
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
                    if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPHandler(route: route, maxBodyBytes: limits.maxBodyBytes, isTLS: context != nil))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Connections open now.
    public var openConnections: Int { connections.current }

    /// The bound port.
    public var port: Int? { channel.localAddress?.port }

    public func run() async throws {
        logger.info(
            "serving /healthz and /metrics, the console at / and the API at /api/v1/",
            metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "-")"])
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
    private let route: @Sendable (HTTPRequest) async -> HTTPAnswer
    private let maxBodyBytes: Int
    private let isTLS: Bool
    private var request: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// Whether an answer was started: a connection gets one.
    private var answered = false

    init(route: @escaping @Sendable (HTTPRequest) async -> HTTPAnswer, maxBodyBytes: Int, isTLS: Bool) {
        self.route = route
        self.maxBodyBytes = maxBodyBytes
        self.isTLS = isTLS
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body(var part):
            if body.count + part.readableBytes > maxBodyBytes {
                bodyTooLarge = true
            } else if !bodyTooLarge, let bytes = part.readBytes(length: part.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head = request, !answered else { return }
            answered = true
            let route = self.route
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let remote = context.channel.remoteAddress?.ipAddress ?? "-"
            let request = HTTPRequest(
                method: head.method, uri: head.uri, headers: head.headers, body: body, remoteAddress: remote, isTLS: isTLS)
            body = []
            let answer: EventLoopFuture<HTTPAnswer> =
                bodyTooLarge
                ? context.eventLoop.makeSucceededFuture(
                    HTTPAnswer(status: .payloadTooLarge, contentType: "text/plain", body: "request body too large\n"))
                : context.eventLoop.makeFutureWithTask { await route(request) }
            answer.whenSuccess { answer in
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: answer.contentType)
                headers.add(name: "Content-Length", value: String(answer.body.count))
                headers.add(name: "Connection", value: "close")
                for (name, value) in answer.headers { headers.add(name: name, value: value) }
                context.write(
                    NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
                    promise: nil)
                if head.method != .HEAD {
                    context.write(
                        NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil
                    )
                }
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request (HTTP/0.9, garbage): one 400 and the end of the connection (NIO's own error
        // handler answered such a request twice). Anything else (a failed TLS handshake, a reset) only closes it:
        // there is no request to answer, and answering one would trap in NIO's pipeline handler.
        guard !answered, error is HTTPParserError else {
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
