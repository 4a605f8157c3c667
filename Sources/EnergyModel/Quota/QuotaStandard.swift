/// A unit-product energy-consumption quota (单位产品能耗限额): levels 1 (most efficient) to 3 (the limit, 限定值).
public struct QuotaStandard: Sendable, Hashable {
    /// Identifier products refer to ("gb16780_clinker").
    public var id: String
    /// Standard number ("GB 16780-2021").
    public var standard: String
    /// What it limits, in Chinese ("水泥熟料单位产品综合能耗").
    public var title: String
    /// The product it applies to ("clinker").
    public var product: String
    /// What is divided by output: comprehensive consumption in kgce, or one energy type in its unit (kWh).
    public var basis: QuotaBasis
    /// Unit of the quota ("kgce/t", "kWh/t", "kgce/m2").
    public var unit: String
    /// Level 1, 2 and 3 values; an enterprise meets a level when its value is at most that level's.
    public var levels: [Double]
    /// Corrections a product may apply (clinker share, altitude, line capacity …), each a factor on the levels.
    public var corrections: [String]
    /// Where the figures come from.
    public var source: String
    /// Whether the figures are an illustration, not taken from a published standard.
    public var illustrative: Bool

    /// Creates a quota.
    public init(
        id: String, standard: String, title: String, product: String, basis: QuotaBasis, unit: String, levels: [Double],
        corrections: [String] = [], source: String, illustrative: Bool = false
    ) {
        self.id = id
        self.standard = standard
        self.title = title
        self.product = product
        self.basis = basis
        self.unit = unit
        self.levels = levels
        self.corrections = corrections
        self.source = source
        self.illustrative = illustrative
    }

    /// The limit (level 3), which existing plants must meet.
    public var limit: Double { levels[2] }
}

/// What a quota divides by output.
public enum QuotaBasis: Sendable, Hashable {
    /// Comprehensive energy consumption within the boundary, kgce.
    case comprehensive
    /// One energy type within the boundary, in its accounting unit (clinker electricity, kWh/t).
    case energy(EnergyType)

    /// As written in configuration: "comprehensive" or an energy type.
    public var name: String {
        switch self {
        case .comprehensive: "comprehensive"
        case .energy(let type): type.rawValue
        }
    }
}

/// A product of an enterprise whose unit consumption is checked against a quota.
public struct ProductConfig: Sendable, Hashable {
    /// Product name, as the quota names it.
    public var product: String
    /// The quota it is checked against.
    public var quota: String
    /// Meters inside the product's energy boundary.
    public var boundary: [String]
    /// The production counter, or nil when output is entered with `energyctl production`.
    public var productionMeter: String?
    /// Correction factors by name (each allowed by the quota).
    public var corrections: [String: Double]

    /// Creates a product.
    public init(product: String, quota: String, boundary: [String], productionMeter: String?, corrections: [String: Double] = [:]) {
        self.product = product
        self.quota = quota
        self.boundary = boundary
        self.productionMeter = productionMeter
        self.corrections = corrections
    }

    /// The product of its correction factors.
    public var correctionFactor: Double { corrections.values.reduce(1, *) }
}
