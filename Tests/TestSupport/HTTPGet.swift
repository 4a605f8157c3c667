import Foundation
import MeterSimulator

/// A minimal HTTP/1.1 GET over a plain socket, for checking energyd's /healthz and /metrics.
public enum HTTPGet {
    /// Status code and body.
    public static func get(host: String = "127.0.0.1", port: Int, path: String) throws -> (status: Int, body: String) {
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        let fd = try LineClient.openConnection(host: host, port: port, timeoutSeconds: 10)
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
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw LineClientError("not an HTTP response")
        }
        return (status, String(text[headerEnd.upperBound...]))
    }
}
