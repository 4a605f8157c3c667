/// Which periods the checks last judged, so that day and month checks run once per closed period.
public struct CheckProgress: Sendable, Hashable {
    /// Start of the last closed day checked.
    public var day: Int64?
    /// Start of the last closed month checked.
    public var month: Int64?
    /// Start of the last quota check when checks run on an interval.
    public var lastQuotaCheckMs: Int64?

    /// Nothing checked yet.
    public init(day: Int64? = nil, month: Int64? = nil, lastQuotaCheckMs: Int64? = nil) {
        self.day = day
        self.month = month
        self.lastQuotaCheckMs = lastQuotaCheckMs
    }

    /// Most days judged at once after a long stop: two months.
    public static let catchUpDays: Int64 = 62

    /// The closed days and months due for their checks at `nowMs` (the time the stored data reaches), oldest
    /// first: each day closed since the last one checked (a day closes `dayCloseDelayMs` after its end), the last
    /// closed day again when `quotaCheckIntervalMs` has passed since the last quota check, and each month all of
    /// whose days have closed.
    public func due(nowMs: Int64, dayCloseDelayMs: Int64, quotaCheckIntervalMs: Int64, calendar: CalendarBuckets) -> (
        days: [Int64], months: [Int64]
    ) {
        let closedUntil = calendar.start(of: .day, containing: nowMs - dayCloseDelayMs)
        let lastClosedDay = calendar.start(of: .day, containing: closedUntil - 1)
        var day = self.day.map { calendar.next(.day, after: $0) } ?? lastClosedDay
        day = max(day, lastClosedDay - Self.catchUpDays * 86_400_000)
        let intervalDue = quotaCheckIntervalMs > 0 && nowMs - (lastQuotaCheckMs ?? .min / 2) >= quotaCheckIntervalMs
        if day > lastClosedDay, intervalDue { day = lastClosedDay }
        var days: [Int64] = []
        while day <= lastClosedDay {
            days.append(day)
            day = calendar.next(.day, after: day)
        }
        let lastClosedMonth = Self.lastClosedMonth(nowMs: nowMs, dayCloseDelayMs: dayCloseDelayMs, calendar: calendar)
        var month = self.month.map { calendar.next(.month, after: $0) } ?? lastClosedMonth
        var months: [Int64] = []
        while month <= lastClosedMonth {
            months.append(month)
            month = calendar.next(.month, after: month)
        }
        return (days, months)
    }

    /// Start of the last month all of whose days have closed by `nowMs` (a day closes `dayCloseDelayMs` after its end):
    /// the month before the one holding the end of the last closed day.
    public static func lastClosedMonth(nowMs: Int64, dayCloseDelayMs: Int64, calendar: CalendarBuckets) -> Int64 {
        let closedUntil = calendar.start(of: .day, containing: nowMs - dayCloseDelayMs)
        return calendar.start(of: .month, containing: calendar.start(of: .month, containing: closedUntil) - 1)
    }
}
