import Foundation

/// An energy-conservation inspection of an enterprise (节能监察): when, by whom, how, on what legal basis, what was
/// found, and the rectification required by a deadline (责令整改), open until an inspector closes it.
public struct Inspection: Sendable, Hashable {
    /// How the inspection was made.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case onSite = "on_site", documentary

        /// Chinese name.
        public var chinese: String {
            switch self {
            case .onSite: "现场监察"
            case .documentary: "书面监察"
            }
        }
    }

    /// Where an inspection stands.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Recorded; a rectification, if any, is awaited.
        case open
        /// The enterprise has answered what it rectified (整改说明); an inspector still has to close it.
        case answered
        /// Closed by an inspector (办结).
        case closed

        /// Chinese name.
        public var chinese: String {
            switch self {
            case .open: "整改中"
            case .answered: "待复查"
            case .closed: "已办结"
            }
        }
    }

    public var enterprise: String
    /// The day of the inspection, YYYY-MM-DD.
    public var date: String
    public var inspectors: [String]
    public var kind: Kind
    /// The law and articles it rests on (e.g. 《节约能源法》第十二条).
    public var legalBasis: String
    public var findings: String
    /// What the enterprise must put right, and by when (YYYY-MM-DD); nil when nothing is required.
    public var rectification: String?
    public var deadline: String?
    /// Alerts the inspection followed up.
    public var alerts: [Int64]

    /// Creates an inspection as it is (`checked` checks one).
    public init(
        enterprise: String, date: String, inspectors: [String], kind: Kind, legalBasis: String, findings: String, rectification: String?,
        deadline: String?, alerts: [Int64]
    ) {
        (self.enterprise, self.date, self.inspectors, self.kind) = (enterprise, date, inspectors, kind)
        (self.legalBasis, self.findings, self.rectification, self.deadline, self.alerts) = (
            legalBasis, findings, rectification, deadline, alerts
        )
    }

    /// Why an inspection is refused, in words for the person who sent it.
    public struct Problem: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The longest text a field takes, in characters.
    public static let longestText = 4000

    /// The inspection, or why it cannot be recorded: an enterprise of `configuration`, a date that is a date and not
    /// after `today`, at least one inspector, a known kind, the legal basis and the findings given, and a required
    /// rectification exactly when there is a deadline, which is not before the inspection.
    public static func checked(
        enterprise: String, date: String, inspectors: [String], kind: String, legalBasis: String, findings: String, rectification: String?,
        deadline: String?, alerts: [Int64], today: String, in configuration: EnergyConfiguration
    ) throws(Problem) -> Inspection {
        guard configuration.enterprises.contains(where: { $0.id == enterprise }) else {
            throw Problem(description: "no enterprise \(enterprise)")
        }
        let calendar = configuration.calendar
        for (name, value) in [("date", date)] + (deadline.map { [("deadline", $0)] } ?? []) {
            guard value.utf8.count == 10, calendar.startOfDay(value) != nil else {
                throw Problem(description: "\(name) \(value) is not \(ISO8601Time.dateRule)")
            }
        }
        guard date <= today else { throw Problem(description: "date \(date) is in the future") }
        let names = inspectors.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw Problem(description: "at least one inspector is needed") }
        guard let known = Kind(rawValue: kind) else {
            throw Problem(description: "kind \(kind) is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func text(_ name: String, _ value: String?) throws(Problem) -> String? {
            guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
            guard trimmed.count <= longestText else { throw Problem(description: "\(name) is longer than \(longestText) characters") }
            return trimmed
        }
        guard let basis = try text("legal basis", legalBasis) else { throw Problem(description: "the legal basis is missing") }
        guard let found = try text("findings", findings) else { throw Problem(description: "the findings are missing") }
        let required = try text("rectification", rectification)
        switch (required, deadline) {
        case (nil, nil): break
        case (.some, nil): throw Problem(description: "a rectification needs its deadline")
        case (nil, .some): throw Problem(description: "a deadline needs the rectification it is for")
        case (.some, .some(let deadline)):
            guard deadline >= date else { throw Problem(description: "deadline \(deadline) is before the inspection on \(date)") }
        }
        return Inspection(
            enterprise: enterprise, date: date, inspectors: names, kind: known, legalBasis: basis, findings: found, rectification: required,
            deadline: deadline, alerts: alerts)
    }
}

