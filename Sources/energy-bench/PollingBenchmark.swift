import CModbus
import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation

/// A polling scenario: gateways × meters at an interval, some gateways dead.
struct PollingScenario {
    var name: String
    var gateways: Int
    var metersPerGateway: Int
    var intervalSeconds = 1
    var deadGateways = 0
    var meters: Int { gateways * metersPerGateway }
}

/// What one polling run measured.
struct PollingResult: Codable {
    var polls: Double = 0
    var pollsPerSecond: Double = 0
    var cpuMicrosecondsPerPoll: Double = 0
    /// The part of it spent in the gateway pollers' threads (the rest: writer, accounting, checks, HTTP).
    var pollerCPUMicrosecondsPerPoll: Double = 0
    /// metersim's CPU per poll, to show the simulator is not the limit.
    var simulatorCPUMicrosecondsPerPoll: Double = 0
    var lagP50Ms: Double = 0
    var lagP99Ms: Double = 0
    var peakRSSMiB: Double = 0
    var samplesStoredPerSecond: Double = 0
    var databaseBytesPerSample: Double = 0
    var failedPollShare: Double = 0
    /// Why the run ended early, if it did (collectd aborts when libmodbus meets a descriptor of 1024 or above).
    var aborted: String?
}

/// Runs metersim and energyd (release builds beside this one) on a generated district and measures energyd.
struct PollingBenchmark {
    let binDirectory: String
    let work: String
    let seconds: Double
    /// energyd's `max_start_spread_ms`.
    let startSpreadMs: Int64
    let warmup: Double = 5

    /// The configuration: ADL400 meters (two points, one request per poll), ports from `basePort`.
    func configuration(_ scenario: PollingScenario, basePort: Int, database: String, http: Int) throws -> EnergyConfiguration {
        var configuration = EnergyConfiguration(models: try shippedModels())
        configuration.daemon.databasePath = database
        configuration.daemon.alertLogPath = work + "/alerts.jsonl"
        configuration.daemon.httpListen = "127.0.0.1:\(http)"
        // Rolled up twice within a 20-second window, so that accounting's cost is part of the CPU per poll.
        configuration.daemon.accountingIntervalMs = 10_000
        configuration.daemon.maxStartSpreadMs = Int(startSpreadMs)
        for g in 0..<scenario.gateways {
            let id = "g\(g)"
            configuration.gateways[id] = GatewayConfig(id: id, host: "127.0.0.1", port: basePort + g, timeoutMs: 1000, maxGapRegisters: 16)
            var enterprise = EnterpriseConfig(id: "E\(g)", name: "企业\(g)", jurisdiction: "宿城经济开发区", industry: "cement", meters: [])
            for m in 0..<scenario.metersPerGateway {
                enterprise.meters.append(
                    MeterConfig(
                        id: "g\(g)m\(m)", gateway: id, unitID: m + 1, model: "acrel_adl400", energy: .electricity,
                        intervalSeconds: scenario.intervalSeconds, maxRatePerHour: 10_000))
            }
            configuration.enterprises.append(enterprise)
        }
        return configuration
    }

    func scenarioTOML(_ scenario: PollingScenario, config: String) -> String {
        var text = """
            [scenario]
            name = "\(scenario.name)"
            config = "\(config)"
            origin = "\(ISO8601Time.format(ms: SystemWallClock().nowMs() - 86_400_000))"
            seed = 1

            """
        for g in 0..<scenario.deadGateways {
            // The last gateways read requests and never answer: their meters time out.
            text += """
                [[faults]]
                kind = "no-answer"
                target = "g\(scenario.gateways - 1 - g)"
                at = "2000-01-01T00:00:00Z"

                """
        }
        return text
    }

    /// Starts metersim for `scenario`; returns it with the scenario's files and ports.
    func startSimulator(_ scenario: PollingScenario) throws -> (sim: Child, config: EnergyConfiguration, configPath: String, control: Int) {
        try? FileManager.default.removeItem(atPath: work)
        sync()
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let basePort = simulatorBasePort
        let configuration = try configuration(scenario, basePort: basePort, database: work + "/energy.sqlite", http: freePort())
        let configPath = work + "/energyd.toml"
        try ConfigurationWriter.toml(configuration).write(toFile: configPath, atomically: true, encoding: .utf8)
        let scenarioPath = work + "/scenario.toml"
        try scenarioTOML(scenario, config: configPath).write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let control = freePort()
        let sim = try Child(
            binDirectory + "/metersim", ["run", "--scenario", scenarioPath, "--control", String(control), "--threads", "1"],
            log: work + "/metersim.log")
        guard
            wait(
                seconds: 60,
                until: { (try? String(contentsOfFile: work + "/metersim.log", encoding: .utf8))?.contains("metersim ready") ?? false })
        else { throw BenchError("metersim did not start; see \(work)/metersim.log") }
        return (sim, configuration, configPath, control)
    }

