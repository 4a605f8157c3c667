/// A month of energy not metered online, entered by hand (手工填报): fuel bought by weighbridge and invoice, diesel
/// for loaders, purchased heat. Its consumption is purchases + opening stock − closing stock (GB/T 2589-2020's
/// energy statement), or entered directly. Checked the same way wherever it comes from (console, API, energyctl,
/// CSV) before anything is written.
public struct EnergyEntry: Sendable, Hashable {
    public var enterprise: String
    /// The month, "2026-01".
    public var month: String
    /// Local midnight of the month's first day.
    public var monthStartMs: Int64
    public var energy: EnergyType
    /// The unit the figures were entered in ("t", "kg", "GJ").
    public var unit: String
    /// Bought in the month, opening and closing stock, in `unit`: nil when the consumption was entered directly.
    public var purchases: Double?
    public var openingStock: Double?
    public var closingStock: Double?
    /// Consumed in the month, in `unit`.
    public var consumption: Double
    /// The same in the energy's accounting unit (kg, MJ, kWh, m3, t).
    public var accountingAmount: Double

    /// Why an entry is refused, in words for the person who entered it.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The entry, or why it cannot be recorded: an enterprise of `configuration`, a month that has begun by `nowMs`,
    /// an energy type (not production), a unit of that energy, and either `consumption` or `purchases` (with
    /// optional opening and closing stock, 0 when absent), all finite and ≥ 0, with closing stock not above
    /// purchases plus opening stock.
    public static func checked(
        enterprise: String, month: String, energy: String, unit: String, consumption: Double? = nil, purchases: Double? = nil,
        openingStock: Double? = nil, closingStock: Double? = nil, nowMs: Int64, in configuration: EnergyConfiguration
    ) throws(Problem) -> EnergyEntry {
        let monthStart = try checkedMonth(enterprise: enterprise, month: month, nowMs: nowMs, in: configuration)
        guard let type = EnergyType(rawValue: energy), type != .production else {
            let names = EnergyType.allCases.filter { $0 != .production }.map(\.rawValue).joined(separator: ", ")
            throw Problem(description: "energy \(energy) is not one of \(names)")
        }
        guard let toAccounting = UnitConversion.factor(from: unit, to: type) else {
            throw Problem(description: "unit \(unit) is not a unit of \(energy) (accounted in \(type.accountingUnit))")
        }
        for (name, value) in [
            ("amount", consumption), ("purchases", purchases), ("opening stock", openingStock), ("closing stock", closingStock),
        ] {
            if let value, !(value >= 0 && value <= largest) { throw Problem(description: "\(name) must be a number ≥ 0, up to 10^12") }
        }
        let consumed: Double
        switch (consumption, purchases) {
        case (let direct?, nil):
            guard openingStock == nil, closingStock == nil else {
                throw Problem(description: "give either the amount consumed or purchases with stocks, not both")
            }
            consumed = direct
        case (nil, let bought?):
            consumed = bought + (openingStock ?? 0) - (closingStock ?? 0)
            guard consumed >= 0 else { throw Problem(description: "closing stock is more than purchases plus opening stock") }
        case (nil, nil):
            throw Problem(description: "give the amount consumed, or the purchases (with opening and closing stock)")
        case (.some, .some):
            throw Problem(description: "give either the amount consumed or purchases with stocks, not both")
        }
        // Rollups count millionths in 64 bits: 10^12 of the accounting unit (a million tonnes of coal) is far above
        // any plant's month and far below what they hold.
        guard consumed * toAccounting <= largest else {
            throw Problem(description: "\(fixed(consumed)) \(unit) of \(energy) in a month is more than one enterprise can use")
        }
        return EnergyEntry(
            enterprise: enterprise, month: month, monthStartMs: monthStart, energy: type, unit: unit, purchases: purchases,
            openingStock: purchases == nil ? nil : openingStock ?? 0, closingStock: purchases == nil ? nil : closingStock ?? 0,
            consumption: consumed, accountingAmount: consumed * toAccounting)
    }

    /// The start of `month` ("2026-01") of an enterprise of `configuration`, when it has begun by `nowMs`.
    static func checkedMonth(enterprise: String, month: String, nowMs: Int64, in configuration: EnergyConfiguration) throws(Problem)
        -> Int64
    {
        guard configuration.enterprises.contains(where: { $0.id == enterprise }) else {
            throw Problem(description: "no enterprise \(enterprise)")
        }
        guard month.utf8.count == 7, let monthStart = configuration.calendar.startOfDay(month + "-01") else {
            throw Problem(description: "month \(month) is not YYYY-MM")
        }
        guard monthStart <= nowMs else { throw Problem(description: "month \(month) has not begun") }
        return monthStart
    }

    /// The largest figure an entry takes, in its unit: more is a typing error, and sums of such would overflow.
    public static let largest = 1e12

    /// The meter id the store keeps an enterprise's entered energy under: beside its meters, never one of them.
    public static func seriesMeter(enterprise: String) -> String { "entered/" + enterprise }
}

/// An enterprise's output value of a month (产值), entered by hand: gross industrial output value and, optionally,
/// value added, in 万元 at current prices, the denominators of 单位产值综合能耗 and 单位增加值能耗 (GB/T 2589-2020).
public struct OutputValue: Sendable, Hashable {
    public var enterprise: String
    /// The month, "2026-01".
    public var month: String
    /// Local midnight of the month's first day.
    public var monthStartMs: Int64
    /// Gross industrial output value, 万元.
    public var grossOutput: Double
    /// Value added, 万元.
    public var valueAdded: Double?

    /// The figure, or why it cannot be recorded: an enterprise of `configuration`, a month that has begun by `nowMs`,
    /// a gross output value > 0 and a value added ≥ 0 and not above it.
    public static func checked(
        enterprise: String, month: String, grossOutput: Double, valueAdded: Double? = nil, nowMs: Int64,
        in configuration: EnergyConfiguration
    ) throws(EnergyEntry.Problem) -> OutputValue {
        let monthStart = try EnergyEntry.checkedMonth(enterprise: enterprise, month: month, nowMs: nowMs, in: configuration)
        // Money to the hundred yuan (0.01 万元): a denominator never so small that energy per 万元 overflows.
        func hundreds(_ value: Double) -> Double { (value * 100).rounded() / 100 }
        let grossOutput = hundreds(grossOutput)
        let valueAdded = valueAdded.map(hundreds)
        guard grossOutput >= 0.01, grossOutput <= EnergyEntry.largest else {
            throw EnergyEntry.Problem(description: "gross output value must be a number from 0.01 to 10^12 (万元)")
        }
        if let valueAdded {
            guard valueAdded >= 0 else {
                throw EnergyEntry.Problem(description: "value added must be a number ≥ 0 (万元)")
            }
            guard valueAdded <= grossOutput else {
                throw EnergyEntry.Problem(description: "value added is more than the gross output value")
            }
        }
        return OutputValue(enterprise: enterprise, month: month, monthStartMs: monthStart, grossOutput: grossOutput, valueAdded: valueAdded)
    }
}
