import ConfigurationFiles
import EnergyModel
import Foundation
import TestSupport
import Testing

/// The alert rules as pure functions, case by case: each row is an input and the condition (or the absence of a
/// finding) the rule must give, with the thresholds of the rules' own documentation.
@Suite struct AlertRuleTests {
    static let configuration = try! ConfigurationLoader.load(path: shippedConfigPath)
    static let calendar = configuration.calendar
    static let january: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00
    static let hour: Int64 = 3_600_000
    static var e02: EnterpriseConfig { configuration.enterprises.first { $0.id == "E02" }! }

    // MARK: Offline

    /// E02's gateway has three meters; `lastGood` hours before "now" per meter (nil: never read), and the open keys.
    @Test(
        arguments: [
            // Every meter silent past offline_after_s: one gateway alert, no meter alerts.
            ([5.0, 5.0, 5.0], [String](), ["gateway_offline": AlertCondition.active]),
            // One meter silent while the others answer: that meter only.
            ([5.0, 0.0, 0.0], [], ["meter_offline": .active]),
            // Everything answering, nothing open: nothing to say.
            ([0.0, 0.0, 0.0], [], [:]),
            // Everything answering again with both alerts open: both cleared.
            ([0.0, 0.0, 0.0], ["gateway_offline", "meter_offline"], ["gateway_offline": .ended, "meter_offline": .ended]),
            // A meter never read is not "recent": its open alert stays (a restart must not clear it).
            ([nil, 0.0, 0.0], ["meter_offline"], [:]),
        ] as [([Double?], [String], [String: AlertCondition])])
    func offline(hoursSilent: [Double?], openKinds: [String], expected: [String: AlertCondition]) {
        let enterprise = Self.e02
        let gateway = enterprise.meters[0].gateway
        let meters = enterprise.meters.filter { $0.gateway == gateway }
        #expect(meters.count == hoursSilent.count)
        let now = Self.january + 24 * Self.hour
        let rule = OfflineRule(offlineAfterMs: 2 * Self.hour, startedMs: Self.january, calendar: Self.calendar)
        let lastGood = zip(meters, hoursSilent).map { ($0.id, $1.map { now - Int64($0 * Double(Self.hour)) }) }
        let keys = [
            "gateway_offline": "gateway_offline/\(gateway)/E02", "meter_offline": "meter_offline/\(meters[0].id)",
        ]
        let findings = rule.findings(
            enterprises: [enterprise], lastGood: lastGood, nowMs: now, open: Set(openKinds.compactMap { keys[$0] }))
        #expect(Dictionary(uniqueKeysWithValues: findings.map { ($0.kind.rawValue, $0.condition) }) == expected)
        for finding in findings {
            #expect(finding.key == keys[finding.kind.rawValue] && !finding.message.isEmpty)
        }
    }

    // MARK: Counter anomalies

    @Test(arguments: [
        ([CounterEventKind.reset], false, CounterEventKind.reset, AlertCondition?.some(.active)),
        ([.reset], true, .reset, nil),  // already open, still happening: nothing changes
        ([], true, .reset, .ended),  // a quiet day clears it
        ([], false, .reset, nil),
        ([.rollover], false, .rollover, .active),
    ])
    func counterAnomaly(kinds: [CounterEventKind], open: Bool, watched: CounterEventKind, expected: AlertCondition?) {
        let (enterprise, meter) = Self.configuration.meters.first { $0.0.id == "E02" }!
        let events = kinds.map { CounterEvent(timestampMs: Self.january, kind: $0, detail: "test") }
        let key = "data_anomaly/\(meter.id)/\(watched.rawValue)"
        let findings = CounterAnomalyRule(calendar: Self.calendar).findings(
            meters: [(enterprise, meter)], events: [meter.id: events], open: open ? [key] : [])
        let finding = findings.first { $0.key == key }
        #expect(finding?.condition == expected)
        if let finding, expected == .active {
            #expect(finding.severity == (watched == .rollover ? .notice : .warning))
            #expect(finding.message.contains(CounterAnomalyRule.chinese(watched)))
        }
    }

    // MARK: Completeness

    @Test(arguments: [
        (85, 96.0, AlertCondition.active), (86, 96.0, .active), (90, 96.0, .undecided), (92, 96.0, .ended), (96, 96.0, .ended),
        (0, 0.0, .active),
    ])
    func completeness(good: Int, expected: Double, condition: AlertCondition) {
        let finding = CompletenessRule.finding(enterprise: Self.e02, meter: "E02-coal", day: "2026-01-05", good: good, expected: expected)
        #expect(finding.condition == condition, "\(good)/\(expected)")
        #expect(finding.message.contains(condition == .active ? "不可作为执法依据" : "恢复"))
    }

