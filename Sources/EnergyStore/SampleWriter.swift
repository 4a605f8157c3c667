import EnergyModel
import GRDB
import Logging
import Synchronization

/// Counters of the writer, for metrics, health and the watchdog.
public struct WriterCounters: Sendable, Hashable {
    /// Samples committed.
    public var samplesWritten: UInt64 = 0
    /// Transactions committed.
    public var batches: UInt64 = 0
    /// Batches that failed to commit (their samples are retried).
    public var failures: UInt64 = 0
    /// Samples waiting in memory.
    public var queueDepth = 0
    /// Real time of the last commit (or of the last idle check), UTC epoch ms, for the watchdog.
    public var lastProgressRealMs: Int64 = 0

    /// Counters with the given values.
    public init(samplesWritten: UInt64 = 0, batches: UInt64 = 0, failures: UInt64 = 0, queueDepth: Int = 0, lastProgressRealMs: Int64 = 0) {
        self.samplesWritten = samplesWritten
        self.batches = batches
        self.failures = failures
        self.queueDepth = queueDepth
        self.lastProgressRealMs = lastProgressRealMs
    }
}

/// Collects samples from every poller and commits them in batches, one transaction each.
///
/// A batch is committed when it reaches `batchMaxSamples` or when `flushIntervalMs` has passed, whichever
/// comes first, so a `kill -9` loses at most what is in memory: the batch in flight.
public final class SampleWriter: SampleSink, Sendable {
    private let store: EnergyStore
    private let batchMaxSamples: Int
    private let flushIntervalMs: Int
    private let logger: Logger
    private let pending = Mutex<[Sample]>([])
    private let counters = Mutex(WriterCounters(lastProgressRealMs: SystemWallClock().nowMs()))
    /// Samples taken from the buffer and not yet committed.
    private let inFlight = Atomic<Int>(0)
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates a writer; `run()` commits until cancelled.
    public init(store: EnergyStore, batchMaxSamples: Int, flushIntervalMs: Int, logger: Logger) {
        self.store = store
        self.batchMaxSamples = batchMaxSamples
        self.flushIntervalMs = flushIntervalMs
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A copy of the counters.
    public var snapshot: WriterCounters {
        let depth = pending.withLock { $0.count } + inFlight.load(ordering: .relaxed)
        var copy = counters.withLock { $0 }
        copy.queueDepth = depth
        return copy
    }

    public func submit(_ samples: [Sample]) {
        let count = pending.withLock { buffer in
            buffer.append(contentsOf: samples)
            return buffer.count
        }
        if count >= batchMaxSamples { wake.yield() }
    }

    /// Commits batches until the task is cancelled, then commits what is left and returns.
    public func run() async {
        let ticker = Task { [wake, flushIntervalMs] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(flushIntervalMs))
                wake.yield()
            }
        }
        defer { ticker.cancel() }
        await withTaskCancellationHandler {
            for await _ in wakeups {
                await flush()
                if Task.isCancelled { break }
            }
        } onCancel: {
            wake.finish()
        }
        // The last commit must survive the cancellation that ends the loop: run it in a task of its own.
        await Task { await self.flush() }.value
    }

    /// Commits everything pending, in batches of at most `batchMaxSamples`, one transaction each.
    public func flush() async {
        // Take the whole buffer at once: slicing batches off its front would move the rest every time.
        var queue = pending.withLock { buffer -> [Sample] in
            defer { buffer = [] }
            return buffer
        }
        inFlight.store(queue.count, ordering: .relaxed)
        defer { inFlight.store(0, ordering: .relaxed) }
        var start = queue.startIndex
        while start < queue.endIndex {
            let batch = Array(queue[start..<min(start + batchMaxSamples, queue.endIndex)])
            do {
                try await store.database.write { db in try self.store.insert(batch, in: db) }
                start += batch.count
                inFlight.subtract(batch.count, ordering: .relaxed)
                let total = counters.withLock {
                    $0.samplesWritten += UInt64(batch.count)
                    $0.batches += 1
                    $0.lastProgressRealMs = SystemWallClock().nowMs()
                    return $0.samplesWritten
                }
                logger.debug("committed samples", metadata: ["batch": "\(batch.count)", "total": "\(total)"])
            } catch {
                // Keep what is not committed (buffer, never drop), ahead of what arrived since, and retry later.
                queue.removeFirst(start)
                let unwritten = queue
                pending.withLock { $0.insert(contentsOf: unwritten, at: 0) }
                counters.withLock { $0.failures += 1 }
                logger.error(
                    "cannot commit samples; keeping them for the next attempt",
                    metadata: ["error": "\(error)", "pending": "\(unwritten.count)"])
                return
            }
        }
        counters.withLock { $0.lastProgressRealMs = SystemWallClock().nowMs() }
    }
}
