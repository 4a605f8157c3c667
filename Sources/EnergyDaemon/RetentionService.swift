import EnergyModel
import EnergyStore
import Logging
import ServiceLifecycle

/// Prunes raw samples and 15-minute and hourly rollups older than their retentions, and outbox messages delivered
/// more than 90 days ago (their alerts stay), at start and then hourly. Daily and monthly rollups are kept for good.
public struct RetentionService: Service {
    let store: EnergyStore
    let rawRetentionDays: Int
    let rollupRetentionDays: Int
    /// The readings' clock (samples and rollups are pruned by it).
    let clock: any WallClock
    /// Real time (outbox times are real time, whatever clock the readings follow).
    let realTime: any WallClock
    let logger: Logger

    /// How long delivered messages stay in the outbox, for `energyctl outbox list`.
    static let deliveredKeptMs: Int64 = 90 * 86_400_000

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = clock.nowMs()
                do {
                    let deleted = try await store.pruneSamples(beforeMs: now - Int64(rawRetentionDays) * 86_400_000)
                    if deleted > 0 { logger.info("pruned raw samples", metadata: ["deleted": "\(deleted)"]) }
                    let rollups = try await store.pruneRollups(beforeMs: now - Int64(rollupRetentionDays) * 86_400_000)
                    if rollups > 0 { logger.info("pruned 15-minute and hourly rollups", metadata: ["deleted": "\(rollups)"]) }
                } catch {
                    logger.error("cannot prune raw samples or rollups", metadata: ["error": "\(error)"])
                }
                if let pruned = try? await store.outbox.prune(deliveredBeforeMs: realTime.nowMs() - Self.deliveredKeptMs),
                    pruned > 0
                {
                    logger.info("pruned delivered messages", metadata: ["deleted": "\(pruned)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
