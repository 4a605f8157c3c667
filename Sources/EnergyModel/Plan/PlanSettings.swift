/// The district plan's targets (规划目标, `[plan]`): the years it covers, the base year products are compared with,
/// and the figures the district must reach. Rates are fractions (0.7 is 70 %).
public struct PlanSettings: Sendable, Hashable {
    /// Its title, as reports name it.
    public var name = "节能规划"
    /// The years it covers, first and last.
    public var firstYear = 2026
    public var lastYear = 2030
    /// The year main products' unit consumption is compared with (+10 % efficiency: 主要产品能效提升).
    public var baseYear = 2025
    /// Share of the enterprises at or over the inspection threshold inspected within the year (监察检查全覆盖).
    public var inspectionCoverage = 1.0
    /// Share of the key enterprises with every energy type they use metered online (能耗在线监测全覆盖).
    public var monitoringCoverage = 1.0
    /// Share of judged products at the benchmark level (对标达标率).
    public var benchmarkCompliance = 0.7
    /// Fall of main products' unit consumption against the base year (能效提升).
    public var productEfficiencyGain = 0.1

    /// The defaults: the district plan's targets as the brief states them.
    public init() {}
}
