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
        guard configuration.enterprises.contains(where: { $0.id == enterprise }) else {
            throw Problem(description: "no enterprise \(enterprise)")
        }
        let calendar = configuration.calendar
        guard month.utf8.count == 7, let monthStart = calendar.startOfDay(month + "-01") else {
            throw Problem(description: "month \(month) is not YYYY-MM")
        }
        guard monthStart <= nowMs else { throw Problem(description: "month \(month) has not begun") }
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
            if let value, !(value >= 0 && value.isFinite) { throw Problem(description: "\(name) must be a number ≥ 0") }
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
        return EnergyEntry(
            enterprise: enterprise, month: month, monthStartMs: monthStart, energy: type, unit: unit, purchases: purchases,
            openingStock: purchases == nil ? nil : openingStock ?? 0, closingStock: purchases == nil ? nil : closingStock ?? 0,
            consumption: consumed, accountingAmount: consumed * toAccounting)
    }

    /// The meter id the store keeps an enterprise's entered energy under: beside its meters, never one of them.
    public static func seriesMeter(enterprise: String) -> String { "entered/" + enterprise }
}
