import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging

/// Runs the alert checks over what was accounted, raises and clears alerts in the store (queueing their messages in
/// the outbox in the same transaction) and appends them to the alert log.
struct AlertChecker {
    let store: EnergyStore
    let alertLog: AlertLog
    /// When energyd started, on the readings' clock (nothing is offline for longer than energyd has run).
    let startedMs: Int64
    /// Real time, for outbox retries and digests (for people, whatever clock the readings follow).
    let realTime: any WallClock
    let logger: Logger
    let changed: @Sendable (Int64) -> Void

    /// Where the checks stood at the last stop.
    func savedProgress() async -> CheckProgress {
        do {
            return try await CheckProgress.load(from: store)
        } catch {
            logger.error("cannot read where the checks stood; judging from the last closed day", metadata: ["error": "\(error)"])
            return CheckProgress()
        }
    }

    func pass(_ configuration: EnergyConfiguration, horizonMs: Int64, progress: inout CheckProgress) async {
        let calendar = configuration.calendar
        do {
            let checks = AlertChecks(store: store, configuration: configuration, startedMs: startedMs)
            for batch in try await checks.batches(nowMs: horizonMs, open: try await store.alerts.openKeys(), progress: &progress) {
                let (raise, clear) = AlertTransitions.decide(batch.findings, open: try await store.alerts.openKeys())
                let time = ISO8601Time.format(ms: batch.timeMs, timeZone: calendar.timeZone)
                try await store.alerts.record(
                    raise: raise.map { AlertRecord($0, state: .raised, time: time) },
                    clear: clear.map { AlertRecord($0, state: .cleared, time: time) }, atMs: batch.timeMs,
                    routing: routing(configuration.delivery))
                // An enterprise's report lists its open alerts, whatever its period.
                if !raise.isEmpty || !clear.isEmpty { changed(.min) }
                for (finding, what) in raise.map({ ($0, "alert raised") }) + clear.map({ ($0, "alert cleared") }) {
                    logger.notice(
                        "\(what)",
                        metadata: ["kind": "\(finding.kind.rawValue)", "key": "\(finding.key)", "enterprise": "\(finding.enterprise.id)"])
                }
            }
            try await progress.save(to: store)
            let pending = try await store.alerts.pendingLogLines()
            try await alertLog.append(pending.map(\.line))
            try await store.alerts.markLogged(pending)
        } catch {
            logger.error("alert checks failed; they are retried at the next pass", metadata: ["error": "\(error)"])
        }
    }

    /// How recorded alerts are queued for the configured routes; nil (nothing queued) without routes.
    func routing(_ delivery: DeliverySettings) -> OutboxRouting? {
        guard !delivery.routes.isEmpty else { return nil }
        return OutboxRouting(nowMs: realTime.nowMs(), digestIntervalMs: Int64(delivery.digestIntervalSeconds) * 1000) { record in
            delivery.targets(record.kind, record.severity, jurisdiction: record.enterprise.jurisdiction, enterprise: record.enterprise.id)
        }
    }
}
