import AlertDelivery
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import ServiceLifecycle

/// Accounts newly stored samples into rollups, then runs the alert checks, every `accounting_interval_ms` of real
/// time; raises and clears alerts in the store (queueing their messages in the outbox in the same transaction) and
/// appends them to the alert log; queues the monthly report once a month has closed. On shutdown (after the
/// writer's last commit) it makes one more pass.
struct AccountingService: Service {
    let store: EnergyStore
    let alertLog: AlertLog
    let configuration: @Sendable () -> EnergyConfiguration
    let startedMs: Int64
    let logger: Logger
    /// Told the earliest time whose rollups or alerts a pass changed (the console's figures from then on are stale).
    var changed: @Sendable (Int64) -> Void = { _ in }

    func run() async throws {
        let interval = configuration().daemon.accountingIntervalMs
        let saved: CheckProgress
        do {
            saved = try await CheckProgress.load(from: store)
        } catch {
            logger.error("cannot read where the checks stood; judging from the last closed day", metadata: ["error": "\(error)"])
            saved = CheckProgress()
        }
        let progress = await cancelWhenGracefulShutdown {
            var progress = saved
            while !Task.isCancelled {
                await pass(&progress)
                try? await Task.sleep(for: .milliseconds(interval))
            }
            return progress
        }
        // The last pass must survive the cancellation that ended the loop: a task of its own.
        await Task {
            var last = progress
            await pass(&last)
        }.value
    }

    private func pass(_ progress: inout CheckProgress) async {
        let configuration = configuration()
        let calendar = configuration.calendar
        // Checks judge the data as far as it was stored when this pass began, not the clock: a meter is offline
        // when readings (its own failed ones included) have moved on without it, and a day is closed when the
        // readings after its end are in. Taken before accounting, so that everything up to it is accounted.
        let horizon: Int64?
        do {
            horizon = try await store.newestSampleMs()
            let pass = try await store.account(calendar: calendar)
            if let earliest = pass.earliestChangeMs { changed(earliest) }
            if pass.readings > 0 {
                logger.debug(
                    "accounted",
                    metadata: ["series": "\(pass.seriesUpdated)", "readings": "\(pass.readings)", "quarters": "\(pass.quarters)"])
            }
        } catch {
            logger.error("accounting pass failed; it is retried at the next one", metadata: ["error": "\(error)"])
            return
        }
        guard let now = horizon else { return }
        do {
            let checks = AlertChecks(store: store, configuration: configuration, startedMs: startedMs)
            for batch in try await checks.batches(nowMs: now, open: try await store.openAlertKeys(), progress: &progress) {
                let (raise, clear) = AlertTransitions.decide(batch.findings, open: try await store.openAlertKeys())
                let time = ISO8601Time.format(ms: batch.timeMs, timeZone: calendar.timeZone)
                try await store.record(
                    raise: raise.map { AlertRecord($0, state: .raised, time: time) },
                    clear: clear.map { AlertRecord($0, state: .cleared, time: time) }, atMs: batch.timeMs,
                    routing: Self.routing(configuration.delivery))
                // An enterprise's report lists its open alerts, whatever its period.
                if !raise.isEmpty || !clear.isEmpty { changed(.min) }
                for finding in raise {
                    logger.notice(
                        "alert raised",
                        metadata: ["kind": "\(finding.kind.rawValue)", "key": "\(finding.key)", "enterprise": "\(finding.enterprise.id)"])
                }
                for finding in clear {
                    logger.notice(
                        "alert cleared",
                        metadata: ["kind": "\(finding.kind.rawValue)", "key": "\(finding.key)", "enterprise": "\(finding.enterprise.id)"])
                }
            }
            try await progress.save(to: store)
            let pending = try await store.pendingAlertLines()
            try await alertLog.append(pending.map(\.line))
            try await store.markLogged(pending)
        } catch {
            logger.error("alert checks failed; they are retried at the next pass", metadata: ["error": "\(error)"])
        }
        // Apart from the checks: a report that cannot be built must hold back no alert.
        do {
            for month in try await MonthlyReportMail(store: store, configuration: configuration).queueClosedMonths(
                horizonMs: now, wallMs: SystemWallClock().nowMs())
            {
                logger.notice("monthly report queued", metadata: ["month": "\(month)"])
            }
        } catch {
            logger.error("cannot queue the monthly report; retried at the next pass", metadata: ["error": "\(error)"])
        }
    }
}

extension AccountingService {
    /// How recorded alerts are queued for the configured routes; nil (nothing queued) without routes.
    static func routing(_ delivery: DeliverySettings) -> OutboxRouting? {
        guard !delivery.routes.isEmpty else { return nil }
        // Real time, whatever clock the readings follow: retries and digests are for people.
        return OutboxRouting(nowMs: SystemWallClock().nowMs(), digestIntervalMs: Int64(delivery.digestIntervalSeconds) * 1000) { record in
            delivery.targets(record.kind, record.severity, jurisdiction: record.enterprise.jurisdiction, enterprise: record.enterprise.id)
        }
    }
}
