import ArgumentParser
import ConfigurationFiles
import EnergyModel
import Foundation
import Logging
import MeterSimulator
import UnixSignals

@main
struct MeterSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metersim",
        abstract:
            "A meter simulator (Modbus TCP, Modbus RTU over TCP, DL/T 645): realistic meters, faults, an accelerated clock and ground truth.",
        version: EnergyMonitorRelease.version,
        subcommands: [Run.self, Truth.self, Control.self])
}

/// Options every subcommand that reads a scenario shares.
struct ScenarioOptions: ParsableArguments {
    @Option(help: "Scenario file (TOML).")
    var scenario: String

    @Option(help: "Override the scenario's noise seed.")
    var seed: UInt64?

    func load() throws -> Scenario {
        do {
            var scenario = try ScenarioLoader.load(path: scenario)
            if let seed { scenario.seed = seed }
            return scenario
        } catch {
            throw ValidationError(error.description)
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve every gateway of the scenario on its own port until SIGTERM or SIGINT.",
        discussion:
            "Request counts by Modbus function code and DL/T 645 control code are printed on SIGTERM, on SIGUSR1 and by the control command `counts`."
    )

    @OptionGroup var scenarioOptions: ScenarioOptions

    @Option(help: "Address to listen on.")
    var listen = "127.0.0.1"

    @Option(help: "Simulated time at the anchor instant (ISO 8601); without it the real clock is used.")
    var clockStart: String?

    @Option(help: "Simulated seconds per real second.")
    var clockSpeed: Double?

    @Option(
        help: "Real Unix time in milliseconds at which the simulated clock reads --clock-start (default: now). Give energyd the same value."
    )
    var clockAnchor: Int64?

    @Option(help: "Port for control commands on the listen address (0: any free port). No control port when omitted.")
    var control: Int?

    @Option(help: "Event-loop threads.")
    var threads = 2

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "metersim")
        logger.logLevel = .info
        let scenario = try scenarioOptions.load()
        let clock: any WallClock
        do { clock = try WallClockOptions.makeClock(start: clockStart, speed: clockSpeed, anchorMs: clockAnchor) } catch {
            throw ValidationError(error.message)
        }
        let plant = SimulatedPlant(scenario: scenario, clock: clock)
        raiseOpenFileLimit(needed: scenario.configuration.gateways.count * 2 + 64)
        let server = MeterSimulatorServer(plant: plant, host: listen, threads: threads, logger: logger)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sigusr1)
        try await server.start()
        var ready = "metersim ready: \(scenario.configuration.gateways.count) gateways, \(plant.meters.count) meters on \(listen)"
        if let control {
            let port = try await server.startControl(host: listen, port: control)
            ready += ", control \(listen):\(port)"
        }
        print(ready)
        fflush(nil)
        let reconciler = Task { await server.run() }
        for await signal in signals {
            if signal == .sigusr1 {
                print("requests: \(plant.requests.summary)")
                fflush(nil)
                continue
            }
            break
        }
        reconciler.cancel()
        await server.shutdown()
        print("requests: \(plant.requests.summary)")
    }
}

struct Truth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the exact energy and production each meter accumulated over a period (deterministic for a seed).")

    @OptionGroup var scenarioOptions: ScenarioOptions

    @Option(help: "Period start (ISO 8601; a plain date is midnight in the configured time zone).")
    var from: String

    @Option(help: "Period end, exclusive.")
    var to: String

    @Option(help: "Only this meter.")
    var meter: String?

    @Option(help: "csv or json.")
    var format = "csv"

    func run() async throws {
        let scenario = try scenarioOptions.load()
        let zone = TimeZone(identifier: scenario.configuration.daemon.timeZone)!
        guard let fromMs = ISO8601Time.parseMs(from, timeZone: zone) else { throw ValidationError("--from \(from) is not a date-time") }
        guard let toMs = ISO8601Time.parseMs(to, timeZone: zone) else { throw ValidationError("--to \(to) is not a date-time") }
        guard fromMs < toMs else { throw ValidationError("--from must be before --to") }
        let plant = SimulatedPlant(scenario: scenario, clock: SystemWallClock())
        if let meter, plant.meters[meter] == nil { throw ValidationError("no meter \(meter) in the scenario") }
        let rows = GroundTruth.rows(plant: plant, fromMs: fromMs, toMs: toMs, meterID: meter)
        switch format {
        case "csv": print(GroundTruth.csv(rows), terminator: "")
        case "json": print(try GroundTruth.json(rows), terminator: "")
        default: throw ValidationError("--format must be csv or json")
        }
    }
}

struct Control: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Send a control command to a running metersim.",
        discussion: """
            Commands: fault KIND TARGET [duration_s=N] [parameter=X] | clear [TARGET] | faults | counts | time.
            KIND: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """)

    @Option(help: "HOST:PORT of metersim's control port.")
    var control: String

    @Argument(help: "The command and its arguments.")
    var command: [String]

    func run() throws {
        let parts = control.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--control must be HOST:PORT") }
        let answer = try LineClient.request(host: String(parts[0]), port: port, line: command.joined(separator: " "))
        print(answer)
        if answer.hasPrefix("error") { throw ExitCode(1) }
    }
}

/// A listening port and a connection per gateway: lift the soft open-file limit as far as the hard one allows.
func raiseOpenFileLimit(needed: Int) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(needed) else { return }
    limit.rlim_cur = min(limit.rlim_max, rlim_t(max(needed, 4096)))
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
