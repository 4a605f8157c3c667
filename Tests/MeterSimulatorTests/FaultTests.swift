import CModbus
import EnergyModel
import Foundation
import MeterSimulator
import TestSupport
import Testing

/// Each fault appears at its scheduled simulated time and ends when it should.
@Suite struct FaultTests {
    let origin: Int64 = 1_767_196_800_000
    let hour: Int64 = 3_600_000

    func start(_ faults: [FaultSpec], clock: ManualClock) async throws -> SimulatorHarness {
        try await SimulatorHarness.start(TestScenarios.grid(gateways: 1, metersPerGateway: 2, faults: faults), clock: clock)
    }

    func energy(_ client: LibmodbusClient) throws -> Double {
        let words = try client.read(0x401E, 2)
        return Double(Float(bitPattern: UInt32(words[0]) << 16 | UInt32(words[1])))
    }

    @Test func exceptionFaultAnswersItsCodeOnlyDuringItsWindow() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await start(
            [FaultSpec(kind: .exception, target: "g0m0", startMs: origin + 2 * hour, endMs: origin + 3 * hour, parameter: 6)], clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        #expect(try energy(client) > 0)
        clock.set(origin + 2 * hour)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 6)) { try energy(client) }
        client.setUnit(2)
        #expect(try energy(client) > 0, "the neighbour is unaffected")
        client.setUnit(1)
        clock.set(origin + 3 * hour)
        #expect(try energy(client) > 0)
    }

    @Test func gatewayDownRefusesConnectionsThenComesBack() async throws {
        let clock = ManualClock(startMs: origin)
        let harness = try await start(
            [FaultSpec(kind: .gatewayDown, target: "gw0", startMs: origin + hour, endMs: origin + 2 * hour)], clock: clock)
        defer { Task { await harness.stop() } }
        let port = harness.server.ports["gw0"]!
        let before = try LibmodbusClient(port: port)
        #expect(try energy(before) > 0)
        clock.set(origin + hour)
        await harness.server.reconcileListeners()
        #expect(throws: ClientError(code: ECONNREFUSED)) { _ = try LibmodbusClient(port: port) }
        #expect(throws: (any Error).self, "an open connection is closed at its next request") { try energy(before) }
        clock.set(origin + 2 * hour)
        await harness.server.reconcileListeners()
        #expect(try energy(try LibmodbusClient(port: port)) > 0)
    }

    @Test func noAnswerAndSlowAnswersTimeOut() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await start(
            [
                FaultSpec(kind: .noAnswer, target: "g0m0", startMs: origin + hour),
                FaultSpec(kind: .slow, target: "g0m1", startMs: origin + hour, parameter: 400),
            ], clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!, timeoutMs: 150)
        #expect(throws: ClientError(code: ETIMEDOUT)) { try energy(client) }
        let slowClient = try LibmodbusClient(port: harness.server.ports["gw0"]!, unit: 2, timeoutMs: 150)
        #expect(throws: ClientError(code: ETIMEDOUT)) { try energy(slowClient) }
        let patientClient = try LibmodbusClient(port: harness.server.ports["gw0"]!, unit: 2, timeoutMs: 2000)
        #expect(try energy(patientClient) > 0, "a slow answer does arrive")
    }

    @Test func dropAfterClosesTheConnectionAfterNRequests() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await start([FaultSpec(kind: .dropAfter, target: "gw0", startMs: origin, parameter: 3)], clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        for _ in 0..<3 { #expect(try energy(client) > 0) }
        #expect(throws: (any Error).self) { try energy(client) }
    }

    @Test func malformedAnswersAreRejectedByLibmodbus() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await start([FaultSpec(kind: .malformed, target: "g0m0", startMs: origin)], clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 13)) { try energy(client) }  // EMBBADDATA
    }

    @Test func counterFaultsShapeTheValueWithoutChangingTheTruth() async throws {
        let clock = ManualClock(startMs: origin + hour)
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 3, models: ["acrel_adl400"], rate: 1000)
        scenario.faults = [
            FaultSpec(kind: .rollover, target: "g0m0", startMs: origin + 5 * hour),
            FaultSpec(kind: .replaced, target: "g0m1", startMs: origin + 5 * hour, parameter: 2),
            FaultSpec(kind: .glitch, target: "g0m2", startMs: origin + 3 * hour),
            FaultSpec(kind: .spike, target: "g0m2", startMs: origin + 4 * hour, parameter: 50_000),
            FaultSpec(kind: .frozen, target: "g0m2", startMs: origin + 6 * hour, endMs: origin + 8 * hour),
        ]
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        func reading(_ unit: Int32) throws -> Double {
            client.setUnit(unit)
            let words = try client.read(0x084C, 2)
            return Double(UInt32(words[0]) << 16 | UInt32(words[1])) * 0.1
        }
        let wrap = 429_496_729.6
        // Rollover: one hour before its time the counter is 1000 kWh short of its wrap; an hour after, 1000 past zero.
        clock.set(origin + 4 * hour)
        #expect(abs(try reading(1) - (wrap - 1000)) < 0.2)
        clock.set(origin + 6 * hour)
        #expect(abs(try reading(1) - 1000) < 0.2)
        // Replacement: the new meter starts at 2 kWh.
        #expect(abs(try reading(2) - 1002) < 0.2)
        // Glitch: the first read after 3 h is 0, the next the true value.
        clock.set(origin + 3 * hour + 60_000)
        #expect(try reading(3) == 0)
        let trueValue = try reading(3)
        #expect(abs(trueValue - (1000 + 3016.667)) < 0.2)
        // Spike: once.
        clock.set(origin + 4 * hour)
        #expect(abs(try reading(3) - (5000 + 50_000)) < 0.2)
        #expect(abs(try reading(3) - 5000) < 0.2)
        // Frozen from 6 h to 8 h.
        clock.set(origin + 7 * hour)
        #expect(abs(try reading(3) - 7000) < 0.2)
        clock.set(origin + 8 * hour)
        #expect(abs(try reading(3) - 9000) < 0.2)
        // None of it changes what was consumed.
        let truth = GroundTruth.rows(plant: harness.plant, fromMs: origin, toMs: origin + 8 * hour)
        #expect(truth.allSatisfy { abs($0.amount - 8000) < 1e-6 })
    }

    @Test func controlCommandsSetAndClearFaultsAtRunTime() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await start([], clock: clock)
        defer { Task { await harness.stop() } }
        let port = try await harness.server.startControl(host: "127.0.0.1", port: 0)
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "fault exception g0m0 parameter=4").hasPrefix("ok"))
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 4)) { try energy(client) }
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "clear g0m0") == "ok cleared 1")
        #expect(try energy(client) > 0)
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "counts") == "ok fc3=2")
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "fault melt gw0").hasPrefix("error"))
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "time") == "ok 2025-12-31T17:00:00Z")
    }

    @Test func aRollOverStartedAtRunTimeWrapsAtTheWrapValueLikeAScheduledOne() async throws {
        let clock = ManualClock(startMs: origin + hour)
        let harness = try await SimulatorHarness.start(
            TestScenarios.grid(gateways: 1, metersPerGateway: 1, models: ["acrel_adl400"], rate: 1000), clock: clock)
        defer { Task { await harness.stop() } }
        let port = try await harness.server.startControl(host: "127.0.0.1", port: 0)
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        func reading() throws -> Double {
            let words = try client.read(0x084C, 2)
            return Double(UInt32(words[0]) << 16 | UInt32(words[1])) * 0.1
        }
        let wrap = 429_496_729.6
        #expect(abs(try reading() - 2000) < 0.2, "1000 kWh at the start, 1000 kWh an hour")
        // The counter moves to half an hour short of its wrap, counts up to it and wraps there.
        let answer = try LineClient.request(host: "127.0.0.1", port: port, line: "fault rollover g0m0 parameter=1800")
        #expect(answer == "ok rollover on g0m0: below its wrap now, wraps at 2025-12-31T17:30:00Z", "\(answer)")
        #expect(abs(try reading() - (wrap - 500)) < 0.2)
        clock.set(origin + hour + 1_500_000)
        #expect(abs(try reading() - (wrap - 500 + 416.667)) < 0.2)
        clock.set(origin + 2 * hour)
        #expect(abs(try reading() - 500) < 0.2, "past the wrap by what was consumed since")
        #expect(try LineClient.request(host: "127.0.0.1", port: port, line: "fault rollover gw0").hasPrefix("error"))
    }
}
