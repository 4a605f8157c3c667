/// An enterprise on course for the inspection threshold (`inspection_threshold_tce`, 1000 tce: 提示): the year
/// projected from enough complete data, never from a few days; it clears below 95 % of the threshold.
public enum InspectionListRule {
    /// `through` is the end of the last closed day judged.
    public static func finding(
        _ enterprise: EnterpriseConfig, _ projection: AnnualProjection, thresholdTce threshold: Double, through dayEnd: Int64,
        calendar: CalendarBuckets
    ) -> AlertFinding {
        let through = calendar.dayLabel(dayEnd - 1)
        let condition: AlertCondition
        var message = "\(enterprise.name) \(projection.year) 年初至 \(through) 综合能耗 \(fixed(projection.tceYearToDate)) tce，"
        if let projected = projection.projectedTce {
            condition = projected >= threshold ? .active : projected < threshold * 0.95 ? .ended : .undecided
            message +=
                "\(projection.method)约 \(fixed(projected)) tce，" + (projected >= threshold ? "达到" : "低于")
                + " \(fixed(threshold)) tce 节能监察标准。"
        } else {
            condition = .undecided
            message += "\(projection.method)。"
        }
        return AlertFinding(
            key: "inspection_list/\(enterprise.id)/\(projection.year)", kind: .inspectionList, severity: .notice,
            enterprise: AlertRuleText.reference(enterprise), subject: enterprise.id, period: "\(projection.year)..\(through)",
            measured: projection.projectedTce, limit: threshold,
            completeness: Double(projection.completeDays) / max(1, projection.daysJudged),
            evidence: [
                "tce_year_to_date": .number(projection.tceYearToDate), "complete_days": .number(Double(projection.completeDays)),
                "projection": .text(projection.method),
            ],
            message: message, condition: condition)
    }
}
