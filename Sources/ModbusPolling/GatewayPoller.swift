import CSystemShims
import Dispatch
import EnergyModel
import Foundation
import Logging
import Synchronization

/// Back-off settings of a poller.
public struct PollingPolicy: Sendable, Hashable {
    /// Reconnect delays after a gateway refuses or drops connections.
    public var gatewayBackoff: BackoffPolicy
    /// Longest a failing meter waits between attempts (its interval, if longer).
    public var meterBackoffCapMs: Int64
    /// Jitter of the meter back-off.
    public var jitter: Double

    /// Most ticks a meter may have missed at once that are recorded as comm-fail (a clock jump is not an outage).
    public var maxMissedTicksRecorded: Int
    /// Each meter's polls start this much at most after the aligned tick (in a slot fixed per meter:
    /// `PollSchedule.startOffsetMs`), so that not every meter is due at the same instant; 0 polls on the tick.
    public var maxStartSpreadMs: Int64

    /// Field defaults: gateways back off 1 s … 60 s; meters up to 15 min; up to 10 000 missed ticks recorded.
    public init(
        gatewayBackoff: BackoffPolicy = BackoffPolicy(initialMs: 1000, maxMs: 60_000), meterBackoffCapMs: Int64 = 900_000,
        jitter: Double = 0.2, maxMissedTicksRecorded: Int = 10_000, maxStartSpreadMs: Int64 = 0
    ) {
        self.maxMissedTicksRecorded = maxMissedTicksRecorded
        self.maxStartSpreadMs = maxStartSpreadMs
        self.gatewayBackoff = gatewayBackoff
        self.meterBackoffCapMs = meterBackoffCapMs
        self.jitter = jitter
    }

    /// A failing meter's back-off: the first retry at its next tick, then every 2nd, 4th … tick, capped.
    func meterBackoff(intervalMs: Int64) -> BackoffPolicy {
        BackoffPolicy(initialMs: intervalMs / 2, maxMs: max(meterBackoffCapMs, intervalMs), jitter: jitter)
    }
}

/// Polls every meter behind one gateway over one connection, as a task on one of the polling workers.
///
/// The loop is a task that runs on its `PollingWorker`'s thread, never on the Swift concurrency pool; where it
/// waits (a connect, an answer, the next tick) it suspends and the worker serves its other gateways. Each meter
/// keeps its own aligned schedule and back-off; at a tick healthy meters go first, so a dead meter's timeout never
/// delays its neighbours' reads. Every due tick of every meter leaves one sample per
/// point, a failure included, so completeness can be computed from the store alone.
public final class GatewayPoller: Sendable {
    /// The gateway polled.
    public let gateway: GatewayConfig
    /// The meters behind it.
    public let meters: [PolledMeter]
    /// Counters for metrics and health.
    public let statistics: PollerStatistics
    private let clock: any WallClock
    /// Real time, for the heartbeat health checks watch (the readings may follow a simulated `clock`).
    let realTime: any WallClock
    private let sink: any SampleSink
    private let logger: Logger
    private let policy: PollingPolicy
    private let stopRequested = Atomic<Bool>(false)
    /// The polling thread that runs this gateway, and the loop's id on it.
    let worker: PollingWorker
    let owner: Int
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Creates a poller; `start()` begins polling.
    public init(
        gateway: GatewayConfig, meters: [PolledMeter], clock: any WallClock, realTime: any WallClock = SystemWallClock(),
        sink: any SampleSink, logger: Logger, policy: PollingPolicy = PollingPolicy(), worker: PollingWorker = PollingWorkers.next()
    ) {
        self.worker = worker
        owner = worker.newOwner()
        self.gateway = gateway
        self.meters = meters.sorted { ($0.meter.unitID, $0.meter.meterAddress ?? "") < ($1.meter.unitID, $1.meter.meterAddress ?? "") }
        self.clock = clock
        self.realTime = realTime
        self.sink = sink
        var logger = logger
        logger[metadataKey: "gateway"] = "\(gateway.id)"
        self.logger = logger
        self.policy = policy
        self.statistics = PollerStatistics(gatewayID: gateway.id)
        let now = realTime.nowMs()
        statistics.update {
            $0.metersConfigured = meters.count
            $0.lastProgressRealMs = now
        }
    }

