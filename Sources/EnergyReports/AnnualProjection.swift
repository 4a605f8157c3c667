import EnergyModel
import EnergyStore
import Foundation

extension AnnualProjection {
    /// Projects every enterprise's year from the daily rollups up to `throughMs` (a day boundary): the mean of its
    /// complete days × the days of the year once there are 30 of them, else last year's total where the store
    /// holds a complete last year, else nothing.
    public static func all(
        store: EnergyStore, configuration: EnergyConfiguration, calendar: CalendarBuckets, series: [SeriesRecord], throughMs: Int64
    ) async throws -> [String: AnnualProjection] {
        let year = Int(ISO8601Time.formatLocal(ms: throughMs - 1, timeZone: calendar.timeZone).prefix(4))!
        let yearStart = calendar.startOfDay("\(year)-01-01")!
        let yearDays = Double(calendar.startOfDay("\(year + 1)-01-01")! - yearStart) / 86_400_000
        let lastYearStart = calendar.startOfDay("\(year - 1)-01-01")!
        let lastYearDays = Double(yearStart - lastYearStart) / 86_400_000
        let energySeries = series.filter { $0.hasRollups && $0.energy != .production }
        let thisYear = try await days(store, configuration, calendar, energySeries, fromMs: yearStart, toMs: throughMs)
        var lastYear: [String: [Int64: (kgce: Double, complete: Bool)]]?
        var projections: [String: AnnualProjection] = [:]
        for enterprise in configuration.enterprises {
            let days = thisYear[enterprise.id] ?? [:]
            let complete = days.values.filter(\.complete)
            var projection = AnnualProjection(
                year: year, tceYearToDate: days.values.map(\.kgce).reduce(0, +) / 1000, completeDays: complete.count,
                daysJudged: Double(throughMs - yearStart) / 86_400_000, projectedTce: nil, method: "")
            if complete.count >= minimumCompleteDays {
                projection.projectedTce = complete.map(\.kgce).reduce(0, +) / Double(complete.count) * yearDays / 1000
                projection.method = "按 \(complete.count) 个数据完整日的日均综合能耗推算全年"
            } else {
                // Read only when some enterprise needs it: in January, mostly.
                if lastYear == nil {
                    lastYear = try await Self.days(store, configuration, calendar, energySeries, fromMs: lastYearStart, toMs: yearStart)
                }
                let previous = lastYear?[enterprise.id] ?? [:]
                if Double(previous.values.filter(\.complete).count) >= 0.9 * lastYearDays {
                    projection.projectedTce = previous.values.map(\.kgce).reduce(0, +) / 1000
                    projection.method = "取上年度（\(year - 1) 年）综合能耗"
                } else {
                    projection.method = "数据完整日仅 \(complete.count) 天（推算需至少 \(minimumCompleteDays) 天），且无完整的上年度数据，不作推算"
                }
            }
            projections[enterprise.id] = projection
        }
        return projections
    }

    /// Per enterprise and day in [fromMs, toMs): comprehensive consumption (kgce) and whether every energy meter
    /// of the enterprise reached 90 % of its readings that day.
    static func days(
        _ store: EnergyStore, _ configuration: EnergyConfiguration, _ calendar: CalendarBuckets, _ series: [SeriesRecord],
        fromMs: Int64, toMs: Int64
    ) async throws -> [String: [Int64: (kgce: Double, complete: Bool)]] {
        let factors = configuration.factors
        // kgce per enterprise and day; good readings per series and day. Folded row by row (a year of a district's
        // daily rows is millions).
        let (kgce, good) = try await store.reduceRollups(
            into: ([String: [Int64: Double]](), [Int64: [Int64: Int]]()), enterprise: nil, resolution: .day, fromMs: fromMs, toMs: toMs
        ) { sums, row in
            let energy = row.series.energy
            guard energy != .production else { return }
            if let factor = factors.factor(energy, enterprise: row.series.enterprise, atMs: row.bucketMs) {
                sums.0[row.series.enterprise, default: [:]][row.bucketMs, default: 0] +=
                    row.series.boundarySign * row.amount.units * factor.kgcePerUnit
            }
            if row.series.quantity == .consumption { sums.1[row.series.id, default: [:]][row.bucketMs] = row.good }
        }
        let meters = Dictionary(grouping: series.filter { $0.quantity == .consumption }, by: \.enterprise)
        var result: [String: [Int64: (kgce: Double, complete: Bool)]] = [:]
        for (enterprise, byDay) in kgce {
            for (day, amount) in byDay {
                let end = calendar.next(.day, after: day)
                let complete = (meters[enterprise] ?? []).allSatisfy { record in
                    let expected = ConsumptionReport.expectedSamples(record, from: day, to: end)
                    return expected > 0 && Double(good[record.id]?[day] ?? 0) / expected >= QuotaEvaluation.minimumCompleteness
                }
                result[enterprise, default: [:]][day] = (amount, complete)
            }
        }
        return result
    }
}
