import EnergyModel
import Foundation
import MeterSimulator
import TestSupport
import Testing

@Suite struct TruthTests {
    let origin: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00, a Thursday

    func plant(seed: UInt64 = 7, noise: Double = 0.05, unitConsumption: Double? = nil) throws -> SimulatedPlant {
        var scenario = try TestScenarios.grid(
            gateways: 1, metersPerGateway: 3, models: ["chint_dtsu666", "gas_totaliser", "production_counter_t"], rate: 100,
            originMs: origin)
        scenario.seed = seed
        scenario.profiles["shift"] = LoadProfile(
            name: "shift", hourly: (0..<24).map { $0 >= 8 && $0 < 20 ? 3 : 1 }, weekend: 0.5, noise: noise)
        for id in scenario.meters.keys { scenario.meters[id]?.profile = "shift" }
        if let unitConsumption { scenario.enterprises["E0"] = EnterpriseSimulation(profile: "shift", unitConsumptionKgce: unitConsumption) }
        return SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: origin))
    }

    @Test func flatLoadGivesRateTimesHours() throws {
        let scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, rate: 250, originMs: origin)
        let plant = SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: origin))
        let rows = GroundTruth.rows(plant: plant, fromMs: origin + 1_800_000, toMs: origin + 10 * 3_600_000 + 1_800_000)
        #expect(rows.count == 1)
        #expect(abs(rows[0].amount - 2500) < 1e-9)
        #expect(abs(rows[0].kgce - 2500 * 0.1229) < 1e-9)
    }

    @Test func truthEqualsTheIntegralOfTheProfile() throws {
        let plant = try plant()
        let meter = try #require(plant.meters["g0m0"])
        let from = origin + 5 * 3_600_000 + 123_000
        let to = origin + 9 * 86_400_000 + 17 * 60_000  // crosses a weekend
        // Integrate the instantaneous rate minute by minute (the rate changes only on the hour).
        var integral = 0.0
        var t = from
        while t < to {
            let step = min(PollSchedule.nextTick(after: t, intervalMs: 60_000), to) - t
            integral += meter.curve.rate(atMs: t) * Double(step) / 3_600_000
            t += step
        }
        let truth = GroundTruth.rows(plant: plant, fromMs: from, toMs: to, meterID: "g0m0")[0].amount
        #expect(abs(truth - integral) < 1e-6 * integral)
        // Weekday day shift triples the night rate; Saturday 2026-01-03 runs at half.
        let thursdayNoon = origin + 12 * 3_600_000
        let saturdayNoon = origin + 2 * 86_400_000 + 12 * 3_600_000
        let night = origin + 2 * 3_600_000
        #expect(meter.curve.rate(atMs: thursdayNoon) / meter.curve.rate(atMs: night) > 2.5)
        #expect(meter.curve.rate(atMs: saturdayNoon) / meter.curve.rate(atMs: thursdayNoon) < 0.6)
    }

    @Test func truthIsDeterministicForASeed() throws {
        let a = GroundTruth.rows(plant: try plant(seed: 1), fromMs: origin, toMs: origin + 86_400_000 * 3)
        let b = GroundTruth.rows(plant: try plant(seed: 1), fromMs: origin, toMs: origin + 86_400_000 * 3)
        let c = GroundTruth.rows(plant: try plant(seed: 2), fromMs: origin, toMs: origin + 86_400_000 * 3)
        #expect(a == b)
        #expect(a.map(\.amount) != c.map(\.amount))
    }

    @Test func productionFollowsEnergySoUnitConsumptionIsExact() throws {
        let plant = try plant(unitConsumption: 112)
        let rows = GroundTruth.rows(plant: plant, fromMs: origin + 3_600_000, toMs: origin + 20 * 86_400_000)
        let kgce = rows.filter { $0.energy != "production" }.map(\.kgce).reduce(0, +)
        let production = try #require(rows.first { $0.energy == "production" }).amount
        #expect(kgce > 0)
        #expect(abs(kgce / production - 112) < 1e-9)
        // Gas counts m³ at 1.2143 kgce, electricity kWh at 0.1229.
        let gas = try #require(rows.first { $0.energy == "natural_gas" })
        #expect(abs(gas.kgce - gas.amount * 1.2143) < 1e-9)
    }

    @Test func csvAndJSONCarryEveryRow() throws {
        let rows = GroundTruth.rows(plant: try plant(), fromMs: origin, toMs: origin + 86_400_000)
        let csv = GroundTruth.csv(rows).split(separator: "\n")
        #expect(csv.first == "meter,enterprise,energy,product,amount,unit,kgce,from,to")
        #expect(csv.count == rows.count + 1)
        let decoded = try JSONDecoder().decode([TruthRow].self, from: Data(try GroundTruth.json(rows).utf8))
        #expect(decoded == rows)
        #expect(rows[0].from == "2026-01-01T00:00:00+08:00")
    }
}