    /// Starts the polling task on its worker.
    public func start() {
        Task(executorPreference: worker) { [self] in
            var loop = PollLoop(poller: self)
            await loop.run()
            worker.retire(owner: owner)
            let waiters = finished.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Asks the loop to stop after the read in flight; returns at once.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        worker.interrupt(owner: owner)
    }

    /// Stops and waits until the loop has finished its read in flight, submitted its samples and closed the connection.
    public func stop() async {
        requestStop()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDone = finished.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if alreadyDone { continuation.resume() }
        }
    }

    fileprivate var isStopping: Bool { stopRequested.load(ordering: .acquiring) }

    /// Sleeps up to `seconds` of real time; returns early when asked to stop.
    fileprivate func sleep(seconds: Double) async {
        guard seconds > 0, !isStopping else { return }
        await worker.sleep(owner: owner, until: DispatchTime.now().uptimeNanoseconds + UInt64(min(seconds, 3600) * 1e9))
    }

    fileprivate var loopContext: (any WallClock, any SampleSink, Logger, PollingPolicy) { (clock, sink, logger, policy) }
}

/// Per-meter schedule state, owned by the polling loop.
private struct MeterState {
    /// Where in each interval the meter is polled (`PollingPolicy.maxStartSpreadMs`).
    var offsetMs: Int64
    var nextTickMs: Int64
    /// Consecutive failed polls.
    var failures = 0
    /// Before this time the meter is not put on the wire (it backs off); its ticks record comm-fail.
    var retryNotBeforeMs: Int64 = 0
    var online = false
    var lastError: ModbusFailure?
    /// The times of the meter's records from its previous poll, the only ones a new record can fall on: each of its
    /// series holds one record per time (its key in the store).
    var previousStamps: Set<Int64> = []
}

/// The polling loop and its state; lives only in the gateway's task.
private struct PollLoop {
    let poller: GatewayPoller
    let clock: any WallClock
    let sink: any SampleSink
    let logger: Logger
    let policy: PollingPolicy
    let connection: ModbusConnection
    var states: [MeterState]
    var connectFailures = 0
    var reconnectNotBeforeMs: Int64 = 0
    var requestedSinceConnect = false
    /// Whether the last request went out on a connection that had carried requests before.
    var lastSendReusedConnection = false
    var random = SystemRandomNumberGenerator()
    /// The clock time everything due was last done at (a stepped clock waits for it).
    var caughtUpMs = Int64.min

    init(poller: GatewayPoller) {
        self.poller = poller
        (clock, sink, logger, policy) = poller.loopContext
        connection = ModbusConnection(gateway: poller.gateway, worker: poller.worker, owner: poller.owner)
        let now = clock.nowMs()
        states = poller.meters.map { [policy] polled in
            let intervalMs = Int64(polled.meter.intervalSeconds) * 1000
            let offset = PollSchedule.startOffsetMs(meterID: polled.meter.id, intervalMs: intervalMs, maxSpreadMs: policy.maxStartSpreadMs)
            return MeterState(offsetMs: offset, nextTickMs: PollSchedule.nextTick(after: now, intervalMs: intervalMs, offsetMs: offset))
        }
    }

