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

    /// 303 See Other to `location`, with the cookies to set on the way.
    public static func seeOther(_ location: String, setCookies: [String] = []) -> HTTPAnswer {
        HTTPAnswer(
            status: .seeOther, contentType: "text/plain", body: "",
            headers: [("Location", location)] + setCookies.map { ("Set-Cookie", $0) })
    }

    /// The body as text (tests).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Limits of the HTTP side, so that no client can take the descriptors and the CPU the pollers need.
public struct HTTPLimits: Sendable {
    /// Connections open at once.
    public var maxConnections = 64
    /// Connections open at once from one address.
    public var maxConnectionsPerAddress = 16
    /// A connection must send a whole request within this long of connecting or of its previous answer (a deadline
    /// for the request, not an idle timer that every byte restarts: a client sending one header line every few
    /// seconds is closed as surely as a silent one).
    public var idleTimeout: TimeAmount = .seconds(10)
    /// Request bodies larger than this are refused (413): forms and JSON are a few kilobytes.
    public var maxBodyBytes = 1 << 20

    public init(
        maxConnections: Int = 64, maxConnectionsPerAddress: Int = 16, idleTimeout: TimeAmount = .seconds(10), maxBodyBytes: Int = 1 << 20
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.idleTimeout = idleTimeout
        self.maxBodyBytes = maxBodyBytes
    }

    /// The defaults: far below any descriptor limit energyd runs with, plenty for probes, scrapers and browsers.
    public static let standard = HTTPLimits()
}

/// Serves requests with `route`, keeping connections alive between requests (pipelined ones answered in order), at
/// most `limits.maxConnections` at a time and `limits.maxConnectionsPerAddress` from one address. A connection over a
/// limit takes the place of the one that has waited longest for its request, so slow or silent clients cannot lock
/// out a scraper or a browser; when every connection is busy answering, the newcomer gets 503.
public final class HTTPService: Service {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let logger: Logger
    private let connections: ConnectionTable

    /// Binds at once, so that READY=1 is sent only once the endpoint answers.
    public init(
        host: String, port: Int, limits: HTTPLimits = .standard, tls: (certificateFile: String, keyFile: String)? = nil, logger: Logger,
        route: @escaping @Sendable (HTTPRequest) async -> HTTPAnswer
    ) async throws {
        let context = try tls.map { try Self.tlsContext(certificateFile: $0.certificateFile, keyFile: $0.keyFile) }
        self.logger = logger
        let connections = ConnectionTable(limits: limits)
        self.connections = connections
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let id = connections.admit(channel) else {
                        // Every connection is busy answering: say so (over plain HTTP) rather than keep the client waiting.
                        if context == nil {
                            let busy =
                                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            channel.writeAndFlush(channel.allocator.buffer(string: busy)).whenComplete { _ in channel.close(promise: nil) }
                        } else {
                            channel.close(promise: nil)
                        }
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.closed(id) }
                    if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPHandler(
                            route: route, maxBodyBytes: limits.maxBodyBytes, requestTimeout: limits.idleTimeout, isTLS: context != nil,
                            connection: id, table: connections))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// The TLS context for a PEM certificate chain and a PEM private key. Both are read as PEM whatever their names:
    /// NIOSSL would guess the format from the file name and read `console.key` as DER. `energyd check-config` calls
    /// this too, so that a key `run` cannot load is refused there.
    public static func tlsContext(certificateFile: String, keyFile: String) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        guard !chain.isEmpty else { throw TLSFileError(file: certificateFile, problem: "holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        return try NIOSSLContext(
            configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
    }

    /// Connections open now.
    public var openConnections: Int { connections.count }

    /// The bound port.
    public var port: Int? { channel.localAddress?.port }

    public func run() async throws {
        logger.info(
            "serving /healthz and /metrics, the console at / and the API at /api/v1/",
            metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "-")"])
        try? await gracefulShutdown()
        try? await channel.close()
        connections.closeAll()
        try? await group.shutdownGracefully()
    }
}

/// A certificate or key file TLS cannot use.
public struct TLSFileError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public var description: String { "\(file) \(problem)" }
}

/// The open connections, each with its peer's address and whether it waits for a request (and since when) or is
/// being answered; decides who gets in when a limit is reached.
final class ConnectionTable: Sendable {
    private struct Entry {
        let channel: any Channel
        let address: String
        /// When it began waiting for its next request; nil while a request is being read or answered.
        var waitingSinceNs: UInt64?
    }

    private let limits: HTTPLimits
    private let state = Mutex<(nextID: Int, entries: [Int: Entry])>((0, [:]))

    init(limits: HTTPLimits) { self.limits = limits }

    var count: Int { state.withLock { $0.entries.count } }

