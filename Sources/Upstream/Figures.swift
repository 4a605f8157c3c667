import EnergyModel
import EnergyReports
import EnergyStore
import Foundation

/// The sending installation, stamped on every row and batch.
public struct Site: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// The zone its days and months follow.
    public var timeZone: String
}

/// One 15-minute bucket of one meter point.
public struct QuarterFigure: Sendable, Hashable {
    public var enterprise: String
    public var meter: String
    public var point: String
    public var energy: String
    /// consumption, export or production.
    public var quantity: String
    public var unit: String
    public var bucketMs: Int64
    public var amount: Micro
    public var estimated: Micro
    /// Good samples in the bucket.
    public var good: Int
    /// amount × the day's standard-coal factor; nil for production and energy without a factor.
    public var kgce: Double?
}

/// One meter point's buckets in [fromMs, toMs), replaced whole upstream.
public struct QuarterRange: Sendable, Hashable {
    public var meter: String
    public var point: String
    public var fromMs: Int64
    public var toMs: Int64
}

/// An enterprise's figures of one day or one month: a line per energy type and product, as its reports give them.
public struct PeriodFigures: Sendable, Hashable {
    public var enterprise: String
    public var resolution: Resolution
    /// Start of the period, UTC epoch ms, and its local label ("2026-01-05", "2026-01").
    public var startMs: Int64
    public var label: String
    public var lines: [ConsumptionLine]
    public var total: ConsumptionTotal
}

/// Unit consumption of one product in one month, judged against its quota.
public struct ProductFigure: Sendable, Hashable, Codable {
    public var enterprise: String
    public var product: String
    /// Month start, UTC epoch ms, and its label ("2026-01").
    public var monthStartMs: Int64
    public var month: String
    public var quota: String
    public var standard: String
    public var unit: String
    public var output: Double
    public var energyKgce: Double
    public var unitConsumption: Double?
    public var levels: [Double]
    public var verdict: String
    public var completeness: Double
    public var illustrative: Bool
}

/// An enterprise's figures in a range of days (and the months those days lie in), replaced whole upstream.
public struct EnterpriseFigures: Sendable, Hashable {
    public var enterprise: EnterpriseConfig
    /// The days replaced: [fromMs, toMs), day boundaries.
    public var fromMs: Int64
    public var toMs: Int64
    public var days: [PeriodFigures]
    public var months: [PeriodFigures]
    public var products: [ProductFigure]
    public var production: [ProductionEntry]
}

/// What one round ships to a destination.
public struct Shipment: Sendable {
    public var site: Site
    public var quarters: [QuarterFigure] = []
    public var quarterRanges: [QuarterRange] = []
    public var enterprises: [EnterpriseFigures] = []
    public var alerts: [StoredAlert] = []

    /// Rows the shipment writes upstream.
    public var rowCount: Int {
        quarters.count + alerts.count
            + enterprises.map {
                $0.days.map(\.lines.count).reduce(0, +) + $0.months.map(\.lines.count).reduce(0, +) + $0.products.count
                    + $0.production.count
            }
            .reduce(0, +)
    }
}

