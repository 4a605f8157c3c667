/// The central database's tables and views, created and migrated by whichever energyd connects first.
///
/// Every row carries the sending site's id. 15-minute buckets, daily figures and raw history grow without end, so
/// they are partitioned by month (a partition is created when a month's first row arrives; old months can be
/// detached or dropped whole); monthly figures, verdicts, production and alerts are small. Amounts are exact
/// decimals (the sites count in millionths), standard coal in double precision as the sites compute it.
enum PostgresSchema {
    /// Serialises schema changes and partition creation across sites: `pg_advisory_xact_lock(lockKey)`.
    static let lockKey: Int64 = 0x656E_6572_6779  // "energy"

    /// Tables partitioned by month on a column, and what a partition's bounds are made of.
    static let partitioned: [(table: String, column: String, isDate: Bool)] = [("em_quarter", "bucket", false), ("em_daily", "day", true)]

    /// Migrations by version; each runs once, in order, in one transaction.
    static let migrations: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE em_sites (
                    site_id text PRIMARY KEY,
                    name text NOT NULL,
                    time_zone text NOT NULL,
                    last_shipped_at timestamptz NOT NULL
                )
                """,
                """
                CREATE TABLE em_enterprises (
                    site_id text NOT NULL REFERENCES em_sites,
                    enterprise text NOT NULL,
                    name text NOT NULL,
                    jurisdiction text NOT NULL,
                    industry text NOT NULL,
                    PRIMARY KEY (site_id, enterprise)
                )
                """,
                """
                CREATE TABLE em_quarter (
                    site_id text NOT NULL,
                    enterprise text NOT NULL,
                    meter text NOT NULL,
                    point text NOT NULL,
                    energy text NOT NULL,
                    quantity text NOT NULL,
                    unit text NOT NULL,
                    bucket timestamptz NOT NULL,
                    amount numeric(24, 6) NOT NULL,
                    estimated numeric(24, 6) NOT NULL,
                    good integer NOT NULL,
                    kgce double precision,
                    PRIMARY KEY (site_id, meter, point, bucket)
                ) PARTITION BY RANGE (bucket)
                """,
                "CREATE INDEX em_quarter_enterprise ON em_quarter (site_id, enterprise, bucket)",
                """
                CREATE TABLE em_daily (
                    site_id text NOT NULL,
                    enterprise text NOT NULL,
                    day date NOT NULL,
                    quantity text NOT NULL,
                    energy text NOT NULL,
                    product text NOT NULL,
                    amount numeric(24, 6) NOT NULL,
                    unit text NOT NULL,
                    kgce double precision,
                    estimated numeric(24, 6) NOT NULL,
                    completeness double precision NOT NULL,
                    factor double precision,
                    factor_source text,
                    PRIMARY KEY (site_id, enterprise, day, quantity, energy, product)
                ) PARTITION BY RANGE (day)
                """,
                "CREATE INDEX em_daily_day ON em_daily (day, site_id)",
                """
                CREATE TABLE em_monthly (
                    site_id text NOT NULL,
                    enterprise text NOT NULL,
                    month date NOT NULL,
                    quantity text NOT NULL,
                    energy text NOT NULL,
                    product text NOT NULL,
                    amount numeric(24, 6) NOT NULL,
                    unit text NOT NULL,
                    kgce double precision,
                    estimated numeric(24, 6) NOT NULL,
                    completeness double precision NOT NULL,
                    factor double precision,
                    factor_source text,
                    PRIMARY KEY (site_id, enterprise, month, quantity, energy, product)
                )
                """,
                "CREATE INDEX em_monthly_month ON em_monthly (month, site_id)",
                """
                CREATE TABLE em_unit_consumption (
                    site_id text NOT NULL,
                    enterprise text NOT NULL,
                    product text NOT NULL,
                    month date NOT NULL,
                    quota text NOT NULL,
                    standard text NOT NULL,
                    unit text NOT NULL,
                    output double precision NOT NULL,
                    energy_kgce double precision NOT NULL,
                    unit_consumption double precision,
                    levels double precision[] NOT NULL,
                    verdict text NOT NULL,
                    completeness double precision NOT NULL,
                    illustrative boolean NOT NULL,
                    PRIMARY KEY (site_id, enterprise, product, month)
                )
                """,
                """
                CREATE TABLE em_production (
                    site_id text NOT NULL,
                    enterprise text NOT NULL,
                    product text NOT NULL,
                    day date NOT NULL,
                    quantity double precision NOT NULL,
                    source text NOT NULL,
                    PRIMARY KEY (site_id, enterprise, product, day)
                )
                """,
                """
                CREATE TABLE em_alerts (
                    site_id text NOT NULL,
                    alert_id bigint NOT NULL,
                    key text NOT NULL,
                    kind text NOT NULL,
                    severity text NOT NULL,
                    enterprise text NOT NULL,
                    subject text NOT NULL,
                    raised_at timestamptz NOT NULL,
                    cleared_at timestamptz,
                    raised_record jsonb NOT NULL,
                    cleared_record jsonb,
                    PRIMARY KEY (site_id, alert_id)
                )
                """,
                "CREATE INDEX em_alerts_open ON em_alerts (site_id, enterprise) WHERE cleared_at IS NULL",
                // Comprehensive consumption (综合能耗) of each enterprise and month: its lines with a factor, exports negative.
                """
                CREATE VIEW em_enterprise_monthly AS
                SELECT m.site_id, m.enterprise, e.name, e.jurisdiction, e.industry, m.month,
                    coalesce(sum(m.kgce), 0) AS comprehensive_kgce,
                    coalesce(sum(m.kgce), 0) / 1000 AS comprehensive_tce
                FROM em_monthly m LEFT JOIN em_enterprises e USING (site_id, enterprise)
                GROUP BY m.site_id, m.enterprise, e.name, e.jurisdiction, e.industry, m.month
                """,
                // The district report across sites: by site and town or park, then by site.
                """
                CREATE VIEW em_district_jurisdiction_monthly AS
                SELECT site_id, jurisdiction, month, count(*) AS enterprises, sum(comprehensive_kgce) AS comprehensive_kgce,
                    sum(comprehensive_tce) AS comprehensive_tce
                FROM em_enterprise_monthly GROUP BY site_id, jurisdiction, month
                """,
                """
                CREATE VIEW em_district_monthly AS
                SELECT x.site_id, s.name AS site_name, x.month, count(*) AS enterprises, sum(x.comprehensive_kgce) AS comprehensive_kgce,
                    sum(x.comprehensive_tce) AS comprehensive_tce,
                    (SELECT count(*) FILTER (WHERE u.verdict = 'over-limit') FROM em_unit_consumption u
                        WHERE u.site_id = x.site_id AND u.month = x.month) AS products_over_limit
                FROM em_enterprise_monthly x JOIN em_sites s USING (site_id) GROUP BY x.site_id, s.name, x.month
                """,
                // The city (or province) over every site, and its energy by type.
                """
                CREATE VIEW em_city_monthly AS
                SELECT month, count(DISTINCT site_id) AS sites, count(*) AS enterprises, sum(comprehensive_kgce) AS comprehensive_kgce,
                    sum(comprehensive_tce) AS comprehensive_tce
                FROM em_enterprise_monthly GROUP BY month
                """,
                """
                CREATE VIEW em_city_energy_monthly AS
                SELECT month, quantity, energy, product, unit, count(DISTINCT site_id) AS sites, sum(amount) AS amount,
                    sum(estimated) AS estimated, sum(kgce) AS kgce
                FROM em_monthly GROUP BY month, quantity, energy, product, unit
                """,
                // Unit consumption judged against quotas, across sites: what share meets each level.
                """
                CREATE VIEW em_city_quota_monthly AS
                SELECT month, standard, count(*) AS products,
                    count(*) FILTER (WHERE verdict LIKE 'level-%') AS within_quota,
                    count(*) FILTER (WHERE verdict = 'over-limit') AS over_limit,
                    count(*) FILTER (WHERE verdict NOT LIKE 'level-%' AND verdict <> 'over-limit') AS not_judged
                FROM em_unit_consumption WHERE NOT illustrative GROUP BY month, standard
                """,
            ]
        ),
        (
            2,
            [
                // Energy entered by hand (手工填报) beside metered energy of the same type: a line of its own.
                "ALTER TABLE em_daily ADD COLUMN source text NOT NULL DEFAULT 'metered'",
                "ALTER TABLE em_daily DROP CONSTRAINT em_daily_pkey",
                "ALTER TABLE em_daily ADD PRIMARY KEY (site_id, enterprise, day, quantity, energy, product, source)",
                "ALTER TABLE em_monthly ADD COLUMN source text NOT NULL DEFAULT 'metered'",
                "ALTER TABLE em_monthly DROP CONSTRAINT em_monthly_pkey",
                "ALTER TABLE em_monthly ADD PRIMARY KEY (site_id, enterprise, month, quantity, energy, product, source)",
            ]
        ),
    ]

    /// Name of a table's partition holding `year`-`month`.
    static func partitionName(_ table: String, year: Int, month: Int) -> String {
        "\(table)_\(year)_\(month < 10 ? "0" : "")\(month)"
    }

    /// The statement creating that partition when it is missing.
    static func createPartition(_ table: String, isDate: Bool, year: Int, month: Int) -> String {
        let (nextYear, nextMonth) = month == 12 ? (year + 1, 1) : (year, month + 1)
        func bound(_ y: Int, _ m: Int) -> String {
            let day = "\(y)-\(m < 10 ? "0" : "")\(m)-01"
            return isDate ? "'\(day)'" : "'\(day) 00:00:00+00'"
        }
        return """
            CREATE TABLE IF NOT EXISTS \(partitionName(table, year: year, month: month)) PARTITION OF \(table)
            FOR VALUES FROM (\(bound(year, month))) TO (\(bound(nextYear, nextMonth)))
            """
    }
}
