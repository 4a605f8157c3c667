import EnergyModel
import GRDB

/// A stored series: one measured point of one meter.
public struct SeriesRecord: Sendable, Hashable, Codable, FetchableRecord {
    /// Row id, referenced by samples.
    public var id: Int64
    /// Enterprise id.
    public var enterprise: String
    /// Meter id.
    public var meter: String
    /// Point name within the meter's model.
    public var point: String
    /// Energy type (machine name).
    public var energy: String
    /// What the point measures (machine name).
    public var quantity: String
    /// Engineering unit.
    public var unit: String
    /// counter or gauge.
    public var kind: String
}

extension EnergyStore {
    /// Creates or updates the series of every configured meter point; returns their ids by meter and point name.
    ///
    /// A series is keyed by (meter, point): its history stays with it when the configuration changes other details.
    public func registerSeries(for configuration: EnergyConfiguration) async throws -> [String: [String: Int64]] {
        try await database.write { db in
            var ids: [String: [String: Int64]] = [:]
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO series (enterprise, meter, point, energy, quantity, unit, kind)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (meter, point) DO UPDATE SET
                        enterprise = excluded.enterprise, energy = excluded.energy, quantity = excluded.quantity,
                        unit = excluded.unit, kind = excluded.kind
                    RETURNING id
                    """)
            for (enterprise, meter) in configuration.meters {
                guard let model = configuration.models[meter.model] else { continue }
                for point in model.points {
                    let id = try Int64.fetchOne(
                        upsert,
                        arguments: [
                            enterprise.id, meter.id, point.name, meter.energy.rawValue, point.quantity.rawValue, point.unit,
                            point.kind.rawValue,
                        ])!
                    ids[meter.id, default: [:]][point.name] = id
                }
            }
            return ids
        }
    }

    /// Every stored series.
    public func allSeries() async throws -> [SeriesRecord] {
        try await database.read { db in try SeriesRecord.fetchAll(db, sql: "SELECT * FROM series ORDER BY enterprise, meter, point") }
    }
}
