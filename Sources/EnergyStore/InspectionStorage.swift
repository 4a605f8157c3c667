import EnergyModel
import Foundation
import GRDB

/// Energy-conservation inspections (节能监察) and where each stands.
public struct InspectionTable: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// Inspections of the enterprises.
    public var inspections: InspectionTable { InspectionTable(database: database) }
}

extension InspectionTable {
    /// Records `inspection` as recorded by `account` at `atMs`; returns it with its number.
    public func record(_ inspection: Inspection, by account: String, atMs: Int64) async throws -> InspectionRecord {
        let id = try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO inspections (enterprise, date, inspectors, kind, legal_basis, findings, rectification, deadline, alerts, status,
                        recorded_by, recorded_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    inspection.enterprise, inspection.date, Self.json(inspection.inspectors), inspection.kind.rawValue,
                    inspection.legalBasis, inspection.findings, inspection.rectification, inspection.deadline,
                    Self.json(inspection.alerts), Inspection.Status.open.rawValue, account, atMs, atMs,
                ])
            return db.lastInsertedRowID
        }
        return InspectionRecord(
            id: id, inspection: inspection, status: .open, answer: nil, closingNote: nil, recordedBy: account, recordedMs: atMs)
    }

    /// Inspections of `enterprises` (every one when nil), newest first.
    public func list(enterprises: Set<String>? = nil) async throws -> [InspectionRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM inspections ORDER BY date DESC, id DESC").compactMap(Self.record)
                .filter { enterprises?.contains($0.inspection.enterprise) ?? true }
        }
    }

    /// One inspection, or nil.
    public func named(_ id: Int64) async throws -> InspectionRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM inspections WHERE id = ?", arguments: [id]).flatMap(Self.record)
        }
    }

    /// Writes the enterprise's answer or the closing note and the status after it.
    public func apply(_ step: InspectionStep, to id: Int64, status: Inspection.Status, text: String, atMs: Int64) async throws {
        let column = step == .answer ? "answer" : "closing_note"
        try await database.write { db in
            try db.execute(
                sql: "UPDATE inspections SET status = ?, \(column) = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, text, atMs, id])
        }
    }

    private static let columns = """
        id, enterprise, date, inspectors, kind, legal_basis, findings, rectification, deadline, alerts, status, answer, closing_note,
        recorded_by, recorded_at
        """

    private static func record(_ row: Row) -> InspectionRecord? {
        guard let kind = Inspection.Kind(rawValue: row["kind"]), let status = Inspection.Status(rawValue: row["status"]) else {
            return nil
        }
        let inspection = Inspection(
            enterprise: row["enterprise"], date: row["date"], inspectors: decoded(row["inspectors"] as String) ?? [], kind: kind,
            legalBasis: row["legal_basis"], findings: row["findings"], rectification: row["rectification"], deadline: row["deadline"],
            alerts: decoded(row["alerts"] as String) ?? [])
        return InspectionRecord(
            id: row["id"], inspection: inspection, status: status, answer: row["answer"], closingNote: row["closing_note"],
            recordedBy: row["recorded_by"], recordedMs: row["recorded_at"])
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
    }

    private static func decoded<T: Decodable>(_ text: String) -> T? { try? JSONDecoder().decode(T.self, from: Data(text.utf8)) }
}
