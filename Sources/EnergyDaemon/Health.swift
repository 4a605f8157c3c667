import EnergyModel
import EnergyStore
import Foundation
import ModbusPolling

/// Whether energyd makes progress: every polling thread alive and the writer committing.
public struct HealthReport: Sendable, Codable {
    /// Nothing stalled.
    public var healthy: Bool
    /// The process works even if the disk does not take writes: every polling thread beats and the writer keeps
    /// trying (holding samples in its bounded buffer). What the systemd watchdog is fed on: a restart would lose
    /// the samples held and cure no full or locked disk.
    public var alive: Bool
    /// Why not, for people.
    public var problems: [String]
    /// Meters whose last poll succeeded, and meters polled.
    public var metersOnline: Int
    public var meters: Int
    /// Gateways connected, and gateways polled.
    public var gatewaysConnected: Int
    public var gateways: Int
    /// Samples committed since start.
    public var samplesWritten: UInt64
    /// Samples waiting to be committed.
    public var writerQueueDepth: Int

    /// The one-line status for systemd.
    public var status: String {
        "\(metersOnline)/\(meters) meters online, \(gatewaysConnected)/\(gateways) gateways connected, \(samplesWritten) samples written"
            + (healthy ? "" : "; " + problems.joined(separator: "; "))
    }

    /// Judges the pollers' heartbeats and the writer's progress at real time `nowMs`.
    public static func assess(pollers: [GatewayPoller], writer: WriterCounters, flushIntervalMs: Int, nowMs: Int64) -> HealthReport {
        var problems: [String] = []
        var alive = true
        var online = 0
        var meters = 0
        var connected = 0
        for poller in pollers {
            let counters = poller.statistics.snapshot
            online += counters.metersOnline
            meters += counters.metersConfigured
            connected += counters.connected ? 1 : 0
            // A thread wakes every second; a read blocks at most its timeout, three reads in a row at worst.
            let allowedMs = max(10_000, 3 * Int64(poller.gateway.timeoutMs) + 2_000)
            if nowMs - counters.lastProgressRealMs > allowedMs {
                problems.append("poller \(poller.gateway.id) silent for \((nowMs - counters.lastProgressRealMs) / 1000) s")
                alive = false
            }
        }
        let writerAllowedMs = max(10_000, 5 * Int64(flushIntervalMs))
        if nowMs - writer.lastProgressRealMs > writerAllowedMs {
            problems.append(
                "writer has not committed for \((nowMs - writer.lastProgressRealMs) / 1000) s"
                    + (writer.lastError.map { " (\($0)); \(writer.queueDepth) samples held" } ?? ""))
        }
        // An attempt waits up to the database's 10 s busy timeout; a writer silent for a minute is stuck.
        if nowMs - writer.lastAttemptRealMs > max(60_000, writerAllowedMs) {
            problems.append("writer stuck: no commit attempted for \((nowMs - writer.lastAttemptRealMs) / 1000) s")
            alive = false
        }
        return HealthReport(
            healthy: problems.isEmpty, alive: alive, problems: problems, metersOnline: online, meters: meters, gatewaysConnected: connected,
            gateways: pollers.count, samplesWritten: writer.samplesWritten, writerQueueDepth: writer.queueDepth)
    }
}
