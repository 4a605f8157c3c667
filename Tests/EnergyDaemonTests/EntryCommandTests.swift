import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

/// `energyctl entry`: energy not metered online entered from the command line and from CSV files, on the shipped
/// configuration; a refused entry or file writes nothing; what is written is in the consumption report, converted
/// with GB/T 2589-2020's factors.
@Suite struct EntryCommandTests {
    @Test func entriesFromTheCommandLineAndACSVFileCountAndBadOnesWriteNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try OperatorProbeTests().configuration(in: directory)
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        struct Run {
            var exitStatus: Int32?
            var standardOutput: String
            var printed: String
        }
        func energyctl(_ arguments: [String]) async throws -> Run {
            let process = try ChildProcess("energyctl", arguments + ["--config", config])
            let status = await process.waitForExit()
            return Run(exitStatus: status, standardOutput: process.standardOutput, printed: process.printed)
        }
        let add = ["entry", "add", "--enterprise", "E02", "--month", "2026-01"]
        let diesel = try await energyctl(add + ["--energy", "diesel", "--amount", "12.5", "--unit", "t"])
        #expect(diesel.exitStatus == 0 && diesel.standardOutput.contains("recorded 1 energy entry"), "\(diesel.printed)")
        for (bad, says) in [
            (["--energy", "diesel", "--amount", "1", "--unit", "kWh"], "is not a unit of diesel"),
            (["--energy", "raw_coal", "--purchases", "10", "--closing", "11", "--unit", "t"], "closing stock is more"),
            (["--energy", "steam", "--unit", "t"], "give the amount consumed"),
        ] {
            let refused = try await energyctl(add + bad)
            #expect(refused.exitStatus != 0 && refused.printed.contains(says), "\(bad): \(refused.printed)")
        }
        let future = try await energyctl([
            "entry", "add", "--enterprise", "E02", "--month", "2099-12", "--energy", "lpg", "--amount", "1", "--unit", "t",
        ])
        #expect(future.exitStatus != 0 && future.printed.contains("has not begun"))
        // A file with one bad row (an unknown enterprise) is refused whole.
        let header = "enterprise,month,energy,unit,amount,purchases,opening,closing\n"
        let good = "E02,2026-01,raw_coal,t,,500,120,80\nE02,2026-01,lpg,t,2,,,\nE02,2026-01,heat,GJ,100,,,\n"
        try (header + good + "E99,2026-01,lpg,t,1,,,\n").write(toFile: directory.file("bad.csv"), atomically: true, encoding: .utf8)
        let badFile = try await energyctl(["entry", "import", directory.file("bad.csv")])
        #expect(badFile.exitStatus != 0 && badFile.printed.contains("row 4: no enterprise E99"), "\(badFile.printed)")
        #expect(try await store.entries.list(enterprise: nil).count == 1, "only the first diesel entry")
        try (header + good).write(toFile: directory.file("good.csv"), atomically: true, encoding: .utf8)
        let imported = try await energyctl(["entry", "import", directory.file("good.csv")])
        #expect(imported.exitStatus == 0 && imported.standardOutput.contains("recorded 3 energy entries"), "\(imported.printed)")

