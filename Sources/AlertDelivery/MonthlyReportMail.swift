import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Spreadsheet

/// Queues the district report workbook of each closed month for the `[delivery] monthly_report` channels.
///
/// A month is closed when the stored readings have passed its end by the day-close delay (its last day's data
/// are in). The first month reported is the first whole month energyd watched (one it started within the day-close
/// delay of counts as whole); a month that closed while energyd was
/// stopped is reported at the next pass. Queueing and moving the position on happen in one transaction.
public struct MonthlyReportMail {
    /// check_progress name of the start of the next month to report.
    public static let progressName = "monthly_report_next"

    let store: EnergyStore
    let configuration: EnergyConfiguration

    public init(store: EnergyStore, configuration: EnergyConfiguration) {
        self.store = store
        self.configuration = configuration
    }

    /// Queues every month closed by `horizonMs` (newest stored reading) not yet queued; returns their labels.
    public func queueClosedMonths(horizonMs: Int64, wallMs: Int64) async throws -> [String] {
        let channels = configuration.delivery.monthlyReportChannels
        guard !channels.isEmpty else { return [] }
        let reports = InspectionReports(store: store, configuration: configuration)
        let calendar = reports.calendar
        let delay = Int64(configuration.daemon.dayCloseDelaySeconds) * 1000
        var month: Int64
        if let saved = try await store.checkProgress()[Self.progressName] {
            month = saved
        } else {
            // The first whole month watched: a part of a month would read as a collapse of the district's consumption.
            let watchedFrom = horizonMs - delay
            month = calendar.start(of: .month, containing: watchedFrom)
            if month < watchedFrom { month = calendar.next(.month, after: month) }
            try await store.saveCheckProgress([Self.progressName: month])
        }
        var queued: [String] = []
        // Closed by the rule the alert checks close months by, so the report and the quota checks agree on it.
        let lastClosed = CheckProgress.lastClosedMonth(nowMs: horizonMs, dayCloseDelayMs: delay, calendar: calendar)
        while month <= lastClosed {
            let end = calendar.next(.month, after: month)
            let label = String(ISO8601Time.formatLocal(ms: month, timeZone: calendar.timeZone).prefix(7))
            guard let period = ReportPeriod(label, calendar: calendar) else { break }
            let report = try await reports.district(period: period)
            let fileName = "区域能耗月报-\(label).xlsx"
            let payload = ReportPayload(month: label, summary: Self.summary(report), fileName: fileName)
            let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
            try await store.outbox.enqueueReport(
                month: label, channels: channels, payload: json, attachment: try Workbook.data(ReportSheets.district(report, zh: true)),
                nowMs: wallMs, progress: (Self.progressName, end))
            queued.append(label)
            month = end
        }
        return queued
    }

    /// The figures the inspection team reads first, in Chinese.
    static func summary(_ report: DistrictReport) -> String {
        let total = report.total
        func list(_ names: [String]) -> String { names.isEmpty ? "无" : names.joined(separator: "、") }
        var lines = [
            "\(report.period) 区域能耗月报",
            "企业 \(total.enterprises) 家，计量表在线 \(total.metersOnline)/\(total.meters)，综合能耗 \(String(format: "%.1f", total.comprehensiveTce)) tce",
        ]
        if let rate = total.complianceRate {
            let verdict = rate >= report.complianceTarget ? "达标" : "未达标"
            lines.append(
                "对标达标率（\(report.benchmarkLevel) 级及以上）\(percent(rate))（\(total.benchmarkMet)/\(total.benchmarkJudged)），目标 ≥ \(Int(report.complianceTarget * 100))%：\(verdict)"
            )
        } else {
            lines.append("对标达标率：无可判定产品")
        }
        lines.append("超限额企业：\(list(total.overQuota))")
        lines.append("数据不足（计入未达标）：\(list(total.insufficientData))")
        lines.append("年综合能耗 ≥ 1000 tce 名单：\(list(total.inspectionList))")
        return lines.joined(separator: "\n")
    }
}
