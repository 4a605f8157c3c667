import EnergyModel
import Foundation
import GRDB
import Synchronization

/// The time-series store: one SQLite file in WAL mode, one writer, migrations applied on open.
///
/// Times are UTC epoch milliseconds. Samples live in a `WITHOUT ROWID` table keyed by (series, ts), so a
/// series' readings sit together on disk and a range read is one index walk.
public final class EnergyStore: Sendable {
    /// The database connection pool (one writer, concurrent readers).
    public let database: DatabasePool
    /// The file path.
    public let path: String
    /// The file opened at `path`, to notice it being deleted or replaced while open.
    public let fileIdentity: FileIdentity?
    /// Series accounting reads: inserting into them marks them for the next accounting pass.
    let accountedSeries = Mutex<Set<Int64>>([])
    /// The real clock changes are queued for upstream by (the data itself may follow a simulated clock).
    public let realTime: any WallClock

    /// Opens (creating if needed) and migrates the database at `path`; read-only, it opens an existing database as
    /// it is, never migrating or creating anything, and refuses one that this version has not migrated.
    public init(path: String, readOnly: Bool = false, realTime: any WallClock = SystemWallClock()) throws {
        self.realTime = realTime
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.label = "energy-store"
        // Another process (energyctl) may be writing a rollup or an alert: wait rather than fail.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode: a committed transaction survives a process crash (kill -9); only a power
            // cut can lose the last transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            // A larger page cache for the writer, whose batches touch every series' last page: 4 MiB keeps the
            // B-tree's inner pages (leaves come from the OS's file cache); 16 MiB held 13 MiB of energyd's heap at
            // 10 000 meters, and the writer benchmark still commits 390 000 samples/s with 4. Readers keep 2 MiB each.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -4096") }
        }
        configuration.maximumReaderCount = 3
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !readOnly {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.database = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        self.fileIdentity = FileIdentity.of(path: path)
        // A database a newer energy-monitor migrated has tables this version does not know how to keep right.
        let unknown = try database.read { db in
            try db.tableExists("grdb_migrations") ? try Self.migrator.appliedIdentifiers(db).subtracting(Self.migrator.migrations) : []
        }
        guard unknown.isEmpty else {
            throw StoreError(
                "\(path) was migrated by a newer energy-monitor (schema \(unknown.sorted().joined(separator: ", ")) unknown to this "
                    + "version); run that version or a later one on it")
        }
        if readOnly {
            guard try database.read({ db in try Self.migrator.hasCompletedMigrations(db) }) else {
                throw StoreError("\(path) is not a database this version of energyd has migrated; start energyd on it first")
            }
        } else {
            try Self.migrator.migrate(database)
        }
        try database.read { db in try loadAccountedSeries(db) }
    }

    /// Whether `path` still names the file this store has open: deleted or replaced, every commit would go into a
    /// file nobody can find.
    public var isStillAtItsPath: Bool { fileIdentity != nil && FileIdentity.of(path: path) == fileIdentity }

    /// Copies the open database, everything committed in it, to `path` when its file was deleted there (or, when
    /// another file took its place, beside it), then closes the store; returns where the copy went.
    /// Called once writing has stopped: the copy is consistent (SQLite's backup), the store unusable after.
    public func restoreToItsPath() throws -> String {
        let target = FileIdentity.of(path: path) == nil ? path : path + ".recovered-\(Int64(Date().timeIntervalSince1970))"
        let partial = target + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let copy = try DatabaseQueue(path: partial)
        try database.backup(to: copy)
        try copy.close()
        try database.close()
        // Left-over WAL and shared-memory files at the target would be applied to the copy on its next open.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + suffix) }
        if rename(partial, target) != 0 { throw StoreError("cannot move \(partial) to \(target): \(String(cString: strerror(errno)))") }
        return target
    }

    /// Reads which series accounting follows, for the writer to mark them as samples land.
    func loadAccountedSeries(_ db: Database) throws {
        let accounted = try SeriesRecord.stored(db).filter(\.isAccounted)
        accountedSeries.withLock { $0 = Set(accounted.map(\.id)) }
    }