    mutating func run() async {
        logger.info(
            "poller started", metadata: ["meters": "\(poller.meters.count)", "endpoint": "\(poller.gateway.host):\(poller.gateway.port)"])
        while !poller.isStopping {
            let now = clock.nowMs()
            guard let earliest = states.map(\.nextTickMs).min() else { break }
            if earliest > now {
                if caughtUpMs != now {
                    caughtUpMs = now
                    clock.caughtUp(atMs: now)
                }
                // Wake at least every second: the heartbeat tells health checks and the watchdog the thread lives.
                await poller.sleep(seconds: min(1, clock.realSeconds(forClockMs: earliest - now)))
                heartbeat()
                continue
            }
            // Healthy meters first, so a failing one's timeout cannot delay them.
            let due = states.indices.filter { states[$0].nextTickMs <= now }
                .sorted {
                    (states[$0].failures > 0 ? 1 : 0, states[$0].nextTickMs) < (states[$1].failures > 0 ? 1 : 0, states[$1].nextTickMs)
                }
            var samples: [Sample] = []
            for index in due {
                if poller.isStopping { break }
                samples += stamped(await poll(meterAt: index), meterAt: index)
                heartbeat()
            }
            if !samples.isEmpty { sink.submit(samples) }
            let online = states.filter(\.online).count
            let count = samples.count
            poller.statistics.update {
                $0.samples += UInt64(count)
                $0.metersOnline = online
                $0.connected = connection.isConnected
            }
        }
        connection.close()
        poller.statistics.update { $0.connected = false }
        logger.info("poller stopped")
    }

    private func heartbeat() {
        let now = poller.realTime.nowMs()
        poller.statistics.update { $0.lastProgressRealMs = now }
    }

    /// The poll's records, each at a time none of the meter's earlier records has: a poll running past the next
    /// tick (its last records stamped after it), or a simulated clock moving in 50 ms steps, could otherwise give a
    /// series two records at one time, and the store would keep only one. A clashing time moves by a millisecond.
    private mutating func stamped(_ samples: [Sample], meterAt index: Int) -> [Sample] {
        let times = Set(samples.map(\.timestampMs))
        // Nearly always nothing clashes: no table, no copy.
        if times.isDisjoint(with: states[index].previousStamps) {
            states[index].previousStamps = times
            return samples
        }
        var used = states[index].previousStamps
        var moved: [Int64: Int64] = [:]
        for time in times.sorted() {
            var stamp = time
            while used.contains(stamp) { stamp += 1 }
            used.insert(stamp)
            moved[time] = stamp
        }
        states[index].previousStamps = Set(moved.values)
        return samples.map { sample in
            var sample = sample
            sample.timestampMs = moved[sample.timestampMs]!
            return sample
        }
    }

    /// Polls one meter at its tick and schedules its next one.
    private mutating func poll(meterAt index: Int) async -> [Sample] {
        let polled = poller.meters[index]
        let intervalMs = Int64(polled.meter.intervalSeconds) * 1000
        let tick = states[index].nextTickMs
        let startMs = clock.nowMs()
        states[index].nextTickMs = PollSchedule.nextTick(
            after: max(startMs, tick), intervalMs: intervalMs, offsetMs: states[index].offsetMs)
        let log = MeterLog(gatewayLogger: logger, meter: polled.meter)
        // Ticks this thread passed while busy (another meter's timeouts) leave a comm-fail record each; this poll
        // stands for the latest tick, the one at or before its start.
        var samples = missedTicks(
            meterAt: index, from: tick, before: states[index].nextTickMs - intervalMs, intervalMs: intervalMs, log: log)
        let lagSeconds = clock.realSeconds(forClockMs: startMs - tick)
        // Counted here and added to the statistics once per poll: one lock, not one per request.
        var roundTrips: [Double] = []
        var requestFailures: UInt64 = 0
        defer {
            let sent = UInt64(roundTrips.count) + requestFailures
            poller.statistics.update {
                $0.polls += 1
                $0.lag.record(seconds: lagSeconds)
                $0.requests += sent
                $0.requestFailures += requestFailures
                for roundTrip in roundTrips { $0.roundTrip.record(seconds: roundTrip) }
            }
        }

        if startMs < states[index].retryNotBeforeMs {
            return samples + skipped(meterAt: index, at: startMs, reason: states[index].lastError)
        }
        if !connection.isConnected {
            guard startMs >= reconnectNotBeforeMs, await openConnection(log: log) else {
                return samples + skipped(meterAt: index, at: startMs, reason: nil)
            }
        }

        samples.reserveCapacity(samples.count + polled.seriesIDs.count)
        var failure: ModbusFailure?
        for (requestIndex, request) in polled.requests.enumerated() {
            if let failure, !failure.isException {
                // The meter or the connection is gone: the rest of its requests would only time out too.
                samples += polled.failedSamples(for: request, quality: .commFail, timestampMs: clock.nowMs())
                continue
            }
            // A reading is stamped with the time its request left: the meter answers at once, while this thread
            // may wake late after the answer arrives.
            var sentMs = clock.nowMs()
            var sent = DispatchTime.now().uptimeNanoseconds
            let clock = self.clock
            do {
                let answer = try await send(request, to: polled.meter, log: log) {
                    requestFailures += 1
                    sentMs = clock.nowMs()
                    sent = DispatchTime.now().uptimeNanoseconds
                }
                let roundTrip = Double(DispatchTime.now().uptimeNanoseconds - sent) / 1e9
                samples += polled.samples(for: request, answer: answer, timestampMs: sentMs)
                roundTrips.append(roundTrip)
            } catch {
                failure = failure ?? error
                samples += polled.failedSamples(for: request, quality: error.quality, timestampMs: sentMs)
                requestFailures += 1
                handle(error, request: requestIndex, log: log)
            }
        }
        record(outcome: failure, meterAt: index, intervalMs: intervalMs, now: startMs, log: log)
        return samples
    }

