import EnergyModel
import Foundation

/// How a load varies over the day and week: a factor per local hour (normalised to a mean of 1), a weekend
/// factor and a random spread per hour drawn from the scenario seed.
public struct LoadProfile: Sendable, Hashable {
    /// Name in the scenario.
    public var name: String
    /// 24 factors by local hour; their mean is 1, so a meter's `rate` is its mean over a weekday.
    public var hourly: [Double]
    /// Factor on Saturdays and Sundays.
    public var weekend: Double
    /// Relative spread of each hour's rate (0.05: ±5 %).
    public var noise: Double

    /// Creates a profile, normalising `hourly` to a mean of 1.
    public init(name: String, hourly: [Double], weekend: Double = 1, noise: Double = 0) {
        precondition(hourly.count == 24 && hourly.allSatisfy { $0 >= 0 } && hourly.contains { $0 > 0 })
        let mean = hourly.reduce(0, +) / 24
        self.name = name
        self.hourly = hourly.map { $0 / mean }
        self.weekend = weekend
        self.noise = noise
    }

    /// A constant load.
    public static let flat = LoadProfile(name: "flat", hourly: Array(repeating: 1, count: 24))
}

/// What is simulated for one meter.
public struct MeterSimulation: Sendable, Hashable {
    /// Mean consumption per hour in the unit of the meter's consumption counter (kW for a kWh counter).
    /// For production counters tied to their enterprise's energy, unused.
    public var rate: Double
    /// Counter value at the scenario origin.
    public var start: Double
    /// Flat export per hour (energy sent out of the boundary), in the export counter's unit.
    public var exportRate: Double
    /// Profile name.
    public var profile: String

    /// Creates meter settings.
    public init(rate: Double, start: Double = 0, exportRate: Double = 0, profile: String = "flat") {
        self.rate = rate
        self.start = start
        self.exportRate = exportRate
        self.profile = profile
    }
}

/// What is simulated for one enterprise.
public struct EnterpriseSimulation: Sendable, Hashable {
    /// Default profile of its meters.
    public var profile: String
    /// kgce per unit of product: when set, production counters follow the enterprise's energy so that its unit
    /// consumption comes out at exactly this value.
    public var unitConsumptionKgce: Double?

    /// Creates enterprise settings.
    public init(profile: String = "flat", unitConsumptionKgce: Double? = nil) {
        self.profile = profile
        self.unitConsumptionKgce = unitConsumptionKgce
    }
}

/// A fault, in simulated time.
public struct FaultSpec: Sendable, Hashable {
    /// What goes wrong.
    public var kind: FaultKind
    /// A gateway id or a meter id.
    public var target: String
    /// When it starts, UTC epoch ms.
    public var startMs: Int64
    /// When it ends (exclusive); nil: until cleared.
    public var endMs: Int64?
    /// Exception code for `exception`; delay for `slow`; request count for `drop-after`; start value for `replaced`.
    public var parameter: Double?
    /// For a rollover started at run time: when the counter was moved to just below its wrap. Before it the
    /// counter shows what it showed; a scheduled rollover has none (the counter was always on its way to the wrap).
    public var movedMs: Int64?

    /// Creates a fault.
    public init(kind: FaultKind, target: String, startMs: Int64, endMs: Int64? = nil, parameter: Double? = nil, movedMs: Int64? = nil) {
        self.kind = kind
        self.target = target
        self.startMs = startMs
        self.endMs = endMs
        self.parameter = parameter
        self.movedMs = movedMs
    }

    /// Whether the fault is in force at `timeMs`.
    public func isActive(at timeMs: Int64) -> Bool {
        timeMs >= startMs && (endMs.map { timeMs < $0 } ?? true)
    }
}