        let listed = try await energyctl(["entry", "list", "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["energy"] as? String } == ["diesel", "heat", "lpg", "raw_coal"])
        #expect(rows.first { $0["energy"] as? String == "raw_coal" }?["consumption"] as? Double == 540)
        #expect(rows.allSatisfy { ($0["source"] as? String)?.hasPrefix("energyctl entry") == true })

        // GB/T 2589-2020 (kgce per kg, per MJ): diesel 1.4571, raw coal 0.7143, LPG 1.7143, heat 0.03412.
        // 12 500 kg × 1.4571 = 18 213.75; 540 000 kg × 0.7143 = 385 722; 2 000 kg × 1.7143 = 3 428.6;
        // 100 000 MJ × 0.03412 = 3 412; in all 410 776.35 kgce, the whole January of an empty store.
        let report = try await energyctl([
            "consumption", "--enterprise", "E02", "--from", "2026-01-01", "--to", "2026-02-01", "--by", "month", "--format", "json",
        ])
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
        let total = try #require((figures["totals"] as? [[String: Any]])?.first)
        #expect(abs((total["kgce"] as? Double ?? 0) - 410_776.35) < 1e-6, "\(total)")
        let lines = figures["lines"] as? [[String: Any]] ?? []
        #expect(lines.count == 4 && lines.allSatisfy { $0["source"] as? String == "entered" }, "\(lines)")
        let audit = try await store.accounts.auditLog().filter { $0.action == "energy-entry" }
        #expect(audit.count == 4 && audit.allSatisfy { $0.account.hasPrefix("energyctl:") })

        // Output value: January 2026 and, for the change on a year earlier, January 2025 with 10 t of diesel.
        for bad in [["--gross-output", "0"], ["--gross-output", "100", "--value-added", "101"], ["--gross-output", "-5"]] {
            let refused = try await energyctl(["output-value", "add", "--enterprise", "E02", "--month", "2026-01"] + bad)
            #expect(refused.exitStatus != 0, "\(bad): \(refused.printed)")
        }
        #expect(try await store.outputValues.list(enterprise: nil).isEmpty)
        for arguments in [
            ["output-value", "add", "--enterprise", "E02", "--month", "2026-01", "--gross-output", "2000", "--value-added", "500"],
            ["output-value", "add", "--enterprise", "E02", "--month", "2025-01", "--gross-output", "100"],
            ["entry", "add", "--enterprise", "E02", "--month", "2025-01", "--energy", "diesel", "--amount", "10", "--unit", "t"],
        ] {
            let run = try await energyctl(arguments)
            #expect(run.exitStatus == 0, "\(run.printed)")
        }
        // By hand: 410.77635 tce ÷ 2 000 万元 = 0.205388175 tce/万元; ÷ 500 万元 of value added = 0.8215527.
        // January 2025: 10 000 kg × 1.4571 = 14 571 kgce = 14.571 tce ÷ 100 万元 = 0.14571 tce/万元;
        // the change: 0.205388175 ÷ 0.14571 − 1 = 0.409568149...
        let enterprise = try await energyctl(["report", "enterprise", "E02", "--period", "2026-01", "--format", "json"])
        let figures02 = try #require(try JSONSerialization.jsonObject(with: Data(enterprise.standardOutput.utf8)) as? [String: Any])
        #expect(figures02["outputValue"] as? Double == 2000 && figures02["valueAdded"] as? Double == 500)
        #expect(abs((figures02["tcePerOutputValue"] as? Double ?? 0) - 0.205388175) < 1e-12, "\(figures02)")
        #expect(abs((figures02["tcePerValueAdded"] as? Double ?? 0) - 0.8215527) < 1e-12)
        #expect(abs((figures02["outputIntensityYearOnYear"] as? Double ?? 0) - (0.205388175 / 0.14571 - 1)) < 1e-12)
        let text = try await energyctl(["report", "enterprise", "E02", "--period", "2026-01"])
        #expect(text.standardOutput.contains("单位产值综合能耗 0.2054 tce/万元（工业总产值 2000.00 万元；单位增加值能耗 0.8216 tce/万元；同比 41.0%）"), "\(text.printed)")
        // A day has no whole month: no intensity.
        let day = try await energyctl(["report", "enterprise", "E02", "--period", "2026-01-05", "--format", "json"])
        #expect((try JSONSerialization.jsonObject(with: Data(day.standardOutput.utf8)) as? [String: Any])?["tcePerOutputValue"] == nil)
        // The district: only E02 entered output value, so its intensity is E02's.
        let district = try await energyctl(["report", "district", "--period", "2026-01", "--format", "json"])
        let districtTotal = try #require(
            (try JSONSerialization.jsonObject(with: Data(district.standardOutput.utf8)) as? [String: Any])?["total"] as? [String: Any])
        #expect(districtTotal["enterprisesWithOutputValue"] as? Int == 1 && districtTotal["outputValue"] as? Double == 2000)
        #expect(abs((districtTotal["tcePerOutputValue"] as? Double ?? 0) - 0.205388175) < 1e-12, "\(districtTotal)")
    }

