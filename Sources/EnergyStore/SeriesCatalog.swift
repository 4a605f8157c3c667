import EnergyModel
import GRDB
import Synchronization

/// What a series holds: a meter point's readings (as its register map says), or energy entered by hand, which has
/// rollups but no readings.
public enum SeriesKind: String, Sendable, Hashable {
    case counter, gauge, entered

    /// The kind of a meter point's series.
    public init(_ point: PointKind) {
        switch point {
        case .counter: self = .counter
        case .gauge: self = .gauge
        }
    }
}

/// A stored series: one measured point of one meter, or one energy type an enterprise enters by hand.
public struct SeriesRecord: Sendable, Hashable {
    /// Row id, referenced by samples.
    public var id: Int64
    /// Enterprise id.
    public var enterprise: String
    /// Meter id.
    public var meter: String
    /// Point name within the meter's model.
    public var point: String
    /// Energy type.
    public var energy: EnergyType
    /// What the point measures.
    public var quantity: PointQuantity
    /// Engineering unit.
    public var unit: String
    public var kind: SeriesKind
    /// Counter wrap, in `unit`.
    public var wrap: Double?
    /// The meter's maximum rate per hour, in `unit`.
    public var maxRate: Double?
    /// The meter's poll interval.
    public var intervalMs: Int64
    /// Whether the meter's plant never stops (configured), so a standing counter is frozen without other evidence.
    public var runsContinuously: Bool

    /// Columns read by position, in `SeriesRecord.columns` order: name lookups and Codable cost more than the query.
    /// nil for a row naming an energy, quantity or kind this version does not know.
    public init?(row: Row) {
        guard let energy = EnergyType(rawValue: row[4]), let quantity = PointQuantity(rawValue: row[5]),
            let kind = SeriesKind(rawValue: row[7])
        else { return nil }
        self.energy = energy
        self.quantity = quantity
        self.kind = kind
        id = row[0]
        enterprise = row[1]
        meter = row[2]
        point = row[3]
        unit = row[6]
        wrap = row[8]
        maxRate = row[9]
        intervalMs = row[10]
        runsContinuously = row[11]
    }

    /// The columns `init(row:)` expects, in order.
    private static let columns =
        "id, enterprise, meter, point, energy, quantity, unit, kind, wrap, max_rate, interval_ms, runs_continuously"

    /// The stored series `clause` selects ("WHERE …", "ORDER BY …"; all of them when empty).
    static func stored(_ db: Database, _ clause: String = "", arguments: StatementArguments = StatementArguments()) throws
        -> [SeriesRecord]
    {
        try Row.fetchAll(db, sql: "SELECT \(columns) FROM series \(clause)", arguments: arguments).compactMap(SeriesRecord.init(row:))
    }

    /// Whether accounting reads it: a consumption, export or production counter.
    public var isAccounted: Bool { kind == .counter && [.consumption, .export, .production].contains(quantity) }

    /// Whether it has rollups figures are made of: an accounted counter, or energy entered by hand.
    public var hasRollups: Bool { isAccounted || kind == .entered }

    /// How the series counts toward comprehensive consumption: energy sent out of the boundary is subtracted.
    public var boundarySign: Double { quantity == .export ? -1 : 1 }
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
                    INSERT INTO series (enterprise, meter, point, energy, quantity, unit, kind, wrap, max_rate, interval_ms, runs_continuously)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (meter, point) DO UPDATE SET
                        enterprise = excluded.enterprise, energy = excluded.energy, quantity = excluded.quantity,
                        unit = excluded.unit, kind = excluded.kind, wrap = excluded.wrap, max_rate = excluded.max_rate,
                        interval_ms = excluded.interval_ms, runs_continuously = excluded.runs_continuously
                    RETURNING id
                    """)
            for (enterprise, meter) in configuration.meters {
                guard let model = configuration.models[meter.model] else { continue }
                for point in model.points {
                    let id = try Int64.fetchOne(
                        upsert,
                        arguments: [
                            enterprise.id, meter.id, point.name, meter.energy.rawValue, point.quantity.rawValue, point.unit,
                            point.kind.rawValue, meter.primaryWrap(of: point),
                            point.quantity == .consumption || point.quantity == .production ? meter.maxRatePerHour : nil,
                            Int64(meter.intervalSeconds) * 1000, meter.runsContinuously,
                        ])!
                    ids[meter.id, default: [:]][point.name] = id
                }
            }
            try loadAccountedSeries(db)
            return ids
        }
    }

    /// The series of one enterprise, through its index.
    public func series(enterprise: String) async throws -> [SeriesRecord] {
        try await database.read { db in try SeriesRecord.stored(db, "WHERE enterprise = ? ORDER BY meter, point", arguments: [enterprise]) }
    }

    /// The series of one meter, through the (meter, point) key.
    public func series(meter: String) async throws -> [SeriesRecord] {
        try await database.read { db in try SeriesRecord.stored(db, "WHERE meter = ? ORDER BY point", arguments: [meter]) }
    }

    /// Every stored series.
    public func allSeries() async throws -> [SeriesRecord] {
        try await database.read { db in
            try SeriesRecord.stored(db, "ORDER BY enterprise, meter, point")
        }
    }
}
