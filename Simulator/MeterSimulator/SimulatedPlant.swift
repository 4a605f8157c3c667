import EnergyModel
import MeterProtocols
import Synchronization

/// What the server does with one request.
public enum SimulatorReply: Sendable, Equatable {
    /// Send these bytes now.
    case answer([UInt8])
    /// Send these bytes after a real-time delay.
    case answerLater([UInt8], delayMs: Int)
    /// Read the request and never answer.
    case silence
    /// Close the connection without answering.
    case close
}

/// Requests received, by Modbus function code and DL/T 645 control code.
public final class RequestCounter: Sendable {
    private let counts = Mutex([UInt64](repeating: 0, count: 256))
    private let controls = Mutex([UInt64](repeating: 0, count: 256))
    private let perUnit = Mutex<[String: UInt64]>([:])

    /// Counts one Modbus request.
    func count(function: UInt8, gatewayID: String, lineAddress: String) {
        counts.withLock { $0[Int(function)] += 1 }
        perUnit.withLock { $0["\(gatewayID)/\(lineAddress)", default: 0] += 1 }
    }

    /// Counts one DL/T 645 request.
    func count(dlt645Control control: UInt8, gatewayID: String, lineAddress: String) {
        controls.withLock { $0[Int(control)] += 1 }
        perUnit.withLock { $0["\(gatewayID)/\(lineAddress)", default: 0] += 1 }
    }

    /// Requests received by one unit id of one gateway.
    public func count(gatewayID: String, unitID: Int) -> UInt64 { count(gatewayID: gatewayID, lineAddress: "#\(unitID)") }

    /// Requests received at one line address (`MeterConfig.lineAddress`) of one gateway.
    public func count(gatewayID: String, lineAddress: String) -> UInt64 {
        perUnit.withLock { $0["\(gatewayID)/\(lineAddress)"] ?? 0 }
    }

    /// Non-zero counts by Modbus function code.
    public var byFunction: [Int: UInt64] { Self.nonZero(counts.withLock { $0 }) }

    /// Non-zero counts by DL/T 645 control code (0x11: read).
    public var byDLT645Control: [Int: UInt64] { Self.nonZero(controls.withLock { $0 }) }

    private static func nonZero(_ counts: [UInt64]) -> [Int: UInt64] {
        Dictionary(uniqueKeysWithValues: counts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) })
    }

    /// One line: "fc3=120 fc4=12 dlt645-c11=30" (DL/T 645 control codes in hexadecimal).
    public var summary: String {
        let functions = byFunction
        let controls = byDLT645Control
        let parts =
            functions.keys.sorted().map { "fc\($0)=\(functions[$0]!)" }
            + controls.keys.sorted().map { "dlt645-c\(String($0, radix: 16, uppercase: true))=\(controls[$0]!)" }
        return parts.isEmpty ? "no requests" : parts.joined(separator: " ")
    }
}

/// The simulated district: every meter's counters as functions of the simulated clock, and the faults.
public final class SimulatedPlant: Sendable {
    /// The scenario simulated.
    public let scenario: Scenario
    /// The (simulated or real) clock counters follow.
    public let clock: any WallClock
    /// Meters by id.
    public let meters: [String: SimulatedMeter]
    /// Meters by gateway and line address (a unit id as "#3", or a DL/T 645 address).
    let units: [String: [String: SimulatedMeter]]
    /// Faults in force.
    public let faults: FaultBoard
    /// Requests received.
    public let requests = RequestCounter()

