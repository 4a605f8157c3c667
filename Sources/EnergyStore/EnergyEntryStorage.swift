import EnergyModel
import GRDB

/// A month of energy entered by hand, as stored.
public struct StoredEnergyEntry: Sendable, Hashable {
    public var enterprise: String
    /// Local midnight of the month's first day.
    public var monthStartMs: Int64
    public var energy: EnergyType
    public var unit: String
    public var purchases: Double?
    public var openingStock: Double?
    public var closingStock: Double?
    /// Consumed in the month, in `unit`.
    public var consumption: Double
    /// Who entered it ("web:account", "api:account", "energyctl:user").
    public var source: String
    public var enteredMs: Int64

    /// `entry` as stored when `source` entered it at `enteredMs`.
    public init(_ entry: EnergyEntry, source: String, enteredMs: Int64) {
        self.init(
            enterprise: entry.enterprise, monthStartMs: entry.monthStartMs, energy: entry.energy, unit: entry.unit,
            purchases: entry.purchases,
            openingStock: entry.openingStock, closingStock: entry.closingStock, consumption: entry.consumption, source: source,
            enteredMs: enteredMs)
    }

    init(
        enterprise: String, monthStartMs: Int64, energy: EnergyType, unit: String, purchases: Double?, openingStock: Double?,
        closingStock: Double?, consumption: Double, source: String, enteredMs: Int64
    ) {
        (self.enterprise, self.monthStartMs, self.energy, self.unit) = (enterprise, monthStartMs, energy, unit)
        (self.purchases, self.openingStock, self.closingStock, self.consumption) = (purchases, openingStock, closingStock, consumption)
        (self.source, self.enteredMs) = (source, enteredMs)
    }
}

/// Energy entered by hand (手工填报). Each entry also writes the daily and monthly rollups of its enterprise's
/// "entered" series, in the same transaction, so that every figure (reports, projections, alerts, upstream) counts
/// it exactly like metered energy.
public struct EnergyEntryTable: Sendable {
    let database: DatabasePool
    let realTime: any WallClock
}

extension EnergyStore {
    /// Energy entered by hand.
    public var entries: EnergyEntryTable { EnergyEntryTable(database: database, realTime: realTime) }
}