/// A recorded inspection: its number, where it stands, and the enterprise's answer and the closing note once given.
public struct InspectionRecord: Sendable, Hashable {
    public var id: Int64
    public var inspection: Inspection
    public var status: Inspection.Status
    public var answer: String?
    public var closingNote: String?
    /// Who recorded it, and when (UTC epoch ms).
    public var recordedBy: String
    public var recordedMs: Int64

    public init(
        id: Int64, inspection: Inspection, status: Inspection.Status, answer: String?, closingNote: String?, recordedBy: String,
        recordedMs: Int64
    ) {
        (self.id, self.inspection, self.status, self.answer) = (id, inspection, status, answer)
        (self.closingNote, self.recordedBy, self.recordedMs) = (closingNote, recordedBy, recordedMs)
    }
}

/// Rectification overdue (整改逾期): a warning once an inspection's deadline has passed and it is not closed; ended
/// when an inspector closes it.
public enum RectificationRule {
    /// A finding per inspection with a deadline, judged on the day `today` (YYYY-MM-DD).
    public static func findings(_ records: [InspectionRecord], today: String, configuration: EnergyConfiguration) -> [AlertFinding] {
        let enterprises = Dictionary(configuration.enterprises.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return records.compactMap { record in
            let inspection = record.inspection
            guard let deadline = inspection.deadline, let enterprise = enterprises[inspection.enterprise] else { return nil }
            let overdue = record.status != .closed && deadline < today
            return AlertFinding(
                key: "rectification_overdue/\(record.id)", kind: .rectificationOverdue, severity: .warning,
                enterprise: AlertRuleText.reference(enterprise), subject: "inspection-\(record.id)", period: deadline, measured: nil,
                limit: nil,
                evidence: [
                    "inspection_date": .text(inspection.date), "deadline": .text(deadline), "status": .text(record.status.rawValue),
                    "rectification": .text(inspection.rectification ?? ""),
                ],
                message: overdue
                    ? "\(enterprise.name) \(inspection.date) \(inspection.kind.chinese)责令的整改（\(inspection.rectification ?? "")）已于 \(deadline) 到期，尚未办结。"
                    : "\(enterprise.name) \(inspection.date) \(inspection.kind.chinese)的整改已办结。",
                condition: overdue ? .active : .ended)
        }
    }
}

/// What is done to a recorded inspection after it was recorded.
public enum InspectionStep: String, Sendable, Hashable, CaseIterable {
    /// The enterprise says what it rectified (整改说明).
    case answer
    /// An inspector closes it with a note (办结).
    case close

    /// The status after `self` by an account of `role` on an inspection now `status`, with `text`; or why it is
    /// refused. An enterprise answers its own (the caller checks it is its own) while it is not closed; inspectors and
    /// admins close; towns only read.
    public func applied(by role: Role, to status: Inspection.Status, text: String) throws(AlertAction.Refusal) -> Inspection.Status {
        let allowed = self == .answer ? role == .enterprise : role == .inspector || role == .admin
        guard allowed else {
            throw AlertAction.Refusal(description: "\(role.rawValue) accounts may not \(rawValue) inspections", forbidden: true)
        }
        guard status != .closed else { throw AlertAction.Refusal(description: "the inspection is closed", forbidden: false) }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AlertAction.Refusal(description: "\(rawValue) needs a text", forbidden: false) }
        guard trimmed.count <= Inspection.longestText else {
            throw AlertAction.Refusal(description: "the text is longer than \(Inspection.longestText) characters", forbidden: false)
        }
        return self == .answer ? .answered : .closed
    }
}
