import EnergyModel
import Foundation
import Logging
import MeterSimulator
import ModbusPolling
import TestSupport
import Testing

/// The poller against a real Modbus TCP server (metersim in-process) on loopback.
@Suite struct GatewayPollerTests {
    let origin: Int64 = 1_767_196_800_000

    /// A simulated clock shared by poller and simulator: `speed` simulated seconds per real second.
    func clock(speed: Double) -> SimulatedWallClock { SimulatedWallClock(startMs: origin + 3_600_000, speed: speed) }

    func pollers(
        for configuration: EnergyConfiguration, clock: any WallClock, sink: any SampleSink, policy: PollingPolicy = PollingPolicy()
    )
        -> [GatewayPoller]
    {
        var logger = Logger(label: "poller-test")
        logger.logLevel = .critical
        var nextSeries: Int64 = 1
        return configuration.gateways.values.sorted { $0.id < $1.id }.map { gateway in
            let meters = configuration.meters.filter { $0.meter.gateway == gateway.id }.map { _, meter in
                let model = configuration.models[meter.model]!
                let ids = model.points.map { _ in
                    defer { nextSeries += 1 }
                    return nextSeries
                }
                return PolledMeter(meter: meter, model: model, seriesIDs: ids, gateway: gateway)
            }
            return GatewayPoller(gateway: gateway, meters: meters, clock: clock, sink: sink, logger: logger, policy: policy)
        }
    }

    /// A stepped clock (in a file of `directory`) reading this suite's start time until the test moves it.
    func steppedClock(in directory: TemporaryDirectory) throws -> SteppedClock {
        try SteppedClock(creating: directory.file("clock"), startMs: origin + 3_600_000)
    }

    /// Polls every series of `harness` three times, then stops the pollers and the simulator. A stepped `clock` is
    /// moved `stepMs` at a time, each step once every poller has done what was due.
    func pollThreeTimes(
        _ harness: SimulatorHarness, clock: any WallClock, stepMs: Int64 = 1000, policy: PollingPolicy = PollingPolicy()
    ) async -> (pollers: [GatewayPoller], sink: CollectingSink) {
        let sink = CollectingSink()
        let pollers = pollers(for: harness.configuration, clock: clock, sink: sink, policy: policy)
        pollers.forEach { $0.start() }
        let seriesCount = pollers.flatMap(\.meters).map(\.seriesIDs.count).reduce(0, +)
        func done(_ samples: [Sample]) -> Bool { Set(samples.map(\.seriesID)).count == seriesCount && samples.count >= seriesCount * 3 }
        if let stepped = clock as? SteppedClock {
            while await stepped.caughtUp(threads: pollers.count), !done(sink.samples) {
                await stepped.advance(to: stepped.nowMs() + stepMs)
            }
        }
        let finished = await sink.wait(until: done)
        for poller in pollers { await poller.stop() }
        await harness.stop()
        #expect(finished, "three polls of every series")
        return (pollers, sink)
    }

