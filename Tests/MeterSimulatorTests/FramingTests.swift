import CModbus
import EnergyModel
import Foundation
import MeterProtocols
import MeterSimulator
import TestSupport
import Testing

/// metersim's wire behaviour, checked with libmodbus as the client.
@Suite struct FramingTests {
    let origin: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00

    @Test func answersReadsWithCorrectFramingAndCountsThem() async throws {
        let clock = ManualClock(startMs: origin + 3_600_000)
        let harness = try await SimulatorHarness.start(TestScenarios.grid(gateways: 1, metersPerGateway: 2), clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        let words = try client.read(0x401E, 2)
        let value = Double(Float(bitPattern: UInt32(words[0]) << 16 | UInt32(words[1])))
        // 1000 kWh at the start, 3600 kWh per hour, one hour later.
        #expect(value == 4600)
        client.setUnit(2)
        _ = try client.read(0x2006, 14)
        #expect(harness.plant.requests.byFunction == [3: 2])
    }

    @Test func refusesEveryOtherFunctionWithIllegalFunction() async throws {
        let harness = try await SimulatorHarness.start(
            TestScenarios.grid(gateways: 1, metersPerGateway: 1), clock: ManualClock(startMs: origin))
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 1)) { try client.readCoils(0, 8) }
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 1)) { try client.writeRegister(0x401E, 1) }
        #expect(harness.plant.requests.byFunction == [1: 1, 6: 1])
    }

    @Test func unmappedAddressesAndUnknownUnitsGetExceptions() async throws {
        let harness = try await SimulatorHarness.start(
            TestScenarios.grid(gateways: 1, metersPerGateway: 1), clock: ManualClock(startMs: origin))
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 2), "no point at address 0") { try client.read(0, 2) }
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 2), "FC4 has no points in this model") {
            try client.read(0x401E, 2, input: true)
        }
        client.setUnit(99)
        #expect(throws: ClientError(code: Int32(MODBUS_ENOBASE) + 11), "gateway target failed to respond") { try client.read(0x401E, 2) }
    }

    /// Each shipped model read at the vendor's documented address, decoded by hand here (not with energyd's codec).
    @Test func vendorRegisterMapsReadBackAtVendorAddresses() async throws {
        let models = [
            "chint_dtsu666", "acrel_adw300", "acrel_adl400", "gas_totaliser", "steam_totaliser", "water_totaliser", "coal_belt_scale",
            "production_counter_t",
        ]
        let clock = ManualClock(startMs: origin + 7_200_000)
        let scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: models.count, models: models, rate: 12.5)
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        defer { Task { await harness.stop() } }
        let client = try LibmodbusClient(port: harness.server.ports["gw0"]!)
        // Every meter started at 1000 and has run 2 h at 12.5 per hour: 1025 in its counter's unit.
        func unit(_ model: String) -> Int32 { Int32(models.firstIndex(of: model)! + 1) }
        func be32(_ w: [UInt16]) -> UInt32 { UInt32(w[0]) << 16 | UInt32(w[1]) }
        func le32(_ w: [UInt16]) -> UInt32 { UInt32(w[1]) << 16 | UInt32(w[0]) }

        client.setUnit(unit("chint_dtsu666"))
        #expect(Float(bitPattern: be32(try client.read(0x401E, 2))) == 1025)
        client.setUnit(unit("acrel_adw300"))
        #expect(Int32(bitPattern: be32(try client.read(62, 2))) == 102_500)  // × 0.01 kWh
        client.setUnit(unit("acrel_adl400"))
        #expect(be32(try client.read(0x084C, 2)) == 10_250)  // × 0.1 kWh
        #expect(be32(try client.read(0x0842, 2)) == 10_250, "total = import + export (0)")
        client.setUnit(unit("gas_totaliser"))
        #expect(le32(try client.read(0, 2)) == 102_500)  // × 0.01 m³, low word first
        client.setUnit(unit("steam_totaliser"))
        #expect(Float(bitPattern: le32(try client.read(0, 2, input: true))) == 1025)  // t, FC4, low word first
        client.setUnit(unit("water_totaliser"))
        #expect(be32(try client.read(0, 2)) == 102_500)
        client.setUnit(unit("coal_belt_scale"))
        #expect(be32(try client.read(100, 2)) == 103)  // × 10 kg: 1025 kg is 102.5, rounded half up
        client.setUnit(unit("production_counter_t"))
        #expect(le32(try client.read(0, 2)) == 102_500)
    }
}