    @Test func theMeterLedgerIsImportedWholeOrNotAtAllAndListedAsImported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try OperatorProbeTests().configuration(in: directory)
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        func energyctl(_ arguments: [String]) async throws -> EnergyctlRun { try await EnergyctlRun(arguments, config: config) }
        let header = "meter,maker,model,accuracy_class,ct_ratio,pt_ratio,installed,last_calibrated,next_due,certificate,status"
        let lines = [
            "E02-coal,梅特勒,ICS425,0.5,,,2023-01-10,2025-01-20,2026-01-20,JL-2025-117,in_service",
            "E02-main-power,正泰,DTSU666,0.5S,200,10,2022-06-01,2025-06-01,2027-06-01,JD-2025-0331,in_service",
        ]
        for (bad, says) in [
            (lines[0] + "\nE99-power,正泰,DTSU666,1,,,2022-06-01,,2027-06-01,X,in_service", "bad.csv:3: no meter E99-power"),
            (lines[0].replacingOccurrences(of: "2026-01-20", with: "2024-12-31"), "is not after the last calibration"),
            (lines[0].replacingOccurrences(of: "in_service", with: "lost"), "status lost is not one of"),
        ] {
            try (header + "\n" + bad + "\n").write(toFile: directory.file("bad.csv"), atomically: true, encoding: .utf8)
            let refused = try await energyctl(["ledger", "import", directory.file("bad.csv")])
            #expect(refused.status != 0 && refused.printed.contains(says), "\(refused.printed)")
        }
        #expect(try await store.ledger.list().isEmpty, "a refused file writes nothing")
        try (header + "\n" + lines.joined(separator: "\n") + "\n").write(
            toFile: directory.file("ledger.csv"), atomically: true, encoding: .utf8)
        let imported = try await energyctl(["ledger", "import", directory.file("ledger.csv")])
        #expect(imported.status == 0 && imported.output.contains("recorded 2 ledger lines"), "\(imported.printed)")
        let listed = try await energyctl(["ledger", "list"])
        #expect(listed.output == ([header] + lines).joined(separator: "\n") + "\n", "the export is the import, line for line")
        #expect(try await store.accounts.auditLog().contains { $0.action == "ledger-import" })
    }

    @Test func anInspectionIsRecordedListedAndClosedFromTheCommandLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try OperatorProbeTests().configuration(in: directory)
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        func energyctl(_ arguments: [String]) async throws -> EnergyctlRun { try await EnergyctlRun(arguments, config: config) }
        let add = [
            "inspection", "add", "--enterprise", "E02", "--date", "2026-02-03", "--inspector", "王明", "--inspector", "李静",
            "--kind", "on_site", "--legal-basis", "《中华人民共和国节约能源法》第十六条", "--findings", "熟料单耗超过限额",
        ]
        for (bad, says) in [
            (["--rectification", "更换燃烧器", "--deadline", "2026-02-01"], "is before the inspection"),
            (["--rectification", "更换燃烧器"], "needs its deadline"),
            (["--alert", "77"], "are not all alerts of E02"),
        ] {
            let refused = try await energyctl(add + bad)
            #expect(refused.status != 0 && refused.printed.contains(says), "\(bad): \(refused.printed)")
        }
        #expect(try await store.inspections.list().isEmpty, "a refused inspection writes nothing")
        let recorded = try await energyctl(add + ["--rectification", "更换燃烧器", "--deadline", "2026-03-31"])
        #expect(recorded.status == 0 && recorded.output.contains("recorded inspection 1"), "\(recorded.printed)")
        let listed = try await energyctl(["inspection", "list", "--enterprise", "E02"])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: String]])
        #expect(objects.map { $0["inspectors"] } == ["王明、李静"] && objects.first?["deadline"] == "2026-03-31")
        #expect(objects.first?["status"] == "open")
        let closed = try await energyctl(["inspection", "close", "1", "--note", "复查合格"])
        #expect(closed.status == 0, "\(closed.printed)")
        #expect(try await energyctl(["inspection", "close", "1", "--note", "again"]).printed.contains("the inspection is closed"))
        #expect(try await store.inspections.named(1)?.closingNote == "复查合格")
        #expect(
            try await store.accounts.auditLog().map(\.action).filter { $0.hasPrefix("inspection") }.sorted() == [
                "inspection", "inspection-close",
            ])
    }
}

/// energyctl run on a configuration: its exit status, standard output and everything it printed.
struct EnergyctlRun {
    let status: Int32?
    let output: String
    let printed: String

    init(_ arguments: [String], config: String) async throws {
        let process = try ChildProcess("energyctl", arguments + ["--config", config])
        status = await process.waitForExit()
        (output, printed) = (process.standardOutput, process.printed)
    }
}
