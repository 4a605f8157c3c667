/// An energy carrier (or energy-consuming medium) a meter measures, named as in GB/T 2589-2020's table.
public enum EnergyType: String, Sendable, Hashable, CaseIterable {
    case electricity
    case naturalGas = "natural_gas"
    case cokeOvenGas = "coke_oven_gas"
    case steam
    case heat
    case water
    case softenedWater = "softened_water"
    case rawCoal = "raw_coal"
    case washedCoal = "washed_coal"
    case coke
    case fuelOil = "fuel_oil"
    case gasoline
    case diesel
    case lpg
    /// Not energy: a production counter (qualified product output).
    case production

    /// The unit consumption of this carrier is accounted in; meter points convert to it.
    public var accountingUnit: String {
        switch self {
        case .electricity: "kWh"
        case .naturalGas, .cokeOvenGas: "m3"
        case .steam, .rawCoal, .washedCoal, .coke, .fuelOil, .gasoline, .diesel, .lpg: "kg"
        case .heat: "MJ"
        case .water, .softenedWater: "t"
        case .production: "unit"
        }
    }

    /// Chinese name for reports.
    public var chineseName: String {
        switch self {
        case .electricity: "电力"
        case .naturalGas: "天然气"
        case .cokeOvenGas: "焦炉煤气"
        case .steam: "蒸汽"
        case .heat: "热力"
        case .water: "新水"
        case .softenedWater: "软化水"
        case .rawCoal: "原煤"
        case .washedCoal: "洗精煤"
        case .coke: "焦炭"
        case .fuelOil: "燃料油"
        case .gasoline: "汽油"
        case .diesel: "柴油"
        case .lpg: "液化石油气"
        case .production: "产量"
        }
    }
}
