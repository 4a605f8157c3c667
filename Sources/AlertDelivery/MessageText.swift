import EnergyModel
import EnergyStore
import Foundation

/// What an outbox message says, for people (Chinese) and for machines (the records): rendered when it is sent,
/// from what was stored when it was queued.
public struct MessageContent: Sendable {
    /// The installation's name, the sender's name of e-mails.
    public var title: String
    /// One line: the e-mail subject, the robot message's first line.
    public var subject: String
    /// Plain text, Chinese.
    public var body: String
    /// The alert records carried (one for an alert, several for a digest, none for a report).
    public var records: [AlertRecord]
    /// The workbook of a report, with its file name.
    public var attachment: (name: String, data: Data)?
    /// What the message is (alert, digest, report): a digest of one alert is still a digest.
    public var kind: OutboxMessage.Kind

    /// Renders `message` with the installation's `title`.
    public init(_ message: OutboxMessage, title: String) throws {
        let decoder = JSONDecoder()
        self.title = title
        kind = message.kind
        switch message.kind {
        case .alert:
            let record = try decoder.decode(AlertRecord.self, from: Data(message.payload.utf8))
            records = [record]
            subject = "[\(title)] " + Self.headline(record)
            body = Self.describe(record) + "\n\n— \(title)（告警编号 \(message.alertID.map(String.init) ?? "-")）\n"
        case .digest:
            records = try decoder.decode([AlertRecord].self, from: Data(message.payload.utf8))
            let raised = records.filter { $0.state == .raised }.count
            subject = "[\(title)] 告警汇总：\(records.count) 条（新增 \(raised)，解除 \(records.count - raised)）"
            body =
                records.map { "· " + Self.headline($0) + "\n  " + $0.message + "\n  时间 \($0.time)" }.joined(separator: "\n")
                + "\n\n— \(title)\n"
        case .report:
            let report = try decoder.decode(ReportPayload.self, from: Data(message.payload.utf8))
            records = []
            subject = "[\(title)] 区域能耗月报 \(report.month)"
            body = report.summary + "\n\n附件：\(report.fileName)\n\n— \(title)\n"
            attachment = (report.fileName, message.attachment ?? Data())
        }
    }

    /// "超限额 · 宿城某水泥有限公司（E02，龙河镇）· clinker 2026-01", "已解除 · …" for a clear.
    static func headline(_ record: AlertRecord) -> String {
        let state = record.state == .cleared ? "已解除 · " : ""
        return "\(state)\(record.kind.chinese) · \(record.enterprise.name)（\(record.enterprise.id)，\(record.enterprise.jurisdiction)）"
            + " · \(record.subject) \(record.period)"
    }

    /// The alert's own message with its figures, one per line.
    static func describe(_ record: AlertRecord) -> String {
        var lines = [
            (record.state == .cleared ? "【已解除】" : "【\(record.severity.chinese)】") + record.kind.chinese, record.message,
            "企业：\(record.enterprise.name)（\(record.enterprise.id)），\(record.enterprise.jurisdiction)",
            "对象：\(record.subject)　期间：\(record.period)",
        ]
        if let measured = record.measured { lines.append("实测：\(fixed(measured))") }
        if let limit = record.limit { lines.append("限值：\(String(format: "%g", limit))") }
        if let standard = record.standard { lines.append("标准：\(standard)") }
        if let completeness = record.completeness { lines.append("数据完整率：\(percent(completeness))") }
        lines.append((record.state == .cleared ? "解除时间：" : "发生时间：") + record.time)
        return lines.joined(separator: "\n")
    }
}

/// The stored description of a monthly report message.
public struct ReportPayload: Codable, Sendable, Hashable {
    /// "2026-01".
    public var month: String
    /// The figures people read first, Chinese.
    public var summary: String
    /// The attachment's file name.
    public var fileName: String

    public init(month: String, summary: String, fileName: String) {
        self.month = month
        self.summary = summary
        self.fileName = fileName
    }

    enum CodingKeys: String, CodingKey {
        case month, summary
        case fileName = "file_name"
    }
}
