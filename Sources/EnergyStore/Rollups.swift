import EnergyModel
import GRDB

/// One rollup row of one series.
public struct RollupRow: Sendable, Hashable {
    /// The series.
    public var series: SeriesRecord
    /// Bucket start, UTC epoch ms.
    public var bucketMs: Int64
    /// Amount in millionths of the accounting unit.
    public var amount: Micro
    /// The estimated part of it.
    public var estimated: Micro
    /// Good samples in the bucket.
    public var good: Int
}

/// A counter event with its series.
public struct StoredCounterEvent: Sendable, Hashable {
    /// The series.
    public var series: SeriesRecord
    /// The event.
    public var event: CounterEvent
}

extension EnergyStore {
    /// Rollup rows of `resolution` in [fromMs, toMs) of the accounted series of one enterprise (all when nil).
    public func rollups(enterprise: String?, resolution: Resolution, fromMs: Int64, toMs: Int64) async throws -> [RollupRow] {
        try await reduceRollups(into: [RollupRow](), enterprise: enterprise, resolution: resolution, fromMs: fromMs, toMs: toMs) {
            $0.append($1)
        }
    }

    /// Folds the rollup rows `rollups` would return into `initial`, one row at a time, without collecting them: a
    /// district's daily rows of a year are millions, each carrying its series.
    public func reduceRollups<State: Sendable>(
        into initial: State, enterprise: String?, resolution: Resolution, fromMs: Int64, toMs: Int64,
        _ update: @escaping @Sendable (inout State, RollupRow) -> Void
    ) async throws -> State {
        try await database.read { db in
            // Two forms, so that one enterprise's series are found through the series_enterprise index.
            let stored =
                try enterprise.map { try SeriesRecord.stored(db, "WHERE enterprise = ?", arguments: [$0]) } ?? SeriesRecord.stored(db, "")
            let series = stored.filter(\.hasRollups)
            let query = try db.cachedStatement(
                sql:
                    "SELECT bucket, amount, estimated, good FROM consumption WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket < ? ORDER BY bucket"
            )
            var state = initial
            for record in series {
                let rows = try Row.fetchCursor(query, arguments: [record.id, resolution.rawValue, fromMs, toMs])
                while let row = try rows.next() {
                    update(&state, RollupRow(series: record, bucketMs: row[0], amount: row[1], estimated: row[2], good: row[3]))
                }
            }
            return state
        }
    }

    /// Counter events in [fromMs, toMs), oldest first.
    public func counterEvents(fromMs: Int64, toMs: Int64) async throws -> [StoredCounterEvent] {
        try await database.read { db in
            let series = Dictionary(
                uniqueKeysWithValues: try SeriesRecord.stored(db).map { ($0.id, $0) })
            return try Row.fetchAll(
                db, sql: "SELECT series, ts, kind, detail FROM counter_events WHERE ts >= ? AND ts < ? ORDER BY ts, series",
                arguments: [fromMs, toMs]
            ).compactMap { row in
                guard let record = series[row[0]], let kind = CounterEventKind(rawValue: row[2]) else { return nil }
                return StoredCounterEvent(series: record, event: CounterEvent(timestampMs: row[1], kind: kind, detail: row[3]))
            }
        }
    }
}

/// One 15-minute (or other) rollup row of a series, without the series record.
public struct BucketRow: Sendable, Hashable {
    public var bucketMs: Int64
    public var amount: Micro
    public var estimated: Micro
    public var good: Int
}

extension EnergyStore {
    /// Rows of `resolution` of one series in [fromMs, toMs), oldest first.
    public func buckets(series: Int64, resolution: Resolution, fromMs: Int64, toMs: Int64) async throws -> [BucketRow] {
        try await database.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT bucket, amount, estimated, good FROM consumption
                        WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket < ? ORDER BY bucket
                        """),
                arguments: [series, resolution.rawValue, fromMs, toMs]
            ).map { BucketRow(bucketMs: $0[0], amount: $0[1], estimated: $0[2], good: $0[3]) }
        }
    }

    /// The first and last bucket of `resolution` in [fromMs, toMs) over the given series, or nil when none.
    public func bucketSpan(series: [Int64], resolution: Resolution, fromMs: Int64, toMs: Int64) async throws -> (first: Int64, last: Int64)?
    {
        try await database.read { db in
            var span: (Int64, Int64)?
            let first = try db.cachedStatement(
                sql: "SELECT min(bucket), max(bucket) FROM consumption WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket < ?")
            for id in series {
                let row = try Row.fetchOne(first, arguments: [id, resolution.rawValue, fromMs, toMs])
                guard let low = row?[0] as Int64?, let high = row?[1] as Int64? else { continue }
                span = (min(span?.0 ?? low, low), max(span?.1 ?? high, high))
            }
            return span
        }
    }

    /// Deletes 15-minute and hourly rollups older than `beforeMs` (daily and monthly ones are kept); returns how many.
    public func pruneRollups(beforeMs: Int64) async throws -> Int {
        try await database.write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM series")
            let delete = try db.cachedStatement(sql: "DELETE FROM consumption WHERE series = ? AND resolution = ? AND bucket < ?")
            var deleted = 0
            for id in ids {
                for resolution in [Resolution.quarter, .hour] {
                    try delete.execute(arguments: [id, resolution.rawValue, beforeMs])
                    deleted += db.changesCount
                }
            }
            return deleted
        }
    }
}