    /// energyd on the scenario, measured over `seconds` after a warm-up.
    func runEnergyd(_ scenario: PollingScenario) throws -> PollingResult {
        let (sim, configuration, configPath, _) = try startSimulator(scenario)
        defer { sim.stop() }
        let http = configuration.daemon.httpEndpoint!.port
        let daemon = try Child(
            binDirectory + "/energyd", ["run", "--config", configPath, "--log-level", "warning"], log: work + "/energyd.log")
        defer { daemon.stop() }
        guard wait(seconds: 60, until: { httpGet(port: http, path: "/healthz") != nil }) else {
            throw BenchError("energyd did not start; see \(work)/energyd.log")
        }
        Thread.sleep(forTimeInterval: warmup)
        let metrics0 = httpGet(port: http, path: "/metrics") ?? ""
        let usage0 = ProcessUsage.of(daemon.pid)
        let simulator0 = ProcessUsage.of(sim.pid)
        let start = Date()
        let startMs = SystemWallClock().nowMs()
        Thread.sleep(forTimeInterval: seconds)
        let metrics1 = httpGet(port: http, path: "/metrics") ?? ""
        let usage1 = ProcessUsage.of(daemon.pid)
        let simulator1 = ProcessUsage.of(sim.pid)
        let elapsed = Date().timeIntervalSince(start)
        let endMs = SystemWallClock().nowMs()
        daemon.stop()
        var result = PollingResult()
        result.polls = metricSum(metrics1, "energyd_polls_total") - metricSum(metrics0, "energyd_polls_total")
        result.pollsPerSecond = result.polls / elapsed
        result.cpuMicrosecondsPerPoll = (usage1.cpuSeconds - usage0.cpuSeconds) * 1e6 / max(result.polls, 1)
        result.pollerCPUMicrosecondsPerPoll = (usage1.pollerCPUSeconds - usage0.pollerCPUSeconds) * 1e6 / max(result.polls, 1)
        result.simulatorCPUMicrosecondsPerPoll = (simulator1.cpuSeconds - simulator0.cpuSeconds) * 1e6 / max(result.polls, 1)
        result.peakRSSMiB = Double(usage1.peakRSSBytes) / 1_048_576
        let written = metricSum(metrics1, "energyd_samples_written_total") - metricSum(metrics0, "energyd_samples_written_total")
        result.samplesStoredPerSecond = written / elapsed
        result.failedPollShare =
            (metricSum(metrics1, "energyd_poll_failures_total") - metricSum(metrics0, "energyd_poll_failures_total")) / max(result.polls, 1)
        // Lag of each poll of a live gateway: a reading's time is when its request left, ticks are whole seconds.
        let store = try EnergyStoreSync.open(work + "/energy.sqlite")
        let live = (0..<(scenario.gateways - scenario.deadGateways)).map { "g\($0)" }
        let lags = try store.lags(
            fromMs: startMs, toMs: endMs, intervalMs: Int64(scenario.intervalSeconds) * 1000, startSpreadMs: startSpreadMs,
            gateways: Set(live))
        result.lagP50Ms = quantile(lags, 0.5)
        result.lagP99Ms = quantile(lags, 0.99)
        let total = try store.sampleCount()
        result.databaseBytesPerSample = Double(store.fileBytes()) / Double(max(total, 1))
        return result
    }

