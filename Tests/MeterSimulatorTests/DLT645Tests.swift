import EnergyModel
import Foundation
import MeterProtocols
import MeterSimulator
import TestSupport
import Testing

/// DL/T 645-2007 frames against the standard's worked example and against frames the dlt645 package (an independent
/// implementation) wrote; metersim's DL/T 645 meters against that package's client.
@Suite struct DLT645Tests {
    static let address = DLT645.addressBytes("123456781012")!

    func hex(_ text: String) -> [UInt8] { text.split(separator: " ").map { UInt8($0, radix: 16)! } }

    func value(_ answer: String, _ identifier: UInt32) throws -> Double? {
        let frame = try DLT645.decode(hex(answer))
        guard case .value(let bytes, more: false) = try DLT645.answer(in: frame, address: Self.address, identifier: identifier) else {
            return nil
        }
        return DLT645DataItem(identifier: identifier)?.value(fromBCD: bytes)
    }

    @Test func aReadIsTheStandardsWorkedExampleByteForByte() {
        #expect(Self.address == [0x12, 0x10, 0x78, 0x56, 0x34, 0x12], "the nameplate's address, low byte first")
        #expect(DLT645.addressText(Self.address) == "123456781012")
        #expect(
            DLT645.readRequest(address: Self.address, identifier: 0x0001_0000)
                == hex("FE FE FE FE 68 12 10 78 56 34 12 68 11 04 33 33 34 33 E8 16"))
        #expect(DLT645.readRequest(address: Self.address, identifier: 0x0001_0000, wakeUpBytes: 0).count == 16)
    }

    @Test func answersWrittenByAnotherImplementationReadAsTheValuesItWasGiven() throws {
        // Captured from the dlt645 package's meter server (3.2.0), set to these values.
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 4C 16", 0x0001_0000) == 123_456.78)
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 08 33 33 35 33 CC CC CC 3C 0D 16", 0x0002_0000) == 99_999.99)
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 07 33 33 36 35 89 67 45 A4 16", 0x0203_0000) == 12.3456)
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 07 33 33 36 35 33 83 B4 D9 16", 0x0203_0000) == -1.5)
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 06 33 33 39 35 BA 3C 67 16", 0x0206_0000) == 0.987)
        #expect(try value("FE FE FE FE 68 12 10 78 56 34 12 68 91 06 33 34 34 35 34 55 F6 16", 0x0201_0100) == 220.1)
        // Its error answer to a read from another address: bit 0, other error.
        let error = try DLT645.decode(hex("FE FE FE FE 68 12 10 78 56 34 12 68 D1 01 34 0C 16"))
        #expect(try DLT645.answer(in: error, address: Self.address, identifier: 0x0001_0000) == .error(1))
        #expect(DLT645.errorText(0x02) == "无请求数据")
    }

    @Test func ourFramesReadBackAndABadOneSaysWhy() throws {
        let item = try #require(DLT645DataItem(identifier: 0x0001_0000))
        let answer = DLT645.frame(
            address: Self.address, control: 0x91, data: [0x00, 0x00, 0x01, 0x00] + item.bcd(of: 2250.37), wakeUpBytes: 2)
        #expect(DLT645.frameLength(prefix: Array(answer.prefix(11))) == nil, "the length byte has not arrived")
        #expect(DLT645.frameLength(prefix: Array(answer.prefix(12))) == answer.count)
        #expect(try value(answer.map { String(format: "%02X", $0) }.joined(separator: " "), 0x0001_0000) == 2250.37)
        var noisy = answer
        noisy[15] ^= 0x01
        #expect(throws: DLT645.FrameError.badChecksum) { try DLT645.decode(noisy) }
        let other = DLT645.frame(address: DLT645.addressBytes("000000000001")!, control: 0x91, data: [0, 0, 1, 0] + item.bcd(of: 1))
        #expect(throws: DLT645.FrameError.foreignAddress("000000000001")) {
            try DLT645.answer(in: DLT645.decode(other), address: Self.address, identifier: 0x0001_0000)
        }
        #expect(throws: DLT645.FrameError.foreignIdentifier(0x0001_0000), "it answers about 00010000") {
            try DLT645.answer(in: DLT645.decode(answer), address: Self.address, identifier: 0x0002_0000)
        }
        // Noise where a frame should start is read as a frame, for decode to refuse.
        #expect(DLT645.frameLength(prefix: [0xFE, 0x00, 0x12]) == 3)
        #expect(throws: DLT645.FrameError.notAFrame) { try DLT645.decode([0xFE, 0x00, 0x12]) }
    }

    @Test func anAnswerInSeveralFramesSaysSoAndItsFollowUpsCarryTheirSequence() throws {
        let identifier: UInt32 = 0x0001_0000
        let first = DLT645.frame(address: Self.address, control: 0xB1, data: [0x00, 0x00, 0x01, 0x00, 0x11, 0x22])
        #expect(
            try DLT645.answer(in: DLT645.decode(first), address: Self.address, identifier: identifier) == .value([0x11, 0x22], more: true))
        let request = DLT645.followUpRequest(address: Self.address, identifier: identifier, sequence: 1, wakeUpBytes: 0)
        #expect(try DLT645.decode(request) == DLT645.Frame(address: Self.address, control: 0x12, data: [0x00, 0x00, 0x01, 0x00, 0x01]))
        let last = DLT645.frame(address: Self.address, control: 0x92, data: [0x00, 0x00, 0x01, 0x00, 0x33, 0x01])
        #expect(
            try DLT645.answer(in: DLT645.decode(last), address: Self.address, identifier: identifier, control: DLT645.readFollowUp)
                == .value([0x33], more: false), "the sequence byte is not part of the value")
    }

    @Test func anEnergyCounterWrapsAt999999Point99() throws {
        let item = try #require(DLT645DataItem(identifier: 0x0001_0000))
        #expect(item.wrap == 1_000_000 && item.unit == "kWh" && !item.isSigned)
        #expect(item.value(fromBCD: item.bcd(of: 999_999.99)) == 999_999.99)
        #expect(item.value(fromBCD: item.bcd(of: 1_000_000.01)) == 0.01, "the display runs out of digits")
        #expect(item.value(fromBCD: [0x1A, 0, 0, 0]) == nil, "a nibble above 9 is not BCD")
        let point = RegisterPoint(name: "e", quantity: .consumption, dataItem: item, kind: .counter)
        #expect(point.effectiveWrap == 1_000_000)
        var meter = MeterConfig(id: "m", gateway: "g", unitID: 0, model: "x", energy: .electricity)
        meter.ctRatio = 20
        meter.ptRatio = 100
        #expect(meter.primaryWrap(of: point) == 2_000_000_000, "behind 100/5 A and 10 kV/100 V transformers")
        #expect(DLT645DataItem(identifier: 0x0203_0000)?.unit == "kW" && DLT645DataItem(identifier: 0x0206_0000)?.decimals == 3)
        #expect(DLT645DataItem(identifier: 0x0401_0000) == nil, "a parameter, not a reading")
    }

    @Test func metersimsDLT645MetersAnswerTheDlt645PackagesClient() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: testPython), "dlt645 is missing: run deploy/install-deps.sh --test")
        let origin: Int64 = 1_767_196_800_000
        let clock = ManualClock(startMs: origin + 7_200_000)
        var scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 2, models: ["chint_dtsu666_dlt645"])
        scenario.configuration.gateways["gw0"]?.wire = .dlt645
        for index in scenario.configuration.enterprises[0].meters.indices {
            scenario.configuration.enterprises[0].meters[index].meterAddress = String(format: "23010000%04d", index + 1)
            scenario.configuration.enterprises[0].meters[index].ctRatio = 20
        }
        let harness = try await SimulatorHarness.start(scenario, clock: clock)
        defer { Task { await harness.stop() } }
        let meter = try #require(harness.plant.meters["g0m1"])
        let primary = harness.plant.value(of: meter, point: 0, atMs: clock.nowMs())
        let client = try ChildProcess(
            testPython,
            [
                peerScript("dlt645_peer.py"), "client", "127.0.0.1", "\(harness.server.ports["gw0"]!)", "230100000002",
                "00010000",
            ])
        #expect(await client.waitForExit() == 0, "\(client.printed)")
        let read = try JSONDecoder().decode([String: Double].self, from: Data(client.standardOutput.utf8))
        // The meter shows its secondary value: the primary one over its CT ratio, to the hundredth of a kWh.
        let shown = try #require(read["00010000"])
        #expect(primary > 1000 && abs(shown - primary / 20) < 0.006, "dlt645 read \(shown), primary \(primary)")
        #expect(harness.plant.requests.count(gatewayID: "gw0", lineAddress: "230100000002") == 1)
        #expect(harness.plant.requests.summary == "dlt645-c11=1", "one read, counted apart from Modbus function codes")
    }
}
