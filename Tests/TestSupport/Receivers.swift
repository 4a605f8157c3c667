import Foundation

/// A receiver of Tests/Receivers (webhook and robots, or SMTP) started as a real process on loopback.
public final class Receiver: Sendable {
    public let process: ChildProcess
    public let port: Int
    /// The JSON Lines file of what it accepted.
    public let log: String

    /// Starts `script` (a file of Tests/Receivers) with `arguments` plus `--log`; waits until it listens.
    public init(_ script: String, _ arguments: [String], log: String) async throws {
        process = try ChildProcess("/usr/bin/python3", ["-u", packageRoot + "/Tests/Receivers/" + script, "--log", log] + arguments)
        self.log = log
        guard await process.waitForOutput("listening ", timeout: .seconds(30)),
            let line = process.printed.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
            let port = Int(line.dropFirst("listening ".count))
        else {
            process.send(SIGKILL)
            throw ReceiverFailed(output: process.printed)
        }
        self.port = port
    }

    /// What it accepted so far, one object per message.
    public var received: [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    public func stop() {
        process.send(SIGKILL)
    }
}

/// A receiver did not start.
public struct ReceiverFailed: Error, CustomStringConvertible {
    public let output: String
    public var description: String { "the receiver did not start:\n\(output)" }
}

/// A self-signed certificate for 127.0.0.1 and localhost (openssl), its key, in `directory`; trusted by the
/// channel through its `ca_file`.
public func makeTestCertificate(in directory: TemporaryDirectory) async throws -> (certificate: String, key: String) {
    let certificate = directory.file("cert.pem")
    let key = directory.file("key.pem")
    let openssl = try ChildProcess(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
    guard await openssl.waitForExit(timeout: .seconds(60)) == 0 else { throw ReceiverFailed(output: openssl.printed) }
    return (certificate, key)
}
