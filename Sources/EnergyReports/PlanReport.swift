import EnergyModel
import EnergyStore
import Foundation

/// How far the district stands from the plan's targets in one year (规划目标完成情况), each figure with the
/// enterprises behind it, per town or park and in total.
public struct PlanStanding: Sendable, Hashable, Codable {
    public var plan: String
    public var year: Int
    /// The last day the stored data reaches, as judged.
    public var dataThrough: String
    /// 监察检查全覆盖: enterprises at or over the inspection threshold (used, or projected for the year), inspected in it.
    public var inspection: Coverage
    /// 能耗在线监测全覆盖: key enterprises with a meter online for every energy type they use.
    public var monitoring: Coverage
    public var monitoringDetail: [MonitoringLine]
    /// 对标达标率 over the year so far.
    public var benchmark: Rate
}

/// A share of enterprises against its target, in total and per jurisdiction.
public struct Coverage: Sendable, Hashable, Codable {
    public var target: Double
    public var total: CoverageLine
    public var jurisdictions: [CoverageLine]
}

/// The enterprises a coverage counts and those of them covered.
public struct CoverageLine: Sendable, Hashable, Codable {
    public var jurisdiction: String
    public var required: [String]
    public var covered: [String]
    /// covered / required; nil when nothing is required.
    public var rate: Double?

    init(jurisdiction: String, required: [String], covered: [String]) {
        (self.jurisdiction, self.required, self.covered) = (jurisdiction, required, covered)
        rate = required.isEmpty ? nil : Double(covered.count) / Double(required.count)
    }
}

/// One key enterprise's online monitoring: the energy types it uses, those without a meter online, and since when
/// every type has been metered.
public struct MonitoringLine: Sendable, Hashable, Codable {
    public var enterprise: String
    public var name: String
    public var jurisdiction: String
    public var energies: [String]
    public var missing: [String]
    public var since: String?
}

/// A rate against its target.
public struct Rate: Sendable, Hashable, Codable {
    public var target: Double
    public var met: Int
    public var judged: Int
    public var rate: Double?
}

extension InspectionReports {
    /// The plan's standing in `year`, judged on the data stored up to the newest sample (or the year's end).
    public func plan(year: Int) async throws -> PlanStanding {
        let settings = configuration.plan
        guard let yearStart = calendar.startOfDay(String(format: "%04d-01-01", year)),
            let yearEnd = calendar.startOfDay(String(format: "%04d-01-01", year + 1))
        else { throw PlanError(description: "year \(year) is out of range") }
        let newest = try await store.newestSampleMs() ?? yearStart
        // Whole days only: the projection and the day's checks judge closed days.
        let through = min(max(calendar.start(of: .day, containing: newest), yearStart), yearEnd)
        let series = try await store.allSeries()

        // Inspection coverage.
        let projections = try await AnnualProjection.all(
            store: store, configuration: configuration, calendar: calendar, series: series, throughMs: max(through, yearStart + 86_400_000))
        let threshold = configuration.daemon.inspectionThresholdTce
        let required = Set(
            configuration.enterprises.filter { enterprise in
                guard let projection = projections[enterprise.id] else { return false }
                return projection.tceYearToDate >= threshold || (projection.projectedTce ?? 0) >= threshold
            }.map(\.id))
        let inspected = Set(
            try await store.inspections.list().filter { $0.inspection.date.hasPrefix(String(format: "%04d-", year)) }.map(
                \.inspection.enterprise))
        let inspection = coverage(target: settings.inspectionCoverage, required: required, covered: inspected)

        // Online monitoring: a type is online when one of its meters had a good reading within offline_after_s of the
        // newest sample; a type only entered by hand in the year has no meter at all.
        let offlineAfter = Int64(configuration.daemon.offlineAfterSeconds) * 1000
        let metered = series.filter { $0.kind != .entered && $0.energy != .production }
        let lastGood = try await store.lastGoodSamplesMs(seriesIDs: metered.map(\.id))
        let first = try await store.firstSamplesMs(seriesIDs: metered.map(\.id))
        let entered = try await store.entries.list(enterprise: nil, fromMs: yearStart, toMs: yearEnd)
        var detail: [MonitoringLine] = []
        for enterprise in configuration.enterprises {
            let own = metered.filter { $0.enterprise == enterprise.id }
            let types = Set(enterprise.meters.map(\.energy).filter { $0 != .production })
                .union(entered.filter { $0.enterprise == enterprise.id }.map(\.energy))
            var missing: [EnergyType] = []
            var since: Int64?
            for energy in types.sorted(by: { $0.rawValue < $1.rawValue }) {
                let ofType = own.filter { $0.energy == energy }
                if !ofType.contains(where: { (lastGood[$0.id] ?? .min) >= newest - offlineAfter }) { missing.append(energy) }
                if let began = ofType.compactMap({ first[$0.id] }).min() { since = max(since ?? began, began) }
            }
            detail.append(
                MonitoringLine(
                    enterprise: enterprise.id, name: enterprise.name, jurisdiction: enterprise.jurisdiction,
                    energies: types.map(\.rawValue).sorted(), missing: missing.map(\.rawValue),
                    since: missing.isEmpty ? since.map { calendar.dayLabel(calendar.start(of: .day, containing: $0)) } : nil))
        }
        let online = Set(detail.filter(\.missing.isEmpty).map(\.enterprise))
        let monitoring = coverage(target: settings.monitoringCoverage, required: Set(configuration.enterprises.map(\.id)), covered: online)

        // 对标达标率 over the year so far, as the district report counts it.
        let period = ReportPeriod(String(year), calendar: calendar)!
        let district = try await district(period: period)
        let benchmark = Rate(
            target: settings.benchmarkCompliance, met: district.total.benchmarkMet, judged: district.total.benchmarkJudged,
            rate: district.total.complianceRate)
        return PlanStanding(
            plan: settings.name, year: year, dataThrough: calendar.dayLabel(through - 86_400_000), inspection: inspection,
            monitoring: monitoring, monitoringDetail: detail, benchmark: benchmark)
    }

