import EnergyModel
import Foundation
import GRDB

/// A production figure entered by hand.
public struct ProductionEntry: Sendable, Hashable, Codable {
    public var product: String
    /// Start of its day, UTC epoch ms.
    public var dayMs: Int64
    public var quantity: Double
    /// Who entered it: "energyctl", "web:NAME".
    public var source: String
    public var enteredMs: Int64?

    public init(product: String, dayMs: Int64, quantity: Double, source: String, enteredMs: Int64?) {
        self.product = product
        self.dayMs = dayMs
        self.quantity = quantity
        self.source = source
        self.enteredMs = enteredMs
    }
}

/// Production figures entered by hand (console, API, energyctl), one per enterprise, product and day.
public struct ProductionTable: Sendable {
    let database: DatabasePool
    let realTime: any WallClock
}

extension EnergyStore {
    /// Production entered by hand.
    public var production: ProductionTable { ProductionTable(database: database, realTime: realTime) }
}

extension ProductionTable {
    /// Records `quantity` of `product` made on the day starting at `dayMs` (replacing an earlier figure), entered
    /// by `source` at `enteredMs`.
    public func set(
        enterprise: String, product: String, dayMs: Int64, quantity: Double, source: String, enteredMs: Int64? = nil
    ) async throws {
        let queuedMs = realTime.nowMs()
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO production (enterprise, product, day, quantity, source, entered_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [enterprise, product, dayMs, quantity, source, enteredMs])
            try UpstreamQueue.note(.enterprise, enterprise, fromMs: dayMs, toMs: dayMs + 1, nowMs: queuedMs, db)
        }
    }

    /// Production entered by hand in [fromMs, toMs), by day.
    public func byDay(enterprise: String, product: String, fromMs: Int64, toMs: Int64) async throws -> [Int64: Double] {
        try await database.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(
                    db, sql: "SELECT day, quantity FROM production WHERE enterprise = ? AND product = ? AND day >= ? AND day < ?",
                    arguments: [enterprise, product, fromMs, toMs]
                ).map { ($0[0] as Int64, $0[1] as Double) })
        }
    }

    /// Production entered by hand in [fromMs, toMs) of an enterprise, with who entered it.
    public func entries(enterprise: String, fromMs: Int64, toMs: Int64) async throws -> [ProductionEntry] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT product, day, quantity, source, entered_at FROM production
                    WHERE enterprise = ? AND day >= ? AND day < ? ORDER BY day, product
                    """, arguments: [enterprise, fromMs, toMs]
            ).map {
                ProductionEntry(
                    product: $0["product"], dayMs: $0["day"], quantity: $0["quantity"], source: $0["source"], enteredMs: $0["entered_at"])
            }
        }
    }

    /// The first and last day of production entered by hand for `enterprise` in [fromMs, toMs).
    public func span(enterprise: String, fromMs: Int64, toMs: Int64) async throws -> (first: Int64, last: Int64)? {
        try await database.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT min(day), max(day) FROM production WHERE enterprise = ? AND day >= ? AND day < ?",
                arguments: [enterprise, fromMs, toMs])
            guard let low = row?[0] as Int64?, let high = row?[1] as Int64? else { return nil }
            return (low, high)
        }
    }

}
