import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A place shipments go; `ship` returns once the destination has acknowledged every row, and throws otherwise.
public protocol UpstreamDestination: Sendable {
    func ship(_ shipment: Shipment) async throws -> Int
    /// Closes connections; called once, at shutdown.
    func close() async
    /// Gives up the connection of a shipment that overran its deadline: the next round connects afresh.
    func abandon() async
}

extension UpstreamDestination {
    public func abandon() async {}
}

/// The central PostgreSQL database: one connection, kept open between rounds and opened again after a failure;
/// the schema is created or migrated on each new connection, and every shipment is one transaction of upserts.
public actor PostgresDestination: UpstreamDestination {
    let config: UpstreamConfig
    let logger: Logger
    private var connection: PostgresConnection?
    private var nextConnectionID = 1
    /// Partitions known to exist, so a round does not ask again.
    private var partitions: Set<String> = []

    public init(_ config: UpstreamConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func close() async {
        try? await connection?.close().get()
        connection = nil
    }

    public func abandon() async {
        let abandoned = connection
        connection = nil
        partitions = []
        // Closed without waiting: the call that overran may never see the close complete.
        let closing: EventLoopFuture<Void>? = abandoned?.close()
        closing?.whenFailure { _ in }
    }

    public func ship(_ shipment: Shipment) async throws -> Int {
        // A server that stops answering mid-round is the shipper's deadline's to handle (`abandon`).
        let connection = try await connected()
        do {
            try await createPartitions(for: shipment, on: connection)
            try await connection.withTransaction(logger: logger) { connection in
                try await Self.write(shipment, on: connection, logger: self.logger)
            }
            return shipment.rowCount
        } catch {
            // A broken connection, or one left in an unknown state: the next round starts afresh.
            try? await connection.close().get()
            self.connection = nil
            throw UpstreamFailure(Self.describe(error))
        }
    }

    /// The open connection, or a new one with the schema brought up to date.
    private func connected() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        var configuration = PostgresConnection.Configuration(
            host: config.host ?? "127.0.0.1", port: config.port, username: config.user ?? "energyd", password: config.password,
            database: config.database, tls: .disable)
        if config.tls == .require {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = config.caFile { tls.additionalTrustRoots = [.file(caFile)] }
            configuration.tls = .require(try NIOSSLContext(configuration: tls))
        }
        configuration.options.connectTimeout = .seconds(Int64(config.timeoutSeconds))
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: nextConnectionID, logger: logger)
            nextConnectionID += 1
            do {
                if let role = config.role {
                    // Acting as the group role: what this session creates is the group's, which every site may use.
                    try await connection.query(PostgresQuery(unsafeSQL: "SET ROLE " + Self.identifier(role)), logger: logger)
                }
                try await migrate(connection)
            } catch {
                try? await connection.close().get()
                throw error
            }
            self.connection = connection
            partitions = []
            return connection
        } catch {
            throw UpstreamFailure(Self.describe(error))
        }
    }

    /// Applies the migrations this database lacks, under the schema lock so that two sites never race.
    private func migrate(_ connection: PostgresConnection) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS em_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
                logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM em_schema_migrations", logger: logger)
                .decode(Int.self)
            {
                applied.insert(version)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO em_schema_migrations (version, applied_at) VALUES (\(migration.version), now())", logger: logger)
                logger.notice(
                    "upstream database migrated", metadata: ["destination": "\(config.name)", "version": "\(migration.version)"])
            }
        }
    }

    /// Creates the monthly partitions the shipment's rows need, each in a short transaction of its own so that
    /// other sites' writes wait for it only briefly.
    private func createPartitions(for shipment: Shipment, on connection: PostgresConnection) async throws {
        var needed: [(table: String, isDate: Bool, year: Int, month: Int)] = []
        let utc = TimeZone(identifier: "UTC")!
        for bucket in Set(shipment.quarters.map { ISO8601Time.format(ms: $0.bucketMs, timeZone: utc).prefix(7) }) {
            needed.append(("em_quarter", false, Int(bucket.prefix(4))!, Int(bucket.suffix(2))!))
        }
        for label in Set(shipment.enterprises.flatMap { $0.days.map { $0.label.prefix(7) } }) {
            needed.append(("em_daily", true, Int(label.prefix(4))!, Int(label.suffix(2))!))
        }
        for partition in needed {
            let name = PostgresSchema.partitionName(partition.table, year: partition.year, month: partition.month)
            guard !partitions.contains(name) else { continue }
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey))", logger: logger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: PostgresSchema.createPartition(
                            partition.table, isDate: partition.isDate, year: partition.year, month: partition.month)),
                    logger: logger)
            }
            partitions.insert(name)
        }
    }

    /// Writes a shipment: each range it covers is replaced whole (rows deleted, then inserted), so a shipment sent
    /// twice leaves the database as sent once, and a bucket gone locally goes upstream too.
    static func write(_ shipment: Shipment, on connection: PostgresConnection, logger: Logger) async throws {
        let site = shipment.site
        try await connection.query(
            """
            INSERT INTO em_sites (site_id, name, time_zone, last_shipped_at) VALUES (\(site.id), \(site.name), \(site.timeZone), now())
            ON CONFLICT (site_id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, last_shipped_at = now()
            """, logger: logger)
        try await writeQuarters(shipment, on: connection, logger: logger)
        try await writeEnterprises(shipment, on: connection, logger: logger)
        try await writeAlerts(shipment, on: connection, logger: logger)
    }

    private static func writeQuarters(_ shipment: Shipment, on connection: PostgresConnection, logger: Logger) async throws {
        let site = shipment.site.id
        let ranges = shipment.quarterRanges
        if !ranges.isEmpty {
            try await connection.query(
                """
                DELETE FROM em_quarter q USING unnest(\(ranges.map(\.meter)), \(ranges.map(\.point)), \(ranges.map(\.fromMs)),
                    \(ranges.map(\.toMs))) AS r (meter, point, from_ms, to_ms)
                WHERE q.site_id = \(site) AND q.meter = r.meter AND q.point = r.point
                    AND q.bucket >= to_timestamp(r.from_ms / 1000.0) AND q.bucket < to_timestamp(r.to_ms / 1000.0)
                """, logger: logger)
        }
        // Parts of at most 10 000 rows: one statement's arrays stay a few megabytes.
        for start in stride(from: 0, to: shipment.quarters.count, by: 10_000) {
            let rows = shipment.quarters[start..<min(start + 10_000, shipment.quarters.count)]
            try await connection.query(
                """
                INSERT INTO em_quarter (site_id, enterprise, meter, point, energy, quantity, unit, bucket, amount, estimated, good, kgce)
                SELECT \(site), enterprise, meter, point, energy, quantity, unit, to_timestamp(bucket / 1000.0),
                    amount::numeric / 1000000, estimated::numeric / 1000000, good, nullif(kgce, 'NaN')
                FROM unnest(\(rows.map(\.enterprise)), \(rows.map(\.meter)), \(rows.map(\.point)), \(rows.map(\.energy)),
                    \(rows.map(\.quantity)), \(rows.map(\.unit)), \(rows.map(\.bucketMs)), \(rows.map(\.amount)), \(rows.map(\.estimated)),
                    \(rows.map { Int64($0.good) }), \(rows.map { $0.kgce ?? .nan }))
                    AS r (enterprise, meter, point, energy, quantity, unit, bucket, amount, estimated, good, kgce)
                ON CONFLICT (site_id, meter, point, bucket) DO UPDATE SET enterprise = excluded.enterprise, energy = excluded.energy,
                    quantity = excluded.quantity, unit = excluded.unit, amount = excluded.amount, estimated = excluded.estimated,
                    good = excluded.good, kgce = excluded.kgce
                """, logger: logger)
        }
    }

    private static func writeEnterprises(_ shipment: Shipment, on connection: PostgresConnection, logger: Logger) async throws {
        let site = shipment.site.id
        for figures in shipment.enterprises {
            let e = figures.enterprise
            try await connection.query(
                """
                INSERT INTO em_enterprises (site_id, enterprise, name, jurisdiction, industry)
                VALUES (\(site), \(e.id), \(e.name), \(e.jurisdiction), \(e.industry))
                ON CONFLICT (site_id, enterprise) DO UPDATE SET name = excluded.name, jurisdiction = excluded.jurisdiction,
                    industry = excluded.industry
                """, logger: logger)
            let firstDay = figures.days.first?.label ?? ""
            let dayLabels = figures.days.map(\.label)
            if let lastDay = dayLabels.last {
                try await connection.query(
                    "DELETE FROM em_daily WHERE site_id = \(site) AND enterprise = \(e.id) AND day >= \(firstDay)::date AND day <= \(lastDay)::date",
                    logger: logger)
                try await connection.query(
                    "DELETE FROM em_production WHERE site_id = \(site) AND enterprise = \(e.id) AND day >= \(firstDay)::date AND day <= \(lastDay)::date",
                    logger: logger)
            }
            try await insertLines(figures.days, table: "em_daily", column: "day", site: site, on: connection, logger: logger)
            let months = figures.months.map { $0.label + "-01" }
            if !months.isEmpty {
                try await connection.query(
                    "DELETE FROM em_monthly WHERE site_id = \(site) AND enterprise = \(e.id) AND month = ANY(\(months)::date[])",
                    logger: logger)
                try await connection.query(
                    "DELETE FROM em_unit_consumption WHERE site_id = \(site) AND enterprise = \(e.id) AND month = ANY(\(months)::date[])",
                    logger: logger)
            }
            try await insertLines(figures.months, table: "em_monthly", column: "month", site: site, on: connection, logger: logger)
            for p in figures.products {
                try await connection.query(
                    """
                    INSERT INTO em_unit_consumption (site_id, enterprise, product, month, quota, standard, unit, output, energy_kgce,
                        unit_consumption, levels, verdict, completeness, illustrative)
                    VALUES (\(site), \(p.enterprise), \(p.product), \(p.month + "-01")::date, \(p.quota), \(p.standard), \(p.unit),
                        \(p.output), \(p.energyKgce), \(p.unitConsumption), \(p.levels), \(p.verdict), \(p.completeness), \(p.illustrative))
                    ON CONFLICT (site_id, enterprise, product, month) DO UPDATE SET quota = excluded.quota, standard = excluded.standard,
                        unit = excluded.unit, output = excluded.output, energy_kgce = excluded.energy_kgce,
                        unit_consumption = excluded.unit_consumption, levels = excluded.levels, verdict = excluded.verdict,
                        completeness = excluded.completeness, illustrative = excluded.illustrative
                    """, logger: logger)
            }
            let calendar = CalendarBuckets(timeZone: TimeZone(identifier: shipment.site.timeZone) ?? TimeZone(identifier: "UTC")!)
            for entry in figures.production {
                let day = calendar.dayLabel(entry.dayMs)
                try await connection.query(
                    """
                    INSERT INTO em_production (site_id, enterprise, product, day, quantity, source)
                    VALUES (\(site), \(e.id), \(entry.product), \(day)::date, \(entry.quantity), \(entry.source))
                    ON CONFLICT (site_id, enterprise, product, day) DO UPDATE SET quantity = excluded.quantity, source = excluded.source
                    """, logger: logger)
            }
        }
    }

    /// Inserts the lines of day or month figures (`column` is the period's date).
    private static func insertLines(
        _ periods: [PeriodFigures], table: String, column: String, site: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let rows = periods.flatMap { period in period.lines.map { (period, $0) } }
        guard !rows.isEmpty else { return }
        let dates = rows.map { $0.0.resolution == .month ? $0.0.label + "-01" : $0.0.label }
        let lines = rows.map(\.1)
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table) (site_id, enterprise, \(column), quantity, energy, product, source, amount, unit, kgce, estimated,
                        completeness, factor, factor_source)
                    SELECT $1, enterprise, period::date, quantity, energy, product, source, round(amount::numeric, 6), unit,
                        nullif(kgce, 'NaN'), round(estimated::numeric, 6), completeness, nullif(factor, 'NaN'), nullif(factor_source, '')
                    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[],
                        $10::text[], $11::float8[], $12::float8[], $13::text[], $14::text[])
                        AS r (enterprise, period, quantity, energy, product, amount, unit, kgce, estimated, completeness, factor, factor_source,
                            source)
                    ON CONFLICT (site_id, enterprise, \(column), quantity, energy, product, source) DO UPDATE SET amount = excluded.amount,
                        unit = excluded.unit, kgce = excluded.kgce, estimated = excluded.estimated, completeness = excluded.completeness,
                        factor = excluded.factor, factor_source = excluded.factor_source
                    """,
                binds: try binds(
                    site, rows.map(\.0.enterprise), dates, lines.map(\.quantity), lines.map(\.energy), lines.map { $0.product ?? "" },
                    // Amounts as decimal text, the shortest that reads back as the same double: a float8 cast to
                    // numeric keeps only 15 significant digits.
                    lines.map { String($0.amount) }, lines.map(\.unit), lines.map { $0.kgce ?? .nan }, lines.map { String($0.estimated) },
                    lines.map(\.completeness), lines.map { $0.factor ?? .nan }, lines.map { $0.factorSource ?? "" }, lines.map(\.source))),
            logger: logger)
    }

    private static func writeAlerts(_ shipment: Shipment, on connection: PostgresConnection, logger: Logger) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for alert in shipment.alerts {
            let raised = String(decoding: try encoder.encode(alert.raised), as: UTF8.self)
            let cleared = try alert.cleared.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            let r = alert.raised
            try await connection.query(
                """
                INSERT INTO em_alerts (site_id, alert_id, key, kind, severity, enterprise, subject, raised_at, cleared_at, raised_record,
                    cleared_record)
                VALUES (\(shipment.site.id), \(alert.id), \(r.key), \(r.kind.rawValue), \(r.severity.rawValue), \(r.enterprise.id),
                    \(r.subject), to_timestamp(\(alert.raisedAtMs) / 1000.0), to_timestamp(\(alert.clearedAtMs) / 1000.0),
                    \(raised)::jsonb, \(cleared)::jsonb)
                ON CONFLICT (site_id, alert_id) DO UPDATE SET cleared_at = excluded.cleared_at, cleared_record = excluded.cleared_record,
                    raised_record = excluded.raised_record, severity = excluded.severity
                """, logger: logger)
        }
    }

    /// A quoted SQL identifier.
    static func identifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Positional binds of `values`, in order.
    private static func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { try bindings.append(value) }
        return bindings
    }

    /// A PostgreSQL error's own message where there is one (postgres-nio hides it from `description`).
    static func describe(_ error: any Error) -> String {
        if let failure = error as? UpstreamFailure { return failure.description }
        if let transaction = error as? PostgresTransactionError {
            return [transaction.beginError, transaction.closureError, transaction.commitError].compactMap { $0 }.first.map(describe)
                ?? "\(error)"
        }
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return "PostgreSQL: \(message)" }
            return "PostgreSQL: \(psql.code)" + (psql.underlying.map { " (\($0))" } ?? "")
        }
        return "\(error)"
    }
}

/// Why a round failed; retried with back-off.
public struct UpstreamFailure: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
