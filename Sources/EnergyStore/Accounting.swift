import EnergyModel
import Foundation
import GRDB

/// Where accounting of one series stopped: the counter rules' state and what the final intervals before it
/// put into the 15-minute bucket it lies in (that bucket is completed by what comes after).
struct AccountingCheckpoint: Hashable {
    var counter = CounterState()
    /// The bucket holding the anchor.
    var carryBucketMs: Int64?
    /// What final intervals put into that bucket, millionths of the accounting unit.
    var carryAmount: Micro = 0
    var carryEstimated: Micro = 0
}

/// What one accounting pass did.
public struct AccountingPass: Sendable, Hashable {
    /// Series whose rollups changed.
    public var seriesUpdated = 0
    /// Readings replayed.
    public var readings = 0
    /// 15-minute buckets written.
    public var quarters = 0
    /// The earliest time whose rollups may have changed (nil: none changed); figures of periods ending before it
    /// stand as they were.
    public var earliestChangeMs: Int64?
}

extension EnergyStore {
    /// Accounts the samples stored since the last pass: counter rules, 15-minute buckets and their hourly, daily
    /// and monthly sums, counter events. Only counters with new samples are touched; a counter that received a
    /// sample older than where its accounting stands (a late or repeated sample) is replayed from its first stored
    /// sample. A crash leaves each counter either before or after its pass: its rollups, events and checkpoint
    /// change in one transaction.
    @discardableResult
    public func account(calendar: CalendarBuckets) async throws -> AccountingPass {
        var pass = AccountingPass()
        // A hundred counters per transaction: few commits, and still short write locks for the sample writer. Read
        // a hundred at a time too, so a pass over 20 000 series holds no more than one chunk in memory.
        var afterID = Int64.min
        while true {
            let chunk = try await database.read { [afterID] db in
                try SeriesRecord.stored(
                    db, "WHERE id IN (SELECT series FROM accounting_dirty) AND id > ? ORDER BY id LIMIT 100", arguments: [afterID])
            }
            guard let last = chunk.last else { break }
            afterID = last.id
            let queuedMs = realTime.nowMs()
            let results = try await database.write { db -> [(readings: Int, quarters: Int, fromMs: Int64)] in
                // Samples of any quality change their days' completeness (and so the verdicts), whether or not the
                // rollups change: a meter that stops answering must not leave its last figures standing upstream.
                var arrived: [String: Int64] = [:]
                let results = try chunk.map { record -> (readings: Int, quarters: Int, fromMs: Int64) in
                    guard
                        let oldest = try Int64.fetchOne(
                            db.cachedStatement(sql: "SELECT min_ts FROM accounting_dirty WHERE series = ?"), arguments: [record.id])
                    else { return (0, 0, .max) }
                    arrived[record.enterprise] = min(arrived[record.enterprise] ?? .max, oldest)
                    try db.cachedStatement(sql: "DELETE FROM accounting_dirty WHERE series = ?").execute(arguments: [record.id])
                    let checkpoint = try Self.checkpoint(record.id, db: db)
                    let result: (readings: Int, quarters: Int, fromMs: Int64)
                    if let anchor = checkpoint.counter.anchor, oldest <= anchor.timestampMs {
                        let (readings, quarters) = try Self.rebuild(
                            record, fromMs: .min, toMs: .max, calendar: calendar, queuedMs: queuedMs, db: db)
                        result = (readings, quarters, .min)
                    } else {
                        let (readings, quarters) = try Self.accountIncrementally(
                            record, checkpoint: checkpoint, calendar: calendar, queuedMs: queuedMs, db: db)
                        // The interval from the anchor to the first new reading is spread from the anchor on.
                        result = (readings, quarters, min(oldest, checkpoint.counter.anchor?.timestampMs ?? oldest))
                    }
                    return result
                }
                for (enterprise, fromMs) in arrived {
                    try UpstreamQueue.note(.enterprise, enterprise, fromMs: fromMs, toMs: .max, nowMs: queuedMs, db)
                }
                return results
            }
            for result in results {
                // New samples without a good reading still change completeness: figures from them on are stale too.
                if result.fromMs < .max { pass.earliestChangeMs = min(pass.earliestChangeMs ?? .max, result.fromMs) }
                guard result.readings > 0 else { continue }
                pass.seriesUpdated += 1
                pass.readings += result.readings
                pass.quarters += result.quarters
            }
        }
        return pass
    }

