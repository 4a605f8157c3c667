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
    /// Samples that can never be stored (a constraint they break, such as an unknown series), set aside.
    public var rejected: UInt64 = 0
    /// Oldest samples dropped because the buffer was full while the database did not accept writes.
    public var dropped: UInt64 = 0
    /// Samples waiting in memory.
    public var queueDepth = 0
    /// Real time of the last commit (or of the last idle check), UTC epoch ms, for health.
    public var lastProgressRealMs: Int64 = 0
    /// Real time the writer last tried to commit, successful or not, UTC epoch ms: the watchdog's sign of life.
    public var lastAttemptRealMs: Int64 = 0
    /// Why the last attempt failed, while commits fail.
    public var lastError: String?

    /// Counters with the given values.
    public init(samplesWritten: UInt64 = 0, batches: UInt64 = 0, failures: UInt64 = 0, queueDepth: Int = 0, lastProgressRealMs: Int64 = 0) {
        self.samplesWritten = samplesWritten
        self.batches = batches
        self.failures = failures
        self.queueDepth = queueDepth
        self.lastProgressRealMs = lastProgressRealMs
        self.lastAttemptRealMs = lastProgressRealMs
    }
}

/// Collects samples from every poller and commits them in batches, one transaction each.
///
/// A batch is committed when it reaches `batchMaxSamples` or when `flushIntervalMs` has passed, whichever
/// comes first, so a `kill -9` loses at most what is in memory: the batch in flight.
public final class SampleWriter: SampleSink, Sendable {
    private let store: EnergyStore
    private let batchMaxSamples: Int
    private let bufferMaxSamples: Int
    private let flushIntervalMs: Int
    private let logger: Logger
    private let pending = Mutex<[Sample]>([])
    /// Real time, for the progress health checks watch (the readings may follow a simulated clock).
    private let realTime: any WallClock
    private let counters: Mutex<WriterCounters>
    /// Samples taken from the buffer and not yet committed.
    private let inFlight = Atomic<Int>(0)
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates a writer; `run()` commits until cancelled. While the database refuses writes at most
    /// `bufferMaxSamples` wait in memory; past that the oldest are dropped, counted and logged.
    public init(
        store: EnergyStore, batchMaxSamples: Int, flushIntervalMs: Int, bufferMaxSamples: Int = 2_000_000,
        realTime: any WallClock = SystemWallClock(), logger: Logger
    ) {
        self.store = store
        self.realTime = realTime
        counters = Mutex(WriterCounters(lastProgressRealMs: realTime.nowMs()))
        self.batchMaxSamples = batchMaxSamples
        self.bufferMaxSamples = max(bufferMaxSamples, batchMaxSamples)
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
        let (count, dropped) = pending.withLock { buffer -> (Int, Int) in
            buffer.append(contentsOf: samples)
            guard buffer.count > bufferMaxSamples else { return (buffer.count, 0) }
            // A tenth at a time, so a full buffer does not move its whole content at every submit.
            let excess = buffer.count - bufferMaxSamples + bufferMaxSamples / 10
            buffer.removeFirst(excess)
            return (buffer.count, excess)
        }
        if dropped > 0 {
            counters.withLock { $0.dropped += UInt64(dropped) }
            logger.error(
                "write buffer full while the database refuses writes; dropped the oldest samples",
                metadata: ["dropped": "\(dropped)", "buffer_max_samples": "\(bufferMaxSamples)"])
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
        counters.withLock { $0.lastAttemptRealMs = realTime.nowMs() }
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
                let rejected = try await commit(batch[...])
                start += batch.count
                inFlight.subtract(batch.count, ordering: .relaxed)
                if !rejected.isEmpty {
                    logger.error(
                        "samples that can never be stored set aside; the rest of their batch is committed",
                        metadata: [
                            "rejected": "\(rejected.count)",
                            "first": "series \(rejected[0].seriesID) at \(rejected[0].timestampMs) ms",
                        ])
                }
                let total = counters.withLock {
                    $0.samplesWritten += UInt64(batch.count - rejected.count)
                    $0.rejected += UInt64(rejected.count)
                    $0.batches += 1
                    $0.lastProgressRealMs = realTime.nowMs()
                    return $0.samplesWritten
                }
                logger.debug("committed samples", metadata: ["batch": "\(batch.count)", "total": "\(total)"])
            } catch {
                // Keep what is not committed (buffer, never drop), ahead of what arrived since, and retry later.
                queue.removeFirst(start)
                let unwritten = queue
                pending.withLock { $0.insert(contentsOf: unwritten, at: 0) }
                counters.withLock {
                    $0.failures += 1
                    $0.lastAttemptRealMs = realTime.nowMs()
                    $0.lastError = "\(error)"
                }
                logger.error(
                    "cannot commit samples; keeping them for the next attempt",
                    metadata: ["error": "\(error)", "pending": "\(unwritten.count)"])
                return
            }
        }
        counters.withLock {
            $0.lastProgressRealMs = realTime.nowMs()
            $0.lastAttemptRealMs = $0.lastProgressRealMs
            $0.lastError = nil
        }
    }

    /// Commits `batch` in one transaction; if a sample in it breaks a constraint (it can never be stored), commits
    /// its halves apart until such samples stand alone, and returns them. Other errors (busy, full, I/O) are thrown:
    /// the batch is kept and tried again. Inserts replace, so a half committed before such an error does no harm.
    private func commit(_ batch: ArraySlice<Sample>) async throws -> [Sample] {
        do {
            try await store.database.write { db in try self.store.insert(Array(batch), in: db) }
            return []
        } catch let error as DatabaseError where [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH].contains(error.resultCode.primaryResultCode) {
            if batch.count == 1 { return Array(batch) }
            let middle = batch.startIndex + batch.count / 2
            return try await commit(batch[..<middle]) + commit(batch[middle...])
        }
    }
}