    // MARK: Quota and production

    /// E02's clinker at `share` of its limit, with 95 % complete data.
    static func clinker(share: Double, output: Double = 1000, completeness: Double = 0.95) -> ProductEvaluation {
        let enterprise = e02
        let product = enterprise.products.first { $0.product == "clinker" }!
        let quota = configuration.quotas[product.quota]!
        let limit = quota.levels[2] * product.correctionFactor
        return ProductEvaluation(
            enterprise: enterprise, product: product, quota: quota, fromMs: january, toMs: january + 24 * hour,
            evaluation: QuotaEvaluation(
                energy: limit * share * output, output: output, completeness: completeness, quota: quota,
                correctionFactor: product.correctionFactor),
            energyByMeter: [:], factors: [:], outputSource: "E02-clinker", completenessByMeter: [:])
    }

    @Test(arguments: [
        (1.01, 0.95, AlertCondition.active), (1.0, 0.95, .undecided), (0.99, 0.95, .undecided), (0.97, 0.95, .ended),
        (1.5, 0.5, .undecided),  // too little data: no verdict either way
    ])
    func quota(share: Double, completeness: Double, condition: AlertCondition) {
        let finding = QuotaRule.finding(
            .quotaExceeded, Self.clinker(share: share, completeness: completeness), period: "2026", severity: .critical, prefix: " 2026 年度",
            keySuffix: "/2026")
        #expect(finding.condition == condition, "\(share)")
        #expect(finding.key.hasPrefix("quota_exceeded/E02/clinker/") && finding.key.hasSuffix("/2026"))
        #expect(finding.level == (share > 1 && completeness >= 0.9 ? 4 : finding.level))
        if condition == .active { #expect(finding.message.contains("超过")) }
    }

    @Test(arguments: [(0.0, 0.0, AlertCondition.undecided), (500.0, 0.0, .active), (500.0, 1000.0, .ended), (0.0, 1000.0, .ended)])
    func productionMissing(energy: Double, output: Double, condition: AlertCondition) {
        var daily = Self.clinker(share: 1, output: output)
        daily.evaluation.energy = energy
        daily.evaluation.output = output
        #expect(ProductionMissingRule.finding(daily, day: "2026-01-05").condition == condition)
    }

    // MARK: Inspection list

    @Test(arguments: [
        (Double?.some(1000), AlertCondition.active), (960, .undecided), (940, .ended), (nil, .undecided),
    ])
    func inspectionList(projected: Double?, condition: AlertCondition) {
        let projection = AnnualProjection(
            year: 2026, tceYearToDate: 100, completeDays: 40, daysJudged: 40, projectedTce: projected, method: "按日均推算")
        let finding = InspectionListRule.finding(
            Self.e02, projection, thresholdTce: 1000, through: Self.january + 40 * 24 * Self.hour, calendar: Self.calendar)
        #expect(finding.condition == condition)
        #expect(finding.period == "2026..2026-02-09" && finding.key == "inspection_list/E02/2026")
    }

    // MARK: Which days and months are due

    @Test func closedDaysAndMonthsAreDueOnceEachAndAtMostTwoMonthsBack() {
        let day: Int64 = 24 * Self.hour
        let delay = 2 * Self.hour
        // 3 February 01:00: 1 February has closed (2 February closes at 3 February 02:00), and so has January.
        let now = Self.january + 33 * day + Self.hour
        var progress = CheckProgress()
        var due = progress.due(nowMs: now, dayCloseDelayMs: delay, quotaCheckIntervalMs: 0, calendar: Self.calendar)
        #expect(due.days == [Self.january + 31 * day] && due.months == [Self.january])
        // After them, nothing more is due until another day closes…
        progress = CheckProgress(day: due.days.last, month: due.months.last, lastQuotaCheckMs: now)
        due = progress.due(nowMs: now + Self.hour / 2, dayCloseDelayMs: delay, quotaCheckIntervalMs: 0, calendar: Self.calendar)
        #expect(due.days.isEmpty && due.months.isEmpty)
        // …unless the quota interval asks for the last closed day again.
        due = progress.due(nowMs: now + Self.hour / 2, dayCloseDelayMs: delay, quotaCheckIntervalMs: Self.hour / 4, calendar: Self.calendar)
        #expect(due.days == [Self.january + 31 * day])
        // After a year's stop: two months of days, not a year of them; each closed month since.
        let later = now + 365 * day
        due = progress.due(nowMs: later, dayCloseDelayMs: delay, quotaCheckIntervalMs: 0, calendar: Self.calendar)
        #expect(due.days.count == Int(CheckProgress.catchUpDays) + 1 && due.months.count == 12)
    }
}
