import ArgumentParser
import CSystemShims
import ConfigurationFiles
import EnergyDaemon
import EnergyModel
import Foundation
import Logging
import ModbusPolling

@main
struct Energyd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energyd",
        abstract:
            "Polls energy meters (Modbus TCP, Modbus RTU over TCP, DL/T 645), stores every reading in SQLite and checks energy quotas.",
        version: EnergyMonitorRelease.version,
        subcommands: [Run.self, CheckConfig.self, ConsoleCommand.self])
}

/// sysexits.h EX_CONFIG: the configuration is wrong.
let exitConfigurationError: Int32 = 78

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration; print every error as FILE:LINE: key: what is wrong. Exit 0 if valid, 78 if not.")

    @Option(help: "Main configuration file.")
    var config: String

    func run() throws {
        do throws(ConfigErrors) {
            let configuration = try ConfigurationLoader.load(path: config)
            try Daemon.checkStart(configuration, file: config)
            for warning in LineCapacity.warnings(for: configuration) {
                FileHandle.standardError.write(Data("\(config): warning: \(warning)\n".utf8))
            }
            print(
                "\(config): ok: \(configuration.models.count) models, \(configuration.gateways.count) gateways, "
                    + "\(configuration.enterprises.count) enterprises, \(configuration.meters.count) meters, "
                    + "\(configuration.enterprises.map(\.products.count).reduce(0, +)) products under \(configuration.quotas.count) quotas")
        } catch {
            StandardError.report(error.description)
            throw ExitCode(exitConfigurationError)
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run until SIGTERM or SIGINT; SIGHUP re-reads the configuration.")

    @Option(help: "Main configuration file.")
    var config: String

    @Option(help: "Database path, overriding the configuration's.")
    var database: String?

    @Option(help: "Alert-log path, overriding the configuration's.")
    var alertLog: String?

    @Option(help: "Simulated time at the anchor instant (ISO 8601), for tests and demos with metersim.")
    var clockStart: String?

    @Option(help: "Simulated seconds per real second.")
    var clockSpeed: Double?

    @Option(help: "Real Unix time in milliseconds at which the simulated clock reads --clock-start (default: now).")
    var clockAnchor: Int64?

    @Option(help: "A stepped clock's file: the simulated time another process (a test) moves tick by tick.")
    var clockFile: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        // A malloc arena per busy thread would multiply resident memory by the gateways' threads; two suffice.
        _ = energy_monitor_limit_malloc_arenas(2)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = JournalLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "energyd")
        let clock: any WallClock
        if let clockFile {
            guard clockStart == nil, clockSpeed == nil, clockAnchor == nil else {
                throw ValidationError("--clock-file stands alone: the file says the time")
            }
            do { clock = try SteppedClock(opening: clockFile) } catch { throw ValidationError("--clock-file \(error)") }
        } else {
            do { clock = try WallClockOptions.makeClock(start: clockStart, speed: clockSpeed, anchorMs: clockAnchor) } catch {
                throw ValidationError(error.message)
            }
        }
        let daemon: Daemon
        do {
            daemon = try await Daemon(
                options: DaemonOptions(configPath: config, databasePath: database, alertLogPath: alertLog, clock: clock), logger: logger)
        } catch {
            StandardError.report(error.description)
            if case .configuration = error { throw ExitCode(exitConfigurationError) }
            throw ExitCode(1)
        }
        do {
            try await daemon.run()
        } catch let error as DaemonRunError {
            StandardError.report(error.description)
            throw ExitCode(75)  // EX_TEMPFAIL: systemd's Restart=on-failure starts energyd again on the saved file
        }
    }
}

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve only the web console and API over an existing database (nothing is polled), until SIGTERM or SIGINT.")

    @Option(help: "Main configuration file.")
    var config: String

    @Option(help: "Database path, overriding the configuration's.")
    var database: String?

    @Option(help: "HOST:PORT to listen on, overriding the configuration's http_listen.")
    var listen: String?

    func run() async throws {
        LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
        do {
            try await ConsoleOnly.run(configPath: config, databasePath: database, listen: listen, logger: Logger(label: "energyd"))
        } catch let error as ConfigErrors {
            StandardError.report(error.description)
            throw ExitCode(exitConfigurationError)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
