import EnergyModel
import Foundation
import Logging
import MeterSimulator
import ModbusPolling
import TestSupport
import Testing

/// Modbus RTU framed on a TCP stream, as serial device servers in transparent mode pass it: the poller against
/// pymodbus' RTU framer (an independent implementation) and against metersim's RTU gateways with line faults.
@Suite struct SerialLineTests {
    static let python = packageRoot + "/.build/test-venv/bin/python"
    static let peer = packageRoot + "/Tests/Peers/modbus_rtu_peer.py"
    let origin: Int64 = 1_767_196_800_000

    func poller(gateway: GatewayConfig, meters: [(MeterConfig, MeterModel)], clock: any WallClock, sink: CollectingSink) -> GatewayPoller {
        var logger = Logger(label: "serial-line-test")
        logger.logLevel = .critical
        var nextSeries: Int64 = 1
        let polled = meters.map { meter, model in
            let ids = model.points.map { _ in
                defer { nextSeries += 1 }
                return nextSeries
            }
            return PolledMeter(meter: meter, model: model, seriesIDs: ids, gateway: gateway)
        }
        return GatewayPoller(gateway: gateway, meters: polled, clock: clock, sink: sink, logger: logger)
    }

    @Test func readsAnIndependentRTUSlaveThroughATCPStream() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "pymodbus is missing: run deploy/install-deps.sh --test")
        // From register 100: 1234 (0.1 kWh), 123456 as two words, -5 as a signed word.
        let words = [1234, 0x0001, 0xE240, 0xFFFB]
        let slave = try ChildProcess(Self.python, [Self.peer, "server", "7", "100"] + words.map(String.init))
        defer { slave.send(SIGTERM) }
        #expect(await slave.waitForOutput("port "), "\(slave.printed)")
        let port = try #require(Int(slave.standardOutput.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        let gateway = GatewayConfig(id: "line1", host: "127.0.0.1", port: port, wire: .modbusRTUOverTCP, baudRate: 2400, timeoutMs: 1000)
        let model = MeterModel(
            id: "rtu", description: "three points in two reads",
            points: [
                RegisterPoint(
                    name: "energy", quantity: .consumption, unit: "kWh", function: .holding, address: 100, type: .u16, scale: 0.1,
                    kind: .counter),
                RegisterPoint(name: "total", quantity: .total, unit: "kWh", function: .holding, address: 101, type: .u32, kind: .counter),
                RegisterPoint(name: "power", quantity: .power, unit: "kW", function: .input, address: 103, type: .i16, kind: .gauge),
            ])
        let meter = MeterConfig(id: "m7", gateway: "line1", unitID: 7, model: "rtu", energy: .electricity, intervalSeconds: 1)
        let sink = CollectingSink()
        let poller = poller(gateway: gateway, meters: [(meter, model)], clock: SystemWallClock(), sink: sink)
        poller.start()
        let polledTwice = await sink.wait { $0.filter { $0.quality == .good }.count >= 6 }
        await poller.stop()
        #expect(polledTwice, "\(sink.samples)")
        let good = sink.samples.filter { $0.quality == .good }
        #expect(Set(good.filter { $0.seriesID == 1 }.map(\.value)) == [123.4])
        #expect(Set(good.filter { $0.seriesID == 2 }.map(\.value)) == [123_456])
        #expect(Set(good.filter { $0.seriesID == 3 }.map(\.value)) == [-5])
        // Two requests a poll (holding 100–102, input 103) on one connection kept open.
        #expect(poller.statistics.snapshot.connects == 1)
    }

    @Test func aGarbledOrMissingAnswerFailsItsReadingAndTheLineStaysOpen() async throws {
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 3, timeoutMs: 200)
        scenario.configuration.gateways["gw0"]?.wire = .modbusRTUOverTCP
        scenario.faults = [
            FaultSpec(kind: .malformed, target: "g0m1", startMs: origin),
            FaultSpec(kind: .noAnswer, target: "g0m2", startMs: origin),
        ]
        let clock = SimulatedWallClock(startMs: origin + 3_600_000, speed: 1)
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let configuration = harness.configuration
        let gateway = configuration.gateways["gw0"]!
        let meters = configuration.meters.map(\.meter).sorted { $0.unitID < $1.unitID }.map { ($0, configuration.models[$0.model]!) }
        let sink = CollectingSink()
        let poller = poller(gateway: gateway, meters: meters, clock: clock, sink: sink)
        poller.start()
        let healthyPoints = meters[0].1.points.count
        let done = await sink.wait { samples in
            samples.filter { $0.quality == .good }.count >= 3 * healthyPoints
                && harness.plant.requests.count(gatewayID: "gw0", unitID: 2) >= 2
                && harness.plant.requests.count(gatewayID: "gw0", unitID: 3) >= 2
        }
        await poller.stop()
        await harness.stop()
        #expect(done)
        let healthy = Set(1...Int64(healthyPoints))
        let samples = sink.samples
        // The healthy meter reads well between its garbled and silent neighbours; they never read well.
        #expect(samples.filter { healthy.contains($0.seriesID) && $0.quality == .good }.count >= 3 * healthyPoints)
        #expect(samples.filter { !healthy.contains($0.seriesID) }.allSatisfy { $0.quality == .commFail })
        // One connection throughout: a CRC error or a timeout drained the line instead of reconnecting.
        #expect(poller.statistics.snapshot.connects == 1)
    }
}
