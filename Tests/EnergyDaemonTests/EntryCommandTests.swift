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
    }
}
