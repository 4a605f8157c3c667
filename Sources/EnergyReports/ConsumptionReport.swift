import EnergyModel
import EnergyStore
import Foundation

/// Consumption of one energy type (or production of one product) of an enterprise in one period.
public struct ConsumptionLine: Sendable, Hashable, Codable {
    /// Period label: "2026-01-05" for a day, "2026-01" for a month.
    public var period: String
    /// Period start, UTC epoch ms.
    public var periodStartMs: Int64
    /// Energy type (machine name), or "production".
    public var energy: String
    /// consumption, export or production.
    public var quantity: String
    /// Where the figure comes from: "metered" (meters polled online) or "entered" (by hand, 手工填报).
    public var source: String
    /// Product, for production lines.
    public var product: String?
    /// Amount in `unit`.
    public var amount: Double
    /// Accounting unit.
    public var unit: String
    /// Standard coal equivalent (negative for export); nil for production.
    public var kgce: Double?
    /// The estimated part of `amount`.
    public var estimated: Double
    /// Good samples ÷ expected samples of the meters behind the line (1 for a figure entered by hand).
    public var completeness: Double
    /// kgce per unit used (the last day's, when a factor changed within the period), and its source.
    public var factor: Double?
    public var factorSource: String?
}

/// An enterprise's totals for one period.
public struct ConsumptionTotal: Sendable, Hashable, Codable {
    /// Period label.
    public var period: String
    /// Period start, UTC epoch ms.
    public var periodStartMs: Int64
    /// Comprehensive energy consumption (综合能耗): consumption minus export, kgce.
    public var kgce: Double
    /// The same in tonnes of standard coal.
    public var tce: Double
    /// Part of `kgce` that is estimated.
    public var estimatedKgce: Double
    /// Good ÷ expected samples of all its energy meters.
    public var completeness: Double
}

/// Builds consumption reports from the daily rollups: amounts per energy type, standard coal with the factor of
/// each day, completeness against the meters' poll intervals.
public struct ConsumptionReport: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    let calendar: CalendarBuckets

    /// A report over `store` with `configuration`'s factors, products and time zone.
    public init(store: EnergyStore, configuration: EnergyConfiguration) {
        self.store = store
        self.configuration = configuration
        self.calendar = configuration.calendar
    }

    /// Lines and totals of `enterprise` in [fromMs, toMs) by day or by month; completeness counts polls up to
    /// `horizonMs` (the newest sample stored when nil; a district report reads it once for all its enterprises).
    public func report(enterprise: String, fromMs: Int64, toMs: Int64, by resolution: Resolution, horizonMs: Int64? = nil) async throws
        -> (lines: [ConsumptionLine], totals: [ConsumptionTotal])
    {
        precondition(resolution == .day || resolution == .month, "reports are by day or by month")
        let days = try await store.rollups(enterprise: enterprise, resolution: .day, fromMs: fromMs, toMs: toMs)
        let horizon: Int64
        if let horizonMs { horizon = horizonMs } else { horizon = try await store.newestSampleMs() ?? fromMs }
        let meters = configuration.enterprises.first { $0.id == enterprise }?.meters ?? []
        let products = Dictionary(meters.map { ($0.id, $0.product) }, uniquingKeysWith: { a, _ in a })
        let allSeries = try await store.series(enterprise: enterprise).filter(\.hasRollups)
        var groups: [String: [SeriesRecord]] = [:]
        for series in allSeries {
            let product = series.quantity == .production ? (products[series.meter] ?? nil) ?? "-" : ""
            groups["\(series.quantity)|\(series.energy)|\(product)|\(series.kind == .entered ? "entered" : "metered")", default: []]
                .append(series)
        }
        var lines: [ConsumptionLine] = []
        var totals: [ConsumptionTotal] = []
        var period = calendar.start(of: resolution, containing: fromMs)
        while period < toMs {
            let end = min(calendar.next(resolution, after: period), toMs)
            let start = max(period, fromMs)
            let inPeriod = days.filter { $0.bucketMs >= start && $0.bucketMs < end }
            let label = self.label(period, resolution)
            var totalKgce = 0.0
            var estimatedKgce = 0.0
            var good = 0
            var expected = 0.0
            for key in groups.keys.sorted(by: Self.lineOrder) {
                let members = groups[key]!
                let ids = Set(members.map(\.id))
                let rows = inPeriod.filter { ids.contains($0.series.id) }
                let energy: EnergyType? = members[0].energy
                var amount = 0.0
                var estimated = 0.0
                var kgce = 0.0
                var factor: (kgcePerUnit: Double, source: String)?
                for row in rows {
                    amount += row.amount.units
                    estimated += row.estimated.units
                    if let energy, let dayFactor = configuration.factors.factor(energy, enterprise: enterprise, atMs: row.bucketMs) {
                        factor = dayFactor
                        kgce += row.amount.units * dayFactor.kgcePerUnit
                        if members[0].quantity != .export { estimatedKgce += row.estimated.units * dayFactor.kgcePerUnit }
                    }
                }
                let hasFactor = energy != nil && energy != .production
                let sign = members[0].boundarySign
                let lineGood = rows.map(\.good).reduce(0, +)
                let lineExpected = members.map { Self.expectedSamples($0, from: start, to: min(end, horizon + 1)) }.reduce(0, +)
                if members[0].quantity != .export {
                    good += lineGood
                    expected += lineExpected
                }
                if hasFactor { totalKgce += sign * kgce }
                lines.append(
                    ConsumptionLine(
                        period: label, periodStartMs: period, energy: members[0].energy.rawValue, quantity: members[0].quantity.rawValue,
                        source: members[0].kind == .entered ? "entered" : "metered",
                        product: members[0].quantity == .production
                            ? String(key.split(separator: "|", omittingEmptySubsequences: false)[2]) : nil,
                        amount: amount, unit: Self.unit(members[0]), kgce: hasFactor ? sign * kgce + 0 : nil, estimated: estimated,
                        completeness: members[0].kind == .entered ? 1 : lineExpected > 0 ? min(1, Double(lineGood) / lineExpected) : 0,
                        factor: factor?.kgcePerUnit,
                        factorSource: factor?.source))
            }
            totals.append(
                ConsumptionTotal(
                    period: label, periodStartMs: period, kgce: totalKgce, tce: totalKgce / 1000, estimatedKgce: estimatedKgce,
                    completeness: expected > 0 ? min(1, Double(good) / expected) : 0))
            period = calendar.next(resolution, after: period)
        }
        return (lines, totals)
    }

    /// Polls a meter should have made in [from, to).
    static func expectedSamples(_ series: SeriesRecord, from: Int64, to: Int64) -> Double {
        to > from && series.intervalMs > 0 ? Double(to - from) / Double(series.intervalMs) : 0
    }

    static func unit(_ series: SeriesRecord) -> String {
        guard series.energy != .production else { return series.unit }
        let energy = series.energy
        return energy.accountingUnit
    }

    /// Consumption first, then export, then production; by energy name within each.
    static func lineOrder(_ a: String, _ b: String) -> Bool {
        let rank = ["consumption": 0, "export": 1, "production": 2]
        let (qa, qb) = (String(a.split(separator: "|")[0]), String(b.split(separator: "|")[0]))
        return (rank[qa] ?? 3, a) < (rank[qb] ?? 3, b)
    }

    func label(_ periodMs: Int64, _ resolution: Resolution) -> String {
        let text = ISO8601Time.formatLocal(ms: periodMs, timeZone: calendar.timeZone)
        return resolution == .month ? String(text.prefix(7)) : String(text.prefix(10))
    }
}