/// Turns queued changes into a shipment from the store: the buckets, day and month figures, verdicts and alerts as
/// they stand now, a bounded part of a long range at a time.
public struct FigureCollector: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    let calendar: CalendarBuckets
    /// Most rows one shipment carries (more only when a single change's first part is larger).
    let rowBudget: Int
    /// Longest stretch of one change shipped in one round: a new destination's six months go in monthly parts.
    static let chunkDays = 31

    public init(store: EnergyStore, configuration: EnergyConfiguration, rowBudget: Int = 20_000) {
        self.store = store
        self.configuration = configuration
        self.calendar = configuration.calendar
        self.rowBudget = rowBudget
    }

    public var site: Site {
        Site(
            id: configuration.daemon.siteID ?? "", name: configuration.daemon.siteName ?? configuration.delivery.title,
            timeZone: configuration.daemon.timeZone)
    }

    /// The shipment for the first of `changes` that fit the row budget, with how far each of them got.
    public func collect(_ changes: [UpstreamChange]) async throws -> (Shipment, [UpstreamProgress]) {
        var shipment = Shipment(site: site)
        var progress: [UpstreamProgress] = []
        let series = Dictionary(uniqueKeysWithValues: try await store.allSeries().map { ($0.id, $0) })
        let horizon = try await store.newestSampleMs() ?? 0
        for change in changes {
            if !progress.isEmpty, shipment.rowCount >= rowBudget { break }
            switch change.kind {
            case .series:
                let through = try await addQuarters(change, series: Int64(change.key).flatMap { series[$0] }, to: &shipment)
                progress.append(UpstreamProgress(change: change, throughMs: through))
            case .enterprise:
                let through = try await addEnterprise(
                    change, series: series.values.filter { $0.enterprise == change.key }, horizonMs: horizon, to: &shipment)
                progress.append(UpstreamProgress(change: change, throughMs: through))
            case .alert:
                shipment.alerts += try await store.alerts.withIDs(Int64(change.key).map { [$0] } ?? [])
                progress.append(UpstreamProgress(change: change, throughMs: nil))
            }
        }
        return (shipment, progress)
    }

    /// Adds a series' buckets from the first one in the change's range, a chunk at most; returns where the chunk
    /// ended when more of the range remains (nil: all of it shipped).
    private func addQuarters(_ change: UpstreamChange, series record: SeriesRecord?, to shipment: inout Shipment) async throws -> Int64? {
        guard let record, record.isAccounted,
            let span = try await store.bucketSpan(series: [record.id], resolution: .quarter, fromMs: change.fromMs, toMs: change.toMs)
        else { return nil }
        let end = min(span.last + QuarterAllocation.quarterMs, span.first + Int64(Self.chunkDays) * 86_400_000)
        let rows = try await store.buckets(series: record.id, resolution: .quarter, fromMs: span.first, toMs: end)
        let energy = record.energy
        let unit = energy == .production ? record.unit : energy.accountingUnit
        shipment.quarterRanges.append(QuarterRange(meter: record.meter, point: record.point, fromMs: span.first, toMs: end))
        for row in rows {
            let factor = configuration.factors.factor(
                energy, enterprise: record.enterprise, atMs: calendar.start(of: .day, containing: row.bucketMs))
            shipment.quarters.append(
                QuarterFigure(
                    enterprise: record.enterprise, meter: record.meter, point: record.point, energy: energy.rawValue,
                    quantity: record.quantity.rawValue,
                    unit: unit, bucketMs: row.bucketMs, amount: row.amount, estimated: row.estimated, good: row.good,
                    kgce: energy == .production ? nil : factor.map { row.amount.units * $0.kgcePerUnit }))
        }
        return end > span.last ? nil : end
    }

    /// Adds an enterprise's days from the first one with figures in the change's range (a chunk at most), the months
    /// they lie in whole, its products' verdicts of those months and production entered by hand.
    private func addEnterprise(_ change: UpstreamChange, series: [SeriesRecord], horizonMs: Int64, to shipment: inout Shipment) async throws
        -> Int64?
    {
        guard let enterprise = configuration.enterprises.first(where: { $0.id == change.key }) else { return nil }
        let from = change.fromMs <= 0 ? change.fromMs : calendar.start(of: .day, containing: change.fromMs)
        let ids = series.filter(\.hasRollups).map(\.id)
        let spans = [
            try await store.bucketSpan(series: ids, resolution: .day, fromMs: from, toMs: change.toMs),
            try await store.production.span(enterprise: enterprise.id, fromMs: from, toMs: change.toMs),
        ].compactMap { $0 }
        guard let first = spans.map(\.first).min(), let last = spans.map(\.last).max() else { return nil }
        var end = first
        for _ in 0..<Self.chunkDays where end <= last { end = calendar.next(.day, after: end) }
        let report = ConsumptionReport(store: store, configuration: configuration)
        let daily = try await report.report(enterprise: enterprise.id, fromMs: first, toMs: end, by: .day, horizonMs: horizonMs)
        var figures = EnterpriseFigures(
            enterprise: enterprise, fromMs: first, toMs: end, days: Self.periods(daily, enterprise: enterprise.id, resolution: .day),
            months: [], products: [], production: try await store.production.entries(enterprise: enterprise.id, fromMs: first, toMs: end))
        let evaluator = ProductEvaluator(store: store, configuration: configuration, series: series)
        var month = calendar.start(of: .month, containing: first)
        while month < end {
            let next = calendar.next(.month, after: month)
            let monthly = try await report.report(enterprise: enterprise.id, fromMs: month, toMs: next, by: .month, horizonMs: horizonMs)
            figures.months += Self.periods(monthly, enterprise: enterprise.id, resolution: .month)
            let label = String(ISO8601Time.formatLocal(ms: month, timeZone: calendar.timeZone).prefix(7))
            for product in enterprise.products {
                guard let evaluated = try await evaluator.evaluate(product, of: enterprise, fromMs: month, toMs: next, horizonMs: horizonMs)
                else { continue }
                let e = evaluated.evaluation
                figures.products.append(
                    ProductFigure(
                        enterprise: enterprise.id, product: product.product, monthStartMs: month, month: label, quota: evaluated.quota.id,
                        standard: evaluated.quota.standard, unit: evaluated.quota.unit, output: e.output, energyKgce: e.energy,
                        unitConsumption: e.verdict == .insufficientData ? nil : e.unitConsumption, levels: e.levels,
                        verdict: e.verdict.name, completeness: e.completeness, illustrative: evaluated.quota.illustrative))
            }
            month = next
        }
        shipment.enterprises.append(figures)
        return end > last ? nil : end
    }

    /// A report's lines and totals grouped by period.
    static func periods(_ report: (lines: [ConsumptionLine], totals: [ConsumptionTotal]), enterprise: String, resolution: Resolution)
        -> [PeriodFigures]
    {
        let lines = Dictionary(grouping: report.lines, by: \.periodStartMs)
        return report.totals.map { total in
            PeriodFigures(
                enterprise: enterprise, resolution: resolution, startMs: total.periodStartMs, label: total.period,
                lines: lines[total.periodStartMs] ?? [], total: total)
        }
    }
}

