import AlertDelivery
import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import Upstream
import WebConsole

extension Daemon {
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
        for warning in LineCapacity.warnings(for: next) { logger.warning("\(warning)") }
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
            do {
                try await requeueChangedFigures(next)
            } catch {
                // The configuration is in force by now; the comparison is made again at the next start or reload.
                logger.error(
                    "cannot queue the figures of changed factors, quotas or products upstream again", metadata: ["error": "\(error)"])
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

/// The configuration in force, shared by the daemon and the console, replaced whole on reload.
final class CurrentConfiguration: Sendable {
    private let configuration: Mutex<EnergyConfiguration>

    init(_ configuration: EnergyConfiguration) { self.configuration = Mutex(configuration) }

    var value: EnergyConfiguration {
        get { configuration.withLock { $0 } }
        set { configuration.withLock { $0 = newValue } }
    }
}
