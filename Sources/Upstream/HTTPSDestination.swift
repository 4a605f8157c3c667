import AsyncHTTPClient
import Crypto
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A platform that takes the figures as JSON over HTTPS: one POST per shipment, acknowledged by any 2xx answer;
/// anything else (or no answer) is retried with back-off, the same body with the same `Idempotency-Key`.
///
/// Requests carry `X-Energy-Site`, and either `X-Energy-Timestamp` with `X-Energy-Signature: sha256=HEX` (the
/// HMAC-SHA256 of "TIMESTAMP.BODY" under the shared secret, as energyd's alert webhooks) or `Authorization: Bearer`.
public final class HTTPSDestination: UpstreamDestination {
    let config: UpstreamConfig
    private let client: HTTPClient

    public init(_ config: UpstreamConfig) {
        self.config = config
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = config.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(Int64(config.timeoutSeconds)), read: .seconds(Int64(config.timeoutSeconds)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func close() async { try? await client.shutdown() }

    public func ship(_ shipment: Shipment) async throws -> Int {
        let body: Data
        let key: String
        switch config.format {
        case .energyMonitorV1: (body, key) = try EnergyMonitorV1.encode(shipment, sentAt: Date())
        }
        var request = HTTPClientRequest(url: config.url ?? "")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "energyd")
        request.headers.add(name: "X-Energy-Site", value: shipment.site.id)
        request.headers.add(name: "Idempotency-Key", value: key)
        switch config.auth {
        case .hmac:
            let timestamp = String(Int64(Date().timeIntervalSince1970))
            let mac = HMAC<SHA256>.authenticationCode(
                for: Data((timestamp + ".").utf8) + body, using: SymmetricKey(data: Data((config.secret ?? "").utf8)))
            request.headers.add(name: "X-Energy-Timestamp", value: timestamp)
            request.headers.add(name: "X-Energy-Signature", value: "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        case .bearer:
            request.headers.add(name: "Authorization", value: "Bearer " + (config.secret ?? ""))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(Int64(config.timeoutSeconds)))
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw UpstreamFailure("\(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            throw UpstreamFailure("HTTP \(response.status.code): \(String(buffer: answer).prefix(200))")
        }
        return shipment.rowCount
    }
}

/// energy-monitor's own JSON layout, version 1 (docs/UPSTREAM.md): a shipment is a list of batches, each of one
/// kind, one enterprise and one period, stamped with the period's start; items replace those with the same key.
enum EnergyMonitorV1 {
    struct Body: Encodable {
        var format = "energy-monitor-v1"
        var site: Site
        /// When this attempt was sent; left out of what the idempotency key covers.
        var sent_at: String?
        var batches: [Batch]
    }

    struct Batch: Encodable {
        /// quarter, daily, monthly or alert.
        var type: String
        var enterprise: String
        /// Start of the period, ISO 8601 with the site's offset; the alert's raising time for alerts.
        var period_start: String
        /// The figures; each replaces the one with its key upstream (docs/UPSTREAM.md).
        var items: [Item]
        var products: [ProductFigure]?
    }

    /// One figure; which fields are set depends on the batch's type.
    struct Item: Encodable {
        var meter: String?
        var point: String?
        var quantity: String?
        var energy: String?
        var product: String?
        /// "metered" or "entered" (by hand), for daily and monthly items.
        var source: String?
        var unit: String?
        var amount: Double?
        var estimated: Double?
        var good: Int?
        var completeness: Double?
        var kgce: Double?
        var factor: Double?
        var alert: StoredAlertItem?
    }

    struct StoredAlertItem: Encodable {
        var id: Int64
        var raised_at: String
        var cleared_at: String?
        var raised: AlertRecord
        var cleared: AlertRecord?
    }

    static func encode(_ shipment: Shipment, sentAt: Date) throws -> (body: Data, idempotencyKey: String) {
        let zone = TimeZone(identifier: shipment.site.timeZone) ?? TimeZone(identifier: "UTC")!
        func time(_ ms: Int64) -> String { ISO8601Time.format(ms: ms, timeZone: zone) }
        var batches: [Batch] = []
        let quarters = Dictionary(grouping: shipment.quarters) { "\($0.enterprise)|\($0.bucketMs)" }
        for key in quarters.keys.sorted() {
            let rows = quarters[key]!
            batches.append(
                Batch(
                    type: "quarter", enterprise: rows[0].enterprise, period_start: time(rows[0].bucketMs),
                    items: rows.map {
                        Item(
                            meter: $0.meter, point: $0.point, quantity: $0.quantity, energy: $0.energy, unit: $0.unit,
                            amount: $0.amount.units,
                            estimated: $0.estimated.units, good: $0.good, kgce: $0.kgce)
                    }))
        }
        for figures in shipment.enterprises {
            for (type, periods) in [("daily", figures.days), ("monthly", figures.months)] {
                for period in periods {
                    batches.append(
                        Batch(
                            type: type, enterprise: figures.enterprise.id, period_start: time(period.startMs),
                            items: period.lines.map {
                                Item(
                                    quantity: $0.quantity, energy: $0.energy, product: $0.product, source: $0.source, unit: $0.unit,
                                    amount: $0.amount,
                                    estimated: $0.estimated, completeness: $0.completeness, kgce: $0.kgce, factor: $0.factor)
                            },
                            products: type == "monthly" ? figures.products.filter { $0.monthStartMs == period.startMs } : nil))
                }
            }
        }
        for alert in shipment.alerts {
            batches.append(
                Batch(
                    type: "alert", enterprise: alert.raised.enterprise.id, period_start: time(alert.raisedAtMs),
                    items: [
                        Item(
                            alert: StoredAlertItem(
                                id: alert.id, raised_at: time(alert.raisedAtMs), cleared_at: alert.clearedAtMs.map(time),
                                raised: alert.raised,
                                cleared: alert.cleared))
                    ]))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The key is the SHA-256 of the content without the sending time: a resend of the same figures carries the
        // first attempt's key, whenever it is sent.
        let content = try encoder.encode(Body(site: shipment.site, sent_at: nil, batches: batches))
        let key = SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
        let body = try encoder.encode(
            Body(site: shipment.site, sent_at: time(Int64(sentAt.timeIntervalSince1970 * 1000)), batches: batches))
        return (body, key)
    }
}