/// What an enterprise's shipped figures are computed with, as `EnergyStore.noteFigureSettings` compares them: each
/// setting as text, with the first time it applies to (a dated factor from its day; names, products and quotas always).
public enum FigureSettings {
    public static func of(_ configuration: EnergyConfiguration) -> [String: [String: Int64]] {
        var settings: [String: [String: Int64]] = [:]
        for enterprise in configuration.enterprises {
            var items: [String: Int64] = [
                "enterprise|\(enterprise.name)|\(enterprise.jurisdiction)|\(enterprise.industry)": .min
            ]
            for factor in configuration.factors.deployment + (configuration.factors.enterprises[enterprise.id] ?? []) {
                items["factor|\(factor.energy.rawValue)|\(factor.kgcePerUnit)|\(factor.effectiveFrom)|\(factor.source)"] =
                    factor.effectiveFromMs
            }
            for product in enterprise.products {
                let corrections = product.corrections.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                items[
                    "product|\(product.product)|\(product.quota)|\(product.boundary.joined(separator: ","))|"
                        + "\(corrections.joined(separator: ","))|\(product.productionMeter ?? "")"] = .min
                if let quota = configuration.quotas[product.quota] {
                    items[
                        "quota|\(quota.id)|\(quota.standard)|\(quota.basis.name)|\(quota.unit)|\(quota.levels)|\(quota.corrections)|"
                            + "\(quota.illustrative)"] = .min
                }
            }
            settings[enterprise.id] = items
        }
        return settings
    }
}
