import EnergyModel
import Foundation

/// What one meter truly accumulated over a period: energy (or product) in its counter's unit.
public struct TruthRow: Sendable, Hashable, Codable {
    /// Meter id.
    public var meter: String
    /// Enterprise id.
    public var enterprise: String
    /// Energy type, or "production".
    public var energy: String
    /// Product, for production counters.
    public var product: String?
    /// Amount accumulated over the period, in `unit`.
    public var amount: Double
    /// Unit of the meter's accounting counter.
    public var unit: String
    /// Standard coal equivalent at the reference factors, kgce (0 for production).
    public var kgce: Double
    /// Period start, RFC 3339.
    public var from: String
    /// Period end (exclusive), RFC 3339.
    public var to: String
}

/// Ground truth: the exact accumulation of each meter over a period, independent of faults on the wire or counters.
public enum GroundTruth {
    /// Rows for every meter (or one), sorted by enterprise and meter.
    public static func rows(plant: SimulatedPlant, fromMs: Int64, toMs: Int64, meterID: String? = nil) -> [TruthRow] {
        let zone = TimeZone(secondsFromGMT: plant.scenario.utcOffsetSeconds) ?? TimeZone(identifier: "UTC")!
        let origin = plant.scenario.originMs
        return plant.meters.values
            .filter { meterID == nil || $0.config.id == meterID }
            .sorted { ($0.enterpriseID, $0.config.id) < ($1.enterpriseID, $1.config.id) }
            .map { meter in
                let amount = meter.accumulated(atMs: toMs, originMs: origin) - meter.accumulated(atMs: fromMs, originMs: origin)
                let unit = meter.accountingPoint.map { meter.model.points[$0].unit } ?? meter.config.energy.accountingUnit
                return TruthRow(
                    meter: meter.config.id, enterprise: meter.enterpriseID, energy: meter.config.energy.rawValue,
                    product: meter.config.product, amount: amount, unit: unit, kgce: amount * meter.kgcePerUnit,
                    from: ISO8601Time.format(ms: fromMs, timeZone: zone), to: ISO8601Time.format(ms: toMs, timeZone: zone))
            }
    }

    /// CSV with a header line.
    public static func csv(_ rows: [TruthRow]) -> String {
        var lines = ["meter,enterprise,energy,product,amount,unit,kgce,from,to"]
        for row in rows {
            lines.append(
                [
                    row.meter, row.enterprise, row.energy, row.product ?? "", String(row.amount), row.unit, String(row.kgce), row.from,
                    row.to,
                ]
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A JSON array.
    public static func json(_ rows: [TruthRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n"
    }
}
