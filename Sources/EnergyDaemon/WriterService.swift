import EnergyStore
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
