import EnergyModel
import Foundation
import GRDB

/// A stored alert: when it was raised and, once cleared, when.
public struct StoredAlert: Sendable, Hashable {
    public var id: Int64
    public var raisedAtMs: Int64
    public var clearedAtMs: Int64?
    /// The record written when it was raised.
    public var raised: AlertRecord
    /// The record written when it was cleared.
    public var cleared: AlertRecord?
    /// The inspection team's handling, who it is assigned to, and the disposition it was closed with.
    public var handling: AlertHandling
    public var assignee: String?
    public var disposition: String?

    /// The columns `init(row:decoder:)` reads, in order.
    static let columns = "id, raised_at, cleared_at, raised_record, cleared_record, handling, assignee, disposition"

    /// The alert in a row of `columns`.
    init(row: Row, decoder: JSONDecoder) throws {
        id = row[0]
        raisedAtMs = row[1]
        clearedAtMs = row[2]
        raised = try decoder.decode(AlertRecord.self, from: Data((row[3] as String).utf8))
        cleared = try (row[4] as String?).map { try decoder.decode(AlertRecord.self, from: Data($0.utf8)) }
        handling = AlertHandling(rawValue: row[5]) ?? .new
        assignee = row[6]
        disposition = row[7]
    }
}

/// One line of an alert's handling history.
public struct AlertActionRecord: Sendable, Hashable {
    public var action: AlertAction
    public var account: String
    public var assignee: String?
    public var text: String
    public var atMs: Int64
}

/// A raise or clear not yet appended to the alert log.
public struct PendingAlertLine: Sendable, Hashable {
    public var id: Int64
    public var state: AlertState
    /// The JSON line.
    public var line: String
}

/// Alerts raised and cleared, and which of those the alert log still lacks.
public struct AlertTable: Sendable {
    let database: DatabasePool
    let realTime: any WallClock
}

extension EnergyStore {
    /// Alerts raised and cleared.
    public var alerts: AlertTable { AlertTable(database: database, realTime: realTime) }
}

extension AlertTable {
    /// Keys of the open alerts.
    public func openKeys() async throws -> Set<String> {
        try await database.read { db in Set(try String.fetchAll(db, sql: "SELECT key FROM alerts WHERE cleared_at IS NULL")) }
    }

    /// Raises and clears alerts in one transaction; an alert already open for a key is not raised again. With
    /// `routing`, each raise and clear is queued in the outbox in the same transaction: recorded means queued.
    public func record(raise: [AlertRecord], clear: [AlertRecord], atMs timeMs: Int64, routing: OutboxRouting? = nil) async throws {
        let encoder = Outbox.alertEncoder
        let queuedMs = realTime.nowMs()
        try await database.write { db in
            for record in raise {
                let json = String(decoding: try encoder.encode(record), as: UTF8.self)
                try db.execute(
                    sql: """
                        INSERT INTO alerts (key, kind, severity, enterprise, subject, raised_at, raised_record)
                        SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = ? AND cleared_at IS NULL)
                        """,
                    arguments: [
                        record.key, record.kind.rawValue, record.severity.rawValue, record.enterprise.id, record.subject, timeMs, json,
                        record.key,
                    ])
                guard db.changesCount > 0 else { continue }
                let id = db.lastInsertedRowID
                if let routing { try Outbox.enqueue(record, alertID: id, routing: routing, db) }
                try UpstreamQueue.note(.alert, String(id), fromMs: 0, toMs: 0, nowMs: queuedMs, db)
            }
            for record in clear {
                let json = String(decoding: try encoder.encode(record), as: UTF8.self)
                let cleared = try Int64.fetchAll(
                    db, sql: "UPDATE alerts SET cleared_at = ?, cleared_record = ? WHERE key = ? AND cleared_at IS NULL RETURNING id",
                    arguments: [timeMs, json, record.key])
                for id in cleared {
                    if let routing { try Outbox.enqueue(record, alertID: id, routing: routing, db) }
                    try UpstreamQueue.note(.alert, String(id), fromMs: 0, toMs: 0, nowMs: queuedMs, db)
                }
            }
        }
    }

    /// Raises and clears not yet in the alert log, oldest first.
    public func pendingLogLines() async throws -> [PendingAlertLine] {
        try await database.read { db in
            let raised = try Row.fetchAll(db, sql: "SELECT id, raised_at, raised_record FROM alerts WHERE raised_logged = 0")
                .map { (at: $0[1] as Int64, line: PendingAlertLine(id: $0[0], state: .raised, line: $0[2])) }
            let cleared = try Row.fetchAll(
                db, sql: "SELECT id, cleared_at, cleared_record FROM alerts WHERE cleared_at IS NOT NULL AND cleared_logged = 0"
            ).map { (at: $0[1] as Int64, line: PendingAlertLine(id: $0[0], state: .cleared, line: $0[2])) }
            return (raised + cleared).sorted {
                ($0.at, $0.line.id, $0.line.state == .cleared ? 1 : 0) < ($1.at, $1.line.id, $1.line.state == .cleared ? 1 : 0)
            }
            .map(\.line)
        }
    }

