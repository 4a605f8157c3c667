import EnergyModel
import Foundation
import GRDB

/// A message to people waiting in, or gone through, the outbox.
public struct OutboxMessage: Sendable, Hashable {
    /// What the message carries.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One alert raised or cleared; the payload is its alert-log record.
        case alert
        /// Alerts gathered over a digest interval; the payload is a JSON array of their records.
        case digest
        /// The monthly report; the payload describes it, the attachment is the workbook.
        case report
    }

    /// Where the message is in its life.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// To be sent at `nextAttemptAtMs`.
        case pending
        /// Waiting for its digest, due at `nextAttemptAtMs`.
        case held
        /// Acknowledged by the channel.
        case delivered
        /// Given up: not acknowledged within the give-up age, or refused for good; `energyctl outbox retry` revives it.
        case dead
        /// Sent as part of digest `digestID`.
        case merged
    }

    public var id: Int64
    public var channel: String
    public var kind: Kind
    public var alertID: Int64?
    public var payload: String
    public var attachment: Data?
    public var createdAtMs: Int64
    public var state: State
    public var digestID: Int64?
    public var attempts: Int
    /// Start of the current delivery window: queueing, or the last retry by hand; the give-up age counts from it.
    public var retrySinceMs: Int64
    public var nextAttemptAtMs: Int64
    public var lastError: String?
    public var deliveredAtMs: Int64?

    init(row: Row) {
        id = row["id"]
        channel = row["channel"]
        kind = Kind(rawValue: row["kind"]) ?? .alert
        alertID = row["alert_id"]
        payload = row["payload"]
        attachment = row["attachment"]
        createdAtMs = row["created_at"]
        state = State(rawValue: row["state"]) ?? .pending
        digestID = row["digest_id"]
        attempts = row["attempts"]
        retrySinceMs = row["retry_since"]
        nextAttemptAtMs = row["next_attempt_at"]
        lastError = row["last_error"]
        deliveredAtMs = row["delivered_at"]
    }
}

/// How alerts recorded in a transaction are queued for people.
public struct OutboxRouting: Sendable {
    /// The channels an alert goes to.
    public var targets: @Sendable (AlertRecord) -> [DeliveryTarget]
    /// Wall-clock time of queueing (retries and digests run on real time, whatever clock the data follow).
    public var nowMs: Int64
    /// Length of a digest.
    public var digestIntervalMs: Int64

    public init(nowMs: Int64, digestIntervalMs: Int64, targets: @escaping @Sendable (AlertRecord) -> [DeliveryTarget]) {
        self.targets = targets
        self.nowMs = nowMs
        self.digestIntervalMs = digestIntervalMs
    }
}

/// A channel's queue at a glance, for `/metrics` and `energyctl outbox`.
public struct OutboxBacklog: Sendable, Hashable {
    public var channel: String
    public var state: OutboxMessage.State
    public var count: Int
    /// Queueing time of the oldest message in this state.
    public var oldestCreatedAtMs: Int64
}

/// Messages to people (alerts, digests, monthly reports) waiting for or done with delivery, per channel.
public struct Outbox: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// The outbox of alert and report messages.
    public var outbox: Outbox { Outbox(database: database) }
}

