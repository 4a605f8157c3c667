/// kgce per accounting unit of each energy type: the GB/T 2589-2020 reference coefficients, as transcribed by
/// secondary sources (the standard allows measured calorific values instead). Deployments override them.
public enum StandardCoalFactors {
    /// Source tag carried into every figure computed with these defaults.
    public static let source = "GB/T 2589-2020 reference coefficients (secondary transcription)"

    /// Default kgce per accounting unit; nil for production counters.
    public static func reference(_ energy: EnergyType) -> Double? {
        switch energy {
        case .electricity: 0.1229  // kWh, equivalent value (当量值)
        case .naturalGas: 1.2143  // m³, gas-field natural gas (range 1.1000–1.3300)
        case .cokeOvenGas: 0.5714  // m³, low end of 0.5714–0.6143
        case .steam: 0.1286  // kg, low-pressure steam
        case .heat: 0.03412  // MJ (34.12 kgce/GJ)
        case .water: 0.0857  // t, fresh water as energy-consuming medium
        case .softenedWater: 0.4857  // t
        case .rawCoal: 0.7143  // kg
        case .washedCoal: 0.9000  // kg
        case .coke: 0.9714  // kg
        case .fuelOil: 1.4286  // kg
        case .gasoline: 1.4714  // kg
        case .diesel: 1.4571  // kg
        case .lpg: 1.7143  // kg
        case .production: nil
        }
    }
}
