import EnergyModel
import EnergyStore
import Foundation
import GRDB
import GRDBSQLite
import Logging

/// Synchronous reads of a benchmark's database.
struct EnergyStoreSync {
    let store: EnergyStore

    static func open(_ path: String) throws -> EnergyStoreSync { EnergyStoreSync(store: try EnergyStore(path: path)) }

    /// How late each poll of `gateways` started after its tick, ms (one point per meter).
    /// Each poll's lag: its time after the meter's tick (the aligned tick plus the meter's share of the start spread).
    func lags(fromMs: Int64, toMs: Int64, intervalMs: Int64, startSpreadMs: Int64, gateways: Set<String>) throws -> [Double] {
        try store.database.read { db in
            let series = try Row.fetchAll(db, sql: "SELECT id, meter FROM series WHERE point = 'import_energy'")
                .filter { gateways.contains(String(($0[1] as String).prefix { $0 != "m" })) }
                .map { ($0[0] as Int64, PollSchedule.startOffsetMs(meterID: $0[1], intervalMs: intervalMs, maxSpreadMs: startSpreadMs)) }
            var lags: [Double] = []
            for (id, offset) in series {
                for ts in try Int64.fetchAll(
                    db, sql: "SELECT ts FROM samples WHERE series = ? AND ts >= ? AND ts < ?", arguments: [id, fromMs, toMs])
                {
                    lags.append(Double((ts - offset) - (ts - offset).floorDivided(by: intervalMs) * intervalMs))
                }
            }
            return lags.sorted()
        }
    }

    func sampleCount() throws -> Int { try store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM samples") ?? 0 } }

    /// Database file plus WAL, bytes.
    func fileBytes() -> Int64 {
        [store.path, store.path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }
}

/// Runs an async body to completion from synchronous code (the benchmark's main thread).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>?
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try result!.get()
}

/// Results of the store benchmarks.
struct WriterResult: Codable {
    var samples: Int
    var samplesPerSecond: Double
    var baselineSamplesPerSecond: Double
    var bytesPerSample: Double
}

struct RollupResult: Codable {
    var meters: Int
    var days: Int
    var readings: Int
    var incrementalReadingsPerSecond: Double
    var rebuildReadingsPerSecond: Double
    var scanReadingsPerSecond: Double
    var yearIncrementalMinutes: Double
    var yearRebuildMinutes: Double
}

struct StoreBenchmarks {
    let work: String

    /// A fresh store with `meters` ADL400 meters at `intervalSeconds`.
    func store(meters: Int, intervalSeconds: Int, name: String) throws -> (EnergyStore, [Int64]) {
        let path = work + "/\(name).sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let store = try EnergyStore(path: path)
        var configuration = EnergyConfiguration(models: try shippedModels())
        configuration.gateways["g"] = GatewayConfig(id: "g", host: "127.0.0.1")
        configuration.enterprises = [
            EnterpriseConfig(
                id: "E", name: "E", jurisdiction: "J", industry: "I",
                meters: (0..<meters).map {
                    MeterConfig(
                        id: "m\($0)", gateway: "g", unitID: $0 % 247 + 1, model: "acrel_adl400", energy: .electricity,
                        intervalSeconds: intervalSeconds, maxRatePerHour: 10_000)
                })
        ]
        let finished = configuration
        let ids = try blocking { try await store.registerSeries(for: finished) }
        let series = (0..<meters).flatMap { ids["m\($0)"]!.values.sorted() }
        return (store, series)
    }

    /// Samples as pollers produce them: every series at one tick, then the next tick.
    func pollOrder(_ series: [Int64], ticks: Int, intervalMs: Int64, startMs: Int64) -> [[Sample]] {
        (0..<ticks).map { tick in
            series.enumerated().map { index, id in
                Sample(
                    seriesID: id, timestampMs: startMs + Int64(tick) * intervalMs + Int64(index % 50),
                    value: Double(tick) * 0.5 + Double(index), quality: .good)
            }
        }
    }

