import EnergyModel
import EnergyStore
import Foundation
import GRDBSQLite
import Logging
import MeterSimulator
import ModbusPolling
import Synchronization
import TestSupport
import Testing

@testable import EnergyDaemon

/// A datagram socket standing in for systemd's notification socket; collects what is sent to it.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let received = Mutex<[String]>([])

    /// Binds `path` (a file path, or "@name" for an abstract socket) and starts collecting.
    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw LineClientError("bind \(path): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    received.withLock { $0.append(message) }
                } else if count < 0, errno != EAGAIN, errno != EINTR {
                    return
                }
            }
        }
        thread.start()
    }

    /// Every datagram so far.
    var messages: [String] { received.withLock { $0 } }

    func close() { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }
}

@Suite(.serialized) struct ServiceTests {
    @Test func notificationsReachAnAbstractSocket() throws {
        let socket = try NotifySocket(path: "@energyd-test-\(UUID().uuidString.prefix(8))")
        defer { socket.close() }
        #expect(SystemdNotifier.send("READY=1", to: socket.path))
        #expect(SystemdNotifier.send("STATUS=3 meters", to: socket.path))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogInterval == .seconds(15))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(socket.messages == ["READY=1", "STATUS=3 meters"])
    }

    @Test func energydTellsSystemdReadyWatchdogReloadingAndStopping() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 2), speed: 20)
        defer { Task { await harness.stop() } }
        let socket = try NotifySocket(path: harness.directory.file("notify.sock"))
        defer { socket.close() }
        let daemon = try ChildProcess(
            "energyd", harness.runArguments, environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000"])
        #expect(await eventually { socket.messages.contains { $0.hasPrefix("READY=1") } })
        let ready = socket.messages.first { $0.hasPrefix("READY=1") } ?? ""
        #expect(ready.contains("STATUS=") && ready.contains("meters online"), "\(ready)")
        #expect(await eventually { socket.messages.filter { $0.hasPrefix("WATCHDOG=1") }.count >= 3 }, "fed every 200 ms while healthy")
        #expect(socket.messages.first { $0.hasPrefix("WATCHDOG=1") }?.contains("samples written") == true)
        daemon.send(SIGHUP)
        #expect(await eventually { socket.messages.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") } })
        let afterReload = await eventually {
            let messages = socket.messages
            guard let reloading = messages.firstIndex(where: { $0.hasPrefix("RELOADING=1") }) else { return false }
            return messages[reloading...].contains { $0.hasPrefix("READY=1") }
        }
        #expect(afterReload, "READY=1 follows RELOADING=1")
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(socket.messages.last == "STOPPING=1" || socket.messages.contains("STOPPING=1"))
    }

    @Test func healthFailsWhenAPollerOrTheWriterStopsMakingProgress() throws {
        let gateway = GatewayConfig(id: "g", host: "127.0.0.1", timeoutMs: 1000)
        let poller = GatewayPoller(
            gateway: gateway, meters: [], clock: SystemWallClock(), sink: CollectingSink(), logger: .init(label: "t"))
        let now = SystemWallClock().nowMs()
        let fresh = WriterCounters(samplesWritten: 10, lastProgressRealMs: now)
        #expect(HealthReport.assess(pollers: [poller], writer: fresh, flushIntervalMs: 1000, nowMs: now + 1000).healthy)
        let stalledPoller = HealthReport.assess(
            pollers: [poller], writer: WriterCounters(lastProgressRealMs: now + 60_000), flushIntervalMs: 1000, nowMs: now + 60_000)
        #expect(!stalledPoller.healthy && stalledPoller.problems == ["poller g silent for 60 s"])
        #expect(!stalledPoller.alive, "a silent polling thread starves the watchdog")
        // The disk refuses writes: not healthy, but alive, since the writer keeps trying and holding samples.
        var refused = fresh
        refused.lastAttemptRealMs = now + 10_500
        refused.lastError = "SQLite error 5: database is locked"
        refused.queueDepth = 40
        let stalledWriter = HealthReport.assess(pollers: [], writer: refused, flushIntervalMs: 1000, nowMs: now + 11_000)
        #expect(!stalledWriter.healthy && stalledWriter.alive)
        #expect(stalledWriter.problems == ["writer has not committed for 11 s (SQLite error 5: database is locked); 40 samples held"])
        // A writer that has not even tried for a minute is stuck.
        let stuck = HealthReport.assess(pollers: [], writer: fresh, flushIntervalMs: 1000, nowMs: now + 61_000)
        #expect(!stuck.alive)
    }

    @Test func aLockedDatabaseKeepsTheWatchdogFedAndLosesNoSample() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 1, metersPerGateway: 2), speed: 20)
        defer { Task { await harness.stop() } }
        let socket = try NotifySocket(path: harness.directory.file("notify.sock"))
        defer { socket.close() }
        let daemon = try ChildProcess(
            "energyd", harness.runArguments, environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000"])
        #expect(await daemon.waitForOutput("committed samples"))
        // Another process takes the write lock and keeps it past the 10 s after which health turns bad.
        var locker: OpaquePointer?
        #expect(sqlite3_open(harness.databasePath, &locker) == SQLITE_OK)
        #expect(sqlite3_exec(locker, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        #expect(await eventually(timeout: .seconds(30)) { socket.messages.contains { $0.contains("writer has not committed") } })
        let stalled = socket.messages.count
        #expect(
            await eventually {
                socket.messages.dropFirst(stalled).filter { $0.hasPrefix("WATCHDOG=1") && $0.contains("writer has not committed") }.count
                    >= 3
            },
            "the watchdog is fed while the disk refuses writes")
        #expect(sqlite3_exec(locker, "ROLLBACK", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(locker)
        #expect(await daemon.waitForOutput("healthy again", timeout: .seconds(30)))
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        let written = daemon.printed.split(separator: "\n").last { $0.contains("energyd stopped") }
        let reported = written.flatMap { $0.split(separator: " ").first { $0.hasPrefix("samples_written=") } }.flatMap {
            Int($0.dropFirst(16))
        }
        #expect(reported == (try await harness.storedSampleCount()), "every sample held during the stall was committed")
        #expect(!daemon.printed.contains("dropped the oldest samples"))
    }

    @Test func aFloodOfIdleHTTPConnectionsLeavesPollingAlone() async throws {
        // gw0 closes its connection every 5 requests: polling needs a new descriptor every few seconds.
        let scenario = try TestScenarios.grid(
            gateways: 2, metersPerGateway: 2, faults: [FaultSpec(kind: .dropAfter, target: "gw0", startMs: 0, parameter: 5)])
        let harness = try await DaemonHarness.start(scenario, speed: 20)
        defer { Task { await harness.stop() } }
        // energyd with a descriptor limit of 512; the flood opens more connections than that.
        let daemon = try ChildProcess("/usr/bin/prlimit", ["--nofile=512:512", builtProduct("energyd")] + harness.runArguments)
        #expect(await daemon.waitForOutput("serving /healthz and /metrics"))
        let line = daemon.printed.split(separator: "\n").first { $0.contains("serving /healthz") } ?? ""
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        #expect(await daemon.waitForOutput("committed samples"))
        let flood = try await offThePool {
            try (0..<700).map { _ in try LineClient.openConnection(host: "127.0.0.1", port: port, timeoutSeconds: 5) }
        }
        // While the flood stands, the gateways are still polled, reconnections included, and their samples committed.
        let before = lastCommittedTotal(daemon.printed)
        #expect(await eventually { lastCommittedTotal(daemon.printed) >= before + 200 }, "polling goes on")
        // No connection failed for want of a descriptor (a loaded machine may still pass ticks, stored as comm-fail).
        #expect(!daemon.printed.contains("Too many open files"), "\(daemon.printed.suffix(1000))")
        #expect(!daemon.printed.contains("cannot connect") && !daemon.printed.contains("connection lost; reconnecting"))
        // And health answers again at once when the flood ends.
        flood.forEach { close($0) }
        #expect(try await offThePool { try HTTPGet.get(port: port, path: "/healthz") }.status == 200)
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func metricsParseWithPrometheusOwnParserAndHealthzAnswers() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 2), speed: 20)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        #expect(await daemon.waitForOutput("serving /healthz and /metrics"))
        let line = daemon.printed.split(separator: "\n").first { $0.contains("serving /healthz") } ?? ""
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        #expect(await daemon.waitForOutput("committed samples"))
        let health = try HTTPGet.get(port: port, path: "/healthz")
        #expect(health.status == 200 && health.body.contains("\"healthy\":true"), "\(health)")
        #expect(try HTTPGet.get(port: port, path: "/nothing").status == 404)
        let metrics = try HTTPGet.get(port: port, path: "/metrics")
        #expect(metrics.status == 200)
        // Parsed by prometheus_client (Debian's python3-prometheus-client), the reference parser of the format.
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                out[family.name] = {"type": family.type, "samples": [[s.name, s.labels, s.value] for s in family.samples]}
            print(json.dumps(out))
            """
        let file = harness.directory.file("metrics.txt")
        try metrics.body.write(toFile: file, atomically: true, encoding: .utf8)
        let parser = try ChildProcess("/bin/sh", ["-c", "/usr/bin/python3 -c \"$0\" < \"$1\"", script, file])
        #expect(await parser.waitForExit() == 0, "\(parser.printed)")
        let families = try #require(try JSONSerialization.jsonObject(with: Data(parser.standardOutput.utf8)) as? [String: [String: Any]])
        for name in [
            "energyd_polls", "energyd_poll_failures", "energyd_request_duration_seconds", "energyd_poll_lag_seconds",
            "energyd_meters_online",
            "energyd_samples_written", "energyd_writer_queue_depth", "energyd_database_size_bytes", "energyd_open_alerts",
        ] {
            #expect(families[name] != nil, "\(name) missing from \(families.keys.sorted())")
        }
        #expect(families["energyd_request_duration_seconds"]?["type"] as? String == "histogram")
        let online = (families["energyd_meters_online"]?["samples"] as? [[Any]]) ?? []
        #expect(online.compactMap { $0[2] as? Double }.reduce(0, +) == 4, "\(online)")
        let written = (families["energyd_samples_written"]?["samples"] as? [[Any]])?.first?[2] as? Double ?? 0
        #expect(written > 0)
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func unitFileVerifiesAndIsHardened() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // verify checks that ExecStart= exists: point it at the binary just built.
        let unit = try String(contentsOfFile: packageRoot + "/deploy/energyd.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/energyd", with: builtProduct("energyd"))
        try unit.write(toFile: directory.file("energyd.service"), atomically: true, encoding: .utf8)
        let verify = try ChildProcess("/usr/bin/systemd-analyze", ["verify", directory.file("energyd.service")])
        #expect(await verify.waitForExit() == 0, "\(verify.printed)")
        #expect(verify.printed.isEmpty, "\(verify.printed)")
        let security = try ChildProcess(
            "/usr/bin/systemd-analyze", ["security", "--offline=true", packageRoot + "/deploy/energyd.service"])
        _ = await security.waitForExit()
        let overall = security.printed.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let exposure = overall.split(separator: ":").last.flatMap { Double($0.split(separator: " ").first ?? "") }
        #expect(exposure.map { $0 <= 2.0 } == true, "\(overall)")
        for setting in [
            "Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "StateDirectory=energyd",
            "LogsDirectory=energyd", "ConfigurationDirectory=energyd", "ProtectSystem=strict", "NoNewPrivileges=yes",
        ] {
            #expect(unit.contains(setting), "\(setting)")
        }
    }

    @Test func installIntoATemporaryRootTwiceGivesTheSameResultAndUninstallRemovesIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("root")
        let bin = (builtProduct("energyd") as NSString).deletingLastPathComponent
        func install() async throws -> String {
            let process = try ChildProcess(packageRoot + "/deploy/install.sh", ["--bin-dir", bin], environment: ["DESTDIR": root])
            #expect(await process.waitForExit(timeout: .seconds(60)) == 0, "\(process.printed)")
            // Every installed file with its content hash.
            let listing = try ChildProcess("/bin/sh", ["-c", "cd \"$0\" && find . -type f -exec sha256sum {} + | sort -k 2", root])
            _ = await listing.waitForExit()
            return listing.standardOutput
        }
        let first = try await install()
        for path in [
            "/usr/local/bin/energyd", "/usr/local/bin/energyctl", "/etc/systemd/system/energyd.service", "/usr/lib/sysusers.d/energyd.conf",
            "/usr/lib/tmpfiles.d/energyd.conf", "/etc/logrotate.d/energyd", "/etc/energyd/energyd.toml", "/etc/energyd/quotas.toml",
        ] {
            #expect(FileManager.default.fileExists(atPath: root + path), "\(path)")
        }
        // An operator's edit survives a second install, which otherwise changes nothing.
        let config = root + "/etc/energyd/energyd.toml"
        try (try String(contentsOfFile: config, encoding: .utf8) + "\n# edited\n").write(toFile: config, atomically: true, encoding: .utf8)
        let edited = try await install()
        let second = try await install()
        #expect(edited == second)
        #expect(first.split(separator: "\n").count == second.split(separator: "\n").count)
        let check = try ChildProcess("energyd", ["check-config", "--config", config])
        #expect(await check.waitForExit() == 0, "\(check.printed)")
        let logrotate = try ChildProcess("/usr/sbin/logrotate", ["--debug", root + "/etc/logrotate.d/energyd"])
        #expect(await logrotate.waitForExit() == 0, "\(logrotate.printed)")
        for _ in 0..<2 {
            let remove = try ChildProcess(packageRoot + "/deploy/uninstall.sh", [], environment: ["DESTDIR": root])
            #expect(await remove.waitForExit() == 0)
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/usr/local/bin/energyd"))
        #expect(FileManager.default.fileExists(atPath: config), "configuration is kept without --purge")
    }
}

@Suite struct AlertLogTests {
    @Test func aMovedOrDeletedLogIsNoticedAndTheNextLinesGoToAFreshFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = AlertLog(path: directory.file("logs/alerts.jsonl"))
        try await log.append(["{\"n\":1}"])
        // logrotate moves the file away (the reload that follows is not needed for the next line to land right).
        try FileManager.default.moveItem(atPath: log.path, toPath: log.path + ".1")
        try await log.append(["{\"n\":2}"])
        await log.reopen()
        try await log.append(["{\"n\":3}"])
        #expect(try String(contentsOfFile: log.path + ".1", encoding: .utf8) == "{\"n\":1}\n")
        #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "{\"n\":2}\n{\"n\":3}\n")
        // The whole directory deleted: it is made again, and the line is in it.
        try FileManager.default.removeItem(atPath: directory.file("logs"))
        try await log.append(["{\"n\":4}"])
        #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "{\"n\":4}\n")
    }
}
