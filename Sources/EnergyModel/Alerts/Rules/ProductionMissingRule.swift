/// A product that used energy on a closed day with no output counted or entered (警告); it clears once output is there.
public enum ProductionMissingRule {
    public static func finding(_ daily: ProductEvaluation, day label: String) -> AlertFinding {
        let enterprise = daily.enterprise
        let product = daily.product.product
        let used = daily.evaluation.energy > 0
        let output = daily.evaluation.output
        return AlertFinding(
            key: "production_missing/\(enterprise.id)/\(product)", kind: .productionMissing, severity: .warning,
            enterprise: AlertRuleText.reference(enterprise), subject: product, period: label, measured: output,
            completeness: daily.evaluation.completeness, evidence: daily.evidence,
            message: output > 0
                ? "\(enterprise.name) \(label) 产品 \(product) 已有产量数据。"
                : "\(enterprise.name) \(label) 产品 \(product) 有能耗 \(fixed(daily.evaluation.energy)) 但无产量数据（\(daily.outputSource)）。",
            condition: used && output <= 0 ? .active : output > 0 ? .ended : .undecided)
    }
}
