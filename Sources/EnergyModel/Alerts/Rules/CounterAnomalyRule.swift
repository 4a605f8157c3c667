/// One alert per meter and kind of counter anomaly (a rollover 提示, the others 警告); it clears after a day
/// without another of its kind.
public struct CounterAnomalyRule: Sendable {
    public static let kinds: [CounterEventKind] = [.spike, .reset, .rollover, .glitch, .frozen]
    /// How long a meter must go without an anomaly of a kind for its alert to clear.
    public static let quietMs: Int64 = 86_400_000

    public var calendar: CalendarBuckets

    public init(calendar: CalendarBuckets) { self.calendar = calendar }

    /// Chinese name of an anomaly.
    public static func chinese(_ kind: CounterEventKind) -> String {
        switch kind {
        case .spike: "读数尖峰（已剔除）"
        case .reset: "计数器复位或换表"
        case .rollover: "计数器溢出回零"
        case .glitch: "瞬时零值（已忽略）"
        case .frozen: "读数冻结"
        case .gap: "数据缺口"
        }
    }

    /// `events`: each meter's counter events of the last `quietMs`, oldest first.
    public func findings(meters: [(EnterpriseConfig, MeterConfig)], events: [String: [CounterEvent]], open: Set<String>) -> [AlertFinding] {
        func time(_ ms: Int64) -> String { AlertRuleText.time(ms, calendar) }
        var findings: [AlertFinding] = []
        for (enterprise, meter) in meters {
            for kind in Self.kinds {
                let key = "data_anomaly/\(meter.id)/\(kind.rawValue)"
                let recent = (events[meter.id] ?? []).filter { $0.kind == kind }
                guard AlertTransitions.changes(key, recent.isEmpty ? .ended : .active, open: open) else { continue }
                let last = recent.last
                findings.append(
                    AlertFinding(
                        key: key, kind: .dataAnomaly, severity: kind == .rollover ? .notice : .warning,
                        enterprise: AlertRuleText.reference(enterprise), subject: meter.id, period: last.map { time($0.timestampMs) } ?? "",
                        measured: Double(recent.count),
                        evidence: [
                            "anomaly": .text(kind.rawValue),
                            "events": .list(recent.map { .object(["time": .text(time($0.timestampMs)), "detail": .text($0.detail)]) }),
                        ],
                        message: last.map {
                            "计量表 \(meter.id)（\(enterprise.name)）\(Self.chinese(kind))：\(time($0.timestampMs))，\($0.detail)。"
                        } ?? "计量表 \(meter.id)（\(enterprise.name)）一天内未再出现\(Self.chinese(kind))。",
                        condition: recent.isEmpty ? .ended : .active))
            }
        }
        return findings
    }
}
