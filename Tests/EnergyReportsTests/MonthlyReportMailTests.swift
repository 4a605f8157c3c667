import AlertDelivery
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import TestSupport
import Testing

/// The monthly report: queued once when January has closed, e-mailed through the outbox to a real SMTP server
/// (aiosmtpd, STARTTLS and authentication), its workbook read back by openpyxl with the report's figures.
@Suite(.serialized) struct MonthlyReportMailTests {
    let figures = DistrictFiguresTests()

    @Test func aClosedMonthsDistrictReportIsMailedOnceWithItsWorkbook() async throws {
        let district = try await figures.district(days: 31)
        defer { district.directory.remove() }
        let (certificate, key) = try await makeTestCertificate(in: district.directory)
        let receiver = try await Receiver(
            "smtp_receiver.py", ["--security", "starttls", "--cert", certificate, "--key", key], log: district.directory.file("mail.jsonl"))
        defer { receiver.stop() }
        var configuration = district.configuration
        configuration.delivery.channels["team"] = ChannelConfig(
            name: "team", kind: .email, caFile: certificate, smtpHost: "127.0.0.1", smtpPort: receiver.port, username: "energyd",
            password: "secret", from: "energyd@example.cn", to: ["inspection@example.cn"])
        configuration.delivery.monthlyReportChannels = ["team"]
        let mail = MonthlyReportMail(store: district.store, configuration: configuration)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // energyd's first reading a second before January: December was not watched whole, January will be.
        #expect(try await mail.queueClosedMonths(horizonMs: DistrictFiguresTests.january - 1000, wallMs: now) == [])
        #expect(try await district.store.checkProgress()[MonthlyReportMail.progressName] == DistrictFiguresTests.january)
        // The readings have passed 1 February 00:30: January is queued, once however often the check runs.
        let horizon = try #require(try await district.store.newestSampleMs())
        #expect(try await mail.queueClosedMonths(horizonMs: horizon, wallMs: now) == ["2026-01"])
        #expect(try await mail.queueClosedMonths(horizonMs: horizon, wallMs: now) == [])
        #expect(try await district.store.outbox.messages(states: [.pending]).map(\.kind) == [.report])

        let sender = OutboxSender(
            store: district.store, settings: configuration.delivery, pollInterval: .milliseconds(50), logger: Logger(label: "test"))
        let task = Task { await sender.run() }
        let delivered = await eventually(timeout: .seconds(30)) { receiver.received.count == 1 }
        task.cancel()
        await task.value
        #expect(delivered)
        let message = try #require(receiver.received.first)
        #expect(message["subject"] as? String == "[能耗在线监测] 区域能耗月报 2026-01")
        let json = try await ExportTests().energyctl(
            ["report", "district", "--period", "2026-01", "--format", "json"], store: district.directory.file("energy.sqlite"))
        let total = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["total"] as? [String: Any])
        let text = try #require(message["text"] as? String)
        #expect(text.contains("对标达标率（2 级及以上）75.0%（3/4），目标 ≥ 70%：达标"), "\(text)")
        #expect(text.contains("超限额企业：龙河建材水泥有限公司"))
        #expect(text.contains("综合能耗 \(String(format: "%.1f", total["comprehensiveTce"] as? Double ?? -1)) tce"))
        let attachment = try #require((message["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["name"] as? String == "区域能耗月报-2026-01.xlsx")
        #expect(attachment["type_name"] as? String == "区域能耗月报-2026-01.xlsx", "Content-Type's name, RFC 2231")
        #expect(message["bare_lf"] as? Bool == false)
        let workbook = district.directory.file("mailed.xlsx")
        try Data(base64Encoded: try #require(attachment["data"] as? String))!.write(to: URL(fileURLWithPath: workbook))

        // The workbook's district line equals `energyctl report district --format json` for the month.
        let sheets = try await ExportTests().read(workbook)
        #expect(sheets.map { $0["name"] as? String } == ["区域报告 2026-01"])
        let last = try #require((sheets.first?["rows"] as? [[Any]])?.last)
        #expect(last[0] as? String == "全区")
        #expect(last[6] as? Double == total["complianceRate"] as? Double)
        #expect(last[10] as? Double == total["comprehensiveTce"] as? Double)
        #expect(last[2] as? Double == Double(total["metersOnline"] as? Int ?? -1))
    }

    @Test func energydStartedMidMonthReportsFromTheNextWholeMonth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        var configuration = EnergyConfiguration()
        configuration.delivery.channels["team"] = ChannelConfig(name: "team", kind: .email)
        configuration.delivery.monthlyReportChannels = ["team"]
        let mail = MonthlyReportMail(store: store, configuration: configuration)
        let fifteenth = DistrictFiguresTests.january + 14 * 86_400_000
        #expect(try await mail.queueClosedMonths(horizonMs: fifteenth, wallMs: 0) == [])
        // January closes: not reported (energyd saw half of it); February is the first.
        #expect(try await mail.queueClosedMonths(horizonMs: DistrictFiguresTests.january + 32 * 86_400_000, wallMs: 0) == [])
        #expect(try await store.checkProgress()[MonthlyReportMail.progressName] == DistrictFiguresTests.january + 31 * 86_400_000)
    }
}
