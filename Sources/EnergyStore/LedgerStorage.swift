import EnergyModel
import GRDB

/// The ledger of measuring instruments (计量器具台账).
public struct MeterLedgerTable: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// The ledger of measuring instruments.
    public var ledger: MeterLedgerTable { MeterLedgerTable(database: database) }
}

extension MeterLedgerTable {
    /// Writes `entries` (each replacing its meter's line) in one transaction: a file is taken whole or not at all.
    public func record(_ entries: [LedgerEntry], source: String, atMs: Int64) async throws {
        try await database.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO meter_ledger (meter, maker, model, accuracy_class, ct_ratio, pt_ratio, installed, last_calibrated,
                        next_due, certificate, status, source, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for e in entries {
                try insert.execute(arguments: [
                    e.meter, e.maker, e.model, e.accuracyClass, e.ctRatio, e.ptRatio, e.installed, e.lastCalibrated, e.nextDue,
                    e.certificate,
                    e.status.rawValue, source, atMs,
                ])
            }
        }
    }

    /// Every line, by meter.
    public func list() async throws -> [LedgerEntry] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT meter, maker, model, accuracy_class, ct_ratio, pt_ratio, installed, last_calibrated, next_due, certificate, status
                    FROM meter_ledger ORDER BY meter
                    """
            ).compactMap { row in
                LedgerEntry.Status(rawValue: row[10] as String).map {
                    LedgerEntry(
                        meter: row[0], maker: row[1], model: row[2], accuracyClass: row[3], ctRatio: row[4], ptRatio: row[5],
                        installed: row[6],
                        lastCalibrated: row[7], nextDue: row[8], certificate: row[9], status: $0)
                }
            }
        }
    }
}
