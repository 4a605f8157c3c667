import ArgumentParser
import Foundation

@main
struct EnergyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy-bench",
        abstract: "Benchmarks energyd against the libmodbus floor and collectd's modbus plugin, in one run.",
        discussion: """
            Scenarios: connections (1000 meters on 1000 connections at 1 s), gateways (100 gateways × 10 unit ids at 1 s),
            dead (100 gateways, 10 of them dead), meters10k (1000 gateways × 10 meters at 1 s: memory at 10 000 meters),
            saturation (1000 gateways × 40 meters at 1 s, more than two cores can poll: the most polls/s), gateways5k (5000
            gateways × 10 meters at 1 s: one energyd past the old 1000-gateway ceiling, memory and lag), config (loading
            the 10 000-meter configuration, against Python's tomllib parsing it), writer (the SQLite
            writer alone, in poll order), rollups (1-minute readings of 1000 meters rolled up, then rebuilt), console (pages
            and API calls timed while energyd polls 10 000 meters, on a year of rollups), upstream (a month of 15-minute buckets
            of --upstream-meters meters shipped to a real PostgreSQL server, against a plain COPY of the same rows).
            Run with `swift run -c release energy-bench [SCENARIO …]`; metersim and energyd must be built in release.
            """)

    @Argument(help: "Scenarios to run (all when none).")
    var scenarios: [String] = []

    @Option(help: "Seconds measured per polling run (after 5 s of warm-up).")
    var seconds: Double = 20

    @Option(help: "Write the results as JSON here.")
    var out: String?

    @Option(help: "energyd's max_start_spread_ms in the polling scenarios (0: every meter polled on the tick).")
    var startSpreadMs = 900

    @Option(help: "Days of 1-minute readings in the rollup benchmark.")
    var rollupDays = 2

    @Option(help: "Meters whose 15-minute buckets the upstream benchmark ships.")
    var upstreamMeters = 10_000

    @Option(help: "Days of 15-minute buckets the upstream benchmark ships.")
    var upstreamDays = 31

    @Option(help: "Requests per page or API call in the console benchmark (after a first, cold one).")
    var consoleRequests = 200

    func run() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let work = NSTemporaryDirectory() + "/energy-bench"
        // The store scenarios first: minutes of polling at full load slow this kind of VM down (the libmodbus floor
        // itself drifts from 12 to 19 µs a request over a run), and their targets are absolute.
        let chosen =
            scenarios.isEmpty
            ? ["config", "writer", "rollups", "connections", "gateways", "dead", "meters10k", "saturation", "gateways5k", "console"]
            : scenarios
        var report: [String: AnyEncodable] = [:]
        var lines: [String] = []
        let polling = PollingBenchmark(binDirectory: bin, work: work, seconds: seconds, startSpreadMs: Int64(startSpreadMs))
        let scenarioByName: [String: PollingScenario] = [
            "connections": PollingScenario(name: "connections", gateways: 1000, metersPerGateway: 1),
            "gateways": PollingScenario(name: "gateways", gateways: 100, metersPerGateway: 10),
            "dead": PollingScenario(name: "dead", gateways: 100, metersPerGateway: 10, deadGateways: 10),
            "meters10k": PollingScenario(name: "meters10k", gateways: 1000, metersPerGateway: 10),
            "saturation": PollingScenario(name: "saturation", gateways: 1000, metersPerGateway: 40),
            "gateways5k": PollingScenario(name: "gateways5k", gateways: 5000, metersPerGateway: 10),
        ]
        for name in chosen {
            // Write back what the previous scenario left dirty, so that its I/O is not charged to this one.
            sync()
            if let scenario = scenarioByName[name] {
                say(
                    "== \(name): \(scenario.gateways) gateways × \(scenario.metersPerGateway) meters at \(scenario.intervalSeconds) s, \(scenario.deadGateways) dead, starts spread over \(startSpreadMs) ms"
                )
                let energyd = try polling.runEnergyd(scenario)
                let floor = try polling.runFloor(scenario)
                let collectd = try polling.runCollectd(scenario)
                var results = ["energyd": energyd, "libmodbus_floor": floor]
                results["collectd"] = collectd
                report[name] = AnyEncodable(results)
                lines.append(pollingLine(name, scenario, energyd, floor, collectd))
                say(lines.last!)
            } else if name == "config" {
                let scenario = scenarioByName["meters10k"]!
                say("== config: loading and validating \(scenario.meters) meters on \(scenario.gateways) gateways, median of 3")
                let result = try ConfigBenchmark(work: work).run(scenario)
                report[name] = AnyEncodable(result)
                lines.append(
                    String(
                        format:
                            "| config | %d meters (%.1f MiB of TOML) loaded and validated in %.2f s | python3 tomllib parsing it %.2f s | ratio %.2f |",
                        result.meters, Double(result.bytes) / 1_048_576, result.loadSeconds, result.baselineParseSeconds,
                        result.loadSeconds / result.baselineParseSeconds))
                say(lines.last!)
            } else if name == "writer" {
                say("== writer: 1000 meters (2000 series) × 600 ticks, in poll order, median of 3 runs")
                // The median of three runs: a few seconds each, so one noisy neighbour moment would show.
                let result = try (0..<3).map { _ in try StoreBenchmarks(work: work).writer() }
                    .sorted { $0.samplesPerSecond < $1.samplesPerSecond }[1]
                report[name] = AnyEncodable(result)
                lines.append(
                    String(
                        format:
                            "| writer | %.0f samples/s | floor (raw INSERTs in one transaction) %.0f samples/s | ratio %.2f | %.1f bytes/sample | target ≥ 300000: %@ |",
                        result.samplesPerSecond, result.baselineSamplesPerSecond, result.samplesPerSecond / result.baselineSamplesPerSecond,
                        result.bytesPerSample, result.samplesPerSecond >= 300_000 ? "met" : "missed"))
                say(lines.last!)
            } else if name == "console" {
                say("== console: 10 000 meters polled at 1 s, a year of rollups; pages and API calls timed (\(consoleRequests) each)")
                let result = try ConsoleBenchmark(polling: polling, requests: consoleRequests).run()
                report[name] = AnyEncodable(result)
                for latency in result.latencies {
                    lines.append(
                        String(
                            format:
                                "| console | %@ | cold %.0f ms | p50 %.1f ms | p99 %.1f ms (max %.1f) | /healthz p99 %.1f ms | p99 ≤ 100 ms: %@ |",
                            latency.name, latency.coldMs, latency.p50Ms, latency.p99Ms, latency.maxMs, result.floor.p99Ms,
                            latency.p99Ms <= 100 ? "met" : "MISSED"))
                    say(lines.last!)
                }
            } else if name == "upstream" {
                say("== upstream: \(upstreamMeters) meters × \(upstreamDays) days of 15-minute buckets to PostgreSQL 15, against COPY")
                let result = try UpstreamBenchmark(work: work).run(meters: upstreamMeters, days: upstreamDays)
                report[name] = AnyEncodable(result)
                lines.append(
                    String(
                        format: "| upstream | %d rows shipped at %.0f rows/s | plain COPY of the same rows %.0f rows/s | ratio %.2f |",
                        result.rows, result.shippedRowsPerSecond, result.copyRowsPerSecond,
                        result.shippedRowsPerSecond / result.copyRowsPerSecond))
                say(lines.last!)
            } else if name == "rollups" {
                say("== rollups: 1000 meters × \(rollupDays) days of 1-minute readings")
                let result = try StoreBenchmarks(work: work).rollups(days: rollupDays)
                report[name] = AnyEncodable(result)
                lines.append(
                    String(
                        format:
                            "| rollups | incremental %.0f readings/s (a year: %.1f min) | rebuild %.0f readings/s (a year: %.1f min) | baseline scan %.0f samples/s | ratio %.2f |",
                        result.incrementalReadingsPerSecond, result.yearIncrementalMinutes, result.rebuildReadingsPerSecond,
                        result.yearRebuildMinutes, result.scanReadingsPerSecond,
                        result.incrementalReadingsPerSecond / result.scanReadingsPerSecond))
                say(lines.last!)
            } else {
                throw ValidationError("unknown scenario \(name)")
            }
        }
        say("\nResults")
        lines.forEach { say($0) }
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: out))
        }
    }

    func pollingLine(_ name: String, _ scenario: PollingScenario, _ e: PollingResult, _ floor: PollingResult, _ c: PollingResult?) -> String
    {
        var text = String(
            format:
                "| %@ | %.0f polls/s | %.1f µs CPU/poll (pollers %.1f, rest %.1f; metersim %.1f) | lag p50 %.0f ms, p99 %.0f ms | RSS %.1f MiB | %.0f samples/s | %.1f B/sample | failed %.1f%% |",
            name, e.pollsPerSecond, e.cpuMicrosecondsPerPoll, e.pollerCPUMicrosecondsPerPoll,
            e.cpuMicrosecondsPerPoll - e.pollerCPUMicrosecondsPerPoll, e.simulatorCPUMicrosecondsPerPoll, e.lagP50Ms, e.lagP99Ms,
            e.peakRSSMiB, e.samplesStoredPerSecond,
            e.databaseBytesPerSample, e.failedPollShare * 100)
        text += String(
            format: " floor %.1f µs/request (energyd %.2f×) |", floor.cpuMicrosecondsPerPoll,
            e.cpuMicrosecondsPerPoll / floor.cpuMicrosecondsPerPoll)
        if let c, let aborted = c.aborted {
            text += " collectd aborted: \(aborted) |"
        } else if let c {
            text += String(
                format:
                    " collectd %.0f polls/s, %.1f µs CPU/poll, RSS %.1f MiB (CPU ratio collectd/energyd %.2f, polls/s ratio energyd/collectd %.2f) |",
                c.pollsPerSecond, c.cpuMicrosecondsPerPoll, c.peakRSSMiB, c.cpuMicrosecondsPerPoll / e.cpuMicrosecondsPerPoll,
                e.pollsPerSecond / max(c.pollsPerSecond, 1))
        } else {
            text += " collectd not installed |"
        }
        return text + " " + targets(name, scenario, e, floor, c).joined(separator: "; ") + " |"
    }

    /// The targets that apply to the scenario, each marked met or missed.
    func targets(_ name: String, _ scenario: PollingScenario, _ e: PollingResult, _ floor: PollingResult, _ c: PollingResult?) -> [String] {
        func mark(_ met: Bool) -> String { met ? "met" : "MISSED" }
        var checks = ["CPU/poll ≤ 1.3× floor: " + mark(e.cpuMicrosecondsPerPoll <= 1.3 * floor.cpuMicrosecondsPerPoll)]
        if let c, c.aborted == nil {
            checks.append("≥ 3× cheaper than collectd: " + mark(c.cpuMicrosecondsPerPoll >= 3 * e.cpuMicrosecondsPerPoll))
            if name == "saturation" { checks.append("≥ 2× collectd's polls/s: " + mark(e.pollsPerSecond >= 2 * c.pollsPerSecond)) }
        }
        if scenario.meters == 1000 && scenario.deadGateways == 0 { checks.append("lag p99 ≤ 10 ms: " + mark(e.lagP99Ms <= 10)) }
        if scenario.meters == 10_000 { checks.append("RSS ≤ 48 MiB: " + mark(e.peakRSSMiB <= 48)) }
        if scenario.gateways == 5000 {
            checks.append(String(format: "%.0f%% of the asked polls/s", 100 * e.pollsPerSecond / Double(scenario.meters)))
        }
        return checks
    }
}

/// Prints and flushes, so that a long run into a file or pipe shows each scenario as it finishes.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// Type-erased Encodable for the results file.
struct AnyEncodable: Encodable {
    let encodeBody: (any Encoder) throws -> Void
    init(_ value: some Encodable) { encodeBody = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeBody(encoder) }
}