    private func coverage(target: Double, required: Set<String>, covered: Set<String>) -> Coverage {
        let byJurisdiction = Dictionary(grouping: configuration.enterprises.filter { required.contains($0.id) }, by: \.jurisdiction)
        let lines = byJurisdiction.keys.sorted().map { jurisdiction in
            let ids = byJurisdiction[jurisdiction]!.map(\.id)
            return CoverageLine(jurisdiction: jurisdiction, required: ids, covered: ids.filter(covered.contains))
        }
        let all = configuration.enterprises.map(\.id).filter(required.contains)
        return Coverage(
            target: target, total: CoverageLine(jurisdiction: "全区", required: all, covered: all.filter(covered.contains)),
            jurisdictions: lines)
    }
}

/// A plan report that cannot be made.
public struct PlanError: Error, CustomStringConvertible {
    public var description: String
}

extension PlanStanding {
    /// One line per target: the figure, the target, whether it is met, and who is missing.
    public func summary(zh: Bool) -> [String] {
        func share(_ rate: Double?) -> String { rate.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }
        func verdict(_ rate: Double?, _ target: Double) -> String {
            guard let rate else { return zh ? "无可评价对象" : "nothing to judge" }
            return rate >= target - 1e-9 ? (zh ? "达标" : "met") : (zh ? "未达标" : "not met")
        }
        let uninspected = inspection.total.required.filter { !inspection.total.covered.contains($0) }
        let unmonitored = monitoringDetail.filter { !$0.missing.isEmpty }.map { "\($0.enterprise)（\($0.missing.joined(separator: "、"))）" }
        return [
            (zh ? "监察检查覆盖率 " : "inspection coverage ") + share(inspection.total.rate)
                + "（\(inspection.total.covered.count)/\(inspection.total.required.count)，" + (zh ? "目标 " : "target ")
                + share(inspection.target) + "）" + verdict(inspection.total.rate, inspection.target)
                + (uninspected.isEmpty ? "" : (zh ? "；未检查：" : "; not inspected: ") + uninspected.joined(separator: "、")),
            (zh ? "能耗在线监测覆盖率 " : "online monitoring coverage ") + share(monitoring.total.rate)
                + "（\(monitoring.total.covered.count)/\(monitoring.total.required.count)，" + (zh ? "目标 " : "target ")
                + share(monitoring.target) + "）" + verdict(monitoring.total.rate, monitoring.target)
                + (unmonitored.isEmpty ? "" : (zh ? "；未全覆盖：" : "; not fully metered: ") + unmonitored.joined(separator: "、")),
            (zh ? "对标达标率 " : "benchmark compliance ") + share(benchmark.rate) + "（\(benchmark.met)/\(benchmark.judged)，"
                + (zh ? "目标 " : "target ") + share(benchmark.target) + "）" + verdict(benchmark.rate, benchmark.target),
        ]
    }
}