    /// Recomputes rollups and events in [fromMs, toMs) from the raw samples of every accounted series, replaying
    /// each counter from its first stored sample; gives exactly what incremental accounting gives.
    @discardableResult
    public func rebuild(fromMs: Int64, toMs: Int64, calendar: CalendarBuckets) async throws -> AccountingPass {
        let series = try await database.read { db in
            try SeriesRecord.stored(db, "ORDER BY id")
        }
        .filter(\.isAccounted)
        var pass = AccountingPass()
        for record in series {
            let queuedMs = realTime.nowMs()
            let (readings, quarters) = try await database.write { db in
                try Self.rebuild(record, fromMs: fromMs, toMs: toMs, calendar: calendar, queuedMs: queuedMs, db: db)
            }
            pass.seriesUpdated += readings > 0 ? 1 : 0
            pass.readings += readings
            pass.quarters += quarters
        }
        return pass
    }

    // MARK: Passes

    private static func settings(_ record: SeriesRecord) -> CounterSettings {
        CounterSettings(wrap: record.wrap, maxRatePerHour: record.maxRate, nominalIntervalMs: record.intervalMs)
    }

    private static func unitFactor(_ record: SeriesRecord) -> Double {
        UnitConversion.factor(from: record.unit, to: record.energy) ?? 1
    }

    private static func checkpoint(_ series: Int64, db: Database) throws -> AccountingCheckpoint {
        let statement = try db.cachedStatement(
            sql:
                "SELECT anchor_ts, anchor_value, rate_per_hour, carry_bucket, carry_amount, carry_estimated FROM accounting_state WHERE series = ?"
        )
        guard let row = try Row.fetchOne(statement, arguments: [series]) else { return AccountingCheckpoint() }
        let anchor = (row[0] as Int64?).flatMap { ts in (row[1] as Double?).map { CounterReading(ts, $0) } }
        return AccountingCheckpoint(
            counter: CounterState(anchor: anchor, ratePerHour: row[2]), carryBucketMs: row[3], carryAmount: row[4], carryEstimated: row[5])
    }

    private static func accountIncrementally(
        _ record: SeriesRecord, checkpoint: AccountingCheckpoint, calendar: CalendarBuckets, queuedMs: Int64, db: Database
    ) throws -> (Int, Int) {
        let afterMs = checkpoint.counter.anchor?.timestampMs ?? .min
        let readings = try goodReadings(record.id, afterMs: afterMs, db: db)
        guard !readings.isEmpty else { return (0, 0) }
        let replay = CounterRules.replay(
            from: checkpoint.counter, readings: readings, settings: settings(record),
            running: try runningEvidence(of: record, afterMs: afterMs, db: db))
        var buckets = QuarterAllocation.allocate(replay.intervals, unitFactor: unitFactor(record))
        let firstBucket = checkpoint.carryBucketMs ?? QuarterAllocation.quarter(containing: readings[0].timestampMs)
        buckets[firstBucket, default: BucketAmount()] =
            buckets[firstBucket, default: BucketAmount()]
            + BucketAmount(amount: checkpoint.carryAmount, estimated: checkpoint.carryEstimated)
        let quarters = try writeQuarters(record, buckets, fromMs: firstBucket, toMs: .max, queuedMs: queuedMs, db: db)
        try replaceEvents(record.id, replay.events, afterMs: afterMs, untilMs: .max, db: db)
        try writeAggregates(record.id, fromMs: firstBucket, toMs: readings.last!.timestampMs + 1, calendar: calendar, db: db)
        try saveCheckpoint(record.id, next(checkpoint, replay: replay, unitFactor: unitFactor(record)), db: db)
        return (readings.count, quarters)
    }

