import AlertDelivery
import EnergyModel
import EnergyStore
import Logging

/// Queues the district's monthly report for the configured channels once a month has closed.
struct MonthlyReporter {
    let store: EnergyStore
    let realTime: any WallClock
    let logger: Logger

    func pass(_ configuration: EnergyConfiguration, horizonMs: Int64) async {
        do {
            for month in try await MonthlyReportMail(store: store, configuration: configuration).queueClosedMonths(
                horizonMs: horizonMs, wallMs: realTime.nowMs())
            {
                logger.notice("monthly report queued", metadata: ["month": "\(month)"])
            }
        } catch {
            logger.error("cannot queue the monthly report; retried at the next pass", metadata: ["error": "\(error)"])
        }
    }
}