    /// The batched writer alone, fed in poll order; the baseline is one prepared INSERT in one transaction.
    func writer(meters: Int = 1000, ticks: Int = 600) throws -> WriterResult {
        let (store, series) = try store(meters: meters, intervalSeconds: 1, name: "writer")
        let batches = pollOrder(series, ticks: ticks, intervalMs: 1000, startMs: 1_767_196_800_000)
        let total = batches.map(\.count).reduce(0, +)
        let settings = DaemonSettings()  // energyd's defaults
        let writer = SampleWriter(
            store: store, batchMaxSamples: settings.writeBatchMaxSamples, flushIntervalMs: settings.writeFlushIntervalMs,
            logger: Logger(label: "bench"))
        let start = Date()
        let running = Task { await writer.run() }
        for batch in batches {
            // Pollers hand over a gateway's sweep at a time.
            for chunk in stride(from: 0, to: batch.count, by: 10) { writer.submit(Array(batch[chunk..<min(chunk + 10, batch.count)])) }
        }
        _ = wait(seconds: 600) { writer.snapshot.samplesWritten == UInt64(total) }
        let elapsed = Date().timeIntervalSince(start)
        running.cancel()
        _ = try? blocking { await running.value }
        try store.database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let bytes = EnergyStoreSync(store: store).fileBytes()

        let (baselineStore, baselineSeries) = try self.store(meters: meters, intervalSeconds: 1, name: "writer-baseline")
        let rows = pollOrder(baselineSeries, ticks: ticks, intervalMs: 1000, startMs: 1_767_196_800_000).flatMap { $0 }
        let baselineStart = Date()
        try baselineStore.database.write { db in
            // The floor: one prepared statement, bound directly, one transaction for everything.
            let statement = try db.makeStatement(sql: "INSERT INTO samples (series, ts, value, quality) VALUES (?, ?, ?, ?)")
            let handle = statement.sqliteStatement
            for sample in rows {
                sqlite3_bind_int64(handle, 1, sample.seriesID)
                sqlite3_bind_int64(handle, 2, sample.timestampMs)
                sqlite3_bind_double(handle, 3, sample.value ?? 0)
                sqlite3_bind_int64(handle, 4, Int64(sample.quality.rawValue))
                _ = sqlite3_step(handle)
                sqlite3_reset(handle)
            }
        }
        let baseline = Double(rows.count) / Date().timeIntervalSince(baselineStart)
        return WriterResult(
            samples: total, samplesPerSecond: Double(total) / elapsed, baselineSamplesPerSecond: baseline,
            bytesPerSample: Double(bytes) / Double(total))
    }

    /// A run of 1-minute readings rolled up incrementally, then rebuilt; the baseline reads the same samples once.
    func rollups(meters: Int = 1000, days: Int = 2) throws -> RollupResult {
        let (store, series) = try store(meters: meters, intervalSeconds: 60, name: "rollups")
        let ticks = days * 1440
        let origin: Int64 = 1_767_196_800_000
        try store.database.write { db in
            let statement = try db.makeStatement(sql: "INSERT INTO samples (series, ts, value, quality) VALUES (?, ?, ?, ?)")
            for (index, id) in series.enumerated() {
                for tick in 0..<ticks {
                    statement.setUncheckedArguments([id, origin + Int64(tick) * 60_000 + Int64(index % 30), Double(tick) * 1.5, 0])
                    try statement.execute()
                }
            }
            try db.execute(sql: "INSERT INTO accounting_dirty (series, min_ts) SELECT id, \(origin) FROM series WHERE kind = 'counter'")
        }
        // Accounting reads each meter's import counter; the scan baseline reads every stored sample once.
        let readings = ticks * meters
        let stored = ticks * series.count
        let calendar = CalendarBuckets(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        let scanStart = Date()
        _ = try store.database.read { db in try Row.fetchAll(db, sql: "SELECT series, sum(value), count(*) FROM samples GROUP BY series") }
        let scan = Date().timeIntervalSince(scanStart)
        let incrementalStart = Date()
        _ = try blocking { try await store.account(calendar: calendar) }
        let incremental = Date().timeIntervalSince(incrementalStart)
        let rebuildStart = Date()
        _ = try blocking {
            try await store.rebuild(fromMs: origin - 86_400_000, toMs: origin + Int64(days + 1) * 86_400_000, calendar: calendar)
        }
        let rebuild = Date().timeIntervalSince(rebuildStart)
        let year = Double(meters * 525_600)
        return RollupResult(
            meters: meters, days: days, readings: readings, incrementalReadingsPerSecond: Double(readings) / incremental,
            rebuildReadingsPerSecond: Double(readings) / rebuild, scanReadingsPerSecond: Double(stored) / scan,
            yearIncrementalMinutes: year / (Double(readings) / incremental) / 60,
            yearRebuildMinutes: year / (Double(readings) / rebuild) / 60)
    }
}