    /// Marks lines as appended to the log.
    public func markLogged(_ lines: [PendingAlertLine]) async throws {
        try await database.write { db in
            for line in lines {
                let column = line.state == .raised ? "raised_logged" : "cleared_logged"
                try db.execute(sql: "UPDATE alerts SET \(column) = 1 WHERE id = ?", arguments: [line.id])
            }
        }
    }

    /// Alerts raised at or after `sinceMs` (or still open), newest first.
    public func list(openOnly: Bool, sinceMs: Int64 = .min) async throws -> [StoredAlert] {
        let decoder = JSONDecoder()
        return try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(StoredAlert.columns) FROM alerts
                    WHERE (? = 0 OR cleared_at IS NULL) AND (raised_at >= ? OR cleared_at IS NULL OR cleared_at >= ?)
                    ORDER BY raised_at DESC, id DESC
                    """,
                arguments: [openOnly ? 1 : 0, sinceMs, sinceMs]
            ).map { try StoredAlert(row: $0, decoder: decoder) }
        }
    }

    /// Whether every alert of `ids` exists and is about `enterprise` (an inspection links only its own).
    public func areAll(_ ids: [Int64], about enterprise: String) async throws -> Bool {
        let linked = try await withIDs(ids)
        return linked.count == Set(ids).count && linked.allSatisfy { $0.raised.enterprise.id == enterprise }
    }

    /// Alerts by id.
    public func withIDs(_ ids: [Int64]) async throws -> [StoredAlert] {
        guard !ids.isEmpty else { return [] }
        let decoder = JSONDecoder()
        return try await database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT \(StoredAlert.columns) FROM alerts WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(ids)
            ).map { try StoredAlert(row: $0, decoder: decoder) }
        }
    }

    /// Applies `action` by `account` (of `role`) to alert `id` in one transaction: the handling it leads to, the
    /// assignee or disposition, and a line of its history; returns the alert as it then stands. Throws the rule's
    /// refusal, or `StoreError` for an alert that does not exist.
    @discardableResult
    public func act(
        _ action: AlertAction, on id: Int64, by account: String, role: Role, text: String, assignee: String? = nil, atMs: Int64
    ) async throws -> StoredAlert {
        let decoder = JSONDecoder()
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(StoredAlert.columns) FROM alerts WHERE id = ?", arguments: [id]) else {
                throw StoreError("no alert \(id)")
            }
            var alert = try StoredAlert(row: row, decoder: decoder)
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            alert.handling = try action.applied(by: role, to: alert.handling, text: trimmed, assignee: assignee)
            if action == .assign { alert.assignee = assignee }
            if action == .close { alert.disposition = trimmed }
            try db.execute(
                sql: "UPDATE alerts SET handling = ?, assignee = ?, disposition = ? WHERE id = ?",
                arguments: [alert.handling.rawValue, alert.assignee, alert.disposition, id])
            try db.execute(
                sql: "INSERT INTO alert_actions (alert, action, account, assignee, text, at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, action.rawValue, account, action == .assign ? assignee : nil, trimmed, atMs])
        }
        guard let alert = try await withIDs([id]).first else { throw StoreError("no alert \(id)") }
        return alert
    }

    /// What was done about alert `id`, oldest first.
    public func history(of id: Int64) async throws -> [AlertActionRecord] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT action, account, assignee, text, at FROM alert_actions WHERE alert = ? ORDER BY id", arguments: [id]
            ).compactMap { row in
                AlertAction(rawValue: row[0]).map {
                    AlertActionRecord(action: $0, account: row[1], assignee: row[2], text: row[3], atMs: row[4])
                }
            }
        }
    }

    /// Open alerts by kind.
    public func openCounts() async throws -> [String: Int] {
        try await database.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT kind, count(*) FROM alerts WHERE cleared_at IS NULL GROUP BY kind")
                    .map { ($0[0] as String, $0[1] as Int) })
        }
    }
}

extension EnergyStore {
    /// Named positions of the periodic checks (start of the last closed day judged, …).
    public func checkProgress() async throws -> [String: Int64] {
        try await database.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, value FROM check_progress").map { ($0[0], $0[1]) })
        }
    }

    /// Saves named positions of the periodic checks; a nil value removes the name.
    public func saveCheckProgress(_ positions: [String: Int64?]) async throws {
        try await database.write { db in try Self.saveCheckProgress(positions, db) }
    }

    /// Saves named positions in the caller's transaction.
    static func saveCheckProgress(_ positions: [String: Int64?], _ db: Database) throws {
        for (name, value) in positions {
            if let value {
                try db.execute(sql: "INSERT OR REPLACE INTO check_progress (name, value) VALUES (?, ?)", arguments: [name, value])
            } else {
                try db.execute(sql: "DELETE FROM check_progress WHERE name = ?", arguments: [name])
            }
        }
    }
}