    @Test func startsSpreadOverTheTickEachMeterInItsOwnFixedSlot() async throws {
        let directory = try TemporaryDirectory("poller")
        defer { directory.remove() }
        let clock = try steppedClock(in: directory)
        let harness = try await SimulatorHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 6), clock: clock)
        // The clock moves 50 ms a step: a meter is polled at the first step at or after its slot.
        let (pollers, sink) = await pollThreeTimes(harness, clock: clock, stepMs: 50, policy: PollingPolicy(maxStartSpreadMs: 900))
        var offsets: Set<Int64> = []
        for meter in pollers.flatMap(\.meters) {
            let offset = PollSchedule.startOffsetMs(meterID: meter.meter.id, intervalMs: 1000, maxSpreadMs: 900)
            #expect((0...900).contains(offset) && offset % PollSchedule.spreadSlotMs == 0)
            offsets.insert(offset)
            // Every reading of the meter was taken just after its own slot in the second, not on the second.
            for sample in sink.samples where meter.seriesIDs.contains(sample.seriesID) {
                let late = (sample.timestampMs - offset) - (sample.timestampMs - offset).floorDivided(by: 1000) * 1000
                #expect(sample.quality == .good && late < 50, "\(meter.meter.id): \(late) ms after its slot at \(offset) ms")
            }
        }
        #expect(offsets.count >= 6, "twelve meters fall into many slots: \(offsets.sorted())")
    }

    @Test func pollsEveryPointOfSeveralGatewaysAndUnitsWithBatchedReads() async throws {
        let directory = try TemporaryDirectory("poller")
        defer { directory.remove() }
        let clock = try steppedClock(in: directory)
        let scenario = try TestScenarios.grid(gateways: 3, metersPerGateway: 3, models: ["chint_dtsu666", "acrel_adw300", "gas_totaliser"])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let (pollers, sink) = await pollThreeTimes(harness, clock: clock)
        let samples = sink.samples
        #expect(samples.allSatisfy { $0.quality == .good }, "\(samples.filter { $0.quality != .good })")
        // Each value is what the simulator served at that instant (counters grow 1 per simulated second).
        for poller in pollers {
            for meter in poller.meters {
                let simulated = harness.plant.meters[meter.meter.id]!
                for (index, series) in meter.seriesIDs.enumerated() {
                    for sample in samples where sample.seriesID == series {
                        let expected = harness.plant.value(of: simulated, point: index, atMs: sample.timestampMs)
                        #expect(
                            abs(sample.value! - expected) <= max(1.0, abs(expected) * 1e-6),
                            "\(meter.meter.id) \(meter.model.points[index].name)")
                    }
                }
            }
        }
        // Only read functions went on the wire, and adjacent points were read together (2 requests per DTSU666 poll).
        #expect(Set(harness.plant.requests.byFunction.keys).isSubset(of: [3, 4]))
        let dtsuPolls = samples.filter { $0.seriesID == pollers[0].meters[0].seriesIDs[0] }.count
        #expect(harness.plant.requests.count(gatewayID: "gw0", unitID: 1) == UInt64(dtsuPolls * 2))
        // Polls start on aligned ticks: each reading is stamped with its tick, a whole second.
        #expect(samples.allSatisfy { $0.timestampMs % 1000 == 0 }, "\(samples.map(\.timestampMs).filter { $0 % 1000 != 0 })")
    }

    @Test func onePointPerRequestWhenTheGatewayAsks() async throws {
        let clock = clock(speed: 20)
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 1)
        scenario.configuration.gateways["gw0"]?.oneRequestPerPoint = true
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        #expect(await sink.wait { $0.count >= 8 })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        let polls = sink.samples.count / 4
        #expect(harness.plant.requests.count(gatewayID: "gw0", unitID: 1) == UInt64(polls * 4))
    }

    @Test func aDeadGatewayDoesNotDelayTheOthers() async throws {
        let clock = clock(speed: 10)  // 1 s polls every 100 ms of real time
        let scenario = try TestScenarios.grid(
            gateways: 3, metersPerGateway: 2, timeoutMs: 300,
            faults: [FaultSpec(kind: .noAnswer, target: "gw2", startMs: 0)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        let liveSeries = Set(pollers[0].meters.flatMap(\.seriesIDs))
        #expect(await sink.wait { samples in samples.filter { liveSeries.contains($0.seriesID) }.count >= 8 * liveSeries.count })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        let dead = pollers[2].statistics.snapshot
        #expect(dead.requestFailures > 0 && dead.metersOnline == 0)
        #expect(sink.samples.filter { pollers[2].meters[0].seriesIDs.contains($0.seriesID) }.allSatisfy { $0.quality == .commFail })
        for live in pollers[0...1] {
            let stats = live.statistics.snapshot
            #expect(stats.requestFailures == 0)
            #expect(stats.metersOnline == 2)
            // A poll held up by gw2 would start at least its 300 ms timeout late; how few milliseconds late polls
            // really start is a figure for energy-bench (polling lag), not a bound a busy test machine must meet.
            #expect(stats.lag.quantile(0.99) < 0.3, "p99 lag \(stats.lag.quantile(0.99)) s")
        }
    }

    @Test func anExceptionMarksThatMeterWhichBacksOffWhileItsNeighbourKeepsItsSchedule() async throws {
        let clock = clock(speed: 20)
        let scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 2, faults: [FaultSpec(kind: .exception, target: "g0m0", startMs: 0, parameter: 2)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        let failing = pollers[0].meters[0].seriesIDs
        let healthy = pollers[0].meters[1].seriesIDs
        #expect(await sink.wait { samples in samples.filter { $0.seriesID == healthy[0] }.count >= 20 })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        let samples = sink.samples
        let failingTicks = samples.filter { $0.seriesID == failing[0] }
        let healthyTicks = samples.filter { $0.seriesID == healthy[0] }
        // Every tick of the failing meter is recorded as its failure and none of its neighbour's is; a tick the loop
        // missed on a busy machine (the simulated clock runs on regardless) is recorded as comm-fail for both.
        let missed: Set<SampleQuality> = [.commFail]
        #expect(failingTicks.allSatisfy { $0.quality == .exception || missed.contains($0.quality) }, "\(failingTicks.map(\.quality))")
        #expect(failingTicks.filter { $0.quality == .exception }.count * 2 > failingTicks.count)
        #expect(healthyTicks.allSatisfy { $0.quality == .good || missed.contains($0.quality) }, "\(healthyTicks.map(\.quality))")
        #expect(abs(failingTicks.count - healthyTicks.count) <= 1, "both keep one record per tick")
        // Backing off, the failing meter was asked far less often than its neighbour.
        let failingRequests = harness.plant.requests.count(gatewayID: "gw0", unitID: 1)
        let healthyRequests = harness.plant.requests.count(gatewayID: "gw0", unitID: 2)
        #expect(failingRequests * 2 < healthyRequests, "\(failingRequests) vs \(healthyRequests)")
    }

    @Test func reconnectsWithAFreshContextAfterTheGatewayRestarts() async throws {
        let clock = clock(speed: 20)
        // The gateway reboots 10 simulated seconds in (half a real second) and refuses connections for 30.
        let reboot = FaultSpec(kind: .gatewayDown, target: "gw0", startMs: clock.startMs + 10_000, endMs: clock.startMs + 40_000)
        let scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, timeoutMs: 200, faults: [reboot])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let policy = PollingPolicy(gatewayBackoff: BackoffPolicy(initialMs: 500, maxMs: 2000))
        let pollers = pollers(for: harness.configuration, clock: clock, sink: sink, policy: policy)
        pollers.forEach { $0.start() }
        #expect(await sink.wait { $0.contains { $0.quality == .good } })
        #expect(await sink.wait { $0.contains { $0.quality == .commFail } })
        let failedUntil = sink.samples.count
        #expect(await sink.wait { samples in samples.dropFirst(failedUntil).contains { $0.quality == .good } })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        #expect(pollers[0].statistics.snapshot.connects >= 2)
        #expect(pollers[0].statistics.snapshot.connectFailures >= 1, "the port refused connections while the gateway was down")
    }
}

/// Connections the gateway closes, answers that come late, whole gateways that stop answering.
@Suite struct GatewayPollerFaultTests {
    let base = GatewayPollerTests()

    @Test func aGatewayClosingItsConnectionEveryFewRequestsLosesNoReading() async throws {
        let clock = base.clock(speed: 20)
        let scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 2, faults: [FaultSpec(kind: .dropAfter, target: "gw0", startMs: 0, parameter: 3)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = base.pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        let series = pollers[0].meters.map { $0.seriesIDs[0] }
        #expect(await sink.wait { samples in series.allSatisfy { id in samples.filter { $0.seriesID == id }.count >= 12 } })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        // Every third request meets a closed connection: it is sent again on a new one, and no poll fails. (Only
        // ticks a loaded machine passed without polling are comm-fail, one record per point each.)
        let statistics = pollers[0].statistics.snapshot
        #expect(statistics.pollFailures == 0)
        let failed = sink.samples.filter { $0.quality != .good }.count
        #expect(failed == Int(statistics.missedTicks) * 4, "\(failed) failed records, \(statistics.missedTicks) missed ticks")
        #expect(statistics.connects >= 4)
    }

    @Test func aSlowMetersLateAnswerIsNeverTakenForItsNeighboursAnswer() async throws {
        let clock = base.clock(speed: 2)
        let scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 3, timeoutMs: 150,
            faults: [FaultSpec(kind: .slow, target: "g0m1", startMs: 0, parameter: 250)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = base.pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        let slow = Set(pollers[0].meters[1].seriesIDs)
        let healthy = pollers[0].meters[0].seriesIDs[0]
        #expect(await sink.wait(timeout: .seconds(30)) { samples in samples.filter { $0.seriesID == healthy }.count >= 16 })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        let samples = sink.samples
        #expect(samples.contains { slow.contains($0.seriesID) && $0.quality == .commFail }, "the slow meter timed out")
        // A neighbour's reading lost to the late answer is stamped when its request left, mid-tick; a tick a loaded
        // machine passed without polling is recorded at the whole second.
        let lost = samples.filter { !slow.contains($0.seriesID) && $0.quality != .good && $0.timestampMs % 1000 > 1 }
        #expect(lost.isEmpty, "\(lost.count) neighbour readings lost")
    }

    @Test func everyTickOfASilentGatewayLeavesACommFailRecord() async throws {
        let clock = base.clock(speed: 10)  // a 1 s tick every 100 ms, a 300 ms timeout: each failed poll passes three ticks
        let scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 3, timeoutMs: 300, faults: [FaultSpec(kind: .noAnswer, target: "gw0", startMs: 0)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let policy = PollingPolicy(gatewayBackoff: BackoffPolicy(initialMs: 1000, maxMs: 1000), meterBackoffCapMs: 2000)
        let pollers = base.pollers(for: harness.configuration, clock: clock, sink: sink, policy: policy)
        pollers.forEach { $0.start() }
        let series = pollers[0].meters.map { $0.seriesIDs[0] }
        #expect(await sink.wait { samples in series.allSatisfy { id in samples.filter { $0.seriesID == id }.count >= 40 } })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        for id in series {
            let times = sink.samples.filter { $0.seriesID == id }.map(\.timestampMs)
            #expect(sink.samples.filter { $0.seriesID == id }.allSatisfy { $0.quality == .commFail })
            #expect(Set(times).count == times.count, "a record shares its time (its key in the store) with another")
            // One record per 1 s tick. A poll is stamped when it ran (late behind the others' timeouts, at most one
            // per meter at a time) and the ticks it passed at their own time, so a window away from the start and
            // from the stop (which ends polls midway) holds its ticks' records, give or take one at each end.
            let (from, to) = (times.min()! + 5000, times.max()! - 8000)
            let inside = times.filter { $0 >= from && $0 < to }.count
            let ticks = Int((to - from) / 1000)
            #expect(abs(inside - ticks) <= 2, "\(inside) records for \(ticks) ticks: \(times.sorted().map { $0 % 100_000 })")
        }
        #expect(pollers[0].statistics.snapshot.missedTicks > 0)
    }

    @Test func noSeriesGetsTwoRecordsAtOneTimeWhenPollsRunPastTheirTicks() async throws {
        // At 50× a simulated clock moves in 50 ms steps, and a slow meter makes polls run past the next tick.
        let clock = base.clock(speed: 50)
        let scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 4, timeoutMs: 100, faults: [FaultSpec(kind: .slow, target: "g0m1", startMs: 0, parameter: 30)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let sink = CollectingSink()
        let pollers = base.pollers(for: harness.configuration, clock: clock, sink: sink)
        pollers.forEach { $0.start() }
        let first = pollers[0].meters[0].seriesIDs[0]
        #expect(await sink.wait { samples in samples.filter { $0.seriesID == first }.count >= 300 })
        for poller in pollers { await poller.stop() }
        await harness.stop()
        let keys = sink.samples.map { "\($0.seriesID)@\($0.timestampMs)" }
        #expect(Set(keys).count == keys.count, "\(keys.count - Set(keys).count) records share their series and time")
    }
}
