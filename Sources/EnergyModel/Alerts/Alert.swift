/// What an alert is about.
public enum AlertKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A closed month's unit consumption is above the quota's limit.
    case quotaExceeded = "quota_exceeded"
    /// The last 30 days' unit consumption is above the limit.
    case quotaEarlyWarning = "quota_early_warning"
    /// A meter sent no good reading for longer than the offline time.
    case meterOffline = "meter_offline"
    /// Every meter of a gateway is offline (one alert instead of one per meter).
    case gatewayOffline = "gateway_offline"
    /// A counter spiked, reset, rolled over, read zero once or froze.
    case dataAnomaly = "data_anomaly"
    /// A meter's closed day has less than 90 % of its expected readings.
    case completenessLow = "completeness_low"
    /// A product used energy on a closed day but no output was counted or entered.
    case productionMissing = "production_missing"
    /// The year's consumption is on course for the inspection threshold (≥ 1000 tce).
    case inspectionList = "inspection_list"
    /// A measuring instrument's calibration falls due within 30 days, or is overdue.
    case calibrationDue = "calibration_due"
    /// A rectification an inspection required is past its deadline and not closed.
    case rectificationOverdue = "rectification_overdue"

    /// Chinese name.
    public var chinese: String {
        switch self {
        case .quotaExceeded: "超限额"
        case .quotaEarlyWarning: "限额预警"
        case .meterOffline: "计量表离线"
        case .gatewayOffline: "网关离线"
        case .dataAnomaly: "数据异常"
        case .completenessLow: "数据完整率低"
        case .productionMissing: "产量缺失"
        case .inspectionList: "重点监察名单"
        case .calibrationDue: "计量器具检定到期"
        case .rectificationOverdue: "整改逾期"
        }
    }
}

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable, Hashable, Codable, CaseIterable {
    case critical, warning, notice

    /// Chinese name.
    public var chinese: String {
        switch self {
        case .critical: "严重"
        case .warning: "警告"
        case .notice: "提示"
        }
    }
}

/// Whether a log line raises or clears an alert.
public enum AlertState: String, Sendable, Hashable, Codable {
    case raised, cleared
}

/// A value in an alert's evidence (JSON).
public enum EvidenceValue: Sendable, Hashable, Codable {
    case number(Double)
    case text(String)
    case object([String: EvidenceValue])
    case list([EvidenceValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let list = try? container.decode([EvidenceValue].self) {
            self = .list(list)
        } else {
            self = .object(try container.decode([String: EvidenceValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        }
    }
}

/// The enterprise an alert concerns.
public struct AlertEnterprise: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var jurisdiction: String

    /// Creates the reference.
    public init(id: String, name: String, jurisdiction: String) {
        self.id = id
        self.name = name
        self.jurisdiction = jurisdiction
    }
}

/// What a check found: the alert an active condition raises (time and state are set when it is raised or cleared),
/// and whether the condition holds. Its fields are the alert's (`finding.key`, `finding.measured`).
@dynamicMemberLookup
public struct AlertFinding: Sendable, Hashable {
    /// The alert, as it would be logged.
    public var alert: AlertRecord
    /// Whether the condition holds (raise), has clearly ended (clear), or lies in the hysteresis band (neither).
    public var condition: AlertCondition

    /// Creates a finding.
    public init(
        key: String, kind: AlertKind, severity: AlertSeverity, enterprise: AlertEnterprise, subject: String, period: String,
        measured: Double? = nil, limit: Double? = nil, level: Int? = nil, standard: String? = nil, completeness: Double? = nil,
        evidence: [String: EvidenceValue] = [:], message: String, condition: AlertCondition
    ) {
        self.alert = AlertRecord(
            time: "", kind: kind, severity: severity, state: .raised, key: key, enterprise: enterprise, subject: subject,
            period: period, measured: measured, limit: limit, level: level, standard: standard, completeness: completeness,
            evidence: evidence, message: message)
        self.condition = condition
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<AlertRecord, Value>) -> Value {
        get { alert[keyPath: field] }
        set { alert[keyPath: field] = newValue }
    }
}

/// A condition with hysteresis: an alert is raised once when it becomes active and cleared once when it has
/// clearly ended; in between nothing changes, so a value hovering at a threshold does not flap.
public enum AlertCondition: Sendable, Hashable {
    case active, ended, undecided
}

/// One line of the alert log and one row of the alerts table.
public struct AlertRecord: Sendable, Hashable, Codable {
    /// When it was raised or cleared (RFC 3339, local time).
    public var time: String
    public var kind: AlertKind
    public var severity: AlertSeverity
    public var state: AlertState
    public var key: String
    public var enterprise: AlertEnterprise
    public var subject: String
    public var period: String
    public var measured: Double?
    public var limit: Double?
    public var level: Int?
    public var standard: String?
    public var completeness: Double?
    public var evidence: [String: EvidenceValue]
    public var message: String

    enum CodingKeys: String, CodingKey {
        case time, kind, severity, state, key, enterprise, subject, period, measured, limit, level, standard, completeness, evidence,
            message
    }

    /// Every field is written, absent ones as null, so that each log line has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(time, forKey: .time)
        try container.encode(kind, forKey: .kind)
        try container.encode(severity, forKey: .severity)
        try container.encode(state, forKey: .state)
        try container.encode(key, forKey: .key)
        try container.encode(enterprise, forKey: .enterprise)
        try container.encode(subject, forKey: .subject)
        try container.encode(period, forKey: .period)
        try container.encode(measured, forKey: .measured)
        try container.encode(limit, forKey: .limit)
        try container.encode(level, forKey: .level)
        try container.encode(standard, forKey: .standard)
        try container.encode(completeness, forKey: .completeness)
        try container.encode(evidence, forKey: .evidence)
        try container.encode(message, forKey: .message)
    }

    /// Creates a record.
    public init(
        time: String, kind: AlertKind, severity: AlertSeverity, state: AlertState, key: String, enterprise: AlertEnterprise,
        subject: String, period: String, measured: Double? = nil, limit: Double? = nil, level: Int? = nil, standard: String? = nil,
        completeness: Double? = nil, evidence: [String: EvidenceValue] = [:], message: String
    ) {
        self.time = time
        self.kind = kind
        self.severity = severity
        self.state = state
        self.key = key
        self.enterprise = enterprise
        self.subject = subject
        self.period = period
        self.measured = measured
        self.limit = limit
        self.level = level
        self.standard = standard
        self.completeness = completeness
        self.evidence = evidence
        self.message = message
    }

    /// The record of `finding` raised or cleared at `time`.
    public init(_ finding: AlertFinding, state: AlertState, time: String) {
        self = finding.alert
        self.state = state
        self.time = time
    }
}

/// Decides, from what the checks found and which alerts are open, which alerts to raise and which to clear.
public enum AlertTransitions {
    /// Findings to raise (active, not open) and open keys to clear (ended).
    public static func decide(_ findings: [AlertFinding], open: Set<String>) -> (raise: [AlertFinding], clear: [AlertFinding]) {
        let changing = findings.filter { changes($0.key, $0.condition, open: open) }
        return (changing.filter { $0.condition == .active }, changing.filter { $0.condition == .ended })
    }

    /// Whether a finding changes an alert: active and not open (raise), or ended and open (clear).
    public static func changes(_ key: String, _ condition: AlertCondition, open: Set<String>) -> Bool {
        switch condition {
        case .active: !open.contains(key)
        case .ended: open.contains(key)
        case .undecided: false
        }
    }
}
