import EnergyModel
import Synchronization

/// Deterministic pseudo-random numbers from the scenario seed (SplitMix64), so a seed always gives the same month.
enum SeededNoise {
    /// A value in [-1, 1) for (seed, key, index).
    static func unit(seed: UInt64, key: UInt64, index: Int64) -> Double {
        var z = seed &+ key &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: index) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 52) - 1
    }

    /// FNV-1a of a string: stable across processes, unlike `Hasher`.
    static func key(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

/// The consumption of one simulated meter as a function of simulated time.
///
/// The rate is constant within each clock hour (profile × weekend × seeded noise), so the energy up to any instant
/// is an exact sum; sums at day boundaries are cached, so any instant costs at most a day of hours.
public final class ConsumptionCurve: Sendable {
    static let hourMs: Int64 = 3_600_000
    private let meanRate: Double
    private let profile: LoadProfile
    private let originMs: Int64
    private let utcOffsetHours: Int64
    private let seed: UInt64
    private let key: UInt64
    /// Energy from the origin to the start of hour `firstHour + 24 × i`.
    private let dayCheckpoints = Mutex<[Double]>([0])
    private let firstHour: Int64

    /// Creates the curve of a meter with `meanRate` per hour on `profile`.
    public init(meterID: String, meanRate: Double, profile: LoadProfile, originMs: Int64, utcOffsetSeconds: Int, seed: UInt64) {
        self.meanRate = meanRate
        self.profile = profile
        self.originMs = originMs
        self.utcOffsetHours = Int64(utcOffsetSeconds / 3600)
        self.seed = seed
        self.key = SeededNoise.key(meterID)
        self.firstHour = originMs.floorDivided(by: Self.hourMs)
    }

    /// Rate per hour during absolute clock hour `hour` (hours since the epoch).
    public func rate(hour: Int64) -> Double {
        let local = hour + utcOffsetHours
        let hourOfDay = Int(((local % 24) + 24) % 24)
        let weekday = ((local.floorDivided(by: 24) + 3) % 7 + 7) % 7  // 0 = Monday; 1970-01-01 was a Thursday
        var rate = meanRate * profile.hourly[hourOfDay]
        if weekday >= 5 { rate *= profile.weekend }
        if profile.noise > 0 { rate *= 1 + profile.noise * SeededNoise.unit(seed: seed, key: key, index: hour) }
        return rate
    }

    /// Rate per hour at an instant.
    public func rate(atMs timeMs: Int64) -> Double { rate(hour: timeMs.floorDivided(by: Self.hourMs)) }

    /// Energy consumed from the origin to `timeMs` (0 before the origin).
    public func energy(atMs timeMs: Int64) -> Double {
        guard timeMs > originMs else { return 0 }
        let hour = timeMs.floorDivided(by: Self.hourMs)
        let day = Int((hour - firstHour) / 24)
        var sum = checkpoint(day: day)
        var h = firstHour + Int64(day) * 24
        while h < hour {
            sum += rate(hour: h) * hoursCovered(hour: h, untilMs: (h + 1) * Self.hourMs)
            h += 1
        }
        return sum + rate(hour: hour) * hoursCovered(hour: hour, untilMs: timeMs)
    }

    /// The part of `hour` after the origin and before `untilMs`, in hours.
    private func hoursCovered(hour: Int64, untilMs: Int64) -> Double {
        Double(untilMs - max(hour * Self.hourMs, originMs)) / Double(Self.hourMs)
    }

    private func checkpoint(day: Int) -> Double {
        dayCheckpoints.withLock { checkpoints in
            while checkpoints.count <= day {
                let start = firstHour + Int64(checkpoints.count - 1) * 24
                var sum = checkpoints[checkpoints.count - 1]
                for h in start..<(start + 24) { sum += rate(hour: h) * hoursCovered(hour: h, untilMs: (h + 1) * Self.hourMs) }
                checkpoints.append(sum)
            }
            return checkpoints[day]
        }
    }
}

/// A meter served by the simulator: its configuration, register map and what its counters read.
public final class SimulatedMeter: Sendable {
    /// Meter configuration.
    public let config: MeterConfig
    /// Enterprise it belongs to.
    public let enterpriseID: String
    /// Register map.
    public let model: MeterModel
    /// Scenario settings.
    public let simulation: MeterSimulation
    /// Consumption over time (for production counters tied to energy: unused).
    public let curve: ConsumptionCurve
    /// For production counters tied to energy: the enterprise's energy meters with their kgce per counter unit,
    /// and the unit consumption, kgce per unit of product.
    let productionInputs: (meters: [(meter: SimulatedMeter, kgcePerUnit: Double)], unitConsumptionKgce: Double)?
    /// kgce per unit of this meter's consumption counter (0 for production counters).
    let kgcePerUnit: Double
    /// Index of the counter accounting reads (consumption or production).
    let accountingPoint: Int?

    init(
        config: MeterConfig, enterpriseID: String, model: MeterModel, simulation: MeterSimulation, curve: ConsumptionCurve,
        productionInputs: (meters: [(meter: SimulatedMeter, kgcePerUnit: Double)], unitConsumptionKgce: Double)?
    ) {
        self.config = config
        self.enterpriseID = enterpriseID
        self.model = model
        self.simulation = simulation
        self.curve = curve
        self.productionInputs = productionInputs
        let wanted: PointQuantity = config.energy == .production ? .production : .consumption
        self.accountingPoint = model.points.firstIndex { $0.kind == .counter && $0.quantity == wanted }
        let unit = accountingPoint.map { model.points[$0].unit } ?? config.energy.accountingUnit
        self.kgcePerUnit =
            (StandardCoalFactors.reference(config.energy) ?? 0) * (UnitConversion.factor(from: unit, to: config.energy) ?? 0)
    }

    /// Energy exported from the origin to `timeMs`, in the export counter's unit.
    func exported(atMs timeMs: Int64, originMs: Int64) -> Double {
        simulation.exportRate * Double(max(0, timeMs - originMs)) / 3_600_000
    }

    /// What the accounting counter truly advanced from the origin to `timeMs` (energy, or product for production counters).
    public func accumulated(atMs timeMs: Int64, originMs: Int64) -> Double {
        if let inputs = productionInputs {
            let kgce = inputs.meters.reduce(0.0) { total, input in
                total + input.kgcePerUnit
                    * (input.meter.curve.energy(atMs: timeMs) - input.meter.exported(atMs: timeMs, originMs: originMs))
            }
            return kgce / inputs.unitConsumptionKgce
        }
        return curve.energy(atMs: timeMs)
    }

    /// Rate per hour of the accounting counter at an instant (for power and flow gauges).
    func rate(atMs timeMs: Int64) -> Double {
        if let inputs = productionInputs {
            return inputs.meters.reduce(0.0) { $0 + $1.kgcePerUnit * $1.meter.curve.rate(atMs: timeMs) } / inputs.unitConsumptionKgce
        }
        return curve.rate(atMs: timeMs)
    }
}
