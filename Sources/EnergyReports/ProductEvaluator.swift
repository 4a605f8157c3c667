import EnergyModel
import EnergyStore
import Foundation

/// Computes unit consumption = boundary energy ÷ qualified output, per product and period, from the daily rollups.
public struct ProductEvaluator: Sendable {
    let store: EnergyStore
    let configuration: EnergyConfiguration
    /// The stored series, when the caller has read them already (checks evaluate many products in a row).
    let series: [SeriesRecord]?

    /// An evaluator over `store` with `configuration`'s products, quotas and factors.
    public init(store: EnergyStore, configuration: EnergyConfiguration, series: [SeriesRecord]? = nil) {
        self.store = store
        self.configuration = configuration
        self.series = series
    }

    /// Evaluates `product` of `enterprise` over [fromMs, toMs) (day boundaries); completeness counts polls up to `horizonMs`.
    public func evaluate(_ product: ProductConfig, of enterprise: EnterpriseConfig, fromMs: Int64, toMs: Int64, horizonMs: Int64)
        async throws -> ProductEvaluation?
    {
        guard let quota = configuration.quotas[product.quota] else { return nil }
        let days = try await store.rollups(enterprise: enterprise.id, resolution: .day, fromMs: fromMs, toMs: toMs)
        let all: [SeriesRecord]
        if let series = self.series { all = series } else { all = try await store.series(enterprise: enterprise.id) }
        let series = all.filter { $0.enterprise == enterprise.id && $0.isAccounted }
        let boundary = Set(product.boundary)
        var energyByMeter: [String: Double] = [:]
        var factors: [String: (kgcePerUnit: Double, source: String)] = [:]
        // Good and expected readings per meter: completeness gates each meter, never an average across them.
        var good: [String: Int] = [:]
        var expected: [String: Double] = [:]
        let end = min(toMs, horizonMs + 1)
        for record in series where boundary.contains(record.meter) && record.quantity != .production {
            let energy = record.energy
            let sign = record.boundarySign
            for row in days where row.series.id == record.id {
                switch quota.basis {
                case .comprehensive:
                    guard let factor = configuration.factors.factor(energy, enterprise: enterprise.id, atMs: row.bucketMs) else { continue }
                    factors[energy.rawValue] = factor
                    energyByMeter[record.meter, default: 0] += sign * row.amount.units * factor.kgcePerUnit
                case .energy(let type) where type == energy:
                    energyByMeter[record.meter, default: 0] += sign * row.amount.units
                case .energy:
                    break
                }
                if record.quantity == .consumption { good[record.meter, default: 0] += row.good }
            }
            if record.quantity == .consumption {
                expected[record.meter, default: 0] += ConsumptionReport.expectedSamples(record, from: fromMs, to: end)
            }
        }
        var output = 0.0
        var outputSource = "entered"
        if let meter = product.productionMeter, let record = series.first(where: { $0.meter == meter && $0.quantity == .production }) {
            outputSource = meter
            for row in days where row.series.id == record.id {
                output += row.amount.units
                good[meter, default: 0] += row.good
            }
            expected[meter, default: 0] += ConsumptionReport.expectedSamples(record, from: fromMs, to: end)
        } else {
            output = try await store.production.byDay(enterprise: enterprise.id, product: product.product, fromMs: fromMs, toMs: toMs)
                .values.reduce(0, +)
        }
        let energy = energyByMeter.values.reduce(0, +)
        // A boundary meter that has no stored series yet has nothing: it counts as 0 %.
        var completenessByMeter = Dictionary(
            uniqueKeysWithValues: (product.boundary + (product.productionMeter.map { [$0] } ?? [])).map { ($0, 0.0) })
        for (meter, expect) in expected where completenessByMeter[meter] != nil {
            completenessByMeter[meter] = expect > 0 ? min(1, Double(good[meter] ?? 0) / expect) : 0
        }
        let completeness = completenessByMeter.values.min() ?? 0
        return ProductEvaluation(
            enterprise: enterprise, product: product, quota: quota, fromMs: fromMs, toMs: toMs,
            evaluation: QuotaEvaluation(
                energy: energy, output: output, completeness: completeness, quota: quota, correctionFactor: product.correctionFactor),
            energyByMeter: energyByMeter, factors: factors, outputSource: outputSource, completenessByMeter: completenessByMeter)
    }
}