    /// The libmodbus floor: one connection, sequential `modbus_read_registers` of the same request energyd sends.
    func runFloor(_ scenario: PollingScenario) throws -> PollingResult {
        let (sim, _, _, _) = try startSimulator(scenario)
        defer { sim.stop() }
        guard let context = modbus_new_tcp("127.0.0.1", Int32(simulatorBasePort)) else { throw BenchError("modbus_new_tcp") }
        defer { modbus_free(context) }
        modbus_set_slave(context, 1)
        guard modbus_connect(context) == 0 else { throw BenchError("cannot connect to metersim") }
        defer { modbus_close(context) }
        var words = [UInt16](repeating: 0, count: 12)
        let warmEnd = Date().addingTimeInterval(1)
        while Date() < warmEnd { _ = modbus_read_registers(context, 0x0842, 12, &words) }
        let cpu0 = threadCPUSeconds()
        let start = Date()
        var requests = 0.0
        while Date().timeIntervalSince(start) < min(seconds, 10) {
            for _ in 0..<100 where modbus_read_registers(context, 0x0842, 12, &words) == 12 { requests += 1 }
        }
        var result = PollingResult()
        result.polls = requests
        result.pollsPerSecond = requests / Date().timeIntervalSince(start)
        result.cpuMicrosecondsPerPoll = (threadCPUSeconds() - cpu0) * 1e6 / max(requests, 1)
        return result
    }

    /// collectd 5.12's modbus plugin polling the same meters (csv writer), if collectd is installed.
    func runCollectd(_ scenario: PollingScenario) throws -> PollingResult? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/collectd") else { return nil }
        let (sim, _, _, controlPort) = try startSimulator(scenario)
        defer { sim.stop() }
        var config = """
            Interval \(scenario.intervalSeconds)
            ReadThreads 5
            WriteThreads 1
            BaseDir "\(work)/collectd"
            PIDFile "\(work)/collectd.pid"
            PluginDir "/usr/lib/collectd"
            TypesDB "/usr/share/collectd/types.db"
            LoadPlugin modbus
            LoadPlugin csv
            <Plugin csv>
              DataDir "\(work)/csv"
            </Plugin>
            <Plugin modbus>
              <Data "total">
                RegisterBase 2114
                RegisterType Uint32
                RegisterCmd ReadHolding
                Type gauge
                Instance "total"
              </Data>
              <Data "import">
                RegisterBase 2124
                RegisterType Uint32
                RegisterCmd ReadHolding
                Type gauge
                Instance "import"
              </Data>

            """
        for g in 0..<scenario.gateways {
            config +=
                "  <Host \"g\(g)\">\n    Address \"127.0.0.1\"\n    Port \"\(simulatorBasePort + g)\"\n    Interval \(scenario.intervalSeconds)\n"
            for m in 0..<scenario.metersPerGateway {
                config +=
                    "    <Slave \(m + 1)>\n      Instance \"m\(m)\"\n      Collect \"total\"\n      Collect \"import\"\n    </Slave>\n"
            }
            config += "  </Host>\n"
        }
        config += "</Plugin>\n"
        try FileManager.default.createDirectory(atPath: work + "/collectd", withIntermediateDirectories: true)
        try config.write(toFile: work + "/collectd.conf", atomically: true, encoding: .utf8)
        let collectd = try Child("/usr/sbin/collectd", ["-f", "-C", work + "/collectd.conf"], log: work + "/collectd.log")
        defer { collectd.stop() }
        Thread.sleep(forTimeInterval: warmup)
        let requests0 = simulatorRequests(port: controlPort)
        let usage0 = ProcessUsage.of(collectd.pid)
        let start = Date()
        Thread.sleep(forTimeInterval: seconds)
        let requests1 = simulatorRequests(port: controlPort)
        let usage1 = ProcessUsage.of(collectd.pid)
        let elapsed = Date().timeIntervalSince(start)
        var result = PollingResult()
        if !collectd.process.isRunning {
            let log = (try? String(contentsOfFile: work + "/collectd.log", encoding: .utf8)) ?? ""
            result.aborted = log.split(separator: "\n").last.map(String.init) ?? "exited"
            return result
        }
        // Two requests per meter: the plugin reads each <Data> block with its own request.
        result.polls = (requests1 - requests0) / 2
        result.pollsPerSecond = result.polls / elapsed
        result.cpuMicrosecondsPerPoll = (usage1.cpuSeconds - usage0.cpuSeconds) * 1e6 / max(result.polls, 1)
        result.peakRSSMiB = Double(usage1.peakRSSBytes) / 1_048_576
        return result
    }
}

/// metersim's first gateway port: gateways take the ports from here up, 5000 of them below Linux's ephemeral range
/// (32768 and up), where the benchmark's own HTTP and control ports and every client connection get theirs.
let simulatorBasePort = 22000

/// The register maps energyd ships, for generated configurations.
func shippedModels() throws -> [String: MeterModel] { try ConfigurationLoader.load(path: packageConfigPath).models }

/// Config/energyd.toml of this checkout.
let packageConfigPath =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path + "/Config/energyd.toml"

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
