import Foundation
import MeterSimulator

/// A minimal HTTP/1.1 GET over a plain socket, for checking energyd's /healthz and /metrics.
public enum HTTPGet {
    /// Status code and body.
    public static func get(host: String = "127.0.0.1", port: Int, path: String) throws -> (status: Int, body: String) {
        let text = try exchange(host: host, port: port, request: "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
        guard let headerEnd = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw LineClientError("not an HTTP response")
        }
        return (status, String(text[headerEnd.upperBound...]))
    }

    /// Sends `request` as it is and returns everything the server writes until it closes the connection (or
    /// stays silent for `timeoutSeconds`).
    public static func exchange(host: String = "127.0.0.1", port: Int, request: String, timeoutSeconds: Int = 60) throws -> String {
        let fd = try LineClient.openConnection(host: host, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        let bytes = Array(request.utf8)
        _ = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}

/// Runs blocking socket calls on a Dispatch thread: on the Swift concurrency pool (two threads on two cores) they
/// would starve an in-process server whose answers are computed on that same pool.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
