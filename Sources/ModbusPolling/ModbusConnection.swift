import CModbus
import EnergyModel
import Foundation

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

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case .exception(let code): "Modbus exception \(String(format: "%02X", code)) (\(Self.exceptionName(code)))"
        case .badResponse(let why): "bad response: \(why)"
        case .connectionLost(let why): "connection lost: \(why)"
        case .connectFailed(let why): "connect failed: \(why)"
        case .descriptorLimit(let fd):
            "socket descriptor \(fd) is not below FD_SETSIZE (\(FD_SETSIZE)); libmodbus's select() cannot wait on it"
        }
    }

    /// The quality stored for the points the failed request covered.
    public var quality: SampleQuality {
        if case .exception = self { return .exception }
        return .commFail
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

/// One libmodbus TCP context: the only place in energyd that calls libmodbus.
///
/// libmodbus's own connect waits with select() and aborts the process on a descriptor ≥ 1024, so the socket is
/// opened and connected here (with poll()), moved below FD_SETSIZE (`DescriptorReserve`) or refused, and only
/// then handed to libmodbus.
/// libmodbus's error recovery stays off: on a broken connection the poller closes this object and makes a new one.
/// Not thread-safe: each gateway's poller thread owns its connection.
public final class ModbusConnection {
    private let host: String
    private let port: Int
    private let timeoutMs: Int
    private var context: OpaquePointer?
    private var currentUnit: Int = -1

    /// Creates an unconnected context for a gateway.
    public init(host: String, port: Int, timeoutMs: Int) {
        self.host = host
        self.port = port
        self.timeoutMs = timeoutMs
    }

    deinit { close() }

    /// Whether a socket is open.
    public var isConnected: Bool { context != nil }

    /// Opens the TCP connection, waiting at most the timeout.
    public func connect() throws(ModbusFailure) {
        close()
        let fd = try Self.openSocket(host: host, port: port, timeoutMs: timeoutMs)
        guard let ctx = modbus_new_tcp_pi(host, String(port)) else {
            DescriptorReserve.shared.close(fd)
            throw .connectFailed("modbus_new_tcp_pi: \(String(cString: modbus_strerror(errno)))")
        }
        modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE)
        let seconds = UInt32(timeoutMs / 1000)
        let micros = UInt32(timeoutMs % 1000 * 1000)
        modbus_set_response_timeout(ctx, seconds, micros)
        modbus_set_byte_timeout(ctx, seconds, micros)
        modbus_set_socket(ctx, fd)
        context = ctx
        currentUnit = -1
    }

    /// Closes the socket and frees the context.
    public func close() {
        guard let ctx = context else { return }
        // The socket may sit on a reserved low descriptor: the reserve closes it and keeps the number.
        DescriptorReserve.shared.close(modbus_get_socket(ctx))
        modbus_set_socket(ctx, -1)
        modbus_free(ctx)
        context = nil
    }

    /// Reads `count` registers with function 3 or 4 from `unitID`.
    public func read(function: RegisterFunction, address: Int, count: Int, unitID: Int) throws(ModbusFailure) -> [UInt16] {
        guard let ctx = context else { throw .connectionLost("not connected") }
        if unitID != currentUnit {
            modbus_set_slave(ctx, Int32(unitID))
            currentUnit = unitID
        }
        var words = [UInt16](repeating: 0, count: count)
        let received = words.withUnsafeMutableBufferPointer { buffer -> Int32 in
            switch function {
            case .holding: modbus_read_registers(ctx, Int32(address), Int32(count), buffer.baseAddress)
            case .input: modbus_read_input_registers(ctx, Int32(address), Int32(count), buffer.baseAddress)
            }
        }
        if received == Int32(count) { return words }
        if received >= 0 { throw .badResponse("\(received) registers instead of \(count)") }
        throw Self.classify(errno)
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

    /// Resolves, creates a non-blocking socket below FD_SETSIZE and connects it with poll().
    private static func openSocket(host: String, port: Int, timeoutMs: Int) throws(ModbusFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connectFailed("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastFailure = ModbusFailure.connectFailed("no address for \(host)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(
                address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                0)
            guard fd >= 0 else {
                lastFailure = .connectFailed("socket: \(String(cString: strerror(errno)))")
                continue
            }
            guard let fd = DescriptorReserve.shared.watchable(fd) else { throw .descriptorLimit(fd) }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&pollfd, 1, Int32(timeoutMs)) } while ready < 0 && errno == EINTR
                if ready == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    lastFailure = .connectFailed(String(cString: strerror(error)))
                } else {
                    lastFailure = .connectFailed("no answer to connect within \(timeoutMs) ms")
                }
            } else {
                lastFailure = .connectFailed(String(cString: strerror(errno)))
            }
            DescriptorReserve.shared.close(fd)
        }
        throw lastFailure
    }
}
