import EnergyModel
import GRDB

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
        try await database.write { db in try Self.insert(samples, in: db) }
    }

    /// Inserts samples inside an open transaction.
    static func insert(_ samples: [Sample], in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO samples (series, ts, value, quality) VALUES (?, ?, ?, ?)")
        for sample in samples {
            statement.setUncheckedArguments([sample.seriesID, sample.timestampMs, sample.value, sample.quality.rawValue])
            try statement.execute()
        }
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

    /// Deletes samples older than `beforeMs`; returns how many were deleted.
    @discardableResult
    public func pruneSamples(beforeMs: Int64) async throws -> Int {
        try await database.write { db in
            // Per series, so each delete walks the (series, ts) key instead of the whole table.
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM series")
            let delete = try db.cachedStatement(sql: "DELETE FROM samples WHERE series = ? AND ts < ?")
            var deleted = 0
            for id in ids {
                try delete.execute(arguments: [id, beforeMs])
                deleted += db.changesCount
            }
            return deleted
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
            let series = try SeriesRecord.fetchAll(db, sql: "SELECT * FROM series ORDER BY enterprise, meter, id")
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