extension EnergyEntryTable {
    /// Records `entry` (replacing an earlier one for the same enterprise, month and energy) with its rollups: the
    /// month's amount spread evenly over its days, to the millionth, and the month's row.
    public func record(_ entry: EnergyEntry, source: String, enteredMs: Int64, calendar: CalendarBuckets) async throws {
        let queuedMs = realTime.nowMs()
        let monthEnd = calendar.next(.month, after: entry.monthStartMs)
        try await database.write { db in
            let series = try Int64.fetchOne(
                db,
                sql: """
                    INSERT INTO series (enterprise, meter, point, energy, quantity, unit, kind, wrap, max_rate, interval_ms, runs_continuously)
                    VALUES (?, ?, ?, ?, 'consumption', ?, 'entered', NULL, NULL, 0, 0)
                    ON CONFLICT (meter, point) DO UPDATE SET unit = excluded.unit
                    RETURNING id
                    """,
                arguments: [
                    entry.enterprise, EnergyEntry.seriesMeter(enterprise: entry.enterprise), entry.energy.rawValue, entry.energy.rawValue,
                    entry.energy.accountingUnit,
                ])!
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO energy_entries
                        (enterprise, month, energy, unit, purchases, opening_stock, closing_stock, consumption, series, source, entered_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    entry.enterprise, entry.monthStartMs, entry.energy.rawValue, entry.unit, entry.purchases, entry.openingStock,
                    entry.closingStock, entry.consumption, series, source, enteredMs,
                ])
            try db.execute(
                sql: "DELETE FROM consumption WHERE series = ? AND bucket >= ? AND bucket < ?",
                arguments: [series, entry.monthStartMs, monthEnd])
            let insert = try db.cachedStatement(
                sql: "INSERT INTO consumption (series, resolution, bucket, amount, estimated, good) VALUES (?, ?, ?, ?, 0, 0)")
            var days: [Int64] = []
            var day = entry.monthStartMs
            while day < monthEnd {
                days.append(day)
                day = calendar.next(.day, after: day)
            }
            let total = entry.accountingAmount.micro
            let (share, remainder) = total.quotientAndRemainder(dividingBy: Int64(days.count))
            for (index, day) in days.enumerated() {
                try insert.execute(arguments: [series, Resolution.day.rawValue, day, share + (Int64(index) < remainder ? 1 : 0)])
            }
            try insert.execute(arguments: [series, Resolution.month.rawValue, entry.monthStartMs, total])
            try UpstreamQueue.note(.enterprise, entry.enterprise, fromMs: entry.monthStartMs, toMs: monthEnd, nowMs: queuedMs, db)
        }
    }

    /// Entries of `enterprise` (every enterprise when nil) for months starting in [fromMs, toMs), by month and energy.
    public func list(enterprise: String?, fromMs: Int64 = .min, toMs: Int64 = .max) async throws -> [StoredEnergyEntry] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT enterprise, month, energy, unit, purchases, opening_stock, closing_stock, consumption, source, entered_at
                    FROM energy_entries WHERE (? IS NULL OR enterprise = ?) AND month >= ? AND month < ?
                    ORDER BY enterprise, month, energy
                    """,
                arguments: [enterprise, enterprise, fromMs, toMs]
            ).compactMap { row in
                guard let energy = EnergyType(rawValue: row[2] as String) else { return nil }
                return StoredEnergyEntry(
                    enterprise: row[0], monthStartMs: row[1], energy: energy, unit: row[3], purchases: row[4], openingStock: row[5],
                    closingStock: row[6], consumption: row[7], source: row[8], enteredMs: row[9])
            }
        }
    }
}

/// A month's output value as stored.
public struct StoredOutputValue: Sendable, Hashable {
    public var enterprise: String
    /// Local midnight of the month's first day.
    public var monthStartMs: Int64
    /// Gross industrial output value and value added, 万元.
    public var grossOutput: Double
    public var valueAdded: Double?
    public var source: String
    public var enteredMs: Int64

    /// `value` as stored when `source` entered it at `enteredMs`.
    public init(_ value: OutputValue, source: String, enteredMs: Int64) {
        self.init(
            enterprise: value.enterprise, monthStartMs: value.monthStartMs, grossOutput: value.grossOutput, valueAdded: value.valueAdded,
            source: source, enteredMs: enteredMs)
    }

    init(enterprise: String, monthStartMs: Int64, grossOutput: Double, valueAdded: Double?, source: String, enteredMs: Int64) {
        (self.enterprise, self.monthStartMs, self.grossOutput, self.valueAdded) = (enterprise, monthStartMs, grossOutput, valueAdded)
        (self.source, self.enteredMs) = (source, enteredMs)
    }
}

/// Output values entered by hand (产值, 增加值), the denominators of energy per 万元.
public struct OutputValueTable: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// Output values entered by hand.
    public var outputValues: OutputValueTable { OutputValueTable(database: database) }
}

extension OutputValueTable {
    /// Records `value` (replacing an earlier one for the same enterprise and month).
    public func record(_ value: OutputValue, source: String, enteredMs: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO output_values (enterprise, month, gross_output, value_added, source, entered_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [value.enterprise, value.monthStartMs, value.grossOutput, value.valueAdded, source, enteredMs])
        }
    }

    /// Output values of `enterprise` (every enterprise when nil) for months starting in [fromMs, toMs).
    public func list(enterprise: String?, fromMs: Int64 = .min, toMs: Int64 = .max) async throws -> [StoredOutputValue] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT enterprise, month, gross_output, value_added, source, entered_at FROM output_values
                    WHERE (? IS NULL OR enterprise = ?) AND month >= ? AND month < ? ORDER BY enterprise, month
                    """,
                arguments: [enterprise, enterprise, fromMs, toMs]
            ).map {
                StoredOutputValue(
                    enterprise: $0[0], monthStartMs: $0[1], grossOutput: $0[2], valueAdded: $0[3], source: $0[4], enteredMs: $0[5])
            }
        }
    }
}
