import EnergyStore
import Foundation
import Logging
import ServiceLifecycle

/// Tells systemd energyd is alive (WATCHDOG=1) while every polling thread beats and the writer keeps trying —
/// also while the database refuses writes, which STATUS=, /healthz and /metrics report — with a STATUS= line of
/// meters online and samples written.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let health: @Sendable () async -> HealthReport
    let logger: Logger

    func run() async throws {
        let interval = notifier.watchdogInterval ?? .seconds(10)
        await cancelWhenGracefulShutdown {
            var wasHealthy = true
            while !Task.isCancelled {
                let report = await health()
                await notifier.notify((report.alive ? "WATCHDOG=1\n" : "") + "STATUS=" + report.status)
                if report.healthy != wasHealthy {
                    if report.healthy {
                        logger.notice("healthy again")
                    } else if report.alive {
                        logger.error("not healthy; still polling and holding samples", metadata: ["problems": "\(report.problems)"])
                    } else {
                        logger.error("stuck; the systemd watchdog is no longer fed", metadata: ["problems": "\(report.problems)"])
                    }
                    wasHealthy = report.healthy
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// Says STOPPING=1 as soon as shutdown begins (the first service the group tells).
struct StoppingNotice: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        try? await gracefulShutdown()
        await notifier.notify("STOPPING=1")
    }
}

/// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
func monotonicMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}
