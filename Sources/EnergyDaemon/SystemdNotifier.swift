import Foundation

/// sd_notify in Swift: one datagram per state change to `$NOTIFY_SOCKET` (a path, or "@name" for an abstract
/// socket), no libsystemd. Silent when energyd does not run under systemd.
public final class SystemdNotifier: Sendable {
    /// The socket address systemd gave, if any.
    public let socketPath: String?
    /// Half of `$WATCHDOG_USEC`: how often to say WATCHDOG=1, or nil without a watchdog.
    public let watchdogInterval: Duration?
    private let queue = DispatchQueue(label: "sd-notify")

    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` (honouring `WATCHDOG_PID`) from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let micros = environment["WATCHDOG_USEC"].flatMap(Int64.init), micros > 0 {
            watchdogInterval = .microseconds(micros / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `state` ("READY=1", "STATUS=…", several separated by newlines); errors are ignored, as sd_notify's are.
    public func notify(_ state: String) async {
        guard let path = socketPath else { return }
        // A datagram to a local socket is quick, but it is a system call: off the concurrency pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                Self.send(state, to: path)
                continuation.resume()
            }
        }
    }

    /// Sends one datagram; returns whether it was accepted.
    @discardableResult
    static func send(_ state: String, to path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }  // an abstract name starts with a NUL byte and is not NUL-terminated
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        return sent == message.count
    }
}
