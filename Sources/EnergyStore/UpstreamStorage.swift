import EnergyModel
import Foundation
import GRDB

/// Something whose figures changed and must reach a destination: a series' 15-minute buckets, an enterprise's
/// daily and monthly figures, or an alert. Its range grows with each change until the destination acknowledges it.
public struct UpstreamChange: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Key: the series id; range: bucket times.
        case series
        /// Key: the enterprise id; range: times whose days and months are to be shipped.
        case enterprise
        /// Key: the alert id; no range.
        case alert
    }

    public var kind: Kind
    public var key: String
    public var fromMs: Int64
    public var toMs: Int64
    /// Bumped by every change: an acknowledgement of an older version leaves the row for the next round.
    public var version: Int64
    public var queuedAtMs: Int64
}

/// How far a shipped change got: all of it, or its range up to `throughMs` (the rest waits for the next round).
public struct UpstreamProgress: Sendable, Hashable {
    public var change: UpstreamChange
    public var throughMs: Int64?

    public init(change: UpstreamChange, throughMs: Int64?) {
        self.change = change
        self.throughMs = throughMs
    }
}

/// A destination's state, for `energyctl upstream status` and `/metrics`.
public struct UpstreamStatus: Sendable, Hashable, Codable {
    public var name: String
    public var kind: String
    public var target: String
    public var registeredAtMs: Int64
    public var lastAttemptAtMs: Int64?
    public var lastSuccessAtMs: Int64?
    public var lastError: String?
    public var lastErrorAtMs: Int64?
    /// Failed rounds since the last success.
    public var failures: Int
    /// Rows acknowledged since registration.
    public var shippedRows: Int64
    /// Series, enterprises and alerts waiting.
    public var backlog: Int
    /// When the oldest waiting change was queued.
    public var oldestQueuedAtMs: Int64?
    /// Every figure before this time is shipped as it stands (nil: nothing waits).
    public var completeBeforeMs: Int64?
}

/// A destination as configured, without secrets.
public struct UpstreamRegistration: Sendable, Hashable {
    public var name: String
    public var kind: String
    public var target: String

    public init(name: String, kind: String, target: String) {
        self.name = name
        self.kind = kind
        self.target = target
    }
}

/// What changed and is still to be shipped to each upstream destination, and how shipping went.
public struct UpstreamQueue: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// The queues of changes for the upstream destinations.
    public var upstream: UpstreamQueue { UpstreamQueue(database: database) }
}

