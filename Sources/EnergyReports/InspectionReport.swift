import EnergyModel
import EnergyStore
import Foundation

/// A report period: a day, a month, a year or a range of days.
public struct ReportPeriod: Sendable, Hashable {
    /// As written ("2026-01", "2026", "2026-01-05", "2026-01-01..2026-01-15").
    public var label: String
    public var fromMs: Int64
    public var toMs: Int64

    /// Longest period a report covers: ten years (a longer one is a typing error, and would be read day by day).
    public static let maximumDays: Int64 = 3660

    /// Parses a period in the calendar's time zone; ranges end on the day before the second date.
    public init?(_ text: String, calendar: CalendarBuckets) {
        label = text
        let parts = text.components(separatedBy: "..")
        if parts.count == 2 {
            guard let from = calendar.startOfDay(parts[0]), let to = calendar.startOfDay(parts[1]), from < to else { return nil }
            (fromMs, toMs) = (from, to)
        } else if text.count == 4, let year = Int(text), let start = calendar.startOfDay(text + "-01-01"),
            let end = calendar.startOfDay(String(format: "%04d-01-01", year + 1))
        {
            (fromMs, toMs) = (start, end)
        } else if text.count == 7, let start = calendar.startOfDay(text + "-01") {
            (fromMs, toMs) = (start, calendar.next(.month, after: start))
        } else if text.count == 10, let start = calendar.startOfDay(text) {
            (fromMs, toMs) = (start, calendar.next(.day, after: start))
        } else {
            return nil
        }
        guard toMs - fromMs <= Self.maximumDays * 86_400_000 else { return nil }
    }

    /// The same period one year earlier.
    func yearEarlier(_ calendar: CalendarBuckets) -> (fromMs: Int64, toMs: Int64) {
        func shift(_ ms: Int64) -> Int64 {
            let text = ISO8601Time.formatLocal(ms: ms, timeZone: calendar.timeZone)
            let year = Int(text.prefix(4))! - 1
            let day = String(text.dropFirst(4).prefix(6))
            return calendar.startOfDay("\(year)\(day == "-02-29" ? "-02-28" : day)") ?? ms - 365 * 86_400_000
        }
        return (shift(fromMs), shift(toMs))
    }
}

/// One product of an enterprise in a report.
public struct ProductReportLine: Sendable, Hashable, Codable {
    public var product: String
    public var quota: String
    public var standard: String
    public var title: String
    public var unit: String
    public var output: Double
    public var energy: Double
    public var unitConsumption: Double?
    public var levels: [Double]
    public var verdict: QuotaVerdict
    public var verdictChinese: String
    public var completeness: Double
    public var illustrative: Bool
    /// Meters below 90 % completeness that kept the period from a verdict (数据不足 names them).
    public var incompleteMeters: [String]
    /// Change against the same period a year earlier ((this − last) ÷ last); nil without last year's figure.
    public var yearOnYear: Double?
}

/// An enterprise's report for a period.
public struct EnterpriseReport: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var jurisdiction: String
    public var industry: String
    public var period: String
    public var energy: [ConsumptionLine]
    public var comprehensiveKgce: Double
    public var comprehensiveTce: Double
    public var estimatedKgce: Double
    public var completeness: Double
    public var products: [ProductReportLine]
    public var openAlerts: [AlertRecord]
    /// Gross output value and value added over the period's whole months, 万元, when entered for every one of them.
    public var outputValue: Double?
    public var valueAdded: Double?
    /// 单位产值综合能耗 and 单位增加值能耗 (GB/T 2589-2020): comprehensive consumption per 万元, tce/万元.
    public var tcePerOutputValue: Double?
    public var tcePerValueAdded: Double?
    /// Change of `tcePerOutputValue` against the same period a year earlier (−0.05: 5 % less energy per 万元).
    public var outputIntensityYearOnYear: Double?
}