    /// Builds the meters of `scenario`, on `clock`.
    public init(scenario: Scenario, clock: any WallClock) {
        self.scenario = scenario
        self.clock = clock
        self.faults = FaultBoard(faults: scenario.faults)
        var meters: [String: SimulatedMeter] = [:]
        let configuration = scenario.configuration
        func curve(_ meter: MeterConfig, _ simulation: MeterSimulation) -> ConsumptionCurve {
            ConsumptionCurve(
                meterID: meter.id, meanRate: simulation.rate, profile: scenario.profiles[simulation.profile] ?? .flat,
                originMs: scenario.originMs, utcOffsetSeconds: scenario.utcOffsetSeconds, seed: scenario.seed)
        }
        for enterprise in configuration.enterprises {
            // Energy meters first: production counters tied to energy read them.
            var energyMeters: [SimulatedMeter] = []
            for meter in enterprise.meters where meter.energy != .production {
                guard let model = configuration.models[meter.model] else { continue }
                let simulation =
                    scenario.meters[meter.id]
                    ?? MeterSimulation(rate: Scenario.defaultRate(for: meter.energy), start: 0, exportRate: 0, profile: "flat")
                let simulated = SimulatedMeter(
                    config: meter, enterpriseID: enterprise.id, model: model, simulation: simulation,
                    curve: curve(meter, simulation), productionInputs: nil)
                energyMeters.append(simulated)
                meters[meter.id] = simulated
            }
            let unitConsumption = scenario.enterprises[enterprise.id]?.unitConsumptionKgce
            for meter in enterprise.meters where meter.energy == .production {
                guard let model = configuration.models[meter.model] else { continue }
                let simulation =
                    scenario.meters[meter.id]
                    ?? MeterSimulation(rate: Scenario.defaultRate(for: meter.energy), start: 0, exportRate: 0, profile: "flat")
                let inputs = unitConsumption.map { uc in (energyMeters.map { ($0, $0.kgcePerUnit) }, uc) }
                meters[meter.id] = SimulatedMeter(
                    config: meter, enterpriseID: enterprise.id, model: model, simulation: simulation,
                    curve: curve(meter, simulation), productionInputs: inputs)
            }
        }
        self.meters = meters
        var units: [String: [String: SimulatedMeter]] = [:]
        for meter in meters.values { units[meter.config.gateway, default: [:]][meter.config.lineAddress] = meter }
        self.units = units
    }

    // MARK: Values

    /// The primary value of a point at `timeMs`, with counter faults (rollover, replacement, frozen) applied; the
    /// meter shows it divided by its transformer ratios.
    public func value(of meter: SimulatedMeter, point index: Int, atMs timeMs: Int64) -> Double {
        let point = meter.model.points[index]
        var time = timeMs
        if let frozen = faults.active(.frozen, targets: [meter.config.id], at: timeMs) { time = frozen.startMs }
        let origin = scenario.originMs
        switch point.quantity {
        case .consumption, .production:
            return counterValue(of: meter, point: point, atMs: time)
        case .export:
            return wrapped(meter.exported(atMs: time, originMs: origin), point, of: meter)
        case .total:
            let consumption = meter.accountingPoint.map { counterValue(of: meter, point: meter.model.points[$0], atMs: time) } ?? 0
            return wrapped(consumption + meter.exported(atMs: time, originMs: origin), point, of: meter)
        case .power, .flow:
            let rate = meter.rate(atMs: time)
            return point.unit == "W" ? rate * 1000 : rate
        case .voltage:
            return 230 + 2 * SeededNoise.unit(seed: scenario.seed, key: SeededNoise.key(meter.config.id), index: time / 60_000)
        case .current, .pressure, .temperature, .other:
            return 1
        }
    }

    /// The accounting counter: start value plus what accumulated, restarted by replacements, wrapped.
    private func counterValue(of meter: SimulatedMeter, point: RegisterPoint, atMs timeMs: Int64) -> Double {
        let origin = scenario.originMs
        let accumulated = meter.accumulated(atMs: timeMs, originMs: origin)
        var value = meter.simulation.start + accumulated
        if let wrap = meter.config.primaryWrap(of: point), let rollover = faults.started(.rollover, target: meter.config.id, by: .max).last,
            timeMs >= rollover.movedMs ?? .min
        {
            // Start where the counter reaches its wrap exactly at the fault's time: it wraps, nothing is invented.
            let atFault = meter.accumulated(atMs: rollover.startMs, originMs: origin)
            let start = (wrap - atFault.truncatingRemainder(dividingBy: wrap)).truncatingRemainder(dividingBy: wrap)
            value = start + accumulated
        }
        if let replaced = faults.started(.replaced, target: meter.config.id, by: timeMs).last {
            value = (replaced.parameter ?? 0) + accumulated - meter.accumulated(atMs: replaced.startMs, originMs: origin)
        }
        return wrapped(value, point, of: meter)
    }

    /// A counter's primary value as the meter shows it: its display (secondary, behind transformers) wraps.
    private func wrapped(_ value: Double, _ point: RegisterPoint, of meter: SimulatedMeter) -> Double {
        guard let wrap = meter.config.primaryWrap(of: point) else { return value }
        let remainder = value.truncatingRemainder(dividingBy: wrap)
        return remainder < 0 ? remainder + wrap : remainder
    }

