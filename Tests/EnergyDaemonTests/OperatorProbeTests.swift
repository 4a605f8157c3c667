import EnergyModel
import EnergyStore
import Foundation
import GRDB
import TestSupport
import Testing

/// What independent probes found as an operator: HTTPS set up as deploy/README.md shows, energyctl during a bad
/// edit of the configuration, a database from a newer version, dates out of bounds.
@Suite struct OperatorProbeTests {
    /// The shipped configuration with its database in `directory` and `extra` appended to [daemon].
    func configuration(in directory: TemporaryDirectory, daemon extra: String = "") throws -> String {
        var text = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "database = \"/var/lib/energyd/energy.sqlite\"\n", with: "database = \"\(directory.file("energy.sqlite"))\"\n\(extra)")
        text = text.replacingOccurrences(of: "/var/log/energyd/alerts.jsonl", with: directory.file("alerts.jsonl"))
        text = text.replacingOccurrences(of: "\"quotas.toml\"", with: "\"\(packageRoot)/Config/quotas.toml\"")
        text = text.replacingOccurrences(of: "\"enterprises.d\"", with: "\"\(packageRoot)/Config/enterprises.d\"")
        let path = directory.file("energyd.toml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func httpsWithAKeyNamedDotKeyStartsAndCheckConfigLoadsWhatRunLoads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificate, pem) = try await makeTestCertificate(in: directory)
        // deploy/README.md's names: console.crt and console.key, mode 600 (NIOSSL read a ".key" file as DER).
        let key = directory.file("console.key")
        try FileManager.default.copyItem(atPath: pem, toPath: key)
        chmod(key, 0o600)
        let port = try freeTCPPort()
        let config = try configuration(
            in: directory, daemon: "http_tls_cert_file = \"\(certificate)\"\nhttp_tls_key_file = \"\(key)\"\n")
        _ = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let check = try ChildProcess("energyd", ["check-config", "--config", config])
        #expect(await check.waitForExit() == 0, "\(check.printed)")
        let console = try ChildProcess("energyd", ["console", "--config", config, "--listen", "127.0.0.1:\(port)"])
        defer { console.send(SIGKILL) }
        let client = {
            try ChildProcess(
                "/usr/bin/python3",
                [
                    "-c",
                    "import ssl, sys, urllib.request; c = ssl.create_default_context(cafile=sys.argv[1]); "
                        + "r = urllib.request.urlopen(sys.argv[2], context=c); print(r.status, r.headers['Strict-Transport-Security'])",
                    certificate, "https://127.0.0.1:\(port)/login",
                ])
        }
        var answered = ""
        let served = await eventually(timeout: .seconds(30)) {
            guard let process = try? client(), await process.waitForExit() == 0 else { return false }
            answered = process.standardOutput
            return true
        }
        #expect(served && answered == "200 max-age=31536000\n", "\(answered) \(console.printed.suffix(1500))")

        // A key that is no PEM key is refused by check-config, as run would refuse it.
        try "not a key\n".write(toFile: key, atomically: true, encoding: .utf8)
        chmod(key, 0o600)
        let bad = try ChildProcess("energyd", ["check-config", "--config", config])
        #expect(await bad.waitForExit() == 78)
        #expect(bad.printed.contains("http_tls_key_file") && bad.printed.contains("as PEM"), "\(bad.printed)")
    }

    @Test func readOnlyCommandsWorkDuringABadEditAndWritingOnesRefuse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try configuration(in: directory)
        _ = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        // An edit in progress: a key half typed.
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "time_zone = ", with: "half_typed_key = 1\ntime_zone = ")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        for arguments in [
            ["outbox", "list", "--format", "json"], ["report", "district", "--period", "2026-01", "--format", "json"], ["alerts"],
            ["summary"], ["user", "list"],
        ] {
            let process = try ChildProcess("energyctl", arguments + ["--config", config])
            #expect(await process.waitForExit() == 0, "\(arguments): \(process.printed)")
            #expect(process.printed.contains("warning:") && process.printed.contains("half_typed_key"), "\(arguments): \(process.printed)")
        }
        let report = try ChildProcess("energyctl", ["report", "district", "--period", "2026-01", "--format", "json", "--config", config])
        _ = await report.waitForExit()
        #expect((try? JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8))) != nil, "the JSON stays on stdout")
        // A command that writes refuses until the file is right.
        let add = try ChildProcess(
            "energyctl",
            [
                "production", "add", "--enterprise", "E05", "--product", "dyed_fabric", "--date", "2026-01-02", "--quantity", "1",
                "--config", config,
            ])
        #expect(await add.waitForExit() == 64, "\(add.printed)")
    }

    @Test func aDatabaseOfANewerVersionIsRefusedClearly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("energy.sqlite")
        _ = try await EnergyStore.open(path: path)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        try queue.close()
        for arguments in [["energyctl", "summary", "--database", path], ["energyctl", "outbox", "list", "--database", path]] {
            let process = try ChildProcess(arguments[0], Array(arguments.dropFirst()))
            #expect(await process.waitForExit() != 0)
            #expect(
                process.printed.contains("newer energy-monitor") && process.printed.contains("v99-from-the-future"), "\(process.printed)")
        }
        let daemon = try ChildProcess("energyd", ["run", "--config", try configuration(in: directory)])
        #expect(await daemon.waitForExit() != 0)
        #expect(daemon.printed.contains("newer energy-monitor"), "\(daemon.printed.suffix(1000))")
    }

    @Test func aDateOutOfBoundsSaysWhatTheBoundsAre() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let process = try ChildProcess(
            "energyctl",
            [
                "consumption", "--enterprise", "E01", "--from", "0001-01-01", "--to", "2026-02-01", "--config",
                try configuration(in: directory),
            ])
        #expect(await process.waitForExit() == 64)
        #expect(process.printed.contains("from 1000-01-01 to 9999-12-31"), "\(process.printed)")
    }
}
