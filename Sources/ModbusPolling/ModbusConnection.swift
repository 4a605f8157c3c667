import CModbus
import Dispatch
import EnergyModel
import Foundation
import MeterProtocols

/// Why a Modbus read or connect failed, classified for the poller's decisions.
public enum ModbusFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer within the timeout.
    case timeout
    /// The device answered with a Modbus exception code (1 illegal function, 2 illegal address, 4 device failure,
    /// 6 busy, 11 gateway target failed …).
    case exception(code: Int)
    /// The answer was not a valid reply to the request (wrong transaction id, bad length, garbage).
    case badResponse(String)
    /// The connection broke (reset, broken pipe, bad descriptor, closed by the peer).
    case connectionLost(String)
    /// No connection could be made (refused, unreachable, unknown host, connect timeout).
    case connectFailed(String)
    /// The socket got a descriptor number select() cannot watch; connecting would have aborted the process.
    case descriptorLimit(Int32)
    /// A DL/T 645 meter answered with an error byte (bit 1: no such data item …).
    case meterError(code: Int)

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case .exception(let code): "Modbus exception \(String(format: "%02X", code)) (\(Self.exceptionName(code)))"
        case .badResponse(let why): "bad response: \(why)"
        case .connectionLost(let why): "connection lost: \(why)"
        case .connectFailed(let why): "connect failed: \(why)"
        case .meterError(let code):
            "DL/T 645 error answer \(String(format: "%02X", code)) (\(DLT645.errorText(UInt8(code))))"
        case .descriptorLimit(let fd):
            "socket descriptor \(fd) is not below FD_SETSIZE (\(FD_SETSIZE)); libmodbus's select() cannot wait on it"
        }
    }

    /// The quality stored for the points the failed request covered.
    public var quality: SampleQuality {
        switch self {
        case .exception, .meterError: .exception
        default: .commFail
        }
    }

    static func exceptionName(_ code: Int) -> String {
        switch code {
        case 1: "illegal function"
        case 2: "illegal data address"
        case 3: "illegal data value"
        case 4: "server device failure"
        case 5: "acknowledge"
        case 6: "server device busy"
        case 8: "memory parity error"
        case 10: "gateway path unavailable"
        case 11: "gateway target device failed to respond"
        default: "unknown"
        }
    }
}

/// One gateway's connection, driven by its polling worker: the only place in energyd that calls libmodbus.
/// Modbus TCP goes through libmodbus; the serial-line protocols a serial device server passes through
/// (Modbus RTU) are framed by MeterProtocols on the same socket (SerialLineExchange.swift).
///
/// The socket is non-blocking and waited on by the worker's epoll, so a gateway that does not answer holds a timer,
/// not a thread. libmodbus builds and sends each request (`modbus_send_raw_request`: header, transaction id) and
/// reads each answer (`modbus_receive_confirmation`), called only once the whole answer is in the socket (peeked
/// first), so its select() never waits. For that select() a socket numbered 1024 or above is lent the worker's
/// window descriptor for the call. libmodbus's error recovery stays off: on a broken connection the poller closes
/// this object's context and makes a new one.
/// Not thread-safe: used only by its gateway's task, on its worker.
final class ModbusConnection {
    /// The gateway: its address, timeout, protocol and serial line.
    let gateway: GatewayConfig
    let worker: PollingWorker
    let owner: Int
    private var context: OpaquePointer?
    private(set) var socket: Int32 = -1
    private var answer = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
    /// When the last frame on a serial line ended (uptime ns): the next one waits the line's inter-frame silence.
    var lineQuietSince: UInt64 = 0

    /// Creates an unconnected connection to `gateway`; `owner` is its task's id on the worker.
    init(gateway: GatewayConfig, worker: PollingWorker, owner: Int) {
        self.gateway = gateway
        self.worker = worker
        self.owner = owner
    }

    deinit {
        if let context { modbus_free(context) }
        if socket >= 0 { Glibc.close(socket) }
    }

    /// Whether a socket is open.
    var isConnected: Bool { socket >= 0 }

    /// Whether a timeout or a garbled answer leaves the connection usable: on a serial line stale bytes are
    /// drained before each request (and a new TCP connection would not silence the line); a Modbus TCP answer
    /// carries no usable transaction id, so there only a new connection is clean.
    var survivesBadAnswers: Bool { gateway.wire.isSerialLine }