    /// What the meter shows for a point when read at `timeMs`: its primary value over its transformer ratios, with a
    /// glitch or spike fault on its accounting counter firing once.
    private func shownValue(of meter: SimulatedMeter, point index: Int, atMs timeMs: Int64) -> Double {
        var value = self.value(of: meter, point: index, atMs: timeMs)
        if index == meter.accountingPoint {
            if faults.fireOnce(.glitch, target: meter.config.id, at: timeMs) != nil { value = 0 }
            if let spike = faults.fireOnce(.spike, target: meter.config.id, at: timeMs) {
                value += spike.parameter ?? 1_000_000
            }
        }
        return value / meter.config.primaryFactor(of: meter.model.points[index])
    }

    /// The BCD bytes of a DL/T 645 meter's data item `identifier` at `timeMs`, or nil when it has no such item.
    public func dataItem(of meter: SimulatedMeter, identifier: UInt32, atMs timeMs: Int64) -> [UInt8]? {
        guard let index = meter.model.points.firstIndex(where: { $0.dataItem?.identifier == identifier }) else { return nil }
        return meter.model.points[index].bcd(forEngineeringValue: shownValue(of: meter, point: index, atMs: timeMs))
    }

    /// Registers `address ..< address + count` of function `function` of a meter at `timeMs`, or an exception code.
    public func registers(of meter: SimulatedMeter, function: RegisterFunction, address: Int, count: Int, atMs timeMs: Int64)
        -> Result<[UInt16], ModbusExceptionCode>
    {
        guard (1...125).contains(count) else { return .failure(.illegalDataValue) }
        guard address + count <= 65536 else { return .failure(.illegalDataAddress) }
        let range = address..<(address + count)
        var words = [UInt16](repeating: 0, count: count)
        var covered = false
        for (index, point) in meter.model.points.enumerated() where point.function == function {
            let pointRange = point.address..<(point.address + point.registerCount)
            guard pointRange.overlaps(range) else { continue }
            covered = true
            let pointWords = point.words(forEngineeringValue: shownValue(of: meter, point: index, atMs: timeMs))
            for register in pointRange.clamped(to: range) {
                words[register - address] = pointWords[register - point.address]
            }
        }
        return covered ? .success(words) : .failure(.illegalDataAddress)
    }

    // MARK: Requests

    /// Answers one request that arrived at `gatewayID`, the `requestsOnConnection`-th on its connection.
    public func respond(to request: ModbusRequestFrame, gatewayID: String, requestsOnConnection: Int) -> SimulatorReply {
        requests.count(function: request.function, gatewayID: gatewayID, lineAddress: "#\(request.unitID)")
        let now = clock.nowMs()
        let meter = units[gatewayID]?["#\(request.unitID)"]
        let targets = meter.map { [gatewayID, $0.config.id] } ?? [gatewayID]
        if let reply = connectionFault(gatewayID: gatewayID, requestsOnConnection: requestsOnConnection, at: now) { return reply }
        if let reply = answerFault(targets: targets, at: now) { return reply }
        let wire = scenario.configuration.gateways[gatewayID]?.wire ?? .modbusTCP
        // On a serial line nobody answers for an address no meter has.
        if wire.isSerialLine, meter == nil { return .silence }

        let pdu: [UInt8]
        if let fault = faults.active(.exception, targets: targets, at: now) {
            pdu = ModbusFraming.exceptionPDU(function: request.function, code: UInt8(fault.parameter ?? 4))
        } else {
            pdu = answerPDU(request, meter: meter, atMs: now)
        }
        let malformed = faults.active(.malformed, targets: targets, at: now) != nil
        var frame: [UInt8]
        if wire.isSerialLine {
            frame = ModbusRTU.framed([request.unitID] + pdu)
            // A garbled answer on a serial line: its CRC does not match.
            if malformed { frame[frame.count - 1] ^= 0x5A }
        } else {
            frame = ModbusFraming.encode(answering: request, pdu: pdu, protocolID: malformed ? 0x1234 : 0)
        }
        return delivered(frame, targets: targets, at: now)
    }

    private func answerPDU(_ request: ModbusRequestFrame, meter: SimulatedMeter?, atMs timeMs: Int64) -> [UInt8] {
        guard let function = RegisterFunction(rawValue: Int(request.function)) else {
            return ModbusFraming.exceptionPDU(function: request.function, code: ModbusExceptionCode.illegalFunction.rawValue)
        }
        guard let meter else {
            return ModbusFraming.exceptionPDU(function: request.function, code: ModbusExceptionCode.gatewayTargetFailed.rawValue)
        }
        guard let range = request.readRange, request.data.count == 4 else {
            return ModbusFraming.exceptionPDU(function: request.function, code: ModbusExceptionCode.illegalDataValue.rawValue)
        }
        switch registers(of: meter, function: function, address: range.address, count: range.count, atMs: timeMs) {
        case .success(let words): return ModbusFraming.registersPDU(function: request.function, words: words)
        case .failure(let code): return ModbusFraming.exceptionPDU(function: request.function, code: code.rawValue)
        }
    }