    private static func rebuild(
        _ record: SeriesRecord, fromMs: Int64, toMs: Int64, calendar: CalendarBuckets, queuedMs: Int64, db: Database
    ) throws -> (Int, Int) {
        let readings = try goodReadings(record.id, afterMs: .min, db: db)
        guard let first = readings.first else { return (0, 0) }
        let replay = CounterRules.replay(
            from: CounterState(), readings: readings, settings: settings(record),
            running: try runningEvidence(of: record, afterMs: .min, db: db))
        let buckets = QuarterAllocation.allocate(replay.intervals, unitFactor: unitFactor(record))
        // Where raw samples were pruned, the bucket of the first one left also held consumption from before it:
        // leave that bucket as incremental accounting wrote it. Otherwise the history starts here.
        let firstBucket = QuarterAllocation.quarter(containing: first.timestampMs)
        let pruned =
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM consumption WHERE series = ? AND resolution = '15min' AND bucket < ?)",
                arguments: [record.id, firstBucket]) ?? false
        let start = max(fromMs, pruned ? firstBucket + QuarterAllocation.quarterMs : firstBucket)
        let quarters = try writeQuarters(record, buckets, fromMs: start, toMs: toMs, queuedMs: queuedMs, db: db)
        try replaceEvents(record.id, replay.events, afterMs: start == .min ? .min : start - 1, untilMs: toMs, db: db)
        try writeAggregates(record.id, fromMs: start, toMs: toMs, calendar: calendar, db: db)
        try saveCheckpoint(record.id, next(AccountingCheckpoint(), replay: replay, unitFactor: unitFactor(record)), db: db)
        return (readings.count, quarters)
    }

    /// The checkpoint after a replay: its final anchor, and what final intervals put into the anchor's bucket.
    private static func next(_ previous: AccountingCheckpoint, replay: CounterReplay, unitFactor: Double) -> AccountingCheckpoint {
        guard let anchor = replay.state.anchor else { return previous }
        let bucket = QuarterAllocation.quarter(containing: anchor.timestampMs)
        let finalIntervals = replay.intervals.filter { $0.endMs <= anchor.timestampMs }
        var carry = QuarterAllocation.allocate(finalIntervals, unitFactor: unitFactor)[bucket] ?? BucketAmount()
        if previous.carryBucketMs == bucket {
            carry = carry + BucketAmount(amount: previous.carryAmount, estimated: previous.carryEstimated)
        }
        return AccountingCheckpoint(
            counter: replay.state, carryBucketMs: bucket, carryAmount: carry.amount, carryEstimated: carry.estimated)
    }

    // MARK: Reads and writes

    private static func goodReadings(_ series: Int64, afterMs: Int64, db: Database) throws -> [CounterReading] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT ts, value FROM samples WHERE series = ? AND ts > ? AND quality = 0 AND value IS NOT NULL ORDER BY ts"),
            arguments: [series, afterMs]
        ).map { CounterReading($0[0], $0[1]) }
    }

    /// When the meter of a counter was seen running: its good power or flow readings above zero after `afterMs`.
    private static func runningEvidence(of record: SeriesRecord, afterMs: Int64, db: Database) throws -> RunningEvidence {
        if record.runsContinuously { return RunningEvidence(always: true) }
        let times = try Int64.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT ts FROM samples WHERE series IN (SELECT id FROM series WHERE meter = ? AND quantity IN ('power', 'flow'))
                    AND ts > ? AND quality = 0 AND value > 0 ORDER BY ts
                    """),
            arguments: [record.meter, afterMs])
        return RunningEvidence(timesMs: times)
    }

    /// Replaces the 15-minute rows in [fromMs, toMs) with `buckets` and the good-sample counts of the raw samples,
    /// and queues for upstream what changed: from the first bucket that differs (a replay that rewrites a series'
    /// history with the same figures ships nothing).
    private static func writeQuarters(
        _ record: SeriesRecord, _ buckets: [Int64: BucketAmount], fromMs: Int64, toMs: Int64, queuedMs: Int64, db: Database
    ) throws -> Int {
        let series = record.id
        var before: [Int64: [Int64]] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT bucket, amount, estimated, good FROM consumption WHERE series = ? AND resolution = '15min' AND bucket >= ? AND bucket < ?"
            ),
            arguments: [series, fromMs, toMs])
        {
            before[row[0]] = [row[1], row[2], row[3]]
        }
        var good: [Int64: Int] = [:]
        let counts = try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT (ts / 900000) * 900000 AS q, count(*) FROM samples WHERE series = ? AND ts >= ? AND ts < ? AND quality = 0 GROUP BY q"
            ),
            arguments: [series, fromMs, toMs])
        for row in counts { good[row[0]] = row[1] }
        try db.cachedStatement(sql: "DELETE FROM consumption WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket < ?")
            .execute(arguments: [series, Resolution.quarter.rawValue, fromMs, toMs])
        let insert = try db.cachedStatement(
            sql: "INSERT INTO consumption (series, resolution, bucket, amount, estimated, good) VALUES (?, ?, ?, ?, ?, ?)")
        let keys = Set(buckets.keys).union(good.keys).filter { $0 >= fromMs && $0 < toMs }
        var firstChange = before.keys.filter { !keys.contains($0) }.min()
        for bucket in keys.sorted() {
            let amount = buckets[bucket] ?? BucketAmount()
            let row = [amount.amount, amount.estimated, Int64(good[bucket] ?? 0)]
            try insert.execute(arguments: [series, Resolution.quarter.rawValue, bucket, row[0], row[1], row[2]])
            if before[bucket] != row { firstChange = min(firstChange ?? bucket, bucket) }
        }
        if let firstChange { try UpstreamQueue.note(series: record, fromMs: firstChange, toMs: .max, nowMs: queuedMs, db) }
        return keys.count
    }

    /// Re-adds the hourly, daily and monthly rows overlapping [fromMs, toMs): hours from 15-minute rows, days from
    /// hours, months from days, so that no pass re-reads a month of 15-minute rows (integer sums: the same result).
    private static func writeAggregates(_ series: Int64, fromMs: Int64, toMs: Int64, calendar: CalendarBuckets, db: Database) throws {
        let last =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT max(bucket) FROM consumption WHERE series = ? AND resolution = '15min'"),
                arguments: [series]
            ).map { min(toMs, $0 + 1) } ?? toMs
        // A day is made of whole hours only where the zone's offset is whole hours (not in India or Nepal).
        let wholeHours = calendar.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(fromMs) / 1000)) % 3600 == 0
        let sources: [(Resolution, Resolution)] = [(.hour, .quarter), (.day, wholeHours ? .hour : .quarter), (.month, .day)]
        let upsert = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO consumption (series, resolution, bucket, amount, estimated, good) VALUES (?, ?, ?, ?, ?, ?)")
        let delete = try db.cachedStatement(sql: "DELETE FROM consumption WHERE series = ? AND resolution = ? AND bucket = ?")
        let sum = try db.cachedStatement(
            sql: """
                SELECT sum(amount), sum(estimated), sum(good), count(*) FROM consumption
                WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket < ?
                """)
        for (resolution, source) in sources {
            var bucket = calendar.start(of: resolution, containing: fromMs)
            while bucket < last {
                let end = calendar.next(resolution, after: bucket)
                let row = try Row.fetchOne(sum, arguments: [series, source.rawValue, bucket, end])!
                if (row[3] as Int) > 0 {
                    try upsert.execute(arguments: [series, resolution.rawValue, bucket, row[0] as Int64, row[1] as Int64, row[2] as Int64])
                } else {
                    try delete.execute(arguments: [series, resolution.rawValue, bucket])
                }
                bucket = end
            }
        }
    }

    private static func replaceEvents(_ series: Int64, _ events: [CounterEvent], afterMs: Int64, untilMs: Int64, db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM counter_events WHERE series = ? AND ts > ? AND ts < ?")
            .execute(arguments: [series, afterMs, untilMs])
        let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO counter_events (series, ts, kind, detail) VALUES (?, ?, ?, ?)")
        for event in events where event.timestampMs > afterMs && event.timestampMs < untilMs {
            try insert.execute(arguments: [series, event.timestampMs, event.kind.rawValue, event.detail])
        }
    }

    private static func saveCheckpoint(_ series: Int64, _ checkpoint: AccountingCheckpoint, db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO accounting_state
                    (series, anchor_ts, anchor_value, rate_per_hour, carry_bucket, carry_amount, carry_estimated)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [
            series, checkpoint.counter.anchor?.timestampMs, checkpoint.counter.anchor?.value, checkpoint.counter.ratePerHour,
            checkpoint.carryBucketMs, checkpoint.carryAmount, checkpoint.carryEstimated,
        ])
    }
}
