/// The `[daemon]` section: where energyd keeps its state and how it behaves.
public struct DaemonSettings: Sendable, Hashable {
    /// SQLite database file.
    public var databasePath: String
    /// JSON Lines alert log.
    public var alertLogPath: String
    /// Time zone that day and month buckets follow.
    public var timeZone: String
    /// Days raw samples are kept before they are pruned.
    public var rawRetentionDays: Int
    /// Directory of per-enterprise configuration files, relative to the main file.
    public var enterpriseDirectory: String?
    /// Most samples written in one transaction.
    public var writeBatchMaxSamples: Int
    /// Longest a sample waits in memory before its batch is committed.
    public var writeFlushIntervalMs: Int
    /// How often new samples are accounted into rollups (real time).
    public var accountingIntervalMs: Int

    /// Defaults for a data-centre installation.
    public init(
        databasePath: String = "/var/lib/energyd/energy.sqlite", alertLogPath: String = "/var/log/energyd/alerts.jsonl",
        timeZone: String = "Asia/Shanghai", rawRetentionDays: Int = 35, enterpriseDirectory: String? = nil,
        writeBatchMaxSamples: Int = 5000, writeFlushIntervalMs: Int = 1000, accountingIntervalMs: Int = 5000
    ) {
        self.databasePath = databasePath
        self.alertLogPath = alertLogPath
        self.timeZone = timeZone
        self.rawRetentionDays = rawRetentionDays
        self.enterpriseDirectory = enterpriseDirectory
        self.writeBatchMaxSamples = writeBatchMaxSamples
        self.writeFlushIntervalMs = writeFlushIntervalMs
        self.accountingIntervalMs = accountingIntervalMs
    }
}

/// The whole validated configuration.
public struct EnergyConfiguration: Sendable, Hashable {
    /// The `[daemon]` section.
    public var daemon: DaemonSettings
    /// Register maps by id.
    public var models: [String: MeterModel]
    /// Gateways by id.
    public var gateways: [String: GatewayConfig]
    /// Enterprises in the order configured.
    public var enterprises: [EnterpriseConfig]
    /// Standard-coal factors beyond the GB/T 2589-2020 defaults.
    public var factors: CoalFactorTable

    /// Creates a configuration; `ConfigurationLoader` builds validated ones from TOML.
    public init(
        daemon: DaemonSettings = DaemonSettings(), models: [String: MeterModel] = [:],
        gateways: [String: GatewayConfig] = [:], enterprises: [EnterpriseConfig] = [], factors: CoalFactorTable = CoalFactorTable()
    ) {
        self.daemon = daemon
        self.models = models
        self.gateways = gateways
        self.enterprises = enterprises
        self.factors = factors
    }

    /// Every meter with its enterprise, in configuration order.
    public var meters: [(enterprise: EnterpriseConfig, meter: MeterConfig)] {
        enterprises.flatMap { enterprise in enterprise.meters.map { (enterprise, $0) } }
    }
}