extension UpstreamQueue {
    /// Queues a change for every registered destination, in the caller's transaction: committed means queued.
    /// `noted_from_ms` collects only what changes after a row exists (a new row's range is in `from_ms`).
    static func note(_ kind: UpstreamChange.Kind, _ key: String, fromMs: Int64, toMs: Int64, nowMs: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO upstream_pending (destination, kind, key, from_ms, to_ms, noted_from_ms, queued_at)
                SELECT name, ?, ?, ?, ?, ?, ? FROM upstream_destinations WHERE true
                ON CONFLICT (destination, kind, key) DO UPDATE SET
                    from_ms = min(from_ms, excluded.from_ms), to_ms = max(to_ms, excluded.to_ms),
                    noted_from_ms = min(noted_from_ms, excluded.from_ms), version = version + 1
                """
        ).execute(arguments: [kind.rawValue, key, fromMs, toMs, Int64.max, nowMs])
    }

    /// A series' buckets changed in [fromMs, toMs): its 15-minute rows, and its enterprise's days and months.
    static func note(series record: SeriesRecord, fromMs: Int64, toMs: Int64, nowMs: Int64, _ db: Database) throws {
        guard fromMs < toMs else { return }
        try note(.series, String(record.id), fromMs: fromMs, toMs: toMs, nowMs: nowMs, db)
        try note(.enterprise, record.enterprise, fromMs: fromMs, toMs: toMs, nowMs: nowMs, db)
    }

    /// Records what each enterprise's figures are computed with (`settings`: per enterprise, each setting's text
    /// with the first time it applies to) and queues, for every destination, the figures a change alters: the
    /// enterprise's days and months and its series' 15-minute rows (their kgce) from the earliest time a setting
    /// that came or went applies to. The first record of an enterprise queues nothing (a new destination gets the
    /// whole history anyway). Returns the enterprises queued.
    @discardableResult
    public func noteFigureSettings(_ settings: [String: [String: Int64]], nowMs: Int64) async throws -> [String] {
        try await database.write { db in
            var queued: [String] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for (enterprise, items) in settings.sorted(by: { $0.key < $1.key }) {
                let stored = try String.fetchOne(
                    db, sql: "SELECT items FROM upstream_figure_settings WHERE enterprise = ?", arguments: [enterprise]
                ).flatMap { try? JSONDecoder().decode([String: Int64].self, from: Data($0.utf8)) }
                try db.execute(
                    sql: "INSERT OR REPLACE INTO upstream_figure_settings (enterprise, items) VALUES (?, ?)",
                    arguments: [enterprise, String(decoding: try encoder.encode(items), as: UTF8.self)])
                guard let stored, stored != items else { continue }
                let changed = Set(stored.keys).symmetricDifference(items.keys)
                let fromMs = changed.compactMap { items[$0] ?? stored[$0] }.min() ?? .min
                try Self.note(.enterprise, enterprise, fromMs: fromMs, toMs: .max, nowMs: nowMs, db)
                for record in try SeriesRecord.stored(db, "WHERE enterprise = ?", arguments: [enterprise]) where record.isAccounted {
                    try Self.note(.series, String(record.id), fromMs: fromMs, toMs: .max, nowMs: nowMs, db)
                }
                queued.append(enterprise)
            }
            return queued
        }
    }

    /// Makes the registered destinations those configured: a new one (or one whose target changed) gets the whole
    /// local history queued, one no longer configured is forgotten with its queue. Returns the newly registered.
    @discardableResult
    public func register(_ destinations: [UpstreamRegistration], nowMs: Int64) async throws -> [String] {
        try await database.write { db in
            let registered = Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, kind, target FROM upstream_destinations").map {
                    ($0[0] as String, UpstreamRegistration(name: $0[0], kind: $0[1], target: $0[2]))
                })
            let wanted = Set(destinations.map(\.name))
            for name in registered.keys where !wanted.contains(name) {
                try db.execute(sql: "DELETE FROM upstream_destinations WHERE name = ?", arguments: [name])
            }
            var added: [String] = []
            for destination in destinations where registered[destination.name] != destination {
                try db.execute(sql: "DELETE FROM upstream_destinations WHERE name = ?", arguments: [destination.name])
                try db.execute(
                    sql: "INSERT INTO upstream_destinations (name, kind, target, registered_at) VALUES (?, ?, ?, ?)",
                    arguments: [destination.name, destination.kind, destination.target, nowMs])
                // Everything kept locally; the shipper narrows each range to the buckets that exist.
                try db.execute(
                    sql: """
                        INSERT INTO upstream_pending (destination, kind, key, from_ms, to_ms, noted_from_ms, queued_at)
                        SELECT ?, 'series', CAST(id AS TEXT), 0, 9223372036854775807, 9223372036854775807, ? FROM series
                            WHERE kind = 'counter' AND quantity IN ('consumption', 'export', 'production')
                        UNION ALL SELECT DISTINCT ?, 'enterprise', enterprise, 0, 9223372036854775807, 9223372036854775807, ? FROM series
                        UNION SELECT ?, 'enterprise', enterprise, 0, 9223372036854775807, 9223372036854775807, ? FROM production
                        UNION ALL SELECT ?, 'alert', CAST(id AS TEXT), 0, 0, 9223372036854775807, ? FROM alerts
                        """,
                    arguments: [destination.name, nowMs, destination.name, nowMs, destination.name, nowMs, destination.name, nowMs])
                added.append(destination.name)
            }
            return added
        }
    }

    /// The oldest `limit` changes waiting for `destination`.
    public func pending(destination: String, limit: Int) async throws -> [UpstreamChange] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, key, from_ms, to_ms, version, queued_at FROM upstream_pending
                    WHERE destination = ? ORDER BY queued_at, kind, key LIMIT ?
                    """,
                arguments: [destination, limit]
            ).compactMap { row in
                UpstreamChange.Kind(rawValue: row[0]).map {
                    UpstreamChange(kind: $0, key: row[1], fromMs: row[2], toMs: row[3], version: row[4], queuedAtMs: row[5])
                }
            }
        }
    }

    /// Records that `destination` acknowledged `progress` (`rows` rows). A change shipped whole is dropped; one
    /// shipped in part keeps the rest of its range. One that changed meanwhile keeps its range from the earliest
    /// time changed since the last acknowledgement (`noted_from_ms`), so that a series changing at every accounting
    /// pass still moves on instead of being shipped from its first change again and again.
    /// `contacted` says whether the destination took part: a round whose changes held no rows to ship moves the queue
    /// on, but says nothing of the destination, so it is no success.
    public func acknowledge(
        destination: String, _ progress: [UpstreamProgress], rows: Int, contacted: Bool = true, nowMs: Int64
    ) async throws {
        try await database.write { db in
            let drop = try db.cachedStatement(
                sql: "DELETE FROM upstream_pending WHERE destination = ? AND kind = ? AND key = ? AND version = ?")
            let advance = try db.cachedStatement(
                sql: """
                    UPDATE upstream_pending SET
                        from_ms = CASE WHEN version = ? THEN ? ELSE min(?, noted_from_ms) END, noted_from_ms = 9223372036854775807
                    WHERE destination = ? AND kind = ? AND key = ?
                    """)
            for item in progress {
                let change = item.change
                let through = item.throughMs.map { min($0, change.toMs) } ?? change.toMs
                if through >= change.toMs {
                    try drop.execute(arguments: [destination, change.kind.rawValue, change.key, change.version])
                }
                // Left when it changed meanwhile (or when only part was shipped).
                try advance.execute(arguments: [change.version, through, through, destination, change.kind.rawValue, change.key])
            }
            guard contacted else { return }
            try db.execute(
                sql: """
                    UPDATE upstream_destinations SET last_attempt_at = ?, last_success_at = ?, failures = 0,
                        shipped_rows = shipped_rows + ? WHERE name = ?
                    """,
                arguments: [nowMs, nowMs, rows, destination])
        }
    }

    /// Records a failed round of `destination`.
    public func recordFailure(destination: String, error: String, nowMs: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE upstream_destinations SET last_attempt_at = ?, last_error = ?, last_error_at = ?, failures = failures + 1
                    WHERE name = ?
                    """,
                arguments: [nowMs, String(error.prefix(500)), nowMs, destination])
        }
    }

    /// Every registered destination with its backlog.
    public func status() async throws -> [UpstreamStatus] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.name, d.kind, d.target, d.registered_at, d.last_attempt_at, d.last_success_at, d.last_error,
                        d.last_error_at, d.failures, d.shipped_rows,
                        (SELECT count(*) FROM upstream_pending p WHERE p.destination = d.name),
                        (SELECT min(queued_at) FROM upstream_pending p WHERE p.destination = d.name),
                        (SELECT min(from_ms) FROM upstream_pending p WHERE p.destination = d.name AND p.kind != 'alert')
                    FROM upstream_destinations d ORDER BY d.name
                    """
            ).map { row in
                UpstreamStatus(
                    name: row[0], kind: row[1], target: row[2], registeredAtMs: row[3], lastAttemptAtMs: row[4], lastSuccessAtMs: row[5],
                    lastError: row[6], lastErrorAtMs: row[7], failures: row[8], shippedRows: row[9], backlog: row[10],
                    oldestQueuedAtMs: row[11], completeBeforeMs: row[12])
            }
        }
    }
}
