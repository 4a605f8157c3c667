import EnergyModel
import Foundation
import Logging
import MeterSimulator
import TestSupport
import Testing

@testable import EnergyDaemon

/// Reloads and shutdown meeting inside the polling service.
@Suite struct PollingServiceTests {
    @Test func aReloadRacingAShutdownLeavesNoPollerRunning() async throws {
        let clock = SimulatedWallClock(startMs: 1_767_196_800_000, speed: 5)
        // gw0's meter answers slowly, so stopping its poller waits for a read in flight.
        let scenario = try TestScenarios.grid(
            gateways: 2, metersPerGateway: 1, timeoutMs: 800, faults: [FaultSpec(kind: .slow, target: "g0m0", startMs: 0, parameter: 400)])
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        defer { Task { await harness.stop() } }
        var logger = Logger(label: "polling-service-test")
        logger.logLevel = .critical
        let sink = CollectingSink()
        let service = PollingService(clock: clock, sink: sink, logger: logger)
        let configuration = harness.configuration
        var seriesIDs: [String: [String: Int64]] = [:]
        for (_, meter) in configuration.meters {
            for (index, point) in configuration.models[meter.model]!.points.enumerated() {
                seriesIDs[meter.id, default: [:]][point.name] = Int64(index + 1)
            }
        }
        await service.apply(configuration, seriesIDs: seriesIDs)
        #expect(await sink.wait { samples in Set(samples.map(\.seriesID)).count > 0 })
        // A reload that restarts gw0's poller; while it waits for the old one to stop, shutdown comes.
        var reloaded = configuration
        reloaded.gateways["gw0"]?.timeoutMs = 900
        let reload = Task { await service.apply(reloaded, seriesIDs: seriesIDs) }
        #expect(await eventually(timeout: .seconds(10), interval: .milliseconds(1)) { await service.running.count == 1 })
        await service.stopAll()
        _ = await reload.value
        #expect(await service.running.isEmpty, "a poller started after shutdown would poll forever")
    }
}