/// A town's or park's row in the district report.
public struct JurisdictionLine: Sendable, Hashable, Codable {
    public var jurisdiction: String
    public var enterprises: Int
    /// Meters with good readings in the period.
    public var metersOnline: Int
    public var meters: Int
    /// Products meeting the benchmark level ÷ products under a published quota. A product without a verdict
    /// (数据不足, 无产量) stays in the denominator: a rate never rises because data went missing.
    public var benchmarkMet: Int
    public var benchmarkJudged: Int
    public var complianceRate: Double?
    public var overQuota: [String]
    /// Products counted as not meeting the benchmark for want of data ("企业 产品（数据不足）").
    public var insufficientData: [String]
    /// Products under an illustrative quota (no published standard): shown, never counted in the rate.
    public var illustrativeProducts: Int
    /// Enterprises whose projected year reaches the inspection threshold, judged on data up to the period's end.
    public var inspectionList: [String]
    public var comprehensiveTce: Double
    /// Mean change of unit consumption against a year earlier.
    public var yearOnYear: Double?
    /// Output value of the enterprises that entered it for the whole period (万元), their number, and their
    /// comprehensive consumption per 万元 (tce/万元); nil when none did.
    public var outputValue: Double?
    public var enterprisesWithOutputValue: Int
    public var tcePerOutputValue: Double?
}

/// The district report: per jurisdiction and in total, against the plan's targets.
public struct DistrictReport: Sendable, Hashable, Codable {
    public var period: String
    public var benchmarkLevel: Int
    /// 对标达标率 target, 0.7.
    public var complianceTarget: Double
    /// Unit-consumption improvement target, 0.1.
    public var improvementTarget: Double
    public var jurisdictions: [JurisdictionLine]
    public var total: JurisdictionLine
}