    /// Sends one read; when a connection that carried requests before turns out closed, sends it once more on a
    /// new connection (gateways close idle connections or every N requests: that says nothing about the meter),
    /// calling `resent` first. Only a failure on a fresh connection is the meter's.
    private mutating func send(
        _ request: ReadRequest, to meter: MeterConfig, log: MeterLog, resent: () -> Void
    ) async throws(ModbusFailure) -> MeterAnswer {
        do {
            return try await sendOnce(request, to: meter)
        } catch {
            guard case .connectionLost(let why) = error, lastSendReusedConnection else { throw error }
            log.debug("connection closed by the gateway; sending again on a new connection", metadata: ["error": "\(why)"])
            closeConnection()
            guard await openConnection(log: log) else { throw error }
            resent()
            return try await sendOnce(request, to: meter)
        }
    }

    /// Sends one read on the open connection, after the pause the gateway asks for between requests.
    private mutating func sendOnce(_ request: ReadRequest, to meter: MeterConfig) async throws(ModbusFailure) -> MeterAnswer {
        if requestedSinceConnect, poller.gateway.pauseBetweenRequestsMs > 0 {
            await poller.sleep(seconds: Double(poller.gateway.pauseBetweenRequestsMs) / 1000)
        }
        lastSendReusedConnection = requestedSinceConnect
        requestedSinceConnect = true
        return try await connection.read(request, from: meter)
    }

    /// What a failed request means for the connection.
    private mutating func handle(_ failure: ModbusFailure, request: Int, log: MeterLog) {
        log.debug("read failed", metadata: ["request": "\(request)", "error": "\(failure)"])
        switch failure {
        case .timeout, .badResponse:
            // A late or garbled answer may still arrive and be read as the next request's (libmodbus then reports
            // invalid data for a healthy meter): only a new connection is clean, unless the line drains itself.
            if !connection.survivesBadAnswers { closeConnection() }
        case .exception, .meterError:
            break
        case .connectionLost, .connectFailed, .descriptorLimit:
            log.warning("connection lost; reconnecting at the next poll", metadata: ["error": "\(failure)"])
            closeConnection()
        }
    }

    private mutating func record(outcome failure: ModbusFailure?, meterAt index: Int, intervalMs: Int64, now: Int64, log: MeterLog) {
        if let failure {
            states[index].failures += 1
            states[index].lastError = failure
            let delay = policy.meterBackoff(intervalMs: intervalMs)
                .delayMs(failures: states[index].failures, random: Double.random(in: 0..<1, using: &random))
            states[index].retryNotBeforeMs = now + delay
            poller.statistics.update { $0.pollFailures += 1 }
            if states[index].online || states[index].failures == 1 {
                log.warning("meter not answering; backing off", metadata: ["error": "\(failure)"])
            }
            states[index].online = false
        } else {
            if !states[index].online, states[index].failures > 0 {
                log.notice("meter answering again", metadata: ["after_failures": "\(states[index].failures)"])
            }
            states[index].failures = 0
            states[index].retryNotBeforeMs = 0
            states[index].lastError = nil
            states[index].online = true
        }
    }

