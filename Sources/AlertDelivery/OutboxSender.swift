import EnergyModel
import EnergyStore
import Foundation
import Logging
import Synchronization

/// Counts of one channel's attempts since energyd started.
public struct ChannelCounts: Sendable, Hashable {
    public var delivered = 0
    public var failed = 0
    public var givenUp = 0
}

/// Delivers the outbox: one task per configured channel, each sending its messages oldest first, one at a time,
/// and backing off on its own when its channel fails, so a slow or dead channel holds back nothing else.
///
/// A message is marked delivered only after the channel acknowledged it; a crash in between sends it once more
/// at the next start, with the same idempotency key ("INSTANCE-ID"): a receiver that cannot dedupe by it sees at
/// most one duplicate per crash (and per acknowledgement lost on the network).
public final class OutboxSender: Sendable {
    let store: EnergyStore
    private let current: Mutex<DeliverySettings>
    let nowMs: @Sendable () -> Int64
    let pollInterval: Duration
    let logger: Logger
    let counts = Mutex<[String: ChannelCounts]>([:])
    let makeCourier: @Sendable (ChannelConfig) throws -> any Courier

    /// A sender of `store`'s outbox to the channels of `settings`, on the store's real clock unless given `nowMs`.
    public init(
        store: EnergyStore, settings: DeliverySettings, nowMs: (@Sendable () -> Int64)? = nil, pollInterval: Duration = .seconds(1),
        logger: Logger, makeCourier: @escaping @Sendable (ChannelConfig) throws -> any Courier = Couriers.make
    ) {
        self.store = store
        self.current = Mutex(settings)
        self.nowMs = nowMs ?? { [store] in store.realTime.nowMs() }
        self.pollInterval = pollInterval
        self.logger = logger
        self.makeCourier = makeCourier
    }

    /// Replaces the channels and settings (a reload); channels whose settings changed restart within a poll.
    public func apply(_ settings: DeliverySettings) { current.withLock { $0 = settings } }

    var settings: DeliverySettings { current.withLock { $0 } }

    /// Counts per channel since start.
    public var channelCounts: [String: ChannelCounts] { counts.withLock { $0 } }

    /// Runs until cancelled: starts a task for each channel, restarts it when its settings change, stops it when
    /// the channel is removed (its messages wait, pending, for a channel of that name).
    public func run() async {
        let instance: String
        do {
            instance = try await store.outbox.instanceName()
        } catch {
            logger.error("cannot read the store's name; alerts are not delivered", metadata: ["error": "\(error)"])
            return
        }
        var running: [String: (channel: ChannelConfig, task: Task<Void, Never>)] = [:]
        while !Task.isCancelled {
            let channels = settings.channels
            for (name, entry) in running where channels[name] != entry.channel {
                entry.task.cancel()
                await entry.task.value
                running[name] = nil
            }
            for (name, channel) in channels where running[name] == nil {
                running[name] = (channel, Task { await self.serve(channel, instance: instance) })
            }
            try? await Task.sleep(for: pollInterval)
        }
        for entry in running.values { entry.task.cancel() }
        for entry in running.values { await entry.task.value }
    }

    private func serve(_ channel: ChannelConfig, instance: String) async {
        let logger = self.logger.with(["channel": "\(channel.name)"])
        let courier: any Courier
        do {
            courier = try makeCourier(channel)
        } catch {
            logger.error("cannot set up the channel; its messages wait", metadata: ["error": "\(error)"])
            return
        }
        while !Task.isCancelled {
            let pause: Duration
            do {
                pause = try await sendNext(channel, courier, instance: instance, logger: logger)
            } catch {
                logger.error("outbox unreadable; retried", metadata: ["error": "\(error)"])
                pause = pollInterval
            }
            try? await Task.sleep(for: pause)
        }
        await courier.shutdown()
    }

    /// Sends the channel's next due message, if any; returns how long to wait before the next.
    private func sendNext(_ channel: ChannelConfig, _ courier: any Courier, instance: String, logger: Logger) async throws -> Duration {
        let now = nowMs()
        try await store.outbox.gatherDigest(channel: channel.name, nowMs: now)
        guard let message = try await store.outbox.nextDue(channel: channel.name, nowMs: now) else { return pollInterval }
        let settings = self.settings
        let failure: DeliveryFailure
        do {
            let content = try MessageContent(message, title: settings.title)
            // The attempt runs to its end (the channel's timeout bounds it) even while energyd stops: cut short, the
            // receiver may take the message while nothing is recorded, and the next start would send it again.
            let store = self.store
            let nowMs = self.nowMs
            try await Task {
                try await courier.deliver(content, messageID: "\(instance)-\(message.id)")
                try await store.outbox.markDelivered(message.id, atMs: nowMs())
            }.value
            counts.withLock { $0[channel.name, default: ChannelCounts()].delivered += 1 }
            logger.info("delivered", metadata: ["message": "\(message.id)", "kind": "\(message.kind.rawValue)"])
            return .zero
        } catch let error as DeliveryFailure {
            failure = error
        } catch is CancellationError {
            return .zero
        } catch {
            failure = DeliveryFailure("cannot render the message: \(error)", permanent: true)
        }
        if Task.isCancelled { return .zero }  // stopping: the attempt is not the channel's fault
        let failedAt = nowMs()
        let attempts = message.attempts + 1
        let giveUp = failure.permanent || failedAt - message.retrySinceMs >= Int64(settings.giveUpAfterSeconds) * 1000
        let delay = settings.retryDelaySeconds(afterAttempts: attempts)
        try await store.outbox.markFailed(message.id, error: failure.description, retryAtMs: giveUp ? nil : failedAt + Int64(delay) * 1000)
        counts.withLock {
            $0[channel.name, default: ChannelCounts()].failed += 1
            if giveUp { $0[channel.name, default: ChannelCounts()].givenUp += 1 }
        }
        if giveUp {
            logger.error(
                "message given up (dead letter; energyctl outbox retry sends it again)",
                metadata: ["message": "\(message.id)", "attempts": "\(attempts)", "error": "\(failure)"])
            return .zero
        }
        logger.warning(
            "delivery failed; retried",
            metadata: ["message": "\(message.id)", "attempts": "\(attempts)", "retry_in_s": "\(delay)", "error": "\(failure)"])
        // The channel failed, not just this message: wait before trying it again, so its messages stay in order.
        return .seconds(delay)
    }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