/// Builds the inspection team's reports from rollups, evaluations and alerts.
public struct InspectionReports: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    /// The calendar of the configured time zone.
    public let calendar: CalendarBuckets

    /// Reports over `store` for `configuration`.
    public init(store: EnergyStore, configuration: EnergyConfiguration) {
        self.store = store
        self.configuration = configuration
        self.calendar = configuration.calendar
    }

    /// One enterprise over `period`; completeness counts polls up to `horizonMs` (the newest sample when nil). A district
    /// report hands down the open alerts and the period's output values, read once for all enterprises.
    public func enterprise(
        _ id: String, period: ReportPeriod, horizonMs: Int64? = nil, openAlerts: [AlertRecord]? = nil,
        outputValues: [StoredOutputValue]? = nil
    ) async throws -> EnterpriseReport? {
        guard let enterprise = configuration.enterprises.first(where: { $0.id == id }) else { return nil }
        let horizon: Int64
        if let horizonMs { horizon = horizonMs } else { horizon = try await store.newestSampleMs() ?? period.fromMs }
        let (daily, totals) = try await ConsumptionReport(store: store, configuration: configuration)
            .report(enterprise: id, fromMs: period.fromMs, toMs: period.toMs, by: .day, horizonMs: horizon)
        var energy: [String: ConsumptionLine] = [:]
        var order: [String] = []
        for line in daily {
            let key = "\(line.quantity)|\(line.energy)|\(line.product ?? "")|\(line.source)"
            if var sum = energy[key] {
                sum.amount += line.amount
                sum.kgce = line.kgce.map { (sum.kgce ?? 0) + $0 }
                sum.estimated += line.estimated
                sum.factor = line.factor ?? sum.factor
                sum.factorSource = line.factorSource ?? sum.factorSource
                energy[key] = sum
            } else {
                order.append(key)
                var first = line
                first.period = period.label
                first.periodStartMs = period.fromMs
                energy[key] = first
            }
        }
        let kgce = totals.map(\.kgce).reduce(0, +)
        let evaluator = ProductEvaluator(store: store, configuration: configuration)
        var products: [ProductReportLine] = []
        for product in enterprise.products {
            guard
                let evaluation = try await evaluator.evaluate(
                    product, of: enterprise, fromMs: period.fromMs, toMs: period.toMs, horizonMs: horizon)
            else { continue }
            let earlier = period.yearEarlier(calendar)
            let last = try await evaluator.evaluate(
                product, of: enterprise, fromMs: earlier.fromMs, toMs: earlier.toMs, horizonMs: earlier.toMs)
            let yearOnYear: Double? = {
                guard case .level = last?.evaluation.verdict, let before = last?.evaluation.unitConsumption, before > 0,
                    let now = evaluation.evaluation.unitConsumption
                else { return nil }
                return (now - before) / before
            }()
            let quota = evaluation.quota
            products.append(
                ProductReportLine(
                    product: product.product, quota: quota.id, standard: quota.standard, title: quota.title, unit: quota.unit,
                    output: evaluation.evaluation.output, energy: evaluation.evaluation.energy,
                    unitConsumption: evaluation.evaluation.verdict == .insufficientData ? nil : evaluation.evaluation.unitConsumption,
                    levels: evaluation.evaluation.levels, verdict: evaluation.evaluation.verdict,
                    verdictChinese: evaluation.evaluation.verdict.chinese, completeness: evaluation.evaluation.completeness,
                    illustrative: quota.illustrative, incompleteMeters: evaluation.incompleteMeters, yearOnYear: yearOnYear))
        }
        let open: [AlertRecord]
        if let openAlerts { open = openAlerts } else { open = try await store.alerts.list(openOnly: true).map(\.raised) }
        let alerts = open.filter { $0.enterprise.id == id }
        let completeness = totals.isEmpty ? 0 : totals.map(\.completeness).reduce(0, +) / Double(totals.count)
        var report = EnterpriseReport(
            id: id, name: enterprise.name, jurisdiction: enterprise.jurisdiction, industry: enterprise.industry, period: period.label,
            energy: order.map { energy[$0]! }, comprehensiveKgce: kgce, comprehensiveTce: kgce / 1000,
            estimatedKgce: totals.map(\.estimatedKgce).reduce(0, +), completeness: completeness, products: products, openAlerts: alerts)
        if let output = try await outputValue(id, fromMs: period.fromMs, toMs: period.toMs, among: outputValues) {
            report.outputValue = output.gross
            report.valueAdded = output.valueAdded
            report.tcePerOutputValue = report.comprehensiveTce / output.gross
            report.tcePerValueAdded = output.valueAdded.flatMap { $0 > 0 ? report.comprehensiveTce / $0 : nil }
            let earlier = period.yearEarlier(calendar)
            if let before = try await outputValue(id, fromMs: earlier.fromMs, toMs: earlier.toMs) {
                let earlierKgce = try await ConsumptionReport(store: store, configuration: configuration)
                    .report(enterprise: id, fromMs: earlier.fromMs, toMs: earlier.toMs, by: .month, horizonMs: earlier.toMs)
                    .totals.map(\.kgce).reduce(0, +)
                let intensity = earlierKgce / 1000 / before.gross
                report.outputIntensityYearOnYear = intensity > 0 ? report.tcePerOutputValue! / intensity - 1 : nil
            }
        }
        return report
    }

    /// An enterprise's output value over the whole months in [fromMs, toMs), when it was entered for every one of them
    /// (an intensity over part of a period would mislead); nil for a period without a whole month. Taken from `among`
    /// when given (every enterprise's values of the period), else read from the store.
    func outputValue(_ enterprise: String, fromMs: Int64, toMs: Int64, among: [StoredOutputValue]? = nil) async throws
        -> (gross: Double, valueAdded: Double?)?
    {
        var months: [Int64] = []
        var month = calendar.start(of: .month, containing: fromMs)
        if month < fromMs { month = calendar.next(.month, after: month) }
        while calendar.next(.month, after: month) <= toMs {
            months.append(month)
            month = calendar.next(.month, after: month)
        }
        guard let first = months.first, let last = months.last else { return nil }
        let values: [StoredOutputValue]
        if let among {
            values = among.filter { $0.enterprise == enterprise && $0.monthStartMs >= first && $0.monthStartMs <= last }
        } else {
            values = try await store.outputValues.list(enterprise: enterprise, fromMs: first, toMs: last + 1)
        }
        guard values.count == months.count else { return nil }
        let valueAdded = values.allSatisfy { $0.valueAdded != nil } ? values.compactMap(\.valueAdded).reduce(0, +) : nil
        return (values.map(\.grossOutput).reduce(0, +), valueAdded)
    }

    /// The whole district over `period`: every column from the period's own data.
    public func district(period: ReportPeriod) async throws -> DistrictReport {
        let horizon = try await store.newestSampleMs() ?? period.fromMs
        let series = try await store.allSeries()
        // Online in the period: a meter with good readings in it.
        let online = try await store.reduceRollups(
            into: Set<String>(), enterprise: nil, resolution: .day, fromMs: period.fromMs, toMs: period.toMs
        ) { meters, row in if row.good > 0 { meters.insert(row.series.meter) } }
        // The inspection list as the data stood at the period's end (or now, for a period still running).
        let projectedThrough = min(period.toMs, calendar.next(.day, after: calendar.start(of: .day, containing: horizon)))
        let projections =
            projectedThrough > period.fromMs
            ? try await AnnualProjection.all(
                store: store, configuration: configuration, calendar: calendar, series: series, throughMs: projectedThrough) : [:]
        let threshold = configuration.daemon.inspectionThresholdTce
        var reports: [EnterpriseReport] = []
        // The horizon, the open alerts and the output values read once, not once per enterprise.
        let openAlerts = try await store.alerts.list(openOnly: true).map(\.raised)
        let outputValues = try await store.outputValues.list(enterprise: nil, fromMs: period.fromMs, toMs: period.toMs)
        for enterprise in configuration.enterprises {
            if let report = try await self.enterprise(
                enterprise.id, period: period, horizonMs: horizon, openAlerts: openAlerts, outputValues: outputValues)
            {
                reports.append(report)
            }
        }
        let benchmark = configuration.daemon.benchmarkLevel
        func line(_ name: String, _ members: [EnterpriseReport]) -> JurisdictionLine {
            let ids = Set(members.map(\.id))
            let meters = configuration.enterprises.filter { ids.contains($0.id) }.flatMap(\.meters)
            let counted = members.flatMap { member in member.products.filter { !$0.illustrative }.map { (member, $0) } }
            let met = counted.filter { $0.1.verdict.meets(level: benchmark) }
            let over = members.filter { $0.products.contains { $0.verdict == .overLimit } }.map(\.name)
            let unjudged = counted.filter { $0.1.verdict != .overLimit && !$0.1.verdict.meets(level: 3) }
                .map { "\($0.0.name) \($0.1.product)（\($0.1.verdictChinese)）" }
            let inspection = members.filter { (projections[$0.id]?.projectedTce ?? 0) >= threshold }.map(\.name)
            let changes = members.flatMap(\.products).compactMap(\.yearOnYear)
            let valued = members.filter { $0.outputValue != nil }
            let output = valued.compactMap(\.outputValue).reduce(0, +)
            return JurisdictionLine(
                jurisdiction: name, enterprises: members.count, metersOnline: meters.filter { online.contains($0.id) }.count,
                meters: meters.count, benchmarkMet: met.count, benchmarkJudged: counted.count,
                complianceRate: counted.isEmpty ? nil : Double(met.count) / Double(counted.count), overQuota: over,
                insufficientData: unjudged, illustrativeProducts: members.flatMap(\.products).filter(\.illustrative).count,
                inspectionList: inspection.sorted(), comprehensiveTce: members.map(\.comprehensiveTce).reduce(0, +),
                yearOnYear: changes.isEmpty ? nil : changes.reduce(0, +) / Double(changes.count),
                outputValue: valued.isEmpty ? nil : output, enterprisesWithOutputValue: valued.count,
                tcePerOutputValue: valued.isEmpty ? nil : valued.map(\.comprehensiveTce).reduce(0, +) / output)
        }
        let groups = Dictionary(grouping: reports, by: \.jurisdiction)
        return DistrictReport(
            period: period.label, benchmarkLevel: benchmark, complianceTarget: configuration.plan.benchmarkCompliance,
            improvementTarget: configuration.plan.productEfficiencyGain,
            jurisdictions: groups.keys.sorted().map { line($0, groups[$0]!) }, total: line("全区", reports))
    }
}