    /// One comm-fail record per point for each tick in [`from`, `before`) that passed without a poll, each stamped
    /// with its tick: all before the poll's start, so none shares a time (and a key in the store) with a reading.
    private func missedTicks(meterAt index: Int, from tick: Int64, before last: Int64, intervalMs: Int64, log: MeterLog) -> [Sample] {
        guard last > tick else { return [] }
        let missed = Int((last - tick) / intervalMs)
        let recorded = min(missed, policy.maxMissedTicksRecorded)
        if recorded < missed {
            log.warning("clock jumped; not every missed tick is recorded", metadata: ["missed": "\(missed)", "recorded": "\(recorded)"])
        }
        let polled = poller.meters[index]
        poller.statistics.update { $0.missedTicks += UInt64(missed) }
        return (1..<(recorded + 1)).flatMap { step in
            let at = last - Int64(step) * intervalMs
            return polled.requests.flatMap { polled.failedSamples(for: $0, quality: .commFail, timestampMs: at) }
        }
    }

    /// Comm-fail samples for a meter not put on the wire at this tick (it or its gateway backs off).
    private mutating func skipped(meterAt index: Int, at timeMs: Int64, reason: ModbusFailure?) -> [Sample] {
        poller.statistics.update { $0.pollFailures += 1 }
        states[index].online = false
        let polled = poller.meters[index]
        return polled.requests.flatMap { polled.failedSamples(for: $0, quality: reason?.quality ?? .commFail, timestampMs: timeMs) }
    }

    private mutating func openConnection(log: MeterLog) async -> Bool {
        do {
            try await connection.connect()
            if connectFailures > 0 {
                log.notice("gateway reachable again", metadata: ["after_failures": "\(connectFailures)"])
            } else {
                log.debug("connected")
            }
            connectFailures = 0
            requestedSinceConnect = false
            poller.statistics.update {
                $0.connects += 1
                $0.connected = true
            }
            if poller.gateway.pauseAfterConnectMs > 0 { await poller.sleep(seconds: Double(poller.gateway.pauseAfterConnectMs) / 1000) }
            return true
        } catch {
            connectFailures += 1
            let delay = policy.gatewayBackoff.delayMs(failures: connectFailures, random: Double.random(in: 0..<1, using: &random))
            // In clock time, like the meters' schedule, so a simulated outage is retried at simulated speed.
            reconnectNotBeforeMs = clock.nowMs() + delay
            poller.statistics.update { $0.connectFailures += 1 }
            if connectFailures == 1 || connectFailures.isPowerOfTwo {
                log.warning("cannot connect; gateway backs off", metadata: ["error": "\(error)", "attempts": "\(connectFailures)"])
            }
            return false
        }
    }

    private mutating func closeConnection() {
        connection.close()
        poller.statistics.update { $0.connected = false }
    }
}

/// A meter's log lines: the gateway's logger with the meter's unit id and id, added only when a line is written
/// (ten thousand loggers built in advance would cost megabytes).
private struct MeterLog {
    let gatewayLogger: Logger
    let meter: MeterConfig

    private var logger: Logger {
        var logger = gatewayLogger
        if let address = meter.meterAddress {
            logger[metadataKey: "meter_address"] = "\(address)"
        } else {
            logger[metadataKey: "unit_id"] = "\(meter.unitID)"
        }
        logger[metadataKey: "meter"] = "\(meter.id)"
        return logger
    }

    func debug(_ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata? = nil) {
        guard gatewayLogger.logLevel <= .debug else { return }
        logger.debug(message(), metadata: metadata)
    }

    func notice(_ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata? = nil) {
        logger.notice(message(), metadata: metadata)
    }

    func warning(_ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata? = nil) {
        logger.warning(message(), metadata: metadata)
    }
}

extension ModbusFailure {
    /// The device answered, so it is there: its other requests are still worth sending.
    fileprivate var isException: Bool { quality == .exception }
}

extension Int {
    fileprivate var isPowerOfTwo: Bool { self > 0 && self & (self - 1) == 0 }
}
