import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation
import MeterSimulator
import TestSupport

/// An in-process metersim plus what it takes to run the real energyd binary against it on a shared simulated clock:
/// one that runs faster than real time, or one stepped tick by tick (`stepped`, for simulated days and months).
struct DaemonHarness {
    let simulator: SimulatorHarness
    let directory: TemporaryDirectory
    let clock: any WallClock
    /// What moves a stepped clock; nil for an accelerated one.
    let stepper: ClockStepper?
    var configPath: String { directory.file("energyd.toml") }
    var databasePath: String { directory.file("energy.sqlite") }

    /// On a clock running `speed` times real time: for seconds or minutes of polling.
    static func start(_ scenario: Scenario, speed: Double, startMs: Int64? = nil) async throws -> DaemonHarness {
        let clock = SimulatedWallClock(startMs: startMs ?? scenario.originMs + 3_600_000, speed: speed)
        let simulator = try await SimulatorHarness.start(scenario, clock: clock)
        let harness = DaemonHarness(simulator: simulator, directory: try TemporaryDirectory("energyd"), clock: clock, stepper: nil)
        try harness.writeConfiguration(simulator.configuration)
        return harness
    }

    /// On a stepped clock reading `startMs` until the test moves it (`stepper.run(to:)` or `stepper.start(speed:)`).
    static func stepped(_ scenario: Scenario, startMs: Int64? = nil) async throws -> DaemonHarness {
        let directory = try TemporaryDirectory("energyd")
        let stepper = try ClockStepper(path: directory.file("clock"), startMs: startMs ?? scenario.originMs + 3_600_000)
        let simulator = try await SimulatorHarness.start(scenario, clock: stepper.clock, reconciling: false)
        stepper.serve(simulator)
        let harness = DaemonHarness(simulator: simulator, directory: directory, clock: stepper.clock, stepper: stepper)
        try harness.writeConfiguration(simulator.configuration)
        return harness
    }

    /// Writes `configuration` (with this harness's database and alert log) as the config file.
    func writeConfiguration(_ configuration: EnergyConfiguration) throws {
        var configuration = configuration
        configuration.daemon.databasePath = databasePath
        // Written out whole: quotas and enterprises from other files are inlined.
        configuration.daemon.quotaLibrary = nil
        configuration.daemon.enterpriseDirectory = nil
        configuration.daemon.alertLogPath = directory.file("alerts.jsonl")
        configuration.daemon.writeFlushIntervalMs = 50
        configuration.daemon.accountingIntervalMs = 100
        configuration.daemon.httpListen = "127.0.0.1:0"  // any free port: tests run several daemons
        try ConfigurationWriter.toml(configuration).write(toFile: configPath, atomically: true, encoding: .utf8)
        stepper?.follow(configuration)
    }

    /// energyd's command line on the shared clock.
    var runArguments: [String] {
        let run = ["run", "--config", configPath, "--log-level", "debug"]
        if let stepper { return run + ["--clock-file", stepper.path] }
        let clock = clock as! SimulatedWallClock
        return run + [
            "--clock-start", ISO8601Time.format(ms: clock.startMs), "--clock-speed", String(clock.speed),
            "--clock-anchor", String(clock.anchorRealMs),
        ]
    }

    func startDaemon() throws -> ChildProcess { try ChildProcess("energyd", runArguments) }

    /// Samples stored so far (opens the database read-write, as energyctl would, beside the running daemon).
    func storedSampleCount() async throws -> Int {
        guard FileManager.default.fileExists(atPath: databasePath) else { return 0 }
        return try await EnergyStore.open(path: databasePath).sampleCounts().total
    }

    func stop() async {
        stepper?.stop()
        await simulator.stop()
        directory.remove()
    }
}

/// The `total` of the last "committed samples" debug line energyd printed.
func lastCommittedTotal(_ output: String) -> Int {
    output.split(separator: "\n").last { $0.contains("committed samples") }
        .flatMap { line in line.split(separator: " ").first { $0.hasPrefix("total=") } }
        .flatMap { Int($0.dropFirst("total=".count)) } ?? 0
}
