import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import MeterSimulator
import TestSupport
import Testing

/// The district's figures from the demo district fed on a manual clock into a real store: verdicts gated by each
/// meter's completeness, a compliance rate that never rises when data go missing, report columns that follow the
/// period, an inspection list projected from enough data, and quotas judged on the year.
@Suite(.serialized) struct DistrictFiguresTests {
    static let january: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00
    static let day: Int64 = 86_400_000
    let calendar = CalendarBuckets(timeZone: TimeZone(identifier: "Asia/Shanghai")!)

    struct District {
        let directory: TemporaryDirectory
        let store: EnergyStore
        let configuration: EnergyConfiguration
        let plant: SimulatedPlant
        var reports: InspectionReports { InspectionReports(store: store, configuration: configuration) }
    }

    /// The demo district from a day before 1 January for `days` days, accounted; `missing` marks outages.
    func district(days: Int, missing: @escaping (String, Int64) -> Bool = { _, _ in false }) async throws -> District {
        let scenario = try ScenarioLoader.load(path: demoScenarioPath)
        let plant = SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: Self.january))
        let directory = try TemporaryDirectory()
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let ids = try await store.registerSeries(for: scenario.configuration)
        let samples = PlantFeed.samples(
            plant: plant, seriesIDs: ids, fromMs: Self.january - Self.day, toMs: Self.january + Int64(days) * Self.day + 3 * 3_600_000,
            missing: missing)
        for start in stride(from: 0, to: samples.count, by: 50_000) {
            try await store.insert(Array(samples[start..<min(start + 50_000, samples.count)]))
        }
        try await store.account(calendar: calendar)
        return District(directory: directory, store: store, configuration: scenario.configuration, plant: plant)
    }

    func period(_ text: String) throws -> ReportPeriod { try #require(ReportPeriod(text, calendar: calendar)) }

    func dayStart(_ date: String) -> Int64 { calendar.startOfDay(date)! }

    @Test func anOutageNeverRaisesTheComplianceRate() async throws {
        // The over-quota cement plant's coal meter is silent all of 10 January.
        let outage = dayStart("2026-01-10")
        let district = try await district(days: 12) { meter, tick in meter == "E02-coal" && tick >= outage && tick < outage + Self.day }
        defer { district.directory.remove() }
        let normal = try await district.reports.district(period: period("2026-01-09")).total
        let silent = try await district.reports.district(period: period("2026-01-10")).total
        // E05's quota is illustrative: shown, never counted. E01, E03, E04 meet level 2; E02 is over its limit.
        #expect(normal.benchmarkJudged == 4 && normal.benchmarkMet == 3 && normal.illustrativeProducts == 1)
        #expect(normal.overQuota == ["龙河建材水泥有限公司"])
        #expect(normal.insufficientData.isEmpty)
        // With its data missing, E02 is not compliant either: it stays in the denominator, listed as 数据不足.
        #expect(silent.benchmarkJudged == 4 && silent.benchmarkMet == 3)
        #expect((silent.complianceRate ?? 1) <= (normal.complianceRate ?? 0))
        #expect(silent.insufficientData == ["龙河建材水泥有限公司 clinker（数据不足）"])
    }

    @Test func completenessGatesEachMeterAndTheVerdictNamesIt() async throws {
        // Six hours of E02's coal meter lost on 12 January: 75 % for it, 92 % pooled over the product's three meters.
        let gap = dayStart("2026-01-12") + 6 * 3_600_000
        let district = try await district(days: 13) { meter, tick in meter == "E02-coal" && tick >= gap && tick < gap + 6 * 3_600_000 }
        defer { district.directory.remove() }
        let report = try #require(try await district.reports.enterprise("E02", period: period("2026-01-12")))
        let clinker = try #require(report.products.first)
        #expect(clinker.verdict == .insufficientData)
        #expect(clinker.unitConsumption == nil)
        #expect(clinker.incompleteMeters == ["E02-coal"])
        #expect(abs(clinker.completeness - 0.75) < 0.011)
        // The day before, every meter is complete and the verdict stands.
        let before = try #require(try await district.reports.enterprise("E02", period: period("2026-01-11"))?.products.first)
        #expect(before.verdict == .overLimit && before.incompleteMeters.isEmpty)
    }

    @Test func districtColumnsFollowThePeriodAndTheListNeedsAMonthOfData() async throws {
        let district = try await district(days: 31)
        defer { district.directory.remove() }
        // A month before monitoring began: nothing online, nobody listed.
        let empty = try await district.reports.district(period: period("2025-11")).total
        #expect(empty.metersOnline == 0 && empty.meters == 17)
        #expect(empty.inspectionList.isEmpty)
        // Three days in, no projection is made from so few days.
        let early = try await district.reports.district(period: period("2026-01-01..2026-01-04")).total
        #expect(early.metersOnline == 17)
        #expect(early.inspectionList.isEmpty)
        // The whole of January (31 complete days): the four big users, as the scenario is built.
        let january = try await district.reports.district(period: period("2026-01")).total
        #expect(january.metersOnline == 17)
        #expect(january.inspectionList.count == 4)

        // Each projection is January's daily mean × 365, the truth converted by GB/T 2589-2020's factors by hand.
        let projections = try await AnnualProjection.all(
            store: district.store, configuration: district.configuration, calendar: calendar, series: district.store.allSeries(),
            throughMs: Self.january + 31 * Self.day)
        let truth = GroundTruth.rows(plant: district.plant, fromMs: Self.january, toMs: Self.january + 31 * Self.day)
        let kgcePerUnit: [String: (factor: Double, unit: String)] = [
            "electricity": (0.1229, "kWh"), "raw_coal": (0.7143, "kg"), "natural_gas": (1.2143, "m3"), "steam": (0.1286, "kg"),
            "water": (0.0857, "t"),
        ]
        let toBase: [String: Double] = ["kWh": 1, "MWh": 1000, "kg": 1, "t": 1000, "m3": 1]
        for (enterprise, rows) in Dictionary(grouping: truth.filter { $0.energy != "production" }, by: \.enterprise) {
            let kgce = rows.map { row -> Double in
                let (factor, unit) = kgcePerUnit[row.energy]!
                let amount = row.energy == "water" ? row.amount : row.amount * toBase[row.unit]! / toBase[unit]!
                return amount * factor
            }.reduce(0, +)
            let expected = kgce / 31 * 365 / 1000
            let projection = try #require(projections[enterprise])
            #expect(projection.completeDays == 31)
            let projected = try #require(projection.projectedTce)
            #expect(abs(projected - expected) <= expected * 0.002, "\(enterprise): \(projected) vs \(expected) tce")
            #expect(projection.method.contains("31 个数据完整日"))
        }
    }

    @Test func aMeterDueForCalibrationIsNoticedAndOverdueWarned() async throws {
        let district = try await district(days: 3)
        defer { district.directory.remove() }
        // E02's coal scale falls due on 2026-01-20: judged as each day closes (the next morning), the notice comes with the
        // day that leaves 30 days or fewer, and the warning on the due date.
        let line = LedgerEntry(
            meter: "E02-coal", maker: "梅特勒", model: "皮带秤", accuracyClass: "0.5", ctRatio: nil, ptRatio: nil, installed: "2023-01-10",
            lastCalibrated: "2025-01-20", nextDue: "2026-01-20", certificate: "JL-2025-117", status: .inService)
        try await district.store.ledger.record([line], source: "test", atMs: 0)
        // The last closed day, 3 January, is judged on 4 January: 16 days before the due date.
        func calibration() async throws -> [AlertFinding] {
            let checks = AlertChecks(store: district.store, configuration: district.configuration, startedMs: Self.january - Self.day)
            var progress = CheckProgress()
            return try await checks.batches(nowMs: Self.january + 3 * Self.day + 2 * 3_600_000, open: [], progress: &progress)
                .flatMap(\.findings).filter { $0.kind == .calibrationDue && $0.condition == .active }
        }
        let notice = try await calibration()
        #expect(notice.map(\.key) == ["calibration_due/E02-coal"] && notice.map(\.measured) == [16], "\(notice.map(\.message))")
        #expect(notice.first?.message.contains("将于 2026-01-20 检定到期，还有 16 天") == true)
        // Due on 4 January itself: overdue, a warning that its figures are no evidence.
        var due = line
        due.nextDue = "2026-01-04"
        try await district.store.ledger.record([due], source: "test", atMs: 1)
        let warning = try await calibration()
        #expect(warning.map(\.key) == ["calibration_overdue/E02-coal"] && warning.first?.severity == .warning)
        #expect(warning.first?.message.contains("逾期未检定，其数据不能作为计量依据") == true)
    }

    @Test func aRectificationPastItsDeadlineIsWarnedUntilClosed() async throws {
        let district = try await district(days: 3)
        defer { district.directory.remove() }
        // Inspected on 1 January, rectification due on 2 January; the checks of 3 January (judged on 4 January) find
        // it overdue, and once an inspector has closed it, ended.
        let inspection = Inspection(
            enterprise: "E02", date: "2026-01-01", inspectors: ["王明"], kind: .onSite, legalBasis: "《中华人民共和国节约能源法》第十六条",
            findings: "熟料单耗超过限额", rectification: "更换窑头燃烧器", deadline: "2026-01-02", alerts: [])
        let record = try await district.store.inspections.record(inspection, by: "inspector", atMs: 0)
        func rectification() async throws -> [AlertFinding] {
            let checks = AlertChecks(store: district.store, configuration: district.configuration, startedMs: Self.january - Self.day)
            var progress = CheckProgress()
            return try await checks.batches(nowMs: Self.january + 3 * Self.day + 2 * 3_600_000, open: [], progress: &progress)
                .flatMap(\.findings).filter { $0.kind == .rectificationOverdue }
        }
        let overdue = try await rectification().filter { $0.condition == .active }
        #expect(Set(overdue.map(\.key)) == ["rectification_overdue/\(record.id)"] && overdue.first?.enterprise.id == "E02")
        #expect(overdue.first?.message.contains("已于 2026-01-02 到期，尚未办结") == true, "\(overdue.map(\.message))")
        try await district.store.inspections.apply(.close, to: record.id, status: .closed, text: "复查合格", atMs: 1)
        #expect(try await rectification().allSatisfy { $0.condition == .ended })
    }

    @Test func thePlansStandingIsCountedEnterpriseByEnterprise() async throws {
        let district = try await district(days: 31)
        defer { district.directory.remove() }
        // Inspected in 2026: E01 and E02; E04's inspection was in December 2025 and does not count for 2026.
        for (enterprise, date) in [("E01", "2026-01-15"), ("E02", "2026-01-20"), ("E04", "2025-12-18")] {
            _ = try await district.store.inspections.record(
                Inspection(
                    enterprise: enterprise, date: date, inspectors: ["王明"], kind: .onSite, legalBasis: "《节约能源法》第十六条",
                    findings: "-", rectification: nil, deadline: nil, alerts: []), by: "inspector", atMs: 0)
        }
        // E03 burns diesel it enters by hand: an energy type it uses with no meter online.
        let diesel = try EnergyEntry.checked(
            enterprise: "E03", month: "2026-01", energy: "diesel", unit: "t", consumption: 2, nowMs: Self.january + 40 * Self.day,
            in: district.configuration)
        try await district.store.entries.record(diesel, source: "test", enteredMs: 0, calendar: calendar)
        let standing = try await district.reports.plan(year: 2026)
        #expect(standing.dataThrough == "2026-01-31")

        // To inspect: the enterprises whose January, ×365/31 (the truth converted by hand in the test above), reaches
        // 1000 tce: the four big users, not E05.
        #expect(standing.inspection.total.required == ["E01", "E02", "E03", "E04"])
        #expect(standing.inspection.total.covered == ["E01", "E02"] && standing.inspection.total.rate == 0.5)
        #expect(standing.inspection.jurisdictions.map(\.jurisdiction) == ["宿城经济开发区", "耿车镇", "运河宿迁港产业园", "龙河镇"])
        #expect(standing.inspection.jurisdictions.map(\.rate) == [1, 0, 0, 1])
        // Online: every enterprise's metered types had a good reading within the hour before the newest sample; E03's
        // diesel has no meter. Four of five, fully metered since the first day of data.
        #expect(standing.monitoring.total.covered == ["E01", "E02", "E04", "E05"] && standing.monitoring.total.rate == 0.8)
        let e03 = try #require(standing.monitoringDetail.first { $0.enterprise == "E03" })
        #expect(e03.missing == ["diesel"] && e03.since == nil && e03.energies.contains("diesel"))
        #expect(standing.monitoringDetail.filter { $0.enterprise != "E03" }.allSatisfy { $0.missing.isEmpty && $0.since == "2025-12-31" })
        // 对标达标率 as the district report counts it: E01, E03, E04 at level 2 of 4 judged (E05's quota is illustrative).
        #expect(standing.benchmark.met == 3 && standing.benchmark.judged == 4 && standing.benchmark.rate == 0.75)
        #expect(
            standing.summary(zh: true) == [
                "监察检查覆盖率 50.0 %（2/4，目标 100.0 %）未达标；未检查：E03、E04",
                "能耗在线监测覆盖率 80.0 %（4/5，目标 100.0 %）未达标；未全覆盖：E03（diesel）",
                "对标达标率 75.0 %（3/4，目标 70.0 %）达标",
            ])
    }

    @Test func theQuotaIsJudgedOnTheYearAndAMonthOnlyWarns() async throws {
        let district = try await district(days: 59)
        defer { district.directory.remove() }
        func findings(closedMonth: Int64, minimumMonths: Int) async throws -> [AlertFinding] {
            var configuration = district.configuration
            configuration.daemon.quotaYearToDateMinimumMonths = minimumMonths
            let checks = AlertChecks(store: district.store, configuration: configuration, startedMs: Self.january - Self.day)
            var progress = CheckProgress()
            let now = calendar.next(.month, after: closedMonth) + 2 * 3_600_000
            return try await checks.batches(nowMs: now, open: [], progress: &progress).flatMap(\.findings)
                .filter { $0.subject == "clinker" && $0.enterprise.id == "E02" && $0.condition == .active }
        }
        let february = calendar.next(.month, after: Self.january)
        // January closed: one month is an early warning only.
        let january = try await findings(closedMonth: Self.january, minimumMonths: 3)
        #expect(!january.contains { $0.kind == .quotaExceeded })
        let warning = try #require(january.first { $0.kind == .quotaEarlyWarning && $0.period == "2026-01" })
        #expect(warning.message.contains("预警"))
        // February closed, with the year-to-date judged from two months: 超限额 on January–February.
        #expect(try await !findings(closedMonth: february, minimumMonths: 3).contains { $0.kind == .quotaExceeded })
        let annual = try #require(try await findings(closedMonth: february, minimumMonths: 2).first { $0.kind == .quotaExceeded })
        #expect(annual.period == "2026-01..2026-02")
        #expect(annual.message.contains("年度累计 2 个月"))
        #expect(abs((annual.measured ?? 0) - 125) < 0.25 && annual.limit == 117)
    }

    @Test func daysThatClosedWhileEnergydWasDownAreJudgedAfterARestart() async throws {
        let district = try await district(days: 6)
        defer { district.directory.remove() }
        let checks = AlertChecks(store: district.store, configuration: district.configuration, startedMs: Self.january - Self.day)
        // Running until 3 January has closed.
        var progress = try await CheckProgress.load(from: district.store)
        _ = try await checks.batches(nowMs: dayStart("2026-01-04") + 7_200_000, open: [], progress: &progress)
        try await progress.save(to: district.store)
        // Down until 6 January has closed: the restart judges 4, 5 and 6 January, not only the last.
        var restarted = try await CheckProgress.load(from: district.store)
        #expect(restarted == progress)
        let batches = try await checks.batches(nowMs: dayStart("2026-01-07") + 7_200_000, open: [], progress: &restarted)
        let judged = Set(batches.flatMap(\.findings).filter { $0.kind == .completenessLow }.map(\.period))
        #expect(judged == ["2026-01-04", "2026-01-05", "2026-01-06"])
    }

    @Test func januaryOnAManualClockMatchesTheTruthARebuildAndRaisesTheRightAlerts() async throws {
        let district = try await district(days: 31)
        defer { district.directory.remove() }
        let february = Self.january + 31 * Self.day
        // Every counter's January is metersim's truth: read at its ticks, with no wire in between, exactly (but for rounding).
        let truth = Dictionary(
            uniqueKeysWithValues: GroundTruth.rows(plant: district.plant, fromMs: Self.january, toMs: february).map { ($0.meter, $0) })
        let months = try await district.store.rollups(enterprise: nil, resolution: .month, fromMs: Self.january, toMs: february)
            .filter { $0.series.quantity != .export }
        #expect(months.count == 17)
        for row in months {
            let expected = try #require(truth[row.series.meter])
            let inUnit =
                expected.amount
                * (EnergyType(rawValue: expected.energy).flatMap { UnitConversion.factor(from: expected.unit, to: $0) } ?? 1)
            // Each of the month's 2 976 quarters is rounded to a millionth of the unit.
            #expect(abs(row.amount.units - inUnit) <= 2e-3 + 1e-9 * inUnit, "\(row.series.meter): \(row.amount.units) vs \(inUnit)")
            #expect(row.estimated == 0)
        }
        // A rebuild from the raw samples gives the same rows to the last millionth.
        func rows() async throws -> [RollupRow] {
            try await district.store.rollups(
                enterprise: nil, resolution: .quarter, fromMs: Self.january - Self.day, toMs: february + Self.day)
        }
        let incremental = try await rows()
        try await district.store.rebuild(fromMs: Self.january - Self.day, toMs: february + Self.day, calendar: calendar)
        #expect(try await rows() == incremental)

        // The checks of every day of January and of the month, applied as energyd applies them.
        let checks = AlertChecks(store: district.store, configuration: district.configuration, startedMs: Self.january - Self.day)
        var progress = CheckProgress()
        progress.day = Self.january - Self.day
        progress.month = calendar.start(of: .month, containing: Self.january - 1)
        for batch in try await checks.batches(nowMs: february + 2 * 3_600_000, open: [], progress: &progress) {
            let (raise, clear) = AlertTransitions.decide(batch.findings, open: try await district.store.alerts.openKeys())
            let time = ISO8601Time.format(ms: batch.timeMs, timeZone: calendar.timeZone)
            try await district.store.alerts.record(
                raise: raise.map { AlertRecord($0, state: .raised, time: time) },
                clear: clear.map { AlertRecord($0, state: .cleared, time: time) },
                atMs: batch.timeMs)
        }
        let alerts = try await district.store.alerts.list(openOnly: false).map(\.raised)
        #expect(alerts.filter { $0.kind == .quotaExceeded }.isEmpty, "one month is no statistical period")
        let warning = try #require(alerts.first { $0.kind == .quotaEarlyWarning && $0.period == "2026-01" })
        #expect(warning.enterprise.id == "E02" && warning.subject == "clinker" && warning.limit == 117 && warning.level == 4)
        #expect(abs((warning.measured ?? 0) - 125) < 0.01, "\(warning.measured ?? 0) kgce/t against the scenario's 125")
        #expect(alerts.filter { $0.kind == .inspectionList }.map(\.enterprise.id).sorted() == ["E01", "E02", "E03", "E04"])
        #expect(alerts.filter { [.completenessLow, .meterOffline, .gatewayOffline, .dataAnomaly].contains($0.kind) }.isEmpty)

        let report = try await district.reports.district(period: period("2026-01")).total
        #expect(report.complianceRate == 0.75 && report.overQuota == ["龙河建材水泥有限公司"] && report.metersOnline == 17)
    }

    @Test func aMeterIsOnlineWhileAnyOfItsCountersIsRead() async throws {
        // A meter with two energy counters, one of which stopped updating hours ago while the other is read.
        var configuration = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, models: ["acrel_adl400"]).configuration
        var second = try #require(configuration.models["acrel_adl400"]?.points.first { $0.quantity == .consumption })
        second.name = "tariff_2_energy"
        second.address += 20
        configuration.models["acrel_adl400"]?.points.append(second)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let ids = try #require(try await store.registerSeries(for: configuration)["g0m0"])
        let now = Self.january + 12 * 3_600_000
        try await store.insert(
            (0..<48).map { Sample(seriesID: ids["import_energy"]!, timestampMs: now - Int64($0) * 900_000, value: 1000, quality: .good) }
                + [Sample(seriesID: ids["tariff_2_energy"]!, timestampMs: Self.january, value: 5, quality: .good)])
        let checks = AlertChecks(store: store, configuration: configuration, startedMs: Self.january - Self.day)
        var progress = CheckProgress()
        let findings = try await checks.batches(nowMs: now, open: [], progress: &progress).flatMap(\.findings)
        #expect(
            !findings.contains { [.meterOffline, .gatewayOffline].contains($0.kind) && $0.condition == .active },
            "\(findings.map(\.message))")
    }
}
