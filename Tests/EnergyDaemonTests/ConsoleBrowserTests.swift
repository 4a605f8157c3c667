import EnergyModel
import EnergyStore
import Foundation
import MeterSimulator
import TestSupport
import Testing

/// The console in a real browser: headless Chromium (Debian's chromium and chromium-driver, driven by
/// Tests/Browser/console_browser.py with python3-selenium) against the real energyd polling metersim's demo district.
@Suite(.serialized) struct ConsoleBrowserTests {
    static let password = "browser-test-password"

    @Test func theBrowserShowsTheReportsFiguresATownOnlyItsOwnAndAnEnterpriseEntersItsDiesel() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
            "chromium-driver is missing: deploy/install-deps.sh installs it")
        let scenario = try ScenarioLoader.load(path: demoScenarioPath)
        let harness = try await DaemonHarness.stepped(scenario)
        defer { Task { await harness.stop() } }
        let daemon = try harness.startDaemon()
        defer { daemon.send(SIGTERM) }
        #expect(await daemon.waitForOutput("serving /healthz"), "\(daemon.printed.suffix(2000))")
        let line = daemon.printed.split(separator: "\n").first { $0.contains("serving /healthz") } ?? ""
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        // Five whole days stored and accounted; the clock then stands still while the browser looks.
        let calendar = harness.simulator.configuration.calendar
        let sixth = try #require(calendar.startOfDay("2026-01-07")) + 3 * 3_600_000
        let store = try await EnergyStore.open(path: harness.databasePath)
        #expect(await harness.stepper!.run(to: sixth + 900_000))
        #expect(await eventually(timeout: .seconds(60)) { ((try? await store.newestSampleMs()) ?? 0) > sixth })
        for (name, role, scope) in [
            ("jiancha", "inspector", [String]()), ("longhe", "jurisdiction", ["龙河镇"]), ("longhe-cement", "enterprise", ["E02"]),
        ] {
            let add = try ChildProcess(
                "energyctl",
                ["user", "add", name, "--role", role, "--password-stdin", "--config", harness.configPath]
                    + scope.flatMap { ["--scope", $0] },
                input: Self.password + "\n")
            #expect(await add.waitForExit() == 0, "\(add.printed)")
        }
        let browser = try ChildProcess(
            "/usr/bin/python3",
            [
                packageRoot + "/Tests/Browser/console_browser.py", "--url", "http://127.0.0.1:\(port)", "--energyctl",
                builtProduct("energyctl"),
                "--config", harness.configPath, "--period", "2026-01-01..2026-01-06", "--inspector", "jiancha", "--jurisdiction", "longhe",
                "--enterprise-account", "longhe-cement",
                "--password", Self.password,
            ] + (ProcessInfo.processInfo.environment["CONSOLE_SCREENSHOTS"].map { ["--screenshots", $0] } ?? []))
        #expect(await browser.waitForExit(timeout: .seconds(240)) == 0, "\(browser.printed.suffix(4000))")
        #expect(browser.printed.contains("all checks passed"))
        // The logins the browser made are in the audit log.
        let actions = try await store.accounts.auditLog().map { "\($0.account) \($0.action)" }
        #expect(actions.contains("jiancha login") && actions.contains("longhe login"), "\(actions)")
        #expect(actions.contains("longhe-cement energy-entry"), "\(actions)")
    }
}
