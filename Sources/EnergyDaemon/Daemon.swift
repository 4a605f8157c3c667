import AlertDelivery
import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation
import Logging
import ModbusPolling
import ServiceLifecycle
import Synchronization
import UnixSignals
import Upstream
import WebConsole

/// energyd: the store, the writer and the pollers of one configuration, run as a service group.
///
/// Start order is storage → accounting → writer → pollers; shutdown runs in reverse, so the pollers finish their
/// reads in flight before the writer commits the last batch, and accounting makes a last pass over it.
public final class Daemon: Sendable {
    /// Start options.
    public let options: DaemonOptions
    /// The store.
    public let store: EnergyStore
    /// The batched writer pollers submit to.
    public let writer: SampleWriter
    /// The pollers.
    public let polling: PollingService
    /// The JSON Lines alert log.
    public let alertLog: AlertLog
    /// systemd's notification socket.
    public let notifier: SystemdNotifier
    /// Delivers the outbox to the configured channels.
    public let sender: OutboxSender
    /// The web console and JSON API on the HTTP endpoint.
    public let console: WebConsole
    let startedMs: Int64
    let logger: Logger
    let current: CurrentConfiguration
    /// Set when the database file was deleted or replaced under the open store.
    let databaseLost = Atomic<Bool>(false)

    /// What a configuration must pass to be started on, beyond validation: it is not emptied, and the HTTPS
    /// certificate and key load as the endpoint will load them. `energyd check-config` runs the same checks.
    public static func checkStart(_ configuration: EnergyConfiguration, file: String) throws(ConfigErrors) {
        try ConfigurationChange.checkStart(configuration, file: file)
        if let tls = configuration.daemon.httpTLS {
            do {
                _ = try HTTPService.tlsContext(certificateFile: tls.certificateFile, keyFile: tls.keyFile)
            } catch {
                throw ConfigErrors([
                    ConfigError(
                        file: file, line: 0, key: "daemon.http_tls_key_file",
                        message: "cannot load the certificate \(tls.certificateFile) with the key \(tls.keyFile) as PEM: \(error)")
                ])
            }
        }
    }

