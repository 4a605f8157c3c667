import EnergyModel
import EnergyStore
import Foundation
import GRDB
import MeterSimulator
import TestSupport
import Testing

/// Real energyd processes, each on its own metersim district, shipping to a real PostgreSQL server (started in a
/// temporary directory) and to a real HTTPS-style JSON receiver.
@Suite(.serialized) struct UpstreamProcessTests {
    /// A simulated day in 6 s of real time: debug builds of three energyd and three simulators share two cores.
    static let speed = 14_400.0

    /// January closes three simulated days after the start.
    static func januaryClosingScenario() throws -> (Scenario, startMs: Int64, februaryMs: Int64) {
        let scenario = try ScenarioLoader.load(path: demoScenarioPath)
        let february = try #require(ISO8601Time.parseMs("2026-02-01T00:00:00+08:00"))
        return (scenario, february - 3 * 86_400_000, february)
    }

    static func postgresDestination(_ server: PostgresServer) -> UpstreamConfig {
        UpstreamConfig(
            name: "city", kind: .postgres, host: "127.0.0.1", port: server.port, database: server.database, user: server.user,
            timeoutSeconds: 10, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 2)
    }

    @Test func threeSitesShipToOneDatabaseAndTheCityViewsEqualTheirReports() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let (scenario, startMs, february) = try Self.januaryClosingScenario()
        var sites: [(harness: DaemonHarness, daemon: ChildProcess)] = []
        defer {
            let started = sites
            for site in started { site.daemon.send(SIGKILL) }
            Task { for site in started { await site.harness.stop() } }
        }
        for index in 1...3 {
            let harness = try await DaemonHarness.stepped(scenario, startMs: startMs)
            harness.stepper!.start(speed: Self.speed)
            var configuration = harness.simulator.configuration
            configuration.daemon.siteID = "site-\(index)"
            configuration.daemon.siteName = "第\(index)区"
            configuration.upstream = [Self.postgresDestination(postgres)]
            try harness.writeConfiguration(configuration)
            sites.append((harness, try harness.startDaemon()))
        }
        // Every site past January's end; then the meters fall silent, nothing more is accounted, and each site's
        // queue drains.
        for site in sites {
            #expect(await eventually(timeout: .seconds(120)) { site.harness.clock.nowMs() > february + 6 * 3_600_000 })
            await site.harness.simulator.stop()
        }
        for site in sites {
            let store = try await EnergyStore.open(path: site.harness.databasePath)
            let shipped = await eventually(timeout: .seconds(120), interval: .milliseconds(200)) {
                guard let status = try? await store.upstream.status().first else { return false }
                return status.failures == 0 && status.backlog == 0
            }
            let statuses = (try? await store.upstream.status()) ?? []
            #expect(shipped, "\(statuses) at \(ISO8601Time.format(ms: site.harness.clock.nowMs()))\n\(site.daemon.printed.suffix(3000))")
        }
        // Each site's own district report for January, from its own store.
        var reportedTce = 0.0
        var perSite: [String: Double] = [:]
        var energyAmounts: [String: Double] = [:]
        for (index, site) in sites.enumerated() {
            let district = try await energyctlJSON(["report", "district", "--config", site.harness.configPath, "--period", "2026-01"])
            let total = try #require((district["total"] as? [String: Any])?["comprehensiveTce"] as? Double)
            reportedTce += total
            perSite["site-\(index + 1)"] = total
            for enterprise in scenario.enterprises.keys {
                let report = try await energyctlJSON([
                    "report", "enterprise", "--config", site.harness.configPath, "--period", "2026-01", enterprise,
                ])
                for line in report["energy"] as? [[String: Any]] ?? [] {
                    let key = "\(line["quantity"]!):\(line["energy"]!):\(line["product"] as? String ?? "")"
                    energyAmounts[key, default: 0] += line["amount"] as? Double ?? 0
                }
            }
        }
        #expect(reportedTce > 100, "a January with real consumption: \(reportedTce) tce")
        let city = try postgres.query("SELECT sites, comprehensive_tce FROM em_city_monthly WHERE month = '2026-01-01'")
        #expect(city.first?.first == "3")
        let cityTce = try #require(city.first.flatMap { Double($0[1]) })
        // To the last unit of the reports (0.01 kgce).
        #expect(abs(cityTce - reportedTce) * 1000 < 0.005, "city view \(cityTce) tce, reports \(reportedTce) tce")
        for row in try postgres.query("SELECT site_id, comprehensive_tce FROM em_district_monthly WHERE month = '2026-01-01'") {
            let reported = try #require(perSite[row[0]])
            #expect(abs(Double(row[1])! - reported) * 1000 < 0.005, "\(row[0]): view \(row[1]) tce, report \(reported) tce")
        }
        let upstreamAmounts = try postgres.query(
            "SELECT quantity || ':' || energy || ':' || product, amount FROM em_city_energy_monthly WHERE month = '2026-01-01'")
        #expect(upstreamAmounts.count == energyAmounts.count)
        for row in upstreamAmounts {
            let reported = try #require(energyAmounts[row[0]], "\(row[0]) upstream only")
            #expect(abs(Double(row[1])! - reported) < 0.000_01, "\(row[0]): view \(row[1]), reports \(reported)")
        }
        // Monthly partitions were made as the months' first rows came.
        let partitions = try postgres.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' ORDER BY c.relname")
        #expect(partitions.map { $0[0] } == ["em_daily_2026_01", "em_daily_2026_02", "em_quarter_2026_01"], "\(partitions)")
        for site in sites {
            site.daemon.send(SIGTERM)
            #expect(await site.daemon.waitForExit() == 0, "\(site.daemon.printed.suffix(2000))")
        }
        // After shutdown nothing moves: each site's 15-minute buckets upstream are its own, exactly.
        for (index, site) in sites.enumerated() {
            let local = try await localQuarters(site.harness.databasePath)
            #expect(local.count > 1000)
            #expect(try upstreamQuarters(postgres, site: "site-\(index + 1)").isSuperset(of: local.filter { $0.bucketMs < february }))
        }
    }

    @Test func databaseRestartReceiverFailuresAndKillLeaveUpstreamEqualToLocal() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let (scenario, startMs, _) = try Self.januaryClosingScenario()
        let harness = try await DaemonHarness.stepped(scenario, startMs: startMs)
        harness.stepper!.start(speed: Self.speed)
        defer { Task { await harness.stop() } }
        // The receiver answers its first twelve requests with HTTP 500.
        let receiver = try await Receiver(
            "webhook_receiver.py", ["--secret", "s3cret", "--fail", "12"], log: harness.directory.file("upstream.jsonl"))
        defer { receiver.stop() }
        var configuration = harness.simulator.configuration
        configuration.daemon.siteID = "site-1"
        configuration.upstream = [
            Self.postgresDestination(postgres),
            UpstreamConfig(
                name: "province", kind: .https, url: "http://127.0.0.1:\(receiver.port)/upstream", secret: "s3cret", intervalSeconds: 1,
                retryFirstSeconds: 1, retryMaxSeconds: 2),
        ]
        try harness.writeConfiguration(configuration)
        let store = try await EnergyStore.open(path: harness.databasePath)
        func status(_ name: String) async -> UpstreamStatus? { try? await store.upstream.status().first { $0.name == name } }

        var daemon = try harness.startDaemon()
        defer { daemon.send(SIGKILL) }
        // Both ship; the receiver's destination once its twelve failures are behind it.
        #expect(await eventually(timeout: .seconds(60)) { (await status("city")?.shippedRows ?? 0) > 0 }, "\(daemon.printed.suffix(3000))")
        #expect(await eventually(timeout: .seconds(60)) { (await status("province")?.shippedRows ?? 0) > 0 })
        let provinceError = await status("province")?.lastError ?? ""
        #expect(provinceError.contains("HTTP 500"), "\(provinceError)")
        // PostgreSQL goes away: rounds fail and are retried; the receiver's destination goes on regardless.
        try postgres.stop()
        // A failed round is recorded (its time stays when a later round succeeds).
        let failing = await eventually(timeout: .seconds(90)) { await status("city")?.lastErrorAtMs != nil }
        #expect(failing, "\(daemon.printed.suffix(3000))")
        let provinceBefore = await status("province")?.shippedRows ?? 0
        #expect(await eventually(timeout: .seconds(30)) { (await status("province")?.shippedRows ?? 0) > provinceBefore })
        #expect((await status("city")?.backlog ?? 0) > 0)
        try postgres.start()
        // energyd killed while both destinations are shipping their backlog.
        #expect(await eventually(timeout: .seconds(30)) { (await status("city")?.failures ?? 1) == 0 })
        daemon.send(SIGKILL)
        _ = await daemon.waitForExit()
        daemon = try harness.startDaemon()
        // A few more simulated days, then the meters fall silent: nothing new to account, the backlog drains.
        let stopAt = harness.clock.nowMs() + 2 * 86_400_000
        #expect(await eventually(timeout: .seconds(60)) { harness.clock.nowMs() > stopAt })
        await harness.simulator.stop()
        // Three simulated hours on, the gateways' offline alerts are raised (after offline_after_s, an hour).
        let silentAt = harness.clock.nowMs()
        // Alerts as they stand locally and upstream: id, raised and cleared times.
        func localAlerts() async throws -> Set<String> {
            Set(try await store.alerts.list(openOnly: false).map { "\($0.id) \($0.raisedAtMs) \($0.clearedAtMs.map(String.init) ?? "-")" })
        }
        func upstreamAlerts() throws -> Set<String> {
            Set(
                try postgres.query(
                    """
                    SELECT alert_id, (extract(epoch FROM raised_at) * 1000)::bigint,
                        coalesce(((extract(epoch FROM cleared_at) * 1000)::bigint)::text, '-')
                    FROM em_alerts WHERE site_id = 'site-1'
                    """
                ).map { $0.joined(separator: " ") })
        }
        let drained = await eventually(timeout: .seconds(120), interval: .milliseconds(200)) {
            guard harness.clock.nowMs() > silentAt + 3 * 3_600_000 else { return false }
            let statuses = (try? await store.upstream.status()) ?? []
            guard statuses.count == 2 && statuses.allSatisfy({ $0.backlog == 0 && $0.failures == 0 }) else { return false }
            // The offline alerts raised meanwhile are upstream too, as they stand locally.
            guard let local = try? await localAlerts(), !local.isEmpty, let upstream = try? upstreamAlerts() else { return false }
            return upstream.isSuperset(of: local)
        }
        let statuses = (try? await store.upstream.status()) ?? []
        #expect(drained, "\(statuses)\n\(daemon.printed.suffix(3000))")
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "\(daemon.printed.suffix(2000))")

        let local = try await localQuarters(harness.databasePath)
        #expect(local.count > 1000)
        #expect(try upstreamQuarters(postgres, site: "site-1") == local, "PostgreSQL: every bucket, none missing, none doubled")
        #expect(foldedQuarters(receiver.received) == local, "HTTPS: every bucket, the last one sent for each key equal to the local one")
        // Alerts, and each month's comprehensive consumption.
        let monthly = try postgres.query(
            "SELECT to_char(month, 'YYYY-MM'), comprehensive_kgce FROM em_enterprise_monthly WHERE site_id = 'site-1' AND enterprise = 'E02'"
        )
        for row in monthly {
            let report = try await energyctlJSON(["report", "enterprise", "--config", harness.configPath, "--period", row[0], "E02"])
            let kgce = try #require(report["comprehensiveKgce"] as? Double)
            #expect(abs(Double(row[1])! - kgce) < 0.005, "\(row[0]): upstream \(row[1]), local \(kgce) kgce")
        }
        #expect(monthly.count == 2, "January and February: \(monthly)")
    }
}

