import EnergyModel
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// E-mail over SMTP (RFC 5321): STARTTLS or implicit TLS, AUTH PLAIN or LOGIN, one message per connection.
/// Acknowledged when the server answers 250 to the message's final dot.
final class MailCourier: Courier {
    let channel: ChannelConfig
    private let tls: NIOSSLContext?

    init(_ channel: ChannelConfig) throws {
        self.channel = channel
        tls = channel.security == .none ? nil : try NIOSSLContext(configuration: Couriers.tlsConfiguration(channel))
    }

    func deliver(_ content: MessageContent, messageID: String) async throws {
        let message = MailMessage(
            fromName: content.title, from: channel.from ?? "", to: channel.to, subject: content.subject, body: content.body,
            attachment: content.attachment,
            messageID: "<\(messageID)@energyd>", date: Date())
        do {
            try await withTimeout(seconds: channel.timeoutSeconds) { try await self.send(message) }
        } catch let failure as DeliveryFailure {
            throw failure
        } catch {
            throw DeliveryFailure("\(channel.smtpHost ?? ""):\(channel.smtpPort): \(error)")
        }
    }

    private func send(_ message: MailMessage) async throws {
        let host = channel.smtpHost ?? ""
        // SNI names a host; for an address the certificate is checked against the address itself.
        let serverName = host.isIPAddress ? nil : host
        let implicitTLS = channel.security == .tls ? tls : nil
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(Int64(channel.timeoutSeconds)))
            .connect(host: host, port: channel.smtpPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await connection.executeThenClose { inbound, outbound in
            var replies = SMTPReplies(inbound.makeAsyncIterator())
            func command(_ line: String, expect: Set<Int>, shown: String? = nil) async throws -> SMTPReply {
                try await outbound.write(ByteBuffer(string: line + "\r\n"))
                return try await replies.expect(expect, after: shown ?? line)
            }
            _ = try await replies.expect([220], after: "connect")
            var extensions = try await command("EHLO energyd", expect: [250]).extensions
            if channel.security == .starttls {
                guard extensions.contains("STARTTLS") else { throw DeliveryFailure("\(host) does not offer STARTTLS") }
                _ = try await command("STARTTLS", expect: [220])
                // Built on the event loop: a TLS handler may not cross threads.
                let channel = connection.channel
                let context = tls!
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
                }.get()
                extensions = try await command("EHLO energyd", expect: [250]).extensions
            }
            if let username = channel.username {
                let password = channel.password ?? ""
                let methods = extensions.first { $0.hasPrefix("AUTH ") }?.split(separator: " ").map(String.init) ?? []
                if methods.contains("PLAIN") || !methods.contains("LOGIN") {
                    let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                    _ = try await command("AUTH PLAIN " + token, expect: [235], shown: "AUTH PLAIN")
                } else {
                    _ = try await command("AUTH LOGIN", expect: [334])
                    _ = try await command(Data(username.utf8).base64EncodedString(), expect: [334], shown: "AUTH LOGIN user")
                    _ = try await command(Data(password.utf8).base64EncodedString(), expect: [235], shown: "AUTH LOGIN password")
                }
            }
            _ = try await command("MAIL FROM:<\(message.from)>", expect: [250])
            for recipient in message.to { _ = try await command("RCPT TO:<\(recipient)>", expect: [250, 251]) }
            _ = try await command("DATA", expect: [354])
            try await outbound.write(ByteBuffer(string: message.rendered()))
            _ = try await replies.expect([250], after: "end of data")
            try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
        }
    }
}

/// An SMTP reply: its code and text lines.
struct SMTPReply {
    var code: Int
    var lines: [String]
    /// EHLO's keywords ("STARTTLS", "AUTH PLAIN LOGIN"), upper-cased, the greeting line left out.
    var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }
}

/// Reads multi-line SMTP replies ("250-…" lines up to "250 …") from the connection's bytes.
struct SMTPReplies {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var pending: [UInt8] = []

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func expect(_ codes: Set<Int>, after step: String) async throws -> SMTPReply {
        let reply = try await next()
        guard codes.contains(reply.code) else {
            let permanent = reply.code >= 500 && step.hasPrefix("RCPT")
            throw DeliveryFailure("\(step): \(reply.code) \(reply.lines.joined(separator: " / "))", permanent: permanent)
        }
        return reply
    }

    private mutating func next() async throws -> SMTPReply {
        var lines: [String] = []
        while true {
            let line = try await nextLine()
            guard line.count >= 3, let code = Int(line.prefix(3)) else { throw DeliveryFailure("not an SMTP reply: \(line.prefix(100))") }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return SMTPReply(code: code, lines: lines) }
        }
    }

    private mutating func nextLine() async throws -> String {
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<end], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                pending.removeSubrange(...end)
                return line
            }
            guard var buffer = try await iterator.next() else { throw DeliveryFailure("the server closed the connection") }
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
    }
}

/// Runs `body`, failing with a `DeliveryFailure` when it takes longer than `seconds`.
func withTimeout<T: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeliveryFailure("no answer within \(seconds) s")
        }
        return value
    }
}

extension String {
    /// Whether this is an IPv4 or IPv6 address rather than a host name.
    var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, self, &v4) == 1 || inet_pton(AF_INET6, self, &v6) == 1
    }
}
