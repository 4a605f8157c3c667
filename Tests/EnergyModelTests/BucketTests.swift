import Foundation
import Testing

@testable import EnergyModel

@Suite struct BucketTests {
    let shanghai = CalendarBuckets(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
    let origin: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00

    @Test func intervalsAreSpreadInProportionToTimeAndAddUpExactly() {
        // 10 kWh from 00:10 to 00:40: 5 minutes, 15 minutes and 10 minutes of it in three buckets.
        let interval = CounterInterval(startMs: origin + 600_000, endMs: origin + 2_400_000, delta: 10, estimated: false)
        let buckets = QuarterAllocation.allocate([interval], unitFactor: 1)
        #expect(buckets[origin]?.amount == 1_666_667)
        #expect(buckets[origin + 900_000]?.amount == 5_000_000)
        #expect(buckets[origin + 1_800_000]?.amount == 3_333_333)
        #expect(buckets.values.map(\.amount).reduce(0, +) == 10_000_000)
        #expect(buckets.values.allSatisfy { $0.estimated == 0 })
        // A tonne counter accounted in kilograms; an estimated interval marks its whole share.
        let steam = QuarterAllocation.allocate(
            [CounterInterval(startMs: origin, endMs: origin + 900_000, delta: 1.5, estimated: true)], unitFactor: 1000)
        #expect(steam[origin] == BucketAmount(amount: 1_500_000_000, estimated: 1_500_000_000))
    }

    @Test func daysAndMonthsFollowLocalMidnight() {
        let noon = origin + 12 * 3_600_000
        #expect(shanghai.start(of: .day, containing: noon) == origin)
        #expect(shanghai.start(of: .day, containing: origin - 1) == origin - 86_400_000)
        #expect(shanghai.start(of: .month, containing: noon + 20 * 86_400_000) == origin)
        #expect(shanghai.next(.month, after: origin) == origin + 31 * 86_400_000)
        #expect(shanghai.next(.day, after: origin) == origin + 86_400_000)
        #expect(shanghai.start(of: .hour, containing: origin + 3_599_999) == origin)
        #expect(shanghai.startOfDay("2026-02-01") == origin + 31 * 86_400_000)
    }

    @Test func factorsApplyFromTheirDayEnterpriseFirst() {
        let day: Int64 = 86_400_000
        let table = CoalFactorTable(
            deployment: [
                CoalFactor(
                    energy: .electricity, kgcePerUnit: 0.30, effectiveFrom: "2026-01-10", effectiveFromMs: origin + 9 * day,
                    source: "等价值 2026")
            ],
            enterprises: [
                "E1": [
                    CoalFactor(
                        energy: .naturalGas, kgcePerUnit: 1.25, effectiveFrom: "2026-01-01", effectiveFromMs: origin, source: "measured")
                ]
            ])
        #expect(table.factor(.electricity, enterprise: "E1", atMs: origin)?.kgcePerUnit == 0.1229)
        #expect(table.factor(.electricity, enterprise: "E1", atMs: origin + 9 * day)?.kgcePerUnit == 0.30)
        #expect(table.factor(.naturalGas, enterprise: "E1", atMs: origin)?.kgcePerUnit == 1.25)
        #expect(table.factor(.naturalGas, enterprise: "E2", atMs: origin)?.kgcePerUnit == 1.2143)
        #expect(table.factor(.naturalGas, enterprise: "E1", atMs: origin - 1)?.source == StandardCoalFactors.source)
        #expect(table.factor(.production, enterprise: "E1", atMs: origin) == nil)
    }
}

@Suite struct TimeFormatTests {
    @Test func formatsAgreeWithFoundationAcrossCenturiesAndZones() throws {
        let zones = ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"].map { TimeZone(identifier: $0)! }
        var calendar = Calendar(identifier: .gregorian)
        for zone in zones {
            calendar.timeZone = zone
            for ms: Int64 in [0, 1_767_196_800_000, 951_782_400_123, -2_208_988_800_000, 4_102_444_799_999, 1_709_164_800_000] {
                let c = calendar.dateComponents(
                    [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(ms) / 1000))
                let text = ISO8601Time.format(ms: ms, timeZone: zone)
                let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
                #expect(text.hasPrefix(expected), "\(ms) \(zone.identifier): \(text) vs \(expected)")
                if ms >= 0 { #expect(ISO8601Time.parseMs(text) == ms, "round trip of \(text)") }  // 1900: local mean time has odd seconds
            }
        }
        #expect(ISO8601Time.format(ms: 1_767_196_800_000, timeZone: TimeZone(identifier: "Asia/Shanghai")!) == "2026-01-01T00:00:00+08:00")
    }
}
