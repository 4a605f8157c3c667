import EnergyModel
import GRDB
import GRDBSQLite
import Synchronization

/// Counts of stored samples by quality.
public struct SampleCounts: Sendable, Hashable {
    /// All samples.
    public var total: Int
    /// Samples by quality.
    public var byQuality: [SampleQuality: Int]
}

extension EnergyStore {
    /// Inserts samples in one transaction; a sample already stored for the same series and time is replaced,
    /// so a repeated batch changes nothing.
    public func insert(_ samples: [Sample]) async throws {
        guard !samples.isEmpty else { return }
        try await database.write { db in try self.insert(samples, in: db) }
    }

    /// Inserts samples inside an open transaction and marks the counters among them for accounting, with the
    /// oldest time inserted (a late sample makes accounting replay that counter).
    func insert(_ samples: [Sample], in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO samples (series, ts, value, quality) VALUES (?, ?, ?, ?)")
        // Bound directly: GRDB's argument arrays cost more than the insert itself at hundreds of thousands a second.
        let handle = statement.sqliteStatement
        // In key order each series' last page is reached once, not once per poll round.
        for sample in samples.sorted(by: { ($0.seriesID, $0.timestampMs) < ($1.seriesID, $1.timestampMs) }) {
            sqlite3_bind_int64(handle, 1, sample.seriesID)
            sqlite3_bind_int64(handle, 2, sample.timestampMs)
            if let value = sample.value { sqlite3_bind_double(handle, 3, value) } else { sqlite3_bind_null(handle, 3) }
            sqlite3_bind_int64(handle, 4, Int64(sample.quality.rawValue))
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            guard code == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
        }
        let accounted = accountedSeries.withLock { $0 }
        var oldest: [Int64: Int64] = [:]
        for sample in samples where accounted.contains(sample.seriesID) {
            oldest[sample.seriesID] = min(oldest[sample.seriesID] ?? .max, sample.timestampMs)
        }
        let mark = try db.cachedStatement(
            sql:
                "INSERT INTO accounting_dirty (series, min_ts) VALUES (?, ?) ON CONFLICT (series) DO UPDATE SET min_ts = min(min_ts, excluded.min_ts)"
        )
        for (series, timestamp) in oldest { try mark.execute(arguments: [series, timestamp]) }
    }

