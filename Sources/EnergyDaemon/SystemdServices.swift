import EnergyStore
import Foundation
import Logging
import ServiceLifecycle

/// Tells systemd energyd is alive (WATCHDOG=1) only while every polling thread and the writer make progress,
/// with a STATUS= line of meters online and samples written.
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
                await notifier.notify((report.healthy ? "WATCHDOG=1\n" : "") + "STATUS=" + report.status)
                if report.healthy != wasHealthy {
                    if report.healthy {
                        logger.notice("healthy again")
                    } else {
                        logger.error(
                            "not making progress; the systemd watchdog is no longer fed", metadata: ["problems": "\(report.problems)"])
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