    /// Opens the TCP connection, waiting at most the timeout.
    func connect() async throws(ModbusFailure) {
        close()
        let fd = try await openSocket()
        guard gateway.wire == .modbusTCP else {
            socket = fd
            lineQuietSince = 0
            return
        }
        guard let ctx = modbus_new_tcp_pi(gateway.host, String(gateway.port)) else {
            worker.forget(fd)
            Glibc.close(fd)
            throw .connectFailed("modbus_new_tcp_pi: \(String(cString: modbus_strerror(errno)))")
        }
        modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE)
        // libmodbus reads only complete answers already in the socket; these bound a wait that should never happen.
        modbus_set_response_timeout(ctx, 0, 10_000)
        modbus_set_byte_timeout(ctx, 0, 10_000)
        modbus_set_socket(ctx, fd)
        context = ctx
        socket = fd
    }

    /// Closes the socket and frees the context.
    func close() {
        guard socket >= 0 else { return }
        worker.forget(socket)
        Glibc.close(socket)
        if let context { modbus_free(context) }
        context = nil
        socket = -1
    }

    /// Sends one read request to `meter` and returns its answer.
    func read(_ request: ReadRequest, from meter: MeterConfig) async throws(ModbusFailure) -> MeterAnswer {
        switch gateway.wire {
        case .modbusTCP:
            return .words(
                try await readTCP(function: request.function, address: request.address, count: request.count, unitID: meter.unitID))
        case .modbusRTUOverTCP:
            return .words(
                try await readRTU(function: request.function, address: request.address, count: request.count, unitID: meter.unitID))
        case .dlt645:
            // The configuration check guarantees both; a register read cannot go to a DL/T 645 meter.
            guard let item = request.dataItem, let address = meter.meterAddress.flatMap(DLT645.addressBytes) else {
                throw .badResponse("meter \(meter.id) has no DL/T 645 address or data item")
            }
            return .bcd(try await readDLT645(address: address, identifier: item.identifier))
        }
    }

    /// A Modbus TCP read through libmodbus.
    private func readTCP(function: RegisterFunction, address: Int, count: Int, unitID: Int) async throws(ModbusFailure) -> [UInt16] {
        guard let ctx = context else { throw .connectionLost("not connected") }
        let code = UInt8(function == .holding ? MODBUS_FC_READ_HOLDING_REGISTERS : MODBUS_FC_READ_INPUT_REGISTERS)
        let request: [UInt8] = [
            UInt8(unitID), code, UInt8(address >> 8), UInt8(address & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF),
        ]
        guard modbus_send_raw_request(ctx, request, Int32(request.count)) == Int32(request.count + 6) else {
            throw Self.classify(errno)
        }
        let deadline = timeoutDeadline()
        while try !answerIsComplete() {
            if await worker.wait(for: socket, until: .readable, owner: owner, deadline: deadline) == .timedOut, try !answerIsComplete() {
                throw .timeout
            }
        }
        let received = answer.withUnsafeMutableBufferPointer { buffer in
            worker.selectable(socket) { fd -> Int32 in
                modbus_set_socket(ctx, fd)
                defer { modbus_set_socket(ctx, socket) }
                return modbus_receive_confirmation(ctx, buffer.baseAddress)
            }
        }
        guard let received else { throw .descriptorLimit(socket) }
        guard received >= 0 else { throw Self.classify(errno) }
        return try words(inAnswerOf: Int(received), unitID: unitID, function: code, count: count)
    }

    /// Whether all of the answer waiting in the socket has arrived. Peeks, so libmodbus reads the answer
    /// afterwards; refuses what libmodbus would wait on forever or misread.
    private func answerIsComplete() throws(ModbusFailure) -> Bool {
        var header = [UInt8](repeating: 0, count: 9)
        let peeked = recv(socket, &header, 9, Int32(MSG_PEEK))
        if peeked == 0 { throw .connectionLost("closed by the gateway") }
        if peeked < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }
            throw Self.classify(errno)
        }
        guard peeked >= 8 else { return false }
        guard header[2] == 0, header[3] == 0 else { throw .badResponse("not a Modbus TCP answer (protocol id)") }
        let framed = 6 + (Int(header[4]) << 8 | Int(header[5]))
        let expected: Int
        if header[7] & 0x80 != 0 {
            expected = 9
        } else {
            guard peeked >= 9 else { return false }
            expected = 9 + Int(header[8])
        }
        guard framed == expected, expected <= answer.count else {
            throw .badResponse("length field \(framed - 6) does not match the answer's \(expected - 6) bytes")
        }
        var available: Int32 = 0
        guard ioctl(socket, UInt(FIONREAD), &available) == 0 else { throw Self.classify(errno) }
        return Int(available) >= expected
    }

    /// When a request or connect started now has timed out (uptime ns).
    func timeoutDeadline() -> UInt64 { DispatchTime.now().uptimeNanoseconds + UInt64(gateway.timeoutMs) * 1_000_000 }

    /// The registers of a read answer, after checking it answers this request. libmodbus sends raw requests as
    /// transaction 0; with one request in flight and a new connection after any timeout or bad answer, an answer
    /// cannot belong to an earlier request.
    private func words(inAnswerOf length: Int, unitID: Int, function: UInt8, count: Int) throws(ModbusFailure) -> [UInt16] {
        guard length >= 9 else { throw .badResponse("\(length) bytes") }
        guard answer[0] == 0, answer[1] == 0 else {
            throw .badResponse("transaction \(Int(answer[0]) << 8 | Int(answer[1])) answered, 0 asked")
        }
        guard answer[6] == UInt8(unitID) else { throw .badResponse("unit \(answer[6]) answered, \(unitID) asked") }
        if answer[7] == function | 0x80 { throw .exception(code: Int(answer[8])) }
        guard answer[7] == function else { throw .badResponse("function \(answer[7]) answered, \(function) asked") }
        guard Int(answer[8]) == 2 * count, length == 9 + 2 * count else {
            throw .badResponse("\(Int(answer[8]) / 2) registers instead of \(count)")
        }
        return (0..<count).map { UInt16(answer[9 + 2 * $0]) << 8 | UInt16(answer[10 + 2 * $0]) }
    }

    /// Maps libmodbus's errno after a failed read.
    static func classify(_ code: Int32) -> ModbusFailure {
        let base = Int32(MODBUS_ENOBASE)
        switch code {
        case ETIMEDOUT, EAGAIN: return .timeout
        case (base + 1)...(base + 11): return .exception(code: Int(code - base))
        case (base + 12)...(base + 17):
            return .badResponse(String(cString: modbus_strerror(code)))
        case ECONNRESET, EPIPE, EBADF, ENOTCONN, ECONNABORTED, ECONNREFUSED, ENETUNREACH, EHOSTUNREACH:
            return .connectionLost(String(cString: strerror(code)))
        default:
            return .connectionLost(String(cString: modbus_strerror(code)))
        }
    }

    /// Resolves (a name off this thread), creates a non-blocking socket and connects it, waiting on the worker.
    private func openSocket() async throws(ModbusFailure) -> Int32 {
        let addresses = try await Self.resolve(host: gateway.host, port: gateway.port)
        var lastFailure = ModbusFailure.connectFailed("no address for \(gateway.host)")
        for address in addresses {
            let fd = Glibc.socket(
                address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else {
                lastFailure = .connectFailed("socket: \(String(cString: strerror(errno)))")
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            worker.watch(fd, owner: owner)
            let started = address.bytes.withUnsafeBytes {
                Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
            if started == 0 { return fd }
            if errno == EINPROGRESS {
                if await worker.wait(for: fd, until: .writable, owner: owner, deadline: timeoutDeadline()) == .ready {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    lastFailure = .connectFailed(String(cString: strerror(error)))
                } else {
                    lastFailure = .connectFailed("no answer to connect within \(gateway.timeoutMs) ms")
                }
            } else {
                lastFailure = .connectFailed(String(cString: strerror(errno)))
            }
            worker.forget(fd)
            Glibc.close(fd)
        }
        throw lastFailure
    }

    /// A resolved socket address.
    private struct SocketAddress: Sendable {
        var family: Int32
        var bytes: [UInt8]
    }

    /// The host's addresses: numeric ones at once, names on a Dispatch queue (getaddrinfo blocks on DNS).
    private static func resolve(host: String, port: Int) async throws(ModbusFailure) -> [SocketAddress] {
        if case .success(let addresses) = lookUp(host: host, port: port, numericOnly: true) { return addresses }
        let result = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: lookUp(host: host, port: port, numericOnly: false)) }
        }
        return try result.get()
    }

    private static func lookUp(host: String, port: Int, numericOnly: Bool) -> Result<[SocketAddress], ModbusFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = numericOnly ? AI_NUMERICHOST | AI_NUMERICSERV : AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, list != nil else {
            return .failure(.connectFailed("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let address = entry {
            entry = address.pointee.ai_next
            let bytes = UnsafeRawBufferPointer(start: address.pointee.ai_addr, count: Int(address.pointee.ai_addrlen))
            addresses.append(SocketAddress(family: address.pointee.ai_family, bytes: Array(bytes)))
        }
        return .success(addresses)
    }
}
