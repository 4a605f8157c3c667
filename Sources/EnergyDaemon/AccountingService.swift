import EnergyModel
import EnergyStore
import Foundation
import Logging
import ServiceLifecycle

/// Accounts newly stored samples into rollups every `intervalMs` of real time; on shutdown (after the writer's
/// last commit) one more pass, so that what was stored is also accounted.
struct AccountingService: Service {
    let store: EnergyStore
    let calendar: CalendarBuckets
    let intervalMs: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pass()
                try? await Task.sleep(for: .milliseconds(intervalMs))
            }
        }
        await Task { await pass() }.value
    }

    private func pass() async {
        do {
            let pass = try await store.account(calendar: calendar)
            if pass.readings > 0 {
                logger.debug(
                    "accounted",
                    metadata: ["series": "\(pass.seriesUpdated)", "readings": "\(pass.readings)", "quarters": "\(pass.quarters)"])
            }
        } catch {
            logger.error("accounting pass failed; it is retried at the next one", metadata: ["error": "\(error)"])
        }
    }
}
