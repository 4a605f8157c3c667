import Foundation

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
    /// Days 15-minute and hourly rollups are kept (at least 184: six months); daily and monthly ones are kept for good.
    public var rollupRetentionDays: Int
    /// This installation's id in the figures it ships upstream ("suqian-sucheng"); required with `[[upstream]]`.
    public var siteID: String?
    /// Its name for people ("宿城区").
    public var siteName: String?
    /// Directory of per-enterprise configuration files, relative to the main file.
    public var enterpriseDirectory: String?
    /// Most samples written in one transaction.
    public var writeBatchMaxSamples: Int
    /// Most samples held in memory while the database refuses writes; past it the oldest are dropped (and counted).
    public var writeBufferMaxSamples: Int
    /// Longest a sample waits in memory before its batch is committed.
    public var writeFlushIntervalMs: Int
    /// How often new samples are accounted into rollups (real time).
    public var accountingIntervalMs: Int
    /// Each meter is polled up to this long after its aligned tick (in a 50 ms slot fixed per meter), so that
    /// thousands of meters are not all due at one instant; 0 polls every meter on the tick.
    public var maxStartSpreadMs: Int
    /// File of quota standards, relative to the main file.
    public var quotaLibrary: String?
    /// A meter with no good reading for this long is offline.
    public var offlineAfterSeconds: Int
    /// A day is closed (and checked) this long after its midnight, so its last readings are in.
    public var dayCloseDelaySeconds: Int
    /// Seconds between quota checks; 0 checks after each closed day.
    public var quotaCheckIntervalSeconds: Int
    /// The quota level that counts as meeting the benchmark (对标达标) in district reports.
    public var benchmarkLevel: Int
    /// Annual consumption, tce, that puts an enterprise on the energy-saving inspection list.
    public var inspectionThresholdTce: Double
    /// Closed months of a year after which its year-to-date unit consumption is judged against the quota (超限额).
    public var quotaYearToDateMinimumMonths: Int
    /// Whether a configuration without meters may be run (a new installation, on purpose).
    public var allowNoMeters: Bool
    /// Largest share of the meters in force a reload may drop (a truncated file loses most); 1 allows any.
    public var reloadMaxMeterLoss: Double
    /// Where /healthz, /metrics, the console and the API are served ("127.0.0.1:9464"); nil serves nothing.
    public var httpListen: String?
    /// Certificate chain and private key (PEM) to serve HTTPS instead of HTTP; both or neither.
    public var httpTLSCertificateFile: String?
    public var httpTLSKeyFile: String?

    /// Defaults for a data-centre installation.
    public init(
        databasePath: String = "/var/lib/energyd/energy.sqlite", alertLogPath: String = "/var/log/energyd/alerts.jsonl",
        timeZone: String = "Asia/Shanghai", rawRetentionDays: Int = 35, rollupRetentionDays: Int = 400, siteID: String? = nil,
        siteName: String? = nil, enterpriseDirectory: String? = nil,
        writeBatchMaxSamples: Int = 100_000, writeBufferMaxSamples: Int = 2_000_000, writeFlushIntervalMs: Int = 1000,
        accountingIntervalMs: Int = 60_000, maxStartSpreadMs: Int = 0,
        quotaLibrary: String? = nil, offlineAfterSeconds: Int = 3600, dayCloseDelaySeconds: Int = 1800,
        quotaCheckIntervalSeconds: Int = 0, benchmarkLevel: Int = 2, inspectionThresholdTce: Double = 1000,
        quotaYearToDateMinimumMonths: Int = 3, allowNoMeters: Bool = false, reloadMaxMeterLoss: Double = 0.5,
        httpListen: String? = "127.0.0.1:9464"
    ) {
        self.databasePath = databasePath
        self.alertLogPath = alertLogPath
        self.timeZone = timeZone
        self.rawRetentionDays = rawRetentionDays
        self.rollupRetentionDays = rollupRetentionDays
        self.siteID = siteID
        self.siteName = siteName
        self.enterpriseDirectory = enterpriseDirectory
        self.writeBatchMaxSamples = writeBatchMaxSamples
        self.writeBufferMaxSamples = writeBufferMaxSamples
        self.writeFlushIntervalMs = writeFlushIntervalMs
        self.accountingIntervalMs = accountingIntervalMs
        self.maxStartSpreadMs = maxStartSpreadMs
        self.quotaLibrary = quotaLibrary
        self.offlineAfterSeconds = offlineAfterSeconds
        self.dayCloseDelaySeconds = dayCloseDelaySeconds
        self.quotaCheckIntervalSeconds = quotaCheckIntervalSeconds
        self.benchmarkLevel = benchmarkLevel
        self.inspectionThresholdTce = inspectionThresholdTce
        self.quotaYearToDateMinimumMonths = quotaYearToDateMinimumMonths
        self.allowNoMeters = allowNoMeters
        self.reloadMaxMeterLoss = reloadMaxMeterLoss
        self.httpListen = httpListen
    }

    /// The HTTPS certificate and key files, when both are set.
    public var httpTLS: (certificateFile: String, keyFile: String)? {
        guard let certificate = httpTLSCertificateFile, let key = httpTLSKeyFile else { return nil }
        return (certificate, key)
    }

    /// `httpListen` split into host and port.
    public var httpEndpoint: (host: String, port: Int)? {
        guard let listen = httpListen, let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            return nil
        }
        return (String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
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
    /// Quota standards by id.
    public var quotas: [String: QuotaStandard]
    /// Notification channels, routes and the monthly report's recipients.
    public var delivery: DeliverySettings
    /// Where the figures are shipped: central databases and platforms above the district.
    public var upstream: [UpstreamConfig]
    /// The district plan's targets.
    public var plan: PlanSettings

    /// Creates a configuration; `ConfigurationLoader` builds validated ones from TOML.
    public init(
        daemon: DaemonSettings = DaemonSettings(), models: [String: MeterModel] = [:],
        gateways: [String: GatewayConfig] = [:], enterprises: [EnterpriseConfig] = [], factors: CoalFactorTable = CoalFactorTable(),
        quotas: [String: QuotaStandard] = [:], delivery: DeliverySettings = DeliverySettings(), upstream: [UpstreamConfig] = [],
        plan: PlanSettings = PlanSettings()
    ) {
        self.daemon = daemon
        self.models = models
        self.gateways = gateways
        self.enterprises = enterprises
        self.factors = factors
        self.quotas = quotas
        self.delivery = delivery
        self.upstream = upstream
        self.plan = plan
    }

    /// Every meter with its enterprise, in configuration order.
    public var meters: [(enterprise: EnterpriseConfig, meter: MeterConfig)] {
        enterprises.flatMap { enterprise in enterprise.meters.map { (enterprise, $0) } }
    }
}

extension EnergyConfiguration {
    /// Days and months in the configured time zone (China Standard Time when it is unknown).
    public var calendar: CalendarBuckets {
        CalendarBuckets(timeZone: TimeZone(identifier: daemon.timeZone) ?? TimeZone(identifier: "Asia/Shanghai")!)
    }
}
