import EnergyModel
import EnergyStore
import Foundation
import GRDB
import Logging
import MeterSimulator
import TestSupport
import Testing

@testable import Upstream

/// Shipping upstream under real outages and changes, in process against a real PostgreSQL: rounds that cannot
/// hang, sites with roles of their own, completeness and factors that change without the rollups changing.
@Suite(.serialized) struct UpstreamOutageTests {
    static let january: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00
    static let day: Int64 = 86_400_000

    /// A store holding the demo district's readings of `days` days (and `hours` hours) from 1 January, accounted.
    static func district(days: Int, hours: Int = 0, in directory: TemporaryDirectory) async throws -> (EnergyStore, EnergyConfiguration) {
        let scenario = try ScenarioLoader.load(path: demoScenarioPath)
        let plant = SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: january))
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let ids = try await store.registerSeries(for: scenario.configuration)
        let samples = PlantFeed.samples(
            plant: plant, seriesIDs: ids, fromMs: january, toMs: january + Int64(days) * day + Int64(hours) * 3_600_000)
        for start in stride(from: 0, to: samples.count, by: 50_000) {
            try await store.insert(Array(samples[start..<min(start + 50_000, samples.count)]))
        }
        try await store.account(calendar: scenario.configuration.calendar)
        var configuration = scenario.configuration
        configuration.daemon.siteID = "site-a"
        return (store, configuration)
    }

    static var logger: Logger {
        var logger = Logger(label: "upstream-test")
        logger.logLevel = .critical
        return logger
    }

    func status(_ store: EnergyStore, _ name: String) async throws -> UpstreamStatus? {
        try await store.upstream.status().first { $0.name == name }
    }

    @Test func aRoundAgainstAServerThatNeverAnswersFailsWithinItsTimeoutAndAStopDoesNotWait() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, configuration) = try await Self.district(days: 1, in: directory)
        // A "database" that takes the connection and never says a word.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, 16) } }
        listen(silent, 16)
        defer { close(silent) }
        var bound = sockaddr_in()
        var length = socklen_t(16)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) }
        }
        let destination = UpstreamConfig(
            name: "silent", kind: .postgres, host: "127.0.0.1", port: Int(UInt16(bigEndian: bound.sin_port)), database: "energy",
            user: "energyd", timeoutSeconds: 2, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 1)
        var withDestination = configuration
        withDestination.upstream = [destination]
        let shipper = UpstreamShipper(store: store, configuration: withDestination, logger: Self.logger)
        let running = Task { await shipper.run() }
        // Two failed rounds, each within its 2 s.
        let failed = await eventually(timeout: .seconds(20)) { (try? await status(store, "silent"))?.failures ?? 0 >= 2 }
        let failing = try await status(store, "silent")
        #expect(failed, "\(String(describing: failing))")
        // The driver's connect timeout and the round's deadline are both timeout_s: either may say so first.
        let error = failing?.lastError ?? ""
        #expect(error.contains("timeout_s") || error.contains("Connect timeout (2 s)"), "\(error)")
        #expect(failing?.lastSuccessAtMs == nil, "nothing reached the destination")
        // A stop in the middle of a hung round returns at once.
        let stopping = ContinuousClock.now
        running.cancel()
        await running.value
        #expect(ContinuousClock.now - stopping < .seconds(2))
    }

    @Test func postgresStoppedAgainAndAgainMidShipmentLosesAndDoublesNothing() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, configuration) = try await Self.district(days: 20, in: directory)
        var withDestination = configuration
        withDestination.upstream = [
            UpstreamConfig(
                name: "city", kind: .postgres, host: "127.0.0.1", port: postgres.port, database: postgres.database, user: postgres.user,
                timeoutSeconds: 3, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 1)
        ]
        let shipper = UpstreamShipper(store: store, configuration: withDestination, logger: Self.logger)
        let running = Task { await shipper.run() }
        var interrupted = 0
        for stop in 0..<5 {
            // The whole history queued again (as a corrected factor would), then the server stopped under the
            // shipment at a random moment.
            var corrected = configuration
            corrected.factors.deployment.append(
                CoalFactor(
                    energy: .electricity, kgcePerUnit: 0.1229 + Double(stop + 1) * 1e-4, effectiveFrom: "2026-01-01",
                    effectiveFromMs: Self.january, source: "requeue \(stop)"))
            try await store.upstream.noteFigureSettings(FigureSettings.of(stop == 0 ? configuration : corrected), nowMs: 0)
            if stop == 0 { try await store.upstream.noteFigureSettings(FigureSettings.of(corrected), nowMs: 0) }
            let before = try await status(store, "city")?.shippedRows ?? 0
            _ = await eventually(timeout: .seconds(30), interval: .milliseconds(5)) {
                (try? await status(store, "city"))?.shippedRows ?? 0 > before
            }
            // Moments spread over a round's length, the same in every run.
            try await Task.sleep(for: .milliseconds(stop * 73 % 300))
            let failuresBefore = try await status(store, "city")?.failures ?? 0
            try postgres.stop()
            // While changes wait, a round fails within its timeout (none hangs on the closed connection).
            if try await status(store, "city")?.backlog ?? 0 > 0 {
                interrupted += 1
                let noticed = await eventually(timeout: .seconds(15)) { (try? await status(store, "city"))?.failures ?? 0 > failuresBefore }
                #expect(noticed, "stop \(stop): a round fails while the server is down, within its timeout")
            }
            try postgres.start()
        }
        #expect(interrupted >= 3, "the server went down under a shipment \(interrupted) times of 5")
        let drained = await eventually(timeout: .seconds(120)) { (try? await status(store, "city"))?.backlog == 0 }
        let final = try await status(store, "city")
        #expect(drained, "\(String(describing: final))")
        let stopping = ContinuousClock.now
        running.cancel()
        await running.value
        #expect(ContinuousClock.now - stopping < .seconds(4))
        let local = try await localQuarters(directory.file("energy.sqlite"))
        #expect(try upstreamQuarters(postgres, site: "site-a") == local)
    }

    @Test func twoSitesWithRolesOfTheirOwnShareOneSchemaThroughAGroupRole() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        // docs/UPSTREAM.md's setup: a group role owns what energyd creates; each site logs in as a member.
        _ = try postgres.query(
            """
            CREATE ROLE energy_monitor NOLOGIN;
            CREATE ROLE energyd_a LOGIN IN ROLE energy_monitor;
            CREATE ROLE energyd_b LOGIN IN ROLE energy_monitor;
            GRANT CONNECT, CREATE ON DATABASE energy TO energy_monitor;
            GRANT USAGE, CREATE ON SCHEMA public TO energy_monitor;
            """)
        var shipped: [String: Set<QuarterKey>] = [:]
        for (site, user) in [("site-a", "energyd_a"), ("site-b", "energyd_b")] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            var (store, configuration) = try await Self.district(days: site == "site-a" ? 2 : 3, in: directory)
            configuration.daemon.siteID = site
            let destination = UpstreamConfig(
                name: "city", kind: .postgres, host: "127.0.0.1", port: postgres.port, database: postgres.database, user: user,
                role: "energy_monitor",
                timeoutSeconds: 10, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 1)
            let rows = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
            #expect(rows > 0)
            shipped[site] = try await localQuarters(directory.file("energy.sqlite"))
        }
        for (site, rows) in shipped { #expect(try upstreamQuarters(postgres, site: site) == rows, "\(site)") }
        #expect(try postgres.query("SELECT tableowner FROM pg_tables WHERE tablename = 'em_quarter'") == [["energy_monitor"]])
    }

    @Test func completenessOfSilentMetersAndACorrectedFactorReachUpstream() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var (store, configuration) = try await Self.district(days: 3, hours: 12, in: directory)
        let destination = UpstreamConfig(
            name: "city", kind: .postgres, host: "127.0.0.1", port: postgres.port, database: postgres.database, user: postgres.user,
            timeoutSeconds: 10, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 1)
        try await store.upstream.noteFigureSettings(FigureSettings.of(configuration), nowMs: 0)
        _ = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
        func upstreamDay(_ enterprise: String, _ day: String, _ energy: String) throws -> (kgce: Double, completeness: Double)? {
            try postgres.query(
                """
                SELECT kgce, completeness FROM em_daily WHERE site_id = 'site-a' AND enterprise = '\(enterprise)' AND day = '\(day)'
                AND energy = '\(energy)' AND quantity = 'consumption'
                """
            ).first.map { (Double($0[0]) ?? .nan, Double($0[1]) ?? .nan) }
        }
        let before = try #require(try upstreamDay("E01", "2026-01-04", "electricity"))
        #expect(before.completeness > 0.99, "4 January read to its noon, every poll good so far")

        // The meters fall silent from noon: every poll fails for six hours. No good reading, no rollup change, but
        // the day's completeness falls (its polls count up to the newest sample).
        let series = try await store.allSeries()
        let evening: Int64 = Self.january + 3 * Self.day + 12 * 3_600_000 + 1
        var silent: [Sample] = []
        for minute in 0..<Int64(6 * 60) {
            for record in series {
                silent.append(Sample(seriesID: record.id, timestampMs: evening + minute * 60_000, value: nil, quality: .commFail))
            }
        }
        try await store.insert(silent)
        try await store.account(calendar: configuration.calendar)
        #expect(
            try await store.upstream.pending(destination: "city", limit: 100).contains { $0.kind == .enterprise && $0.key == "E01" },
            "failed readings alone queue their enterprise's figures")
        _ = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
        let after = try #require(try upstreamDay("E01", "2026-01-04", "electricity"))
        // By hand: polls count up to the newest sample, 17:59 (the last failed one); good ones reach noon: 12 / 17.983.
        #expect(abs(after.completeness - 12 / (17 + 59.0 / 60)) < 0.01, "\(after.completeness) upstream")

        // A dated factor for electricity from 2 January: days from then on change, 1 January does not.
        let january1 = try #require(try upstreamDay("E01", "2026-01-01", "electricity"))
        let january2 = try #require(try upstreamDay("E01", "2026-01-02", "electricity"))
        let from = try #require(configuration.calendar.startOfDay("2026-01-02"))
        configuration.factors.deployment.append(
            CoalFactor(
                energy: .electricity, kgcePerUnit: 0.2, effectiveFrom: "2026-01-02", effectiveFromMs: from, source: "test correction"))
        let queued = try await store.upstream.noteFigureSettings(FigureSettings.of(configuration), nowMs: 0)
        #expect(Set(queued) == Set(configuration.enterprises.map(\.id)))
        #expect(try await store.upstream.pending(destination: "city", limit: 10_000).allSatisfy { $0.kind == .alert || $0.fromMs == from })
        _ = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
        #expect(try upstreamDay("E01", "2026-01-01", "electricity")?.kgce == january1.kgce)
        let corrected = try #require(try upstreamDay("E01", "2026-01-02", "electricity"))
        #expect(abs(corrected.kgce / january2.kgce - 0.2 / 0.1229) < 1e-6, "\(corrected.kgce) after \(january2.kgce)")
    }

    @Test func energyEnteredByHandShipsBesideMeteredEnergyOfTheSameType() async throws {
        let postgres = try PostgresServer()
        defer { postgres.destroy() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, configuration) = try await Self.district(days: 3, in: directory)
        let destination = UpstreamConfig(
            name: "city", kind: .postgres, host: "127.0.0.1", port: postgres.port, database: postgres.database, user: postgres.user,
            timeoutSeconds: 10, intervalSeconds: 1, retryFirstSeconds: 1, retryMaxSeconds: 1)
        _ = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
        // E02 weighs its coal on a belt scale (metered raw_coal) and also enters coal bought and burned elsewhere.
        for (energy, arguments) in [("raw_coal", (nil, 500.0, 120.0, 80.0)), ("diesel", (12.5, nil, nil, nil))]
            as [(String, (Double?, Double?, Double?, Double?))]
        {
            let entry = try EnergyEntry.checked(
                enterprise: "E02", month: "2026-01", energy: energy, unit: "t", consumption: arguments.0, purchases: arguments.1,
                openingStock: arguments.2, closingStock: arguments.3, nowMs: Self.january + 3 * Self.day, in: configuration)
            try await store.entries.record(entry, source: "test", enteredMs: 0, calendar: configuration.calendar)
        }
        #expect(try await store.upstream.pending(destination: "city", limit: 100).contains { $0.kind == .enterprise && $0.key == "E02" })
        _ = try await UpstreamShipper(store: store, configuration: configuration, logger: Self.logger).drain(destination)
        let monthly = try postgres.query(
            """
            SELECT energy, source, amount, kgce FROM em_monthly WHERE site_id = 'site-a' AND enterprise = 'E02' AND month = '2026-01-01'
            AND energy IN ('raw_coal', 'diesel') ORDER BY energy, source
            """)
        #expect(monthly.map { "\($0[0]) \($0[1])" } == ["diesel entered", "raw_coal entered", "raw_coal metered"], "\(monthly)")
        // GB/T 2589-2020: (500 + 120 − 80) t = 540 000 kg × 0.7143 = 385 722 kgce; 12 500 kg × 1.4571 = 18 213.75 kgce.
        #expect(abs((Double(monthly[1][3]) ?? 0) - 385_722) < 1e-6 && abs((Double(monthly[0][3]) ?? 0) - 18_213.75) < 1e-6, "\(monthly)")
        // A day carries its 31st of the month: 12 500 kg ÷ 31 = 403.225806 kg (to the micro-kilogram, the first days
        // taking the remainder).
        let day = try postgres.query(
            "SELECT amount FROM em_daily WHERE site_id = 'site-a' AND enterprise = 'E02' AND day = '2026-01-02' AND energy = 'diesel'")
        #expect(day.map { $0[0] } == ["403.225807"], "\(day)")
    }

    @Test func aResendCarriesTheFirstAttemptsIdempotencyKey() throws {
        let shipment = Shipment(site: Site(id: "site-a", name: "A", timeZone: "Asia/Shanghai"))
        let first = try EnergyMonitorV1.encode(shipment, sentAt: Date(timeIntervalSince1970: 1_000))
        let second = try EnergyMonitorV1.encode(shipment, sentAt: Date(timeIntervalSince1970: 2_000))
        #expect(first.body != second.body, "each attempt says when it was sent")
        #expect(first.idempotencyKey == second.idempotencyKey)
    }
}