/// Modbus RTU frames against the worked examples of the Modbus specifications, and metersim's RTU gateways
/// against pymodbus' RTU framer.
@Suite struct RTUFramingTests {
    @Test func framesMatchTheSpecificationsWorkedExamples() throws {
        // Modbus Application Protocol V1.1b3 §6.3 (read registers 108–110), framed for slave 1.
        #expect(ModbusRTU.readRequest(unit: 1, function: 3, address: 0x6B, count: 3) == [0x01, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x74, 0x17])
        let answer = ModbusRTU.framed([0x01, 0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64])
        #expect(ModbusRTU.answerLength(prefix: answer.prefix(3)) == answer.count)
        #expect(try ModbusRTU.answer(in: answer, unit: 1, function: 3, count: 3) == .registers([0x022B, 0, 0x64]))
        // An exception answer is five bytes whatever follows.
        let exception = ModbusRTU.framed([0x01, 0x83, 0x02])
        #expect(ModbusRTU.answerLength(prefix: exception.prefix(3)) == 5)
        #expect(try ModbusRTU.answer(in: exception, unit: 1, function: 3, count: 3) == .exception(2))
    }

    @Test func aBadFrameSaysWhatIsWrongWithIt() {
        var noisy = ModbusRTU.framed([0x01, 0x03, 0x02, 0x00, 0x07])
        noisy[3] ^= 0x10
        #expect(throws: ModbusRTU.FrameError.badCRC) { try ModbusRTU.answer(in: noisy, unit: 1, function: 3, count: 1) }
        let foreign = ModbusRTU.framed([0x02, 0x03, 0x02, 0x00, 0x07])
        #expect(throws: ModbusRTU.FrameError.foreignUnit(2)) { try ModbusRTU.answer(in: foreign, unit: 1, function: 3, count: 1) }
        let otherFunction = ModbusRTU.framed([0x01, 0x04, 0x02, 0x00, 0x07])
        #expect(throws: ModbusRTU.FrameError.foreignFunction(4)) { try ModbusRTU.answer(in: otherFunction, unit: 1, function: 3, count: 1) }
        #expect(throws: ModbusRTU.FrameError.wrongCount(1)) { try ModbusRTU.answer(in: foreign, unit: 2, function: 3, count: 2) }
    }

    @Test func theLineIsQuietForThreeAndAHalfCharactersBetweenFrames() {
        // 3.5 characters of 11 bits: 16.04 ms at 2400 baud, 4.01 ms at 9600; a fixed 1.75 ms above 19 200.
        func gap(_ baudRate: Int) -> Int { GatewayConfig(id: "g", host: "h", baudRate: baudRate).interFrameGapMicroseconds }
        #expect(gap(2400) == 16_042)
        #expect(gap(9600) == 4011)
        #expect(gap(115_200) == 1750)
    }

    @Test func metersimsRTUGatewayAnswersPymodbusWithTheRegistersItServes() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: testPython), "pymodbus is missing: run deploy/install-deps.sh --test")
        let origin: Int64 = 1_767_196_800_000
        let clock = ManualClock(startMs: origin + 7_200_000)
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 2, models: ["acrel_adl400"])
        scenario.configuration.gateways["gw0"]?.wire = .modbusRTUOverTCP
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        defer { Task { await harness.stop() } }
        let meter = try #require(harness.plant.meters["g0m1"])
        let served = try harness.plant.registers(of: meter, function: .holding, address: 0x084C, count: 2, atMs: clock.nowMs()).get()
        let client = try ChildProcess(
            testPython,
            [
                peerScript("modbus_rtu_peer.py"), "client", "127.0.0.1", "\(harness.server.ports["gw0"]!)", "2", "3", "2124",
                "2",
            ])
        #expect(await client.waitForExit() == 0, "\(client.printed)")
        let read = try JSONDecoder().decode([UInt16].self, from: Data(client.standardOutput.utf8))
        #expect(read == served && read != [0, 0], "pymodbus read \(read), metersim serves \(served)")
    }
}
