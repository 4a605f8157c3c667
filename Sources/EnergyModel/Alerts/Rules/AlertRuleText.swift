/// What every rule's findings say about their enterprise and times.
enum AlertRuleText {
    static func reference(_ enterprise: EnterpriseConfig) -> AlertEnterprise {
        AlertEnterprise(id: enterprise.id, name: enterprise.name, jurisdiction: enterprise.jurisdiction)
    }

    /// Local RFC 3339 time.
    static func time(_ ms: Int64, _ calendar: CalendarBuckets) -> String { ISO8601Time.formatLocal(ms: ms, timeZone: calendar.timeZone) }
}
