import EnergyModel
import EnergyStore
import Foundation

/// Which periods the checks last judged, so that day and month checks run once per closed period.
public struct CheckProgress: Sendable, Hashable {
    /// Start of the last closed day checked.
    public var day: Int64?
    /// Start of the last closed month checked.
    public var month: Int64?
    /// Start of the last quota check when checks run on an interval.
    public var lastQuotaCheckMs: Int64?

    /// Nothing checked yet.
    public init() {}

    /// Where the checks stood when last saved in `store` (nothing checked, for a new store).
    public static func load(from store: EnergyStore) async throws -> CheckProgress {
        let saved = try await store.checkProgress()
        var progress = CheckProgress()
        progress.day = saved["day"]
        progress.month = saved["month"]
        progress.lastQuotaCheckMs = saved["last_quota_check"]
        return progress
    }

    /// Saves where the checks stand, so that a restart judges the days and months that closed while it was down.
    public func save(to store: EnergyStore) async throws {
        try await store.saveCheckProgress(["day": day, "month": month, "last_quota_check": lastQuotaCheckMs])
    }
}

/// The alert rules: each looks at the store and says, per alert key, whether its condition is active, has
/// clearly ended, or lies in the hysteresis band between.
public struct AlertChecks: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    let calendar: CalendarBuckets
    /// When monitoring began (energyd's start): a meter that never answered is offline only after this.
    let startedMs: Int64

    /// Readings below this share of the expected number make a day's data untrustworthy.
    static let completenessRaise = 0.9
    /// …and above this, trustworthy again.
    static let completenessClear = 0.95
    /// A quota alert clears only below this share of the limit.
    static let quotaClear = 0.98
    /// Anomaly alerts clear after a day without another anomaly of their kind.
    static let anomalyQuietMs: Int64 = 86_400_000

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
    /// checks for each day closed since the last pass; the quota check for each month closed since. Offline and
    /// anomaly findings, one per meter and kind at every pass, are made only where they change an `open` alert
    /// or raise one: at ten thousand meters the unchanged ones cost more than the checks.
    public func batches(nowMs: Int64, open: Set<String>, progress: inout CheckProgress) async throws -> [Batch] {
        // The series are read once for every check and evaluation of this pass.
        let series = try await store.allSeries()
        // The meters' own series: accounted counters, without the export ones.
        let meterSeries = series.filter { $0.isAccounted && $0.quantity != "export" }
        let findings = try await offline(nowMs: nowMs, open: open, series: meterSeries) + anomalies(nowMs: nowMs, open: open)
        var batches = [Batch(timeMs: nowMs, findings: findings)]
        let evaluator = ProductEvaluator(store: store, configuration: configuration, series: series)
        let daemon = configuration.daemon
        let delay = Int64(daemon.dayCloseDelaySeconds) * 1000
        let closedUntil = calendar.start(of: .day, containing: nowMs - delay)
        let lastClosedDay = calendar.start(of: .day, containing: closedUntil - 1)
        // Days closed since the last pass, oldest first (at most two months of them after a long stop).
        var day = progress.day.map { calendar.next(.day, after: $0) } ?? lastClosedDay
        day = max(day, lastClosedDay - 62 * 86_400_000)
        let intervalDue =
            daemon.quotaCheckIntervalSeconds > 0
            && nowMs - (progress.lastQuotaCheckMs ?? .min / 2) >= Int64(daemon.quotaCheckIntervalSeconds) * 1000
        if day > lastClosedDay, intervalDue { day = lastClosedDay }
        while day <= lastClosedDay {
            let closed = calendar.next(.day, after: day)
            batches.append(
                Batch(
                    timeMs: min(nowMs, closed + delay),
                    findings: try await dayChecks(day: day, nowMs: nowMs, evaluator: evaluator, series: meterSeries)))
            progress.day = day
            progress.lastQuotaCheckMs = nowMs
            day = closed
        }
        let lastClosedMonth = Self.lastClosedMonth(nowMs: nowMs, dayCloseDelayMs: delay, calendar: calendar)
        var month = progress.month.map { calendar.next(.month, after: $0) } ?? lastClosedMonth
        while month <= lastClosedMonth {
            let closed = calendar.next(.month, after: month)
            batches.append(Batch(timeMs: min(nowMs, closed + delay), findings: try await monthChecks(month: month, evaluator: evaluator)))
            progress.month = month
            month = closed
        }
        return batches
    }

    /// Start of the last month all of whose days have closed by `nowMs` (a day closes `dayCloseDelayMs` after its end):
    /// the month before the one holding the end of the last closed day.
    public static func lastClosedMonth(nowMs: Int64, dayCloseDelayMs: Int64, calendar: CalendarBuckets) -> Int64 {
        let closedUntil = calendar.start(of: .day, containing: nowMs - dayCloseDelayMs)
        return calendar.start(of: .month, containing: calendar.start(of: .month, containing: closedUntil) - 1)
    }

    func reference(_ enterprise: EnterpriseConfig) -> AlertEnterprise {
        AlertEnterprise(id: enterprise.id, name: enterprise.name, jurisdiction: enterprise.jurisdiction)
    }

    func time(_ ms: Int64) -> String { ISO8601Time.formatLocal(ms: ms, timeZone: calendar.timeZone) }

    func dayLabel(_ ms: Int64) -> String { String(time(ms).prefix(10)) }

    // MARK: Offline

    /// A meter with no good reading for `offline_after_s` is offline, but while its whole gateway is silent one
    /// gateway alert stands for all its meters.
    func offline(nowMs: Int64, open: Set<String>, series: [SeriesRecord]) async throws -> [AlertFinding] {
        let offlineAfter = Int64(configuration.daemon.offlineAfterSeconds) * 1000
        var lastGood: [String: Int64] = [:]
        /// Meters that ever gave a good reading, and when last: only they can count as answering.
        var lastRead: [String: Int64] = [:]
        let times = try await store.lastGoodSamplesMs(seriesIDs: series.map(\.id))
        // A meter is as recent as its most recent series: one silent counter does not make an answering meter offline.
        for record in series {
            lastGood[record.meter] = max(lastGood[record.meter] ?? startedMs, times[record.id] ?? startedMs)
            if let time = times[record.id] { lastRead[record.meter] = max(lastRead[record.meter] ?? time, time) }
        }
        var findings: [AlertFinding] = []
        for enterprise in configuration.enterprises {
            for (gatewayID, meters) in Dictionary(grouping: enterprise.meters, by: \.gateway).sorted(by: { $0.key < $1.key }) {
                // A meter never read is not recent because energyd has just started: a restart must not clear its alert.
                func recent(_ meter: MeterConfig) -> Bool {
                    lastRead[meter.id].map { nowMs - $0 <= 2 * Int64(meter.intervalSeconds) * 1000 } ?? false
                }
                let latest = meters.map { lastGood[$0.id] ?? startedMs }.max() ?? startedMs
                let gatewaySilent = nowMs - latest >= offlineAfter
                let gatewayAlive = meters.contains(where: recent)
                let gatewayKey = "gateway_offline/\(gatewayID)/\(enterprise.id)"
                let gatewayCondition: AlertCondition = gatewaySilent ? .active : gatewayAlive ? .ended : .undecided
                if AlertTransitions.changes(gatewayKey, gatewayCondition, open: open) {
                    findings.append(
                        AlertFinding(
                            key: gatewayKey, kind: .gatewayOffline, severity: .critical,
                            enterprise: reference(enterprise), subject: gatewayID, period: time(latest),
                            measured: Double(nowMs - latest) / 3_600_000, limit: Double(offlineAfter) / 3_600_000,
                            evidence: ["last_good_reading": .text(time(latest)), "meters": .list(meters.map { .text($0.id) })],
                            message: gatewaySilent
                                ? "网关 \(gatewayID)（\(enterprise.name)）的全部 \(meters.count) 块计量表自 \(time(latest)) 起无有效数据。"
                                : "网关 \(gatewayID)（\(enterprise.name)）已恢复数据采集。",
                            condition: gatewayCondition))
                }
                for meter in meters {
                    let last = lastGood[meter.id] ?? startedMs
                    let silent = nowMs - last >= offlineAfter
                    let condition: AlertCondition = silent && gatewayAlive ? .active : recent(meter) ? .ended : .undecided
                    guard AlertTransitions.changes("meter_offline/\(meter.id)", condition, open: open) else { continue }
                    findings.append(
                        AlertFinding(
                            key: "meter_offline/\(meter.id)", kind: .meterOffline, severity: .warning, enterprise: reference(enterprise),
                            subject: meter.id, period: time(last), measured: Double(nowMs - last) / 3_600_000,
                            limit: Double(offlineAfter) / 3_600_000,
                            evidence: [
                                "last_good_reading": .text(time(last)), "gateway": .text(gatewayID),
                                "unit_id": .number(Double(meter.unitID)),
                            ],
                            message: silent
                                ? "计量表 \(meter.id)（\(enterprise.name)，网关 \(gatewayID) 单元 \(meter.unitID)）自 \(time(last)) 起无有效数据。"
                                : "计量表 \(meter.id)（\(enterprise.name)）已恢复数据。",
                            condition: condition))
                }
            }
        }
        return findings
    }

    // MARK: Anomalies

    static let anomalyKinds: [CounterEventKind] = [.spike, .reset, .rollover, .glitch, .frozen]

    static func chinese(_ kind: CounterEventKind) -> String {
        switch kind {
        case .spike: "读数尖峰（已剔除）"
        case .reset: "计数器复位或换表"
        case .rollover: "计数器溢出回零"
        case .glitch: "瞬时零值（已忽略）"
        case .frozen: "读数冻结"
        case .gap: "数据缺口"
        }
    }

    /// One alert per meter and kind of counter anomaly; it clears after a day without another.
    func anomalies(nowMs: Int64, open: Set<String>) async throws -> [AlertFinding] {
        let events = try await store.counterEvents(fromMs: nowMs - Self.anomalyQuietMs, toMs: nowMs + 1)
        let eventsByMeter = Dictionary(grouping: events, by: \.series.meter)
        let enterprises = Dictionary(uniqueKeysWithValues: configuration.enterprises.map { ($0.id, $0) })
        var findings: [AlertFinding] = []
        for (enterprise, meter) in configuration.meters {
            for kind in Self.anomalyKinds {
                let key = "data_anomaly/\(meter.id)/\(kind.rawValue)"
                let recent = (eventsByMeter[meter.id] ?? []).filter { $0.event.kind == kind }
                guard AlertTransitions.changes(key, recent.isEmpty ? .ended : .active, open: open) else { continue }
                let last = recent.last?.event
                findings.append(
                    AlertFinding(
                        key: key, kind: .dataAnomaly,
                        severity: kind == .rollover ? .notice : .warning, enterprise: reference(enterprises[enterprise.id]!),
                        subject: meter.id, period: last.map { time($0.timestampMs) } ?? "", measured: Double(recent.count),
                        evidence: [
                            "anomaly": .text(kind.rawValue),
                            "events": .list(
                                recent.map { .object(["time": .text(time($0.event.timestampMs)), "detail": .text($0.event.detail)]) }),
                        ],
                        message: last.map {
                            "计量表 \(meter.id)（\(enterprise.name)）\(Self.chinese(kind))：\(time($0.timestampMs))，\($0.detail)。"
                        }
                            ?? "计量表 \(meter.id)（\(enterprise.name)）一天内未再出现\(Self.chinese(kind))。",
                        condition: recent.isEmpty ? .ended : .active))
            }
        }
        return findings
    }

    // MARK: Closed days

    func dayChecks(day: Int64, nowMs: Int64, evaluator: ProductEvaluator, series: [SeriesRecord]) async throws -> [AlertFinding] {
        let dayEnd = calendar.next(.day, after: day)
        let label = dayLabel(day)
        var findings: [AlertFinding] = []
        // The day's good readings per series, and each meter's first series, looked up rather than searched per meter.
        let goodBySeries = try await store.reduceRollups(
            into: [Int64: Int](), enterprise: nil, resolution: .day, fromMs: day, toMs: dayEnd
        ) { $0[$1.series.id, default: 0] += $1.good }
        let firstSeriesByMeter = Dictionary(series.map { ($0.meter, $0) }, uniquingKeysWith: { first, _ in first })
        // Meters monitored for the whole day: a day that monitoring began within is not judged.
        let firstSamples = try await store.firstSamplesMs(seriesIDs: series.map(\.id))
        let monitored = Set(series.filter { (firstSamples[$0.id] ?? .max) <= day }.map(\.meter))
        // Completeness of each meter's closed day.
        for (enterprise, meter) in configuration.meters where monitored.contains(meter.id) {
            guard let record = firstSeriesByMeter[meter.id] else { continue }
            let good = goodBySeries[record.id] ?? 0
            let expected = ConsumptionReport.expectedSamples(record, from: day, to: dayEnd)
            let completeness = expected > 0 ? Double(good) / expected : 0
            findings.append(
                AlertFinding(
                    key: "completeness_low/\(meter.id)", kind: .completenessLow, severity: .warning, enterprise: reference(enterprise),
                    subject: meter.id, period: label, measured: completeness, limit: Self.completenessRaise, completeness: completeness,
                    evidence: ["good_readings": .number(Double(good)), "expected_readings": .number(expected)],
                    message: completeness < Self.completenessRaise
                        ? "计量表 \(meter.id)（\(enterprise.name)）\(label) 数据完整率 \(percent(completeness))，低于 90%，当日数据不可作为执法依据。"
                        : "计量表 \(meter.id)（\(enterprise.name)）\(label) 数据完整率恢复至 \(percent(completeness))。",
                    condition: completeness < Self.completenessRaise
                        ? .active : completeness >= Self.completenessClear ? .ended : .undecided))
        }
        let projections = try await AnnualProjection.all(
            store: store, configuration: configuration, calendar: calendar, series: series, throughMs: dayEnd)
        for enterprise in configuration.enterprises {
            for product in enterprise.products {
                // Output missing on a day with energy use.
                let meters = product.boundary + (product.productionMeter.map { [$0] } ?? [])
                if meters.allSatisfy(monitored.contains),
                    let daily = try await evaluator.evaluate(product, of: enterprise, fromMs: day, toMs: dayEnd, horizonMs: nowMs)
                {
                    let used = daily.evaluation.energy > 0
                    findings.append(
                        AlertFinding(
                            key: "production_missing/\(enterprise.id)/\(product.product)", kind: .productionMissing, severity: .warning,
                            enterprise: reference(enterprise), subject: product.product, period: label, measured: daily.evaluation.output,
                            completeness: daily.evaluation.completeness, evidence: daily.evidence,
                            message: daily.evaluation.output > 0
                                ? "\(enterprise.name) \(label) 产品 \(product.product) 已有产量数据。"
                                : "\(enterprise.name) \(label) 产品 \(product.product) 有能耗 \(fixed(daily.evaluation.energy)) 但无产量数据（\(daily.outputSource)）。",
                            condition: used && daily.evaluation.output <= 0 ? .active : daily.evaluation.output > 0 ? .ended : .undecided))
                }
                // Early warning on the last 30 days.
                let from = calendar.start(of: .day, containing: dayEnd - 30 * 86_400_000 + 3_600_000)
                if let rolling = try await evaluator.evaluate(product, of: enterprise, fromMs: from, toMs: dayEnd, horizonMs: nowMs) {
                    let period = "\(dayLabel(from))..\(label)"
                    findings.append(
                        quotaFinding(.quotaEarlyWarning, rolling, period: period, severity: .warning, prefix: "近 30 日（\(period)）"))
                }
            }
            if let projection = projections[enterprise.id] { findings.append(inspection(enterprise, through: dayEnd, projection)) }
        }
        return findings
    }

    /// The quota finding for an evaluation: active above the limit, ended below 98 % of it.
    func quotaFinding(
        _ kind: AlertKind, _ evaluation: ProductEvaluation, period: String, severity: AlertSeverity, prefix: String, keySuffix: String = ""
    ) -> AlertFinding {
        let result = evaluation.evaluation
        let quota = evaluation.quota
        let limit = result.levels[2]
        let condition: AlertCondition
        switch result.verdict {
        case .overLimit: condition = .active
        case .level where (result.unitConsumption ?? .infinity) <= limit * Self.quotaClear: condition = .ended
        default: condition = .undecided
        }
        let level: Int? =
            switch result.verdict {
            case .level(let level): level
            case .overLimit: 4
            default: nil
            }
        let value = result.unitConsumption.map { "\(fixed($0)) \(quota.unit)" } ?? "—"
        let message: String
        switch condition {
        case .active:
            message =
                "\(evaluation.enterprise.name)\(prefix)\(quota.title) \(value)，超过 \(quota.standard) 限定值 \(fixed(limit)) \(quota.unit)。"
        default:
            message =
                "\(evaluation.enterprise.name)\(prefix)\(quota.title) \(value)，已不超过 \(quota.standard) 限定值 \(fixed(limit)) \(quota.unit)（\(result.verdict.chinese)）。"
        }
        return AlertFinding(
            key: "\(kind.rawValue)/\(evaluation.enterprise.id)/\(evaluation.product.product)/\(quota.id)\(keySuffix)", kind: kind,
            severity: severity,
            enterprise: reference(evaluation.enterprise), subject: evaluation.product.product, period: period,
            measured: result.unitConsumption, limit: limit, level: level, standard: quota.standard, completeness: result.completeness,
            evidence: evaluation.evidence, message: message, condition: condition)
    }

    /// On course for the inspection threshold: the year projected from enough complete data, never from a few days.
    func inspection(_ enterprise: EnterpriseConfig, through dayEnd: Int64, _ projection: AnnualProjection) -> AlertFinding {
        let threshold = configuration.daemon.inspectionThresholdTce
        let condition: AlertCondition
        var message = "\(enterprise.name) \(projection.year) 年初至 \(dayLabel(dayEnd - 1)) 综合能耗 \(fixed(projection.tceYearToDate)) tce，"
        if let projected = projection.projectedTce {
            condition = projected >= threshold ? .active : projected < threshold * 0.95 ? .ended : .undecided
            message +=
                "\(projection.method)约 \(fixed(projected)) tce，" + (projected >= threshold ? "达到" : "低于")
                + " \(fixed(threshold)) tce 节能监察标准。"
        } else {
            condition = .undecided
            message += "\(projection.method)。"
        }
        return AlertFinding(
            key: "inspection_list/\(enterprise.id)/\(projection.year)", kind: .inspectionList, severity: .notice,
            enterprise: reference(enterprise), subject: enterprise.id, period: "\(projection.year)..\(dayLabel(dayEnd - 1))",
            measured: projection.projectedTce, limit: threshold,
            completeness: Double(projection.completeDays) / max(1, projection.daysJudged),
            evidence: [
                "tce_year_to_date": .number(projection.tceYearToDate), "complete_days": .number(Double(projection.completeDays)),
                "projection": .text(projection.method),
            ],
            message: message, condition: condition)
    }

    // MARK: Closed months

    /// At each closed month: the month as an early warning (限额预警); the quota itself (超限额) on the calendar year,
    /// judged year-to-date once `quota_ytd_min_months` months of it are closed, and on the whole year in December.
    func monthChecks(month: Int64, evaluator: ProductEvaluator) async throws -> [AlertFinding] {
        let end = calendar.next(.month, after: month)
        let label = String(dayLabel(month).prefix(7))
        let year = String(label.prefix(4))
        let yearStart = calendar.startOfDay("\(year)-01-01")!
        let monthsClosed = Int(label.suffix(2))!
        var findings: [AlertFinding] = []
        for enterprise in configuration.enterprises {
            for product in enterprise.products {
                guard let monthly = try await evaluator.evaluate(product, of: enterprise, fromMs: month, toMs: end, horizonMs: end)
                else { continue }
                findings.append(
                    quotaFinding(
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
                    quotaFinding(.quotaExceeded, annual, period: period, severity: .critical, prefix: prefix, keySuffix: "/\(year)"))
            }
        }
        return findings
    }
}
