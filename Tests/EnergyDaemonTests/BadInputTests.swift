import EnergyModel
import EnergyStore
import Foundation
import MeterSimulator
import TestSupport
import Testing

/// Bad dates, periods and numbers on the command lines and in control commands: each a clear error and exit
/// code 64 or 65, never a trap.
@Suite struct BadInputTests {
    func expectRefused(_ executable: String, _ arguments: [String], _ because: String) async throws {
        let process = try ChildProcess(executable, arguments)
        let code = await process.waitForExit()
        #expect(code == 64 || code == 65, "\(because): exit \(code.map(String.init) ?? "none")\n\(process.printed.suffix(600))")
        #expect(!process.printed.contains("crashed") && !process.printed.contains("Fatal error"), "\(because)")
    }

    @Test func energyctlAndEnergydRefuseBadDatesAndPeriods() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("energy.sqlite")
        _ = try await EnergyStore.open(path: database)
        let store = ["--config", shippedConfigPath, "--database", database]
        let csv = directory.file("production.csv")
        try "enterprise,product,date,quantity\nE05,dyed_fabric,2026-01-01TZ,12\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["consumption", "--enterprise", "E01", "--from", "", "--to", "2026-02-01"] + store, "empty --from"),
            (["consumption", "--enterprise", "E01", "--from", "2026-01-01TZ", "--to", "2026-02-01"] + store, "a zone with no time"),
            (["consumption", "--enterprise", "E01", "--from", "1000-01-01", "--to", "9999-12-31"] + store, "nine thousand years"),
            (["alerts", "--since", ""] + store, "empty --since"),
            (["report", "district", "--period", ".."] + store, "an empty range"),
            (["report", "district", "--period", "9999"] + store, "the last year there is"),
            (["report", "district", "--period", "2026-13"] + store, "month 13"),
            (["report", "district", "--period", "0000-01-01..9999-12-31"] + store, "ten thousand years"),
            (["report", "enterprise", "E01", "--period", "2026-02-30"] + store, "30 February"),
            (
                ["production", "add", "--enterprise", "E05", "--product", "dyed_fabric", "--date", "", "--quantity", "1"] + store,
                "empty --date"
            ),
            (["production", "import", csv] + store, "an import row dated …TZ"),
        ]
        // A good row before a bad one: refused as a whole, naming the row; nothing written.
        let mixed = directory.file("mixed.csv")
        try "E05,dyed_fabric,2026-01-01,12\nE05,cement,2026-01-02,1\n".write(toFile: mixed, atomically: true, encoding: .utf8)
        let importing = try ChildProcess("energyctl", ["production", "import", mixed] + store)
        #expect(await importing.waitForExit() != 0)
        #expect(importing.printed.contains("row 2: E05 has no product cement"), "\(importing.printed)")
        for (arguments, because) in cases { try await expectRefused("energyctl", arguments, because) }
        let written = try await EnergyStore.open(path: database).production.entries(enterprise: "E05", fromMs: 0, toMs: .max)
        #expect(written.isEmpty, "\(written)")
        try await expectRefused("energyd", ["run", "--config", shippedConfigPath, "--clock-start", ""], "empty --clock-start")
        try await expectRefused("energyd", ["run", "--config", shippedConfigPath, "--clock-start", "2026-01-01TZ"], "--clock-start …TZ")
    }

    @Test func metersimRefusesOutOfRangeFaultsAndBadScenarioTimes() async throws {
        let scenario = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, models: ["acrel_adw300"])
        let plant = SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: scenario.originMs))
        for command in [
            "fault drop-after gw0 parameter=1e300", "fault slow gw0 duration_s=1e300", "fault exception g0m0 parameter=300",
            "fault exception g0m0 parameter=-1", "fault exception g0m0 parameter=1000", "fault slow g0m0 parameter=nan",
            "fault slow g0m0 parameter=inf", "fault gateway-down gw0 parameter=3", "fault slow gw0 duration_s=-5",
        ] {
            #expect(ControlCommand.execute(command, plant: plant).hasPrefix("error"), "\(command)")
        }
        #expect(plant.faults.all.isEmpty)
        #expect(ControlCommand.execute("fault exception g0m0 parameter=6", plant: plant).hasPrefix("ok"))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.toml")
        try """
        [scenario]
        name = "bad"
        config = "\(shippedConfigPath)"
        origin = "2026-01-01T00:00:00+08:00"
        [[faults]]
        kind = "zero-glitch"
        target = "E01-main-power"
        at = "2026-01-01TZ"
        [[faults]]
        kind = "exception"
        target = "E01-main-power"
        at = "2026-01-02T00:00:00+08:00"
        parameter = 300
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let truth = try ChildProcess("metersim", ["truth", "--scenario", path, "--from", "2026-01-01", "--to", "2026-01-02"])
        let code = await truth.waitForExit()
        #expect(code == 64 || code == 65 || code == 78, "exit \(code.map(String.init) ?? "none"): \(truth.printed)")
        #expect(truth.printed.contains("\(path):8: faults[0].at"), "\(truth.printed)")
        #expect(truth.printed.contains("\(path):13: faults[1].parameter: exception takes a Modbus exception code"), "\(truth.printed)")
    }
}
