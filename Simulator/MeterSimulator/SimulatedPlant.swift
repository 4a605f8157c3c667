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

/// Requests received, by function code.
public final class RequestCounter: Sendable {
    private let counts = Mutex([UInt64](repeating: 0, count: 256))
    private let perUnit = Mutex<[String: UInt64]>([:])

    /// Counts one request.
    func count(function: UInt8, gatewayID: String, unitID: UInt8) {
        counts.withLock { $0[Int(function)] += 1 }
        perUnit.withLock { $0["\(gatewayID)/\(unitID)", default: 0] += 1 }
    }

    /// Requests received by one unit id of one gateway.
    public func count(gatewayID: String, unitID: Int) -> UInt64 { perUnit.withLock { $0["\(gatewayID)/\(unitID)"] ?? 0 } }

    /// Non-zero counts by function code.
    public var byFunction: [Int: UInt64] {
        counts.withLock { counts in
            Dictionary(uniqueKeysWithValues: counts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) })
        }
    }

    /// One line: "fc3=120 fc4=12".
    public var summary: String {
        let counts = byFunction
        guard !counts.isEmpty else { return "no requests" }
        return counts.keys.sorted().map { "fc\($0)=\(counts[$0]!)" }.joined(separator: " ")
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
    /// Meters by gateway and unit id.
    let units: [String: [Int: SimulatedMeter]]
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
        var units: [String: [Int: SimulatedMeter]] = [:]
        for meter in meters.values { units[meter.config.gateway, default: [:]][meter.config.unitID] = meter }
        self.units = units
    }

    // MARK: Values

    /// The value a point shows at `timeMs`, with counter faults (rollover, replacement, frozen) applied.
    public func value(of meter: SimulatedMeter, point index: Int, atMs timeMs: Int64) -> Double {
        let point = meter.model.points[index]
        var time = timeMs
        if let frozen = faults.active(.frozen, targets: [meter.config.id], at: timeMs) { time = frozen.startMs }
        let origin = scenario.originMs
        switch point.quantity {
        case .consumption, .production:
            return counterValue(of: meter, point: point, atMs: time)
        case .export:
            return wrapped(meter.exported(atMs: time, originMs: origin), point)
        case .total:
            let consumption = meter.accountingPoint.map { counterValue(of: meter, point: meter.model.points[$0], atMs: time) } ?? 0
            return wrapped(consumption + meter.exported(atMs: time, originMs: origin), point)
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
        if let wrap = point.effectiveWrap, let rollover = faults.started(.rollover, target: meter.config.id, by: .max).last,
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
        return wrapped(value, point)
    }

    private func wrapped(_ value: Double, _ point: RegisterPoint) -> Double {
        guard let wrap = point.effectiveWrap else { return value }
        let remainder = value.truncatingRemainder(dividingBy: wrap)
        return remainder < 0 ? remainder + wrap : remainder
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
            var value = self.value(of: meter, point: index, atMs: timeMs)
            if index == meter.accountingPoint {
                if faults.fireOnce(.glitch, target: meter.config.id, at: timeMs) != nil { value = 0 }
                if let spike = faults.fireOnce(.spike, target: meter.config.id, at: timeMs) {
                    value += spike.parameter ?? 1_000_000
                }
            }
            let pointWords = point.words(forEngineeringValue: value)
            for register in pointRange.clamped(to: range) {
                words[register - address] = pointWords[register - point.address]
            }
        }
        return covered ? .success(words) : .failure(.illegalDataAddress)
    }

    // MARK: Requests

    /// Answers one request that arrived at `gatewayID`, the `requestsOnConnection`-th on its connection.
    public func respond(to request: ModbusRequestFrame, gatewayID: String, requestsOnConnection: Int) -> SimulatorReply {
        requests.count(function: request.function, gatewayID: gatewayID, unitID: request.unitID)
        let now = clock.nowMs()
        let meter = units[gatewayID]?[Int(request.unitID)]
        let targets = meter.map { [gatewayID, $0.config.id] } ?? [gatewayID]
        if faults.active(.gatewayDown, targets: [gatewayID], at: now) != nil { return .close }
        if let drop = faults.active(.dropAfter, targets: [gatewayID], at: now), requestsOnConnection > Int(drop.parameter ?? 10) {
            return .close
        }
        if faults.active(.noAnswer, targets: targets, at: now) != nil { return .silence }
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
        if let slow = faults.active(.slow, targets: targets, at: now) {
            return .answerLater(frame, delayMs: Int(slow.parameter ?? 2000))
        }
        return .answer(frame)
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
