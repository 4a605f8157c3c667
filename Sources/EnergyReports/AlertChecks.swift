import EnergyModel
import EnergyStore
import Foundation

extension CheckProgress {
    /// Where the checks stood when last saved in `store` (nothing checked, for a new store).
    public static func load(from store: EnergyStore) async throws -> CheckProgress {
        let saved = try await store.checkProgress()
        return CheckProgress(day: saved["day"], month: saved["month"], lastQuotaCheckMs: saved["last_quota_check"])
    }

    /// Saves where the checks stand, so that a restart judges the days and months that closed while it was down.
    public func save(to store: EnergyStore) async throws {
        try await store.saveCheckProgress(["day": day, "month": month, "last_quota_check": lastQuotaCheckMs])
    }
}

/// One pass of the alert rules (EnergyModel's `…Rule` types) over the store: it reads what each rule needs, once
/// for all of them, and hands it over; the rules decide.
public struct AlertChecks: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    let calendar: CalendarBuckets
    /// When monitoring began (energyd's start): a meter that never answered is offline only after this.
    let startedMs: Int64

    /// Checks over `store` for `configuration`.
    public init(store: EnergyStore, configuration: EnergyConfiguration, startedMs: Int64) {
        self.store = store
        self.configuration = configuration
        self.calendar = configuration.calendar
        self.startedMs = startedMs
    }

    /// What the checks found at one moment; batches are applied in order, so one day's verdicts come before the next's.
    public struct Batch: Sendable {
        /// The moment judged (the data time, or the time a checked day closed).
        public var timeMs: Int64
        public var findings: [AlertFinding]
    }

    /// Every finding due at `nowMs` (the time the stored data reaches): offline and anomaly checks always; day
    /// checks for each day closed since the last pass; the quota check for each month closed since.
    public func batches(nowMs: Int64, open: Set<String>, progress: inout CheckProgress) async throws -> [Batch] {
        // The series are read once for every check and evaluation of this pass.
        let series = try await store.allSeries()
        // The meters' own series: accounted counters, without the export ones.
        let meterSeries = series.filter { $0.isAccounted && $0.quantity != .export }
        let findings = try await offline(nowMs: nowMs, open: open, series: meterSeries) + anomalies(nowMs: nowMs, open: open)
        var batches = [Batch(timeMs: nowMs, findings: findings)]
        let evaluator = ProductEvaluator(store: store, configuration: configuration, series: series)
        let delay = Int64(configuration.daemon.dayCloseDelaySeconds) * 1000
        let due = progress.due(
            nowMs: nowMs, dayCloseDelayMs: delay, quotaCheckIntervalMs: Int64(configuration.daemon.quotaCheckIntervalSeconds) * 1000,
            calendar: calendar)
        for day in due.days {
            let closed = calendar.next(.day, after: day)
            batches.append(
                Batch(
                    timeMs: min(nowMs, closed + delay),
                    findings: try await dayChecks(day: day, nowMs: nowMs, evaluator: evaluator, series: meterSeries)))
            progress.day = day
            progress.lastQuotaCheckMs = nowMs
        }
        for month in due.months {
            let closed = calendar.next(.month, after: month)
            batches.append(Batch(timeMs: min(nowMs, closed + delay), findings: try await monthChecks(month: month, evaluator: evaluator)))
            progress.month = month
        }
        return batches
    }

    func offline(nowMs: Int64, open: Set<String>, series: [SeriesRecord]) async throws -> [AlertFinding] {
        let times = try await store.lastGoodSamplesMs(seriesIDs: series.map(\.id))
        let rule = OfflineRule(
            offlineAfterMs: Int64(configuration.daemon.offlineAfterSeconds) * 1000, startedMs: startedMs, calendar: calendar)
        return rule.findings(
            enterprises: configuration.enterprises, lastGood: series.map { ($0.meter, times[$0.id]) }, nowMs: nowMs, open: open)
    }

    func anomalies(nowMs: Int64, open: Set<String>) async throws -> [AlertFinding] {
        let events = try await store.counterEvents(fromMs: nowMs - CounterAnomalyRule.quietMs, toMs: nowMs + 1)
        let byMeter = Dictionary(grouping: events, by: \.series.meter).mapValues { $0.map(\.event) }
        return CounterAnomalyRule(calendar: calendar).findings(meters: configuration.meters, events: byMeter, open: open)
    }

    // MARK: Closed days

    func dayChecks(day: Int64, nowMs: Int64, evaluator: ProductEvaluator, series: [SeriesRecord]) async throws -> [AlertFinding] {
        let dayEnd = calendar.next(.day, after: day)
        let label = calendar.dayLabel(day)
        var findings: [AlertFinding] = []
        // The day's good readings per series, and each meter's first series, looked up rather than searched per meter.
        let goodBySeries = try await store.reduceRollups(
            into: [Int64: Int](), enterprise: nil, resolution: .day, fromMs: day, toMs: dayEnd
        ) { $0[$1.series.id, default: 0] += $1.good }
        let firstSeriesByMeter = Dictionary(series.map { ($0.meter, $0) }, uniquingKeysWith: { first, _ in first })
        // Meters monitored for the whole day: a day that monitoring began within is not judged.
        let firstSamples = try await store.firstSamplesMs(seriesIDs: series.map(\.id))
        let monitored = Set(series.filter { (firstSamples[$0.id] ?? .max) <= day }.map(\.meter))
        for (enterprise, meter) in configuration.meters where monitored.contains(meter.id) {
            guard let record = firstSeriesByMeter[meter.id] else { continue }
            findings.append(
                CompletenessRule.finding(
                    enterprise: enterprise, meter: meter.id, day: label, good: goodBySeries[record.id] ?? 0,
                    expected: ConsumptionReport.expectedSamples(record, from: day, to: dayEnd)))
        }
        // Calibration and rectification deadlines judged on the day after the closed one.
        findings += CalibrationRule.findings(
            try await store.ledger.list(), today: calendar.dayLabel(dayEnd), configuration: configuration)
        findings += RectificationRule.findings(
            try await store.inspections.list(), today: calendar.dayLabel(dayEnd), configuration: configuration)
        let projections = try await AnnualProjection.all(
            store: store, configuration: configuration, calendar: calendar, series: series, throughMs: dayEnd)
        for enterprise in configuration.enterprises {
            for product in enterprise.products {
                let meters = product.boundary + (product.productionMeter.map { [$0] } ?? [])
                if meters.allSatisfy(monitored.contains),
                    let daily = try await evaluator.evaluate(product, of: enterprise, fromMs: day, toMs: dayEnd, horizonMs: nowMs)
                {
                    findings.append(ProductionMissingRule.finding(daily, day: label))
                }
                // Early warning on the last 30 days.
                let from = calendar.start(of: .day, containing: dayEnd - 30 * 86_400_000 + 3_600_000)
                if let rolling = try await evaluator.evaluate(product, of: enterprise, fromMs: from, toMs: dayEnd, horizonMs: nowMs) {
                    let period = "\(calendar.dayLabel(from))..\(label)"
                    findings.append(
                        QuotaRule.finding(.quotaEarlyWarning, rolling, period: period, severity: .warning, prefix: "近 30 日（\(period)）"))
                }
            }
            if let projection = projections[enterprise.id] {
                findings.append(
                    InspectionListRule.finding(
                        enterprise, projection, thresholdTce: configuration.daemon.inspectionThresholdTce, through: dayEnd,
                        calendar: calendar))
            }
        }
        return findings
    }

    // MARK: Closed months

    /// At each closed month: the month as an early warning (限额预警); the quota itself (超限额) on the calendar year,
    /// judged year-to-date once `quota_ytd_min_months` months of it are closed, and on the whole year in December.
    func monthChecks(month: Int64, evaluator: ProductEvaluator) async throws -> [AlertFinding] {
        let end = calendar.next(.month, after: month)
        let label = String(calendar.dayLabel(month).prefix(7))
        let year = String(label.prefix(4))
        let yearStart = calendar.startOfDay("\(year)-01-01")!
        let monthsClosed = Int(label.suffix(2))!
        var findings: [AlertFinding] = []
        for enterprise in configuration.enterprises {
            for product in enterprise.products {
                guard let monthly = try await evaluator.evaluate(product, of: enterprise, fromMs: month, toMs: end, horizonMs: end)
                else { continue }
                findings.append(
                    QuotaRule.finding(
                        .quotaEarlyWarning, monthly, period: label, severity: .warning, prefix: " \(label) 月度（预警，非年度判定）",
                        keySuffix: "/month"))
                guard monthsClosed >= configuration.daemon.quotaYearToDateMinimumMonths,
                    let annual = try await evaluator.evaluate(product, of: enterprise, fromMs: yearStart, toMs: end, horizonMs: end)
                else { continue }
                let (period, prefix) =
                    monthsClosed == 12
                    ? (year, " \(year) 年度（统计期：全年）")
                    : ("\(year)-01..\(label)", " \(year) 年初至 \(label)（统计期：年度累计 \(monthsClosed) 个月）")
                findings.append(
                    QuotaRule.finding(.quotaExceeded, annual, period: period, severity: .critical, prefix: prefix, keySuffix: "/\(year)"))
            }
        }
        return findings
    }
}
