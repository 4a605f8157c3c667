/// A measuring instrument's line in the ledger the metering rules require (计量器具台账, GB 17167): what it is, how
/// exact, its transformer ratios, and its calibration (检定/校准), of which an overdue one makes its figures no evidence.
public struct LedgerEntry: Sendable, Hashable {
    /// Whether the instrument is in use.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case inService = "in_service", spare, retired

        /// Chinese name.
        public var chinese: String {
            switch self {
            case .inService: "在用"
            case .spare: "备用"
            case .retired: "停用"
            }
        }
    }

    /// The configured meter this line describes.
    public var meter: String
    public var maker: String
    public var model: String
    /// Accuracy class ("0.5S", "1", "2").
    public var accuracyClass: String
    public var ctRatio: Double?
    public var ptRatio: Double?
    /// Dates, YYYY-MM-DD.
    public var installed: String
    public var lastCalibrated: String?
    public var nextDue: String
    public var certificate: String
    public var status: Status

    /// Creates a line as it is (`checked` checks one).
    public init(
        meter: String, maker: String, model: String, accuracyClass: String, ctRatio: Double?, ptRatio: Double?, installed: String,
        lastCalibrated: String?, nextDue: String, certificate: String, status: Status
    ) {
        (self.meter, self.maker, self.model, self.accuracyClass) = (meter, maker, model, accuracyClass)
        (self.ctRatio, self.ptRatio, self.installed, self.lastCalibrated) = (ctRatio, ptRatio, installed, lastCalibrated)
        (self.nextDue, self.certificate, self.status) = (nextDue, certificate, status)
    }

    /// Why a line is refused, in words for the person who sent it.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The line, or why it cannot be recorded: a meter of `configuration`, dates that are dates, a next calibration
    /// after the last one, ratios ≥ 1, a known status.
    public static func checked(
        meter: String, maker: String, model: String, accuracyClass: String, ctRatio: Double?, ptRatio: Double?, installed: String,
        lastCalibrated: String?, nextDue: String, certificate: String, status: String, in configuration: EnergyConfiguration
    ) throws(Problem) -> LedgerEntry {
        guard configuration.meters.contains(where: { $0.1.id == meter }) else { throw Problem(description: "no meter \(meter)") }
        let calendar = configuration.calendar
        for (name, date) in [("installed", installed), ("next due", nextDue)] + (lastCalibrated.map { [("last calibrated", $0)] } ?? []) {
            guard calendar.startOfDay(date) != nil, date.utf8.count == 10 else {
                throw Problem(description: "\(name) \(date) is not \(ISO8601Time.dateRule)")
            }
        }
        if let lastCalibrated, nextDue <= lastCalibrated {
            throw Problem(description: "next due \(nextDue) is not after the last calibration \(lastCalibrated)")
        }
        for (name, ratio) in [("CT ratio", ctRatio), ("PT ratio", ptRatio)] {
            if let ratio, !(ratio >= 1 && ratio <= 1_000_000) { throw Problem(description: "\(name) must be a number from 1 to 10^6") }
        }
        guard let known = Status(rawValue: status) else {
            throw Problem(description: "status \(status) is not one of \(Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard !accuracyClass.isEmpty, accuracyClass.utf8.count <= 16 else { throw Problem(description: "accuracy class is missing") }
        return LedgerEntry(
            meter: meter, maker: maker, model: model, accuracyClass: accuracyClass, ctRatio: ctRatio, ptRatio: ptRatio,
            installed: installed,
            lastCalibrated: lastCalibrated, nextDue: nextDue, certificate: certificate, status: known)
    }
}

/// Calibration due (检定到期): a notice from `warningDays` before an instrument in service falls due, a warning once it
/// is overdue (its figures are then no evidence); cleared when a later calibration moves the date out.
public enum CalibrationRule {
    /// Days before the due date the notice comes.
    public static let warningDays = 30

    /// A finding per instrument in service of an enterprise of `configuration`, judged on the day `today` (YYYY-MM-DD).
    public static func findings(_ ledger: [LedgerEntry], today: String, configuration: EnergyConfiguration) -> [AlertFinding] {
        let calendar = configuration.calendar
        guard let day = calendar.startOfDay(today) else { return [] }
        let enterprises = Dictionary(configuration.meters.map { ($0.1.id, $0.0) }, uniquingKeysWith: { first, _ in first })
        return ledger.flatMap { entry -> [AlertFinding] in
            guard entry.status == .inService, let enterprise = enterprises[entry.meter], let due = calendar.startOfDay(entry.nextDue) else {
                return []
            }
            let daysLeft = Int((due - day) / 86_400_000)
            let what = "计量器具 \(entry.meter)（\(entry.maker) \(entry.model)，\(entry.accuracyClass) 级，证书 \(entry.certificate)）"
            let evidence: [String: EvidenceValue] = [
                "next_due": .text(entry.nextDue), "certificate": .text(entry.certificate), "accuracy_class": .text(entry.accuracyClass),
            ]
            // Two alerts, so that falling overdue raises a warning of its own after the notice.
            return [
                AlertFinding(
                    key: "calibration_due/\(entry.meter)", kind: .calibrationDue, severity: .notice,
                    enterprise: AlertRuleText.reference(enterprise), subject: entry.meter, period: entry.nextDue,
                    measured: Double(daysLeft), limit: Double(warningDays), evidence: evidence,
                    message: "\(enterprise.name) \(what)将于 \(entry.nextDue) 检定到期，还有 \(daysLeft) 天。",
                    condition: daysLeft > 0 && daysLeft <= warningDays ? .active : .ended),
                AlertFinding(
                    key: "calibration_overdue/\(entry.meter)", kind: .calibrationDue, severity: .warning,
                    enterprise: AlertRuleText.reference(enterprise), subject: entry.meter, period: entry.nextDue,
                    measured: Double(daysLeft), limit: 0, evidence: evidence,
                    message: "\(enterprise.name) \(what)已于 \(entry.nextDue) 检定到期，逾期未检定，其数据不能作为计量依据。",
                    condition: daysLeft <= 0 ? .active : .ended),
            ]
        }
    }
}
