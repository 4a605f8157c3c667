/// A meter's closed day with under 90 % of its expected readings is not evidence (警告); the alert clears at 95 %.
public enum CompletenessRule {
    /// Readings below this share of the expected number make a day's data untrustworthy.
    public static let raise = 0.9
    /// …and above this, trustworthy again.
    public static let clear = 0.95

    /// The finding for `meter`'s day `label` with `good` of `expected` readings.
    public static func finding(enterprise: EnterpriseConfig, meter: String, day label: String, good: Int, expected: Double) -> AlertFinding
    {
        let completeness = expected > 0 ? Double(good) / expected : 0
        return AlertFinding(
            key: "completeness_low/\(meter)", kind: .completenessLow, severity: .warning, enterprise: AlertRuleText.reference(enterprise),
            subject: meter, period: label, measured: completeness, limit: raise, completeness: completeness,
            evidence: ["good_readings": .number(Double(good)), "expected_readings": .number(expected)],
            message: completeness < raise
                ? "计量表 \(meter)（\(enterprise.name)）\(label) 数据完整率 \(percent(completeness))，低于 90%，当日数据不可作为执法依据。"
                : "计量表 \(meter)（\(enterprise.name)）\(label) 数据完整率恢复至 \(percent(completeness))。",
            condition: completeness < raise ? .active : completeness >= clear ? .ended : .undecided)
    }
}
