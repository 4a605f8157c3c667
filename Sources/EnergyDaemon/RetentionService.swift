import EnergyModel
import EnergyStore
import Logging
import ServiceLifecycle

/// Prunes raw samples older than the retention, at start and then hourly.
public struct RetentionService: Service {
    let store: EnergyStore
    let retentionDays: Int
    let clock: any WallClock
    let logger: Logger

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let cutoff = clock.nowMs() - Int64(retentionDays) * 86_400_000
                do {
                    let deleted = try await store.pruneSamples(beforeMs: cutoff)
                    if deleted > 0 { logger.info("pruned raw samples", metadata: ["deleted": "\(deleted)"]) }
                } catch {
                    logger.error("cannot prune raw samples", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
