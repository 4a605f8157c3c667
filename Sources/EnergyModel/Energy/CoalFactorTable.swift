/// A standard-coal conversion factor in force from a date on.
public struct CoalFactor: Sendable, Hashable {
    /// The energy type it converts.
    public var energy: EnergyType
    /// kgce per accounting unit of the energy type (kWh, m³, kg, MJ, t).
    public var kgcePerUnit: Double
    /// First day it applies, "YYYY-MM-DD" (local).
    public var effectiveFrom: String
    /// Local midnight of that day, UTC epoch ms.
    public var effectiveFromMs: Int64
    /// Where the figure comes from.
    public var source: String

    /// Creates a factor.
    public init(energy: EnergyType, kgcePerUnit: Double, effectiveFrom: String, effectiveFromMs: Int64, source: String) {
        self.energy = energy
        self.kgcePerUnit = kgcePerUnit
        self.effectiveFrom = effectiveFrom
        self.effectiveFromMs = effectiveFromMs
        self.source = source
    }
}

/// The factors of a deployment: GB/T 2589-2020 reference values, overridden by the deployment's `[[factors]]`,
/// overridden for one enterprise by its own; each in force from its date, so a past period is always converted
/// with the factor of its time.
public struct CoalFactorTable: Sendable, Hashable {
    /// Deployment-wide factors.
    public var deployment: [CoalFactor]
    /// Factors of single enterprises.
    public var enterprises: [String: [CoalFactor]]

    /// Creates a table.
    public init(deployment: [CoalFactor] = [], enterprises: [String: [CoalFactor]] = [:]) {
        self.deployment = deployment
        self.enterprises = enterprises
    }

    /// The factor for `energy` of `enterprise` on the day starting at `dayStartMs`; nil for production.
    public func factor(_ energy: EnergyType, enterprise: String, atMs dayStartMs: Int64) -> (kgcePerUnit: Double, source: String)? {
        func latest(_ factors: [CoalFactor]?) -> CoalFactor? {
            factors?.filter { $0.energy == energy && $0.effectiveFromMs <= dayStartMs }.max { $0.effectiveFromMs < $1.effectiveFromMs }
        }
        if let own = latest(enterprises[enterprise]) { return (own.kgcePerUnit, own.source) }
        if let local = latest(deployment) { return (local.kgcePerUnit, local.source) }
        return StandardCoalFactors.reference(energy).map { ($0, StandardCoalFactors.source) }
    }
}
