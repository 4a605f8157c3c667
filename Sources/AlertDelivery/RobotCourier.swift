import AsyncHTTPClient
import Crypto
import EnergyModel
import EnergyStore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Why an attempt failed: retried with back-off, unless the channel refused the message for good.
public struct DeliveryFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// A refusal that repeating cannot change (HTTP 400, 404, …): the message goes straight to the dead letters.
    public var permanent: Bool

    public init(_ description: String, permanent: Bool = false) {
        self.description = description
        self.permanent = permanent
    }
}

/// Sends messages to one channel; done when the channel acknowledged, throws otherwise.
public protocol Courier: Sendable {
    func deliver(_ content: MessageContent, messageID: String) async throws
    /// Releases connections; called once, when the channel is no longer served.
    func shutdown() async
}

extension Courier {
    public func shutdown() async {}
}

/// Builds the courier for a channel.
public enum Couriers {
    public static func make(_ channel: ChannelConfig) throws -> any Courier {
        switch channel.kind {
        case .webhook, .wecom, .dingtalk: try HTTPCourier(channel)
        case .email: try MailCourier(channel)
        }
    }

    /// TLS with the system's trust roots, plus the channel's own CA when it names one.
    static func tlsConfiguration(_ channel: ChannelConfig) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = channel.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        return tls
    }
}

/// The generic webhook, WeCom's group robot and DingTalk's robot: an HTTPS POST of JSON.
///
/// Webhook requests carry `X-Energy-Timestamp` (Unix seconds) and `X-Energy-Signature: sha256=HEX`, the HMAC-SHA256
/// of "TIMESTAMP.BODY" under the channel's secret, and `Idempotency-Key`, the same for every attempt of a message.
/// WeCom and DingTalk take their documented `text` messages and acknowledge with `errcode` 0; DingTalk's
/// signed-request mode adds `timestamp` and `sign` (Base64 of the HMAC-SHA256 of "TIMESTAMP\nSECRET") to the URL.
final class HTTPCourier: Courier {
    let channel: ChannelConfig
    private let client: HTTPClient

    init(_ channel: ChannelConfig) throws {
        self.channel = channel
        var configuration = HTTPClient.Configuration(tlsConfiguration: Couriers.tlsConfiguration(channel), redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(Int64(channel.timeoutSeconds)), read: .seconds(Int64(channel.timeoutSeconds)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await client.shutdown() }

    func deliver(_ content: MessageContent, messageID: String) async throws {
        let now = Date()
        var url = channel.url ?? ""
        let body: Data
        var request = HTTPClientRequest(url: url)
        switch channel.kind {
        case .webhook:
            body = try Self.webhookBody(content, messageID: messageID)
            let timestamp = String(Int64(now.timeIntervalSince1970))
            request.headers.add(name: "X-Energy-Timestamp", value: timestamp)
            request.headers.add(
                name: "X-Energy-Signature", value: "sha256=" + Self.hmacHex(key: channel.secret ?? "", Data((timestamp + ".").utf8) + body))
            request.headers.add(name: "Idempotency-Key", value: messageID)
        case .wecom:
            body = try Self.robotText(content, limitBytes: 2048)
        case .dingtalk:
            body = try Self.robotText(content, limitBytes: 4000)
            if let secret = channel.secret {
                let timestamp = String(Int64(now.timeIntervalSince1970 * 1000))
                url += "&timestamp=\(timestamp)&sign=" + Self.dingTalkSign(timestamp: timestamp, secret: secret)
            }
        case .email:
            throw DeliveryFailure("an e-mail channel has no URL", permanent: true)
        }
        request.url = url
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "energyd")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(Int64(channel.timeoutSeconds)))
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw DeliveryFailure("\(error)")
        }
        let text = String(buffer: answer)
        guard (200..<300).contains(response.status.code) else {
            let code = response.status.code
            throw DeliveryFailure("HTTP \(code): \(text.prefix(200))", permanent: (400..<500).contains(code) && code != 408 && code != 429)
        }
        if channel.kind != .webhook {
            // The robots answer 200 to a refused message too; only errcode 0 means it was posted.
            struct Answer: Decodable {
                var errcode: Int?
                var errmsg: String?
            }
            guard let decoded = try? JSONDecoder().decode(Answer.self, from: Data(text.utf8)), let errcode = decoded.errcode else {
                throw DeliveryFailure("answer without errcode: \(text.prefix(200))")
            }
            guard errcode == 0 else { throw DeliveryFailure("errcode \(errcode): \(decoded.errmsg ?? "")") }
        }
    }

    /// The webhook's JSON: the message id, its kind, the Chinese text, and the alert records.
    static func webhookBody(_ content: MessageContent, messageID: String) throws -> Data {
        struct Body: Encodable {
            var message_id: String
            var type: String
            var subject: String
            var text: String
            var alerts: [AlertRecord]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(
            Body(
                message_id: messageID, type: content.kind.rawValue, subject: content.subject,
                text: content.body, alerts: content.records))
    }

    /// A robot's `text` message, cut to its size limit on a character boundary.
    static func robotText(_ content: MessageContent, limitBytes: Int) throws -> Data {
        var text = content.subject + "\n" + content.body
        while text.utf8.count > limitBytes { text = String(text.prefix(text.count - max(1, (text.utf8.count - limitBytes) / 3))) }
        return try JSONSerialization.data(withJSONObject: ["msgtype": "text", "text": ["content": text]], options: [.sortedKeys])
    }

    static func hmacHex(key: String, _ data: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(key.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    /// DingTalk's `sign`: Base64 of HMAC-SHA256("TIMESTAMP\nSECRET") keyed by the secret, URL-encoded.
    static func dingTalkSign(timestamp: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let base64 = Data(mac).base64EncodedString()
        return base64.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? base64
    }
}
