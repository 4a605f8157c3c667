import EnergyModel
import EnergyStore
import Foundation
import GRDB
import MeterSimulator
import TestSupport
import Testing

/// The real energyd binary, started as a process, polling an in-process metersim over loopback.
@Suite(.serialized) struct DaemonProcessTests {
    @Test func checkConfigExitsZeroForTheShippedConfigAnd78ListingEveryError() async throws {
        let good = try ChildProcess("energyd", ["check-config", "--config", shippedConfigPath])
        #expect(await good.waitForExit() == 0)
        #expect(good.printed.contains("ok: 11 models, 6 gateways, 5 enterprises, 17 meters"))
        // Nesting that used to overflow the stack is a line-numbered error.
        let deepDirectory = try TemporaryDirectory()
        defer { deepDirectory.remove() }
        let deep = deepDirectory.file("deep.toml")
        try ("[daemon]\nx = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n")
            .write(toFile: deep, atomically: true, encoding: .utf8)
        let nested = try ChildProcess("energyd", ["check-config", "--config", deep])
        #expect(await nested.waitForExit() == 78)
        #expect(
            nested.printed.contains("\(deep):2: -: TOML syntax: arrays and inline tables nested more than 32 deep"), "\(nested.printed)")
        // An empty file is refused by check-config and by run, as it is on SIGHUP.
        let empty = deepDirectory.file("empty.toml")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        for arguments in [["check-config", "--config", empty], ["run", "--config", empty]] {
            let refused = try ChildProcess("energyd", arguments)
            #expect(await refused.waitForExit() == 78, "\(arguments)")
            #expect(refused.printed.contains("\(empty):0: enterprises: the configuration has no meters"), "\(refused.printed)")
        }

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.toml")
        try """
        [daemon]
        colour = "red"
        [gateways.g]
        host = "127.0.0.1"
        port = 0
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try ChildProcess("energyd", ["check-config", "--config", path])
        #expect(await bad.waitForExit() == 78)
        #expect(bad.printed.contains("\(path):2: daemon.colour: unknown key"))
        #expect(bad.printed.contains("\(path):5: gateways.g.port: 0 is out of range; expected 1…65535"))
    }

    @Test func aConfigurationNamedWithoutADirectoryFindsTheFilesBesideIt() async throws {
        // The shipped configuration and the demo scenario, run from their own folders by bare file names.
        let configDirectory = packageRoot + "/Config"
        let check = try ChildProcess("energyd", ["check-config", "--config", "energyd.toml"], directory: configDirectory)
        #expect(await check.waitForExit() == 0, "\(check.printed)")
        #expect(check.printed.contains("5 enterprises, 17 meters"), "the enterprise directory was read too")
        let truth = try ChildProcess(
            "metersim", ["truth", "--scenario", "demo-district.toml", "--from", "2026-01-01", "--to", "2026-01-02"],
            directory: packageRoot + "/Simulator/Scenarios")
        #expect(await truth.waitForExit() == 0, "\(truth.printed)")
        #expect(truth.printed.contains("E02-coal"))
        // A misspelt enterprise directory is an error with its line, not five enterprises silently dropped.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "[daemon]\nenterprise_dir = \"enterprise.d\"\n".write(toFile: directory.file("energyd.toml"), atomically: true, encoding: .utf8)
        let missing = try ChildProcess("energyd", ["check-config", "--config", "energyd.toml"], directory: directory.path)
        #expect(await missing.waitForExit() == 78)
        #expect(missing.printed.contains("energyd.toml:2: daemon.enterprise_dir: cannot read directory"), "\(missing.printed)")
    }

    @Test func energyctlReadsWithoutMigratingOrWriting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("energy.sqlite")
        _ = try await EnergyStore.open(path: path)
        // As if written by an older energyd: its last migration not applied yet. The store just released may still
        // be closing (checkpointing its WAL): wait for its lock rather than fail on it.
        let queue = try DatabaseQueue(path: path, configuration: waitingForLocks())
        try await queue.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3-alerts-production'") }
        let migrations = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") }
        try queue.close()
        let summary = try ChildProcess("energyctl", ["summary", "--database", path])
        #expect(await summary.waitForExit() != 0)
        #expect(summary.printed.contains("start energyd on it first"), "\(summary.printed)")
        let after = try await DatabaseQueue(path: path, configuration: waitingForLocks()).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations")
        }
        #expect(after == migrations, "energyctl migrated the database")
    }

    @Test func sigtermFinishesReadsFlushesAndExitsZeroLosingNothing() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 3), speed: 20)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        #expect(await daemon.waitForOutput("committed samples"))
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "\(daemon.printed.suffix(2000))")
        let written = daemon.printed.split(separator: "\n").last { $0.contains("energyd stopped") }
        let reported = written.flatMap { $0.split(separator: " ").first { $0.hasPrefix("samples_written=") } }.flatMap {
            Int($0.dropFirst(16))
        }
        let stored = try await harness.storedSampleCount()
        #expect(stored > 0)
        #expect(reported == stored, "every sample read before SIGTERM was committed")
        #expect(try await EnergyStore.open(path: harness.databasePath).integrityCheck() == "ok")
        // energyctl's JSON summary names each series' energy and counts what the store holds.
        let summary = try ChildProcess("energyctl", ["summary", "--database", harness.databasePath, "--format", "json"])
        #expect(await summary.waitForExit() == 0, "\(summary.printed)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(summary.standardOutput.utf8)) as? [[String: Any]])
        #expect(
            !rows.isEmpty && rows.allSatisfy { ($0["energy"] as? String).flatMap(EnergyType.init(rawValue:)) != nil }, "\(rows.prefix(2))")
        #expect(rows.compactMap { $0["samples"] as? Int }.reduce(0, +) == stored)
    }

    @Test func killNineLosesNoCommittedSampleAndTheDaemonResumes() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 4, metersPerGateway: 5), speed: 50)
        defer { Task { await harness.stop() } }
        var storedBefore = 0
        for round in 1...3 {
            let daemon = try harness.startDaemon()
            // Let it commit a few more batches, then kill it without warning, mid-stream.
            #expect(await daemon.waitForOutput("committed samples"))
            let target = lastCommittedTotal(daemon.printed) + 2000
            #expect(await eventually { lastCommittedTotal(daemon.printed) >= target }, "round \(round)")
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit()
            let committed = lastCommittedTotal(daemon.printed)
            let store = try await EnergyStore.open(path: harness.databasePath)
            #expect(try await store.integrityCheck() == "ok")
            let stored = try await store.sampleCounts().total
            #expect(stored >= storedBefore + committed, "round \(round): committed \(committed) after \(storedBefore), stored \(stored)")
            storedBefore = stored
        }
        // After the last kill it starts again on the same database and goes on storing.
        let daemon = try harness.startDaemon()
        #expect(try await eventually { try await harness.storedSampleCount() > storedBefore + 100 })
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func aDatabaseDeletedUnderTheDaemonIsSavedBackAndTheDaemonRestarts() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 2), speed: 20)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        #expect(await daemon.waitForOutput("committed samples"))
        #expect(await eventually { lastCommittedTotal(daemon.printed) >= 200 })
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: harness.databasePath + suffix) }
        // It notices within a second, commits what it holds, writes everything back to the path and exits for a restart.
        #expect(await daemon.waitForExit() == 75, "\(daemon.printed.suffix(1500))")
        #expect(daemon.printed.contains("the database file was deleted or replaced while open"))
        let committed = lastCommittedTotal(daemon.printed)
        let store = try await EnergyStore.open(path: harness.databasePath)
        #expect(try await store.integrityCheck() == "ok")
        #expect(try await store.sampleCounts().total == committed, "every committed sample is in the saved file")
        // Restarted (as systemd would), energyd goes on with the saved file.
        let again = try harness.startDaemon()
        #expect(await again.waitForOutput("committed samples"))
        again.send(SIGTERM)
        #expect(await again.waitForExit() == 0)
        #expect(try await harness.storedSampleCount() > committed)
    }

    @Test func sighupAppliesAValidConfigKeepingUnchangedPollersAndKeepsTheOldOneOnErrors() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 2, metersPerGateway: 1), speed: 20)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        #expect(await daemon.waitForOutput("committed samples"))

        // Add a second meter behind gw1; gw0 is untouched.
        var configuration = harness.simulator.configuration
        configuration.enterprises[1].meters.append(
            MeterConfig(id: "added", gateway: "gw1", unitID: 2, model: "chint_dtsu666", energy: .electricity, intervalSeconds: 1))
        try harness.writeConfiguration(configuration)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForOutput("configuration reloaded"))
        let reloadLine = daemon.printed.split(separator: "\n").last { $0.contains("configuration reloaded") } ?? ""
        #expect(
            reloadLine.contains("pollers_kept=1") && reloadLine.contains("pollers_started=1") && reloadLine.contains("pollers_stopped=1"),
            "\(reloadLine)")
        #expect(
            await eventually {
                harness.simulator.plant.requests.count(gatewayID: "gw1", unitID: 2) > 3
            }, "the added meter is polled")
        #expect(daemon.printed.split(separator: "\n").filter { $0.contains("poller started") && $0.contains("gateway=gw0") }.count == 1)

        // A broken file: every error is logged with file, line and key, and polling goes on with the old one.
        try "[gateways.gw0]\nhost = 5\n".write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForOutput("configuration not reloaded"))
        #expect(daemon.printed.contains("\(harness.configPath):2: gateways.gw0.host: expected a string, found integer"))
        let before = harness.simulator.plant.requests.count(gatewayID: "gw1", unitID: 2)
        #expect(await eventually { harness.simulator.plant.requests.count(gatewayID: "gw1", unitID: 2) > before + 3 })

        // An emptied file (logrotate's weekly SIGHUP after an editor left it empty) and a truncated one are refused.
        try "".write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForOutput("the configuration has no meters (an empty or truncated file?)"))
        var truncated = configuration
        truncated.enterprises.removeLast()
        try harness.writeConfiguration(truncated)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForOutput("the configuration drops 2 of the 3 meters in force"))
        let polled = harness.simulator.plant.requests.count(gatewayID: "gw1", unitID: 2)
        #expect(await eventually { harness.simulator.plant.requests.count(gatewayID: "gw1", unitID: 2) > polled + 3 }, "still polled")
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func socketsAtDescriptor1024OrAboveAreRefusedNotAborted() async throws {
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 1, metersPerGateway: 1), speed: 20)
        defer { Task { await harness.stop() } }
        // Start energyd with every descriptor below 1024 already open (3…9 by number, the rest from 10 up), so that
        // neither its reserve nor its sockets can get one select() can watch: libmodbus would abort on them.
        let command =
            "ulimit -n 4096; exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null 8</dev/null 9</dev/null; "
            + "for i in $(seq 1090); do exec {fd}</dev/null; done; exec \"$0\" \"$@\""
        let daemon = try ChildProcess("/bin/bash", ["-c", command, builtProduct("energyd")] + harness.runArguments)
        #expect(await daemon.waitForOutput("is not below FD_SETSIZE"), "\(daemon.printed.suffix(3000))")
        #expect(daemon.isRunning)
        #expect(await daemon.waitForOutput("committed samples"), "failed reads are still recorded")
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        let store = try await EnergyStore.open(path: harness.databasePath)
        let counts = try await store.sampleCounts()
        #expect(counts.total > 0 && counts.byQuality[.good] == nil, "no socket was usable, so every record is a comm-fail")
    }

    @Test func fifteenHundredGatewaysArePolledOnSocketsNumbered1024AndAbove() async throws {
        // Past the old ceiling of 1000: one meter on each of 1500 gateways, so hundreds of sockets get numbers
        // select() cannot watch, which libmodbus reads through each polling thread's low window descriptor.
        let harness = try await DaemonHarness.start(try TestScenarios.grid(gateways: 1500, metersPerGateway: 1, timeoutMs: 2000), speed: 1)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        var sockets: [Int32] = []
        #expect(
            await eventually(timeout: .seconds(90), interval: .milliseconds(250)) {
                sockets = openSocketDescriptors(pid: daemon.pid)
                return sockets.count > 1500
            }, "one socket per gateway, beside the HTTP listener: \(sockets.count)")
        #expect(sockets.filter { $0 >= 1024 }.count >= 400, "\(sockets.filter { $0 >= 1024 }.count) sockets at 1024 or above")
        // Every meter, whatever its socket's number, has good readings stored.
        let database = try DatabaseQueue(path: harness.databasePath, configuration: waitingForLocks())
        let series = try await database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM series") ?? 0 }
        #expect(series >= 1500)
        var answered = 0
        #expect(
            try await eventually(timeout: .seconds(90), interval: .milliseconds(500)) {
                answered = try await database.read {
                    try Int.fetchOne($0, sql: "SELECT count(DISTINCT series) FROM samples WHERE quality = 0") ?? 0
                }
                return answered == series
            }, "\(answered) of \(series) series have good readings")
        #expect(daemon.isRunning)
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }
}

/// The descriptor numbers of a process's open sockets, from /proc.
func openSocketDescriptors(pid: Int32) -> [Int32] {
    let directory = "/proc/\(pid)/fd"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return entries.compactMap { entry in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry),
            target.hasPrefix("socket:")
        else { return nil }
        return Int32(entry)
    }
}

/// A connection that waits for the running daemon's write lock instead of failing.
func waitingForLocks() -> Configuration {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    return configuration
}
