import EnergyModel
import EnergyStore
import Foundation
import Logging
import Synchronization

/// Ships the store's queued changes to every configured destination, each in a task of its own with its own queue,
/// so that a slow or dead destination holds back neither the others nor the daemon.
///
/// A round reads the oldest changes, collects their figures as they stand, ships them and, once the destination has
/// acknowledged, records how far each change got. A crash between shipping and recording ships the same figures
/// again at the next start: every write upstream replaces what it covers, so nothing is doubled.
public final class UpstreamShipper: Sendable {
    let store: EnergyStore
    /// The configuration in force: destinations are those at start, figures are computed with the current factors,
    /// quotas and products (a reload's correction is shipped as computed with it).
    let current: @Sendable () -> EnergyConfiguration
    let logger: Logger
    /// Real time, for queueing and status (the data may follow a simulated clock): the store's.
    func nowMs() -> Int64 { store.realTime.nowMs() }

    var configuration: EnergyConfiguration { current() }

    public init(store: EnergyStore, configuration: @escaping @Sendable () -> EnergyConfiguration, logger: Logger) {
        self.store = store
        self.current = configuration
        self.logger = logger
    }

    public convenience init(store: EnergyStore, configuration: EnergyConfiguration, logger: Logger) {
        self.init(store: store, configuration: { configuration }, logger: logger)
    }

    /// Registers the configured destinations (a new one gets the local history queued), then ships until cancelled.
    public func run() async {
        let destinations = configuration.upstream
        let added: [String]
        do {
            added = try await store.upstream.register(
                destinations.map { UpstreamRegistration(name: $0.name, kind: $0.kind.rawValue, target: $0.target) }, nowMs: nowMs())
        } catch {
            logger.error("cannot register the upstream destinations; nothing is shipped", metadata: ["error": "\(error)"])
            return
        }
        for name in added {
            logger.notice("upstream destination registered; the local history is queued for it", metadata: ["destination": "\(name)"])
        }
        await withTaskGroup(of: Void.self) { group in
            for config in destinations {
                group.addTask { await self.ship(to: config) }
            }
        }
    }

    /// One destination's loop: rounds back to back while changes wait, a pause when none do, back-off after failures.
    func ship(to config: UpstreamConfig) async {
        let destination = Self.destination(config, logger: logger)
        var failures = 0
        while !Task.isCancelled {
            let pause: Int
            do {
                let collector = FigureCollector(store: store, configuration: configuration)
                pause = try await round(config, destination, collector) ? 0 : config.intervalSeconds
                if failures > 0 { logger.notice("upstream destination reachable again", metadata: ["destination": "\(config.name)"]) }
                failures = 0
            } catch {
                failures += 1
                pause = config.retryDelaySeconds(afterAttempts: failures)
                let text = (error as? UpstreamFailure)?.description ?? "\(error)"
                logger.warning(
                    "cannot ship upstream; retrying",
                    metadata: ["destination": "\(config.name)", "error": "\(text)", "retry_s": "\(pause)"])
                try? await store.upstream.recordFailure(destination: config.name, error: text, nowMs: nowMs())
            }
            if pause > 0 { try? await Task.sleep(for: .seconds(pause)) }
        }
        _ = try? await withDeadline(seconds: config.timeoutSeconds, "closing") {
            await destination.close()
        } onTimeout: {
        }
    }

    /// Registers `config` alone and ships rounds until its queue is empty; returns the rows shipped (benchmarks).
    public func drain(_ config: UpstreamConfig) async throws -> Int {
        try await store.upstream.register(
            [UpstreamRegistration(name: config.name, kind: config.kind.rawValue, target: config.target)], nowMs: nowMs())
        let destination = Self.destination(config, logger: logger)
        let collector = FigureCollector(store: store, configuration: configuration)
        let before = try await store.upstream.status().first { $0.name == config.name }?.shippedRows ?? 0
        while try await round(config, destination, collector) {}
        await destination.close()
        return Int((try await store.upstream.status().first { $0.name == config.name }?.shippedRows ?? 0) - before)
    }

    static func destination(_ config: UpstreamConfig, logger: Logger) -> any UpstreamDestination {
        switch config.kind {
        case .postgres: PostgresDestination(config, logger: logger)
        case .https: HTTPSDestination(config)
        }
    }

    /// Ships one round; returns whether there was anything to ship.
    func round(_ config: UpstreamConfig, _ destination: any UpstreamDestination, _ collector: FigureCollector) async throws -> Bool {
        let started = ContinuousClock.now
        let changes = try await store.upstream.pending(destination: config.name, limit: 1000)
        guard !changes.isEmpty else { return false }
        let (shipment, progress) = try await collector.collect(changes)
        let contacted = shipment.rowCount > 0
        // The round's own deadline: whatever the driver does (a transaction that never returns once its connection
        // is closed under it), the round fails within timeout_s and is retried, and a stop does not wait for it.
        let rows =
            contacted
            ? try await withDeadline(seconds: config.timeoutSeconds, "shipping \(shipment.rowCount) rows") {
                try await destination.ship(shipment)
            } onTimeout: {
                await destination.abandon()
            } : 0
        try await store.upstream.acknowledge(destination: config.name, progress, rows: rows, contacted: contacted, nowMs: nowMs())
        logger.debug(
            "shipped upstream",
            metadata: [
                "destination": "\(config.name)", "rows": "\(rows)", "changes": "\(progress.count)",
                "seconds":
                    "\((ContinuousClock.now - started).components.seconds)\(String(format: ".%03d", (ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000))",
            ])
        return true
    }
}

/// Runs `operation`, but returns (throwing `UpstreamFailure`) once `seconds` have passed or the calling task is
/// cancelled, without waiting for it: a call into a driver that never returns is left behind, not waited on.
/// `onTimeout` runs when the deadline passes first (to close what the operation holds).
func withDeadline<T: Sendable>(
    seconds: Int, _ what: String, _ operation: @escaping @Sendable () async throws -> T, onTimeout: @escaping @Sendable () async -> Void
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.start(
                continuation,
                operation: Task { race.finish(await Result(catching: operation)) },
                timer: Task {
                    guard (try? await Task.sleep(for: .seconds(seconds))) != nil else { return }
                    if race.finish(.failure(UpstreamFailure("\(what) took more than \(seconds) s (timeout_s); abandoned and retried"))) {
                        await onTimeout()
                    }
                })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of an operation's result, its deadline and a cancellation, handed to the waiting caller once.
private final class DeadlineRace<T: Sendable>: Sendable {
    private let state = Mutex<
        (continuation: CheckedContinuation<T, any Error>?, tasks: [Task<Void, Never>], outcome: Result<T, any Error>?)
    >(
        (nil, [], nil))

    func start(_ continuation: CheckedContinuation<T, any Error>, operation: Task<Void, Never>, timer: Task<Void, Never>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            state.tasks = [operation, timer]
            guard let outcome = state.outcome else {
                state.continuation = continuation
                return nil
            }
            return outcome
        }
        if let early {
            continuation.resume(with: early)
            operation.cancel()
            timer.cancel()
        }
    }

    /// Resumes the caller with `result` unless something finished first; returns whether this did.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, tasks, first) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>], Bool) in
            guard state.outcome == nil else { return (nil, [], false) }
            state.outcome = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks, true)
        }
        continuation?.resume(with: result)
        if first { tasks.forEach { $0.cancel() } }
        return first
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
