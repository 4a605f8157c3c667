import Foundation

/// A blocking one-line request/answer client for the control port (used by `metersim ctl` and tests).
public enum LineClient {
    /// Sends `line` and returns the answer line.
    public static func request(host: String, port: Int, line: String, timeoutSeconds: Int = 5) throws -> String {
        let fd = try openConnection(host: host, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw LineClientError("send failed") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !answer.contains(UInt8(ascii: "\n")) {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw LineClientError("no answer") }
            answer += buffer[0..<count]
        }
        return String(decoding: answer.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// A blocking TCP connection to `host`:`port` whose reads give up after `timeoutSeconds`; the caller closes it.
    public static func openConnection(host: String, port: Int, timeoutSeconds: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let address = list else {
            throw LineClientError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LineClientError("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw LineClientError("cannot connect to \(host):\(port): \(reason)")
        }
        return fd
    }
}

/// A failure of the small test clients.
public struct LineClientError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    public init(_ description: String) { self.description = description }
}
