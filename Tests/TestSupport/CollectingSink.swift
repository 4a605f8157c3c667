import EnergyModel
import Synchronization

/// A sample sink that keeps everything it is given, for tests that poll without a database.
public final class CollectingSink: SampleSink {
    private let collected = Mutex<[Sample]>([])

    /// An empty sink.
    public init() {}

    public func submit(_ samples: [Sample]) { collected.withLock { $0 += samples } }

    /// Everything submitted so far.
    public var samples: [Sample] { collected.withLock { $0 } }

    /// Waits until the samples satisfy `condition`.
    public func wait(timeout: Duration = .seconds(10), until condition: ([Sample]) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { condition(samples) }
    }
}
