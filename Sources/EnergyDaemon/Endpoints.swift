import AlertDelivery
import EnergyModel
import EnergyStore
import Foundation
import ModbusPolling
import NIOHTTP1
import Synchronization
import WebConsole

/// /healthz and /metrics for the local monitoring, beside the console on the same endpoint.
extension Daemon {
    /// Whether the pollers and the writer make progress.
    public func health() async -> HealthReport {
        var report = HealthReport.assess(
            pollers: await polling.running, writer: writer.snapshot, flushIntervalMs: configuration.daemon.writeFlushIntervalMs,
            nowMs: options.realTime.nowMs())
        if databaseLost.load(ordering: .relaxed) {
            report.healthy = false
            report.problems.append("database file \(store.path) was deleted or replaced; energyd saves what it holds there and restarts")
        }
        return report
    }

    /// Answers /healthz and /metrics, and passes the rest to the console.
    func answer(_ request: HTTPRequest) async -> HTTPAnswer {
        if let answer = await console.answer(request) { return answer }
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPAnswer(status: .methodNotAllowed, contentType: "text/plain", body: "GET only\n")
        }
        switch request.path {
        case "/healthz":
            let report = await health()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? String(decoding: encoder.encode(report), as: UTF8.self)) ?? "{}"
            return HTTPAnswer(status: report.healthy ? .ok : .serviceUnavailable, contentType: "application/json", body: body + "\n")
        case "/metrics":
            let gateways = await polling.running.map { ($0.gateway.id, $0.statistics.snapshot) }
            let text = MetricsText.render(
                gateways: gateways, writer: writer.snapshot, databaseBytes: (try? await store.databaseBytes()) ?? 0,
                openAlerts: (try? await store.alerts.openCounts()) ?? [:], outbox: (try? await store.outbox.backlog()) ?? [],
                deliveries: sender.channelCounts, upstream: (try? await store.upstream.status()) ?? [], nowMs: options.realTime.nowMs())
            return HTTPAnswer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: text)
        default:
            return HTTPAnswer(
                status: .notFound, contentType: "text/plain", body: "energyd serves the console at /, /api/v1/, /healthz and /metrics\n")
        }
    }
}