    /// Bytes that start no frame of any of the three framings: a protocol id that is not Modbus, a unit id no RTU
    /// slave has, no 68.
    static let lineNoise: [UInt8] = [0x00, 0xFF, 0x55, 0xAA, 0x13, 0x37, 0x00, 0xFF]

    /// Answers one DL/T 645 frame that arrived at `gatewayID`, the `requestsOnConnection`-th on its connection. Like a
    /// meter on the line: a frame for another address or with a bad checksum goes unanswered.
    public func respond(toDLT645 bytes: [UInt8], gatewayID: String, requestsOnConnection: Int) -> SimulatorReply {
        guard let request = try? DLT645.decode(bytes) else { return .silence }
        let now = clock.nowMs()
        let lineAddress = DLT645.addressText(request.address)
        requests.count(dlt645Control: request.control, gatewayID: gatewayID, lineAddress: lineAddress)
        if let reply = connectionFault(gatewayID: gatewayID, requestsOnConnection: requestsOnConnection, at: now) { return reply }
        guard let meter = units[gatewayID]?[lineAddress] else { return .silence }
        let targets = [gatewayID, meter.config.id]
        if let reply = answerFault(targets: targets, at: now) { return reply }
        let identifier = request.data.prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var control = request.control | 0x80
        var data: [UInt8]
        if let fault = faults.active(.exception, targets: targets, at: now) {
            (control, data) = (request.control | 0xC0, [UInt8(fault.parameter ?? 2)])
        } else if request.control == DLT645.readData, request.data.count == 4,
            let value = dataItem(of: meter, identifier: identifier, atMs: now)
        {
            data = Array(request.data.prefix(4)) + value
        } else {
            // Bit 1: no such data (an unknown item, or a follow-up of an answer that had none); bit 0: another command.
            (control, data) = (request.control | 0xC0, [request.control == DLT645.readData ? 0x02 : 0x01])
        }
        let wakeUpBytes = scenario.configuration.gateways[gatewayID]?.wakeUpBytes ?? 4
        var frame = DLT645.frame(address: request.address, control: control, data: data, wakeUpBytes: wakeUpBytes)
        // A garbled answer: its checksum does not match.
        if faults.active(.malformed, targets: targets, at: now) != nil { frame[frame.count - 2] ^= 0x5A }
        return delivered(frame, targets: targets, at: now)
    }

    /// A gateway-down or drop-after fault on the connection, the same for every framing.
    private func connectionFault(gatewayID: String, requestsOnConnection: Int, at now: Int64) -> SimulatorReply? {
        if faults.active(.gatewayDown, targets: [gatewayID], at: now) != nil { return .close }
        if let drop = faults.active(.dropAfter, targets: [gatewayID], at: now), requestsOnConnection > Int(drop.parameter ?? 10) {
            return .close
        }
        return nil
    }

    /// A no-answer or garbage fault on the gateway or the meter (`targets`), the same for every framing.
    private func answerFault(targets: [String], at now: Int64) -> SimulatorReply? {
        if faults.active(.noAnswer, targets: targets, at: now) != nil { return .silence }
        if faults.active(.garbage, targets: targets, at: now) != nil { return .answer(Self.lineNoise) }
        return nil
    }

    /// `frame` sent now, or late under a slow fault.
    private func delivered(_ frame: [UInt8], targets: [String], at now: Int64) -> SimulatorReply {
        if let slow = faults.active(.slow, targets: targets, at: now) { return .answerLater(frame, delayMs: Int(slow.parameter ?? 2000)) }
        return .answer(frame)
    }

    /// Whether the gateway's port should be closed now.
    public func isGatewayDown(_ gatewayID: String) -> Bool {
        faults.active(.gatewayDown, targets: [gatewayID], at: clock.nowMs()) != nil
    }
}

/// Modbus exception codes the simulator sends.
public enum ModbusExceptionCode: UInt8, Error, Sendable {
    case illegalFunction = 0x01
    case illegalDataAddress = 0x02
    case illegalDataValue = 0x03
    case serverDeviceFailure = 0x04
    case serverDeviceBusy = 0x06
    case gatewayTargetFailed = 0x0B
}
