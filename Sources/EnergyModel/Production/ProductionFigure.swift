/// A day's output of a product entered by hand (console form, API, `energyctl production`), checked the same way
/// wherever it comes from before anything is written.
public struct ProductionFigure: Sendable, Hashable {
    public var enterprise: String
    public var product: String
    /// Local midnight of the day.
    public var dayMs: Int64
    /// Qualified output, in the quota's product unit.
    public var quantity: Double

    /// Why a figure is refused, in words for the person who entered it.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The figure for `enterprise`'s `product` on `date` (YYYY-MM-DD), or why it cannot be recorded.
    public static func checked(
        enterprise: String, product: String, date: String, quantity: Double, in configuration: EnergyConfiguration
    ) throws(Problem) -> ProductionFigure {
        guard let config = configuration.enterprises.first(where: { $0.id == enterprise }) else {
            throw Problem(description: "no enterprise \(enterprise)")
        }
        guard config.products.contains(where: { $0.product == product }) else {
            throw Problem(description: "\(enterprise) has no product \(product)")
        }
        guard let day = configuration.calendar.startOfDay(date) else {
            throw Problem(description: "date \(date) is not \(ISO8601Time.dateRule)")
        }
        guard quantity >= 0, quantity.isFinite else { throw Problem(description: "quantity must be a number ≥ 0") }
        return ProductionFigure(enterprise: enterprise, product: product, dayMs: day, quantity: quantity)
    }
}