    /// Loads the configuration, opens the database and registers the series; polling starts with `run()`.
    public init(options: DaemonOptions, logger: Logger) async throws(DaemonStartError) {
        var configuration: EnergyConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: options.configPath)
        } catch {
            throw .configuration(error)
        }
        Self.applyOverrides(options, to: &configuration)
        do {
            try Self.checkStart(configuration, file: options.configPath)
        } catch {
            throw .configuration(error)
        }
        // Before the database and the HTTP endpoint take descriptors: each polling thread keeps one below 1024.
        PollingWorkers.prepare()
        if let unusable = PollingWorkers.all.first(where: { $0.window < 0 }) {
            logger.warning(
                "no descriptor below 1024 was free for a polling thread; its gateways' sockets numbered 1024 or above cannot be read",
                metadata: ["thread": "\(unusable.name)"])
        }
        let path = configuration.daemon.databasePath
        do {
            store = try await EnergyStore.open(path: path, realTime: options.realTime)
        } catch {
            throw .database(path: path, underlying: error)
        }
        self.options = options
        self.logger = logger
        self.current = CurrentConfiguration(configuration)
        writer = SampleWriter(
            store: store, batchMaxSamples: configuration.daemon.writeBatchMaxSamples,
            flushIntervalMs: configuration.daemon.writeFlushIntervalMs, bufferMaxSamples: configuration.daemon.writeBufferMaxSamples,
            realTime: options.realTime, logger: logger)
        var policy = options.pollingPolicy
        policy.maxStartSpreadMs = Int64(configuration.daemon.maxStartSpreadMs)
        polling = PollingService(clock: options.clock, realTime: options.realTime, sink: writer, logger: logger, policy: policy)
        alertLog = AlertLog(path: configuration.daemon.alertLogPath)
        notifier = SystemdNotifier()
        sender = OutboxSender(store: store, settings: configuration.delivery, logger: logger)
        console = WebConsole(
            store: store, configuration: { [current] in current.value }, logger: logger, nowMs: { [options] in options.realTime.nowMs() })
        startedMs = options.clock.nowMs()
    }

    static func applyOverrides(_ options: DaemonOptions, to configuration: inout EnergyConfiguration) {
        if let path = options.databasePath { configuration.daemon.databasePath = path }
        if let path = options.alertLogPath { configuration.daemon.alertLogPath = path }
    }

    /// The configuration in force.
    public var configuration: EnergyConfiguration { current.value }

    /// Queues upstream again the figures computed with factors, quotas or products that `configuration` changes
    /// (since the last run, or by a reload).
    func requeueChangedFigures(_ configuration: EnergyConfiguration) async throws {
        let requeued = try await store.upstream.noteFigureSettings(FigureSettings.of(configuration), nowMs: options.realTime.nowMs())
        if !requeued.isEmpty {
            logger.notice(
                "figures computed with changed factors, quotas or products are queued upstream again",
                metadata: ["enterprises": "\(requeued.joined(separator: ","))"])
        }
    }

    /// Runs until SIGTERM or SIGINT (or until the task is cancelled), then shuts down in order.
    public func run() async throws {
        let configuration = self.configuration
        let seriesIDs = try await store.registerSeries(for: configuration)
        try await requeueChangedFigures(configuration)
        let started = await polling.apply(configuration, seriesIDs: seriesIDs)
        logger.info(
            "energyd running",
            metadata: [
                "gateways": "\(started.started)", "meters": "\(configuration.meters.count)",
                "database": "\(configuration.daemon.databasePath)",
            ])
        for warning in LineCapacity.warnings(for: configuration) { logger.warning("\(warning)") }
        var http: HTTPService?
        if let endpoint = configuration.daemon.httpEndpoint {
            http = try await HTTPService(
                host: endpoint.host, port: endpoint.port, tls: configuration.daemon.httpTLS, logger: logger
            ) { [self] request in
                await self.answer(request)
            }
        }
        typealias Entry = ServiceGroupConfiguration.ServiceConfiguration
        let changed: @Sendable (Int64) -> Void = { [console] in console.dataChanged(fromMs: $0) }
        let accounting = AccountingService(
            accountant: Accountant(store: store, logger: logger, changed: changed),
            checker: AlertChecker(
                store: store, alertLog: alertLog, startedMs: startedMs, realTime: options.realTime, logger: logger, changed: changed),
            reporter: MonthlyReporter(store: store, realTime: options.realTime, logger: logger),
            configuration: { [self] in self.configuration }, logger: logger)
        let retention = RetentionService(
            store: store, rawRetentionDays: configuration.daemon.rawRetentionDays,
            rollupRetentionDays: configuration.daemon.rollupRetentionDays, clock: options.clock, realTime: options.realTime,
            logger: logger)
        let storeGuard = StoreGuardService(
            store: store, lost: { [self] in self.databaseLost.store(true, ordering: .relaxed) }, logger: logger)
        let watchdog = WatchdogService(notifier: notifier, health: { [self] in await self.health() }, logger: logger)
        var services: [Entry] = [
            Entry(service: accounting, serviceName: "accounting"),
            Entry(service: DeliveryService(sender: sender), serviceName: "delivery"),
            Entry(
                service: UpstreamService(
                    shipper: UpstreamShipper(store: store, configuration: { [current] in current.value }, logger: logger)),
                serviceName: "upstream"),
            Entry(service: WriterService(writer: writer), serviceName: "writer"),
            Entry(service: retention, serviceName: "retention"),
            Entry(service: polling, serviceName: "polling"),
            Entry(service: ReloadService(daemon: self), serviceName: "reload"),
            // Returning (the file is gone) shuts the group down in order, so the writer commits what it holds.
            Entry(service: storeGuard, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "store-guard"),
            Entry(service: watchdog, serviceName: "watchdog"),
        ]
        if let http { services.append(Entry(service: http, serviceName: "http")) }
        services.append(Entry(service: StoppingNotice(notifier: notifier), serviceName: "stopping"))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        if http != nil {
            // The console's first page, computed in the background while polling starts.
            Task(priority: .background) { [console] in await console.prepare() }
        }
        // Configuration read, database open, pollers started, endpoint bound: ready.
        await notifier.notify("READY=1\nSTATUS=" + (await health()).status)
        try await group.run()
        logger.info("energyd stopped", metadata: ["samples_written": "\(writer.snapshot.samplesWritten)"])
        try recoverLostDatabase()
    }
}