    /// Samples of a series in [fromMs, toMs), oldest first.
    public func samples(seriesID: Int64, fromMs: Int64 = .min, toMs: Int64 = .max) async throws -> [Sample] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT ts, value, quality FROM samples WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
                arguments: [seriesID, fromMs, toMs]
            ).map { row in
                Sample(
                    seriesID: seriesID, timestampMs: row[0], value: row[1],
                    quality: SampleQuality(rawValue: row[2]) ?? .commFail)
            }
        }
    }

    /// How many samples are stored, by quality.
    public func sampleCounts() async throws -> SampleCounts {
        try await database.read { db in
            var byQuality: [SampleQuality: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT quality, count(*) FROM samples GROUP BY quality") {
                byQuality[SampleQuality(rawValue: row[0]) ?? .commFail, default: 0] += row[1] as Int
            }
            return SampleCounts(total: byQuality.values.reduce(0, +), byQuality: byQuality)
        }
    }

    /// Deletes samples older than `beforeMs`, but never a counter's samples that accounting has not passed yet;
    /// returns how many were deleted.
    @discardableResult
    public func pruneSamples(beforeMs: Int64) async throws -> Int {
        try await database.write { db in
            // Per series, so each delete walks the (series, ts) key instead of the whole table. The cut-offs are
            // read first into 16 bytes a series (GRDB rows of 100 000 series took 20 MiB).
            var cutoffs: [(series: Int64, beforeMs: Int64)] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT s.id, s.kind = 'counter' AND s.quantity IN ('consumption', 'export', 'production'), a.anchor_ts
                    FROM series s LEFT JOIN accounting_state a ON a.series = s.id
                    """)
            while let row = try rows.next() {
                let accounted: Bool = row[1]
                let anchor: Int64? = row[2]
                let cutoff = accounted ? min(beforeMs, anchor ?? .min) : beforeMs
                if cutoff > .min { cutoffs.append((row[0], cutoff)) }
            }
            let delete = try db.cachedStatement(sql: "DELETE FROM samples WHERE series = ? AND ts < ?")
            var deleted = 0
            for (series, cutoff) in cutoffs {
                try delete.execute(arguments: [series, cutoff])
                deleted += db.changesCount
            }
            return deleted
        }
    }

    /// Time of the newest sample stored, UTC epoch ms: how far the data reaches.
    public func newestSampleMs() async throws -> Int64? {
        try await database.read { db in
            // Per series, through the (series, ts) key: a plain max(ts) would read the whole table.
            try Int64.fetchOne(db, sql: "SELECT max((SELECT max(ts) FROM samples WHERE series = s.id)) FROM series s")
        }
    }
}

/// What is stored for one series.
public struct SeriesSummary: Sendable, Hashable {
    /// The series.
    public var series: SeriesRecord
    /// All samples.
    public var samples: Int
    /// Samples of good quality.
    public var good: Int
    /// First and last sample time, UTC epoch ms.
    public var firstMs: Int64?
    public var lastMs: Int64?
    /// The latest good value.
    public var lastGoodValue: Double?
}

extension EnergyStore {
    /// Per-series counts, time range and latest good value.
    public func seriesSummaries() async throws -> [SeriesSummary] {
        try await database.read { db in
            let series = try SeriesRecord.stored(db, "ORDER BY enterprise, meter, id")
            let stats = try Row.fetchAll(
                db, sql: "SELECT series, count(*), sum(quality = 0), min(ts), max(ts) FROM samples GROUP BY series")
            let byID = Dictionary(uniqueKeysWithValues: stats.map { ($0[0] as Int64, $0) })
            let latest = try db.cachedStatement(
                sql: "SELECT value FROM samples WHERE series = ? AND quality = 0 ORDER BY ts DESC LIMIT 1")
            return try series.map { record in
                let row = byID[record.id]
                return SeriesSummary(
                    series: record, samples: row?[1] ?? 0, good: row?[2] ?? 0, firstMs: row?[3], lastMs: row?[4],
                    lastGoodValue: try Double.fetchOne(latest, arguments: [record.id]))
            }
        }
    }
}

extension EnergyStore {
    /// The newest sample of each series (good or not) and the newest good one, in one read, along the (series, ts) key.
    public func latestSamples(seriesIDs: [Int64]) async throws -> [Int64: (latest: Sample, lastGood: Sample?)] {
        try await database.read { db in
            let newest = try db.cachedStatement(sql: "SELECT ts, value, quality FROM samples WHERE series = ? ORDER BY ts DESC LIMIT 1")
            let good = try db.cachedStatement(
                sql: "SELECT ts, value, quality FROM samples WHERE series = ? AND quality = 0 ORDER BY ts DESC LIMIT 1")
            func sample(_ row: Row?, _ id: Int64) -> Sample? {
                guard let row else { return nil }
                return Sample(seriesID: id, timestampMs: row[0], value: row[1], quality: SampleQuality(rawValue: row[2]) ?? .commFail)
            }
            var result: [Int64: (latest: Sample, lastGood: Sample?)] = [:]
            for id in seriesIDs {
                guard let latest = sample(try Row.fetchOne(newest, arguments: [id]), id) else { continue }
                result[id] = (latest, latest.quality == .good ? latest : sample(try Row.fetchOne(good, arguments: [id]), id))
            }
            return result
        }
    }
}

extension EnergyStore {
    /// Time of the oldest stored sample of each series, UTC epoch ms, in one read: when monitoring of it began
    /// (or the retention's edge).
    public func firstSamplesMs(seriesIDs: [Int64]) async throws -> [Int64: Int64] {
        try await timePerSeries(seriesIDs, sql: "SELECT ts FROM samples WHERE series = ? ORDER BY ts LIMIT 1")
    }

    /// Time of the latest good sample of each series, UTC epoch ms, in one read.
    public func lastGoodSamplesMs(seriesIDs: [Int64]) async throws -> [Int64: Int64] {
        // Backwards along the (series, ts) key until the first good one: a max() with the quality filter would read them all.
        try await timePerSeries(seriesIDs, sql: "SELECT ts FROM samples WHERE series = ? AND quality = 0 ORDER BY ts DESC LIMIT 1")
    }

    /// `sql`, a query of one time for one series, run for each of `seriesIDs` in one read.
    private func timePerSeries(_ seriesIDs: [Int64], sql: String) async throws -> [Int64: Int64] {
        try await database.read { db in
            let statement = try db.cachedStatement(sql: sql)
            var result: [Int64: Int64] = [:]
            for id in seriesIDs { result[id] = try Int64.fetchOne(statement, arguments: [id]) }
            return result
        }
    }
}