extension EnterpriseReport {
    /// Energy per 万元 of output value in a sentence, the same in energyctl, the console and the workbook; nil
    /// when no output value was entered for the whole period.
    public func outputIntensity(zh: Bool) -> String? {
        guard let outputValue, let perOutput = tcePerOutputValue else { return nil }
        let figure = String(format: "%.4f", perOutput)
        var text =
            zh
            ? "单位产值综合能耗 \(figure) tce/万元（工业总产值 \(fixed(outputValue)) 万元"
            : "energy per output value \(figure) tce per 10 000 yuan (gross output value \(fixed(outputValue)) × 10 000 yuan"
        if let perAdded = tcePerValueAdded {
            text += zh ? "；单位增加值能耗 \(String(format: "%.4f", perAdded)) tce/万元" : "; per value added \(String(format: "%.4f", perAdded))"
        }
        if let change = outputIntensityYearOnYear { text += (zh ? "；同比 " : "; year on year ") + optionalPercent(change) }
        return text + (zh ? "）" : ")")
    }
}

extension DistrictReport {
    /// The lines under the district table, the same in `energyctl report district`, the console's /report and the
    /// monthly mail: compliance against its target, products under illustrative quotas, unit consumption year on year.
    public func notes(zh: Bool) -> [String] {
        func t(_ chinese: String, _ english: String) -> String { zh ? chinese : english }
        let compliance = total.complianceRate.map { $0 >= complianceTarget }
        let improvement = total.yearOnYear.map { -$0 >= improvementTarget }
        var lines = [
            t("对标达标率（达到 \(benchmarkLevel) 级及以上）", "compliance (level \(benchmarkLevel) or better) ")
                + optionalPercent(total.complianceRate) + t("，目标 ≥ 70%：", ", target ≥ 70 %: ")
                + (compliance.map { $0 ? t("达标", "met") : t("未达标", "missed") } ?? t("无可判定产品", "nothing judged"))
        ]
        if total.illustrativeProducts > 0 {
            lines.append(
                t(
                    "另有 \(total.illustrativeProducts) 个产品适用示例限额（无已发布标准），仅供参考，不计入对标达标率。",
                    "\(total.illustrativeProducts) product(s) under an illustrative quota (no published standard) are shown but not counted."
                ))
        }
        if let perOutput = total.tcePerOutputValue, let output = total.outputValue {
            lines.append(
                t(
                    "单位产值综合能耗 \(String(format: "%.4f", perOutput)) tce/万元（\(total.enterprisesWithOutputValue) 家企业填报产值，合计 \(fixed(output)) 万元）",
                    "energy per output value \(String(format: "%.4f", perOutput)) tce per 10 000 yuan (\(total.enterprisesWithOutputValue) enterprise(s) entered output value, \(fixed(output)) × 10 000 yuan)"
                ))
        }
        lines.append(
            t("单位产品能耗同比 ", "unit consumption year on year ") + optionalPercent(total.yearOnYear)
                + t("，目标下降 ≥ 10%：", ", target −10 %: ")
                + (improvement.map { $0 ? t("达标", "met") : t("未达标", "missed") } ?? t("无上年同期数据", "no figure a year earlier")))
        return lines
    }
}
