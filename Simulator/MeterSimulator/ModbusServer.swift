import EnergyModel
import Glibc
import Logging
import MeterProtocols
import NIOCore
import NIOPosix
import Synchronization

/// Splits the byte stream of a Modbus TCP connection into MBAP frames; a frame with an impossible length closes it.
struct MBAPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: 6) else { return .needMoreData }
        guard let length = ModbusFraming.frameLength(prefix: prefix) else { throw MalformedRequest() }
        guard let frame = buffer.readBytes(length: length) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }
}

struct MalformedRequest: Error {}

/// Splits the byte stream of a serial line passed through to TCP into Modbus RTU requests, as a slave on the line
/// does: a frame whose CRC does not match, or of a function it cannot read, is dropped with whatever followed it
/// in the stream, unanswered.
struct RTUFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = buffer.getBytes(at: buffer.readerIndex, length: ModbusRTU.readRequestLength) else { return .needMoreData }
        guard ModbusRTU.hasValidCRC(frame) else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: frame.count)
        // As a Modbus TCP request, transaction 0, so that one plant answers both framings.
        let tcp: [UInt8] = [0, 0, 0, 0, 0, UInt8(frame.count - 2)] + frame.dropLast(2)
        context.fireChannelRead(wrapInboundOut(tcp))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }
}

/// Splits the byte stream of a DL/T 645 line passed through to TCP into frames, as a meter's receiver does: wake-up
/// bytes and noise before a 68 are skipped.
struct DLT645FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte != 0x68 { buffer.moveReaderIndex(forwardBy: 1) }
        guard let head = buffer.getBytes(at: buffer.readerIndex, length: 10) else { return .needMoreData }
        guard let length = DLT645.frameLength(prefix: head), head[7] == 0x68 else {
            buffer.moveReaderIndex(forwardBy: 1)
            return .continue
        }
        guard let frame = buffer.readBytes(length: length) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }
}

/// Answers the requests of one connection to one simulated gateway.
final class ModbusConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    private let plant: SimulatedPlant
    private let gatewayID: String
    private let wire: WireProtocol
    private var requestsOnConnection = 0

    init(plant: SimulatedPlant, gatewayID: String) {
        self.plant = plant
        self.gatewayID = gatewayID
        self.wire = plant.scenario.configuration.gateways[gatewayID]?.wire ?? .modbusTCP
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let reply: SimulatorReply
        if wire == .dlt645 {
            requestsOnConnection += 1
            reply = plant.respond(toDLT645: bytes, gatewayID: gatewayID, requestsOnConnection: requestsOnConnection)
        } else {
            guard let request = ModbusFraming.decode(bytes) else {
                context.close(promise: nil)
                return
            }
            requestsOnConnection += 1
            reply = plant.respond(to: request, gatewayID: gatewayID, requestsOnConnection: requestsOnConnection)
        }
        switch reply {
        case .answer(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .answerLater(let bytes, let delayMs):
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delayMs))) {
                context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            }
        case .silence:
            break
        case .close:
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Serves every gateway of a plant on its own TCP port, closing and reopening ports as gateway-down faults come and go.
public final class MeterSimulatorServer: Sendable {
    /// The plant answered for.
    public let plant: SimulatedPlant
    private let host: String
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let listeners = Mutex<[String: any Channel]>([:])
    /// Gateway id → port, when the configuration's port is overridden (tests bind port 0).
    private let portOverride: (@Sendable (GatewayConfig) -> Int)?
    private let boundPorts = Mutex<[String: Int]>([:])
    /// Sockets bound, never listening, on the ports of gateways that are down: connections are refused, and no other
    /// program's socket takes the port before the gateway comes back (tests run side by side).
    private let heldPorts = Mutex<[String: Int32]>([:])

    /// Creates a server for `plant` listening on `host`; `threads` event-loop threads.
    public init(
        plant: SimulatedPlant, host: String = "127.0.0.1", threads: Int = 2, logger: Logger = Logger(label: "metersim"),
        portOverride: (@Sendable (GatewayConfig) -> Int)? = nil
    ) {
        self.plant = plant
        self.host = host
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.logger = logger
        self.portOverride = portOverride
    }

    /// The port each gateway listens on (after `start`).
    public var ports: [String: Int] { boundPorts.withLock { $0 } }

    /// Opens every gateway's port (except those down now).
    public func start() async throws {
        for gateway in plant.scenario.configuration.gateways.values.sorted(by: { $0.id < $1.id }) where !plant.isGatewayDown(gateway.id) {
            try await open(gateway)
        }
        logger.info(
            "serving",
            metadata: ["gateways": "\(plant.scenario.configuration.gateways.count)", "meters": "\(plant.meters.count)", "host": "\(host)"])
    }

    private func open(_ gateway: GatewayConfig) async throws {
        let plant = self.plant
        let port = boundPorts.withLock { $0[gateway.id] } ?? portOverride?(gateway) ?? gateway.port
        if let held = heldPorts.withLock({ $0.removeValue(forKey: gateway.id) }) { Glibc.close(held) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    switch gateway.wire {
                    case .modbusTCP: try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MBAPFrameDecoder()))
                    case .modbusRTUOverTCP: try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RTUFrameDecoder()))
                    case .dlt645: try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DLT645FrameDecoder()))
                    }
                    try channel.pipeline.syncOperations.addHandler(ModbusConnectionHandler(plant: plant, gatewayID: gateway.id))
                }
            }
            .bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        boundPorts.withLock { $0[gateway.id] = bound }
        listeners.withLock { $0[gateway.id] = channel }
    }

    private func close(_ gatewayID: String) async {
        guard let channel = listeners.withLock({ $0.removeValue(forKey: gatewayID) }) else { return }
        try? await channel.close()
        if let port = boundPorts.withLock({ $0[gatewayID] }), let held = Self.hold(host: host, port: port) {
            heldPorts.withLock { $0[gatewayID] = held }
        }
    }

    /// A socket bound to `host:port` without listening, or nil when the host is not an IPv4 address.
    private static func hold(host: String, port: Int) -> Int32? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { return nil }
        var reuse: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            Glibc.close(socket)
            return nil
        }
        return socket
    }

    /// Closes the ports of gateways that are down and reopens those that came back, every few real milliseconds,
    /// until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await reconcileListeners()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Brings listening ports in line with the gateway-down faults in force now.
    public func reconcileListeners() async {
        let targeted = Set(plant.faults.all.filter { $0.kind == .gatewayDown }.map(\.target))
        for gatewayID in targeted.sorted() {
            guard let gateway = plant.scenario.configuration.gateways[gatewayID] else { continue }
            let down = plant.isGatewayDown(gatewayID)
            let listening = listeners.withLock { $0[gatewayID] != nil }
            if down, listening {
                logger.info("gateway down", metadata: ["gateway": "\(gatewayID)"])
                await close(gatewayID)
            } else if !down, !listening {
                logger.info("gateway up", metadata: ["gateway": "\(gatewayID)"])
                do { try await open(gateway) } catch {
                    logger.error("cannot reopen gateway", metadata: ["gateway": "\(gatewayID)", "error": "\(error)"])
                }
            }
        }
    }

    /// Closes every port and stops the event loops.
    public func shutdown() async {
        for id in listeners.withLock({ Array($0.keys) }) { await close(id) }
        let held = heldPorts.withLock { ports in
            defer { ports.removeAll() }
            return Array(ports.values)
        }
        for socket in held { Glibc.close(socket) }
        try? await group.shutdownGracefully()
    }

    /// The event loops, for the control server.
    var eventLoopGroup: MultiThreadedEventLoopGroup { group }
}
