/// A product's unit consumption against its quota's limit (限定值): active above it, ended below 98 % of it, so a
/// figure hovering at the limit does not flap. Used for the early warnings (30 days, a month) and the year's verdict.
public enum QuotaRule {
    /// A quota alert clears only below this share of the limit.
    public static let clear = 0.98

    /// The finding of `kind` for `evaluation`; `prefix` names the period in the message, `keySuffix` tells periods apart.
    public static func finding(
        _ kind: AlertKind, _ evaluation: ProductEvaluation, period: String, severity: AlertSeverity, prefix: String, keySuffix: String = ""
    ) -> AlertFinding {
        let result = evaluation.evaluation
        let quota = evaluation.quota
        let limit = result.levels[2]
        let condition: AlertCondition
        switch result.verdict {
        case .overLimit: condition = .active
        case .level where (result.unitConsumption ?? .infinity) <= limit * clear: condition = .ended
        default: condition = .undecided
        }
        let level: Int? =
            switch result.verdict {
            case .level(let level): level
            case .overLimit: 4
            default: nil
            }
        let value = result.unitConsumption.map { "\(fixed($0)) \(quota.unit)" } ?? "—"
        let message =
            condition == .active
            ? "\(evaluation.enterprise.name)\(prefix)\(quota.title) \(value)，超过 \(quota.standard) 限定值 \(fixed(limit)) \(quota.unit)。"
            : "\(evaluation.enterprise.name)\(prefix)\(quota.title) \(value)，已不超过 \(quota.standard) 限定值 \(fixed(limit)) \(quota.unit)（\(result.verdict.chinese)）。"
        return AlertFinding(
            key: "\(kind.rawValue)/\(evaluation.enterprise.id)/\(evaluation.product.product)/\(quota.id)\(keySuffix)", kind: kind,
            severity: severity, enterprise: AlertRuleText.reference(evaluation.enterprise), subject: evaluation.product.product,
            period: period, measured: result.unitConsumption, limit: limit, level: level, standard: quota.standard,
            completeness: result.completeness, evidence: evaluation.evidence, message: message, condition: condition)
    }
}
