import EnergyModel
import EnergyStore
import Logging
import ServiceLifecycle

/// Prunes raw samples older than the retention, and outbox messages delivered more than 90 days ago (their alerts
/// stay), at start and then hourly.
public struct RetentionService: Service {
    let store: EnergyStore
    let retentionDays: Int
    let clock: any WallClock
    let logger: Logger

    /// How long delivered messages stay in the outbox, for `energyctl outbox list`.
    static let deliveredKeptMs: Int64 = 90 * 86_400_000

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
                // Outbox times are real time, whatever clock the readings follow.
                if let pruned = try? await store.pruneOutbox(deliveredBeforeMs: SystemWallClock().nowMs() - Self.deliveredKeptMs),
                    pruned > 0
                {
                    logger.info("pruned delivered messages", metadata: ["deleted": "\(pruned)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
