import EnergyStore
import Logging
import ServiceLifecycle

/// Runs the batched sample writer; on shutdown (after the pollers have stopped) it commits what is left.
public struct WriterService: Service {
    /// The writer.
    public let writer: SampleWriter

    /// Wraps a writer.
    public init(writer: SampleWriter) { self.writer = writer }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await writer.run() }
    }
}

/// Checks every second that the database file is still at its path; when it was deleted or replaced, says so
/// and returns, which shuts energyd down gracefully (the writer commits what it holds, then the store is saved).
struct StoreGuardService: Service {
    let store: EnergyStore
    let lost: @Sendable () -> Void
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if !Task.isCancelled, !store.isStillAtItsPath {
                    logger.critical(
                        "the database file was deleted or replaced while open; saving what energyd holds and stopping",
                        metadata: ["database": "\(store.path)"])
                    lost()
                    return
                }
            }
        }
    }
}