/// One 15-minute bucket as stored: meter, point, bucket and amount in millionths.
struct QuarterKey: Hashable, CustomStringConvertible {
    var meter: String
    var point: String
    var bucketMs: Int64
    var amount: Int64
    var description: String { "\(meter)/\(point)@\(bucketMs)=\(amount)" }
}

/// The store's 15-minute rollup rows.
func localQuarters(_ path: String) async throws -> Set<QuarterKey> {
    try await DatabaseQueue(path: path).read { db in
        Set(
            try Row.fetchAll(
                db,
                sql:
                    "SELECT s.meter, s.point, c.bucket, c.amount FROM consumption c JOIN series s ON s.id = c.series WHERE c.resolution = '15min'"
            ).map { QuarterKey(meter: $0[0], point: $0[1], bucketMs: $0[2], amount: $0[3]) })
    }
}

/// A site's 15-minute rows in the central database (a row twice would fail its primary key, so a set loses nothing).
func upstreamQuarters(_ postgres: PostgresServer, site: String) throws -> Set<QuarterKey> {
    let rows = try postgres.query(
        """
        SELECT meter, point, (extract(epoch FROM bucket) * 1000)::bigint, (amount * 1000000)::bigint FROM em_quarter
        WHERE site_id = '\(site)'
        """)
    #expect(rows.count == Set(rows.map { $0[0] + $0[1] + $0[2] }).count)
    return Set(rows.map { QuarterKey(meter: $0[0], point: $0[1], bucketMs: Int64($0[2])!, amount: Int64($0[3])!) })
}

