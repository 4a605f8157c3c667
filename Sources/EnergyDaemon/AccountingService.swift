import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import ServiceLifecycle

/// Every `accounting_interval_ms` of real time, one pass of three steps, in this order: accounting turns newly
/// stored samples into rollups, the alert checks judge what was accounted, and the monthly report is queued once a
/// month has closed. On shutdown (after the writer's last commit) it makes one more pass.
struct AccountingService: Service {
    let accountant: Accountant
    let checker: AlertChecker
    let reporter: MonthlyReporter
    let configuration: @Sendable () -> EnergyConfiguration
    let logger: Logger

    func run() async throws {
        let interval = configuration().daemon.accountingIntervalMs
        let saved = await checker.savedProgress()
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
        // Checks judge the data as far as it was stored when this pass began, not the clock: a meter is offline
        // when readings (its own failed ones included) have moved on without it, and a day is closed when the
        // readings after its end are in. Taken before accounting, so that everything up to it is accounted.
        guard let horizon = await accountant.pass(configuration) else { return }
        await checker.pass(configuration, horizonMs: horizon, progress: &progress)
        // Apart from the checks: a report that cannot be built must hold back no alert.
        await reporter.pass(configuration, horizonMs: horizon)
    }
}

/// Accounts the samples stored since the last pass into rollups.
struct Accountant {
    let store: EnergyStore
    let logger: Logger
    /// Told the earliest time whose rollups or alerts a pass changed (the console's figures from then on are stale).
    let changed: @Sendable (Int64) -> Void

    /// The newest sample's time before the pass (what the checks may judge), or nil when there is none or it failed.
    func pass(_ configuration: EnergyConfiguration) async -> Int64? {
        do {
            let horizon = try await store.newestSampleMs()
            let pass = try await store.account(calendar: configuration.calendar)
            if let earliest = pass.earliestChangeMs { changed(earliest) }
            if pass.readings > 0 {
                logger.debug(
                    "accounted",
                    metadata: ["series": "\(pass.seriesUpdated)", "readings": "\(pass.readings)", "quarters": "\(pass.quarters)"])
            }
            return horizon
        } catch {
            logger.error("accounting pass failed; it is retried at the next one", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
