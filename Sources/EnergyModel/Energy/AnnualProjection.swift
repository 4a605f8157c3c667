/// An enterprise's annual comprehensive consumption, projected for the inspection list (≥ 1000 tce), and how.
public struct AnnualProjection: Sendable, Hashable {
    /// The calendar year projected.
    public var year: Int
    /// Comprehensive consumption from 1 January to the end of the data judged, tce.
    public var tceYearToDate: Double
    /// Days of the year so far on which every energy meter of the enterprise had ≥ 90 % of its readings.
    public var completeDays: Int
    /// Days of the year the data judged covers (from 1 January to the end of the data judged).
    public var daysJudged: Double
    /// The projected year, tce; nil when the data cannot support a projection.
    public var projectedTce: Double?
    /// How it was projected, in Chinese, for the alert and the report.
    public var method: String

    /// Complete days of the year needed before a projection is made from them.
    public static let minimumCompleteDays = 30

    public init(year: Int, tceYearToDate: Double, completeDays: Int, daysJudged: Double, projectedTce: Double?, method: String) {
        self.year = year
        self.tceYearToDate = tceYearToDate
        self.completeDays = completeDays
        self.daysJudged = daysJudged
        self.projectedTce = projectedTce
        self.method = method
    }
}
