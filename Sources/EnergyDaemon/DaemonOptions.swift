import ConfigurationFiles
import EnergyModel
import ModbusPolling

/// How energyd was started.
public struct DaemonOptions: Sendable {
    /// Main configuration file.
    public var configPath: String
    /// Database path overriding the configuration's (tests, demos).
    public var databasePath: String?
    /// Alert-log path overriding the configuration's.
    public var alertLogPath: String?
    /// The clock polls follow and readings are stamped with: real, or simulated for tests and demos.
    public var clock: any WallClock
    /// Real time, for people and liveness whatever `clock` the readings follow: retries, digests, sessions, the
    /// audit log, health and metrics. The one clock of the daemon's own (tests may hold it still).
    public var realTime: any WallClock
    /// Back-off settings.
    public var pollingPolicy: PollingPolicy

    /// Creates options.
    public init(
        configPath: String, databasePath: String? = nil, alertLogPath: String? = nil, clock: any WallClock = SystemWallClock(),
        realTime: any WallClock = SystemWallClock(), pollingPolicy: PollingPolicy = PollingPolicy()
    ) {
        self.configPath = configPath
        self.databasePath = databasePath
        self.alertLogPath = alertLogPath
        self.clock = clock
        self.realTime = realTime
        self.pollingPolicy = pollingPolicy
    }
}

/// Why energyd could not start.
public enum DaemonStartError: Error, CustomStringConvertible {
    /// The configuration is invalid (exit 78, EX_CONFIG).
    case configuration(ConfigErrors)
    /// The database could not be opened or migrated.
    case database(path: String, underlying: any Error)

    public var description: String {
        switch self {
        case .configuration(let errors): errors.description
        case .database(let path, let error): "\(path): cannot open the database: \(error)"
        }
    }
}

/// Why energyd stopped by itself.
public enum DaemonRunError: Error, CustomStringConvertible {
    /// The database file was deleted or replaced while open; what it held was saved to `path` (exit 75: restart).
    case databaseRestored(path: String)
    /// …and could not be saved.
    case databaseLost(underlying: any Error)

    public var description: String {
        switch self {
        case .databaseRestored(let path): "the database file was deleted or replaced while open; everything committed was saved to \(path)"
        case .databaseLost(let error): "the database file was deleted or replaced while open and could not be saved: \(error)"
        }
    }
}
