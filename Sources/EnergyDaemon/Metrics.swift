import AlertDelivery
import EnergyModel
import EnergyStore
import Foundation
import ModbusPolling

/// Renders energyd's state in the Prometheus text exposition format (version 0.0.4).
enum MetricsText {

    static func render(
        gateways: [(id: String, counters: GatewayCounters)], writer: WriterCounters, databaseBytes: Int64, openAlerts: [String: Int],
        outbox: [OutboxBacklog] = [], deliveries: [String: ChannelCounts] = [:], upstream: [UpstreamStatus] = [], nowMs: Int64
    ) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ value: Double, labels: [(String, String)] = []) {
            let text = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(name)\(text) \(format(value))\n"
        }
        let perGateway: [(String, String, String, (GatewayCounters) -> Double)] = [
            ("energyd_polls_total", "counter", "Meter polls (all requests of a meter at one tick).", { Double($0.polls) }),
            (
                "energyd_poll_failures_total", "counter", "Polls in which a request failed or the meter was not reached.",
                { Double($0.pollFailures) }
            ),
            ("energyd_requests_total", "counter", "Modbus requests sent (function 3 or 4).", { Double($0.requests) }),
            ("energyd_request_failures_total", "counter", "Requests without a valid answer.", { Double($0.requestFailures) }),
            ("energyd_connects_total", "counter", "Connections opened.", { Double($0.connects) }),
            ("energyd_connect_failures_total", "counter", "Connection attempts that failed.", { Double($0.connectFailures) }),
            ("energyd_missed_ticks_total", "counter", "Ticks passed without a poll, recorded as comm-fail.", { Double($0.missedTicks) }),
            ("energyd_samples_polled_total", "counter", "Samples handed to the writer.", { Double($0.samples) }),
            ("energyd_meters_online", "gauge", "Meters whose last poll succeeded.", { Double($0.metersOnline) }),
            ("energyd_meters_configured", "gauge", "Meters polled.", { Double($0.metersConfigured) }),
            ("energyd_gateway_connected", "gauge", "1 while the gateway's connection is open.", { $0.connected ? 1 : 0 }),
        ]
        for (name, type, help, value) in perGateway {
            family(name, type, help)
            for gateway in gateways { sample(name, value(gateway.counters), labels: [("gateway", gateway.id)]) }
        }
        for (name, help, histogram) in [
            ("energyd_request_duration_seconds", "Round-trip time of Modbus requests.", { (c: GatewayCounters) in c.roundTrip }),
            ("energyd_poll_lag_seconds", "How late polls start after their aligned tick (real time).", { (c: GatewayCounters) in c.lag }),
        ] {
            family(name, "histogram", help)
            for gateway in gateways {
                let values = histogram(gateway.counters)
                for bound in LatencyHistogram.boundsSeconds {
                    sample(name + "_bucket", Double(values.count(atMost: bound)), labels: [("gateway", gateway.id), ("le", format(bound))])
                }
                sample(name + "_bucket", Double(values.total), labels: [("gateway", gateway.id), ("le", "+Inf")])
                sample(name + "_sum", values.sumSeconds, labels: [("gateway", gateway.id)])
                sample(name + "_count", Double(values.total), labels: [("gateway", gateway.id)])
            }
        }
        family("energyd_samples_written_total", "counter", "Samples committed to the database.")
        sample("energyd_samples_written_total", Double(writer.samplesWritten))
        family("energyd_write_batches_total", "counter", "Transactions committed by the writer.")
        sample("energyd_write_batches_total", Double(writer.batches))
        family("energyd_write_failures_total", "counter", "Batches that failed to commit (kept and retried).")
        sample("energyd_write_failures_total", Double(writer.failures))
        family("energyd_samples_rejected_total", "counter", "Samples that can never be stored (set aside and logged).")
        sample("energyd_samples_rejected_total", Double(writer.rejected))
        family("energyd_samples_dropped_total", "counter", "Oldest samples dropped while the write buffer was full.")
        sample("energyd_samples_dropped_total", Double(writer.dropped))
        family(
            "energyd_writer_seconds_since_commit", "gauge",
            "Seconds since the writer last committed (a stall while the disk refuses writes).")
        sample("energyd_writer_seconds_since_commit", Double(max(0, nowMs - writer.lastProgressRealMs)) / 1000)
        family("energyd_writer_queue_depth", "gauge", "Samples waiting to be committed.")
        sample("energyd_writer_queue_depth", Double(writer.queueDepth))
        family("energyd_database_size_bytes", "gauge", "Size of the SQLite file and its WAL.")
        sample("energyd_database_size_bytes", Double(databaseBytes))
        family("energyd_open_alerts", "gauge", "Alerts raised and not cleared, by kind.")
        for (kind, count) in openAlerts.sorted(by: { $0.key < $1.key }) {
            sample("energyd_open_alerts", Double(count), labels: [("kind", kind)])
        }
        family(
            "energyd_outbox_messages", "gauge",
            "Outbox messages by channel and state (pending, held for a digest, delivered, dead, merged).")
        for line in outbox {
            sample("energyd_outbox_messages", Double(line.count), labels: [("channel", line.channel), ("state", line.state.rawValue)])
        }
        family("energyd_outbox_oldest_pending_seconds", "gauge", "Age of the oldest message waiting to be delivered, by channel.")
        for line in outbox where line.state == .pending {
            sample(
                "energyd_outbox_oldest_pending_seconds", Double(max(0, nowMs - line.oldestCreatedAtMs)) / 1000,
                labels: [("channel", line.channel)])
        }
        for (name, help, value) in [
            (
                "energyd_outbox_delivered_total", "Messages acknowledged by their channel since start.",
                { (c: ChannelCounts) in c.delivered }
            ),
            ("energyd_outbox_failed_attempts_total", "Delivery attempts that failed since start.", { (c: ChannelCounts) in c.failed }),
            ("energyd_outbox_given_up_total", "Messages moved to the dead letters since start.", { (c: ChannelCounts) in c.givenUp }),
        ] {
            family(name, "counter", help)
            for (channel, counts) in deliveries.sorted(by: { $0.key < $1.key }) {
                sample(name, Double(value(counts)), labels: [("channel", channel)])
            }
        }
        let seconds = { (ms: Int64?) in ms.map { Double($0) / 1000 } }
        for (name, type, help, value) in [
            (
                "energyd_upstream_backlog", "gauge", "Series, enterprises and alerts whose figures wait to be shipped, by destination.",
                {
                    (u: UpstreamStatus) in Double(u.backlog)
                }
            ),
            (
                "energyd_upstream_complete_before_timestamp_seconds", "gauge",
                "Every figure before this time is shipped as it stands (absent: nothing waits).",
                { (u: UpstreamStatus) in seconds(u.completeBeforeMs) }
            ),
            (
                "energyd_upstream_oldest_queued_seconds", "gauge", "Age of the oldest change waiting to be shipped.",
                { (u: UpstreamStatus) in u.oldestQueuedAtMs.map { Double(max(0, nowMs - $0)) / 1000 } }
            ),
            (
                "energyd_upstream_shipped_rows_total", "counter", "Rows the destination acknowledged since it was registered.",
                {
                    (u: UpstreamStatus) in Double(u.shippedRows)
                }
            ),
            (
                "energyd_upstream_failures", "gauge", "Failed rounds since the last acknowledged one.",
                { (u: UpstreamStatus) in Double(u.failures) }
            ),
            (
                "energyd_upstream_last_success_timestamp_seconds", "gauge", "When the destination last acknowledged a round.",
                {
                    (u: UpstreamStatus) in seconds(u.lastSuccessAtMs)
                }
            ),
            (
                "energyd_upstream_last_error_timestamp_seconds", "gauge", "When a round last failed.",
                { (u: UpstreamStatus) in seconds(u.lastErrorAtMs) }
            ),
        ] as [(String, String, String, (UpstreamStatus) -> Double?)] {
            family(name, type, help)
            for destination in upstream {
                if let v = value(destination) { sample(name, v, labels: [("destination", destination.name), ("type", destination.kind)]) }
            }
        }
        family("energyd_upstream_last_error_info", "gauge", "The destination's last error, in the label (1 while failing).")
        for destination in upstream {
            if let error = destination.lastError {
                sample(
                    "energyd_upstream_last_error_info", destination.failures > 0 ? 1 : 0,
                    labels: [("destination", destination.name), ("error", String(error.prefix(200)))])
            }
        }
        return out
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
