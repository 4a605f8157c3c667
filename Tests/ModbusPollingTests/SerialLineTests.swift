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

    /// Starts an independent peer's server (Tests/Peers) and returns it with the port it listens on.
    func startPeer(_ arguments: [String]) async throws -> (ChildProcess, Int) {
        try #require(
            FileManager.default.isExecutableFile(atPath: testPython), "the peers' packages are missing: run deploy/install-deps.sh --test")
        let peer = try ChildProcess(testPython, arguments)
        #expect(await peer.waitForOutput("port "), "\(peer.printed)")
        let port = try #require(Int(peer.standardOutput.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        return (peer, port)
    }

    /// Polls one meter every second until `count` good readings are in; returns the poller and the good readings.
    func pollUntilGood(_ count: Int, gateway: GatewayConfig, meter: MeterConfig, model: MeterModel) async -> (GatewayPoller, [Sample]) {
        let sink = CollectingSink()
        let poller = poller(gateway: gateway, meters: [(meter, model)], clock: SystemWallClock(), sink: sink)
        poller.start()
        let done = await sink.wait { $0.filter { $0.quality == .good }.count >= count }
        await poller.stop()
        #expect(done, "\(sink.samples)")
        return (poller, sink.samples.filter { $0.quality == .good })
    }

    @Test func readsAnIndependentRTUSlaveThroughATCPStream() async throws {
        // From register 100: 1234 (0.1 kWh), 123456 as two words, -5 as a signed word.
        let words = [1234, 0x0001, 0xE240, 0xFFFB]
        let (slave, port) = try await startPeer([peerScript("modbus_rtu_peer.py"), "server", "7", "100"] + words.map(String.init))
        defer { slave.send(SIGTERM) }
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
        let (poller, good) = await pollUntilGood(6, gateway: gateway, meter: meter, model: model)
        #expect(Set(good.filter { $0.seriesID == 1 }.map(\.value)) == [123.4])
        #expect(Set(good.filter { $0.seriesID == 2 }.map(\.value)) == [123_456])
        #expect(Set(good.filter { $0.seriesID == 3 }.map(\.value)) == [-5])
        // Two requests a poll (holding 100–102, input 103) on one connection kept open.
        #expect(poller.statistics.snapshot.connects == 1)
    }

    @Test func aGarbledOrMissingAnswerFailsItsReadingAndTheLineStaysOpen() async throws {
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 4, timeoutMs: 200)
        scenario.configuration.gateways["gw0"]?.wire = .modbusRTUOverTCP
        scenario.faults = [
            FaultSpec(kind: .malformed, target: "g0m1", startMs: origin),
            FaultSpec(kind: .noAnswer, target: "g0m2", startMs: origin),
            FaultSpec(kind: .garbage, target: "g0m3", startMs: origin),
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
                && harness.plant.requests.count(gatewayID: "gw0", unitID: 4) >= 2
        }
        await poller.stop()
        await harness.stop()
        #expect(done)
        let healthy = Set(1...Int64(healthyPoints))
        let samples = sink.samples
        // The healthy meter reads well between its garbled, silent and noisy neighbours; they never read well.
        #expect(samples.filter { healthy.contains($0.seriesID) && $0.quality == .good }.count >= 3 * healthyPoints)
        #expect(samples.filter { !healthy.contains($0.seriesID) }.allSatisfy { $0.quality == .commFail })
        // One connection throughout: a CRC error, a timeout or noise drained the line instead of reconnecting.
        #expect(poller.statistics.snapshot.connects == 1)
    }

    @Test func readsAnIndependentDLT645MeterAndScalesItsSecondaryValues() async throws {
        let (slave, port) = try await startPeer([
            peerScript("dlt645_peer.py"), "server", "123456781012", "00010000=2250.37", "02030000=-1.5", "02060000=0.987",
        ])
        defer { slave.send(SIGTERM) }
        var gateway = GatewayConfig(id: "line2", host: "127.0.0.1", port: port, wire: .dlt645, baudRate: 2400, timeoutMs: 1000)
        gateway.wakeUpBytes = 2
        let model = MeterModel(
            id: "dlt", description: "",
            points: [
                RegisterPoint(name: "energy", quantity: .consumption, dataItem: DLT645DataItem(identifier: 0x0001_0000)!, kind: .counter),
                RegisterPoint(name: "power", quantity: .power, dataItem: DLT645DataItem(identifier: 0x0203_0000)!, kind: .gauge),
                RegisterPoint(name: "pf", quantity: .other, dataItem: DLT645DataItem(identifier: 0x0206_0000)!, kind: .gauge),
            ])
        var meter = MeterConfig(id: "m1", gateway: "line2", unitID: 0, model: "dlt", energy: .electricity, intervalSeconds: 1)
        meter.meterAddress = "123456781012"
        meter.ctRatio = 20
        let (poller, good) = await pollUntilGood(6, gateway: gateway, meter: meter, model: model)
        // Energy and power times the CT ratio; the power factor as read.
        #expect(good.filter { $0.seriesID == 1 }.allSatisfy { abs($0.value! - 45_007.4) < 1e-9 })
        #expect(Set(good.filter { $0.seriesID == 2 }.map(\.value)) == [-30])
        #expect(Set(good.filter { $0.seriesID == 3 }.map(\.value)) == [0.987])
        #expect(poller.statistics.snapshot.connects == 1)
    }

    @Test func aDLT645LineKeepsGoingThroughChecksumErrorsSilenceErrorAnswersAndNoise() async throws {
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 5, models: ["chint_dtsu666_dlt645"], timeoutMs: 200)
        scenario.configuration.gateways["gw0"]?.wire = .dlt645
        for index in scenario.configuration.enterprises[0].meters.indices {
            scenario.configuration.enterprises[0].meters[index].meterAddress = "00000000000\(index + 1)"
        }
        scenario.faults = [
            FaultSpec(kind: .malformed, target: "g0m1", startMs: origin),
            FaultSpec(kind: .noAnswer, target: "g0m2", startMs: origin),
            FaultSpec(kind: .exception, target: "g0m3", startMs: origin, parameter: 2),
            FaultSpec(kind: .garbage, target: "g0m4", startMs: origin),
        ]
        let clock = SimulatedWallClock(startMs: origin + 3_600_000, speed: 1)
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        let configuration = harness.configuration
        let meters = configuration.meters.map(\.meter).sorted { $0.meterAddress! < $1.meterAddress! }.map {
            ($0, configuration.models[$0.model]!)
        }
        let sink = CollectingSink()
        let poller = poller(gateway: configuration.gateways["gw0"]!, meters: meters, clock: clock, sink: sink)
        poller.start()
        let points = meters[0].1.points.count
        let done = await sink.wait { samples in
            samples.filter { $0.quality == .good }.count >= 3 * points
                && (2...5).allSatisfy { harness.plant.requests.count(gatewayID: "gw0", lineAddress: "00000000000\($0)") >= 2 }
        }
        await poller.stop()
        await harness.stop()
        #expect(done)
        func samples(ofMeter index: Int) -> [Sample] {
            sink.samples.filter { (Int64(index * points + 1)...Int64((index + 1) * points)).contains($0.seriesID) }
        }
        #expect(samples(ofMeter: 0).filter { $0.quality == .good }.count >= 3 * points)
        #expect(samples(ofMeter: 1).allSatisfy { $0.quality == .commFail }, "checksum errors")
        #expect(samples(ofMeter: 2).allSatisfy { $0.quality == .commFail }, "silence")
        #expect(samples(ofMeter: 3).contains { $0.quality == .exception } && samples(ofMeter: 3).allSatisfy { $0.quality != .good })
        #expect(samples(ofMeter: 4).allSatisfy { $0.quality == .commFail }, "noise")
        #expect(poller.statistics.snapshot.connects == 1)
    }

    @Test func aSlowLineSaysWhichIntervalsItCannotHold() throws {
        // A 2400-baud DL/T 645 line, four wake-up bytes: a read of a 4-byte item is 44 bytes of 11 bits (201.7 ms), two
        // frame gaps of 3.5 characters (32.1 ms) and the meter's 50 ms turnaround: 283.75 ms; a 3-byte item 279.17 ms,
        // a 2-byte item 274.58 ms. The DTSU666's four points take 1.121 s a poll.
        let models = try TestScenarios.shippedModels()
        var configuration = EnergyConfiguration()
        configuration.models = models.filter { $0.key == "chint_dtsu666_dlt645" }
        configuration.gateways["slow"] = GatewayConfig(id: "slow", host: "10.0.0.9", port: 4001, wire: .dlt645, baudRate: 2400)
        var meter = MeterConfig(
            id: "m", gateway: "slow", unitID: 0, model: "chint_dtsu666_dlt645", energy: .electricity, intervalSeconds: 1)
        meter.meterAddress = "000000000001"
        configuration.enterprises = [EnterpriseConfig(id: "E", name: "e", jurisdiction: "j", industry: "i", meters: [meter])]
        let load = LineCapacity.load(of: configuration.gateways["slow"]!, meters: [(meter, configuration.models[meter.model]!)])
        #expect(abs(load - 1.121_25) < 0.000_1, "\(load)")
        let warnings = LineCapacity.warnings(for: configuration)
        #expect(warnings.count == 1 && warnings[0].contains("gateway \"slow\"") && warnings[0].contains("2 s"), "\(warnings)")
        // At a 2-second interval the same meter fits.
        configuration.enterprises[0].meters[0].intervalSeconds = 2
        #expect(LineCapacity.warnings(for: configuration).isEmpty)
    }
}
