import Accounts
import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation
import GRDB
import TestSupport
import WebConsole

/// What the console benchmark measured: latency per request kind, and the /healthz floor beside them.
struct ConsoleResult: Codable {
    struct Latency: Codable {
        var name: String
        var requests: Int
        /// The first request: figures computed, not yet kept.
        var coldMs: Double
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }
    var meters: Int
    var enterprises: Int
    var rollupRows: Int
    var latencies: [Latency]
    var floor: Latency
}

/// The console under load: energyd polling 1000 gateways × 10 meters at 1 s (metersim on loopback) on a database
/// that holds a year of daily and monthly rollups of all 20 000 series (and their 15-minute and hourly buckets of
/// the last week); district and enterprise pages and their API calls are timed one after another.
struct ConsoleBenchmark {
    let polling: PollingBenchmark
    let requests: Int

    func run() throws -> ConsoleResult {
        let scenario = PollingScenario(name: "console", gateways: 1000, metersPerGateway: 10)
        let (sim, generated, configPath, _) = try polling.startSimulator(scenario)
        defer { sim.stop() }
        // Ten towns and parks of a hundred enterprises each.
        var configuration = generated
        for index in configuration.enterprises.indices { configuration.enterprises[index].jurisdiction = "镇\(index % 10)" }
        try ConfigurationWriter.toml(configuration).write(toFile: configPath, atomically: true, encoding: .utf8)
        let store = try EnergyStore(path: configuration.daemon.databasePath)
        let finished = configuration
        _ = try blocking { try await store.registerSeries(for: finished) }
        let rows = try fillRollups(store, configuration)
        let token = Secrets.newToken()
        try blocking {
            _ = try await store.accounts.add(
                StoredAccount(
                    name: "bench", role: .inspector, scope: [], passwordHash: await Secrets.hashPassword("bench-password"), createdMs: 0))
            try await store.accounts.addAPIToken(tokenHash: Secrets.tokenHash(token), account: "bench", label: "bench", nowMs: 0)
        }
        let http = configuration.daemon.httpEndpoint!.port
        let daemon = try Child(
            polling.binDirectory + "/energyd", ["run", "--config", configPath, "--log-level", "warning"], log: polling.work + "/energyd.log"
        )
        defer { daemon.stop() }
        guard wait(seconds: 60, until: { httpGet(port: http, path: "/healthz") != nil }) else {
            throw BenchError("energyd did not start; see \(polling.work)/energyd.log")
        }
        Thread.sleep(forTimeInterval: polling.warmup)
        let login = try exchange(http, "POST", "/login", body: "account=bench&password=bench-password")
        guard let cookie = login.headers.first(where: { $0.hasPrefix("Set-Cookie:") })?.dropFirst(12).split(separator: ";").first else {
            throw BenchError("cannot log in: \(login.status)")
        }
        let month = String(ISO8601Time.formatLocal(ms: SystemWallClock().nowMs(), timeZone: configuration.calendar.timeZone).prefix(7))
        let page = "Cookie: \(cookie.trimmingCharacters(in: .whitespaces))"
        let api = "Authorization: Bearer \(token)"
        let targets: [(String, String, String)] = [
            ("district page", "/?period=\(month)", page), ("district API", "/api/v1/district?period=\(month)", api),
            ("enterprise page", "/enterprises/E500?period=\(month)", page),
            ("enterprise API", "/api/v1/enterprises/E500?period=\(month)", api),
            ("alerts API", "/api/v1/alerts?state=open", api), ("meter samples API", "/api/v1/meters/g500m0/samples", api),
        ]
        var latencies: [ConsoleResult.Latency] = []
        for (name, path, header) in targets {
            latencies.append(try measure(name, http, path, header: header))
            say(
                String(
                    format: "   %@: cold %.0f ms, p50 %.1f ms, p99 %.1f ms", name, latencies.last!.coldMs, latencies.last!.p50Ms,
                    latencies.last!.p99Ms))
        }
        let floor = try measure("/healthz", http, "/healthz", header: "X-Floor: 1")
        return ConsoleResult(
            meters: scenario.meters, enterprises: configuration.enterprises.count, rollupRows: rows, latencies: latencies, floor: floor)
    }

    /// `requests` sequential requests after a first (cold) one.
    func measure(_ name: String, _ port: Int, _ path: String, header: String) throws -> ConsoleResult.Latency {
        func timed() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            let answer = try exchange(port, "GET", path, header: header)
            guard answer.status == 200 else { throw BenchError("\(path): \(answer.status)") }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        let cold = try timed()
        let times = try (0..<requests).map { _ in try timed() }.sorted()
        func quantile(_ q: Double) -> Double { times[min(times.count - 1, Int((Double(times.count) * q).rounded(.up)) - 1)] }
        return ConsoleResult.Latency(
            name: name, requests: requests, coldMs: cold, p50Ms: quantile(0.5), p99Ms: quantile(0.99), maxMs: times.last!)
    }

    func exchange(_ port: Int, _ method: String, _ path: String, header: String = "", body: String = "") throws -> (
        status: Int, headers: [String]
    ) {
        let headers = header.isEmpty ? "" : header + "\r\n"
        let type = method == "POST" ? "Content-Type: application/x-www-form-urlencoded\r\n" : ""
        // A first request computes a report over a thousand enterprises: give it minutes.
        let text = try HTTPGet.exchange(
            port: port,
            request:
                "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\(headers)\(type)Content-Length: \(body.utf8.count)\r\n\r\n\(body)",
            timeoutSeconds: 300)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        let lines = head.components(separatedBy: "\r\n")
        return (Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0, Array(lines.dropFirst()))
    }

    /// A year of daily rollups up to today and twelve months of monthly ones for every accounted series, and
    /// 15-minute and hourly buckets for the last 7 days, written straight into the rollup table.
    func fillRollups(_ store: EnergyStore, _ configuration: EnergyConfiguration) throws -> Int {
        let calendar = configuration.calendar
        let today = calendar.start(of: .day, containing: SystemWallClock().nowMs())
        let series = try blocking { try await store.allSeries().filter(\.isAccounted).map(\.id) }
        var buckets: [(Resolution, Int64, Int64)] = []  // resolution, bucket, length
        for day in 0..<365 { buckets.append((.day, today - Int64(day) * 86_400_000, 86_400_000)) }
        var month = calendar.start(of: .month, containing: today)
        for _ in 0..<12 {
            let previous = calendar.start(of: .month, containing: month - 1)
            buckets.append((.month, month, calendar.next(.month, after: month) - month))
            month = previous
        }
        for quarter in 0..<(7 * 96) { buckets.append((.quarter, today + 86_400_000 - Int64(quarter + 1) * 900_000, 900_000)) }
        for hour in 0..<(7 * 24) { buckets.append((.hour, today + 86_400_000 - Int64(hour + 1) * 3_600_000, 3_600_000)) }
        try store.database.write { db in
            let insert = try db.makeStatement(
                sql: "INSERT OR REPLACE INTO consumption (series, resolution, bucket, amount, estimated, good) VALUES (?, ?, ?, ?, ?, ?)")
            for id in series {
                for (resolution, bucket, length) in buckets {
                    // 1 kWh a minute (60 kW), 1 % of it estimated, a reading a second.
                    let amount = length / 60_000 * 1_000_000
                    try insert.execute(arguments: [id, resolution.rawValue, bucket, amount, amount / 100, length / 1000])
                }
            }
        }
        return series.count * buckets.count
    }
}