extension Outbox {
    /// Queues `record` (alert `alertID`, just raised or cleared) for each of its channels, in the caller's transaction.
    static func enqueue(_ record: AlertRecord, alertID: Int64, routing: OutboxRouting, _ db: Database) throws {
        let targets = routing.targets(record)
        guard !targets.isEmpty else { return }
        let json = String(decoding: try alertEncoder.encode(record), as: UTF8.self)
        let interval = max(1, routing.digestIntervalMs)
        for target in targets {
            // A digest is due at the end of its interval, on interval boundaries (whole hours by default).
            let due = target.digest ? (routing.nowMs / interval + 1) * interval : routing.nowMs
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO outbox
                        (channel, kind, alert_id, payload, created_at, state, retry_since, next_attempt_at, dedupe_key)
                    VALUES (?, 'alert', ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    target.channel, alertID, json, routing.nowMs, target.digest ? "held" : "pending", routing.nowMs, due,
                    "alert/\(alertID)/\(record.state.rawValue)",
                ])
        }
    }

    static var alertEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The random name of this store, part of every message's idempotency key.
    public func instanceName() async throws -> String {
        try await database.read { db in try String.fetchOne(db, sql: "SELECT value FROM store_identity WHERE name = 'instance'") ?? "" }
    }

    @discardableResult
    /// Gathers `channel`'s held messages that are due into one digest message; returns its id, or nil when none is due.
    public func gatherDigest(channel: String, nowMs: Int64) async throws -> Int64? {
        // Asked every second per channel: a read says whether there is anything to write.
        let due = try await database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE channel = ? AND state = 'held' AND next_attempt_at <= ?)",
                arguments: [channel, nowMs]) ?? false
        }
        guard due else { return nil }
        return try await database.write { db in
            let held = try Row.fetchAll(
                db, sql: "SELECT id, payload FROM outbox WHERE channel = ? AND state = 'held' AND next_attempt_at <= ? ORDER BY id",
                arguments: [channel, nowMs])
            guard let first = held.first else { return nil }
            let payload = "[" + held.map { $0[1] as String }.joined(separator: ",") + "]"
            try db.execute(
                sql: """
                    INSERT INTO outbox (channel, kind, payload, created_at, state, retry_since, next_attempt_at, dedupe_key)
                    VALUES (?, 'digest', ?, ?, 'pending', ?, ?, ?)
                    """,
                arguments: [channel, payload, nowMs, nowMs, nowMs, "digest/\(first[0] as Int64)"])
            let digest = db.lastInsertedRowID
            let last: Int64 = held.last![0]
            try db.execute(
                sql: """
                    UPDATE outbox SET state = 'merged', digest_id = ?
                    WHERE channel = ? AND state = 'held' AND next_attempt_at <= ? AND id <= ?
                    """,
                arguments: [digest, channel, nowMs, last])
            return digest
        }
    }

    /// The oldest of `channel`'s pending messages due at `nowMs`.
    public func nextDue(channel: String, nowMs: Int64) async throws -> OutboxMessage? {
        try await database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM outbox WHERE channel = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 1",
                arguments: [channel, nowMs]
            ).map(OutboxMessage.init(row:))
        }
    }

    /// Records that the channel acknowledged message `id`.
    public func markDelivered(_ id: Int64, atMs: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE outbox SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                arguments: [atMs, id])
        }
    }

    /// Records a failed attempt: retried at `retryAtMs`, or given up (dead) when that is nil.
    public func markFailed(_ id: Int64, error: String, retryAtMs: Int64?) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET attempts = attempts + 1, last_error = ?, state = ?, next_attempt_at = coalesce(?, next_attempt_at)
                    WHERE id = ? AND state = 'pending'
                    """,
                arguments: [String(error.prefix(1000)), retryAtMs == nil ? "dead" : "pending", retryAtMs, id])
        }
    }

    /// Messages, newest first, optionally of some states and one channel.
    public func messages(states: Set<OutboxMessage.State> = [], channel: String? = nil, limit: Int = 100) async throws
        -> [OutboxMessage]
    {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if !states.isEmpty {
                conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
                for state in states.map(\.rawValue).sorted() { _ = arguments.append(contentsOf: [state]) }
            }
            if let channel {
                conditions.append("channel = ?")
                _ = arguments.append(contentsOf: [channel])
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [limit])
            return try Row.fetchAll(db, sql: "SELECT * FROM outbox \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map(OutboxMessage.init(row:))
        }
    }

    /// Sends dead messages again: those of `ids`, or every dead one when `ids` is empty. Their give-up age starts
    /// anew. Returns how many were revived.
    @discardableResult
    public func retryDead(ids: [Int64], nowMs: Int64) async throws -> Int {
        try await database.write { db in
            let filter = ids.isEmpty ? "" : "AND id IN (\(ids.map(String.init).joined(separator: ", ")))"
            try db.execute(
                sql: "UPDATE outbox SET state = 'pending', retry_since = ?, next_attempt_at = ? WHERE state = 'dead' \(filter)",
                arguments: [nowMs, nowMs])
            return db.changesCount
        }
    }

    /// Messages per channel and state, with the oldest's queueing time.
    public func backlog() async throws -> [OutboxBacklog] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT channel, state, count(*), min(created_at) FROM outbox GROUP BY channel, state ORDER BY channel, state"
            ).map {
                OutboxBacklog(
                    channel: $0[0], state: OutboxMessage.State(rawValue: $0[1]) ?? .pending, count: $0[2], oldestCreatedAtMs: $0[3])
            }
        }
    }

    /// Queues a monthly report for `channels` and moves the named check position on, in one transaction: the
    /// report is queued exactly once per month however often energyd stops in between.
    public func enqueueReport(
        month: String, channels: [String], payload: String, attachment: Data, nowMs: Int64, progress: (name: String, value: Int64)
    ) async throws {
        try await database.write { db in
            for channel in channels {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO outbox
                            (channel, kind, payload, attachment, created_at, state, retry_since, next_attempt_at, dedupe_key)
                        VALUES (?, 'report', ?, ?, ?, 'pending', ?, ?, ?)
                        """,
                    arguments: [channel, payload, attachment, nowMs, nowMs, nowMs, "report/\(month)"])
            }
            try EnergyStore.saveCheckProgress([progress.name: progress.value], db)
        }
    }

    /// Deletes delivered and merged messages older than `beforeMs` (their alerts stay in the alerts table).
    @discardableResult
    public func prune(deliveredBeforeMs beforeMs: Int64) async throws -> Int {
        try await database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM outbox WHERE (state = 'merged' AND digest_id IN (SELECT id FROM outbox WHERE state = 'delivered' AND delivered_at < ?))
                    """, arguments: [beforeMs])
            let merged = db.changesCount
            try db.execute(sql: "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?", arguments: [beforeMs])
            return merged + db.changesCount
        }
    }
}
