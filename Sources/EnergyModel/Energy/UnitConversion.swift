/// Converts a meter point's unit into the accounting unit of its energy type ("MWh" → "kWh", "t" → "kg").
public enum UnitConversion {
    private static let factors: [String: (unit: String, factor: Double)] = [
        "Wh": ("kWh", 0.001), "kWh": ("kWh", 1), "MWh": ("kWh", 1000),
        "m3": ("m3", 1), "Nm3": ("m3", 1), "km3": ("m3", 1000), "10^4 m3": ("m3", 10_000),
        "g": ("kg", 0.001), "kg": ("kg", 1), "t": ("kg", 1000),
        "kJ": ("MJ", 0.001), "MJ": ("MJ", 1), "GJ": ("MJ", 1000),
        "kWh_th": ("MJ", 3.6),
    ]

    /// The multiplier that turns a value in `unit` into `energy`'s accounting unit, or nil when they do not match.
    public static func factor(from unit: String, to energy: EnergyType) -> Double? {
        if energy == .production { return 1 }
        let target = energy.accountingUnit
        if unit == target { return 1 }
        // Water is accounted in tonnes: mass units scale down from kg, volume 1 m³ ≈ 1 t.
        if target == "t" {
            switch unit {
            case "kg": return 0.001
            case "m3": return 1
            default: return nil
            }
        }
        guard let known = factors[unit], known.unit == target else { return nil }
        return known.factor
    }
}