/// The receiver's quarter batches applied in order, each item replacing the one with its key.
func foldedQuarters(_ received: [[String: Any]]) -> Set<QuarterKey> {
    var latest: [String: QuarterKey] = [:]
    for message in received {
        for batch in (message["payload"] as? [String: Any])?["batches"] as? [[String: Any]] ?? []
        where batch["type"] as? String == "quarter" {
            guard let start = (batch["period_start"] as? String).flatMap({ ISO8601Time.parseMs($0) }) else { continue }
            for item in batch["items"] as? [[String: Any]] ?? [] {
                let meter = item["meter"] as? String ?? ""
                let point = item["point"] as? String ?? ""
                let amount = Int64((((item["amount"] as? Double) ?? 0) * 1_000_000).rounded())
                latest["\(meter)|\(point)|\(start)"] = QuarterKey(meter: meter, point: point, bucketMs: start, amount: amount)
            }
        }
    }
    return Set(latest.values)
}

/// energyctl's JSON answer.
func energyctlJSON(_ arguments: [String]) async throws -> [String: Any] {
    let process = try ChildProcess("energyctl", arguments + ["--format", "json"])
    #expect(await process.waitForExit(timeout: .seconds(60)) == 0, "\(process.printed.prefix(2000))")
    return try #require(
        try JSONSerialization.jsonObject(with: Data(process.standardOutput.utf8)) as? [String: Any], "\(process.printed.prefix(500))")
}