    /// `PRAGMA integrity_check`'s answer: "ok" for a sound file.
    public func integrityCheck() async throws -> String {
        try await database.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// Size of a file, bytes (0 when absent).
    func fileSizeBytes(of file: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-series-samples") { db in
            try db.execute(
                sql: """
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY,
                        enterprise TEXT NOT NULL,
                        meter TEXT NOT NULL,
                        point TEXT NOT NULL,
                        energy TEXT NOT NULL,
                        quantity TEXT NOT NULL,
                        unit TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        UNIQUE (meter, point)
                    );
                    CREATE INDEX series_enterprise ON series (enterprise);
                    CREATE TABLE samples (
                        series INTEGER NOT NULL REFERENCES series (id),
                        ts INTEGER NOT NULL,
                        value REAL,
                        quality INTEGER NOT NULL,
                        PRIMARY KEY (series, ts)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-accounting") { db in
            try db.execute(
                sql: """
                    ALTER TABLE series ADD COLUMN wrap REAL;
                    ALTER TABLE series ADD COLUMN max_rate REAL;
                    ALTER TABLE series ADD COLUMN interval_ms INTEGER NOT NULL DEFAULT 60000;
                    CREATE TABLE consumption (
                        series INTEGER NOT NULL REFERENCES series (id),
                        resolution TEXT NOT NULL,
                        bucket INTEGER NOT NULL,
                        amount INTEGER NOT NULL,
                        estimated INTEGER NOT NULL,
                        good INTEGER NOT NULL,
                        PRIMARY KEY (series, resolution, bucket)
                    ) WITHOUT ROWID;
                    CREATE TABLE accounting_state (
                        series INTEGER PRIMARY KEY REFERENCES series (id),
                        anchor_ts INTEGER,
                        anchor_value REAL,
                        rate_per_hour REAL,
                        carry_bucket INTEGER,
                        carry_amount INTEGER NOT NULL,
                        carry_estimated INTEGER NOT NULL
                    );
                    CREATE TABLE accounting_dirty (
                        series INTEGER PRIMARY KEY REFERENCES series (id),
                        min_ts INTEGER NOT NULL
                    );
                    CREATE TABLE counter_events (
                        series INTEGER NOT NULL REFERENCES series (id),
                        ts INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        PRIMARY KEY (series, ts, kind)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3-alerts-production") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alerts (
                        id INTEGER PRIMARY KEY,
                        key TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        severity TEXT NOT NULL,
                        enterprise TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        raised_at INTEGER NOT NULL,
                        cleared_at INTEGER,
                        raised_record TEXT NOT NULL,
                        cleared_record TEXT,
                        raised_logged INTEGER NOT NULL DEFAULT 0,
                        cleared_logged INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE UNIQUE INDEX alerts_open_key ON alerts (key) WHERE cleared_at IS NULL;
                    CREATE INDEX alerts_raised_at ON alerts (raised_at);
                    CREATE TABLE production (
                        enterprise TEXT NOT NULL,
                        product TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        quantity REAL NOT NULL,
                        source TEXT NOT NULL,
                        PRIMARY KEY (enterprise, product, day)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4-check-progress") { db in
            // Which closed days and months the checks have judged, so a restart judges those that closed meanwhile.
            try db.execute(sql: "CREATE TABLE check_progress (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
        }
        migrator.registerMigration("v5-runs-continuously") { db in
            try db.execute(sql: "ALTER TABLE series ADD COLUMN runs_continuously INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v6-outbox") { db in
            // Messages to people, written in the transaction that raises or clears their alert, deleted only when
            // old and delivered; `instance` names this store in idempotency keys, so two districts never collide.
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY,
                        channel TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        alert_id INTEGER,
                        payload TEXT NOT NULL,
                        attachment BLOB,
                        created_at INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        digest_id INTEGER,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        retry_since INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT,
                        delivered_at INTEGER,
                        dedupe_key TEXT,
                        UNIQUE (channel, dedupe_key)
                    );
                    CREATE INDEX outbox_due ON outbox (channel, state, next_attempt_at);
                    CREATE TABLE store_identity (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    INSERT INTO store_identity (name, value) VALUES ('instance', lower(hex(randomblob(8))));
                    """)
        }
        migrator.registerMigration("v7-accounts") { db in
            // Console accounts; sessions and API tokens are stored as SHA-256 of the secret, so a copy of the file
            // gives no way in; the audit log is only ever appended to.
            try db.execute(
                sql: """
                    CREATE TABLE accounts (
                        name TEXT PRIMARY KEY,
                        role TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        disabled INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE sessions (
                        token_hash TEXT PRIMARY KEY,
                        account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
                        csrf TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE api_tokens (
                        token_hash TEXT PRIMARY KEY,
                        account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
                        label TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        account TEXT NOT NULL,
                        action TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        remote TEXT NOT NULL
                    );
                    ALTER TABLE production ADD COLUMN entered_at INTEGER;
                    """)
        }
        migrator.registerMigration("v8-upstream") { db in
            // Destinations the figures are shipped to, and per destination what changed since it last acknowledged:
            // one row per series, enterprise or alert, its range widened by each change (see UpstreamStorage).
            try db.execute(
                sql: """
                    CREATE TABLE upstream_destinations (
                        name TEXT PRIMARY KEY,
                        kind TEXT NOT NULL,
                        target TEXT NOT NULL,
                        registered_at INTEGER NOT NULL,
                        last_attempt_at INTEGER,
                        last_success_at INTEGER,
                        last_error TEXT,
                        last_error_at INTEGER,
                        failures INTEGER NOT NULL DEFAULT 0,
                        shipped_rows INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    CREATE TABLE upstream_pending (
                        destination TEXT NOT NULL REFERENCES upstream_destinations (name) ON DELETE CASCADE,
                        kind TEXT NOT NULL,
                        key TEXT NOT NULL,
                        from_ms INTEGER NOT NULL,
                        to_ms INTEGER NOT NULL,
                        noted_from_ms INTEGER NOT NULL,
                        version INTEGER NOT NULL DEFAULT 1,
                        queued_at INTEGER NOT NULL,
                        PRIMARY KEY (destination, kind, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX upstream_pending_queue ON upstream_pending (destination, queued_at);
                    """)
        }
        migrator.registerMigration("v9-upstream-figure-settings") { db in
            // Per enterprise, what its shipped figures were computed with (factors, products, quotas): a change
            // queues the figures it changes, from the earliest day it touches.
            try db.execute(sql: "CREATE TABLE upstream_figure_settings (enterprise TEXT PRIMARY KEY, items TEXT NOT NULL)")
        }
        migrator.registerMigration("v10-energy-entries") { db in
            // Energy entered by hand, one row per enterprise, month and energy type; its rollups are those of the
            // enterprise's "entered" series (kind 'entered', no samples), so figures count it like metered energy.
            try db.execute(
                sql: """
                    CREATE TABLE energy_entries (
                        enterprise TEXT NOT NULL,
                        month INTEGER NOT NULL,
                        energy TEXT NOT NULL,
                        unit TEXT NOT NULL,
                        purchases REAL,
                        opening_stock REAL,
                        closing_stock REAL,
                        consumption REAL NOT NULL,
                        series INTEGER NOT NULL REFERENCES series (id),
                        source TEXT NOT NULL,
                        entered_at INTEGER NOT NULL,
                        PRIMARY KEY (enterprise, month, energy)
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v11-output-values") { db in
            // Output value entered by hand, one row per enterprise and month (万元 at current prices).
            try db.execute(
                sql: """
                    CREATE TABLE output_values (
                        enterprise TEXT NOT NULL,
                        month INTEGER NOT NULL,
                        gross_output REAL NOT NULL,
                        value_added REAL,
                        source TEXT NOT NULL,
                        entered_at INTEGER NOT NULL,
                        PRIMARY KEY (enterprise, month)
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v12-alert-handling") { db in
            // The inspection team's handling of each alert, and its history (who did what, when).
            try db.execute(
                sql: """
                    ALTER TABLE alerts ADD COLUMN handling TEXT NOT NULL DEFAULT 'new';
                    ALTER TABLE alerts ADD COLUMN assignee TEXT;
                    ALTER TABLE alerts ADD COLUMN disposition TEXT;
                    CREATE TABLE alert_actions (
                        id INTEGER PRIMARY KEY,
                        alert INTEGER NOT NULL REFERENCES alerts (id),
                        action TEXT NOT NULL,
                        account TEXT NOT NULL,
                        assignee TEXT,
                        text TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX alert_actions_alert ON alert_actions (alert, id);
                    """)
        }
        migrator.registerMigration("v13-meter-ledger") { db in
            // The ledger of measuring instruments (计量器具台账), one line per configured meter.
            try db.execute(
                sql: """
                    CREATE TABLE meter_ledger (
                        meter TEXT PRIMARY KEY,
                        maker TEXT NOT NULL,
                        model TEXT NOT NULL,
                        accuracy_class TEXT NOT NULL,
                        ct_ratio REAL,
                        pt_ratio REAL,
                        installed TEXT NOT NULL,
                        last_calibrated TEXT,
                        next_due TEXT NOT NULL,
                        certificate TEXT NOT NULL,
                        status TEXT NOT NULL,
                        source TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v14-inspections") { db in
            // Energy-conservation inspections (节能监察) and the rectification each requires; lists as JSON arrays.
            try db.execute(
                sql: """
                    CREATE TABLE inspections (
                        id INTEGER PRIMARY KEY,
                        enterprise TEXT NOT NULL,
                        date TEXT NOT NULL,
                        inspectors TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        legal_basis TEXT NOT NULL,
                        findings TEXT NOT NULL,
                        rectification TEXT,
                        deadline TEXT,
                        alerts TEXT NOT NULL,
                        status TEXT NOT NULL,
                        answer TEXT,
                        closing_note TEXT,
                        recorded_by TEXT NOT NULL,
                        recorded_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE INDEX inspections_enterprise ON inspections (enterprise, date);
                    """)
        }
        return migrator
    }
}

extension EnergyStore {
    /// Opens the store on a Dispatch thread: opening and migrating block, and blocking work stays off the
    /// Swift concurrency pool.
    public static func open(path: String, readOnly: Bool = false, realTime: any WallClock = SystemWallClock()) async throws -> EnergyStore {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try EnergyStore(path: path, readOnly: readOnly, realTime: realTime) })
            }
        }
    }
}

/// A store that cannot be used as asked, said in a sentence.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

extension EnergyStore {
    /// Bytes of the database as SQLite counts them (pages × page size), plus its WAL.
    public func databaseBytes() async throws -> Int64 {
        let pages = try await database.read { db in
            (try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0) * (try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
        }
        return pages + fileSizeBytes(of: path + "-wal")
    }
}