    /// Admits `channel`, closing the connection that has waited longest for a request when a limit is reached (one of
    /// the same address when that address is at its limit); nil when every candidate is busy answering.
    func admit(_ channel: any Channel) -> Int? {
        let address = channel.remoteAddress?.ipAddress ?? "-"
        let now = DispatchTime.now().uptimeNanoseconds
        let (id, evicted): (Int?, (any Channel)?) = state.withLock { state in
            let sameAddress = state.entries.filter { $0.value.address == address }
            var pool: [Int: Entry]? = nil
            if sameAddress.count >= limits.maxConnectionsPerAddress {
                pool = sameAddress
            } else if state.entries.count >= limits.maxConnections {
                pool = state.entries
            }
            var evicted: (any Channel)? = nil
            if let pool {
                guard
                    let victim = pool.filter({ $0.value.waitingSinceNs != nil }).min(by: {
                        $0.value.waitingSinceNs! < $1.value.waitingSinceNs!
                    })
                else { return (nil, nil) }
                evicted = state.entries.removeValue(forKey: victim.key)?.channel
            }
            state.nextID += 1
            state.entries[state.nextID] = Entry(channel: channel, address: address, waitingSinceNs: now)
            return (state.nextID, evicted)
        }
        evicted?.close(promise: nil)
        return id
    }

    /// The connection began reading a request (`waiting` false) or waits for its next one.
    func set(_ id: Int, waiting: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { $0.entries[id]?.waitingSinceNs = waiting ? now : nil }
    }

    func closed(_ id: Int) { state.withLock { _ = $0.entries.removeValue(forKey: id) } }

    /// Closes every connection (the service stops).
    func closeAll() {
        let channels = state.withLock { state in
            defer { state.entries = [:] }
            return state.entries.values.map(\.channel)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}

/// Reads requests and writes the route's answers, one after another on a kept-alive connection (NIO's pipeline
/// handler holds pipelined requests back until the answer before is written). A request must arrive whole within
/// `requestTimeout` of the connection's start or of its previous answer; a request that is not HTTP/1 gets one 400
/// and the connection is closed.
private final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let route: @Sendable (HTTPRequest) async -> HTTPAnswer
    private let maxBodyBytes: Int
    private let requestTimeout: TimeAmount
    private let isTLS: Bool
    private let connection: Int
    private let table: ConnectionTable
    private var request: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// Whether an answer is being computed or written: the connection is not closed under it.
    private var answering = false
    private var deadline: Scheduled<Void>?

    init(
        route: @escaping @Sendable (HTTPRequest) async -> HTTPAnswer, maxBodyBytes: Int, requestTimeout: TimeAmount, isTLS: Bool,
        connection: Int, table: ConnectionTable
    ) {
        self.route = route
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.isTLS = isTLS
        self.connection = connection
        self.table = table
    }

    func handlerAdded(context: ChannelHandlerContext) { armDeadline(context: context) }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    /// Closes the connection unless a whole request has arrived within `requestTimeout` from now.
    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: requestTimeout) { bound.value.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            body = []
            bodyTooLarge = false
            table.set(connection, waiting: false)
        case .body(var part):
            if body.count + part.readableBytes > maxBodyBytes {
                bodyTooLarge = true
            } else if !bodyTooLarge, let bytes = part.readBytes(length: part.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head = request, !answering else { return }
            deadline?.cancel()
            answering = true
            request = nil
            let route = self.route
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let remote = context.channel.remoteAddress?.ipAddress ?? "-"
            let request = HTTPRequest(
                method: head.method, uri: head.uri, headers: head.headers, body: body, remoteAddress: remote, isTLS: isTLS)
            body = []
            let answer: EventLoopFuture<HTTPAnswer> =
                bodyTooLarge
                ? context.eventLoop.makeSucceededFuture(
                    HTTPAnswer(status: .payloadTooLarge, contentType: "text/plain", body: "request body too large\n"))
                : context.eventLoop.makeFutureWithTask { await route(request) }
            let keepAlive = head.isKeepAlive && !bodyTooLarge
            answer.whenSuccess { answer in
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: answer.contentType)
                headers.add(name: "Content-Length", value: String(answer.body.count))
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                for (name, value) in answer.headers { headers.add(name: name, value: value) }
                // On every answer: no type sniffing, no address leaked to other sites, and over HTTPS a year of HSTS.
                if !headers.contains(name: "X-Content-Type-Options") { headers.add(name: "X-Content-Type-Options", value: "nosniff") }
                headers.add(name: "Referrer-Policy", value: "same-origin")
                if request.isTLS { headers.add(name: "Strict-Transport-Security", value: "max-age=31536000") }
                context.write(
                    NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
                    promise: nil)
                if head.method != .HEAD {
                    context.write(
                        NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil
                    )
                }
                if keepAlive {
                    // Ready before the end is written: NIO's pipeline handler may pass on a pipelined request at once.
                    handler.value.answering = false
                    handler.value.table.set(handler.value.connection, waiting: true)
                    handler.value.armDeadline(context: context)
                }
                let channel = context.channel
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
                    if !keepAlive { channel.close(promise: nil) }
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request (HTTP/0.9, garbage): one 400 and the end of the connection (NIO's own error
        // handler answered such a request twice). Anything else (a failed TLS handshake, a reset) only closes it:
        // there is no request to answer, and answering one would trap in NIO's pipeline handler.
        guard !answering, error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        answering = true
        deadline?.cancel()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: "12")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "bad request\n")))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
