import EnergyModel
import EnergyStore
import Foundation
import GRDB
import Logging
import PostgresNIO
import TestSupport
import Upstream

struct UpstreamResult: Codable {
    var meters: Int
    var days: Int
    var rows: Int
    var shippedRowsPerSecond: Double
    var copyRowsPerSecond: Double
}

/// Shipping a month of 15-minute buckets to a real PostgreSQL server the way energyd does (queued changes,
/// collected from the store, upserted in rounds), against a plain COPY of the same rows into a table of the same
/// shape, keys and index, in the same run.
struct UpstreamBenchmark {
    let work: String

    func run(meters: Int, days: Int) throws -> UpstreamResult {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let (store, _) = try StoreBenchmarks(work: work).store(meters: meters, intervalSeconds: 60, name: "upstream")
        // One consumption counter a meter, a month of buckets each (accounting's output, written directly).
        let series = try store.database.read { db in
            try Int64.fetchAll(
                db, sql: "SELECT id FROM series WHERE kind = 'counter' AND quantity = 'consumption' AND point = 'import_energy'")
        }
        let origin: Int64 = 1_767_196_800_000
        let quarters = days * 96
        try store.database.write { db in
            let insert = try db.makeStatement(
                sql: "INSERT INTO consumption (series, resolution, bucket, amount, estimated, good) VALUES (?, '15min', ?, ?, 0, 15)")
            for id in series {
                for q in 0..<quarters {
                    try insert.execute(arguments: [id, origin + Int64(q) * 900_000, 1_000_000 + Int64(q % 97) * 1234])
                }
            }
        }
        let rows = series.count * quarters
        var configuration = EnergyConfiguration()
        configuration.daemon.siteID = "bench"
        let destination = UpstreamConfig(
            name: "bench", kind: .postgres, host: "127.0.0.1", port: postgres.port, database: postgres.database, user: postgres.user,
            timeoutSeconds: 600)
        let shipper = UpstreamShipper(store: store, configuration: configuration, logger: Logger(label: "bench"))
        let started = Date()
        let shipped = try blocking { try await shipper.drain(destination) }
        let shipSeconds = Date().timeIntervalSince(started)
        precondition(shipped == rows, "shipped \(shipped) of \(rows) rows")

        // The same rows, read from the same store, streamed by COPY into a plain table with the same key and index.
        _ = try postgres.query(
            """
            CREATE TABLE copy_quarter (LIKE em_quarter INCLUDING DEFAULTS, PRIMARY KEY (site_id, meter, point, bucket));
            CREATE INDEX ON copy_quarter (site_id, enterprise, bucket)
            """)
        let meterOf = try store.database.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, meter FROM series").map { ($0[0] as Int64, $0[1] as String) })
        }
        let copyStarted = Date()
        try blocking {
            let connection = try await PostgresConnection.connect(
                configuration: .init(
                    host: "127.0.0.1", port: postgres.port, username: postgres.user, password: nil, database: postgres.database,
                    tls: .disable),
                id: 1, logger: Logger(label: "bench"))
            try await connection.copyFrom(
                table: "copy_quarter",
                columns: [
                    "site_id", "enterprise", "meter", "point", "energy", "quantity", "unit", "bucket", "amount", "estimated", "good",
                    "kgce",
                ],
                logger: Logger(label: "bench")
            ) { writer in
                for id in series {
                    let buckets = try await store.buckets(series: id, resolution: .quarter, fromMs: 0, toMs: .max)
                    var text = ""
                    for b in buckets {
                        text += "bench\tE\t\(meterOf[id]!)\timport_energy\telectricity\tconsumption\tkWh\t"
                        text +=
                            "\(ISO8601Time.format(ms: b.bucketMs))\t\(Double(b.amount) / 1_000_000)\t0\t\(b.good)\t\(Double(b.amount) / 1_000_000 * 0.1229)\n"
                    }
                    try await writer.write(ByteBuffer(string: text))
                }
            }
            try await connection.close().get()
        }
        let copySeconds = Date().timeIntervalSince(copyStarted)
        return UpstreamResult(
            meters: meters, days: days, rows: rows, shippedRowsPerSecond: Double(rows) / shipSeconds,
            copyRowsPerSecond: Double(rows) / copySeconds)
    }
}