/// The faults metersim can produce.
public enum FaultKind: String, Sendable, Hashable, CaseIterable {
    /// The gateway's port is closed: connections are refused.
    case gatewayDown = "gateway-down"
    /// Requests are read but never answered (the client times out).
    case noAnswer = "no-answer"
    /// Answers come `parameter` ms late (real time).
    case slow
    /// The meter answers with exception `parameter` (2, 4, 6 or 11).
    case exception
    /// The gateway closes each connection after `parameter` requests.
    case dropAfter = "drop-after"
    /// Answers are garbled: a wrong protocol id (Modbus TCP), a wrong CRC or checksum (serial lines).
    case malformed
    /// Line noise instead of an answer: bytes that are no frame at all.
    case garbage
    /// The counter wraps at its wrap value exactly at the fault's start (no energy is invented or lost). Started at
    /// run time, the counter first moves to `parameter` seconds (default 900) of consumption below its wrap.
    case rollover
    /// The meter is replaced: its counter restarts at `parameter` (default 0) at the fault's start.
    case replaced
    /// The first read at or after the start returns 0, later reads the true value.
    case glitch = "zero-glitch"
    /// The first read at or after the start returns the value plus `parameter` (default 10^6).
    case spike
    /// The value stops changing during the fault and jumps to the true value after it.
    case frozen

    /// The values `parameter` may take, and what it means, for error messages: out of range it would be nonsense
    /// on the wire (an exception code is one byte) or trap a conversion.
    public var parameterRange: (range: ClosedRange<Double>, meaning: String)? {
        switch self {
        case .slow: (0...600_000, "a delay in ms")
        case .exception: (1...255, "a Modbus exception code")
        case .dropAfter: (1...1_000_000, "a request count")
        case .replaced: (0...1e15, "the new meter's start value")
        case .spike: (-1e15...1e15, "the amount added")
        case .rollover: (1...31_536_000, "the simulated seconds from now to the wrap, when started at run time")
        case .gatewayDown, .noAnswer, .malformed, .garbage, .glitch, .frozen: nil
        }
    }

    /// Whether the fault is about a gateway's connection (target is a gateway or a meter behind it).
    public var isWireFault: Bool {
        [.gatewayDown, .noAnswer, .slow, .exception, .dropAfter, .malformed, .garbage].contains(self)
    }
}

/// A simulated district: the energyd configuration it serves plus profiles, rates and faults.
public struct Scenario: Sendable {
    /// Name.
    public var name: String
    /// Gateways, meters and register maps, as energyd reads them.
    public var configuration: EnergyConfiguration
    /// The instant at which every counter holds its start value, UTC epoch ms.
    public var originMs: Int64
    /// Seed of the load noise.
    public var seed: UInt64
    /// UTC offset of local time (hours of day, weekends), seconds.
    public var utcOffsetSeconds: Int
    /// Profiles by name.
    public var profiles: [String: LoadProfile]
    /// Enterprise settings by id.
    public var enterprises: [String: EnterpriseSimulation]
    /// Meter settings by id.
    public var meters: [String: MeterSimulation]
    /// Scheduled faults.
    public var faults: [FaultSpec]

    /// Creates a scenario.
    public init(
        name: String, configuration: EnergyConfiguration, originMs: Int64, seed: UInt64, utcOffsetSeconds: Int = 8 * 3600,
        profiles: [String: LoadProfile] = [:], enterprises: [String: EnterpriseSimulation] = [:],
        meters: [String: MeterSimulation] = [:], faults: [FaultSpec] = []
    ) {
        self.name = name
        self.configuration = configuration
        self.originMs = originMs
        self.seed = seed
        self.utcOffsetSeconds = utcOffsetSeconds
        self.profiles = profiles
        self.enterprises = enterprises
        self.meters = meters
        self.faults = faults
    }

    /// Default mean rate per hour for a meter the scenario does not describe.
    static func defaultRate(for energy: EnergyType) -> Double {
        switch energy {
        case .electricity: 500  // kW
        case .naturalGas, .cokeOvenGas: 100  // m³/h
        case .steam: 2  // t/h
        case .water, .softenedWater: 5  // m³/h
        case .rawCoal, .washedCoal, .coke: 1000  // kg/h
        case .heat: 1000  // MJ/h
        case .fuelOil, .gasoline, .diesel, .lpg: 50  // kg/h
        case .production: 10  // units/h
        }
    }
}
