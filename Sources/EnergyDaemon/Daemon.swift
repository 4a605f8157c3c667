import AlertDelivery
import EnergyModel
import EnergyStore
import Foundation
import Logging
import ModbusPolling
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import UnixSignals
import Upstream
import WebConsole

/// How energyd was started.
public struct DaemonOptions: Sendable {
    /// Main configuration file.
    public var configPath: String
    /// Database path overriding the configuration's (tests, demos).
    public var databasePath: String?
    /// Alert-log path overriding the configuration's.
    public var alertLogPath: String?
    /// The clock polls follow: real, or simulated for tests and demos.
    public var clock: any WallClock
    /// Back-off settings.
    public var pollingPolicy: PollingPolicy

    /// Creates options.
    public init(
        configPath: String, databasePath: String? = nil, alertLogPath: String? = nil, clock: any WallClock = SystemWallClock(),
        pollingPolicy: PollingPolicy = PollingPolicy()
    ) {
        self.configPath = configPath
        self.databasePath = databasePath
        self.alertLogPath = alertLogPath
        self.clock = clock
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
    private let startedMs: Int64
    private let logger: Logger
    private let current: CurrentConfiguration
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
            store = try await EnergyStore.open(path: path)
        } catch {
            throw .database(path: path, underlying: error)
        }
        self.options = options
        self.logger = logger
        self.current = CurrentConfiguration(configuration)
        writer = SampleWriter(
            store: store, batchMaxSamples: configuration.daemon.writeBatchMaxSamples,
            flushIntervalMs: configuration.daemon.writeFlushIntervalMs, bufferMaxSamples: configuration.daemon.writeBufferMaxSamples,
            logger: logger)
        var policy = options.pollingPolicy
        policy.maxStartSpreadMs = Int64(configuration.daemon.maxStartSpreadMs)
        polling = PollingService(clock: options.clock, sink: writer, logger: logger, policy: policy)
        alertLog = AlertLog(path: configuration.daemon.alertLogPath)
        notifier = SystemdNotifier()
        sender = OutboxSender(store: store, settings: configuration.delivery, logger: logger)
        console = WebConsole(store: store, configuration: { [current] in current.value }, logger: logger)
        startedMs = options.clock.nowMs()
    }

    /// Whether the pollers and the writer make progress.
    public func health() async -> HealthReport {
        var report = HealthReport.assess(
            pollers: await polling.running, writer: writer.snapshot, flushIntervalMs: configuration.daemon.writeFlushIntervalMs,
            nowMs: SystemWallClock().nowMs())
        if databaseLost.load(ordering: .relaxed) {
            report.healthy = false
            report.problems.append("database file \(store.path) was deleted or replaced; energyd saves what it holds there and restarts")
        }
        return report
    }

    /// Answers /healthz and /metrics, and passes the rest to the console.
    func answer(_ request: HTTPRequest) async -> HTTPAnswer {
        if let answer = await console.answer(request) { return answer }
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPAnswer(status: .methodNotAllowed, contentType: "text/plain", body: "GET only\n")
        }
        switch request.path {
        case "/healthz":
            let report = await health()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? String(decoding: encoder.encode(report), as: UTF8.self)) ?? "{}"
            return HTTPAnswer(status: report.healthy ? .ok : .serviceUnavailable, contentType: "application/json", body: body + "\n")
        case "/metrics":
            let gateways = await polling.running.map { ($0.gateway.id, $0.statistics.snapshot) }
            let text = MetricsText.render(
                gateways: gateways, writer: writer.snapshot, databaseBytes: (try? await store.databaseBytes()) ?? 0,
                openAlerts: (try? await store.openAlertCounts()) ?? [:], outbox: (try? await store.outboxBacklog()) ?? [],
                deliveries: sender.channelCounts, upstream: (try? await store.upstreamStatus()) ?? [])
            return HTTPAnswer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: text)
        default:
            return HTTPAnswer(
                status: .notFound, contentType: "text/plain", body: "energyd serves the console at /, /api/v1/, /healthz and /metrics\n")
        }
    }

    private static func applyOverrides(_ options: DaemonOptions, to configuration: inout EnergyConfiguration) {
        if let path = options.databasePath { configuration.daemon.databasePath = path }
        if let path = options.alertLogPath { configuration.daemon.alertLogPath = path }
    }

    /// The configuration in force.
    public var configuration: EnergyConfiguration { current.value }

    /// Runs until SIGTERM or SIGINT (or until the task is cancelled), then shuts down in order.
    public func run() async throws {
        let configuration = self.configuration
        let seriesIDs = try await store.registerSeries(for: configuration)
        // Figures computed with factors, quotas or products changed since the last run are shipped again.
        try await store.noteFigureSettings(FigureSettings.of(configuration), nowMs: SystemWallClock().nowMs())
        let started = await polling.apply(configuration, seriesIDs: seriesIDs)
        logger.info(
            "energyd running",
            metadata: [
                "gateways": "\(started.started)", "meters": "\(configuration.meters.count)",
                "database": "\(configuration.daemon.databasePath)",
            ])
        var http: HTTPService?
        if let endpoint = configuration.daemon.httpEndpoint {
            http = try await HTTPService(
                host: endpoint.host, port: endpoint.port, tls: configuration.daemon.httpTLS, logger: logger
            ) { [self] request in
                await self.answer(request)
            }
        }
        typealias Entry = ServiceGroupConfiguration.ServiceConfiguration
        let accounting = AccountingService(
            store: store, alertLog: alertLog, configuration: { [self] in self.configuration }, startedMs: startedMs, logger: logger,
            changed: { [console] in console.dataChanged(fromMs: $0) })
        let retention = RetentionService(
            store: store, rawRetentionDays: configuration.daemon.rawRetentionDays,
            rollupRetentionDays: configuration.daemon.rollupRetentionDays, clock: options.clock, logger: logger)
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
        if databaseLost.load(ordering: .relaxed) {
            // Everything committed is still in the open file: copy it back to where it belongs, then let systemd
            // restart energyd on it.
            let target: String
            do {
                target = try store.restoreToItsPath()
            } catch {
                logger.critical("cannot save the database whose file was deleted", metadata: ["error": "\(error)"])
                throw DaemonRunError.databaseLost(underlying: error)
            }
            logger.critical("database saved after its file was deleted or replaced; restarting", metadata: ["saved_to": "\(target)"])
            throw DaemonRunError.databaseRestored(path: target)
        }
    }

    /// Re-reads the configuration: a valid one is applied (pollers of unchanged gateways keep running), an
    /// invalid one is logged error by error and the one in force is kept. Returns whether it was applied.
    @discardableResult
    public func reload() async -> Bool {
        await notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())")
        let applied = await applyConfiguration()
        await notifier.notify("READY=1\nSTATUS=" + (await health()).status)
        return applied
    }

    private func applyConfiguration() async -> Bool {
        logger.notice("reloading configuration", metadata: ["config": "\(options.configPath)"])
        // The alert log may have been rotated: the next line goes to a fresh file at its path.
        await alertLog.reopen()
        var next: EnergyConfiguration
        do {
            next = try ConfigurationLoader.load(path: options.configPath)
        } catch {
            for problem in error.errors { logger.error("\(problem)") }
            logger.error("configuration not reloaded; the previous one stays in force", metadata: ["errors": "\(error.errors.count)"])
            return false
        }
        Self.applyOverrides(options, to: &next)
        let previous = configuration
        if let refusal = ConfigurationChange.refusal(from: previous, to: next) {
            logger.error("configuration not reloaded; the previous one stays in force: \(refusal)")
            return false
        }
        if next.delivery != previous.delivery { logger.notice("channels and routes reloaded") }
        if next.daemon != previous.daemon {
            logger.warning("changes to [daemon] take effect at the next restart")
            next.daemon = previous.daemon
        }
        if next.upstream != previous.upstream {
            logger.warning("changes to [[upstream]] take effect at the next restart")
            next.upstream = previous.upstream
        }
        do {
            let seriesIDs = try await store.registerSeries(for: next)
            let outcome = await polling.apply(next, seriesIDs: seriesIDs)
            current.value = next
            let requeued = try await store.noteFigureSettings(FigureSettings.of(next), nowMs: SystemWallClock().nowMs())
            if !requeued.isEmpty {
                logger.notice(
                    "figures computed with changed factors, quotas or products are queued upstream again",
                    metadata: ["enterprises": "\(requeued.joined(separator: ","))"])
            }
            sender.apply(next.delivery)
            console.dataChanged(fromMs: .min)
            logger.notice(
                "configuration reloaded",
                metadata: [
                    "pollers_started": "\(outcome.started)", "pollers_kept": "\(outcome.kept)", "pollers_stopped": "\(outcome.stopped)",
                ])
            return true
        } catch {
            logger.error("configuration not reloaded: cannot register series", metadata: ["error": "\(error)"])
            return false
        }
    }
}

/// Reloads the configuration on SIGHUP.
struct ReloadService: Service {
    let daemon: Daemon

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups { await daemon.reload() }
        }
    }
}

/// Runs the outbox's sender until shutdown; a message in flight then is sent again at the next start.
struct DeliveryService: Service {
    let sender: OutboxSender

    func run() async throws {
        await cancelWhenGracefulShutdown { await sender.run() }
    }
}

/// Ships figures upstream until shutdown; a round in flight then is shipped again at the next start.
struct UpstreamService: Service {
    let shipper: UpstreamShipper

    func run() async throws {
        await cancelWhenGracefulShutdown { await shipper.run() }
        // With no destination there is nothing to run; a service that returned early would stop the whole group.
        try? await gracefulShutdown()
    }
}

/// The configuration in force, shared by the daemon and the console, replaced whole on reload.
final class CurrentConfiguration: Sendable {
    private let configuration: Mutex<EnergyConfiguration>

    init(_ configuration: EnergyConfiguration) { self.configuration = Mutex(configuration) }

    var value: EnergyConfiguration {
        get { configuration.withLock { $0 } }
        set { configuration.withLock { $0 = newValue } }
    }
}
